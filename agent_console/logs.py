"""The log file: details of unexpected errors, so that a person sees one line and a pointer
(issue 15). Configured once per process by :func:`configure_logging` (the CLI's ``main``;
the TUI's error hook calls it too, so an app built by tests logs the same way).

The file is ``agent-console.log`` in the user log directory (:func:`agent_console.paths.
log_file`), rotated at 1 MB with three old files kept, created only when something is
logged. Every line — message and traceback alike — passes through
:func:`agent_console.redact.mask_secrets` on its way out: the log never holds a password.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
from pathlib import Path

from agent_console.paths import log_file
from agent_console.redact import mask_secrets

LOGGER_NAME = "agent_console"
MAX_BYTES = 1_000_000
BACKUPS = 3

#: until the log file is attached, records go nowhere — never to the terminal (Python's
#: last-resort handler would write them on stderr, over the TUI)
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())

_lock = threading.Lock()
_configured_path: Path | None = None
_configured = False


class MaskingFormatter(logging.Formatter):
    """A formatter whose whole output (message, traceback, stack) has secrets masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))


def configure_logging(path: Path | None = None) -> Path | None:
    """Attach the rotating log file to the ``agent_console`` logger, once per process.

    Returns the log file's path, or None when its folder cannot be created (a read-only
    home): errors are then still reported in one line, without the pointer."""
    global _configured, _configured_path
    with _lock:
        if _configured:
            return _configured_path
        _configured = True
        logger = logging.getLogger(LOGGER_NAME)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        target = path or log_file()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.handlers.RotatingFileHandler(
                target, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
            )
            _configured_path = target
        except OSError:
            handler = logging.NullHandler()
            _configured_path = None
        handler.setFormatter(
            MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        logger.addHandler(handler)
        return _configured_path


def reset_logging() -> None:
    """Detach the log file (tests that point it somewhere else)."""
    global _configured, _configured_path
    with _lock:
        logger = logging.getLogger(LOGGER_NAME)
        for handler in list(logger.handlers):
            if isinstance(handler, logging.NullHandler):
                continue
            logger.removeHandler(handler)
            handler.close()
        _configured = False
        _configured_path = None


def get_logger(name: str = LOGGER_NAME) -> logging.Logger:
    return logging.getLogger(name)


def log_file_hint() -> str:
    """``details in <log file>`` (configuring the log file if needed), for one-line
    reports of unexpected errors."""
    path = configure_logging()
    return f"details in {path}" if path else "no log file could be written"

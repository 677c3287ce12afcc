"""The command line: one argparse parser, one module per command group.

Each ``*_cmd`` module exposes ``register(subparsers)`` that adds its parsers and sets
``func=handler`` on them; a handler takes ``(args, ctx)`` and returns an exit code.
Errors a user can cause are :class:`~agent_console.errors.UserError`: ``main`` prints
their one line on stderr and exits with their code (2 bad input, 3 refused, 4 conflict).
Anything else is a bug: ``main`` writes its traceback to the log file
(:func:`agent_console.paths.log_file`) and prints one line that points there, exit 1;
``--debug`` (or ``AGENT_CONSOLE_DEBUG=1``) prints the traceback instead. Every line printed
or logged has its secrets masked (:mod:`agent_console.redact`) and its outside text made
safe (:mod:`agent_console.safe_text`).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from agent_console import __version__
from agent_console.cli.context import CliContext
from agent_console.errors import UserError
from agent_console.logs import configure_logging, get_logger
from agent_console.redact import has_secret, mask_secrets, register_secret, register_url
from agent_console.safe_text import one_line, truncate

ENV_DEBUG = "AGENT_CONSOLE_DEBUG"


class OneLineParser(argparse.ArgumentParser):
    """Usage errors are one line too (``agent-console ticket show -h`` has the details)."""

    def error(self, message: str) -> NoReturn:
        where = self.prog.removeprefix("agent-console").strip()
        where = f"{where}: " if where else ""
        self.exit(2, f"agent-console: error: {where}{message} (see {self.prog} -h)\n")


def build_parser() -> argparse.ArgumentParser:
    from agent_console.cli import (
        agent_cmd,
        data_cmd,
        db_cmd,
        kb_cmd,
        keymap_cmd,
        macro_cmd,
        mail_cmd,
        oncall_cmd,
        report_cmd,
        sla_cmd,
        ticket_cmd,
        views_cmd,
        watch_cmd,
    )

    parser = OneLineParser(
        prog="agent-console",
        description="Keyboard-first support console. With no command, starts the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"agent-console {__version__}")
    parser.add_argument(
        "--db", help="database URL (env AGENT_CONSOLE_DB); default: SQLite in the user data dir"
    )
    parser.add_argument("--agent", help="acting agent handle (env AGENT_CONSOLE_AGENT)")
    parser.add_argument("--policy", help="default SLA policy file (env AGENT_CONSOLE_POLICY)")
    parser.add_argument("--tz", dest="timezone", help="display time zone, e.g. Europe/Berlin")
    parser.add_argument(
        "--imap",
        metavar="URL",
        help="mailbox read into tickets: imap://user@host:port/MAILBOX or imaps://… "
        "(env AGENT_CONSOLE_IMAP; password in AGENT_CONSOLE_IMAP_PASSWORD)",
    )
    parser.add_argument(
        "--demo", action="store_true", help="load demo data into an empty database and start"
    )
    parser.add_argument(
        "--at",
        metavar="ISO",
        help="rehearsal: run on a clock that starts at this instant and keeps ticking "
        "(writes are marked rehearsal, nothing is sent outside)",
    )
    parser.add_argument(
        "--smtp",
        metavar="URL",
        help="outgoing mail server: smtp://[user@]host:port (STARTTLS when offered) or "
        "smtps://… (env AGENT_CONSOLE_SMTP; password in AGENT_CONSOLE_SMTP_PASSWORD)",
    )
    parser.add_argument(
        "--mail-from",
        metavar="ADDRESS",
        help="our address, From of every mail sent (env AGENT_CONSOLE_MAIL_FROM)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help=f"show the full traceback of an unexpected error (env {ENV_DEBUG}=1); "
        "without it, the details go to the log file",
    )
    parser.set_defaults(func=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module in (
        data_cmd, agent_cmd, ticket_cmd, sla_cmd, kb_cmd, db_cmd, oncall_cmd, watch_cmd, report_cmd,
        mail_cmd,
    ) + (views_cmd, macro_cmd, keymap_cmd):
        module.register(sub)
    return parser


def say(message: str) -> None:
    """One line on stderr: secrets masked, outside text (names, subjects) made safe."""
    print(f"agent-console: {one_line(mask_secrets(message))}", file=sys.stderr)


def warn_password_on_command_line(db: str | None) -> None:
    """``--db`` with a password shows it to every user of this machine (``ps``): say so,
    once, on stderr."""
    if has_secret(db):
        say(
            "warning: a password in --db is visible to other users in the process list; "
            "put the URL in AGENT_CONSOLE_DB or the config file (db = ...) instead"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(args.debug or os.environ.get(ENV_DEBUG))
    log_path = configure_logging()
    log = get_logger("agent_console.cli")
    register_url(args.db)
    register_url(os.environ.get("AGENT_CONSOLE_DB"))
    register_url(getattr(args, "imap", None))
    register_url(os.environ.get("AGENT_CONSOLE_IMAP"))
    warn_password_on_command_line(args.db)
    command = " ".join(
        str(part)
        for part in (args.command, *(v for k, v in vars(args).items() if k.endswith("_command")))
        if part
    )
    try:
        ctx = CliContext.from_args(args)
        ctx.debug = debug
        register_url(ctx.settings.db_url)
        register_secret(ctx.settings.smtp_password)
        if args.func is None:
            from agent_console.cli.tui import run_tui

            return run_tui(ctx, demo=args.demo)
        return int(args.func(args, ctx) or 0)
    except UserError as err:
        say(f"error: {err}")
        return err.exit_code
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes one line
        log.exception("unexpected error in %r", command or "tui")
        if debug:
            sys.stderr.write(mask_secrets(traceback.format_exc()))
            return 1
        where = f"details in {log_path}" if log_path else "no log file could be written"
        lines = str(exc).strip().splitlines()
        what = truncate(lines[0], 160) if lines else ""
        say(
            f"unexpected error: {type(exc).__name__}{': ' + what if what else ''} "
            f"({where}; --debug shows them here)"
        )
        return 1

"""Where the shipped data and the user's files live."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "agent-console"


def data_dir() -> Path:
    """The shipped ``data/`` folder (policies, starter knowledge base).

    In a wheel it is packaged as ``agent_console/_data``; in a source checkout it is the
    repository's ``data/``.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_data"
    if packaged.is_dir():
        return packaged
    return here.parent / "data"


def default_policy_path() -> Path:
    return data_dir() / "sla.toml"


def policies_dir() -> Path:
    """Contract policies shipped with the product, one TOML file per name."""
    return data_dir() / "policies"


def kb_dir() -> Path:
    return data_dir() / "kb"


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def default_db_url() -> str:
    path = user_data_dir() / "agent-console.db"
    return f"sqlite:///{path}"


def user_log_dir() -> Path:
    """Where the log file lives: the user state directory's ``log`` folder on Linux
    (``$XDG_STATE_HOME/agent-console/log``), the platform's log folder elsewhere."""
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def log_file() -> Path:
    """``agent-console.log``: the details (tracebacks) of unexpected errors, secrets masked."""
    return user_log_dir() / "agent-console.log"

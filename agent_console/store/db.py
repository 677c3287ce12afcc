"""The one engine factory, and schema migration on first use (store/migrations.py)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlmodel import create_engine

from agent_console.errors import UserError
from agent_console.redact import mask_secrets, mask_url
from agent_console.store import models  # noqa: F401  (registers the tables)
from agent_console.store.migrations import ensure_current

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # transactions are begun by _sqlite_begin below, not by the driver
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        _switch_to_wal(cur)
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _switch_to_wal(cur) -> None:  # type: ignore[no-untyped-def]
    """``PRAGMA journal_mode=WAL`` on a file another connection is creating fails at once
    with "database is locked" (SQLite does not call the busy handler for it): retry it
    for up to the busy timeout, as every other statement waits."""
    import sqlite3

    from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_fixed

    def locked(exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)

    for attempt in Retrying(
        retry=retry_if_exception(locked),
        stop=stop_after_delay(SQLITE_BUSY_TIMEOUT_MS / 1000),
        wait=wait_fixed(0.02),
        reraise=True,
    ):
        with attempt:
            cur.execute("PRAGMA journal_mode=WAL")


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock up front (``BEGIN IMMEDIATE``) so that two processes
    racing for one ticket queue on the busy timeout instead of failing on lock upgrade."""
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, echo: bool = False, create_folder: bool = False) -> Engine:
    """An engine for ``url`` (any SQLAlchemy URL); SQLite gets WAL, foreign keys and a busy
    timeout. The folder of a SQLite file is created only when ``create_folder`` (the default
    database in the user data directory): a mistyped ``--db`` path is an error, not a new
    empty database somewhere. Errors come back as one-line :class:`UserError`."""
    shown = mask_url(url)
    try:
        parsed = make_url(url)
    except ValueError:
        # a non-numeric port (int() failed); its text may quote the password
        raise UserError(
            f"bad database URL {shown!r}: the port is not a number "
            "(postgresql+psycopg://user@host:5432/db; escape @ : / in a password as "
            "%40 %3A %2F)"
        ) from None
    except ArgumentError:
        raise UserError(
            f"bad database URL {shown!r}: use sqlite:///path.db or "
            "postgresql+psycopg://user@host/db (password in AGENT_CONSOLE_DB or the "
            "config file; escape @ : / in it as %40 %3A %2F)"
        ) from None
    if parsed.host and "@" in parsed.host:
        raise UserError(
            f"bad database URL {shown!r}: the password holds an unescaped '@' "
            "(write it as %40)"
        )
    try:
        if parsed.get_backend_name() == "sqlite":
            db = parsed.database
            if db and db != ":memory:" and not db.startswith("file:"):
                folder = Path(db).expanduser().parent
                if create_folder:
                    folder.mkdir(parents=True, exist_ok=True)
                elif not folder.is_dir():
                    raise UserError(
                        f"cannot open database {shown!r}: folder {folder} does not exist "
                        "(create it, or check --db / AGENT_CONSOLE_DB)"
                    )
            engine = create_engine(
                parsed, echo=echo, connect_args={"check_same_thread": False, "timeout": 10}
            )
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    except NoSuchModuleError:
        raise UserError(
            f"unsupported database URL {shown!r}: unknown driver {parsed.drivername!r} "
            "(use sqlite:/// or postgresql+psycopg://)"
        ) from None
    except ModuleNotFoundError as exc:
        raise UserError(f"database driver missing for {shown!r}: {exc.name}") from None


# ---------------------------------------------------------------- migrations
# Alembic revisions in agent_console/store/alembic/versions; see store/migrations.py.


def migrate(engine: Engine) -> str:
    """Bring the schema to head when this console may (SQLite; the PostgreSQL owner), else
    raise a one-line :class:`UserError` saying who must run what. Returns the revision."""
    return ensure_current(engine).current or ""


def open_engine(url: str, *, create_folder: bool = False) -> Engine:
    engine = make_engine(url, create_folder=create_folder)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def safe_url(engine: Engine) -> str:
    """The engine's URL as it may be shown or logged (:func:`agent_console.redact.mask_url`)."""
    return mask_url(engine.url)


def first_line(exc: BaseException) -> str:
    """The first line of a driver error, secrets masked (a driver may quote the URL or the
    password it was given)."""
    orig = getattr(exc, "orig", None) or exc
    text_ = str(orig).strip().splitlines()
    return mask_secrets(text_[0]) if text_ else type(orig).__name__

"""The one engine factory, and schema creation / migration on first use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlmodel import SQLModel, create_engine

from agent_console.errors import UserError
from agent_console.store import models  # noqa: F401  (registers the tables)
from agent_console.store.models import SchemaVersion

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # transactions are begun by _sqlite_begin below, not by the driver
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


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
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UserError(
            f"bad database URL {url!r}: use sqlite:///path.db or postgresql+psycopg://user@host/db"
        ) from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            db = parsed.database
            if db and db != ":memory:" and not db.startswith("file:"):
                folder = Path(db).expanduser().parent
                if create_folder:
                    folder.mkdir(parents=True, exist_ok=True)
                elif not folder.is_dir():
                    raise UserError(
                        f"cannot open database {url!r}: folder {folder} does not exist "
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
    except NoSuchModuleError as exc:
        raise UserError(f"unsupported database URL {url!r}: {exc}") from exc
    except ModuleNotFoundError as exc:
        raise UserError(f"database driver missing for {url!r}: {exc.name}") from exc


# ---------------------------------------------------------------- migrations
# Each migration moves the schema from version i to i+1. Version 1 is the initial schema.
# Add new entries at the end; never edit a released one.


def _m1_initial(conn: Connection) -> None:
    SQLModel.metadata.create_all(conn)


def _m2_unassigned_queue_index(conn: Connection) -> None:
    """Version 2: an index covering the Working/Unassigned views' filter and sort key."""
    from agent_console.store.models import Ticket

    for index in Ticket.__table__.indexes:
        if index.name == "ix_ticket_queue_unassigned":
            index.create(conn, checkfirst=True)


#: PostgreSQL: every statement that inserts events notifies the feed channel, in the same
#: transaction (delivered on commit; one notification per transaction). See desk/live.py.
FEED_NOTIFY_DDL = (
    """
    CREATE OR REPLACE FUNCTION agent_console_feed_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('agent_console_feed', '');
        RETURN NULL;
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS ticket_event_notify ON ticket_event",
    """
    CREATE TRIGGER ticket_event_notify AFTER INSERT ON ticket_event
    FOR EACH STATEMENT EXECUTE FUNCTION agent_console_feed_notify()
    """,
)


def _m3_live(conn: Connection) -> None:
    """Version 3 (issue 11, live updates): the presence table, and on PostgreSQL the
    trigger that announces new events. (To become an Alembic revision with the rest.)"""
    from agent_console.store.models import Presence

    Presence.__table__.create(conn, checkfirst=True)
    if conn.dialect.name == "postgresql":
        for ddl in FEED_NOTIFY_DDL:
            conn.execute(text(ddl))


MIGRATIONS: list[Callable[[Connection], None]] = [
    _m1_initial,
    _m2_unassigned_queue_index,
    _m3_live,
]
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    row = conn.execute(text("SELECT version FROM schema_version WHERE id = 1")).first()
    return int(row[0]) if row else 0


def migrate(engine: Engine) -> int:
    """Bring the schema up to date; returns the version. Safe to call on every start."""
    try:
        with engine.begin() as conn:
            version = current_version(conn)
            if version > SCHEMA_VERSION:
                raise UserError(
                    f"database schema version {version} is newer than this console "
                    f"({SCHEMA_VERSION}): upgrade agent-console"
                )
            if version == SCHEMA_VERSION:
                return version
            for step in MIGRATIONS[version:]:
                step(conn)
            now = datetime.now(UTC)
            table = SchemaVersion.__table__
            if version == 0:
                conn.execute(table.insert().values(id=1, version=SCHEMA_VERSION, applied_at=now))
            else:
                conn.execute(
                    table.update()
                    .where(table.c.id == 1)
                    .values(version=SCHEMA_VERSION, applied_at=now)
                )
            return SCHEMA_VERSION
    except OperationalError as exc:
        raise UserError(f"cannot open database {safe_url(engine)}: {first_line(exc)}") from exc
    except SQLAlchemyError as exc:
        raise UserError(f"database error on {safe_url(engine)}: {first_line(exc)}") from exc


def open_engine(url: str, *, create_folder: bool = False) -> Engine:
    engine = make_engine(url, create_folder=create_folder)
    migrate(engine)
    return engine


def safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text_ = str(orig).strip().splitlines()
    return text_[0] if text_ else type(orig).__name__

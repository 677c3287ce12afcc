"""Schema migrations with Alembic: which revision a database is at, and bringing it to head.

The revisions live in ``agent_console/store/alembic/versions`` (shipped inside the wheel).
Revision ``0001`` is the schema of release 0.1.0 as frozen DDL; a database made by that
release (the hand-rolled ``schema_version`` table at 1 or 2, no ``alembic_version``) is
stamped at ``0001`` and then upgraded like any other.

Who migrates (README, "Database schema"):

- SQLite: every console, automatically on start (the file belongs to whoever opens it).
- PostgreSQL: only the owner of the database (``pg_database.datdba``), automatically on
  start or with ``agent-console db upgrade``. Any other role on an older schema stops with
  one line naming the owner and the command. Owners starting at once serialise on a
  transaction-level advisory lock (:data:`PG_MIGRATION_LOCK`): the first migrates, the
  others find the schema at head when they get the lock and do nothing.

Every upgrade runs in ONE transaction (DDL is transactional on both backends): it either
reaches head or leaves the database as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from agent_console.errors import UserError

ALEMBIC_DIR = Path(__file__).with_name("alembic")
#: the revision that is release 0.1.0's schema (``schema_version`` 2)
BASELINE = "0001"
#: what release 0.1.0 wrote in ``schema_version``
LEGACY_SCHEMA_VERSION = 2
#: written into ``schema_version`` by revision 0002, so that a 0.1.0 console refuses the
#: database ("newer than this console") instead of writing to a schema it does not know
LEGACY_GUARD_VERSION = 3
#: tickets of a database migrated from before this revision carry no ticket-clock stamps
#: (``sla_clock``, ``sla_metric``, ``sla_fingerprint``): the desk recomputes its open
#: tickets right after such an upgrade (``Desk.restamp_after_upgrade``)
STAMP_REVISION = "0006"
#: key of the PostgreSQL advisory lock taken around every upgrade (any fixed bigint)
PG_MIGRATION_LOCK = 7_270_061

#: tables the knowledge-base index creates and rebuilds itself (kb/index.py,
#: kb/index_postgres.py): not models, so the schema comparison leaves them out
KB_INDEX_TABLES = frozenset({"kb_meta", "kb_search", "kb_title", "kb_vocab"})
KB_INDEX_PREFIXES = ("kb_fts", "kb_title_fts")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic ``include_name`` hook: skip the knowledge-base index tables."""
    if type_ == "table" and name is not None:
        return name not in KB_INDEX_TABLES and not name.startswith(KB_INDEX_PREFIXES)
    return True


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands. ``current`` is its Alembic revision (None: empty database,
    or one made by release 0.1.0 — then ``legacy`` is its ``schema_version``)."""

    current: str | None
    legacy: int | None
    head: str
    backend: str
    #: PostgreSQL: the connected role and the database owner's role (None on SQLite)
    role: str | None = None
    owner: str | None = None

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def can_migrate(self) -> bool:
        return self.backend != "postgresql" or self.role == self.owner

    @property
    def needs_restamp(self) -> bool:
        """Upgrading this database crosses :data:`STAMP_REVISION` with tickets in it."""
        if self.current is None:
            return bool(self.legacy)
        return self.current < STAMP_REVISION

    def describe(self) -> str:
        if self.current is not None:
            return self.current
        if self.legacy:
            return f"release 0.1.0 (schema_version {self.legacy})"
        return "empty"


@dataclass(frozen=True)
class UpgradeResult:
    before: str
    after: str
    #: False when the database was already at head (another owner may have just migrated it)
    migrated: bool


def script_directory() -> ScriptDirectory:
    return ScriptDirectory(str(ALEMBIC_DIR))


def head_revision() -> str:
    head = script_directory().get_current_head()
    assert head is not None, "no Alembic revisions shipped"
    return head


def _config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ALEMBIC_DIR))
    cfg.attributes["connection"] = conn
    return cfg


def _legacy_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("schema_version"):
        return None
    row = conn.execute(text("SELECT version FROM schema_version WHERE id = 1")).first()
    return int(row[0]) if row else None


def pg_role_and_owner(conn: Connection) -> tuple[str, str]:
    """PostgreSQL: the connected role and the role owning the database (who migrates and
    who is the administrator)."""
    role, owner = conn.execute(
        text(
            "SELECT current_user, pg_catalog.pg_get_userbyid(datdba) "
            "FROM pg_catalog.pg_database WHERE datname = current_database()"
        )
    ).one()
    return str(role), str(owner)


def _read_state(conn: Connection) -> SchemaState:
    role = owner = None
    if conn.dialect.name == "postgresql":
        role, owner = pg_role_and_owner(conn)
        if role != owner:
            _check_readable(conn, role, owner)
    current = MigrationContext.configure(conn).get_current_revision()
    legacy = _legacy_version(conn) if current is None else None
    return SchemaState(current, legacy, head_revision(), conn.dialect.name, role, owner)


def _check_readable(conn: Connection, role: str, owner: str) -> None:
    """A role other than the owner needs SELECT on the version tables to know where the
    schema stands; without it, say which grant the owner must give (one line)."""
    for table in ("alembic_version", "schema_version"):
        readable = conn.execute(
            text(
                "SELECT to_regclass(:t) IS NULL "
                "OR has_table_privilege(to_regclass(:t), 'SELECT')"
            ),
            {"t": table},
        ).scalar_one()
        if not readable:
            raise UserError(
                f"role {role} may not read table {table}: ask the database owner (role "
                f"{owner}) to run: GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN "
                f"SCHEMA public TO {role}",
                exit_code=3,
            )


def _check_known(state: SchemaState) -> None:
    known = state.current is None or state.current in {
        s.revision for s in script_directory().walk_revisions()
    }
    if not known or (state.current is None and (state.legacy or 0) > LEGACY_SCHEMA_VERSION):
        raise UserError(
            f"database schema {state.describe()} is newer than this console "
            f"(knows up to {state.head}): upgrade agent-console",
            exit_code=3,
        )


def _refusal(state: SchemaState) -> UserError:
    return UserError(
        f"database schema is at {state.describe()}, this console needs {state.head}: "
        f"ask the database owner (role {state.owner}) to run: agent-console db upgrade",
        exit_code=3,
    )


def _db_errors(engine: Engine, exc: SQLAlchemyError) -> UserError:
    from agent_console.store.db import first_line, safe_url

    if isinstance(exc, OperationalError):
        return UserError(f"cannot open database {safe_url(engine)}: {first_line(exc)}")
    return UserError(f"database error on {safe_url(engine)}: {first_line(exc)}")


def schema_state(engine: Engine) -> SchemaState:
    """The database's revision, head, and (PostgreSQL) who may migrate. Reads only."""
    try:
        with engine.connect() as conn:
            return _read_state(conn)
    except SQLAlchemyError as exc:
        raise _db_errors(engine, exc) from exc


def upgrade(engine: Engine) -> UpgradeResult:
    """Bring the schema to head in one transaction; safe to call on every start.

    Raises :class:`UserError` (exit 3) when this role may not migrate (PostgreSQL, not the
    database owner) or the database is newer than this console; database failures are
    one-line :class:`UserError` too.
    """
    try:
        with engine.connect() as conn:
            # SQLite: take the write lock up front (BEGIN IMMEDIATE) so two starters queue
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                state = _read_state(conn)
                if state.up_to_date:
                    return UpgradeResult(state.current or "", state.head, False)
                _check_known(state)
                if not state.can_migrate:
                    raise _refusal(state)
                if state.backend == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
                    state = _read_state(conn)  # another owner may have migrated meanwhile
                    if state.up_to_date:
                        return UpgradeResult(state.current or "", state.head, False)
                    _check_known(state)
                before = state.describe()
                cfg = _config(conn)
                if state.current is None and state.legacy:
                    _bridge_release_0_1_0(conn, state.legacy)
                    command.stamp(cfg, BASELINE)
                command.upgrade(cfg, "head")
                return UpgradeResult(before, state.head, True)
    except UserError:
        raise
    except SQLAlchemyError as exc:
        raise _db_errors(engine, exc) from exc


def _bridge_release_0_1_0(conn: Connection, legacy: int) -> None:
    """A database at ``schema_version`` 1 lacks release 0.1.0's second step (one index);
    add it so the database really is at the baseline before it is stamped."""
    if legacy < 2:
        names = {i["name"] for i in inspect(conn).get_indexes("ticket")}
        if "ix_ticket_queue_unassigned" not in names:
            conn.execute(
                text(
                    "CREATE INDEX ix_ticket_queue_unassigned ON ticket "
                    "(is_open, tier, assignee_id, next_due, priority_level, id)"
                )
            )


def ensure_current(engine: Engine) -> SchemaState:
    """On start: migrate when this console may (SQLite, or the PostgreSQL owner), else stop
    with one line saying who must run what. Returns the state after."""
    state = schema_state(engine)
    if state.up_to_date:
        return state
    _check_known(state)
    if not state.can_migrate:
        raise _refusal(state)
    upgrade(engine)
    return schema_state(engine)

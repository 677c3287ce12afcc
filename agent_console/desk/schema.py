"""The database schema seen from the desk: which revision, and upgrading it.

``agent-console db current`` / ``db upgrade`` call these without opening a :class:`Desk`
(opening one migrates, or refuses, first). Rules of who migrates: store/migrations.py.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from agent_console.errors import UserError
from agent_console.paths import default_db_url
from agent_console.settings import Settings
from agent_console.store.db import make_engine
from agent_console.store.migrations import SchemaState, UpgradeResult, schema_state, upgrade


def schema_status(settings: Settings) -> SchemaState:
    """Where the database of ``settings`` stands (reads only; an empty database is fine).
    A SQLite file that does not exist is an error, not a new empty file."""
    url = make_url(settings.db_url) if "://" in settings.db_url else None
    if url is not None and url.get_backend_name() == "sqlite":
        path = url.database
        if path and path != ":memory:" and not path.startswith("file:"):
            if not Path(path).expanduser().exists():
                raise UserError(
                    f"no database at {path} (it is created when a console first opens it)"
                )
    engine = make_engine(settings.db_url, create_folder=settings.db_url == default_db_url())
    try:
        return schema_state(engine)
    finally:
        engine.dispose()


def upgrade_schema(settings: Settings) -> UpgradeResult:
    """Bring the database to head (PostgreSQL: only the owner; others get exit 3), then
    re-stamp the open tickets when the upgrade needs it (``Desk.restamp_after_upgrade``)."""
    engine = make_engine(settings.db_url, create_folder=settings.db_url == default_db_url())
    try:
        before = schema_state(engine)
        result = upgrade(engine)
        if result.migrated:
            from agent_console.desk import Desk

            desk = Desk(engine, settings)
            if before.needs_restamp:
                desk.restamp_after_upgrade()
            desk.regrant_after_upgrade()  # PostgreSQL: the agents' grants on what it added
            desk.rebuild_after_upgrade()  # the metrics rollup over existing tickets
        return result
    finally:
        engine.dispose()

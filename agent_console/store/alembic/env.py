"""Alembic environment of Agent Console.

The console runs migrations through :mod:`agent_console.store.migrations`, which hands the
connection it holds (and its lock) in ``config.attributes["connection"]``. Developers can
also use the ``alembic`` command with ``-c agent_console/store/alembic.ini`` and
``-x db=URL`` (see README, "Database schema").
"""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from agent_console.store import models  # noqa: F401  (registers the tables)
from agent_console.store.migrations import include_name

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from agent_console.store.db import make_engine

    url = context.get_x_argument(as_dictionary=True).get("db") or config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give a database: alembic -x db=sqlite:///path.db ...")
    engine = make_engine(url)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; give a database with -x db=")
run_migrations_online()

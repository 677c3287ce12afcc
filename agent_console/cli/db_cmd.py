"""``agent-console db current`` and ``db upgrade``: the schema revision, and migrating."""

from __future__ import annotations

import argparse
import sys

from agent_console.cli.context import CliContext
from agent_console.desk.schema import schema_status, upgrade_schema


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser(
        "db",
        help="database schema: current revision, upgrade",
        description=(
            "Schema migrations (Alembic). SQLite databases and the PostgreSQL database "
            "owner's consoles upgrade automatically on start; other roles ask the owner to "
            "run `agent-console db upgrade`."
        ),
    )
    db.set_defaults(func=lambda args, ctx: (db.print_help(sys.stderr), 2)[1])
    db_sub = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND")
    cur = db_sub.add_parser("current", help="print the database's schema revision")
    cur.set_defaults(func=cmd_current)
    up = db_sub.add_parser(
        "upgrade", help="migrate the database to this console's schema (PostgreSQL: owner only)"
    )
    up.set_defaults(func=cmd_upgrade)


def cmd_current(args: argparse.Namespace, ctx: CliContext) -> int:
    state = schema_status(ctx.settings)
    if state.up_to_date:
        line = f"{state.current} (head)"
    else:
        line = f"{state.describe()} (this console's head is {state.head}: run agent-console db upgrade)"
    if state.backend == "postgresql":
        line += f" · owner role {state.owner}, connected as {state.role}"
    print(line)
    return 0


def cmd_upgrade(args: argparse.Namespace, ctx: CliContext) -> int:
    result = upgrade_schema(ctx.settings)
    if result.migrated:
        print(f"database upgraded from {result.before} to {result.after}")
    else:
        print(f"database already at {result.after} (head)")
    return 0

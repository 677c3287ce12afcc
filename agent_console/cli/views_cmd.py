"""``views list`` and ``views check`` (issue 16): the queue's views in force, and a check of
a team's views.toml before it is shared (a CI step of the repository that keeps it)."""

from __future__ import annotations

import argparse
from pathlib import Path

from agent_console.cli.context import CliContext
from agent_console.cli.output import clean, print_json, print_table
from agent_console.desk.view_files import (
    builtin_views_path,
    read_views,
    team_views_path,
)
from agent_console.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("views", help="the queue's views (views.toml)")
    vsub = p.add_subparsers(dest="views_command", metavar="ACTION", required=True)
    ls = vsub.add_parser(
        "list", help="the views in force: the built-ins with the team's views.toml over them"
    )
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    check = vsub.add_parser(
        "check", help="check a views file (default: views.toml in the config directory)"
    )
    check.add_argument("path", nargs="?", type=Path)
    check.set_defaults(func=cmd_check)


def cmd_list(args: argparse.Namespace, ctx: CliContext) -> int:
    vs = ctx.desk.queue_view_set()
    if args.json:
        print_json(
            [
                {
                    "name": v.name,
                    "label": v.label,
                    "key": v.key,
                    "sort": v.sort,
                    "columns": list(v.columns),
                    "filter": v.filter.text,
                    "source": v.source,
                }
                for v in vs.views
            ]
        )
    else:
        print_table(
            ["NAME", "KEY", "LABEL", "SORT", "FILTER", "FROM"],
            [
                (v.name, v.key or "-", clean(v.label), v.sort, clean(v.filter.text) or "(every open ticket)", v.source)
                for v in vs.views
            ],
        )
    if vs.error:
        raise UserError(vs.error)
    return 0


def cmd_check(args: argparse.Namespace, ctx: CliContext) -> int:
    path: Path = args.path or team_views_path()
    if path.is_dir():
        raise UserError(f"views file {path}: is a folder; give the views.toml file in it")
    if not path.is_file():
        raise UserError(f"views file {path}: not found")
    handles = ctx.desk.agent_handles()
    views = read_views(path, read_views(builtin_views_path()), handles or None)
    print(f"{path}: ok, {len(views)} views in force ({', '.join(v.name for v in views)})")
    if not handles:
        print("assignee handles not checked: the database has no agents yet")
    return 0

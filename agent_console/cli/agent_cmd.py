"""``agent add`` and ``agent list``."""

from __future__ import annotations

import argparse

from agent_console.cli.context import CliContext
from agent_console.cli.output import clean, print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("agent", help="manage agents")
    asub = p.add_subparsers(dest="agent_command", metavar="ACTION", required=True)
    add = asub.add_parser("add", help="add an agent")
    add.add_argument("handle")
    add.add_argument("--name", required=True)
    add.add_argument("--tier", type=int, choices=(1, 2, 3), required=True)
    add.add_argument("--oncall", action="store_true", help="takes after-hours critical alerts")
    add.add_argument("--lead", action="store_true", help="may act on any ticket")
    add.set_defaults(func=cmd_add)
    ls = asub.add_parser("list", help="list active agents")
    ls.add_argument("--all", action="store_true", help="include deactivated agents")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)


def cmd_add(args: argparse.Namespace, ctx: CliContext) -> int:
    a = ctx.desk.add_agent(args.handle, args.name, args.tier, on_call=args.oncall, lead=args.lead)
    print(f"added {clean(a.handle)} ({clean(a.name)}), tier {a.tier}")
    return 0


def cmd_list(args: argparse.Namespace, ctx: CliContext) -> int:
    agents = ctx.desk.list_agents(include_inactive=args.all)
    if args.json:
        print_json([a.as_dict() for a in agents])
        return 0
    print_table(
        ["HANDLE", "NAME", "TIER", "ON CALL", "LEAD"],
        [
            (a.handle, a.name, a.tier, "yes" if a.on_call else "", "yes" if a.lead else "")
            for a in agents
        ],
    )
    return 0

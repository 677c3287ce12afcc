"""``ticket ...``: scripting faces of the desk's ticket queries and commands."""

from __future__ import annotations

import argparse

from agent_console.cli.context import CliContext
from agent_console.cli.output import print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ticket", help="list and work tickets")
    tsub = p.add_subparsers(dest="ticket_command", metavar="ACTION", required=True)
    ls = tsub.add_parser("list", help="tickets, most urgent first")
    ls.add_argument("--status", help="new, open, pending, on_hold, resolved or closed")
    ls.add_argument("--limit", type=int, help="at most N tickets (default: all)")
    ls.add_argument("--json", action="store_true", help="a JSON array of tickets")
    ls.set_defaults(func=cmd_list)


def cmd_list(args: argparse.Namespace, ctx: CliContext) -> int:
    tickets = ctx.desk.list_tickets(status=args.status, limit=args.limit)
    if args.json:
        print_json([t.as_json() for t in tickets])
        return 0
    print_table(
        ["KEY", "PRIORITY", "STATUS", "TIER", "ASSIGNEE", "DUE (UTC)", "SUBJECT"],
        [
            (
                t.key,
                t.priority,
                t.status,
                t.tier,
                t.assignee or "-",
                t.next_due.strftime("%Y-%m-%d %H:%M") if t.next_due else "-",
                t.subject,
            )
            for t in tickets
        ],
    )
    return 0

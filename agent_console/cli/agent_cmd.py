"""``agent add``, ``agent list``, ``agent whoami`` and ``agent grant`` (issue 11)."""

from __future__ import annotations

import argparse

from agent_console.cli.context import CliContext
from agent_console.cli.output import clean, print_json, print_table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("agent", help="manage agents")
    asub = p.add_subparsers(dest="agent_command", metavar="ACTION", required=True)
    add = asub.add_parser(
        "add",
        help="add an agent (the administrator); PostgreSQL: makes or maps their database role",
    )
    add.add_argument("handle")
    add.add_argument("--name", required=True)
    add.add_argument("--tier", type=int, choices=(1, 2, 3), required=True)
    add.add_argument("--oncall", action="store_true", help="takes after-hours critical alerts")
    add.add_argument("--lead", action="store_true", help="may act on any ticket, for any agent")
    add.add_argument(
        "--role",
        metavar="ROLE",
        help="PostgreSQL: map an existing role instead of creating ac_<db>_<handle>",
    )
    add.add_argument(
        "--os-user",
        metavar="NAME",
        help="SQLite: the operating-system user who acts as this agent without --agent",
    )
    add.set_defaults(func=cmd_add)
    ls = asub.add_parser("list", help="list active agents")
    ls.add_argument(
        "--all", action="store_true", help="include deactivated agents and system actors"
    )
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)
    who = asub.add_parser("whoami", help="who this console is: role or user, and agent")
    who.set_defaults(func=cmd_whoami)
    grant = asub.add_parser(
        "grant",
        help="PostgreSQL, the database owner: give the agents' roles their privileges again "
        "(after every upgrade)",
    )
    grant.set_defaults(func=cmd_grant)


def cmd_add(args: argparse.Namespace, ctx: CliContext) -> int:
    a = ctx.desk.add_agent(
        args.handle,
        args.name,
        args.tier,
        on_call=args.oncall,
        lead=args.lead,
        role=args.role,
        os_user=args.os_user,
    )
    print(f"added {clean(a.handle)} ({clean(a.name)}), tier {a.tier}")
    if a.connect:
        print(f"{a.handle} connects as role {a.db_role}: --db {a.connect}")
        print("  (how they authenticate is the server's pg_hba.conf; see README)")
    elif a.os_user:
        print(f"user {a.os_user} acts as {a.handle} without --agent")
    return 0


def cmd_list(args: argparse.Namespace, ctx: CliContext) -> int:
    agents = ctx.desk.list_agents(include_inactive=args.all, include_system=args.all)
    if args.json:
        print_json([{k: v for k, v in a.as_dict().items() if k != "connect"} for a in agents])
        return 0
    print_table(
        ["HANDLE", "NAME", "TIER", "ON CALL", "LEAD", "KIND", "ROLE / USER"],
        [
            (
                a.handle,
                a.name,
                a.tier,
                "yes" if a.on_call else "",
                "yes" if a.lead else "",
                a.kind,
                a.db_role or a.os_user or "",
            )
            for a in agents
        ],
    )
    return 0


def cmd_whoami(args: argparse.Namespace, ctx: CliContext) -> int:
    desk = ctx.desk
    ident = desk.identity
    what = "role" if ident.postgres else "user"
    admin = " (the administrator)" if ident.admin else ""
    print(f"{what} {ident.role}{admin}")
    me = desk.get_agent()
    print(f"acting as {me.handle} ({clean(me.name)}), tier {me.tier}{', lead' if me.lead else ''}")
    return 0


def cmd_grant(args: argparse.Namespace, ctx: CliContext) -> int:
    run = ctx.desk.grant_agent_privileges()
    if not run:
        print("nothing to grant: SQLite keeps its rules in the console (file permissions)")
    for stmt in run:
        print(stmt)
    return 0

"""``ticket ...``: scripting faces of the desk's ticket queries and commands."""

from __future__ import annotations

import argparse
import sys
import time

from agent_console.cli.context import CliContext
from agent_console.cli.output import clean, print_json, print_table
from agent_console.errors import UserError
from agent_console.safe_text import visible
from agent_console.views import local_time, status_label


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ticket", help="list and work tickets")
    tsub = p.add_subparsers(dest="ticket_command", metavar="ACTION", required=True)
    ls = tsub.add_parser(
        "list", help="unresolved tickets (new, open, waiting, on hold), most urgent first"
    )
    ls.add_argument("--status", help="new, open, waiting, on hold, resolved or closed")
    ls.add_argument(
        "--all", action="store_true", help="every ticket, resolved and closed ones too"
    )
    ls.add_argument("--limit", type=int, help="at most N tickets (default: all)")
    ls.add_argument("--json", action="store_true", help="a JSON array of tickets (UTC)")
    ls.add_argument("--priority", help="critical, urgent or minor (or 1/2/3)")
    ls.add_argument("--tier", type=int, choices=(1, 2, 3), help="tickets of this tier")
    ls.add_argument(
        "--breaching",
        nargs="?",
        const="1h",
        metavar="WITHIN",
        help="open tickets whose running deadline falls within WITHIN (default 1h), "
        "breached ones included",
    )
    ls.add_argument(
        "--watch",
        nargs="?",
        const=5.0,
        type=float,
        metavar="SECONDS",
        help="redraw every SECONDS (default 5) until Ctrl-C",
    )
    ls.set_defaults(func=cmd_list)
    register_workflow(tsub)
    register_claims(tsub)


#: the pause between ``--watch`` redraws (a seam for tests)
_nap = time.sleep


def cmd_list(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.all and args.status:
        raise UserError("--all and --status exclude each other (--status alone filters)")
    within = None
    if args.breaching is not None:
        from agent_console.sla import parse_duration

        try:
            within = float(parse_duration(args.breaching))
        except ValueError as exc:
            raise UserError(f"--breaching: {exc}") from None
    if args.watch is not None and args.watch <= 0:
        raise UserError("--watch needs a positive number of seconds")
    while True:
        tickets = ctx.desk.list_tickets(
            status=args.status,
            limit=args.limit,
            open_only=not (args.all or args.status),
            priority=args.priority,
            tier=args.tier,
            breaching_within=within,
        )
        if args.watch is not None and sys.stdout.isatty():
            sys.stdout.write("\033[H\033[J")
        _print_list(args, ctx, tickets)
        if args.watch is None:
            return 0
        sys.stdout.flush()
        _nap(args.watch)


def _print_list(args: argparse.Namespace, ctx: CliContext, tickets: list) -> None:  # type: ignore[type-arg]
    if args.json:
        print_json([t.as_json() for t in tickets])
        return
    zone = ctx.desk.display_zone

    def local(dt):  # type: ignore[no-untyped-def]
        return local_time(dt, zone)

    print_table(
        ["KEY", "PRIORITY", "STATUS", "TIER", "ASSIGNEE", "DUE", "SUBJECT"],
        [
            (
                t.key,
                t.priority,
                status_label(t.status),
                t.tier,
                t.assignee or "-",
                local(t.next_due),
                t.subject,
            )
            for t in tickets
        ],
    )


# ---------------------------------------------------------------- workflow (issue 5)
def register_workflow(tsub: argparse._SubParsersAction) -> None:
    """``show``, ``reply``, ``escalate``, ``status``: the desk's workflow commands."""
    show = tsub.add_parser("show", help="one ticket: fields, SLA timers, thread, history")
    show.add_argument("key", metavar="KEY")
    show.add_argument("--json", action="store_true", help="the ticket as one JSON object")
    show.set_defaults(func=cmd_show)

    def acting(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--agent",
            dest="as_agent",
            metavar="H",
            help="acting agent (default: the global --agent)",
        )
        parser.add_argument(
            "--expect-version",
            type=int,
            metavar="V",
            help="field edits (status, priority, assignee, tier, tags) fail with exit 4 if the "
            "ticket is no longer at V; replies and notes are appended whatever the version",
        )

    reply = tsub.add_parser("reply", help="reply to the customer (or --internal note)")
    reply.add_argument("key", metavar="KEY")
    acting(reply)
    reply.add_argument("--body", required=True, help="the text (Markdown)")
    reply.add_argument("--internal", action="store_true", help="an internal note, never sent")
    reply.set_defaults(func=cmd_reply)

    esc = tsub.add_parser("escalate", help="hand over to the next tier with a handoff note")
    esc.add_argument("key", metavar="KEY")
    acting(esc)
    esc.add_argument("--note", required=True, help="what was found, what was tried")
    esc.set_defaults(func=cmd_escalate)

    st = tsub.add_parser(
        "status",
        help="change status (waiting stops the resolution clock and, where the policy "
        "pauses it, the update cadence)",
    )
    st.add_argument("key", metavar="KEY")
    acting(st)
    st.add_argument(
        "--to", required=True, help="open, waiting (on the customer), on hold, resolved or closed"
    )
    st.add_argument("--summary", help="resolution summary (required with --to resolved)")
    st.add_argument(
        "--message",
        help="with --to resolved: a public message to the customer, sent in the same "
        "transaction (submit as solved)",
    )
    st.set_defaults(func=cmd_status)
    register_commands(tsub, acting)


def cmd_show(args: argparse.Namespace, ctx: CliContext) -> int:
    desk = ctx.desk
    d = desk.ticket_detail(args.key)
    now = desk.now()
    if args.json:
        print_json(d.as_json(now))
        return 0
    zone = desk.display_zone

    def at(dt: object) -> str:
        from datetime import datetime

        return local_time(dt if isinstance(dt, datetime) else None, zone)

    print(f"{d.key}  {clean(d.subject)}")
    fields = [
        ("status", status_label(d.status)),
        ("priority", d.priority),
        ("tier", f"{d.tier}{' (escalated)' if d.escalated else ''}"),
        ("assignee", d.assignee or "-"),
        ("requester", f"{d.requester} <{d.requester_email}>"),
        ("organization", d.organization or "-"),
        ("policy", d.policy_name),
        ("channel", d.channel),
        ("type", d.request_type),
        ("tags", ", ".join(d.tags) or "-"),
        ("opened", at(d.opened_at)),
        ("version", d.version),
    ]
    for name, value in fields:
        print(f"  {name + ':':<16}{clean(value)}")
    for t in d.timers(now):
        due = f"  due {at(t.due)}" if t.due else ""
        text = t.text
        if t.name == "next_update" and t.due is None and d.is_open and not d.first_response_at:
            text = "starts with the first public reply"  # no deadline before it (issue 9)
        print(f"  {t.label + ':':<16}{text}{due}")
    print()
    for m in d.thread:
        who = m.author if m.author_tier is None else f"{m.author} (tier {m.author_tier})"
        label = {
            "customer": "customer",
            "public": "reply",
            "internal": "INTERNAL",
            "handoff": "HANDOFF",
        }.get(m.kind, m.kind)
        mail = f" · mail {m.mail}" if m.mail else ""  # issue 14: what became of its mail
        print(f"--- {label} · {clean(who)} · {at(m.created_at)}{mail}")
        for line in visible(m.body).split("\n"):
            print(f"    {line}")
    if d.attachments:
        print()
        print("attachments:")
        for a in d.attachments:
            print(f"  {clean(a.label)}  {clean(a.content_type)}  {at(a.received_at)}")
    print()
    print("history:")
    for ev in d.events:
        print(f"  {at(ev.at)}  {clean(ev.text)}")
    return 0


def _done(ctx: CliContext, verb: str, d: object) -> int:
    key = getattr(d, "key", "")
    print(
        f"{key} {verb} (version {getattr(d, 'version', '?')}, status {status_label(getattr(d, 'status', '?'))})"
    )
    return 0


def cmd_reply(args: argparse.Namespace, ctx: CliContext) -> int:
    d = ctx.desk.reply(
        args.key,
        args.body,
        agent=args.as_agent,
        internal=args.internal,
        expected_version=args.expect_version,
    )
    return _done(ctx, "noted" if args.internal else "replied", d)


def cmd_escalate(args: argparse.Namespace, ctx: CliContext) -> int:
    d = ctx.desk.escalate(
        args.key, args.note, agent=args.as_agent, expected_version=args.expect_version
    )
    return _done(ctx, f"escalated to tier {d.tier}", d)


def cmd_status(args: argparse.Namespace, ctx: CliContext) -> int:
    d = ctx.desk.set_status(
        args.key,
        args.to,
        agent=args.as_agent,
        expected_version=args.expect_version,
        summary=args.summary,
        message=args.message,
    )
    return _done(ctx, f"is {status_label(d.status)}", d)


# ---------------------------------------------------------------- the screen's keys (issue 12)
def register_commands(tsub: argparse._SubParsersAction, acting) -> None:  # type: ignore[no-untyped-def]
    """``assign``, ``priority``, ``deescalate``, ``tags``: what ``a``, ``p``, ``d``, ``t`` do
    on the ticket screen, through the same desk commands (same tier rules)."""
    asg = tsub.add_parser("assign", help="assign or reassign (leads take anyone's ticket)")
    asg.add_argument("key", metavar="KEY")
    acting(asg)
    who = asg.add_mutually_exclusive_group(required=True)
    who.add_argument("--to", metavar="HANDLE", help="the new assignee")
    who.add_argument("--nobody", action="store_true", help="unassign")
    asg.set_defaults(func=cmd_assign)

    pr = tsub.add_parser("priority", help="change priority; targets recomputed from opening")
    pr.add_argument("key", metavar="KEY")
    acting(pr)
    pr.add_argument("--to", required=True, metavar="P", help="critical, urgent, minor or 1-3")
    pr.add_argument("--reason", required=True, help="why (kept in the history)")
    pr.set_defaults(func=cmd_priority)

    de = tsub.add_parser("deescalate", help="back one tier with a handoff note")
    de.add_argument("key", metavar="KEY")
    acting(de)
    de.add_argument("--note", required=True, help="what the tier below should do")
    de.set_defaults(func=cmd_deescalate)

    tg = tsub.add_parser("tags", help="set the request type and/or replace the tags")
    tg.add_argument("key", metavar="KEY")
    acting(tg)
    tg.add_argument("--type", dest="rtype", metavar="T", help="inoperable, added, desired, question")
    tg.add_argument("--set", dest="tags", metavar="A,B", help="the tags, comma-separated ('' clears)")
    tg.set_defaults(func=cmd_tags)


def cmd_assign(args: argparse.Namespace, ctx: CliContext) -> int:
    d = ctx.desk.assign(
        args.key,
        None if args.nobody else args.to,
        agent=args.as_agent,
        expected_version=args.expect_version,
    )
    return _done(ctx, f"assigned to {d.assignee}" if d.assignee else "unassigned", d)


def cmd_priority(args: argparse.Namespace, ctx: CliContext) -> int:
    d = ctx.desk.set_priority(
        args.key, args.to, args.reason, agent=args.as_agent, expected_version=args.expect_version
    )
    return _done(ctx, f"is {d.priority}", d)


def cmd_deescalate(args: argparse.Namespace, ctx: CliContext) -> int:
    d = ctx.desk.deescalate(
        args.key, args.note, agent=args.as_agent, expected_version=args.expect_version
    )
    return _done(ctx, f"de-escalated to tier {d.tier}", d)


def cmd_tags(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.rtype is None and args.tags is None:
        raise UserError("nothing to change: give --type T and/or --set a,b")
    d = ctx.desk.set_type_and_tags(
        args.key, args.rtype, args.tags, agent=args.as_agent, expected_version=args.expect_version
    )
    return _done(ctx, f"type {d.request_type}, tags {','.join(d.tags) or '-'}", d)


# ---------------------------------------------------------------- claims (issue 4)
def register_claims(tsub: argparse._SubParsersAction) -> None:
    """``claim`` and ``claim-next``: take unassigned tickets (exclusive, race-safe)."""
    cl = tsub.add_parser("claim", help="assign an unassigned ticket of your tier to yourself")
    cl.add_argument("key", metavar="KEY")
    cl.add_argument(
        "--agent", dest="as_agent", metavar="H", help="acting agent (default: the global --agent)"
    )
    cl.add_argument(
        "--expect-version", type=int, metavar="V", help="fail if the ticket is no longer at V"
    )
    cl.set_defaults(func=cmd_claim)

    nx = tsub.add_parser("claim-next", help="claim the most urgent unassigned tickets of your tier")
    nx.add_argument(
        "--agent", dest="as_agent", metavar="H", help="acting agent (default: the global --agent)"
    )
    nx.add_argument("--count", type=int, default=1, metavar="N", help="how many (default 1)")
    nx.set_defaults(func=cmd_claim_next)


def cmd_claim(args: argparse.Namespace, ctx: CliContext) -> int:
    print(ctx.desk.claim(args.key, agent=args.as_agent, expected_version=args.expect_version))
    return 0


def cmd_claim_next(args: argparse.Namespace, ctx: CliContext) -> int:
    for key in ctx.desk.claim_next(agent=args.as_agent, count=args.count):
        print(key)
    return 0

"""``oncall ...``: who is on call, the rota, overrides, acknowledging alerts, a test alert.

Faces of :mod:`agent_console.desk.oncall` and :mod:`agent_console.desk.alerts`; the rules
(leads change the rota, what an acknowledgement does) live there.
"""

from __future__ import annotations

import argparse
from datetime import datetime

from agent_console.cli.context import CliContext
from agent_console.cli.output import clean, print_json, print_table
from agent_console.cli.sla_cmd import parse_instant
from agent_console.errors import UserError
from agent_console.views import local_time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("oncall", help="who is on call, the rota, alerts")
    osub = p.add_subparsers(dest="oncall_command", metavar="ACTION", required=True)

    show = osub.add_parser("show", help="who is on call now and until when; open alerts")
    show.add_argument("--json", action="store_true", help="one JSON object (instants in UTC)")
    show.set_defaults(func=cmd_show)

    rota = osub.add_parser("rota", help="set a level's weekly rotation (leads)")
    rota.add_argument("handles", metavar="HANDLE,HANDLE,…", help="eligible agents, in order")
    rota.add_argument("--handover", metavar='"mon 09:00"', help="weekly handover day and time")
    rota.add_argument("--level", choices=("primary", "secondary"), default="primary")
    rota.add_argument("--zone", metavar="ZONE", help="zone of the handover time (IANA)")
    rota.set_defaults(func=cmd_rota)

    st = osub.add_parser("set", help="put an agent on call from now (an override; leads)")
    st.add_argument("handle", metavar="HANDLE")
    st.add_argument("--level", choices=("primary", "secondary"), default="primary")
    st.add_argument("--until", metavar="ISO", help="end of the override (default: next handover)")
    st.set_defaults(func=cmd_set)

    ack = osub.add_parser("ack", help="acknowledge an alert (its number) or a ticket's alerts")
    ack.add_argument("ref", metavar="KEY|ALERT")
    ack.set_defaults(func=cmd_ack)

    test = osub.add_parser("test-alert", help="send a test through every configured channel")
    test.add_argument("--webhook", metavar="URL", help="a generic JSON webhook for this run")
    test.set_defaults(func=cmd_test_alert)


def _fmt(ctx: CliContext, dt: datetime | None) -> str:
    return local_time(dt, ctx.desk.display_zone)


def cmd_show(args: argparse.Namespace, ctx: CliContext) -> int:
    desk = ctx.desk
    state = desk.oncall_now()
    alerts = desk.open_alerts(include_acknowledged=True)
    if args.json:
        data = state.as_json()
        data["alerts"] = [a.as_json() for a in alerts]
        data["channels"] = desk.webhook_channels()
        data["outbox"] = desk.outbox_counts()
        print_json(data)
        return 0
    if state.rehearsal:
        print(f"REHEARSAL at {_fmt(ctx, state.at)}")
    hours = "open" if state.business_open else "closed (after hours)"
    change = "closes" if state.business_open else "opens"
    print(f"Business hours: {hours}; {change} {_fmt(ctx, state.next_change)}")
    for slot in (state.primary, state.secondary):
        who = f"{slot.handle} ({clean(slot.name)})" if slot.handle else "nobody"
        src = " [override]" if slot.source == "override" else ""
        print(f"  {slot.level + ':':<11}{who}{src}  until {_fmt(ctx, slot.until)}")
    print(f"  {'leads:':<11}{', '.join(state.leads) or 'none'}")
    channels = desk.webhook_channels()
    box = desk.outbox_counts()
    print(
        f"Channels: {', '.join(channels) if channels else 'none (consoles only)'}; outbox "
        f"{box['pending']} pending, {box['sent']} sent, {box['failed']} failed"
    )
    if not alerts:
        print("No open alerts.")
        return 0
    print()
    print_table(
        ["ALERT", "KEY", "PRIORITY", "WHAT", "DUE", "LEVEL", "ACK"],
        [
            (
                a.id,
                a.key,
                a.priority,
                a.what,
                _fmt(ctx, a.due_at),
                a.level_name or "-",
                a.acknowledged_by or ("yes" if a.acknowledged_at else "-"),
            )
            for a in alerts
        ],
    )
    return 0


def cmd_rota(args: argparse.Namespace, ctx: CliContext) -> int:
    state = ctx.desk.set_rota(
        args.handles, level=args.level, handover=args.handover, zone=args.zone
    )
    slot = state.primary if args.level == "primary" else state.secondary
    print(
        f"{args.level} rota set; on call now: {slot.handle or 'nobody'} "
        f"until {_fmt(ctx, slot.until)}"
    )
    return 0


def cmd_set(args: argparse.Namespace, ctx: CliContext) -> int:
    until = parse_instant(args.until, "--until") if args.until else None
    state = ctx.desk.set_override(args.handle, level=args.level, until=until)
    slot = state.primary if args.level == "primary" else state.secondary
    mark = " (rehearsal)" if state.rehearsal else ""
    print(f"{slot.handle} is {args.level} on call until {_fmt(ctx, slot.until)}{mark}")
    return 0


def cmd_ack(args: argparse.Namespace, ctx: CliContext) -> int:
    for a in ctx.desk.acknowledge(args.ref):
        print(f"acknowledged alert {a.id}: {a.key} {a.what}")
    return 0


def cmd_test_alert(args: argparse.Namespace, ctx: CliContext) -> int:
    desk = ctx.desk
    if not desk.webhook_channels():
        raise UserError(
            "no alert channel configured: set webhook_url, slack_webhook_url or "
            "pagerduty_routing_key (config file or AGENT_CONSOLE_* environment), "
            "or pass --webhook URL"
        )
    if desk.rehearsal:
        for shown, body in desk.preview_webhooks("test", desk.test_alert_info()):
            print(f"rehearsal: would POST to {shown}: {body}")
        return 0
    report = desk.send_test_alert()
    for line in report.lines:
        print(clean(line))
    return 0 if not report.failed else 1

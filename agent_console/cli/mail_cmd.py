"""``mail ...``: fetch a mailbox into tickets, send what waits in the outbox, status,
quarantine (issue 14).

Faces of :mod:`agent_console.desk.mail_in` (fetching) and ``desk/mail_out.py`` (sending);
the rules (threading, exactly once, receipts) live there. The mailbox is the global
``--imap URL`` / AGENT_CONSOLE_IMAP / ``imap``; its password AGENT_CONSOLE_IMAP_PASSWORD or
``imap_password`` in the config file, never an argument.
"""

from __future__ import annotations

import argparse
import signal
import threading
from datetime import datetime

from agent_console.cli.context import CliContext
from agent_console.cli.output import clean, print_json, print_table
from agent_console.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mail", help="e-mail: fetch a mailbox into tickets, send, quarantine")
    msub = p.add_subparsers(dest="mail_command", metavar="ACTION", required=True)

    fetch = msub.add_parser(
        "fetch",
        help="read the mailbox (--imap) into tickets; keeps running (IDLE or polling) "
        "unless --once",
    )
    fetch.add_argument(
        "--once",
        action="store_true",
        help="fetch what is new, send what waits in the outbox, then exit",
    )
    fetch.add_argument(
        "--processed-folder",
        metavar="FOLDER",
        help="move each message there once its ticket is committed (config "
        "imap_processed_folder; created when missing); default: it stays, marked read",
    )
    fetch.add_argument(
        "--quarantine-folder",
        metavar="FOLDER",
        help="move messages that could not become tickets there (config "
        "imap_quarantine_folder); default: they stay, marked read",
    )
    fetch.set_defaults(func=cmd_fetch)

    send = msub.add_parser("send", help="send the mail waiting in the outbox, then exit")
    send.set_defaults(func=cmd_send)

    status = msub.add_parser("status", help="per mailbox: last fetch, counts; the mail outbox")
    status.add_argument("--json", action="store_true", help="one JSON object (instants in UTC)")
    status.set_defaults(func=cmd_status)

    q = msub.add_parser("quarantine", help="messages that could not become tickets")
    qsub = q.add_subparsers(dest="quarantine_command", metavar="ACTION")
    ql = qsub.add_parser("list", help="quarantined messages and why (default)")
    ql.add_argument("--all", action="store_true", help="retried ones too")
    ql.add_argument("--json", action="store_true", help="a JSON list")
    ql.set_defaults(func=cmd_quarantine_list)
    qr = qsub.add_parser("retry", help="read a quarantined message again")
    qr.add_argument("id", type=int, metavar="ID")
    qr.set_defaults(func=cmd_quarantine_retry)
    q.set_defaults(func=cmd_quarantine_list, all=False, json=False)


def _fmt(ctx: CliContext, dt: datetime | None) -> str:
    if dt is None:
        return "-"
    local = dt.astimezone(ctx.desk.display_zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _send(ctx: CliContext) -> None:
    desk = ctx.desk
    configured = getattr(desk, "mail_configured", None)
    if configured is None or not configured():
        print("send: no mail server configured (--smtp, --mail-from); nothing sent")
        return
    report = desk.send_mail()
    for line in report.lines:
        print(clean(f"  {line}"))
    print(f"send: {report.sent} sent, {report.failed} failed")


def cmd_fetch(args: argparse.Namespace, ctx: CliContext) -> int:
    desk = ctx.desk
    folders = {
        "imap_processed_folder": getattr(args, "processed_folder", None),
        "imap_quarantine_folder": getattr(args, "quarantine_folder", None),
    }
    if any(folders.values()):
        desk.settings = desk.settings.with_(**{k: v for k, v in folders.items() if v})
    if args.once:
        report = desk.fetch_mail_once()
        for line in report.lines:
            print(clean(f"  {line}"))
        print(clean(f"fetch: {report.summary()}"))
        _send(ctx)
        return 0
    stop = threading.Event()

    def _stop(_signum, _frame) -> None:  # type: ignore[no-untyped-def]
        stop.set()

    old_int = signal.signal(signal.SIGINT, _stop)
    old_term = signal.signal(signal.SIGTERM, _stop)

    def after(_report) -> None:  # type: ignore[no-untyped-def]
        configured = getattr(desk, "mail_configured", None)
        if configured is not None and configured():
            try:
                for line in desk.send_mail().lines:
                    print(clean(f"  {line}"), flush=True)
            except UserError as err:
                print(clean(f"send: {err}"), flush=True)

    try:
        print(f"mail fetch: {desk.imap_target().name}; Ctrl-C to stop", flush=True)
        desk.fetch_mail_forever(stop, lambda line: print(clean(line), flush=True), after_pass=after)
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    print("mail fetch: stopped", flush=True)
    return 0


def cmd_send(args: argparse.Namespace, ctx: CliContext) -> int:
    desk = ctx.desk
    configured = getattr(desk, "mail_configured", None)
    if configured is None or not configured():
        raise UserError(
            "no mail server: set --smtp URL / AGENT_CONSOLE_SMTP / smtp and "
            "--mail-from ADDRESS / AGENT_CONSOLE_MAIL_FROM / mail_from"
        )
    _send(ctx)
    return 0


def cmd_status(args: argparse.Namespace, ctx: CliContext) -> int:
    desk = ctx.desk
    boxes = desk.mail_status()
    counts_fn = getattr(desk, "mail_outbox_counts", None)
    outbox = counts_fn() if counts_fn is not None else {}
    if args.json:
        print_json({"mailboxes": [b.as_json() for b in boxes], "outbox": outbox})
        return 0
    configured = desk.settings.imap_url
    if not boxes:
        print(
            "no mailbox fetched yet"
            + ("" if configured else " (configure one: --imap / AGENT_CONSOLE_IMAP / imap)")
        )
    else:
        print_table(
            [
                "MAILBOX",
                "LAST FETCH",
                "LAST UID",
                "RECEIVED",
                "TICKETS",
                "FOLLOW-UPS",
                "BOUNCES",
                "IGNORED",
                "QUARANTINED",
            ],
            [
                [
                    b.mailbox,
                    _fmt(ctx, b.last_fetch_at),
                    b.last_uid,
                    b.received,
                    b.tickets,
                    b.follow_ups,
                    b.bounces,
                    b.ignored,
                    f"{b.quarantined} ({b.quarantine_waiting} waiting)",
                ]
                for b in boxes
            ],
        )
        for b in boxes:
            if b.last_error:
                print(clean(f"{b.mailbox}: last error: {b.last_error}"))
    if outbox:
        print("outbox (mail): " + ", ".join(f"{n} {k}" for k, n in outbox.items()))
    return 0


def cmd_quarantine_list(args: argparse.Namespace, ctx: CliContext) -> int:
    rows = ctx.desk.quarantine_list(all_rows=bool(getattr(args, "all", False)))
    if getattr(args, "json", False):
        print_json([r.as_json() for r in rows])
        return 0
    if not rows:
        print("no quarantined message")
        return 0
    print_table(
        ["ID", "RECEIVED", "FROM", "SUBJECT", "SIZE", "REASON"],
        [
            [
                r.id,
                _fmt(ctx, r.received_at),
                r.sender or "-",
                r.subject[:50] or "-",
                f"{r.size:,}",
                r.reason + (f" (retried → {r.ticket})" if r.retried_at and r.ticket else ""),
            ]
            for r in rows
        ],
    )
    print("retry one: agent-console mail quarantine retry ID")
    return 0


def cmd_quarantine_retry(args: argparse.Namespace, ctx: CliContext) -> int:
    r = ctx.desk.quarantine_retry(args.id)
    if r.outcome == "quarantined":
        raise UserError(f"message {args.id} is still unreadable: {r.detail}")
    what = {
        "ticket": f"new ticket {r.key}",
        "follow_up": f"added to {r.key}",
        "bounce": "a delivery failure report",
        "duplicate": "already received (nothing new)",
        "ignored": "ignored",
    }.get(r.outcome, r.outcome)
    print(clean(f"message {args.id}: {what}" + (f" — {r.detail}" if r.detail else "")))
    return 0

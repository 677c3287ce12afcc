"""``mail ...``: fetch a mailbox into tickets, send what waits in the outbox, status,
quarantine, failed mail (issue 14).

``mail send`` and ``mail fetch --once`` end with one line saying what was sent, what failed
for good and what still waits for a retry (and when); their exit code is 0 when nothing
failed for good, 1 when a message was given up in this run, 75 (EX_TEMPFAIL, as sendmail)
when ``--wait`` ran out with mail still waiting. ``--wait`` keeps retrying until nothing
waits — every message sent or given up — or for at most the DURATION given.

Faces of :mod:`agent_console.desk.mail_in` (fetching) and ``desk/mail_out.py`` (sending);
the rules (threading, exactly once, receipts) live there. The mailbox is the global
``--imap URL`` / AGENT_CONSOLE_IMAP / ``imap``; its password AGENT_CONSOLE_IMAP_PASSWORD or
``imap_password`` in the config file, never an argument.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from agent_console.cli.context import CliContext
from agent_console.cli.output import clean, print_json, print_table
from agent_console.errors import UserError
from agent_console.views import local_time

#: exit codes of ``mail send`` / ``mail fetch --once`` (module docstring)
EXIT_FAILED = 1
EXIT_STILL_WAITING = 75


def _wait_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait",
        nargs="?",
        const="",
        default=None,
        metavar="DURATION",
        help="keep retrying refused mail until nothing waits (each message sent or given "
        "up: mail_give_up_after), or for at most DURATION (e.g. 10m); exit 75 if mail "
        "still waits then",
    )


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
    _wait_arg(fetch)
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

    send = msub.add_parser(
        "send",
        help="send the mail due in the outbox, say what waits for a retry, then exit "
        "(exit 1: some mail failed for good)",
    )
    _wait_arg(send)
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

    f = msub.add_parser(
        "failed", help="outgoing mail given up on (the header's notice): list, retry, dismiss"
    )
    fsub = f.add_subparsers(dest="failed_command", metavar="ACTION")
    fl = fsub.add_parser("list", help="failed mail and why (default); waiting mail too")
    fl.add_argument("--all", action="store_true", help="dismissed ones too")
    fl.add_argument("--json", action="store_true", help="a JSON list (instants in UTC)")
    fl.set_defaults(func=cmd_failed_list)
    fr = fsub.add_parser("retry", help="send a failed (or waiting) mail again as soon as possible")
    fr.add_argument("id", type=int, metavar="ID")
    fr.add_argument(
        "--agent", dest="as_agent", metavar="H", help="acting agent (default: the global --agent)"
    )
    fr.set_defaults(func=cmd_failed_retry)
    fd = fsub.add_parser(
        "dismiss", help="stop counting a failed mail in the header (it stays on the ticket)"
    )
    fd.add_argument("id", type=int, metavar="ID", nargs="?")
    fd.add_argument("--all", action="store_true", help="every failed mail nobody dismissed")
    fd.add_argument(
        "--agent", dest="as_agent", metavar="H", help="acting agent (default: the global --agent)"
    )
    fd.set_defaults(func=cmd_failed_dismiss)
    f.set_defaults(func=cmd_failed_list, all=False, json=False)


def _fmt(ctx: CliContext, dt: datetime | None) -> str:
    return local_time(dt, ctx.desk.display_zone)


def _wait_seconds(args: argparse.Namespace) -> float | None:
    """``--wait`` → seconds to keep retrying: absent 0 (one pass), bare None (until
    nothing waits), DURATION its seconds."""
    raw = getattr(args, "wait", None)
    if raw is None:
        return 0.0
    if raw == "":
        return None
    from agent_console.sla import parse_duration

    try:
        return float(parse_duration(raw))
    except ValueError as exc:
        raise UserError(f"--wait: {exc}") from None


@contextmanager
def _stoppable() -> Iterator[threading.Event]:
    """An event set by Ctrl-C / SIGTERM while a command waits (then restored)."""
    stop = threading.Event()

    def _stop(_signum, _frame) -> None:  # type: ignore[no-untyped-def]
        stop.set()

    old_int = signal.signal(signal.SIGINT, _stop)
    old_term = signal.signal(signal.SIGTERM, _stop)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def _in(seconds: float) -> str:
    from agent_console.sla import format_duration

    return "now" if seconds <= 0 else f"in {format_duration(seconds)}"


def send_summary(ctx: CliContext, report) -> str:  # type: ignore[no-untyped-def]
    """The one line ``mail send`` ends with: sent, failed for good, waiting (and when the
    next retry is), earlier failures nobody dismissed."""
    line = f"send: {len(report.sent)} sent, {len(report.failed)} failed"
    if report.failed:
        line += " for good"
    if report.waiting:
        when = ""
        if report.next_at is not None:
            left = (report.next_at - ctx.desk.now()).total_seconds()
            when = f", next at {_fmt(ctx, report.next_at)} ({_in(left)})"
        line += f", {report.waiting} waiting for a retry{when}"
    else:
        line += ", nothing waiting"
    if report.failed_before:
        line += f"; {report.failed_before} failed earlier"
    if report.failed or report.failed_before:
        line += " (agent-console mail failed)"
    return line


def _send(ctx: CliContext, wait: float | None = 0.0) -> int:
    """Send what is due (and, with ``wait``, retry): the lines, the summary, the exit code."""
    desk = ctx.desk
    configured = getattr(desk, "mail_configured", None)
    if configured is None or not configured():
        print("send: no mail server configured (--smtp, --mail-from); nothing sent")
        return 0
    if wait != 0.0:
        print(
            "send: retrying until nothing waits"
            + (f" (at most {wait:g} s)" if wait is not None else "")
            + "; Ctrl-C to stop",
            flush=True,
        )
    with _stoppable() as stop:
        report = desk.send_mail(wait=wait, stop=stop)
    for line in report.lines:
        print(clean(f"  {line}"))
    print(clean(send_summary(ctx, report)))
    if report.failed:
        return EXIT_FAILED
    if report.gave_up_waiting and report.waiting:
        return EXIT_STILL_WAITING
    return 0


def cmd_fetch(args: argparse.Namespace, ctx: CliContext) -> int:
    desk = ctx.desk
    wait = _wait_seconds(args)
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
        return _send(ctx, wait)
    if getattr(args, "wait", None) is not None:
        raise UserError("--wait goes with --once (the long-running fetcher keeps sending)")
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
    return _send(ctx, _wait_seconds(args))


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
        line = "outbox (mail): " + ", ".join(f"{n} {k}" for k, n in outbox.items())
        waiting = getattr(desk, "mail_waiting", None)
        if outbox.get("pending") and waiting is not None:
            _n, nxt = waiting()
            if nxt is not None:
                line += f"; next attempt {_fmt(ctx, nxt)}"
        if outbox.get("failed"):
            line += " (agent-console mail failed)"
        print(line)
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


# ---------------------------------------------------------------- failed mail
_STATE_WORDS = {
    "failed": "failed",
    "dismissed": "dismissed",
    "retrying": "retrying",
    "queued": "queued",
    "sent": "sent",
}


def _state_text(ctx: CliContext, m) -> str:  # type: ignore[no-untyped-def]
    if m.state in ("queued", "retrying"):
        if m.sending:
            return "sending now"
        if m.next_at is not None:
            left = (m.next_at - ctx.desk.now()).total_seconds()
            return f"{m.state}, next {_in(left)}"
    if m.state == "failed" and m.bounced:
        return "bounced"
    return _STATE_WORDS.get(m.state, m.state)


def cmd_failed_list(args: argparse.Namespace, ctx: CliContext) -> int:
    rows = ctx.desk.mail_outbox(dismissed=bool(getattr(args, "all", False)))
    if getattr(args, "json", False):
        print_json([r.as_json() for r in rows])
        return 0
    failed = [r for r in rows if r.state in ("failed", "dismissed")]
    waiting = [r for r in rows if r.state not in ("failed", "dismissed")]
    if not failed:
        print("no failed mail" + (f"; {len(waiting)} waiting to be sent" if waiting else ""))
    if rows:
        print_table(
            ["ID", "TICKET", "TO", "KIND", "STATE", "TRIES", "WHEN", "REASON"],
            [
                [
                    r.id,
                    r.key or "-",
                    r.to,
                    r.kind,
                    _state_text(ctx, r),
                    r.attempts,
                    _fmt(ctx, r.failed_at or r.created_at),
                    r.short_reason or "-",
                ]
                for r in rows
            ],
        )
    if failed:
        print(
            "send one again: agent-console mail failed retry ID · stop counting it: "
            "agent-console mail failed dismiss ID (or --all)"
        )
    return 0


def cmd_failed_retry(args: argparse.Namespace, ctx: CliContext) -> int:
    m = ctx.desk.retry_mail(args.id, agent=args.as_agent)
    sender = "" if ctx.desk.mail_configured() else " (by the next console with --smtp: `mail send`)"
    print(clean(f"mail {m.id} to {m.to} ({m.key or 'no ticket'}) will be sent again{sender}"))
    return 0


def cmd_failed_dismiss(args: argparse.Namespace, ctx: CliContext) -> int:
    if (args.id is None) == (not args.all):
        raise UserError("give the ID of one failed mail, or --all (see `mail failed list`)")
    ids = ctx.desk.dismiss_failed_mail(None if args.all else args.id, agent=args.as_agent)
    if not ids:
        print("no failed mail to dismiss")
    else:
        shown = ", ".join(str(i) for i in ids[:10]) + (" …" if len(ids) > 10 else "")
        print(f"dismissed {len(ids)} failed mail ({shown}); the tickets keep the history")
    return 0

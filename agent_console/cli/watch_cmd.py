"""``watch``: the headless watcher — the consoles' alerting without the TUI (issue 10).

One line per alert (fired, escalated, resolved) on stdout; delivery of the outbox (webhooks,
and mail when ``smtp`` and ``mail_from`` are configured: issue 14) in a sender thread so a slow webhook never delays the next alert; a clean exit on Ctrl-C and
SIGTERM. Idle cost: it sleeps until the next threshold or escalation instant, bounded by
``--poll`` seconds (default 1) to notice ticket changes; an idle poll is a few indexed
reads and takes no write lock. Under ``--at`` (rehearsal) nothing is sent: each alert
prints the bodies the webhooks would have received.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from agent_console.cli.context import CliContext
from agent_console.cli.output import clean
from agent_console.errors import UserError

if TYPE_CHECKING:
    from agent_console.desk import AlertRow, Desk
    from agent_console.desk.oncall import OncallState

LEVELS = ("primary", "secondary", "leads")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "watch", help="headless alerting: one line per alert, webhooks; sends queued mail"
    )
    p.add_argument("--webhook", metavar="URL", help="also POST alerts to this generic webhook")
    p.add_argument(
        "--poll",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how often to look for ticket changes (default 1)",
    )
    p.add_argument("--once", action="store_true", help="one pass (and its deliveries), then exit")
    p.set_defaults(func=cmd_watch)


def alert_line(
    desk: Desk, a: AlertRow, verb: str, now: datetime, state: OncallState | None = None
) -> str:
    zone = desk.display_zone
    local = now.astimezone(zone)
    due = a.due_at.astimezone(zone)
    state = state or desk.oncall_now(now)
    notify = ", ".join(a.recipients(state)) or "nobody"
    mark = " [rehearsal]" if a.rehearsal else ""
    return clean(
        f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} {verb} #{a.id}{mark} {a.key} "
        f"{a.priority}: {a.what} (due {due:%a %H:%M}) → {notify}"
        f" — {a.subject}"
    )


class Watcher:
    """The watch loop; ``stop`` (a threading.Event) ends it. Tests drive it directly."""

    def __init__(
        self, desk: Desk, *, poll: float = 1.0, out=None, backoff_initial: float = 0.5
    ) -> None:
        self.desk = desk
        self.poll = poll
        self.out = out or sys.stdout
        self.stop = threading.Event()
        self._wake = threading.Event()
        self.backoff_initial = backoff_initial
        self._lock = threading.Lock()
        self.next_wake: datetime | None = None

    def emit(self, line: str) -> None:
        with self._lock:
            self.out.write(line + "\n")
            self.out.flush()

    def pass_once(self) -> int:
        """One alerting pass; returns how many alerts it fired or escalated."""
        desk = self.desk
        now = desk.now()
        tick = desk.alert_tick(now)
        self.next_wake = tick.next_wake
        state = desk.oncall_now(now) if (tick.fired or tick.escalated) else None
        for a in tick.fired:
            self.emit(alert_line(desk, a, "ALERT", now, state))
            if desk.rehearsal:
                info = a.as_json()
                info["time_left_seconds"] = round((a.due_at - now).total_seconds())
                info["dedup_key"] = f"{a.key}:{a.metric}:{a.cycle}"
                for shown, body in desk.preview_webhooks("trigger", info):
                    self.emit(f"  rehearsal: would POST to {shown}: {body}")
        for a in tick.escalated:
            self.emit(alert_line(desk, a, "ESCALATED", now, state))
        if tick.resolved:
            self.emit(f"resolved alert(s) {', '.join(f'#{i}' for i in tick.resolved)}: met")
        if (tick.fired or tick.escalated) and desk.settings.alert_bell and self.out.isatty():
            self.emit("\a")
        if tick.fired or tick.escalated or tick.resolved:
            self._wake.set()
        return len(tick.fired) + len(tick.escalated)

    def _sleep_for(self) -> float:
        nxt = self.next_wake
        now = self.desk.now()
        wait = self.poll
        if nxt is not None:
            wait = min(wait, max(0.0, (nxt - now).total_seconds()))
        return wait

    def sender_loop(self) -> None:
        while not self.stop.is_set():
            try:
                report = self.desk.deliver_outbox(backoff_initial=self.backoff_initial)
                for line in report.lines:
                    self.emit("  " + line)
            except UserError as err:
                self.emit(f"outbox: {err}")
            except Exception as exc:  # noqa: BLE001 - keep sending; the type only (no URL)
                self.emit(f"outbox: unexpected {type(exc).__name__}; retrying")
            if self._wake.wait(self.poll):
                self._wake.clear()

    def fetch_loop(self) -> None:
        """Inbound mail (issue 14): the long-running fetcher; what it queues (receipts)
        wakes the sender."""
        self.desk.fetch_mail_forever(self.stop, self.emit, after_pass=lambda _r: self._wake.set())

    def fetch_once(self) -> None:
        try:
            report = self.desk.fetch_mail_once()
        except UserError as err:
            self.emit(f"mail: {err}")
            return
        for line in report.lines:
            self.emit("  " + line)
        self.emit(f"mail: {report.summary()}")

    def run(self, *, once: bool = False) -> None:
        sender = None
        fetcher = None
        if not self.desk.rehearsal:
            sender = threading.Thread(target=self.sender_loop, name="outbox", daemon=True)
            if self.desk.settings.imap_url:
                fetcher = threading.Thread(target=self.fetch_loop, name="mail", daemon=True)
        if once:
            if fetcher is not None:
                self.fetch_once()
            new = self.pass_once()
            waiting = sum(1 for a in self.desk.open_alerts() if a.acknowledged_at is None)
            self.emit(
                f"one pass: {new} alert(s) fired or escalated now; {waiting} earlier alert(s) "
                "still unacknowledged (agent-console oncall show)"
            )
            if sender is not None:
                report = self.desk.deliver_outbox(backoff_initial=self.backoff_initial)
                for line in report.lines:
                    self.emit("  " + line)
            return
        if sender is not None:
            sender.start()
        if fetcher is not None:
            fetcher.start()
        try:
            while not self.stop.is_set():
                try:
                    self.pass_once()
                    wait = self._sleep_for()
                except UserError as err:  # database gone away: say so, keep trying
                    self.emit(f"watch: {err}")
                    wait = max(self.poll, 5.0)
                # floor: a threshold due "now" is fired on the next pass, never busy-loops
                self.stop.wait(max(wait, 0.01))
        finally:
            self.stop.set()
            self._wake.set()
            if sender is not None:
                sender.join(timeout=5)
            if fetcher is not None:
                fetcher.join(timeout=5)


def cmd_watch(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.poll <= 0:
        raise UserError("--poll must be a positive number of seconds")
    desk = ctx.desk
    watcher = Watcher(desk, poll=args.poll)

    def _stop(_signum, _frame) -> None:  # type: ignore[no-untyped-def]
        watcher.stop.set()

    old_int = signal.signal(signal.SIGINT, _stop)
    old_term = signal.signal(signal.SIGTERM, _stop)
    try:
        _announce(desk, once=args.once)
        watcher.run(once=args.once)
    finally:
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    if not args.once:
        print("watch: stopped", flush=True)
    return 0


def _announce(desk: Desk, *, once: bool = False) -> None:
    state = desk.oncall_now()
    mail = ["mail"] if desk.mail_configured() else []
    channels = ", ".join([*desk.webhook_channels(), *mail]) or "none"
    mark = " REHEARSAL (nothing is sent)" if desk.rehearsal else ""
    if desk.settings.imap_url and not desk.rehearsal:
        channels += f"; mail from {desk.imap_target().name}"
    now = desk.now().astimezone(desk.display_zone)
    print(
        f"watching{mark} from {now:%Y-%m-%d %H:%M} {now.tzname()}; primary "
        f"{state.primary.handle or 'nobody'}, secondary {state.secondary.handle or 'nobody'}; "
        f"channels: {channels}; " + ("one pass, then exit" if once else "Ctrl-C to stop"),
        flush=True,
    )

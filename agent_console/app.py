"""The Textual application: one settings object, one desk, screens as modes.

``1``–``5`` switch between the Queue, Knowledge base, On-call, Metrics and Mail screens (each keeps its own
stack: a ticket opened from the queue stays open when you come back). Every key of the
active screen is also in the command palette (``ctrl+p``).

Alerts (issue 10) run here, for every screen: a thread worker runs the desk's alert pass
(:meth:`~agent_console.desk.alerts.AlertsMixin.alert_tick`: the desk claims each alert, so
two consoles and a watcher never fire one twice) no later than its ``next_wake`` and at
least every :attr:`AgentConsoleApp.alert_poll` seconds, reads the open alerts, and posts
:class:`AlertsPolled`; the app then toasts (and rings the bell for) the alerts that concern
the acting agent (:class:`~agent_console.desk.oncall_view.AlertToasts`) and updates the
shared header notices (:class:`~agent_console.widgets.console_header.HeaderNotices`). When
webhooks are configured, a second worker delivers the outbox (the desk's claims make it
safe beside a watcher); a slow webhook never delays the next alert pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer

from agent_console.desk import AlertRow, AlertTick, Desk, DraftInfo, FeedBatch
from agent_console.desk.live import FeedListener, LinkState, is_unavailable
from agent_console.desk.oncall import OncallState
from agent_console.desk.oncall_view import AlertToasts, Toast, mail_failure_count
from agent_console.desk.presence import (
    HEARTBEAT,
    PRESENCE_CHANNEL,
    TYPING_EVERY,
    new_console_id,
)
from agent_console.errors import UserError
from agent_console.keymap import Keymap, keymap_path, load_binding_ids, read_keymap, with_ids
from agent_console.logs import configure_logging, get_logger
from agent_console.redact import mask_secrets
from agent_console.safe_text import one_line, visible
from agent_console.screens.draft_keeper import DRAFT_DEBOUNCE, DraftKeeper
from agent_console.settings import Settings
from agent_console.widgets.console_header import ConsoleHeader, HeaderNotices

Clock = Callable[[], datetime]


# Screens are imported on first use: the CLI and the tests import the app without them.
def _queue_screen() -> Screen:
    from agent_console.screens.queue import QueueScreen

    return QueueScreen()


def _metrics_screen() -> Screen:
    from agent_console.screens.metrics import MetricsScreen

    return MetricsScreen()


def _knowledge_screen() -> Screen:
    from agent_console.screens.knowledge import KnowledgeScreen

    return KnowledgeScreen()


class Woken(Message):
    """The listener heard a notification on ``channel`` with ``payload`` (or
    ``reconnected``)."""

    def __init__(self, channel: str, payload: str = "") -> None:
        super().__init__()
        self.channel = channel
        self.payload = payload


def _oncall_screen() -> Screen:
    from agent_console.screens.oncall import OncallScreen

    return OncallScreen()


def _mail_screen() -> Screen:
    from agent_console.screens.mail import MailScreen

    return MailScreen()


#: below this size (columns, lines) alert toasts are compact (see AlertToasts.toasts)
COMPACT_TOAST_SIZE = (100, 30)
#: with a PostgreSQL listener connected, the alert pass runs on every feed notification
#: (what others changed: tickets, acknowledgements, escalations) and at the desk's next
#: threshold or escalation instant, and polls only this often (seconds) as a safety net
LISTENING_ALERT_POLL = 30.0
#: a feed notification runs the alert pass this soon (seconds; a burst of commits is one pass)
ALERT_WAKE_DELAY = 0.2


class HeaderCounted(Message):
    """The header's counts, read at the start of an alert pass — before the pass itself,
    which can take long (the first pass on a large database builds the alert schedule):
    the breaching count shows on the first screen at once."""

    def __init__(self, breaching: int, mail_failures: int) -> None:
        super().__init__()
        self.breaching = breaching
        self.mail_failures = mail_failures


class AlertsPolled(Message):
    """One pass of the app's alert worker: what the desk's alert pass did, the open alerts
    (unacknowledged and unresolved), who is on call, the header's counts, and the pass's
    ``now`` (UTC)."""

    def __init__(
        self,
        tick: AlertTick,
        alerts: list[AlertRow],
        oncall: OncallState,
        breaching: int,
        mail_failures: int,
        now: datetime,
    ) -> None:
        super().__init__()
        self.tick = tick
        self.alerts = alerts
        self.oncall = oncall
        self.breaching = breaching
        self.mail_failures = mail_failures
        self.now = now


class AlertsFailed(Message):
    """The alert pass could not reach the database: the header's outage notice."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class AgentConsoleApp(App[None]):
    """Agent Console. Build it with :func:`create_app` (tests do too)."""

    TITLE = "Agent Console"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True

    MODES = {
        "queue": _queue_screen,
        "knowledge": _knowledge_screen,
        "oncall": _oncall_screen,
        "metrics": _metrics_screen,
        "mail": _mail_screen,
    }
    DEFAULT_MODE = "queue"

    #: ``1``–``5`` switch screens from anywhere but a text box (screens "3"–"5" join
    #: through MODES)
    BINDINGS = with_ids("app", [
        Binding("1", "switch_mode('queue')", "Queue", show=False),
        Binding("2", "switch_mode('knowledge')", "Knowledge", show=False),
        Binding("3", "switch_mode('oncall')", "On call", show=False),
        Binding("4", "switch_mode('metrics')", "Metrics", show=False),
        Binding("5", "switch_mode('mail')", "Mail", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ])

    def __init__(
        self,
        settings: Settings,
        *,
        desk: Desk | None = None,
        clock: Clock | None = None,
        offer_demo: bool = True,
        debug: bool = False,
        real_ticks: bool = True,
        draft_delay: float = DRAFT_DEBOUNCE,
        live: bool = True,
        heartbeat: float = HEARTBEAT,
        alerts: bool = True,
        alert_poll: float = 2.0,
    ) -> None:
        super().__init__()
        #: False: screens start no periodic timers; tests call their tick themselves
        #: (see :mod:`agent_console.screens.ticking`)
        self.real_ticks = real_ticks
        self.settings = settings
        #: ``--debug``: an unexpected error shows Textual's traceback instead of one line
        self.debug_errors = debug
        #: the one-line report of an unexpected error that ended the app (the CLI prints it)
        self.crash_report: str | None = None
        self.desk = desk or Desk.open(settings, clock=clock)
        # one clock for the screens and the desk: a ``--at`` rehearsal desk's included
        self._clock: Clock = clock or self.desk.now
        self.offer_demo = offer_demo
        #: unsent drafts on their way to the database (debounced, off the UI thread)
        self.drafts = DraftKeeper(
            self, lambda: self.desk, delay=draft_delay, on_saved=self._drafts_saved
        )
        self._quitting = False
        #: whether the database answers (the header's outage notice; see desk/live.py)
        self.link = LinkState()
        #: listen for other consoles' commits (PostgreSQL) and announce presence
        self.live = live
        self.listener: FeedListener | None = None
        #: this running console, for presence (see desk/presence.py)
        self.console_id = new_console_id()
        self.heartbeat = heartbeat
        self._presence_timer: Timer | None = None
        self._presence_key: str | None = None
        self._typed_at = float("-inf")
        self._presence_lock = threading.Lock()
        self._left = False
        self._outage_timer: Timer | None = None
        #: run the alert worker (toasts, bell, header count); tests of other screens turn
        #: it off to keep their header deterministic
        self.alerts_enabled = alerts
        #: seconds between alert passes at most (sooner when the desk's next_wake is sooner)
        self.alert_poll = alert_poll
        #: the shared header notices every screen's header shows (see console_header)
        self.header_notices = HeaderNotices(rehearsal=settings.at is not None)
        self.toasts = AlertToasts(self.desk.actor, settings.alert_repeat_every)
        self._alert_timer: Timer | None = None
        #: when the planned alert pass runs (time.monotonic())
        self._alert_due = 0.0
        self._alert_rewake = False
        #: alert passes completed (tests wait on it)
        self.alert_passes = 0
        self._open_alerts_seen: frozenset[tuple[int, int]] = frozenset()
        #: what the console's outbox deliveries reported (sent / failed lines; no secret)
        self.outbox_lines: list[str] = []
        #: keymap.toml (issue 16) and what of it applies once read
        self.keymap_file = keymap_path()
        self.keymap = Keymap()

    # ---------------------------------------------------------------- clock
    def now(self) -> datetime:
        """The one clock every screen formats timers against (injectable for tests)."""
        return self._clock()

    # ---------------------------------------------------------------- first run
    def on_mount(self) -> None:
        if self.live:
            self.start_live()
        for line in self.desk.take_notices():  # e.g. a local policy file not in use
            self.notify(line, severity="warning", markup=False, timeout=15)
        self.load_keymap()
        if self.alerts_enabled:
            self.call_after_refresh(self.run_alert_pass)
        if self.offer_demo and not self.desk.has_tickets():
            from agent_console.screens.demo_offer import DemoOffer

            self.push_screen(DemoOffer(), self._demo_answer)

    # ---------------------------------------------------------------- keymap (issue 16)
    def load_keymap(self) -> None:
        """``keymap.toml`` in the config directory rebinds keys by binding id (README
        "Keymap"): read in a worker (the screens' binding ids are imported there), then
        handed to Textual; each bad entry is one notice and one log line, and ignored."""
        if self.keymap_file.is_file():
            self._keymap_worker(self.keymap_file)

    @work(thread=True, exclusive=True, group="keymap")
    def _keymap_worker(self, path: Path) -> None:
        known = load_binding_ids()
        self.call_from_thread(self._keymap_read, read_keymap(path, known=known))

    def _keymap_read(self, keymap: Keymap) -> None:
        self.keymap = keymap
        if keymap.keys:
            self.set_keymap(keymap.keys)
        for line in keymap.problems:
            get_logger("agent_console.keymap").warning("%s", line)
        notice = keymap.notice()  # one notice for every bad line (`keymap check` lists them)
        if notice:
            self.notify(notice, title="Keymap", severity="warning", markup=False, timeout=15)

    def _demo_answer(self, load: bool | None) -> None:
        if load:
            self.load_demo_data()

    @work(thread=True, exclusive=True, group="demo")
    def load_demo_data(self) -> None:
        self.call_from_thread(self.notify, "Loading demo data…", timeout=3)
        try:
            self.desk.load_demo()
        except UserError as exc:
            self.call_from_thread(
                self.notify, f"Demo data not loaded: {exc}", severity="error", markup=False
            )
            return
        self.call_from_thread(self.notify, "Demo data loaded: 2,000 tickets")
        self.call_from_thread(self._refresh_screens)

    def _refresh_screens(self) -> None:
        refresh = getattr(self.screen, "reload", None)
        if callable(refresh):
            refresh()

    # ---------------------------------------------------------------- errors
    def notify(self, message: str, *, title: str = "", **kwargs: Any) -> None:  # type: ignore[override]
        """Every notification passes the one rule for outside text (names, subjects and
        error lines quoting them) and the masking of secrets: no escape sequence and no
        password reaches the terminal."""
        super().notify(visible(mask_secrets(message)), title=one_line(title), **kwargs)

    def _handle_exception(self, error: Exception) -> None:
        """The one place an unexpected error in the TUI is turned into words (Textual has no
        public hook: this is the method its workers, timers and handlers call).

        A failed worker (the database work behind a key) becomes one notification and a log
        entry; the screen stays usable. Any other error ends the app without a traceback
        dump: the CLI prints :attr:`crash_report` (one line and the log file). With
        ``--debug`` Textual's own traceback is shown instead."""
        from textual.worker import WorkerFailed

        cause = error.error if isinstance(error, WorkerFailed) else error
        log_path = configure_logging()
        try:
            where_in_app = type(self.screen).__name__
        except Exception:  # noqa: BLE001 - no screen yet (an error while starting)
            where_in_app = "start"
        get_logger("agent_console.tui").error(
            "unexpected error on %s",
            where_in_app,
            exc_info=(type(cause), cause, cause.__traceback__),
        )
        if self.debug_errors:
            super()._handle_exception(error)
            return
        lines = str(cause).strip().splitlines()
        what = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
        where = f"details in {log_path}" if log_path else "no log file could be written"
        if isinstance(error, WorkerFailed):
            self.notify(
                f"Something went wrong ({what}); {where}",
                title="Unexpected error",
                severity="error",
                markup=False,
                timeout=10,
            )
            return
        self.crash_report = f"unexpected error: {what} ({where}; --debug shows them here)"
        self._return_code = 1
        if self._exception is None:  # tests driving the app with Pilot still see it
            self._exception = error
            self._exception_event.set()
        self._close_messages_no_wait()

    def _drafts_saved(self) -> None:
        changed = getattr(self.screen, "drafts_changed", None)
        if callable(changed):
            changed()

    # ---------------------------------------------------------------- live updates
    def start_live(self) -> None:
        """Listen for other consoles' commits (PostgreSQL; SQLite screens poll) and start
        the presence heartbeat."""
        if self.desk.engine.dialect.name == "postgresql" and self.listener is None:
            self.listener = FeedListener(
                self.desk.engine,
                lambda ch, payload: self.post_message(Woken(ch, payload)),
                link=self.link,
                clock=self.now,  # "last sync" on the header's clock
            ).start()
        if self._presence_timer is None:
            self._presence_timer = self.set_interval(self.heartbeat, self._beat, name="presence")
            self._beat()

    @property
    def listening(self) -> bool:
        """True while a listener is connected: screens then read the feed when woken and
        poll only rarely."""
        return self.listener is not None and self.listener.listening.is_set()

    @on(Woken)
    def _woken(self, message: Woken) -> None:
        if message.channel == "reconnected":
            self.feed_recovered()
            return
        if message.channel == "lost":
            self._repaint_headers()  # the outage notice, counting down to the next try
            return
        if message.channel == PRESENCE_CHANNEL:
            kind, _, key = message.payload.partition(":")
            if kind == "typing" and key != getattr(self.screen, "key", None):
                return  # typing matters only to the consoles showing that ticket
            follow = getattr(self.screen, "presence_woken", None)
        else:
            follow = getattr(self.screen, "feed_woken", None)
            self._alerts_woken()
        if callable(follow):
            follow()

    def _alerts_woken(self) -> None:
        """Another console or command committed: run the alert pass soon (never later than
        already planned, so a busy feed cannot postpone it)."""
        if not self.alerts_enabled:
            return
        if self._alert_timer is None:  # a pass is running: the next one follows it soon
            self._alert_rewake = True
            return
        if self._alert_due - time.monotonic() > ALERT_WAKE_DELAY:
            self._schedule_alert_pass(ALERT_WAKE_DELAY)

    def feed_ok(self, batch: FeedBatch | None = None) -> None:
        """A screen read the database: the outage notice (if any) goes, screens catch up.
        ``batch``: what it applied; a stored policy changed on another console (``sla
        apply``) puts the new one in every screen's header."""
        if batch is not None and batch.policies_changed:
            self.policies_changed()
        if self.link.succeeded(self.now()):  # the header's clock (a rehearsal's too)
            self.feed_recovered()

    def policies_changed(self) -> None:
        """The desk reloaded the stored policies: every open screen's header shows the
        new default policy's hours (in the zone it already shows)."""
        for screen in self.screen_stack:
            for header in screen.query(ConsoleHeader):
                header.set_policy(self.desk.default_policy, header.zone)
                header.update_state(self.now())

    def feed_failed(self, error: BaseException) -> bool:
        """A screen's read failed. An outage (the database does not answer) goes to the
        header notice and returns True — no toast; anything else returns False."""
        if not is_unavailable(error):
            return False
        self.link.failed(str(error))
        self._repaint_headers()
        return True

    def feed_recovered(self) -> None:
        self._repaint_headers()
        follow = getattr(self.screen, "feed_woken", None)
        if callable(follow):
            follow()
        self._beat()

    def outage_notice(self) -> str | None:
        """The header's outage text now (None: the database answers)."""
        return self.link.view().notice(self.desk.display_zone)

    def _repaint_headers(self) -> None:
        """The link changed: the shared header notice follows it (and, while the database
        is down, counts down once a second), then the active screen repaints its header."""
        text = self.outage_notice()
        # the one notice slot every screen's header shows (widgets/console_header.py:
        # outage > rehearsal > breaching > mail failures)
        self.header_notices.outage = text
        if text is not None and self._outage_timer is None:
            self._outage_timer = self.set_interval(1.0, self._repaint_headers, name="outage")
        elif text is None and self._outage_timer is not None:
            self._outage_timer.stop()
            self._outage_timer = None
        self._repaint_header()

    def showing_ticket(self, key: str | None) -> None:
        """The active screen now shows ticket ``key`` (None: no ticket): tell the others."""
        if key != self._presence_key:
            self._presence_key = key
            self._typed_at = float("-inf")
            self._beat(announce=True)

    def typing_in(self, key: str) -> None:
        """The agent typed a reply in ``key``: announced at most every ``TYPING_EVERY`` s."""
        now = time.monotonic()
        if now - self._typed_at >= TYPING_EVERY:
            self._typed_at = now
            self._presence_key = key
            self._beat(typing=True, announce=True)

    def _beat(self, *, typing: bool = False, announce: bool = False) -> None:
        if self.live:
            self._presence_worker(typing, announce)

    @work(thread=True, group="presence")
    def _presence_worker(self, typing: bool, announce: bool) -> None:
        if not self.link.may_try():
            return
        # one write at a time, each with the ticket shown when it runs: beats racing
        # in threads never leave an older ticket behind
        with self._presence_lock:
            if self._left:
                return  # the console is exiting: its row is gone and stays gone
            key = self._presence_key
            try:
                self.desk.presence_beat(self.console_id, key, typing=typing, announce=announce)
            except UserError:
                return  # presence is best effort; an outage shows through the feed

    def leave_presence(self) -> None:
        """The console exits: its presence row goes and the listener stops."""
        if self.listener is not None:
            self.listener.stop()
            self.listener = None
        if not self.live or self._left:
            return
        with self._presence_lock:
            self._left = True
            if self.link.down:
                return  # it expires
            try:
                self.desk.presence_leave(self.console_id)
            except UserError:
                pass  # it expires

    def on_unmount(self) -> None:
        self.leave_presence()

    # ---------------------------------------------------------------- quitting
    async def action_quit(self) -> None:
        """``ctrl+q``: write what is being typed, then quit — or, with unsent drafts, say
        so and offer keep (quit, they stay for next time) / discard / cancel.

        The check runs after the keys already queued for the focused widget (a burst
        typed just before ``ctrl+q`` is in the draft)."""
        if self._quitting:
            return
        (self.focused or self.screen).call_later(self._begin_quit)

    def _begin_quit(self) -> None:
        capture = getattr(self.screen, "capture_drafts", None)
        if callable(capture):
            capture()
        self._quit_check(self.drafts.take_for_thread())

    @work(thread=True, exclusive=True, group="quit")
    def _quit_check(self, flush: Callable[[], None]) -> None:
        flush()
        try:
            drafts = self.desk.my_drafts()
        except UserError:
            drafts = []
        self.call_from_thread(self._ask_about_drafts, drafts)

    def _ask_about_drafts(self, drafts: list[DraftInfo]) -> None:
        if not drafts:
            self.exit()
            return
        from agent_console.screens.quit_drafts import QuitWithDrafts

        if isinstance(self.screen, QuitWithDrafts):
            return
        self._quitting = True
        self.push_screen(QuitWithDrafts(drafts), self._quit_answer)

    def _quit_answer(self, answer: str | None) -> None:
        self._quitting = False
        if answer == "keep":
            self.exit()
        elif answer == "discard":
            self._discard_and_quit()

    @work(thread=True, exclusive=True, group="quit")
    def _discard_and_quit(self) -> None:
        try:
            self.desk.discard_my_drafts()
        except UserError as exc:
            self.call_from_thread(
                self.notify, f"Drafts not discarded: {exc}", severity="error", markup=False
            )
            return
        self.call_from_thread(self.exit)
    # ---------------------------------------------------------------- alerts
    def run_alert_pass(self) -> None:
        """Start one alert pass now (a worker; the next one is scheduled when it ends)."""
        if self._alert_timer is not None:
            self._alert_timer.stop()
            self._alert_timer = None
        self._alert_worker()

    @work(thread=True, exclusive=True, group="alerts")
    def _alert_worker(self) -> None:
        desk = self.desk
        try:
            now = desk.now()
            if self.alert_passes == 0:
                # the header's count first: the pass can be long (a schedule bootstrap)
                self.post_message(
                    HeaderCounted(desk.breaching_soon_count(now=now), mail_failure_count(desk))
                )
            tick = desk.alert_tick(now)
            alerts = desk.open_alerts()
            oncall = desk.oncall_now(now)
            breaching = desk.breaching_soon_count(now=now)
            failures = mail_failure_count(desk)
        except UserError as exc:
            self.post_message(AlertsFailed(str(exc)))
            return
        self.post_message(AlertsPolled(tick, alerts, oncall, breaching, failures, now))

    def _schedule_alert_pass(self, delay: float) -> None:
        if self._alert_timer is not None:
            self._alert_timer.stop()
        delay = max(delay, 0.05)
        self._alert_due = time.monotonic() + delay
        self._alert_timer = self.set_timer(delay, self.run_alert_pass, name="alerts")

    @on(HeaderCounted)
    def _header_counted(self, message: HeaderCounted) -> None:
        notices = self.header_notices
        if (notices.breaching, notices.mail_failures) != (
            message.breaching,
            message.mail_failures,
        ):
            notices.breaching = message.breaching
            notices.mail_failures = message.mail_failures
            self._repaint_header()

    @on(AlertsPolled)
    def _alerts_polled(self, message: AlertsPolled) -> None:
        self.alert_passes += 1
        notices = self.header_notices
        # open alerts fired, escalated or acknowledged elsewhere (a watcher, another console)
        seen = frozenset((a.id, a.level) for a in message.alerts)
        recovered = self.link.succeeded(self.now())  # the database answers
        changed = (
            recovered
            or notices.breaching != message.breaching
            or seen != self._open_alerts_seen
            or bool(message.tick.fired or message.tick.escalated or message.tick.resolved)
        )
        self._open_alerts_seen = seen
        notices.breaching = message.breaching
        notices.mail_failures = message.mail_failures
        self._show_toasts(
            self.toasts.toasts(
                message.alerts, message.oncall, message.now, compact=self.compact_toasts
            )
        )
        if recovered:
            self.feed_recovered()  # the outage notice goes; the screen catches up
        if changed:
            self._repaint_header()
            follow = getattr(self.screen, "alerts_changed", None)
            if callable(follow):
                follow()
        sends = self.desk.webhook_channels() or self.desk.mail_configured()
        if sends and not self.desk.rehearsal:
            self.deliver_outbox()
        # PostgreSQL with a listener: woken by the feed (see _alerts_woken), polled rarely
        delay = max(self.alert_poll, LISTENING_ALERT_POLL) if self.listening else self.alert_poll
        if self._alert_rewake:  # woken while the pass ran
            self._alert_rewake = False
            delay = min(delay, ALERT_WAKE_DELAY)
        wake = message.tick.next_wake
        if wake is not None:
            delay = min(delay, (wake - self.desk.now()).total_seconds())
        self._schedule_alert_pass(delay)

    def deliver_outbox(self) -> None:
        """Deliver what the outbox holds, in a worker (one at a time; a delivery still
        retrying keeps its claim, and the next pass finds nothing else ready)."""
        running = [w for w in self.workers if w.group == "outbox" and not w.is_finished]
        if not running:
            self._outbox_worker()

    @work(thread=True, group="outbox")
    def _outbox_worker(self) -> None:
        try:
            report = self.desk.deliver_outbox()
        except UserError as exc:
            self.post_message(AlertsFailed(str(exc)))
            return
        self.outbox_lines.extend(report.lines)

    @on(AlertsFailed)
    def _alerts_failed(self, message: AlertsFailed) -> None:
        first = not self.link.down
        self.link.failed(message.error)  # the one outage notice (see _repaint_headers)
        self._repaint_headers()
        if first:
            self.notify(message.error, title="Alerts paused", severity="error", markup=False)
        self._schedule_alert_pass(max(self.alert_poll, 5.0))

    @property
    def compact_toasts(self) -> bool:
        """A small terminal (below 100 columns or 30 lines): one short alert toast at most,
        shown briefly, so that it does not cover dialogs and timers (the header counts)."""
        width, height = self.size
        return width < COMPACT_TOAST_SIZE[0] or height < COMPACT_TOAST_SIZE[1]

    def _show_toasts(self, toasts: list[Toast]) -> None:
        if not toasts:
            return
        for t in toasts:
            self.notify(
                visible(t.message, keep_newlines=False),
                title=t.title,
                severity=t.severity,  # type: ignore[arg-type]
                timeout=t.timeout,
                markup=False,
            )
        if self.settings.alert_bell:
            self.bell()

    def alerts_acknowledged(self, ids: list[int]) -> None:
        """Alerts acknowledged in this console: no more repeats here."""
        self.toasts.forget(ids)

    def _repaint_header(self) -> None:
        from agent_console.widgets.console_header import ConsoleHeader

        for header in self.screen.query(ConsoleHeader):
            header.refresh_notices(self.now())

    # ---------------------------------------------------------------- actions
    def action_help(self) -> None:
        from agent_console.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers every key of the active screen, then the app's own."""
        seen: set[str] = set()
        from agent_console.screens.help import describe

        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            node = active.node

            async def run(action: str = binding.action, node: object = node) -> None:
                # run_action is a coroutine: the palette awaits what its callback returns
                await self.run_action(action, node)  # type: ignore[arg-type]

            # the key in force (a keymap.toml override included), not the one in the tooltip
            shown = binding.key_display or self.get_key_display(binding)
            yield SystemCommand(binding.description, f"{describe(binding)} — key: {shown}", run)
        yield from super().get_system_commands(screen)


def create_app(settings: Settings, **kwargs: object) -> AgentConsoleApp:
    """The app factory the CLI and the tests share."""
    return AgentConsoleApp(settings, **kwargs)  # type: ignore[arg-type]

"""The Textual application: one settings object, one desk, screens as modes.

``1``–``2`` switch between the Queue and Knowledge base screens (each keeps its own stack:
a ticket opened from the queue stays open when you come back). Every key of the active
screen is also in the command palette (``ctrl+p``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer

from agent_console.desk import Desk, DraftInfo
from agent_console.desk.live import FeedListener, LinkState, is_unavailable
from agent_console.desk.presence import (
    HEARTBEAT,
    PRESENCE_CHANNEL,
    TYPING_EVERY,
    new_console_id,
)
from agent_console.errors import UserError
from agent_console.screens.draft_keeper import DRAFT_DEBOUNCE, DraftKeeper
from agent_console.settings import Settings

Clock = Callable[[], datetime]


# Screens are imported on first use: the CLI and the tests import the app without them.
def _queue_screen() -> Screen:
    from agent_console.screens.queue import QueueScreen

    return QueueScreen()


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


class AgentConsoleApp(App[None]):
    """Agent Console. Build it with :func:`create_app` (tests do too)."""

    TITLE = "Agent Console"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True

    MODES = {
        "queue": _queue_screen,
        "knowledge": _knowledge_screen,
    }
    DEFAULT_MODE = "queue"

    #: ``1``–``4`` switch screens from anywhere but a text box (screens "3"/"4" join
    #: through MODES)
    BINDINGS = [
        Binding("1", "switch_mode('queue')", "Queue", show=False),
        Binding("2", "switch_mode('knowledge')", "Knowledge", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        desk: Desk | None = None,
        clock: Clock | None = None,
        offer_demo: bool = True,
        draft_delay: float = DRAFT_DEBOUNCE,
        live: bool = True,
        heartbeat: float = HEARTBEAT,
    ) -> None:
        super().__init__()
        self.settings = settings
        fixed = settings.now
        self._clock: Clock = clock or ((lambda: fixed) if fixed else (lambda: datetime.now(UTC)))
        self.desk = desk or Desk.open(settings, clock=self._clock)
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

    # ---------------------------------------------------------------- clock
    def now(self) -> datetime:
        """The one clock every screen formats timers against (injectable for tests)."""
        return self._clock()

    # ---------------------------------------------------------------- first run
    def on_mount(self) -> None:
        if self.live:
            self.start_live()
        if self.offer_demo and not self.desk.has_tickets():
            from agent_console.screens.demo_offer import DemoOffer

            self.push_screen(DemoOffer(), self._demo_answer)

    def _demo_answer(self, load: bool | None) -> None:
        if load:
            self.load_demo_data()

    @work(thread=True, exclusive=True, group="demo")
    def load_demo_data(self) -> None:
        self.call_from_thread(self.notify, "Loading demo data…", timeout=3)
        try:
            self.desk.seed(2000, seed=1)
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
                self.desk.engine, lambda ch, payload: self.post_message(Woken(ch, payload)), link=self.link
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
        if callable(follow):
            follow()

    def feed_ok(self) -> None:
        """A screen read the database: the outage notice (if any) goes, screens catch up."""
        if self.link.succeeded(datetime.now(UTC)):
            self.feed_recovered()

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
        notices = getattr(self, "header_notices", None)
        if notices is not None:
            notices.outage = text
        if text is not None and self._outage_timer is None:
            self._outage_timer = self.set_interval(1.0, self._repaint_headers, name="outage")
        elif text is None and self._outage_timer is not None:
            self._outage_timer.stop()
            self._outage_timer = None
        tick = getattr(self.screen, "repaint_header", None)
        if callable(tick):
            tick()

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

    # ---------------------------------------------------------------- actions
    def action_help(self) -> None:
        from agent_console.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette offers every key of the active screen, then the app's own."""
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            node = active.node

            def run(action: str = binding.action, node: object = node) -> None:
                self.run_action(action, node)  # type: ignore[arg-type]

            yield SystemCommand(
                binding.description,
                binding.tooltip or f"key: {binding.key_display or self.get_key_display(binding)}",
                run,
            )
        yield from super().get_system_commands(screen)


def create_app(settings: Settings, **kwargs: object) -> AgentConsoleApp:
    """The app factory the CLI and the tests share."""
    return AgentConsoleApp(settings, **kwargs)  # type: ignore[arg-type]

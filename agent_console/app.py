"""The Textual application: one settings object, one desk, screens as modes.

``1``–``2`` switch between the Queue and Knowledge base screens (each keeps its own stack:
a ticket opened from the queue stays open when you come back). Every key of the active
screen is also in the command palette (``ctrl+p``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from agent_console.desk import Desk, DraftInfo
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

    # ---------------------------------------------------------------- clock
    def now(self) -> datetime:
        """The one clock every screen formats timers against (injectable for tests)."""
        return self._clock()

    # ---------------------------------------------------------------- first run
    def on_mount(self) -> None:
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

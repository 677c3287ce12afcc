"""The Textual application: one settings object, one desk, screens as modes.

``1``–``2`` switch between the Queue and Knowledge base screens (each keeps its own stack:
a ticket opened from the queue stays open when you come back). Every key of the active
screen is also in the command palette (``ctrl+p``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from agent_console.desk import Desk, DraftInfo
from agent_console.errors import UserError
from agent_console.logs import configure_logging, get_logger
from agent_console.redact import mask_secrets
from agent_console.safe_text import one_line, visible
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
        debug: bool = False,
        real_ticks: bool = True,
        draft_delay: float = DRAFT_DEBOUNCE,
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
        for line in self.desk.take_notices():  # e.g. a local policy file not in use
            self.notify(line, severity="warning", markup=False, timeout=15)
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

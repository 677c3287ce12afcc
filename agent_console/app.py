"""The Textual application: one settings object, one desk, screens as modes.

``1``–``2`` switch between the Queue and Knowledge base screens, ``4`` to Metrics (each keeps its own stack:
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

from agent_console.desk import Desk
from agent_console.errors import UserError
from agent_console.settings import Settings

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


class AgentConsoleApp(App[None]):
    """Agent Console. Build it with :func:`create_app` (tests do too)."""

    TITLE = "Agent Console"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True

    MODES = {
        "queue": _queue_screen,
        "knowledge": _knowledge_screen,
        "metrics": _metrics_screen,
    }
    DEFAULT_MODE = "queue"

    BINDINGS = [
        Binding("1", "switch_mode('queue')", "Queue", show=False),
        Binding("2", "switch_mode('knowledge')", "Knowledge", show=False),
        Binding("4", "switch_mode('metrics')", "Metrics", show=False),
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
    ) -> None:
        super().__init__()
        self.settings = settings
        fixed = settings.now
        self._clock: Clock = clock or ((lambda: fixed) if fixed else (lambda: datetime.now(UTC)))
        self.desk = desk or Desk.open(settings, clock=self._clock)
        self.offer_demo = offer_demo

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

"""The one clock of a screen (DESIGN.md "One clock"): its periodic timers, paused while
another screen covers it, and switched off in tests.

Every screen that ticks (queue, ticket, knowledge base) starts its timers with
:meth:`TickingScreen.every` instead of ``set_interval``. The app decides whether timers
are real: ``AgentConsoleApp(real_ticks=False)`` (tests) makes :meth:`every` start
nothing, and the test calls the screen's tick / poll methods itself, with the app's
injected clock — so no real 1-second tick races a test (a feed poll that lands while the
test waits made results depend on the machine's speed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textual.screen import Screen
from textual.timer import Timer

ResultType = TypeVar("ResultType")


class TickingScreen(Screen[ResultType]):
    """A screen whose periodic timers pause with it and can be switched off (tests)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock_timers: list[Timer] = []

    @property
    def real_ticks(self) -> bool:
        """False when the app drives no real timers (tests call the tick themselves)."""
        return bool(getattr(self.app, "real_ticks", True))

    def every(self, seconds: float, callback: Callable[[], object], *, name: str) -> Timer | None:
        """Call ``callback`` every ``seconds`` while this screen is shown; None (and no
        timer) when the app runs without real ticks."""
        if not self.real_ticks:
            return None
        timer = self.set_interval(seconds, callback, name=name)
        self._clock_timers.append(timer)
        return timer

    def on_screen_suspend(self) -> None:
        for timer in self._clock_timers:
            timer.pause()

    def on_screen_resume(self) -> None:
        for timer in self._clock_timers:
            timer.resume()
        if self.is_mounted:
            self.on_ticks_resumed()

    def on_ticks_resumed(self) -> None:
        """Shown again: catch up at once (override; the default does nothing)."""

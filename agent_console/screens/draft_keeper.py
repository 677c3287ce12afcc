"""The app's keeper of unsent drafts (issue 12): every keystroke in an editor lands here,
and reaches the database (``desk.save_draft``) off the UI thread, debounced.

One keeper per app, so a draft outlives the screen it was typed on (leaving the ticket,
switching screens) and quitting can save what is pending before it asks about unsent
drafts. A text that is being sent is :meth:`DraftKeeper.forget`-ten first, and saves and
sends take one lock, so a save that was already on its way can never bring back the draft
the send just deleted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from agent_console.errors import UserError

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

    from agent_console.desk import Desk

#: seconds of quiet typing before a draft is written (tests make it shorter)
DRAFT_DEBOUNCE = 0.6

Slot = tuple[str, str]  # (ticket key, draft kind)


class DraftKeeper:
    def __init__(
        self,
        app: App,  # type: ignore[type-arg]
        desk: Callable[[], Desk],
        *,
        delay: float = DRAFT_DEBOUNCE,
        on_saved: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self._desk = desk
        self.delay = delay
        self.on_saved = on_saved
        self._pending: dict[Slot, str] = {}
        self._generation: dict[Slot, int] = {}
        self._timer: Timer | None = None
        #: held by every draft write and every send (see the module docstring)
        self.lock = threading.Lock()

    # ------------------------------------------------------------ UI thread
    def note(self, key: str, kind: str, text: str) -> None:
        """The agent typed: ``text`` is now the draft (written after a quiet moment)."""
        self._pending[(key, kind)] = text
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.app.set_timer(self.delay, self.flush, name="draft-debounce")

    def forget(self, key: str, kind: str) -> None:
        """The text is being sent: drop what is pending, and outdate saves on their way."""
        self._pending.pop((key, kind), None)
        self._generation[(key, kind)] = self._generation.get((key, kind), 0) + 1

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def flush(self) -> None:
        """Write what is pending now, in a worker (leaving a ticket, closing the editor)."""
        batch = self._take()
        if batch:
            self.app.run_worker(
                lambda: self._save(batch, notify=True),
                thread=True,
                group="drafts",
                name="save drafts",
            )

    def _take(self) -> list[tuple[Slot, str, int]]:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        batch = [(slot, text, self._generation.get(slot, 0)) for slot, text in self._pending.items()]
        self._pending.clear()
        return batch

    def take_for_thread(self) -> Callable[[], None]:
        """What is pending, as a function a worker calls to write it (quitting)."""
        batch = self._take()
        return lambda: self._save(batch, notify=False)

    # ------------------------------------------------------------ any thread
    @contextmanager
    def sending(self) -> Iterator[None]:
        with self.lock:
            yield

    def _save(self, batch: list[tuple[Slot, str, int]], *, notify: bool) -> None:
        desk = self._desk()
        errors: list[str] = []
        with self.lock:
            for slot, text, generation in batch:
                if self._generation.get(slot, 0) != generation:
                    continue  # sent meanwhile: its draft is gone for good
                try:
                    desk.save_draft(slot[0], slot[1], text)
                except UserError as exc:
                    errors.append(f"Draft not saved ({slot[0]}): {exc}")
        if not notify:
            return
        for error in errors:
            self.app.call_from_thread(
                self.app.notify, error, severity="error", markup=False, timeout=8
            )
        if self.on_saved is not None:
            self.app.call_from_thread(self.on_saved)

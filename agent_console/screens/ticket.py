"""The ticket detail screen (issue 5). Minimal first cut; grows into the full view."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static


class TicketScreen(Screen[None]):
    """One ticket: thread, side panel with SLA timers, and the workflow keys."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back to the queue")]

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def compose(self) -> ComposeResult:
        yield Static(self.key, markup=False, id="ticket-key")
        yield Footer()

"""First run on an empty database: offer the demo data."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class DemoOffer(ModalScreen[bool]):
    """Yes loads 2,000 demo tickets; no starts on the empty database."""

    BINDINGS = [
        Binding("y", "answer(True)", "Load demo data"),
        Binding("n,escape", "answer(False)", "Start empty"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("This database has no tickets yet.", classes="title")
            yield Static(
                "Load demo data (organizations, agents, knowledge base and 2,000 tickets) "
                "so you can try the console now? You can also run "
                "`agent-console seed --tickets N` later.",
            )
            with Horizontal(classes="buttons"):
                yield Button("Load demo data (y)", id="yes", variant="primary")
                yield Button("Start empty (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, load: bool) -> None:
        self.dismiss(load)

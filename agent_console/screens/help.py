"""``?``: the keys of the screen you came from, grouped, with what they do."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, origin: Screen) -> None:
        super().__init__()
        self.origin = origin

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("Key", style="bold cyan", no_wrap=True)
        table.add_column("Action")
        seen: set[tuple[str, str]] = set()
        for active in self.origin.active_bindings.values():
            b = active.binding
            if not b.description:
                continue
            shown = b.key_display or self.app.get_key_display(b)
            if (shown, b.description) in seen:
                continue
            seen.add((shown, b.description))
            table.add_row(Text(shown), Text(b.description))
        with VerticalScroll(id="dialog"):
            yield Static(Text(f"Keys — {self.origin.__class__.__name__.removesuffix('Screen')}"), classes="title")
            yield Static(table)
            yield Static(Text("ctrl+p opens the command palette: every action is there too."))

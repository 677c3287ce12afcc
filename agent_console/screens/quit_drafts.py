"""``ctrl+q`` with unsent drafts: say which, and offer keep / discard / cancel (issue 12)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from agent_console.desk import DraftInfo
from agent_console.widgets.ticket_format import visible

KIND_LABEL = {
    "reply": "reply",
    "note": "internal note",
    "handoff": "handoff note",
    "resolution": "resolution summary",
}
SHOWN = 6


class QuitWithDrafts(ModalScreen[str | None]):
    """Dismissed with ``"keep"`` (quit; the drafts stay for next time), ``"discard"``
    (delete them, then quit) or None (stay)."""

    BINDINGS = [
        Binding("k", "answer('keep')", "Keep drafts and quit"),
        Binding("d", "answer('discard')", "Discard drafts and quit"),
        Binding("escape,c", "answer('')", "Cancel"),
    ]

    def __init__(self, drafts: list[DraftInfo]) -> None:
        super().__init__()
        self.drafts = drafts

    def compose(self) -> ComposeResult:
        n = len(self.drafts)
        with Vertical(id="dialog"):
            yield Static(
                f"You have {n} unsent draft{'s' if n != 1 else ''}", classes="title"
            )
            lines = Text()
            for d in self.drafts[:SHOWN]:
                first = visible(d.body.strip().splitlines()[0] if d.body.strip() else "")
                lines.append(f"{d.key}", "bold")
                lines.append(f"  {KIND_LABEL.get(d.kind, d.kind)}: ", "dim")
                lines.append(first[:48] + ("…" if len(first) > 48 else ""))
                lines.append("\n")
            if n > SHOWN:
                lines.append(f"… and {n - SHOWN} more\n", "dim")
            lines.append(
                "Kept drafts come back in the editor next time you open the ticket.", "dim"
            )
            yield Static(lines, id="quit-drafts")
            with Horizontal(classes="buttons"):
                yield Button("Keep and quit (k)", id="keep", variant="primary")
                yield Button("Discard and quit (d)", id="discard", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer("" if event.button.id == "cancel" else str(event.button.id))

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer or None)

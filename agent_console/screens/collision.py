"""Before a public reply: someone else replied to the customer since this ticket was
opened (issue 11, "collision"). Ask: send anyway, or review what they wrote first."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from agent_console.desk.ticket_view import MessageView
from agent_console.widgets.ticket_format import visible


def ago(then: datetime, now: datetime) -> str:
    """``40 s ago`` / ``3 min ago`` / ``2 h ago`` (never negative)."""
    secs = max(0, int((now - then).total_seconds()))
    if secs < 60:
        return f"{secs} s ago"
    if secs < 3600:
        return f"{secs // 60} min ago"
    return f"{secs // 3600} h ago"


def collision_line(other: MessageView, now: datetime) -> str:
    """``Bruno replied 40 s ago`` (the author's name as data: control characters made
    visible)."""
    return f"{visible(other.author, keep_newlines=False)} replied {ago(other.created_at, now)}"


class CollisionPrompt(ModalScreen[str | None]):
    """Dismissed with ``"send"`` (send anyway), ``"review"`` (the draft stays in the
    editor; read their reply first) or None (escape: same as review)."""

    BINDINGS = [
        Binding("s", "answer('send')", "Send anyway"),
        Binding("r,escape", "answer('review')", "Review"),
    ]

    def __init__(self, other: MessageView, now: datetime) -> None:
        super().__init__()
        self.other = other
        self.now = now

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(
                f"{collision_line(self.other, self.now)} — send anyway / review?",
                classes="title",
                id="collision-line",
                markup=False,
            )
            first = visible(self.other.body.strip().splitlines()[0] if self.other.body.strip() else "")
            yield Static(first[:200], id="collision-body", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Send anyway (s)", id="send", variant="warning")
                yield Button("Review (r)", id="review", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)

    def action_answer(self, answer: str) -> None:
        self.dismiss(answer)

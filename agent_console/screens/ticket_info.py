"""Read-only views one key away from a ticket: ``h`` history, ``w`` why each deadline
falls when it does (``sla.explain``)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from agent_console.desk.ticket_view import EventView
from agent_console.sla import Explanation
from agent_console.widgets.ticket_format import absolute, literal, relative

CSS = Path(__file__).with_name("ticket.tcss")

LINE_STYLE = {"counted": "", "skipped": "yellow", "paused": "cyan", "note": "dim"}


class HistoryScreen(ModalScreen[None]):
    """The ticket's event trail, oldest first: who changed what, when."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape,h,q", "dismiss", "Close")]

    def __init__(self, key: str, events: tuple[EventView, ...], now: datetime, zone: tzinfo):
        super().__init__()
        self.key = key
        self.events = events
        self.now = now
        self.zone = zone

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("When", no_wrap=True, style="dim")
        table.add_column("Who", no_wrap=True)
        table.add_column("What", ratio=1, overflow="fold")
        for ev in self.events:
            when = f"{absolute(ev.at, self.zone)} ({relative(ev.at, self.now)})"
            table.add_row(Text(when), literal(ev.agent or "—"), literal(ev.text))
        with VerticalScroll(id="dialog", classes="wide"):
            yield Static(Text(f"History — {self.key}"), classes="title")
            yield Static(table)
            yield Static(Text("escape close", style="dim"), classes="hint")


class ExplainScreen(ModalScreen[None]):
    """Each deadline: policy and clock, the business intervals counted, the weekends,
    holidays and waiting-on-customer pauses skipped."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape,w,q", "dismiss", "Close")]

    def __init__(
        self,
        key: str,
        explanation: Explanation,
        states: dict[str, Text] | None = None,
    ):
        super().__init__()
        self.key = key
        self.explanation = explanation
        #: section label -> what the timer shows now (met / breached / paused / left)
        self.states = states or {}

    def compose(self) -> ComposeResult:
        ex = self.explanation
        with VerticalScroll(id="dialog", classes="wide"):
            yield Static(Text(f"Why these deadlines — {self.key}"), classes="title")
            head = Text()
            head.append(f"Policy {ex.policy}", style="bold")
            head.append(f" ({ex.timezone}), priority {ex.priority} (level {ex.level})")
            yield Static(head)
            for section in ex.sections:
                body = Text()
                body.append(section.headline, style="bold")
                state = self.states.get(section.label)
                if state is not None:
                    body.append("\n  now: ", style="dim")
                    body.append_text(state)
                for line in section.lines:
                    body.append("\n  ")
                    body.append(line.text, style=LINE_STYLE.get(line.kind, ""))
                yield Static(body, classes="explain-section")
            yield Static(Text("escape close", style="dim"), classes="hint")

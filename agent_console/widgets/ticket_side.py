"""The detail screen's side panel: every field of the ticket and its three live SLA timers.

A view: it receives a :class:`TicketDetail` and the instant to format against; ``tick``
re-renders the timers from the stored deadlines (no database)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from agent_console.views import TicketDetail, status_label
from agent_console.widgets.styles import priority_style, status_style
from agent_console.widgets.ticket_format import absolute, literal, timer_text


def _grid(label_width: int = 14) -> Table:
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(style="dim", no_wrap=True, width=label_width)
    table.add_column(ratio=1, overflow="fold")
    return table


def fields_renderable(d: TicketDetail, zone: tzinfo, *, compact: bool = False) -> Table:
    table = _grid(12 if compact else 14)
    table.add_row("Key", Text(d.key, style="bold"))
    table.add_row("Status", Text(status_label(d.status), style=status_style(d.status)))
    table.add_row(
        "Priority",
        Text(f"{d.priority} (P{d.priority_level})", style=priority_style(d.priority)),
    )
    tier = Text(f"tier {d.tier}")
    if d.escalated:
        tier.append("  escalated", style="bold magenta")
    table.add_row("Tier", tier)
    assignee = (
        literal(f"{d.assignee_name} ({d.assignee})")
        if d.assignee
        else Text("unassigned", style="italic yellow")
    )
    table.add_row("Assignee", assignee)
    requester = literal(d.requester)
    requester.append("\n")
    requester.append_text(literal(d.requester_email, "dim"))
    table.add_row("Requester", requester)
    org = literal(d.organization) if d.organization else Text("—", style="dim")
    table.add_row("Org", org)
    policy = Text(d.policy_name, style="bold" if d.policy_name != "default" else "")
    if d.policy_name != "default":
        policy.append(" (contract)", style="dim")
    table.add_row("SLA policy", policy)
    table.add_row("Channel", Text(d.channel))
    table.add_row("Type", Text(d.request_type))
    table.add_row("Tags", literal(", ".join(d.tags)) if d.tags else Text("—", style="dim"))
    table.add_row("Opened", Text(absolute(d.opened_at, zone)))
    table.add_row("Participants", literal(", ".join(d.participants)))
    if d.attachments:
        table.add_row("Attachments", literal("\n".join(a.label for a in d.attachments)))
    table.add_row("Version", Text(str(d.version), style="dim"))
    return table


def _wrapping(text: Text) -> Text:
    """The queue's timer cells are one ellipsised line; the side panel shows them whole."""
    text = text.copy()
    text.no_wrap, text.overflow = False, "fold"
    return text


def timers_renderable(
    d: TicketDetail, now: datetime, zone: tzinfo, *, compact: bool = False
) -> RenderableType:
    """The three SLA timers. ``compact`` (a narrow panel): each label on its own line and
    the timer below it, indented, so that the deadline is never cut."""
    if compact:
        rows: list[RenderableType] = []
        for timer in d.timers(now):
            rows.append(Text(timer.label, style="dim"))
            rows.append(Padding(_wrapping(timer_text(timer, d, zone, now)), (0, 0, 0, 2)))
        return Group(*rows)
    table = _grid()
    for timer in d.timers(now):
        table.add_row(timer.label, _wrapping(timer_text(timer, d, zone, now)))
    return table


#: below this many columns of content the panel stacks each timer under its label
COMPACT_BELOW = 44


class TicketSidePanel(VerticalScroll):
    """SLA timers, fields and linked articles of one ticket."""

    DEFAULT_CSS = """
    TicketSidePanel { height: 1fr; }
    TicketSidePanel > Static { height: auto; }
    TicketSidePanel .panel-title { text-style: bold; color: $accent; margin-top: 1; }
    TicketSidePanel #side-timers-title { margin-top: 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: TicketDetail | None = None
        self.zone: tzinfo | None = None
        self.compact = False
        self._now: datetime | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        # The three SLA timers first: they are what an agent looks for, and on a short
        # terminal the fields below them scroll, not the timers.
        yield Static(Text("SLA"), classes="panel-title", id="side-timers-title")
        yield Static(id="side-timers")
        yield Static(Text("Ticket"), classes="panel-title", id="side-fields-title")
        yield Static(id="side-fields")
        yield Static(Text("Knowledge base"), classes="panel-title")
        yield Static(id="side-articles")

    def on_resize(self) -> None:
        compact = self.size.width < COMPACT_BELOW
        if compact != self.compact:
            self.compact = compact
            if self.detail is not None and self.zone is not None and self._now is not None:
                self.show(self.detail, self._now, self.zone)

    def show(self, detail: TicketDetail, now: datetime, zone: tzinfo) -> None:
        self.detail, self.zone = detail, zone
        self.query_one("#side-fields", Static).update(
            fields_renderable(detail, zone, compact=self.compact)
        )
        if detail.articles:
            lines = [literal(f"• {a.title}") for a in detail.articles]
            articles: object = Group(*lines)
        else:
            articles = Text("no linked articles (k to search)", style="dim")
        self.query_one("#side-articles", Static).update(articles)  # type: ignore[arg-type]
        self.tick(now)

    def tick(self, now: datetime) -> None:
        self._now = now
        if self.detail is None or self.zone is None:
            return
        self.query_one("#side-timers", Static).update(
            timers_renderable(self.detail, now, self.zone, compact=self.compact)
        )

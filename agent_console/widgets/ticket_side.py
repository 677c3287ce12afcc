"""The detail screen's side panel: every field of the ticket and its three live SLA timers.

A view: it receives a :class:`TicketDetail` and the instant to format against; ``tick``
re-renders the timers from the stored deadlines (no database)."""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from agent_console.desk.ticket_view import TicketDetail
from agent_console.widgets.styles import priority_style, status_style
from agent_console.widgets.ticket_format import absolute, literal, timer_text


def _grid() -> Table:
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(style="dim", no_wrap=True, width=14)
    table.add_column(ratio=1, overflow="fold")
    return table


def fields_renderable(d: TicketDetail, zone: tzinfo) -> Table:
    table = _grid()
    table.add_row("Key", Text(d.key, style="bold"))
    table.add_row("Status", Text(d.status.replace("_", " "), style=status_style(d.status)))
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
    table.add_row("Version", Text(str(d.version), style="dim"))
    return table


def timers_renderable(d: TicketDetail, now: datetime, zone: tzinfo) -> Table:
    table = _grid()
    for timer in d.timers(now):
        table.add_row(timer.label, timer_text(timer, d, zone, now))
    return table


class TicketSidePanel(VerticalScroll):
    """Fields, SLA timers and linked articles of one ticket."""

    DEFAULT_CSS = """
    TicketSidePanel { height: 1fr; }
    TicketSidePanel > Static { height: auto; }
    TicketSidePanel .panel-title { text-style: bold; color: $accent; margin-top: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.detail: TicketDetail | None = None
        self.zone: tzinfo | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(Text("Ticket"), classes="panel-title", id="side-fields-title")
        yield Static(id="side-fields")
        yield Static(Text("SLA"), classes="panel-title")
        yield Static(id="side-timers")
        yield Static(Text("Knowledge base"), classes="panel-title")
        yield Static(id="side-articles")

    def show(self, detail: TicketDetail, now: datetime, zone: tzinfo) -> None:
        self.detail, self.zone = detail, zone
        self.query_one("#side-fields", Static).update(fields_renderable(detail, zone))
        if detail.articles:
            lines = [literal(f"• {a.title}") for a in detail.articles]
            articles: object = Group(*lines)
        else:
            articles = Text("no linked articles (k to search)", style="dim")
        self.query_one("#side-articles", Static).update(articles)  # type: ignore[arg-type]
        self.tick(now)

    def tick(self, now: datetime) -> None:
        if self.detail is None or self.zone is None:
            return
        self.query_one("#side-timers", Static).update(
            timers_renderable(self.detail, now, self.zone)
        )

"""The on-call screen's ticket list: each watched ticket with its three timers.

A small :class:`~agent_console.widgets.virtual_list.VirtualList` (the queue table's: only the
visible lines are rendered; cursor, keys, clicks and header are the shared widget's) of
plain :class:`~agent_console.desk.queue.QueueRow` values, all of them in memory. Every timer is formatted at paint
time from the stored deadlines and :attr:`OncallTickets.now` (the screen's 1 Hz tick sets it
and repaints: no query). The timers are :mod:`agent_console.widgets.sla_timer`'s — the same
colours, paused and overdue forms as the queue and the ticket screen.

Customer text (the subject) is shown literally (the one rule for outside text).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip

from agent_console.sla import Policy
from agent_console.views import QueueRow
from agent_console.widgets.sla_timer import STYLE_DIM, deadline_text, waiting_text
from agent_console.widgets.styles import priority_style
from agent_console.widgets.ticket_format import visible
from agent_console.widgets.virtual_list import VirtualList

#: a timer column's width below which only the time left is shown (no due time)
SHORT_TIMER = 20


@dataclass(frozen=True)
class Column:
    name: str
    title: str
    width: int


def layout_columns(width: int) -> list[Column]:
    """Columns for a list ``width`` cells wide (one space between columns): key, priority
    (not on a narrow list: the key carries the priority's colour), subject (flexible),
    assignee (wide only), then the three timers."""
    wide = width >= 120
    timer = 28 if width >= 150 else (24 if wide else (15 if width >= 90 else 16))
    head = [Column("key", "Key", 10 if width >= 90 else 9)]
    if width >= 90:
        head.append(Column("priority", "Priority", 8))
    tail = [
        Column("first_response", "First reply", timer),
        Column("next_update", "Next update", timer),
        Column("resolution", "Resolution", timer),
    ]
    if wide:
        tail.insert(0, Column("assignee", "Assignee", 9))
    used = sum(c.width for c in head + tail) + len(head + tail)
    subject = max(width - used - 1, 8)
    return [*head, Column("subject", "Subject", subject), *tail]


def _waiting(row: QueueRow, zone: tzinfo, now: datetime, width: int) -> Text:
    """``⏸ waiting since 06:44``; in a narrow column ``⏸ waiting`` (whole, not cut)."""
    assert row.paused_since is not None
    text = waiting_text(row.paused_since, zone, now)
    if text.cell_len > width:
        text = text.split(" since")[0]
    return text


def metric_timer(
    row: QueueRow, metric: str, policy: Policy, now: datetime, zone: tzinfo, width: int
) -> Text:
    """One metric's timer cell: time left on the priority's clock (coloured, paused or
    overdue as everywhere else), ``✓`` when that metric is done, ``—`` when it does not
    run (no first reply yet: no update is due). ``width`` < :data:`SHORT_TIMER`: the time
    left only."""
    if row.status in ("resolved", "closed"):
        return Text("—", STYLE_DIM)
    target = policy.target(row.priority)
    due: datetime | None
    if metric == "first_response":
        if row.first_response_at is not None:
            return Text("✓ replied", STYLE_DIM)
        due, seconds = row.first_response_due, target.first_response
    elif metric == "next_update":
        if row.first_response_at is None:
            return Text("—", STYLE_DIM)
        if row.paused_since is not None:
            return _waiting(row, zone, now, width)
        due, seconds = row.next_update_due, target.status_update
    else:
        if row.paused_since is not None:
            return _waiting(row, zone, now, width)
        due, seconds = row.resolution_due, target.resolution
    if due is None:
        return Text("—", STYLE_DIM)
    text = deadline_text(policy, row.priority, due, seconds, now, zone, compact=True)
    if width < SHORT_TIMER:
        text = text.split(" · ")[0]
    return text


class OncallTickets(VirtualList, can_focus=True):
    """The watched tickets, soonest breach first. Line 0 is the column header."""

    COMPONENT_PREFIX = "oncall-tickets"

    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
    ]

    COMPONENT_CLASSES = {
        "oncall-tickets--header",
        "oncall-tickets--cursor",
        "oncall-tickets--cursor-blurred",
        "oncall-tickets--placeholder",
    }

    DEFAULT_CSS = """
    OncallTickets {
        background: $surface;
        overflow-x: hidden;
        overflow-y: auto;
    }
    OncallTickets > .oncall-tickets--header {
        text-style: bold;
        background: $panel;
    }
    OncallTickets > .oncall-tickets--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    OncallTickets > .oncall-tickets--cursor-blurred {
        background: $block-cursor-blurred-background;
    }
    OncallTickets > .oncall-tickets--placeholder {
        color: $text-muted;
    }
    """

    class Selected(Message):
        """A ticket was chosen (enter, or a click on the highlighted row)."""

        def __init__(self, row: QueueRow) -> None:
            super().__init__()
            self.row = row

    def __init__(
        self,
        policy_for: Callable[[str | None], Policy],
        zone: tzinfo,
        now: datetime,
        *,
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.policy_for = policy_for
        self.zone = zone
        self.now = now
        self.rows: list[QueueRow] = []
        self.empty_text = "Loading…"

    # ------------------------------------------------------------ data in
    def set_rows(self, rows: Sequence[QueueRow], empty_text: str) -> None:
        """Show ``rows``; the cursor stays on the same ticket when it is still listed."""
        keep = self.cursor_row.key if self.cursor_row else None
        self.rows = list(rows)
        self.empty_text = empty_text
        index = next((i for i, r in enumerate(self.rows) if r.key == keep), self.cursor)
        self._resize_virtual()
        self._set_cursor(index)
        self.refresh()

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def cursor_row(self) -> QueueRow | None:
        return self.rows[self.cursor] if 0 <= self.cursor < len(self.rows) else None

    def tick(self, now: datetime) -> None:
        self.now = now
        self.refresh()

    def _selected(self, row: QueueRow) -> Message:
        return self.Selected(row)

    # ------------------------------------------------------------ rendering
    def _header_columns(self, width: int) -> list[Column]:
        return layout_columns(width)

    def _row_line(self, index: int, width: int) -> Strip:
        row = self.rows[index]
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        for col in layout_columns(width):
            cell = self._cell(row, col)
            cell.truncate(col.width, overflow="ellipsis", pad=True)
            text.append_text(cell)
            text.append(" ")
        text.truncate(width, pad=True)
        strip = Strip(
            list(Segment.apply_style(text.render(self.app.console), self.rich_style))
        ).crop_extend(0, width, self.rich_style)
        if index == self.cursor:
            strip = strip.apply_style(self._style("cursor" if self.has_focus else "cursor-blurred"))
        return strip

    def _cell(self, row: QueueRow, col: Column) -> Text:
        match col.name:
            case "key":
                return Text(row.key, priority_style(row.priority) + Style(bold=True))
            case "priority":
                return Text(row.priority, priority_style(row.priority))
            case "subject":
                return Text(visible(row.subject, keep_newlines=False))
            case "assignee":
                return Text(
                    visible(row.assignee or "—", keep_newlines=False),
                    Style(dim=row.assignee is None),
                )
        try:
            policy = self.policy_for(row.policy)
            return metric_timer(row, col.name, policy, self.now, self.zone, col.width)
        except Exception:  # noqa: BLE001 - a bad contract file must not kill the list
            return Text("policy?", Style(color="red"))

"""The queue's virtual table (toolong's ``LogLines`` model; the cursor, keys, clicks and
header are :class:`~agent_console.widgets.virtual_list.VirtualList`'s, shared with the
on-call list).

The table knows the *ordering* of its view (ticket ids) and a cache of the rows near the
viewport; it renders only the visible lines in :meth:`QueueTable.render_line`, formatting
each timer at paint time from the stored deadlines and ``now``. Rows it has not got yet are
asked for with a :class:`QueueTable.RowsNeeded` message (the screen fetches them in a
worker). A tick is ``table.now = now`` plus a repaint of the visible lines: no query.

Customer text (subject, requester, organization) only ever becomes ``rich.text.Text``:
never markup. Non-printable characters (C0, DEL, C1 such as the 8-bit CSI ``\\x9b``) are
shown as escapes, not obeyed: the single rule of :mod:`agent_console.widgets.ticket_format`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.message import Message
from textual.strip import Strip

from agent_console.keymap import with_ids
from agent_console.sla import Policy
from agent_console.views import QueueRow, status_label
from agent_console.widgets.sla_timer import TIGHT_CELLS, ticket_timer
from agent_console.widgets.styles import priority_style, status_style
from agent_console.widgets.ticket_format import visible
from agent_console.widgets.virtual_list import VirtualList


def _cell_text(text: str | None) -> str:
    """Customer text for a one-line table cell: the one rule of
    :func:`agent_console.widgets.ticket_format.visible` (every non-printable character
    shown as an escape, never obeyed), newlines included."""
    return visible(text, keep_newlines=False) if text else ""


@dataclass(frozen=True)
class Column:
    name: str
    title: str
    width: int


#: what goes first when the table is narrow: the least useful column first (issue 12). Key,
#: priority, subject, assignee and the timer always stay, the timer in full.
DROP_ORDER = ("requester", "tier", "status")
#: the timer cell: wide (``FR 36m 10s left · due Mon 10:30 ET``) or, on a narrow terminal,
#: tight (``FR 36m 10s · 10:30``, ``UPD overdue 5h 24m``, ``FR ⏸ 4h 00m left``: the amount
#: whole, the wall-clock time while it runs), never cut — 80 columns keep a readable subject
TIMER_WIDE, TIMER_COMPACT = 38, TIGHT_CELLS
SUBJECT_MIN, REQUESTER_MIN, REQUESTER_MAX = 16, 12, 34
#: the requester column is kept only while the subject still gets this much
SUBJECT_BESIDE_REQUESTER = 24


def layout_columns(width: int, hidden: frozenset[str] = frozenset()) -> list[Column]:
    """Column widths for a table ``width`` cells wide (one space after each column).

    Every column keeps its full width; when they do not all fit, whole columns are
    dropped in :data:`DROP_ORDER` (then the timer turns compact) and the subject takes
    what is left. ``hidden``: columns the view does not show (its ``columns`` in
    views.toml; key, subject and timer always show)."""
    key = Column("key", "Key", 10)
    priority = Column("priority", "Priority", 8)
    status = Column("status", "Status", 8)
    tier = Column("tier", "Tier", 4)
    assignee = Column("assignee", "Assignee", 8)

    def build(timer_width: int, dropped: set[str]) -> list[Column] | None:
        fixed = [key, priority, status, tier, assignee]
        fixed = [c for c in fixed if c.name not in dropped]
        used = sum(c.width + 1 for c in fixed) + timer_width + 1
        free = width - used - 1  # the subject's own separator
        with_requester = "requester" not in dropped
        need = SUBJECT_BESIDE_REQUESTER + REQUESTER_MIN + 1 if with_requester else SUBJECT_MIN
        if free < need:
            return None
        middle = []
        if with_requester:
            requester = max(min(free * 2 // 5, REQUESTER_MAX, free - SUBJECT_BESIDE_REQUESTER - 1), REQUESTER_MIN)
            middle = [
                Column("subject", "Subject", free - requester - 1),
                Column("requester", "Requester · Org", requester),
            ]
        else:
            middle = [Column("subject", "Subject", free)]
        head = [c for c in (key, priority) if c.name not in dropped]
        tail = [c for c in (status, tier, assignee) if c.name not in dropped]
        return head + middle + tail + [Column("timer", "Next deadline", timer_width)]

    hidden = hidden - {"key", "subject", "timer"}
    for timer_width in (TIMER_WIDE, TIMER_COMPACT):
        dropped: set[str] = set(hidden)
        for name in (None, *DROP_ORDER):
            if name:
                dropped.add(name)
            cols = build(timer_width, dropped)
            if cols is not None:
                return cols
    # narrower than any full layout: the must-haves, the subject squeezed
    free = max(width - (10 + 1 + 8 + 1 + 8 + 1 + TIMER_COMPACT + 1) - 1, 4)
    cols = [
        key,
        priority,
        Column("subject", "Subject", free),
        assignee,
        Column("timer", "Next deadline", TIMER_COMPACT),
    ]
    return [c for c in cols if c.name not in hidden]


class QueueTable(VirtualList, can_focus=True):
    """A virtual list of tickets. Line 0 is the column header; row ``i`` of the ordering
    is drawn on virtual line ``i + 1``."""

    COMPONENT_PREFIX = "queue-table"

    BINDINGS = with_ids("table", [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
    ])

    COMPONENT_CLASSES = {
        "queue-table--header",
        "queue-table--cursor",
        "queue-table--cursor-blurred",
        "queue-table--placeholder",
    }

    DEFAULT_CSS = """
    QueueTable {
        background: $surface;
        overflow-x: hidden;
        overflow-y: scroll;
        scrollbar-gutter: stable;
    }
    QueueTable > .queue-table--header {
        text-style: bold;
        background: $panel;
        color: $text;
    }
    QueueTable > .queue-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    QueueTable > .queue-table--cursor-blurred {
        background: $block-cursor-blurred-background;
    }
    QueueTable > .queue-table--placeholder {
        color: $text-muted;
    }
    """

    # ------------------------------------------------------------ messages
    class Highlighted(Message):
        def __init__(self, table: QueueTable, index: int, ticket_id: int | None) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.ticket_id = ticket_id

    class Selected(Message):
        """A row was chosen (enter, or a click on the highlighted row)."""

        def __init__(self, table: QueueTable, index: int, row: QueueRow) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.row = row

    class RowsNeeded(Message):
        """The viewport shows rows that are not cached: ``ids`` (in display order)."""

        def __init__(self, table: QueueTable, ids: list[int]) -> None:
            super().__init__()
            self.table = table
            self.ids = ids

    class HeaderClicked(Message):
        def __init__(self, table: QueueTable, column: str) -> None:
            super().__init__()
            self.table = table
            self.column = column

    def __init__(
        self,
        policy_for: Callable[[str | None], Policy],
        zone: tzinfo,
        *,
        now: datetime | None = None,
        id: str | None = None,  # noqa: A002
        cache_limit: int = 4000,
        on_slash: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(id=id)
        self.on_slash = on_slash
        self.policy_for = policy_for
        self.zone = zone
        self.now: datetime = now or datetime.now(UTC)
        self.ids: list[int] = []
        self.rows: dict[int, QueueRow] = {}
        self.cache_limit = cache_limit
        self.empty_text = "No tickets."
        self._requested: set[int] = set()
        self._need_posted = False
        self._positions: dict[int, int] | None = None
        self._columns: list[Column] = []
        #: the static cells of a row, rendered: keyed by (ticket id, width, draft, look) and
        #: emptied whenever the styles change (a theme change), so no stale colours stay
        self._static_cache: LRUCache[
            tuple[int, int, bool, str, tuple[str, ...] | None], tuple[QueueRow, list[Segment], int]
        ] = LRUCache(max(2 * cache_limit, 64))
        self._columns_width = -1
        #: columns the shown view leaves out (:meth:`set_columns`)
        self._hidden: frozenset[str] = frozenset()
        #: tickets where the agent has an unsent draft (a marker in the subject cell)
        self.drafts: frozenset[int] = frozenset()
        #: tickets open in other consoles: ticket id → those agents' handles (a marker)
        self.elsewhere: dict[int, tuple[str, ...]] = {}
        #: the agent's own handle: their tickets read ``me`` in the Assignee column
        self.me: str | None = None
        #: marked tickets (issue 16: bulk actions); while any is marked, a mark column
        #: leads every row
        self.marks: frozenset[int] = frozenset()

    # ------------------------------------------------------------ data in
    @property
    def row_count(self) -> int:
        return len(self.ids)

    def set_ordering(
        self, ids: Sequence[int], keep_id: int | None = None, *, fallback: int | None = None
    ) -> None:
        """Show a new ordering; the cursor stays on ``keep_id`` (or the current ticket)
        when it is still in the view, else on ``fallback`` or the same position."""
        keep = keep_id if keep_id is not None else self.cursor_id
        old_index = self.cursor
        self.ids = list(ids)
        self._positions = None
        self._requested.clear()
        index = self.index_of(keep) if keep is not None else None
        if index is None:
            index = old_index if fallback is None else fallback
            index = min(index, max(len(self.ids) - 1, 0))
        self._resize_virtual()
        self._set_cursor(index, center=index != old_index)
        self.refresh()

    def set_columns(self, columns: Sequence[str]) -> None:
        """Show only ``columns`` (a view's; key, subject and timer always show)."""
        hidden = frozenset(c.name for c in layout_columns(10_000) if c.name not in columns)
        if hidden != self._hidden:
            self._hidden = hidden
            self._columns_width = -1
            self._static_cache.clear()
            self.refresh()

    def set_drafts(self, ids: frozenset[int]) -> None:
        """Mark the tickets where the agent has unsent drafts."""
        if ids != self.drafts:
            self.drafts = frozenset(ids)
            self.refresh()

    def set_marks(self, ids: frozenset[int]) -> None:
        """Show ``ids`` as marked (the mark column appears while any is marked)."""
        if ids != self.marks:
            self.marks = frozenset(ids)
            self.refresh()

    @property
    def _gutter(self) -> int:
        return 2 if self.marks else 0

    def set_elsewhere(self, elsewhere: dict[int, tuple[str, ...]]) -> None:
        """Mark the tickets open in other consoles (ticket id → their agents' handles)."""
        if elsewhere != self.elsewhere:
            self.elsewhere = dict(elsewhere)
            self.refresh()

    def set_me(self, handle: str | None) -> None:
        if handle != self.me:
            self.me = handle
            self._static_cache.clear()
            self.refresh()

    def notify_style_update(self) -> None:
        """The theme (or any style) changed: forget every rendered row."""
        super().notify_style_update()
        self._static_cache.clear()

    def update_rows(self, rows: dict[int, QueueRow], *, forget: Sequence[int] = ()) -> None:
        """Add or replace cached rows (``forget``: ids that no longer exist)."""
        for i in forget:
            self.rows.pop(i, None)
        self.rows.update(rows)
        self._requested.difference_update(rows)
        self._evict()
        self.refresh()

    def index_of(self, ticket_id: int | None) -> int | None:
        if ticket_id is None:
            return None
        if self._positions is None:
            self._positions = {tid: i for i, tid in enumerate(self.ids)}
        return self._positions.get(ticket_id)

    @property
    def cursor_id(self) -> int | None:
        if 0 <= self.cursor < len(self.ids):
            return self.ids[self.cursor]
        return None

    @property
    def cursor_row(self) -> QueueRow | None:
        tid = self.cursor_id
        return self.rows.get(tid) if tid is not None else None

    def _evict(self) -> None:
        if len(self.rows) <= self.cache_limit:
            return
        top, bottom = self.visible_range()
        keep = set(self.ids[max(top - 500, 0) : bottom + 500])
        for tid in list(self.rows):
            if tid not in keep:
                del self.rows[tid]
            if len(self.rows) <= self.cache_limit // 2:
                break

    # ------------------------------------------------------------ cursor
    def _cursor_moved(self, index: int) -> None:
        self.post_message(self.Highlighted(self, index, self.cursor_id))

    def action_page_up(self) -> None:
        page = max(self.size.height - 2, 1)
        self.scroll_to(y=max(self.scroll_y - page, 0), animate=False, immediate=True)
        self._set_cursor(self.cursor - page)

    def action_page_down(self) -> None:
        page = max(self.size.height - 2, 1)
        self.scroll_to(y=self.scroll_y + page, animate=False, immediate=True)
        self._set_cursor(self.cursor + page)

    def _selected(self, row: QueueRow) -> Message:
        return self.Selected(self, self.cursor, row)

    # ------------------------------------------------------------ mouse
    def _header_clicked(self, x: int) -> bool:
        """A click on a column's title asks for that sort (:class:`HeaderClicked`)."""
        at = 0
        for col in self._layout():
            if at <= x < at + col.width + 1:
                self.post_message(self.HeaderClicked(self, col.name))
                break
            at += col.width + 1
        return True

    # ------------------------------------------------------------ rendering
    def _layout(self) -> list[Column]:
        width = self.scrollable_content_region.width - self._gutter
        if width != self._columns_width:
            self._columns = layout_columns(width, self._hidden)
            self._columns_width = width
        return self._columns

    def render_line(self, y: int) -> Strip:
        gutter = self._gutter
        if gutter:  # the mark column, then the row laid out in what is left
            strip = self._render_line(y, self.scrollable_content_region.width - gutter)
            index = int(self.scroll_y) + y - 1
            if y == 0:
                mark, style = "✓ ", self._style("header")
            else:
                marked = 0 <= index < len(self.ids) and self.ids[index] in self.marks
                mark = "● " if marked else "  "
                style = self.rich_style + Style(bold=True, color="yellow")
                if index == self.cursor:
                    style = self._look_style("cursor" if self.has_focus else "blurred") + Style(
                        bold=True
                    )
            return Strip.join([Strip([Segment(mark, style)], gutter), strip])
        return self._render_line(y, self.scrollable_content_region.width)

    def _row_line(self, index: int, width: int) -> Strip:
        tid = self.ids[index]
        row = self.rows.get(tid)
        if row is None:
            self._want(tid)
            return self._placeholder("…", width)
        look = "plain"
        if index == self.cursor:
            look = "cursor" if self.has_focus else "blurred"
        return self._row_strip(row, width, look)

    def _look_style(self, look: str) -> Style:
        """The row's own style: the table's, or the theme's cursor over it (full width)."""
        base = self.rich_style
        if look == "plain":
            return base
        return base + self._style("cursor" if look == "cursor" else "cursor-blurred")

    def _header_columns(self, width: int) -> list[Column]:
        return self._layout()

    def _row_strip(self, row: QueueRow, width: int, look: str = "plain") -> Strip:
        """A row: its static cells are rendered once per (row, width, draft, look) and
        cached; only the timer cell is formatted on every paint.

        ``look`` is ``plain``, ``cursor`` or ``blurred``: the cursor's background (theme
        component classes) goes under every cell and the blank rest of the line, so the
        cursor is a full-width bar — cell colours (priority, status) stay on top of it.
        (Applying the cursor over already-styled segments, as before, left the table's
        own background winning: the cursor showed only as bold text.)"""
        base = self._look_style(look)
        console = self.app.console
        draft = row.id in self.drafts
        cache_key = (row.id, width, draft, look, self.elsewhere.get(row.id))
        cached = self._static_cache.get(cache_key)
        if cached is None or cached[0] is not row:
            text = Text(no_wrap=True, overflow="ellipsis", end="")
            for col in self._layout():
                if col.name == "timer":
                    break
                cell = self._cell(row, col)
                cell.truncate(col.width, overflow="ellipsis", pad=True)
                text.append_text(cell)
                text.append(" ")
            prefix = list(Segment.apply_style(text.render(console), base))
            cached = (row, prefix, text.cell_len)
            self._static_cache[cache_key] = cached
        _, prefix, used = cached
        timer_col = self._layout()[-1]
        timer = self._cell(row, timer_col)
        timer.truncate(max(min(timer_col.width, width - used), 0), overflow="ellipsis", pad=True)
        segments = prefix + list(Segment.apply_style(timer.render(console), base))
        return Strip(segments).crop_extend(0, width, base)

    def _cell(self, row: QueueRow, col: Column) -> Text:
        match col.name:
            case "key":
                return Text(row.key, Style(bold=True))
            case "priority":
                return Text(row.priority, priority_style(row.priority))
            case "subject":
                t = Text()
                if row.id in self.drafts:  # a narrow subject keeps the pencil only
                    t.append("✎ draft" if col.width >= 30 else "✎", Style(bold=True, reverse=True))
                    t.append(" ")
                viewers = self.elsewhere.get(row.id)
                if viewers:  # open in another console: who (a narrow subject: the mark)
                    mark = "◉ " + ",".join(viewers) if col.width >= 30 else "◉"
                    t.append(mark, Style(bold=True, color="cyan"))
                    t.append(" ")
                t.append(_cell_text(row.subject))
                return t
            case "requester":
                t = Text(_cell_text(row.requester))
                if row.organization:
                    t.append(" · " + _cell_text(row.organization), Style(dim=True))
                return t
            case "status":
                return Text(status_label(row.status), status_style(row.status))
            case "tier":
                return Text(f"T{row.tier}" + ("↑" if row.escalated else ""))
            case "assignee":
                if row.assignee is not None and row.assignee == self.me:
                    return Text("me", Style(bold=True))
                return Text(row.assignee or "—", Style(dim=row.assignee is None))
            case "timer":
                try:
                    return ticket_timer(
                        row,
                        self.policy_for(row.policy),
                        self.now,
                        self.zone,
                        tight=col.width < TIMER_WIDE,
                    )
                except Exception:  # noqa: BLE001 - a bad contract file must not kill the table
                    return Text("policy?", Style(color="red"))
        return Text("")

    # ------------------------------------------------------------ paging
    def _want(self, tid: int) -> None:
        if tid in self._requested:
            return
        if not self._need_posted:
            self._need_posted = True
            self.call_after_refresh(self._post_needed)

    def _post_needed(self) -> None:
        self._need_posted = False
        top, bottom = self.visible_range()
        height = max(self.size.height, 10)
        start = max(top - height, 0)
        end = min(bottom + 2 * height, len(self.ids))
        wanted = [
            tid
            for tid in self.ids[start:end]
            if tid not in self.rows and tid not in self._requested
        ]
        if wanted:
            self._requested.update(wanted)
            self.post_message(self.RowsNeeded(self, wanted))

    # ------------------------------------------------------------ typing ahead
    def on_key(self, event: events.Key) -> None:
        """``/`` opens the filter right here (synchronously), and printable keys that were
        already queued for the table when focus moved on (``/refund`` typed fast) go to
        the widget that has focus now, instead of being taken for queue commands."""
        if event.key == "slash" and self.on_slash is not None and self.has_focus:
            event.stop()
            event.prevent_default()
            self.on_slash()
            return
        focused = self.screen.focused
        if focused is not None and focused is not self and event.is_printable:
            insert = getattr(focused, "insert_text_at_cursor", None)
            if insert is not None and event.character:
                event.stop()
                event.prevent_default()
                insert(event.character)


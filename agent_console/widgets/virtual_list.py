"""The one virtual list behind the queue table and the on-call ticket list (toolong's
``LogLines`` model, DESIGN.md "The queue is a virtual view").

A :class:`VirtualList` draws a column header on line 0 and row ``i`` on virtual line
``i + 1``, rendering only the visible lines in :meth:`VirtualList.render_line`. It owns what
both lists do alike: the cursor (clamped, kept in view, repainting only the lines it
leaves and enters), the cursor and selection keys' actions, a click (the highlighted row,
or a double click, selects), the placeholder of an empty list, and the header line. A
subclass says how many rows there are (:attr:`row_count`), which row is under the cursor
(:attr:`cursor_row`), how one row is drawn (:meth:`_row_line`), its columns
(:meth:`_header_columns`) and the message a selection posts (:meth:`_selected`).

Component classes are named after :attr:`VirtualList.COMPONENT_PREFIX`
(``<prefix>--header``, ``--cursor``, ``--cursor-blurred``, ``--placeholder``), so each
list keeps its own CSS.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


class HeaderColumn(Protocol):
    """What the header line needs of a column: its title and width (cells)."""

    @property
    def title(self) -> str: ...

    @property
    def width(self) -> int: ...


class VirtualList(ScrollView, can_focus=True):
    """A virtual list with a column header; see the module docstring."""

    #: the component-class prefix (``queue-table``, ``oncall-tickets``)
    COMPONENT_PREFIX = "virtual-list"

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    empty_text = ""

    # ------------------------------------------------------------ what a subclass says
    @property
    def row_count(self) -> int:
        """How many rows the list has (not counting the header)."""
        raise NotImplementedError

    @property
    def cursor_row(self) -> Any:
        """The row under the cursor, None when there is none (or it is not loaded)."""
        raise NotImplementedError

    def _header_columns(self, width: int) -> Sequence[HeaderColumn]:
        """The columns of a list ``width`` cells wide (the header's titles)."""
        raise NotImplementedError

    def _row_line(self, index: int, width: int) -> Strip:
        """Row ``index`` (0-based, within ``row_count``) drawn ``width`` cells wide."""
        raise NotImplementedError

    def _selected(self, row: Any) -> Message:
        """The message a selection of ``row`` (the cursor's) posts."""
        raise NotImplementedError

    def _cursor_moved(self, index: int) -> None:
        """Called after every cursor move (the queue tells its screen)."""

    def _header_clicked(self, x: int) -> bool:
        """A click on the header at content column ``x``; True when it was handled."""
        return False

    def _style(self, part: str) -> Any:
        return self.get_component_rich_style(f"{self.COMPONENT_PREFIX}--{part}")

    # ------------------------------------------------------------ cursor
    def _set_cursor(self, index: int, *, center: bool = False) -> None:
        """Move the cursor to ``index`` (clamped to the rows), keep it in view (``center``:
        in the middle when it has to scroll) and repaint the two lines that changed."""
        count = self.row_count
        index = max(0, min(index, count - 1)) if count else 0
        old = self.cursor
        self.cursor = index
        self._scroll_to_cursor(center=center)
        self._refresh_row(old)
        self._refresh_row(index)
        self._cursor_moved(index)

    def _refresh_row(self, index: int) -> None:
        self.refresh_line(index + 1)

    def _scroll_to_cursor(self, *, center: bool = False) -> None:
        height = max(self.size.height - 1, 1)
        top = int(self.scroll_y)
        target = top
        if center and not (top <= self.cursor < top + height):
            target = self.cursor - height // 2
        elif self.cursor < top:
            target = self.cursor
        elif self.cursor >= top + height:
            target = self.cursor - height + 1
        target = max(0, min(target, max(self.row_count + 1 - self.size.height, 0)))
        if target != top:
            self.scroll_to(y=target, animate=False, immediate=True)

    def visible_range(self) -> tuple[int, int]:
        """``(first, end)`` row indexes in view (``end`` exclusive)."""
        top = int(self.scroll_y)
        return top, min(top + max(self.size.height - 1, 1), self.row_count)

    def action_cursor_up(self) -> None:
        self._set_cursor(self.cursor - 1)

    def action_cursor_down(self) -> None:
        self._set_cursor(self.cursor + 1)

    def action_first(self) -> None:
        self._set_cursor(0)

    def action_last(self) -> None:
        self._set_cursor(self.row_count - 1)

    def action_select(self) -> None:
        row = self.cursor_row
        if row is not None:
            self.post_message(self._selected(row))

    def watch_has_focus(self, _focused: bool) -> None:
        self._refresh_row(self.cursor)

    # ------------------------------------------------------------ mouse
    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            if self._header_clicked(offset.x):
                event.stop()
            return
        event.stop()
        index = int(self.scroll_y) + offset.y - 1
        if not 0 <= index < self.row_count:
            return
        if index == self.cursor or event.chain >= 2:
            self._set_cursor(index)
            self.action_select()
        else:
            self._set_cursor(index)

    # ------------------------------------------------------------ rendering
    def _resize_virtual(self, width: int | None = None) -> None:
        """The virtual height follows the rows (plus the header line)."""
        self.virtual_size = Size(self.size.width if width is None else width, self.row_count + 1)

    def on_resize(self, event: events.Resize) -> None:
        self._resize_virtual(event.size.width)
        self._scroll_to_cursor()

    def render_line(self, y: int) -> Strip:
        return self._render_line(y, self.scrollable_content_region.width)

    def _render_line(self, y: int, width: int) -> Strip:
        if y == 0:
            return self._header_strip(width)
        index = int(self.scroll_y) + y - 1
        if index >= self.row_count:
            if not self.row_count and y == 2:
                return self._placeholder(self.empty_text, width)
            return Strip.blank(width, self.rich_style)
        return self._row_line(index, width)

    def _placeholder(self, text: str, width: int) -> Strip:
        """A muted line of ``text`` (an empty list's message, a row still loading)."""
        return Strip([Segment(f"  {text}".ljust(width)[:width], self._style("placeholder"))])

    def _header_strip(self, width: int) -> Strip:
        text = Text(no_wrap=True, overflow="ellipsis")
        for col in self._header_columns(width):
            text.append(col.title[: col.width].ljust(col.width) + " ")
        text.truncate(width, pad=True)
        return Strip(list(text.render(self.app.console)), width).apply_style(
            self._style("header")
        )

"""A table of figures for the metrics screen: headers and rows of plain values, drawn
literally (a ticket subject like ``see [/path]`` is text, never markup)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable


class FigureTable(DataTable[Text]):
    """Read-only figures; ``enter`` on a row posts ``DataTable.RowSelected`` with the row
    key the screen gave (e.g. a ticket key)."""

    DEFAULT_CSS = """
    FigureTable {
        height: auto;
        max-height: 100%;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)

    def show(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        keys: Sequence[str] | None = None,
    ) -> None:
        """Replace the contents; ``keys`` (optional) are the rows' keys, in order."""
        self.clear(columns=True)
        body = [[Text("-" if v is None else str(v), no_wrap=True) for v in row] for row in rows]
        # widths given up front, from the header and every cell: a table shown again (a new
        # period) is never drawn with the widths of its headers alone, cutting "3h 30m"
        # to "3h" until the next idle pass
        for c, h in enumerate(headers):
            label = Text(h)
            width = max([label.cell_len] + [r[c].cell_len for r in body if c < len(r)])
            self.add_column(label, width=width)
        for i, cells in enumerate(body):
            self.add_row(*cells, key=None if keys is None else keys[i])

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
        self.add_columns(*[Text(h) for h in headers])
        for i, row in enumerate(rows):
            cells = [Text("-" if v is None else str(v), no_wrap=True) for v in row]
            self.add_row(*cells, key=None if keys is None else keys[i])

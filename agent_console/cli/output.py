"""Small helpers for CLI output: JSON, tables, progress on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

from agent_console.safe_text import json_text, one_line, pad, truncate, width

#: the widest a table column gets, in terminal cells (longer text ends with "…")
MAX_COLUMN = 60


def print_json(data: Any) -> None:
    """``data`` as one line of JSON: UTF-8 as itself, every terminal control or bidi
    override as a ``\\u`` escape (:func:`agent_console.safe_text.json_text`)."""
    sys.stdout.write(json_text(data))
    sys.stdout.write("\n")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Columns aligned in terminal cells (wide and joined emoji count as what they show);
    a cell longer than :data:`MAX_COLUMN` is cut between grapheme clusters."""
    cells = [[clean(v) for v in r] for r in rows]
    widths = [width(h) for h in headers]
    for r in cells:
        for i, v in enumerate(r):
            widths[i] = min(max(widths[i], width(v)), MAX_COLUMN)
    line = "  ".join(pad(h, w) for h, w in zip(headers, widths, strict=True))
    print(line.rstrip())
    for r in cells:
        print("  ".join(pad(truncate(v, w), w) for v, w in zip(r, widths, strict=True)).rstrip())


def clean(value: Any) -> str:
    """Outside text on a terminal, one line: the one rule of
    :func:`agent_console.safe_text.visible` (controls shown as escapes, never obeyed)."""
    return one_line(value)


class Progress:
    """A one-line progress report on stderr, at most a few times per second."""

    def __init__(self, label: str, *, enabled: bool | None = None) -> None:
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._last = 0.0
        self._shown = False

    def __call__(self, *args: Any) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        if len(args) == 3:
            stage, done, total = args
            text = f"{self.label}: {stage} {done:,}" + (f"/{total:,}" if total else "")
        else:
            done, total = args
            text = f"{self.label}: {done:,}/{total:,}"
        sys.stderr.write("\r" + text + "\033[K")
        sys.stderr.flush()
        self._shown = True

    def done(self) -> None:
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

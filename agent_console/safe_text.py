"""The one rule for outside text on a terminal (issue 15).

Customer text, agent and organization names, tags, article titles — anything that did not
come from this program — passes through here before it reaches a terminal, in the TUI and
in the CLI (``--json`` included). No Textual here: widgets and the CLI both import it.

What stays (writing needs it):

- every printable character, including unassigned code points (emoji newer than this
  Python's Unicode tables) and private-use characters;
- U+200D ZERO WIDTH JOINER (joined emoji such as a family of three), U+200C ZERO WIDTH
  NON-JOINER (Persian, Hindi), U+200E/U+200F LRM/RLM and U+061C ALM (implicit direction
  marks: they do not embed or override), U+E0020–U+E007F (emoji tag sequences, e.g. the
  flag of Scotland);
- in multi-line text (bodies): newlines and tabs; ``\\r\\n`` becomes ``\\n``, and U+2028 /
  U+2029 (line / paragraph separator) become ``\\n``.

What is neutralised (shown as a visible escape such as ``\\x1b`` or ``\\u202e``, never
obeyed): the other C0 controls, DEL, the C1 controls (``\\x9b`` is an 8-bit CSI), the bidi
embeddings / overrides / isolates U+202A–U+202E and U+2066–U+2069, every other format
character (Unicode category Cf: U+FEFF, U+2060…), lone surrogates, and — in one-line text —
newlines, tabs and the line / paragraph separators.

Unicode categories come from the ``regex`` package (maintained, current Unicode tables),
which also provides grapheme-cluster segmentation (``\\X``) for truncation that never splits
a cluster (a family emoji, a flag, a letter with its accents). Cell widths are Rich's.
"""

from __future__ import annotations

import json
from typing import Any

import regex
from rich.cells import cell_len

#: format characters that writing needs (kept); every other Cc/Cf/Cs/Zl/Zp is neutralised
_KEEP_FORMAT = r"\u200c\u200d\u200e\u200f\u061c\U000E0020-\U000E007F"

#: characters neutralised in one-line text (names, subjects, tags, titles, table cells)
_NEUTRAL_LINE = regex.compile(
    rf"[[\p{{Cc}}\p{{Cf}}\p{{Cs}}\p{{Zl}}\p{{Zp}}]--[{_KEEP_FORMAT}]]", regex.V1
)
#: characters neutralised in multi-line text (bodies): newlines and tabs stay
_NEUTRAL_BODY = regex.compile(
    rf"[[\p{{Cc}}\p{{Cf}}\p{{Cs}}]--[\t\n{_KEEP_FORMAT}]]", regex.V1
)
_LINE_BREAKS = regex.compile(r"\r\n|[\u2028\u2029]")
_GRAPHEME = regex.compile(r"\X")

ELLIPSIS = "…"


def _escape(match: regex.Match[str]) -> str:
    ch = match.group()
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if ch == "\r":
        return "\\r"
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str | None, *, keep_newlines: bool = True) -> str:
    """``text`` safe for a terminal: what writing needs kept, every control shown as a
    visible escape (``ESC`` becomes the four characters ``\\x1b``). ``keep_newlines``:
    multi-line text (a message body) keeps newlines and tabs; otherwise (a name, a subject,
    a table cell) they show as ``\\n`` / ``\\t``. ``None`` is ``""``."""
    if not text:
        return ""
    if text.isprintable():  # the common case: no control, format or separator character
        return text
    if keep_newlines:
        if "\r" in text or "\u2028" in text or "\u2029" in text:
            text = _LINE_BREAKS.sub("\n", text)
        return _NEUTRAL_BODY.sub(_escape, text)
    return _NEUTRAL_LINE.sub(_escape, text)


def one_line(value: Any) -> str:
    """Any value (``None`` → ``""``) as one safe line: :func:`visible` without newlines."""
    return visible("" if value is None else str(value), keep_newlines=False)


def graphemes(text: str) -> list[str]:
    """``text`` split into grapheme clusters (what a reader sees as one character)."""
    return _GRAPHEME.findall(text)


def width(text: str) -> int:
    """Terminal cells ``text`` takes (Rich's measure, the one the TUI lays out with)."""
    return cell_len(text)


def truncate(text: str, max_width: int, *, ellipsis: str = ELLIPSIS) -> str:
    """``text`` cut to at most ``max_width`` terminal cells, ending with ``ellipsis`` when
    cut. Cuts only between grapheme clusters: a joined emoji, a flag or a letter with its
    combining marks is kept whole or dropped whole."""
    if max_width <= 0:
        return ""
    if cell_len(text) <= max_width:
        return text
    room = max_width - cell_len(ellipsis)
    out: list[str] = []
    used = 0
    for cluster in _GRAPHEME.findall(text):
        w = cell_len(cluster)
        if used + w > room:
            break
        out.append(cluster)
        used += w
    return "".join(out) + ellipsis if room >= 0 else ellipsis[:max_width]


def boundary_before(text: str, index: int) -> int:
    """The grapheme-cluster boundary at or before ``index`` in ``text`` (a place to cut
    a long text in code points without splitting a joined emoji or an accent)."""
    if index <= 0:
        return 0
    if index >= len(text):
        return len(text)
    start = max(index - 64, 0)
    pos = start
    for match in _GRAPHEME.finditer(text, start, min(index + 64, len(text))):
        if match.end() > index:
            break
        pos = match.end()
    return pos if pos > start or start == 0 else index


def pad(text: str, cells: int) -> str:
    """``text`` padded with spaces to ``cells`` terminal cells (``str.ljust`` counts code
    points, which misaligns wide and zero-width characters)."""
    return text + " " * max(cells - cell_len(text), 0)


def _json_escape(match: regex.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # a surrogate pair, as JSON spells characters beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(data: Any, *, indent: int | None = None) -> str:
    """``data`` as JSON (UTF-8 characters written as themselves, ``ensure_ascii=False``)
    with every neutralised character as a ``\\u`` escape: C1, DEL, bidi overrides and lone
    surrogates never reach the terminal raw, and a JSON reader still gets the exact
    string back. (``json`` itself escapes C0, newlines and tabs.)"""
    raw = json.dumps(data, ensure_ascii=False, indent=indent)
    # the separators as escapes too: they are line breaks to some JSON Lines readers
    return _NEUTRAL_LINE.sub(_json_escape, raw)

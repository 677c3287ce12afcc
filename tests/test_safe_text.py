"""The one rule for outside text (agent_console.safe_text): what writing needs is kept,
everything that controls a terminal or reorders text is neutralised (issue 15)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from agent_console.safe_text import graphemes, json_text, one_line, truncate, visible

FAMILY = "👨\u200d👩\u200d👧"  # man ZWJ woman ZWJ girl: one grapheme
SCOTLAND = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # tag sequence
PERSIAN = "می\u200cخواهم"  # "I want": ZWNJ inside the word
HINDI = "क्\u200cष"  # ZWNJ keeps the half form
BIDI_MARKS = "abc\u200e123\u200f\u061c"

KEPT = [FAMILY, SCOTLAND, PERSIAN, HINDI, BIDI_MARKS, "e\u0301", "❤\ufe0f", "\U0001fae8"]
NEUTRALISED = (
    [chr(c) for c in range(0x00, 0x20) if chr(c) not in "\n\t"]
    + ["\x7f"]
    + [chr(c) for c in range(0x80, 0xA0)]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\ud800", "\ufeff", "\u2060"]
)


@pytest.mark.parametrize("text", KEPT)
def test_writing_needs_are_kept(text: str) -> None:
    assert visible(text) == text
    assert one_line(text) == text
    assert json.loads(json_text(text)) == text
    assert "\\u" not in json_text(text)  # written as themselves, not as escapes


@pytest.mark.parametrize("ch", NEUTRALISED, ids=lambda c: f"U+{ord(c):04X}")
def test_controls_and_reordering_are_neutralised(ch: str) -> None:
    for shown in (visible(f"a{ch}b"), one_line(f"a{ch}b")):
        assert ch not in shown
        assert shown.startswith("a\\") and shown.endswith("b")
    dumped = json_text({"name": f"a{ch}b"})
    assert ch not in dumped and "\\" in dumped
    assert json.loads(dumped) == {"name": f"a{ch}b"}  # a JSON reader gets the exact text


def test_escape_sequences_are_shown_not_obeyed() -> None:
    title = "Eve \x1b]0;pwned\x07 \x1b]52;c;aGk=\x07 \x9b2J"
    assert visible(title) == "Eve \\x1b]0;pwned\\x07 \\x1b]52;c;aGk=\\x07 \\x9b2J"


def test_bodies_keep_newlines_and_tabs_lines_do_not() -> None:
    body = "line one\r\n\tindented\u2028after a separator"
    assert visible(body) == "line one\n\tindented\nafter a separator"
    assert one_line(body) == "line one\\r\\n\\tindented\\u2028after a separator"


def test_json_escapes_separators_and_beyond_the_bmp_format_characters() -> None:
    text = "a\u2028b\U000e0001c"  # line separator; LANGUAGE TAG (deprecated, format)
    dumped = json_text(text)
    assert dumped == '"a\\u2028b\\udb40\\udc01c"'
    assert json.loads(dumped) == text


@pytest.mark.parametrize("width", range(1, 9))
def test_truncation_never_splits_a_grapheme(width: int) -> None:
    text = f"ab{FAMILY}cd{SCOTLAND}e\u0301f"
    cut = truncate(text, width)
    assert cell_len(cut) <= width
    kept = cut.removesuffix("…")
    assert all(g in graphemes(text) for g in graphemes(kept))
    assert text.startswith(kept)


def test_truncation_keeps_short_text_whole() -> None:
    assert truncate(PERSIAN, 20) == PERSIAN
    assert truncate("abcdef", 4) == "abc…"


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(min_value=1, max_value=40))
def test_truncate_property(text: str, width: int) -> None:
    cut = truncate(text, width)
    assert cell_len(cut) <= width
    kept = cut.removesuffix("…") if cut != text else cut
    assert text.startswith(kept)
    # the cut falls on a grapheme boundary of the original
    assert len("".join(graphemes(text)[: len(graphemes(kept))])) == len(kept)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_no_raw_control_survives(text: str) -> None:
    import unicodedata

    allowed = {"\u200c", "\u200d", "\u200e", "\u200f", "\u061c"}
    for shown in (one_line(text), json_text(text)):
        for ch in shown:
            cat = unicodedata.category(ch)
            if 0xE0020 <= ord(ch) <= 0xE007F or ch in allowed:
                continue
            assert cat not in ("Cc", "Cf", "Cs", "Zl", "Zp"), repr(ch)
    assert json.loads(json_text(text)) == text

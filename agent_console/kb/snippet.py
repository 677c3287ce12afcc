"""Snippets: a short window of an article's plain text around the words a query matched, with
«markers», made for the rows a search returns and nothing more.

They are made here rather than by the database: FTS5's ``snippet()`` and PostgreSQL's
``ts_headline`` tokenise and stem each article again (~40 µs a row on SQLite, more on
PostgreSQL: half the time of a typical search). Here one regular expression per query finds
the words in the stored plain text. A word of the query matches the words of the knowledge
base that share its stem (``refunds`` highlights ``refund``, ``refunded``), as the index
matched them; the word being typed matches every word it starts. Same on both backends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from agent_console.kb.query import Query
from agent_console.kb.text import HL_END, HL_START

SNIPPET_CHARS = 150
#: a fragment starts this far before the first match it shows
LEAD_CHARS = 30
_SPACES = re.compile(r"\s+")


def _is_word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


class Highlighter:
    """Finds a query's words in plain text; one per search. No regular expression: finding
    each word with ``str.find`` and checking the word boundaries is ten times faster than
    one pattern of alternatives, and there is nothing to compile per query."""

    def __init__(self, query: Query, forms: Callable[[str], Iterable[str]]) -> None:
        #: (text to find, is a prefix, which query term it stands for)
        needles: dict[str, tuple[bool, int]] = {}
        term = 0
        for g in query.groups:
            for a in g.alts:
                for i, w in enumerate(a.words):
                    term += 1
                    if a.prefix and i == len(a.words) - 1:
                        needles[w] = (True, term)
                        continue
                    for f in {w, *forms(w)}:
                        if f not in needles:
                            needles[f] = (False, term)
        self.needles = [(w, p, t) for w, (p, t) in needles.items() if w]

    def spans(self, text: str, limit: int = 200) -> list[tuple[int, int, int]]:
        """``(start, end, term)`` of the matched words in ``text``, in order, not overlapping."""
        low = text.lower()
        if len(low) != len(text):  # a character whose lower case is longer: rare; skip it
            low = "".join(c.lower()[:1] for c in text)
        n = len(low)
        found: list[tuple[int, int, int]] = []
        for needle, prefix, term in self.needles:
            i = low.find(needle)
            while i >= 0 and len(found) < 4 * limit:
                j = i + len(needle)
                if i == 0 or not _is_word_char(low[i - 1]):
                    if prefix:
                        while j < n and _is_word_char(low[j]):
                            j += 1
                        found.append((i, j, term))
                    elif j == n or not _is_word_char(low[j]):
                        found.append((i, j, term))
                i = low.find(needle, j)
        found.sort(key=lambda s: (s[0], -s[1]))
        out: list[tuple[int, int, int]] = []
        for s in found:
            if not out or s[0] >= out[-1][1]:
                out.append(s)
                if len(out) >= limit:
                    break
        return out

    def snippet(self, text: str, width: int = SNIPPET_CHARS) -> str:
        """One line of about ``width`` characters: the stretch with the most distinct query
        words (the earliest of equals), or the article's start when none is in the text."""
        if not text:
            return ""
        spans = self.spans(text[:200_000])
        # the window (from one match, width - LEAD_CHARS long) with the most distinct terms
        start, best = 0, 0
        counts: dict[int, int] = {}
        j = 0
        for i, (s, _e, t) in enumerate(spans):
            j = max(j, i)
            while j < len(spans) and spans[j][1] - s <= width - LEAD_CHARS:
                counts[spans[j][2]] = counts.get(spans[j][2], 0) + 1
                j += 1
            if len(counts) > best:
                best, start = len(counts), s
            if j > i:  # slide on: this match leaves the window
                counts[t] -= 1
                if not counts[t]:
                    del counts[t]
        if best:
            start = max(0, start - LEAD_CHARS)
        if start > 0:
            cut = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start))
            start = cut + 1 if cut >= 0 else start
        end = start + width
        if end < len(text):
            cut = max(text.rfind(" ", start, end), text.rfind("\n", start, end))
            end = cut if cut > start else end
        else:
            end = len(text)
        parts = []
        pos = start
        for s, e, _t in spans:
            if s < start or e > end:
                continue
            parts += [text[pos:s], HL_START, text[s:e], HL_END]
            pos = e
        parts.append(text[pos:end])
        window = _SPACES.sub(" ", "".join(parts)).strip()
        return ("…" if start > 0 else "") + window + ("…" if end < len(text) else "")

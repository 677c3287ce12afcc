"""User text → a structured query. Nothing a person types reaches ``MATCH`` or
``to_tsquery`` as syntax: the text is tokenised into words of letters and digits, and the
backends quote each word themselves (see :mod:`agent_console.kb.index`).

Semantics (the same on SQLite and PostgreSQL):

- words are ANDed; stop words (PostgreSQL's English list) are ignored;
- ``"two words"`` is a phrase; an unclosed quote is a phrase being typed;
- the last word is a prefix while it is being typed (no space after it yet);
- operator words (``AND`` ``OR`` ``NOT`` ``NEAR`` in capitals), ``*``, ``-``, parentheses,
  punctuation and emoji are separators, never syntax.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace
from typing import Literal

from agent_console.kb.text import WORD_RE

MAX_QUERY_CHARS = 2_000
MAX_TERMS = 12
MAX_WORD = 50
MIN_PREFIX = 2

#: PostgreSQL's ``english`` stop words (the Snowball list), so both backends agree
STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now""".split()
)
OPERATOR_WORDS = frozenset({"AND", "OR", "NOT", "NEAR"})
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"'})

Mode = Literal["all", "any"]


@dataclass(frozen=True)
class Alt:
    """One alternative: a word (one entry) or a phrase; ``prefix`` = the last word is a prefix."""

    words: tuple[str, ...]
    prefix: bool = False

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


@dataclass(frozen=True)
class Group:
    """Alternatives for one term (the typed word, its prefix completions, typo corrections)."""

    alts: tuple[Alt, ...]

    @property
    def main(self) -> Alt:
        return self.alts[0]


@dataclass(frozen=True)
class Query:
    groups: tuple[Group, ...]
    mode: Mode = "all"

    def __bool__(self) -> bool:
        return bool(self.groups)

    def with_mode(self, mode: Mode) -> Query:
        return replace(self, mode=mode)

    def describe(self) -> str:
        """The query as a person would read it (for 'showing results for …')."""
        parts = []
        for g in self.groups:
            alt = g.alts[-1] if len(g.alts) > 1 else g.main
            text = " ".join(alt.words)
            parts.append(f'"{text}"' if alt.is_phrase else text)
        return (" " if self.mode == "all" else " or ").join(parts)


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(_QUOTES)


def _words(segment: str) -> list[str]:
    out = []
    for w in WORD_RE.findall(segment):
        if w in OPERATOR_WORDS:
            continue
        out.append(w.casefold()[:MAX_WORD])
    return out


def parse_query(text: str, *, mode: Mode = "all", typing: bool = True) -> Query:
    """Tokenise user text. ``typing``: the last word is a prefix unless followed by a space."""
    text = normalise(text or "")[:MAX_QUERY_CHARS]
    segments = text.split('"')
    # an odd number of quotes leaves the last segment as an open phrase (still being typed)
    open_phrase = len(segments) % 2 == 0
    ends_in_word = bool(text) and (text[-1].isalnum())
    alts: list[Alt] = []
    for i, seg in enumerate(segments):
        words = _words(seg)
        if not words:
            continue
        last_segment = i == len(segments) - 1
        is_phrase = i % 2 == 1
        prefix_here = typing and last_segment and ends_in_word
        if is_phrase and len(words) > 1:
            alts.append(Alt(tuple(words), prefix=prefix_here and open_phrase))
            continue
        for j, w in enumerate(words):
            is_last = j == len(words) - 1
            alts.append(Alt((w,), prefix=prefix_here and is_last))
    # drop stop words (not inside phrases, not the word being typed) and short prefixes
    kept: list[Alt] = []
    for a in alts:
        if not a.is_phrase and not a.prefix and a.words[0] in STOP_WORDS:
            continue
        kept.append(a)
    if kept and kept[-1].prefix and not kept[-1].is_phrase and len(kept[-1].words[0]) < MIN_PREFIX:
        kept.pop()  # one typed letter: wait for the second
    seen: set[Alt] = set()
    unique = []
    for a in kept:
        if a not in seen:
            seen.add(a)
            unique.append(a)
    # a 5,000-character paste keeps its first terms and the word being typed
    unique = (
        unique[:MAX_TERMS] if len(unique) <= MAX_TERMS else unique[: MAX_TERMS - 1] + unique[-1:]
    )
    return Query(tuple(Group((a,)) for a in unique), mode)


def query_words(query: Query) -> list[str]:
    """Every distinct word of the main alternatives (for the naive scan and corrections)."""
    out: list[str] = []
    for g in query.groups:
        for w in g.main.words:
            if w not in out:
                out.append(w)
    return out

"""The search pipeline both backends share: parse → complete the typed prefix → exact search →
typo-tolerant search → any-word search. The first step that finds something answers; its
rows get snippets (:mod:`agent_console.kb.snippet`)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.engine import Connection

from agent_console.kb.backend import Backend, RawHit
from agent_console.kb.fuzzy import Vocabulary
from agent_console.kb.index import backend_for
from agent_console.kb.query import STOP_WORDS, Alt, Group, Mode, Query, parse_query
from agent_console.kb.snippet import Highlighter

MatchKind = Literal["exact", "fuzzy", "partial"]
PREFIX_COMPLETIONS = 12
MIN_COMPLETE = 4
COMPLETE_EXTRA = 4
VOCAB_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class KBHit:
    """One search result: what lists show. ``snippet`` marks matches as «this»."""

    slug: str
    title: str
    section: str
    score: float
    snippet: str
    #: exact = every word matched; fuzzy = after correcting a typo; partial = some words
    match: MatchKind = "exact"
    #: the corrected query, for "showing results for …" (fuzzy / partial only)
    corrected: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "section": self.section,
            "score": round(self.score, 6),
            "snippet": self.snippet,
            "match": self.match,
        }


class Searcher:
    """Holds the in-memory vocabulary (reloaded when the articles change); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._vocab: tuple[int, Vocabulary] | None = None
        self._checked = 0.0

    def invalidate(self) -> None:
        """Articles changed through this process: check the vocabulary on the next search."""
        with self._lock:
            self._checked = 0.0

    def vocabulary(self, conn: Connection, backend: Backend | None = None) -> Vocabulary:
        """The vocabulary, reloaded when the articles changed. Whether they did is asked at
        most once per VOCAB_CHECK_SECONDS (a statement per keystroke otherwise); changes made
        through this process call :meth:`invalidate`, other processes' are seen within that."""
        now = time.monotonic()
        with self._lock:
            if self._vocab is not None and now - self._checked < VOCAB_CHECK_SECONDS:
                return self._vocab[1]
        b = backend or backend_for(conn)
        gen = b.generation(conn)
        with self._lock:
            if self._vocab is not None and self._vocab[0] == gen:
                self._checked = now
                return self._vocab[1]
        vocab = Vocabulary(*b.load_vocab(conn))
        with self._lock:
            self._vocab = (gen, vocab)
            self._checked = now
        return vocab

    # ------------------------------------------------------------------ steps
    def complete_prefix(self, vocab: Vocabulary, query: Query) -> Query:
        """Add the known words that start with the typed prefix, so that a prefix longer than
        its stem (``maintenan`` → ``maintenance``, stored as ``mainten``) still matches."""
        groups = list(query.groups)
        for i, g in enumerate(groups):
            a = g.main
            if a.prefix and not a.is_phrase and len(a.words[0]) >= MIN_COMPLETE:
                # a stemmer strips at most a few letters: a longer word's stem still starts
                # with the prefix, and the prefix query finds it without help
                words = vocab.stem_completions(a.words[0], PREFIX_COMPLETIONS, COMPLETE_EXTRA)
                extra = tuple(Alt((w,)) for w in words if w != a.words[0] and w not in STOP_WORDS)
                if extra:
                    groups[i] = Group(g.alts + extra)
        return Query(tuple(groups), query.mode)

    def correct(self, vocab: Vocabulary, query: Query) -> Query | None:
        """Each word joined by the known words one typo away; None if nothing to correct."""
        groups = list(query.groups)
        changed = False
        for i, g in enumerate(groups):
            a = g.main
            if a.is_phrase:
                continue
            w = a.words[0]
            if w in vocab.df and not a.prefix:
                continue
            extra: list[Alt] = [Alt((c,)) for c in vocab.corrections(w)]
            if a.prefix:
                extra += [Alt((p,), prefix=True) for p in vocab.prefix_corrections(w)]
            extra = [e for e in extra if e not in g.alts]
            if extra:
                groups[i] = Group(g.alts + tuple(extra))
                changed = True
        return Query(tuple(groups), query.mode) if changed else None

    # ------------------------------------------------------------------ entry point
    def search(
        self,
        conn: Connection,
        text: str,
        limit: int = 20,
        *,
        mode: Mode = "all",
        typing: bool = True,
    ) -> list[KBHit]:
        limit = max(1, min(int(limit), 500))
        query = parse_query(text, mode=mode, typing=typing)
        if not query:
            return []
        b = backend_for(conn)
        vocab = self.vocabulary(conn, b)
        completed = self.complete_prefix(vocab, query)
        raw = b.search(conn, completed, limit, vocab)
        if raw:
            return _hits(raw, completed, vocab, "exact", None)
        corrected = self.correct(vocab, completed)
        if corrected is not None:
            raw = b.search(conn, corrected, limit, vocab)
            if raw:
                return _hits(raw, corrected, vocab, "fuzzy", corrected.describe())
        if mode == "all" and len(query.groups) > 1:
            loose = (corrected or completed).with_mode("any")
            raw = b.search(conn, loose, limit, vocab)
            if raw:
                return _hits(raw, loose, vocab, "partial", loose.describe())
        return []

    def like_scan(self, conn: Connection, text: str, limit: int = 20) -> list[tuple[str, str]]:
        """The naive ``LIKE`` baseline over ``kb_article`` (for the benchmark)."""
        query = parse_query(text)
        words = [w for g in query.groups for w in g.main.words]
        return backend_for(conn).like_scan(conn, words, limit)


def _hits(
    raw: list[RawHit], query: Query, vocab: Vocabulary, match: MatchKind, corrected: str | None
) -> list[KBHit]:
    """Hits in the backend's order (by relevance; title matches first when bounded), each with
    a snippet cut from its text: only the rows returned get one."""
    highlighter = Highlighter(query, vocab.forms)
    return [
        KBHit(
            h.slug,
            h.title,
            h.section,
            h.score,
            highlighter.snippet(h.body),
            match,
            corrected,
        )
        for h in raw
    ]


def search_words_for_ticket(subject: str, first_message: str, max_words: int = 12) -> str:
    """The text to search for a ticket's suggestions: its subject, then its first message."""
    q = parse_query(f"{subject}\n{first_message}", mode="any", typing=False)
    words: list[str] = []
    for g in q.groups:
        for w in g.main.words:
            if w not in words and not w.isdigit() and len(w) > 2:
                words.append(w)
    return " ".join(words[:max_words])

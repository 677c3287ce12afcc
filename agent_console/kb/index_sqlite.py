"""The knowledge-base index on SQLite: an FTS5 table ``kb_fts`` (porter stemmer, prefix
indexes, bm25 weighting title over tags, section and body) and a small one of titles and
tags alone, ``kb_title_fts`` (see :mod:`agent_console.kb.backend` for the contract both
backends keep).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from agent_console.kb.backend import (
    FILL_WINDOW,
    RANK_WINDOW,
    TITLE_WINDOW,
    WEIGHTS,
    Backend,
    IndexRow,
    RawHit,
    merge_ranked,
)
from agent_console.kb.fuzzy import Vocabulary
from agent_console.kb.query import Alt, Group, Query


class SqliteBackend(Backend):
    name = "sqlite"
    index_tables = ("kb_fts", "kb_title_fts")
    count_tables = ("kb_fts_docsize", "kb_title_fts_docsize")

    def has_index(self, conn: Connection) -> bool:
        names = {
            r[0]
            for r in conn.execute(
                text(
                    "SELECT name FROM sqlite_master "
                    "WHERE name IN ('kb_meta', 'kb_fts', 'kb_title_fts', 'kb_vocab')"
                )
            )
        }
        return len(names) == 4

    def create(self, conn: Connection) -> None:
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE kb_fts USING fts5(title, tags, section, body, "
            f"tokenize = '{FTS5_TOKENIZE}', prefix = '2 3 4')"
        )
        w = ", ".join(str(x) for x in WEIGHTS)
        conn.exec_driver_sql(f"INSERT INTO kb_fts (kb_fts, rank) VALUES ('rank', 'bm25({w})')")
        # titles and tags alone: ~20× smaller, so ranking title matches stays cheap when a
        # query matches most articles (see search)
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE kb_title_fts USING fts5(title, tags, "
            f"tokenize = '{FTS5_TOKENIZE}', prefix = '2 3 4')"
        )
        w = ", ".join(str(x) for x in WEIGHTS[:2])
        conn.exec_driver_sql(
            f"INSERT INTO kb_title_fts (kb_title_fts, rank) VALUES ('rank', 'bm25({w})')"
        )
        conn.exec_driver_sql(
            "CREATE TABLE kb_vocab (word TEXT PRIMARY KEY, df INTEGER NOT NULL, stem TEXT) "
            "WITHOUT ROWID"
        )

    def upsert(self, conn: Connection, rows: Sequence[IndexRow]) -> None:
        if not rows:
            return
        self.delete(conn, [r.article_id for r in rows])
        params = [r.params() for r in rows]
        conn.execute(
            text(
                "INSERT INTO kb_fts (rowid, title, tags, section, body) "
                "VALUES (:id, :title, :tags, :section, :body)"
            ),
            params,
        )
        conn.execute(
            text("INSERT INTO kb_title_fts (rowid, title, tags) VALUES (:id, :title, :tags)"),
            params,
        )

    def delete(self, conn: Connection, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join(str(int(i)) for i in chunk)
            conn.exec_driver_sql(f"DELETE FROM kb_fts WHERE rowid IN ({marks})")
            conn.exec_driver_sql(f"DELETE FROM kb_title_fts WHERE rowid IN ({marks})")

    @staticmethod
    def _alt(a: Alt) -> str:
        s = '"' + " ".join(a.words) + '"'
        return s + "*" if a.prefix else s

    def match_expression(self, query: Query) -> str:
        groups = []
        for g in query.groups:
            alts = [self._alt(a) for a in g.alts]
            groups.append(alts[0] if len(alts) == 1 else "(" + " OR ".join(alts) + ")")
        return (" AND " if query.mode == "all" else " OR ").join(groups)

    def stems(self, conn: Connection, words: Sequence[str]) -> dict[str, str]:
        if not words:
            return {}
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.kb_stem USING fts5(w, "
            f"tokenize = '{FTS5_TOKENIZE}')"
        )
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.kb_stem_v "
            "USING fts5vocab(temp, kb_stem, 'instance')"
        )
        out: dict[str, str] = {}
        for start in range(0, len(words), 5000):
            chunk = list(words[start : start + 5000])
            conn.exec_driver_sql("DELETE FROM temp.kb_stem")
            conn.execute(
                text("INSERT INTO temp.kb_stem (rowid, w) VALUES (:i, :w)"),
                [{"i": i, "w": w} for i, w in enumerate(chunk)],
            )
            for doc, term in conn.exec_driver_sql(
                'SELECT doc, term FROM temp.kb_stem_v WHERE "offset" = 0'
            ):
                out[chunk[int(doc)]] = term
        conn.exec_driver_sql("DELETE FROM temp.kb_stem")
        return out

    # The search runs on the driver's connection: a query is a handful of statements, and
    # SQLAlchemy's per-statement work would be a fair share of the time.
    @staticmethod
    def _cutoff(db: Any, table: str, expr: str, window: int) -> int | None:
        """The rowid of the ``window``-th newest match, None when fewer match."""
        row = db.execute(
            f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            (expr, window - 1),
        ).fetchone()
        return int(row[0]) if row else None

    @staticmethod
    def _ranked_ids(
        db: Any, table: str, expr: str, limit: int, cut: int | None
    ) -> list[tuple[int, float]]:
        """``[(rowid, score)]`` best first, among the matches newer than ``cut``."""
        window = "" if cut is None else f" AND rowid >= {int(cut)}"
        rows = db.execute(
            f"SELECT rowid, {_BM25[table]} AS score FROM {table} WHERE {table} MATCH ?{window} "
            "ORDER BY score DESC LIMIT ?",
            (expr, limit),
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def search(
        self, conn: Connection, query: Query, limit: int, vocab: Vocabulary | None = None
    ) -> list[RawHit]:
        if not query:
            return []
        expr = self.match_expression(expand_long_prefixes(query, vocab) if vocab else query)
        db = conn.connection.driver_connection
        # the newest RANK_WINDOW matches: whether ranking can be exact, and where the fill
        # window starts (one statement: a long prefix costs its gathering per statement)
        newest = [r[0] for r in db.execute(_SQLITE_NEWEST, (expr, RANK_WINDOW))]
        if len(newest) < RANK_WINDOW:
            # at most RANK_WINDOW matches: rank them all; the text of the top ones only
            rows = db.execute(_SQLITE_RANKED, (expr, limit))
            return [RawHit(r[0], r[1], r[2], r[3] or "", float(r[4]), r[5] or "") for r in rows]
        # an unselective query (a short prefix, a word most articles use): see merge_ranked
        title_cut = self._cutoff(db, "kb_title_fts", expr, TITLE_WINDOW)
        ranked = self._ranked_ids(db, "kb_title_fts", expr, limit, title_cut)
        if len(ranked) < limit:
            fill_cut = int(newest[min(FILL_WINDOW, RANK_WINDOW) - 1])
            more = self._ranked_ids(db, "kb_fts", expr, limit + len(ranked), fill_cut)
            ranked = merge_ranked(ranked, more, limit)
        return self._hits_for(db, ranked)

    @staticmethod
    def _hits_for(db: Any, ranked: list[tuple[int, float]]) -> list[RawHit]:
        """Articles and their indexed text for ranked rowids (lookups by rowid, no MATCH)."""
        if not ranked:
            return []
        marks = ", ".join(str(i) for i, _ in ranked)
        rows = db.execute(
            "SELECT f.rowid, a.slug, a.title, a.section, f.body FROM kb_fts f "
            f"JOIN kb_article a ON a.id = f.rowid WHERE f.rowid IN ({marks})"
        )
        found = {int(r[0]): r for r in rows}
        return [
            RawHit(i, r[1], r[2], r[3] or "", score, r[4] or "")
            for i, score in ranked
            if (r := found.get(i)) is not None
        ]


FTS5_TOKENIZE = "porter unicode61 remove_diacritics 2"
MAX_INDEXED_PREFIX = 4  # the longest FTS5 prefix index (prefix = '2 3 4')
MAX_EXPANSION = 32


class _Stemmer:
    """What the FTS5 tokenizer makes of one word, from a private in-memory database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._cache: dict[str, str | None] = {}

    def stem(self, word: str) -> str | None:
        with self._lock:
            if word in self._cache:
                return self._cache[word]
            if self._db is None:
                db = sqlite3.connect(":memory:", check_same_thread=False)
                db.execute(f"CREATE VIRTUAL TABLE s USING fts5(w, tokenize = '{FTS5_TOKENIZE}')")
                db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(s, 'instance')")
                self._db = db
            self._db.execute("DELETE FROM s")
            self._db.execute("INSERT INTO s (rowid, w) VALUES (1, ?)", (word,))
            terms = self._db.execute("SELECT term FROM v").fetchall()
            stem = terms[0][0] if len(terms) == 1 else None
            if len(self._cache) >= 10_000:
                self._cache.clear()
            self._cache[word] = stem
            return stem


_STEMMER = _Stemmer()


def expand_long_prefixes(query: Query, vocab: Vocabulary) -> Query:
    """A prefix longer than the prefix indexes (``overvi``) makes FTS5 gather the postings
    of every term it starts, once per statement and again for bm25 (~1 ms each for a
    common word). When the vocabulary says it starts at most MAX_EXPANSION stems, it is
    replaced by one word per stem: the same articles, found by exact terms. (FTS5 stems a
    prefix too, ``relational*`` finds ``relate``: the stems are those starting with the
    prefix's own stem.)"""
    groups = []
    changed = False
    for g in query.groups:
        alts: list[Alt] = []
        for a in g.alts:
            w = a.words[-1]
            if (
                a.prefix
                and not a.is_phrase
                and len(w) > MAX_INDEXED_PREFIX
                and w.isascii()
                and w.isalnum()
            ):
                root = _STEMMER.stem(w)
                words = vocab.stems_starting(root, MAX_EXPANSION) if root else None
                if words:
                    alts.extend(Alt((x,)) for x in words)
                    changed = True
                    continue
            alts.append(a)
        groups.append(Group(tuple(dict.fromkeys(alts))))
    return Query(tuple(groups), query.mode) if changed else query


# bm25() in the ORDER BY rather than FTS5's ``ORDER BY rank``: the latter runs a second
# statement inside FTS5 and costs up to twice as much when a window of matches is ranked
_BM25 = {
    "kb_fts": "-bm25(kb_fts, " + ", ".join(str(x) for x in WEIGHTS) + ")",
    "kb_title_fts": "-bm25(kb_title_fts, " + ", ".join(str(x) for x in WEIGHTS[:2]) + ")",
}
_SQLITE_NEWEST = "SELECT rowid FROM kb_fts WHERE kb_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
_SQLITE_RANKED = (
    "SELECT f.rowid, a.slug, a.title, a.section, f.score, b.body FROM ("
    f"  SELECT rowid, {_BM25['kb_fts']} AS score"
    "  FROM kb_fts WHERE kb_fts MATCH ? ORDER BY score DESC LIMIT ?"
    ") AS f JOIN kb_article a ON a.id = f.rowid JOIN kb_fts b ON b.rowid = f.rowid"
    " ORDER BY f.score DESC, a.title"
)

"""The full-text index beside ``kb_article``, one backend per dialect.

SQLite: an FTS5 table ``kb_fts`` (porter stemmer, prefix indexes, bm25 weighting title over
tags, section and body) and a small one of titles and tags alone, ``kb_title_fts``.
PostgreSQL: tables ``kb_search`` and ``kb_title`` with generated ``tsvector`` columns
(``english`` configuration, weights A–D) and GIN indexes, ranked by ``ts_rank``. Both hold
the articles' *plain* text (Markdown removed) so snippets read well (they are cut from it in
:mod:`agent_console.kb.snippet`), and both keep the vocabulary table ``kb_vocab`` (word →
number of articles, and its stem) used for prefix completion, typo correction and
highlighting.

Ranking is exact when a query matches at most RANK_WINDOW (500) articles, on both backends;
above that it is bounded (see :func:`merge_ranked`), so that a search costs a
few milliseconds however many articles a two-letter prefix matches.

The index is created on first use and rebuilt when its format version changes or when it no
longer matches ``kb_article`` (an upgraded database, rows written by something else), so a
user's database survives upgrades without a migration step.

All user text arrives as a :class:`~agent_console.kb.query.Query` of letter/digit words; each
word is quoted here and passed as a bound parameter, so no typed character is syntax.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from agent_console.kb.fuzzy import Vocabulary
from agent_console.kb.query import Alt, Group, Query
from agent_console.kb.text import (
    ArticleDoc,
    article_words,
    plain_text,
    without_title_heading,
)

INDEX_VERSION = 3
REBUILD_BATCH = 1000
MAX_INDEXED_BODY = 200_000  # characters of plain text per article (tsvector limit is 1 MB)

#: relative weight of a match in the title, tags, section, body
WEIGHTS = (10.0, 4.0, 2.0, 1.0)
#: at most this many matches are ranked per query (see :func:`bounded_search`)
RANK_WINDOW = 500
#: at most this many title matches are ranked per unselective query
TITLE_WINDOW = 500
#: and at most this many of the other matches fill the results after them
FILL_WINDOW = 200


@dataclass(frozen=True)
class IndexRow:
    article_id: int
    title: str
    tags: str
    section: str
    body: str  # plain text

    @classmethod
    def of(cls, article_id: int, doc: ArticleDoc) -> IndexRow:
        return cls(
            article_id,
            doc.title,
            " ".join(doc.tags),
            doc.section,
            plain_text(without_title_heading(doc.body, doc.title))[:MAX_INDEXED_BODY],
        )


@dataclass(frozen=True)
class RawHit:
    article_id: int
    slug: str
    title: str
    section: str
    score: float  # higher is better; comparable within one backend and one query
    body: str  # the indexed plain text (the snippet is cut from it, see kb.snippet)


class Backend:
    """What the search needs from a database dialect."""

    name = "?"

    # ------------------------------------------------------------ schema
    def has_index(self, conn: Connection) -> bool:
        raise NotImplementedError

    def create(self, conn: Connection) -> None:
        raise NotImplementedError

    def drop(self, conn: Connection) -> None:
        raise NotImplementedError

    def lock(self, conn: Connection) -> None:
        """Serialise index creation between processes (SQLite: BEGIN IMMEDIATE does it)."""

    def indexed_count(self, conn: Connection) -> int:
        raise NotImplementedError

    # ------------------------------------------------------------ writes
    def upsert(self, conn: Connection, rows: Sequence[IndexRow]) -> None:
        raise NotImplementedError

    def delete(self, conn: Connection, ids: Sequence[int]) -> None:
        raise NotImplementedError

    def vocab_apply(self, conn: Connection, delta: Counter[str]) -> None:
        rows = [{"w": w, "d": d} for w, d in delta.items() if d]
        if not rows:
            return
        stems = self.stems(conn, [r["w"] for r in rows if r["d"] > 0])
        for r in rows:
            r["s"] = stems.get(r["w"], r["w"])
        conn.execute(
            text(
                "INSERT INTO kb_vocab (word, df, stem) VALUES (:w, :d, :s) "
                "ON CONFLICT (word) DO UPDATE SET df = kb_vocab.df + excluded.df"
            ),
            rows,
        )
        if any(r["d"] < 0 for r in rows):
            conn.execute(text("DELETE FROM kb_vocab WHERE df <= 0"))

    def stems(self, conn: Connection, words: Sequence[str]) -> dict[str, str]:
        """What the index's stemmer makes of each word (for :meth:`completions`)."""
        raise NotImplementedError

    # ------------------------------------------------------------ reads
    def search(
        self, conn: Connection, query: Query, limit: int, vocab: Vocabulary | None = None
    ) -> list[RawHit]:
        """Ranked hits; ``vocab`` (the articles' words and stems) lets a backend rewrite
        the query into a cheaper one that matches the same articles."""
        raise NotImplementedError

    def like_scan(
        self, conn: Connection, words: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        """The naive baseline (benchmarks): every word as a substring of title or body."""
        raise NotImplementedError

    def load_vocab(self, conn: Connection) -> tuple[dict[str, int], dict[str, str]]:
        """``(word → number of articles, word → stem)``."""
        df: dict[str, int] = {}
        stems: dict[str, str] = {}
        for w, d, st in conn.execute(text("SELECT word, df, stem FROM kb_vocab")):
            df[w] = int(d)
            if st:
                stems[w] = st
        return df, stems

    # ------------------------------------------------------------ meta
    def meta_get(self, conn: Connection, key: str) -> str | None:
        row = conn.execute(text("SELECT value FROM kb_meta WHERE key = :k"), {"k": key}).first()
        return row[0] if row else None

    def meta_set(self, conn: Connection, key: str, value: str) -> None:
        conn.execute(
            text(
                "INSERT INTO kb_meta (key, value) VALUES (:k, :v) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            {"k": key, "v": value},
        )

    def generation(self, conn: Connection) -> int:
        """Changes whenever articles change (cache key for the in-memory vocabulary)."""
        try:
            return int(self.meta_get(conn, "gen") or 0)
        except ValueError:
            return 0

    def bump_generation(self, conn: Connection) -> None:
        self.meta_set(conn, "gen", str(self.generation(conn) + 1))


# ====================================================================== SQLite
class SqliteBackend(Backend):
    name = "sqlite"

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

    def drop(self, conn: Connection) -> None:
        conn.exec_driver_sql("DROP TABLE IF EXISTS kb_fts")
        conn.exec_driver_sql("DROP TABLE IF EXISTS kb_title_fts")
        conn.exec_driver_sql("DROP TABLE IF EXISTS kb_vocab")

    def indexed_count(self, conn: Connection) -> int:
        n = int(conn.execute(text("SELECT count(*) FROM kb_fts_docsize")).scalar_one())
        t = int(conn.execute(text("SELECT count(*) FROM kb_title_fts_docsize")).scalar_one())
        return n if n == t else -1

    def upsert(self, conn: Connection, rows: Sequence[IndexRow]) -> None:
        if not rows:
            return
        self.delete(conn, [r.article_id for r in rows])
        params = [
            {
                "id": r.article_id,
                "title": r.title,
                "tags": r.tags,
                "section": r.section,
                "body": r.body,
            }
            for r in rows
        ]
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

    def like_scan(
        self, conn: Connection, words: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        if not words:
            return []
        conds = " AND ".join(f"(title LIKE :w{i} OR body LIKE :w{i})" for i in range(len(words)))
        params: dict[str, object] = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
        params["limit"] = limit
        sql = text(
            f"SELECT slug, title FROM kb_article WHERE {conds} "
            "ORDER BY CASE WHEN title LIKE :w0 THEN 0 ELSE 1 END, title LIMIT :limit"
        )
        return [(r[0], r[1]) for r in conn.execute(sql, params)]


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


def merge_ranked(
    title: list[tuple[int, float]], more: list[tuple[int, float]], limit: int
) -> list[tuple[int, float]]:
    """Bounded ranking for an unselective query (more than RANK_WINDOW matching articles, e.g.
    a two-letter prefix or a word every article uses). Ranking every one of 50,000 matches
    would cost tens of ms; instead the articles matching in their title or tags come first
    (ranked on the small title index, the newest TITLE_WINDOW of them when there are more),
    then the rest filled from a ranked sample of the other matches (SQLite: the newest
    FILL_WINDOW; PostgreSQL: the first RANK_WINDOW the GIN index yields). Queries with fewer
    matches are ranked exactly. Scores stay decreasing in this order."""
    out = list(title)
    seen = {i for i, _ in out}
    floor = min((s for _, s in out), default=None)
    for i, s in more:
        if len(out) >= limit:
            break
        if i in seen:
            continue
        if floor is not None and s >= floor:
            s = floor = floor - abs(floor) * 1e-3 - 1e-9
        out.append((i, s))
    return out


def backend_for(conn: Connection) -> Backend:
    name = conn.dialect.name
    if name == "sqlite":
        return SqliteBackend()
    if name == "postgresql":
        from agent_console.kb.index_postgres import PostgresBackend

        return PostgresBackend()
    raise ValueError(f"no knowledge-base search for database dialect {name!r}")


# ====================================================================== maintenance
def _article_count(conn: Connection) -> int:
    return int(conn.execute(text("SELECT count(*) FROM kb_article")).scalar_one())


def index_is_current(conn: Connection) -> bool:
    b = backend_for(conn)
    if not b.has_index(conn):
        return False
    if b.meta_get(conn, "index_version") != str(INDEX_VERSION):
        return False
    return b.indexed_count(conn) == _article_count(conn)


def ensure_index(conn: Connection, *, force: bool = False) -> bool:
    """Create or rebuild the index if needed (in the caller's write transaction).

    Returns True when it (re)built the index."""
    b = backend_for(conn)
    if not force and index_is_current(conn):
        return False
    b.lock(conn)
    if not force and index_is_current(conn):  # another process built it meanwhile
        return False
    b.drop(conn)
    b.create(conn)
    rebuild(conn, b)
    b.meta_set(conn, "index_version", str(INDEX_VERSION))
    b.bump_generation(conn)
    return True


def rebuild(conn: Connection, b: Backend) -> int:
    """Index every article of ``kb_article`` (the tables are empty)."""
    vocab: Counter[str] = Counter()
    last_id = 0
    total = 0
    while True:
        rows = conn.execute(
            text(
                "SELECT id, slug, title, section, tags, body FROM kb_article "
                "WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last_id, "n": REBUILD_BATCH},
        ).all()
        if not rows:
            break
        batch = []
        for r in rows:
            doc = doc_from_row(r[1], r[2], r[3], r[4], r[5])
            batch.append(IndexRow.of(int(r[0]), doc))
            vocab.update(article_words(doc))
        b.upsert(conn, batch)
        last_id = int(rows[-1][0])
        total += len(rows)
    b.vocab_apply(conn, vocab)
    return total


def doc_from_row(
    slug: str, title: str, section: str | None, tags: str | None, body: str | None
) -> ArticleDoc:
    tag_list = tuple(t for t in (tags or "").split(",") if t)
    return ArticleDoc(slug=slug, title=title, section=section or "", tags=tag_list, body=body or "")


def vocab_delta(old: Iterable[ArticleDoc], new: Iterable[ArticleDoc]) -> Counter[str]:
    delta: Counter[str] = Counter()
    for doc in new:
        delta.update(article_words(doc))
    for doc in old:
        delta.subtract(article_words(doc))
    return delta

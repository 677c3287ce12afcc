"""The interface both knowledge-base index backends implement (SQLite FTS5 in
:mod:`agent_console.kb.index_sqlite`, PostgreSQL tsvector in
:mod:`agent_console.kb.index_postgres`), the rows they index and the hits they return, and
what they share (the vocabulary table, the meta table, dropping and counting the two index
tables, the naive substring scan, bounded ranking).

Imports point one way: ``index`` (maintenance, and the one place that picks a backend by
dialect: :func:`agent_console.kb.index.backend_for`) → the two backends → this module. No
backend imports the other or ``index`` (an import-linter contract in ``pyproject.toml`` and
``tests/test_kb_backends.py`` keep it so).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from agent_console.kb.fuzzy import Vocabulary
from agent_console.kb.query import Query
from agent_console.kb.text import ArticleDoc, plain_text, without_title_heading

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

    def params(self) -> dict[str, object]:
        """The bind parameters of an insert (``id``, ``title``, ``tags``, ``section``,
        ``body``), as both backends name them."""
        return {
            "id": self.article_id,
            "title": self.title,
            "tags": self.tags,
            "section": self.section,
            "body": self.body,
        }


@dataclass(frozen=True)
class RawHit:
    article_id: int
    slug: str
    title: str
    section: str
    score: float  # higher is better; comparable within one backend and one query
    body: str  # the indexed plain text (the snippet is cut from it, see kb.snippet)


class Backend(ABC):
    """What the search needs from a database dialect: one subclass per dialect, chosen
    by :func:`agent_console.kb.index.backend_for`."""

    name = "?"
    #: the two index tables: every article's fields, and titles and tags alone
    index_tables: tuple[str, str] = ("", "")
    #: where each index table's article count is read (SQLite: FTS5's ``_docsize`` tables)
    count_tables: tuple[str, str] = ("", "")
    #: the case-insensitive substring operator of :meth:`like_scan`
    like_operator = "LIKE"

    # ------------------------------------------------------------ schema
    @abstractmethod
    def has_index(self, conn: Connection) -> bool:
        """Do the index tables exist?"""

    @abstractmethod
    def create(self, conn: Connection) -> None:
        """Create the index tables (they do not exist)."""

    def drop(self, conn: Connection) -> None:
        """Drop the index tables and the vocabulary (if they exist); ``kb_meta`` stays."""
        for table in (*self.index_tables, "kb_vocab"):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")

    def lock(self, conn: Connection) -> None:  # noqa: B027 - optional: a no-op by default
        """Serialise index creation between processes (SQLite: BEGIN IMMEDIATE does it)."""

    def indexed_count(self, conn: Connection) -> int:
        """Articles indexed (-1 when the backend's two index tables disagree)."""
        n, t = (
            int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in self.count_tables
        )
        return n if n == t else -1

    # ------------------------------------------------------------ writes
    @abstractmethod
    def upsert(self, conn: Connection, rows: Sequence[IndexRow]) -> None:
        """Index (or re-index) these articles."""

    @abstractmethod
    def delete(self, conn: Connection, ids: Sequence[int]) -> None:
        """Remove these articles from the index."""

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

    @abstractmethod
    def stems(self, conn: Connection, words: Sequence[str]) -> dict[str, str]:
        """What the index's stemmer makes of each word (for :meth:`completions`)."""

    # ------------------------------------------------------------ reads
    @abstractmethod
    def search(
        self, conn: Connection, query: Query, limit: int, vocab: Vocabulary | None = None
    ) -> list[RawHit]:
        """Ranked hits; ``vocab`` (the articles' words and stems) lets a backend rewrite
        the query into a cheaper one that matches the same articles."""

    def like_scan(
        self, conn: Connection, words: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        """The naive baseline (benchmarks): every word as a substring of title or body;
        ``[(slug, title)]``, title matches first, then by title, at most ``limit``."""
        if not words:
            return []
        op = self.like_operator
        conds = " AND ".join(f"(title {op} :w{i} OR body {op} :w{i})" for i in range(len(words)))
        params: dict[str, object] = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
        params["limit"] = limit
        sql = text(
            f"SELECT slug, title FROM kb_article WHERE {conds} "
            f"ORDER BY CASE WHEN title {op} :w0 THEN 0 ELSE 1 END, title LIMIT :limit"
        )
        return [(r[0], r[1]) for r in conn.execute(sql, params)]

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

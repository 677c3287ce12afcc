"""The full-text index beside ``kb_article``, one backend per dialect, chosen here
(:func:`backend_for`); the interface is :class:`agent_console.kb.backend.Backend`, the
backends :mod:`agent_console.kb.index_sqlite` and :mod:`agent_console.kb.index_postgres`.

SQLite: an FTS5 table ``kb_fts`` (porter stemmer, prefix indexes, bm25 weighting title over
tags, section and body) and a small one of titles and tags alone, ``kb_title_fts``.
PostgreSQL: tables ``kb_search`` and ``kb_title`` with generated ``tsvector`` columns
(``english`` configuration, weights A–D) and GIN indexes, ranked by ``ts_rank``. Both hold
the articles' *plain* text (Markdown removed) so snippets read well (they are cut from it in
:mod:`agent_console.kb.snippet`), and both keep the vocabulary table ``kb_vocab`` (word →
number of articles, and its stem) used for prefix completion, typo correction and
highlighting.

Ranking is exact when a query matches at most RANK_WINDOW (500) articles, on both backends;
above that it is bounded (see :func:`agent_console.kb.backend.merge_ranked`), so that a search costs a
few milliseconds however many articles a two-letter prefix matches.

The index is created on first use and rebuilt when its format version changes or when it no
longer matches ``kb_article`` (an upgraded database, rows written by something else), so a
user's database survives upgrades without a migration step.

All user text arrives as a :class:`~agent_console.kb.query.Query` of letter/digit words; each
word is quoted here and passed as a bound parameter, so no typed character is syntax.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.engine import Connection

from agent_console.kb.backend import Backend, IndexRow, RawHit
from agent_console.kb.index_postgres import PostgresBackend
from agent_console.kb.index_sqlite import SqliteBackend
from agent_console.kb.text import ArticleDoc, article_words

INDEX_VERSION = 3
REBUILD_BATCH = 1000

__all__ = [
    "INDEX_VERSION",
    "Backend",
    "IndexRow",
    "PostgresBackend",
    "RawHit",
    "SqliteBackend",
    "backend_for",
    "doc_from_row",
    "ensure_index",
    "index_is_current",
    "rebuild",
    "vocab_delta",
]

#: the one place a dialect picks its backend
_BACKENDS: dict[str, type[Backend]] = {"sqlite": SqliteBackend, "postgresql": PostgresBackend}


def backend_for(conn: Connection) -> Backend:
    """The index backend of ``conn``'s database dialect (SQLite or PostgreSQL); raises
    ``ValueError`` for any other dialect."""
    name = conn.dialect.name
    cls = _BACKENDS.get(name)
    if cls is None:
        raise ValueError(f"no knowledge-base search for database dialect {name!r}")
    return cls()


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

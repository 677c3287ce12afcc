"""The full-text index beside ``kb_article``, one backend per dialect.

SQLite: an FTS5 table ``kb_fts`` (porter stemmer, prefix indexes, bm25 weighting title over
tags, section and body). PostgreSQL: a table ``kb_search`` with a generated ``tsvector``
(``english`` configuration, weights A–D) and a GIN index, ranked by ``ts_rank``. Both hold
the articles' *plain* text (Markdown removed) so snippets read well, and both keep the
vocabulary table ``kb_vocab`` (word → number of articles) used for prefix completion and
typo correction.

The index is created on first use and rebuilt when its format version changes or when it no
longer matches ``kb_article`` (an upgraded database, rows written by something else), so a
user's database survives upgrades without a migration step.

All user text arrives as a :class:`~agent_console.kb.query.Query` of letter/digit words; each
word is quoted here and passed as a bound parameter, so no typed character is syntax.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from agent_console.kb.query import STOP_WORDS, Alt, Query
from agent_console.kb.text import HL_END, HL_START, ArticleDoc, article_words, plain_text

INDEX_VERSION = 1
REBUILD_BATCH = 1000
MAX_INDEXED_BODY = 200_000  # characters of plain text per article (tsvector limit is 1 MB)

#: relative weight of a match in the title, tags, section, body
WEIGHTS = (10.0, 4.0, 2.0, 1.0)
SNIPPET_TOKENS = 18
#: at most this many matches are ranked per query (see :func:`bounded_search`)
RANK_WINDOW = 2000


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
            plain_text(doc.body)[:MAX_INDEXED_BODY],
        )


@dataclass(frozen=True)
class RawHit:
    article_id: int
    slug: str
    title: str
    section: str
    score: float  # higher is better; comparable within one backend and one query
    snippet: str  # plain text with «highlight» markers


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
        conn.execute(
            text(
                "INSERT INTO kb_vocab (word, df) VALUES (:w, :d) "
                "ON CONFLICT (word) DO UPDATE SET df = kb_vocab.df + excluded.df"
            ),
            rows,
        )
        if any(r["d"] < 0 for r in rows):
            conn.execute(text("DELETE FROM kb_vocab WHERE df <= 0"))

    # ------------------------------------------------------------ reads
    def search(self, conn: Connection, query: Query, limit: int) -> list[RawHit]:
        raise NotImplementedError

    def like_scan(
        self, conn: Connection, words: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        """The naive baseline (benchmarks): every word as a substring of title or body."""
        raise NotImplementedError

    def completions(
        self, conn: Connection, prefix: str, limit: int, max_extra: int = 1000
    ) -> list[str]:
        """Known words starting with ``prefix`` and at most ``max_extra`` characters longer."""
        hi = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = conn.execute(
            text(
                "SELECT word FROM kb_vocab WHERE word >= :lo AND word < :hi "
                "AND length(word) <= :maxlen ORDER BY df DESC, word LIMIT :n"
            ),
            {"lo": prefix, "hi": hi, "n": limit, "maxlen": len(prefix) + max_extra},
        )
        return [r[0] for r in rows]

    def load_vocab(self, conn: Connection) -> dict[str, int]:
        return {w: int(d) for w, d in conn.execute(text("SELECT word, df FROM kb_vocab"))}

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
                    "SELECT name FROM sqlite_master WHERE name IN ('kb_meta', 'kb_fts', 'kb_vocab')"
                )
            )
        }
        return len(names) == 3

    def create(self, conn: Connection) -> None:
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE kb_fts USING fts5(title, tags, section, body, "
            "tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3 4')"
        )
        w = ", ".join(str(x) for x in WEIGHTS)
        conn.exec_driver_sql(f"INSERT INTO kb_fts (kb_fts, rank) VALUES ('rank', 'bm25({w})')")
        conn.exec_driver_sql(
            "CREATE TABLE kb_vocab (word TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID"
        )

    def drop(self, conn: Connection) -> None:
        conn.exec_driver_sql("DROP TABLE IF EXISTS kb_fts")
        conn.exec_driver_sql("DROP TABLE IF EXISTS kb_vocab")

    def indexed_count(self, conn: Connection) -> int:
        return int(conn.execute(text("SELECT count(*) FROM kb_fts_docsize")).scalar_one())

    def upsert(self, conn: Connection, rows: Sequence[IndexRow]) -> None:
        if not rows:
            return
        self.delete(conn, [r.article_id for r in rows])
        conn.execute(
            text(
                "INSERT INTO kb_fts (rowid, title, tags, section, body) "
                "VALUES (:id, :title, :tags, :section, :body)"
            ),
            [
                {
                    "id": r.article_id,
                    "title": r.title,
                    "tags": r.tags,
                    "section": r.section,
                    "body": r.body,
                }
                for r in rows
            ],
        )

    def delete(self, conn: Connection, ids: Sequence[int]) -> None:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            marks = ", ".join(str(int(i)) for i in chunk)
            conn.exec_driver_sql(f"DELETE FROM kb_fts WHERE rowid IN ({marks})")

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

    def _cutoff(self, conn: Connection, expr: str) -> int | None:
        """The rowid of the RANK_WINDOW-th newest match, None when fewer match."""
        row = conn.execute(
            text(
                "SELECT rowid FROM kb_fts WHERE kb_fts MATCH :q "
                "ORDER BY rowid DESC LIMIT 1 OFFSET :off"
            ),
            {"q": expr, "off": RANK_WINDOW - 1},
        ).first()
        return int(row[0]) if row else None

    def _ranked(self, conn: Connection, expr: str, limit: int, cut: int | None) -> list[RawHit]:
        window = "" if cut is None else " AND rowid >= :cut"
        sql = text(
            "SELECT f.rowid, a.slug, a.title, a.section, f.score, f.snip FROM ("
            "  SELECT rowid, -rank AS score, "
            f"   snippet(kb_fts, 3, '{HL_START}', '{HL_END}', '…', {SNIPPET_TOKENS}) AS snip"
            f"  FROM kb_fts WHERE kb_fts MATCH :q{window} ORDER BY rank LIMIT :limit"
            ") AS f JOIN kb_article a ON a.id = f.rowid ORDER BY f.score DESC, a.title"
        )
        rows = conn.execute(sql, {"q": expr, "limit": limit, "cut": cut})
        return [RawHit(r[0], r[1], r[2], r[3] or "", float(r[4]), r[5] or "") for r in rows]

    def search(self, conn: Connection, query: Query, limit: int) -> list[RawHit]:
        if not query:
            return []
        expr = self.match_expression(query)
        cut = self._cutoff(conn, expr)
        if cut is None:
            return self._ranked(conn, expr, limit, None)
        return bounded_search(self, conn, expr, "{title tags} : (" + expr + ")", limit, cut)

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


# ====================================================================== PostgreSQL
PG_WEIGHTS = "{" + ", ".join(str(round(w / WEIGHTS[0], 3)) for w in reversed(WEIGHTS)) + "}"
PG_HEADLINE = (
    f"StartSel={HL_START}, StopSel={HL_END}, MaxWords=22, MinWords=10, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)


class PostgresBackend(Backend):
    name = "postgresql"

    def has_index(self, conn: Connection) -> bool:
        row = conn.execute(
            text(
                "SELECT to_regclass('kb_meta') IS NOT NULL AND to_regclass('kb_search') IS NOT NULL"
                " AND to_regclass('kb_vocab') IS NOT NULL"
            )
        ).scalar_one()
        return bool(row)

    def lock(self, conn: Connection) -> None:
        conn.execute(text("SELECT pg_advisory_xact_lock(7270060)"))

    def create(self, conn: Connection) -> None:
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS kb_meta (key text PRIMARY KEY, value text NOT NULL)"
        )
        conn.exec_driver_sql(
            "CREATE TABLE kb_search ("
            " article_id integer PRIMARY KEY REFERENCES kb_article (id) ON DELETE CASCADE,"
            " title text NOT NULL, tags text NOT NULL, section text NOT NULL, body text NOT NULL,"
            " tsv tsvector GENERATED ALWAYS AS ("
            "  setweight(to_tsvector('english'::regconfig, title), 'A') ||"
            "  setweight(to_tsvector('english'::regconfig, tags), 'B') ||"
            "  setweight(to_tsvector('english'::regconfig, section), 'C') ||"
            "  setweight(to_tsvector('english'::regconfig, body), 'D')) STORED)"
        )
        conn.exec_driver_sql("CREATE INDEX ix_kb_search_tsv ON kb_search USING gin (tsv)")
        conn.exec_driver_sql(
            'CREATE TABLE kb_vocab (word text COLLATE "C" PRIMARY KEY, df integer NOT NULL)'
        )

    def drop(self, conn: Connection) -> None:
        conn.exec_driver_sql("DROP TABLE IF EXISTS kb_search")
        conn.exec_driver_sql("DROP TABLE IF EXISTS kb_vocab")

    def indexed_count(self, conn: Connection) -> int:
        return int(conn.execute(text("SELECT count(*) FROM kb_search")).scalar_one())

    def upsert(self, conn: Connection, rows: Sequence[IndexRow]) -> None:
        if not rows:
            return
        conn.execute(
            text(
                "INSERT INTO kb_search (article_id, title, tags, section, body) "
                "VALUES (:id, :title, :tags, :section, :body) "
                "ON CONFLICT (article_id) DO UPDATE SET title = excluded.title, "
                "tags = excluded.tags, section = excluded.section, body = excluded.body"
            ),
            [
                {
                    "id": r.article_id,
                    "title": r.title,
                    "tags": r.tags,
                    "section": r.section,
                    "body": r.body,
                }
                for r in rows
            ],
        )

    def delete(self, conn: Connection, ids: Sequence[int]) -> None:
        if ids:
            conn.execute(
                text("DELETE FROM kb_search WHERE article_id = ANY(:ids)"), {"ids": list(ids)}
            )

    @staticmethod
    def _word(w: str, prefix: bool, params: dict[str, object]) -> str:
        key = f"p{len(params)}"
        params[key] = f"'{w}'" + (":*" if prefix else "")
        cfg = "simple" if (prefix and w in STOP_WORDS) else "english"
        return f"to_tsquery('{cfg}', :{key})"

    def _alt(self, a: Alt, params: dict[str, object]) -> str:
        if not a.is_phrase:
            return self._word(a.words[0], a.prefix, params)
        head = a.words[:-1] if a.prefix else a.words
        key = f"p{len(params)}"
        params[key] = " ".join(head)
        phrase = f"phraseto_tsquery('english', :{key})"
        if a.prefix:
            phrase = f"tsquery_phrase({phrase}, {self._word(a.words[-1], True, params)})"
        return phrase

    def tsquery_expression(self, query: Query, params: dict[str, object]) -> str:
        groups = []
        for g in query.groups:
            alts = [self._alt(a, params) for a in g.alts]
            groups.append(alts[0] if len(alts) == 1 else "(" + " || ".join(alts) + ")")
        return "(" + (" && " if query.mode == "all" else " || ").join(groups) + ")"

    def search(self, conn: Connection, query: Query, limit: int) -> list[RawHit]:
        if not query:
            return []
        params: dict[str, object] = {}
        q = self.tsquery_expression(query, params)
        params.update(limit=limit, weights=PG_WEIGHTS, opts=PG_HEADLINE)
        sql = text(
            "WITH hits AS ("
            f" SELECT s.article_id, ts_rank(CAST(:weights AS float4[]), s.tsv, {q}, 1) AS score"
            f" FROM kb_search s WHERE s.tsv @@ {q}"
            " ORDER BY score DESC, s.article_id LIMIT :limit)"
            " SELECT h.article_id, a.slug, a.title, a.section, h.score,"
            f" ts_headline('english', s.body, {q}, :opts)"
            " FROM hits h JOIN kb_article a ON a.id = h.article_id"
            " JOIN kb_search s ON s.article_id = h.article_id"
            " ORDER BY h.score DESC, a.title"
        )
        rows = conn.execute(sql, params)
        return [RawHit(r[0], r[1], r[2], r[3] or "", float(r[4]), r[5] or "") for r in rows]

    def like_scan(
        self, conn: Connection, words: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        if not words:
            return []
        conds = " AND ".join(f"(title ILIKE :w{i} OR body ILIKE :w{i})" for i in range(len(words)))
        params: dict[str, object] = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
        params["limit"] = limit
        sql = text(
            f"SELECT slug, title FROM kb_article WHERE {conds} "
            "ORDER BY CASE WHEN title ILIKE :w0 THEN 0 ELSE 1 END, title LIMIT :limit"
        )
        return [(r[0], r[1]) for r in conn.execute(sql, params)]


def bounded_search(
    b: Any, conn: Connection, expr: Any, title_expr: Any, limit: int, cut: int
) -> list[RawHit]:
    """Ranking for an unselective query (more than RANK_WINDOW matching articles, e.g. a
    two-letter prefix or a word every article uses): rank the newest RANK_WINDOW articles
    matching in the title or tags first, then fill from the newest RANK_WINDOW of all matches.
    Ranking every one of 50,000 matches would cost ~50 ms; this bounds it to a few ms while
    keeping title matches on top. Queries with fewer matches are ranked exactly."""
    hits: list[RawHit] = b._ranked(conn, title_expr, limit, b._cutoff(conn, title_expr))
    if len(hits) < limit:
        seen = {h.article_id for h in hits}
        more = b._ranked(conn, expr, limit + len(hits), cut)
        hits += [h for h in more if h.article_id not in seen][: limit - len(hits)]
    return hits


def backend_for(conn: Connection) -> Backend:
    name = conn.dialect.name
    if name == "sqlite":
        return SqliteBackend()
    if name == "postgresql":
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

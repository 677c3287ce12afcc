"""The knowledge-base index on PostgreSQL: tables ``kb_search`` and ``kb_title`` with
generated ``tsvector`` columns (``english`` configuration, weights A–D) and GIN indexes,
ranked by ``ts_rank`` (see :mod:`agent_console.kb.backend` for the contract both backends
keep).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import text
from sqlalchemy.engine import Connection

from agent_console.kb.backend import (
    RANK_WINDOW,
    TITLE_WINDOW,
    WEIGHTS,
    Backend,
    IndexRow,
    RawHit,
    merge_ranked,
)
from agent_console.kb.fuzzy import Vocabulary
from agent_console.kb.query import STOP_WORDS, Alt, Query

PG_WEIGHTS = "{" + ", ".join(str(round(w / WEIGHTS[0], 3)) for w in reversed(WEIGHTS)) + "}"


#: the same window as SQLite's (``ts_rank`` reads each match's whole tsvector: ~4 µs each)
PG_RANK_WINDOW = RANK_WINDOW


def _pg_ranked(table: str, q: str) -> str:
    """At most ``:window`` matches of ``table`` (in storage order: the GIN index gives no
    order), ranked; the best ``:limit`` with their article and text, and how many matched
    (up to ``:window``)."""
    return (
        "WITH m AS MATERIALIZED ("
        f" SELECT article_id, tsv FROM {table} WHERE tsv @@ {q} LIMIT :window),"
        " r AS ("
        f" SELECT article_id, ts_rank(CAST(:weights AS float4[]), tsv, {q}, 1) AS score"
        " FROM m ORDER BY score DESC, article_id LIMIT :limit)"
        " SELECT r.article_id, a.slug, a.title, a.section, r.score, s.body,"
        " (SELECT count(*) FROM m)"
        " FROM r JOIN kb_article a ON a.id = r.article_id"
        " JOIN kb_search s ON s.article_id = r.article_id"
        " ORDER BY r.score DESC, a.title"
    )


class PostgresBackend(Backend):
    name = "postgresql"
    index_tables = ("kb_search", "kb_title")
    count_tables = index_tables
    like_operator = "ILIKE"

    def has_index(self, conn: Connection) -> bool:
        row = conn.execute(
            text(
                "SELECT to_regclass('kb_meta') IS NOT NULL AND to_regclass('kb_search') IS NOT NULL"
                " AND to_regclass('kb_title') IS NOT NULL AND to_regclass('kb_vocab') IS NOT NULL"
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
        conn.exec_driver_sql(
            "CREATE INDEX ix_kb_search_tsv ON kb_search USING gin (tsv) WITH (fastupdate = off)"
        )
        # fastupdate off: a search would otherwise scan the GIN pending list of recent
        # inserts linearly (~2 ms a query after an import) until a vacuum merges it
        # titles and tags alone (see SqliteBackend.create and search)
        conn.exec_driver_sql(
            "CREATE TABLE kb_title ("
            " article_id integer PRIMARY KEY REFERENCES kb_article (id) ON DELETE CASCADE,"
            " title text NOT NULL, tags text NOT NULL,"
            " tsv tsvector GENERATED ALWAYS AS ("
            "  setweight(to_tsvector('english'::regconfig, title), 'A') ||"
            "  setweight(to_tsvector('english'::regconfig, tags), 'B')) STORED)"
        )
        conn.exec_driver_sql(
            "CREATE INDEX ix_kb_title_tsv ON kb_title USING gin (tsv) WITH (fastupdate = off)"
        )
        conn.exec_driver_sql(
            'CREATE TABLE kb_vocab (word text COLLATE "C" PRIMARY KEY, df integer NOT NULL,'
            " stem text)"
        )

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
            [r.params() for r in rows],
        )
        conn.execute(
            text(
                "INSERT INTO kb_title (article_id, title, tags) VALUES (:id, :title, :tags) "
                "ON CONFLICT (article_id) DO UPDATE SET title = excluded.title, "
                "tags = excluded.tags"
            ),
            [{"id": r.article_id, "title": r.title, "tags": r.tags} for r in rows],
        )

    def delete(self, conn: Connection, ids: Sequence[int]) -> None:
        if ids:
            conn.execute(
                text("DELETE FROM kb_search WHERE article_id = ANY(:ids)"), {"ids": list(ids)}
            )
            conn.execute(
                text("DELETE FROM kb_title WHERE article_id = ANY(:ids)"), {"ids": list(ids)}
            )

    def stems(self, conn: Connection, words: Sequence[str]) -> dict[str, str]:
        if not words:
            return {}
        rows = conn.execute(
            text(
                "SELECT w, (ts_lexize('english_stem', w))[1] FROM unnest(CAST(:ws AS text[])) AS w"
            ),
            {"ws": list(words)},
        )
        return {r[0]: r[1] or r[0] for r in rows}

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

    def search(
        self, conn: Connection, query: Query, limit: int, vocab: Vocabulary | None = None
    ) -> list[RawHit]:
        if not query:
            return []
        params: dict[str, object] = {}
        q = self.tsquery_expression(query, params)
        # with a LIMIT the planner likes a sequential scan (it expects many matches to come
        # early; a rare prefix then costs 100 ms): the GIN index is always the way here
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        params.update(weights=PG_WEIGHTS, limit=2 * limit, window=PG_RANK_WINDOW + 1)
        rows = conn.execute(text(_pg_ranked("kb_search", q)), params).all()
        hits = [(RawHit(r[0], r[1], r[2], r[3] or "", float(r[4]), r[5] or ""), r[6]) for r in rows]
        if not hits or hits[0][1] <= PG_RANK_WINDOW:
            return [h for h, _ in hits[:limit]]  # every match ranked: exact
        # an unselective query: title matches first, then the ranked sample (merge_ranked)
        params.update(limit=limit, window=TITLE_WINDOW)
        title = [
            RawHit(r[0], r[1], r[2], r[3] or "", float(r[4]), r[5] or "")
            for r in conn.execute(text(_pg_ranked("kb_title", q)), params)
        ]
        by_id = {h.article_id: h for h in title}
        by_id.update({h.article_id: h for h, _ in hits if h.article_id not in by_id})
        ranked = merge_ranked(
            [(h.article_id, h.score) for h in title],
            [(h.article_id, h.score) for h, _ in hits],
            limit,
        )
        return [replace(by_id[i], score=score) for i, score in ranked]

"""Knowledge base: import, search, articles, and their links to tickets.

The search index (FTS5 on SQLite, tsvector + GIN on PostgreSQL) is maintained here, in the
same transaction as the article rows; it is created on first use and rebuilt when it does
not match ``kb_article`` (see :mod:`agent_console.kb.index`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session

from agent_console.desk.core import DeskCore
from agent_console.desk.permissions import require_not_closed, require_works
from agent_console.errors import NotFound, UserError
from agent_console.kb.index import (
    IndexRow,
    backend_for,
    doc_from_row,
    ensure_index,
    vocab_delta,
)
from agent_console.kb.loader import FileError, read_folder
from agent_console.kb.search import KBHit, Searcher, search_words_for_ticket
from agent_console.kb.text import ArticleDoc
from agent_console.store.models import Agent, KBArticle, Message, MessageKind, TicketArticle
from agent_console.views import iso_utc

KBProgress = Callable[[int, int], None]
IMPORT_CHUNK = 500
ENV_KB_URL = "AGENT_CONSOLE_KB_URL"
DEFAULT_KB_URL = "https://support.clutch.com/knowledge-base/"

__all__ = [
    "ArticleView",
    "KBHit",
    "KBImportReport",
    "KBMixin",
    "LinkedArticle",
]


@dataclass
class KBImportReport:
    """What ``import_kb`` did; ``errors`` names every skipped file."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[FileError] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.errors)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        n = self.imported
        text = (
            f"{n} article{'s' if n != 1 else ''}: {self.created} new, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )
        return text + f"; {self.skipped} skipped" if self.errors else text

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "errors": [{"file": e.name, "reason": e.reason} for e in self.errors],
        }


@dataclass(frozen=True)
class ArticleView:
    slug: str
    title: str
    section: str
    tags: tuple[str, ...]
    body: str  # Markdown
    updated_at: datetime
    version: int
    link: str

    def as_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.title,
            "section": self.section,
            "tags": list(self.tags),
            "body": self.body,
            "updated_at": iso_utc(self.updated_at),
            "version": self.version,
            "link": self.link,
        }


@dataclass(frozen=True)
class LinkedArticle:
    slug: str
    title: str
    section: str
    link: str
    linked_by: str | None
    linked_at: datetime


class KBMixin(DeskCore):
    # ------------------------------------------------------------------ plumbing
    @property
    def kb_searcher(self) -> Searcher:
        searcher = self.__dict__.get("_kb_searcher")
        if searcher is None:
            searcher = self.__dict__["_kb_searcher"] = Searcher()
        return searcher

    def ensure_kb_index(self, *, force: bool = False) -> bool:
        """Create / rebuild the search index if needed (once per desk). True if it built."""
        if self.__dict__.get("_kb_ready") and not force:
            return False
        with self.write() as s:
            built = ensure_index(s.connection(), force=force)
        self.__dict__["_kb_ready"] = True
        if built:
            self.kb_searcher.invalidate()
        return built

    def reindex_kb(self) -> int:
        """Rebuild the search index from the articles; returns how many were indexed."""
        self.ensure_kb_index(force=True)
        with self.read() as s:
            return backend_for(s.connection()).indexed_count(s.connection())

    def kb_link(self, slug: str) -> str:
        base = os.environ.get(ENV_KB_URL) or DEFAULT_KB_URL
        return base.rstrip("/") + "/" + slug

    # ------------------------------------------------------------------ import
    def import_kb(self, path: str | Path, progress: KBProgress | None = None) -> KBImportReport:
        """Load a folder of Markdown articles (or one file), idempotent by slug.

        A bad file is named in ``report.errors`` and skipped; the others are imported."""
        folder = Path(path).expanduser()
        if folder.is_file():
            files_root, only = folder.parent, folder
        elif folder.is_dir():
            files_root, only = folder, None
        else:
            raise UserError(f"no such folder: {folder}")
        report = KBImportReport()
        docs: list[ArticleDoc] = []
        if only is not None:
            from agent_console.kb.loader import read_article

            items: Iterable[ArticleDoc | FileError] = [read_article(only, name=only.name)]
        else:
            items = read_folder(files_root)
        for item in items:
            if isinstance(item, FileError):
                report.errors.append(item)
            else:
                docs.append(item)
        self.upsert_kb_articles(docs, report=report, progress=progress)
        return report

    def upsert_kb_articles(
        self,
        docs: Sequence[ArticleDoc],
        *,
        report: KBImportReport | None = None,
        progress: KBProgress | None = None,
        chunk: int = IMPORT_CHUNK,
    ) -> KBImportReport:
        """Create or update articles by slug (one transaction per chunk) and index them."""
        report = report or KBImportReport()
        self.ensure_kb_index()
        total = len(docs)
        if progress:
            progress(0, total)
        for start in range(0, total, chunk):
            self._upsert_chunk(docs[start : start + chunk], report)
            self.kb_searcher.invalidate()
            if progress:
                progress(min(start + chunk, total), total)
        return report

    def _upsert_chunk(self, docs: Sequence[ArticleDoc], report: KBImportReport) -> None:
        t = KBArticle.__table__
        now = self.now()
        with self.write() as s:
            conn = s.connection()
            b = backend_for(conn)
            existing = {
                r.slug: r
                for r in s.execute(
                    select(
                        t.c.id, t.c.slug, t.c.title, t.c.section, t.c.tags, t.c.body, t.c.version
                    ).where(t.c.slug.in_([d.slug for d in docs]))
                )
            }
            new_rows: list[dict[str, Any]] = []
            new_docs: list[ArticleDoc] = []
            changed: list[tuple[int, ArticleDoc, ArticleDoc]] = []
            for doc in docs:
                old = existing.get(doc.slug)
                if old is None:
                    new_docs.append(doc)
                    new_rows.append(
                        {
                            "slug": doc.slug,
                            "title": doc.title,
                            "section": doc.section,
                            "tags": doc.tags_csv,
                            "body": doc.body,
                            "updated_at": now,
                            "version": 1,
                        }
                    )
                    continue
                old_doc = doc_from_row(old.slug, old.title, old.section, old.tags, old.body)
                if old_doc == doc:
                    report.unchanged += 1
                    continue
                s.execute(
                    update(t)
                    .where(t.c.id == old.id)
                    .values(
                        title=doc.title,
                        section=doc.section,
                        tags=doc.tags_csv,
                        body=doc.body,
                        updated_at=now,
                        version=old.version + 1,
                    )
                )
                changed.append((old.id, old_doc, doc))
            ids: dict[str, int] = {}
            if new_rows:
                s.execute(insert(t), new_rows)
                ids = dict(
                    s.execute(
                        select(t.c.slug, t.c.id).where(t.c.slug.in_([d.slug for d in new_docs]))
                    ).all()
                )
            rows = [IndexRow.of(ids[d.slug], d) for d in new_docs]
            rows += [IndexRow.of(aid, d) for aid, _, d in changed]
            b.upsert(conn, rows)
            b.vocab_apply(
                conn, vocab_delta([o for _, o, _ in changed], new_docs + [d for _, _, d in changed])
            )
            if rows:
                b.bump_generation(conn)
            report.created += len(new_docs)
            report.updated += len(changed)

    # ------------------------------------------------------------------ search & read
    def search_kb(self, query: str, limit: int = 20) -> list[KBHit]:
        """Ranked articles for what a person typed (any text is a valid query)."""
        self.ensure_kb_index()
        # a plain connection, not a Session: one search per keystroke, and the ORM's
        # bookkeeping was a tenth of a search's time
        with self._errors(), self.engine.connect() as conn:
            return self.kb_searcher.search(conn, query, limit)

    def kb_like_scan(self, query: str, limit: int = 20) -> list[tuple[str, str]]:
        """The naive LIKE scan the benchmark compares against: ``[(slug, title)]``."""
        with self.read() as s:
            return self.kb_searcher.like_scan(s.connection(), query, limit)

    def kb_article_count(self) -> int:
        from sqlalchemy import func

        with self.read() as s:
            return int(
                s.execute(select(func.count()).select_from(KBArticle.__table__)).scalar_one()
            )

    def _article(self, s: Session, slug: str) -> KBArticle:
        art = s.execute(select(KBArticle).where(KBArticle.slug == slug.strip().lower())).scalar()
        if art is None:
            raise NotFound(f"no article {slug!r} (see `agent-console kb search`)")
        return art

    def get_article(self, slug: str) -> ArticleView:
        with self.read() as s:
            a = self._article(s, slug)
            return ArticleView(
                slug=a.slug,
                title=a.title,
                section=a.section or "",
                tags=tuple(t for t in (a.tags or "").split(",") if t),
                body=a.body or "",
                updated_at=a.updated_at,
                version=a.version,
                link=self.kb_link(a.slug),
            )

    # ------------------------------------------------------------------ tickets
    def link_article(self, ticket_key: str, slug: str, agent: str | None = None) -> bool:
        """Link an article to a ticket (logged as 'linked-article'). False if already linked."""
        with self.write() as s:
            ticket = self.ticket_by_key(s, ticket_key)
            who = self.acting_agent(s, agent)
            require_not_closed(ticket)
            require_works(who, ticket, "link articles on")
            art = self._article(s, slug)
            if s.get(TicketArticle, (ticket.id, art.id)) is not None:
                return False
            s.add(
                TicketArticle(
                    ticket_id=ticket.id,
                    article_id=art.id,
                    linked_by_id=who.id,
                    linked_at=self.now(),
                )
            )
            self.log(
                s, ticket.id, "linked-article", agent_id=who.id, slug=art.slug, title=art.title
            )
            return True

    def unlink_article(self, ticket_key: str, slug: str, agent: str | None = None) -> bool:
        """Remove a link (logged as 'unlinked-article'). False if it was not linked."""
        with self.write() as s:
            ticket = self.ticket_by_key(s, ticket_key)
            who = self.acting_agent(s, agent)
            require_not_closed(ticket)
            require_works(who, ticket, "link articles on")
            art = self._article(s, slug)
            link = s.get(TicketArticle, (ticket.id, art.id))
            if link is None:
                return False
            s.delete(link)
            self.log(
                s, ticket.id, "unlinked-article", agent_id=who.id, slug=art.slug, title=art.title
            )
            return True

    def articles_for_ticket(self, ticket_key: str) -> list[LinkedArticle]:
        with self.read() as s:
            ticket = self.ticket_by_key(s, ticket_key)
            rows = s.execute(
                select(
                    KBArticle.slug,
                    KBArticle.title,
                    KBArticle.section,
                    Agent.handle,
                    TicketArticle.linked_at,
                )
                .join(KBArticle, KBArticle.id == TicketArticle.article_id)
                .outerjoin(Agent, Agent.id == TicketArticle.linked_by_id)
                .where(TicketArticle.ticket_id == ticket.id)
                .order_by(TicketArticle.linked_at, KBArticle.title)
            ).all()
        return [LinkedArticle(r[0], r[1], r[2] or "", self.kb_link(r[0]), r[3], r[4]) for r in rows]

    def suggestion_text(self, ticket_key: str) -> str:
        """The words suggestions search for: the ticket's subject and first customer message."""
        with self.read() as s:
            ticket = self.ticket_by_key(s, ticket_key)
            first = s.execute(
                select(Message.body)
                .where(Message.ticket_id == ticket.id, Message.kind == MessageKind.CUSTOMER.value)
                .order_by(Message.created_at, Message.id)
                .limit(1)
            ).scalar()
            return search_words_for_ticket(ticket.subject, first or "")

    def suggest_for_ticket(self, ticket_key: str, limit: int = 10) -> list[KBHit]:
        """Articles for a ticket, ranked by how well they match its subject and first message."""
        words = self.suggestion_text(ticket_key)
        if not words:
            return []
        self.ensure_kb_index()
        with self.read() as s:
            return self.kb_searcher.search(s.connection(), words, limit, mode="any", typing=False)

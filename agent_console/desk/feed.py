"""The change feed: consoles follow the event table to refresh what they show."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import select

from agent_console.desk.core import DeskCore
from agent_console.store.models import TicketEvent


@dataclass(frozen=True)
class Changes:
    last_event_id: int
    ticket_ids: frozenset[int]


class FeedMixin(DeskCore):
    def last_event_id(self) -> int:
        with self.read() as s:
            return int(s.exec(select(func.coalesce(func.max(TicketEvent.id), 0))).one())

    def changes_since(self, event_id: int, *, limit: int = 5000) -> Changes:
        """Tickets changed by events after ``event_id`` (cheap: uses the primary key)."""
        with self.read() as s:
            rows = s.exec(
                select(TicketEvent.id, TicketEvent.ticket_id)
                .where(TicketEvent.id > event_id)
                .order_by(TicketEvent.id)
                .limit(limit)
            ).all()
        if not rows:
            return Changes(event_id, frozenset())
        return Changes(rows[-1][0], frozenset(r[1] for r in rows))

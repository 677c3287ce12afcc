"""The change feed: consoles follow the event table to refresh what they show.

A console holds a :class:`FeedCursor` and polls it. Event ids come from a sequence when a
row is inserted but become visible when its transaction commits, so on PostgreSQL id 100
can appear after id 101 was already read. The cursor therefore remembers the ids it
skipped over (gaps) and asks for them again until they show up or fall out of the window
(a rolled-back transaction leaves a gap that never fills).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_
from sqlmodel import col, select

from agent_console.desk.core import DeskCore
from agent_console.store.models import TicketEvent

#: gaps older than this many ids behind the newest event are given up
GAP_WINDOW = 5000
#: at most this many gap ids are remembered (the newest ones)
MAX_GAPS = 2000
POLL_LIMIT = 5000


@dataclass
class FeedCursor:
    """Where one console is in the event table."""

    last_event_id: int
    gaps: set[int] = field(default_factory=set)


class FeedMixin(DeskCore):
    def last_event_id(self) -> int:
        with self.read() as s:
            return int(s.exec(select(func.coalesce(func.max(TicketEvent.id), 0))).one())

    def follow_feed(self) -> FeedCursor:
        """A cursor at the newest event: polling it returns what changes from now on."""
        return FeedCursor(self.last_event_id())

    def poll_feed(self, cursor: FeedCursor) -> frozenset[int]:
        """Ids of the tickets changed since the cursor's last poll; advances the cursor."""
        since = cursor.last_event_id
        cond = col(TicketEvent.id) > since
        if cursor.gaps:
            cond = or_(cond, col(TicketEvent.id).in_(sorted(cursor.gaps)))
        with self.read() as s:
            rows = s.exec(
                select(TicketEvent.id, TicketEvent.ticket_id, TicketEvent.kind)
                .where(cond)
                .order_by(col(TicketEvent.id))
                .limit(POLL_LIMIT)
            ).all()
        found = {int(r[0]) for r in rows}
        newest = max([since, *(i for i in found if i > since)])
        gaps = (cursor.gaps - found) | (set(range(since + 1, newest + 1)) - found)
        floor = newest - GAP_WINDOW
        gaps = {g for g in gaps if g > floor}
        if len(gaps) > MAX_GAPS:
            gaps = set(sorted(gaps)[-MAX_GAPS:])
        cursor.last_event_id = newest
        cursor.gaps = gaps
        if any(r[2] == "policy_applied" for r in rows):
            self.reload_policies()  # `sla apply` stored a new version (desk/policy_apply.py)
        return frozenset(int(r[1]) for r in rows if r[1] is not None)


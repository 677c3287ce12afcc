"""The change feed: consoles follow the event table to refresh what they show.

A console holds a :class:`FeedCursor`. Reading the feed is two steps:
:meth:`FeedMixin.read_feed` returns a :class:`FeedBatch` (what changed since the cursor)
without moving the cursor, and :meth:`FeedCursor.advance` moves it once the console has
read the changed rows AND applied them to what it shows. A failure in between (the
database went away after the poll) leaves the cursor where it was: the next read returns
the same changes again, nothing is lost and, once advanced, nothing comes twice.

Event ids come from a sequence when a row is inserted but become visible when its
transaction commits, so on PostgreSQL id 100 can appear after id 101 was already read. The
cursor therefore remembers the ids it skipped over (gaps) and asks for them again until
they show up or fall out of the window (a rolled-back transaction leaves a gap that never
fills).

On PostgreSQL every committed insert into ``ticket_event`` also sends a notification on
:data:`FEED_CHANNEL` (a trigger, see the Alembic revision ``0009_live``); consoles listen for it
(:mod:`agent_console.desk.live`) and read the feed at once. SQLite consoles poll.
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
#: the PostgreSQL notification channel a commit that adds events notifies
FEED_CHANNEL = "agent_console_feed"


@dataclass(frozen=True)
class FeedBatch:
    """What changed since a cursor: the new events (ids), the tickets they touch, and the
    cursor position to take once they are applied (:meth:`FeedCursor.advance`)."""

    event_ids: frozenset[int]
    ticket_ids: frozenset[int]
    since: int
    since_gaps: frozenset[int]
    last_event_id: int
    gaps: frozenset[int]
    #: a ``policy_applied`` event is among them: the desk reloaded the stored policies,
    #: and what shows a policy (the header's business hours) shows the new one
    policies_changed: bool = False

    def __bool__(self) -> bool:
        return bool(self.event_ids)


@dataclass
class FeedCursor:
    """Where one console is in the event table (the newest event id it applied, and the
    lower ids it skipped because they were not committed yet)."""

    last_event_id: int
    gaps: set[int] = field(default_factory=set)

    def advance(self, batch: FeedBatch) -> bool:
        """Take ``batch``'s position: call it after the batch's tickets were read and
        applied. Returns False (and changes nothing) when the batch was read from another
        position than the cursor's (it was already advanced past it)."""
        if batch.since != self.last_event_id or batch.since_gaps != self.gaps:
            return False
        self.last_event_id = batch.last_event_id
        self.gaps = set(batch.gaps)
        return True


class FeedMixin(DeskCore):
    def last_event_id(self) -> int:
        with self.read() as s:
            return int(s.exec(select(func.coalesce(func.max(TicketEvent.id), 0))).one())

    def follow_feed(self) -> FeedCursor:
        """A cursor at the newest event: reading it returns what changes from now on."""
        return FeedCursor(self.last_event_id())

    def read_feed(self, cursor: FeedCursor) -> FeedBatch:
        """The events committed since ``cursor`` (and the gaps it waits for), without
        moving it. Raises :class:`~agent_console.errors.UserError` when the database
        cannot be read (the cursor is untouched)."""
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
        policies_changed = any(r[2] == "policy_applied" for r in rows)
        if policies_changed:
            self.reload_policies()  # `sla apply` stored a new version (desk/policy_apply.py)
        return FeedBatch(
            event_ids=frozenset(found),
            ticket_ids=frozenset(int(r[1]) for r in rows if r[1] is not None),
            since=since,
            since_gaps=frozenset(cursor.gaps),
            last_event_id=newest,
            gaps=frozenset(gaps),
            policies_changed=policies_changed,
        )

    def poll_feed(self, cursor: FeedCursor) -> frozenset[int]:
        """Read and advance at once: ids of the tickets changed since the cursor. Only
        for callers with nothing to apply that can fail (scripts, tests); a console uses
        :meth:`read_feed` and advances after applying."""
        batch = self.read_feed(cursor)
        cursor.advance(batch)
        return batch.ticket_ids

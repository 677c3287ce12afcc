"""The queue screen's typed messages (DESIGN.md "Database work off the UI thread"): what
its workers post back — a view loaded, rows, counts, the change feed, claims, drafts,
presence, views.toml read again, Play mode's next ticket, a failure. Plain data; the screen
(screens/queue.py and its mixins) applies them."""

from __future__ import annotations

from textual.message import Message

from agent_console.desk.feed import FeedBatch, FeedCursor
from agent_console.desk.queue import Me, QueueCounts, QueueQuery, QueueRow
from agent_console.desk.view_files import ViewSet
from agent_console.errors import UserError


class QueueLoaded(Message):
    """A new ordering for ``query`` (and the first rows of it)."""

    def __init__(
        self,
        generation: int,
        query: QueueQuery,
        ids: list[int],
        rows: dict[int, QueueRow],
        *,
        keep_id: int | None = None,
        me: Me | None = None,
        feed: FeedCursor | None = None,
        partial: bool = False,
    ) -> None:
        super().__init__()
        self.partial = partial
        self.generation = generation
        self.query = query
        self.ids = ids
        self.rows = rows
        self.keep_id = keep_id
        self.me = me
        #: the change-feed cursor, made by the first load (before the view was read)
        self.feed = feed


class RowsLoaded(Message):
    def __init__(self, rows: dict[int, QueueRow], forget: list[int] | None = None) -> None:
        super().__init__()
        self.rows = rows
        self.forget = forget or []


class CountsLoaded(Message):
    def __init__(self, counts: QueueCounts) -> None:
        super().__init__()
        self.counts = counts


class FeedChanged(Message):
    """Other consoles (or this one) changed tickets: fresh rows, ordering and counts."""

    def __init__(
        self,
        generation: int,
        ticket_ids: frozenset[int],
        rows: dict[int, QueueRow],
        ids: list[int] | None,
        *,
        full: bool = False,
        batch: FeedBatch | None = None,
    ) -> None:
        super().__init__()
        self.generation = generation
        #: the feed read these changes came from: the cursor takes its position once applied
        self.batch = batch
        self.ticket_ids = ticket_ids
        self.rows = rows
        self.ids = ids
        #: ``ids`` is the whole ordering read again (not a patch of the shown one)
        self.full = full


class ClaimDone(Message):
    def __init__(self, keys: list[str], *, next_: bool) -> None:
        super().__init__()
        self.keys = keys
        self.next = next_


class DraftsLoaded(Message):
    """The tickets where the agent has unsent drafts (the row marker)."""

    def __init__(self, ids: frozenset[int]) -> None:
        super().__init__()
        self.ids = ids


class FeedFailed(Message):
    """Reading the feed (or the changed rows) failed: the cursor stays, the next poll
    reads the same changes again."""

    def __init__(self, error: UserError) -> None:
        super().__init__()
        self.error = error


class ElsewhereLoaded(Message):
    """Tickets open in other consoles (ticket id → their agents' handles)."""

    def __init__(self, elsewhere: dict[int, tuple[str, ...]]) -> None:
        super().__init__()
        self.elsewhere = elsewhere


class ViewsReloaded(Message):
    """views.toml read again: the views now in force, or (``views.error``) the views in
    use kept and why the file was refused; ``stamp``: the file's state that was read."""

    def __init__(self, views: ViewSet, stamp: tuple[int, int] | None, *, asked: bool) -> None:
        super().__init__()
        self.views = views
        self.stamp = stamp
        #: the agent asked (f5, palette): also say so when nothing changed
        self.asked = asked


class PlayNext(Message):
    """Play mode claimed ``key`` for the agent (None: nothing left to take)."""

    def __init__(self, key: str | None) -> None:
        super().__init__()
        self.key = key


class QueueFailed(Message):
    def __init__(
        self, error: str, *, generation: int | None = None, cause: UserError | None = None
    ) -> None:
        super().__init__()
        self.error = error
        #: set when loading that generation's view failed
        self.generation = generation
        #: a background read's error: an outage goes to the header notice, not a toast
        self.cause = cause

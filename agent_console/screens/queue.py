"""The Queue screen (issue 4): the most urgent work first, live timers, instant at scale.

Wiring only: the desk answers queries in thread workers, results come back as typed
messages (:class:`QueueLoaded`, :class:`RowsLoaded`, :class:`CountsLoaded`,
:class:`FeedChanged`, :class:`ClaimDone`), and the widgets show them. One 1 Hz interval
repaints the visible timers (no query); a second one follows the change feed in a worker —
every second on SQLite; on PostgreSQL the app's listener wakes the screen when another
console commits (:meth:`QueueScreen.feed_woken`) and the timer only polls every
``FALLBACK_POLL`` seconds. The feed cursor advances only after the changed rows were
applied. Both pause while the screen is not shown.

By responsibility: the messages are in screens/queue_messages.py, the views and their
file in screens/queue_view_files.py, Play mode in screens/queue_play.py, marks and bulk
actions in screens/bulk.py; this module loads, follows the feed, filters, sorts, claims.
"""

from __future__ import annotations

import time
from datetime import datetime, tzinfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import Worker, get_current_worker

from agent_console.desk.feed import FeedCursor
from agent_console.desk.presence import HEARTBEAT as PRESENCE_EVERY
from agent_console.desk.presence import PRESENCE_EXPIRY
from agent_console.desk.queue import (
    DEFAULT_VIEW,
    Me,
    QueueCounts,
    QueueQuery,
    QueueRow,
    next_sort,
    sort_named,
)
from agent_console.desk.view_files import ViewSet
from agent_console.errors import UserError
from agent_console.keymap import with_ids
from agent_console.logs import get_logger
from agent_console.screens.bulk import QueueMarksMixin
from agent_console.screens.queue_messages import (
    ClaimDone,
    CountsLoaded,
    DraftsLoaded,
    ElsewhereLoaded,
    FeedChanged,
    FeedFailed,
    QueueFailed,
    QueueLoaded,
    RowsLoaded,
)
from agent_console.screens.queue_play import QueuePlayMixin
from agent_console.screens.queue_view_files import QueueViewsMixin
from agent_console.screens.ticket import TicketScreen
from agent_console.screens.ticking import TickingScreen
from agent_console.widgets.console_footer import ConsoleFooter
from agent_console.widgets.console_header import ConsoleHeader
from agent_console.widgets.queue_table import QueueTable
from agent_console.widgets.queue_views import QueueViewBar

FEED_INTERVAL = 1.0
#: with a listener connected (PostgreSQL), the feed is also polled this often (seconds)
FALLBACK_POLL = 10.0
#: while tickets change, the view counts are read again at most this often
COUNT_COALESCE = 1.5  # ~50 ms a count at 100k open tickets: <4% of a core while busy
#: counts (and the time-dependent "Breaching soon" view) are refreshed this often anyway
RECOUNT_INTERVAL = 30.0
#: seconds between two looks at views.toml's modification time (a stat, no read)
VIEWS_CHECK_EVERY = 2.0
FILTER_DEBOUNCE = 0.15
FIRST_WINDOW = 120


class QueueScreen(QueueMarksMixin, QueueViewsMixin, QueuePlayMixin, TickingScreen[None]):
    """Tickets of the chosen view, most urgent first, with live SLA timers."""

    CSS_PATH = "queue.tcss"

    BINDINGS = with_ids("queue", [
        Binding("enter", "open", "Open"),
        Binding("c", "claim", "Claim"),
        Binding("n", "claim_next", "Claim next"),
        Binding(
            "N",
            "play",
            "Play",
            tooltip="Play mode: claim and open the next ticket, and so on (N)",
        ),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "clear", "Clear filter", show=False),
        Binding("s", "cycle_sort", "Sort"),
        Binding("tab", "next_view", "Next view", show=False),
        Binding("shift+tab", "next_view(-1)", "Previous view", show=False, id="queue.previous_view"),
        Binding("ctrl+r", "reload", "Reload", show=False),
        Binding(
            "f5",
            "reload_views",
            "Reload views",
            show=False,
            tooltip="Read views.toml again (f5; an edited file is also read by itself)",
        ),
        # marks and bulk actions (issue 16; screens/bulk.py)
        Binding("space", "toggle_mark", "Mark", show=False, tooltip="Mark / unmark (space)"),
        Binding("ctrl+a", "mark_all", "Mark all", show=False, tooltip="Mark all in the view"),
        Binding(
            "M", "bulk_macro", "Macro on marked", show=False, tooltip="Apply a macro to marked (M)"
        ),
        Binding(
            "B", "bulk", "Bulk action", show=False, tooltip="Claim/assign/priority/status/tags (B)"
        ),
        # the views' own keys are bound per screen from the views in force (views.toml)
    ])

    #: ``?`` lists the keys in these groups, in this order (then the generic keys)
    HELP_GROUPS = {
        "Work": ("open", "claim", "claim_next", "play"),
        "Find": ("filter", "clear", "cycle_sort", "reload"),
        "Views": ("show_view", "next_view", "reload_views"),
        "Marks": ("toggle_mark", "mark_all", "bulk_macro", "bulk"),
    }

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:  # noqa: A002
        super().__init__(name=name, id=id)
        #: the views in force (built-ins + the team's views.toml), read on compose
        self.views: ViewSet | None = None
        self.query_state = QueueQuery(view=DEFAULT_VIEW)
        #: each view's filter text and sort as the agent left it (issue 16)
        self._view_states: dict[str, QueueQuery] = {}
        self.me: Me | None = None
        self.counts: QueueCounts | None = None
        #: where this screen is in the change feed (gap-safe; see desk/feed.py)
        self.feed: FeedCursor | None = None
        self._feed_job: Worker[None] | None = None
        #: a feed read whose changes are not applied yet (the cursor waits for them)
        self._feed_unapplied = False
        #: woken while a read was on its way: read again once it is applied
        self._wake_pending = False
        self._polled_at = float("-inf")
        self._presence_ticks = 0
        self._generation = 0
        self._shown_generation = -1
        self._ticker: Timer | None = None
        self._feed_timer: Timer | None = None
        self._filter_timer: Timer | None = None
        self._counted_at = time.monotonic()
        self._counts_stale = False
        self._count_asap = False
        self._replay: set[int] = set()
        #: the policies whose business clock ran at the last tick (urgency groups)
        self._open_policies: frozenset[str] | None = None
        #: the shown ordering is not the view's (its load failed): read it whole next time
        self._ordering_stale = False
        self._follow_key: str | None = None
        self._partial_cursor: int | None = None
        #: Play mode (``N``): the next ticket opens after a resolve, escalation or pending
        self.playing = False
        #: views.toml as last read (mtime, size), and when it was last looked at
        self._views_stamp: tuple[int, int] | None = None
        self._views_checked = time.monotonic()
        #: seconds between two looks at views.toml (tests set it)
        self.views_check_every = VIEWS_CHECK_EVERY

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield ConsoleHeader("Queue", id="header")
        views = self.view_set()
        yield QueueViewBar(views.views, self.query_state.view, id="views")
        yield Input(placeholder="/ filter: key, subject, requester, organization", id="filter")
        desk = self.app.desk  # type: ignore[attr-defined]
        yield QueueTable(
            desk.policy_named,
            self.display_zone,
            now=self.app_now(),
            id="queue",
            on_slash=self.action_filter,
        )
        yield Static(id="queue-status", markup=False)
        yield ConsoleFooter()

    @property
    def desk(self):  # type: ignore[no-untyped-def]
        return self.app.desk  # type: ignore[attr-defined]

    @property
    def table(self) -> QueueTable:
        return self.query_one(QueueTable)

    @property
    def header(self) -> ConsoleHeader:
        return self.query_one(ConsoleHeader)

    @property
    def display_zone(self) -> tzinfo:
        return self.desk.display_zone  # type: ignore[no-any-return]

    def app_now(self) -> datetime:
        return self.app.now()  # type: ignore[attr-defined,no-any-return]

    def on_mount(self) -> None:
        views = self.view_set()
        if views.error:
            # the team's views.toml could not be used: say why, run on the built-ins
            get_logger("agent_console.views").warning("%s", views.error)
            self.notify(views.error, title="Views", severity="warning", timeout=20, markup=False)
        self.table.set_columns(views.named(self.query_state.view).columns)
        self.header.set_policy(self.desk.default_policy, self.display_zone)
        self.header.update_state(self.app_now())
        self.table.focus()
        self._ticker = self.every(1.0, self._tick, name="queue-tick")
        self._feed_timer = self.every(FEED_INTERVAL, self._timed_poll, name="queue-feed")
        self._update_status()
        self._load()
        self._showing_none()
        self.presence_woken()

    # ---------------------------------------------------------------- the one clock
    def _tick(self) -> None:
        """Once a second: format the visible timers and the header from ``now``. No query;
        when a business clock starts or stops (a desk opens or closes) the urgency groups
        change, so the ordering is read again (README "Urgency")."""
        now = self.app_now()
        running = self.desk.open_policies(now)
        if running != self._open_policies:
            if self._open_policies is not None:
                self._load()
            self._open_policies = running
        self.header.update_state(now)
        table = self.table
        table.now = now
        table.refresh()
        if time.monotonic() - self._views_checked >= self.views_check_every:
            self.check_views_file()

    def on_ticks_resumed(self) -> None:
        self._tick()
        self._poll()
        self._load_drafts()  # back from a ticket: its draft may be new, or sent
        self._showing_none()
        self.presence_woken()

    # ---------------------------------------------------------------- loading
    def reload(self) -> None:
        """Reload the view from the database (the app calls this after demo data loads)."""
        self._load()

    def _load(self) -> None:
        self._generation += 1
        keep = self.table.cursor_id if self.is_mounted else None
        self._update_status(loading=True)
        self._load_worker(self._generation, self.query_state, keep, self.me is None)
        self._load_drafts()

    @work(thread=True, exclusive=True, group="queue-load")
    def _load_worker(
        self, generation: int, query: QueueQuery, keep_id: int | None, first: bool
    ) -> None:
        desk = self.desk
        worker = get_current_worker()
        try:
            me = desk.queue_me(query.agent) if first else None
            feed = desk.follow_feed() if first else None
            now = self.app_now()
            # first paint: the head of the view straight off the index (a LIMIT query,
            # milliseconds even on a cold million-ticket file) ...
            head = desk.queue_page(query, 0, FIRST_WINDOW, now)
            if worker.is_cancelled:
                return
            self.post_message(
                QueueLoaded(
                    generation,
                    query,
                    [r.id for r in head],
                    {r.id: r for r in head},
                    keep_id=keep_id,
                    me=me,
                    feed=feed,
                    partial=True,
                )
            )
            # ... then the whole ordering (ids only), for the scrollbar and any position
            ids = desk.queue_ids(query, now)
            if worker.is_cancelled:
                return
            rows: dict[int, QueueRow] = {}
            if keep_id is not None and keep_id not in {r.id for r in head}:
                try:
                    start = max(ids.index(keep_id) - FIRST_WINDOW // 2, 0)
                    rows = desk.queue_rows(ids[start : start + FIRST_WINDOW])
                except ValueError:
                    pass
            self.post_message(QueueLoaded(generation, query, ids, rows, keep_id=keep_id))
            if worker.is_cancelled:
                return
            self.post_message(CountsLoaded(desk.queue_counts(query.agent, now)))
        except UserError as exc:
            self.post_message(QueueFailed(str(exc), generation=generation, cause=exc))

    @work(thread=True, exclusive=True, group="queue-drafts")
    def _load_drafts(self) -> None:
        try:
            self.post_message(DraftsLoaded(self.desk.draft_ticket_ids()))
        except UserError as exc:
            self.post_message(QueueFailed(str(exc), cause=exc))

    def drafts_changed(self) -> None:
        """The app wrote drafts (called by its draft keeper): refresh the row markers."""
        if self.is_mounted:
            self._load_drafts()

    @on(DraftsLoaded)
    def _drafts_loaded(self, message: DraftsLoaded) -> None:
        self.table.set_drafts(message.ids)

    @on(QueueLoaded)
    def _queue_loaded(self, message: QueueLoaded) -> None:
        if message.me is not None:
            self.me = message.me
            self.table.set_me(message.me.handle)
            self.header.set_agent(
                message.me.handle,
                message.me.name,
                message.me.tier,
                lead=message.me.lead,
                demo=bool(self.desk.is_demo_actor),
            )
        if message.feed is not None and self.feed is None:
            self.feed = message.feed
        if message.generation != self._generation:
            return  # a newer query is on its way: drop this one
        table = self.table
        table.update_rows(message.rows)
        if message.partial:
            # the head of the view: keep the cursor's ticket if it is there, else the top
            keep = message.keep_id if message.keep_id in message.rows else None
            table.set_ordering(message.ids, keep_id=keep, fallback=0 if keep is None else None)
            self._partial_cursor = table.cursor_id
            self._update_status(loading=True)
            return
        keep = message.keep_id
        if table.cursor_id != self._partial_cursor:
            keep = None  # the agent moved meanwhile: stay where they are
        self._shown_generation = message.generation
        self._ordering_stale = False
        table.set_ordering(message.ids, keep_id=keep)
        self._update_status()

    def _id_for_key(self, key: str | None, rows: dict[int, QueueRow]) -> int | None:
        if key is None:
            return None
        for tid, r in rows.items():
            if r.key == key:
                return tid
        for tid, r in self.table.rows.items():
            if r.key == key:
                return tid
        return None

    @on(QueueTable.RowsNeeded)
    def _rows_needed(self, message: QueueTable.RowsNeeded) -> None:
        self._fetch_rows(message.ids)

    @work(thread=True, group="queue-rows")
    def _fetch_rows(self, ids: list[int]) -> None:
        try:
            rows = self.desk.queue_rows(ids)
        except UserError as exc:
            self.post_message(QueueFailed(str(exc), cause=exc))
            return
        self.post_message(RowsLoaded(rows, [i for i in ids if i not in rows]))

    @on(RowsLoaded)
    def _rows_loaded(self, message: RowsLoaded) -> None:
        self.table.update_rows(message.rows, forget=message.forget)

    @on(CountsLoaded)
    def _counts_loaded(self, message: CountsLoaded) -> None:
        self.counts = message.counts
        self.query_one(QueueViewBar).set_counts(message.counts.counts)
        self._update_status()

    @on(QueueFailed)
    def _failed(self, message: QueueFailed) -> None:
        if message.generation == self._generation != self._shown_generation:
            # the view could not be read: keep what is shown, and let the feed read the
            # whole ordering again at the next change (patching needs a complete one)
            self._shown_generation = self._generation
            self._ordering_stale = True
        self._update_status()
        feed_failed = getattr(self.app, "feed_failed", None)
        if message.cause is not None and callable(feed_failed) and feed_failed(message.cause):
            return  # an outage: the header's one notice says so, no toast per read
        self.notify(message.error, title="Queue", severity="error", markup=False)

    # ---------------------------------------------------------------- change feed
    def feed_woken(self) -> None:
        """Another console committed (the app's listener heard it), or the database is
        back: read the feed now."""
        self._poll(woken=True)

    def _showing_none(self) -> None:
        showing = getattr(self.app, "showing_ticket", None)
        if callable(showing):
            showing(None)  # the queue shows no ticket: presence says so

    def _timed_poll(self) -> None:
        listening = getattr(self.app, "listening", False)
        self._presence_ticks += 1
        # tickets open elsewhere: notifications say who came and went; reading again now
        # and then drops consoles that died (SQLite: the only way)
        if self._presence_ticks % int(PRESENCE_EXPIRY if listening else PRESENCE_EVERY) == 0:
            self.presence_woken()
        if listening and time.monotonic() - self._polled_at < FALLBACK_POLL:
            if not self._counts_stale and time.monotonic() - self._counted_at < RECOUNT_INTERVAL:
                return
        self._poll()

    def presence_woken(self) -> None:
        """What other consoles show changed: read which tickets are open elsewhere."""
        if getattr(self.app, "live", False):
            self._elsewhere_worker(getattr(self.app, "console_id", None))

    @work(thread=True, exclusive=True, group="queue-presence")
    def _elsewhere_worker(self, console: str | None) -> None:
        try:
            self.post_message(ElsewhereLoaded(self.desk.open_elsewhere(console=console)))
        except UserError:
            return  # best effort: the marker stays as it was

    @on(ElsewhereLoaded)
    def _elsewhere_loaded(self, message: ElsewhereLoaded) -> None:
        self.table.set_elsewhere(message.elsewhere)

    def _poll(self, *, count_now: bool = False, woken: bool = False) -> None:
        """Once a second: poll the feed cursor in a worker. Changes patch the shown
        ordering (only the changed rows move); the view counts are read again at most
        every ``COUNT_COALESCE`` seconds while tickets change, and every
        ``RECOUNT_INTERVAL`` anyway (time moves tickets into "Breaching soon")."""
        self._count_asap |= count_now
        if self._bulk_running:
            return  # a bulk run (screens/bulk.py) competes with no feed read; it polls at its end
        if self.feed is None or self._shown_generation != self._generation:
            return  # a load is on its way: it reads the view after the cursor's position
        if self._feed_unapplied or (self._feed_job is not None and not self._feed_job.is_finished):
            # one read of the cursor at a time (a thread worker is not interruptible); a
            # wake-up meanwhile reads again once this one is applied
            self._wake_pending |= woken
            return
        link = getattr(self.app, "link", None)
        if link is not None and not link.may_try():
            return  # the database is down: the next try is on the header's countdown
        self._wake_pending = False
        self._polled_at = time.monotonic()
        since = time.monotonic() - self._counted_at
        recount = (
            self._count_asap
            or since >= RECOUNT_INTERVAL
            or (self._counts_stale and since >= COUNT_COALESCE)
        )
        if recount:
            self._counted_at = time.monotonic()
            self._count_asap = self._counts_stale = False
        replay, self._replay = frozenset(self._replay), set()
        self._feed_unapplied = True
        self._feed_job = self._feed_worker(
            self._generation,
            self.query_state,
            self.feed,
            None if self._ordering_stale else self.table.ids,
            replay,
            recount,
        )

    @work(thread=True, group="queue-feed")
    def _feed_worker(
        self,
        generation: int,
        query: QueueQuery,
        feed: FeedCursor,
        ordering: list[int] | None,
        replay: frozenset[int],
        recount: bool,
    ) -> None:
        """``ordering``: the shown ordering of ``generation`` (read only: the table
        replaces its list, never mutates it; None: read it whole); ``replay``: tickets changed while another
        view was loading, to be placed again."""
        desk = self.desk
        try:
            batch = desk.read_feed(feed)
            changed = batch.ticket_ids | replay
            now = self.app_now()
            if changed:
                rows = desk.queue_rows(changed)
                ids = None if ordering is None else desk.queue_patch(query, ordering, changed, now)
                full = ids is None  # too many changes to patch: read the ordering again
                if full:
                    ids = desk.queue_ids(query, now)
                message = FeedChanged(generation, changed, rows, ids, full=full, batch=batch)
            elif recount and (self._time_moves(query.view) or ordering is None):
                # time alone moves tickets into this view (breaching_within)
                ids = desk.queue_ids(query, now)
                message = FeedChanged(generation, frozenset(), {}, ids, full=True, batch=batch)
            else:
                message = FeedChanged(generation, frozenset(), {}, None, batch=batch)
            counts = desk.queue_counts(query.agent, now) if recount else None
        except UserError as exc:
            self.post_message(FeedFailed(exc))
            return
        self.post_message(message)
        if counts is not None:
            self.post_message(CountsLoaded(counts))

    def _time_moves(self, view: str) -> bool:
        """Whether time alone moves tickets in or out of ``view`` (a breaching_within
        clause, like the built-in "Breaching soon")."""
        shown = self.view_set().get(view)
        return shown is not None and any(
            c.field == "breaching_within" for g in shown.filter.groups for c in g
        )

    @on(FeedFailed)
    def _feed_failed(self, message: FeedFailed) -> None:
        """Nothing applied, the cursor stays: the next read returns the same changes. An
        outage shows in the header (once), not as a toast every second."""
        self._feed_unapplied = False
        feed_failed = getattr(self.app, "feed_failed", None)
        if not (callable(feed_failed) and feed_failed(message.error)):
            self.post_message(QueueFailed(str(message.error)))

    @on(FeedChanged)
    def _feed_changed(self, message: FeedChanged) -> None:
        try:
            self._apply_feed(message)
        except BaseException:
            self._feed_unapplied = False  # not applied: the cursor stays, read again
            raise
        if message.batch is None or self.feed is None:
            return
        self._feed_unapplied = False
        self.feed.advance(message.batch)  # applied: the cursor moves past it
        feed_ok = getattr(self.app, "feed_ok", None)
        if callable(feed_ok):
            feed_ok(message.batch)
        if self._wake_pending:
            self._poll(woken=True)

    def _apply_feed(self, message: FeedChanged) -> None:
        table = self.table
        gone = [i for i in message.ticket_ids if i not in message.rows]
        table.update_rows(message.rows, forget=gone)
        if message.ticket_ids:
            self._counts_stale = True
        if message.ids is None:
            return
        if message.generation != self._generation:
            # a new view is loading; it may have been read before these changes landed
            self._replay |= message.ticket_ids
            return
        keep_id = None
        if self._follow_key is not None:
            keep_id = self._id_for_key(self._follow_key, message.rows)
            self._follow_key = None
        table.set_ordering(message.ids, keep_id=keep_id)
        if message.full:
            self._ordering_stale = False
        self._update_status()

    # ---------------------------------------------------------------- status line
    def _update_status(self, *, loading: bool = False) -> None:
        if not self.is_mounted:
            return
        q = self.query_state
        view = self.view_set().named(q.view)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(view.label, "bold")
        shown = self.table.row_count if self._shown_generation >= 0 else None
        if loading or shown is None:
            text.append(" · loading…", "dim")
        else:
            text.append(f" · {shown:,} ticket{'s' if shown != 1 else ''}")
        text.append(f" · sorted by {sort_named(q.sort).label}", "dim")
        if q.text:
            text.append(" · filter ", "dim")
            text.append(repr(q.text))  # user text: literal
        marks = self.marks_status()
        if marks:
            text.append(f" · {marks}", "bold yellow")
        if self.me is not None:
            text.append(f" · {view.help}", "dim")
        if self.playing:
            play = Text("▶ Play mode · esc leaves · ", "bold")
            text = play + text
        self.query_one("#queue-status", Static).update(text)

    # ---------------------------------------------------------------- actions
    @on(QueueViewBar.ViewChosen)
    def _view_chosen(self, message: QueueViewBar.ViewChosen) -> None:
        self.action_show_view(message.view)

    def action_cycle_sort(self) -> None:
        self.query_state = self.query_state.with_(sort=next_sort(self.query_state.sort))
        self._load()
        self.notify(
            f"Sorted by {sort_named(self.query_state.sort).label}", timeout=1.5, markup=False
        )

    @on(QueueTable.HeaderClicked)
    def _header_clicked(self, message: QueueTable.HeaderClicked) -> None:
        by_column = {"key": "key", "priority": "priority", "timer": "due", "status": "updated"}
        sort = by_column.get(message.column)
        if sort and sort != self.query_state.sort:
            self.query_state = self.query_state.with_(sort=sort)
            self._load()

    def action_reload(self) -> None:
        self._load()

    def action_filter(self) -> None:
        # the box is always laid out: "/" only moves the focus (no layout pass); focus now
        # (not after the queued keys): "/refund" typed fast lands in the box
        self.set_focus(self.query_one("#filter", Input))

    def action_clear(self) -> None:
        if self.playing:
            self.stop_playing()
            return
        if self.table.has_focus and self.clear_marks():
            return  # escape clears the marks first, then the filter
        box = self.query_one("#filter", Input)
        had_text = bool(box.value or self.query_state.text)
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        box.value = ""
        self.table.focus()
        if had_text:
            self.query_state = self.query_state.with_(text="")
            self._load()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if self._filter_timer is not None:
            self._filter_timer.stop()
        self._filter_timer = self.set_timer(FILTER_DEBOUNCE, self._apply_filter)

    def _apply_filter(self) -> None:
        self._filter_timer = None
        text = self.query_one("#filter", Input).value.strip()
        if text != self.query_state.text:
            self.query_state = self.query_state.with_(text=text)
            self._load()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self._apply_filter()
        self.table.focus()

    def action_open(self) -> None:
        row = self.table.cursor_row
        if row is None:
            return
        self._open(row.key)

    @on(QueueTable.Selected)
    def _selected(self, message: QueueTable.Selected) -> None:
        self._open(message.row.key)

    def _open(self, key: str) -> None:
        self.app.push_screen(TicketScreen(key))

    def action_claim(self) -> None:
        row = self.table.cursor_row
        if row is None:
            return
        self._claim_worker(row.key)

    @work(thread=True, exclusive=True, group="queue-claim")
    def _claim_worker(self, key: str) -> None:
        try:
            self.post_message(ClaimDone([self.desk.claim(key)], next_=False))
        except UserError as exc:
            self.post_message(QueueFailed(str(exc)))

    def action_claim_next(self) -> None:
        self._claim_next_worker()

    @work(thread=True, exclusive=True, group="queue-claim")
    def _claim_next_worker(self) -> None:
        try:
            self.post_message(ClaimDone(self.desk.claim_next(), next_=True))
        except UserError as exc:
            self.post_message(QueueFailed(str(exc)))

    @on(ClaimDone)
    def _claim_done(self, message: ClaimDone) -> None:
        if not message.keys:
            self.notify("Nothing left to claim in your tier.", markup=False)
            return
        key = message.keys[0]
        self.notify(f"Claimed {key}", markup=False)
        self._follow_key = key
        self._poll(count_now=True)

    # ---------------------------------------------------------------- Play mode

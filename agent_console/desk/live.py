"""Live updates: the PostgreSQL listener that wakes a console when another one commits,
and the link state that turns a lost database into one lasting header notice.

:class:`FeedListener` is a thread with its own connection (psycopg, autocommit) that
``LISTEN``\\ s on the feed and presence channels. A notification calls ``on_wake`` with the
channel; the console then reads the feed from its cursor (:mod:`agent_console.desk.feed`).
When the connection breaks (server restart, ``pg_terminate_backend``, network) the thread
reconnects with exponential backoff and jitter (tenacity's ``wait_exponential_jitter``), and
wakes the console once it is back so that it catches up from its cursor. SQLite has no
notifications: consoles poll.

:class:`LinkState` is what the header shows: whether the database answers, when the next
try is, and the last successful sync. Screens' feed reads and the listener both report
into it; it never reads the database itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool
from tenacity import RetryCallState, wait_exponential_jitter

from agent_console.desk.feed import FEED_CHANNEL, FeedBatch, FeedCursor, FeedMixin
from agent_console.desk.presence import PRESENCE_CHANNEL
from agent_console.store.db import first_line

#: seconds of the first retry after a failure, doubled up to :data:`RETRY_MAX`, plus up to
#: :data:`RETRY_JITTER` seconds of jitter (consoles of a team do not reconnect in step)
RETRY_FIRST = 1.0
RETRY_MAX = 30.0
RETRY_JITTER = 1.0
#: the listener checks its connection this often when nothing arrives (seconds)
LISTEN_PING = 5.0


class Backoff:
    """Waits between tries: ``first`` × 2ⁿ capped at ``most``, plus up to ``jitter``
    seconds (tenacity's ``wait_exponential_jitter``). :meth:`next` counts a failure and
    returns the wait in seconds; :meth:`reset` after a success."""

    def __init__(
        self, first: float = RETRY_FIRST, most: float = RETRY_MAX, jitter: float = RETRY_JITTER
    ) -> None:
        self._wait = wait_exponential_jitter(multiplier=first, max=most, jitter=jitter)
        self.failures = 0

    def next(self) -> float:
        self.failures += 1
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = self.failures
        return float(self._wait(state))

    def reset(self) -> None:
        self.failures = 0


@dataclass(frozen=True)
class LinkView:
    """What the header shows of the link: ``error`` None when the database answers; else
    the one-line reason, the seconds until the next try, and the last successful sync
    (UTC; None: none yet)."""

    error: str | None
    retry_in: float | None
    last_sync: datetime | None

    def notice(self, zone: tzinfo) -> str | None:
        """``database unavailable — retrying in 4 s · last sync 15:02:11`` (None: up)."""
        if self.error is None:
            return None
        out = "database unavailable"
        if self.retry_in is not None:
            secs = max(0, int(self.retry_in + 0.999))
            out += f" — retrying in {secs} s" if secs else " — retrying now"
        if self.last_sync is not None:
            out += f" · last sync {self.last_sync.astimezone(zone):%H:%M:%S}"
        return out


class LinkState:
    """Whether this console reaches its database (thread-safe: workers and the listener
    report, the UI thread reads). Times: ``monotonic`` seconds for retries, wall-clock
    UTC for the last sync."""

    def __init__(
        self,
        backoff: Backoff | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._backoff = backoff or Backoff()
        self._mono = monotonic
        self.error: str | None = None
        self.retry_at: float | None = None
        self.last_sync: datetime | None = None
        #: failures reported since the link was last up (tests and the bench read it)
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.error is not None

    def succeeded(self, at: datetime) -> bool:
        """A read or write went through at ``at`` (UTC). Returns True when the link was
        down (the console should catch up)."""
        with self._lock:
            was_down = self.error is not None
            self.error = None
            self.retry_at = None
            self.last_sync = at
            self._backoff.reset()
            return was_down

    def failed(self, error: str, *, retry_in: float | None = None) -> float:
        """A read or write failed with ``error`` (one line, no secret). Schedules the next
        try (``retry_in`` seconds, else the backoff's next wait) and returns its wait."""
        with self._lock:
            wait = self._backoff.next() if retry_in is None else retry_in
            self.error = error
            self.retry_at = self._mono() + wait
            self.failures += 1
            return wait

    def may_try(self) -> bool:
        """True when up, or when the next try is due."""
        with self._lock:
            return self.error is None or self.retry_at is None or self._mono() >= self.retry_at

    def view(self) -> LinkView:
        with self._lock:
            retry_in = None if self.retry_at is None else max(0.0, self.retry_at - self._mono())
            return LinkView(self.error, retry_in, self.last_sync)


def listener_engine(engine: Engine) -> Engine:
    """An engine on the same database without a pool: the listener's one connection."""
    return create_engine(engine.url, poolclass=NullPool)


class FeedListener:
    """A thread that LISTENs (PostgreSQL only) and calls ``on_wake(channel, payload)`` for
    every notification, ``on_wake("lost", "")`` when the connection broke (it retries after
    the backoff) and ``on_wake("reconnected", "")`` once it is back.
    ``link`` (optional) is told about failures and recoveries. ``ping``: seconds between
    connection checks when idle. Start with :meth:`start`, end with :meth:`stop`."""

    def __init__(
        self,
        engine: Engine,
        on_wake: Callable[[str, str], None],
        *,
        link: LinkState | None = None,
        backoff: Backoff | None = None,
        ping: float = LISTEN_PING,
        clock: Callable[[], datetime] | None = None,
        channels: tuple[str, ...] = (FEED_CHANNEL, PRESENCE_CHANNEL),
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("notifications need PostgreSQL (SQLite consoles poll)")
        self._engine = listener_engine(engine)
        self._on_wake = on_wake
        self._link = link
        self._backoff = backoff or Backoff()
        self._ping = ping
        self._clock = clock or (lambda: datetime.now(UTC))
        self._channels = channels
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn = None  # the psycopg connection while connected
        #: notifications received, and connections made (tests read them)
        self.wakes = 0
        self.connects = 0
        #: set while a connection is up and listening
        self.listening = threading.Event()
        #: the server process id of the listening connection (tests kill it)
        self.backend_pid: int | None = None

    def start(self) -> FeedListener:
        self._thread = threading.Thread(target=self._run, name="feed-listener", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._engine.dispose()

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                self._listen(catch_up=not first)
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect later
                self.listening.clear()
                self.backend_pid = None
                wait = self._backoff.next()
                if self._link is not None:
                    self._link.failed(f"database unavailable: {first_line(exc)}", retry_in=wait)
                if not self._stop.is_set():
                    self._on_wake("lost", "")
                self._stop.wait(wait)
            first = False

    def _listen(self, *, catch_up: bool) -> None:
        raw = self._engine.raw_connection()
        try:
            conn = raw.driver_connection
            conn.autocommit = True  # type: ignore[union-attr]
            for channel in self._channels:
                conn.execute(f'LISTEN "{channel}"')  # type: ignore[union-attr]
            self.backend_pid = conn.info.backend_pid  # type: ignore[union-attr]
            self.connects += 1
            self._backoff.reset()
            self.listening.set()
            if self._link is not None:
                self._link.succeeded(self._clock())
            if catch_up:
                self._on_wake("reconnected", "")
            last_ping = time.monotonic()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=0.25):  # type: ignore[union-attr]
                    self.wakes += 1
                    self._on_wake(note.channel, note.payload)
                    last_ping = time.monotonic()
                if time.monotonic() - last_ping >= self._ping:
                    conn.execute("SELECT 1")  # type: ignore[union-attr]
                    last_ping = time.monotonic()
        finally:
            self.listening.clear()
            try:
                raw.close()
            except Exception:  # noqa: BLE001 - the connection is already gone
                pass


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (a desk :class:`~agent_console.errors.UserError`) means the
    database could not be reached — an outage — rather than a refusal or bad input."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    cause = exc.__cause__
    if isinstance(cause, OperationalError):
        return True
    return isinstance(cause, DBAPIError) and bool(cause.connection_invalidated)


class FeedFollower:
    """A console's follow loop without a screen (the bench, tests, scripts): a thread that
    reads the feed from ``cursor`` when woken by a notification (PostgreSQL, ``listen``)
    or every ``poll`` seconds, calls ``apply(batch)`` and only then advances the cursor. A
    failed read or apply leaves the cursor: the same changes come again at the next try
    (after the link's backoff). The screens do the same with Textual workers."""

    def __init__(
        self,
        desk: FeedMixin,
        apply: Callable[[FeedBatch], None],
        *,
        cursor: FeedCursor | None = None,
        listen: bool = True,
        poll: float = 1.0,
        link: LinkState | None = None,
        listener_backoff: Backoff | None = None,
    ) -> None:
        self.desk = desk
        self.apply = apply
        self.cursor = cursor or desk.follow_feed()
        self.poll = poll
        self.link = link or LinkState()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listener: FeedListener | None = None
        if listen and desk.engine.dialect.name == "postgresql":
            self.listener = FeedListener(
                desk.engine,
                self._woken,
                link=self.link,
                backoff=listener_backoff,
                channels=(FEED_CHANNEL,),
            )
        #: reads that found changes, and wake-ups by notification (tests read them)
        self.reads = 0
        self.woken = 0

    def _woken(self, channel: str, _payload: str) -> None:
        if channel == "lost":
            return
        self.woken += 1
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> FeedFollower:
        if self.listener is not None:
            self.listener.start()
        self._thread = threading.Thread(target=self._run, name="feed-follower", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self.listener is not None:
            self.listener.stop(timeout)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            # after a failed read, try again when the backoff says so, not only at the
            # next notification (which may never come): nothing stays unread
            wait = self.poll
            retry_in = self.link.view().retry_in if self.link.down else None
            if retry_in is not None:
                wait = min(wait, retry_in + 0.01)
            self._wake.wait(wait)
            self._wake.clear()
            if self._stop.is_set():
                return
            if not self.link.may_try():
                continue
            self.step()

    def step(self) -> bool:
        """One read-apply-advance; False when it failed (the cursor stayed)."""
        try:
            batch = self.desk.read_feed(self.cursor)
            if batch:
                self.apply(batch)
                self.reads += 1
            self.cursor.advance(batch)
        except Exception as exc:  # noqa: BLE001 - an outage or a failed apply: retry later
            self.link.failed(first_line(exc))
            return False
        if self.link.succeeded(datetime.now(UTC)):
            self._wake.set()  # back: read again at once (catch up)
        return True

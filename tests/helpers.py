"""Helpers many test modules share (one home instead of a copy per module, or tests importing
other test modules): a settable clock, waits that pause the app until a condition holds,
and the two app builders the screen tests start from — the whole console as alice on the
seeded queue, and the ticket screen on its own.

``tests/test_queue_screen.py`` and ``tests/test_ticket_screen.py`` still export these names
(they import them from here), so older imports keep working.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from textual.app import ComposeResult
from textual.message import Message as TMessage
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Static

import agent_console.app as app_module
from agent_console.app import AgentConsoleApp, create_app
from agent_console.desk import Desk
from agent_console.screens.queue import QueueScreen
from agent_console.screens.ticket import TicketLoaded, TicketRefused, TicketSaved, TicketScreen
from agent_console.settings import Settings
from tests.conftest import FIXED_NOW

#: the queue tests' terminal (columns, lines)
SIZE = (160, 40)


class Clock:
    """A clock the test sets or moves: ``clock.now`` is what the desk and the app read."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        """Move the clock by ``timedelta(**kw)``; returns the new now."""
        self.now = self.now + timedelta(**kw)
        return self.now


# ---------------------------------------------------------------- waiting
async def until(pilot: Pilot, cond: Callable[[], object], timeout: float = 20.0) -> bool:
    """Wait (pausing the app 50 ms at a time) until ``cond()`` holds; False after
    ``timeout`` seconds. Generous: the machine is shared, and what a test checks is the
    outcome, not the speed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        await pilot.pause(0.05)
    return bool(cond())


async def wait_for(
    pilot: Pilot, cond: Callable[[], object], timeout: float = 20.0, what: str = ""
) -> None:
    """:func:`until`, raising AssertionError (``timed out``, and ``what``) when
    ``cond()`` still does not hold after ``timeout`` seconds."""
    if not await until(pilot, cond, timeout):
        raise AssertionError(f"timed out{': ' + what if what else ''}")


# ---------------------------------------------------------------- the queue
def make_queue_app(
    desk: Desk, settings: Settings, clock: Clock | None = None
) -> AgentConsoleApp:
    """The app as alice (tier 1) sees it, on the seeded database, at a fixed clock."""
    alice = settings.with_(agent="alice")
    return create_app(
        alice,
        desk=Desk(desk.engine, alice),
        clock=clock or Clock(FIXED_NOW),
        offer_demo=False,
        alerts=False,  # the alert worker has its own tests (test_oncall_screen.py)
    )


async def settle_queue(pilot: Pilot, *, timeout: float = 20.0) -> QueueScreen:
    """Wait until the queue shows its latest query, counts included."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.02)
        screen = app.screen
        busy = any(w.group == "queue-load" and not w.is_finished for w in app.workers)
        if (
            isinstance(screen, QueueScreen)
            and not busy
            and screen._shown_generation == screen._generation
            and screen.counts is not None
        ):
            await pilot.pause(0.05)
            return screen
    raise AssertionError("queue did not settle")


# ---------------------------------------------------------------- the ticket screen
class Blank(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Static("queue")


class TicketTestApp(AgentConsoleApp):
    """The real app with a stand-in queue, so the detail screen is tested on its own."""

    MODES = {"queue": Blank}  # type: ignore[dict-item]
    CSS_PATH = Path(app_module.__file__).with_name("app.tcss")


def make_desk(settings: Settings, agent: str) -> Desk:
    """A desk acting as ``agent`` with ann, bob (tier 1) and tom (tier 2)."""
    desk = Desk.open(settings.with_(agent=agent))
    for handle, name, tier, lead in [
        ("ann", "Ann One", 1, False),
        ("bob", "Bob One", 1, False),
        ("tom", "Tom Two", 2, False),
    ]:
        desk.add_agent(handle, name, tier, lead=lead)
    return desk


def ticket(desk: Desk, **kw) -> str:  # type: ignore[no-untyped-def]
    """A critical ticket from Ava Adams opened 30 minutes before FIXED_NOW; ``kw`` overrides."""
    return desk.create_ticket(
        subject=kw.pop("subject", "Terminals fail with E1042"),
        body=kw.pop("body", "All POS terminals fail."),
        requester_email="ava@acme.example",
        requester_name="Ava Adams",
        priority=kw.pop("priority", "critical"),
        opened_at=FIXED_NOW - timedelta(minutes=30),
        **kw,
    )


async def settle_ticket(pilot: Pilot) -> None:
    """Let the app's workers finish, twice (a load may start another)."""
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_ticket(pilot: Pilot, key: str) -> TicketScreen:
    screen = TicketScreen(key)
    await pilot.app.push_screen(screen)
    await settle_ticket(pilot)
    assert screen.detail is not None
    return screen


def make_ticket_app(desk: Desk, messages: list[TMessage] | None = None) -> TicketTestApp:
    """No real ticks: a 1-second tick polling the feed while a test waits made results
    depend on the machine's speed; tests that need a tick call ``screen._tick()``."""
    return TicketTestApp(
        desk.settings, desk=desk, offer_demo=False, real_ticks=False, alerts=False
    )


def ticket_hook(messages: list[TMessage]):  # type: ignore[no-untyped-def]
    """A ``message_hook`` recording the ticket screen's loaded / saved / refused messages."""

    def record(message: TMessage) -> None:
        if isinstance(message, TicketLoaded | TicketSaved | TicketRefused):
            messages.append(message)

    return record


# ---------------------------------------------------------------- a team on PostgreSQL
def pg_team(pg_url: str, tickets: int = 3) -> tuple[Settings, Desk, list[str]]:
    """Settings on ``pg_url`` at FIXED_NOW, an admin desk with alice and bruno (tier 1)
    and ``tickets`` urgent tickets ``t0``, ``t1``…: ``(settings, admin desk, keys)``."""
    base = Settings(db_url=pg_url, now=FIXED_NOW)
    admin = Desk.open(base)
    admin.add_agent("alice", "Alice One", 1)
    admin.add_agent("bruno", "Bruno Two", 1)
    keys = [
        admin.create_ticket(
            subject=f"t{i}", body="b", requester_email="a@b.example", priority="urgent"
        )
        for i in range(tickets)
    ]
    return base, admin, keys

"""Shared pieces of the on-call tests: a settable clock, a desk on it, tickets and agents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent_console.desk import Desk
from agent_console.settings import Settings

#: Saturday 28 Nov 2026 03:00 UTC = Friday 22:00 New York: after hours
SAT_NIGHT = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
#: Monday 23 Nov 2026 15:00 UTC = 10:00 New York: business hours
MON_DAY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves: ``clock.now`` is what the desk reads."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now = self.now + timedelta(**kw)
        return self.now


def open_desk(url: str, clock: Clock, **settings: object) -> Desk:
    return Desk.open(Settings(db_url=url, **settings), clock=clock)  # type: ignore[arg-type]


def add_team(desk: Desk) -> None:
    """alice (tier 1, on call), bob (tier 2, on call), carol (tier 1), lee (lead)."""
    desk.add_agent("alice", "Alice", 1, on_call=True)
    desk.add_agent("bob", "Bob", 2, on_call=True)
    desk.add_agent("carol", "Carol", 1)
    desk.add_agent("lee", "Lee", 3, lead=True)


def new_ticket(desk: Desk, priority: str = "critical", subject: str = "Payments down") -> str:
    return desk.create_ticket(
        subject=subject,
        body="Nothing works",
        requester_email="ops@example.com",
        priority=priority,
    )

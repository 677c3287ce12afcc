"""Shared pieces of the on-call tests: a settable clock, a desk on it, tickets and agents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent_console.desk import AlertRow, Desk
from agent_console.desk.oncall import OncallSlot, OncallState
from agent_console.settings import Settings
from tests.helpers import Clock

#: Saturday 28 Nov 2026 03:00 UTC = Friday 22:00 New York: after hours
SAT_NIGHT = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
#: Monday 23 Nov 2026 15:00 UTC = 10:00 New York: business hours
MON_DAY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


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


def alert_row(i: int = 1, *, crossed_ago: float | None = None, **kw: object) -> AlertRow:
    """Alert ``i`` (``SUP-i``, critical, first reply due and fired at SAT_NIGHT);
    ``crossed_ago``: its threshold was crossed that many seconds before (``fire_at``);
    ``kw`` overrides any field."""
    base: dict[str, object] = dict(
        id=i, key=f"SUP-{i}", subject=f"subject {i}", priority="critical", assignee=None,
        metric="first_response", cycle=1, threshold="1", due_at=SAT_NIGHT,
        fired_at=SAT_NIGHT, level=0, acknowledged_at=None, acknowledged_by=None,
        resolved_at=None, rehearsal=False,
    )
    if crossed_ago is not None:
        base["fire_at"] = SAT_NIGHT - timedelta(seconds=crossed_ago)
    base.update(kw)
    return AlertRow(**base)  # type: ignore[arg-type]


def oncall_state() -> OncallState:
    """On call at SAT_NIGHT: alice primary, bob secondary, lee the lead (from the rota)."""

    def slot(level: str, handle: str) -> OncallSlot:
        return OncallSlot(level, handle, handle.title(), None, None, "rota")

    return OncallState(SAT_NIGHT, slot("primary", "alice"), slot("secondary", "bob"), ["lee"])

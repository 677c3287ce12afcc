"""The change feed: a console sees every committed change once, even when transactions
commit out of id order (PostgreSQL sequences)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from agent_console.desk import Desk
from agent_console.store.models import TicketEvent

AT = datetime(2026, 11, 23, 14, tzinfo=UTC)


def _event(desk: Desk, ticket_id: int, event_id: int | None = None) -> None:
    values = {"ticket_id": ticket_id, "kind": "test", "at": AT, "details": {}}
    if event_id is not None:
        values["id"] = event_id
    with desk.write() as s:
        s.execute(insert(TicketEvent.__table__).values(**values))


def _ticket_ids(desk: Desk, n: int) -> list[int]:
    keys = [desk.create_ticket(subject=f"t{i}", body="b", requester_email="a@b.example")
            for i in range(n)]
    with desk.read() as s:
        from sqlmodel import select

        from agent_console.store.models import Ticket

        return [s.exec(select(Ticket.id).where(Ticket.key == k)).one() for k in keys]


def test_poll_returns_changed_tickets_once(desk: Desk) -> None:
    t1, t2 = _ticket_ids(desk, 2)
    cursor = desk.follow_feed()
    assert desk.poll_feed(cursor) == frozenset()
    _event(desk, t1)
    _event(desk, t2)
    assert desk.poll_feed(cursor) == {t1, t2}
    assert desk.poll_feed(cursor) == frozenset()


def test_an_event_committed_late_with_a_lower_id_is_not_lost(desk: Desk) -> None:
    """Simulate PostgreSQL: id N+2 becomes visible before id N+1."""
    t1, t2 = _ticket_ids(desk, 2)
    cursor = desk.follow_feed()
    base = cursor.last_event_id
    _event(desk, t2, event_id=base + 2)
    assert desk.poll_feed(cursor) == {t2}
    assert cursor.gaps == {base + 1}
    _event(desk, t1, event_id=base + 1)  # the slow transaction commits now
    assert desk.poll_feed(cursor) == {t1}
    assert cursor.gaps == set()


def test_gaps_that_never_fill_are_given_up(desk: Desk, monkeypatch) -> None:
    from agent_console.desk import feed

    monkeypatch.setattr(feed, "GAP_WINDOW", 3)
    (t1,) = _ticket_ids(desk, 1)
    cursor = desk.follow_feed()
    base = cursor.last_event_id
    _event(desk, t1, event_id=base + 2)  # base + 1 was rolled back
    desk.poll_feed(cursor)
    assert base + 1 in cursor.gaps
    for i in range(3, 7):
        _event(desk, t1, event_id=base + i)
    desk.poll_feed(cursor)
    assert cursor.gaps == set()


@pytest.mark.postgres
def test_feed_on_postgres(pg_desk: Desk) -> None:
    t1, t2 = _ticket_ids(pg_desk, 2)
    cursor = pg_desk.follow_feed()
    _event(pg_desk, t1)
    assert pg_desk.poll_feed(cursor) == {t1}

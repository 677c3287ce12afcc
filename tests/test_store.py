"""Model round-trips on SQLite and PostgreSQL; the engine factory (migrations:
test_migrations.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from agent_console.errors import UserError
from agent_console.store.db import make_engine, open_engine
from agent_console.store.models import (
    Agent,
    Customer,
    KBArticle,
    Message,
    Organization,
    Ticket,
    TicketArticle,
    TicketEvent,
)

OPENED = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def _round_trip(url: str) -> None:
    engine = open_engine(url)
    with Session(engine) as s:
        org = Organization(name="Bluebird Bank", sla_policy="enterprise-plus")
        s.add(org)
        s.flush()
        cust = Customer(name="Ava Ito", email="ava@bluebird.example", organization_id=org.id)
        agent = Agent(handle="femi", name="Femi Adeyemi", tier=2, on_call=True, lead=False)
        s.add_all([cust, agent])
        s.flush()
        ticket = Ticket(
            number=1001,
            key="SUP-1001",
            subject="Rewards not posting [see /docs] \x1b[2J",
            requester_id=cust.id,
            organization_id=org.id,
            priority="urgent",
            priority_level=2,
            status="pending",
            tier=2,
            escalated=True,
            assignee_id=agent.id,
            tags="rewards,vip",
            # a non-UTC offset goes in; UTC comes out
            opened_at=OPENED.astimezone(timezone(timedelta(hours=-5))),
            updated_at=OPENED,
            first_response_due=OPENED + timedelta(hours=4),
            paused_since=OPENED + timedelta(hours=1),
            sla_pauses=[[OPENED.isoformat(), (OPENED + timedelta(minutes=5)).isoformat()]],
        )
        s.add(ticket)
        s.flush()
        s.add(Message(ticket_id=ticket.id, kind="handoff", author_agent_id=agent.id,
                      body="Found: x. Tried: y.", created_at=OPENED, pinned=True))
        s.add(TicketEvent(ticket_id=ticket.id, agent_id=agent.id, kind="escalated", at=OPENED,
                          details={"from": 1, "to": 2, "note": "ünïcode ✓"}))
        art = KBArticle(slug="reach-support", title="How to reach support", body="# Hi",
                        updated_at=OPENED)
        s.add(art)
        s.flush()
        s.add(TicketArticle(ticket_id=ticket.id, article_id=art.id, linked_by_id=agent.id,
                            linked_at=OPENED))
        s.commit()

    with Session(engine) as s:
        t = s.exec(select(Ticket).where(Ticket.key == "SUP-1001")).one()
        assert t.opened_at == OPENED and t.opened_at.tzinfo is not None
        assert t.opened_at.utcoffset() == timedelta(0)
        assert t.subject == "Rewards not posting [see /docs] \x1b[2J"
        assert t.tag_list == ["rewards", "vip"]
        assert t.sla_pauses[0][0] == OPENED.isoformat()
        assert t.paused_since == OPENED + timedelta(hours=1)
        assert t.version == 1 and t.escalated
        ev = s.exec(select(TicketEvent)).one()
        assert ev.details == {"from": 1, "to": 2, "note": "ünïcode ✓"}
        msg = s.exec(select(Message)).one()
        assert msg.pinned and msg.kind == "handoff"
        link = s.exec(select(TicketArticle)).one()
        assert link.linked_at == OPENED
        assert s.get(Organization, t.organization_id).sla_policy == "enterprise-plus"
    engine.dispose()


def test_round_trip_sqlite(sqlite_url: str) -> None:
    _round_trip(sqlite_url)


@pytest.mark.postgres
def test_round_trip_postgres(pg_url: str) -> None:
    _round_trip(pg_url)


def test_sqlite_pragmas(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    engine.dispose()


def test_foreign_keys_enforced(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    with Session(engine) as s:
        s.add(Customer(name="x", email="x@y.example", organization_id=999))
        with pytest.raises(Exception, match="FOREIGN KEY"):
            s.commit()
    engine.dispose()


def test_bad_url_is_one_clear_error() -> None:
    with pytest.raises(UserError, match="bad database URL"):
        make_engine("not a url")


def test_unreachable_postgres_is_one_clear_error() -> None:
    with pytest.raises(UserError, match="cannot open database"):
        open_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


def test_naive_datetime_is_refused(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    with Session(engine) as s:
        s.add(KBArticle(slug="a", title="a", updated_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="naive datetime"):
            s.commit()
    engine.dispose()

"""``seed``: deterministic, realistic demo data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from agent_console.desk import Desk
from agent_console.errors import UserError
from agent_console.settings import Settings
from agent_console.store.models import Agent, Message, Organization, Ticket
from tests.conftest import FIXED_NOW


def snapshot(desk: Desk) -> list[tuple]:
    with desk.read() as s:
        tickets = s.execute(
            select(Ticket.key, Ticket.subject, Ticket.priority, Ticket.status, Ticket.tier,
                   Ticket.assignee_id, Ticket.opened_at, Ticket.next_due).order_by(Ticket.number)
        ).all()
        messages = s.execute(
            select(Message.ticket_id, Message.kind, Message.body, Message.created_at)
            .order_by(Message.id)
        ).all()
    return [tuple(r) for r in tickets] + [tuple(r) for r in messages]


def test_same_seed_same_data(tmp_path) -> None:
    desks = [Desk.open(Settings(db_url=f"sqlite:///{tmp_path / f'{i}.db'}")) for i in range(3)]
    desks[0].seed(400, seed=5, now=FIXED_NOW)
    desks[1].seed(400, seed=5, now=FIXED_NOW)
    desks[2].seed(400, seed=6, now=FIXED_NOW)
    assert snapshot(desks[0]) == snapshot(desks[1])
    assert snapshot(desks[0]) != snapshot(desks[2])


def test_seed_is_realistic(seeded_desk: Desk) -> None:
    tickets = seeded_desk.list_tickets()
    assert len(tickets) == 300
    assert {t.priority for t in tickets} == {"critical", "urgent", "minor"}
    assert {t.status for t in tickets} == {"new", "open", "pending", "on_hold", "resolved", "closed"}
    open_ = [t for t in tickets if t.status not in ("resolved", "closed")]
    assert any(t.tier == 2 for t in open_) and any(t.tier == 3 for t in tickets)
    breached = [t for t in open_ if t.next_due and t.next_due < FIXED_NOW]
    near = [t for t in open_ if t.next_due and FIXED_NOW <= t.next_due < FIXED_NOW + timedelta(hours=2)]
    assert breached and near
    assert all(t.opened_at <= FIXED_NOW for t in tickets)
    with seeded_desk.read() as s:
        agents = list(s.execute(select(Agent.tier, Agent.on_call)).all())
        assert {tier for tier, _ in agents} == {1, 2, 3}
        assert any(on_call for _, on_call in agents)
        contracts = s.execute(select(Organization.sla_policy)).scalars().all()
        assert "enterprise-plus" in contracts
        kinds = set(s.execute(select(Message.kind)).scalars().all())
        assert kinds == {"customer", "public", "internal", "handoff"}


def test_seed_refuses_a_database_with_tickets(seeded_desk: Desk) -> None:
    with pytest.raises(UserError, match="--append"):
        seeded_desk.seed(10, now=FIXED_NOW)
    assert seeded_desk.seed(10, now=FIXED_NOW, append=True) == 10
    assert len(seeded_desk.list_tickets()) == 310

"""Linking articles obeys the tier rules and leaves closed tickets alone, from any face."""

from __future__ import annotations

import pytest
from sqlmodel import select

from agent_console.desk import Desk
from agent_console.errors import PermissionDenied, UserError
from agent_console.store.models import Ticket


def _ticket(desk: Desk, **where) -> str:
    with desk.read() as s:
        q = select(Ticket.key)
        for field, value in where.items():
            q = q.where(getattr(Ticket, field) == value)
        return s.exec(q.limit(1)).one()


def _slug(desk: Desk) -> str:
    return desk.search_kb("maintenance window")[0].slug


def test_a_tier1_agent_cannot_link_on_a_tier2_ticket(seeded_desk: Desk) -> None:
    key = _ticket(seeded_desk, tier=2, is_open=True)
    with pytest.raises(PermissionDenied, match="tier 2 ticket"):
        seeded_desk.link_article(key, _slug(seeded_desk), agent="alice")
    with pytest.raises(PermissionDenied):
        seeded_desk.unlink_article(key, _slug(seeded_desk), agent="alice")
    assert seeded_desk.articles_for_ticket(key) == []
    # a lead may
    assert seeded_desk.link_article(key, _slug(seeded_desk), agent="erin") is True


def test_no_links_on_a_closed_ticket(seeded_desk: Desk) -> None:
    key = _ticket(seeded_desk, tier=1, status="closed")
    with pytest.raises(UserError, match="closed"):
        seeded_desk.link_article(key, _slug(seeded_desk), agent="alice")

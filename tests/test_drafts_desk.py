"""Drafts in the database (issue 12): per ticket, agent and kind; only the author sees
them; a sent text deletes its draft in the same transaction — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agent_console.desk import Desk
from agent_console.errors import NotFound, UserError
from agent_console.settings import Settings
from tests.conftest import FIXED_NOW


def prepared(desk: Desk) -> tuple[Desk, Desk, str]:
    desk.add_agent("ann", "Ann One", 1)
    desk.add_agent("bob", "Bob One", 1)
    desk.add_agent("tom", "Tom Two", 2)
    key = desk.create_ticket(
        subject="Terminals fail",
        body="All POS terminals fail.",
        requester_email="ava@acme.example",
        requester_name="Ava Adams",
        priority="critical",
        opened_at=FIXED_NOW - timedelta(minutes=30),
    )
    ann = Desk(desk.engine, desk.settings.with_(agent="ann"))
    bob = Desk(desk.engine, desk.settings.with_(agent="bob"))
    return ann, bob, key


def check_drafts(desk: Desk) -> None:
    ann, bob, key = prepared(desk)
    assert ann.drafts_of_ticket(key) == {} and ann.my_drafts() == []
    ann.save_draft(key, "reply", "Dear Ava, we")
    ann.save_draft(key, "reply", "Dear Ava, we restarted")  # replaces, one row
    ann.save_draft(key, "note", "VIP")
    ann.save_draft(key, "handoff", "found E1042")
    ann.save_draft(key, "resolution", "gateway restart")
    assert ann.drafts_of_ticket(key) == {
        "reply": "Dear Ava, we restarted",
        "note": "VIP",
        "handoff": "found E1042",
        "resolution": "gateway restart",
    }
    # only the author sees them
    assert bob.drafts_of_ticket(key) == {} and bob.my_drafts() == []
    assert bob.draft_ticket_ids() == frozenset()
    tid = ann.ticket_detail(key).id
    assert ann.draft_ticket_ids() == frozenset({tid})
    assert {d.kind for d in ann.my_drafts()} == {"reply", "note", "handoff", "resolution"}
    # a sent text deletes its own draft (and only its own), in the same transaction
    ann.reply(key, "Dear Ava, we restarted the gateway")
    assert "reply" not in ann.drafts_of_ticket(key)
    ann.reply(key, "VIP customer", internal=True)
    assert set(ann.drafts_of_ticket(key)) == {"handoff", "resolution"}
    ann.escalate(key, "found E1042")
    assert set(ann.drafts_of_ticket(key)) == {"resolution"}
    # blank deletes; discarding all
    ann.save_draft(key, "reply", "again")
    ann.save_draft(key, "reply", "   ")
    assert set(ann.drafts_of_ticket(key)) == {"resolution"}
    bob.save_draft(key, "note", "bob's own")
    assert ann.discard_my_drafts() == 1
    assert ann.my_drafts() == [] and bob.drafts_of_ticket(key) == {"note": "bob's own"}
    with pytest.raises(UserError, match="unknown draft kind"):
        ann.save_draft(key, "poem", "x")
    with pytest.raises(NotFound):
        ann.save_draft("SUP-9999", "reply", "x")


def check_resolve_clears(desk: Desk) -> None:
    ann, _, key = prepared(desk)
    ann.save_draft(key, "reply", "Fixed: please retry")
    ann.save_draft(key, "resolution", "restarted")
    ann.resolve(key, "restarted", message="Fixed: please retry")
    assert ann.drafts_of_ticket(key) == {}
    d = ann.ticket_detail(key)
    assert d.status == "resolved" and d.first_response_at == FIXED_NOW
    assert [e.kind for e in d.events][-2:] == ["replied", "resolved"]


def test_drafts_sqlite(settings: Settings) -> None:
    desk = Desk.open(settings)
    try:
        check_drafts(desk)
    finally:
        desk.engine.dispose()


def test_resolve_with_message_clears_drafts_sqlite(settings: Settings) -> None:
    desk = Desk.open(settings)
    try:
        check_resolve_clears(desk)
    finally:
        desk.engine.dispose()


@pytest.mark.postgres
def test_drafts_postgres(pg_desk: Desk) -> None:
    check_drafts(pg_desk)


@pytest.mark.postgres
def test_resolve_with_message_clears_drafts_postgres(pg_desk: Desk) -> None:
    check_resolve_clears(pg_desk)

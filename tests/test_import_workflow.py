"""Issue 9: re-importing obeys the workflow; every ticket-visible change writes an event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from agent_console.desk import Desk
from agent_console.desk.deadlines import parse_pauses
from agent_console.settings import Settings
from agent_console.sla import compute_deadlines
from agent_console.store.models import Message, Ticket, TicketEvent
from tests.conftest import FIXED_NOW, throwaway_pg_database
from tests.test_import import GOOD, write_jsonl


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def wf_desk(request, tmp_path: Path) -> Iterator[Desk]:
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'w.db'}", now=FIXED_NOW, agent="lea")

    def ready(d: Desk) -> Desk:
        d.add_agent("lea", "Lea Lead", 1, lead=True)
        return d

    if request.param == "sqlite":
        d = ready(Desk.open(settings))
        yield d
        d.engine.dispose()
        return
    with throwaway_pg_database(request.getfixturevalue("pg_server")) as url:
        d = ready(Desk.open(settings.with_(db_url=url)))
        yield d
        d.engine.dispose()


def ticket(d: Desk, ext: str) -> Ticket:
    with d.read() as s:
        return s.execute(select(Ticket).where(Ticket.external_id == ext)).scalar_one()


def events(d: Desk, ext: str) -> list[tuple[str, dict]]:
    t = ticket(d, ext)
    with d.read() as s:
        return [
            (e.kind, e.details)
            for e in s.execute(
                select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id)
            ).scalars()
        ]


def first_message(d: Desk, ext: str) -> str:
    t = ticket(d, ext)
    with d.read() as s:
        return s.execute(
            select(Message.body).where(Message.ticket_id == t.id).order_by(Message.id).limit(1)
        ).scalar_one()


CHANGED = dict(GOOD[0], subject="Changed subject", priority="critical", body="rewritten body",
               tags="other")


def test_reimport_never_changes_a_closed_or_resolved_ticket(wf_desk: Desk, tmp_path: Path) -> None:
    """Failure #4: a re-import changed a closed ticket's subject and priority, wrote no
    priority event and overwrote the customer's first message."""
    wf_desk.import_tickets(write_jsonl(tmp_path / "a.jsonl", [GOOD[0], GOOD[1]]))
    for ext in ("zd-1", "zd-2"):
        key = ticket(wf_desk, ext).key
        wf_desk.resolve(key, "fixed")
    wf_desk.set_status(ticket(wf_desk, "zd-1").key, "closed")
    before = {ext: (ticket(wf_desk, ext), events(wf_desk, ext)) for ext in ("zd-1", "zd-2")}
    report = wf_desk.import_tickets(write_jsonl(
        tmp_path / "b.jsonl", [CHANGED, dict(GOOD[1], subject="x", priority="urgent")]))
    assert (report.created, report.updated, report.finished) == (0, 0, 2)
    for ext, (t, evs) in before.items():
        after = ticket(wf_desk, ext)
        assert (after.subject, after.priority, after.tags, after.version) == (
            t.subject, t.priority, t.tags, t.version)
        assert events(wf_desk, ext) == evs
    assert first_message(wf_desk, "zd-1") == GOOD[0]["body"]


def test_reimport_of_an_open_ticket_changes_what_the_workflow_allows_with_events(
    wf_desk: Desk, tmp_path: Path
) -> None:
    wf_desk.import_tickets(write_jsonl(tmp_path / "a.jsonl", [GOOD[0]]))
    before = ticket(wf_desk, "zd-1")
    report = wf_desk.import_tickets(write_jsonl(
        tmp_path / "b.jsonl", [dict(CHANGED, opened_at="2026-11-23T13:00:00Z",
                                    organization="Other Org", requester_email="x@y.example")]))
    assert (report.created, report.updated, report.events) == (0, 1, 3)
    after = ticket(wf_desk, "zd-1")
    assert (after.subject, after.priority, after.priority_level, after.tags) == (
        "Changed subject", "critical", 1, "other")
    assert after.version == before.version + 1  # one field edit, one version
    # what the workflow does not change stays: opening, requester, organization, thread
    assert (after.opened_at, after.requester_id, after.organization_id, after.channel) == (
        before.opened_at, before.requester_id, before.organization_id, before.channel)
    assert first_message(wf_desk, "zd-1") == GOOD[0]["body"]
    kinds = [(k, d) for k, d in events(wf_desk, "zd-1")][1:]
    assert kinds == [
        ("subject", {"from": "Portal login loops", "to": "Changed subject", "source": "import"}),
        ("priority", {"from": "urgent", "to": "critical", "reason": "import b.jsonl",
                      "source": "import"}),
        ("classified", {"request_type": "inoperable", "tags": ["other"], "from_type": "inoperable",
                        "from_tags": ["portal", "login"], "source": "import"}),
    ]
    # the priority change recomputed the deadlines from the stored facts
    d = compute_deadlines(wf_desk.policy_named(None), "critical", before.opened_at,
                          pauses=parse_pauses(after.sla_pauses))
    assert (after.first_response_due, after.resolution_due) == (
        d.first_response_due, d.resolution_due)
    assert after.next_due == d.first_response_due
    # the ticket screen's history says it in words
    history = [e.text for e in wf_desk.ticket_history(after.key)]
    assert any("priority urgent → critical" in h for h in history)


def test_reimporting_the_same_file_changes_nothing(wf_desk: Desk, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", GOOD[:2])
    wf_desk.import_tickets(path)
    evs = events(wf_desk, "zd-1")
    version = ticket(wf_desk, "zd-1").version
    report = wf_desk.import_tickets(path)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert events(wf_desk, "zd-1") == evs and ticket(wf_desk, "zd-1").version == version


def test_history_words_for_an_imported_subject_change(wf_desk: Desk, tmp_path: Path) -> None:
    wf_desk.import_tickets(write_jsonl(tmp_path / "a.jsonl", [GOOD[0]]))
    wf_desk.import_tickets(write_jsonl(tmp_path / "b.jsonl", [dict(GOOD[0], subject="New words")]))
    history = [e.text for e in wf_desk.ticket_history(ticket(wf_desk, "zd-1").key)]
    assert history[-1] == "system changed the subject to New words"

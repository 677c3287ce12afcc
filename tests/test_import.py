"""``import tickets``: all or nothing, every bad row reported, re-import idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agent_console.desk import Desk
from agent_console.desk.importer import ImportFailed
from agent_console.errors import UserError
from agent_console.store.models import Customer, Message, Organization, Ticket, TicketEvent

GOOD = [
    {"external_id": "zd-1", "subject": "Portal login loops", "body": "Cannot log in",
     "requester_email": "Ava@Northwind.example", "requester_name": "Ava Ito",
     "organization": "Northwind Rewards", "priority": "urgent", "channel": "email",
     "opened_at": "2026-11-20T10:15:00-05:00", "request_type": "inoperable",
     "tags": "portal,login"},
    {"external_id": "zd-2", "subject": "How do I refund a redemption?", "body": "See [bold]x[/]",
     "requester_email": "ben@acme.example", "requester_name": "Ben Brooks",
     "organization": "Acme Loyalty", "priority": 3, "channel": "portal",
     "opened_at": "2026-11-21T08:00:00Z"},
    {"subject": "Terminals down", "body": "All POS down", "requester_email": "ava@northwind.example",
     "organization": "Northwind Rewards", "priority": "1", "channel": "phone",
     "opened_at": "2026-11-22T23:00:00+00:00", "tags": ["vt", "outage"]},
]


def write_jsonl(path: Path, rows: list[dict | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def counts(desk: Desk) -> tuple[int, ...]:
    with desk.read() as s:
        return tuple(
            s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Ticket, Message, TicketEvent, Customer, Organization)
        )


def test_import_jsonl_creates_new_unassigned_tier1_tickets(desk: Desk, tmp_path: Path) -> None:
    report = desk.import_tickets(write_jsonl(tmp_path / "t.jsonl", GOOD))
    assert (report.created, report.updated) == (3, 0)
    tickets = {t.subject: t for t in desk.list_tickets()}
    portal = tickets["Portal login loops"]
    assert portal.status == "new" and portal.tier == 1 and portal.assignee is None
    assert portal.priority == "urgent" and portal.organization == "Northwind Rewards"
    assert portal.opened_at.isoformat() == "2026-11-20T15:15:00+00:00"
    # deadlines come from the SLA engine: urgent = 4 business hours from Fri 10:15 ET
    assert portal.first_response_due.isoformat() == "2026-11-20T19:15:00+00:00"
    assert tickets["Terminals down"].priority == "critical"
    assert tickets["How do I refund a redemption?"].priority == "minor"
    # one customer per e-mail, case-insensitive
    assert counts(desk)[3] == 2


def test_reimport_same_external_id_updates_never_duplicates(desk: Desk, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", GOOD)
    desk.import_tickets(path)
    before = counts(desk)
    changed = [dict(GOOD[0], subject="Portal login loops (all managers)", priority="critical"),
               GOOD[1]]
    report = desk.import_tickets(write_jsonl(tmp_path / "t2.jsonl", changed))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    after = counts(desk)
    assert after[0] == before[0] and after[1] == before[1]  # no new tickets or messages
    assert after[2] == before[2] + 2  # a 'subject' and a 'priority' event; none for zd-2
    subjects = {t.subject: t for t in desk.list_tickets()}
    assert subjects["Portal login loops (all managers)"].priority == "critical"
    # the whole file again: zd-1 changes back, zd-2 is unchanged; the row without one is new
    report = desk.import_tickets(path)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    assert counts(desk)[0] == 4


def test_import_csv(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "external_id,subject,body,requester_email,requester_name,organization,priority,channel,opened_at,tags\n"
        'c-1,"Offer emails, sent twice","Line one\nline two",eve@globex.example,Eve,Globex Retail,minor,email,2026-11-20T12:00:00Z,"email,campaign"\n'
        "c-2,Export members,How?,eve@globex.example,Eve,Globex Retail,2,portal,2026-11-20T13:00:00+01:00,\n",
        encoding="utf-8",
    )
    report = desk.import_tickets(path)
    assert report.created == 2
    assert {t.subject for t in desk.list_tickets()} == {"Offer emails, sent twice", "Export members"}


BAD_CASES = {
    "bad date": (dict(GOOD[1], opened_at="2026-13-45T99:00"), "bad opened_at"),
    "naive date": (dict(GOOD[1], opened_at="2026-11-20T10:00:00"), "no UTC offset"),
    "unknown priority": (dict(GOOD[1], priority="blocker"), "unknown priority 'blocker'"),
    "missing subject": ({k: v for k, v in GOOD[1].items() if k != "subject"}, "missing subject"),
    "blank subject": (dict(GOOD[1], subject="   "), "missing subject"),
    "truncated JSON line": ('{"subject": "x", "body": "y', "not valid JSON"),
    "unknown channel": (dict(GOOD[1], channel="fax"), "unknown channel"),
    "bad email": (dict(GOOD[1], requester_email="nobody"), "bad requester_email"),
    "unknown field": (dict(GOOD[1], colour="red"), "unknown field 'colour'"),
    "not an object": ("[1, 2]", "expected a JSON object"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_a_bad_row_imports_nothing(desk: Desk, tmp_path: Path, case: str) -> None:
    desk.import_tickets(write_jsonl(tmp_path / "first.jsonl", [GOOD[0]]))
    before = counts(desk)
    bad, reason = BAD_CASES[case]
    if isinstance(bad, dict):  # not the external id of line 1 (a duplicate is its own error)
        bad = dict(bad, external_id="zd-bad")
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD[1], GOOD[2], bad, dict(GOOD[0], subject="new")])
    with pytest.raises(ImportFailed) as info:
        desk.import_tickets(path)
    assert [e.line for e in info.value.errors] == [3]
    assert reason in info.value.errors[0].reason
    assert counts(desk) == before


def test_every_bad_row_is_reported_with_its_line(desk: Desk, tmp_path: Path) -> None:
    rows = [GOOD[0], dict(GOOD[1], priority="p9"), "", GOOD[2], "{oops", dict(GOOD[1], subject="")]
    with pytest.raises(ImportFailed) as info:
        desk.import_tickets(write_jsonl(tmp_path / "bad.jsonl", rows))
    assert [e.line for e in info.value.errors] == [2, 5, 6, 6]
    # every problem of a row: line 6 lacks a subject AND repeats line 2's external id
    assert [e.reason for e in info.value.errors][2:] == [
        "missing subject", "external_id 'zd-2' is also on line 2 (one row per ticket in a file)"
    ]
    assert counts(desk)[0] == 0


def test_wrong_csv_header_imports_nothing(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("title,body,requester_email,priority,channel,opened_at\nx,y,a@b.c,1,email,2026-11-20T12:00:00Z\n")
    with pytest.raises(UserError, match="wrong CSV header: unknown column 'title'"):
        desk.import_tickets(path)
    assert counts(desk)[0] == 0


def test_csv_row_with_too_many_fields(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "subject,body,requester_email,priority,channel,opened_at\n"
        "ok,y,a@b.example,1,email,2026-11-20T12:00:00Z\n"
        "x,y,a@b.example,1,email,2026-11-20T12:00:00Z,extra\n"
    )
    with pytest.raises(ImportFailed) as info:
        desk.import_tickets(path)
    assert info.value.errors[0].line == 3
    assert counts(desk)[0] == 0


def test_unreadable_file(desk: Desk, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        desk.import_tickets(tmp_path / "missing.jsonl")
    binary = tmp_path / "b.jsonl"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(UserError, match="not UTF-8"):
        desk.import_tickets(binary)


def test_failure_while_writing_leaves_nothing(desk: Desk, tmp_path: Path, monkeypatch) -> None:
    """A crash half way through the bulk write rolls the whole file back."""
    from agent_console.desk import importer

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(importer.ImportMixin, "_bulk_insert_new", boom)
    with pytest.raises(RuntimeError):
        desk.import_tickets(write_jsonl(tmp_path / "t.jsonl", GOOD))
    assert counts(desk) == (0, 0, 0, 0, 0)


@pytest.mark.postgres
def test_import_on_postgres(pg_desk: Desk, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", GOOD)
    assert pg_desk.import_tickets(path).created == 3
    assert pg_desk.import_tickets(path).unchanged == 2
    assert counts(pg_desk)[0] == 4  # the row without external_id was imported twice

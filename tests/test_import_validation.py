"""Issue 15: one validation layer for imported rows, the same answer on SQLite and
PostgreSQL, every problem with its line, never a traceback."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from agent_console.cli import main
from agent_console.desk import Desk
from agent_console.desk.importer import ImportFailed
from agent_console.desk.validation import MAX_REPORTED
from agent_console.errors import UserError
from agent_console.settings import Settings
from agent_console.store.models import Customer, Message, Organization, Ticket
from tests.conftest import FIXED_NOW, throwaway_pg_database
from tests.test_import import GOOD, counts, write_jsonl


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_desk(request, tmp_path: Path) -> Iterator[Desk]:
    """The same test on a SQLite file and on a throwaway PostgreSQL database."""
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'v.db'}", now=FIXED_NOW)
    if request.param == "sqlite":
        d = Desk.open(settings)
        yield d
        d.engine.dispose()
        return
    with throwaway_pg_database(request.getfixturevalue("pg_server")) as url:
        d = Desk.open(settings.with_(db_url=url))
        yield d
        d.engine.dispose()


def row(**changes) -> dict:
    return dict(GOOD[1], **changes)


def refused(desk: Desk, path: Path) -> list[tuple[int, str]]:
    before = counts(desk)
    with pytest.raises(ImportFailed) as info:
        desk.import_tickets(path)
    assert counts(desk) == before, "a refused file wrote something"
    return [(e.line, e.reason) for e in info.value.errors]


# ------------------------------------------------------------------ one answer, both databases
@pytest.mark.parametrize("field", ["organization", "requester_email", "external_id"])
def test_a_10kb_indexed_field_is_a_line_error_on_both_databases(
    any_desk: Desk, tmp_path: Path, field: str
) -> None:
    big = "x" * 10_000 + ("@example.com" if field == "requester_email" else "")
    errors = refused(any_desk, write_jsonl(tmp_path / "big.jsonl", [GOOD[0], row(**{field: big})]))
    assert len(errors) == 1 and errors[0][0] == 2
    assert errors[0][1].startswith(f"{field} is 10,0") and "characters long (at most" in errors[0][1]


def test_a_body_with_nul_imports_identically_on_both_databases(
    any_desk: Desk, tmp_path: Path
) -> None:
    any_desk.import_tickets(write_jsonl(tmp_path / "nul.jsonl", [row(body="before\x00after")]))
    with any_desk.read() as s:
        assert s.execute(select(Message.body)).scalars().all() == ["before\ufffdafter"]


def test_nul_is_replaced_by_the_storage_layer_for_every_writer(any_desk: Desk) -> None:
    """Not only the importer: an ORM write (create_ticket, as mail and the TUI use) too."""
    key = any_desk.create_ticket(
        subject="Sub\x00ject", body="a\x00b", requester_email="n@example.com",
        requester_name="N\x00N",
    )
    with any_desk.read() as s:
        t = s.execute(select(Ticket).where(Ticket.key == key)).scalar_one()
        assert t.subject == "Sub\ufffdject"
        assert s.execute(select(Message.body)).scalar_one() == "a\ufffdb"
        assert s.execute(select(Customer.name)).scalar_one() == "N\ufffdN"


def test_valid_rows_with_line_separators_inside_strings_import_whole(
    any_desk: Desk, tmp_path: Path
) -> None:
    """json.dumps(..., ensure_ascii=False) writes U+2028 / U+0085 raw: data, not line breaks."""
    bodies = ["one\u2028two", "three\x85four", "five\u2029six\x1cseven\r\neight"]
    rows = [row(external_id=f"s-{i}", body=b) for i, b in enumerate(bodies)]
    path = tmp_path / "seps.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    report = any_desk.import_tickets(path)
    assert report.created == 3
    with any_desk.read() as s:
        assert sorted(s.execute(select(Message.body)).scalars()) == sorted(bodies)


def test_a_lone_surrogate_escape_is_a_line_error(any_desk: Desk, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "s.jsonl", [GOOD[0], json.dumps(row()).replace(
        '"body": "See', '"body": "\\ud800See')])
    assert refused(any_desk, path) == [
        (2, "body holds a lone surrogate U+D800 at character 1 (not a character)")
    ]


# ------------------------------------------------------------------ every problem, every row
def test_every_problem_of_every_row_with_its_line(desk: Desk, tmp_path: Path) -> None:
    rows = [
        GOOD[0],
        row(external_id="a", priority="p9", channel="fax", opened_at="yesterday", colour="red"),
        row(external_id="b", subject="two\nlines", tags=[{"name": "vip"}]),
    ]
    errors = refused(desk, write_jsonl(tmp_path / "bad.jsonl", rows))
    assert [line for line, _ in errors] == [2, 2, 2, 2, 3, 3]
    reasons = " | ".join(r for _, r in errors)
    for expected in (
        "unknown field 'colour'",
        "unknown priority 'p9'",
        "unknown channel 'fax'",
        "bad opened_at 'yesterday'",
        "subject holds the control character U+000A at character 4",
        "tags item 1 is an object",
    ):
        assert expected in reasons


def test_duplicate_external_ids_name_both_lines(desk: Desk, tmp_path: Path) -> None:
    rows = [GOOD[0], GOOD[1], dict(GOOD[0], subject="again"), GOOD[2]]
    assert refused(desk, write_jsonl(tmp_path / "dup.jsonl", rows)) == [
        (3, "external_id 'zd-1' is also on line 1 (one row per ticket in a file)")
    ]


@pytest.mark.parametrize(
    ("opened", "expected"),
    [
        ("0001-01-01T00:00:00Z", "outside the supported range 1900-01-01 to 2199-12-31"),
        ("9999-12-31T23:59:59+00:00", "outside the supported range"),
        ("1899-12-31T23:00:00Z", "outside the supported range"),
        ((FIXED_NOW + timedelta(minutes=6)).isoformat(), "is in the future"),
    ],
)
def test_opened_at_outside_the_range_or_in_the_future(
    desk: Desk, tmp_path: Path, opened: str, expected: str
) -> None:
    errors = refused(desk, write_jsonl(tmp_path / "d.jsonl", [GOOD[0], row(opened_at=opened)]))
    assert len(errors) == 1 and errors[0][0] == 2 and expected in errors[0][1]
    assert errors[0][1].startswith("opened_at ")


def test_opened_at_a_few_minutes_ahead_is_clock_skew_and_accepted(
    desk: Desk, tmp_path: Path
) -> None:
    ahead = (FIXED_NOW + timedelta(minutes=4)).isoformat()
    assert desk.import_tickets(write_jsonl(tmp_path / "d.jsonl", [row(opened_at=ahead)])).created == 1


def test_a_body_over_max_body_chars_is_refused_in_jsonl_and_csv(tmp_path: Path) -> None:
    desk = Desk.open(Settings(db_url=f"sqlite:///{tmp_path / 'm.db'}", now=FIXED_NOW,
                              max_body_chars=1000))
    errors = refused(desk, write_jsonl(tmp_path / "m.jsonl", [row(body="b" * 1001)]))
    assert errors == [(1, "body is 1,001 characters long (at most 1,000)")]
    csv_path = write_csv(tmp_path / "m.csv", [row(body="b" * 1001)])
    assert refused(desk, csv_path) == [(2, "body is 1,001 characters long (at most 1,000)")]
    assert desk.import_tickets(write_csv(tmp_path / "ok.csv", [row(body="b" * 1000)])).created == 1


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_csv_fields_above_the_csv_modules_128k_limit_import(desk: Desk, tmp_path: Path) -> None:
    """The csv module stops at 131,072 characters per field (a traceback before);
    max_body_chars decides instead, as for JSON Lines."""
    body = "long line " * 20_000  # 200,000 characters
    assert desk.import_tickets(write_csv(tmp_path / "big.csv", [row(body=body)])).created == 1
    with desk.read() as s:
        assert s.execute(select(Message.body)).scalar_one() == body


# ------------------------------------------------------------------ whole-file shapes
def test_a_json_array_file_is_named(desk: Desk, tmp_path: Path) -> None:
    for text in (json.dumps(GOOD), json.dumps(GOOD, indent=2)):
        path = tmp_path / "array.json"
        path.write_text(text, "utf-8")
        with pytest.raises(UserError, match="this is a JSON array, not JSON Lines: one object"):
            desk.import_tickets(path)
    assert counts(desk)[0] == 0


def test_a_pretty_printed_object_file_is_named(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(GOOD[0], indent=2), "utf-8")
    with pytest.raises(UserError, match=r"a single JSON object spread over several lines .*"
                       r"lines 1-13\), not JSON Lines"):
        desk.import_tickets(path)
    # one object on one line is a valid one-row JSON Lines file
    path.write_text(json.dumps(GOOD[0]), "utf-8")
    assert desk.import_tickets(path).created == 1


def test_deeply_nested_or_huge_numbers_are_line_errors(desk: Desk, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "n.jsonl", [GOOD[0], "[" * 100_000, '{"priority": ' + "9" * 5000 + "}"])
    errors = refused(desk, path)
    assert [line for line, _ in errors] == [2, 3]
    assert all(r.startswith("not valid JSON") for _, r in errors)


# ------------------------------------------------------------------ the CLI's words
def test_cli_plurals_and_capped_problem_list(capsys, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    assert main(["--db", db, "import", "tickets", str(write_jsonl(tmp_path / "1.jsonl", [GOOD[0]]))]) == 0
    out = capsys.readouterr().out
    assert out.startswith("imported 1 ticket (1 new, 0 updated) in ")
    bad = [row(external_id=f"e{i}", priority="p9") for i in range(MAX_REPORTED + 7)]
    code = main(["--db", db, "import", "tickets", str(write_jsonl(tmp_path / "b.jsonl", bad))])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert len([x for x in err if ": line " in x]) == MAX_REPORTED
    assert err[-2].endswith("… and 7 more problems")
    assert err[-1] == f"agent-console: error: {MAX_REPORTED + 7} problems in {MAX_REPORTED + 7} rows; nothing was imported"
    with Desk.open(Settings(db_url=db)).read() as s:
        assert len(s.execute(select(Organization.id)).all()) == 1

"""Issue 15: generated import files — random Unicode (separators, lone surrogates, NUL,
controls), long fields, odd dates — through the importer on SQLite AND PostgreSQL.

Each file either imports whole, with the same content read back from both databases, or
is refused on both with the same line-numbered errors and nothing written; never a
traceback. One database of each kind per test, emptied between examples; at most 50
examples (PostgreSQL is slow to set up and the machine is shared)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import MetaData, select, text

from agent_console.desk import Desk
from agent_console.desk.importer import ImportFailed
from agent_console.errors import UserError
from agent_console.settings import Settings
from agent_console.store.models import Customer, Message, Organization, Ticket, TicketEvent
from tests.conftest import FIXED_NOW, throwaway_pg_database

pytestmark = pytest.mark.postgres

MAX_BODY = 3000

# every code point class that has bitten an importer: separators, controls, NUL, lone
# surrogates (Cs), format characters, private use, astral
any_text = st.text(
    alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF),
    max_size=40,
)
# text without controls or surrogates: exotic but valid in a one-line field
printable = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    max_size=40,
)
nasty = st.sampled_from(
    ["\x00", "\u2028", "\u2029", "\x85", "\x1c", "\r", "\n", "\t", "\x1b[31m", "\u202e",
     "\ud800", "\udfff", "\ufeff", "\uffff", "\U0001f600", "\u200d", " ", ","]
)
spiced = st.builds(lambda a, n, b: a + n + b, any_text, nasty, any_text)
long_text = st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "😀"]), st.integers(190, 3100))
texty = st.one_of(any_text, spiced, long_text, st.just(""), st.none(), st.integers(-5, 5))


def _instants() -> st.SearchStrategy:
    aware = st.datetimes(
        min_value=datetime(1850, 1, 1), max_value=datetime(2250, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=14))]),
    ).map(lambda d: d.isoformat())
    recent = st.integers(-10**8, 10**6).map(
        lambda s: (FIXED_NOW + timedelta(seconds=s)).isoformat().replace("+00:00", "Z"))
    odd = st.sampled_from([
        "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "2026-02-30T00:00:00Z",
        "2026-11-20T10:00:00", "2026-11-20", "yesterday", "2026-11-20T10:00:00+24:00",
        "1899-12-31T23:59:59Z", "2199-12-31T23:59:59Z", "1900-01-01T00:00:00Z",
    ])
    return st.one_of(recent, recent, aware, odd, texty)


def _row() -> st.SearchStrategy:
    """A plausible row (exotic but often valid text) with up to two fields replaced by
    anything at all: most files are decided by one or two odd values."""
    good_email = st.sampled_from(["ava@acme.example", "Ben@Globex.example", "cy@x.example"])
    base = st.fixed_dictionaries(
        {
            "subject": st.one_of(st.just("Terminal down"), printable, any_text),
            "body": st.one_of(st.just("It broke."), spiced, long_text),
            "requester_email": good_email,
            "priority": st.sampled_from(["critical", "urgent", "minor", "1", 3, " Urgent "]),
            "channel": st.sampled_from(["email", "phone", "portal", "EMAIL"]),
            "opened_at": st.integers(-10**8, 0).map(
                lambda s: (FIXED_NOW + timedelta(seconds=s)).isoformat()),
        },
        optional={
            "external_id": st.sampled_from(["e-1", "e-2", "e-3", "é-😀"]),
            "requester_name": st.one_of(printable, any_text),
            "organization": st.one_of(st.sampled_from(["Acme", "Globex"]), printable),
            "request_type": st.sampled_from(["inoperable", "question", "Added"]),
            "tags": st.one_of(any_text, st.lists(any_text, max_size=3)),
        },
    )
    anything = st.one_of(
        texty, spiced, _instants(),
        st.lists(st.one_of(any_text, st.integers(), st.dictionaries(
            st.text(max_size=3), st.integers(), max_size=1)), max_size=3),
    )
    fields = ["subject", "body", "requester_email", "priority", "channel", "opened_at",
              "external_id", "requester_name", "organization", "request_type", "tags"]
    odd = st.one_of(st.just({}), st.just({}), st.dictionaries(
        st.sampled_from(fields), anything, min_size=1, max_size=2))
    return st.builds(lambda b, o: {**b, **o}, base, odd)


@pytest.fixture
def two_desks(tmp_path: Path, pg_server: str) -> Iterator[tuple[Desk, Desk]]:
    common = Settings(db_url=f"sqlite:///{tmp_path / 'fuzz.db'}", now=FIXED_NOW,
                      max_body_chars=MAX_BODY)
    lite = Desk.open(common)
    with throwaway_pg_database(pg_server) as url:
        pg = Desk.open(common.with_(db_url=url))
        yield lite, pg
        pg.engine.dispose()
    lite.engine.dispose()


def _empty(desk: Desk) -> None:
    """Truncate every table but the schema version (ticket keys restart at SUP-1001)."""
    meta = MetaData()
    meta.reflect(desk.engine)
    names = [t.name for t in meta.sorted_tables if t.name != "schema_version"]
    with desk.engine.begin() as conn:
        if desk.engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(names):
                conn.execute(text(f"DELETE FROM {name}"))


def _content(desk: Desk) -> tuple:
    with desk.read() as s:
        tickets = sorted(
            tuple(r) for r in s.execute(select(
                Ticket.key, Ticket.external_id, Ticket.subject, Ticket.priority, Ticket.status,
                Ticket.channel, Ticket.request_type, Ticket.tags, Ticket.opened_at,
                Ticket.first_response_due, Ticket.resolution_due, Ticket.next_due))
        )
        bodies = sorted(s.execute(select(Message.body)).scalars())
        people = sorted(tuple(r) for r in s.execute(select(Customer.email, Customer.name)))
        orgs = sorted(s.execute(select(Organization.name)).scalars())
        events = s.execute(select(TicketEvent.id)).all()
    return tickets, bodies, people, orgs, len(events)


def _outcome(desk: Desk, path: Path) -> tuple:
    before = _content(desk)
    try:
        report = desk.import_tickets(path)
    except ImportFailed as failed:
        assert failed.errors and all(e.line >= 1 for e in failed.errors)
        assert _content(desk) == before, "a refused file wrote something"
        return ("refused", [(e.line, e.reason) for e in failed.errors])
    except UserError as err:  # a file that is not rows at all (empty, not UTF-8 ...)
        assert _content(desk) == before
        return ("refused", str(err).replace(str(path), "FILE"))
    return ("imported", report.created, report.updated, _content(desk))


def _write(path: Path, rows: list[dict], fmt: str, ascii_only: bool) -> Path:
    if fmt == "csv":
        with path.open("w", newline="", encoding="utf-8", errors="surrogatepass") as fh:
            cols = sorted({k for r in rows for k in r})
            w = csv.DictWriter(fh, fieldnames=cols)
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if v is None else v) if not isinstance(v, list)
                            else ",".join(map(str, v)) for k, v in r.items()})
        return path
    lines = [json.dumps(r, ensure_ascii=ascii_only) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    return path


def _external_id_as_written(value: object, fmt: str) -> str:
    """The external id the file holds: in CSV every cell is text (a list is written joined
    by commas, as :func:`_write` does — hypothesis found ``['0']``, an id "0" in CSV); in
    JSON Lines only a string or a number is one."""
    if value is None:
        return ""
    if fmt == "csv":
        return (",".join(map(str, value)) if isinstance(value, list) else str(value)).strip()
    return str(value).strip() if isinstance(value, str | int) else ""


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(rows=st.lists(_row(), min_size=1, max_size=3), fmt=st.sampled_from(["jsonl", "jsonl", "csv"]),
       ascii_only=st.booleans())
def test_generated_files_import_whole_or_not_at_all_alike_on_both_databases(
    two_desks: tuple[Desk, Desk], tmp_path: Path, rows: list[dict], fmt: str, ascii_only: bool
) -> None:
    lite, pg = two_desks
    for d in (lite, pg):
        _empty(d)
    path = _write(tmp_path / f"fuzz.{fmt}", rows, fmt, ascii_only)
    got_lite = _outcome(lite, path)
    got_pg = _outcome(pg, path)
    assert got_lite == got_pg
    event(got_lite[0])
    if got_lite[0] == "imported":
        # what went in comes back: bodies whole, NUL as U+FFFD
        bodies = got_lite[3][1]
        assert all("\x00" not in b for b in bodies)
        assert len(bodies) == got_lite[1]
        # the same file again: what was stored compares equal to what is read, so rows
        # with an external id change nothing (no update, no event); the others are new
        again_lite, again_pg = _outcome(lite, path), _outcome(pg, path)
        assert again_lite == again_pg
        with_ext = sum(1 for r in rows if _external_id_as_written(r.get("external_id"), fmt))
        assert again_lite[1:3] == (len(rows) - with_ext, 0)

"""``import tickets``: JSON Lines or CSV, validated whole before anything is written.

All or nothing: every row is checked first by :mod:`agent_console.desk.validation` (one
layer, the same answer on SQLite and PostgreSQL); a file with any problem writes nothing
and the report lists every problem of every row with its line number. Rows are then
applied in one transaction with bulk statements.

The same ``external_id`` imported again updates its ticket the way the workflow would
(issue 9): only an open ticket changes, only its subject, priority, request type and tags,
each change writes its event (``subject``, ``priority``, ``classified``) and bumps the
ticket's ``version``; a priority change is the workflow's (``TicketClock.with_priority``):
the deadlines recomputed from the ticket's stored facts, and its ``sla_cycle`` rows and the
metrics rollup moved with them (:func:`~agent_console.desk.deadlines.sync_cycles_many`, the
batched ``sync_cycles``), in the import's transaction. The thread (the customer's first message included), the opening instant, the
requester, the organization and the channel never change; a resolved or closed ticket is
left alone.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from agent_console.desk.deadlines import (
    ClockChange,
    clock_columns,
    clock_of,
    cycle_rows,
    deadline_columns,
    sync_cycles_many,
)
from agent_console.desk.metrics_rollup import add_rows
from agent_console.desk.tickets import KEY_PREFIX, TicketsMixin
from agent_console.desk.validation import (
    FIELDS,
    REQUIRED,
    ImportRow,
    RowChecker,
    RowError,
    _json_kind,
    plural,
)
from agent_console.errors import UserError
from agent_console.sla import Policy, TicketClock
from agent_console.store.models import (
    Customer,
    Message,
    MessageKind,
    Organization,
    Priority,
    SlaCycle,
    Status,
    Ticket,
    TicketEvent,
)

__all__ = ["ImportFailed", "ImportMixin", "ImportReport", "ImportRow", "RowError"]

CHUNK = 5000
_OPEN_STATUSES = frozenset(st.value for st in Status if st.is_open)
_LEVEL = {p.value: p.level for p in Priority}
#: the csv module's own field limit (131,072) is lifted: Settings.max_body_chars decides
CSV_FIELD_LIMIT = 2**31 - 1

Progress = Callable[[str, int, int], None]


@dataclass
class ImportReport:
    """What an import did: ``created`` new tickets, ``updated`` open tickets that changed,
    ``unchanged`` open tickets the file left as they were, ``finished`` resolved or closed
    tickets left alone, ``keys`` of the tickets created or updated."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    finished: int = 0
    events: int = 0
    errors: list[RowError] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged + self.finished

    def summary(self) -> str:
        """``imported 1 ticket (1 new, 0 updated)`` plus what was left alone."""
        text = (
            f"imported {plural(self.total, 'ticket')} "
            f"({self.created:,} new, {self.updated:,} updated"
        )
        if self.unchanged:
            text += f", {self.unchanged:,} unchanged"
        if self.finished:
            text += f", {self.finished:,} resolved or closed left alone"
        return text + ")"


class ImportFailed(UserError):
    """The file had bad rows; nothing was imported. ``errors``: every problem, in line
    order (several per line when a row has several)."""

    def __init__(self, path: str, errors: list[RowError]) -> None:
        rows = len({e.line for e in errors})
        super().__init__(
            f"{path}: {plural(len(errors), 'problem')} in {plural(rows, 'row')}, "
            f"nothing imported (first: {errors[0]})"
        )
        self.errors = errors
        self.rows = rows


# ---------------------------------------------------------------------- reading
def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from exc


def _detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return "jsonl" if text.lstrip()[:1] in ("{", "[") else "csv"


def _loads(line: str) -> Any:
    """``json.loads`` whose every failure is a ValueError (deep nesting included)."""
    try:
        return json.loads(line)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _refuse_whole_json(path: Path, text: str) -> None:
    """A JSON array file, or objects pretty-printed over several lines, is named as such
    instead of being reported line by line."""
    head = text.lstrip(" \t\r\n")
    if not head or head[0] not in "[{":
        return
    start = text[: len(text) - len(head)].count("\n") + 1
    first_line = head.split("\n", 1)[0].rstrip("\r")
    if head[0] == "[":
        try:
            whole = _loads(text)
        except ValueError:
            whole = None
        if isinstance(whole, list) or _fails(first_line):
            raise UserError(
                f"{path}: this is a JSON array, not JSON Lines: one object per line "
                f"(convert it with: jq -c '.[]' {path})"
            )
        return
    if not _fails(first_line):
        return
    try:
        obj, end = json.JSONDecoder().raw_decode(head)
    except (ValueError, RecursionError):
        return
    if isinstance(obj, dict):
        last = start + head[:end].count("\n")
        what = "a single JSON object" if not head[end:].strip() else "JSON objects"
        raise UserError(
            f"{path}: this is {what} spread over several lines (the first spans lines "
            f"{start}-{last}), not JSON Lines: one object per line "
            f"(convert it with: jq -c . {path})"
        )


def _fails(line: str) -> bool:
    try:
        _loads(line)
    except ValueError:
        return True
    return False


def _jsonl_records(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    _refuse_whole_json(path, text)
    # JSON Lines are separated by "\n" only: U+2028, U+0085 ... inside a string are data
    # (str.splitlines() would cut a record there)
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip(" \t\r"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, RowError(n, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except (ValueError, RecursionError) as exc:
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            yield n, RowError(n, f"not valid JSON ({why.split(';')[0]})")
            continue
        if not isinstance(obj, dict):
            yield n, RowError(n, f"expected a JSON object per line, found {_json_kind(obj)}")
            continue
        yield n, obj


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise UserError(f"bad CSV header: {exc}") from None
    if not header:
        raise UserError("empty CSV file: the first line must be a header")
    header = [h.strip() for h in header]
    reader.fieldnames = header
    unknown = [h for h in header if h not in FIELDS]
    missing = [f for f in REQUIRED if f not in header]
    doubled = sorted({h for h in header if header.count(h) > 1})
    if unknown or missing or doubled:
        parts = []
        if unknown:
            parts.append(f"unknown column {unknown[0]!r}")
        if missing:
            parts.append(f"missing column {missing[0]!r}")
        if doubled:
            parts.append(f"column {doubled[0]!r} twice")
        raise UserError(
            f"wrong CSV header: {', '.join(parts)} (expected columns: {', '.join(FIELDS)})"
        )
    line_start = 2
    while True:
        n = line_start
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield n, RowError(n, f"unreadable CSV ({exc}); the rest of the file was not read")
            return
        line_start = reader.line_num + 1
        if None in row:
            yield n, RowError(n, f"{len(header) + len(row[None])} fields, header has {len(header)}")
            continue
        if any(v is None for v in row.values()):
            yield n, RowError(n, f"too few fields, header has {len(header)}")
            continue
        if not any((v or "").strip() for v in row.values()):
            continue
        yield n, {k: v for k, v in row.items() if v != "" or k in REQUIRED}


def read_import_file(
    path: str | Path, checker: RowChecker, progress: Progress | None = None
) -> tuple[list[ImportRow], list[RowError]]:
    """Every row of the file checked: (good rows, every problem in line order).

    Raises :class:`UserError` for a file that is not rows at all (unreadable, not UTF-8,
    a JSON array, a wrong CSV header)."""
    path = Path(path)
    text = _read_text(path)
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    if _detect_format(path, text) == "jsonl":
        records = _jsonl_records(path, text)
    else:
        records = _csv_records(text)
    old_limit = csv.field_size_limit(CSV_FIELD_LIMIT)
    try:
        seen = 0
        for n, rec in records:
            if isinstance(rec, RowError):
                errors.append(rec)
            else:
                result = checker.check(n, rec)
                if isinstance(result, list):
                    errors.extend(result)
                else:
                    rows.append(result)
            seen += 1
            if progress and seen % CHUNK == 0:
                progress("checked", seen, 0)
    finally:
        csv.field_size_limit(old_limit)
    return rows, errors


# ---------------------------------------------------------------------- writing
_EXISTING_COLUMNS = (
    "external_id",
    "id",
    "key",
    "version",
    "status",
    "subject",
    "priority",
    "request_type",
    "tags",
    "organization_id",
    "tier",
    "assignee_id",
    "opened_at",
    "first_response_at",
    "last_public_update_at",
    "paused_since",
    "resolved_at",
    "reopened_at",
    "sla_pauses",
)


class ImportMixin(TicketsMixin):
    def import_tickets(self, path: str | Path, *, progress: Progress | None = None) -> ImportReport:
        """Import a JSON Lines or CSV file of tickets, all or nothing.

        Raises :class:`ImportFailed` (exit 2) listing every problem with its line when any
        row is bad, :class:`UserError` for a file that is not rows at all; nothing is
        written in either case. Limits: :mod:`agent_console.desk.validation`."""
        checker = RowChecker(now=self.now(), max_body_chars=self.settings.max_body_chars)
        rows, errors = read_import_file(path, checker, progress)
        if errors:
            raise ImportFailed(str(path), errors)
        if not rows:
            raise UserError(f"{path}: no tickets in the file")
        report = ImportReport()
        with self.write() as s:
            self._apply_import(s, rows, report, progress, source=Path(path).name)
        return report

    def _apply_import(
        self,
        s: Session,
        rows: list[ImportRow],
        report: ImportReport,
        progress: Progress | None,
        *,
        source: str = "import",
    ) -> None:
        now = self.now()
        # numbers before rows: the order every writer of new tickets follows (tickets.py)
        self.lock_ticket_numbers(s)
        t = Ticket.__table__
        existing: dict[str, Any] = {}
        ext_ids = [r.external_id for r in rows if r.external_id]
        for i in range(0, len(ext_ids), 500):
            chunk = ext_ids[i : i + 500]
            for row in s.execute(
                select(*(t.c[name] for name in _EXISTING_COLUMNS))
                .where(t.c.external_id.in_(chunk))
                # lock the rows about to be updated: an agent's edit committed between this
                # read and the UPDATE would otherwise be overwritten (PostgreSQL; SQLite
                # already holds the write lock)
                .with_for_update()
            ):
                existing[row.external_id] = row
        new_rows = [r for r in rows if not (r.external_id and r.external_id in existing)]
        self._import_new(s, new_rows, report, progress, now)
        self._import_updates(
            s,
            [(r, existing[r.external_id]) for r in rows if r.external_id in existing],
            report,
            now,
            source,
        )

    def _import_new(
        self,
        s: Session,
        rows: list[ImportRow],
        report: ImportReport,
        progress: Progress | None,
        now: datetime,
    ) -> None:
        if not rows:
            return
        orgs = self._ensure_orgs(s, {r.organization for r in rows if r.organization})
        custs = self._ensure_customers(s, rows, orgs)
        org_policy = {
            org_id: self.policy_named(policy_name) for org_id, (_, policy_name) in orgs.items()
        }
        number = self.next_ticket_number(s)
        org_ids = {name: oid for oid, (name, _) in orgs.items()}
        new_tickets: list[dict[str, Any]] = []
        new_bodies: list[tuple[int, int, datetime, str]] = []  # number, customer, at, body
        new_clocks: list[TicketClock] = []  # their sla_cycle rows and metrics (issue 13)
        for done, r in enumerate(rows, start=1):
            cust_id, cust_org = custs[r.requester_email]
            org_id = org_ids.get(r.organization) if r.organization else cust_org
            policy = (org_policy.get(org_id) if org_id else None) or self.default_policy
            prio = str(r.priority)
            sla = deadline_columns(policy, prio, r.opened_at, status=Status.NEW.value)
            key = f"{KEY_PREFIX}-{number}"
            values: dict[str, Any] = {
                "subject": r.subject,
                "requester_id": cust_id,
                "organization_id": org_id,
                "priority": prio,
                "priority_level": _LEVEL[prio],
                "channel": str(r.channel),
                "request_type": str(r.request_type),
                "tags": r.tags,
                "opened_at": r.opened_at,
                "updated_at": now,
                "number": number,
                "key": key,
                "external_id": r.external_id,
                "status": Status.NEW.value,
                "is_open": True,
                "tier": 1,
                "escalated": False,
                "assignee_id": None,
                "sla_pauses": [],
                "version": 1,
                **sla,
            }
            new_tickets.append(values)
            new_bodies.append((number, cust_id, r.opened_at, r.body))
            new_clocks.append(TicketClock.of(policy, prio, r.opened_at, status=Status.NEW.value))
            report.keys.append(key)
            number += 1
            if progress and done % CHUNK == 0:
                progress("prepared", done, len(rows))
        self._bulk_insert_new(s, new_tickets, new_bodies, now, progress)
        self._insert_new_cycles(s, new_tickets, new_clocks)
        report.created = len(new_tickets)
        report.events += len(new_tickets)

    def _import_updates(
        self,
        s: Session,
        pairs: list[tuple[ImportRow, Any]],
        report: ImportReport,
        now: datetime,
        source: str,
    ) -> None:
        """Rows for tickets that exist: what the workflow allows, one event per change."""
        if not pairs:
            return
        importer = self.system_actor(s, "import").id  # work no person does (issue 11)
        o = Organization.__table__
        org_ids = sorted({e.organization_id for _, e in pairs if e.organization_id is not None})
        contract: dict[int, str | None] = {}
        for i in range(0, len(org_ids), 500):
            for oid, name in s.execute(
                select(o.c.id, o.c.sla_policy).where(o.c.id.in_(org_ids[i : i + 500]))
            ):
                contract[oid] = name
        policies: dict[int | None, Policy] = {None: self.default_policy}
        fields_only: list[dict[str, Any]] = []  # subject / type / tags changed
        with_deadlines: list[dict[str, Any]] = []  # the priority changed too
        clocks: list[ClockChange] = []  # their cycle rows and rollup share (issue 13)
        events: list[dict[str, Any]] = []
        for r, e in pairs:
            if e.status not in _OPEN_STATUSES:
                report.finished += 1  # the workflow no longer changes a finished ticket
                continue
            prio, rtype, tags = str(r.priority), str(r.request_type), r.tags
            changed: list[tuple[str, dict[str, Any]]] = []
            if r.subject != e.subject:
                changed.append(("subject", {"from": e.subject, "to": r.subject}))
            if prio != e.priority:
                changed.append(
                    ("priority", {"from": e.priority, "to": prio, "reason": f"import {source}"})
                )
            if rtype != e.request_type or tags != e.tags:
                changed.append(
                    (
                        "classified",
                        {
                            "request_type": rtype,
                            "tags": [x for x in tags.split(",") if x],
                            "from_type": e.request_type,
                            "from_tags": [x for x in (e.tags or "").split(",") if x],
                        },
                    )
                )
            if not changed:
                report.unchanged += 1
                continue
            values: dict[str, Any] = {
                "b_id": e.id,
                "subject": r.subject,
                "priority": prio,
                "priority_level": _LEVEL[prio],
                "request_type": rtype,
                "tags": tags,
                "version": e.version + 1,
                "updated_at": now,
            }
            if prio != e.priority:
                oid = e.organization_id
                if oid not in policies:
                    policies[oid] = self.policy_named(contract.get(oid))
                # the workflow's priority change (desk/workflow.py _do_priority)
                clock = clock_of(e, policies[oid]).with_priority(prio)
                values.update(clock_columns(clock))
                with_deadlines.append(values)
                clocks.append(ClockChange(e, e.priority, clock))
            else:
                fields_only.append(values)
            tid = e.id
            for kind, details in changed:
                details["source"] = "import"
                events.append(
                    {
                        "ticket_id": tid,
                        "agent_id": importer,
                        "kind": kind,
                        "at": now,
                        "details": details,
                    }
                )
            report.keys.append(e.key)
        t = Ticket.__table__
        for batch in (fields_only, with_deadlines):
            for i in range(0, len(batch), CHUNK):
                s.execute(
                    update(t)
                    .where(t.c.id == bindparam("b_id"))
                    .values({k: bindparam(k) for k in batch[0] if k != "b_id"}),
                    batch[i : i + CHUNK],
                )
        sync_cycles_many(s, clocks, now)
        for i in range(0, len(events), CHUNK):
            s.execute(insert(TicketEvent.__table__), events[i : i + CHUNK])
        report.updated = len(fields_only) + len(with_deadlines)
        report.events += len(events)

    def _insert_new_cycles(
        self, s: Session, tickets: list[dict[str, Any]], clocks: list[TicketClock]
    ) -> None:
        """The ``sla_cycle`` rows of the new tickets (their first-response and resolution
        cycles run from the opening) and their share of the metrics rollup."""
        if not tickets:
            return
        t = Ticket.__table__
        first = tickets[0]["number"]
        ids = dict(s.execute(select(t.c.number, t.c.id).where(t.c.number >= first)).all())
        per_ticket = [
            cycle_rows(clock, ids[row["number"]])
            for row, clock in zip(tickets, clocks, strict=True)
        ]
        cycles = [c for each in per_ticket for c in each]
        for i in range(0, len(cycles), CHUNK):
            s.execute(insert(SlaCycle.__table__), cycles[i : i + CHUNK])
        add_rows(s, [(r["priority"], r["opened_at"], None, None) for r in tickets], per_ticket)

    def _bulk_insert_new(
        self,
        s: Session,
        tickets: list[dict[str, Any]],
        bodies: list[tuple[int, int, datetime, str]],
        now: datetime,
        progress: Progress | None,
    ) -> None:
        if not tickets:
            return
        t = Ticket.__table__
        for i in range(0, len(tickets), CHUNK):
            s.execute(insert(t), tickets[i : i + CHUNK])
            if progress:
                progress("written", min(i + CHUNK, len(tickets)), len(tickets))
        first = tickets[0]["number"]
        ids = dict(s.execute(select(t.c.number, t.c.id).where(t.c.number >= first)).all())
        msgs = [
            {
                "ticket_id": ids[n],
                "kind": MessageKind.CUSTOMER.value,
                "author_agent_id": None,
                "author_customer_id": c,
                "body": b,
                "created_at": at,
                "pinned": False,
            }
            for n, c, at, b in bodies
        ]
        importer = self.system_actor(s, "import").id  # work no person does (issue 11)
        events = [
            {
                "ticket_id": ids[n],
                "agent_id": importer,
                "kind": "imported",
                "at": now,
                "details": {"source": "import"},
            }
            for n, _, _, _ in bodies
        ]
        for i in range(0, len(msgs), CHUNK):
            s.execute(insert(Message.__table__), msgs[i : i + CHUNK])
            s.execute(insert(TicketEvent.__table__), events[i : i + CHUNK])

    def _ensure_orgs(self, s: Session, names: set[str | None]) -> dict[int, tuple[str, str | None]]:
        """id -> (name, contract policy) for every organization named (created if new)."""
        o = Organization.__table__
        wanted = {n for n in names if n}
        found = (
            {
                row.name: row
                for row in s.execute(
                    select(o.c.id, o.c.name, o.c.sla_policy).where(o.c.name.in_(wanted))
                )
            }
            if wanted
            else {}
        )
        missing = sorted(wanted - set(found))
        if missing:
            s.execute(insert(o), [{"name": n, "version": 1} for n in missing])
        rows = (
            s.execute(select(o.c.id, o.c.name, o.c.sla_policy).where(o.c.name.in_(wanted))).all()
            if wanted
            else []
        )
        return {row.id: (row.name, row.sla_policy) for row in rows}


    def _ensure_customers(
        self, s: Session, rows: list[ImportRow], orgs: dict[int, tuple[str, str | None]]
    ) -> dict[str, tuple[int, int | None]]:
        """email -> (customer id, organization id)."""
        c = Customer.__table__
        org_ids = {name: oid for oid, (name, _) in orgs.items()}
        wanted: dict[str, ImportRow] = {}
        for r in rows:
            wanted.setdefault(r.requester_email, r)
        emails = list(wanted)
        result: dict[str, tuple[int, int | None]] = {}

        def load() -> None:
            for i in range(0, len(emails), 500):
                for row in s.execute(
                    select(c.c.email, c.c.id, c.c.organization_id).where(
                        c.c.email.in_(emails[i : i + 500])
                    )
                ):
                    result[row.email] = (row.id, row.organization_id)

        load()
        missing = [e for e in emails if e not in result]
        if missing:
            s.execute(
                insert(c),
                [
                    {
                        "email": e,
                        "name": wanted[e].requester_name or e.split("@")[0],
                        "organization_id": org_ids.get(wanted[e].organization or ""),
                    }
                    for e in missing
                ],
            )
            load()
        return result

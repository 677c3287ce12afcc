"""``import tickets``: JSON Lines or CSV, validated whole before anything is written.

All or nothing: every row is checked first; a file with any bad row writes nothing and the
report lists each bad row with its line number and reason. Rows are then applied in one
transaction with bulk statements; the same ``external_id`` imported again updates its
ticket instead of duplicating it.
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

from agent_console.desk.deadlines import deadline_columns, parse_pauses
from agent_console.desk.tickets import KEY_PREFIX, TicketsMixin, normalise_tags
from agent_console.errors import UserError
from agent_console.store.models import (
    Channel,
    Customer,
    Message,
    MessageKind,
    Organization,
    Priority,
    RequestType,
    Status,
    Ticket,
    TicketEvent,
)

FIELDS = (
    "external_id",
    "subject",
    "body",
    "requester_email",
    "requester_name",
    "organization",
    "priority",
    "channel",
    "opened_at",
    "request_type",
    "tags",
)
REQUIRED = ("subject", "body", "requester_email", "priority", "channel", "opened_at")
MAX_SUBJECT = 500
CHUNK = 5000

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ImportRow:
    line: int
    external_id: str | None
    subject: str
    body: str
    requester_email: str
    requester_name: str | None
    organization: str | None
    priority: Priority
    channel: Channel
    opened_at: datetime
    request_type: RequestType
    tags: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportFailed(UserError):
    """The file had bad rows; nothing was imported."""

    def __init__(self, path: str, errors: list[RowError]) -> None:
        n = len(errors)
        super().__init__(
            f"{path}: {n} bad row{'s' if n != 1 else ''}, nothing imported (first: {errors[0]})"
        )
        self.errors = errors


# ---------------------------------------------------------------------- reading
def _read_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    fmt = _detect_format(path, text)
    if fmt == "jsonl":
        yield from _jsonl_records(text)
    else:
        yield from _csv_records(text)


def _detect_format(path: Path, text: str) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    return "jsonl" if text.lstrip().startswith("{") else "csv"


def _jsonl_records(text: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, RowError(n, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield n, RowError(n, "expected a JSON object per line")
            continue
        unknown = sorted(set(obj) - set(FIELDS))
        if unknown:
            yield n, RowError(n, f"unknown field {unknown[0]!r}")
            continue
        yield n, obj


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, Any] | RowError]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames
    if not header:
        raise UserError("empty CSV file: the first line must be a header")
    header = [h.strip() for h in header]
    reader.fieldnames = header
    unknown = [h for h in header if h not in FIELDS]
    missing = [f for f in REQUIRED if f not in header]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown column {unknown[0]!r}")
        if missing:
            parts.append(f"missing column {missing[0]!r}")
        raise UserError(
            f"wrong CSV header: {', '.join(parts)} (expected columns: {', '.join(FIELDS)})"
        )
    line_start = 2
    for row in reader:
        n = line_start
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


# ---------------------------------------------------------------------- validation
def _text(rec: dict[str, Any], key: str) -> str | None:
    value = rec.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise ValueError(f"{key} must be text")
    value = str(value).strip()
    return value or None


def validate(line: int, rec: dict[str, Any]) -> ImportRow | RowError:
    try:
        for key in REQUIRED:
            if _text(rec, key) is None:
                return RowError(line, f"missing {key}")
        subject = _text(rec, "subject") or ""
        if len(subject) > MAX_SUBJECT:
            return RowError(line, f"subject longer than {MAX_SUBJECT} characters")
        email = (_text(rec, "requester_email") or "").lower()
        if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
            return RowError(line, f"bad requester_email {email!r}")
        try:
            priority = Priority.parse(_text(rec, "priority") or "")
        except ValueError as exc:
            return RowError(line, str(exc))
        channel_s = (_text(rec, "channel") or "").lower()
        try:
            channel = Channel(channel_s)
        except ValueError:
            return RowError(line, f"unknown channel {channel_s!r} (use email/phone/portal)")
        opened_s = _text(rec, "opened_at") or ""
        try:
            opened = datetime.fromisoformat(opened_s)
        except ValueError:
            return RowError(line, f"bad opened_at {opened_s!r} (use ISO 8601 with offset)")
        if opened.tzinfo is None:
            return RowError(line, f"opened_at {opened_s!r} has no UTC offset")
        rt_s = (_text(rec, "request_type") or "question").lower()
        try:
            request_type = RequestType(rt_s)
        except ValueError:
            return RowError(
                line, f"unknown request_type {rt_s!r} (use inoperable/added/desired/question)"
            )
        tags = rec.get("tags")
        if tags is not None and not isinstance(tags, str | list):
            return RowError(line, "tags must be text (comma-separated) or a list")
        return ImportRow(
            line=line,
            external_id=_text(rec, "external_id"),
            subject=subject,
            body=str(rec.get("body")),
            requester_email=email,
            requester_name=_text(rec, "requester_name"),
            organization=_text(rec, "organization"),
            priority=priority,
            channel=channel,
            opened_at=opened,
            request_type=request_type,
            tags=normalise_tags(tags),
        )
    except ValueError as exc:
        return RowError(line, str(exc))


def read_import_file(
    path: str | Path, progress: Progress | None = None
) -> tuple[list[ImportRow], list[RowError]]:
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    for n, rec in _read_records(Path(path)):
        result = rec if isinstance(rec, RowError) else validate(n, rec)
        (errors if isinstance(result, RowError) else rows).append(result)  # type: ignore[arg-type]
        if progress and (len(rows) + len(errors)) % CHUNK == 0:
            progress("checked", len(rows) + len(errors), 0)
    return rows, errors


# ---------------------------------------------------------------------- writing
class ImportMixin(TicketsMixin):
    def import_tickets(self, path: str | Path, *, progress: Progress | None = None) -> ImportReport:
        rows, errors = read_import_file(path, progress)
        if errors:
            raise ImportFailed(str(path), errors)
        if not rows:
            raise UserError(f"{path}: no tickets in the file")
        # the same external_id twice in one file: the last row wins
        by_ext: dict[str, ImportRow] = {}
        plain: list[ImportRow] = []
        for r in rows:
            if r.external_id:
                by_ext[r.external_id] = r
            else:
                plain.append(r)
        rows = plain + list(by_ext.values())
        report = ImportReport()
        with self.write() as s:
            self._apply_import(s, rows, report, progress)
        return report

    def _apply_import(
        self, s: Session, rows: list[ImportRow], report: ImportReport, progress: Progress | None
    ) -> None:
        now = self.now()
        orgs = self._ensure_orgs(s, {r.organization for r in rows if r.organization})
        custs = self._ensure_customers(s, rows, orgs)
        org_policy = {
            org_id: self.policy_named(policy_name) for org_id, (_, policy_name) in orgs.items()
        }
        existing: dict[str, tuple[Any, ...]] = {}
        ext_ids = [r.external_id for r in rows if r.external_id]
        t = Ticket.__table__
        for i in range(0, len(ext_ids), 500):
            chunk = ext_ids[i : i + 500]
            for row in s.execute(
                select(
                    t.c.external_id,
                    t.c.id,
                    t.c.version,
                    t.c.key,
                    t.c.first_response_at,
                    t.c.last_public_update_at,
                    t.c.status,
                    t.c.paused_since,
                    t.c.sla_pauses,
                )
                .where(t.c.external_id.in_(chunk))
                # lock the rows about to be updated: an agent's edit committed between this
                # read and the UPDATE would otherwise be overwritten (PostgreSQL; SQLite
                # already holds the write lock)
                .with_for_update()
            ):
                existing[row[0]] = tuple(row[1:])

        number = self.next_ticket_number(s)
        org_ids = {name: oid for oid, (name, _) in orgs.items()}
        new_tickets: list[dict[str, Any]] = []
        new_bodies: list[tuple[int, int, datetime, str]] = []  # number, customer, at, body
        updates: list[dict[str, Any]] = []
        body_updates: list[dict[str, Any]] = []
        done = 0
        for r in rows:
            cust_id, cust_org = custs[r.requester_email]
            org_id = org_ids.get(r.organization) if r.organization else cust_org
            policy = org_policy.get(org_id) if org_id else None
            policy = policy or self.default_policy
            values: dict[str, Any] = {
                "subject": r.subject,
                "requester_id": cust_id,
                "organization_id": org_id,
                "priority": r.priority.value,
                "priority_level": r.priority.level,
                "channel": r.channel.value,
                "request_type": r.request_type.value,
                "tags": r.tags,
                "opened_at": r.opened_at,
                "updated_at": now,
            }
            prev = existing.get(r.external_id) if r.external_id else None
            if prev is None:
                sla = deadline_columns(policy, r.priority.value, r.opened_at, status="new")
                key = f"{KEY_PREFIX}-{number}"
                values.update(
                    number=number,
                    key=key,
                    external_id=r.external_id,
                    status=Status.NEW.value,
                    is_open=True,
                    tier=1,
                    escalated=False,
                    assignee_id=None,
                    sla_pauses=[],
                    version=1,
                    **sla,
                )
                new_tickets.append(values)
                new_bodies.append((number, cust_id, r.opened_at, r.body))
                report.keys.append(key)
                number += 1
            else:
                tid, version, key, fr_at, lpu_at, status, paused, pauses = prev
                sla = deadline_columns(
                    policy,
                    r.priority.value,
                    r.opened_at,
                    status=status,
                    pauses=parse_pauses(pauses or []),
                    first_response_at=fr_at,
                    last_public_update_at=lpu_at,
                    paused_since=paused,
                )
                values.update(b_id=tid, version=version + 1, **sla)
                updates.append(values)
                body_updates.append({"b_tid": tid, "body": r.body})
                report.keys.append(key)
            done += 1
            if progress and done % CHUNK == 0:
                progress("prepared", done, len(rows))

        self._bulk_insert_new(s, new_tickets, new_bodies, now, progress)
        if updates:
            s.execute(
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values({k: bindparam(k) for k in updates[0] if k != "b_id"}),
                updates,
            )
            m = Message.__table__
            first_msg = (
                select(m.c.id)
                .where(m.c.ticket_id == bindparam("b_tid"), m.c.kind == MessageKind.CUSTOMER.value)
                .order_by(m.c.id)
                .limit(1)
                .scalar_subquery()
            )
            s.execute(
                update(m).where(m.c.id == first_msg).values(body=bindparam("body")), body_updates
            )
            s.execute(
                insert(TicketEvent.__table__),
                [
                    {
                        "ticket_id": u["b_id"],
                        "agent_id": None,
                        "kind": "import-updated",
                        "at": now,
                        "details": {"source": "import"},
                    }
                    for u in updates
                ],
            )
        report.created = len(new_tickets)
        report.updated = len(updates)

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
        events = [
            {
                "ticket_id": ids[n],
                "agent_id": None,
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

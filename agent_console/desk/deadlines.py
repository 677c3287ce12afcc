"""The one place a ticket clock becomes stored columns (and per-cycle rows).

Every writer goes through here: ticket creation, mail, every workflow command
(:func:`write_clock` + :func:`sync_cycles`), and the bulk writers — seeding and the
importer's new tickets (:func:`clock_columns` / :func:`deadline_columns` +
:func:`cycle_rows`), the importer's priority changes and ``sla apply``
(:func:`clock_columns` + :func:`sync_cycles_many`, the batched :func:`sync_cycles`).
Whatever moves a ticket's deadlines moves its ``sla_cycle`` rows and the metrics rollup
in the same transaction; the alert schedule follows the event the writer logs. The rules
themselves live in the pure ticket clock (:class:`agent_console.sla.TicketClock`);
nothing here decides what a deadline is.

Stored per ticket: ``first_response_due``, ``next_update_due`` (None until the first
public reply), ``resolution_due`` (None while waiting on the customer), ``next_due`` (the
running deadline's due instant: what the queue sorts by and draws; FAR_FUTURE when nothing
runs), ``sla_metric`` and ``sla_clock`` (the running deadline's metric and clock kind, ""
when nothing runs), ``sla_policy`` (the policy's name) and ``sla_fingerprint`` (the
policy's fingerprint).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter, itemgetter
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session

from agent_console.desk.metrics_rollup import (
    apply_delta,
    contributions,
    facts_of,
    first_responder,
    first_responders,
)
from agent_console.sla import Policy, TicketClock
from agent_console.sla.clock import MetricSpec
from agent_console.store.models import SlaCycle, Ticket
from agent_console.store.types import FAR_FUTURE

__all__ = [
    "ClockChange",
    "CycleRow",
    "clock_columns",
    "clock_of",
    "cycle_rows",
    "deadline_columns",
    "parse_pauses",
    "pause_pairs",
    "refresh_deadlines",
    "sync_cycles",
    "sync_cycles_many",
    "write_clock",
]


def parse_pauses(raw: Iterable[Iterable[str]]) -> list[tuple[datetime, datetime]]:
    """The ticket's ``sla_pauses`` JSON ([[start_iso, end_iso], ...]) as aware pairs."""
    return [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in raw]


def pause_pairs(pauses: Iterable[tuple[datetime, datetime]]) -> list[list[str]]:
    return [[a.isoformat(), b.isoformat()] for a, b in pauses]


def clock_of(ticket: Ticket, policy: Policy) -> TicketClock:
    """The ticket clock of a ticket row under ``policy``."""
    return TicketClock.of(
        policy,
        ticket.priority,
        ticket.opened_at,
        first_reply=ticket.first_response_at,
        last_update=ticket.last_public_update_at,
        pauses=parse_pauses(ticket.sla_pauses or ()),
        paused_since=ticket.paused_since,
        resolved_at=ticket.resolved_at,
        status=ticket.status,
        reopened_at=ticket.reopened_at,
    )


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def clock_columns(clock: TicketClock) -> dict[str, Any]:
    """The stored deadline columns of ``clock`` (see the module docstring)."""
    fr, upd, res = clock.dues
    running = clock.running_epoch()
    utc = datetime.fromtimestamp
    return {
        "first_response_due": None if fr is None else utc(fr, UTC),
        "next_update_due": None if upd is None else utc(upd, UTC),
        "resolution_due": None if res is None else utc(res, UTC),
        "next_due": FAR_FUTURE if running is None else utc(running[1], UTC),
        "sla_metric": "" if running is None else running[0],
        "sla_clock": "" if running is None else clock.target.clock,
        "sla_policy": clock.policy.name,
        "sla_fingerprint": clock.policy.fingerprint,
    }


def deadline_columns(
    policy: Policy,
    priority: str,
    opened: datetime,
    *,
    status: str = "new",
    first_response_at: datetime | None = None,
    last_public_update_at: datetime | None = None,
    pauses: Iterable[tuple[datetime, datetime]] = (),
    paused_since: datetime | None = None,
    resolved_at: datetime | None = None,
    reopened_at: datetime | None = None,
) -> dict[str, Any]:
    """The stored deadline columns of a ticket from its facts, for rows about to be bulk
    inserted or updated (seeding, imports, recomputing). Same shape as
    :func:`clock_columns`; raises what :meth:`TicketClock.of` raises."""
    clock = TicketClock.of(
        policy,
        priority,
        opened,
        first_reply=first_response_at,
        last_update=last_public_update_at,
        pauses=pauses,
        paused_since=paused_since,
        resolved_at=resolved_at,
        status=status,
        reopened_at=reopened_at,
    )
    return clock_columns(clock)


def refresh_deadlines(ticket: Ticket, policy: Policy) -> None:
    """Set the ticket's deadline columns, sort key and policy stamp from its facts under
    ``policy`` (the facts are not changed). Columns only: for a ticket object about to be
    inserted in bulk (benchmarks) — a writer of a stored ticket also moves its cycle rows
    (:func:`sync_cycles`, or :func:`sync_cycles_many` in bulk)."""
    for name, value in clock_columns(clock_of(ticket, policy)).items():
        setattr(ticket, name, value)


def write_clock(ticket: Ticket, clock: TicketClock) -> None:
    """Store ``clock`` on the ticket: its facts (priority, replies, pauses, resolution)
    and the columns :func:`clock_columns` derives from them."""
    ticket.priority = clock.target.name
    ticket.priority_level = clock.target.level
    ticket.first_response_at = clock.first_reply_at
    ticket.last_public_update_at = clock.last_update_at
    ticket.paused_since = clock.paused_since_at
    ticket.resolved_at = clock.resolved_at_dt
    ticket.reopened_at = clock.reopened_at
    ticket.sla_pauses = pause_pairs(clock.pause_list)
    for name, value in clock_columns(clock).items():
        setattr(ticket, name, value)


# ---------------------------------------------------------------- per-cycle rows
def _stop_of(clock: TicketClock, metric: str | MetricSpec) -> float | None:
    """When the metric's current cycle stopped for good (epoch), None while it runs."""
    spec = clock.spec(metric) if isinstance(metric, str) else metric
    if spec.stops == "first_reply" and clock.first_reply is not None:
        return clock.first_reply
    if clock.resolved_at is not None:
        return clock.resolved_at
    return None


def _stopped(
    clock: TicketClock, metric: str, started: float, due: float | None, stop: float
) -> dict[str, Any]:
    """The columns of a cycle that stopped at ``stop``: met by its due instant (or with
    none: paused), else breached at the due instant; clock seconds counted."""
    stopped = _utc(stop)
    met = due is None or stop <= due
    return {
        "stopped_at": stopped,
        "met_at": stopped if met else None,
        "breached_at": None if met else _utc(due),
        "elapsed_seconds": clock.elapsed_at(metric, stop, since=started),
    }


def _close(row: SlaCycle, clock: TicketClock, stop: float) -> None:
    due = row.due_at.timestamp() if row.due_at is not None else None
    if due is None:
        current = clock.due(row.metric)
        due = current.timestamp() if current is not None else None
    for name, value in _stopped(clock, row.metric, row.started_at.timestamp(), due, stop).items():
        setattr(row, name, value)


def _advance(
    rows: list[Any], clock: TicketClock, at: datetime, ticket_id: int, make: Any
) -> None:
    """THE rule of the per-cycle rows: bring ``rows`` (one ticket's ``sla_cycle`` rows in
    cycle order, ORM objects or :class:`CycleRow`, changed in place) in line with
    ``clock`` after something happened at ``at``; rows it starts are made with
    ``make(**columns)`` and appended to ``rows``. Open cycles take the clock's due instant,
    target and clock kind (a priority change, a recomputed policy); a cycle the clock says
    has stopped is closed (met by its due, else breached); stopped cycles are history and
    never change."""
    last: dict[str, Any] = {}
    for row in rows:
        last[row.metric] = row
    t_at = at.timestamp()
    for spec, due_epoch in zip(clock.specs, clock.dues_epoch(), strict=True):
        start = clock.start_epoch(spec)
        if start is None:
            continue
        row = last.get(spec.name)
        open_row = row if row is not None and row.stopped_at is None else None
        if open_row is not None and spec.cyclic and open_row.started_at.timestamp() != start:
            _close(open_row, clock, start)  # a public reply ended this update cycle
            open_row = None
        stop = _stop_of(clock, spec)
        due = _utc(due_epoch)  # clock.due(spec.name), without looking the metric up again
        target = spec.target(clock.target)
        if open_row is not None:
            open_row.due_at = due
            open_row.target_seconds = target
            open_row.clock = clock.target.clock
            if stop is not None:
                _close(open_row, clock, stop)
            continue
        if stop is not None and row is not None and not spec.cyclic:
            continue  # already recorded and stopped
        if stop is not None and row is not None and row.started_at.timestamp() == start:
            continue
        started = start if row is None or spec.cyclic else max(t_at, start)
        new = make(
            ticket_id=ticket_id,
            metric=spec.name,
            cycle=(row.cycle + 1) if row is not None else 1,
            clock=clock.target.clock,
            started_at=_utc(started),
            due_at=due,
            target_seconds=target,
        )
        if stop is not None:
            _close(new, clock, stop)
        rows.append(new)
        last[spec.name] = new


def sync_cycles(session: Session, ticket_id: int, clock: TicketClock, at: datetime) -> None:
    """Bring the ticket's ``sla_cycle`` rows in line with ``clock`` after something
    happened at ``at`` (creation, a reply, a status or priority change) and move the
    metrics rollup by the difference. In the caller's transaction: the command that owns
    the clock writes them (DESIGN.md). Bulk writers that move many tickets' clocks at once
    (an import's priority changes, ``sla apply``) use :func:`sync_cycles_many`, the same
    rule batched."""
    with session.no_autoflush:  # before the select below flushes the ticket's new priority
        ticket = session.get(Ticket, ticket_id)
        was = _before(ticket, "priority"), _before(ticket, "assignee_id")
    rows = list(
        session.execute(
            select(SlaCycle).where(SlaCycle.ticket_id == ticket_id).order_by(SlaCycle.cycle)  # type: ignore[arg-type]
        ).scalars()
    )
    responder = _first_responder(session, ticket_id, rows)
    before = rollup_before(ticket, was, rows, at, responder)
    known = len(rows)

    def make(**columns: Any) -> SlaCycle:
        return SlaCycle(**columns)

    _advance(rows, clock, at, ticket_id, make)
    for new in rows[known:]:
        session.add(new)
    if ticket is not None:  # the metrics rollup, in the same transaction
        if responder is None:
            responder = _first_responder(session, ticket_id, rows)
        after = rollup_after(ticket, clock, rows, responder)
        apply_delta(session, before, after)


def rollup_after(
    ticket: Any, clock: TicketClock, rows: Sequence[Any], responder: int | None
) -> Counter[Any]:
    """The ticket's contribution to the metrics rollup after a sync: its priority is the
    clock's, its assignee and opening the ticket's (``ticket``: an ORM object or a row
    with ``opened_at`` and ``assignee_id``)."""
    return contributions(
        clock.target.name,
        ticket.opened_at,
        [facts_of(r) for r in rows],
        assignee=ticket.assignee_id,
        responder=responder,
        tier=ticket.tier,
        org=ticket.organization_id,
    )


# ------------------------------------------------------ the same rule, batched
#: the ``sla_cycle`` columns a sync may change on an existing row
_MUTABLE = (
    "clock",
    "due_at",
    "target_seconds",
    "stopped_at",
    "met_at",
    "breached_at",
    "elapsed_seconds",
)


@dataclass(slots=True)
class CycleRow:
    """A plain ``sla_cycle`` row for the batched sync (no ORM bookkeeping); ``id`` None
    until inserted."""

    ticket_id: int
    metric: str
    cycle: int
    clock: str
    started_at: datetime
    due_at: datetime | None
    target_seconds: int
    stopped_at: datetime | None = None
    met_at: datetime | None = None
    breached_at: datetime | None = None
    elapsed_seconds: int | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ClockChange:
    """One ticket whose clock a bulk writer moved, for :func:`sync_cycles_many`:
    ``ticket`` is any object with the ticket's ``id``, ``opened_at`` (aware UTC),
    ``assignee_id``, ``tier`` and ``organization_id`` (the rollup's dimensions; a row of a
    select will do), ``priority_before`` its priority before
    the change (the rollup groups by priority), ``clock`` the ticket clock now."""

    ticket: Any
    priority_before: str
    clock: TicketClock


def _cycle_columns() -> list[Any]:
    """The ``sla_cycle`` columns in :class:`CycleRow` order (``CycleRow(*row)``)."""
    c = SlaCycle.__table__.c  # type: ignore[attr-defined]
    return [c[name] for name in CycleRow.__slots__]  # type: ignore[attr-defined]


#: the mutable columns of a :class:`CycleRow`, and of a row read in its column order
_mutable_of = attrgetter(*_MUTABLE)
_stored_mutable = itemgetter(*(CycleRow.__slots__.index(n) for n in _MUTABLE))  # type: ignore[attr-defined]


def sync_cycles_many(
    session: Session, changes: Sequence[ClockChange], at: datetime, *, chunk: int = 2000
) -> tuple[set[int], set[int]]:
    """:func:`sync_cycles` for many tickets at once, in the caller's transaction: the same
    rule (:func:`_advance`) and the same rollup difference, with one read of the cycle
    rows per ``chunk`` tickets, one executemany UPDATE per set of changed columns and one
    INSERT, one batched lookup of first responders and one rollup upsert — for the bulk
    writers that move clocks: an import that changes priorities, ``sla apply``
    recomputing a policy's open tickets. Rows already in line are not written. Returns
    ``(changed, started)``: the ids of the tickets whose cycle rows changed, and of those
    among them that had none (made before the ticket clock, or by a writer that kept
    none: they get their current cycles). The caller holds the tickets (row locks on
    PostgreSQL, the write lock on SQLite), as a workflow command does."""
    table = SlaCycle.__table__  # type: ignore[attr-defined]
    columns = _cycle_columns()
    fields = CycleRow.__slots__  # type: ignore[attr-defined]
    changed: set[int] = set()
    started: set[int] = set()
    for i in range(0, len(changes), chunk):
        part = changes[i : i + chunk]
        stored: dict[int, list[Any]] = {}  # ticket id -> its rows as read (tuples)
        for r in session.execute(
            select(*columns)
            .where(table.c.ticket_id.in_([ch.ticket.id for ch in part]))
            .order_by(table.c.ticket_id, table.c.cycle)
        ).all():
            stored.setdefault(r[0], []).append(r)
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        inserts: list[dict[str, Any]] = []
        touched: list[tuple[ClockChange, list[Any], list[CycleRow]]] = []
        for ch in part:
            tid = ch.ticket.id
            was = stored.get(tid, ())
            rows = [CycleRow(*r) for r in was]
            _advance(rows, ch.clock, at, tid, CycleRow)
            dirty = False
            for row, old in zip(rows, was, strict=False):
                now_state, old_state = _mutable_of(row), _stored_mutable(old)
                if now_state == old_state:
                    continue
                diff = {
                    name: value
                    for name, value, before in zip(_MUTABLE, now_state, old_state, strict=True)
                    if value != before
                }
                updates.setdefault(tuple(diff), []).append({"_id": row.id, **diff})
                dirty = True
            if len(rows) > len(was):
                inserts.extend(
                    {k: getattr(r, k) for k in fields if k != "id"} for r in rows[len(was) :]
                )
                dirty = True
                if not was:
                    started.add(tid)
            if dirty:
                touched.append((ch, list(was), rows))
                changed.add(tid)
        if not touched:
            continue
        for names, group in updates.items():
            session.execute(
                update(table)
                .where(table.c.id == bindparam("_id"))
                .values({k: bindparam(k) for k in names}),
                group,
            )
        if inserts:
            session.execute(insert(table), inserts)
        # the metrics rollup, as sync_cycles moves it: before and after, one upsert
        answered = [
            ch.ticket.id
            for ch, _, rows in touched
            if any(r.metric == "first_response" and r.stopped_at is not None for r in rows)
        ]
        responders = first_responders(session, answered) if answered else {}
        total_before: Counter[Any] = Counter()
        total_after: Counter[Any] = Counter()
        for ch, was, rows in touched:
            responder = responders.get(ch.ticket.id)
            total_before.update(
                rollup_before(
                    ch.ticket, (ch.priority_before, ch.ticket.assignee_id), was, at, responder
                )
            )
            total_after.update(rollup_after(ch.ticket, ch.clock, rows, responder))
        apply_delta(session, total_before, total_after)
    return changed, started


def _before(ticket: Ticket | None, name: str) -> Any:
    """A column's value before this command: ``write_clock`` sets a new priority just
    before :func:`sync_cycles`, unflushed, so the old one is in the history."""
    if ticket is None:
        return None
    history = getattr(sa_inspect(ticket).attrs, name).history
    return history.deleted[0] if history.deleted else getattr(ticket, name)


def _first_responder(session: Session, ticket_id: int, rows: list[SlaCycle]) -> int | None:
    """The sender of the first public reply, when a first-response cycle has stopped."""
    if any(r.metric == "first_response" and r.stopped_at is not None for r in rows):
        return first_responder(session, ticket_id)
    return None


def rollup_before(
    ticket: Ticket | None,
    was: tuple[Any, Any],
    rows: list[SlaCycle],
    at: datetime,
    responder: int | None,
) -> Counter[Any]:
    """The ticket's contribution to the metrics rollup before this sync, from its cycle
    rows and its priority and assignee then (``was``). A ticket being created (no rows
    yet, ``at`` its opening) has none; an older ticket with no cycle rows (made before the
    ticket clock) counts as opened, as :func:`~agent_console.desk.metrics_rollup.rebuild`
    counts it."""
    priority, assignee = was
    if ticket is None or priority is None or (not rows and at <= ticket.opened_at):
        return Counter()
    return contributions(
        priority,
        ticket.opened_at,
        [facts_of(r) for r in rows],
        assignee=assignee,
        responder=responder,
        tier=ticket.tier,
        org=ticket.organization_id,
    )


def cycle_rows(clock: TicketClock, ticket_id: int) -> list[dict[str, Any]]:
    """The ``sla_cycle`` rows of a ticket written in bulk (seeding): the current cycle of
    each started metric (earlier update cycles are not known to a bulk writer)."""
    out: list[dict[str, Any]] = []
    dues = clock.dues_epoch()
    for spec, due in zip(clock.specs, dues, strict=True):
        start = clock.start_epoch(spec)
        if start is None:
            continue
        row: dict[str, Any] = {
            "ticket_id": ticket_id,
            "metric": spec.name,
            "cycle": 1,
            "clock": clock.target.clock,
            "started_at": _utc(start),
            "due_at": _utc(due),
            "target_seconds": spec.target(clock.target),
            "stopped_at": None,
            "met_at": None,
            "breached_at": None,
            "elapsed_seconds": None,
        }
        stop = _stop_of(clock, spec.name)
        if stop is not None:
            row.update(_stopped(clock, spec.name, start, due, stop))
        out.append(row)
    return out

"""Metrics rollup: the figures of every ticket added up per UTC hour (counts) and per UTC
day (time histograms), kept current on write, so that a period's figures read a few
thousand rows instead of every cycle of the period (issue 13: all the figures for 30 days
over 1,000,000 tickets in about a second).

Table ``metric_rollup`` (store/models.py ``MetricRollup``): one row per (``figure``,
``bucket``, ``grp``, ``value``) with ``n``, how many. ``grp`` is the ticket's priority
(an agent id for the per-agent figures).

===================  =======  ==========================================================
figure               bucket   counts (at the instant that puts it in the bucket)
===================  =======  ==========================================================
``opened``           hour     tickets opened (``opened_at``)
``met:<metric>``     hour     cycles met (stopped by their due instant; ``stopped_at``)
``breached:<m>``     hour     cycles stopped late (``breached_at``: the due passed)
``due:<metric>``     hour     cycles still running, by their due instant (``due_at``):
                              those due before now are *overdue*
``resolved``         hour     tickets whose last resolution stopped (``stopped_at``)
``reopened``         hour     resolution cycles 2, 3, … started (``started_at``)
``fr_time``          day      first responses by time to first response (``value``)
``res_time``         day      last resolutions by time to resolution (``value``: every
                              resolution cycle added up)
``resolved_by``      hour     as ``resolved``, ``grp`` = the assignee's agent id
``fr_by``            day      as ``fr_time``, ``grp`` = the agent id of the sender of the
                              ticket's first public reply
===================  =======  ==========================================================

Resolution counts only a ticket's last resolution cycle (a reopened ticket is one
ticket). Times are :func:`~agent_console.desk.metrics_figures.shown_seconds` (to the second
under an hour, to the minute from an hour: what the screen shows), so medians and p90 from
the rollup are exactly those of the raw rows.

**One rule, one home**: :func:`contributions` says what one ticket adds to the rollup,
from its priority, opening and ``sla_cycle`` rows; the raw queries
(desk/metrics_queries.py) say the same in SQL, and tests check that both agree on SQLite
and PostgreSQL. Writers:

- :func:`~agent_console.desk.deadlines.sync_cycles` (every command that moves a ticket's
  clock, and ticket creation) applies the difference between the ticket's contribution
  before and after, in the command's transaction (:func:`apply_delta`); assigning a
  ticket moves its ``resolved_by`` credit (:func:`assignee_changed`);
- the bulk writers (seeding, the importer's new tickets) add the contributions of the rows
  they insert (:func:`add_rows`);
- :func:`rebuild` recomputes the whole table (after an upgrade that created it over
  existing tickets: the migration leaves a ``_stale`` marker row, and the figures come from
  the raw rows until the rebuild removed it).

Any zone's local days are whole UTC hours in every zone with a whole-hour offset; a day
boundary inside an hour (India, Nepal, Newfoundland…), the partial days at the ends of a
period for the daily time histograms, and the hour holding "now" are read from the raw
rows (:func:`plan`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from agent_console.desk.metrics_figures import METRICS, shown_seconds
from agent_console.desk.metrics_sql import Span
from agent_console.store.models import Message, MessageKind, MetricRollup, SlaCycle, Ticket

__all__ = [
    "DAY",
    "HOUR",
    "STALE",
    "CycleFacts",
    "Key",
    "add_rows",
    "apply_delta",
    "assignee_changed",
    "contributions",
    "facts_of",
    "first_responder",
    "first_responders",
    "is_stale",
    "plan",
    "read_buckets",
    "read_counts",
    "read_hist",
    "rebuild",
]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
#: figures bucketed per UTC day (time histograms); every other figure per UTC hour
DAY_FIGURES = frozenset({"fr_time", "res_time", "fr_by"})
#: the marker row of a rollup that does not hold every ticket yet (see the module doc)
STALE = "_stale"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CycleFacts(NamedTuple):
    """What the rollup reads of one ``sla_cycle`` row (aware UTC instants)."""

    metric: str
    cycle: int
    started_at: datetime
    due_at: datetime | None
    stopped_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    elapsed_seconds: int | None


#: a rollup row's key: (figure, bucket, grp, value)
Key = tuple[str, datetime, str, int]


def facts_of(row: Any) -> CycleFacts:
    """The :class:`CycleFacts` of an ``SlaCycle`` object or of a row dict (bulk writers)."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return CycleFacts(
        get("metric"),
        int(get("cycle")),
        get("started_at"),
        get("due_at"),
        get("stopped_at"),
        get("met_at"),
        get("breached_at"),
        get("elapsed_seconds"),
    )


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _day(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def contributions(
    priority: str,
    opened_at: datetime,
    cycles: Iterable[CycleFacts],
    *,
    assignee: int | None = None,
    responder: int | None = None,
) -> Counter[Key]:
    """What one ticket adds to the rollup (see the module docstring for the figures);
    ``assignee``: the ticket's assignee, ``responder``: the sender of its first public
    reply (agent ids)."""
    out: Counter[Key] = Counter()
    out[("opened", _hour(opened_at), priority, 0)] += 1
    cycles = list(cycles)
    last_res = max((c.cycle for c in cycles if c.metric == "resolution"), default=0)
    res_total = 0
    for c in cycles:
        if c.metric == "resolution" and c.elapsed_seconds is not None:
            res_total += c.elapsed_seconds
    for c in cycles:
        judged = c.metric != "resolution" or c.cycle == last_res
        if c.metric in METRICS and judged:
            if c.stopped_at is not None and c.met_at is not None:
                out[(f"met:{c.metric}", _hour(c.stopped_at), priority, 0)] += 1
            if c.breached_at is not None:
                out[(f"breached:{c.metric}", _hour(c.breached_at), priority, 0)] += 1
            if c.stopped_at is None and c.due_at is not None:
                out[(f"due:{c.metric}", _hour(c.due_at), priority, 0)] += 1
        if (
            c.metric == "first_response"
            and c.stopped_at is not None
            and c.elapsed_seconds is not None
        ):
            shown = shown_seconds(c.elapsed_seconds)
            out[("fr_time", _day(c.stopped_at), priority, shown)] += 1
            if responder is not None:
                out[("fr_by", _day(c.stopped_at), str(responder), shown)] += 1
        if c.metric == "resolution" and c.cycle == last_res and c.stopped_at is not None:
            out[("resolved", _hour(c.stopped_at), priority, 0)] += 1
            if assignee is not None:
                out[("resolved_by", _hour(c.stopped_at), str(assignee), 0)] += 1
            secs = res_total if c.cycle > 1 else c.elapsed_seconds
            if secs is not None:
                out[("res_time", _day(c.stopped_at), priority, shown_seconds(secs))] += 1
        if c.metric == "resolution" and c.cycle > 1:
            out[("reopened", _hour(c.started_at), priority, 0)] += 1
    return out


# ---------------------------------------------------------------- writing
def _upsert(session: Session, delta: dict[Key, int]) -> None:
    """Add ``delta`` to the rollup rows (INSERT … ON CONFLICT DO UPDATE on both
    databases), keys in a fixed order so that concurrent writers lock rows alike."""
    rows = [
        {"figure": f, "bucket": b, "grp": g, "value": v, "n": n}
        for (f, b, g, v), n in sorted(delta.items())
        if n
    ]
    if not rows:
        return
    table = MetricRollup.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    stmt = ins.on_conflict_do_update(
        index_elements=["figure", "bucket", "grp", "value"],
        set_={"n": table.c.n + ins.excluded.n},
    )
    for i in range(0, len(rows), 5000):
        session.execute(stmt, rows[i : i + 5000])


def apply_delta(session: Session, before: Counter[Key], after: Counter[Key]) -> None:
    """Move the rollup from a ticket's contribution ``before`` to ``after`` (the caller's
    transaction)."""
    delta: dict[Key, int] = dict(after)
    for key, n in before.items():
        delta[key] = delta.get(key, 0) - n
    _upsert(session, delta)


def add_rows(
    session: Session,
    tickets: Sequence[tuple[str, datetime, int | None, int | None]],
    cycles: Sequence[Sequence[Any]],
) -> None:
    """Add freshly inserted tickets (bulk writers): ``tickets`` = (priority, opened_at,
    assignee id, first responder id), ``cycles`` = each ticket's ``sla_cycle`` rows
    (objects or dicts), in the same order."""
    total: Counter[Key] = Counter()
    for (priority, opened, assignee, responder), rows in zip(tickets, cycles, strict=True):
        total.update(
            contributions(
                priority,
                opened,
                [facts_of(r) for r in rows],
                assignee=assignee,
                responder=responder,
            )
        )
    _upsert(session, total)


def first_responder(session: Session, ticket_id: int) -> int | None:
    """The agent who sent the ticket's first public reply (None: no reply yet)."""
    m = Message.__table__.c  # type: ignore[attr-defined]
    return session.execute(  # type: ignore[no-any-return]
        select(m.author_agent_id)
        .where(m.ticket_id == ticket_id, m.kind == MessageKind.PUBLIC.value)
        .order_by(m.created_at, m.id)
        .limit(1)
    ).scalar()


def first_responders(session: Session, ticket_ids: Sequence[int]) -> dict[int, int | None]:
    """:func:`first_responder` of many tickets at once (bulk writers): ticket id -> the
    agent who sent its first public reply, for the tickets that have one."""
    m = Message.__table__.c  # type: ignore[attr-defined]
    ids = list(ticket_ids)
    out: dict[int, int | None] = {}
    for i in range(0, len(ids), 500):
        for tid, author in session.execute(
            select(m.ticket_id, m.author_agent_id)
            .where(m.ticket_id.in_(ids[i : i + 500]), m.kind == MessageKind.PUBLIC.value)
            .order_by(m.ticket_id, m.created_at, m.id)
        ):
            out.setdefault(tid, author)
    return out


def assignee_changed(session: Session, ticket: Any, before: int | None) -> None:
    """The ticket's assignee changed from ``before`` (the caller's transaction): move the
    credit of its resolution (a resolved ticket can be reassigned)."""
    if ticket.is_open or before == ticket.assignee_id:
        return
    c = SlaCycle.__table__.c  # type: ignore[attr-defined]
    rows = session.execute(
        select(
            c.metric,
            c.cycle,
            c.started_at,
            c.due_at,
            c.stopped_at,
            c.met_at,
            c.breached_at,
            c.elapsed_seconds,
        ).where(c.ticket_id == ticket.id)
    ).all()
    facts = [CycleFacts(*r) for r in rows]
    apply_delta(
        session,
        contributions(ticket.priority, ticket.opened_at, facts, assignee=before),
        contributions(ticket.priority, ticket.opened_at, facts, assignee=ticket.assignee_id),
    )


def rebuild(session: Session, *, batch: int = 50_000) -> int:
    """Recompute the whole rollup from the tickets and their cycles (in the caller's
    transaction; removes the ``_stale`` marker). Returns how many tickets it read."""
    table = MetricRollup.__table__  # type: ignore[attr-defined]
    t = Ticket.__table__.c  # type: ignore[attr-defined]
    c = SlaCycle.__table__.c  # type: ignore[attr-defined]
    session.execute(delete(table))
    low = session.execute(select(func.min(t.id))).scalar()
    high = session.execute(select(func.max(t.id))).scalar()
    if low is None:
        return 0
    read = 0
    for lo in range(int(low), int(high) + 1, batch):
        hi = lo + batch
        tickets = session.execute(
            select(t.id, t.priority, t.opened_at, t.assignee_id).where(t.id >= lo, t.id < hi)
        ).all()
        m = Message.__table__.c  # type: ignore[attr-defined]
        responders: dict[int, int | None] = {}
        for tid, author in session.execute(
            select(m.ticket_id, m.author_agent_id)
            .where(m.ticket_id >= lo, m.ticket_id < hi, m.kind == MessageKind.PUBLIC.value)
            .order_by(m.ticket_id, m.created_at, m.id)
        ):
            responders.setdefault(tid, author)
        cycles: dict[int, list[CycleFacts]] = {}
        for row in session.execute(
            select(
                c.ticket_id,
                c.metric,
                c.cycle,
                c.started_at,
                c.due_at,
                c.stopped_at,
                c.met_at,
                c.breached_at,
                c.elapsed_seconds,
            ).where(c.ticket_id >= lo, c.ticket_id < hi)
        ):
            cycles.setdefault(row[0], []).append(CycleFacts(*row[1:]))
        total: Counter[Key] = Counter()
        for tid, priority, opened, assignee in tickets:
            total.update(
                contributions(
                    priority,
                    opened,
                    cycles.get(tid, ()),
                    assignee=assignee,
                    responder=responders.get(tid),
                )
            )
        _upsert(session, total)
        read += len(tickets)
    return read


# ---------------------------------------------------------------- reading
def is_stale(session: Session) -> bool:
    """The rollup does not hold every ticket yet (an upgrade left it to be rebuilt)."""
    table = MetricRollup.__table__  # type: ignore[attr-defined]
    return (
        session.execute(select(table.c.n).where(table.c.figure == STALE).limit(1)).first()
        is not None
    )


def plan(bounds: Sequence[datetime], grain: timedelta) -> tuple[list[Span], list[Span]]:
    """Split ``[bounds[0], bounds[-1])`` into the runs of whole ``grain`` cells (UTC hours
    or days) the rollup answers — cells with no bound strictly inside — and the rest, the
    spans the raw rows answer. Returns (rollup spans, raw spans), each merged."""
    start, end = bounds[0], bounds[-1]
    inner = sorted(bounds)
    step = int(grain.total_seconds())
    first = datetime.fromtimestamp(int(start.timestamp()) // step * step, UTC)
    covered: list[Span] = []
    raw: list[Span] = []

    def add(spans: list[Span], a: datetime, b: datetime) -> None:
        if a >= b:
            return
        if spans and spans[-1][1] == a:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))

    cell = first
    i = 0
    while cell < end:
        nxt = cell + grain
        while i < len(inner) and inner[i] <= cell:
            i += 1
        cut = i < len(inner) and inner[i] < nxt and inner[i] != end
        if cell >= start and nxt <= end and not cut:
            add(covered, cell, nxt)
        else:
            add(raw, max(cell, start), min(nxt, end))
        cell = nxt
    return covered, raw


def _where(spans: Sequence[Span]) -> Any:
    from agent_console.desk.metrics_sql import within

    return within(MetricRollup.__table__.c.bucket, spans)  # type: ignore[attr-defined]


def read_counts(
    session: Session, figures: Sequence[str], spans: Sequence[Span]
) -> dict[tuple[str, str], int]:
    """(figure, grp) -> how many, over the buckets in ``spans``."""
    if not spans:
        return {}
    r = MetricRollup.__table__.c  # type: ignore[attr-defined]
    q = (
        select(r.figure, r.grp, func.sum(r.n))
        .where(r.figure.in_(figures), _where(spans))
        .group_by(r.figure, r.grp)
    )
    return {(f, g): int(n or 0) for f, g, n in session.execute(q)}


def read_buckets(
    session: Session, figures: Sequence[str], spans: Sequence[Span]
) -> list[tuple[datetime, str, int]]:
    """(bucket, figure, how many) over the buckets in ``spans`` (every priority)."""
    if not spans:
        return []
    r = MetricRollup.__table__.c  # type: ignore[attr-defined]
    q = (
        select(r.bucket, r.figure, func.sum(r.n))
        .where(r.figure.in_(figures), _where(spans))
        .group_by(r.bucket, r.figure)
    )
    return [(b, f, int(n or 0)) for b, f, n in session.execute(q)]


def read_hist(session: Session, figure: str, spans: Sequence[Span]) -> dict[str, dict[int, int]]:
    """grp -> {value: how many} of a time histogram over the buckets in ``spans``."""
    if not spans:
        return {}
    r = MetricRollup.__table__.c  # type: ignore[attr-defined]
    q = (
        select(r.grp, r.value, func.sum(r.n))
        .where(r.figure == figure, _where(spans))
        .group_by(r.grp, r.value)
    )
    out: dict[str, dict[int, int]] = {}
    for g, v, n in session.execute(q):
        if n:
            out.setdefault(g, {})[int(v)] = int(n)
    return out


def mark_stale(session: Session) -> None:
    """Leave the ``_stale`` marker (the rollup misses tickets until :func:`rebuild`)."""
    _upsert(session, {(STALE, EPOCH, "", 0): 1})

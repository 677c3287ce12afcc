"""Metrics rollup: the figures of every ticket added up per UTC hour (counts) and per UTC
day (time histograms), kept current on write, so that a period's figures read a few
thousand rows instead of every cycle of the period (issue 13: all the figures for 30 days
over 1,000,000 tickets in about a second).

Table ``metric_rollup`` (store/models.py ``MetricRollup``): one row per (``dim``,
``figure``, ``bucket``, ``grp``, ``value``) with ``n``, how many. ``grp`` is the ticket's
priority (an agent id for the per-agent figures, the tier reached for escalations).

**Dimensions** (the screen's filters): every contribution of a ticket is written four
times at most, under ``dim`` ``""`` (every ticket), ``t<tier>`` (the ticket's tier),
``o<organization id>`` and ``a<agent id>`` (its assignee; the last two only when set).
The unfiltered figures read ``dim = ''``; a filter on one organization, tier or agent
reads that dimension's rows, so a filtered period costs what an unfiltered one does
(issue 13). Two filters at once are read from the raw rows (a narrower set). The
dimensions are the ticket's *current* tier, organization and assignee (what the raw
queries filter on): when one changes, :func:`dims_changed` moves the ticket's whole
contribution (hand-over, claim, assignment: :func:`assignee_changed`).

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
``escalated``        hour     ``escalated`` events (``at``), ``grp`` = the tier reached
``pickup``           day      escalations picked up, by the escalation's ``at``;
                              ``value`` = pickup seconds (wall clock, :func:`shown_seconds`)
===================  =======  ==========================================================

Escalation pickup (:func:`escalation_keys`): an escalation is picked up when the ticket's
next hand-over event (escalated, de-escalated, claimed, assigned to someone) is a claim or
an assignment; a hand-over in between means it never was. The one writer of events,
``DeskCore.log`` (and the claim statement that inserts its event itself), calls
:func:`event_logged`, which adds the difference the new event makes.

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
- every hand-over event (:func:`event_logged`), every change of a ticket's tier or
  assignee (:func:`dims_changed`);
- :func:`rebuild` recomputes the whole table (after an upgrade that created it over
  existing tickets: the migration leaves a ``_stale`` marker row, and the figures come from
  the raw rows until the rebuild removed it). It works set-wise in the database: every
  ticket's figure rows (:func:`_figure_rows`, the rules of :func:`contributions` in SQL;
  tests check that kept-on-write equals rebuilt on SQLite and PostgreSQL) into a
  temporary table by one ``INSERT … SELECT``, then one ``INSERT … SELECT … GROUP BY`` per
  dimension (1M tickets: about 3 minutes on SQLite, 6 on PostgreSQL, on a loaded
  2-core machine).

Any zone's local days are whole UTC hours in every zone with a whole-hour offset; a day
boundary inside an hour (India, Nepal, Newfoundland…), the partial days at the ends of a
period for the daily time histograms, and the hour holding "now" are read from the raw
rows (:func:`plan`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from agent_console.desk.metrics_figures import METRICS, shown_seconds
from agent_console.desk.metrics_sql import Span, seconds_between, shown_sql
from agent_console.store.models import (
    Message,
    MessageKind,
    MetricRollup,
    SlaCycle,
    Ticket,
    TicketEvent,
)

__all__ = [
    "ALL",
    "DAY",
    "HAND_OVER_KINDS",
    "HOUR",
    "STALE",
    "CycleFacts",
    "Dims",
    "EventFacts",
    "Key",
    "add_rows",
    "apply_delta",
    "assignee_changed",
    "contributions",
    "dim_keys",
    "dims_changed",
    "escalation_keys",
    "event_logged",
    "facts_of",
    "first_responder",
    "first_responders",
    "hand_over_filter",
    "is_stale",
    "pickup_seconds",
    "plan",
    "plan_days",
    "read_buckets",
    "read_counts",
    "read_hist",
    "rebuild",
]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
#: figures bucketed per UTC day (time histograms); every other figure per UTC hour
DAY_FIGURES = frozenset({"fr_time", "res_time", "fr_by", "pickup"})
#: the marker row of a rollup that does not hold every ticket yet (see the module doc)
STALE = "_stale"
#: the dimension of every ticket (no filter)
ALL = ""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: the events that hand a ticket over or pick it up (``assigned`` only to someone)
HAND_OVER_KINDS = ("escalated", "deescalated", "claimed", "assigned")
PICKUPS = ("claimed", "assigned")


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


class EventFacts(NamedTuple):
    """What the rollup reads of one hand-over event (:data:`HAND_OVER_KINDS`), in the
    ticket's event order: ``to_tier`` of an escalation (None for the others)."""

    kind: str
    at: datetime
    to_tier: int | None


#: a ticket's filter dimensions: (tier, organization id, assignee id)
Dims = tuple[int | None, int | None, int | None]
#: a rollup row's key: (dim, figure, bucket, grp, value)
Key = tuple[str, str, datetime, str, int]
#: a figure's key before its dimensions: (figure, bucket, grp, value)
Figure = tuple[str, datetime, str, int]


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


def dim_keys(tier: int | None, org: int | None, assignee: int | None) -> list[str]:
    """The dimensions a ticket's contribution is written under (see the module doc)."""
    out = [ALL]
    if tier is not None:
        out.append(f"t{tier}")
    if org is not None:
        out.append(f"o{org}")
    if assignee is not None:
        out.append(f"a{assignee}")
    return out


def pickup_seconds(escalated_at: datetime, picked_at: datetime) -> int:
    """Wall-clock seconds from an escalation to its pickup as the figures keep them:
    rounded to the nearest second (as the raw query's SQL ``round``), then
    :func:`shown_seconds`."""
    secs = (picked_at - escalated_at).total_seconds()
    return shown_seconds(int(math.floor(secs + 0.5)))


def escalation_keys(events: Sequence[EventFacts]) -> Counter[Figure]:
    """The escalation figures of one ticket's hand-over events (in event order): each
    escalation counted at its instant for the tier reached, and its pickup time when the
    next hand-over event is a claim or an assignment."""
    out: Counter[Figure] = Counter()
    for i, e in enumerate(events):
        if e.kind != "escalated" or e.to_tier is None:
            continue
        grp = str(e.to_tier)
        out[("escalated", _hour(e.at), grp, 0)] += 1
        nxt = events[i + 1] if i + 1 < len(events) else None
        if nxt is not None and nxt.kind in PICKUPS:
            out[("pickup", _day(e.at), grp, pickup_seconds(e.at, nxt.at))] += 1
    return out


def _figures(
    priority: str,
    opened_at: datetime,
    cycles: Iterable[CycleFacts],
    assignee: int | None,
    responder: int | None,
) -> Counter[Figure]:
    out: Counter[Figure] = Counter()
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


def _with_dims(figures: Counter[Figure], dims: list[str]) -> Counter[Key]:
    out: Counter[Key] = Counter()
    for (f, b, g, v), n in figures.items():
        for d in dims:
            out[(d, f, b, g, v)] += n
    return out


def contributions(
    priority: str,
    opened_at: datetime,
    cycles: Iterable[CycleFacts],
    *,
    assignee: int | None = None,
    responder: int | None = None,
    tier: int | None = None,
    org: int | None = None,
    events: Sequence[EventFacts] = (),
) -> Counter[Key]:
    """What one ticket adds to the rollup (see the module docstring for the figures);
    ``assignee``: the ticket's assignee, ``responder``: the sender of its first public
    reply (agent ids); ``tier``, ``org``: its tier and organization id (the dimensions,
    with ``assignee``); ``events``: its hand-over events (:func:`escalation_keys`; the
    clock's writers leave them out, they do not change them)."""
    figures = _figures(priority, opened_at, cycles, assignee, responder)
    if events:
        figures.update(escalation_keys(events))
    return _with_dims(figures, dim_keys(tier, org, assignee))


# ---------------------------------------------------------------- writing
def _upsert(session: Session, delta: dict[Key, int]) -> None:
    """Add ``delta`` to the rollup rows (INSERT … ON CONFLICT DO UPDATE on both
    databases), keys in a fixed order so that concurrent writers lock rows alike."""
    rows = [
        {"dim": d, "figure": f, "bucket": b, "grp": g, "value": v, "n": n}
        for (d, f, b, g, v), n in sorted(delta.items())
        if n
    ]
    if not rows:
        return
    table = MetricRollup.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    ins = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    stmt = ins.on_conflict_do_update(
        index_elements=["dim", "figure", "bucket", "grp", "value"],
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
    tickets: Sequence[tuple[Any, ...]],
    cycles: Sequence[Sequence[Any]],
) -> None:
    """Add freshly inserted tickets (bulk writers): ``tickets`` = (priority, opened_at,
    assignee id, first responder id[, tier, organization id]), ``cycles`` = each ticket's
    ``sla_cycle`` rows (objects or dicts), in the same order. Without the tier and
    organization they are read from the ticket of the cycle rows (``ticket_id``); a
    ticket with neither raises ``ValueError``. Fresh tickets have no hand-over events."""
    missing = [
        _ticket_id_of(rows) for t, rows in zip(tickets, cycles, strict=True) if len(t) < 6
    ]
    known: dict[int, tuple[int, int | None]] = {}
    if missing:
        if None in missing:
            raise ValueError("add_rows: a ticket without cycle rows needs its tier and org")
        t = Ticket.__table__.c  # type: ignore[attr-defined]
        ids = sorted({int(i) for i in missing if i is not None})
        for i in range(0, len(ids), 5000):
            for tid, tier, org in session.execute(
                select(t.id, t.tier, t.organization_id).where(t.id.in_(ids[i : i + 5000]))
            ):
                known[int(tid)] = (tier, org)
    total: Counter[Key] = Counter()
    for ticket, rows in zip(tickets, cycles, strict=True):
        priority, opened, assignee, responder = ticket[:4]
        if len(ticket) >= 6:
            tier, org = ticket[4], ticket[5]
        else:
            tier, org = known[int(_ticket_id_of(rows))]  # type: ignore[arg-type]
        total.update(
            contributions(
                priority,
                opened,
                [facts_of(r) for r in rows],
                assignee=assignee,
                responder=responder,
                tier=tier,
                org=org,
            )
        )
    _upsert(session, total)


def _ticket_id_of(rows: Sequence[Any]) -> int | None:
    for r in rows:
        tid = r.get("ticket_id") if isinstance(r, dict) else getattr(r, "ticket_id", None)
        if tid is not None:
            return int(tid)
    return None


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


def hand_over_filter(ev: Any) -> Any:
    """The hand-over events (:data:`HAND_OVER_KINDS`; an assignment only to someone)."""
    return or_(
        ev.kind.in_(("escalated", "deescalated", "claimed")),
        and_(ev.kind == "assigned", ev.details["to"].as_string().is_not(None)),
    )


def _event_columns(ev: Any) -> tuple[Any, ...]:
    return (ev.kind, ev.at, ev.details["to_tier"].as_integer())


def _events_of(session: Session, ticket_id: int, before_id: int | None = None) -> list[EventFacts]:
    ev = TicketEvent.__table__.c  # type: ignore[attr-defined]
    q = select(*_event_columns(ev)).where(ev.ticket_id == ticket_id, hand_over_filter(ev))
    if before_id is not None:
        q = q.where(ev.id < before_id)
    return [EventFacts(k, at, _tier(tt)) for k, at, tt in session.execute(q.order_by(ev.id))]


def _tier(value: Any) -> int | None:
    return None if value is None else int(value)


def _cycles_of(session: Session, ticket_id: int) -> list[CycleFacts]:
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
        ).where(c.ticket_id == ticket_id)
    ).all()
    return [CycleFacts(*r) for r in rows]


def dims_changed(
    session: Session,
    ticket_id: int,
    before: Dims | None = None,
    *,
    assignee_before: int | None = None,
    before_id: int | None = None,
) -> None:
    """The ticket's tier, organization or assignee changed from ``before`` (tier,
    organization id, assignee id; None: only the assignee changed, from
    ``assignee_before``) to what the ticket holds now (the caller's transaction; pending
    changes are flushed first): move its whole contribution, hand-over events included,
    from the old dimensions to the new ones (the ``resolved_by`` credit too). ``before_id``:
    the id of an event already inserted that :func:`event_logged` adds next."""
    t = Ticket.__table__.c  # type: ignore[attr-defined]
    row = session.execute(
        select(t.priority, t.opened_at, t.tier, t.organization_id, t.assignee_id).where(
            t.id == ticket_id
        )
    ).first()
    if row is None:
        return
    priority, opened, tier, org, assignee = row
    if before is None:
        before = (tier, org, assignee_before)
    if before == (tier, org, assignee):
        return
    facts = _cycles_of(session, ticket_id)
    responder = (
        first_responder(session, ticket_id)
        if any(f.metric == "first_response" and f.stopped_at is not None for f in facts)
        else None
    )
    events = _events_of(session, ticket_id, before_id)
    b_tier, b_org, b_assignee = before
    apply_delta(
        session,
        contributions(
            priority,
            opened,
            facts,
            assignee=b_assignee,
            responder=responder,
            tier=b_tier,
            org=b_org,
            events=events,
        ),
        contributions(
            priority,
            opened,
            facts,
            assignee=assignee,
            responder=responder,
            tier=tier,
            org=org,
            events=events,
        ),
    )


def assignee_changed(session: Session, ticket: Any, before: int | None) -> None:
    """The ticket's assignee changed from ``before`` (the caller's transaction): move its
    contribution to the new assignee's dimension, and the credit of its resolution (a
    resolved ticket can be reassigned). See :func:`dims_changed`."""
    if before == ticket.assignee_id:
        return
    dims_changed(session, int(ticket.id), (ticket.tier, ticket.organization_id, before))


def event_logged(
    session: Session,
    ticket_id: int | None,
    kind: str,
    at: datetime,
    details: dict[str, Any],
    *,
    before_id: int | None = None,
) -> None:
    """A ticket event is being written (``DeskCore.log``, before it is added; or the
    claim statement's, ``before_id`` its id): when it is a hand-over event, add what it
    changes to the escalation figures (an escalation counted; the previous escalation
    picked up), under the ticket's current dimensions. Call it after moving the ticket's
    tier or assignee (:func:`dims_changed`)."""
    if ticket_id is None or kind not in HAND_OVER_KINDS:
        return
    if kind == "assigned" and details.get("to") is None:
        return
    new = EventFacts(kind, at, _tier(details.get("to_tier")) if kind == "escalated" else None)
    previous = _events_of(session, ticket_id, before_id)[-1:]
    if new.kind != "escalated" and not (previous and previous[0].kind == "escalated"):
        return  # nothing to count: no escalation now, none waiting before
    t = Ticket.__table__.c  # type: ignore[attr-defined]
    row = session.execute(
        select(t.tier, t.organization_id, t.assignee_id).where(t.id == ticket_id)
    ).first()
    if row is None:
        return
    dims = dim_keys(*row)
    before = escalation_keys(previous)
    after = escalation_keys([*previous, new])
    apply_delta(session, _with_dims(before, dims), _with_dims(after, dims))


def _trunc(col: Any, unit: str, dialect: str) -> Any:
    """SQL: the UTC hour / day holding ``col``, as the column type stores it."""
    if dialect == "postgresql":
        return func.timezone("UTC", func.date_trunc(unit, func.timezone("UTC", col)))
    fmt = "%Y-%m-%d %H:00:00.000000" if unit == "hour" else "%Y-%m-%d 00:00:00.000000"
    return func.strftime(fmt, col)


def _figure_rows(dialect: str) -> Any:
    """SQL: one row per figure a ticket adds (:func:`contributions`, said set-wise):
    (figure, bucket, grp, value, tier, org, assignee). :func:`rebuild` groups them."""
    t = Ticket.__table__.c  # type: ignore[attr-defined]
    c = SlaCycle.__table__.c  # type: ignore[attr-defined]
    m = Message.__table__.c  # type: ignore[attr-defined]
    ev = TicketEvent.__table__.c  # type: ignore[attr-defined]
    tickets = Ticket.__table__  # type: ignore[attr-defined]

    def hour(col: Any) -> Any:
        return _trunc(col, "hour", dialect)

    def day(col: Any) -> Any:
        return _trunc(col, "day", dialect)

    def text_of(col: Any) -> Any:
        return cast(col, String)

    dims = (t.tier.label("tier"), t.organization_id.label("org"), t.assignee_id.label("agent"))
    res = (
        select(
            c.ticket_id.label("tid"),
            func.max(c.cycle).label("last"),
            func.coalesce(func.sum(c.elapsed_seconds), 0).label("total"),
        )
        .where(c.metric == "resolution")
        .group_by(c.ticket_id)
        .subquery()
    )
    cyc = SlaCycle.__table__.join(tickets, t.id == c.ticket_id).outerjoin(
        res, res.c.tid == c.ticket_id
    )
    judged = and_(
        c.metric.in_(METRICS), or_(c.metric != "resolution", c.cycle == res.c.last)
    )
    last_res = and_(c.metric == "resolution", c.cycle == res.c.last, c.stopped_at.is_not(None))
    zero = literal(0)
    responder = (
        select(m.author_agent_id)
        .where(m.ticket_id == c.ticket_id, m.kind == MessageKind.PUBLIC.value)
        .order_by(m.created_at, m.id)
        .limit(1)
        .scalar_subquery()
    )
    fr = and_(
        c.metric == "first_response", c.stopped_at.is_not(None), c.elapsed_seconds.is_not(None)
    )
    fr_by = (
        select(
            literal("fr_by").label("figure"),
            day(c.stopped_at).label("bucket"),
            responder.label("grp"),
            shown_sql(c.elapsed_seconds).label("value"),
            *dims,
        )
        .select_from(cyc)
        .where(fr)
        .subquery()
    )
    res_secs = case((c.cycle > 1, res.c.total), else_=c.elapsed_seconds)
    order = {"partition_by": ev.ticket_id, "order_by": ev.id}
    hand = (
        select(
            ev.ticket_id.label("tid"),
            ev.kind.label("kind"),
            ev.at.label("at"),
            ev.details["to_tier"].as_integer().label("to_tier"),
            func.lead(ev.kind).over(**order).label("next_kind"),
            func.lead(ev.at).over(**order).label("next_at"),
        )
        .where(hand_over_filter(ev))
        .subquery()
    )
    esc = hand.join(tickets, t.id == hand.c.tid)
    escalated = and_(hand.c.kind == "escalated", hand.c.to_tier.is_not(None))
    return union_all(
        select(literal("opened"), hour(t.opened_at), t.priority, zero, *dims),
        select(
            literal("met:") + c.metric, hour(c.stopped_at), t.priority, zero, *dims
        )
        .select_from(cyc)
        .where(judged, c.stopped_at.is_not(None), c.met_at.is_not(None)),
        select(
            literal("breached:") + c.metric, hour(c.breached_at), t.priority, zero, *dims
        )
        .select_from(cyc)
        .where(judged, c.breached_at.is_not(None)),
        select(literal("due:") + c.metric, hour(c.due_at), t.priority, zero, *dims)
        .select_from(cyc)
        .where(judged, c.stopped_at.is_(None), c.due_at.is_not(None)),
        select(
            literal("fr_time"), day(c.stopped_at), t.priority, shown_sql(c.elapsed_seconds), *dims
        )
        .select_from(cyc)
        .where(fr),
        select(
            fr_by.c.figure,
            fr_by.c.bucket,
            text_of(fr_by.c.grp),
            fr_by.c.value,
            fr_by.c.tier,
            fr_by.c.org,
            fr_by.c.agent,
        ).where(fr_by.c.grp.is_not(None)),
        select(literal("resolved"), hour(c.stopped_at), t.priority, zero, *dims)
        .select_from(cyc)
        .where(last_res),
        select(
            literal("resolved_by"), hour(c.stopped_at), text_of(t.assignee_id), zero, *dims
        )
        .select_from(cyc)
        .where(last_res, t.assignee_id.is_not(None)),
        select(literal("res_time"), day(c.stopped_at), t.priority, shown_sql(res_secs), *dims)
        .select_from(cyc)
        .where(last_res, res_secs.is_not(None)),
        select(literal("reopened"), hour(c.started_at), t.priority, zero, *dims)
        .select_from(cyc)
        .where(c.metric == "resolution", c.cycle > 1),
        select(literal("escalated"), hour(hand.c.at), text_of(hand.c.to_tier), zero, *dims)
        .select_from(esc)
        .where(escalated),
        select(
            literal("pickup"),
            day(hand.c.at),
            text_of(hand.c.to_tier),
            shown_sql(seconds_between(hand.c.next_at, hand.c.at, dialect)),
            *dims,
        )
        .select_from(esc)
        .where(escalated, hand.c.next_kind.in_(PICKUPS)),
    )


def rebuild(session: Session, *, batch: int = 50_000) -> int:
    """Recompute the whole rollup from the tickets, their cycles, first replies and
    hand-over events, set-wise in the database (in the caller's transaction; removes the
    ``_stale`` marker): the figure rows of every ticket (:func:`_figure_rows`) into a
    temporary table, then one ``INSERT … SELECT … GROUP BY`` per dimension. ``batch`` is
    kept for callers (unused). Returns how many tickets it read."""
    del batch
    table = MetricRollup.__table__  # type: ignore[attr-defined]
    t = Ticket.__table__.c  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    session.execute(delete(table))
    count = int(session.execute(select(func.count()).select_from(Ticket.__table__)).scalar() or 0)
    if not count:
        return 0
    del t
    src = Table(
        "_metric_rollup_src",
        MetaData(),
        Column("figure", String(40)),
        Column("bucket", table.c.bucket.type),
        Column("grp", String(20)),
        Column("value", BigInteger),
        Column("tier", Integer),
        Column("org", Integer),
        Column("agent", Integer),
        prefixes=["TEMPORARY"],
    )
    conn = session.connection()
    src.drop(conn, checkfirst=True)
    src.create(conn)
    try:
        session.execute(
            insert(src).from_select(
                ["figure", "bucket", "grp", "value", "tier", "org", "agent"],
                _figure_rows(dialect),
            )
        )
        cols = ["dim", "figure", "bucket", "grp", "value", "n"]
        s = src.c
        for dim, where in (
            (literal(ALL), None),
            (literal("t") + cast(s.tier, String), s.tier.is_not(None)),
            (literal("o") + cast(s.org, String), s.org.is_not(None)),
            (literal("a") + cast(s.agent, String), s.agent.is_not(None)),
        ):
            q = select(dim.label("dim"), s.figure, s.bucket, s.grp, s.value, func.count())
            if where is not None:
                q = q.where(where)
            q = q.group_by(dim, s.figure, s.bucket, s.grp, s.value)
            session.execute(insert(table).from_select(cols, q))
    finally:
        src.drop(conn)
    return count


# ---------------------------------------------------------------- reading
def is_stale(session: Session) -> bool:
    """The rollup does not hold every ticket yet (an upgrade left it to be rebuilt)."""
    table = MetricRollup.__table__  # type: ignore[attr-defined]
    return (
        session.execute(
            select(table.c.n).where(table.c.dim == ALL, table.c.figure == STALE).limit(1)
        ).first()
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


def plan_days(start: datetime, end: datetime) -> tuple[list[Span], list[Span], list[Span]]:
    """:func:`plan` for the daily time histograms, with less raw work: a UTC day the period
    covers for more than half is read whole from the rollup, and the raw rows of its part
    outside the period are taken off again (a period of local days in New York leaves 5
    raw hours at each end, not 19 and 5). Returns (rollup spans, raw spans to add, raw
    spans to take off), each merged."""
    covered, raw = plan((start, end), DAY)
    rollup: list[Span] = list(covered)
    add: list[Span] = []
    sub: list[Span] = []
    pieces: list[Span] = []
    for a, b in raw:  # split at UTC midnights
        while a < b:
            nxt = min(b, _day(a) + DAY)
            pieces.append((a, nxt))
            a = nxt
    for a, b in pieces:
        day = _day(a)
        if (b - a) * 2 > DAY:
            rollup.append((day, day + DAY))
            sub.extend(x for x in ((day, a), (b, day + DAY)) if x[0] < x[1])
        else:
            add.append((a, b))
    return _merged(rollup), _merged(add), _merged(sub)


def _merged(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and out[-1][1] >= a:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _where(spans: Sequence[Span]) -> Any:
    from agent_console.desk.metrics_sql import within

    return within(MetricRollup.__table__.c.bucket, spans)  # type: ignore[attr-defined]


def read_counts(
    session: Session, figures: Sequence[str], spans: Sequence[Span], dim: str = ALL
) -> dict[tuple[str, str], int]:
    """(figure, grp) -> how many, over the buckets in ``spans`` of dimension ``dim``."""
    if not spans:
        return {}
    r = MetricRollup.__table__.c  # type: ignore[attr-defined]
    q = (
        select(r.figure, r.grp, func.sum(r.n))
        .where(r.dim == dim, r.figure.in_(figures), _where(spans))
        .group_by(r.figure, r.grp)
    )
    return {(f, g): int(n or 0) for f, g, n in session.execute(q)}


def read_buckets(
    session: Session, figures: Sequence[str], spans: Sequence[Span], dim: str = ALL
) -> list[tuple[datetime, str, int]]:
    """(bucket, figure, how many) over the buckets in ``spans`` (every priority) of
    dimension ``dim``."""
    if not spans:
        return []
    r = MetricRollup.__table__.c  # type: ignore[attr-defined]
    q = (
        select(r.bucket, r.figure, func.sum(r.n))
        .where(r.dim == dim, r.figure.in_(figures), _where(spans))
        .group_by(r.bucket, r.figure)
    )
    return [(b, f, int(n or 0)) for b, f, n in session.execute(q)]


def read_hist(
    session: Session, figure: str, spans: Sequence[Span], dim: str = ALL
) -> dict[str, dict[int, int]]:
    """grp -> {value: how many} of a time histogram over the buckets in ``spans`` of
    dimension ``dim``."""
    if not spans:
        return {}
    r = MetricRollup.__table__.c  # type: ignore[attr-defined]
    q = (
        select(r.grp, r.value, func.sum(r.n))
        .where(r.dim == dim, r.figure == figure, _where(spans))
        .group_by(r.grp, r.value)
    )
    out: dict[str, dict[int, int]] = {}
    for g, v, n in session.execute(q):
        if n:
            out.setdefault(g, {})[int(v)] = int(n)
    return out


def mark_stale(session: Session) -> None:
    """Leave the ``_stale`` marker (the rollup misses tickets until :func:`rebuild`)."""
    _upsert(session, {(ALL, STALE, EPOCH, "", 0): 1})

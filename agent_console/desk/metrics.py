"""Metrics: are we keeping the handbook's promises? (issue 13)

One desk function, :meth:`MetricsMixin.metrics`, computes every figure the metrics screen
and ``agent-console report`` show, for a period and optional filters (organization, tier,
agent). Everything is computed in the database with aggregate queries (GROUP BY, window
functions, indexed ranges); no ticket is loaded into Python. The same SQL runs on SQLite
and PostgreSQL and gives the same figures.

Definitions (also on the screen's ``?`` help and in the README):

- A metric cycle (``sla_cycle``, written by the ticket clock) is **judged** in the period
  that holds the instant its outcome became certain: **met** when it stopped by its due
  instant (``met_at`` in the period), **breached** when its due instant passed
  (``breached_at`` in the period for a stopped cycle; ``due_at`` in the period and before
  now for a cycle still running: *overdue*). Share met = met / (met + breached).
- First response: the first-response cycle. Status updates: every periodic-update cycle.
  Resolution: a ticket's *last* resolution cycle (a reopened ticket is one ticket judged on
  its last resolution; reopenings are counted apart: resolution cycles 2, 3, … started in
  the period).
- Time to first response / to resolution: clock seconds on the priority's own clock
  (business seconds on a business clock, pauses excluded) stored per cycle by the ticket
  clock; time to resolution adds up every resolution cycle of the ticket. Median and p90
  are **nearest-rank** percentiles (the smallest value with at least 50 % / 90 % of the
  values at or below it), computed with window functions.
- Opened / resolved per day: days of the display zone, boundaries computed here (DST-safe)
  and passed to the query as instants. Resolved = tickets whose last resolution falls in
  the day.
- Backlog: tickets open at the period's end (opened before it, not resolved by it), by their
  tier and by their age at that instant.
- Escalations: ``escalated`` events in the period, per tier reached; pickup time runs from
  the escalation to the first claim or assignment after it with no hand-over in between
  (wall-clock seconds). Escalations not picked up yet are counted as waiting.
- Per agent: open tickets assigned now; tickets resolved in the period (last resolution in
  the period) credited to their assignee; first responses in the period credited to the
  agent who sent the first public reply, with their median time to first response.
- Leads see every agent's line; an agent sees the team figures and their own line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlmodel import Session

from agent_console.desk.core import DeskCore
from agent_console.errors import NotFound, PermissionDenied, UserError
from agent_console.sla.durations import format_duration
from agent_console.store.models import (
    Agent,
    Message,
    MessageKind,
    Organization,
    SlaCycle,
    Ticket,
    TicketEvent,
)
from agent_console.views import iso_utc

__all__ = [
    "PERIODS",
    "AgentLine",
    "Breach",
    "EscalationLine",
    "MetricsFilter",
    "MetricsMixin",
    "MetricsReport",
    "Period",
    "PriorityLine",
    "Share",
    "day_bounds",
    "report_tables",
    "resolve_period",
]

#: the periods the screen offers, in the order the period key cycles through them
PERIODS: dict[str, str] = {
    "today": "Today",
    "week": "This week",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "custom": "Custom",
}
PRIORITIES = ("critical", "urgent", "minor")
METRICS = ("first_response", "next_update", "resolution")
#: backlog age buckets: (label, lower bound in days); the first bucket holds the youngest
AGE_BUCKETS: tuple[tuple[str, int], ...] = (
    ("< 1 day", 0),
    ("1-3 days", 1),
    ("3-7 days", 3),
    ("7-30 days", 7),
    ("30+ days", 30),
)
BREACH_LIST_LIMIT = 200
METRIC_LABELS = {
    "first_response": "first response",
    "next_update": "status update",
    "resolution": "resolution",
}
MAX_PERIOD_DAYS = 366


# ====================================================================== period
@dataclass(frozen=True, slots=True)
class Period:
    """A run of whole local days ``first``..``last`` (inclusive) in ``zone``.

    ``start``/``end``: aware UTC instants of the first day's midnight and of the midnight
    after the last day; ``bounds``: every local midnight in between as UTC instants
    (``len(days) + 1`` of them, DST-safe: a day can be 23 or 25 hours long)."""

    kind: str
    first: date
    last: date
    zone: str
    bounds: tuple[datetime, ...]

    @property
    def start(self) -> datetime:
        return self.bounds[0]

    @property
    def end(self) -> datetime:
        return self.bounds[-1]

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(len(self.bounds) - 1)]

    @property
    def label(self) -> str:
        name = PERIODS.get(self.kind, self.kind)
        if self.first == self.last:
            return f"{name} ({self.first.isoformat()})"
        return f"{name} ({self.first.isoformat()} to {self.last.isoformat()})"


def day_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, ...]:
    """UTC instants of the local midnights from ``first`` to the day after ``last``.

    Computed in Python because SQLite has no time zones; a local midnight that does not
    exist (a DST jump at 00:00) is read forward by zoneinfo (fold 0)."""
    from datetime import UTC

    out = []
    for i in range((last - first).days + 2):
        local = datetime.combine(first + timedelta(days=i), time(0), tzinfo=zone)
        out.append(local.astimezone(UTC))
    return tuple(out)


def resolve_period(
    kind: str,
    now: datetime,
    zone: ZoneInfo,
    *,
    first: date | None = None,
    last: date | None = None,
) -> Period:
    """The :class:`Period` called ``kind`` (see :data:`PERIODS`) at ``now`` in ``zone``.

    ``custom`` needs ``first`` (``last`` defaults to today). Raises :class:`UserError` for
    an unknown kind, ``last`` before ``first`` or a period longer than 366 days."""
    today = now.astimezone(zone).date()
    if kind == "today":
        first, last = today, today
    elif kind == "week":
        first, last = today - timedelta(days=today.weekday()), today
    elif kind == "7d":
        first, last = today - timedelta(days=6), today
    elif kind == "30d":
        first, last = today - timedelta(days=29), today
    elif kind == "custom":
        if first is None and last is None:
            raise UserError("a custom period needs a first day (--from YYYY-MM-DD)")
        last = last or today
        first = first or last - timedelta(days=29)
    else:
        raise UserError(f"unknown period {kind!r} (use {', '.join(PERIODS)})")
    if last < first:
        raise UserError(f"the period ends ({last}) before it starts ({first})")
    if (last - first).days + 1 > MAX_PERIOD_DAYS:
        raise UserError(f"a period is at most {MAX_PERIOD_DAYS} days; shorten --from/--to")
    return Period(kind, first, last, zone.key, day_bounds(first, last, zone))


# ====================================================================== results
@dataclass(frozen=True, slots=True)
class Share:
    """Met / breached cycles of one metric; ``share`` = met / (met + breached), None when
    nothing was judged. ``median``/``p90``: clock seconds (None when nothing stopped)."""

    met: int = 0
    breached: int = 0
    median: int | None = None
    p90: int | None = None
    measured: int = 0  # how many durations the percentiles are over

    @property
    def judged(self) -> int:
        return self.met + self.breached

    @property
    def share(self) -> float | None:
        return None if not self.judged else self.met / self.judged

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["judged"] = self.judged
        d["share"] = None if self.share is None else round(self.share, 4)
        return d


@dataclass(frozen=True, slots=True)
class PriorityLine:
    priority: str
    clock: str  # the default policy's clock of the priority (calendar / business)
    first_response: Share
    updates: Share
    resolution: Share
    reopened: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "priority": self.priority,
            "clock": self.clock,
            "first_response": self.first_response.as_dict(),
            "updates": self.updates.as_dict(),
            "resolution": self.resolution.as_dict(),
            "reopened": self.reopened,
        }


@dataclass(frozen=True, slots=True)
class Breach:
    """One breached cycle: ``state`` breached (stopped late) or overdue (still running);
    ``due``: the instant it passed (UTC); ``stopped``: when it stopped, None if overdue."""

    key: str
    subject: str
    priority: str
    metric: str
    cycle: int
    due: datetime
    stopped: datetime | None
    state: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "subject": self.subject,
            "priority": self.priority,
            "metric": self.metric,
            "cycle": self.cycle,
            "due": iso_utc(self.due),
            "stopped": iso_utc(self.stopped),
            "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class EscalationLine:
    """Escalations that reached ``tier`` in the period; pickup seconds (wall clock)."""

    tier: int
    escalations: int
    picked_up: int
    median_pickup: int | None
    p90_pickup: int | None

    @property
    def waiting(self) -> int:
        return self.escalations - self.picked_up

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["waiting"] = self.waiting
        return d


@dataclass(frozen=True, slots=True)
class AgentLine:
    handle: str
    name: str
    tier: int
    open_assigned: int
    resolved: int
    first_responses: int
    median_first_response: int | None  # clock seconds

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MetricsFilter:
    """Optional filters: organization name, tier, agent handle (the ticket's assignee)."""

    org: str | None = None
    tier: int | None = None
    assignee: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        parts = []
        if self.org:
            parts.append(f"org {self.org}")
        if self.tier is not None:
            parts.append(f"tier {self.tier}")
        if self.assignee:
            parts.append(f"agent {self.assignee}")
        return ", ".join(parts) or "all tickets"


@dataclass(frozen=True, slots=True)
class MetricsReport:
    """Every figure of the metrics screen and ``agent-console report`` (plain data)."""

    period: Period
    filters: MetricsFilter
    as_of: datetime  # the backlog's instant: the period's end, or now if that is sooner
    priorities: list[PriorityLine]
    breach_count: int
    breaches: list[Breach]  # the most recent first, at most BREACH_LIST_LIMIT
    daily: list[tuple[date, int, int]]  # (local day, opened, resolved)
    backlog_tier: list[tuple[int, int]]
    backlog_age: list[tuple[str, int]]
    escalations: list[EscalationLine]
    agents: list[AgentLine]
    reopened: int
    viewer: str = ""
    viewer_is_lead: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"{self.period.label}, {self.filters.label}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (instants ISO 8601 UTC, seconds as integers)."""
        p = self.period
        return {
            "period": {
                "kind": p.kind,
                "from": p.first.isoformat(),
                "to": p.last.isoformat(),
                "zone": p.zone,
                "start": iso_utc(p.start),
                "end": iso_utc(p.end),
            },
            "filters": self.filters.as_dict(),
            "as_of": iso_utc(self.as_of),
            "priorities": [x.as_dict() for x in self.priorities],
            "breaches": {
                "count": self.breach_count,
                "listed": [b.as_dict() for b in self.breaches],
            },
            "daily": [
                {"date": d.isoformat(), "opened": o, "resolved": r} for d, o, r in self.daily
            ],
            "backlog": {
                "by_tier": [{"tier": t, "open": n} for t, n in self.backlog_tier],
                "by_age": [{"age": a, "open": n} for a, n in self.backlog_age],
            },
            "escalations": [e.as_dict() for e in self.escalations],
            "agents": [a.as_dict() for a in self.agents],
            "reopened": self.reopened,
        }


# ====================================================================== SQL helpers
def percentiles(value: ColumnElement[Any], keys: Sequence[ColumnElement[Any]], source: Any) -> Any:
    """``SELECT keys..., total, n, p50, p90 FROM source GROUP BY keys``: per group the rows
    (``total``), the non-NULL values (``n``) and their nearest-rank percentiles, with
    window functions — the same SQL and figures on SQLite and PostgreSQL (NULLs are
    ordered last explicitly: the two order them differently by default)."""
    ranked = (
        select(
            *[k.label(f"k{i}") for i, k in enumerate(keys)],
            value.label("v"),
            func.row_number()
            .over(partition_by=list(keys), order_by=(case((value.is_(None), 1), else_=0), value))
            .label("rn"),
            func.count(value).over(partition_by=list(keys)).label("n"),
        )
        .select_from(source)
        .subquery()
    )
    ks = [ranked.c[f"k{i}"] for i in range(len(keys))]
    valued = ranked.c.v.is_not(None)
    return select(
        *ks,
        func.count().label("total"),
        func.max(ranked.c.n).label("n"),
        func.min(case((and_(valued, ranked.c.rn * 100 >= ranked.c.n * 50), ranked.c.v))).label(
            "p50"
        ),
        func.min(case((and_(valued, ranked.c.rn * 100 >= ranked.c.n * 90), ranked.c.v))).label(
            "p90"
        ),
    ).group_by(*ks)


def seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    """Whole seconds from ``earlier`` to ``later`` (two timestamp expressions)."""
    if dialect == "sqlite":
        diff = (func.julianday(later) - func.julianday(earlier)) * 86400.0
    else:
        diff = func.extract("epoch", later - earlier)
    return cast(func.round(diff), Integer)


def bucket_of(col: Any, bounds: Sequence[datetime]) -> ColumnElement[Any]:
    """The index of the half-open bucket ``[bounds[i], bounds[i+1])`` holding ``col``."""
    return case(*[(col < b, i) for i, b in enumerate(bounds[1:])], else_=null())


# ====================================================================== as tables
def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def _dur(seconds: int | None) -> str:
    return "-" if seconds is None else format_duration(seconds)


def report_tables(r: MetricsReport) -> list[tuple[str, str, list[str], list[list[Any]]]]:
    """The report as titled tables of display strings, the same on the screen and in
    ``agent-console report`` (text, Markdown): [(id, title, headers, rows)]. Durations
    read as timers do (``format_duration``), instants in UTC."""
    out: list[tuple[str, str, list[str], list[list[Any]]]] = []
    out.append(
        (
            "targets",
            "Targets met per priority",
            ["PRIORITY", "CLOCK", "FIRST RESPONSE", "UPDATES", "RESOLUTION", "REOPENED"],
            [
                [
                    p.priority,
                    p.clock,
                    f"{_pct(p.first_response.share)} of {p.first_response.judged}",
                    f"{_pct(p.updates.share)} of {p.updates.judged}",
                    f"{_pct(p.resolution.share)} of {p.resolution.judged}",
                    p.reopened,
                ]
                for p in r.priorities
            ],
        )
    )
    out.append(
        (
            "times",
            "Times on the priority's clock (median / p90)",
            ["PRIORITY", "FIRST RESPONSE", "P90", "RESOLUTION", "P90"],
            [
                [
                    p.priority,
                    _dur(p.first_response.median),
                    _dur(p.first_response.p90),
                    _dur(p.resolution.median),
                    _dur(p.resolution.p90),
                ]
                for p in r.priorities
            ],
        )
    )
    out.append(
        (
            "breaches",
            f"Breaches: {r.breach_count}"
            + (f" (latest {len(r.breaches)} listed)" if r.breach_count > len(r.breaches) else ""),
            ["TICKET", "PRIORITY", "METRIC", "STATE", "DUE (UTC)", "SUBJECT"],
            [
                [
                    b.key,
                    b.priority,
                    METRIC_LABELS.get(b.metric, b.metric)
                    + (f" #{b.cycle}" if b.metric == "next_update" else ""),
                    b.state,
                    b.due.strftime("%Y-%m-%d %H:%M"),
                    b.subject,
                ]
                for b in r.breaches
            ],
        )
    )
    out.append(
        (
            "daily",
            f"Opened and resolved per day ({r.period.zone})",
            ["DAY", "OPENED", "RESOLVED"],
            [[d.isoformat(), o, n] for d, o, n in r.daily],
        )
    )
    out.append(
        (
            "backlog_tier",
            f"Backlog at {r.as_of.strftime('%Y-%m-%d %H:%M')} UTC",
            ["TIER", "OPEN"],
            [[t, n] for t, n in r.backlog_tier],
        )
    )
    out.append(
        ("backlog_age", "Backlog by age", ["AGE", "OPEN"], [[a, n] for a, n in r.backlog_age])
    )
    out.append(
        (
            "escalations",
            "Escalations",
            ["TO TIER", "ESCALATED", "PICKED UP", "WAITING", "MEDIAN PICKUP", "P90"],
            [
                [
                    e.tier,
                    e.escalations,
                    e.picked_up,
                    e.waiting,
                    _dur(e.median_pickup),
                    _dur(e.p90_pickup),
                ]
                for e in r.escalations
            ],
        )
    )
    out.append(
        (
            "agents",
            "Per agent" + ("" if r.viewer_is_lead else f" (your line: {r.viewer})"),
            ["AGENT", "TIER", "OPEN ASSIGNED", "RESOLVED", "FIRST RESPONSES", "MEDIAN FR"],
            [
                [
                    a.handle,
                    a.tier,
                    a.open_assigned,
                    a.resolved,
                    a.first_responses,
                    _dur(a.median_first_response),
                ]
                for a in r.agents
            ],
        )
    )
    return out


# ====================================================================== the desk
class MetricsMixin(DeskCore):
    def metrics(
        self,
        period: Period | str = "7d",
        filters: MetricsFilter | None = None,
        *,
        first: date | None = None,
        last: date | None = None,
        viewer: str | None = None,
    ) -> MetricsReport:
        """Every metrics figure for ``period`` (a :class:`Period`, or a kind from
        :data:`PERIODS` resolved at the desk's now in the display zone, ``first``/``last``
        for ``custom``) and ``filters``, as seen by ``viewer`` (default: the acting agent).

        Raises :class:`NotFound` for an unknown organization or agent,
        :class:`PermissionDenied` when a non-lead asks for another agent's figures,
        :class:`UserError` for a bad period. See the module docstring for definitions."""
        now = self.now()
        zone = self.display_zone
        if isinstance(period, str):
            period = resolve_period(period, now, zone, first=first, last=last)
        filters = filters or MetricsFilter()
        if filters.tier is not None and filters.tier not in (1, 2, 3):
            raise UserError(f"unknown tier {filters.tier} (use 1, 2 or 3)")
        with self.read() as s:
            me = self._metrics_viewer(s, viewer)
            conds = self._ticket_filters(s, filters, me)
            dialect = s.get_bind().dialect.name
        start, end = period.start, period.end
        until = min(end, now)
        steps: dict[str, Callable[[Session], Any]] = {
            "judged": lambda s: self._judged(s, start, end, until, conds),
            "fr_times": lambda s: self._stopped_times(s, "first_response", start, end, conds),
            "res_times": lambda s: self._resolution_times(s, start, end, conds),
            "reopened": lambda s: self._reopened(s, start, end, conds),
            "breaches": lambda s: self._breaches(s, start, end, until, conds),
            "daily": lambda s: self._daily(s, period, conds),
            "backlog": lambda s: self._backlog(s, until, conds),
            "escalations": lambda s: self._escalations(s, start, end, conds, dialect),
            "agents": lambda s: self._agent_lines(s, start, end, conds, filters, me),
        }
        got = self._run_parts(steps)
        judged, fr_times, res, reopened = (
            got["judged"],
            got["fr_times"],
            got["res_times"],
            got["reopened"],
        )
        pol = self.default_policy
        lines = []
        for prio in PRIORITIES:
            j = {m: judged.get((prio, m), (0, 0)) for m in METRICS}
            n_fr, fr50, fr90 = fr_times.get(prio, (0, None, None))
            n_res, r50, r90 = res.get(prio, (0, None, None))
            lines.append(
                PriorityLine(
                    prio,
                    pol.target(prio).clock,
                    Share(*j["first_response"], fr50, fr90, n_fr),
                    Share(*j["next_update"]),
                    Share(*j["resolution"], r50, r90, n_res),
                    reopened.get(prio, 0),
                )
            )
        breach_count, breaches = got["breaches"]
        tiers, ages = got["backlog"]
        daily, escalations, agents = got["daily"], got["escalations"], got["agents"]
        as_of = until
        return MetricsReport(
            period=period,
            filters=filters,
            as_of=as_of,
            priorities=lines,
            breach_count=breach_count,
            breaches=breaches,
            daily=daily,
            backlog_tier=tiers,
            backlog_age=ages,
            escalations=escalations,
            agents=agents,
            reopened=sum(reopened.values()),
            viewer=me.handle,
            viewer_is_lead=bool(me.lead),
        )

    #: how many of the figure queries run at once, each on its own connection (1: in turn)
    metrics_parallel: int = 4

    def _run_parts(self, steps: dict[str, Callable[[Session], Any]]) -> dict[str, Any]:
        """Run each step in its own read session; independent queries run side by side
        (SQLite in WAL mode and PostgreSQL both serve concurrent readers). One database
        snapshot per step: figures of one report may straddle a concurrent write."""
        url = self.engine.url
        workers = self.metrics_parallel
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            workers = 1  # each connection would see its own empty in-memory database

        def run(step: Callable[[Session], Any]) -> Any:
            with self.read() as s:
                return step(s)

        if workers <= 1:
            return {name: run(step) for name, step in steps.items()}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="metrics") as pool:
            futures = {name: pool.submit(run, step) for name, step in steps.items()}
            return {name: f.result() for name, f in futures.items()}

    # ------------------------------------------------------------------ who / which tickets
    def _metrics_viewer(self, s: Session, viewer: str | None) -> Agent:
        return self.agent_by_handle(s, viewer or self.actor)

    def _ticket_filters(self, s: Session, f: MetricsFilter, me: Agent) -> list[Any]:
        t = Ticket.__table__.c
        conds: list[Any] = []
        if f.org:
            org_id = s.execute(
                select(Organization.__table__.c.id).where(
                    func.lower(Organization.__table__.c.name) == f.org.strip().lower()
                )
            ).scalar()
            if org_id is None:
                raise NotFound(f"unknown organization {f.org!r}")
            conds.append(t.organization_id == org_id)
        if f.tier is not None:
            conds.append(t.tier == f.tier)
        if f.assignee:
            handle = f.assignee.strip().lower()
            if handle != me.handle and not me.lead:
                raise PermissionDenied(
                    f"{me.handle} is not a lead: an agent sees the team figures and their "
                    "own line (drop --assignee, or use your own handle)"
                )
            agent_id = s.execute(
                select(Agent.__table__.c.id).where(Agent.__table__.c.handle == handle)
            ).scalar()
            if agent_id is None:
                raise NotFound(f"unknown agent {f.assignee!r} (see `agent-console agent list`)")
            conds.append(t.assignee_id == agent_id)
        return conds

    # ------------------------------------------------------------------ met / breached
    @staticmethod
    def _judged_rows(start: datetime, end: datetime, until: datetime) -> Any:
        """Cycles judged in the period: (ticket id, metric, cycle, outcome, instant),
        ``outcome`` 1 = met, 0 = breached; an overdue cycle's instant is its due."""
        c = SlaCycle.__table__.c
        met = select(
            c.ticket_id, c.metric, c.cycle, literal(1).label("ok"), c.met_at.label("at")
        ).where(
            c.metric.in_(METRICS), c.stopped_at >= start, c.stopped_at < end, c.met_at.is_not(None)
        )
        late = select(
            c.ticket_id, c.metric, c.cycle, literal(0).label("ok"), c.breached_at.label("at")
        ).where(c.breached_at >= start, c.breached_at < end)
        overdue = select(
            c.ticket_id, c.metric, c.cycle, literal(0).label("ok"), c.due_at.label("at")
        ).where(c.stopped_at.is_(None), c.due_at >= start, c.due_at < until)
        return union_all(met, late, overdue).subquery()

    def _judged(
        self, s: Session, start: datetime, end: datetime, until: datetime, conds: list[Any]
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """(priority, metric) -> (met, breached); resolution only on the last cycle."""
        u = self._judged_rows(start, end, until)
        t = Ticket.__table__.c
        c2 = SlaCycle.__table__.alias("later")
        not_last = exists().where(
            c2.c.ticket_id == u.c.ticket_id,
            c2.c.metric == u.c.metric,
            c2.c.cycle > u.c.cycle,
        )
        q = (
            select(
                t.priority,
                u.c.metric,
                func.sum(u.c.ok),
                func.count(),
            )
            .select_from(u.join(Ticket.__table__, t.id == u.c.ticket_id))
            .where(*conds, or_(u.c.metric != "resolution", ~not_last))
            .group_by(t.priority, u.c.metric)
        )
        out = {}
        for prio, metric, ok, n in s.execute(q):
            ok = int(ok or 0)
            out[(prio, metric)] = (ok, int(n) - ok)
        return out

    def _stopped_times(
        self, s: Session, metric: str, start: datetime, end: datetime, conds: list[Any]
    ) -> dict[str, tuple[int, int | None, int | None]]:
        """priority -> (n, median, p90) of the clock seconds of ``metric`` cycles that
        stopped in the period."""
        c = SlaCycle.__table__.c
        t = Ticket.__table__.c
        src = (
            select(t.priority.label("priority"), c.elapsed_seconds.label("secs"))
            .select_from(SlaCycle.__table__.join(Ticket.__table__, t.id == c.ticket_id))
            .where(c.metric == metric, c.stopped_at >= start, c.stopped_at < end, *conds)
            .subquery()
        )
        q = percentiles(src.c.secs, [src.c.priority], src)
        return {row[0]: (int(row.n), _int(row.p50), _int(row.p90)) for row in s.execute(q)}

    def _last_resolutions(self, start: datetime, end: datetime, conds: list[Any]) -> Any:
        """Tickets whose last resolution stopped in the period: (ticket id, priority,
        assignee, met 1/0, clock seconds of every resolution cycle added up)."""
        c = SlaCycle.__table__.c
        t = Ticket.__table__.c
        later = SlaCycle.__table__.alias("later")
        every = SlaCycle.__table__.alias("every")
        total = (
            select(func.sum(every.c.elapsed_seconds))
            .where(every.c.ticket_id == c.ticket_id, every.c.metric == "resolution")
            .scalar_subquery()
        )
        return (
            select(
                c.ticket_id.label("ticket_id"),
                t.priority.label("priority"),
                t.assignee_id.label("assignee_id"),
                case((c.met_at.is_not(None), 1), else_=0).label("ok"),
                case((c.cycle > 1, total), else_=c.elapsed_seconds).label("secs"),
            )
            .select_from(SlaCycle.__table__.join(Ticket.__table__, t.id == c.ticket_id))
            .where(
                c.metric == "resolution",
                c.stopped_at >= start,
                c.stopped_at < end,
                ~exists().where(
                    later.c.ticket_id == c.ticket_id,
                    later.c.metric == "resolution",
                    later.c.cycle > c.cycle,
                ),
                *conds,
            )
            .subquery()
        )

    def _resolution_times(
        self, s: Session, start: datetime, end: datetime, conds: list[Any]
    ) -> dict[str, tuple[int, int | None, int | None]]:
        """priority -> (n, median, p90) of the time to resolution of the tickets whose
        last resolution stopped in the period (every resolution cycle added up)."""
        src = self._last_resolutions(start, end, conds)
        return {
            row[0]: (int(row.n), _int(row.p50), _int(row.p90))
            for row in s.execute(percentiles(src.c.secs, [src.c.priority], src))
        }

    def _reopened(
        self, s: Session, start: datetime, end: datetime, conds: list[Any]
    ) -> dict[str, int]:
        """priority -> reopenings in the period (resolution cycles 2, 3, … started)."""
        c = SlaCycle.__table__.c
        t = Ticket.__table__.c
        q = (
            select(t.priority, func.count())
            .select_from(SlaCycle.__table__.join(Ticket.__table__, t.id == c.ticket_id))
            .where(
                c.metric == "resolution",
                c.started_at >= start,
                c.started_at < end,
                c.cycle > 1,
                *conds,
            )
            .group_by(t.priority)
        )
        return {p: int(n) for p, n in s.execute(q)}

    def _breaches(
        self, s: Session, start: datetime, end: datetime, until: datetime, conds: list[Any]
    ) -> tuple[int, list[Breach]]:
        """How many cycles breached in the period (resolution: last cycles only), and
        the most recent :data:`BREACH_LIST_LIMIT` of them."""
        c = SlaCycle.__table__.c
        t = Ticket.__table__.c
        later = SlaCycle.__table__.alias("later")
        last_only = or_(
            c.metric != "resolution",
            ~exists().where(
                later.c.ticket_id == c.ticket_id,
                later.c.metric == "resolution",
                later.c.cycle > c.cycle,
            ),
        )
        at = func.coalesce(c.breached_at, c.due_at)
        base = (
            select(
                t.key,
                t.subject,
                t.priority,
                c.metric,
                c.cycle,
                at.label("due"),
                c.stopped_at,
            )
            .select_from(SlaCycle.__table__.join(Ticket.__table__, t.id == c.ticket_id))
            .where(
                or_(
                    and_(c.breached_at >= start, c.breached_at < end),
                    and_(c.stopped_at.is_(None), c.due_at >= start, c.due_at < until),
                ),
                last_only,
                *conds,
            )
        )
        count = int(s.execute(select(func.count()).select_from(base.subquery())).scalar_one())
        rows = s.execute(base.order_by(at.desc(), t.key).limit(BREACH_LIST_LIMIT)).all()
        from agent_console.store.types import UTCDateTime

        conv = UTCDateTime().process_result_value
        dialect = s.get_bind().dialect
        out = []
        for key, subject, prio, metric, cycle, due, stopped in rows:
            due = _aware(due, conv, dialect)
            out.append(
                Breach(
                    key,
                    subject,
                    prio,
                    metric,
                    int(cycle),
                    due,
                    stopped,
                    "breached" if stopped is not None else "overdue",
                )
            )
        return count, out

    # ------------------------------------------------------------------ volumes
    def _daily(self, s: Session, period: Period, conds: list[Any]) -> list[tuple[date, int, int]]:
        """Per local day: tickets opened, and tickets whose last resolution fell in it."""
        t = Ticket.__table__.c
        b = period.bounds
        opened_bucket = bucket_of(t.opened_at, b)
        opened = dict(
            s.execute(
                select(opened_bucket, func.count())
                .where(t.opened_at >= b[0], t.opened_at < b[-1], *conds)
                .group_by(opened_bucket)
            ).all()
        )
        c = SlaCycle.__table__.c
        later = SlaCycle.__table__.alias("later")
        res_bucket = bucket_of(c.stopped_at, b)
        source = SlaCycle.__table__
        if conds:  # the filters are on the ticket
            source = source.join(Ticket.__table__, t.id == c.ticket_id)
        resolved = dict(
            s.execute(
                select(res_bucket, func.count())
                .select_from(source)
                .where(
                    c.metric == "resolution",
                    c.stopped_at >= b[0],
                    c.stopped_at < b[-1],
                    ~exists().where(
                        later.c.ticket_id == c.ticket_id,
                        later.c.metric == "resolution",
                        later.c.cycle > c.cycle,
                    ),
                    *conds,
                )
                .group_by(res_bucket)
            ).all()
        )
        return [
            (day, int(opened.get(i, 0)), int(resolved.get(i, 0)))
            for i, day in enumerate(period.days)
        ]

    def _backlog(
        self, s: Session, as_of: datetime, conds: list[Any]
    ) -> tuple[list[tuple[int, int]], list[tuple[str, int]]]:
        """Tickets open at ``as_of`` (opened before it, not resolved by it): per tier and
        per age bucket (:data:`AGE_BUCKETS`, age at ``as_of``)."""
        t = Ticket.__table__.c
        age = case(
            *[
                (t.opened_at > as_of - timedelta(days=AGE_BUCKETS[i + 1][1]), i)
                for i in range(len(AGE_BUCKETS) - 1)
            ],
            else_=len(AGE_BUCKETS) - 1,
        )
        # two indexed parts: still unresolved, and resolved after as_of
        where_parts = [
            and_(t.resolved_at.is_(None), t.opened_at < as_of),
            and_(t.resolved_at >= as_of, t.opened_at < as_of),
        ]
        tiers: dict[int, int] = {}
        ages: dict[int, int] = {}
        for part in where_parts:
            for tier, bucket, n in s.execute(
                select(t.tier, age.label("age"), func.count())
                .where(part, *conds)
                .group_by(t.tier, age)
            ):
                tiers[int(tier)] = tiers.get(int(tier), 0) + int(n)
                ages[int(bucket)] = ages.get(int(bucket), 0) + int(n)
        return (
            [(tier, tiers.get(tier, 0)) for tier in (1, 2, 3)],
            [(label, ages.get(i, 0)) for i, (label, _) in enumerate(AGE_BUCKETS)],
        )

    def _escalations(
        self, s: Session, start: datetime, end: datetime, conds: list[Any], dialect: str
    ) -> list[EscalationLine]:
        """Escalations per tier reached, and how long they waited to be picked up."""
        ev = TicketEvent.__table__
        e = ev.alias("esc")
        p = ev.alias("pick")
        h = ev.alias("handover")
        t = Ticket.__table__.c
        to_tier = e.c.details["to_tier"].as_integer()
        picked_kind = or_(
            p.c.kind == "claimed",
            and_(p.c.kind == "assigned", p.c.details["to"].as_string().is_not(None)),
        )
        pick_at = (
            select(func.min(p.c.at))
            .where(
                p.c.ticket_id == e.c.ticket_id,
                p.c.id > e.c.id,
                picked_kind,
                ~exists()
                .where(
                    h.c.ticket_id == e.c.ticket_id,
                    h.c.kind.in_(("escalated", "deescalated")),
                    h.c.id > e.c.id,
                    h.c.id < p.c.id,
                )
                .correlate_except(h),
            )
            .scalar_subquery()
        )
        src = (
            select(
                to_tier.label("tier"),
                seconds_between(pick_at, e.c.at, dialect).label("wait"),
            )
            .select_from(e.join(Ticket.__table__, t.id == e.c.ticket_id))
            .where(e.c.kind == "escalated", e.c.at >= start, e.c.at < end, *conds)
            .subquery()
        )
        got = {
            int(row[0]): (int(row.total), int(row.n), _int(row.p50), _int(row.p90))
            for row in s.execute(percentiles(src.c.wait, [src.c.tier], src))
            if row[0] is not None
        }
        out = []
        for tier in (2, 3):
            n, picked, p50, p90 = got.get(tier, (0, 0, None, None))
            out.append(EscalationLine(tier, n, picked, p50, p90))
        return out

    # ------------------------------------------------------------------ per agent
    def _agent_lines(
        self,
        s: Session,
        start: datetime,
        end: datetime,
        conds: list[Any],
        f: MetricsFilter,
        me: Agent,
    ) -> list[AgentLine]:
        t = Ticket.__table__.c
        a = Agent.__table__.c
        open_assigned = dict(
            s.execute(
                select(t.assignee_id, func.count())
                .where(t.is_open.is_(True), t.assignee_id.is_not(None), *conds)
                .group_by(t.assignee_id)
            ).all()
        )
        res = self._last_resolutions(start, end, conds)
        resolved = dict(
            s.execute(
                select(res.c.assignee_id, func.count())
                .where(res.c.assignee_id.is_not(None))
                .group_by(res.c.assignee_id)
            ).all()
        )
        c = SlaCycle.__table__.c
        m = aliased(Message)
        responder = (
            select(m.author_agent_id)
            .where(m.ticket_id == c.ticket_id, m.kind == MessageKind.PUBLIC.value)
            .order_by(m.created_at, m.id)
            .limit(1)
            .scalar_subquery()
        )
        src = (
            select(responder.label("agent_id"), c.elapsed_seconds.label("secs"))
            .select_from(SlaCycle.__table__.join(Ticket.__table__, t.id == c.ticket_id))
            .where(c.metric == "first_response", c.stopped_at >= start, c.stopped_at < end, *conds)
            .subquery()
        )
        fr = {
            row[0]: (int(row.n), _int(row.p50))
            for row in s.execute(percentiles(src.c.secs, [src.c.agent_id], src))
            if row[0] is not None
        }
        ids = set(open_assigned) | set(resolved) | set(fr)
        if not me.lead:
            ids &= {me.id}
        if f.assignee:
            ids = {i for i in ids if i is not None}
        if not ids:
            return []
        agents = s.execute(
            select(a.id, a.handle, a.name, a.tier).where(a.id.in_(ids)).order_by(a.handle)
        ).all()
        out = []
        for aid, handle, name, tier in agents:
            n_fr, med = fr.get(aid, (0, None))
            out.append(
                AgentLine(
                    handle,
                    name,
                    int(tier),
                    int(open_assigned.get(aid, 0)),
                    int(resolved.get(aid, 0)),
                    n_fr,
                    med,
                )
            )
        return out


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _aware(value: Any, conv: Any, dialect: Any) -> datetime:
    """A coalesced instant read back from a raw expression (SQLite returns a string)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return conv(value, dialect)  # type: ignore[no-any-return]

"""Metrics: the period, the figures as plain data, and the figures as titled tables.

What :meth:`agent_console.desk.metrics.MetricsMixin.metrics` returns (and the screen and
``agent-console report`` show); no database here. Definitions: ``desk/metrics.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agent_console.errors import UserError
from agent_console.sla.durations import format_duration
from agent_console.views import iso_utc

__all__ = [
    "AGE_BUCKETS",
    "BREACH_LIST_LIMIT",
    "METRICS",
    "METRIC_LABELS",
    "PERIODS",
    "PRIORITIES",
    "AgentLine",
    "Breach",
    "EscalationLine",
    "MetricsFilter",
    "MetricsReport",
    "Period",
    "PriorityLine",
    "Share",
    "day_bounds",
    "report_tables",
    "resolve_period",
    "nearest_rank",
    "shown_seconds",
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


# ====================================================================== times
def shown_seconds(seconds: int) -> int:
    """A time to first response / resolution as the figures keep it: whole seconds under
    an hour, whole minutes (rounded down) from an hour — exactly what a timer shows
    (``format_duration``: ``47m 12s``, ``5h 03m``). Rounding down is monotone, so the
    median / p90 of the kept times is the kept value of the exact median / p90: the
    figures read the same as over exact seconds, and the rollup can hold them exactly."""
    return seconds if seconds < 3600 else seconds - seconds % 60


def nearest_rank(hist: dict[int, int], pct: int) -> int | None:
    """The nearest-rank ``pct`` percentile of a histogram {value: how many}: the smallest
    value with at least ``pct`` % of the values at or below it (None when empty)."""
    total = sum(n for n in hist.values() if n > 0)
    if not total:
        return None
    seen = 0
    for value in sorted(hist):
        n = hist[value]
        if n <= 0:
            continue
        seen += n
        if seen * 100 >= total * pct:
            return value
    return None  # pragma: no cover - the loop always reaches the total


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
    #: where the period's figures came from: "rollup" (plus the raw rows of the slices it
    #: does not cover) or "rows" (a filter, or a rollup still to be rebuilt)
    source: str = "rows"

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
            "notes": list(self.notes),
        }


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

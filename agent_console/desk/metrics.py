"""Metrics: are we keeping the handbook's promises? (issue 13)

Modules: ``metrics_figures`` (the period, the figures as plain data and as tables),
``metrics_sql`` (SQL building blocks), ``metrics_queries`` (the figures from the raw rows),
``metrics_rollup`` (the figures added up per hour / day, kept current on write); this one
decides where each figure comes from and puts the report together.

The period's figures are read from the rollup (plus the raw rows of the slices it does
not cover, with the same filters): without a filter its ``""`` dimension, with one
organization, tier or agent filter that dimension; with two filters or more, from the
raw rows of that narrower set. Both give the same figures (tests/test_metrics_rollup.py).
The breach list, the backlog and the open tickets per agent always come from the raw
rows (indexed, limited sets).

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
  clock; time to resolution adds up every resolution cycle of the ticket. Kept to the
  second under an hour and to the minute from an hour (rounded down: what a timer shows,
  :func:`~agent_console.desk.metrics_figures.shown_seconds`). Median and p90 are
  **nearest-rank** percentiles (the smallest value with at least 50 % / 90 % of the values
  at or below it), picked from a histogram the database groups.
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

import time
from bisect import bisect_right
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from sqlmodel import Session

from agent_console.desk.metrics_figures import (
    AGE_BUCKETS,
    BREACH_LIST_LIMIT,
    METRIC_LABELS,
    METRICS,
    PERIODS,
    PRIORITIES,
    AgentLine,
    Breach,
    EscalationLine,
    MetricsFilter,
    MetricsReport,
    Period,
    PriorityLine,
    Share,
    day_bounds,
    nearest_rank,
    report_tables,
    resolve_period,
    shown_seconds,
)
from agent_console.desk.metrics_queries import MetricsQueries
from agent_console.desk.metrics_rollup import (
    ALL,
    HOUR,
    is_stale,
    plan,
    plan_days,
    read_buckets,
    read_counts,
    read_hist,
    rebuild,
)
from agent_console.desk.metrics_sql import Span
from agent_console.errors import UserError

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
    "MetricsMixin",
    "MetricsReport",
    "Period",
    "PriorityLine",
    "Share",
    "day_bounds",
    "nearest_rank",
    "report_tables",
    "resolve_period",
    "shown_seconds",
]

Hist = dict[str, dict[int, int]]


def _merge_hist(*parts: Hist) -> Hist:
    """The histograms added up (values whose counts cancel out dropped)."""
    out: Hist = {}
    for part in parts:
        for grp, hist in part.items():
            mine = out.setdefault(grp, {})
            for value, n in hist.items():
                mine[value] = mine.get(value, 0) + n
    return {g: {v: n for v, n in h.items() if n} for g, h in out.items()}


def _negated(part: Hist) -> Hist:
    return {grp: {v: -n for v, n in hist.items()} for grp, hist in part.items()}


def _add_counts(*parts: dict[Any, int]) -> dict[Any, int]:
    out: dict[Any, int] = {}
    for part in parts:
        for key, n in part.items():
            out[key] = out.get(key, 0) + n
    return out


class MetricsMixin(MetricsQueries):
    #: how many of the figure queries run at once, each on its own connection (1: in turn)
    metrics_parallel: int = 4
    #: read unfiltered figures from the rollup (False: always from the raw rows)
    metrics_use_rollup: bool = True
    #: milliseconds each query of the last :meth:`metrics` call took (bench/bench_metrics.py)
    metrics_timings: dict[str, float] = {}  # noqa: RUF012 - replaced, never mutated

    def metrics(
        self,
        period: Period | str = "7d",
        filters: MetricsFilter | None = None,
        *,
        first: date | None = None,
        last: date | None = None,
        viewer: str | None = None,
        rollup: bool | None = None,
    ) -> MetricsReport:
        """Every metrics figure for ``period`` (a :class:`Period`, or a kind from
        :data:`PERIODS` resolved at the desk's now in the display zone, ``first``/``last``
        for ``custom``) and ``filters``, as seen by ``viewer`` (default: the acting agent).
        ``rollup``: None reads the rollup when it can (no filter, rollup built), False
        never (the raw rows only; the figures are the same).

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
            conds, dim = self._ticket_filters(s, filters, me)
            dialect = s.get_bind().dialect.name
            use_rollup = (
                rollup is not False
                and self.metrics_use_rollup
                and dim is not None
                and not is_stale(s)
            )
        start, end = period.start, period.end
        until = min(end, now)
        due_period: list[Span] = [(start, until)] if until > start else []
        steps: dict[str, Callable[[Session], Any]] = {
            "breaches": lambda s: self._breach_list(s, [(start, end)], due_period, conds),
            "backlog": lambda s: self._backlog(s, until, conds),
            "open_assigned": lambda s: self._open_assigned(s, conds),
        }
        if use_rollup:
            steps.update(self._rollup_steps(period, due_period, conds, dim or ALL, dialect))
        else:
            spans: list[Span] = [(start, end)]
            steps.update(
                {
                    "escalations": lambda s: self._escalation_parts(
                        s, spans, spans, conds, dialect
                    ),
                    "judged": lambda s: self._judged(s, spans, due_period, conds),
                    "fr_hist": lambda s: self._first_response_hist(s, spans, conds),
                    "res_hist": lambda s: self._resolution_hist(s, spans, conds),
                    "reopened": lambda s: self._reopened(s, spans, conds),
                    "daily": lambda s: self._daily(s, period.bounds, spans, conds),
                    "resolved_by": lambda s: self._resolved_by(s, spans, conds),
                    "fr_by": lambda s: self._first_response_by(s, spans, conds),
                }
            )
        got = self._run_parts(steps)
        if use_rollup:
            got = self._rollup_results(period, got)
        judged, reopened = got["judged"], got["reopened"]
        fr_hist, res_hist = got["fr_hist"], got["res_hist"]
        pol = self.default_policy
        lines = []
        for prio in PRIORITIES:
            j = {m: judged.get((prio, m), (0, 0)) for m in METRICS}
            fr, res = fr_hist.get(prio, {}), res_hist.get(prio, {})
            lines.append(
                PriorityLine(
                    prio,
                    pol.target(prio).clock,
                    Share(
                        *j["first_response"],
                        nearest_rank(fr, 50),
                        nearest_rank(fr, 90),
                        sum(fr.values()),
                    ),
                    Share(*j["next_update"]),
                    Share(
                        *j["resolution"],
                        nearest_rank(res, 50),
                        nearest_rank(res, 90),
                        sum(res.values()),
                    ),
                    reopened.get(prio, 0),
                )
            )
        with self.read() as s:
            agents = self._agent_lines(
                s, got["open_assigned"], got["resolved_by"], got["fr_by"], filters, me
            )
        tiers, ages = got["backlog"]
        per_day = got["daily"]
        notes = []
        zero = [p.priority for p in lines if p.clock == "business" and p.first_response.median == 0]
        if zero:
            notes.append(
                f"Median first response 0m 00s ({', '.join(zero)}): at least half were sent "
                "outside business hours, before the business clock started."
            )
        return MetricsReport(
            period=period,
            filters=filters,
            as_of=until,
            priorities=lines,
            breach_count=sum(b for _, b in judged.values()),
            breaches=got["breaches"],
            daily=[(day, *per_day.get(i, (0, 0))) for i, day in enumerate(period.days)],
            backlog_tier=tiers,
            backlog_age=ages,
            escalations=self._escalation_lines(*got["escalations"]),
            agents=agents,
            reopened=sum(reopened.values()),
            viewer=me.handle,
            viewer_is_lead=bool(me.lead),
            notes=notes,
            source="rollup" if use_rollup else "rows",
        )

    # ------------------------------------------------------------------ from the rollup
    def _rollup_steps(
        self,
        period: Period,
        due_period: list[Span],
        conds: list[Any],
        dim: str,
        dialect: str,
    ) -> dict[str, Callable[[Session], Any]]:
        """The rollup reads (dimension ``dim``), and the raw reads (filtered by
        ``conds``) of what the rollup's cells do not cover."""
        start, end = period.start, period.end
        totals, totals_raw = plan((start, end), HOUR)
        days, days_raw = plan(period.bounds, HOUR)
        dues, dues_raw = plan(due_period[0], HOUR) if due_period else ([], [])
        times, times_raw, times_off = plan_days(start, end)
        judged = [f"{k}:{m}" for k in ("met", "breached") for m in METRICS]
        due = [f"due:{m}" for m in METRICS]
        return {
            "r_judged": lambda s: read_counts(
                s, [*judged, "reopened", "resolved_by", "escalated"], totals, dim
            ),
            "r_due": lambda s: read_counts(s, due, dues, dim),
            "r_fr": lambda s: read_hist(s, "fr_time", times, dim),
            "r_res": lambda s: read_hist(s, "res_time", times, dim),
            "r_daily": lambda s: read_buckets(s, ["opened", "resolved"], days, dim),
            "r_fr_by": lambda s: read_hist(s, "fr_by", times, dim),
            "r_pickup": lambda s: read_hist(s, "pickup", times, dim),
            "judged": lambda s: self._judged(s, totals_raw, dues_raw, conds),
            "fr_hist": lambda s: self._first_response_hist(s, times_raw, conds),
            "res_hist": lambda s: self._resolution_hist(s, times_raw, conds),
            "reopened": lambda s: self._reopened(s, totals_raw, conds),
            "daily": lambda s: self._daily(s, period.bounds, days_raw, conds),
            "resolved_by": lambda s: self._resolved_by(s, totals_raw, conds),
            "fr_by": lambda s: self._first_response_by(s, times_raw, conds),
            "escalations": lambda s: self._escalation_parts(
                s, totals_raw, times_raw, conds, dialect
            ),
            # the parts of whole UTC days read from the rollup that lie outside the period
            "fr_hist_off": lambda s: self._first_response_hist(s, times_off, conds),
            "res_hist_off": lambda s: self._resolution_hist(s, times_off, conds),
            "fr_by_off": lambda s: self._first_response_by(s, times_off, conds),
            "pickup_off": lambda s: self._escalation_parts(s, [], times_off, conds, dialect)[1],
        }

    @staticmethod
    def _rollup_results(period: Period, got: dict[str, Any]) -> dict[str, Any]:
        """Add the rollup's answers to the raw answers of the uncovered slices."""
        counts = _add_counts(got["r_judged"], got["r_due"])
        judged = dict(got["judged"])
        for prio in PRIORITIES:
            for m in METRICS:
                met = counts.get((f"met:{m}", prio), 0)
                late = counts.get((f"breached:{m}", prio), 0) + counts.get((f"due:{m}", prio), 0)
                if met or late:
                    a, b = judged.get((prio, m), (0, 0))
                    judged[(prio, m)] = (a + met, b + late)
        reopened = _add_counts(
            got["reopened"],
            {g: n for (f, g), n in got["r_judged"].items() if f == "reopened"},
        )
        daily = {i: list(v) for i, v in got["daily"].items()}
        bounds = period.bounds
        for bucket, figure, n in got["r_daily"]:
            i = bisect_right(bounds, bucket) - 1
            row = daily.setdefault(i, [0, 0])
            row[0 if figure == "opened" else 1] += n
        return {
            **got,
            "judged": judged,
            "reopened": reopened,
            "fr_hist": _merge_hist(got["fr_hist"], got["r_fr"], _negated(got["fr_hist_off"])),
            "res_hist": _merge_hist(got["res_hist"], got["r_res"], _negated(got["res_hist_off"])),
            "daily": {i: (a, b) for i, (a, b) in daily.items()},
            "resolved_by": _add_counts(
                got["resolved_by"],
                {g: n for (f, g), n in got["r_judged"].items() if f == "resolved_by"},
            ),
            "fr_by": _merge_hist(got["fr_by"], got["r_fr_by"], _negated(got["fr_by_off"])),
            "escalations": (
                _add_counts(
                    got["escalations"][0],
                    {g: n for (f, g), n in got["r_judged"].items() if f == "escalated"},
                ),
                _merge_hist(
                    got["escalations"][1], got["r_pickup"], _negated(got["pickup_off"])
                ),
            ),
        }

    def rebuild_metrics_rollup(self, *, only_if_stale: bool = False) -> int | None:
        """Recompute the metrics rollup from every ticket (one write transaction); with
        ``only_if_stale``, only when an upgrade left it to be rebuilt. Returns how many
        tickets were read (None: nothing to do). Run after an upgrade that created it."""
        with self.write() as s:
            if only_if_stale and not is_stale(s):
                return None
            return rebuild(s)

    def rebuild_after_upgrade(self) -> None:
        """After an upgrade that created the rollup over existing tickets: build it."""
        self.rebuild_metrics_rollup(only_if_stale=True)

    def _run_parts(self, steps: dict[str, Callable[[Session], Any]]) -> dict[str, Any]:
        """Run each step in its own read session; independent queries run side by side
        (SQLite in WAL mode and PostgreSQL both serve concurrent readers). One database
        snapshot per step: figures of one report may straddle a concurrent write."""
        url = self.engine.url
        workers = self.metrics_parallel
        if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
            workers = 1  # each connection would see its own empty in-memory database

        timings: dict[str, float] = {}

        def run(name: str, step: Callable[[Session], Any]) -> Any:
            started = time.perf_counter()
            with self.read() as s:
                out = step(s)
            timings[name] = (time.perf_counter() - started) * 1000
            return out

        if workers <= 1:
            got = {name: run(name, step) for name, step in steps.items()}
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="metrics") as pool:
                futures = {name: pool.submit(run, name, step) for name, step in steps.items()}
                got = {name: f.result() for name, f in futures.items()}
        self.metrics_timings = timings
        return got

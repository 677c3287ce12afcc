"""Metrics: the figures computed from the raw rows (tickets, ``sla_cycle``, events,
messages) with aggregate queries over indexed ranges. Used for every figure with a filter
(organization, tier, agent), for the figures the rollup does not hold, and for the slices
of a period the rollup's hours / days do not cover (desk/metrics_rollup.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased
from sqlmodel import Session

from agent_console.desk.core import DeskCore
from agent_console.desk.metrics_figures import (
    AGE_BUCKETS,
    BREACH_LIST_LIMIT,
    METRICS,
    AgentLine,
    Breach,
    EscalationLine,
    MetricsFilter,
    nearest_rank,
)
from agent_console.desk.metrics_rollup import ALL, hand_over_filter
from agent_console.desk.metrics_sql import (
    Span,
    bucket_of,
    seconds_between,
    shown_sql,
    within,
)
from agent_console.errors import NotFound, PermissionDenied
from agent_console.store.models import (
    Agent,
    Message,
    MessageKind,
    Organization,
    SlaCycle,
    Ticket,
    TicketEvent,
)


class MetricsQueries(DeskCore):
    """The raw aggregate queries (each takes an open read session)."""

    # ------------------------------------------------------------------ who / which tickets
    def _metrics_viewer(self, s: Session, viewer: str | None) -> Agent:
        return self.agent_by_handle(s, viewer or self.actor)

    def _ticket_filters(
        self, s: Session, f: MetricsFilter, me: Agent
    ) -> tuple[list[Any], str | None]:
        """The SQL conditions of the filters on the ticket, and the rollup dimension that
        holds the filtered figures (desk/metrics_rollup.py: ``""`` no filter, None for two
        filters or more: the raw rows answer)."""
        t = Ticket.__table__.c
        conds: list[Any] = []
        dims: list[str] = []
        sqlite = s.get_bind().dialect.name == "sqlite"

        def unindexed(col: Any) -> Any:
            # SQLite: ``+ 0`` keeps the planner from scanning the organization's or agent's
            # every ticket by its own index; the filter is checked on rows found by time
            # (or in the covering backlog index). PostgreSQL plans by its statistics.
            return col + 0 if sqlite else col
        if f.org:
            org_id = s.execute(
                select(Organization.__table__.c.id).where(
                    func.lower(Organization.__table__.c.name) == f.org.strip().lower()
                )
            ).scalar()
            if org_id is None:
                raise NotFound(f"unknown organization {f.org!r}")
            conds.append(unindexed(t.organization_id) == org_id)
            dims.append(f"o{org_id}")
        if f.tier is not None:
            conds.append(t.tier == f.tier)
            dims.append(f"t{f.tier}")
        if f.assignee:
            handle = f.assignee.strip().lower()
            if handle != me.handle and not me.lead:
                raise PermissionDenied(
                    f"{me.handle} is not a lead: an agent sees the team figures and their "
                    "own line (filter by your own handle, or by none)"
                )
            agent_id = s.execute(
                select(Agent.__table__.c.id).where(Agent.__table__.c.handle == handle)
            ).scalar()
            if agent_id is None:
                raise NotFound(f"unknown agent {f.assignee!r} (see `agent-console agent list`)")
            conds.append(unindexed(t.assignee_id) == agent_id)
            dims.append(f"a{agent_id}")
        return conds, (ALL if not dims else dims[0] if len(dims) == 1 else None)

    # ------------------------------------------------------------------ met / breached
    @staticmethod
    def _judged_rows(spans: list[Span], due_spans: list[Span]) -> Any:
        """Cycles judged in ``spans``: (ticket id, metric, cycle, outcome, instant),
        ``outcome`` 1 = met, 0 = breached; a cycle still running is judged (overdue) when
        its due instant falls in ``due_spans`` (the period up to now)."""
        c = SlaCycle.__table__.c
        met = select(
            c.ticket_id, c.metric, c.cycle, literal(1).label("ok"), c.met_at.label("at")
        ).where(c.metric.in_(METRICS), within(c.stopped_at, spans), c.met_at.is_not(None))
        late = select(
            c.ticket_id, c.metric, c.cycle, literal(0).label("ok"), c.breached_at.label("at")
        ).where(within(c.breached_at, spans))
        overdue = select(
            c.ticket_id, c.metric, c.cycle, literal(0).label("ok"), c.due_at.label("at")
        ).where(c.stopped_at.is_(None), within(c.due_at, due_spans))
        return union_all(met, late, overdue).subquery()

    def _judged(
        self, s: Session, spans: list[Span], due_spans: list[Span], conds: list[Any]
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """(priority, metric) -> (met, breached); resolution only on the last cycle."""
        if not spans and not due_spans:
            return {}
        u = self._judged_rows(spans, due_spans)
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

    def _first_response_hist(
        self, s: Session, spans: list[Span], conds: list[Any]
    ) -> dict[str, dict[int, int]]:
        """priority -> {time to first response (:func:`shown_seconds`): how many} of the
        first-response cycles that stopped in ``spans`` (GROUP BY in the database)."""
        if not spans:
            return {}
        c = SlaCycle.__table__.c
        t = Ticket.__table__.c
        secs = shown_sql(c.elapsed_seconds)
        q = (
            select(t.priority, secs, func.count())
            .select_from(SlaCycle.__table__.join(Ticket.__table__, t.id == c.ticket_id))
            .where(
                c.metric == "first_response",
                within(c.stopped_at, spans),
                c.elapsed_seconds.is_not(None),
                *conds,
            )
            .group_by(t.priority, secs)
        )
        out: dict[str, dict[int, int]] = {}
        for prio, value, n in s.execute(q):
            out.setdefault(prio, {})[int(value)] = int(n)
        return out

    def _last_resolutions(self, spans: list[Span], conds: list[Any]) -> Any:
        """Tickets whose last resolution stopped in ``spans``: (ticket id, priority,
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
                within(c.stopped_at, spans),
                ~exists().where(
                    later.c.ticket_id == c.ticket_id,
                    later.c.metric == "resolution",
                    later.c.cycle > c.cycle,
                ),
                *conds,
            )
            .subquery()
        )

    def _resolution_hist(
        self, s: Session, spans: list[Span], conds: list[Any]
    ) -> dict[str, dict[int, int]]:
        """priority -> {time to resolution (:func:`shown_seconds`): how many} of the
        tickets whose last resolution stopped in ``spans`` (every resolution cycle added
        up)."""
        if not spans:
            return {}
        src = self._last_resolutions(spans, conds)
        secs = shown_sql(src.c.secs)
        q = (
            select(src.c.priority, secs, func.count())
            .where(src.c.secs.is_not(None))
            .group_by(src.c.priority, secs)
        )
        out: dict[str, dict[int, int]] = {}
        for prio, value, n in s.execute(q):
            out.setdefault(prio, {})[int(value)] = int(n)
        return out

    def _reopened(self, s: Session, spans: list[Span], conds: list[Any]) -> dict[str, int]:
        """priority -> reopenings in ``spans`` (resolution cycles 2, 3, … started)."""
        if not spans:
            return {}
        c = SlaCycle.__table__.c
        t = Ticket.__table__.c
        q = (
            select(t.priority, func.count())
            .select_from(SlaCycle.__table__.join(Ticket.__table__, t.id == c.ticket_id))
            .where(
                c.metric == "resolution",
                within(c.started_at, spans),
                c.cycle > 1,
                *conds,
            )
            .group_by(t.priority)
        )
        return {p: int(n) for p, n in s.execute(q)}

    def _breach_list(
        self, s: Session, spans: list[Span], due_spans: list[Span], conds: list[Any]
    ) -> list[Breach]:
        """The most recent :data:`BREACH_LIST_LIMIT` breaches: cycles breached in
        ``spans`` (resolution: last cycles only) and cycles overdue with their due instant
        in ``due_spans``, latest due first. Two queries, each walking its own index
        backwards (``breached_at``; ``stopped_at, due_at``) and stopping at the limit."""
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
        cols = (t.key, t.subject, t.priority, c.metric, c.cycle)
        src = SlaCycle.__table__.join(Ticket.__table__, t.id == c.ticket_id)
        late = (
            select(*cols, c.breached_at, c.stopped_at)
            .select_from(src)
            .where(within(c.breached_at, spans), last_only, *conds)
            .order_by(c.breached_at.desc(), t.key)
            .limit(BREACH_LIST_LIMIT)
        )
        overdue = (
            select(*cols, c.due_at, c.stopped_at)
            .select_from(src)
            .where(c.stopped_at.is_(None), within(c.due_at, due_spans), *conds)
            .order_by(c.due_at.desc(), t.key)
            .limit(BREACH_LIST_LIMIT)
        )
        rows = []
        if spans:
            rows += s.execute(late).all()
        if due_spans:
            rows += s.execute(overdue).all()
        rows.sort(key=lambda r: r[0])  # by ticket key, then (stable) latest due first
        rows.sort(key=lambda r: r[5], reverse=True)
        out = []
        for key, subject, prio, metric, cycle, due, stopped in rows[:BREACH_LIST_LIMIT]:
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
        return out

    # ------------------------------------------------------------------ volumes
    def _daily(
        self, s: Session, bounds: tuple[datetime, ...], spans: list[Span], conds: list[Any]
    ) -> dict[int, tuple[int, int]]:
        """Day index (``[bounds[i], bounds[i+1])``) -> (tickets opened, tickets whose last
        resolution fell in it), counting only instants inside ``spans``."""
        if not spans:
            return {}
        t = Ticket.__table__.c
        opened_bucket = bucket_of(t.opened_at, bounds)
        opened = dict(
            s.execute(
                select(opened_bucket, func.count())
                .where(within(t.opened_at, spans), *conds)
                .group_by(opened_bucket)
            ).all()
        )
        c = SlaCycle.__table__.c
        later = SlaCycle.__table__.alias("later")
        res_bucket = bucket_of(c.stopped_at, bounds)
        source = SlaCycle.__table__
        if conds:  # the filters are on the ticket
            source = source.join(Ticket.__table__, t.id == c.ticket_id)
        resolved = dict(
            s.execute(
                select(res_bucket, func.count())
                .select_from(source)
                .where(
                    c.metric == "resolution",
                    within(c.stopped_at, spans),
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
        return {
            int(i): (int(opened.get(i, 0)), int(resolved.get(i, 0)))
            for i in set(opened) | set(resolved)
            if i is not None
        }

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

    def _escalation_parts(
        self,
        s: Session,
        count_spans: list[Span],
        pickup_spans: list[Span],
        conds: list[Any],
        dialect: str,
    ) -> tuple[dict[str, int], dict[str, dict[int, int]]]:
        """Escalations per tier reached (as ``str(tier)``) with their instant in
        ``count_spans``, and a histogram {pickup seconds (:func:`shown_seconds` of the
        rounded wall-clock seconds): how many} of those with their instant in
        ``pickup_spans`` that were picked up: the ticket's next hand-over event (escalated,
        de-escalated, claimed, assigned to someone; by event id) is a claim or an
        assignment — a hand-over in between means it never was. The escalations come from
        the ``(kind, at)`` index, the next event from the ticket's events."""
        ev = TicketEvent.__table__.c
        t = Ticket.__table__.c
        nxt = TicketEvent.__table__.alias("nxt")
        next_id = (
            select(nxt.c.id)
            .where(nxt.c.ticket_id == ev.ticket_id, nxt.c.id > ev.id, hand_over_filter(nxt.c))
            .order_by(nxt.c.id)
            .limit(1)
            .scalar_subquery()
        )
        tier = ev.details["to_tier"].as_integer()
        source: Any = TicketEvent.__table__
        if conds:  # the filters are on the ticket
            source = source.join(Ticket.__table__, t.id == ev.ticket_id)
        counts: dict[str, int] = {}
        if count_spans:
            for grp, n in s.execute(
                select(tier, func.count())
                .select_from(source)
                .where(ev.kind == "escalated", within(ev.at, count_spans), *conds)
                .group_by(tier)
            ):
                if grp is not None:
                    counts[str(grp)] = int(n)
        hist: dict[str, dict[int, int]] = {}
        if pickup_spans:
            esc = (
                select(
                    tier.label("tier"), ev.at.label("at"), next_id.label("next_id")
                )
                .select_from(source)
                .where(ev.kind == "escalated", within(ev.at, pickup_spans), *conds)
                .subquery()
            )
            picked = TicketEvent.__table__.alias("picked")
            wait = shown_sql(seconds_between(picked.c.at, esc.c.at, dialect))
            for grp, secs, n in s.execute(
                select(esc.c.tier, wait, func.count())
                .select_from(esc.join(picked, picked.c.id == esc.c.next_id))
                .where(picked.c.kind.in_(("claimed", "assigned")), esc.c.tier.is_not(None))
                .group_by(esc.c.tier, wait)
            ):
                hist.setdefault(str(grp), {})[int(secs)] = int(n)
        return counts, hist

    @staticmethod
    def _escalation_lines(
        counts: dict[str, int], hist: dict[str, dict[int, int]]
    ) -> list[EscalationLine]:
        """The escalation lines (tiers 2 and 3) from the counts and pickup histograms."""
        out = []
        for tier in (2, 3):
            h = hist.get(str(tier), {})
            out.append(
                EscalationLine(
                    tier,
                    counts.get(str(tier), 0),
                    sum(n for n in h.values() if n > 0),
                    nearest_rank(h, 50),
                    nearest_rank(h, 90),
                )
            )
        return out

    # ------------------------------------------------------------------ per agent
    def _open_assigned(self, s: Session, conds: list[Any]) -> dict[int, int]:
        """agent id -> open tickets assigned to them now."""
        t = Ticket.__table__.c
        return {
            int(aid): int(n)
            for aid, n in s.execute(
                select(t.assignee_id, func.count())
                .where(t.is_open.is_(True), t.assignee_id.is_not(None), *conds)
                .group_by(t.assignee_id)
            )
        }

    def _resolved_by(self, s: Session, spans: list[Span], conds: list[Any]) -> dict[str, int]:
        """str(agent id) -> tickets whose last resolution stopped in ``spans``, counted for
        their assignee."""
        if not spans:
            return {}
        c = SlaCycle.__table__.c
        t = Ticket.__table__.c
        later = SlaCycle.__table__.alias("later")
        q = (
            select(t.assignee_id, func.count())
            .select_from(SlaCycle.__table__.join(Ticket.__table__, t.id == c.ticket_id))
            .where(
                c.metric == "resolution",
                within(c.stopped_at, spans),
                t.assignee_id.is_not(None),
                ~exists().where(
                    later.c.ticket_id == c.ticket_id,
                    later.c.metric == "resolution",
                    later.c.cycle > c.cycle,
                ),
                *conds,
            )
            .group_by(t.assignee_id)
        )
        return {str(aid): int(n) for aid, n in s.execute(q)}

    def _first_response_by(
        self, s: Session, spans: list[Span], conds: list[Any]
    ) -> dict[str, dict[int, int]]:
        """str(agent id) -> {time to first response (shown seconds): how many} of the first
        responses that stopped in ``spans``, credited to the sender of the ticket's first
        public reply."""
        if not spans:
            return {}
        c = SlaCycle.__table__.c
        t = Ticket.__table__.c
        m = aliased(Message)
        responder = (
            select(m.author_agent_id)
            .where(m.ticket_id == c.ticket_id, m.kind == MessageKind.PUBLIC.value)
            .order_by(m.created_at, m.id)
            .limit(1)
            .scalar_subquery()
        )
        src = (
            select(responder.label("agent_id"), shown_sql(c.elapsed_seconds).label("secs"))
            .select_from(SlaCycle.__table__.join(Ticket.__table__, t.id == c.ticket_id))
            .where(
                c.metric == "first_response",
                within(c.stopped_at, spans),
                c.elapsed_seconds.is_not(None),
                *conds,
            )
            .cte("first_responses")
            .prefix_with("MATERIALIZED")  # the responder looked up once per row
        )
        q = (
            select(src.c.agent_id, src.c.secs, func.count())
            .where(src.c.agent_id.is_not(None))
            .group_by(src.c.agent_id, src.c.secs)
        )
        out: dict[str, dict[int, int]] = {}
        for aid, value, n in s.execute(q):
            out.setdefault(str(aid), {})[int(value)] = int(n)
        return out

    def _agent_lines(
        self,
        s: Session,
        open_assigned: dict[int, int],
        resolved: dict[str, int],
        fr_hist: dict[str, dict[int, int]],
        f: MetricsFilter,
        me: Agent,
    ) -> list[AgentLine]:
        """One line per agent with any figure (a non-lead: their own line only)."""
        a = Agent.__table__.c
        resolved_n = {int(k): n for k, n in resolved.items() if n}
        fr = {int(k): h for k, h in fr_hist.items() if sum(h.values())}
        ids = set(open_assigned) | set(resolved_n) | set(fr)
        if not me.lead:
            ids &= {me.id}
        if not ids:
            return []
        agents = s.execute(
            select(a.id, a.handle, a.name, a.tier).where(a.id.in_(ids)).order_by(a.handle)
        ).all()
        out = []
        for aid, handle, name, tier in agents:
            hist = fr.get(aid, {})
            out.append(
                AgentLine(
                    handle,
                    name,
                    int(tier),
                    int(open_assigned.get(aid, 0)),
                    int(resolved_n.get(aid, 0)),
                    sum(n for n in hist.values() if n > 0),
                    nearest_rank(hist, 50),
                )
            )
        return out

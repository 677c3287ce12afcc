"""Alerts before breach (issue 10): the schedule of threshold instants, firing each alert
once, escalation, acknowledgement, and the desk API the on-call screen builds on.

How it works
------------
- **Schedule** (:class:`~agent_console.store.models.AlertThreshold`): for every *open* cycle
  of a ticket's SLA metrics (first response; the n-th periodic update; resolution) one row
  per threshold with the instant it is crossed (``fire_at``, UTC, indexed with ``state``).
  Thresholds come from the policy (``alert_thresholds``, default 50 %, 80 %, 100 % of the
  target; for critical also ``update_warning`` — 15 min — before each update is due). A
  fraction ``f`` of a target is crossed when the time left on the priority's clock is
  ``(1 - f) × target``: ``fire_at = due − (1 − f) × target`` on that clock, so a business
  clock never crosses a threshold while closed. A new critical ticket opened after hours
  gets an ``arrival`` threshold at its opening (alerts at once).
- **Keeping it true**: :meth:`AlertsMixin.sync_alert_schedule` follows the change feed
  (``ticket_event.id`` after the stored :class:`~agent_console.store.models.AlertCursor`)
  and re-derives the rows of the tickets that changed — never a scan of every ticket (a
  first run on a database bootstraps once from the open tickets). A met cycle cancels its
  pending rows and resolves its open alerts (PagerDuty gets ``resolve``); a paused clock
  (waiting on the customer) cancels its pending rows, so paused clocks never alert.
- **Firing once**: :meth:`AlertsMixin.fire_due_alerts` claims ``pending`` rows whose
  ``fire_at`` has passed with a conditional update (``pending`` → ``fired``; PostgreSQL
  ``FOR UPDATE SKIP LOCKED``, SQLite ``BEGIN IMMEDIATE``), inserts the
  :class:`~agent_console.store.models.SlaAlert` (unique per ticket, metric, cycle,
  threshold and namespace) and the outbox rows in the same transaction. Two watchers, or a
  restart, never fire one alert twice and never lose one.
- **Rehearsal** (``--at``): alerts are ``rehearsal`` rows (their own namespace: they never
  block or mark real ones), the schedule is read but not claimed, and no outbox row is
  written — the watcher prints what it would send.
- **Escalation**: an unacknowledged critical alert escalates after ``escalate_after``
  seconds (settings) to the next level — secondary, then leads — with a new notification
  (:meth:`AlertsMixin.escalate_due_alerts`). Acknowledging (:meth:`AlertsMixin.acknowledge`)
  stops repeats and escalation and is logged on the ticket.

Desk API for the screen (plain data; instants aware UTC)
--------------------------------------------------------
- :meth:`AlertsMixin.alert_tick` → :class:`AlertTick` — one pass (sync, fire, escalate) and
  ``next_wake``: when to call it again at the latest. Run it in a worker.
- :meth:`AlertsMixin.open_alerts` → list of :class:`AlertRow` (unacknowledged first, then by
  due instant); :meth:`AlertsMixin.alerts_after` (new alerts since an id, for toasts);
  :meth:`AlertRow.needs_repeat` (unacknowledged critical alerts repeat every
  ``alert_repeat_every`` seconds — 5 min); :meth:`AlertRow.recipients` /
  :meth:`AlertRow.concerns` (the assignee; critical: on-call levels up to the alert's
  level — primary, + secondary, + leads; other priorities: leads when unassigned).
- :meth:`AlertsMixin.breaching_soon_count` — the header's count of open critical tickets
  whose running deadline falls within the next hour.
- :meth:`AlertsMixin.acknowledge` (``A`` / ``oncall ack KEY|ALERT``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from agent_console.desk.feed import FeedCursor, FeedMixin
from agent_console.desk.oncall import OncallMixin, oncall_state
from agent_console.desk.outbox import OutboxMixin, insert_ignore, insert_ignore_many
from agent_console.errors import NotFound, UserError
from agent_console.sla import Policy
from agent_console.store.models import (
    Agent,
    AlertCursor,
    AlertThreshold,
    Message,
    MessageKind,
    Organization,
    SlaAlert,
    SlaCycle,
    Status,
    Ticket,
    TicketEvent,
)
from agent_console.views import AlertRow, OncallState

METRICS: tuple[str, ...] = ("first_response", "next_update", "resolution")
SYNC_BATCH = 500
REAL, REHEARSAL = "real", "rehearsal"


# ====================================================================== the adapter
@dataclass(frozen=True)
class OpenCycle:
    """One running metric cycle: due instant (UTC) and the target (seconds on the
    priority's clock)."""

    metric: str
    cycle: int
    due_at: datetime
    target_seconds: int


@dataclass(frozen=True)
class CycleFacts:
    """What the alert schedule needs of one ticket: its open cycles, the cycle each metric
    is at (to tell a met cycle from a paused one), the thresholds and the update warning."""

    open: list[OpenCycle]
    current: dict[str, int | None]
    paused: bool
    thresholds: tuple[float, ...]
    update_warning: int | None


def _cycles_due(
    ticket: Ticket,
    policy: Policy,
    public_updates: int,
    cycles: Sequence[SlaCycle] = (),
) -> CycleFacts:
    """THE adapter between the alerts and the ticket clock (issue 9). Thresholds come from
    the policy (``Policy.alert_thresholds``, ``PriorityTarget.update_warning``).

    The cycles come from the per-cycle rows (``sla_cycle``) the clock's owner writes: a
    row with ``stopped_at`` NULL is the running cycle of its metric, with its number, due
    instant and target (``due_at`` NULL while paused: no alert); a stopped one is over
    (met or breached). A ticket without any such row (written before the table existed, or
    by a bulk writer that does not keep them) falls back to its stored due columns
    (``first_response_due``, ``next_update_due``, ``resolution_due``), numbered as the
    table numbers them: first response and resolution cycle 1, the n-th periodic update
    cycle n (``public_updates`` = public agent replies so far); the update cadence runs on
    while waiting on the customer unless the priority's ``status_update_pauses``."""
    target = policy.target(ticket.priority)
    thresholds = tuple(policy.alert_thresholds)
    warning = target.update_warning
    paused = ticket.paused_since is not None
    if cycles:
        out: list[OpenCycle] = []
        current: dict[str, int | None] = {m: None for m in METRICS}
        for row in cycles:
            if row.stopped_at is not None:
                continue
            if (current.get(row.metric) or 0) > row.cycle:
                continue
            current[row.metric] = row.cycle
            out = [c for c in out if c.metric != row.metric]
            if row.due_at is not None and Status(ticket.status).is_open:
                out.append(OpenCycle(row.metric, row.cycle, row.due_at, row.target_seconds))
        return CycleFacts(out, current, paused, thresholds, warning)
    is_open = Status(ticket.status).is_open
    out = []
    current = {m: None for m in METRICS}
    if is_open and ticket.first_response_at is None:
        current["first_response"] = 1
        if ticket.first_response_due is not None:
            out.append(
                OpenCycle("first_response", 1, ticket.first_response_due, target.first_response)
            )
    if is_open and ticket.first_response_at is not None:
        n = max(public_updates, 1)
        current["next_update"] = n
        if not (paused and target.status_update_pauses) and ticket.next_update_due is not None:
            out.append(OpenCycle("next_update", n, ticket.next_update_due, target.status_update))
    if is_open:
        current["resolution"] = 1
        if not paused and ticket.resolution_due is not None:
            out.append(OpenCycle("resolution", 1, ticket.resolution_due, target.resolution))
    return CycleFacts(out, current, paused, thresholds, warning)


def threshold_label(fraction: float) -> str:
    return f"{fraction:g}"


def _back(policy: Policy, priority: str, due: datetime, seconds: int) -> datetime:
    """The first instant with ``seconds`` of the priority's clock left before ``due``. On a
    business clock going back alone would land on the next opening (the *latest* such
    instant); one second further back and one forward gives the first — a threshold reached
    exactly at closing time is that closing instant, as for deadlines (DESIGN.md)."""
    return policy.add(priority, policy.add(priority, due, -(seconds + 1)), 1)


def desired_thresholds(
    ticket: Ticket, policy: Policy, facts: CycleFacts
) -> dict[tuple[str, int, str], tuple[datetime, datetime]]:
    """(metric, cycle, threshold) → (fire_at, due_at) for every open cycle. Pure: the
    instants come from the stored dues and the policy's clock arithmetic."""
    out: dict[tuple[str, int, str], tuple[datetime, datetime]] = {}
    for c in facts.open:
        for f in facts.thresholds:
            left = round((1.0 - f) * c.target_seconds)
            fire = c.due_at if left <= 0 else _back(policy, ticket.priority, c.due_at, left)
            out[(c.metric, c.cycle, threshold_label(f))] = (fire, c.due_at)
        if c.metric == "next_update" and facts.update_warning:
            w = facts.update_warning
            fire = _back(policy, ticket.priority, c.due_at, w)
            out[(c.metric, c.cycle, f"warn:{w}")] = (fire, c.due_at)
    if (
        ticket.priority == "critical"
        and facts.current["first_response"] is not None
        and ticket.first_response_due is not None
        and not policy.is_open(ticket.opened_at)
    ):
        # a new critical ticket arriving after hours alerts at once
        out[("first_response", 1, "arrival")] = (ticket.opened_at, ticket.first_response_due)
    return out


def _cycle_ended(facts: CycleFacts, metric: str, cycle: int) -> bool:
    """The cycle is over (met, answered late, or the ticket finished) — not merely paused."""
    cur = facts.current.get(metric)
    if cur is None:
        return True
    return cycle < cur


# ====================================================================== read models


@dataclass
class AlertTick:
    """What one :meth:`AlertsMixin.alert_tick` did: alerts fired and escalated, alert ids
    resolved (met deadlines), tickets re-synchronised, and ``next_wake`` — the next
    threshold or escalation instant (UTC; None = nothing scheduled)."""

    fired: list[AlertRow] = field(default_factory=list)
    escalated: list[AlertRow] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    synced: int = 0
    next_wake: datetime | None = None


# ====================================================================== the mixin
class AlertsMixin(OutboxMixin, OncallMixin, FeedMixin):
    """Alerts before breach; see the module docstring."""

    #: rehearsal only: fire_at up to which this desk has fired (rehearsals claim nothing)
    _rehearsal_hwm: datetime | None = None

    @property
    def _ns(self) -> str:
        return REHEARSAL if self.rehearsal else REAL

    # ------------------------------------------------------------ one pass
    @staticmethod
    def _furthest_due(
        s: Session, ticket_ids: set[int], now: datetime
    ) -> dict[tuple[int, str, int], tuple[datetime, int]]:
        """(ticket, metric, cycle) → (fire_at, id) of its furthest threshold due by ``now``
        that is pending or fired, read without locks (rows another watcher holds count)."""
        rows = s.exec(
            select(
                AlertThreshold.ticket_id,
                AlertThreshold.metric,
                AlertThreshold.cycle,
                AlertThreshold.fire_at,
                AlertThreshold.id,
            ).where(
                col(AlertThreshold.ticket_id).in_(ticket_ids),
                col(AlertThreshold.fire_at) <= now,
                col(AlertThreshold.state).in_(("pending", "fired")),
            )
        ).all()
        out: dict[tuple[int, str, int], tuple[datetime, int]] = {}
        for tid, metric, cycle, fire_at, th_id in rows:
            k = (tid, metric, cycle)
            if k not in out or (fire_at, th_id) > out[k]:
                out[k] = (fire_at, th_id)  # type: ignore[assignment]
        return out

    def alert_tick(self, now: datetime | None = None) -> AlertTick:
        """Follow the change feed, fire what is due, escalate what waited too long. Safe to
        call from several consoles and watchers at once (every step claims its rows). An
        idle tick is one read transaction of four indexed lookups and takes no write lock."""
        now = now or self.now()
        tick = AlertTick()
        changed, next_fire, next_esc = self._probe()
        if changed:
            tick.synced, tick.resolved = self.sync_alert_schedule(now)
        if tick.synced or (next_fire is not None and next_fire <= now):
            tick.fired = self.fire_due_alerts(now)
        if next_esc is not None and next_esc <= now:
            tick.escalated = self.escalate_due_alerts(now)
        if tick.synced or tick.fired or tick.escalated or tick.resolved:
            tick.next_wake = self.next_alert_instant()
        else:
            cands = [x for x in (next_fire, next_esc) if x is not None]
            tick.next_wake = min(cands) if cands else None
        return tick

    def _probe(self) -> tuple[bool, datetime | None, datetime | None]:
        """(the feed moved past the cursor, next pending threshold, next escalation)."""
        ns = self._ns
        rehearsal = ns == REHEARSAL
        with self.read() as s:
            cur = s.get(AlertCursor, ns)
            top = s.exec(select(func.max(TicketEvent.id))).one() or 0
            changed = (
                cur is None or cur.last_event_id < 0 or bool(cur.gaps) or top > cur.last_event_id
            )
            q = select(func.min(AlertThreshold.fire_at)).where(AlertThreshold.state == "pending")
            if rehearsal and self._rehearsal_hwm is not None:
                q = q.where(col(AlertThreshold.fire_at) > self._rehearsal_hwm)
            next_fire = s.exec(q).one()
            next_esc = s.exec(
                select(func.min(SlaAlert.escalate_at)).where(SlaAlert.rehearsal == rehearsal)
            ).one()
        return changed, next_fire, next_esc

    # ------------------------------------------------------------ schedule
    def sync_alert_schedule(self, now: datetime | None = None) -> tuple[int, list[int]]:
        """Bring the schedule up to date with the change feed; returns (tickets synced,
        alert ids resolved). The first call on a database takes every open ticket once.

        The feed is read with the desk's own gap-aware cursor
        (:meth:`~agent_console.desk.feed.FeedMixin.poll_feed`), stored in
        :class:`~agent_console.store.models.AlertCursor`. The tickets are re-derived in
        batches of ``SYNC_BATCH``, one short transaction each (a bootstrap of 100,000
        tickets never holds the SQLite write lock for long), and the cursor advances after
        the last batch with a compare-and-set: a syncer that crashes midway leaves the cursor
        where it was and the next one redoes the (idempotent) work; two syncers racing do the
        same work once more and only one moves the cursor."""
        now = now or self.now()
        ns = self._ns
        with self.read() as s:
            cur = s.get(AlertCursor, ns)
            if cur is not None and cur.last_event_id >= 0 and not cur.gaps:
                top = s.exec(select(func.max(TicketEvent.id))).one() or 0
                if top <= cur.last_event_id:
                    return 0, []  # idle: a read, no write lock
            if cur is None or cur.last_event_id < 0:  # bootstrap: open tickets, then the feed
                old: tuple[int, list[int]] = (-1, [])
                fc = self.follow_feed()
                ids: list[int] = list(
                    s.exec(
                        select(Ticket.id).where(Ticket.is_open == True).order_by(Ticket.id)  # noqa: E712
                    )
                )
            else:
                old = (cur.last_event_id, list(cur.gaps or []))
                fc = FeedCursor(cur.last_event_id, set(cur.gaps or []))
                ids = sorted(self.poll_feed(fc))
        if cur is None:
            with self.write() as s:
                insert_ignore(
                    s,
                    AlertCursor,
                    dict(name=ns, last_event_id=-1, gaps=[], updated_at=now),
                    returning=None,
                )
        if fc.last_event_id == old[0] and fc.gaps == set(old[1]):
            return 0, []
        synced, resolved = 0, []
        for i in range(0, len(ids), SYNC_BATCH):
            batch = ids[i : i + SYNC_BATCH]
            with self.write() as s:
                resolved += self._sync_tickets(s, batch, now)
            synced += len(batch)
        with self.write() as s:
            s.execute(
                update(AlertCursor)
                .where(
                    AlertCursor.name == ns,
                    AlertCursor.last_event_id == old[0],
                )
                .values(last_event_id=fc.last_event_id, gaps=sorted(fc.gaps), updated_at=now)
                .execution_options(synchronize_session=False)
            )
        return synced, resolved

    def _sync_tickets(self, s: Session, ids: Sequence[int], now: datetime) -> list[int]:
        tickets = list(s.exec(select(Ticket).where(col(Ticket.id).in_(ids)).order_by(Ticket.id)))
        cycle_rows: dict[int, list[SlaCycle]] = {}
        for row in s.exec(
            select(SlaCycle)
            .where(col(SlaCycle.ticket_id).in_(ids))
            .order_by(col(SlaCycle.ticket_id), col(SlaCycle.cycle))
        ):
            cycle_rows.setdefault(row.ticket_id, []).append(row)
        counts = dict(
            s.exec(
                select(Message.ticket_id, func.count())
                .where(col(Message.ticket_id).in_(ids), Message.kind == MessageKind.PUBLIC.value)
                .group_by(Message.ticket_id)
            ).all()
        )
        rows: dict[int, dict[tuple[str, int, str], AlertThreshold]] = {}
        for r in s.exec(
            select(AlertThreshold).where(
                col(AlertThreshold.ticket_id).in_(ids),
                col(AlertThreshold.state).in_(("pending", "cancelled")),
            )
        ):
            rows.setdefault(r.ticket_id, {})[(r.metric, r.cycle, r.threshold)] = r
        fired: set[tuple[int, str, int, str]] = set(
            s.exec(
                select(
                    AlertThreshold.ticket_id,
                    AlertThreshold.metric,
                    AlertThreshold.cycle,
                    AlertThreshold.threshold,
                ).where(
                    col(AlertThreshold.ticket_id).in_(ids),
                    col(AlertThreshold.state).in_(("fired", "superseded")),
                )
            ).all()
        )
        open_alerts: dict[int, list[SlaAlert]] = {}
        for a in s.exec(
            select(SlaAlert).where(
                col(SlaAlert.ticket_id).in_(ids),
                col(SlaAlert.resolved_at).is_(None),
                SlaAlert.rehearsal == (self._ns == REHEARSAL),
            )
        ):
            open_alerts.setdefault(a.ticket_id, []).append(a)
        resolved: list[int] = []
        new_rows: list[dict[str, Any]] = []
        # each organization's policy once per batch (policy_for_ticket loads the
        # organization per ticket: a third of a bootstrap's time on 100,000 tickets)
        org_ids = {t.organization_id for t in tickets if t.organization_id is not None}
        org_policy: dict[int, str | None] = (
            dict(
                s.exec(
                    select(Organization.id, Organization.sla_policy).where(
                        col(Organization.id).in_(org_ids)
                    )
                ).all()
            )
            if org_ids
            else {}
        )
        for t in tickets:
            policy = (
                self.default_policy
                if t.organization_id is None
                else self.policy_named(org_policy.get(t.organization_id))
            )
            facts = _cycles_due(t, policy, counts.get(t.id, 0), cycle_rows.get(t.id, ()))
            want = desired_thresholds(t, policy, facts)
            have = rows.get(t.id, {})  # type: ignore[arg-type]
            for key, (fire, due) in want.items():
                row = have.get(key)
                if row is None:
                    if (t.id, *key) not in fired:
                        new_rows.append(
                            dict(
                                ticket_id=t.id,
                                metric=key[0],
                                cycle=key[1],
                                threshold=key[2],
                                fire_at=fire,
                                due_at=due,
                                state="pending",
                            )
                        )
                elif row.state != "pending" or row.fire_at != fire or row.due_at != due:
                    row.state, row.fire_at, row.due_at = "pending", fire, due
                    s.add(row)
            for key, row in have.items():
                if key not in want and row.state == "pending":
                    row.state = "cancelled"
                    s.add(row)
            for a in open_alerts.get(t.id, []):  # type: ignore[arg-type]
                if _cycle_ended(facts, a.metric, a.cycle):
                    a.resolved_at = now
                    a.escalate_at = None
                    s.add(a)
                    resolved.append(a.id)  # type: ignore[arg-type]
                    if not a.rehearsal:
                        self._queue_resolve(s, t, a, now)
        insert_ignore_many(s, AlertThreshold, new_rows)
        return resolved

    # ------------------------------------------------------------ firing
    def fire_due_alerts(self, now: datetime | None = None, limit: int = 500) -> list[AlertRow]:
        """Fire every pending threshold crossed by ``now``: each exactly once (claimed in
        the database), with its outbox rows in the same transaction."""
        now = now or self.now()
        rehearsal = self._ns == REHEARSAL
        fired_ids: list[int] = []
        state: OncallState | None = None
        cond = [AlertThreshold.state == "pending", col(AlertThreshold.fire_at) <= now]
        if rehearsal and self._rehearsal_hwm is not None:
            # a rehearsal claims nothing: it remembers how far it has fired
            cond.append(col(AlertThreshold.fire_at) > self._rehearsal_hwm)
        with self.read() as s:
            if s.exec(select(AlertThreshold.id).where(*cond).limit(1)).first() is None:
                if rehearsal:
                    self._rehearsal_hwm = now
                return []  # idle: a read, no write lock
        with self.write() as s:
            q = (
                select(AlertThreshold)
                .where(*cond)
                .order_by(col(AlertThreshold.fire_at))
                .limit(limit)
            )
            if self.engine.dialect.name == "postgresql" and not rehearsal:
                q = q.with_for_update(skip_locked=True)
            due = list(s.exec(q))
            if rehearsal:
                self._rehearsal_hwm = now if len(due) < limit else due[-1].fire_at
            if not due:
                return []
            tickets = {
                t.id: t
                for t in s.exec(
                    select(Ticket).where(col(Ticket.id).in_({d.ticket_id for d in due}))
                )
            }
            # several thresholds of one cycle crossed at once (a restart, a late start): the
            # furthest one fires; the ones it supersedes are claimed without an alert
            latest: dict[tuple[int, str, int], AlertThreshold] = {}
            for th in due:
                k = (th.ticket_id, th.metric, th.cycle)
                if k not in latest or (th.fire_at, th.id) >= (latest[k].fire_at, latest[k].id):
                    latest[k] = th
            # ... and across watchers: another watcher may hold (SKIP LOCKED) a further
            # threshold of the same cycle that this batch did not see; the furthest due
            # threshold of each cycle, whoever holds it, is the one that fires
            furthest = self._furthest_due(s, {th.ticket_id for th in due}, now)
            for th in due:
                t = tickets[th.ticket_id]
                k = (th.ticket_id, th.metric, th.cycle)
                mine = (th.fire_at, th.id)
                fires = latest[k] is th and mine >= furthest.get(k, mine)
                if not rehearsal:
                    claimed = s.execute(
                        update(AlertThreshold)
                        .where(col(AlertThreshold.id) == th.id, AlertThreshold.state == "pending")
                        .values(state="fired" if fires else "superseded")
                        .execution_options(synchronize_session=False)
                    )
                    if claimed.rowcount != 1:
                        continue
                if not fires:
                    continue
                critical = t.priority == "critical"
                alert_id = insert_ignore(
                    s,
                    SlaAlert,
                    dict(
                        ticket_id=t.id,
                        metric=th.metric,
                        cycle=th.cycle,
                        threshold=th.threshold,
                        priority=t.priority,
                        due_at=th.due_at,
                        fire_at=th.fire_at,
                        fired_at=now,
                        level=0,
                        escalate_at=(
                            now + timedelta(seconds=self.settings.escalate_after)
                            if critical
                            else None
                        ),
                        rehearsal=rehearsal,
                    ),
                )
                if alert_id is None:
                    continue
                fired_ids.append(alert_id)
                if not rehearsal and t.priority in self.settings.webhook_priorities:
                    alert = s.get(SlaAlert, alert_id)
                    assert alert is not None
                    if state is None:
                        state = self.oncall_state_in(s, now)
                    self._queue_alert(s, t, alert, now, kind="trigger", state=state)
        return self._alert_rows(fired_ids)

    # ------------------------------------------------------------ escalation
    def escalate_due_alerts(self, now: datetime | None = None) -> list[AlertRow]:
        """Escalate unacknowledged critical alerts whose ``escalate_at`` passed to the next
        level (primary → secondary → leads), each step once (conditional update)."""
        now = now or self.now()
        rehearsal = self._ns == REHEARSAL
        done: list[int] = []
        state: OncallState | None = None
        cond = [
            col(SlaAlert.escalate_at) <= now,
            col(SlaAlert.acknowledged_at).is_(None),
            col(SlaAlert.resolved_at).is_(None),
            SlaAlert.rehearsal == rehearsal,
        ]
        with self.read() as s:
            if s.exec(select(SlaAlert.id).where(*cond).limit(1)).first() is None:
                return []
        with self.write() as s:
            q = select(SlaAlert).where(*cond)
            if self.engine.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            for a in list(s.exec(q.limit(200))):
                new_level = min(a.level + 1, 2)
                nxt = (
                    now + timedelta(seconds=self.settings.escalate_after) if new_level < 2 else None
                )
                res = s.execute(
                    update(SlaAlert)
                    .where(
                        col(SlaAlert.id) == a.id,
                        SlaAlert.level == a.level,
                        col(SlaAlert.escalate_at).is_not(None),
                    )
                    .values(level=new_level, escalate_at=nxt)
                    .execution_options(synchronize_session=False)
                )
                if res.rowcount != 1:
                    continue
                a.level, a.escalate_at = new_level, nxt
                done.append(a.id)  # type: ignore[arg-type]
                t = s.get(Ticket, a.ticket_id)
                assert t is not None
                self.log(
                    s,
                    t.id,
                    "alert_escalated",
                    agent_id=self.system_actor(s, "watch").id,  # the watcher (issue 11)
                    at=now,  # type: ignore[arg-type]
                    alert=a.id,
                    level=new_level,
                )
                if not rehearsal and t.priority in self.settings.webhook_priorities:
                    if state is None:
                        state = self.oncall_state_in(s, now)
                    self._queue_alert(s, t, a, now, kind="escalate", state=state)
        return self._alert_rows(done)

    def next_alert_instant(self) -> datetime | None:
        """The earliest pending threshold or escalation instant (UTC), from two indexed
        lookups; the watcher sleeps until then (bounded by its poll interval)."""
        _changed, a, b = self._probe()
        cands = [x for x in (a, b) if x is not None]
        return min(cands) if cands else None

    # ------------------------------------------------------------ acknowledge
    def acknowledge(self, ref: str | int, agent: str | None = None) -> list[AlertRow]:
        """Acknowledge alert ``ref`` (its id) or every open alert of ticket ``ref`` (its
        key): stops repeats and escalation; logged on the ticket (``alert_acknowledged``).
        Raises NotFound (no such alert / no open alert on the ticket)."""
        now = self.now()
        rehearsal = self._ns == REHEARSAL
        with self.write() as s:
            actor = self.acting_agent(s, agent)
            text = str(ref).strip()
            q = select(SlaAlert).where(
                col(SlaAlert.acknowledged_at).is_(None),
                col(SlaAlert.resolved_at).is_(None),
                SlaAlert.rehearsal == rehearsal,
            )
            if text.isdigit():
                a = s.get(SlaAlert, int(text))
                if a is None or a.rehearsal != rehearsal:
                    raise NotFound(f"no alert {text} (see `agent-console oncall show`)")
                if a.acknowledged_at is not None:
                    raise UserError(f"alert {text} is already acknowledged")
                alerts = [a]
            else:
                t = self.ticket_by_key(s, text)
                alerts = list(s.exec(q.where(SlaAlert.ticket_id == t.id)))
                if not alerts:
                    raise NotFound(f"{t.key} has no open alert")
            for a in alerts:
                a.acknowledged_at = now
                a.acknowledged_by_id = actor.id
                a.escalate_at = None
                s.add(a)
            by_ticket: dict[int, list[int]] = {}
            for a in alerts:
                by_ticket.setdefault(a.ticket_id, []).append(a.id)  # type: ignore[arg-type]
            for tid, aids in by_ticket.items():
                self.log(s, tid, "alert_acknowledged", agent_id=actor.id, at=now, alerts=aids)
            ids = [a.id for a in alerts]
        return self._alert_rows(ids)  # type: ignore[arg-type]

    # ------------------------------------------------------------ reads
    def open_alerts(
        self, *, handle: str | None = None, include_acknowledged: bool = False, limit: int = 200
    ) -> list[AlertRow]:
        """Unresolved alerts of this namespace (real, or rehearsal under ``--at``):
        unacknowledged first, then soonest due. ``handle``: only those that concern that
        agent (:meth:`AlertRow.concerns`)."""
        rehearsal = self._ns == REHEARSAL
        with self.read() as s:
            q = select(SlaAlert.id).where(
                col(SlaAlert.resolved_at).is_(None), SlaAlert.rehearsal == rehearsal
            )
            if not include_acknowledged:
                q = q.where(col(SlaAlert.acknowledged_at).is_(None))
            ids = list(s.exec(q.order_by(col(SlaAlert.due_at)).limit(limit)))
        rows = self._alert_rows(ids)
        if handle:
            state = self.oncall_now()
            rows = [r for r in rows if r.concerns(handle, state)]
        rows.sort(key=lambda r: (r.acknowledged_at is not None, r.due_at))
        return rows

    def alerts_after(self, alert_id: int, limit: int = 100) -> list[AlertRow]:
        """Alerts fired after alert id ``alert_id`` in this namespace (a console's toast
        cursor: keep the largest id seen)."""
        rehearsal = self._ns == REHEARSAL
        with self.read() as s:
            ids = list(
                s.exec(
                    select(SlaAlert.id)
                    .where(col(SlaAlert.id) > alert_id, SlaAlert.rehearsal == rehearsal)
                    .order_by(col(SlaAlert.id))
                    .limit(limit)
                )
            )
        return self._alert_rows(ids)  # type: ignore[arg-type]

    def breaching_soon_count(self, within: float = 3600, now: datetime | None = None) -> int:
        """Open critical tickets whose running deadline (``next_due``) falls before
        ``now + within`` seconds (breached ones included): the header's count."""
        now = now or self.now()
        with self.read() as s:
            return int(
                s.exec(
                    select(func.count())
                    .select_from(Ticket)
                    .where(
                        Ticket.is_open == True,  # noqa: E712
                        col(Ticket.next_due) <= now + timedelta(seconds=within),
                        Ticket.priority_level == 1,
                    )
                ).one()
            )

    def _alert_rows(self, ids: Iterable[int]) -> list[AlertRow]:
        ids = list(ids)
        if not ids:
            return []
        with self.read() as s:
            assignee = Agent.__table__.alias("assignee")
            acker = Agent.__table__.alias("acker")
            q = (
                select(SlaAlert, Ticket.key, Ticket.subject, assignee.c.handle, acker.c.handle)
                .join(Ticket, col(Ticket.id) == SlaAlert.ticket_id)
                .outerjoin(assignee, assignee.c.id == Ticket.assignee_id)
                .outerjoin(acker, acker.c.id == SlaAlert.acknowledged_by_id)
                .where(col(SlaAlert.id).in_(ids))
                .order_by(col(SlaAlert.id))
            )
            return [
                AlertRow(
                    id=a.id,  # type: ignore[arg-type]
                    key=key,
                    subject=subject,
                    priority=a.priority,
                    assignee=who,
                    metric=a.metric,
                    cycle=a.cycle,
                    threshold=a.threshold,
                    due_at=a.due_at,
                    fired_at=a.fired_at,
                    level=a.level,
                    acknowledged_at=a.acknowledged_at,
                    acknowledged_by=ack,
                    resolved_at=a.resolved_at,
                    rehearsal=a.rehearsal,
                    fire_at=a.fire_at,
                )
                for a, key, subject, who, ack in s.exec(q)
            ]

    def oncall_state_in(self, s: Session, at: datetime) -> OncallState:
        policy = self.default_policy
        is_open = policy.is_open(at)
        nxt = policy.next_close(at) if is_open else policy.next_open(at)
        return oncall_state(s, at, policy_open=is_open, next_change=nxt, rehearsal=self.rehearsal)

    # ------------------------------------------------------------ outbox rows
    def _queue_alert(
        self,
        s: Session,
        t: Ticket,
        a: SlaAlert,
        now: datetime,
        *,
        kind: str,
        state: OncallState | None = None,
    ) -> None:
        """Outbox rows for one alert event (trigger / escalate) to every configured webhook
        channel, in the caller's transaction. PagerDuty escalates by itself: no row."""
        state = state or self.oncall_state_in(s, now)
        info = self._alert_info(s, t, a, now, state)
        for channel in self.webhook_channels():
            if channel == "pagerduty" and kind == "escalate":
                continue
            self.enqueue(
                s,
                kind="webhook",
                destination=f"webhook:{channel}",
                payload={"channel": channel, "event": kind, "alert": info},
                dedup_key=f"alert:{a.id}:{kind}:{a.level}:{channel}",
                ticket_id=t.id,
                now=now,
            )

    def _queue_resolve(self, s: Session, t: Ticket, a: SlaAlert, now: datetime) -> None:
        """A met deadline resolves its PagerDuty incident (dedup key ticket:metric:cycle)."""
        if "pagerduty" not in self.webhook_channels():
            return
        if t.priority not in self.settings.webhook_priorities:
            return
        info = self._alert_info(s, t, a, now, None)
        self.enqueue(
            s,
            kind="webhook",
            destination="webhook:pagerduty",
            payload={"channel": "pagerduty", "event": "resolve", "alert": info},
            dedup_key=f"resolve:{t.key}:{a.metric}:{a.cycle}",
            ticket_id=t.id,
            now=now,
        )

    def _alert_info(
        self, s: Session, t: Ticket, a: SlaAlert, now: datetime, state: OncallState | None
    ) -> dict[str, Any]:
        """The channel-neutral facts of an alert (the outbox payload; no secret in it)."""
        assignee = s.get(Agent, t.assignee_id) if t.assignee_id else None
        row = AlertRow(
            id=a.id,
            key=t.key,
            subject=t.subject,
            priority=t.priority,  # type: ignore[arg-type]
            assignee=assignee.handle if assignee else None,
            metric=a.metric,
            cycle=a.cycle,
            threshold=a.threshold,
            due_at=a.due_at,
            fired_at=a.fired_at,
            level=a.level,
            acknowledged_at=None,
            acknowledged_by=None,
            resolved_at=a.resolved_at,
            rehearsal=a.rehearsal,
        )
        info = row.as_json()
        info["time_left_seconds"] = round((a.due_at - now).total_seconds())
        info["dedup_key"] = f"{t.key}:{a.metric}:{a.cycle}"
        info["link"] = f"agent-console ticket show {t.key}"
        if state is not None:
            info["notify"] = row.recipients(state)
        return info

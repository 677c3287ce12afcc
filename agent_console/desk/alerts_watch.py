"""One alert pass (issue 10), what a watcher or a console runs in a worker: follow the
feed (:mod:`agent_console.desk.alerts_schedule`), fire the thresholds crossed — each exactly
once, claimed in the database, its outbox rows in the same transaction — and escalate the
unacknowledged critical alerts that waited too long; ``next_wake`` says when to come back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from agent_console.desk.alerts_delivery import REHEARSAL
from agent_console.desk.alerts_schedule import AlertScheduleMixin
from agent_console.desk.outbox import insert_ignore
from agent_console.store.models import AlertCursor, AlertThreshold, SlaAlert, Ticket, TicketEvent
from agent_console.views import AlertRow, OncallState


@dataclass
class AlertTick:
    """What one :meth:`AlertWatchMixin.alert_tick` did: alerts fired and escalated, alert ids
    resolved (met deadlines), tickets re-synchronised, and ``next_wake`` — the next
    threshold or escalation instant (UTC; None = nothing scheduled)."""

    fired: list[AlertRow] = field(default_factory=list)
    escalated: list[AlertRow] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    synced: int = 0
    next_wake: datetime | None = None


class AlertWatchMixin(AlertScheduleMixin):
    """The pass: sync, fire, escalate."""

    #: rehearsal only: fire_at up to which this desk has fired (rehearsals claim nothing)
    _rehearsal_hwm: datetime | None = None

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

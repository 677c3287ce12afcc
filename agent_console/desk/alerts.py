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

Where it lives (one responsibility a module)
--------------------------------------------
- :mod:`agent_console.desk.alerts_thresholds` — pure: open cycles, threshold instants.
- :mod:`agent_console.desk.alerts_schedule` — the threshold rows, following the feed.
- :mod:`agent_console.desk.alerts_watch` — the pass: :class:`AlertTick`, firing, escalation.
- :mod:`agent_console.desk.alerts_delivery` — :class:`AlertRow` reads and the outbox rows.
- this module — :class:`AlertsMixin` (all of the above for the desk), acknowledgement and
  the reads the screen and the CLI call; every public name above stays importable here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select

from agent_console.desk.alerts_delivery import REAL, REHEARSAL, AlertDeliveryMixin
from agent_console.desk.alerts_schedule import SYNC_BATCH, AlertScheduleMixin
from agent_console.desk.alerts_thresholds import (
    METRICS,
    CycleFacts,
    OpenCycle,
    _back,
    _cycle_ended,
    _cycles_due,
    desired_thresholds,
    threshold_label,
)
from agent_console.desk.alerts_watch import AlertTick, AlertWatchMixin
from agent_console.errors import NotFound, UserError
from agent_console.store.models import SlaAlert, Ticket
from agent_console.views import AlertRow

__all__ = [
    "METRICS",
    "REAL",
    "REHEARSAL",
    "SYNC_BATCH",
    "AlertDeliveryMixin",
    "AlertRow",
    "AlertScheduleMixin",
    "AlertTick",
    "AlertWatchMixin",
    "AlertsMixin",
    "CycleFacts",
    "OpenCycle",
    "_back",
    "_cycle_ended",
    "_cycles_due",
    "desired_thresholds",
    "threshold_label",
]


class AlertsMixin(AlertWatchMixin):
    """Alerts before breach; see the module docstring."""

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

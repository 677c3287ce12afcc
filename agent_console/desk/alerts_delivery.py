"""Who hears of an alert (issue 10): the :class:`~agent_console.views.AlertRow` read
models the screen and the CLI get, the on-call state an alert's recipients come from, and
the outbox rows (trigger, escalate, resolve) for every configured webhook channel, written
in the caller's transaction (DESIGN.md: anything sent goes through an outbox row).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from agent_console.desk.oncall import OncallMixin, oncall_state
from agent_console.desk.outbox import OutboxMixin
from agent_console.store.models import Agent, SlaAlert, Ticket
from agent_console.views import AlertRow, OncallState

REAL, REHEARSAL = "real", "rehearsal"


class AlertDeliveryMixin(OutboxMixin, OncallMixin):
    """Alert read models and outbox rows; the base every alerts mixin builds on."""

    @property
    def _ns(self) -> str:
        """The alert namespace of this desk: ``rehearsal`` under ``--at``, else ``real``."""
        return REHEARSAL if self.rehearsal else REAL

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

"""Keeping the alert schedule true (issue 10): follow the change feed and re-derive the
:class:`~agent_console.store.models.AlertThreshold` rows of the tickets that changed (the
instants come from :mod:`agent_console.desk.alerts_thresholds`); a met cycle cancels its
pending rows and resolves its open alerts, a paused clock cancels its pending rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from agent_console.desk.alerts_delivery import REHEARSAL, AlertDeliveryMixin
from agent_console.desk.alerts_thresholds import _cycle_ended, _cycles_due, desired_thresholds
from agent_console.desk.feed import FeedCursor, FeedMixin
from agent_console.desk.outbox import insert_ignore, insert_ignore_many
from agent_console.store.models import (
    AlertCursor,
    AlertThreshold,
    Message,
    MessageKind,
    Organization,
    SlaAlert,
    SlaCycle,
    Ticket,
    TicketEvent,
)

SYNC_BATCH = 500


class AlertScheduleMixin(AlertDeliveryMixin, FeedMixin):
    """The schedule of threshold rows, kept in step with the change feed."""

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

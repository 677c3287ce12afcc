"""The one outbox (DESIGN.md "Storage"): everything sent to the outside world.

A row (:class:`~agent_console.store.models.OutboxMessage`) is generic — ``kind``
("webhook", or "mail": issue 14, composed by ``desk/mail_out.py``), ``destination`` (a configured channel such as
``webhook:pagerduty``; never a URL or a key), ``payload`` (JSON, no secret), ``dedup_key``
(unique: the same message is never queued twice) — and is written by
:meth:`OutboxMixin.enqueue` in the caller's transaction, beside the change that caused it.

Delivery (:meth:`OutboxMixin.deliver_outbox`, run by the watcher or a console worker):

1. **claim**: one transaction picks ready rows (not sent, not failed, ``available_at``
   passed, no live lease) — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE``
   on SQLite — and stamps them with the sender's id and a lease (``lease_until``);
2. **send** outside any transaction (``agent_console.channels``; retries inside);
3. **mark** ``sent_at`` (or ``failed_at`` after giving up) conditionally on still holding
   the claim. A sender that dies mid-way leaves a lease that expires; another sender then
   takes the row. Each failed attempt is a ``delivery_failed`` event on the ticket.

Exactly once: a row is claimed by one sender at a time and marked once. The only window is a
crash between the receiver's 2xx and the mark; the retry then carries the same
``Idempotency-Key`` header and, for PagerDuty, the same ``dedup_key``, so the receiver folds it.

Rehearsals (``--at``) write no outbox rows; :meth:`OutboxMixin.preview_webhooks` shows what
would have been sent.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from agent_console.channels.webhooks import body_for, mask_key, mask_url, post_json
from agent_console.desk.core import DeskCore
from agent_console.store.models import OutboxMessage
from agent_console.views import iso_utc

#: seconds a claim is held beyond the delivery's give-up time
LEASE_MARGIN = 30.0
#: seconds between two attempts of a refused mail at most (the backoff's ceiling)
MAIL_RETRY_MAX = 15 * 60.0


def insert_ignore(
    session: Session, model: type, values: dict[str, Any], *, returning: str | None = "id"
) -> Any:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL); the new row's ``returning``
    column, or None when a unique constraint already held that row."""
    table = model.__table__  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(**values).on_conflict_do_nothing()
    if returning is None:
        session.execute(stmt)
        return None
    return session.execute(stmt.returning(table.c[returning])).scalar()


def insert_ignore_many(session: Session, model: type, rows: list[dict[str, Any]]) -> None:
    """:func:`insert_ignore` for many rows in one executemany (rows already present by a
    unique constraint are skipped)."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(table).on_conflict_do_nothing(), rows)


@dataclass
class DeliveryReport:
    """One :meth:`OutboxMixin.deliver_outbox` pass: row ids sent / given up, and one line
    per event (masked destinations only)."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


class OutboxMixin(DeskCore):
    """Queue and deliver outbox rows; see the module docstring."""

    def webhook_channels(self) -> list[str]:
        """The configured webhook channels: ``generic`` (``webhook_url`` / ``--webhook``),
        ``slack`` (``slack_webhook_url``), ``pagerduty`` (``pagerduty_routing_key``)."""
        st = self.settings
        out = []
        if st.webhook_url:
            out.append("generic")
        if st.slack_webhook_url:
            out.append("slack")
        if st.pagerduty_routing_key:
            out.append("pagerduty")
        return out

    def channel_target(self, channel: str) -> tuple[str, str]:
        """(URL, masked description) of a channel. The URL is a secret: never print it."""
        st = self.settings
        if channel == "slack" and st.slack_webhook_url:
            return st.slack_webhook_url, f"slack {mask_url(st.slack_webhook_url)}"
        if channel == "pagerduty" and st.pagerduty_routing_key:
            return st.pagerduty_url, (
                f"pagerduty {mask_url(st.pagerduty_url)} key {mask_key(st.pagerduty_routing_key)}"
            )
        if channel == "generic" and st.webhook_url:
            return st.webhook_url, f"webhook {mask_url(st.webhook_url)}"
        raise KeyError(channel)

    def enqueue(
        self,
        session: Session,
        *,
        kind: str,
        destination: str,
        payload: dict[str, Any],
        dedup_key: str,
        ticket_id: int | None = None,
        now: datetime | None = None,
    ) -> int | None:
        """Queue one message in the caller's transaction; None when ``dedup_key`` was
        already queued (nothing is queued twice)."""
        now = now or self.now()
        return insert_ignore(
            session,
            OutboxMessage,
            dict(
                kind=kind,
                destination=destination,
                payload=payload,
                dedup_key=dedup_key,
                ticket_id=ticket_id,
                created_at=now,
                available_at=now,
                attempts=0,
            ),
        )

    def _outbox_ready(self, only: list[int] | None, kinds: tuple[str, ...] = ()) -> bool:
        now = self.now()
        with self.read() as s:
            q = select(OutboxMessage.id).where(
                col(OutboxMessage.sent_at).is_(None),
                col(OutboxMessage.failed_at).is_(None),
                col(OutboxMessage.available_at) <= now,
                or_(
                    col(OutboxMessage.lease_until).is_(None),
                    col(OutboxMessage.lease_until) < now,
                ),
            )
            if only is not None:
                q = q.where(col(OutboxMessage.id).in_(only))
            if kinds:
                q = q.where(col(OutboxMessage.kind).in_(kinds))
            return s.exec(q.limit(1)).first() is not None

    def _http(self) -> httpx.Client:
        """One HTTP client per desk (connection reuse; thread-safe for requests)."""
        client = getattr(self, "_http_client", None)
        if client is None:
            client = httpx.Client()
            self._http_client = client
        return client

    def _claim(
        self,
        worker: str,
        limit: int,
        lease: float,
        only: list[int] | None = None,
        kinds: tuple[str, ...] = (),
    ) -> list[OutboxMessage]:
        now = self.now()
        with self.write() as s:
            q = (
                select(OutboxMessage)
                .where(
                    col(OutboxMessage.sent_at).is_(None),
                    col(OutboxMessage.failed_at).is_(None),
                    col(OutboxMessage.available_at) <= now,
                    or_(
                        col(OutboxMessage.lease_until).is_(None),
                        col(OutboxMessage.lease_until) < now,
                    ),
                )
                .order_by(col(OutboxMessage.id))
                .limit(limit)
            )
            if only is not None:
                q = q.where(col(OutboxMessage.id).in_(only))
            if kinds:
                q = q.where(col(OutboxMessage.kind).in_(kinds))
            if self.engine.dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            rows = list(s.exec(q))
            for r in rows:
                r.claimed_by = worker
                r.lease_until = now + timedelta(seconds=lease)
                r.attempts += 1
                s.add(r)
            return rows

    def _finish(self, row_id: int, worker: str, *, ok: bool, error: str | None) -> bool:
        now = self.now()
        values: dict[str, Any] = {"sent_at": now} if ok else {"failed_at": now}
        values["last_error"] = error
        with self.write() as s:
            res = s.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == row_id,
                    OutboxMessage.claimed_by == worker,
                    col(OutboxMessage.sent_at).is_(None),
                    col(OutboxMessage.failed_at).is_(None),
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return res.rowcount == 1

    def _reschedule(self, row_id: int, worker: str, at: datetime, error: str) -> bool:
        """Release a claimed row for a retry at ``at`` (UTC), conditionally on the claim."""
        with self.write() as s:
            res = s.execute(
                update(OutboxMessage)
                .where(
                    col(OutboxMessage.id) == row_id,
                    OutboxMessage.claimed_by == worker,
                    col(OutboxMessage.sent_at).is_(None),
                    col(OutboxMessage.failed_at).is_(None),
                )
                .values(available_at=at, claimed_by=None, lease_until=None, last_error=error)
                .execution_options(synchronize_session=False)
            )
            return res.rowcount == 1

    def _record_failure(
        self, row: OutboxMessage, attempt: int, status: int | None, error: str, final: bool
    ) -> None:
        if row.ticket_id is None:
            return
        with self.write() as s:
            actor_id = None
            if row.kind == "mail":
                actor_id = self.system_actor(s, "mail").id
            self.log(
                s,
                row.ticket_id,
                "delivery_gave_up" if final else "delivery_failed",
                agent_id=actor_id,
                outbox=row.id,
                destination=row.destination,
                attempt=attempt,
                status=status,
                error=error,
            )

    def deliver_outbox(
        self,
        *,
        worker: str | None = None,
        limit: int = 50,
        backoff_initial: float = 0.5,
        only: list[int] | None = None,
        kinds: tuple[str, ...] | None = None,
    ) -> DeliveryReport:
        """Claim ready rows and deliver them (blocking: run it off the UI thread — the
        watcher's sender thread, or a Textual worker). Rows whose channel is no longer
        configured here are left for a sender that has it (their lease expires).

        ``kinds``: the row kinds to deliver; default every webhook row, and the mail rows
        when this console has ``smtp`` and ``mail_from`` (a console without a mail server
        never claims mail). Mail (issue 14) is sent through ``channels/smtp.py``; a refused
        message is released for a retry after ``mail_retry_after`` seconds, doubling each
        attempt (at most 15 minutes apart), and given up ``mail_give_up_after`` seconds
        after it was queued (or sent again by a person: ``retried_at``), or at once on a
        permanent (5xx) refusal."""
        worker = worker or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        report = DeliveryReport()
        st = self.settings
        can_mail = bool(st.smtp_url and st.mail_from)
        if kinds is None:
            kinds = ("webhook", "mail") if can_mail else ("webhook",)
        elif not can_mail:
            kinds = tuple(k for k in kinds if k != "mail")
        if not kinds or self.rehearsal or not self._outbox_ready(only, kinds):
            return report  # idle: a read, no write lock
        lease = max(st.webhook_give_up_after, st.smtp_timeout * 4) + LEASE_MARGIN
        for row in self._claim(worker, limit, lease, only, kinds):
            if row.kind == "mail":
                self._deliver_mail(row, worker, report)
                continue
            channel = row.destination.split(":", 1)[-1]
            try:
                url, shown = self.channel_target(channel)
            except KeyError:
                report.lines.append(f"outbox {row.id}: channel {channel} not configured here")
                continue
            payload = row.payload or {}
            body = body_for(
                channel,
                str(payload.get("event", "trigger")),
                dict(payload.get("alert") or {}),
                st.pagerduty_routing_key or "",
            )

            def failed(attempt: int, status: int | None, error: str, _row=row) -> None:
                self._record_failure(_row, attempt, status, error, final=False)

            result = post_json(
                url,
                body,
                give_up_after=st.webhook_give_up_after,
                timeout=st.webhook_timeout,
                headers={"Idempotency-Key": row.dedup_key},
                on_failure=failed,
                backoff_initial=backoff_initial,
                client=self._http(),
            )
            if result.ok:
                self._finish(row.id, worker, ok=True, error=None)  # type: ignore[arg-type]
                report.sent.append(row.id)  # type: ignore[arg-type]
                report.lines.append(f"sent {row.dedup_key} to {shown} (HTTP {result.status})")
            else:
                self._finish(row.id, worker, ok=False, error=result.error)  # type: ignore[arg-type]
                self._record_failure(
                    row, result.attempts, result.status, result.error or "", final=True
                )
                report.failed.append(row.id)  # type: ignore[arg-type]
                report.lines.append(f"failed {row.dedup_key} to {shown}: {result.error}")
        return report

    def _deliver_mail(self, row: OutboxMessage, worker: str, report: DeliveryReport) -> None:
        """Send one claimed mail row (see :meth:`deliver_outbox`)."""
        from agent_console.channels.smtp import parse_smtp_url, send_message
        from agent_console.desk.mail_out import build_email
        from agent_console.redact import mask_secrets

        st = self.settings
        payload = row.payload or {}
        label = f"mail {payload.get('kind', '?')} {payload.get('key', '')} to {payload.get('to')}"
        try:
            target = parse_smtp_url(
                st.smtp_url or "", password=st.smtp_password, ca_file=st.smtp_ca_file
            )
            message = build_email(payload, st.mail_from or "")
        except (ValueError, KeyError, TypeError) as exc:
            error = f"cannot build the message: {exc}"
            self._finish(row.id, worker, ok=False, error=error)  # type: ignore[arg-type]
            self._record_failure(row, row.attempts, None, error, final=True)
            report.failed.append(row.id)  # type: ignore[arg-type]
            report.lines.append(f"failed {label}: {error}")
            return
        result = send_message(target, message, timeout=st.smtp_timeout)
        if result.ok:
            if self._finish(row.id, worker, ok=True, error=None) and row.ticket_id:  # type: ignore[arg-type]
                with self.write() as s:  # the history line; consoles refresh the ✉ state
                    self.log(
                        s,
                        row.ticket_id,
                        "mail_sent",
                        agent_id=self.system_actor(s, "mail").id,
                        outbox=row.id,
                        destination=row.destination,
                        mail=payload.get("kind"),
                        attempt=row.attempts,
                    )
            report.sent.append(row.id)  # type: ignore[arg-type]
            report.lines.append(f"sent {label} via {target.shown}")
            return
        error = mask_secrets(result.error or "refused")
        now = self.now()
        # a message a person sent again (``mail failed retry``) counts from that retry
        age = (now - (row.retried_at or row.created_at)).total_seconds()
        if result.permanent or age >= st.mail_give_up_after:
            self._finish(row.id, worker, ok=False, error=error)  # type: ignore[arg-type]
            self._record_failure(row, row.attempts, result.code, error, final=True)
            report.failed.append(row.id)  # type: ignore[arg-type]
            report.lines.append(f"gave up {label}: {error}")
            return
        delay = min(st.mail_retry_after * 2 ** max(row.attempts - 1, 0), MAIL_RETRY_MAX)
        self._record_failure(row, row.attempts, result.code, error, final=False)
        self._reschedule(row.id, worker, now + timedelta(seconds=delay), error)  # type: ignore[arg-type]
        report.lines.append(f"retrying {label} in {delay:g}s: {error}")

    def test_alert_info(self) -> dict[str, Any]:
        """The facts of a test alert (``oncall test-alert``)."""
        now = self.now()
        return {
            "id": 0,
            "key": "TEST",
            "subject": "Agent Console test alert: this channel works",
            "priority": "critical",
            "metric": "first_response",
            "cycle": 0,
            "threshold": "test",
            "what": "test alert",
            "due_at": iso_utc(now),
            "time_left_seconds": 0,
            "level": 0,
            "notify": [],
            "link": "agent-console oncall show",
            "dedup_key": f"test:{uuid.uuid4().hex[:12]}",
        }

    def send_test_alert(self) -> DeliveryReport:
        """Queue a test message to every configured channel and deliver it now (through the
        outbox like any alert); the report says what each channel answered."""
        info = self.test_alert_info()
        ids: list[int] = []
        with self.write() as s:
            for channel in self.webhook_channels():
                new = self.enqueue(
                    s,
                    kind="webhook",
                    destination=f"webhook:{channel}",
                    payload={"channel": channel, "event": "test", "alert": info},
                    dedup_key=f"{info['dedup_key']}:{channel}",
                )
                if new is not None:
                    ids.append(new)
        return self.deliver_outbox(only=ids)

    def preview_webhooks(
        self, event: str, alert: dict[str, Any]
    ) -> list[tuple[str, dict[str, Any]]]:
        """What would be POSTed for an alert event, per configured channel: (masked
        destination, body with the routing key masked). For rehearsals and dry runs."""
        out = []
        for channel in self.webhook_channels():
            _url, shown = self.channel_target(channel)
            body = body_for(channel, event, alert, mask_key(self.settings.pagerduty_routing_key))
            out.append((shown, body))
        return out

    def outbox_counts(self) -> dict[str, int]:
        """Rows by state: ``pending``, ``sent``, ``failed`` (for ``oncall show``)."""
        from sqlalchemy import func

        with self.read() as s:
            pending = s.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None))
            ).one()
            sent = s.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.sent_at).is_not(None))
            ).one()
            failed = s.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(col(OutboxMessage.failed_at).is_not(None))
            ).one()
        return {"pending": int(pending), "sent": int(sent), "failed": int(failed)}

"""Reading one ticket for the detail screen and the CLI: its thread, history, SLA timers,
the explanation of its deadlines, and what a status change would do to them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from agent_console.desk.core import DeskCore
from agent_console.desk.deadlines import clock_of
from agent_console.desk.identity import AgentKind, on_behalf_label
from agent_console.desk.ticket_view import (
    ArticleRef,
    AttachmentView,
    EventView,
    MessageView,
    StatusPreview,
    TicketDetail,
    describe_event,
)
from agent_console.desk.tickets import parse_status
from agent_console.sla import Explanation, Policy, format_duration
from agent_console.sla.zones import zone_abbrev
from agent_console.store.models import (
    Agent,
    Customer,
    KBArticle,
    MailAttachment,
    MailMessage,
    Message,
    Organization,
    OutboxMessage,
    Status,
    Ticket,
    TicketArticle,
    TicketEvent,
    TicketParticipant,
)


def attachment_rows(
    session: Session, ticket_id: int
) -> list[tuple[int, str, str, int, bool, datetime]]:
    """A ticket's received attachments in arrival order: (id, file name, content type,
    size in bytes, content kept?, received at UTC)."""
    rows = session.exec(
        select(
            MailAttachment.id,
            MailAttachment.filename,
            MailAttachment.content_type,
            MailAttachment.size,
            col(MailAttachment.content).is_not(None),
            MailAttachment.created_at,
        )
        .where(MailAttachment.ticket_id == ticket_id)
        .order_by(col(MailAttachment.id))
    ).all()
    return [(int(i), n, ct, int(sz), bool(kept), at) for i, n, ct, sz, kept, at in rows]


class TicketReadsMixin(DeskCore):
    # ================================================================ queries
    def ticket_detail(self, key: str) -> TicketDetail:
        """One ticket with its thread (oldest first), events, articles and SLA facts."""
        with self.read() as s:
            return self._detail(s, self.ticket_by_key(s, key))

    def ticket_history(self, key: str) -> tuple[EventView, ...]:
        """The ticket's event trail, oldest first: who changed what, when."""
        with self.read() as s:
            ticket = self.ticket_by_key(s, key)
            return self._events(s, ticket, self._agents_for(s, ticket, []))

    def explain_ticket(self, key: str, now: datetime | None = None) -> Explanation:
        """Why each deadline of the ticket falls when it does (the ticket clock's
        explanation, :meth:`agent_console.sla.TicketClock.explain`)."""
        with self.read() as s:
            ticket = self.ticket_by_key(s, key)
            clock = clock_of(ticket, self.policy_for_ticket(s, ticket))
        return clock.explain(now or self.now())

    def preview_status(self, key: str, status: str) -> StatusPreview:
        """What setting ``status`` now would do to the resolution deadline, and to a
        pausable update cadence (nothing is written): the ticket clock's :meth:`~agent_console.sla.TicketClock.set_status`
        applied to a copy. The status picker shows it before an agent sets a status."""
        target = parse_status(status)
        now = self.now()
        with self.read() as s:
            t = self.ticket_by_key(s, key)
            policy = self.policy_for_ticket(s, t)
        cur = Status(t.status)
        clock = clock_of(t, policy)
        fmt = self._local_fmt(policy)
        current = clock.due("resolution")
        if target is cur:
            return StatusPreview(target.value, current, current, None, f"already {cur.value}")
        after = clock.set_status(target.value, now)
        if target is Status.PENDING:
            left = after.left_when_paused("resolution")
            assert left is not None
            was = ""
            if current and cur.is_open:
                was = (
                    f" (it fell due {fmt(current)})"
                    if left < 0
                    else f" (running, it falls due {fmt(current)})"
                )
            then = (
                "It resumes, still overdue, when the ticket leaves pending."
                if left < 0
                else "It resumes with that time when the ticket leaves pending."
            )
            text = f"Pending stops the resolution clock: {self._left(left)}{was}. {then}"
            upd_left = after.left_when_paused("next_update")  # a pausable update cadence
            if upd_left is not None:
                text += f" The status-update clock stops too ({self._left(upd_left)})."
            return StatusPreview(target.value, current, None, left, text)
        if not target.is_open:
            if cur.is_open:
                text = "Resolving stops the resolution clock (needs a resolution summary)."
            else:
                text = "Closing keeps the resolution record as it is."
            return StatusPreview(target.value, current, current, None, text)
        due_after = after.due("resolution")
        if clock.waiting or not clock.is_open:
            spec = after.spec("resolution")
            left = spec.target(after.target) - after.elapsed_at("resolution", now.timestamp())
            verb = "Reopening" if not cur.is_open else f"Leaving pending for {target.value}"
            if left < 0:
                text = (
                    f"{verb} resumes the resolution clock, {self._left(left)} "
                    f"(it fell due {fmt(due_after)})."
                )
            else:
                text = (
                    f"{verb} resumes the resolution clock ({self._left(left)}): "
                    f"due {fmt(due_after)}."
                )
            return StatusPreview(target.value, current, due_after, left, text)
        return StatusPreview(
            target.value,
            current,
            due_after,
            None,
            f"No change to the resolution clock (due {fmt(due_after)}).",
        )

    def _local_fmt(self, policy: Policy):  # type: ignore[no-untyped-def]
        zone = self.display_zone

        def fmt(dt: datetime | None) -> str:
            if dt is None:
                return "—"
            local = dt.astimezone(zone)
            return f"{local:%a %d %b %H:%M} {zone_abbrev(local)}"

        return fmt

    @staticmethod
    def _left(seconds: int) -> str:
        if seconds < 0:
            return f"already overdue by {format_duration(seconds)}"
        return f"{format_duration(seconds)} left"

    # ---------------------------------------------------------------- read model
    def _agents_for(self, s: Session, ticket: Ticket, messages: list[Message]) -> dict[int, Agent]:
        ids = {m.author_agent_id for m in messages if m.author_agent_id}
        ids |= set(
            s.exec(
                select(TicketEvent.agent_id).where(
                    TicketEvent.ticket_id == ticket.id, col(TicketEvent.agent_id).is_not(None)
                )
            ).all()
        )
        if ticket.assignee_id:
            ids.add(ticket.assignee_id)
        ids.discard(None)  # type: ignore[arg-type]
        if not ids:
            return {}
        return {a.id: a for a in s.exec(select(Agent).where(col(Agent.id).in_(ids)))}  # type: ignore[misc]

    @staticmethod
    def _roles_of_agents(s: Session) -> dict[str, str]:
        """Database role / OS user -> agent handle (who wrote a row, issue 11)."""
        out: dict[str, str] = {}
        for handle, role, user in s.execute(
            select(Agent.handle, Agent.db_role, Agent.os_user).where(
                col(Agent.db_role).is_not(None) | col(Agent.os_user).is_not(None)
            )
        ):
            for key in (role, user):
                if key:
                    out[key] = handle
        return out

    def _events(
        self, s: Session, ticket: Ticket, agents: dict[int, Agent]
    ) -> tuple[EventView, ...]:
        rows = s.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(col(TicketEvent.at), col(TicketEvent.id))
        ).all()
        out = []
        roles = self._roles_of_agents(s) if any(ev.actor_role for ev in rows) else {}
        for ev in rows:
            who = agents.get(ev.agent_id) if ev.agent_id else None
            handle = who.handle if who else None
            by = on_behalf_label(ev.actor_role, who, roles, self.identity.owner)
            text = describe_event(ev.kind, handle, ev.details or {})
            if who is not None and who.kind == AgentKind.SYSTEM and handle not in text:
                by = f" (by {handle})"  # work no person does: the system actor by name
            out.append(
                EventView(
                    id=ev.id or 0,
                    at=ev.at,
                    kind=ev.kind,
                    agent=handle,
                    details=dict(ev.details or {}),
                    text=text + by,
                )
            )
        return tuple(out)

    @staticmethod
    def _mail_states(s: Session, t: Ticket) -> dict[int, str]:
        """Thread message id → what became of its mail (issue 14, desk/mail_out.py):
        ``not delivered`` (given up or bounced), ``sent``, ``retrying`` (refused, will
        retry), ``queued``."""
        rows = s.exec(
            select(
                MailMessage.ticket_message_id,
                OutboxMessage.sent_at,
                OutboxMessage.failed_at,
                OutboxMessage.last_error,
            )
            .join(OutboxMessage, col(OutboxMessage.id) == col(MailMessage.outbox_id))
            .where(
                MailMessage.ticket_id == t.id,
                MailMessage.direction == "out",
                col(MailMessage.ticket_message_id).is_not(None),
            )
        ).all()
        from agent_console.desk.mail_out import mail_state

        out: dict[int, str] = {}
        for mid, sent, failed, error in rows:
            state = mail_state(sent, failed, error)
            if state == "failed":
                state = "not delivered"  # what the thread says (dismissed or not)
            out[int(mid)] = state  # type: ignore[arg-type]
        return out

    def _detail(self, s: Session, t: Ticket) -> TicketDetail:
        policy = self.policy_for_ticket(s, t)
        requester = s.get(Customer, t.requester_id)
        org = s.get(Organization, t.organization_id) if t.organization_id else None
        messages = list(
            s.exec(
                select(Message)
                .where(Message.ticket_id == t.id)
                .order_by(col(Message.created_at), col(Message.id))
            ).all()
        )
        agents = self._agents_for(s, t, messages)
        req_name = requester.name if requester else "unknown requester"
        views = []
        mailed = self._mail_states(s, t)
        participants: dict[str, None] = {req_name: None}
        # other customers on the ticket: Cc of its mail, and who wrote in (issue 14)
        others = {
            c.id: c.name
            for c in s.exec(
                select(Customer).where(
                    col(Customer.id).in_(
                        select(TicketParticipant.customer_id).where(
                            TicketParticipant.ticket_id == t.id
                        )
                    )
                    | col(Customer.id).in_(
                        {m.author_customer_id for m in messages if m.author_customer_id}
                    )
                )
            )
        }
        for name in others.values():
            participants[name] = None
        for m in messages:
            a = agents.get(m.author_agent_id) if m.author_agent_id else None
            if a is not None:
                author, handle, tier = a.name, a.handle, a.tier
                participants[a.name] = None
            else:
                author = others.get(m.author_customer_id, req_name)  # type: ignore[arg-type]
                handle, tier = None, None
            views.append(
                MessageView(
                    id=m.id or 0,
                    kind=m.kind,
                    body=m.body,
                    created_at=m.created_at,
                    author=author,
                    author_handle=handle,
                    author_tier=tier,
                    pinned=bool(m.pinned),
                    mail=mailed.get(m.id or 0),
                )
            )
        assignee = agents.get(t.assignee_id) if t.assignee_id else None
        if assignee is not None:
            participants[assignee.name] = None
        articles = tuple(
            ArticleRef(slug, title)
            for slug, title in s.exec(
                select(KBArticle.slug, KBArticle.title)
                .join(TicketArticle, col(TicketArticle.article_id) == KBArticle.id)
                .where(TicketArticle.ticket_id == t.id)
                .order_by(col(TicketArticle.linked_at))
            ).all()
        )
        clock = clock_of(t, policy)
        return TicketDetail(
            id=t.id or 0,
            key=t.key,
            subject=t.subject,
            status=t.status,
            is_open=t.is_open,
            priority=t.priority,
            priority_level=t.priority_level,
            tier=t.tier,
            escalated=t.escalated,
            assignee=assignee.handle if assignee else None,
            assignee_name=assignee.name if assignee else None,
            requester=req_name,
            requester_email=requester.email if requester else "",
            organization=org.name if org else None,
            policy_name=policy.name,
            channel=t.channel,
            request_type=t.request_type,
            tags=tuple(t.tag_list),
            opened_at=t.opened_at,
            updated_at=t.updated_at,
            first_response_at=t.first_response_at,
            last_public_update_at=t.last_public_update_at,
            resolved_at=t.resolved_at,
            first_response_due=t.first_response_due,
            next_update_due=t.next_update_due,
            resolution_due=t.resolution_due,
            paused_since=t.paused_since,
            sla_pauses=tuple(clock.pause_list),
            resolution_left=clock.left_when_paused("resolution"),
            version=t.version,
            participants=tuple(participants),
            messages=tuple(views),
            events=self._events(s, t, agents),
            articles=articles,
            policy=policy,
            clock=clock,
            attachments=tuple(
                AttachmentView(name, ctype, size, kept, at)
                for _, name, ctype, size, kept, at in attachment_rows(s, t.id)  # type: ignore[arg-type]
            ),
        )

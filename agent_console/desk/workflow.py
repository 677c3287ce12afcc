"""The ticket workflow (issue 5): one ticket's detail, and the commands an agent runs on it —
reply, internal note, status, priority, assign, type and tags, resolve, escalate and
de-escalate.

Every command is one transaction that appends one event, enforces the tier rules of
:mod:`agent_console.desk.permissions`, and is conditional on the version the agent saw
(optimistic concurrency): ``UPDATE ticket SET version = v + 1 WHERE id = :id AND
version = :v`` runs first; when it matches no row, someone else changed the ticket and
:class:`~agent_console.errors.Conflict` says who changed what. Commands that move a
deadline call :func:`~agent_console.desk.deadlines.refresh_deadlines` (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from agent_console.desk.core import DeskCore
from agent_console.desk.deadlines import parse_pauses, pause_pairs, refresh_deadlines
from agent_console.desk.permissions import (
    deescalation_target,
    escalation_target,
    require_may_assign,
    require_not_closed,
    require_works,
)
from agent_console.desk.ticket_view import (
    ArticleRef,
    EventView,
    MessageView,
    StatusPreview,
    TicketDetail,
    describe_event,
)
from agent_console.desk.tickets import normalise_tags, parse_status
from agent_console.errors import Conflict, UserError
from agent_console.sla import (
    Explanation,
    Policy,
    compute_deadlines,
    explain,
    format_duration,
    resolution_left,
)
from agent_console.store.models import (
    Agent,
    Customer,
    KBArticle,
    Message,
    MessageKind,
    Organization,
    Priority,
    RequestType,
    Status,
    Ticket,
    TicketArticle,
    TicketEvent,
)

__all__ = ["WorkflowMixin"]


@dataclass
class _Change:
    """What a command works on inside its transaction."""

    session: Session
    ticket: Ticket
    actor: Agent
    policy: Policy
    now: datetime


def _required(text: str | None, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise UserError(message)
    return text


class WorkflowMixin(DeskCore):
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
        """Why each deadline of the ticket falls when it does (``sla.explain``)."""
        with self.read() as s:
            ticket = self.ticket_by_key(s, key)
            policy = self.policy_for_ticket(s, ticket)
            return explain(
                policy,
                ticket.priority,
                ticket.opened_at,
                pauses=parse_pauses(ticket.sla_pauses),
                first_response_at=ticket.first_response_at,
                last_public_update_at=ticket.last_public_update_at,
                paused_since=ticket.paused_since,
                now=now or self.now(),
            )

    def preview_status(self, key: str, status: str) -> StatusPreview:
        """What setting ``status`` now would do to the resolution deadline (nothing is
        written). The status picker shows it before an agent sets a ticket to pending."""
        target = parse_status(status)
        now = self.now()
        with self.read() as s:
            t = self.ticket_by_key(s, key)
            policy = self.policy_for_ticket(s, t)
        cur = Status(t.status)
        pauses = parse_pauses(t.sla_pauses)
        if t.resolved_at is not None and target.is_open:
            pauses.append((t.resolved_at, now))  # reopening: the resolved time is not counted
        if t.paused_since is not None and target is not Status.PENDING:
            pauses.append((t.paused_since, now))  # leaving pending: the wait is not counted
        stays_paused = t.paused_since is not None and target is Status.PENDING
        fmt = self._local_fmt(policy)
        current = t.resolution_due
        if target is cur:
            return StatusPreview(target.value, current, current, None, f"already {cur.value}")
        if target is Status.PENDING:
            since = t.paused_since if stays_paused else now
            left = resolution_left(policy, t.priority, t.opened_at, pauses, paused_since=since)
            was = f" (running, it falls due {fmt(current)})" if current and cur.is_open else ""
            text = (
                f"Pending stops the resolution clock: {self._left(left)}{was}. "
                "It resumes with that time when the ticket leaves pending."
            )
            return StatusPreview(target.value, current, None, left, text)
        if not target.is_open:
            if cur.is_open:
                text = "Resolving stops the resolution clock (needs a resolution summary)."
            else:
                text = "Closing keeps the resolution record as it is."
            return StatusPreview(target.value, current, current, None, text)
        d = compute_deadlines(
            policy,
            t.priority,
            t.opened_at,
            pauses=pauses,
            first_response_at=t.first_response_at,
            last_public_update_at=t.last_public_update_at,
        )
        after = d.resolution_due
        if t.paused_since is not None or not cur.is_open:
            left = resolution_left(policy, t.priority, t.opened_at, pauses, paused_since=now)
            verb = "Reopening" if not cur.is_open else f"Leaving pending for {target.value}"
            text = f"{verb} resumes the resolution clock ({self._left(left)}): due {fmt(after)}."
            return StatusPreview(target.value, current, after, left, text)
        return StatusPreview(
            target.value,
            current,
            after,
            None,
            f"No change to the resolution clock (due {fmt(after)}).",
        )

    # ================================================================ commands
    def reply(
        self,
        key: str,
        body: str,
        agent: str | None = None,
        internal: bool = False,
        expected_version: int | None = None,
    ) -> TicketDetail:
        """A public reply to the customer, or (``internal``) a note agents only see.

        A first public reply stops the first-response clock; every public reply restarts
        the status-update clock. A public reply on a new ticket opens it."""
        text = _required(body, "the reply is empty" if not internal else "the note is empty")
        with self._change(key, agent, expected_version) as c:
            t = c.ticket
            require_works(c.actor, t, "reply on")
            kind = MessageKind.INTERNAL if internal else MessageKind.PUBLIC
            msg = Message(
                ticket_id=t.id,  # type: ignore[arg-type]
                kind=kind.value,
                author_agent_id=c.actor.id,
                body=text,
                created_at=c.now,
            )
            c.session.add(msg)
            details: dict[str, object] = {"chars": len(text)}
            if not internal:
                if t.first_response_at is None:
                    t.first_response_at = c.now
                    details["first_response"] = True
                t.last_public_update_at = c.now
                if t.status == Status.NEW.value:
                    t.status = Status.OPEN.value
                    details["status"] = {"from": "new", "to": "open"}
                refresh_deadlines(t, c.policy)
            self.log(
                c.session,
                t.id,
                "noted" if internal else "replied",  # type: ignore[arg-type]
                agent_id=c.actor.id,
                at=c.now,
                **details,
            )
        return self.ticket_detail(key)

    def set_status(
        self,
        key: str,
        status: str,
        agent: str | None = None,
        expected_version: int | None = None,
        *,
        summary: str | None = None,
    ) -> TicketDetail:
        """Change the status.

        ``pending`` (waiting on the customer) stops the resolution clock; leaving it
        resumes the clock with the time that was left. Reopening a resolved ticket resumes
        it too. ``resolved`` needs a ``summary`` (see :meth:`resolve`); only a resolved
        ticket can be ``closed``, and a closed one no longer changes."""
        target = parse_status(status)
        if target is Status.RESOLVED:
            return self.resolve(key, summary or "", agent, expected_version)
        with self._change(key, agent, expected_version) as c:
            t = c.ticket
            cur = Status(t.status)
            if target is cur:
                raise UserError(f"{t.key} is already {cur.value}")
            if target is Status.NEW:
                raise UserError("a ticket cannot go back to new")
            if target is Status.CLOSED and cur is not Status.RESOLVED:
                raise UserError(f"only a resolved ticket can be closed; resolve {t.key} first")
            require_works(c.actor, t, "change")
            kind = "status"
            if cur is Status.RESOLVED and target.is_open:
                kind = "reopened"
                if t.resolved_at is not None:
                    self._add_pause(t, t.resolved_at, c.now)
                t.resolved_at = None
            if cur is Status.PENDING and t.paused_since is not None:
                self._add_pause(t, t.paused_since, c.now)
                t.paused_since = None
            if target is Status.PENDING:
                t.paused_since = c.now
            t.status = target.value
            t.is_open = target.is_open
            refresh_deadlines(t, c.policy)
            self.log(
                c.session,
                t.id,
                kind,
                agent_id=c.actor.id,
                at=c.now,  # type: ignore[arg-type]
                **{"from": cur.value, "to": target.value},
            )
        return self.ticket_detail(key)

    def resolve(
        self,
        key: str,
        summary: str,
        agent: str | None = None,
        expected_version: int | None = None,
    ) -> TicketDetail:
        """Resolve with a resolution summary (required; kept as an internal note): the
        resolution clock stops; met when resolved by its deadline."""
        text = _required(summary, "resolving needs a resolution summary (what fixed it)")
        with self._change(key, agent, expected_version) as c:
            t = c.ticket
            cur = Status(t.status)
            if not cur.is_open:
                raise UserError(f"{t.key} is already {cur.value}")
            require_works(c.actor, t, "resolve")
            if t.paused_since is not None:
                self._add_pause(t, t.paused_since, c.now)
                t.paused_since = None
            t.status = Status.RESOLVED.value
            t.is_open = False
            t.resolved_at = c.now
            refresh_deadlines(t, c.policy)
            c.session.add(
                Message(
                    ticket_id=t.id,  # type: ignore[arg-type]
                    kind=MessageKind.INTERNAL.value,
                    author_agent_id=c.actor.id,
                    body=f"Resolution summary: {text}",
                    created_at=c.now,
                )
            )
            met = t.resolution_due is None or c.now <= t.resolution_due
            self.log(
                c.session,
                t.id,
                "resolved",
                agent_id=c.actor.id,
                at=c.now,  # type: ignore[arg-type]
                summary=text,
                met=met,
                **{"from": cur.value},
            )
        return self.ticket_detail(key)

    def set_priority(
        self,
        key: str,
        priority: str,
        reason: str,
        agent: str | None = None,
        expected_version: int | None = None,
    ) -> TicketDetail:
        """Change the priority (with a reason): every target is recomputed from the
        opening instant under the new priority."""
        try:
            prio = Priority.parse(priority)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        why = _required(reason, "changing the priority needs a reason")
        with self._change(key, agent, expected_version) as c:
            t = c.ticket
            if t.priority == prio.value:
                raise UserError(f"{t.key} is already {prio.value}")
            require_works(c.actor, t, "change")
            old = t.priority
            t.priority = prio.value
            t.priority_level = prio.level
            refresh_deadlines(t, c.policy)
            self.log(
                c.session,
                t.id,
                "priority",
                agent_id=c.actor.id,
                at=c.now,  # type: ignore[arg-type]
                reason=why,
                **{"from": old, "to": prio.value},
            )
        return self.ticket_detail(key)

    def assign(
        self,
        key: str,
        handle: str | None,
        agent: str | None = None,
        expected_version: int | None = None,
    ) -> TicketDetail:
        """Assign the ticket to ``handle`` (None or ``""``: unassign). An assignee works the
        ticket's tier; only a lead takes a ticket away from another agent."""
        with self._change(key, agent, expected_version) as c:
            t = c.ticket
            s = c.session
            current = s.get(Agent, t.assignee_id) if t.assignee_id else None
            new = self.agent_by_handle(s, handle) if handle and handle.strip() else None
            if (current and current.id) == (new and new.id):
                who = new.handle if new else "nobody"
                raise UserError(f"{t.key} is already assigned to {who}")
            require_may_assign(c.actor, t, current, new)
            t.assignee_id = new.id if new else None
            self.log(
                s,
                t.id,
                "assigned",
                agent_id=c.actor.id,
                at=c.now,  # type: ignore[arg-type]
                **{"from": current.handle if current else None, "to": new.handle if new else None},
            )
        return self.ticket_detail(key)

    def set_type_and_tags(
        self,
        key: str,
        request_type: str | None = None,
        tags: str | list[str] | None = None,
        agent: str | None = None,
        expected_version: int | None = None,
    ) -> TicketDetail:
        """Set the request type and/or replace the tags (``None`` keeps what is there)."""
        rtype: RequestType | None = None
        if request_type is not None:
            try:
                rtype = RequestType(request_type.strip().lower())
            except ValueError:
                raise UserError(
                    f"unknown request type {request_type!r} "
                    f"(use {', '.join(r.value for r in RequestType)})"
                ) from None
        with self._change(key, agent, expected_version) as c:
            t = c.ticket
            require_works(c.actor, t, "change")
            old_type, old_tags = t.request_type, t.tags
            if rtype is not None:
                t.request_type = rtype.value
            if tags is not None:
                t.tags = normalise_tags(tags)
            if (t.request_type, t.tags) == (old_type, old_tags):
                raise UserError(f"{t.key}: type and tags are unchanged")
            self.log(
                c.session,
                t.id,
                "classified",
                agent_id=c.actor.id,
                at=c.now,  # type: ignore[arg-type]
                request_type=t.request_type,
                tags=t.tag_list,
                from_type=old_type,
                from_tags=[x for x in old_tags.split(",") if x],
            )
        return self.ticket_detail(key)

    def escalate(
        self,
        key: str,
        note: str,
        agent: str | None = None,
        expected_version: int | None = None,
        *,
        to_tier: int | None = None,
    ) -> TicketDetail:
        """Hand the ticket to the next tier with a handoff note (required: what was found,
        what was tried). It leaves the agent's queue, arrives unassigned in the next
        tier's Escalations view, and the note is pinned at the top of the thread."""
        text = _required(note, "escalating needs a handoff note (what was found, what was tried)")
        with self._change(key, agent, expected_version) as c:
            t = c.ticket
            if not t.is_open:
                raise UserError(f"{t.key} is {t.status}; reopen it before escalating")
            target = escalation_target(c.actor, t, to_tier)
            self._hand_over(c, t, target, text, escalated=True, kind="escalated")
        return self.ticket_detail(key)

    def deescalate(
        self,
        key: str,
        note: str,
        agent: str | None = None,
        expected_version: int | None = None,
        *,
        to_tier: int | None = None,
    ) -> TicketDetail:
        """Hand the ticket back one tier down with a note (required), unassigned."""
        text = _required(note, "de-escalating needs a handoff note (what the tier below should do)")
        with self._change(key, agent, expected_version) as c:
            t = c.ticket
            if not t.is_open:
                raise UserError(f"{t.key} is {t.status}; reopen it before de-escalating")
            target = deescalation_target(c.actor, t, to_tier)
            self._hand_over(c, t, target, text, escalated=False, kind="deescalated")
        return self.ticket_detail(key)

    # ================================================================ plumbing
    def _hand_over(
        self, c: _Change, t: Ticket, target: int, note: str, *, escalated: bool, kind: str
    ) -> None:
        frm = t.tier
        previous = c.session.get(Agent, t.assignee_id) if t.assignee_id else None
        t.tier = target
        t.escalated = escalated
        t.assignee_id = None
        c.session.add(
            Message(
                ticket_id=t.id,  # type: ignore[arg-type]
                kind=MessageKind.HANDOFF.value,
                author_agent_id=c.actor.id,
                body=note,
                created_at=c.now,
                pinned=True,
            )
        )
        self.log(
            c.session,
            t.id,
            kind,
            agent_id=c.actor.id,
            at=c.now,  # type: ignore[arg-type]
            from_tier=frm,
            to_tier=target,
            note=note,
            previous_assignee=previous.handle if previous else None,
        )

    @staticmethod
    def _add_pause(t: Ticket, start: datetime, end: datetime) -> None:
        if end > start:
            t.sla_pauses = pause_pairs([*parse_pauses(t.sla_pauses), (start, end)])

    @contextmanager
    def _change(
        self, key: str, agent: str | None, expected_version: int | None
    ) -> Iterator[_Change]:
        """One command's transaction: the acting agent, the ticket, and the conditional
        version bump that makes concurrent writers lose cleanly (Conflict). A closed
        ticket no longer changes: every command is refused here, in one place."""
        with self.write() as s:
            actor = self.agent_by_handle(s, agent or self.actor)
            ticket = self.ticket_by_key(s, key)
            seen = ticket.version if expected_version is None else expected_version
            if ticket.version != seen:
                raise self._conflict(s, ticket, seen)
            require_not_closed(ticket)
            bumped = s.execute(
                update(Ticket)
                .where(col(Ticket.id) == ticket.id, col(Ticket.version) == seen)
                .values(version=seen + 1)
                .execution_options(synchronize_session=False)
            )
            if bumped.rowcount != 1:  # lost a race after reading (PostgreSQL)
                s.expire(ticket)
                raise self._conflict(s, ticket, seen)
            ticket.version = seen + 1
            now = self.now()
            change = _Change(s, ticket, actor, self.policy_for_ticket(s, ticket), now)
            yield change
            ticket.updated_at = now
            s.flush()

    def _conflict(self, s: Session, ticket: Ticket, seen: int) -> Conflict:
        ev = s.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(col(TicketEvent.id).desc())
            .limit(1)
        ).first()
        what = "it changed"
        if ev is not None:
            who = s.get(Agent, ev.agent_id) if ev.agent_id else None
            fmt = self._local_fmt(self.policy_for_ticket(s, ticket))
            what = (
                f"{describe_event(ev.kind, who.handle if who else None, ev.details)} "
                f"at {fmt(ev.at)}"
            )
        return Conflict(
            f"{ticket.key} changed since you read it (version {seen} → {ticket.version}): "
            f"{what}; reload and try again"
        )

    def _local_fmt(self, policy: Policy):  # type: ignore[no-untyped-def]
        zone = self.display_zone

        def fmt(dt: datetime | None) -> str:
            if dt is None:
                return "—"
            local = dt.astimezone(zone)
            return f"{local:%a %d %b %H:%M} {local.tzname()}"

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

    def _events(
        self, s: Session, ticket: Ticket, agents: dict[int, Agent]
    ) -> tuple[EventView, ...]:
        rows = s.exec(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(col(TicketEvent.at), col(TicketEvent.id))
        ).all()
        out = []
        for ev in rows:
            who = agents.get(ev.agent_id) if ev.agent_id else None
            handle = who.handle if who else None
            out.append(
                EventView(
                    id=ev.id or 0,
                    at=ev.at,
                    kind=ev.kind,
                    agent=handle,
                    details=dict(ev.details or {}),
                    text=describe_event(ev.kind, handle, ev.details or {}),
                )
            )
        return tuple(out)

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
        participants: dict[str, None] = {req_name: None}
        for m in messages:
            a = agents.get(m.author_agent_id) if m.author_agent_id else None
            if a is not None:
                author, handle, tier = a.name, a.handle, a.tier
                participants[a.name] = None
            else:
                author, handle, tier = req_name, None, None
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
        pauses = parse_pauses(t.sla_pauses)
        left = None
        if t.paused_since is not None:
            left = resolution_left(policy, t.priority, t.opened_at, pauses, t.paused_since)
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
            sla_pauses=tuple(pauses),
            resolution_left=left,
            version=t.version,
            participants=tuple(participants),
            messages=tuple(views),
            events=self._events(s, t, agents),
            articles=articles,
            policy=policy,
        )

"""The ticket workflow (issue 5): one ticket's detail, and the commands an agent runs on it —
reply, internal note, status, priority, assign, type and tags, resolve, escalate and
de-escalate.

Every command is one transaction that appends one event and enforces the tier rules of
:mod:`agent_console.desk.permissions`. It locks the ticket row first (``SELECT … FOR
UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so commands on one ticket apply
in order on both databases (issue 11). Appends (replies, notes; article links in
desk/kb.py) land whatever the version; only field edits are conditional on the version
the agent saw: given an ``expected_version`` the ticket has moved past, a
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

from agent_console.desk.deadlines import clock_of, sync_cycles, write_clock
from agent_console.desk.drafts import clear_draft
from agent_console.desk.metrics_rollup import assignee_changed, dims_changed
from agent_console.desk.oncall import on_call_level
from agent_console.desk.permissions import (
    deescalation_target,
    escalation_target,
    require_may_assign,
    require_not_closed,
    require_works,
)
from agent_console.desk.ticket_reads import TicketReadsMixin
from agent_console.desk.ticket_view import (
    TicketDetail,
    describe_event,
)
from agent_console.desk.tickets import normalise_tags, parse_status
from agent_console.desk.validation import tags_problem
from agent_console.errors import Conflict, UserError
from agent_console.sla import Policy, TicketClock
from agent_console.store.models import (
    Agent,
    DraftKind,
    Message,
    MessageKind,
    Priority,
    RequestType,
    Status,
    Ticket,
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
    #: the on-call level the actor holds after hours on this critical ticket of another
    #: tier (issue 10; permissions.on_call_covers), else None
    on_call: str | None = None


def _required(text: str | None, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise UserError(message)
    return text


class WorkflowMixin(TicketReadsMixin):
    """The commands; the reads they return come from :class:`TicketReadsMixin`. A public
    reply or solved message on an e-mail ticket queues its mail in the same transaction
    (:meth:`~agent_console.desk.mail_out.MailOutMixin.mail_public_message`, a mixin of the
    same :class:`~agent_console.desk.Desk`); internal notes never do."""

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
        the status-update clock. A public reply on a new ticket opens it.

        An append (issue 11): it lands whatever the ticket's version, so a colleague's
        note meanwhile never refuses it; ``expected_version`` is accepted and ignored."""
        text = _required(body, "the reply is empty" if not internal else "the note is empty")
        with self._change(key, agent, expected_version, append=True) as c:
            self._do_reply(c, text, internal)
        return self.ticket_detail(key)

    def set_status(
        self,
        key: str,
        status: str,
        agent: str | None = None,
        expected_version: int | None = None,
        *,
        summary: str | None = None,
        message: str | None = None,
    ) -> TicketDetail:
        """Change the status.

        ``pending`` (waiting on the customer) stops the resolution clock; leaving it
        resumes the clock with the time that was left. Reopening a resolved ticket resumes
        it too. ``resolved`` needs a ``summary`` (see :meth:`resolve`); only a resolved
        ticket can be ``closed``, and a closed one no longer changes. ``message`` (a public
        reply sent in the same transaction) is for ``resolved`` only."""
        target = parse_status(status)
        if target is Status.RESOLVED:
            return self.resolve(key, summary or "", agent, expected_version, message=message)
        if message is not None:
            raise UserError("a message goes with --to resolved only; send a reply instead")
        with self._change(key, agent, expected_version) as c:
            self._do_status(c, target)
        return self.ticket_detail(key)

    def resolve(
        self,
        key: str,
        summary: str,
        agent: str | None = None,
        expected_version: int | None = None,
        *,
        message: str | None = None,
    ) -> TicketDetail:
        """Resolve with a resolution summary (required; kept as an internal note): the
        resolution clock stops; met when resolved by its deadline.

        ``message`` ("submit as solved", issue 12): a public reply to the customer sent in
        the same transaction (it counts as the first response / status update like any
        reply); blank is refused. The agent's resolution and reply drafts are deleted."""
        text = _required(summary, "resolving needs a resolution summary (what fixed it)")
        public = None
        if message is not None:
            public = _required(message, "the message to the customer is empty")
        with self._change(key, agent, expected_version) as c:
            self._do_resolve(c, text, public)
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
            self._do_priority(c, prio, why)
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
            assignee_changed(s, t, current.id if current else None)  # metrics rollup
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
            self._do_type_and_tags(c, rtype, tags)
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
    def _do_reply(self, c: _Change, text: str, internal: bool) -> None:
        """A reply or note inside ``c``'s transaction (:meth:`reply`)."""
        t = c.ticket
        require_works(c.actor, t, "note on" if internal else "reply on", on_call=c.on_call)
        kind = MessageKind.INTERNAL if internal else MessageKind.PUBLIC
        msg = Message(
            ticket_id=t.id,  # type: ignore[arg-type]
            kind=kind.value,
            author_agent_id=c.actor.id,
            body=text,
            created_at=c.now,
        )
        c.session.add(msg)
        draft = DraftKind.NOTE if internal else DraftKind.REPLY
        clear_draft(c.session, t.id, c.actor.id, draft)  # type: ignore[arg-type]
        details: dict[str, object] = {"chars": len(text)}
        if c.on_call:
            details["on_call"] = c.on_call
        if not internal:
            if t.first_response_at is None:
                details["first_response"] = True
            if t.status == Status.NEW.value:
                t.status = Status.OPEN.value
                details["status"] = {"from": "new", "to": "open"}
            self._store_clock(c, clock_of(t, c.policy).reply(c.now))
            mailed = self.mail_public_message(c.session, t, msg)  # type: ignore[attr-defined]
            if mailed is not None:
                details["mail"] = True
        self.log(
            c.session,
            t.id,
            "noted" if internal else "replied",  # type: ignore[arg-type]
            agent_id=c.actor.id,
            at=c.now,
            **details,
        )

    def _do_status(self, c: _Change, target: Status) -> None:
        """A status change other than resolving, inside ``c``'s transaction."""
        t = c.ticket
        cur = Status(t.status)
        if target is cur:
            raise UserError(f"{t.key} is already {cur.value}")
        if target is Status.NEW:
            raise UserError("a ticket cannot go back to new")
        if target is Status.CLOSED and cur is not Status.RESOLVED:
            raise UserError(f"only a resolved ticket can be closed; resolve {t.key} first")
        require_works(c.actor, t, "change the status of", on_call=c.on_call)
        kind = "reopened" if cur is Status.RESOLVED and target.is_open else "status"
        # the clock decides: pending pauses, leaving it resumes, reopening counts the
        # time spent resolved as paused (sla/clock.py)
        clock = clock_of(t, c.policy).set_status(target.value, c.now)
        t.status = target.value
        t.is_open = target.is_open
        self._store_clock(c, clock)
        self.log(
            c.session,
            t.id,
            kind,
            agent_id=c.actor.id,
            at=c.now,  # type: ignore[arg-type]
            **{"from": cur.value, "to": target.value},
            **({"on_call": c.on_call} if c.on_call else {}),
        )

    def _do_resolve(self, c: _Change, text: str, public: str | None) -> None:
        """Resolving inside ``c``'s transaction (:meth:`resolve`)."""
        t = c.ticket
        cur = Status(t.status)
        if not cur.is_open:
            raise UserError(f"{t.key} is already {cur.value}")
        require_works(c.actor, t, "resolve", on_call=c.on_call)
        clock = clock_of(t, c.policy)
        if public is not None:
            solved_msg = Message(
                ticket_id=t.id,  # type: ignore[arg-type]
                kind=MessageKind.PUBLIC.value,
                author_agent_id=c.actor.id,
                body=public,
                created_at=c.now,
            )
            c.session.add(solved_msg)
            mailed = self.mail_public_message(  # type: ignore[attr-defined]
                c.session, t, solved_msg, solved=True
            )
            first = t.first_response_at is None
            clock = clock.reply(c.now)  # a public message: the ticket clock's reply
            clear_draft(c.session, t.id, c.actor.id, DraftKind.REPLY)  # type: ignore[arg-type]
            self.log(
                c.session,
                t.id,  # type: ignore[arg-type]
                "replied",
                agent_id=c.actor.id,
                at=c.now,
                chars=len(public),
                **({"first_response": True} if first else {}),
                **({"mail": True} if mailed is not None else {}),
            )
        clear_draft(c.session, t.id, c.actor.id, DraftKind.RESOLUTION)  # type: ignore[arg-type]
        clock = clock.set_status(Status.RESOLVED.value, c.now)
        t.status = Status.RESOLVED.value
        t.is_open = False
        self._store_clock(c, clock)
        c.session.add(
            Message(
                ticket_id=t.id,  # type: ignore[arg-type]
                kind=MessageKind.INTERNAL.value,
                author_agent_id=c.actor.id,
                body=f"Resolution summary: {text}",
                created_at=c.now,
            )
        )
        met = clock.status("resolution", c.now).state == "met"
        self.log(
            c.session,
            t.id,
            "resolved",
            agent_id=c.actor.id,
            at=c.now,  # type: ignore[arg-type]
            summary=text,
            met=met,
            message=public is not None,
            **{"from": cur.value},
            **({"on_call": c.on_call} if c.on_call else {}),
        )

    def _do_priority(self, c: _Change, prio: Priority, why: str) -> None:
        """A priority change inside ``c``'s transaction (:meth:`set_priority`)."""
        t = c.ticket
        if t.priority == prio.value:
            raise UserError(f"{t.key} is already {prio.value}")
        require_works(c.actor, t, "change")
        old = t.priority
        self._store_clock(c, clock_of(t, c.policy).with_priority(prio.value))
        self.log(
            c.session,
            t.id,
            "priority",
            agent_id=c.actor.id,
            at=c.now,  # type: ignore[arg-type]
            reason=why,
            **{"from": old, "to": prio.value},
        )

    def _do_type_and_tags(
        self, c: _Change, rtype: RequestType | None, tags: str | list[str] | None
    ) -> None:
        """Type and tags inside ``c``'s transaction (:meth:`set_type_and_tags`)."""
        t = c.ticket
        require_works(c.actor, t, "change")
        old_type, old_tags = t.request_type, t.tags
        if rtype is not None:
            t.request_type = rtype.value
        if tags is not None:
            bad = tags_problem(tags.split(",") if isinstance(tags, str) else list(tags))
            if bad:
                raise UserError(f"{t.key}: {bad}")
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

    def _hand_over(
        self, c: _Change, t: Ticket, target: int, note: str, *, escalated: bool, kind: str
    ) -> None:
        frm = t.tier
        clear_draft(c.session, t.id, c.actor.id, DraftKind.HANDOFF)  # type: ignore[arg-type]
        previous = c.session.get(Agent, t.assignee_id) if t.assignee_id else None
        t.tier = target
        t.escalated = escalated
        t.assignee_id = None
        before = (frm, t.organization_id, previous.id if previous else None)
        dims_changed(c.session, t.id, before)  # type: ignore[arg-type]  # metrics rollup
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
    def _store_clock(c: _Change, clock: TicketClock) -> None:
        """The ticket clock after a command: its facts and deadlines on the ticket
        (:func:`~agent_console.desk.deadlines.write_clock`) and its cycle rows."""
        write_clock(c.ticket, clock)
        sync_cycles(c.session, c.ticket.id, clock, c.now)  # type: ignore[arg-type]

    @contextmanager
    def _change(
        self,
        key: str,
        agent: str | None,
        expected_version: int | None,
        *,
        append: bool = False,
    ) -> Iterator[_Change]:
        """One command's transaction: the acting agent and the ticket, locked.

        The ticket row is locked first (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite
        the write transaction began with ``BEGIN IMMEDIATE``), so commands on one ticket
        apply one after the other on both databases. ``append`` (replies, notes): written
        whatever the version — ``expected_version`` is ignored. A field edit with an
        ``expected_version`` the ticket has moved past is a :class:`Conflict` saying who
        changed what; without one it applies to the ticket as it is now. Either way the
        version goes up by one. A closed ticket no longer changes: every command is
        refused here, in one place."""
        with self.write() as s:
            actor = self.acting_agent(s, agent)
            ticket = s.exec(
                select(Ticket)
                .where(Ticket.key == key.strip().upper())
                .with_for_update()
                .execution_options(populate_existing=True)
            ).first()
            if ticket is None:
                ticket = self.ticket_by_key(s, key)  # the one "no ticket" error
            if not append and expected_version is not None and ticket.version != expected_version:
                raise self._conflict(s, ticket, expected_version)
            require_not_closed(ticket)
            s.execute(
                update(Ticket)
                .where(col(Ticket.id) == ticket.id)
                .values(version=ticket.version + 1)
                .execution_options(synchronize_session=False)
            )
            ticket.version += 1
            now = self.now()
            change = _Change(
                s,
                ticket,
                actor,
                self.policy_for_ticket(s, ticket),
                now,
                on_call=self._after_hours_on_call(s, actor, ticket, now),
            )
            yield change
            ticket.updated_at = now
            s.flush()

    def _after_hours_on_call(
        self, s: Session, actor: Agent, ticket: Ticket, now: datetime
    ) -> str | None:
        """The level the actor holds when only the after-hours on-call rule could let them
        act (critical ticket of another tier, default policy closed), else None."""
        if actor.lead or actor.tier == ticket.tier or ticket.priority != "critical":
            return None
        if self.default_policy.is_open(now):
            return None
        return on_call_level(s, actor.handle, now, rehearsal=self.settings.at is not None)

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

"""Tickets: the plain views the CLI and screens receive, listing and creation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, text
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from agent_console.desk.core import DeskCore
from agent_console.desk.deadlines import clock_of, cycle_rows, write_clock
from agent_console.desk.metrics_rollup import add_rows
from agent_console.desk.queue import open_policy_names, urgency_group
from agent_console.errors import UserError
from agent_console.store.models import (
    Agent,
    Channel,
    Customer,
    Message,
    MessageKind,
    Organization,
    Priority,
    RequestType,
    SlaCycle,
    Status,
    Ticket,
)
from agent_console.store.types import FAR_FUTURE
from agent_console.views import STATUS_LABELS, iso_utc

KEY_PREFIX = "SUP"
FIRST_NUMBER = 1001
#: key of the PostgreSQL advisory lock that serializes ticket-number allocation (any fixed
#: bigint, distinct from store/migrations.py PG_MIGRATION_LOCK and the KB index lock)
PG_TICKET_NUMBER_LOCK = 7_270_062


#: the one formatter of instants in machine output (views.iso_utc)
iso = iso_utc


@dataclass(frozen=True)
class TicketSummary:
    """One ticket as lists show it (CLI ``ticket list``, exports)."""

    key: str
    subject: str
    priority: str
    status: str
    tier: int
    assignee: str | None
    requester: str
    organization: str | None
    opened_at: datetime
    first_response_due: datetime | None
    next_update_due: datetime | None
    resolution_due: datetime | None
    next_due: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "subject": self.subject,
            "priority": self.priority,
            "status": self.status,
            "tier": self.tier,
            "assignee": self.assignee,
            "requester": self.requester,
            "organization": self.organization,
            "opened": iso(self.opened_at),
            "first_response_due": iso(self.first_response_due),
            "next_update_due": iso(self.next_update_due),
            "resolution_due": iso(self.resolution_due),
            "due": iso(self.next_due),
        }


def parse_status(text: str) -> Status:
    """A status a person typed: the stored name (``pending``, ``on_hold``) or the one the
    screens show (``waiting``, ``on hold``: views.STATUS_LABELS). Raises UserError."""
    norm = text.strip().lower().replace("-", "_").replace(" ", "_")
    for value, label in STATUS_LABELS.items():
        if norm == label.replace(" ", "_"):
            norm = value
    try:
        return Status(norm)
    except ValueError:
        raise UserError(
            f"unknown status {text!r} (use {', '.join(STATUS_LABELS.values())})"
        ) from None


def normalise_tags(tags: str | list[str] | None) -> str:
    if not tags:
        return ""
    items = tags.split(",") if isinstance(tags, str) else tags
    seen: dict[str, None] = {}
    for t in items:
        t = str(t).strip().lower()
        if t:
            seen[t] = None
    return ",".join(seen)


class TicketsMixin(DeskCore):
    # ------------------------------------------------------------------ queries
    def list_tickets(
        self,
        *,
        status: str | None = None,
        limit: int | None = None,
        open_only: bool = False,
        priority: str | None = None,
        tier: int | None = None,
        breaching_within: float | None = None,
    ) -> list[TicketSummary]:
        """Tickets most urgent first, optionally by status (``open_only``: new, open,
        pending and on hold — the unresolved ones), priority, tier, and ``breaching_within``
        seconds (open tickets whose running deadline, ``next_due``, falls before now + that
        many seconds, breached ones included): the queue's "soonest breach" order (README
        "Urgency": clock running now first, then by stored due instant, then priority)."""
        if tier is not None and tier not in (1, 2, 3):
            raise UserError(f"tier must be 1, 2 or 3, not {tier}")
        prio = None
        if priority:
            try:
                prio = Priority.parse(priority)
            except ValueError as exc:
                raise UserError(str(exc)) from None
        urgency = urgency_group(open_policy_names(self, self.now()))
        with self.read() as s:
            q = self._summary_query()
            if open_only:
                q = q.where(col(Ticket.is_open).is_(True))
            if status:
                q = q.where(Ticket.status == parse_status(status).value)
            if prio is not None:
                q = q.where(Ticket.priority_level == prio.level)
            if tier is not None:
                q = q.where(Ticket.tier == tier)
            if breaching_within is not None:
                horizon = self.now() + timedelta(seconds=breaching_within)
                q = q.where(Ticket.is_open == True, col(Ticket.next_due) <= horizon)  # noqa: E712
            q = q.order_by(urgency, Ticket.next_due, Ticket.priority_level, Ticket.number)
            if limit is not None:
                if limit < 0:
                    raise UserError("--limit must be zero or more")
                q = q.limit(limit)
            return [self._summary(row) for row in s.exec(q)]

    def _summary_query(self):  # type: ignore[no-untyped-def]
        assignee = aliased(Agent)
        return (
            select(Ticket, assignee.handle, Customer.name, Organization.name)
            .join(Customer, col(Customer.id) == Ticket.requester_id)
            .outerjoin(Organization, col(Organization.id) == Ticket.organization_id)
            .outerjoin(assignee, col(assignee.id) == Ticket.assignee_id)
        )

    @staticmethod
    def _summary(row: Any) -> TicketSummary:
        t, handle, requester, org = row
        return TicketSummary(
            key=t.key,
            subject=t.subject,
            priority=t.priority,
            status=t.status,
            tier=t.tier,
            assignee=handle,
            requester=requester,
            organization=org,
            opened_at=t.opened_at,
            first_response_due=t.first_response_due,
            next_update_due=t.next_update_due,
            resolution_due=t.resolution_due,
            next_due=None if t.next_due == FAR_FUTURE else t.next_due,
        )

    def has_tickets(self) -> bool:
        with self.read() as s:
            return s.exec(select(Ticket.id).limit(1)).first() is not None

    # ------------------------------------------------------------------ creation
    def lock_ticket_numbers(self, session: Session) -> None:
        """Hold the right to allocate ticket numbers until ``session``'s transaction ends.

        The one home of the rule "two writers never allocate the same number/key" (two
        fetchers on different mailboxes, a fetcher and a console, an import): numbers are
        ``max(number) + 1``, so the read and the insert must not interleave with another
        writer's. SQLite: every desk write transaction already holds the database's write
        lock (``BEGIN IMMEDIATE``, store/db.py), nothing to do. PostgreSQL: a
        transaction-level advisory lock (:data:`PG_TICKET_NUMBER_LOCK`), released at
        commit or rollback; under READ COMMITTED the ``max()`` read after it sees what the
        previous holder committed. Taken once per transaction (idempotent). A writer that
        also locks ticket rows takes this first (desk/mail_in.py, desk/importer.py), so
        two of them never wait on each other in a cycle."""
        tx = session.get_transaction()
        if tx is not None and session.info.get("ticket_numbers_locked") is tx:
            return
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_TICKET_NUMBER_LOCK})
        session.info["ticket_numbers_locked"] = session.get_transaction()

    def next_ticket_number(self, session: Session) -> int:
        """The next free ticket number (``FIRST_NUMBER`` at least), under
        :meth:`lock_ticket_numbers` for the rest of the caller's transaction: use it (and
        the numbers after it) in that transaction."""
        self.lock_ticket_numbers(session)
        top = session.exec(select(func.max(Ticket.number))).one()
        return max(int(top or 0) + 1, FIRST_NUMBER)

    def org_named(self, session: Session, name: str | None) -> Organization | None:
        if not name or not name.strip():
            return None
        name = name.strip()
        org = session.exec(select(Organization).where(Organization.name == name)).first()
        if org is None:
            org = Organization(name=name)
            session.add(org)
            session.flush()
        return org

    def customer_for(
        self, session: Session, email: str, name: str | None, org: Organization | None
    ) -> Customer:
        """The customer with ``email`` (lower-cased), created when new; one that has no
        organization gets ``org``. Customers already looked up in this transaction come
        from a per-transaction cache (the mail fetcher asks for the same senders often)."""
        email = email.strip().lower()
        tx = session.get_transaction()
        cached = session.info.get("customers_by_email")
        if cached is None or cached[0] is not tx:
            cached = session.info["customers_by_email"] = (tx, {})
        cust = cached[1].get(email)
        if cust is None:
            cust = session.exec(select(Customer).where(Customer.email == email)).first()
        if cust is None:
            cust = Customer(
                email=email,
                name=(name or email.split("@")[0]).strip(),
                organization_id=org.id if org else None,
            )
            session.add(cust)
            session.flush()
        elif org is not None and cust.organization_id is None:
            cust.organization_id = org.id
        cached[1][email] = cust
        return cust

    def create_ticket(
        self,
        *,
        subject: str,
        body: str,
        requester_email: str,
        requester_name: str | None = None,
        organization: str | None = None,
        priority: str = "minor",
        channel: str = "email",
        request_type: str = "question",
        tags: str | list[str] | None = None,
        opened_at: datetime | None = None,
    ) -> str:
        """Open a new ticket from a customer's request; returns its key."""
        if not subject.strip():
            raise UserError("a ticket needs a subject")
        prio = Priority.parse(priority)
        with self.write() as s:
            org = self.org_named(s, organization)
            cust = self.customer_for(s, requester_email, requester_name, org)
            ticket, _msg = self.open_ticket_in(
                s,
                subject=subject,
                body=body,
                customer=cust,
                organization=org,
                priority=prio,
                channel=channel,
                request_type=request_type,
                tags=tags,
                opened_at=opened_at or self.now(),
            )
            return ticket.key

    @contextmanager
    def rollup_once(self, s: Session) -> Iterator[None]:
        """Tickets opened by :meth:`open_ticket_in` inside this block add their share of
        the metrics rollup in one upsert at its end (the mail fetcher opens up to a batch
        of tickets per transaction); on an error nothing is added (the transaction rolls
        back anyway)."""
        pending: tuple[Any, list[Any], list[Any]] = (s.get_transaction(), [], [])
        s.info["rollup_pending"] = pending
        try:
            yield
        finally:
            s.info.pop("rollup_pending", None)
        if pending[1]:
            add_rows(s, pending[1], pending[2])

    def open_ticket_in(
        self,
        s: Session,
        *,
        subject: str,
        body: str,
        customer: Customer,
        organization: Organization | None,
        priority: Priority,
        channel: str = "email",
        request_type: str = "question",
        tags: str | list[str] | None = None,
        opened_at: datetime,
        tier: int = 1,
        event_details: dict[str, Any] | None = None,
        agent_id: int | None = None,
    ) -> tuple[Ticket, Message]:
        """Open a ticket in the caller's transaction ``s`` (its clock from the ticket
        clock, a ``created`` event); returns the ticket and its first customer message.
        Used by :meth:`create_ticket` and the mail fetcher (desk/mail_in.py)."""
        prio, org, cust, opened = priority, organization, customer, opened_at
        number = self.next_ticket_number(s)
        ticket = Ticket(
            number=number,
            key=f"{KEY_PREFIX}-{number}",
            subject=subject.strip(),
            requester_id=cust.id,  # type: ignore[arg-type]
            organization_id=org.id if org else cust.organization_id,
            priority=prio.value,
            priority_level=prio.level,
            channel=Channel(channel).value,
            request_type=RequestType(request_type).value,
            tags=normalise_tags(tags),
            opened_at=opened,
            updated_at=opened,
            tier=tier,
        )
        clock = clock_of(ticket, self.policy_for_ticket(s, ticket))
        write_clock(ticket, clock)
        s.add(ticket)
        s.flush()
        # a new ticket's cycles and its share of the metrics rollup, as the bulk writers
        # (import, seeding) write them: what sync_cycles would do for a ticket with no
        # cycle rows, no assignee and no responder yet, without its reads
        cycles = cycle_rows(clock, ticket.id)  # type: ignore[arg-type]
        if cycles:
            s.execute(insert(SlaCycle.__table__), cycles)  # type: ignore[attr-defined]
        pending = s.info.get("rollup_pending")
        if pending is not None and pending[0] is s.get_transaction():
            pending[1].append((ticket.priority, opened, None, None))
            pending[2].append(cycles)
        else:
            add_rows(s, [(ticket.priority, opened, None, None)], [cycles])
        msg = Message(
            ticket_id=ticket.id,  # type: ignore[arg-type]
            kind=MessageKind.CUSTOMER.value,
            author_customer_id=cust.id,
            body=body,
            created_at=opened,
        )
        s.add(msg)
        self.log(
            s,
            ticket.id,  # type: ignore[arg-type]
            "created",
            agent_id=agent_id,
            at=opened,
            channel=ticket.channel,
            **(event_details or {}),
        )
        return ticket, msg

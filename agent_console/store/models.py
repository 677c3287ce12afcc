"""SQLModel tables. Storage rules (DESIGN.md): aware UTC instants, a ``version`` column on
what two agents can edit, an append-only event table per ticket change."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from agent_console.store.types import FAR_FUTURE, UTCDateTime


class Priority(StrEnum):
    CRITICAL = "critical"
    URGENT = "urgent"
    MINOR = "minor"

    @property
    def level(self) -> int:
        return {"critical": 1, "urgent": 2, "minor": 3}[self.value]

    @classmethod
    def parse(cls, text: str | int) -> Priority:
        value = str(text).strip().lower()
        by_level = {"1": cls.CRITICAL, "2": cls.URGENT, "3": cls.MINOR}
        if value in by_level:
            return by_level[value]
        try:
            return cls(value)
        except ValueError:
            raise ValueError(
                f"unknown priority {text!r} (use critical/urgent/minor or 1/2/3)"
            ) from None


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the customer: the resolution clock stops
    ON_HOLD = "on_hold"  # waiting on a third party / engineering
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self not in (Status.RESOLVED, Status.CLOSED)


class Channel(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    PORTAL = "portal"


class RequestType(StrEnum):
    INOPERABLE = "inoperable"  # something does not work (a bug)
    ADDED = "added"  # an existing feature or permission to enable
    DESIRED = "desired"  # a feature that does not exist yet
    QUESTION = "question"


class MessageKind(StrEnum):
    CUSTOMER = "customer"
    PUBLIC = "public"  # public agent reply, sent to the customer
    INTERNAL = "internal"  # internal note, never sent to the customer
    HANDOFF = "handoff"  # escalation / de-escalation note, internal, pinned


def utc_column(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Organization(SQLModel, table=True):
    __tablename__ = "organization"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True)
    domain: str | None = None
    #: name of a contract policy (data/policies/<name>.toml); None = the default policy
    sla_policy: str | None = None
    version: int = 1


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    email: str = Field(unique=True, index=True)
    organization_id: int | None = Field(default=None, foreign_key="organization.id", index=True)


class Agent(SQLModel, table=True):
    __tablename__ = "agent"
    __table_args__ = (
        # identity (issue 11, "teamid"): one agent per database role / OS user
        Index("uq_agent_db_role", "db_role", unique=True),
        Index("uq_agent_os_user", "os_user", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(unique=True, index=True)
    name: str
    tier: int = 1
    on_call: bool = False
    lead: bool = False
    active: bool = True
    timezone: str | None = None
    version: int = 1
    # identity (issue 11, "teamid"; desk/identity.py)
    #: person, system (``system:import`` …) or demo (databases made by --demo / seed)
    kind: str = Field(default="person", sa_column_kwargs={"server_default": "person"})
    #: PostgreSQL: the database role this agent connects as
    db_role: str | None = None
    #: SQLite: the operating-system user that acts as this agent without --agent
    os_user: str | None = None


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        # the queue: open tickets of a tier / of an assignee, soonest deadline first.
        # Issue 9: each queue index ends with sla_clock, sla_policy, so that the urgency
        # group of "soonest breach" (desk/queue.py running_now: does the ticket's clock
        # run now?) is read from the index, never from the table row.
        Index(
            "ix_ticket_queue_tier",
            "is_open",
            "tier",
            "next_due",
            "priority_level",
            "sla_clock",
            "sla_policy",
        ),
        # unassigned tickets of a tier (Working / Unassigned views), whole sort key covered
        Index(
            "ix_ticket_queue_unassigned",
            "is_open",
            "tier",
            "assignee_id",
            "next_due",
            "priority_level",
            "id",
            "sla_clock",
            "sla_policy",
        ),
        Index(
            "ix_ticket_queue_assignee",
            "is_open",
            "assignee_id",
            "next_due",
            "priority_level",
            "sla_clock",
            "sla_policy",
        ),
        Index(
            "ix_ticket_queue_all",
            "is_open",
            "next_due",
            "priority_level",
            "sla_clock",
            "sla_policy",
            "tier",
            "assignee_id",
        ),
        Index("ix_ticket_status", "status", "next_due"),
        UniqueConstraint("external_id", name="uq_ticket_external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True)
    key: str = Field(unique=True, index=True)  # "SUP-1042"
    external_id: str | None = None
    subject: str
    requester_id: int = Field(foreign_key="customer.id", index=True)
    organization_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    priority: str = Priority.MINOR.value
    priority_level: int = 3
    status: str = Status.NEW.value
    is_open: bool = True
    tier: int = 1
    escalated: bool = False  # arrived at its tier by escalation (the Escalations view)
    assignee_id: int | None = Field(default=None, foreign_key="agent.id")
    channel: str = Channel.EMAIL.value
    request_type: str = RequestType.QUESTION.value
    tags: str = ""  # comma-separated, lower case

    opened_at: datetime = utc_column(nullable=False)
    first_response_at: datetime | None = utc_column()
    last_public_update_at: datetime | None = utc_column()
    resolved_at: datetime | None = utc_column()
    #: the last reopening (resolved -> open): a fresh status-update cycle starts there
    #: (sla/clock.py; revision 0013)
    reopened_at: datetime | None = utc_column()
    updated_at: datetime = utc_column(nullable=False)

    # SLA: deadlines stored when something moves them (DESIGN.md); the UI tick only formats
    first_response_due: datetime | None = utc_column()
    next_update_due: datetime | None = utc_column()
    resolution_due: datetime | None = utc_column()  # None while the resolution clock is paused
    paused_since: datetime | None = utc_column()  # waiting on the customer since
    #: closed pause intervals of the resolution clock: [[start_iso, end_iso], ...]
    sla_pauses: list[list[str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    #: the nearest running deadline (queue sort key); FAR_FUTURE when none runs
    next_due: datetime = Field(default=FAR_FUTURE, sa_column=Column(UTCDateTime(), nullable=False))
    # --- issue 9 (the ticket clock): what the stored deadlines came from, and the running
    # deadline's metric and clock kind, so that "does its clock run now" is a SQL expression
    # (desk/queue.py running_now) over indexed columns. Written only by
    # desk/deadlines.py (deadline_columns).
    #: Policy.fingerprint of the policy the deadlines were computed under
    sla_fingerprint: str = ""
    #: name of the policy (default or a contract) the deadlines were computed under
    sla_policy: str = "default"
    #: the running deadline's metric (first_response / next_update / resolution); "" = none
    sla_metric: str = ""
    #: the running deadline's clock: "calendar" / "business"; "" when no clock runs
    sla_clock: str = ""

    version: int = 1

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]


class Message(SQLModel, table=True):
    __tablename__ = "message"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    kind: str = MessageKind.CUSTOMER.value
    author_agent_id: int | None = Field(default=None, foreign_key="agent.id")
    author_customer_id: int | None = Field(default=None, foreign_key="customer.id")
    body: str
    created_at: datetime = utc_column(nullable=False)
    pinned: bool = False
    #: the database role (PostgreSQL, stamped by a trigger from current_user) or OS user
    #: (SQLite) that wrote the row (issue 11; desk/identity.py)
    actor_role: str | None = None


class TicketEvent(SQLModel, table=True):
    """Append-only: the audit trail of a ticket and the change feed consoles follow."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    #: None only for desk-wide events that concern no one ticket: ``policy_applied`` (the
    #: summary of ``sla apply``; its per-ticket ``sla_recomputed`` events carry ticket ids)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    agent_id: int | None = Field(default=None, foreign_key="agent.id")
    kind: str  # created, imported, claimed, replied, noted, status, priority, escalated, ...
    at: datetime = utc_column(nullable=False)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: the database role (PostgreSQL, stamped by a trigger from current_user) or OS user
    #: (SQLite) that wrote the row; differs from the agent's own on someone's behalf
    actor_role: str | None = None


class KBArticle(SQLModel, table=True):
    __tablename__ = "kb_article"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True)
    title: str
    section: str = ""
    tags: str = ""  # comma-separated
    body: str = ""
    updated_at: datetime = utc_column(nullable=False)
    version: int = 1


class TicketArticle(SQLModel, table=True):
    __tablename__ = "ticket_article"

    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    article_id: int = Field(foreign_key="kb_article.id", primary_key=True)
    linked_by_id: int | None = Field(default=None, foreign_key="agent.id")
    linked_at: datetime = utc_column(nullable=False)


class SchemaVersion(SQLModel, table=True):
    __tablename__ = "schema_version"

    id: int = Field(default=1, primary_key=True)
    version: int
    applied_at: datetime = utc_column(nullable=False)


# ---------------------------------------------------------------- issue 9: per-cycle SLA facts
class SlaCycle(SQLModel, table=True):
    """One cycle of one SLA metric of a ticket (DESIGN.md "Per-cycle SLA facts").

    Written by the desk command that owns the ticket clock when something happens to it (a
    reply, a status change, a priority change, creation). The first response and the
    resolution have one cycle per opening (a reopened ticket starts resolution cycle 2);
    the n-th periodic update is cycle n. An open cycle has ``stopped_at`` NULL; ``due_at``
    is NULL while it is paused (waiting on the customer). A stopped cycle is met
    (``met_at`` = the stop) when it stopped by its due instant, else breached
    (``breached_at`` = the due instant it passed). ``elapsed_seconds``: clock seconds
    counted from start to stop, pauses excluded (business seconds on a business clock).
    """

    __tablename__ = "sla_cycle"
    __table_args__ = (
        UniqueConstraint("ticket_id", "metric", "cycle", name="uq_sla_cycle"),
        # on call: open cycles due before X (stopped_at IS NULL AND due_at < X)
        Index("ix_sla_cycle_open_due", "stopped_at", "due_at"),
        # metrics screen: met/breached and elapsed per metric and period
        Index("ix_sla_cycle_metric_started", "metric", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    metric: str  # first_response / next_update / resolution
    cycle: int = 1
    clock: str = "calendar"  # calendar / business
    started_at: datetime = utc_column(nullable=False)
    due_at: datetime | None = utc_column()
    target_seconds: int = 0
    stopped_at: datetime | None = utc_column()
    met_at: datetime | None = utc_column()
    breached_at: datetime | None = utc_column()
    elapsed_seconds: int | None = None


# ---------------------------------------------------------------- drafts (issue 12, "ergo")
class DraftKind(StrEnum):
    """What an unsent text is for; one draft of each kind per ticket and agent."""

    REPLY = "reply"  # public reply (also the public message of "submit as solved")
    NOTE = "note"  # internal note
    HANDOFF = "handoff"  # escalation / de-escalation note
    RESOLUTION = "resolution"  # internal resolution summary


class Draft(SQLModel, table=True):
    """An unsent text, kept per ticket, agent and kind; only its author ever reads it.
    Written (debounced) while the agent types; deleted when the text is sent."""

    __tablename__ = "draft"
    __table_args__ = (
        UniqueConstraint("ticket_id", "agent_id", "kind", name="uq_draft_ticket_agent_kind"),
        Index("ix_draft_agent", "agent_id", "ticket_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    agent_id: int = Field(foreign_key="agent.id")
    kind: str
    body: str
    updated_at: datetime = utc_column(nullable=False)


# ---------------------------------------------------------------- on call (issue 10)
# Owned by the on-call work: the rota, fired alerts and their schedule, and the generic
# outbox every message to the outside world goes through (DESIGN.md "Storage").


class OncallRota(SQLModel, table=True):
    """The weekly rotation of one level (``primary`` / ``secondary``; leads are the last
    level and need no rota). The agent at ``handles[i]`` is on call from the i-th weekly
    handover after ``anchor_at`` (mod len) — handover = ``handover_day`` (0 = Monday) at
    ``handover_minute`` minutes after midnight in ``zone`` (wall time, DST-safe)."""

    __tablename__ = "oncall_rota"

    id: int | None = Field(default=None, primary_key=True)
    level: str = Field(unique=True)
    handles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    handover_day: int = 0
    handover_minute: int = 9 * 60
    zone: str = "UTC"
    #: the handover instant at which ``handles[0]`` started (UTC)
    anchor_at: datetime = utc_column(nullable=False)
    updated_at: datetime = utc_column(nullable=False)
    updated_by_id: int | None = Field(default=None, foreign_key="agent.id")
    version: int = 1


class OncallOverride(SQLModel, table=True):
    """A one-off override: ``agent`` is on call at ``level`` from ``starts_at`` until
    ``ends_at`` (UTC; None = until the next weekly handover). The latest start wins."""

    __tablename__ = "oncall_override"
    __table_args__ = (Index("ix_oncall_override_level_start", "level", "starts_at"),)

    id: int | None = Field(default=None, primary_key=True)
    level: str
    agent_id: int = Field(foreign_key="agent.id")
    starts_at: datetime = utc_column(nullable=False)
    ends_at: datetime | None = utc_column()
    created_by_id: int | None = Field(default=None, foreign_key="agent.id")
    created_at: datetime = utc_column(nullable=False)
    rehearsal: bool = False


class AlertThreshold(SQLModel, table=True):
    """The alert schedule: one row per ticket, metric, cycle and threshold of an open
    cycle, with the instant the threshold is crossed (``fire_at``, UTC, indexed). The
    watcher claims ``state='pending'`` rows whose ``fire_at`` has passed (conditional
    update to ``'fired'``); a met, paused or moved cycle cancels or moves its rows."""

    __tablename__ = "alert_threshold"
    __table_args__ = (
        UniqueConstraint("ticket_id", "metric", "cycle", "threshold", name="uq_alert_threshold"),
        Index("ix_alert_threshold_due", "state", "fire_at"),
        Index("ix_alert_threshold_ticket", "ticket_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    metric: str  # first_response | next_update | resolution
    cycle: int = 0
    threshold: str  # "0.5", "0.8", "1.0", "warn:900" (seconds before due), "arrival"
    fire_at: datetime = utc_column(nullable=False)
    due_at: datetime = utc_column(nullable=False)
    state: str = "pending"  # pending | fired | superseded (a later one fired) | cancelled


class SlaAlert(SQLModel, table=True):
    """One fired alert (once per ticket, metric, cycle and threshold — the unique
    constraint; rehearsal alerts live in their own namespace and never block real ones).
    ``level`` is who it concerns beyond the assignee: 0 primary, 1 + secondary, 2 + leads."""

    __tablename__ = "sla_alert"
    __table_args__ = (
        UniqueConstraint(
            "ticket_id", "metric", "cycle", "threshold", "rehearsal", name="uq_sla_alert_once"
        ),
        Index("ix_sla_alert_open", "resolved_at", "acknowledged_at", "fired_at"),
        Index("ix_sla_alert_escalate", "escalate_at"),
        Index("ix_sla_alert_ticket", "ticket_id", "metric", "cycle"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    metric: str
    cycle: int = 0
    threshold: str
    priority: str
    due_at: datetime = utc_column(nullable=False)
    fire_at: datetime = utc_column(nullable=False)
    fired_at: datetime = utc_column(nullable=False)
    level: int = 0
    escalate_at: datetime | None = utc_column()
    acknowledged_at: datetime | None = utc_column()
    acknowledged_by_id: int | None = Field(default=None, foreign_key="agent.id")
    resolved_at: datetime | None = utc_column()
    rehearsal: bool = False


class AlertCursor(SQLModel, table=True):
    """How far the alert schedule has followed the change feed (``ticket_event.id``);
    one row per namespace ("real" / "rehearsal"). Advanced in the transaction that
    synchronised the schedule, so a restart neither rescans nor misses a change."""

    __tablename__ = "alert_cursor"

    name: str = Field(primary_key=True)
    last_event_id: int = 0  # -1: not bootstrapped yet
    #: event ids skipped over that may still commit (see desk/feed.py)
    gaps: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = utc_column(nullable=False)


class OutboxMessage(SQLModel, table=True):
    """The one outbox (generic: webhooks now, mail later). Written in the transaction of
    the change that caused it; a sender claims a row with a lease (``claimed_by``,
    ``lease_until``), delivers it, and marks it ``sent_at`` (or ``failed_at`` after giving
    up). ``destination`` names a configured channel (``webhook:slack``), never a URL or a
    key; ``dedup_key`` is unique, so the same message is never queued twice."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_outbox_dedup"),
        Index("ix_outbox_ready", "sent_at", "failed_at", "available_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str  # "webhook", later "mail"
    destination: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dedup_key: str
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    created_at: datetime = utc_column(nullable=False)
    available_at: datetime = utc_column(nullable=False)
    attempts: int = 0
    claimed_by: str | None = None
    lease_until: datetime | None = utc_column()
    sent_at: datetime | None = utc_column()
    failed_at: datetime | None = utc_column()
    last_error: str | None = None
    #: a person dismissed the failure (mail only; the header stops counting it): revision 0016
    dismissed_at: datetime | None = utc_column()
    #: a person sent a failed mail again: its give-up time counts from here (revision 0016)
    retried_at: datetime | None = utc_column()


# ---------------------------------------------------------------- seed runs (issue 15)
class SeedRun(SQLModel, table=True):
    """One ``seed`` run: what it was asked for and how far it got, so that a killed run
    resumes where its last committed chunk ended (``seed --resume``). ``written`` and
    ``rng_state`` (``random.Random.getstate()`` as JSON) are updated in the same
    transaction as each chunk of tickets; ``finished_at`` is set with the last one."""

    __tablename__ = "seed_run"

    id: int | None = Field(default=None, primary_key=True)
    seed: int
    now: datetime = utc_column(nullable=False)
    tickets: int  # asked for
    written: int = 0
    first_number: int
    rng_state: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    started_at: datetime = utc_column(nullable=False)
    finished_at: datetime | None = utc_column()


# ---------------------------------------------------------------- issue 9: stored SLA policies
class SlaPolicyVersion(SQLModel, table=True):
    """One stored version of an SLA policy: the default (name ``default``) or a contract
    (the name an organization's ``sla_policy`` gives). Append-only: the highest ``version``
    of a name is the policy in force; older rows are its history. ``toml`` is the policy
    file's text as applied; ``fingerprint`` its :attr:`Policy.fingerprint` (sha256 hex);
    ``stored_by`` the lead's handle, or ``admin`` / ``admin:ROLE`` (the administrator:
    SQLite user, PostgreSQL database owner), or ``bundled`` (a new database's first start).
    """

    __tablename__ = "sla_policy_version"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_sla_policy_version"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str
    version: int
    toml: str
    fingerprint: str
    stored_at: datetime = utc_column(nullable=False)
    stored_by: str


# ---------------------------------------------------------------- issue 13: metrics indexes
# The metrics screen and `agent-console report` read indexed ranges (desk/metrics.py):
# tickets opened per day, the backlog at an instant (unresolved, or resolved after it),
# cycles stopped / breached in a period per metric, escalation events in a period, and
# the sender of a ticket's first public reply.
_T, _C, _E = Ticket.__table__.c, SlaCycle.__table__.c, TicketEvent.__table__.c  # type: ignore[attr-defined]
Index("ix_ticket_opened_at", _T.opened_at, _T.priority)
# the backlog, with the metrics filters covered (organization, assignee: issue 13)
Index(
    "ix_ticket_backlog",
    _T.resolved_at,
    _T.opened_at,
    _T.tier,
    _T.organization_id,
    _T.assignee_id,
)
Index(
    "ix_sla_cycle_metric_stopped",
    _C.metric,
    _C.stopped_at,
    _C.met_at,
    _C.ticket_id,
    _C.cycle,
    _C.elapsed_seconds,
)
Index("ix_sla_cycle_breached", _C.breached_at)
Index("ix_ticket_event_kind_at", _E.kind, _E.at)
# who sent a ticket's first public reply (a first response is credited to its sender)
_M = Message.__table__.c  # type: ignore[attr-defined]
Index("ix_message_ticket_kind_at", _M.ticket_id, _M.kind, _M.created_at, _M.author_agent_id)


# ---------------------------------------------------------------- presence (issue 11, "teamlive")
class Presence(SQLModel, table=True):
    """One running console: who runs it, which ticket it shows (None: no ticket) and when
    its agent last typed a reply there. A heartbeat rewrites ``seen_at``; a row whose
    ``seen_at`` is older than the presence expiry is ignored and purged (a console that
    died). Short-lived data: no history, no version."""

    __tablename__ = "presence"
    __table_args__ = (Index("ix_presence_ticket", "ticket_id", "seen_at"),)

    console: str = Field(primary_key=True, max_length=40)
    agent_id: int = Field(foreign_key="agent.id")
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    typing_at: datetime | None = utc_column(nullable=True)
    seen_at: datetime = utc_column(nullable=False)


# ---------------------------------------------------------------- e-mail (issue 14)
class MailMessage(SQLModel, table=True):
    """Every e-mail message the desk received or sent, by its RFC 5322 Message-ID — the
    thread index and the exactly-once key (issue 14).

    ``message_id`` is stored without angle brackets, as written by the sender (a received
    message without one is keyed ``hash:<sha256 of sender, date, subject, body>``); it is
    unique, so a message is ingested once whatever the crash or the number of fetchers.
    ``direction`` is ``in`` (fetched from a mailbox: ``mailbox``, ``uidvalidity``, ``uid``
    say where) or ``out`` (queued in the outbox: ``outbox_id``). ``address`` is the other
    party: the sender of an inbound message, the recipient of an outbound one (receipt rate
    limits read it). ``ticket_id`` / ``ticket_message_id``: the ticket and thread message
    it belongs to (None for a quarantined or ignored message). ``created_at``: UTC, when
    the row was written; ``received_at``: the IMAP INTERNALDATE of an inbound message."""

    __tablename__ = "mail_message"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_mail_message_id"),
        Index("ix_mail_message_address", "direction", "address", "created_at"),
        Index("ix_mail_message_ticket", "ticket_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=998)
    direction: str = Field(max_length=3)  # "in" / "out"
    address: str = Field(default="", max_length=320)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    ticket_message_id: int | None = Field(default=None, foreign_key="message.id")
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id")
    mailbox: str | None = Field(default=None, max_length=320)
    uidvalidity: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    uid: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: datetime = utc_column(nullable=False)
    received_at: datetime | None = utc_column()


# ---------------------------------------------------------------- inbound e-mail (issue 14, "mailin")
class MailAttachment(SQLModel, table=True):
    """An attachment of a received message, listed on its ticket. ``size`` in bytes;
    ``content`` is kept only up to the ``max_attachment_bytes`` size limit (None above it:
    the name, type and size are still listed)."""

    __tablename__ = "mail_attachment"
    __table_args__ = (Index("ix_mail_attachment_ticket", "ticket_id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    ticket_message_id: int | None = Field(default=None, foreign_key="message.id")
    mail_message_id: int | None = Field(default=None, foreign_key="mail_message.id")
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=255)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    content: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = utc_column(nullable=False)


class MailQuarantine(SQLModel, table=True):
    """A received message the fetcher could not turn into a ticket: kept with its
    ``reason`` (one line) and its raw bytes (None when larger than the fetch limit), never
    lost. ``retried_at`` / ``ticket_id``: set when ``mail quarantine retry`` ingested it."""

    __tablename__ = "mail_quarantine"
    __table_args__ = (Index("ix_mail_quarantine_open", "retried_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=320)
    uidvalidity: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    uid: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    message_id: str | None = Field(default=None, max_length=998)
    sender: str = Field(default="", max_length=320)
    subject: str = Field(default="", max_length=998)
    reason: str = Field(max_length=1000)
    size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    raw: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    received_at: datetime | None = utc_column()
    created_at: datetime = utc_column(nullable=False)
    retried_at: datetime | None = utc_column()
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")


class MailProgress(SQLModel, table=True):
    """Where fetching a mailbox stands: ``mailbox`` = ``user@host:port/MAILBOX`` (no
    password), its UIDVALIDITY and the last UID whose message is committed; the row is the
    per-mailbox lock (locked by each message's transaction). Counters for ``mail status``."""

    __tablename__ = "mail_progress"

    mailbox: str = Field(primary_key=True, max_length=320)
    uidvalidity: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_uid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_fetch_at: datetime | None = utc_column()
    last_error: str | None = Field(default=None, max_length=1000)
    received: int = 0
    tickets: int = 0
    follow_ups: int = 0
    bounces: int = 0
    ignored: int = 0
    quarantined: int = 0


class TicketParticipant(SQLModel, table=True):
    """A customer taking part in a ticket besides its requester (people in ``Cc`` of its
    mail); their mail with the ticket key in the subject threads to it."""

    __tablename__ = "ticket_participant"
    __table_args__ = (UniqueConstraint("ticket_id", "customer_id", name="uq_ticket_participant"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id")
    customer_id: int = Field(foreign_key="customer.id")
    added_at: datetime = utc_column(nullable=False)
# ---------------------------------------------------------------- metrics rollup (issue 13)
class MetricRollup(SQLModel, table=True):
    """The metrics figures added up per UTC hour / day (desk/metrics_rollup.py): ``n``
    tickets or cycles count towards ``figure`` in the bucket starting at ``bucket`` (an
    hour, or a day for the time histograms), for priority ``grp``, with time ``value``
    (seconds; 0 for counts), among the tickets of dimension ``dim`` (``""`` every ticket,
    ``t2`` tier 2, ``o7`` organization 7, ``a3`` agent 3: the screen's filters). Kept
    current in the transaction of every write that moves a ticket's clock, tier or
    assignee, or hands it over; the primary key serves the period scans (dimension,
    figure, then bucket)."""

    __tablename__ = "metric_rollup"

    dim: str = Field(default="", primary_key=True, max_length=20)
    figure: str = Field(primary_key=True, max_length=40)
    bucket: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    grp: str = Field(primary_key=True, max_length=20)
    value: int = Field(
        default=0, sa_column=Column(BigInteger, primary_key=True, autoincrement=False)
    )
    n: int = 0

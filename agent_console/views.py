"""Read models: the plain, frozen data widgets draw and the CLI prints — the queue row, the
ticket detail (which carries the ticket clock) and the timer states.

No SQLAlchemy, no sessions, no desk here (an import-linter contract keeps it so, and
forbids ``agent_console.widgets`` from importing ``agent_console.desk``): the desk builds
these values (:mod:`agent_console.desk.queue`, :mod:`agent_console.desk.ticket_reads`),
widgets receive them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from agent_console.sla import OPEN_STATUSES, Policy, TicketClock, format_duration

#: the queue's columns, in the order they are drawn (a view's ``columns`` picks among them;
#: ``key``, ``subject`` and ``timer`` are always shown)
QUEUE_COLUMNS: tuple[str, ...] = (
    "key",
    "priority",
    "subject",
    "requester",
    "status",
    "tier",
    "assignee",
    "timer",
)
#: the columns every view shows whatever its ``columns`` say
REQUIRED_COLUMNS: frozenset[str] = frozenset({"key", "subject", "timer"})


@dataclass(frozen=True)
class FilterClause:
    """One condition of a view's filter: ``field op values`` (issue 16).

    ``field``: one of ``priority`` ``status`` ``tier`` ``assignee`` ``org`` ``tag`` ``type``
    ``escalated`` ``breaching_within`` ``text``; ``op``: ``=``, ``!=`` or ``in`` (``in``
    holds several values, the others one). Values are normalized when the file is read:
    priorities as names (``critical``), tiers as ``"mine"`` or digits, assignees as
    ``"me"`` / ``"none"`` / a lower-case handle, tags lower case, ``breaching_within`` as
    whole seconds (digits), ``escalated`` as ``"yes"`` / ``"no"``."""

    field: str
    op: str
    values: tuple[str, ...]

    @property
    def negated(self) -> bool:
        return self.op == "!="

    def __str__(self) -> str:
        if self.op == "in":
            return f"{self.field} in ({', '.join(self.values)})"
        return f"{self.field} {self.op} {self.values[0]}"


@dataclass(frozen=True)
class ViewFilter:
    """A view's filter in disjunctive normal form: ticket matches when every clause of
    any one group holds (``a and b or c`` = ``(a and b) or c``). No group: every open
    ticket."""

    groups: tuple[tuple[FilterClause, ...], ...] = ()
    #: the filter as written in the file (shown in the status line and ``?``)
    text: str = ""


@dataclass(frozen=True)
class QueueView:
    name: str
    label: str
    key: str  # the key that switches to it on the queue screen ("" = none: tab reaches it)
    help: str
    short: str = ""  # the view bar's label (default: label)
    #: what the view holds (always open tickets): see :class:`ViewFilter`
    filter: ViewFilter = field(default_factory=ViewFilter)
    #: the view's sort when the agent first shows it (``s`` changes it; the view keeps it)
    sort: str = "due"
    #: the columns it shows (subset of :data:`QUEUE_COLUMNS`, drawn in that order)
    columns: tuple[str, ...] = QUEUE_COLUMNS
    #: where it was defined: "built-in" or the team file's path
    source: str = "built-in"

    @property
    def tab(self) -> str:
        return self.short or self.label


@dataclass(frozen=True)
class QueueRow:
    """One ticket as the queue shows it (no ORM object leaves the desk)."""

    id: int
    key: str
    number: int
    priority: str
    priority_level: int
    subject: str
    requester: str
    organization: str | None
    status: str
    tier: int
    escalated: bool
    assignee: str | None
    opened_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    first_response_due: datetime | None
    next_update_due: datetime | None
    resolution_due: datetime | None
    paused_since: datetime | None
    next_due: datetime | None  # None: no deadline runs
    #: the running deadline's metric ("" when none runs): what the timer draws
    sla_metric: str
    #: the organization's contract policy name; None = the default policy
    policy: str | None
    version: int

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def iso_utc(dt: datetime | None) -> str | None:
    """THE formatter of instants in machine output (every ``--json``, CSV and webhook body
    of the CLI and the desk): ISO 8601 in UTC, whole seconds, ``Z`` —
    ``2026-11-29T17:42:05Z``; None stays None. A naive datetime is taken as UTC (storage
    is UTC)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


#: the short name the read models use
iso = iso_utc


#: how a status is named to people (screens, CLI text, history): ``pending`` is *waiting*
#: (on the customer) everywhere a person reads it; the stored value — and ``--json`` — stay
#: ``pending``. Input accepts either (desk.tickets.parse_status).
STATUS_LABELS = {
    "new": "new",
    "open": "open",
    "pending": "waiting",
    "on_hold": "on hold",
    "resolved": "resolved",
    "closed": "closed",
}


def status_label(status: str | None) -> str:
    """``"pending"`` → ``"waiting"``, ``"on_hold"`` → ``"on hold"`` (:data:`STATUS_LABELS`)."""
    if not status:
        return ""
    return STATUS_LABELS.get(str(status), str(status).replace("_", " "))


def local_time(dt: datetime | None, zone: tzinfo, *, none: str = "-") -> str:
    """THE formatter of instants in human CLI output (``ticket list/show``, ``oncall``):
    the agent's zone, to the minute — ``Sun 29 Nov 07:14 EST``; ``none`` for None."""
    if dt is None:
        return none
    local = dt.astimezone(zone)
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


@dataclass(frozen=True)
class MessageView:
    id: int
    kind: str  # customer / public / internal / handoff
    body: str
    created_at: datetime
    author: str  # display name
    author_handle: str | None  # None for the customer
    author_tier: int | None  # None for the customer
    pinned: bool = False
    #: a public message mailed to the customer (issue 14): "queued", "retrying", "sent" or
    #: "not delivered" (refused or bounced: the history says why); None = not mailed
    mail: str | None = None

    @property
    def from_customer(self) -> bool:
        return self.kind == "customer"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "author": self.author,
            "author_handle": self.author_handle,
            "author_tier": self.author_tier,
            "at": iso(self.created_at),
            "pinned": self.pinned,
            "body": self.body,
            **({"mail": self.mail} if self.mail else {}),
        }


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    kind: str
    agent: str | None  # handle of who did it (None: the system / the customer)
    details: dict[str, Any]
    text: str  # "greta escalated to tier 3: …"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso(self.at),
            "kind": self.kind,
            "agent": self.agent,
            "details": self.details,
            "text": self.text,
        }


@dataclass(frozen=True)
class AttachmentView:
    """An attachment received by mail (issue 14): ``size`` in bytes; ``kept``: its content
    is stored (False above the ``max_attachment_bytes`` limit: listed only)."""

    name: str
    content_type: str
    size: int
    kept: bool
    received_at: datetime

    @property
    def label(self) -> str:
        """``invoice.pdf (12.3 kB)``; ``, not kept`` when only listed."""
        size = self.size
        if size < 1000:
            shown = f"{size} B"
        elif size < 1_000_000:
            shown = f"{size / 1000:.1f} kB"
        else:
            shown = f"{size / 1_000_000:.1f} MB"
        return f"{self.name} ({shown}{'' if self.kept else ', not kept'})"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.content_type,
            "size": self.size,
            "kept": self.kept,
            "received_at": iso(self.received_at),
        }


@dataclass(frozen=True)
class ArticleRef:
    slug: str
    title: str


@dataclass(frozen=True)
class TimerState:
    """One SLA timer of a ticket at an instant, ready to format.

    ``state``: ``running`` / ``overdue`` (clock still on), ``met`` / ``breached`` (the
    obligation was fulfilled, in time or late), ``paused`` (waiting on the customer),
    ``idle`` (not running: no first response yet for updates, or the ticket is closed).
    """

    name: str  # first_response / next_update / resolution
    label: str
    due: datetime | None
    state: str
    seconds: int | None = None  # clock seconds left (negative: overdue by)
    running: bool = True  # the clock runs now (business clocks stop out of hours)
    fraction: float | None = None
    done_at: datetime | None = None  # when it was met / breached
    target_seconds: int = 0  # the metric's target on its clock

    @property
    def text(self) -> str:
        """A plain one-line summary (the CLI; the screen styles its own)."""
        if self.state in ("met", "breached"):
            return self.state
        if self.state == "paused":
            if self.seconds is None:
                return "paused (waiting on the customer)"
            if self.seconds < 0:  # it fell due before the wait: it resumes overdue
                return f"paused, overdue {format_duration(self.seconds)}"
            return f"paused, {format_duration(self.seconds)} left"
        if self.state == "idle":
            return "—"
        if self.seconds is None:
            return "—"
        if self.seconds < 0:
            return f"overdue {format_duration(self.seconds)}"
        return f"{format_duration(self.seconds)} left" + ("" if self.running else " (stopped)")


@dataclass(frozen=True)
class TicketDetail:
    """Everything the detail screen shows about one ticket, at the version it was read."""

    id: int
    key: str
    subject: str
    status: str
    is_open: bool
    priority: str
    priority_level: int
    tier: int
    escalated: bool
    assignee: str | None  # handle
    assignee_name: str | None
    requester: str
    requester_email: str
    organization: str | None
    policy_name: str  # "default" or the organization's contract
    channel: str
    request_type: str
    tags: tuple[str, ...]
    opened_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    last_public_update_at: datetime | None
    resolved_at: datetime | None
    first_response_due: datetime | None
    next_update_due: datetime | None
    resolution_due: datetime | None
    paused_since: datetime | None
    sla_pauses: tuple[tuple[datetime, datetime], ...]
    resolution_left: int | None  # clock seconds left while paused
    version: int
    participants: tuple[str, ...]
    messages: tuple[MessageView, ...]
    events: tuple[EventView, ...]
    articles: tuple[ArticleRef, ...]
    policy: Policy = field(repr=False, compare=False)
    #: the ticket clock every timer, preview and explanation of this ticket reads
    clock: TicketClock = field(repr=False, compare=False)
    #: attachments of the ticket's mail, oldest first (issue 14)
    attachments: tuple[AttachmentView, ...] = ()

    @property
    def pinned(self) -> tuple[MessageView, ...]:
        """Handoff notes, pinned at the top of the thread (newest first)."""
        return tuple(reversed([m for m in self.messages if m.pinned]))

    @property
    def thread(self) -> tuple[MessageView, ...]:
        """The conversation, oldest first (pinned notes included where they happened)."""
        return self.messages

    def timers(self, now: datetime) -> tuple[TimerState, ...]:
        return timer_states(self, now)

    def as_json(self, now: datetime | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "subject": self.subject,
            "status": self.status,
            "priority": self.priority,
            "tier": self.tier,
            "escalated": self.escalated,
            "assignee": self.assignee,
            "requester": self.requester,
            "requester_email": self.requester_email,
            "organization": self.organization,
            "policy": self.policy_name,
            "channel": self.channel,
            "request_type": self.request_type,
            "tags": list(self.tags),
            "opened": iso(self.opened_at),
            "updated": iso(self.updated_at),
            "first_response_at": iso(self.first_response_at),
            "last_public_update_at": iso(self.last_public_update_at),
            "resolved_at": iso(self.resolved_at),
            "first_response_due": iso(self.first_response_due),
            "next_update_due": iso(self.next_update_due),
            "resolution_due": iso(self.resolution_due),
            "paused_since": iso(self.paused_since),
            "resolution_left_seconds": self.resolution_left,
            "version": self.version,
            "participants": list(self.participants),
            "messages": [m.as_json() for m in self.messages],
            "events": [e.as_json() for e in self.events],
            "articles": [{"slug": a.slug, "title": a.title} for a in self.articles],
            "attachments": [a.as_json() for a in self.attachments],
        }
        if now is not None:
            out["timers"] = {
                t.name: {"state": t.state, "due": iso(t.due), "seconds_left": t.seconds}
                for t in self.timers(now)
            }
        return out


@dataclass(frozen=True)
class StatusPreview:
    """What a status change would do to the resolution clock (the status picker shows it)."""

    status: str
    resolution_due_now: datetime | None  # as stored
    resolution_due_after: datetime | None  # None: the clock would stop
    left_seconds: int | None  # clock time left when it stops / resumes
    text: str


# ---------------------------------------------------------------- timers
def timer_states(detail: TicketDetail, now: datetime) -> tuple[TimerState, ...]:
    """The SLA timers of ``detail`` at ``now``: the ticket clock's metric states
    (:meth:`agent_console.sla.TicketClock.statuses`), formatting only: no database."""
    return tuple(
        TimerState(
            m.name,
            m.label,
            m.due,
            m.state,
            seconds=m.seconds,
            running=m.running,
            fraction=m.fraction,
            done_at=m.done_at,
            target_seconds=m.target_seconds,
        )
        for m in detail.clock.statuses(now)
    )


# ---------------------------------------------------------------- events
def describe_event(kind: str, who: str | None, details: dict[str, Any]) -> str:
    """One line for the history view and conflict messages: who changed what. An event
    done by the on-call rule after hours says so, and a rehearsal (``--at``) event is
    marked (issue 10)."""
    d = details or {}
    text = _describe_event(kind, who, d)
    if d.get("on_call"):
        text += f" (on call: {d['on_call']})"
    if d.get("rehearsal"):
        text = f"[rehearsal] {text}"
    return text


_LEVEL_NAMES = ("primary", "secondary", "leads")


def _describe_event(kind: str, who: str | None, d: dict[str, Any]) -> str:
    actor = who or "system"

    def note() -> str:
        text = str(d.get("note") or d.get("reason") or d.get("summary") or "").strip()
        first = text.splitlines()[0] if text else ""
        return f": {first[:80]}" if first else ""

    match kind:
        case "created":
            return f"ticket opened ({d.get('channel') or d.get('source') or 'new'})"
        case "imported":
            return "ticket imported"
        case "replied":
            return f"{actor} replied to the customer" + (" by mail" if d.get("mail") else "")
        case "noted":
            return f"{actor} added an internal note"
        case "status":
            frm = d.get("from")
            frm = status_label(frm) if frm else None
            return f"{actor} set status {frm + ' → ' if frm else 'to '}{status_label(d.get('to'))}"
        case "subject":
            return f"{actor} changed the subject to {d.get('to')}"
        case "priority":
            return f"{actor} changed priority {d.get('from')} → {d.get('to')}{note()}"
        case "assigned":
            to = d.get("to")
            frm = d.get("from")
            if to is None:
                return f"{actor} unassigned it" + (f" (was {frm})" if frm else "")
            return f"{actor} assigned it to {to}" + (f" (was {frm})" if frm else "")
        case "claimed":
            return f"{actor} claimed it"
        case "classified":
            tags = ", ".join(d.get("tags") or []) or "no tags"
            return f"{actor} set type {d.get('request_type')}, tags {tags}"
        case "resolved":
            return f"{actor} resolved it{note()}"
        case "reopened":
            return f"{actor} reopened it as {d.get('to')}"
        case "escalated":
            return f"{actor} escalated tier {d.get('from_tier')} → {d.get('to_tier')}{note()}"
        case "deescalated":
            return f"{actor} de-escalated tier {d.get('from_tier')} → {d.get('to_tier')}{note()}"
        case "linked-article":
            return f"{actor} linked the article {d.get('title') or d.get('slug')}"
        case "unlinked-article":
            return f"{actor} unlinked the article {d.get('title') or d.get('slug')}"
        case "alert_acknowledged":
            ids = ", ".join(f"#{i}" for i in d.get("alerts") or [])
            return f"{actor} acknowledged alert {ids}"
        case "alert_escalated":
            level = int(d.get("level") or 0)
            return f"alert #{d.get('alert')} escalated to {_LEVEL_NAMES[min(level, 2)]}"
        case "mail_sent":
            dest = str(d.get("destination") or "")[5:]
            what = {"receipt": "the receipt", "solved": "the solved message"}.get(
                str(d.get("mail")), "the reply"
            )
            return f"mail to {dest} sent ({what})"
        case "mail_retried":  # issue 14 operations: a person sent a failed mail again
            dest = str(d.get("destination") or "")[5:]
            if d.get("was") in ("failed", "dismissed"):
                return f"{actor} sent the failed mail to {dest} again"
            return f"{actor} asked to send the mail to {dest} now (it was waiting for a retry)"
        case "mail_dismissed":
            dest = str(d.get("destination") or "")[5:]
            return f"{actor} dismissed the failed mail to {dest}"
        case "customer_replied":
            return "the customer replied" + (" by e-mail" if d.get("via") == "email" else "")
        case "followed_up":
            return f"the customer wrote again after it closed: {d.get('by')} opened"
        case "receipt_withheld":
            return f"no automatic receipt{note()}"
        case "delivery_failed" | "delivery_gave_up":
            what = "gave up" if kind == "delivery_gave_up" else "failed"
            dest = str(d.get("destination") or "")
            if dest.startswith("mail:"):  # issue 14: a refused or bounced mail
                if d.get("bounce"):
                    return f"mail to {dest[5:]} bounced: {d.get('error')}"
                retry = "" if kind == "delivery_gave_up" else ", will retry"
                return f"mail to {dest[5:]} {what} (attempt {d.get('attempt')}{retry}): {d.get('error')}"
            return (
                f"delivery to {dest} {what} "
                f"(attempt {d.get('attempt')}): {d.get('error')}"
            )
        case _:
            skip = {"source", "on_call", "rehearsal"}
            extra = ", ".join(f"{k}={v}" for k, v in d.items() if k not in skip)
            return f"{actor} {kind}" + (f" ({extra})" if extra else "")


# ---------------------------------------------------------------- on call (issue 10)
#: how an SLA metric is named in alerts
METRIC_LABELS = {
    "first_response": "first reply",
    "next_update": "next update",
    "resolution": "resolution",
}


_z = iso_utc


@dataclass(frozen=True)
class OncallSlot:
    """One level's holder: ``handle`` (None = nobody) from ``since`` until ``until`` (UTC;
    None = open-ended), ``source`` = "rota" | "override" | "leads"."""

    level: str
    handle: str | None
    name: str | None
    since: datetime | None
    until: datetime | None
    source: str

    def as_json(self) -> dict[str, object]:
        d = asdict(self)
        for k in ("since", "until"):
            d[k] = iso_utc(d[k])
        return d


@dataclass(frozen=True)
class OncallState:
    """Who is on call at ``at`` (the desk API the on-call screen shows).

    ``primary`` / ``secondary``: :class:`OncallSlot`; ``leads``: handles of every active
    lead (the last escalation level); ``business_open``: the default policy's hours are open
    at ``at``; ``next_change``: when they next open (if closed) or close (if open), UTC;
    ``rehearsal``: the desk runs on a ``--at`` clock."""

    at: datetime
    primary: OncallSlot
    secondary: OncallSlot
    leads: list[str] = field(default_factory=list)
    business_open: bool = True
    next_change: datetime | None = None
    rehearsal: bool = False

    @property
    def after_hours(self) -> bool:
        return not self.business_open

    def level_of(self, handle: str) -> str | None:
        for slot in (self.primary, self.secondary):
            if slot.handle == handle:
                return slot.level
        return "leads" if handle in self.leads else None

    def handles_for(self, level: int) -> list[str]:
        """Who an alert at escalation ``level`` (0 primary, 1 secondary, 2 leads) concerns,
        beyond its assignee: every level up to it."""
        out: list[str] = []
        for i, slot in enumerate((self.primary, self.secondary)):
            if i <= level and slot.handle:
                out.append(slot.handle)
        if level >= 2:
            out.extend(h for h in self.leads if h not in out)
        return out

    def as_json(self) -> dict[str, object]:
        z = iso_utc

        return {
            "at": z(self.at),
            "primary": self.primary.as_json(),
            "secondary": self.secondary.as_json(),
            "leads": self.leads,
            "business_open": self.business_open,
            "next_change": z(self.next_change),
            "rehearsal": self.rehearsal,
        }


@dataclass(frozen=True)
class AlertRow:
    """One fired alert, as the screen and the CLI show it. Instants aware UTC; ``level``
    0 primary, 1 secondary, 2 leads; ``threshold`` "0.5" / "0.8" / "1.0" (fractions of
    the target), "warn:900" (seconds before due) or "arrival"."""

    id: int
    key: str
    subject: str
    priority: str
    assignee: str | None
    metric: str
    cycle: int
    threshold: str
    due_at: datetime
    fired_at: datetime
    level: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    rehearsal: bool
    #: the instant the threshold was crossed (UTC; None when not known): a console toasts
    #: an alert crossed long ago (a breach long past) in one summary, not one by one
    fire_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.acknowledged_at is None and self.resolved_at is None

    @property
    def level_name(self) -> str | None:
        """The on-call level the alert has reached — ``"primary"``, ``"secondary"``,
        ``"leads"`` — for a critical ticket's alert; None for other priorities (they go to
        the assignee, or the leads when unassigned, and never escalate). The screen and
        ``oncall show`` both show this (None as their "none" mark)."""
        if self.priority != "critical":
            return None
        return ("primary", "secondary", "leads")[min(max(self.level, 0), 2)]

    @property
    def what(self) -> str:
        """``"first reply 80 %"``, ``"next update due in 15m"``, ``"resolution breached"``."""
        label = METRIC_LABELS.get(self.metric, self.metric)
        th = self.threshold
        if th == "arrival":
            return f"new after hours, {label} due"  # short: a column at 80×24, a toast
        if th.startswith("warn:"):
            return f"{label} due in {int(th[5:]) // 60}m"
        f = float(th)
        return f"{label} breached" if f >= 1.0 else f"{label} {round(f * 100)} % used"

    def needs_repeat(self, now: datetime, last_shown: datetime | None, every: float) -> bool:
        """An unacknowledged, unresolved critical alert repeats (toast + bell) every
        ``every`` seconds in the consoles; ``last_shown`` is when this console last showed
        it (None: never)."""
        if not self.open or self.priority != "critical":
            return False
        return last_shown is None or (now - last_shown).total_seconds() >= every

    def recipients(self, oncall: OncallState) -> list[str]:
        """Who gets this alert (handles): the assignee; for a critical ticket also the
        on-call levels up to the alert's escalation level (primary; + secondary; + leads);
        for other priorities, the leads when nobody is assigned."""
        out = [self.assignee] if self.assignee else []
        if self.priority == "critical":
            extra = oncall.handles_for(self.level)
        else:
            extra = [] if self.assignee else list(oncall.leads)
        out.extend(h for h in extra if h not in out)
        return out

    def concerns(self, handle: str, oncall: OncallState) -> bool:
        """Whether ``handle`` is one of :meth:`recipients`."""
        return handle in self.recipients(oncall)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "subject": self.subject,
            "priority": self.priority,
            "assignee": self.assignee,
            "metric": self.metric,
            "cycle": self.cycle,
            "threshold": self.threshold,
            "what": self.what,
            "due_at": _z(self.due_at),
            "fired_at": _z(self.fired_at),
            "level": self.level,
            "acknowledged_at": _z(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "resolved_at": _z(self.resolved_at),
            "rehearsal": self.rehearsal,
        }

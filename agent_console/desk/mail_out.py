"""Outbound e-mail (issue 14): what the desk sends, composed and queued in the one outbox.

Three kinds of message leave the desk, each as one outbox row (``kind = "mail"``,
``destination = "mail:<recipient>"``, dedup key ``mail:<kind>:…``) written in the caller's
transaction together with one :class:`~agent_console.store.models.MailMessage` row
(``direction = "out"``, its Message-ID, ``outbox_id``):

- ``receipt`` — the automatic acknowledgement of a new ticket (:meth:`MailOutMixin.
  queue_receipt`, called by the inbound fetcher): the ticket key and what the customer can
  expect by priority, read from the ticket clock under the ticket's policy (the handbook's
  targets live in the policy file, never here). Marked ``Auto-Submitted: auto-replied``
  (RFC 3834) so well-behaved robots do not answer it. Guarded by :func:`receipt_refusal`
  (no answer to robots, lists or ourselves) and by a limit per sender per hour
  (``receipts_per_hour``, default 3: the count of receipt rows to that address).
- ``reply`` — a public reply written on an e-mail ticket (the workflow calls
  :meth:`MailOutMixin.mail_public_message` in the reply's own transaction), to the
  requester, the ticket's participants (people who were in ``Cc``) in ``Cc``;
- ``solved`` — the public message of "submit as solved" (``ticket status --to resolved
  --message``), same path. Internal notes are never mail.

An *e-mail ticket* is a ticket of channel ``email`` with at least one message in the
``mail_message`` thread index (it came in by mail): imported or seeded tickets never mail
their fake customers. Threading: ``In-Reply-To`` is the customer's latest message (else our
latest), ``References`` the thread's Message-IDs in order (the first and the last ones
when long); the subject carries ``[KEY]`` so a reply finds its ticket even without headers.
Rehearsals (``--at``) queue nothing.

Delivery is the outbox's (``desk/outbox.py``: claim, send through
``channels/smtp.py``, retry with backoff, give up → ``delivery_gave_up`` event and the
header's "mail not sent" notice); :meth:`MailOutMixin.send_mail` is ``mail send``.
A bounce (delivery status notification) for a message we sent: :meth:`MailOutMixin.
mark_bounced`.

Operations (``mail failed``, the Mail screen): :meth:`MailOutMixin.mail_outbox` lists what
waits, retries or failed; a person sends a failed message again
(:meth:`MailOutMixin.retry_mail`) or dismisses the failure
(:meth:`MailOutMixin.dismiss_failed_mail`) — each a line in the ticket's history by that
agent (issue 11: a person's action needs a known agent) — and the header counts only the
failures nobody dismissed (:meth:`MailOutMixin.mail_failed_count`).
"""

from __future__ import annotations

import re
import textwrap
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from agent_console.desk.deadlines import clock_of
from agent_console.desk.outbox import DeliveryReport, OutboxMixin
from agent_console.errors import NotFound, UserError
from agent_console.sla import format_duration
from agent_console.store.models import (
    Channel,
    Customer,
    MailMessage,
    Message,
    OutboxMessage,
    Ticket,
    TicketParticipant,
)

__all__ = [
    "MAIL_KINDS",
    "MailBoard",
    "MailOutMixin",
    "MailSendReport",
    "OutboxMail",
    "mail_state",
    "build_email",
    "mail_board",
    "normalise_address",
    "receipt_refusal",
    "strip_message_id",
    "ticket_subject",
]

#: the kinds of message the desk sends (the middle part of an outbox dedup key)
MAIL_KINDS = ("receipt", "reply", "solved")
#: References kept: the thread's first message and the latest ones (RFC 5322 §3.6.4 lets a
#: client trim; mail clients thread on the first and the last)
MAX_REFERENCES = 20

#: local parts of robots that must never get an automatic answer (RFC 3834 §2)
_ROBOT_LOCAL = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|listserv|majordomo)"
    r"([+\-].*)?$",
    re.IGNORECASE,
)
#: ``smtp://host:port `` at the start of a delivery error (channels/smtp.py names the server)
_SERVER_PREFIX = re.compile(r"^smtps?://\S+\s+")
#: ``Re:`` / ``Fwd:`` / ``AW:`` prefixes and a ``[KEY]`` tag at the start of a subject
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|sv|antw)\s*(\[\d+\])?\s*:\s*)+", re.I)


# ------------------------------------------------------------------ pure helpers
def normalise_address(text: str | None) -> str:
    """The bare address of ``Name <a@b>`` / ``a@b``, lower-cased; ``""`` when none."""
    _name, addr = parseaddr(text or "")
    return addr.strip().lower() if "@" in addr else ""


def strip_message_id(value: str | None) -> str:
    """A Message-ID as stored in ``mail_message``: without angle brackets or white space."""
    return (value or "").strip().strip("<>").strip()


def receipt_refusal(headers: Mapping[str, str], sender: str, our_address: str) -> str | None:
    """Why an automatic receipt must NOT answer this message, or None when it may go.

    Pure (no I/O). ``headers``: the received message's header fields (any mapping; names
    are matched case-insensitively, e.g. an ``email.message.EmailMessage`` or a dict);
    ``sender``: its From address (``Name <a@b>`` or ``a@b``); ``our_address``: the desk's
    ``mail_from``. Refused (RFC 3834 §2 and common practice), the reason as one line:

    - ``Auto-Submitted`` other than ``no`` (auto-replies, auto-generated mail);
    - ``Precedence: bulk`` / ``list`` / ``junk`` / ``auto_reply``;
    - ``List-Id`` or ``List-Unsubscribe`` (a mailing list);
    - ``X-Auto-Response-Suppress`` asking for no auto replies, ``X-Autoreply`` /
      ``X-Autorespond`` (Microsoft / vacation robots);
    - an empty ``Return-Path`` (``<>``: a bounce);
    - no sender, or a robot sender (mailer-daemon, postmaster, noreply, bounces…);
    - our own address (a loop through ourselves)."""
    lower: dict[str, str] = {}
    for name, value in headers.items():
        lower.setdefault(str(name).lower(), str(value))
    auto = lower.get("auto-submitted")
    if auto is not None and auto.split(";")[0].strip().lower() != "no":
        return f"Auto-Submitted: {auto.split(';')[0].strip()} (an automatic message)"
    precedence = (lower.get("precedence") or "").strip().lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"Precedence: {precedence} (a list or bulk message)"
    if "list-id" in lower:
        return "List-Id present (a mailing list message)"
    if "list-unsubscribe" in lower:
        return "List-Unsubscribe present (a mailing list message)"
    suppress = (lower.get("x-auto-response-suppress") or "").lower()
    if any(word in suppress for word in ("all", "autoreply", "oof")):
        return "X-Auto-Response-Suppress asks for no automatic reply"
    if "x-autoreply" in lower or "x-autorespond" in lower:
        return "X-Autoreply / X-Autorespond present (an automatic message)"
    if lower.get("return-path", "x").strip() in ("<>", ""):
        return "empty Return-Path (a delivery report)"
    addr = normalise_address(sender)
    if not addr:
        return "no sender address"
    if _ROBOT_LOCAL.match(addr.split("@", 1)[0]):
        return f"{addr} is an automatic sender"
    ours = normalise_address(our_address)
    if ours and addr == ours:
        return f"{addr} is our own address"
    return None


def ticket_subject(key: str, subject: str, *, prefix: str = "Re: ") -> str:
    """``Re: [SUP-12] Printer on fire``: the ticket key in brackets (the subject threads a
    reply even when a client drops the headers), earlier ``Re:`` / ``[KEY]`` removed, one
    line (line breaks and control characters become spaces)."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in subject or "").split())
    tag = f"[{key}]"
    for _ in range(3):
        text = _SUBJECT_PREFIX.sub("", text).strip()
        if text.upper().startswith(tag.upper()):
            text = text[len(tag) :].strip()
    return f"{prefix}{tag} {text}".strip() if text else f"{prefix}{tag}".strip()


# ------------------------------------------------------------------ outbox states
def mail_state(
    sent_at: datetime | None,
    failed_at: datetime | None,
    last_error: str | None,
    dismissed_at: datetime | None = None,
) -> str:
    """The one rule naming what became of an outgoing mail (outbox row): ``failed`` (given
    up, or bounced after the server took it), ``dismissed`` (failed, and a person
    dismissed it), ``sent``, ``retrying`` (refused at least once, will try again) or
    ``queued`` (not tried yet). The ticket's thread shows ``failed`` as "not delivered"."""
    if failed_at is not None:
        return "dismissed" if dismissed_at is not None else "failed"
    if sent_at is not None:
        return "sent"
    return "retrying" if last_error else "queued"


@dataclass(frozen=True)
class OutboxMail:
    """One outgoing mail as ``mail failed`` and the Mail screen show it. Instants UTC.

    ``state``: :func:`mail_state`; ``sending``: a sender holds it right now (a live
    claim); ``next_at``: when it is tried next (waiting rows; None otherwise);
    ``reason``: the last refusal or bounce (one line, no secret), ``""`` when none."""

    id: int
    key: str | None
    kind: str
    to: str
    subject: str
    attempts: int
    state: str
    created_at: datetime
    next_at: datetime | None
    failed_at: datetime | None
    dismissed_at: datetime | None
    reason: str
    sending: bool = False

    @property
    def bounced(self) -> bool:
        return self.reason.startswith("bounced:")

    @property
    def short_reason(self) -> str:
        """The reason without the server's URL and "refused the message" in front
        (``550 5.1.1 …``), for narrow columns; :attr:`reason` keeps them."""
        return _SERVER_PREFIX.sub("", self.reason).removeprefix("refused the message: ")

    def as_json(self) -> dict[str, Any]:
        from agent_console.views import iso_utc

        d = dict(self.__dict__)
        for k in ("created_at", "next_at", "failed_at", "dismissed_at"):
            d[k] = iso_utc(d[k])
        d["bounced"] = self.bounced
        return d


@dataclass
class MailSendReport(DeliveryReport):
    """:meth:`MailOutMixin.send_mail`: what this run sent and gave up on (``sent``,
    ``failed``: outbox ids), then what still waits: ``waiting`` rows, the earliest next
    attempt ``next_at`` (UTC), and ``failed_before``: failures from earlier runs nobody
    dismissed (``mail failed``)."""

    waiting: int = 0
    next_at: datetime | None = None
    failed_before: int = 0
    #: ``--wait`` ran out while mail still waited (the CLI's exit code 75)
    gave_up_waiting: bool = field(default=False)


def _domain(mail_from: str | None) -> str:
    addr = normalise_address(mail_from)
    return addr.split("@", 1)[1] if addr else "agent-console.invalid"


def new_message_id(key: str, mail_from: str | None) -> str:
    """A fresh Message-ID without brackets (``<time>.<pid>.<random>.<key>@<our domain>``)."""
    return strip_message_id(make_msgid(idstring=key.lower(), domain=_domain(mail_from)))


def build_email(payload: Mapping[str, Any], mail_from: str) -> EmailMessage:
    """The RFC 5322 message of an outbox mail row's ``payload`` (see
    :meth:`MailOutMixin.queue_mail` for its keys), From ``mail_from``. Headers are folded
    and encoded by the stdlib (``email.policy.SMTP``: CRLF, RFC 2047 for non-ASCII)."""
    msg = EmailMessage(policy=SMTP)
    name, addr = parseaddr(mail_from)
    msg["From"] = Address(display_name=name, addr_spec=addr) if name else addr
    msg["To"] = str(payload["to"])
    msg["Subject"] = str(payload["subject"])
    msg["Date"] = format_datetime(datetime.fromisoformat(str(payload["date"])))
    msg["Message-ID"] = f"<{payload['message_id']}>"
    if payload.get("in_reply_to"):
        msg["In-Reply-To"] = f"<{payload['in_reply_to']}>"
    refs = [r for r in payload.get("references") or [] if r]
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    cc = [c for c in payload.get("cc") or [] if c]
    if cc:
        msg["Cc"] = ", ".join(cc)
    if payload.get("kind") == "receipt":
        msg["Auto-Submitted"] = "auto-replied"  # RFC 3834: robots must not answer it
    msg["X-Agent-Console-Ticket"] = str(payload.get("key") or "")
    msg.set_content(str(payload["body"]), charset="utf-8")
    return msg


def _trim_references(refs: list[str]) -> list[str]:
    refs = list(dict.fromkeys(r for r in refs if r))
    if len(refs) > MAX_REFERENCES:
        refs = [refs[0], *refs[-(MAX_REFERENCES - 1) :]]
    return refs


def _local(at: datetime, tz: Any) -> str:
    local = at.astimezone(tz)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


# ------------------------------------------------------------------ the desk's part
class MailOutMixin(OutboxMixin):
    """Compose and queue outgoing mail; bounces; ``mail send``. See the module docstring."""

    # ---------------------------------------------------------------- reads
    def is_mail_ticket(self, session: Session, ticket: Ticket) -> bool:
        """Channel ``email`` and at least one message in its mail thread (module docstring)."""
        if ticket.channel != Channel.EMAIL.value or ticket.id is None:
            return False
        found = session.exec(
            select(MailMessage.id).where(MailMessage.ticket_id == ticket.id).limit(1)
        ).first()
        return found is not None

    def mail_thread(self, session: Session, ticket_id: int) -> tuple[str | None, list[str]]:
        """(In-Reply-To, References) for a new message on the ticket: the latest inbound
        Message-ID (else the latest of ours), and the thread's IDs in order (trimmed to
        :data:`MAX_REFERENCES`: the first and the latest)."""
        rows = session.exec(
            select(MailMessage.message_id, MailMessage.direction)
            .where(MailMessage.ticket_id == ticket_id)
            .order_by(col(MailMessage.id))
        ).all()
        ids = [m for m, _d in rows]
        inbound = [m for m, d in rows if d == "in"]
        parent = inbound[-1] if inbound else (ids[-1] if ids else None)
        return parent, _trim_references(ids)

    def receipts_sent(self, session: Session, address: str, since: datetime) -> int:
        """Receipts queued to ``address`` (any case) since ``since`` (UTC): the rate limit's
        count (``mail_message`` out rows whose outbox row is a receipt)."""
        addr = normalise_address(address) or address.strip().lower()
        return int(
            session.exec(
                select(func.count())
                .select_from(MailMessage)
                .join(OutboxMessage, col(OutboxMessage.id) == col(MailMessage.outbox_id))
                .where(
                    MailMessage.direction == "out",
                    MailMessage.address == addr,
                    col(MailMessage.created_at) >= since,
                    col(OutboxMessage.dedup_key).like("mail:receipt:%"),
                )
            ).one()
        )

    # ---------------------------------------------------------------- queueing
    def queue_mail(
        self,
        session: Session,
        ticket: Ticket,
        *,
        kind: str,
        to: str,
        body: str,
        subject: str,
        in_reply_to: str | None,
        references: list[str],
        now: datetime,
        ticket_message_id: int | None = None,
        dedup: str | None = None,
        cc: list[str] | None = None,
    ) -> int | None:
        """Queue one message in the caller's transaction: an outbox row and its
        ``mail_message`` out row. Returns the outbox id, or None when nothing was queued
        (a rehearsal, no address, or ``dedup`` — default: the new Message-ID — queued
        before).

        The payload (JSON, no secret): ``kind`` (:data:`MAIL_KINDS`), ``to``, ``subject``,
        ``body``, ``date`` (ISO UTC), ``message_id``, ``in_reply_to``, ``references``
        (IDs without brackets), ``key``, ``cc`` (addresses, maybe empty). From is the
        sender's ``mail_from`` at delivery."""
        if kind not in MAIL_KINDS:
            raise ValueError(f"unknown mail kind {kind!r}")
        if self.settings.at is not None:
            return None  # rehearsal: nothing is sent outside
        addr = normalise_address(to)
        if not addr:
            return None
        message_id = new_message_id(ticket.key, self.settings.mail_from)
        refs = _trim_references([strip_message_id(r) for r in references])
        parent = strip_message_id(in_reply_to) or None
        if parent and parent not in refs:
            refs = _trim_references([*refs, parent])
        payload = {
            "kind": kind,
            "to": addr,
            "subject": subject,
            "body": body,
            "date": now.isoformat(),
            "message_id": message_id,
            "in_reply_to": parent,
            "references": refs,
            "key": ticket.key,
            "cc": [
                c for c in dict.fromkeys(normalise_address(x) for x in cc or []) if c and c != addr
            ],
        }
        outbox_id = self.enqueue(
            session,
            kind="mail",
            destination=f"mail:{addr}",
            payload=payload,
            dedup_key=f"mail:{kind}:{dedup or message_id}",
            ticket_id=ticket.id,
            now=now,
        )
        if outbox_id is None:
            return None
        session.add(
            MailMessage(
                message_id=message_id,
                direction="out",
                address=addr,
                ticket_id=ticket.id,
                ticket_message_id=ticket_message_id,
                outbox_id=outbox_id,
                created_at=now,
            )
        )
        session.flush()
        return int(outbox_id)

    def receipt_text(self, session: Session, ticket: Ticket, now: datetime) -> str:
        """The receipt's body: the key, and what to expect for the ticket's priority — the
        first-reply and resolution targets of its policy and their due instants from the
        ticket clock (sla/clock.py), in the policy's zone."""
        policy = self.policy_for_ticket(session, ticket)
        target = policy.target(ticket.priority)
        clock = clock_of(ticket, policy)
        hours = f"business hours ({policy.timezone})" if target.business else "around the clock"
        customer = session.get(Customer, ticket.requester_id)
        name = (customer.name if customer and customer.name else "").strip()
        lines = [
            f"Hello {name}," if name else "Hello,",
            "",
            "Thank you for contacting support. We have received your request and "
            f"given it the reference {ticket.key}.",
            "",
            f"Priority: {target.label or target.name}",
        ]
        fr_due = clock.due("first_response")
        fr = f"First reply: within {format_duration(target.first_response)} of {hours}"
        lines.append(fr + (f", by {_local(fr_due, policy.tz)}." if fr_due else "."))
        res_due = clock.due("resolution")
        res = f"Resolution target: {format_duration(target.resolution)} of {hours}"
        lines.append(res + (f", by {_local(res_due, policy.tz)}." if res_due else "."))
        lines += [
            f"While we work on it, we send an update at least every "
            f"{format_duration(target.status_update)} of {hours}.",
            "",
            f"To add information, reply to this message and keep [{ticket.key}] in the subject.",
            "",
            "-- ",
            "This is an automatic message; it was sent once for your request.",
        ]
        # short lines: plain 7-bit text in every client (no quoted-printable soft breaks)
        return "\n".join(
            textwrap.fill(line, 72, break_long_words=False, break_on_hyphens=False)
            if line and line != "-- "
            else line
            for line in lines
        )

    def queue_receipt(
        self,
        session: Session,
        ticket: Ticket,
        *,
        to: str,
        in_reply_to: str,
        references: list[str],
        now: datetime,
    ) -> bool:
        """Queue the automatic receipt of a new ticket in the caller's transaction (the
        ticket row flushed: its key, priority, opening instant). Returns whether it was
        queued: not when ``to`` already got ``receipts_per_hour`` receipts in the past hour
        (counted in ``mail_message``; 0 turns receipts off), for a rehearsal, or when this
        ticket already has its receipt (one per ticket: dedup key ``mail:receipt:KEY``).
        The caller checks :func:`receipt_refusal` first (robots, lists, ourselves)."""
        limit = self.settings.receipts_per_hour
        if limit <= 0 or not normalise_address(to):
            return False
        if self.receipts_sent(session, to, now - timedelta(hours=1)) >= limit:
            return False
        queued = self.queue_mail(
            session,
            ticket,
            kind="receipt",
            to=to,
            subject=ticket_subject(ticket.key, ticket.subject, prefix="Received: "),
            body=self.receipt_text(session, ticket, now),
            in_reply_to=in_reply_to,
            references=references,
            now=now,
            dedup=ticket.key,
        )
        return queued is not None

    def mail_public_message(
        self, session: Session, ticket: Ticket, message: Message, *, solved: bool = False
    ) -> int | None:
        """The workflow's hook: a public reply (``solved``: the "submit as solved" message)
        just added to ``ticket`` in this transaction goes to the requester by mail when the
        ticket is an e-mail ticket. Returns the outbox id, or None (not an e-mail ticket,
        no address, a rehearsal). Internal notes never come here."""
        if not self.is_mail_ticket(session, ticket):
            return None
        customer = session.get(Customer, ticket.requester_id)
        if customer is None or not customer.email:
            return None
        if message.id is None:
            session.flush()
        parent, refs = self.mail_thread(session, ticket.id)  # type: ignore[arg-type]
        body = message.body
        ours = normalise_address(self.settings.mail_from)
        cc = [
            e
            for e in session.exec(
                select(Customer.email)
                .join(TicketParticipant, col(TicketParticipant.customer_id) == Customer.id)
                .where(TicketParticipant.ticket_id == ticket.id)
                .order_by(col(TicketParticipant.id))
            ).all()
            if e and normalise_address(e) != ours
        ]
        footer = [
            "",
            "-- ",
            f"Reference: {ticket.key}. Reply to this message to add to your request.",
        ]
        if solved:
            footer.insert(
                2, f"We consider {ticket.key} solved. If it is not, reply and we reopen it."
            )
        return self.queue_mail(
            session,
            ticket,
            kind="solved" if solved else "reply",
            to=customer.email,
            subject=ticket_subject(ticket.key, ticket.subject),
            body=body.rstrip() + "\n" + "\n".join(footer),
            in_reply_to=parent,
            references=refs,
            now=message.created_at,
            ticket_message_id=message.id,
            cc=cc,
        )

    # ---------------------------------------------------------------- bounces
    def mark_bounced(
        self, session: Session, original_message_id: str, reason: str, now: datetime
    ) -> bool:
        """A delivery failure report (bounce) for a message we sent, in the caller's
        transaction: its outbox row is marked failed (``failed_at`` = ``now``,
        ``last_error`` = ``bounced: <reason>``; ``sent_at`` stays: the server took it) and a
        ``delivery_failed`` event is written on its ticket by ``system:mail`` — the header
        counts it among the mails not sent. Returns False when ``original_message_id``
        (with or without brackets) is not a message we sent (nothing changes)."""
        mid = strip_message_id(original_message_id)
        row = session.exec(
            select(MailMessage).where(MailMessage.message_id == mid, MailMessage.direction == "out")
        ).first()
        if row is None or row.outbox_id is None:
            return False
        out = session.get(OutboxMessage, row.outbox_id)
        if out is None:
            return False
        reason = " ".join((reason or "delivery failed").split())[:300]
        out.failed_at = now
        out.last_error = f"bounced: {reason}"
        session.add(out)
        ticket_id = out.ticket_id or row.ticket_id
        if ticket_id is not None:
            actor = self.system_actor(session, "mail")
            self.log(
                session,
                ticket_id,
                "delivery_failed",
                agent_id=actor.id,
                at=now,
                outbox=out.id,
                destination=out.destination,
                attempt=out.attempts,
                status=None,
                error=f"bounced: {reason}",
                bounce=True,
            )
        session.flush()
        return True

    # ---------------------------------------------------------------- sending
    def mail_configured(self) -> bool:
        """This console can send mail: ``smtp`` and ``mail_from`` are both set."""
        return bool(self.settings.smtp_url and self.settings.mail_from)

    def send_mail(
        self,
        *,
        wait: float | None = 0.0,
        worker: str | None = None,
        stop: threading.Event | None = None,
    ) -> MailSendReport:
        """``mail send``: deliver the outbox's mail rows that are due (blocking; the
        watcher and ``mail fetch`` call it too), then say what still waits.

        ``wait``: seconds to keep going while a refused message comes due for its retry
        within that time (0: one pass); None: until nothing waits — every message sent or
        given up (``mail_give_up_after`` after it was queued or retried). ``stop`` (set by
        a signal handler) ends the waiting early. Raises UserError when this console has no
        ``smtp`` / ``mail_from``."""
        if not self.mail_configured():
            raise UserError(
                "no mail server: set --smtp URL / AGENT_CONSOLE_SMTP / smtp and "
                "--mail-from ADDRESS / AGENT_CONSOLE_MAIL_FROM / mail_from"
            )
        report = MailSendReport()
        deadline = None if wait is None else time.monotonic() + max(0.0, wait)
        while True:
            one = self.deliver_outbox(worker=worker, kinds=("mail",))
            report.sent += one.sent
            report.failed += one.failed
            report.lines += one.lines
            nxt = self.next_mail_retry()
            if nxt is None:
                break
            delay = (nxt - self.now()).total_seconds()
            if delay <= 0 and (one.sent or one.failed):
                continue  # more than one pass's worth was ready
            if deadline is not None and time.monotonic() + max(delay, 0) > deadline:
                report.gave_up_waiting = wait is not None and wait > 0
                break
            pause = max(0.05, min(delay, 1.0))
            if stop is not None:
                if stop.wait(pause):
                    report.gave_up_waiting = True
                    break
            else:
                time.sleep(pause)
        report.waiting, report.next_at = self.mail_waiting()
        if not report.waiting:
            report.gave_up_waiting = False
        report.failed_before = max(0, self.mail_failed_count() - len(report.failed))
        return report

    @staticmethod
    def _due_expr():  # type: ignore[no-untyped-def]
        """When a waiting row can next be claimed: ``available_at``, or the end of a live
        claim another sender holds (its lease), whichever is later."""
        return case(
            (
                col(OutboxMessage.lease_until) > col(OutboxMessage.available_at),
                col(OutboxMessage.lease_until),
            ),
            else_=col(OutboxMessage.available_at),
        )

    def _waiting_filter(self):  # type: ignore[no-untyped-def]
        return (
            OutboxMessage.kind == "mail",
            col(OutboxMessage.sent_at).is_(None),
            col(OutboxMessage.failed_at).is_(None),
        )

    def next_mail_retry(self) -> datetime | None:
        """When the earliest waiting mail row can be tried (UTC: its ``available_at``, or
        the end of another sender's live claim), None when none waits."""
        with self.read() as s:
            value = s.exec(select(func.min(self._due_expr())).where(*self._waiting_filter())).one()
        return _as_utc(value)

    def mail_waiting(self) -> tuple[int, datetime | None]:
        """(mail rows waiting to be sent — queued or retrying —, the earliest next attempt
        in UTC or None)."""
        with self.read() as s:
            n, nxt = s.exec(
                select(func.count(), func.min(self._due_expr())).where(*self._waiting_filter())
            ).one()
        return int(n), _as_utc(nxt)

    def mail_failed_count(self) -> int:
        """Outgoing mail given up on (refused for good, or bounced) that nobody dismissed:
        the header's "mail not sent" notice (DESIGN.md: the lowest of its notices)."""
        with self.read() as s:
            return int(
                s.exec(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        OutboxMessage.kind == "mail",
                        col(OutboxMessage.failed_at).is_not(None),
                        col(OutboxMessage.dismissed_at).is_(None),
                    )
                ).one()
            )

    def mail_outbox_counts(self) -> dict[str, int]:
        """Mail rows by state (``mail status``): ``pending`` (queued or retrying),
        ``sent``, ``failed`` (not dismissed), ``dismissed``."""
        out: dict[str, int] = {"pending": 0, "sent": 0, "failed": 0, "dismissed": 0}
        with self.read() as s:
            rows = s.exec(
                select(
                    col(OutboxMessage.sent_at).is_not(None),
                    col(OutboxMessage.failed_at).is_not(None),
                    col(OutboxMessage.dismissed_at).is_not(None),
                    func.count(),
                )
                .where(OutboxMessage.kind == "mail")
                .group_by(
                    col(OutboxMessage.sent_at).is_not(None),
                    col(OutboxMessage.failed_at).is_not(None),
                    col(OutboxMessage.dismissed_at).is_not(None),
                )
            ).all()
        for sent, failed, dismissed, n in rows:
            key = "dismissed" if failed and dismissed else "failed" if failed else (
                "sent" if sent else "pending"
            )
            out[key] += int(n)
        return out

    # ---------------------------------------------------------------- operations
    def _outbox_mail(self, row: OutboxMessage, key: str | None, now: datetime) -> OutboxMail:
        payload = row.payload or {}
        state = mail_state(row.sent_at, row.failed_at, row.last_error, row.dismissed_at)
        waiting = state in ("queued", "retrying")
        lease = _as_utc(row.lease_until)
        available = _as_utc(row.available_at)
        sending = waiting and lease is not None and lease > now
        next_at = None
        if waiting:
            next_at = max(available, lease) if (available and lease) else available
        return OutboxMail(
            id=int(row.id),  # type: ignore[arg-type]
            key=key or payload.get("key"),
            kind=str(payload.get("kind") or "?"),
            to=str(payload.get("to") or row.destination.removeprefix("mail:")),
            subject=str(payload.get("subject") or ""),
            attempts=int(row.attempts),
            state=state,
            created_at=_as_utc(row.created_at),  # type: ignore[arg-type]
            next_at=next_at,
            failed_at=_as_utc(row.failed_at),
            dismissed_at=_as_utc(row.dismissed_at),
            reason=" ".join((row.last_error or "").split()),
            sending=sending,
        )

    def mail_outbox(
        self, *, failed: bool = True, waiting: bool = True, dismissed: bool = False,
        limit: int = 200,
    ) -> list[OutboxMail]:
        """Outgoing mail that is not simply sent, for ``mail failed`` and the Mail screen:
        failures (latest first; ``dismissed`` adds the dismissed ones), then what waits
        (queued or retrying, soonest attempt first); at most ``limit`` of each."""
        now = self.now()
        out: list[OutboxMail] = []
        with self.read() as s:
            base = (
                select(OutboxMessage, Ticket.key)
                .outerjoin(Ticket, col(Ticket.id) == col(OutboxMessage.ticket_id))
                .where(OutboxMessage.kind == "mail")
            )
            if failed:
                q = base.where(col(OutboxMessage.failed_at).is_not(None))
                if not dismissed:
                    q = q.where(col(OutboxMessage.dismissed_at).is_(None))
                q = q.order_by(col(OutboxMessage.failed_at).desc(), col(OutboxMessage.id).desc())
                out += [self._outbox_mail(r, k, now) for r, k in s.exec(q.limit(limit))]
            if waiting:
                q = base.where(*self._waiting_filter()).order_by(
                    self._due_expr(), col(OutboxMessage.id)
                )
                out += [self._outbox_mail(r, k, now) for r, k in s.exec(q.limit(limit))]
        return out

    def _mail_row_for_update(self, s: Session, outbox_id: int) -> OutboxMessage:
        q = select(OutboxMessage).where(
            OutboxMessage.id == outbox_id, OutboxMessage.kind == "mail"
        )
        if self.engine.dialect.name == "postgresql":
            q = q.with_for_update()
        row = s.exec(q).first()
        if row is None:
            raise NotFound(
                f"no outgoing mail {outbox_id} (see `agent-console mail failed list`)"
            )
        return row

    def _refuse_in_rehearsal(self, doing: str) -> None:
        if self.settings.at is not None:
            raise UserError(f"a rehearsal (--at) {doing}: nothing is sent under --at")

    def retry_mail(self, outbox_id: int, *, agent: str | None = None) -> OutboxMail:
        """Send an outgoing mail again as soon as a sender runs (``mail failed retry ID``,
        ``r`` on the Mail screen): a failed one (given up or bounced; dismissed or not) is
        queued again with a fresh give-up time (``mail_give_up_after`` from now) and its
        backoff starting over; one waiting for its retry is tried now. A person's action
        (issue 11: ``agent`` or the acting agent; PermissionDenied without one), written as
        a ``mail_retried`` event on the ticket. Raises NotFound (no such mail), UserError
        (already sent, being sent right now, a rehearsal)."""
        self._refuse_in_rehearsal("retries no mail")
        now = self.now()
        with self.write() as s:
            me = self.acting_agent(s, agent)
            row = self._mail_row_for_update(s, outbox_id)
            state = mail_state(row.sent_at, row.failed_at, row.last_error, row.dismissed_at)
            lease = _as_utc(row.lease_until)
            if state == "sent":
                raise UserError(f"mail {outbox_id} was sent; nothing to retry")
            if state in ("queued", "retrying") and lease is not None and lease > now:
                raise UserError(f"mail {outbox_id} is being sent right now; look again shortly")
            previous = row.last_error
            if state in ("failed", "dismissed"):
                row.failed_at = None
                row.sent_at = None  # a bounce: the server took it, the mailbox did not
                row.dismissed_at = None
                row.retried_at = now
                row.attempts = 0
            row.available_at = now
            row.claimed_by = None
            row.lease_until = None
            s.add(row)
            if row.ticket_id is not None:
                self.log(
                    s,
                    row.ticket_id,
                    "mail_retried",
                    agent_id=me.id,
                    outbox=row.id,
                    destination=row.destination,
                    was=state,
                    error=previous,
                )
            s.flush()
            key = s.get(Ticket, row.ticket_id).key if row.ticket_id else None  # type: ignore[union-attr]
            return self._outbox_mail(row, key, now)

    def dismiss_failed_mail(
        self, outbox_id: int | None = None, *, agent: str | None = None
    ) -> list[int]:
        """Dismiss failed outgoing mail (``mail failed dismiss ID`` / ``--all``, ``d`` on the
        Mail screen): the failure stays on the ticket (its ✉ state, its history) but the
        header no longer counts it. ``outbox_id`` None: every failure nobody dismissed.
        A person's action (issue 11), one ``mail_dismissed`` event per message on its
        ticket. Returns the ids dismissed. Raises NotFound, UserError (that mail did not
        fail, or was already dismissed)."""
        now = self.now()
        done: list[int] = []
        with self.write() as s:
            me = self.acting_agent(s, agent)
            if outbox_id is not None:
                row = self._mail_row_for_update(s, outbox_id)
                state = mail_state(row.sent_at, row.failed_at, row.last_error, row.dismissed_at)
                if state == "dismissed":
                    raise UserError(f"mail {outbox_id} was already dismissed")
                if state != "failed":
                    raise UserError(
                        f"mail {outbox_id} did not fail (it is {state}); only failed mail "
                        "is dismissed"
                    )
                rows = [row]
            else:
                q = select(OutboxMessage).where(
                    OutboxMessage.kind == "mail",
                    col(OutboxMessage.failed_at).is_not(None),
                    col(OutboxMessage.dismissed_at).is_(None),
                ).order_by(col(OutboxMessage.id))
                if self.engine.dialect.name == "postgresql":
                    q = q.with_for_update()
                rows = list(s.exec(q))
            for row in rows:
                row.dismissed_at = now
                s.add(row)
                done.append(int(row.id))  # type: ignore[arg-type]
                if row.ticket_id is not None:
                    self.log(
                        s,
                        row.ticket_id,
                        "mail_dismissed",
                        agent_id=me.id,
                        outbox=row.id,
                        destination=row.destination,
                        error=row.last_error,
                    )
        return done


def _as_utc(value: Any) -> datetime | None:
    """A stored instant as an aware UTC datetime (SQLite aggregates come back as text)."""
    from datetime import UTC

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class MailBoard:
    """What the Mail screen shows, read in one go (plain data for the widgets):
    ``mailboxes`` (``MailboxStatus`` of desk/mail_in.py, per mailbox fetched), ``outbox``
    (:meth:`MailOutMixin.mail_outbox`: failed, then waiting), ``counts``
    (:meth:`MailOutMixin.mail_outbox_counts`), ``quarantine`` (``QuarantineRow``, not yet
    read again), ``failed`` (the header's count), ``mailbox`` (the configured ``imap``
    mailbox's name, None when none) and ``sends`` (this console has ``smtp`` and
    ``mail_from``)."""

    mailboxes: list[Any]
    outbox: list[OutboxMail]
    counts: dict[str, int]
    quarantine: list[Any]
    failed: int
    mailbox: str | None
    sends: bool


def mail_board(desk: Any, *, limit: int = 200) -> MailBoard:
    """Read the Mail screen's board from ``desk`` (blocking: a worker). Raises UserError
    when the database cannot be read."""
    mailbox = None
    if desk.settings.imap_url:
        try:
            mailbox = desk.imap_target().name
        except UserError:
            mailbox = "(the --imap URL is not valid: see `agent-console mail status`)"
    counts = desk.mail_outbox_counts()
    return MailBoard(
        mailboxes=desk.mail_status(),
        outbox=desk.mail_outbox(limit=limit),
        counts=counts,
        quarantine=desk.quarantine_list()[:limit],
        failed=counts["failed"],
        mailbox=mailbox,
        sends=desk.mail_configured(),
    )

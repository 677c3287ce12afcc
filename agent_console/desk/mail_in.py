"""Inbound e-mail (issue 14): a mailbox's messages become tickets and customer messages.

One message = one transaction, under the mailbox's progress row (locked: ``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite write transactions are serialized): the ticket or the
follow-up, its ``mail_message`` row (the unique Message-ID: exactly once), attachments,
participants, the receipt (mailout's ``queue_receipt``, same transaction) and the advance of
the mailbox's last UID. The message is marked ``\\Seen`` only after that commit. A crash
anywhere, a restart or a second fetcher on the same mailbox therefore never makes a ticket
twice and never skips a message (a second fetcher finds the UID already done and moves on).

Threading (rules of the issue): ``In-Reply-To`` / ``References`` against every Message-ID
we sent or received; else the ticket key in the subject (``[SUP-1234]``) — only when the
sender is the requester or a participant. A reply to a pending ticket resumes its clock
(status open), to a resolved one reopens it, to a closed one opens a new ticket that says
which one it follows. Delivery failure reports go to mailout's ``mark_bounced`` and open no
ticket. What cannot be read is quarantined with a one-line reason (``mail quarantine``).
Everything the fetcher writes is done as the system actor ``system:mail``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, func, select

from agent_console.channels.imap import FetchedMail, ImapError, Mailbox, parse_imap_url
from agent_console.desk.deadlines import clock_of, sync_cycles, write_clock
from agent_console.desk.mail_out import receipt_refusal
from agent_console.desk.mail_parse import (
    ParsedMail,
    Unreadable,
    parse_header_only,
    parse_mail,
    trim_quoted,
)
from agent_console.desk.outbox import insert_ignore
from agent_console.desk.ticket_reads import attachment_rows
from agent_console.desk.tickets import TicketsMixin
from agent_console.errors import NotFound, UserError
from agent_console.redact import register_secret
from agent_console.store.models import (
    Customer,
    MailAttachment,
    MailMessage,
    MailProgress,
    MailQuarantine,
    Message,
    MessageKind,
    Organization,
    Priority,
    Status,
    Ticket,
    TicketParticipant,
)

__all__ = ["FetchReport", "IngestResult", "MailInMixin", "MailboxStatus", "QuarantineRow"]

#: the ticket key in a subject: ``[SUP-1234]``
SUBJECT_KEY = re.compile(r"\[([A-Z]{2,10}-\d{1,12})\]")


@dataclass(frozen=True)
class IngestResult:
    """What one message became: ``outcome`` is ``ticket`` (new ticket ``key``),
    ``follow_up`` (added to ``key``), ``bounce``, ``ignored``, ``quarantined``,
    ``duplicate`` (its Message-ID was already recorded) or ``done`` (another fetcher
    committed this UID first); ``detail``: one line."""

    outcome: str
    key: str | None = None
    detail: str = ""
    receipt: bool = False


@dataclass
class FetchReport:
    """One fetch pass: counts by outcome, and one line per message for the CLI."""

    mailbox: str
    counts: dict[str, int] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    def add(self, uid: int | None, r: IngestResult) -> None:
        self.counts[r.outcome] = self.counts.get(r.outcome, 0) + 1
        where = f"uid {uid}" if uid is not None else "message"
        what = {
            "ticket": f"new ticket {r.key}" + (" (receipt queued)" if r.receipt else ""),
            "follow_up": f"added to {r.key}",
            "bounce": "delivery failure report",
            "ignored": "ignored",
            "quarantined": "quarantined",
            "duplicate": "already received",
            "done": "already done by another fetcher",
        }[r.outcome]
        self.lines.append(f"{where}: {what}" + (f" — {r.detail}" if r.detail else ""))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        if not self.counts:
            return f"{self.mailbox}: nothing new"
        parts = ", ".join(
            f"{n} {_OUTCOME_COUNTED[k][n != 1]}" for k, n in sorted(self.counts.items())
        )
        return f"{self.mailbox}: {parts}"


#: an outcome counted in :meth:`FetchReport.summary`: (one, several)
_OUTCOME_COUNTED = {
    "ticket": ("new ticket", "new tickets"),
    "follow_up": ("follow-up", "follow-ups"),
    "bounce": ("bounce", "bounces"),
    "ignored": ("ignored", "ignored"),
    "quarantined": ("quarantined", "quarantined"),
    "duplicate": ("already received", "already received"),
    "done": ("done by another fetcher", "done by another fetcher"),
}


@dataclass(frozen=True)
class MailboxStatus:
    """``mail status``: one mailbox's progress and counters; instants UTC."""

    mailbox: str
    uidvalidity: int | None
    last_uid: int
    last_fetch_at: datetime | None
    last_error: str | None
    received: int
    tickets: int
    follow_ups: int
    bounces: int
    ignored: int
    quarantined: int
    quarantine_waiting: int

    def as_json(self) -> dict[str, Any]:
        from agent_console.desk.tickets import iso

        d = dict(self.__dict__)
        d["last_fetch_at"] = iso(self.last_fetch_at)
        return d


@dataclass(frozen=True)
class QuarantineRow:
    """One quarantined message (``mail quarantine list``)."""

    id: int
    mailbox: str
    uid: int | None
    sender: str
    subject: str
    reason: str
    size: int
    received_at: datetime | None
    retried_at: datetime | None
    ticket: str | None

    def as_json(self) -> dict[str, Any]:
        from agent_console.desk.tickets import iso

        d = dict(self.__dict__)
        d["received_at"] = iso(self.received_at)
        d["retried_at"] = iso(self.retried_at)
        return d


def _one_line(text: str, limit: int = 500) -> str:
    return " ".join(str(text).split())[:limit]


class MailInMixin(TicketsMixin):
    """Fetching a mailbox into tickets (see the module docstring)."""

    # ------------------------------------------------------------------ settings
    def imap_target(self):  # type: ignore[no-untyped-def]
        url = self.settings.imap_url
        if not url:
            raise UserError(
                "no mailbox configured: give --imap imap://user@host/INBOX, "
                "AGENT_CONSOLE_IMAP or `imap = ...` in the config file"
            )
        try:
            return parse_imap_url(url)
        except ValueError as exc:
            raise UserError(f"--imap / imap: {exc}") from None

    def _our_address(self) -> str:
        return parseaddr(getattr(self.settings, "mail_from", None) or "")[1].lower()

    def open_mailbox(self) -> Mailbox:
        """A connected :class:`Mailbox` for the configured ``imap`` URL (UserError with
        one line when the server refuses)."""
        if self.rehearsal:
            raise UserError("a rehearsal (--at) reads no mailbox")
        target = self.imap_target()
        register_secret(self.settings.imap_password)  # never printed or logged
        mb = Mailbox(
            target,
            self.settings.imap_password,
            ca_file=self.settings.imap_ca_file,
            timeout=self.settings.imap_timeout,
        )
        try:
            mb.connect()
        except ImapError as exc:
            raise UserError(f"{exc} (check --imap, AGENT_CONSOLE_IMAP_PASSWORD)") from None
        try:
            for folder in self._folders():
                if folder is not None:
                    mb.ensure_folder(folder)
        except ImapError as exc:
            mb.close()
            raise UserError(
                f"{exc} (check imap_processed_folder / imap_quarantine_folder)"
            ) from None
        return mb

    def _folders(self) -> tuple[str | None, str | None]:
        """(processed folder, quarantine folder) — where messages go once committed; None:
        they stay in the mailbox, flagged \\Seen. UserError when one is the mailbox read."""
        processed = (self.settings.imap_processed_folder or "").strip() or None
        quarantine = (self.settings.imap_quarantine_folder or "").strip() or None
        mailbox = self.imap_target().mailbox
        for what, folder in (
            ("imap_processed_folder", processed),
            ("imap_quarantine_folder", quarantine),
        ):
            if folder is not None and folder.upper() == mailbox.upper():
                raise UserError(f"{what} {folder!r} is the mailbox being read; name another folder")
        return processed, quarantine

    @property
    def rehearsal(self) -> bool:
        return self.settings.at is not None

    # ------------------------------------------------------------------ fetching
    def fetch_mail_once(self, mb: Mailbox | None = None) -> FetchReport:
        """One pass over the configured mailbox: every message above the last committed
        UID becomes a ticket / follow-up / bounce / quarantine row, then is marked seen.
        Raises UserError when the server or the database fails (nothing is skipped: the
        next pass starts after the last committed UID)."""
        own = mb is None
        mb = mb or self.open_mailbox()
        try:
            return self._fetch_pass(mb)
        finally:
            if own:
                mb.close()

    def _fetch_pass(self, mb: Mailbox) -> FetchReport:
        name = mb.target.name
        report = FetchReport(name)
        try:
            mb.refresh()
            last = self._start_pass(name, mb.uidvalidity)
            if last:
                self._settle_leftovers(mb, name, last)
            uids = mb.uids_after(last)
            batch: list[FetchedMail] = []
            size = 0

            def commit() -> None:
                results = self.ingest_batch(batch, mailbox=name, uidvalidity=mb.uidvalidity)
                for fm, r in zip(batch, results, strict=True):
                    report.add(fm.uid, r)
                # only after the commit; "done" = another fetcher committed it and settles it
                self._settle(
                    mb,
                    [fm.uid for fm, r in zip(batch, results, strict=True) if r.outcome != "done"],
                    {
                        fm.uid
                        for fm, r in zip(batch, results, strict=True)
                        if r.outcome == "quarantined"
                    },
                )
                batch.clear()

            for fm in mb.fetch(uids, max_bytes=self.settings.max_mail_bytes):
                batch.append(fm)
                size += fm.size
                if len(batch) >= self.mail_batch or size >= 8 * 2**20:
                    commit()
                    size = 0
            if batch:
                commit()
        except ImapError as exc:
            self._note_error(name, str(exc))
            raise UserError(str(exc)) from None
        self._note_fetched(name)
        return report

    def _settle(self, mb: Mailbox, uids: list[int], quarantined: set[int]) -> None:
        """What happens to committed messages in the mailbox: moved to the processed /
        quarantine folder when one is set, else flagged \\Seen where they are."""
        processed_folder, quarantine_folder = self._folders()
        for group, folder in (
            ([u for u in uids if u not in quarantined], processed_folder),
            ([u for u in uids if u in quarantined], quarantine_folder),
        ):
            if folder is not None:
                mb.move(group, folder)
            else:
                mb.mark_seen(group)

    def _settle_leftovers(self, mb: Mailbox, name: str, last: int) -> None:
        """Messages at or below the last committed UID that a crash (or a fetcher that
        died) left unmarked / unmoved: settle them now. With a processed folder, whatever
        is still in the mailbox (undeleted) was committed and not moved, except quarantined
        messages that stay; without one, the unseen ones. Quarantined messages to move are
        found by their quarantine rows (this mailbox, this UIDVALIDITY)."""
        processed_folder, quarantine_folder = self._folders()
        left = mb.undeleted_up_to(last) if processed_folder else mb.unseen_up_to(last)
        quarantined: set[int] = set()
        if left or quarantine_folder:
            with self.read() as s:
                quarantined = {
                    int(u)
                    for u in s.exec(
                        select(MailQuarantine.uid).where(
                            MailQuarantine.mailbox == name[:320],
                            MailQuarantine.uidvalidity == mb.uidvalidity,
                            col(MailQuarantine.uid).is_not(None),
                            col(MailQuarantine.uid) <= last,
                        )
                    )
                    if u is not None
                }
        if quarantine_folder and quarantined:
            left = sorted(set(left) | set(mb.undeleted_among(sorted(quarantined))))
        self._settle(mb, left, quarantined)

    def fetch_mail_forever(
        self,
        stop: threading.Event,
        emit: Callable[[str], None],
        *,
        after_pass: Callable[[FetchReport], None] | None = None,
        slice_seconds: float = 1.0,
    ) -> None:
        """The long-running fetcher (``mail fetch``, ``watch``): a pass, then wait for new
        mail — IDLE when the server offers it (renewed every ``imap_idle`` seconds), else
        a look every ``imap_poll`` seconds — until ``stop`` is set. A failing server is
        reported once per failure and retried after ``imap_retry`` seconds."""
        mb: Mailbox | None = None
        while not stop.is_set():
            try:
                if mb is None:
                    mb = self.open_mailbox()
                    emit(
                        f"mail: reading {mb.target.name} "
                        + (
                            "(IDLE)"
                            if mb.has_idle
                            else f"(polling every {self.settings.imap_poll:g} s)"
                        )
                    )
                report = self._fetch_pass(mb)
                for line in report.lines:
                    emit(f"  {line}")
                if after_pass is not None:
                    after_pass(report)
                idle = mb.has_idle
                span = self.settings.imap_idle if idle else self.settings.imap_poll
                waited = 0.0
                while not stop.is_set() and waited < span:
                    step = min(slice_seconds, span - waited)
                    if idle:
                        if mb.wait(step):
                            break
                    else:
                        if stop.wait(step):
                            break
                    waited += step
            except (UserError, ImapError) as exc:
                emit(f"mail: {exc}; retrying in {self.settings.imap_retry:g} s")
                if mb is not None:
                    mb.close()
                    mb = None
                stop.wait(self.settings.imap_retry)
        if mb is not None:
            mb.close()

    # ------------------------------------------------------------------ progress
    def _lock_progress(self, s: Session, mailbox: str) -> MailProgress:
        insert_ignore(
            s,
            MailProgress,
            {
                "mailbox": mailbox,
                "last_uid": 0,
                "received": 0,
                "tickets": 0,
                "follow_ups": 0,
                "bounces": 0,
                "ignored": 0,
                "quarantined": 0,
            },
            returning=None,
        )
        return s.exec(
            select(MailProgress)
            .where(MailProgress.mailbox == mailbox)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()

    def _start_pass(self, mailbox: str, uidvalidity: int) -> int:
        """The last committed UID of ``mailbox``; a changed UIDVALIDITY starts over from
        UID 0 (Message-IDs keep what was already received from coming twice)."""
        with self.write() as s:
            p = self._lock_progress(s, mailbox)
            if p.uidvalidity != uidvalidity:
                p.uidvalidity = uidvalidity
                p.last_uid = 0
            return int(p.last_uid)

    def _note_fetched(self, mailbox: str) -> None:
        with self.write() as s:
            p = self._lock_progress(s, mailbox)
            p.last_fetch_at = self.now()
            p.last_error = None

    def _note_error(self, mailbox: str, error: str) -> None:
        try:
            with self.write() as s:
                p = self._lock_progress(s, mailbox)
                p.last_error = _one_line(error, 1000)
        except UserError:
            pass

    # ------------------------------------------------------------------ one message
    #: messages committed together (one transaction; what arrives alone commits alone)
    mail_batch = 25

    def ingest_fetched(self, fm: FetchedMail, *, mailbox: str, uidvalidity: int) -> IngestResult:
        """:meth:`ingest_batch` of one message."""
        return self.ingest_batch([fm], mailbox=mailbox, uidvalidity=uidvalidity)[0]

    def ingest_batch(
        self, fms: list[FetchedMail], *, mailbox: str, uidvalidity: int
    ) -> list[IngestResult]:
        """Turn fetched messages (ascending UIDs) into what they are, in one transaction
        that also advances the mailbox's last UID under its locked progress row (see the
        module docstring). A UID already committed (another fetcher) is ``done``."""
        out: list[IngestResult] = []
        with self.write() as s:
            p = self._lock_progress(s, mailbox)
            # ticket numbers before any ticket row (a follow-up locks its ticket): the
            # order every writer of new tickets follows (desk/tickets.py)
            self.lock_ticket_numbers(s)
            actor_id = self.system_actor(s, "mail").id
            todo = [fm for fm in fms if not (p.uidvalidity == uidvalidity and fm.uid <= p.last_uid)]
            parsed = {fm.uid: self._parse(fm.raw) for fm in todo}
            mids = [m.message_id for m in parsed.values() if isinstance(m, ParsedMail)]
            known: set[str] = set(
                s.exec(
                    select(MailMessage.message_id).where(col(MailMessage.message_id).in_(mids))
                ).all()
                if mids
                else ()
            )
            with self.rollup_once(s):
                for fm in fms:
                    if fm.uid not in parsed:
                        out.append(IngestResult("done"))
                        continue
                    p.uidvalidity = uidvalidity
                    p.last_uid = fm.uid
                    p.received += 1
                    r = self._ingest_in(
                        s,
                        fm.raw,
                        header=fm.header,
                        size=fm.size,
                        received_at=fm.internaldate,
                        mailbox=mailbox,
                        uidvalidity=uidvalidity,
                        uid=fm.uid,
                        actor_id=actor_id,
                        parsed=parsed[fm.uid],
                        known=known,
                    )
                    out.append(r)
                    if r.outcome == "ticket":
                        p.tickets += 1
                    elif r.outcome == "follow_up":
                        p.follow_ups += 1
                    elif r.outcome == "bounce":
                        p.bounces += 1
                    elif r.outcome == "quarantined":
                        p.quarantined += 1
                    else:
                        p.ignored += 1
        return out

    def _parse(self, raw: bytes | None) -> ParsedMail | Unreadable | None:
        """A fetched message read (None: fetched without its body, too large;
        :class:`Unreadable`: why it cannot become a ticket)."""
        if raw is None:
            return None
        try:
            return parse_mail(
                raw,
                max_body_chars=self.settings.max_body_chars,
                keep_attachment_bytes=self.settings.max_attachment_bytes,
            )
        except Unreadable as exc:
            return exc

    def ingest_raw(
        self, raw: bytes, *, received_at: datetime | None = None, mailbox: str = "(direct)"
    ) -> IngestResult:
        """Ingest one message given as bytes (tests, ``quarantine retry``)."""
        with self.write() as s:
            return self._ingest_in(
                s,
                raw,
                header=b"",
                size=len(raw),
                received_at=received_at,
                mailbox=mailbox,
                uidvalidity=None,
                uid=None,
            )

    def _quarantine(
        self,
        s: Session,
        reason: str,
        *,
        raw: bytes | None,
        header: bytes,
        size: int,
        received_at: datetime | None,
        mailbox: str,
        uidvalidity: int | None,
        uid: int | None,
    ) -> IngestResult:
        mid, sender, subject = parse_header_only(raw if raw is not None else header)
        if raw is not None and len(raw) > self.settings.max_mail_bytes:
            raw = None
        s.add(
            MailQuarantine(
                mailbox=mailbox[:320],
                uidvalidity=uidvalidity,
                uid=uid,
                message_id=mid,
                sender=sender,
                subject=_one_line(subject, 998),
                reason=_one_line(reason, 1000),
                size=size,
                raw=raw,
                received_at=received_at,
                created_at=self.now(),
            )
        )
        return IngestResult("quarantined", detail=_one_line(reason, 200))

    def _ingest_in(
        self,
        s: Session,
        raw: bytes | None,
        *,
        header: bytes,
        size: int,
        received_at: datetime | None,
        mailbox: str,
        uidvalidity: int | None,
        uid: int | None,
        actor_id: int | None = None,
        parsed: ParsedMail | Unreadable | None = None,
        known: set[str] | None = None,
    ) -> IngestResult:
        """One message in ``s``; ``parsed``: ``raw`` already read (:meth:`_parse`);
        ``known``: the Message-IDs already recorded, read for the whole batch at once (the
        ones this batch records are added to it), else looked up here."""
        self.lock_ticket_numbers(s)  # before a follow-up locks its ticket (idempotent)
        where = {
            "raw": raw,
            "header": header,
            "size": size,
            "received_at": received_at,
            "mailbox": mailbox,
            "uidvalidity": uidvalidity,
            "uid": uid,
        }
        if raw is None:
            return self._quarantine(
                s,
                f"message of {size:,} bytes is larger than max_mail_bytes "
                f"({self.settings.max_mail_bytes:,}); not read",
                **where,
            )
        m = parsed if parsed is not None else self._parse(raw)
        if isinstance(m, Unreadable):
            return self._quarantine(s, str(m), **where)
        assert m is not None  # noqa: S101 - raw is not None
        now = self.now()
        # the arrival (INTERNALDATE) opens the ticket; a server clock ahead of ours never
        # opens one in the future
        at = min(received_at, now) if received_at is not None else now
        if known is not None:
            dup: object = m.message_id if m.message_id in known else None
            known.add(m.message_id)  # recorded below, whatever the message turns out to be
        else:
            dup = s.exec(
                select(MailMessage.id).where(MailMessage.message_id == m.message_id)
            ).first()
        if dup is not None:
            return IngestResult("duplicate", detail=f"Message-ID {m.message_id[:80]}")
        record = MailMessage(
            message_id=m.message_id,
            direction="in",
            address=m.sender_email[:320],
            mailbox=mailbox[:320],
            uidvalidity=uidvalidity,
            uid=uid,
            created_at=now,
            received_at=received_at,
        )
        if actor_id is None:
            actor_id = self.system_actor(s, "mail").id
        if m.is_bounce:
            s.add(record)
            hit = None
            for original in m.bounce_of or []:
                # mailout's (desk/mail_out.py): the outbox row failed, an event on its ticket
                if self.mark_bounced(s, original, m.bounce_reason, now):  # type: ignore[attr-defined]
                    hit = original
                    break
            return IngestResult(
                "bounce",
                detail=(f"for {hit[:80]}: " if hit else "matches nothing we sent: ")
                + _one_line(m.bounce_reason, 150),
            )
        ours = self._our_address()
        if ours and m.sender_email == ours:
            s.add(record)
            return IngestResult("ignored", detail="sent from our own address")
        ticket = self._thread_target(s, m)
        if ticket is not None and ticket.status != Status.CLOSED.value:
            msg = self._follow_up(s, ticket, m, at, actor_id)  # type: ignore[arg-type]
            record.ticket_id, record.ticket_message_id = ticket.id, msg.id
            s.add(record)
            s.flush()
            self._attach(s, ticket.id, msg.id, record.id, m, now)  # type: ignore[arg-type]
            return IngestResult("follow_up", key=ticket.key)
        follows = ticket
        org = self._org_for(s, m.sender_email)
        cust = self.customer_for(s, m.sender_email, m.sender_name or None, org)
        details: dict[str, Any] = {"message_id": m.message_id[:200]}
        if follows is not None:
            details["follows"] = follows.key
        new, msg = self.open_ticket_in(
            s,
            subject=m.subject or "(no subject)",
            body=m.body,
            customer=cust,
            organization=org,
            priority=Priority.parse(self.settings.mail_priority),
            channel="email",
            opened_at=at,
            tier=self.settings.mail_tier,
            event_details=details,
            agent_id=actor_id,
        )
        if follows is not None:
            self.log(s, follows.id, "followed_up", agent_id=actor_id, at=at, by=new.key)
        record.ticket_id, record.ticket_message_id = new.id, msg.id
        s.add(record)
        s.flush()
        self._add_participants(s, new, m, now)
        self._attach(s, new.id, msg.id, record.id, m, now)  # type: ignore[arg-type]
        receipt = self._receipt(s, new, m, now, actor_id)  # type: ignore[arg-type]
        return IngestResult(
            "ticket",
            key=new.key,
            receipt=receipt,
            detail=f"follows closed {follows.key}" if follows is not None else "",
        )

    # ------------------------------------------------------------------ helpers
    def _org_for(self, s: Session, email: str) -> Organization | None:
        """The organization whose ``domain`` is the sender's (read once per domain and
        transaction: a batch of mail often comes from a few domains)."""
        domain = email.rsplit("@", 1)[-1]
        tx = s.get_transaction()
        cached = s.info.get("orgs_by_domain")
        if cached is None or cached[0] is not tx:
            cached = s.info["orgs_by_domain"] = (tx, {})
        if domain not in cached[1]:
            cached[1][domain] = s.exec(
                select(Organization).where(func.lower(Organization.domain) == domain)
            ).first()
        return cached[1][domain]

    def _thread_target(self, s: Session, m: ParsedMail) -> Ticket | None:
        ids = m.thread_ids
        if ids:
            rows = s.exec(
                select(MailMessage.message_id, MailMessage.ticket_id).where(
                    col(MailMessage.message_id).in_(ids[:200]),
                    col(MailMessage.ticket_id).is_not(None),
                )
            ).all()
            by_id = {mid: tid for mid, tid in rows}
            for mid in ids:
                if mid in by_id:
                    return s.get(Ticket, by_id[mid])
        found = SUBJECT_KEY.search(m.subject.upper())
        if found:
            t = s.exec(select(Ticket).where(Ticket.key == found.group(1))).first()
            if t is not None and self._is_party(s, t, m.sender_email):
                return t
        return None

    def _is_party(self, s: Session, t: Ticket, email: str) -> bool:
        requester = s.get(Customer, t.requester_id)
        if requester is not None and requester.email == email:
            return True
        return (
            s.exec(
                select(TicketParticipant.id)
                .join(Customer, col(Customer.id) == TicketParticipant.customer_id)
                .where(TicketParticipant.ticket_id == t.id, Customer.email == email)
            ).first()
            is not None
        )

    def _add_participants(self, s: Session, t: Ticket, m: ParsedMail, now: datetime) -> None:
        ours = self._our_address()
        requester = s.get(Customer, t.requester_id)
        for name, email in m.cc[:50]:
            if email == ours or (requester is not None and email == requester.email):
                continue
            cust = self.customer_for(s, email, name or None, None)
            insert_ignore(
                s,
                TicketParticipant,
                {
                    "ticket_id": t.id,
                    "customer_id": cust.id,
                    "added_at": now,
                },
                returning=None,
            )

    def _follow_up(
        self, s: Session, stale: Ticket, m: ParsedMail, at: datetime, actor_id: int
    ) -> Message:
        """The customer's message on an open / pending / resolved ticket, its status moved
        by the ticket clock (pending → open resumes it, resolved → open reopens it)."""
        t = s.exec(
            select(Ticket)
            .where(Ticket.id == stale.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        # never before what the ticket already holds: the thread stays in order and the
        # clock moves forward (INTERNALDATE has whole seconds; a reply may be newer)
        at = max(at, t.updated_at)
        cust = self.customer_for(s, m.sender_email, m.sender_name or None, None)
        s.execute(
            update(Ticket)
            .where(col(Ticket.id) == t.id)
            .values(version=t.version + 1)
            .execution_options(synchronize_session=False)
        )
        t.version += 1
        msg = Message(
            ticket_id=t.id,  # type: ignore[arg-type]
            kind=MessageKind.CUSTOMER.value,
            author_customer_id=cust.id,
            body=trim_quoted(m.body),
            created_at=at,
        )
        s.add(msg)
        s.flush()
        self.log(
            s, t.id, "customer_replied", agent_id=actor_id, at=at, via="email", chars=len(msg.body)
        )
        automatic = (m.headers.get("auto-submitted", "no").lower() or "no") != "no"
        cur = Status(t.status)
        if not automatic and cur in (Status.PENDING, Status.RESOLVED):
            clock = clock_of(t, self.policy_for_ticket(s, t)).set_status(Status.OPEN.value, at)
            t.status = Status.OPEN.value
            t.is_open = True
            write_clock(t, clock)
            sync_cycles(s, t.id, clock, at)  # type: ignore[arg-type]
            kind = "reopened" if cur is Status.RESOLVED else "status"
            self.log(
                s,
                t.id,
                kind,
                agent_id=actor_id,
                at=at,  # type: ignore[arg-type]
                **{"from": cur.value, "to": "open", "reason": "customer replied"},
            )
        t.updated_at = at
        self._add_participants(s, t, m, at)
        return msg

    def _attach(
        self,
        s: Session,
        ticket_id: int,
        message_id: int | None,
        mail_id: int | None,
        m: ParsedMail,
        now: datetime,
    ) -> None:
        for a in m.attachments:
            s.add(
                MailAttachment(
                    ticket_id=ticket_id,
                    ticket_message_id=message_id,
                    mail_message_id=mail_id,
                    filename=a.filename,
                    content_type=a.content_type,
                    size=a.size,
                    content=a.content,
                    created_at=now,
                )
            )

    def _receipt(self, s: Session, t: Ticket, m: ParsedMail, now: datetime, actor_id: int) -> bool:
        """Queue the automatic receipt (mailout's loop guard and rate limit decide); none
        without ``mail_from`` (a receipt comes from our address)."""
        if not self._our_address():
            return False
        reason = receipt_refusal(m.headers, m.sender_email, self._our_address())
        if reason is not None:
            self.log(
                s,
                t.id,
                "receipt_withheld",
                agent_id=actor_id,
                at=now,  # type: ignore[arg-type]
                reason=_one_line(reason, 200),
            )
            return False
        return bool(
            self.queue_receipt(  # type: ignore[attr-defined]
                s,
                t,
                to=m.sender_email,
                in_reply_to=m.message_id,
                references=[*m.references, m.message_id],
                now=now,
            )
        )

    # ------------------------------------------------------------------ status & quarantine
    def mail_status(self) -> list[MailboxStatus]:
        """Every mailbox fetched so far, with its progress and counters."""
        with self.read() as s:
            waiting = dict(
                s.exec(
                    select(MailQuarantine.mailbox, func.count())
                    .where(col(MailQuarantine.retried_at).is_(None))
                    .group_by(MailQuarantine.mailbox)
                ).all()
            )
            out = []
            for p in s.exec(select(MailProgress).order_by(MailProgress.mailbox)):
                out.append(
                    MailboxStatus(
                        mailbox=p.mailbox,
                        uidvalidity=p.uidvalidity,
                        last_uid=int(p.last_uid),
                        last_fetch_at=p.last_fetch_at,
                        last_error=p.last_error,
                        received=p.received,
                        tickets=p.tickets,
                        follow_ups=p.follow_ups,
                        bounces=p.bounces,
                        ignored=p.ignored,
                        quarantined=p.quarantined,
                        quarantine_waiting=int(waiting.get(p.mailbox, 0)),
                    )
                )
            return out

    def quarantine_list(self, *, all_rows: bool = False) -> list[QuarantineRow]:
        """Quarantined messages, oldest first (``all_rows``: retried ones too)."""
        with self.read() as s:
            q = select(MailQuarantine, Ticket.key).outerjoin(
                Ticket, col(Ticket.id) == MailQuarantine.ticket_id
            )
            if not all_rows:
                q = q.where(col(MailQuarantine.retried_at).is_(None))
            return [
                QuarantineRow(
                    id=r.id,
                    mailbox=r.mailbox,
                    uid=r.uid,
                    sender=r.sender,  # type: ignore[arg-type]
                    subject=r.subject,
                    reason=r.reason,
                    size=int(r.size),
                    received_at=r.received_at,
                    retried_at=r.retried_at,
                    ticket=key,
                )
                for r, key in s.exec(q.order_by(col(MailQuarantine.id)))
            ]

    def quarantine_retry(self, qid: int) -> IngestResult:
        """Read a quarantined message again (after a fix or a raised limit): what it
        became; it stays quarantined (with the new reason) when still unreadable."""
        with self.write() as s:
            q = s.exec(
                select(MailQuarantine).where(MailQuarantine.id == qid).with_for_update()
            ).first()
            if q is None:
                raise NotFound(
                    f"no quarantined message {qid} (see `agent-console mail quarantine list`)"
                )
            if q.retried_at is not None:
                raise UserError(f"quarantined message {qid} was already retried")
            if q.raw is None:
                raise UserError(
                    f"quarantined message {qid} was too large to keep ({q.size:,} bytes); "
                    "raise max_mail_bytes and move it back to the mailbox's unread mail"
                )
            try:
                parse_mail(
                    q.raw,
                    max_body_chars=self.settings.max_body_chars,
                    keep_attachment_bytes=self.settings.max_attachment_bytes,
                )
            except Unreadable as exc:
                q.reason = _one_line(str(exc), 1000)  # still unreadable: the reason now
                return IngestResult("quarantined", detail=_one_line(str(exc), 200))
            r = self._ingest_in(
                s,
                q.raw,
                header=b"",
                size=len(q.raw),
                received_at=q.received_at,
                mailbox=q.mailbox,
                uidvalidity=q.uidvalidity,
                uid=q.uid,
            )
            q.retried_at = self.now()
            if r.key:
                q.ticket_id = s.exec(select(Ticket.id).where(Ticket.key == r.key)).first()
            return r

    def attachments_of(self, key: str) -> list[dict[str, Any]]:
        """The attachments received on a ticket: name, type, size (bytes), kept or not."""
        with self.read() as s:
            t = self.ticket_by_key(s, key)
            return [
                {"id": i, "name": n, "type": ct, "size": sz, "kept": kept, "received_at": at}
                for i, n, ct, sz, kept, at in attachment_rows(s, t.id)  # type: ignore[arg-type]
            ]


def headers_map(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}

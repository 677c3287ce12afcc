"""End to end (issue 14), real Dovecot + real aiosmtpd: a new message becomes a ticket and
its receipt reaches the customer threaded to their message; an agent's reply and the
customer's answer to it thread back; auto-replies and list mail get no receipt; a bounce of
our receipt marks it failed on its ticket and opens no ticket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import select

from agent_console.desk import Desk
from agent_console.store.models import OutboxMessage, Ticket, TicketEvent
from tests.imap_helpers import PASSWORD, DovecotServer, mail, start_dovecot
from tests.mail_helpers import MAIL_FROM, SmtpServer, mail_settings


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    server = start_dovecot()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def user(dovecot: DovecotServer) -> str:
    return dovecot.new_user()


def full_desk(db_url: str, dovecot: DovecotServer, user: str, smtp: SmtpServer) -> Desk:
    settings = mail_settings(db_url, smtp).with_(
        imap_url=dovecot.url(user), imap_password=PASSWORD, imap_timeout=10.0
    )
    d = Desk.open(settings)
    d.add_agent("alice", "Alice", 1)
    return d


def tickets(desk: Desk) -> list[Ticket]:
    with desk.read() as s:
        return list(s.exec(select(Ticket).order_by(Ticket.number)))


def test_new_message_ticket_and_receipt_then_a_threaded_conversation(
    sqlite_url, dovecot, user, smtp
) -> None:
    d = full_desk(sqlite_url, dovecot, user, smtp)
    dovecot.append(user, mail(message_id="<q1@acme.example>", subject="Cannot log in"))
    report = d.fetch_mail_once()
    assert report.counts == {"ticket": 1} and "receipt queued" in report.lines[0]
    [t] = tickets(d)
    d.send_mail()
    [receipt] = smtp.wait_for(1)
    assert receipt.rcpt_tos == ["dana@acme.example"]
    assert t.key in str(receipt.message["Subject"])
    assert receipt.message["In-Reply-To"] == "<q1@acme.example>"
    text = receipt.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert t.key in text

    # the agent replies; the customer answers that reply (threaded by header)
    d.reply(t.key, "Please reset your password.", agent="alice")
    d.send_mail()
    msgs = smtp.wait_for(2)
    agent_mail = msgs[1].message
    dovecot.append(
        user,
        mail(
            subject=f"Re: {agent_mail['Subject']}",
            body="Done, thanks!\n\nOn Mon, Support wrote:\n> Please reset your password.",
            In_Reply_To=str(agent_mail["Message-ID"]),
            References=f"<q1@acme.example> {agent_mail['Message-ID']}",
        ),
    )
    assert d.fetch_mail_once().counts == {"follow_up": 1}
    assert len(tickets(d)) == 1
    detail = d.ticket_detail(t.key)
    assert detail.messages[-1].kind == "customer" and detail.messages[-1].body == "Done, thanks!"
    # an internal note never reaches the SMTP server
    d.reply(t.key, "internal: customer is VIP", agent="alice", internal=True)
    d.send_mail()
    assert len(smtp.wait_for(3, timeout=0.5)) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Precedence": "bulk"},
        {"List_Id": "<news.acme.example>"},
    ],
)
def test_auto_replies_and_lists_get_no_receipt(sqlite_url, dovecot, user, smtp, headers) -> None:
    d = full_desk(sqlite_url, dovecot, user, smtp)
    dovecot.append(user, mail(subject="Out of office", **headers))
    report = d.fetch_mail_once()
    assert report.counts == {"ticket": 1} and "receipt" not in report.lines[0]
    [t] = tickets(d)
    with d.read() as s:
        kinds = [e.kind for e in s.exec(select(TicketEvent).where(TicketEvent.ticket_id == t.id))]
        assert "receipt_withheld" in kinds
        assert s.exec(select(OutboxMessage)).all() == []


def test_at_most_three_receipts_per_sender_per_hour(sqlite_url, dovecot, user, smtp) -> None:
    d = full_desk(sqlite_url, dovecot, user, smtp)
    for i in range(5):
        dovecot.append(user, mail(subject=f"loop {i}"))
    report = d.fetch_mail_once()
    assert report.counts == {"ticket": 5}
    assert sum("receipt queued" in ln for ln in report.lines) == 3


def test_bounce_of_a_receipt_marks_it_failed_and_opens_no_ticket(
    sqlite_url, dovecot, user, smtp
) -> None:
    d = full_desk(sqlite_url, dovecot, user, smtp)
    dovecot.append(user, mail(sender="gone@acme.example", message_id="<b0@acme.example>"))
    d.fetch_mail_once()
    d.send_mail()
    [receipt] = smtp.wait_for(1)
    sent_id = str(receipt.message["Message-ID"])
    dsn = (
        b"From: MAILER-DAEMON@mx.acme.example\r\nTo: support@desk.example\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nsorry\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        b"Final-Recipient: rfc822; gone@acme.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        b"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: "
        + sent_id.encode()
        + b"\r\n\r\n--B--\r\n"
    )
    dovecot.append(user, dsn)
    report = d.fetch_mail_once()
    assert report.counts == {"bounce": 1}
    assert len(tickets(d)) == 1
    [t] = tickets(d)
    with d.read() as s:
        row = s.exec(select(OutboxMessage)).one()
        assert row.failed_at is not None and "bounced" in (row.last_error or "")
        kinds = [e.kind for e in s.exec(select(TicketEvent).where(TicketEvent.ticket_id == t.id))]
        assert "delivery_failed" in kinds


def test_mail_from_our_own_address_is_ignored(sqlite_url, dovecot, user, smtp) -> None:
    d = full_desk(sqlite_url, dovecot, user, smtp)
    dovecot.append(user, mail(sender=MAIL_FROM))
    assert d.fetch_mail_once().counts == {"ignored": 1}
    assert tickets(d) == []

"""Outbound mail (issue 14) against a real SMTP server (aiosmtpd on 127.0.0.1): the loop
guard, receipts and their hourly limit, a public reply / solved message threaded to the
customer, an internal note never sent, a refusal retried with backoff, a permanent refusal
and a bounce on the ticket, and the settings."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from agent_console.desk.mail_out import receipt_refusal, ticket_subject
from agent_console.errors import UserError
from agent_console.settings import resolve_settings
from agent_console.store.models import MailMessage, OutboxMessage, TicketEvent
from tests.mail_helpers import (
    CUSTOMER,
    SmtpServer,
    mail_desk,
    mail_ticket,
)


# ------------------------------------------------------------------ loop guard (pure)
@pytest.mark.parametrize(
    ("headers", "sender", "why"),
    [
        ({"Auto-Submitted": "auto-replied"}, "a@x.example", "Auto-Submitted"),
        ({"auto-submitted": "auto-generated; type=vacation"}, "a@x.example", "Auto-Submitted"),
        ({"Precedence": "bulk"}, "a@x.example", "Precedence: bulk"),
        ({"Precedence": "List"}, "a@x.example", "Precedence: list"),
        ({"Precedence": "junk"}, "a@x.example", "Precedence: junk"),
        ({"List-Id": "<news.x.example>"}, "a@x.example", "List-Id"),
        ({"X-Auto-Response-Suppress": "All"}, "a@x.example", "X-Auto-Response-Suppress"),
        ({"Return-Path": "<>"}, "a@x.example", "Return-Path"),
        ({}, "MAILER-DAEMON@mx.example", "automatic sender"),
        ({}, "postmaster@x.example", "automatic sender"),
        ({}, "No-Reply <noreply@x.example>", "automatic sender"),
        ({}, "do-not-reply@x.example", "automatic sender"),
        ({}, "Support <SUPPORT@desk.example>", "our own address"),
        ({}, "", "no sender"),
    ],
)
def test_receipt_refused(headers: dict[str, str], sender: str, why: str) -> None:
    reason = receipt_refusal(headers, sender, "Support <support@desk.example>")
    assert reason is not None and why in reason


def test_receipt_allowed() -> None:
    headers = {"Auto-Submitted": "no", "Precedence": "normal", "From": "Jane <jane@x.example>"}
    assert receipt_refusal(headers, "Jane <jane@x.example>", "support@desk.example") is None


def test_subject_carries_the_key_once() -> None:
    assert (
        ticket_subject("SUP-7", "Re: RE: [SUP-7] Printer\non fire") == "Re: [SUP-7] Printer on fire"
    )
    assert ticket_subject("SUP-7", "", prefix="") == "[SUP-7]"


# ------------------------------------------------------------------ receipts
def test_receipt_queued_and_sent_threaded(sqlite_url: str, smtp_server: SmtpServer) -> None:
    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    with desk.write() as s:
        t = desk.ticket_by_key(s, t.key)
        assert desk.queue_receipt(
            s,
            t,
            to=CUSTOMER,
            in_reply_to="<first.1@customer.example>",
            references=["first.1@customer.example"],
            now=desk.now(),
        )
        # one receipt per ticket, whatever the retries of the fetcher
        assert not desk.queue_receipt(
            s,
            t,
            to=CUSTOMER,
            in_reply_to="first.1@customer.example",
            references=[],
            now=desk.now(),
        )
    report = desk.send_mail()
    assert len(report.sent) == 1, report.lines
    (got,) = smtp_server.wait_for(1)
    m = got.message
    assert got.rcpt_tos == [CUSTOMER]
    assert m["In-Reply-To"] == "<first.1@customer.example>"
    assert "<first.1@customer.example>" in m["References"]
    assert f"[{t.key}]" in m["Subject"]
    assert m["Auto-Submitted"] == "auto-replied"
    assert m["From"].addresses[0].addr_spec == "support@desk.example"
    body = " ".join(m.get_content().split())
    assert m["Content-Transfer-Encoding"] == "7bit"  # short lines, plain text
    # what to expect for an urgent ticket comes from the policy (4 business hours, 45h)
    assert t.key in body and "Priority: urgent" in body
    assert "within 4h 00m of business hours" in body and "45h 00m" in body
    with desk.read() as s:
        row = s.exec(select(MailMessage).where(MailMessage.direction == "out")).one()
        assert f"<{row.message_id}>" == m["Message-ID"] and row.outbox_id is not None
        assert row.address == CUSTOMER and row.ticket_id == t.id


def test_receipts_limited_per_sender_per_hour(sqlite_url: str) -> None:
    desk = mail_desk(sqlite_url, None, receipts_per_hour=3)
    queued = []
    for i in range(5):
        t = mail_ticket(desk, message_id=f"m{i}@customer.example", subject=f"loop {i}")
        with desk.write() as s:
            t = desk.ticket_by_key(s, t.key)
            queued.append(
                desk.queue_receipt(
                    s,
                    t,
                    to=f"Jane <{CUSTOMER.upper()}>",
                    in_reply_to=f"m{i}@customer.example",
                    references=[],
                    now=desk.now(),
                )
            )
    assert queued == [True, True, True, False, False]
    # an hour later the sender may get one again; another sender was never limited
    with desk.write() as s:
        t = desk.ticket_by_key(s, t.key)
        assert desk.queue_receipt(
            s, t, to="other@x.example", in_reply_to="x@y", references=[], now=desk.now()
        )
    t = mail_ticket(desk, message_id="late@customer.example")
    with desk.write() as s:
        t = desk.ticket_by_key(s, t.key)
        later = desk.now() + timedelta(hours=1, seconds=1)
        assert desk.queue_receipt(s, t, to=CUSTOMER, in_reply_to="x@y", references=[], now=later)
    off = mail_desk(sqlite_url.replace("console.db", "off.db"), None, receipts_per_hour=0)
    t = mail_ticket(off)
    with off.write() as s:
        t = off.ticket_by_key(s, t.key)
        assert not off.queue_receipt(
            s, t, to=CUSTOMER, in_reply_to="x@y", references=[], now=off.now()
        )


# ------------------------------------------------------------------ replies and notes
def test_reply_reaches_customer_note_never(sqlite_url: str, smtp_server: SmtpServer) -> None:
    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    desk.reply(t.key, "Secret: the customer is difficult", agent="alice", internal=True)
    desk.reply(t.key, "We are on it.", agent="alice")
    desk.resolve(t.key, "replaced the fuser", agent="alice", message="Fixed: new fuser.")
    report = desk.send_mail()
    assert len(report.sent) == 2, report.lines
    msgs = smtp_server.wait_for(2)
    time.sleep(0.1)
    msgs = smtp_server.messages
    assert len(msgs) == 2
    bodies = [m.message.get_content() for m in msgs]
    assert all("difficult" not in b and "fuser" not in b.split("Fixed")[0] for b in bodies)
    assert "We are on it." in bodies[0] and "Fixed: new fuser." in bodies[1]
    assert "solved" in bodies[1] and "replaced the fuser" not in bodies[1]
    first, second = (m.message for m in msgs)
    assert first["In-Reply-To"] == "<first.1@customer.example>"
    assert second["In-Reply-To"] == "<first.1@customer.example>"
    # the second message references the first one we sent (the whole thread)
    assert first["Message-ID"] in second["References"]
    assert second["Subject"] == f"Re: [{t.key}] Printer on fire"
    with desk.read() as s:
        outs = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "mail")).all()
        assert len(outs) == 2 and all(o.sent_at is not None for o in outs)
        kinds = [e.kind for e in s.exec(select(TicketEvent).where(TicketEvent.ticket_id == t.id))]
        assert "delivery_failed" not in kinds


def test_ticket_without_mail_thread_sends_nothing(sqlite_url: str) -> None:
    desk = mail_desk(sqlite_url, None)
    key = desk.create_ticket(subject="imported", body="x", requester_email="a@b.example")
    desk.reply(key, "hello", agent="alice")
    with desk.read() as s:
        assert s.exec(select(OutboxMessage)).all() == []


def test_rehearsal_queues_no_mail(sqlite_url: str) -> None:
    desk = mail_desk(sqlite_url, None)
    t = mail_ticket(desk)
    from agent_console.desk import Desk

    rehearsal = Desk.open(desk.settings.with_(at=datetime.now(UTC)))
    rehearsal.reply(t.key, "hello", agent="alice")
    with desk.read() as s:
        assert s.exec(select(OutboxMessage)).all() == []


# ------------------------------------------------------------------ failures
def test_refused_once_then_retried(sqlite_url: str, smtp_server: SmtpServer) -> None:
    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    smtp_server.refuse(1)
    desk.reply(t.key, "Try this.", agent="alice")
    first = desk.send_mail()
    assert first.sent == [] and any("retrying" in line for line in first.lines), first.lines
    report = desk.send_mail(wait=5)
    assert len(report.sent) == 1, report.lines
    (got,) = smtp_server.wait_for(1)
    assert "Try this." in got.message.get_content()
    with desk.read() as s:
        row = s.exec(select(OutboxMessage)).one()
        assert row.sent_at is not None and row.failed_at is None and row.attempts == 2
        evs = s.exec(select(TicketEvent).where(TicketEvent.kind == "delivery_failed")).all()
        assert len(evs) == 1 and "451" in evs[0].details["error"]


def test_permanent_refusal_gives_up_on_ticket_and_header(
    sqlite_url: str, smtp_server: SmtpServer
) -> None:
    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    smtp_server.refuse(1, "550 5.1.1 no such user")
    desk.reply(t.key, "Hello?", agent="alice")
    report = desk.send_mail(wait=1)
    assert report.failed and not report.sent
    from agent_console.desk.oncall_view import mail_failure_count

    assert mail_failure_count(desk) == 1
    detail = desk.ticket_detail(t.key)
    text = " ".join(str(e) for e in detail.events)
    assert "gave up" in text and "550" in text


def test_unreachable_server_retries_then_gives_up(sqlite_url: str) -> None:
    with SmtpServer() as gone:
        url = gone.url
    desk = mail_desk(sqlite_url, None, smtp_url=url)
    t = mail_ticket(desk)
    desk.reply(t.key, "anyone?", agent="alice")
    first = desk.send_mail()
    assert not first.failed and any("retrying" in line for line in first.lines), first.lines
    desk.settings = desk.settings.with_(mail_give_up_after=0.0)  # the give-up time is reached
    report = desk.send_mail(wait=3)
    assert report.failed, report.lines
    with desk.read() as s:
        kinds = [e.kind for e in s.exec(select(TicketEvent).where(TicketEvent.ticket_id == t.id))]
    assert kinds.count("delivery_failed") >= 1 and kinds.count("delivery_gave_up") == 1


def test_bounce_marks_the_message_failed(sqlite_url: str, smtp_server: SmtpServer) -> None:
    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    desk.reply(t.key, "Here you go.", agent="alice")
    desk.send_mail()
    (got,) = smtp_server.wait_for(1)
    with desk.write() as s:
        assert desk.mark_bounced(s, got.message["Message-ID"], "550 mailbox full", desk.now())
        assert not desk.mark_bounced(s, "<unknown@nowhere>", "x", desk.now())
    from agent_console.desk.oncall_view import mail_failure_count

    assert mail_failure_count(desk) == 1
    with desk.read() as s:
        ev = s.exec(select(TicketEvent).where(TicketEvent.kind == "delivery_failed")).one()
        assert ev.ticket_id == t.id and "mailbox full" in ev.details["error"]


def test_console_without_smtp_leaves_mail_for_the_sender(sqlite_url: str) -> None:
    desk = mail_desk(sqlite_url, None)
    t = mail_ticket(desk)
    desk.reply(t.key, "queued", agent="alice")
    assert desk.deliver_outbox().lines == []  # never claims what it cannot send
    with pytest.raises(UserError, match="--smtp"):
        desk.send_mail()
    with desk.read() as s:
        row = s.exec(select(OutboxMessage)).one()
        assert row.attempts == 0 and row.claimed_by is None


# ------------------------------------------------------------------ settings
def test_settings(tmp_path) -> None:
    env = {"AGENT_CONSOLE_CONFIG": str(tmp_path / "none.toml")}
    st = resolve_settings(
        env={
            **env,
            "AGENT_CONSOLE_SMTP": "smtps://bot@mail.example",
            "AGENT_CONSOLE_SMTP_PASSWORD": "s3cr3t!",
            "AGENT_CONSOLE_MAIL_FROM": "Support <help@desk.example>",
        }
    )
    assert st.smtp_url == "smtps://bot@mail.example" and st.smtp_password == "s3cr3t!"
    assert "s3cr3t" not in repr(st)
    st = resolve_settings(env=env, smtp="smtp://localhost:2525", mail_from="a@b.example")
    assert st.smtp_url == "smtp://localhost:2525" and st.mail_from == "a@b.example"
    with pytest.raises(UserError, match="no password in the URL") as err:
        resolve_settings(env=env, smtp="smtp://bot:hunter22@mail.example")
    assert "hunter22" not in str(err.value)
    with pytest.raises(UserError, match="smtp://host:port"):
        resolve_settings(env=env, smtp="http://mail.example")
    with pytest.raises(UserError, match="not an address"):
        resolve_settings(env=env, mail_from="nobody")
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        'smtp = "smtp://mx.example:587"\nsmtp_password = "pw-from-file"\nmail_from = "s@x.example"\n'
        'receipts_per_hour = 5\nmail_retry_after = "10s"\nmail_give_up_after = "2h"\n'
    )
    st = resolve_settings(env={"AGENT_CONSOLE_CONFIG": str(cfg)})
    assert st.smtp_password == "pw-from-file" and st.receipts_per_hour == 5
    assert st.mail_retry_after == 10 and st.mail_give_up_after == 7200


# ------------------------------------------------------------------ the watcher sends mail
def test_watch_sends_mail(sqlite_url: str, smtp_server: SmtpServer) -> None:
    import io
    import threading

    from agent_console.cli.watch_cmd import Watcher

    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    desk.reply(t.key, "first", agent="alice")
    out = io.StringIO()
    Watcher(desk, poll=0.05, out=out).run(once=True)
    assert len(smtp_server.wait_for(1)) == 1
    assert "sent mail reply" in out.getvalue()
    # the long-running watcher: a reply queued while it runs goes out within a poll or two
    watcher = Watcher(desk, poll=0.05, out=io.StringIO())
    runner = threading.Thread(target=watcher.run)
    runner.start()
    try:
        desk.reply(t.key, "second", agent="alice")
        got = smtp_server.wait_for(2, timeout=5)
    finally:
        watcher.stop.set()
        runner.join(5)
    assert [m.message.get_content().splitlines()[0] for m in got] == ["first", "second"]


def test_cli_reply_and_mail_options(
    sqlite_url: str, smtp_server: SmtpServer, capsys, monkeypatch
) -> None:
    from agent_console.cli import main

    desk = mail_desk(sqlite_url, None)
    t = mail_ticket(desk)
    desk.engine.dispose()
    monkeypatch.setenv("AGENT_CONSOLE_SMTP_PASSWORD", "not-used-here")
    args = ["--db", sqlite_url, "--smtp", smtp_server.url, "--mail-from", "help@desk.example"]
    assert main([*args, "ticket", "reply", t.key, "--agent", "alice", "--body", "Done."]) == 0
    assert main([*args, "watch", "--once"]) == 0
    (got,) = smtp_server.wait_for(1)
    assert got.mail_from == "help@desk.example"
    printed = capsys.readouterr()
    assert "channels: mail" in printed.out and "not-used-here" not in printed.out + printed.err
    assert main(["--db", sqlite_url, "ticket", "show", t.key]) == 0
    shown = capsys.readouterr().out
    assert "· mail sent" in shown and "mail to jane@customer.example sent (the reply)" in shown


def test_mail_state_on_the_thread(sqlite_url: str, smtp_server: SmtpServer) -> None:
    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    desk.reply(t.key, "one", agent="alice")
    desk.reply(t.key, "a note", agent="alice", internal=True)

    def states() -> list[str | None]:
        return [m.mail for m in desk.ticket_detail(t.key).messages]

    # the customer's opening message and the note are not mailed
    assert states() == [None, "queued", None]
    smtp_server.refuse(1)
    desk.send_mail()
    assert states() == [None, "retrying", None]
    desk.send_mail(wait=5)
    assert states() == [None, "sent", None]
    smtp_server.refuse(1, "554 5.7.1 rejected")
    desk.reply(t.key, "two", agent="alice")
    desk.send_mail()
    assert states() == [None, "sent", None, "not delivered"]
    history = [e.text for e in desk.ticket_detail(t.key).events]
    assert any("replied to the customer by mail" in h for h in history)
    assert any("mail to jane@customer.example sent (the reply)" in h for h in history)
    assert any("gave up" in h and "554" in h and "system:mail" in h for h in history), history


# ------------------------------------------------------------------ PostgreSQL, two senders
@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_two_senders_send_each_mail_once(
    db: str, request: pytest.FixtureRequest, smtp_server: SmtpServer
) -> None:
    import threading

    from agent_console.desk import Desk

    url = request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_url")
    desk = mail_desk(url, smtp_server)
    other = Desk.open(desk.settings)
    keys = []
    for i in range(4):
        t = mail_ticket(desk, message_id=f"in{i}@customer.example", subject=f"case {i}")
        keys.append(t.key)
        with desk.write() as s:
            t = desk.ticket_by_key(s, t.key)
            assert desk.queue_receipt(
                s,
                t,
                to=f"c{i}@x.example",
                in_reply_to=f"in{i}@customer.example",
                references=[f"in{i}@customer.example"],
                now=desk.now(),
            )
        desk.reply(t.key, f"reply {i}", agent="alice")
        desk.reply(t.key, f"note {i}", agent="alice", internal=True)
    smtp_server.refuse(2)  # two refusals somewhere: retried by whichever sender
    threads = [threading.Thread(target=d.send_mail, kwargs={"wait": 5}) for d in (desk, other)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    got = smtp_server.wait_for(8)
    time.sleep(0.2)
    got = smtp_server.messages
    ids = [m.message["Message-ID"] for m in got]
    assert len(ids) == 8 and len(set(ids)) == 8
    assert not any("note" in m.message.get_content() for m in got)
    with desk.read() as s:
        rows = s.exec(select(OutboxMessage)).all()
        assert all(r.sent_at is not None for r in rows) and len(rows) == 8
    other.engine.dispose()
    desk.engine.dispose()


# ------------------------------------------------------------------ TLS and login
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # smtps: TLS
@pytest.mark.parametrize("tls", ["starttls", "smtps"])
def test_tls_and_login(tls: str, tmp_path, sqlite_url: str) -> None:
    from tests.mail_helpers import self_signed_cert

    cert = self_signed_cert(tmp_path)
    with SmtpServer(tls=tls, cert=cert, users={"bot": "pa55-word"}) as server:
        url = server.url.replace("://", "://bot@")
        desk = mail_desk(
            sqlite_url, None, smtp_url=url, smtp_password="pa55-word", smtp_ca_file=str(cert[0])
        )
        t = mail_ticket(desk)
        desk.reply(t.key, "over TLS", agent="alice")
        report = desk.send_mail()
        assert report.sent, report.lines
        assert server.logins == ["bot"] and len(server.wait_for(1)) == 1
        # an untrusted certificate (no CA file) is refused, and says so without the password
        other = desk.settings.with_(smtp_ca_file=None, smtp_password="pa55-word")
        from agent_console.desk import Desk

        d2 = Desk.open(other)
        d2.reply(t.key, "again", agent="alice")
        r2 = d2.send_mail()
        assert not r2.sent and any("CERTIFICATE" in line.upper() for line in r2.lines), r2.lines
        assert not any("pa55-word" in line for line in r2.lines)
        # a wrong password: refused, retried (the operator fixes the configuration)
        d3 = Desk.open(desk.settings.with_(smtp_password="wrong"))
        time.sleep(0.2)  # past d2's retry delay (mail_retry_after = 0.05 s)
        r3 = d3.send_mail()
        assert not r3.sent and any("refused the login" in line for line in r3.lines), r3.lines
        for d in (desk, d2, d3):
            d.engine.dispose()


def test_reply_copies_the_participants(sqlite_url: str, smtp_server: SmtpServer) -> None:
    from agent_console.store.models import TicketParticipant

    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    with desk.write() as s:
        for email in ("boss@customer.example", "support@desk.example"):  # ours: never copied
            c = desk.customer_for(s, email, None, None)
            s.add(TicketParticipant(ticket_id=t.id, customer_id=c.id, added_at=desk.now()))
    desk.reply(t.key, "Copying your boss.", agent="alice")
    desk.send_mail()
    (got,) = smtp_server.wait_for(1)
    assert sorted(got.rcpt_tos) == ["boss@customer.example", CUSTOMER]
    assert got.message["Cc"] == "boss@customer.example"


def test_send_mail_sends_more_than_one_pass(sqlite_url: str, smtp_server: SmtpServer) -> None:
    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    with desk.write() as s:
        t = desk.ticket_by_key(s, t.key)
        for i in range(55):  # a pass claims 50
            desk.queue_mail(
                s,
                t,
                kind="reply",
                to=CUSTOMER,
                body=f"n{i}",
                subject="x",
                in_reply_to=None,
                references=[],
                now=desk.now(),
            )
    assert len(desk.send_mail().sent) == 55
    assert len(smtp_server.wait_for(55)) == 55

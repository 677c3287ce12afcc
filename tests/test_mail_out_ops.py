"""Outbound mail operations (issue 14, trial gaps 1 and 2) against a real SMTP server
(aiosmtpd on 127.0.0.1): ``mail send`` says what waits for a retry and when, its exit code
says whether anything failed for good, ``--wait`` keeps retrying; ``mail failed list |
retry ID | dismiss ID | dismiss --all`` — by a person, in the ticket's history, the
header's count dropping — on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from agent_console.cli import main
from agent_console.desk.oncall_view import mail_failure_count
from agent_console.errors import PermissionDenied, UserError
from agent_console.store.models import OutboxMessage, TicketEvent
from tests.mail_helpers import SmtpServer, mail_desk, mail_ticket


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli(tmp_path: Path, monkeypatch, smtp_server: SmtpServer):  # type: ignore[no-untyped-def]
    """A database with alice and one e-mail ticket; the CLI's global options for it and a
    config file with a 1 s first retry (durations in the file are whole seconds)."""
    db = f"sqlite:///{tmp_path / 'ops.db'}"
    cfg = tmp_path / "config.toml"
    cfg.write_text('mail_retry_after = "1s"\nmail_give_up_after = "1h"\n')
    monkeypatch.setenv("AGENT_CONSOLE_CONFIG", str(cfg))
    desk = mail_desk(db, smtp_server)
    t = mail_ticket(desk)
    desk.engine.dispose()
    args = ["--db", db, "--smtp", smtp_server.url, "--mail-from", "help@desk.example"]
    return db, args, t.key


def _history(db: str, key: str) -> list[str]:
    from agent_console.desk import Desk
    from agent_console.settings import Settings

    d = Desk.open(Settings(db_url=db))
    try:
        return [e.text for e in d.ticket_detail(key).events]
    finally:
        d.engine.dispose()


# ------------------------------------------------------------------ mail send says what waits
def test_send_says_what_waits_and_wait_retries(capsys, cli, smtp_server: SmtpServer) -> None:
    db, args, key = cli
    smtp_server.refuse(1)
    assert run(capsys, *args, "ticket", "reply", key, "--agent", "alice", "--body", "Hi.")[0] == 0
    code, out, _ = run(capsys, *args, "mail", "send")
    assert code == 0  # nothing failed for good: it waits, and the line says so
    last = out.strip().splitlines()[-1]
    assert last.startswith("send: 0 sent, 0 failed, 1 waiting for a retry, next at ")
    assert re.search(r"next at \w{3} \d\d \w{3} \d\d:\d\d \w+ \((in 0m 0[01]s|now)\)$", last), last
    code, out, _ = run(capsys, *args, "mail", "send", "--wait")
    assert code == 0, out
    assert out.strip().splitlines()[-1] == "send: 1 sent, 0 failed, nothing waiting"
    assert len(smtp_server.wait_for(1)) == 1


def test_wait_runs_out_exit_75(capsys, cli, smtp_server: SmtpServer) -> None:
    db, args, key = cli
    smtp_server.refuse(50)
    run(capsys, *args, "ticket", "reply", key, "--agent", "alice", "--body", "Hi.")
    started = time.monotonic()
    code, out, _ = run(capsys, *args, "mail", "send", "--wait", "2s")
    assert time.monotonic() - started < 15
    assert code == 75, out
    assert "retrying until nothing waits (at most 2 s)" in out
    assert "1 waiting for a retry" in out.strip().splitlines()[-1]
    code, _, err = run(capsys, *args, "mail", "send", "--wait", "soon")
    assert code == 2 and "--wait: bad duration" in err


def test_failed_for_good_exit_1_then_list_dismiss(capsys, cli, smtp_server: SmtpServer) -> None:
    db, args, key = cli
    smtp_server.refuse(1, "550 5.1.1 no such user")
    run(capsys, *args, "ticket", "reply", key, "--agent", "alice", "--body", "Hello?")
    code, out, _ = run(capsys, *args, "mail", "send")
    assert code == 1
    assert out.strip().splitlines()[-1] == (
        "send: 0 sent, 1 failed for good, nothing waiting (agent-console mail failed)"
    )
    # the next run sent nothing new and failed nothing: exit 0, the earlier failure named
    code, out, _ = run(capsys, *args, "mail", "send")
    assert code == 0 and "; 1 failed earlier (agent-console mail failed)" in out

    code, out, _ = run(capsys, *args, "mail", "failed")
    assert code == 0 and "550 5.1.1 no such user" in out and key in out
    assert "jane@customer.example" in out and "failed" in out
    oid = out.splitlines()[1].split()[0]
    code, out, _ = run(capsys, *args, "mail", "failed", "list", "--json")
    import json

    (row,) = json.loads(out)
    assert row["state"] == "failed" and row["key"] == key and row["kind"] == "reply"

    code, out, _ = run(capsys, *args, "mail", "status")
    assert "1 failed, 0 dismissed (agent-console mail failed)" in out

    # a person's action: refused without an agent on a non-demo database
    code, _, err = run(capsys, *args, "mail", "failed", "dismiss", oid)
    assert code == 3 and "agent" in err
    code, _, err = run(capsys, *args, "mail", "failed", "dismiss")
    assert code == 2 and "--all" in err
    code, out, _ = run(capsys, *args, "mail", "failed", "dismiss", oid, "--agent", "alice")
    assert code == 0 and "dismissed 1 failed mail" in out
    code, _, err = run(capsys, *args, "mail", "failed", "dismiss", oid, "--agent", "alice")
    assert code == 2 and "already dismissed" in err
    code, _, err = run(capsys, *args, "mail", "failed", "dismiss", "999", "--agent", "alice")
    assert code == 2 and "no outgoing mail 999" in err
    code, out, _ = run(capsys, *args, "mail", "failed")
    assert "no failed mail" in out
    code, out, _ = run(capsys, *args, "mail", "failed", "list", "--all")
    assert "dismissed" in out
    code, out, _ = run(capsys, *args, "mail", "send")
    assert code == 0 and "failed earlier" not in out
    history = _history(db, key)
    assert any("alice dismissed the failed mail to jane@customer.example" in h for h in history)
    # the thread still says the reply was not delivered
    code, out, _ = run(capsys, *args, "ticket", "show", key)
    assert "not delivered" in out


def test_retry_sends_again_with_a_fresh_give_up_time(
    sqlite_url: str, smtp_server: SmtpServer
) -> None:
    desk = mail_desk(sqlite_url, smtp_server, mail_give_up_after=60.0)
    t = mail_ticket(desk)
    smtp_server.refuse(1, "554 5.7.1 rejected")
    desk.reply(t.key, "One", agent="alice")
    assert desk.send_mail().failed
    assert mail_failure_count(desk) == 1
    (m,) = desk.mail_outbox()
    assert m.state == "failed" and "554" in m.reason and m.key == t.key
    # queued long ago: without the retry's own clock the next refusal would give up at once
    with desk.write() as s:
        row = s.get(OutboxMessage, m.id)
        row.created_at = desk.now() - timedelta(hours=5)
        s.add(row)
    with pytest.raises(PermissionDenied):
        desk.retry_mail(m.id)  # no acting agent on this database
    again = desk.retry_mail(m.id, agent="alice")
    assert again.state == "retrying" and again.attempts == 0
    assert mail_failure_count(desk) == 0  # the header's count drops at once
    smtp_server.refuse(1)  # a temporary refusal now: retried, not given up
    report = desk.send_mail(wait=5)
    assert len(report.sent) == 1 and not report.failed, report.lines
    assert "One" in smtp_server.wait_for(1)[0].message.get_content()
    with pytest.raises(UserError, match="was sent"):
        desk.retry_mail(m.id, agent="alice")
    history = [e.text for e in desk.ticket_detail(t.key).events]
    assert any("alice sent the failed mail to jane@customer.example again" in h for h in history)
    assert [mm.mail for mm in desk.ticket_detail(t.key).messages] == [None, "sent"]


def test_a_bounced_mail_is_sent_again(sqlite_url: str, smtp_server: SmtpServer) -> None:
    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    desk.reply(t.key, "Here.", agent="alice")
    desk.send_mail()
    (got,) = smtp_server.wait_for(1)
    with desk.write() as s:
        desk.mark_bounced(s, got.message["Message-ID"], "552 mailbox full", desk.now())
    (m,) = desk.mail_outbox()
    assert m.bounced and m.state == "failed"
    desk.retry_mail(m.id, agent="alice")
    assert len(desk.send_mail().sent) == 1
    assert len(smtp_server.wait_for(2)) == 2
    assert mail_failure_count(desk) == 0


def test_waiting_mail_held_by_another_sender_is_not_spun_on(
    sqlite_url: str, smtp_server: SmtpServer
) -> None:
    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    desk.reply(t.key, "held", agent="alice")
    lease_end = desk.now() + timedelta(seconds=30)
    with desk.write() as s:
        row = s.exec(select(OutboxMessage)).one()
        row.claimed_by, row.lease_until = "other:1", lease_end
        s.add(row)
    started = time.monotonic()
    report = desk.send_mail(wait=0.5)
    assert time.monotonic() - started < 3  # the lease ends after the wait: no busy loop
    assert report.waiting == 1 and abs((report.next_at - lease_end).total_seconds()) < 1
    (m,) = desk.mail_outbox()
    assert m.sending
    with pytest.raises(UserError, match="being sent right now"):
        desk.retry_mail(m.id, agent="alice")


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_dismiss_all_on_both_databases(
    db: str, request: pytest.FixtureRequest, smtp_server: SmtpServer
) -> None:
    url = request.getfixturevalue("sqlite_url" if db == "sqlite" else "pg_url")
    desk = mail_desk(url, smtp_server)
    keys = []
    for i in range(3):
        t = mail_ticket(desk, message_id=f"in{i}@customer.example", subject=f"case {i}")
        keys.append(t.key)
        desk.reply(t.key, f"reply {i}", agent="alice")
    smtp_server.refuse(2, "550 no")
    report = desk.send_mail()
    assert len(report.failed) == 2 and len(report.sent) == 1
    assert mail_failure_count(desk) == 2
    assert sorted(desk.dismiss_failed_mail(agent="alice")) == sorted(report.failed)
    assert mail_failure_count(desk) == 0
    assert desk.dismiss_failed_mail(agent="alice") == []
    with desk.read() as s:
        evs = s.exec(select(TicketEvent).where(TicketEvent.kind == "mail_dismissed")).all()
    assert len(evs) == 2 and all(e.agent_id is not None for e in evs)
    counts = desk.mail_outbox_counts()
    assert counts == {"pending": 0, "sent": 1, "failed": 0, "dismissed": 2}
    with pytest.raises(UserError, match="did not fail"):
        desk.dismiss_failed_mail(report.sent[0], agent="alice")
    desk.engine.dispose()


def test_rehearsal_retries_nothing(sqlite_url: str, smtp_server: SmtpServer) -> None:
    from datetime import UTC, datetime

    from agent_console.desk import Desk

    desk = mail_desk(sqlite_url, smtp_server)
    t = mail_ticket(desk)
    smtp_server.refuse(1, "550 no")
    desk.reply(t.key, "x", agent="alice")
    desk.send_mail()
    (m,) = desk.mail_outbox()
    rehearsal = Desk.open(desk.settings.with_(at=datetime.now(UTC)))
    with pytest.raises(UserError, match="rehearsal"):
        rehearsal.retry_mail(m.id, agent="alice")


def test_backoff_doubles_up_to_15_minutes(sqlite_url: str, smtp_server: SmtpServer) -> None:
    """Issue 14 "retried with backoff": each refusal waits twice as long as the one before
    (``mail_retry_after`` 100 s: 100, 200, 400, 800), never more than 15 minutes apart."""
    desk = mail_desk(sqlite_url, smtp_server, mail_retry_after=100.0, mail_give_up_after=3600.0)
    t = mail_ticket(desk)
    desk.reply(t.key, "again and again", agent="alice")
    smtp_server.refuse(6)
    delays = []
    for _ in range(6):
        before = desk.now()
        report = desk.send_mail()
        assert not report.sent and not report.failed, report.lines
        with desk.write() as s:
            row = s.exec(select(OutboxMessage)).one()
            delays.append(round((row.available_at - before).total_seconds() / 100) * 100)
            row.available_at = desk.now()  # due again at once: the next attempt
            s.add(row)
    assert delays == [100, 200, 400, 800, 900, 900]
    with desk.read() as s:
        fails = s.exec(select(TicketEvent).where(TicketEvent.kind == "delivery_failed")).all()
    assert [e.details["attempt"] for e in fails] == [1, 2, 3, 4, 5, 6]

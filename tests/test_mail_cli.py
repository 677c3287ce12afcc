"""The ``mail`` CLI and ``watch`` fetching (issue 14) against a real Dovecot: one clear line
per message, the password never printed, status, quarantine list/retry, attachments in
``ticket show``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent_console.cli import main
from tests.imap_helpers import PASSWORD, DovecotServer, mail, start_dovecot


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    server = start_dovecot()
    yield server
    server.stop()


@pytest.fixture
def env(tmp_path: Path, dovecot: DovecotServer, monkeypatch) -> tuple[str, str]:
    user = dovecot.new_user()
    db = f"sqlite:///{tmp_path / 'mail.db'}"
    monkeypatch.setenv("AGENT_CONSOLE_IMAP", dovecot.url(user))
    monkeypatch.setenv("AGENT_CONSOLE_IMAP_PASSWORD", PASSWORD)
    return db, user


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_fetch_once_status_and_show(capsys, env, dovecot) -> None:
    db, user = env
    m = mail(subject="Printer on fire")
    m.add_attachment(b"PNGDATA", maintype="image", subtype="png", filename="fire.png")
    dovecot.append(user, m)
    dovecot.append(user, b"Subject: nobody\r\n\r\nwho sent this\r\n")
    code, out, err = run(capsys, "--db", db, "mail", "fetch", "--once")
    assert code == 0, err
    assert "uid 1: new ticket SUP-1001" in out
    assert "uid 2: quarantined — no sender address (From)" in out
    assert "1 quarantined, 1 new ticket\n" in out
    assert PASSWORD not in out + err

    code, out, _ = run(capsys, "--db", db, "mail", "status")
    assert code == 0 and "LAST UID" in out and "1 waiting" in out
    code, out, _ = run(capsys, "--db", db, "mail", "status", "--json")
    data = json.loads(out)
    assert data["mailboxes"][0]["tickets"] == 1 and data["mailboxes"][0]["last_uid"] == 2

    code, out, _ = run(capsys, "--db", db, "ticket", "show", "SUP-1001")
    assert "attachments:" in out and "fire.png (7 B)" in out
    code, out, _ = run(capsys, "--db", db, "ticket", "show", "SUP-1001", "--json")
    assert json.loads(out)["attachments"][0]["name"] == "fire.png"

    code, out, _ = run(capsys, "--db", db, "mail", "quarantine")
    assert code == 0 and "no sender address (From)" in out and "nobody" in out
    qid = out.splitlines()[1].split()[0]
    code, out, err = run(capsys, "--db", db, "mail", "quarantine", "retry", qid)
    assert code == 2 and "still unreadable" in err
    code, out, err = run(capsys, "--db", db, "mail", "quarantine", "retry", "4242")
    assert code != 0 and "no quarantined message 4242" in err


def test_bad_settings_are_one_line(capsys, tmp_path, monkeypatch) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.delenv("AGENT_CONSOLE_IMAP", raising=False)
    code, _, err = run(capsys, "--db", db, "mail", "fetch", "--once")
    assert code == 2 and "no mailbox configured" in err and err.count("\n") == 1
    code, _, err = run(capsys, "--db", db, "--imap", "imap://u:hunter2@h/INBOX", "mail", "status")
    assert code == 2 and "hunter2" not in err and "AGENT_CONSOLE_IMAP_PASSWORD" in err
    code, _, err = run(capsys, "--db", db, "--imap", "http://h/", "mail", "status")
    assert code == 2 and "imap://" in err
    code, _, err = run(
        capsys, "--db", db, "--imap", "imap://u@127.0.0.1:1/INBOX", "mail", "fetch", "--once"
    )
    assert code == 2 and err.startswith("agent-console: error: IMAP u@127.0.0.1:1/INBOX")


def test_watch_once_fetches_mail(capsys, env, dovecot) -> None:
    db, user = env
    dovecot.append(user, mail(subject="via watch"))
    code, out, err = run(capsys, "--db", db, "watch", "--once")
    assert code == 0, err
    assert "mail from " in out and "uid 1: new ticket SUP-1001" in out
    code, out, _ = run(capsys, "--db", db, "ticket", "list")
    assert "via watch" in out


def test_inbound_config_keys(tmp_path, monkeypatch) -> None:
    from agent_console.errors import UserError
    from agent_console.settings import resolve_settings

    cfg = tmp_path / "config.toml"
    cfg.write_text(
        'imap = "imaps://support@mail.example.com:993/INBOX"\nimap_password = "pw"\n'
        'imap_poll = "90s"\nimap_idle = "5m"\nmail_priority = "urgent"\nmail_tier = 2\n'
        "max_mail_bytes = 1000\n"
    )
    env = {"AGENT_CONSOLE_CONFIG": str(cfg)}
    s = resolve_settings(env=env)
    assert (s.imap_url, s.imap_password, s.imap_poll, s.imap_idle) == (
        "imaps://support@mail.example.com:993/INBOX",
        "pw",
        90.0,
        300.0,
    )
    assert (s.mail_priority, s.mail_tier, s.max_mail_bytes) == ("urgent", 2, 1000)
    assert "pw" not in repr(s)
    # command line over environment over file
    s = resolve_settings(env={**env, "AGENT_CONSOLE_IMAP": "imap://a@h/X"}, imap="imap://b@h/Y")
    assert s.imap_url == "imap://b@h/Y"
    cfg.write_text("mail_tier = 4\n")
    with pytest.raises(UserError, match="mail_tier must be 1, 2 or 3"):
        resolve_settings(env=env)
    cfg.write_text('mail_priority = "whenever"\n')
    with pytest.raises(UserError, match="mail_priority"):
        resolve_settings(env=env)

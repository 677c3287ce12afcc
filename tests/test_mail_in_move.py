"""Moving fetched messages to a folder instead of only flagging them \\Seen (issue 14,
``imap_processed_folder`` / ``imap_quarantine_folder``, ``mail fetch --processed-folder``),
against a real Dovecot: IMAP MOVE and the COPY + \\Deleted + EXPUNGE fallback, a crash
between the commit and the move, two fetchers racing, a message moved back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from agent_console.channels.imap import Mailbox
from agent_console.desk import Desk
from agent_console.errors import UserError
from agent_console.settings import Settings
from agent_console.store.models import Ticket
from tests.imap_helpers import PASSWORD, DovecotServer, mail, start_dovecot

UNREADABLE = b"Subject: who am I\r\n\r\nno from header\r\n"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    server = start_dovecot()
    yield server
    server.stop()


@pytest.fixture
def user(dovecot: DovecotServer) -> str:
    return dovecot.new_user()


def mail_desk(db_url: str, imap_url: str, **kw: object) -> Desk:
    return Desk.open(
        Settings(
            db_url=db_url,
            imap_url=imap_url,
            imap_password=PASSWORD,
            imap_timeout=10.0,
            **kw,  # type: ignore[arg-type]
        )
    )


def subjects(desk: Desk) -> list[str]:
    with desk.read() as s:
        return sorted(s.exec(select(Ticket.subject)).all())


def folder(dovecot: DovecotServer, user: str, name: str, criteria: str = "ALL") -> list[int]:
    return dovecot.uids(user, mailbox=name, criteria=criteria)


@pytest.mark.parametrize("use_move", [True, False], ids=["MOVE", "COPY+EXPUNGE"])
def test_processed_and_quarantined_go_to_their_folders(
    sqlite_url, dovecot, user, monkeypatch, use_move: bool
) -> None:
    monkeypatch.setattr(Mailbox, "use_move", use_move)
    d = mail_desk(
        sqlite_url,
        dovecot.url(user),
        imap_processed_folder="Processed",
        imap_quarantine_folder="Quarantine",
    )
    for i in range(3):
        dovecot.append(user, mail(subject=f"move {i}"))
    dovecot.append(user, UNREADABLE)
    assert d.fetch_mail_once().counts == {"ticket": 3, "quarantined": 1}
    assert folder(dovecot, user, "INBOX") == []  # nothing left behind, nothing \Deleted
    assert len(folder(dovecot, user, "Processed")) == 3
    assert folder(dovecot, user, "Processed", "UNSEEN") == []  # moved as read
    assert len(folder(dovecot, user, "Quarantine")) == 1
    # a later pass reads only what is new
    dovecot.append(user, mail(subject="move 3"))
    assert d.fetch_mail_once().counts == {"ticket": 1}
    assert folder(dovecot, user, "INBOX") == []
    assert len(folder(dovecot, user, "Processed")) == 4
    assert subjects(d) == [f"move {i}" for i in range(4)]
    d.engine.dispose()


def test_quarantined_stay_without_a_quarantine_folder(sqlite_url, dovecot, user) -> None:
    d = mail_desk(sqlite_url, dovecot.url(user), imap_processed_folder="Done")
    dovecot.append(user, mail(subject="fine"))
    dovecot.append(user, UNREADABLE)
    assert d.fetch_mail_once().counts == {"ticket": 1, "quarantined": 1}
    [left] = folder(dovecot, user, "INBOX")
    assert folder(dovecot, user, "INBOX", "UNSEEN") == []
    assert len(folder(dovecot, user, "Done")) == 1
    # passes after it leave the quarantined message where it is, and copy nothing twice
    assert d.fetch_mail_once().counts == {}
    assert d.fetch_mail_once().counts == {}
    assert folder(dovecot, user, "INBOX") == [left]
    assert len(folder(dovecot, user, "Done")) == 1
    d.engine.dispose()


def test_crash_between_commit_and_move_makes_no_duplicate(
    sqlite_url, dovecot, user, monkeypatch
) -> None:
    d = mail_desk(
        sqlite_url,
        dovecot.url(user),
        imap_processed_folder="Processed",
        imap_quarantine_folder="Quarantine",
    )
    for i in range(3):
        dovecot.append(user, mail(subject=f"crash {i}"))
    dovecot.append(user, UNREADABLE)

    def crash(self, uids, folder):  # the process dies right after the commit
        raise KeyboardInterrupt

    monkeypatch.setattr(Mailbox, "move", crash)
    with pytest.raises(KeyboardInterrupt):
        d.fetch_mail_once()
    monkeypatch.undo()
    assert len(subjects(d)) == 3
    assert len(folder(dovecot, user, "INBOX")) == 4
    # restart: nothing twice; the committed messages are moved now, each to its folder
    assert d.fetch_mail_once().counts == {}
    assert subjects(d) == ["crash 0", "crash 1", "crash 2"]
    assert folder(dovecot, user, "INBOX") == []
    assert len(folder(dovecot, user, "Processed")) == 3
    assert len(folder(dovecot, user, "Quarantine")) == 1
    assert len(d.quarantine_list()) == 1
    d.engine.dispose()


def test_a_message_moved_back_is_not_a_second_ticket(sqlite_url, dovecot, user) -> None:
    d = mail_desk(sqlite_url, dovecot.url(user), imap_processed_folder="Processed")
    dovecot.append(user, mail(subject="once", message_id="<once@acme.example>"))
    assert d.fetch_mail_once().counts == {"ticket": 1}
    c = dovecot.client(user)  # a person drags it back into the inbox: a new UID
    try:
        c.select_folder("Processed")
        c.move(c.search("ALL"), "INBOX")
    finally:
        c.logout()
    assert d.fetch_mail_once().counts == {"duplicate": 1}
    assert subjects(d) == ["once"]
    assert folder(dovecot, user, "INBOX") == []
    assert len(folder(dovecot, user, "Processed")) == 1
    d.engine.dispose()


def _race_moving(urls: list[str], dovecot, user, n: int = 30) -> None:
    for i in range(n):
        dovecot.append(user, mail(subject=f"race {i}", message_id=f"<mv{i}@acme.example>"))
    desks = [mail_desk(u, dovecot.url(user), imap_processed_folder="Processed") for u in urls]
    for d in desks:
        d.mail_batch = 4
    barrier = threading.Barrier(len(desks))
    errors: list[BaseException] = []

    def run(d: Desk) -> None:
        try:
            barrier.wait()
            d.fetch_mail_once()
            d.fetch_mail_once()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in desks]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors
    assert subjects(desks[0]) == sorted(f"race {i}" for i in range(n))
    assert folder(dovecot, user, "INBOX") == []
    assert len(folder(dovecot, user, "Processed")) == n  # each moved once
    for d in desks:
        d.engine.dispose()


def test_two_fetchers_moving_race_sqlite(sqlite_url, dovecot, user) -> None:
    Desk.open(Settings(db_url=sqlite_url)).engine.dispose()
    _race_moving([sqlite_url, sqlite_url], dovecot, user)


@pytest.mark.postgres
def test_two_fetchers_moving_race_postgres(pg_url, dovecot, user) -> None:
    Desk.open(Settings(db_url=pg_url)).engine.dispose()
    _race_moving([pg_url, pg_url], dovecot, user)


def test_the_mailbox_itself_is_refused_as_a_folder(sqlite_url, dovecot, user) -> None:
    d = mail_desk(sqlite_url, dovecot.url(user), imap_processed_folder="inbox")
    with pytest.raises(UserError, match="imap_processed_folder 'inbox' is the mailbox"):
        d.fetch_mail_once()
    d.engine.dispose()


def test_cli_option_and_config_key(tmp_path: Path, dovecot, user, monkeypatch, capsys) -> None:
    from agent_console.cli import main
    from agent_console.settings import resolve_settings

    cfg = tmp_path / "config.toml"
    cfg.write_text('imap_processed_folder = "Archive"\nimap_quarantine_folder = "Bad"\n')
    s = resolve_settings(env={"AGENT_CONSOLE_CONFIG": str(cfg)})
    assert (s.imap_processed_folder, s.imap_quarantine_folder) == ("Archive", "Bad")

    db = f"sqlite:///{tmp_path / 'mail.db'}"
    monkeypatch.setenv("AGENT_CONSOLE_IMAP", dovecot.url(user))
    monkeypatch.setenv("AGENT_CONSOLE_IMAP_PASSWORD", PASSWORD)
    monkeypatch.setenv("AGENT_CONSOLE_CONFIG", str(tmp_path / "none.toml"))
    dovecot.append(user, mail(subject="by cli"))
    code = main(["--db", db, "mail", "fetch", "--once", "--processed-folder", "Handled"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "1 new ticket" in out
    assert folder(dovecot, user, "INBOX") == []
    assert len(folder(dovecot, user, "Handled")) == 1

"""Ticket numbers under concurrency (issue 14): two fetchers on *different* mailboxes and a
console creating tickets at the same time never allocate the same number/key, and none of
them fails (desk/tickets.py ``lock_ticket_numbers``: SQLite's write lock, PostgreSQL's
advisory lock), on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from agent_console.desk import Desk
from agent_console.settings import Settings
from agent_console.store.models import Ticket
from tests.imap_helpers import PASSWORD, mail, start_dovecot


@pytest.fixture(scope="module")
def dovecot():
    server = start_dovecot()
    yield server
    server.stop()


def _desk(db_url: str, imap_url: str | None = None) -> Desk:
    return Desk.open(
        Settings(db_url=db_url, imap_url=imap_url, imap_password=PASSWORD, imap_timeout=10.0)
    )


def _race(db_url: str, dovecot, n: int = 15) -> None:
    Desk.open(Settings(db_url=db_url)).engine.dispose()  # schema once, before the race
    users = [dovecot.new_user(), dovecot.new_user()]
    for u, user in enumerate(users):
        for i in range(n):
            dovecot.append(user, mail(subject=f"box{u} {i}", sender=f"c{i}@acme{u}.example"))
    fetchers = [_desk(db_url, dovecot.url(user)) for user in users]
    console = _desk(db_url)
    for f in fetchers:
        f.mail_batch = 1  # one transaction per message: the most interleaving
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def fetch(d: Desk) -> None:
        try:
            barrier.wait()
            d.fetch_mail_once()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    def create() -> None:
        try:
            barrier.wait()
            for i in range(n):
                console.create_ticket(
                    subject=f"console {i}", body="typed in", requester_email="p@phone.example"
                )
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=fetch, args=(f,)) for f in fetchers]
    threads.append(threading.Thread(target=create))
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors, errors
    with console.read() as s:
        rows = s.exec(select(Ticket.number, Ticket.key, Ticket.subject)).all()
    assert len(rows) == 3 * n
    numbers = sorted(r[0] for r in rows)
    assert numbers == list(range(numbers[0], numbers[0] + 3 * n))  # distinct, no gap
    assert len({r[1] for r in rows}) == 3 * n
    for d in [*fetchers, console]:
        d.engine.dispose()


def test_two_mailboxes_and_a_console_never_share_a_number_sqlite(sqlite_url, dovecot) -> None:
    _race(sqlite_url, dovecot)


@pytest.mark.postgres
def test_two_mailboxes_and_a_console_never_share_a_number_postgres(pg_url, dovecot) -> None:
    _race(pg_url, dovecot)


@pytest.mark.postgres
def test_number_lock_is_held_until_commit_postgres(pg_url) -> None:
    """Deterministic: while one transaction holds a freshly allocated number, another
    console's ticket waits and then takes the next number (never the same one)."""
    a, b = _desk(pg_url), _desk(pg_url)
    b.create_ticket(subject="first", body="x", requester_email="p@phone.example")
    got: list[str] = []
    allocated = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with a.write() as s:
            n = a.next_ticket_number(s)
            got.append(f"held {n}")
            allocated.set()
            release.wait(10)
            cust = a.customer_for(s, "q@phone.example", None, None)
            from agent_console.store.models import Priority

            a.open_ticket_in(
                s,
                subject="held",
                body="x",
                customer=cust,
                organization=None,
                priority=Priority.MINOR,
                opened_at=a.now(),
            )

    th = threading.Thread(target=hold)
    th.start()
    assert allocated.wait(10)
    done = threading.Event()
    keys: list[str] = []

    def other() -> None:
        keys.append(b.create_ticket(subject="other", body="y", requester_email="r@x.example"))
        done.set()

    th2 = threading.Thread(target=other)
    th2.start()
    assert not done.wait(0.5)  # waits on the advisory lock
    release.set()
    th.join(10)
    th2.join(10)
    with b.read() as s:
        held = s.exec(select(Ticket.key).where(Ticket.subject == "held")).one()
    assert got == [f"held {int(held.split('-')[1])}"]
    assert int(keys[0].split("-")[1]) == int(held.split("-")[1]) + 1
    a.engine.dispose()
    b.engine.dispose()

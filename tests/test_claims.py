"""Claims: exclusive, tier-checked, race-safe across processes (issue 4 / issue 5)."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agent_console.desk import Desk
from agent_console.errors import Conflict, NotFound, PermissionDenied, UserError
from agent_console.settings import Settings
from agent_console.store.models import Agent, Ticket, TicketEvent
from tests.conftest import FIXED_NOW


def _unassigned(desk: Desk, tier: int = 1) -> list[Ticket]:
    with desk.read() as s:
        return list(
            s.execute(
                select(Ticket)
                .where(Ticket.is_open == True, Ticket.tier == tier, Ticket.assignee_id.is_(None))  # noqa: E712
                .order_by(Ticket.next_due, Ticket.priority_level, Ticket.id)
            ).scalars()
        )


def _new_ticket(desk: Desk, tier: int = 1, subject: str = "Card reader offline") -> str:
    key = desk.create_ticket(
        subject=subject, body="It stopped.", requester_email="pat@example.com", priority="urgent"
    )
    if tier != 1:
        with desk.write() as s:
            desk.ticket_by_key(s, key).tier = tier
    return key


def _assignee(desk: Desk, key: str) -> str | None:
    with desk.read() as s:
        t = desk.ticket_by_key(s, key)
        if t.assignee_id is None:
            return None
        return s.get(Agent, t.assignee_id).handle


def test_claim_assigns_logs_and_bumps_version(seeded_desk: Desk) -> None:
    t = _unassigned(seeded_desk)[0]
    assert seeded_desk.claim(t.key, agent="alice") == t.key
    assert _assignee(seeded_desk, t.key) == "alice"
    with seeded_desk.read() as s:
        fresh = seeded_desk.ticket_by_key(s, t.key)
        assert fresh.version == t.version + 1
        ev = s.execute(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.kind == "claimed")
        ).scalar_one()
        assert ev.details["agent"] == "alice"
        assert ev.at == FIXED_NOW


def test_claim_taken_ticket_says_who_holds_it(seeded_desk: Desk) -> None:
    t = _unassigned(seeded_desk)[0]
    seeded_desk.claim(t.key, agent="alice")
    with pytest.raises(Conflict, match=r"already claimed by alice \(Alice Moreno\)") as err:
        seeded_desk.claim(t.key, agent="bruno")
    assert "\n" not in str(err.value)
    assert _assignee(seeded_desk, t.key) == "alice"
    # claiming your own ticket again is a no-op
    assert seeded_desk.claim(t.key, agent="alice") == t.key


def test_claim_other_tier_refused_unless_lead(seeded_desk: Desk) -> None:
    key = _new_ticket(seeded_desk, tier=2)
    with pytest.raises(PermissionDenied, match="alice is tier 1; .* tier 2 ticket"):
        seeded_desk.claim(key, agent="alice")
    assert _assignee(seeded_desk, key) is None
    # erin is a tier 1 lead: leads claim any tier
    assert seeded_desk.claim(key, agent="erin") == key
    assert _assignee(seeded_desk, key) == "erin"


def test_claim_closed_unknown_and_stale_version(seeded_desk: Desk) -> None:
    with seeded_desk.read() as s:
        closed = s.execute(select(Ticket).where(Ticket.is_open == False).limit(1)).scalar_one()  # noqa: E712
    with pytest.raises(Conflict, match="only an open ticket can be claimed"):
        seeded_desk.claim(closed.key, agent="alice")
    with pytest.raises(NotFound):
        seeded_desk.claim("SUP-999999", agent="alice")
    with pytest.raises(NotFound):
        seeded_desk.claim(closed.key, agent="nobody-here")
    t = _unassigned(seeded_desk)[0]
    with pytest.raises(Conflict, match="changed since you saw it"):
        seeded_desk.claim(t.key, agent="alice", expected_version=t.version + 7)
    assert seeded_desk.claim(t.key, agent="alice", expected_version=t.version) == t.key


def test_claim_next_takes_queue_order_and_empties(seeded_desk: Desk) -> None:
    for _ in range(4):
        _new_ticket(seeded_desk, tier=3)
    order = [t.key for t in _unassigned(seeded_desk, tier=3)]
    assert len(order) >= 4
    got = seeded_desk.claim_next(agent="ines", count=2)
    assert got == order[:2]
    rest = seeded_desk.claim_next(agent="jun", count=1000)
    assert rest == order[2:]
    assert seeded_desk.claim_next(agent="ines") == []
    with pytest.raises(UserError, match="--count"):
        seeded_desk.claim_next(agent="ines", count=0)


def test_claim_next_skips_a_ticket_won_meanwhile(seeded_desk: Desk) -> None:
    order = [t.key for t in _unassigned(seeded_desk)]
    seeded_desk.claim(order[0], agent="bruno")
    assert seeded_desk.claim_next(agent="alice") == [order[1]]


# ---------------------------------------------------------------- multi-process race
def _race_worker(url: str, handle: str, out: mp.Queue) -> None:  # type: ignore[type-arg]
    desk = Desk.open(Settings(db_url=url, now=FIXED_NOW))
    mine: list[str] = []
    while True:
        got = desk.claim_next(agent=handle)
        if not got:
            break
        mine.extend(got)
    desk.engine.dispose()
    out.put((handle, mine))


def test_claim_next_race_four_processes_sqlite(seeded_desk: Desk, sqlite_url: str) -> None:
    """Four processes claim-next on one SQLite file until nothing is left: every ticket is
    claimed exactly once."""
    for i in range(60):
        _new_ticket(seeded_desk, subject=f"Race ticket {i}")
    expected = {t.key for t in _unassigned(seeded_desk)}
    assert len(expected) > 60
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_race_worker, args=(sqlite_url, h, out))
        for h in ("alice", "bruno", "carmen", "dmitri")
    ]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    claimed = [k for keys in results.values() for k in keys]
    assert len(claimed) == len(set(claimed)), "a ticket was claimed twice"
    assert set(claimed) == expected
    with seeded_desk.read() as s:
        per_ticket = s.execute(
            select(TicketEvent.ticket_id, func.count())
            .where(TicketEvent.kind == "claimed")
            .group_by(TicketEvent.ticket_id)
        ).all()
    assert len(per_ticket) == len(expected)
    assert all(n == 1 for _, n in per_ticket)
    assert _unassigned(seeded_desk) == []


# ---------------------------------------------------------------- CLI
def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent_console", "--db", url, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )


def test_cli_claim_and_claim_next(seeded_desk: Desk, sqlite_url: str) -> None:
    for _ in range(4):
        _new_ticket(seeded_desk, tier=3)
    order = [t.key for t in _unassigned(seeded_desk, tier=3)]
    r = _cli(sqlite_url, "ticket", "claim-next", "--agent", "ines", "--count", "2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == order[:2]
    r = _cli(sqlite_url, "ticket", "claim", order[2], "--agent", "jun")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == order[2]
    r = _cli(sqlite_url, "ticket", "claim", order[2], "--agent", "ines")
    assert r.returncode == 4
    assert r.stderr.strip().count("\n") == 0
    assert "already claimed by jun" in r.stderr
    r = _cli(sqlite_url, "ticket", "claim-next", "--agent", "ines", "--count", "1000")
    assert r.returncode == 0
    r = _cli(sqlite_url, "ticket", "claim-next", "--agent", "ines")
    assert r.returncode == 0 and r.stdout == ""  # nothing left is not an error


@pytest.mark.postgres
def test_claim_next_race_threads_postgres(pg_desk: Desk, pg_url: str) -> None:
    """On PostgreSQL the loser's conditional UPDATE waits for the winner's row lock, then
    matches nothing: four racing consoles still claim every ticket exactly once."""
    import threading

    pg_desk.seed(0, now=FIXED_NOW)  # agents
    for i in range(40):
        _new_ticket(pg_desk, subject=f"PG race {i}")
    expected = {t.key for t in _unassigned(pg_desk)}
    results: dict[str, list[str]] = {}

    def worker(handle: str) -> None:
        d = Desk.open(Settings(db_url=pg_url, now=FIXED_NOW))
        mine: list[str] = []
        while got := d.claim_next(agent=handle):
            mine.extend(got)
        results[handle] = mine
        d.engine.dispose()

    threads = [
        threading.Thread(target=worker, args=(h,)) for h in ("alice", "bruno", "carmen", "dmitri")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    claimed = [k for keys in results.values() for k in keys]
    assert len(claimed) == len(set(claimed)) and set(claimed) == expected


# ---------------------------------------------------------------- both databases (issue 11)
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def both_desk(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A desk with ann (tier 1), bob (tier 1) and lea (tier 1 lead), on each database."""
    if request.param == "sqlite":
        d = Desk.open(Settings(db_url=f"sqlite:///{tmp_path / 'c.db'}", now=FIXED_NOW))
    else:
        d = request.getfixturevalue("pg_desk")
    d.add_agent("ann", "Ann One", 1)
    d.add_agent("bob", "Bob One", 1)
    d.add_agent("lea", "Lea Lead", 1, lead=True)
    yield d
    if request.param == "sqlite":
        d.engine.dispose()


def test_claim_outcomes_are_the_same_on_both_databases(both_desk: Desk) -> None:
    """The claim path differs by database (PostgreSQL: one statement that commits by
    itself); what a person sees does not."""
    d = both_desk
    key = _new_ticket(d)
    tier2 = _new_ticket(d, tier=2)
    with d.read() as s:
        version = d.ticket_by_key(s, key).version
    with pytest.raises(NotFound, match="no ticket 'SUP-999999'"):
        d.claim("SUP-999999", agent="ann")
    with pytest.raises(PermissionDenied, match="ann is tier 1; .* tier 2 ticket"):
        d.claim(tier2, agent="ann")
    with pytest.raises(Conflict, match="changed since you saw it"):
        d.claim(key, agent="ann", expected_version=version + 3)
    assert _assignee(d, key) is None
    assert d.claim(key.lower(), agent="ann", expected_version=version) == key
    assert d.claim(key, agent="ann") == key  # already hers: a no-op
    with pytest.raises(Conflict, match=r"already claimed by ann \(Ann One\)"):
        d.claim(key, agent="bob")
    assert d.claim(tier2, agent="lea") == tier2
    with d.read() as s:
        t = d.ticket_by_key(s, key)
        assert (t.version, t.updated_at) == (version + 1, FIXED_NOW)
        evs = s.execute(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.kind == "claimed")
        ).scalars().all()
    assert len(evs) == 1 and evs[0].details == {"agent": "ann"} and evs[0].at == FIXED_NOW
    assert evs[0].actor_role == d.identity.role
    # a rehearsal (--at) marks the claim's event, as every event
    rehearsal = Desk(d.engine, d.settings.with_(at=FIXED_NOW))
    other = _new_ticket(d)
    rehearsal.claim(other, agent="bob")
    with d.read() as s:
        ev = s.execute(
            select(TicketEvent).where(TicketEvent.kind == "claimed").order_by(TicketEvent.id.desc())
        ).scalars().first()
    assert ev.details == {"agent": "bob", "rehearsal": True}

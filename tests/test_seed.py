"""``seed``: deterministic, realistic demo data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from agent_console.desk import Desk
from agent_console.errors import UserError
from agent_console.settings import Settings
from agent_console.store.models import Agent, Message, Organization, Ticket
from tests.conftest import FIXED_NOW


def snapshot(desk: Desk) -> list[tuple]:
    with desk.read() as s:
        tickets = s.execute(
            select(Ticket.key, Ticket.subject, Ticket.priority, Ticket.status, Ticket.tier,
                   Ticket.assignee_id, Ticket.opened_at, Ticket.next_due).order_by(Ticket.number)
        ).all()
        messages = s.execute(
            select(Message.ticket_id, Message.kind, Message.body, Message.created_at)
            .order_by(Message.id)
        ).all()
    return [tuple(r) for r in tickets] + [tuple(r) for r in messages]


def test_same_seed_same_data(tmp_path) -> None:
    desks = [Desk.open(Settings(db_url=f"sqlite:///{tmp_path / f'{i}.db'}")) for i in range(3)]
    desks[0].seed(400, seed=5, now=FIXED_NOW)
    desks[1].seed(400, seed=5, now=FIXED_NOW)
    desks[2].seed(400, seed=6, now=FIXED_NOW)
    assert snapshot(desks[0]) == snapshot(desks[1])
    assert snapshot(desks[0]) != snapshot(desks[2])


def test_seed_is_realistic(seeded_desk: Desk) -> None:
    tickets = seeded_desk.list_tickets()
    assert len(tickets) == 300
    assert {t.priority for t in tickets} == {"critical", "urgent", "minor"}
    assert {t.status for t in tickets} == {"new", "open", "pending", "on_hold", "resolved", "closed"}
    open_ = [t for t in tickets if t.status not in ("resolved", "closed")]
    assert any(t.tier == 2 for t in open_) and any(t.tier == 3 for t in tickets)
    breached = [t for t in open_ if t.next_due and t.next_due < FIXED_NOW]
    near = [t for t in open_ if t.next_due and FIXED_NOW <= t.next_due < FIXED_NOW + timedelta(hours=2)]
    assert breached and near
    assert all(t.opened_at <= FIXED_NOW for t in tickets)
    with seeded_desk.read() as s:
        agents = list(s.execute(select(Agent.tier, Agent.on_call)).all())
        assert {tier for tier, _ in agents} == {1, 2, 3}
        assert any(on_call for _, on_call in agents)
        contracts = s.execute(select(Organization.sla_policy)).scalars().all()
        assert "enterprise-plus" in contracts
        kinds = set(s.execute(select(Message.kind)).scalars().all())
        assert kinds == {"customer", "public", "internal", "handoff"}


def test_seed_refuses_a_database_with_tickets(seeded_desk: Desk) -> None:
    with pytest.raises(UserError, match="--append"):
        seeded_desk.seed(10, now=FIXED_NOW)
    assert seeded_desk.seed(10, now=FIXED_NOW, append=True) == 10
    assert len(seeded_desk.list_tickets()) == 310


# ---------------------------------------------------------------- a killed seed resumes
def _written(url: str) -> tuple[int, int] | None:
    """(tickets, seed_run.written) read from outside the seeding process."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            run = conn.execute(text("SELECT written FROM seed_run")).first()
            n = conn.execute(text("SELECT count(*) FROM ticket")).scalar_one()
            return (int(n), int(run[0])) if run else None
    except Exception:  # noqa: BLE001 - the schema is not there yet
        return None
    finally:
        eng.dispose()


def test_a_killed_seed_resumes_to_the_data_of_an_uninterrupted_run(tmp_path, capsys) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from agent_console.cli import main

    tickets, chunk, now = 3000, 50, FIXED_NOW.isoformat()
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_console", "--db", url, "seed", "--tickets", str(tickets),
         "--now", now, "--chunk", str(chunk)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            seen = _written(url)
            if seen and seen[1] > 0:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    n, written = _written(url) or (0, 0)
    assert 0 < written < tickets, "the seed finished before it could be killed"
    assert n == written  # consistent: the run's progress commits with its chunk
    # plain `seed` resumes it (no refusal, no second set)
    assert main(["--db", url, "seed"]) == 0
    err = capsys.readouterr().err
    assert f"resuming the seed run interrupted after {written:,} of {tickets:,} tickets" in err
    resumed = Desk.open(Settings(db_url=url))
    reference = Desk.open(Settings(db_url=f"sqlite:///{tmp_path / 'whole.db'}"))
    reference.seed(tickets, seed=1, now=FIXED_NOW, chunk=chunk)
    assert snapshot(resumed) == snapshot(reference)
    assert resumed.unfinished_seed_run() is None
    # and a finished database is refused as before
    assert main(["--db", url, "seed"]) == 2
    assert "already holds 3,000 tickets" in capsys.readouterr().err


class Interrupt(Exception):
    pass


def _interrupt_after(chunks: int):
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == chunks:
            raise Interrupt

    return progress


def _interrupted_then_resumed(desk: Desk, tmp_path) -> None:
    with pytest.raises(Interrupt):
        desk.seed(500, seed=4, now=FIXED_NOW, chunk=100, progress=_interrupt_after(2))
    run = desk.unfinished_seed_run()
    assert (run.tickets, run.written, run.seed, run.now) == (500, 200, 4, FIXED_NOW)
    # a different request says exactly how to finish the interrupted one
    for attempt in (
        lambda: desk.seed(100, seed=4, now=FIXED_NOW),
        lambda: desk.seed(500, seed=4, now=FIXED_NOW, append=True),
    ):
        with pytest.raises(UserError, match=r"interrupted after 200 of 500 tickets .*"
                           r"--tickets 500 --seed 4 --now 2026-11-23T14:00:00\+00:00.*"
                           r"run `agent-console seed --resume`"):
            attempt()
    # the same request resumes
    assert desk.seed(500, seed=4, now=FIXED_NOW, chunk=100) == 300
    whole = Desk.open(Settings(db_url=f"sqlite:///{tmp_path / 'whole.db'}"))
    whole.seed(500, seed=4, now=FIXED_NOW)
    assert snapshot(desk) == snapshot(whole)


def test_an_interrupted_seed_resumes_on_sqlite(desk: Desk, tmp_path) -> None:
    _interrupted_then_resumed(desk, tmp_path)


@pytest.mark.postgres
def test_an_interrupted_seed_resumes_on_postgres(pg_desk: Desk, tmp_path) -> None:
    _interrupted_then_resumed(pg_desk, tmp_path)


def test_resume_without_an_interrupted_run(capsys, tmp_path) -> None:
    from agent_console.cli import main

    url = f"sqlite:///{tmp_path / 'r.db'}"
    assert main(["--db", url, "seed", "--resume"]) == 2
    assert "no interrupted seed run" in capsys.readouterr().err


# ---------------------------------------------------------------- first run
def test_first_run_demo_as_alice_loads_the_demo_then_starts_as_alice(
    tmp_path, monkeypatch, capsys
) -> None:
    """`agent-console --demo --agent alice` on an empty database: it said "unknown agent
    'alice'" and loaded nothing."""
    from agent_console.app import AgentConsoleApp
    from agent_console.cli import main

    started: list[AgentConsoleApp] = []
    # the terminal UI itself is not run here: the app is recorded where it would start
    monkeypatch.setattr(AgentConsoleApp, "run", lambda self, *a, **k: started.append(self))
    url = f"sqlite:///{tmp_path / 'first.db'}"
    assert main(["--db", url, "--demo", "--agent", "alice"]) == 0
    assert "loading demo data (2,000 tickets)" in capsys.readouterr().out
    assert len(started) == 1
    desk = Desk.open(Settings(db_url=url, agent="alice"))
    assert len(desk.list_tickets()) == 2000
    assert desk.get_agent().name == "Alice Moreno"
    # the second start loads nothing more
    assert main(["--db", url, "--demo", "--agent", "alice"]) == 0
    assert "loading" not in capsys.readouterr().out and len(desk.list_tickets()) == 2000


def test_first_run_demo_with_an_unknown_agent_loads_nothing(tmp_path, capsys) -> None:
    from agent_console.cli import main

    url = f"sqlite:///{tmp_path / 'first.db'}"
    assert main(["--db", url, "--demo", "--agent", "zed"]) == 2
    err = capsys.readouterr().err
    assert "unknown agent 'zed': the demo data has the agents demo, alice, bruno" in err
    assert not Desk.open(Settings(db_url=url)).has_tickets()

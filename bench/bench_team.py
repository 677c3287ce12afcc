"""Team mode benchmark (issue 11): one command, prints its figures.

    python bench/bench_team.py [--changes 200] [--seconds 10] [--consoles 50]

Against a throwaway PostgreSQL database (AGENT_CONSOLE_TEST_PG, default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres; dropped afterwards) and a SQLite
file in a temporary folder:

- feed delay: another agent's claim, reply or escalation committed (the writer's COMMIT
  sent) -> the other console's follower has read the changed rows (the queue screen's
  read) — median, p95. The repaint after it is the screen's (bench_queue: < 50 ms).
  PostgreSQL: woken by the notification (no polling); SQLite: the screens' 1 s poll.
- claim latency (median, p95) with 1, 4 and 16 simulated agents, each a process of its
  own (on PostgreSQL connected as the agent's own role, as a team runs), claiming
  distinct tickets at a combined 50 claims/s (open loop: a late claim does not push the
  next one back). Target: p95 < 20 ms with 16 agents on PostgreSQL. A claim is two round
  trips on PostgreSQL (who acts; the update and its event in one statement that commits).
- presence cost: 50 simulated consoles on 4 connections — a heartbeat every 5 s each,
  10 of them typing (an announcement every 2 s), every console reading who is on its
  ticket when a notification says so (typing: only the consoles on that ticket) —
  database statements per second, counted on the engines.

Not a pass/fail test: it prints what it measured. The machine is shared: load average
is printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent_console.desk import Desk, FeedBatch  # noqa: E402
from agent_console.desk.identity import agent_role_name  # noqa: E402
from agent_console.desk.live import FeedFollower  # noqa: E402
from agent_console.desk.presence import HEARTBEAT, TYPING_EVERY, Viewer  # noqa: E402
from agent_console.settings import Settings  # noqa: E402

PG_ADMIN = os.environ.get(
    "AGENT_CONSOLE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 11, 23, 14, tzinfo=UTC)


@contextmanager
def pg_database():
    name = f"ac_bench_team_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            # roles are cluster-wide: drop the agents' roles `agent add` made for it
            prefix = agent_role_name(name, "")
            for role in c.execute(
                text("SELECT rolname FROM pg_roles WHERE starts_with(rolname, :p)"),
                {"p": prefix},
            ).scalars().all():
                c.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


@contextmanager
def sqlite_database():
    with tempfile.TemporaryDirectory() as d:
        yield f"sqlite:///{Path(d) / 'team.db'}"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def fmt(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"median {statistics.median(ms):7.1f} ms  p95 {pct(ms, 95):7.1f} ms  (n={len(ms)})"


def setup(url: str, agents: int, tickets: int) -> tuple[Desk, list[str]]:
    desk = Desk.open(Settings(db_url=url, now=NOW))
    for i in range(agents):
        desk.add_agent(f"a{i:02d}", f"Agent {i}", 1)
    keys = [
        desk.create_ticket(
            subject=f"ticket {i}", body="b", requester_email=f"c{i}@x.example", priority="urgent"
        )
        for i in range(tickets)
    ]
    return desk, keys


def as_agent(desk: Desk, handle: str, *, own_engine: bool = False) -> Desk:
    settings = desk.settings.with_(agent=handle)
    if own_engine:
        return Desk.open(settings)
    return Desk(desk.engine, settings)


# ---------------------------------------------------------------- feed delay
def feed_delay(url: str, changes: int, poll: float) -> list[float]:
    """Claims, then replies, then escalations of ``changes // 3`` tickets, 30-80 ms apart."""
    n = max(changes // 3, 1)
    desk, keys = setup(url, 2, n)
    writer = as_agent(desk, "a00", own_engine=True)
    console = as_agent(desk, "a01", own_engine=True)
    with console.read() as s:
        ids = dict(s.execute(text("SELECT key, id FROM ticket")).all())
    seen: list[tuple[int, float]] = []
    ops: list[tuple[int, float, float]] = []
    commits: list[float] = []  # when the writer's engine sent COMMIT
    event.listen(writer.engine, "commit", lambda _conn: commits.append(time.perf_counter()))

    def autocommitted(_conn, _cur, statement, *_a) -> None:  # type: ignore[no-untyped-def]
        # a claim on PostgreSQL is one statement that commits by itself (desk/claims.py):
        # its commit happened when the server answered
        if statement.startswith("WITH won"):
            commits.append(time.perf_counter())

    event.listen(writer.engine, "after_cursor_execute", autocommitted)

    def apply(batch: FeedBatch) -> None:
        console.queue_rows(batch.ticket_ids)  # what the screen reads before painting
        t = time.perf_counter()
        seen.extend((tid, t) for tid in batch.ticket_ids)

    follower = FeedFollower(console, apply, poll=poll, listen=poll > 100)
    follower.start()
    if follower.listener is not None:
        follower.listener.listening.wait(10)
    rng = random.Random(1)
    for phase in ("claim", "reply", "escalate"):
        for key in keys:
            time.sleep(rng.uniform(0.03, 0.08))
            t0 = time.perf_counter()
            if phase == "claim":
                writer.claim(key)
            elif phase == "reply":
                writer.reply(key, "We are on it")
            else:
                writer.escalate(key, "needs tier 2")
            ops.append((ids[key], t0, commits[-1]))
    time.sleep(poll + 1 if poll < 100 else 1)
    follower.stop()
    for d in (writer, console, desk):
        d.engine.dispose()
    delays = []
    for tid, before, committed in ops:
        first = min((t for i, t in seen if i == tid and t >= before), default=None)
        if first is not None:
            delays.append(max(0.0, first - committed))
    return delays


# ---------------------------------------------------------------- claims
def _claimer(url: str, role: str | None, handle: str, keys: list[str], offset: float,
             interval: float, ready, start, out) -> None:  # type: ignore[no-untyped-def]
    """One agent's console (its own process and connection; PostgreSQL: its own role):
    says it is ready, then claims ``keys`` on an open-loop schedule from the shared
    ``start`` (wall clock) and returns its latencies and how late its last claim began."""
    if role is not None:
        url = make_url(url).set(username=role).render_as_string(hide_password=False)
        desk = Desk.open(Settings(db_url=url, now=NOW))
    else:
        desk = Desk.open(Settings(db_url=url, now=NOW, agent=handle))
    desk.queue_me()  # a console is connected before it claims
    ready.put(handle)
    while start.value == 0:
        time.sleep(0.01)
    latencies, late = [], 0.0
    for n, key in enumerate(keys):
        wait = start.value + offset + n * interval - time.time()
        if wait > 0:
            time.sleep(wait)
        late = max(late, -wait)
        t0 = time.perf_counter()
        desk.claim(key)
        latencies.append(time.perf_counter() - t0)
    desk.engine.dispose()
    out.put((latencies, late))


def claim_latency(url: str, agents: int, rate: float, seconds: float) -> list[float]:
    """``agents`` consoles, each a process (a console is one; threads in one process would
    measure the GIL), on PostgreSQL each connected as the agent's own role (the identity
    trigger included), claiming distinct tickets at a combined ``rate`` per second."""
    import multiprocessing as mp

    total = int(rate * seconds)
    desk, keys = setup(url, agents, total)
    with desk.read() as s:
        roles = dict(s.execute(text("SELECT handle, db_role FROM agent")).all())
    ctx = mp.get_context("spawn")
    ready, out, start = ctx.Queue(), ctx.Queue(), ctx.Value("d", 0.0)
    procs = [
        ctx.Process(
            target=_claimer,
            args=(url, roles.get(f"a{i:02d}"), f"a{i:02d}", keys[i::agents], i / rate,
                  agents / rate, ready, start, out),
        )
        for i in range(agents)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.get()
    start.value = time.time() + 0.5
    latencies: list[float] = []
    late = 0.0
    for _ in procs:
        got, lag = out.get()
        latencies.extend(got)
        late = max(late, lag)
    for p in procs:
        p.join()
    if late > 0.1:
        print(f"    (a claim began up to {late * 1000:.0f} ms behind its schedule)")
    desk.engine.dispose()
    return latencies


# ---------------------------------------------------------------- presence
def presence_cost(url: str, consoles: int, seconds: float, typing: int) -> tuple[float, int]:
    desk, keys = setup(url, consoles, 20)
    engines = [Desk.open(desk.settings) for _ in range(4)]
    count = {"n": 0}
    lock = threading.Lock()

    def counter(*_a) -> None:  # type: ignore[no-untyped-def]
        with lock:
            count["n"] += 1

    for d in engines:
        event.listen(d.engine, "before_cursor_execute", counter)
    sims = [
        (
            f"console-{i}",
            Desk(engines[i % 4].engine, desk.settings.with_(agent=f"a{i:02d}")),
            keys[i % len(keys)],
        )
        for i in range(consoles)
    ]
    for console, d, key in sims:
        d.presence_beat(console, key, announce=True)
    with lock:
        count["n"] = 0
    stop = time.perf_counter() + seconds
    rng = random.Random(2)
    next_beat = {c: time.perf_counter() + rng.uniform(0, HEARTBEAT) for c, _, _ in sims}
    next_type = {c: time.perf_counter() for c, _, _ in sims[:typing]}
    reads = 0
    while time.perf_counter() < stop:
        now = time.perf_counter()
        for console, d, key in sims:
            woken = None
            if next_type.get(console, float("inf")) <= now:
                d.presence_beat(console, key, typing=True, announce=True)
                next_type[console] = now + TYPING_EVERY
                woken = key
            elif next_beat[console] <= now:
                d.presence_beat(console, key)
                next_beat[console] = now + HEARTBEAT
            if woken is not None:
                # the consoles showing that ticket read who is there
                for other, od, okey in sims:
                    if okey == woken and other != console:
                        _: list[Viewer] = od.viewers(okey, console=other)
                        reads += 1
        time.sleep(0.02)
    with lock:
        n = count["n"]
    for d in [*engines, desk]:
        d.engine.dispose()
    return n / seconds, reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--consoles", type=int, default=50)
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores, shared)")
    print("\nfeed delay: commit -> other console read the changed rows")
    with pg_database() as url:
        print(f"  PostgreSQL (notify):  {fmt(feed_delay(url, args.changes, poll=3600))}")
    with sqlite_database() as url:
        print(f"  SQLite (1 s poll):    {fmt(feed_delay(url, args.changes // 3, poll=1.0))}")
    print(f"\nclaim latency at a combined 50 claims/s for {args.seconds:.0f} s")
    for agents in (1, 4, 16):
        with pg_database() as url:
            print(f"  PostgreSQL {agents:2d} agents: {fmt(claim_latency(url, agents, 50, args.seconds))}")
        with sqlite_database() as url:
            print(f"  SQLite     {agents:2d} agents: {fmt(claim_latency(url, agents, 50, args.seconds))}")
    print(f"\npresence: {args.consoles} consoles on 4 connections, 10 typing, {args.seconds:.0f} s")
    for name, ctx in (("PostgreSQL", pg_database), ("SQLite", sqlite_database)):
        with ctx() as url:
            rate, reads = presence_cost(url, args.consoles, args.seconds, 10)
            print(f"  {name}: {rate:6.1f} statements/s ({reads} viewer reads)")
    print(f"\nload average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

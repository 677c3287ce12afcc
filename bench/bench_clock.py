"""Ticket clock benchmark: building clocks and their deadlines for 100,000 tickets.

Run: ``python bench/bench_clock.py`` (options: ``--tickets``, ``--repeat``, ``--seed``).

In one process it times, over the same random tickets (default policy, openings spread
over 2025-01..2027-09, a third answered, a tenth with a closed pause, a twentieth waiting):

  1. the raw engine: :func:`agent_console.sla.compute_deadlines` from the facts (baseline);
  2. :meth:`TicketClock.of` + :meth:`TicketClock.deadlines` (what ``sla due`` does);
  3. :func:`agent_console.desk.deadlines.deadline_columns` (clock + running deadline +
     every stored column: what seeding, imports and recomputing write).

and prints CPU µs per deadline (3 deadlines per ticket) and the ratio to the baseline.
Target (issue 9): under 2 µs per deadline. Not a pass/fail test.

``--queue-db sqlite:///…`` (e.g. the 1,000,000-ticket database bench/bench_queue.py
seeds) also times the ordering of the open tickets in the same process: "soonest breach"
under the urgency rule (clock running now first, ``desk.queue.urgency_group``) against
the plain ``ORDER BY next_due, priority_level, id`` it replaced, at a business-hours and
an after-hours instant.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent_console.desk.deadlines import deadline_columns  # noqa: E402
from agent_console.sla import TicketClock, compute_deadlines, load_default_policy  # noqa: E402

FIRST = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = int((datetime(2027, 10, 1, tzinfo=UTC) - FIRST).total_seconds())


def make_tickets(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        opened = FIRST + timedelta(seconds=rng.randrange(SPAN))
        facts: dict = {"priority": rng.choice(("critical", "urgent", "minor")), "opened": opened}
        roll = rng.random()
        if roll < 0.33:
            reply = opened + timedelta(minutes=rng.randrange(5, 600))
            facts["first_reply"] = reply
            facts["last_update"] = reply + timedelta(minutes=rng.randrange(0, 600))
        if 0.33 <= roll < 0.43:
            s = opened + timedelta(hours=rng.randrange(1, 48))
            facts["pauses"] = [(s, s + timedelta(hours=rng.randrange(1, 72)))]
        if 0.43 <= roll < 0.48:
            facts["paused_since"] = opened + timedelta(hours=rng.randrange(1, 48))
            facts["status"] = "pending"
        out.append(facts)
    return out


def per_deadline(fn, items) -> float:
    """CPU µs per deadline (process time: steadier than wall time on a shared machine)."""
    t0 = time.process_time()
    fn(items)
    return (time.process_time() - t0) / len(items) / 3 * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--queue-db", help="also time the queue ordering on this database URL")
    args = ap.parse_args(argv)
    policy = load_default_policy()
    tickets = make_tickets(args.tickets, args.seed)
    # warm the interval tables (built lazily per year)
    for year in range(2025, 2029):
        policy.add("urgent", datetime(year, 6, 1, tzinfo=UTC), 1)

    def engine(items):
        for f in items:
            compute_deadlines(
                policy,
                f["priority"],
                f["opened"],
                pauses=f.get("pauses", ()),
                first_response_at=f.get("first_reply"),
                last_public_update_at=f.get("last_update"),
                paused_since=f.get("paused_since"),
            )

    def clocks(items):
        for f in items:
            TicketClock.of(
                policy,
                f["priority"],
                f["opened"],
                first_reply=f.get("first_reply"),
                last_update=f.get("last_update"),
                pauses=f.get("pauses", ()),
                paused_since=f.get("paused_since"),
                status=f.get("status", "open"),
            ).deadlines()

    def columns(items):
        for f in items:
            deadline_columns(
                policy,
                f["priority"],
                f["opened"],
                status=f.get("status", "open"),
                first_response_at=f.get("first_reply"),
                last_public_update_at=f.get("last_update"),
                pauses=f.get("pauses", ()),
                paused_since=f.get("paused_since"),
            )

    print(
        f"Ticket clock bench: policy {policy.name}, {args.tickets:,} tickets "
        f"(1/3 answered, 1/10 with a pause, 1/20 waiting), median of {args.repeat} run(s)"
    )
    results = {}
    for name, fn in (
        ("compute_deadlines (engine baseline)", engine),
        ("TicketClock.of + deadlines()", clocks),
        ("deadline_columns (stored columns)", columns),
    ):
        results[name] = statistics.median(per_deadline(fn, tickets) for _ in range(args.repeat))
    base = results["compute_deadlines (engine baseline)"]
    for name, us in results.items():
        print(
            f"  {name:<38} {us:6.2f} µs per deadline  "
            f"({us * 3 * args.tickets / 1e6:5.2f} s in all, x{us / base:.2f} baseline)"
        )
    worst = max(results.values())
    print(f"\ntarget: < 2 µs per deadline -> {'met' if worst < 2 else 'NOT met'} ({worst:.2f})")
    if args.queue_db:
        queue_orderings(args.queue_db, args.repeat)
    return 0


def queue_orderings(url: str, repeat: int) -> None:
    from sqlalchemy import select, true

    from agent_console.desk import Desk
    from agent_console.desk.queue import T, open_policy_names, urgency_group
    from agent_console.settings import Settings

    desk = Desk.open(Settings(db_url=url))
    print(f"\nqueue ordering of the open tickets ({url}), median of {repeat} run(s):")
    for label, at in (
        ("business hours", datetime(2026, 11, 24, 15, 0, tzinfo=UTC)),
        ("after hours", datetime(2026, 11, 24, 23, 30, tzinfo=UTC)),
    ):
        plain = select(T.id).where(T.is_open == true()).order_by(T.next_due, T.priority_level, T.id)
        timings = {}
        for name, stmt in (
            ("plain next_due", plain),
            (
                "urgency rule",
                select(T.id)
                .where(T.is_open == true())
                .order_by(
                    urgency_group(open_policy_names(desk, at)), T.next_due, T.priority_level, T.id
                ),
            ),
        ):
            runs = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                with desk.read() as s:
                    n = len(s.execute(stmt).scalars().all())
                runs.append(time.perf_counter() - t0)
            timings[name] = statistics.median(runs)
        base = timings["plain next_due"]
        print(
            f"  {label:<15} {n:,} ids: plain {base * 1000:.0f} ms, urgency rule "
            f"{timings['urgency rule'] * 1000:.0f} ms (x{timings['urgency rule'] / base:.2f})"
        )
    desk.engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())

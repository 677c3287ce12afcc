"""SLA engine benchmark: deadlines for 100,000 random tickets under the default policy.

Run: ``python bench/bench_sla.py`` (options: ``--tickets``, ``--sample``, ``--repeat``).

In one run it
  1. computes all three deadlines (first response, next update, resolution) of 100,000
     random tickets with :func:`agent_console.sla.compute_deadlines`;
  2. for 4 h, 45 h and 450 h business targets, adds the target to 100,000 random instants
     with the engine, and to a subsample with ``businesstimedelta`` (same schedule,
     holidays and time zone) and with a naive day-by-day interval walk
     (``tests/sla_naive.py``), checks that every result is identical, and prints µs per
     deadline and the ratios.

Figures are medians over ``--repeat`` runs. Not a pass/fail test: it prints its figures
(and says whether the targets of issue 3 are met).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent_console.sla import compute_deadlines, load_default_policy  # noqa: E402
from tests.sla_naive import NaiveCalendar  # noqa: E402

H = 3600
TARGETS = (("4h", 4 * H), ("45h", 45 * H), ("450h", 450 * H))
FIRST = datetime(2025, 1, 1, tzinfo=UTC)
SPAN = int((datetime(2027, 10, 1, tzinfo=UTC) - FIRST).total_seconds())


def make_btd(policy):
    import businesstimedelta
    import pytz

    tz = pytz.timezone(policy.timezone)
    weekly = policy.calendar.weekly
    spans = {day for day in weekly if day}
    if len(spans) != 1 or len(next(iter(spans))) != 1:
        raise SystemExit("bench: businesstimedelta comparison needs one interval per open day")
    ((start, end),) = next(iter(spans))
    workday = businesstimedelta.WorkDayRule(
        start_time=dtime(start // 60, start % 60),
        end_time=dtime(end // 60, end % 60),
        working_days=[i for i, day in enumerate(weekly) if day],
        tz=tz,
    )
    # a list of dates, as businesstimedelta's documentation shows
    holidays = businesstimedelta.HolidayRule(sorted(policy.calendar.holidays), tz=tz)
    rules = businesstimedelta.Rules([workday, holidays])
    return lambda t, seconds: t + businesstimedelta.BusinessTimeDelta(rules, seconds=seconds)


def per_op(fn, items) -> float:
    t0 = time.perf_counter()
    fn(items)
    return (time.perf_counter() - t0) / len(items) * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--sample", type=int, default=2000, help="cases for the slow implementations")
    ap.add_argument("--sample-450h", type=int, default=300, help="businesstimedelta cases at 450h")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2026)
    args = ap.parse_args(argv)

    policy = load_default_policy()
    btd_add = make_btd(policy)
    naive = NaiveCalendar.from_policy(policy, years=range(2024, 2031))
    rng = random.Random(args.seed)
    tickets = [
        (
            FIRST + timedelta(seconds=rng.randrange(SPAN)),
            rng.choice(("critical", "urgent", "minor")),
        )
        for _ in range(args.tickets)
    ]
    starts = [t for t, _ in tickets]
    sample = starts[: args.sample]

    # warm the interval tables (built lazily per year) and the imports
    policy.add("urgent", starts[0], 1)
    policy.add("urgent", datetime(2028, 12, 1, tzinfo=UTC), 1)

    print(
        f"SLA bench: policy {policy.name} ({policy.timezone}, {len(policy.calendar.holidays)} "
        f"holidays), {args.tickets:,} tickets opened 2025-01..2027-09, "
        f"median of {args.repeat} run(s)"
    )

    # -- 1. all three deadlines of every ticket
    def all_deadlines(items):
        for opened, prio in items:
            compute_deadlines(policy, prio, opened)

    runs = [per_op(all_deadlines, tickets) / 3 for _ in range(args.repeat)]
    print(
        f"\ncompute_deadlines, 3 deadlines x {args.tickets:,} tickets: "
        f"{statistics.median(runs):.2f} µs per deadline "
        f"({statistics.median(runs) * 3 * args.tickets / 1e6:.2f} s in all)"
    )

    # -- 2. per target length, against businesstimedelta and a naive walk
    rows = []
    ok = True
    for label, seconds in TARGETS:
        ours_runs, btd_runs, naive_runs = [], [], []
        btd_sample = sample if seconds < 100 * H else sample[: args.sample_450h]

        def ours(items, seconds=seconds):
            add = policy.add
            for t in items:
                add("urgent", t, seconds)

        def theirs(items, seconds=seconds):
            for t in items:
                btd_add(t, seconds)

        def walk(items, seconds=seconds):
            add = naive.add_days
            for t in items:
                add(t, seconds)

        for _ in range(args.repeat):
            ours_runs.append(per_op(ours, starts))
            btd_runs.append(per_op(theirs, btd_sample))
            naive_runs.append(per_op(walk, sample))
        # identical results
        mine = [policy.add("urgent", t, seconds) for t in sample]
        bad_btd = sum(1 for t, m in zip(btd_sample, mine, strict=False) if btd_add(t, seconds) != m)
        bad_naive = sum(
            1 for t, m in zip(sample, mine, strict=True) if naive.add_days(t, seconds) != m
        )
        ok = ok and not bad_btd and not bad_naive
        rows.append(
            (
                label,
                statistics.median(ours_runs),
                statistics.median(btd_runs),
                statistics.median(naive_runs),
                len(btd_sample),
                bad_btd,
                bad_naive,
            )
        )

    print(
        f"\nadd business time to {args.tickets:,} instants (engine) / "
        f"{args.sample:,} (businesstimedelta: {args.sample:,}, 450h: {args.sample_450h:,}; naive walk)"
    )
    print(
        f"{'target':>7} {'engine µs':>10} {'btd µs':>10} {'walk µs':>9} {'btd/engine':>11} {'walk/engine':>12}  identical"
    )
    for label, mine_us, btd_us, walk_us, n_btd, bad_btd, bad_naive in rows:
        same = (
            "yes"
            if not bad_btd and not bad_naive
            else f"NO ({bad_btd} btd, {bad_naive} walk differ)"
        )
        print(
            f"{label:>7} {mine_us:>10.2f} {btd_us:>10.1f} {walk_us:>9.2f} "
            f"{btd_us / mine_us:>10.0f}x {walk_us / mine_us:>11.1f}x  {same} ({n_btd} btd, {args.sample} walk)"
        )

    r4 = rows[0][2] / rows[0][1]
    r45 = rows[1][2] / rows[1][1]
    growth = rows[2][1] / rows[0][1]
    print("\nissue 3 targets:")
    print(f"  >= 50x businesstimedelta at 4h:   {r4:.0f}x  {'met' if r4 >= 50 else 'NOT met'}")
    print(f"  >= 100x businesstimedelta at 45h: {r45:.0f}x  {'met' if r45 >= 100 else 'NOT met'}")
    print(
        f"  450h costs no more than 4h:       450h/4h = {growth:.2f}  "
        f"{'met' if growth <= 1.05 else 'NOT met'} (within 5% timing noise)"
    )
    print(f"  identical results:                {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""A bulk macro on 200 marked tickets (issue 16): wall time, and how responsive the UI stays.

    python bench/bench_bulk.py                      # SQLite file, 200 of 5,000 tickets
    python bench/bench_bulk.py --db postgresql+psycopg://postgres@127.0.0.1/postgres
    python bench/bench_bulk.py --marked 200 --tickets 5000 --macro ask-for-details

The real app runs headless (``App.run_test``) on a seeded database, as a lead (``erin``)
on the "All open" view: the first ``--marked`` tickets are marked, the macro is applied
through ``M``'s path (the queue screen's bulk worker: one transaction per ticket), and a
50 ms UI timer records the gaps between its ticks meanwhile (a responsive UI keeps them
near 50 ms). Also timed: the same macro through the desk alone on the same tickets of a copy of the
seeded database (no UI).
Prints wall times (target: under 5 s for 200) and the timer gaps' median, p95 and max.
Not a pass/fail test. With ``--db`` a PostgreSQL server URL a throwaway database is made
and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

TIMER = 0.05  # seconds between the probe timer's ticks


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * (len(values) - 1) + 0.5))] if values else 0.0


async def in_the_ui(db: str, marked: int, macro: str) -> tuple[float, list[float], str]:
    from agent_console.app import create_app
    from agent_console.desk import Desk
    from agent_console.screens.queue import QueueScreen
    from agent_console.settings import Settings

    settings = Settings(db_url=db, agent="erin")
    desk = Desk.open(settings)
    app = create_app(settings, desk=desk, offer_demo=False, alerts=False)
    gaps: list[float] = []
    async with app.run_test(size=(160, 40)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if isinstance(app.screen, QueueScreen) and app.screen.table.ids:
                break
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        await pilot.press("a")  # All open
        await pilot.pause(1.0)
        ids = screen.table.ids[:marked]
        screen._mark_set().update(ids)
        screen._show_marks()
        last = time.perf_counter()

        def probe() -> None:
            nonlocal last
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

        timer = screen.set_interval(TIMER, probe)
        t0 = time.perf_counter()
        screen._run_bulk(sorted(screen._mark_set(), key=ids.index), "macro", macro)
        while screen._bulk_running:
            await asyncio.sleep(0.02)  # plain sleep: the bench's own polling costs nothing
        wall = time.perf_counter() - t0
        timer.stop()
        report = screen.last_bulk_report
        summary = report.summary() if report else "no report"
        if report:
            summary += f"; the worker's loop {report.seconds:.2f} s"
    desk.engine.dispose()
    return wall, gaps, summary


def desk_only(db: str, marked: int, macro: str) -> tuple[float, str]:
    """The same macro on the same tickets (the first ``marked`` of "All open" in a copy of
    the seeded database), through the desk alone."""
    from agent_console.desk import Desk
    from agent_console.desk.queue import QueueQuery
    from agent_console.settings import Settings

    desk = Desk.open(Settings(db_url=db, agent="erin"))
    ids = desk.queue_ids(QueueQuery(view="all", agent="erin"))[:marked]
    keys = [desk.ticket_keys(ids)[i] for i in ids]
    t0 = time.perf_counter()
    report = desk.bulk_macro(keys, macro, agent="erin")
    wall = time.perf_counter() - t0
    desk.engine.dispose()
    return wall, report.summary()


def run(db: str, tickets: int, marked: int, macro: str, copy_db) -> None:  # type: ignore[no-untyped-def]
    from agent_console.desk import Desk
    from agent_console.settings import Settings

    t0 = time.perf_counter()
    d = Desk.open(Settings(db_url=db))
    d.seed(tickets, seed=7)
    d.engine.dispose()
    print(f"seeded {tickets:,} tickets in {time.perf_counter() - t0:.1f} s ({db.split(':')[0]})")
    twin = copy_db(db)
    wall, gaps, summary = asyncio.run(in_the_ui(db, marked, macro))
    print(f"UI: macro {macro} on {marked} marked tickets: {wall:.2f} s wall — {summary}")
    if gaps:
        print(
            f"UI timer ({TIMER * 1000:.0f} ms) gaps meanwhile: n={len(gaps)} "
            f"median {statistics.median(gaps) * 1000:.0f} ms, p95 {pct(gaps, 0.95) * 1000:.0f} ms, "
            f"max {max(gaps) * 1000:.0f} ms"
        )
    wall2, summary2 = desk_only(twin, marked, macro)
    print(
        f"desk only: {wall2:.2f} s wall ({wall2 / max(marked, 1) * 1000:.1f} ms/ticket) — {summary2}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="a PostgreSQL server URL (a throwaway database is made)")
    ap.add_argument("--tickets", type=int, default=5000)
    ap.add_argument("--marked", type=int, default=200)
    ap.add_argument("--macro", default="ask-for-details")
    args = ap.parse_args()
    if not args.db:
        with tempfile.TemporaryDirectory() as tmp:

            def copy_file(url: str) -> str:
                shutil.copy(Path(tmp) / "bulk.db", Path(tmp) / "twin.db")
                return f"sqlite:///{Path(tmp) / 'twin.db'}"

            run(
                f"sqlite:///{Path(tmp) / 'bulk.db'}",
                args.tickets,
                args.marked,
                args.macro,
                copy_file,
            )
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"ac_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.db, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    twin = f"{name}_twin"

    def copy_pg(url: str) -> str:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{twin}" TEMPLATE "{name}"'))
        return make_url(args.db).set(database=twin).render_as_string(hide_password=False)

    try:
        url = make_url(args.db).set(database=name).render_as_string(hide_password=False)
        run(url, args.tickets, args.marked, args.macro, copy_pg)
    finally:
        with admin.connect() as c:
            for db_name in (name, twin):
                c.execute(text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()

"""Metrics benchmark (issue 13): every figure of the metrics screen for 30 days over
1,000,000 tickets, on SQLite and PostgreSQL. Prints its figures; not a pass/fail test.

    python bench/bench_metrics.py [--tickets 1000000] [--runs 5] [--no-pg] [--no-screen]
                                  [--pg-copy] [--raw] [--rebuild]

Databases are seeded once (about 2 minutes each on a quiet machine) and reused (a cache
seeded before the rollup existed is upgraded on first open: the rollup is rebuilt then,
and the time printed): SQLite in
/tmp/ac_bench/metrics_<n>.db, PostgreSQL in the database ``ac_bench_metrics_<n>`` of
AGENT_CONSOLE_TEST_PG (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
The seed writes tickets, threads, events and the current sla_cycle rows; it writes no
escalation or claim events, so this script adds them for the escalated tickets (tier 2
and 3: an ``escalated`` event 20 minutes after the first response, and a ``claimed``
one 5-185 minutes later for those with an assignee) so that the pickup figures have work,
and marks the rollup stale: the next open rebuilds it from every ticket (timed).

Measured: ``Desk.metrics("30d")`` from the rollup (desk/metrics_rollup.py) cold (first
call on a fresh engine) and warm (median and max of --runs), then from the raw rows
(``rollup=False``, once), each query of both in turn, whether both give the same figures,
filtered figures (tier, agent, organization: the rollup's dimensions; two filters at once:
raw rows), and (--screen) the metrics screen in
``App.run_test``: key ``4`` -> figures shown, and the largest gap of a 50 ms UI timer
while the worker computes (the 1-second tick must never wait for the query).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, inspect, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from agent_console.desk import Desk  # noqa: E402
from agent_console.settings import Settings  # noqa: E402

CACHE = Path("/tmp/ac_bench")
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
PG_ADMIN = os.environ.get(
    "AGENT_CONSOLE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
LEAD = "erin"  # a lead in the demo corpus (sees every agent's line)


def _add_escalations(desk: Desk) -> None:
    """Escalated and claimed events for the seeded tickets at tier 2 and 3."""
    dialect = desk.engine.dialect.name
    if dialect == "sqlite":
        esc_at = "datetime(t.first_response_at, '+20 minutes')"
        pick_at = "datetime(t.first_response_at, '+' || (25 + (t.id % 180)) || ' minutes')"
        details_esc = "json_object('from_tier', t.tier - 1, 'to_tier', t.tier, 'source', 'bench')"
        details_pick = "json_object('agent', 'bench')"
    else:
        esc_at = "t.first_response_at + interval '20 minutes'"
        pick_at = "t.first_response_at + (25 + (t.id % 180)) * interval '1 minute'"
        details_esc = (
            "json_build_object('from_tier', t.tier - 1, 'to_tier', t.tier, 'source', 'bench')"
        )
        details_pick = "json_build_object('agent', 'bench')"
    with desk.engine.begin() as conn:
        done = conn.execute(
            text("SELECT count(*) FROM ticket_event WHERE kind = 'escalated'")
        ).scalar_one()
        if done:
            return
        conn.execute(
            text(
                "INSERT INTO ticket_event (ticket_id, agent_id, kind, at, details) "
                f"SELECT t.id, NULL, 'escalated', {esc_at}, {details_esc} FROM ticket t "
                "WHERE t.tier > 1 AND t.first_response_at IS NOT NULL ORDER BY t.id"
            )
        )
        conn.execute(
            text(
                "INSERT INTO ticket_event (ticket_id, agent_id, kind, at, details) "
                f"SELECT t.id, t.assignee_id, 'claimed', {pick_at}, {details_pick} FROM ticket t "
                "WHERE t.tier > 1 AND t.first_response_at IS NOT NULL "
                "AND t.assignee_id IS NOT NULL ORDER BY t.id"
            )
        )
    # these events bypass the desk's writers: the rollup is rebuilt from every ticket
    # (timed) on the next open
    from agent_console.desk.metrics_rollup import mark_stale

    with desk.write() as s:
        mark_stale(s)


def ensure_indexes(url: str) -> None:
    """The metrics indexes (store/models.py, issue 13) on a database seeded before them."""
    from agent_console.store.db import make_engine
    from agent_console.store.models import Message, SlaCycle, Ticket, TicketEvent

    eng = make_engine(url)
    t0 = time.perf_counter()
    made = []
    for table in (Ticket.__table__, SlaCycle.__table__, TicketEvent.__table__, Message.__table__):
        for index in table.indexes:  # type: ignore[attr-defined]
            with eng.begin() as conn:
                if index.name not in {i["name"] for i in inspect(conn).get_indexes(table.name)}:
                    index.create(conn)
                    made.append(index.name)
    if made:
        with eng.begin() as conn:
            conn.execute(text("ANALYZE"))
        print(f"  indexes {', '.join(made)} made in {time.perf_counter() - t0:.0f}s", flush=True)
    eng.dispose()


def _seed(url: str, n: int) -> None:
    print(f"seeding {n:,} tickets into {make_url(url).render_as_string()} …", flush=True)
    t0 = time.perf_counter()
    d = Desk.open(Settings(db_url=url, now=NOW))

    def progress(done: int, total: int) -> None:
        if done % 200_000 == 0 or done == total:
            print(f"  {done:,}/{total:,} ({time.perf_counter() - t0:.0f}s)", flush=True)

    d.seed(n, seed=1, now=NOW, progress=progress)
    _add_escalations(d)
    if d.engine.dialect.name == "postgresql":
        with d.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("ANALYZE"))
    else:
        with d.engine.begin() as c:
            c.execute(text("ANALYZE"))
    d.engine.dispose()
    print(f"  seeded in {time.perf_counter() - t0:.0f}s", flush=True)


def sqlite_db(n: int) -> str:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"metrics_{n}.db"
    url = f"sqlite:///{path}"
    if not path.exists() or not _complete(url, n):
        if path.exists():
            path.unlink()
        _seed(url, n)
    return url


#: tables copied from the seeded SQLite file into PostgreSQL (parents first)
COPY_TABLES = (
    "organization",
    "customer",
    "agent",
    "ticket",
    "message",
    "ticket_event",
    "sla_cycle",
    "metric_rollup",  # built on the SQLite side (its first open after the seed)
)


def copy_from_sqlite(sqlite_url: str, pg_url: str) -> None:
    """Fill an empty, migrated PostgreSQL database with the rows of the seeded SQLite one
    (COPY; much faster than seeding again on a busy machine). Same rows, same ids."""
    import sqlite3

    from agent_console.store.db import make_engine

    t0 = time.perf_counter()
    src = sqlite3.connect(make_url(sqlite_url).database)
    eng = make_engine(pg_url)
    raw = eng.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET TIME ZONE 'UTC'")
        for table in COPY_TABLES:
            cols = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
            types = {r[1]: r[2].upper() for r in src.execute(f"PRAGMA table_info({table})")}
            pg_types = dict(
                cur.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = %s",
                    (table,),
                ).fetchall()
            )
            bools = {c for c in cols if pg_types.get(c) == "boolean"}
            stamps = {c for c in cols if "timestamp" in (pg_types.get(c) or "")}
            del types
            rows = src.execute(f"SELECT {', '.join(cols)} FROM {table}")
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    out = []
                    for c, v in zip(cols, row, strict=True):
                        if v is None:
                            out.append(None)
                        elif c in bools:
                            out.append("t" if v else "f")
                        elif c in stamps:
                            out.append(f"{v}+00")
                        else:
                            out.append(v)
                    copy.write_row(out)
            if "id" in cols:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            print(f"  copied {table} ({time.perf_counter() - t0:.0f}s)", flush=True)
        raw.commit()
    finally:
        raw.close()
        eng.dispose()
        src.close()
    # VACUUM (outside a transaction) sets the visibility map, as autovacuum would on a
    # live database: the covering indexes then answer without reading the table
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text("VACUUM ANALYZE"))
    finally:
        admin.dispose()
    print(f"  vacuumed ({time.perf_counter() - t0:.0f}s)", flush=True)



def pg_db(n: int, sqlite_url: str | None = None) -> str:
    name = f"ac_bench_metrics_{n}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as c:
        exists = c.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
    if exists and _complete(url, n):
        admin.dispose()
        return url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    if sqlite_url is not None:
        print(f"copying the SQLite database into {name} …", flush=True)
        Desk.open(Settings(db_url=url, now=NOW)).engine.dispose()  # the schema
        copy_from_sqlite(sqlite_url, url)
    else:
        _seed(url, n)
    return url


def _complete(url: str, n: int) -> bool:
    try:
        eng = create_engine(url)
        with eng.connect() as c:
            tickets = c.execute(text("SELECT count(*) FROM ticket")).scalar_one()
            esc = c.execute(
                text("SELECT count(*) FROM ticket_event WHERE kind = 'escalated'")
            ).scalar_one()
        eng.dispose()
        return bool(tickets == n and esc > 0)
    except Exception:  # noqa: BLE001 - an unreadable cache is rebuilt
        return False


def prepare(url: str) -> None:
    """Open once: migrates the database and rebuilds a stale rollup (timed)."""
    t0 = time.perf_counter()
    d = Desk.open(Settings(db_url=url, agent=LEAD, now=NOW))  # rebuilds a stale rollup
    opened = time.perf_counter() - t0
    if opened > 5:
        print(
            f"  opening (migration + metrics rollup built from every ticket): {opened:,.0f} s; "
            f"load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    d.engine.dispose()


def time_rebuild(url: str) -> None:
    """Rebuild the rollup from every ticket (the upgrade's work), timed."""
    d = Desk.open(Settings(db_url=url, agent=LEAD, now=NOW))
    t0 = time.perf_counter()
    n = d.rebuild_metrics_rollup()
    print(
        f"  metrics rollup rebuilt from {n:,} tickets: {time.perf_counter() - t0:,.0f} s; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    d.engine.dispose()


def time_desk(url: str, runs: int, raw: bool) -> None:
    prepare(url)
    d = Desk.open(Settings(db_url=url, agent=LEAD, now=NOW))
    paths: list[tuple[str, dict[str, object]]] = [("rollup", {})]
    if raw:
        paths.append(("raw rows", {"rollup": False}))
    for label, kwargs in paths:
        t0 = time.perf_counter()
        report = d.metrics("30d", **kwargs)  # type: ignore[arg-type]
        cold = time.perf_counter() - t0
        warm = []
        for _ in range(runs if label == "rollup" else 1):
            t0 = time.perf_counter()
            d.metrics("30d", **kwargs)  # type: ignore[arg-type]
            warm.append(time.perf_counter() - t0)
        print(
            f"  metrics('30d') from the {label} ({report.source}): cold {cold * 1000:,.0f} ms, "
            f"warm median {statistics.median(warm) * 1000:,.0f} ms, max "
            f"{max(warm) * 1000:,.0f} ms ({len(warm)} runs); load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        judged = sum(p.first_response.judged for p in report.priorities)
        print(
            f"    figures: {judged:,} first responses judged, {report.breach_count:,} breaches, "
            f"{sum(o for _, o, _ in report.daily):,} opened, "
            f"{sum(e.escalations for e in report.escalations):,} escalations, "
            f"{len(report.agents)} agent lines"
        )
        parts(d, kwargs)
    if raw:
        fast, slow = d.metrics("30d").as_dict(), d.metrics("30d", rollup=False).as_dict()
        print(f"  rollup figures == raw figures: {fast == slow}")
    from agent_console.desk.metrics import MetricsFilter

    for name, f in (
        ("tier 2", MetricsFilter(tier=2)),
        ("one agent", MetricsFilter(assignee="alice")),
        ("one organization", MetricsFilter(org=_an_org(d))),
        ("tier 2 and one agent", MetricsFilter(tier=2, assignee="alice")),
    ):
        times = []
        for _ in range(max(1, runs) if f.tier is None or f.assignee is None else 1):
            t0 = time.perf_counter()
            rep = d.metrics("30d", f)
            times.append(time.perf_counter() - t0)
        print(
            f"  metrics('30d', {name}) ({rep.source}): first {times[0] * 1000:,.0f} ms, "
            f"median {statistics.median(times) * 1000:,.0f} ms ({len(times)} runs); "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        if raw and rep.source == "rollup":
            same = rep.as_dict() == d.metrics("30d", f, rollup=False).as_dict()
            print(f"    rollup figures == raw figures: {same}")
    d.engine.dispose()


def _an_org(d: Desk) -> str:
    with d.engine.connect() as c:
        return str(c.execute(text("SELECT name FROM organization ORDER BY id LIMIT 1")).scalar())


def parts(d: Desk, kwargs: dict[str, object]) -> None:
    """Each query of metrics() on its own, one after the other (where the time goes)."""
    d.metrics_parallel = 1
    try:
        d.metrics("30d", **kwargs)  # type: ignore[arg-type]
    finally:
        d.metrics_parallel = type(d).metrics_parallel
    out = [f"{name} {ms:,.0f}" for name, ms in d.metrics_timings.items()]
    print("    parts in turn (ms): " + ", ".join(out))


def time_screen(url: str) -> None:
    from textual.widgets import DataTable

    from agent_console.app import create_app
    from agent_console.screens.metrics import MetricsScreen

    async def run() -> None:
        settings = Settings(db_url=url, agent=LEAD, now=NOW)
        app = create_app(settings, offer_demo=False)
        gaps: list[float] = []
        async with app.run_test(size=(160, 50)) as pilot:
            await pilot.pause(1.0)
            last = [time.perf_counter()]

            def beat() -> None:
                now = time.perf_counter()
                gaps.append(now - last[0])
                last[0] = now

            async def until_shown(kind: str, since: float) -> float:
                while True:
                    await pilot.pause(0.02)
                    rep = getattr(app.screen, "report", None)
                    if rep is not None and rep.period.kind == kind:
                        return time.perf_counter() - since
                    if time.perf_counter() - since > 300:
                        raise SystemExit("the screen did not show the figures in 300 s")

            t0 = time.perf_counter()
            await pilot.press("4")
            first = await until_shown("7d", t0)
            screen = app.screen
            assert isinstance(screen, MetricsScreen)
            show_ms: list[float] = []
            original = screen._show

            def timed_show(report) -> None:  # type: ignore[no-untyped-def]
                a = time.perf_counter()
                original(report)
                show_ms.append((time.perf_counter() - a) * 1000)

            screen._show = timed_show  # type: ignore[method-assign]
            await pilot.pause(0.5)
            last[0] = time.perf_counter()
            timer = app.set_interval(0.05, beat)
            t1 = time.perf_counter()
            await pilot.press("p")  # 7 days -> 30 days
            shown = await until_shown("30d", t1)
            timer.stop()
            rows = screen.query_one("#targets", DataTable).row_count
            print(
                f"  screen: key 4 -> 7-day figures shown in {first * 1000:,.0f} ms; "
                f"p -> 30-day figures shown in {shown * 1000:,.0f} ms ({rows} priority rows); "
                f"largest gap of a 50 ms UI timer meanwhile {max(gaps) * 1000:,.0f} ms "
                f"(median {statistics.median(gaps) * 1000:,.0f} ms); filling the tables and "
                f"charts on the UI thread {show_ms[-1] if show_ms else float('nan'):,.0f} ms; "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
            )

    asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    ap.add_argument("--no-screen", action="store_true")
    ap.add_argument(
        "--raw", action="store_true", help="also time the raw-row path and compare the figures"
    )
    ap.add_argument("--seed-only", action="store_true")
    ap.add_argument(
        "--rebuild", action="store_true", help="time a rebuild of the rollup from every ticket"
    )
    ap.add_argument(
        "--pg-copy",
        action="store_true",
        help="fill PostgreSQL by copying the seeded SQLite database (faster than seeding)",
    )
    args = ap.parse_args()
    targets = []
    lite = sqlite_db(args.tickets) if not args.no_sqlite or args.pg_copy else None
    if lite is not None:
        prepare(lite)  # migrated and rebuilt before PostgreSQL copies it
    if not args.no_sqlite and lite is not None:
        targets.append(("SQLite", lite))
    if not args.no_pg:
        targets.append(("PostgreSQL", pg_db(args.tickets, lite if args.pg_copy else None)))
    if args.seed_only:
        return
    for _, url in targets:
        ensure_indexes(url)
    for name, url in targets:
        print(f"{name}, {args.tickets:,} tickets, 30 days:")
        if args.rebuild:
            time_rebuild(url)
        time_desk(url, args.runs, args.raw)
        if not args.no_screen:
            time_screen(url)


if __name__ == "__main__":
    main()

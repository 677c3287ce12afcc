"""Queue screen benchmark (issue 4): one command, prints its figures.

    python bench/bench_queue.py [--sizes 1000,1000000] [--idle 20] [--no-tmux]

Builds (or reuses, cached in /tmp/ac_bench) SQLite databases of 1,000 and 1,000,000
seeded tickets (about 10% open: ~100,000 open tickets in the big one) with
``agent-console seed``, then for each:

- headless (``App.run_test`` in a fresh process): process start -> first painted rows;
  key -> repaint latency (median, p95) for ``down``, ``page_down`` and ``/`` + typing;
  the time until the filtered rows are shown; CPU of idle ticking; RSS;
- in a real terminal (tmux, 160x50): process start -> first rows on screen; key -> the
  screen changing for ``down``, ``page_down``, ``/`` + typing; CPU of an idle sample
  (scaled to a minute); RSS.

Targets: first rows < 1.5 s, p95 < 50 ms, idle < 5% of a core, RSS < 250 MB.
Not a pass/fail test: it prints what it measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from _harness import (
    FrameTimer,
    Tmux,
    cpu_seconds,
    db_for,
    pct,
    rss_mb,
    run_child,
    spy_first_rows,
    wait_first_rows,
    wait_whole_ordering,
)

AGENT = "alice"


# ---------------------------------------------------------------- headless child
async def headless(db: Path, t_start: float, idle: float) -> dict[str, float]:
    from agent_console.app import create_app
    from agent_console.settings import Settings
    from agent_console.widgets.queue_table import QueueTable

    app = create_app(Settings(db_url=f"sqlite:///{db}", agent=AGENT), offer_demo=False)
    out: dict[str, float] = {}
    first_frame = spy_first_rows(app)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_first_rows(first_frame)
        table = app.screen.query_one(QueueTable)
        out["first_rows_s"] = first_frame[0] - t_start
        # wait for the whole ordering behind the first page
        screen = app.screen
        await wait_whole_ordering(screen)
        out["full_ordering_s"] = time.time() - t_start
        out["rows_in_view"] = table.row_count
        timed = FrameTimer(app).timed

        await pilot.press("a")  # All open: the biggest view
        await pilot.pause(0.5)
        await wait_whole_ordering(screen)
        out["rows_all_open"] = table.row_count
        downs = [await timed("down") for _ in range(60)]
        pages = [await timed(("pagedown", "pageup")[i % 2]) for i in range(30)]
        await pilot.press("home")
        typing = [await timed("slash")]
        typing += [await timed(c) for c in "refund"]
        t0 = time.perf_counter()
        gen = screen._generation  # type: ignore[attr-defined]
        while screen._shown_generation != gen or screen.query_state.text != "refund":  # type: ignore[attr-defined]
            await asyncio.sleep(0.005)
            gen = screen._generation  # type: ignore[attr-defined]
        out["filter_results_s"] = time.perf_counter() - t0 + 0.0
        await pilot.press("escape")
        await pilot.pause(0.5)
        for name, vals in (("down", downs), ("page_down", pages), ("type", typing)):
            out[f"{name}_median_ms"] = statistics.median(vals)
            out[f"{name}_p95_ms"] = pct(vals, 95)
        pid = os.getpid()
        c0, t0 = cpu_seconds(pid), time.perf_counter()
        await asyncio.sleep(idle)
        out["idle_cpu_pct"] = 100 * (cpu_seconds(pid) - c0) / (time.perf_counter() - t0)
        out["rss_mb"] = rss_mb(pid)
    return out


def run_headless(db: Path, idle: float) -> dict[str, float]:
    return run_child(__file__, str(db), str(time.time()), str(idle))


def run_tmux(db: Path, idle: float) -> dict[str, float]:
    import re

    tm = Tmux()
    out: dict[str, float] = {}
    cmd = f"exec {sys.executable} -m agent_console --db sqlite:///{db} --agent {AGENT}"
    t0 = time.perf_counter()
    tm.start(cmd)
    try:
        while time.perf_counter() - t0 < 30:
            if re.search(r"SUP-\d+ ", tm.cap()):
                break
            time.sleep(0.01)
        out["first_rows_s"] = time.perf_counter() - t0
        time.sleep(3)  # the whole ordering, counts

        def key_latency(key: str, n: int) -> list[float]:
            vals = []
            for _ in range(n):
                time.sleep(0.12)  # between seconds' ticks is not guaranteed: take the p95
                before = tm.cap(True)
                tm.keys(key)
                vals.append(tm.wait_change(before))
            return [v for v in vals if v == v]

        tm.keys("a")
        time.sleep(3)
        downs = key_latency("Down", 40)
        pages = []
        for _ in range(10):
            pages += key_latency("PageDown", 1) + key_latency("PageUp", 1)
        tm.keys("Home")
        typing = key_latency("/", 1)
        for c in "refund":
            typing += key_latency(c, 1)
        tm.keys("Escape")
        time.sleep(1.5)
        for name, vals in (("down", downs), ("page_down", pages), ("type", typing)):
            out[f"{name}_median_ms"] = statistics.median(vals) if vals else float("nan")
            out[f"{name}_p95_ms"] = pct(vals, 95)
        pid = tm.pid()
        c0, w0 = cpu_seconds(pid), time.perf_counter()
        time.sleep(idle)
        out["idle_cpu_pct"] = 100 * (cpu_seconds(pid) - c0) / (time.perf_counter() - w0)
        out["rss_mb"] = rss_mb(pid)
    finally:
        tm.keys("C-q")
        time.sleep(0.3)
        tm.stop()
    return out


def show(label: str, r: dict[str, float]) -> None:
    keys = [
        ("first_rows_s", "first rows", "s"),
        ("full_ordering_s", "whole ordering", "s"),
        ("rows_all_open", "open tickets", ""),
        ("down_median_ms", "down median", "ms"),
        ("down_p95_ms", "down p95", "ms"),
        ("page_down_median_ms", "page_down median", "ms"),
        ("page_down_p95_ms", "page_down p95", "ms"),
        ("type_median_ms", "/+typing median", "ms"),
        ("type_p95_ms", "/+typing p95", "ms"),
        ("filter_results_s", "filtered rows shown", "s"),
        ("idle_cpu_pct", "idle CPU", "% core"),
        ("rss_mb", "RSS", "MB"),
    ]
    parts = []
    for k, name, unit in keys:
        if k in r:
            v = r[k]
            parts.append(f"{name} {v:,.0f}{unit}" if unit == "" else f"{name} {v:.3g}{unit}")
    print(f"{label}: " + " · ".join(parts), flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        db, t_start, idle = Path(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
        print(json.dumps(asyncio.run(headless(db, t_start, idle))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,1000000", help="ticket counts (default 1000,1000000)")
    ap.add_argument("--idle", type=float, default=20.0, help="idle sample seconds (default 20)")
    ap.add_argument("--no-tmux", action="store_true", help="headless only")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for n in sizes:
        db = db_for(n)
        show(f"{n:>9,} tickets headless", run_headless(db, args.idle))
        if not args.no_tmux and shutil.which("tmux"):
            show(f"{n:>9,} tickets tmux    ", run_tmux(db, args.idle))


if __name__ == "__main__":
    main()

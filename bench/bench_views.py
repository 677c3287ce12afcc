"""Views from views.toml vs the built-in Working view (issue 16): one command, prints figures.

    python bench/bench_views.py [--tickets 1000000] [--runs 3] [--cache DIR]

Seeds (or reuses, cached in ``--cache``, default /tmp/ac_bench_views) a SQLite database of
``--tickets`` tickets with ``agent-console seed`` (1,000,000: ~100,000 open), writes a team
``views.toml`` with a custom view into a private config directory, then for each view —
the built-in Working and the custom one — starts the console headless in a fresh process on
that view (``App.run_test``, 160x50) and measures, like bench/bench_queue.py:

- process start -> the first frame with ticket rows (first rows), and -> the whole ordering;
- key -> the next frame handed to the terminal for ``down`` (x60) and ``pagedown``/``pageup``
  (x30): median and p95;

``--runs`` times each, the two views alternating (the machine is shared: medians of the
runs, and the custom/Working ratios, are the figures). Also the desk calls behind the first
paint (the head page) and the whole ordering, timed in this process (median of 7).

Target (issue 16): first rows and key -> repaint p95 of the custom view within 10 % of the
Working view. Not a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _harness import (
    FrameTimer,
    db_for,
    pct,
    run_child,
    spy_first_rows,
    wait_first_rows,
    wait_whole_ordering,
)

AGENT = "alice"
CUSTOM = "hot"
VIEWS_TOML = """
[[view]]
name = "hot"
label = "Hot and mine"
short = "Hot"
key = "v"
sort = "due"
columns = ["priority", "status", "tier", "assignee"]
filter = "priority in (critical, urgent) and tier = mine and assignee = none or assignee = me"
"""


async def headless(db: Path, view: str, t_start: float) -> dict[str, float]:
    import agent_console.screens.queue as queue_screen
    from agent_console.app import create_app
    from agent_console.settings import Settings
    from agent_console.widgets.queue_table import QueueTable

    queue_screen.DEFAULT_VIEW = view  # the screen opens on this view
    app = create_app(Settings(db_url=f"sqlite:///{db}", agent=AGENT), offer_demo=False)
    out: dict[str, float] = {}
    first_frame = spy_first_rows(app)
    async with app.run_test(size=(160, 50)):
        await wait_first_rows(first_frame)
        screen = app.screen
        assert screen.query_state.view == view, screen.query_state.view  # type: ignore[attr-defined]
        out["first_rows_s"] = first_frame[0] - t_start
        await wait_whole_ordering(screen)
        out["full_ordering_s"] = time.time() - t_start
        out["rows"] = screen.query_one(QueueTable).row_count
        timed = FrameTimer(app).timed

        await asyncio.sleep(1.0)  # the counts after the ordering
        downs = [await timed("down") for _ in range(60)]
        pages = [await timed(("pagedown", "pageup")[i % 2]) for i in range(30)]
        for name, vals in (("down", downs), ("page", pages)):
            out[f"{name}_median_ms"] = statistics.median(vals)
            out[f"{name}_p95_ms"] = pct(vals, 95)
    return out


def run_child_view(db: Path, view: str, config: Path) -> dict[str, float]:
    env = dict(os.environ, XDG_CONFIG_HOME=str(config))
    env.pop("AGENT_CONSOLE_CONFIG", None)
    return run_child(__file__, str(db), view, str(time.time()), env=env)


def desk_calls(db: Path, config: Path) -> dict[str, dict[str, float]]:
    """The head page (what the first paint waits for) and the whole ordering, per view."""
    os.environ["XDG_CONFIG_HOME"] = str(config)
    from agent_console.desk import Desk
    from agent_console.desk.queue import QueueQuery
    from agent_console.settings import Settings

    desk = Desk.open(Settings(db_url=f"sqlite:///{db}", agent=AGENT))
    assert desk.queue_view_set().error is None, desk.queue_view_set().error
    out: dict[str, dict[str, float]] = {}
    for view in ("working", CUSTOM):
        q = QueueQuery(view=view, agent=AGENT)
        heads, whole = [], []
        for _ in range(7):
            t0 = time.perf_counter()
            desk.queue_page(q, 0, 120)
            heads.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            n = len(desk.queue_ids(q))
            whole.append((time.perf_counter() - t0) * 1000)
        out[view] = {"head_ms": statistics.median(heads), "ids_ms": statistics.median(whole), "n": n}
    t0 = time.perf_counter()
    desk.queue_counts(AGENT)
    out["counts"] = {"ms": (time.perf_counter() - t0) * 1000}
    desk.engine.dispose()
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        db, view, t_start = Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
        print(json.dumps(asyncio.run(headless(db, view, t_start))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/ac_bench_views"))
    args = ap.parse_args()
    db = db_for(args.tickets, args.cache)
    config = Path(tempfile.mkdtemp(prefix="ac_views_cfg_"))
    (config / "agent-console").mkdir(parents=True)
    (config / "agent-console" / "views.toml").write_text(VIEWS_TOML, encoding="utf-8")
    calls = desk_calls(db, config)
    for view in ("working", CUSTOM):
        c = calls[view]
        print(
            f"desk {view:>8}: {c['n']:,.0f} tickets · head page {c['head_ms']:.1f} ms · "
            f"whole ordering {c['ids_ms']:.0f} ms (median of 7)",
            flush=True,
        )
    print(f"desk counts (9 views): {calls['counts']['ms']:.0f} ms", flush=True)
    results: dict[str, list[dict[str, float]]] = {"working": [], CUSTOM: []}
    for i in range(args.runs):
        for view in (("working", CUSTOM) if i % 2 == 0 else (CUSTOM, "working")):
            r = run_child_view(db, view, config)
            results[view].append(r)
            print(
                f"run {i + 1} {view:>8}: first rows {r['first_rows_s']:.3f}s · whole ordering "
                f"{r['full_ordering_s']:.3f}s ({r['rows']:,.0f} rows) · down p95 "
                f"{r['down_p95_ms']:.1f} ms · page p95 {r['page_p95_ms']:.1f} ms",
                flush=True,
            )
    keys = ("first_rows_s", "full_ordering_s", "down_median_ms", "down_p95_ms", "page_median_ms", "page_p95_ms")
    med = {v: {k: statistics.median(r[k] for r in rs) for k in keys} for v, rs in results.items()}
    for k in keys:
        w, c = med["working"][k], med[CUSTOM][k]
        print(f"median {k:>16}: Working {w:.3f} · {CUSTOM} {c:.3f} · ratio {c / w:.2f}", flush=True)


if __name__ == "__main__":
    main()

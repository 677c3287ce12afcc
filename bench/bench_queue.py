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
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path("/tmp/ac_bench")
AGENT = "alice"
TICKS = os.sysconf("SC_CLK_TCK")


def db_for(n: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"queue_{n}.db"
    if not path.exists():
        print(f"seeding {n:,} tickets into {path} (cached for next runs)…", flush=True)
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "agent_console",
                "--db",
                f"sqlite:///{path}",
                "seed",
                "--tickets",
                str(n),
                "--seed",
                "1",
            ],
            check=True,
        )
        print(f"  seeded in {time.perf_counter() - t0:.0f}s", flush=True)
    return path


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        parts = fh.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TICKS


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- headless child
async def headless(db: Path, t_start: float, idle: float) -> dict[str, float]:
    from agent_console.app import create_app
    from agent_console.screens.queue import QueueScreen
    from agent_console.settings import Settings
    from agent_console.widgets.queue_table import QueueTable

    app = create_app(Settings(db_url=f"sqlite:///{db}", agent=AGENT), offer_demo=False)
    out: dict[str, float] = {}
    first_frame = [0.0]
    display0 = app._display

    def first_rows_spy(screen_, renderable):  # type: ignore[no-untyped-def]
        # the first frame handed to the terminal with ticket rows in it
        if renderable is not None and not first_frame[0] and isinstance(screen_, QueueScreen):
            tables = screen_.query(QueueTable)
            if tables and tables.first().cursor_row is not None:
                first_frame[0] = time.time()
        return display0(screen_, renderable)

    app._display = first_rows_spy  # type: ignore[method-assign]
    async with app.run_test(size=(160, 50)) as pilot:
        while not first_frame[0]:
            await asyncio.sleep(0.005)
        table = app.screen.query_one(QueueTable)
        out["first_rows_s"] = first_frame[0] - t_start
        # wait for the whole ordering behind the first page
        screen = app.screen
        while screen._shown_generation != screen._generation:  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
        out["full_ordering_s"] = time.time() - t_start
        out["rows_in_view"] = table.row_count

        from textual import events

        painted = [0.0]
        display = app._display

        def spy(screen_, renderable):  # type: ignore[no-untyped-def]
            if renderable is not None:
                painted[0] = time.perf_counter()
            return display(screen_, renderable)

        app._display = spy  # type: ignore[method-assign]

        async def timed(key: str) -> float:
            """Key event posted -> the next frame the app hands to the terminal."""
            await asyncio.sleep(0.03)
            char = key if len(key) == 1 else ("/" if key == "slash" else None)
            t0 = time.perf_counter()
            app.post_message(events.Key(key, char))
            while painted[0] < t0 and time.perf_counter() - t0 < 2:
                await asyncio.sleep(0.0005)
            return (painted[0] - t0) * 1000

        await pilot.press("a")  # All open: the biggest view
        await pilot.pause(0.5)
        while screen._shown_generation != screen._generation:  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
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
    t_start = time.time()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(db), str(t_start), str(idle)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- tmux
class Tmux:
    def __init__(self) -> None:
        self.sock = f"acbench-{os.getpid()}"

    def tm(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.sock, *args], capture_output=True, text=True, check=False
        ).stdout

    def start(self, cmd: str) -> None:
        self.tm("new-session", "-d", "-s", "q", "-x", "160", "-y", "50", cmd)

    def cap(self, escapes: bool = False) -> str:
        return self.tm("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "q")

    def keys(self, *keys: str) -> None:
        self.tm("send-keys", "-t", "q", *keys)

    def pid(self) -> int:
        return int(self.tm("list-panes", "-t", "q", "-F", "#{pane_pid}").strip())

    def stop(self) -> None:
        self.tm("kill-server")

    def wait_change(self, before: str, timeout: float = 5.0, escapes: bool = True) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.cap(escapes) != before:
                return (time.perf_counter() - t0) * 1000
            time.sleep(0.002)
        return float("nan")


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

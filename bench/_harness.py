"""What the screen benchmarks share (bench_queue, bench_views, bench_oncall): the cached
seeded SQLite databases, percentiles, a process's CPU seconds and RSS from /proc, the
headless frame spies (the first frame with ticket rows; key -> the next frame), a run of
the benchmark itself in a fresh process, and a tmux driver for a real terminal.

Benchmarks run as scripts (``python bench/bench_x.py``): their folder is on ``sys.path``,
so ``import _harness`` finds this module.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: where seeded databases are kept between runs
CACHE = Path("/tmp/ac_bench")
TICKS = os.sysconf("SC_CLK_TCK")


def db_for(n: int, cache: Path = CACHE) -> Path:
    """A SQLite database of ``n`` tickets seeded by ``agent-console seed --seed 1`` (about
    10 % open), made once and cached in ``cache`` as ``queue_<n>.db``."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"queue_{n}.db"
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
    """The ``p``-th percentile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used."""
    with open(f"/proc/{pid}/stat") as fh:
        parts = fh.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / TICKS


def rss_mb(pid: int) -> float:
    """Resident set size of process ``pid`` in MB (NaN when /proc does not say)."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------- headless (App.run_test)
def spy_first_rows(app: Any) -> list[float]:
    """Watch the frames ``app`` hands to the terminal; the returned list's one item becomes
    the wall-clock instant (``time.time()``) of the first queue frame with ticket rows."""
    from agent_console.screens.queue import QueueScreen
    from agent_console.widgets.queue_table import QueueTable

    first_frame = [0.0]
    display0 = app._display

    def first_rows_spy(screen_, renderable):  # type: ignore[no-untyped-def]
        # the first frame handed to the terminal with ticket rows in it
        if renderable is not None and not first_frame[0] and isinstance(screen_, QueueScreen):
            tables = screen_.query(QueueTable)
            if tables and tables.first().cursor_row is not None:
                first_frame[0] = time.time()
        return display0(screen_, renderable)

    app._display = first_rows_spy
    return first_frame


async def wait_first_rows(first_frame: list[float]) -> None:
    while not first_frame[0]:
        await asyncio.sleep(0.005)


async def wait_whole_ordering(screen: Any) -> None:
    """Until the queue screen shows the whole ordering behind its first page."""
    while screen._shown_generation != screen._generation:
        await asyncio.sleep(0.01)


class FrameTimer:
    """Key event posted -> the next frame ``app`` hands to the terminal, in ms."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.painted = 0.0
        display = app._display

        def spy(screen_, renderable):  # type: ignore[no-untyped-def]
            if renderable is not None:
                self.painted = time.perf_counter()
            return display(screen_, renderable)

        app._display = spy

    async def timed(self, key: str) -> float:
        from textual import events

        await asyncio.sleep(0.03)
        char = key if len(key) == 1 else ("/" if key == "slash" else None)
        t0 = time.perf_counter()
        self.app.post_message(events.Key(key, char))
        while self.painted < t0 and time.perf_counter() - t0 < 2:
            await asyncio.sleep(0.0005)
        return (self.painted - t0) * 1000


def run_child(script: str, *args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``script --child ARGS…`` in a fresh interpreter; its last stdout line is JSON."""
    proc = subprocess.run(
        [sys.executable, script, "--child", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- tmux
class Tmux:
    """One private tmux server with one 160x50 session ``q``."""

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
        """ms until the screen differs from ``before`` (NaN after ``timeout`` seconds)."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.cap(escapes) != before:
                return (time.perf_counter() - t0) * 1000
            time.sleep(0.002)
        return float("nan")

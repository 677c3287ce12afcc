"""Recomputing open tickets after a policy change (``sla apply``) on SQLite.

    python bench/bench_recompute.py                  # 100,000 open tickets
    python bench/bench_recompute.py --tickets 20000

Builds a database of N open tickets by importing a JSON Lines file (every ticket new and
open, priorities mixed, opened over the three weeks before 2026-11-23), then times the real
CLI in a subprocess (process start included): ``sla apply --dry-run`` and ``sla apply`` of
the default policy with one more holiday and longer Tuesday hours (most deadlines move),
then the same file again (nothing moves: the cost of the recompute alone). Prints the
figures and the summary lines. Target (issue 9): under 20 s for 100,000 tickets.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-23T14:00:00Z"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(*argv: str) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system: what a loaded machine inflates least) and
    the last line of stdout of one CLI run."""
    t0, c0 = time.perf_counter(), _children_cpu()
    done = subprocess.run(
        [sys.executable, "-m", "agent_console", *argv],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return time.perf_counter() - t0, _children_cpu() - c0, done.stdout.strip().splitlines()[-1]


def write_import_file(path: Path, rows: int) -> None:
    rng = random.Random(9)
    base = datetime(2026, 11, 2, tzinfo=UTC)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            fh.write(json.dumps({
                "external_id": f"rc-{i}",
                "subject": f"Rewards not posting for batch {i}",
                "body": "Points for yesterday's purchases did not post.",
                "requester_email": f"user{rng.randrange(5000)}@example.com",
                "requester_name": "Some Customer",
                "priority": rng.choice(["critical", "urgent", "minor"]),
                "channel": "email",
                "opened_at": (base + timedelta(minutes=rng.randrange(30_000))).isoformat(),
            }) + "\n")


def edited_policy(path: Path) -> None:
    text = (ROOT / "data" / "sla.toml").read_text(encoding="utf-8")
    text = text.replace("holidays = [", 'holidays = [\n  "2026-11-18",', 1)
    text = text.replace('tue = ["09:00", "18:00"]', 'tue = ["08:00", "19:00"]', 1)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickets", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ac-bench-") as tmp:
        tmpdir = Path(tmp)
        db = f"sqlite:///{tmpdir / 'recompute.db'}"
        src = tmpdir / "open.jsonl"
        write_import_file(src, args.tickets)
        cli("--db", db, "agent", "list")  # schema and stored policies
        secs, cpu, _ = cli("--db", db, "import", "tickets", str(src))
        print(f"setup: imported {args.tickets:,} open tickets in {secs:.1f} s wall, {cpu:.1f} s CPU "
              f"({args.tickets / secs:,.0f} rows/s; README figure on an idle machine: 8,800)")
        policy = tmpdir / "sla-edited.toml"
        edited_policy(policy)
        for label, extra in (
            ("sla apply --dry-run", ["--dry-run"]),
            ("sla apply (policy changed)", []),
            ("sla apply (same policy again)", []),
        ):
            secs, cpu, summary = cli(
                "--db", db, "--tz", "UTC", "sla", "apply", str(policy), "--name", "default", *extra
            )
            print(f"{label}: {secs:.1f} s wall, {cpu:.1f} s CPU, "
                  f"{args.tickets / secs:,.0f} tickets/s  — {summary}")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

"""Foundation figures: ``seed --tickets N`` wall time and database size on SQLite, and the
``import tickets`` rate for a JSON Lines file.

    python bench/bench_foundation.py                  # 1,000,000 seeded, 100,000 imported
    python bench/bench_foundation.py --seed-tickets 100000 --import-rows 20000
    python bench/bench_foundation.py --seed-tickets 0      # the import figures only

The import is measured three times on one database: the file into an empty database (new
tickets), a second file with the same external ids whose every row changes its subject
and tags and half of them their priority (updates with their events, issue 9), and that
second file again (nothing changes: unchanged rows).

Each figure runs the real CLI in a subprocess (process start included), like a user would.
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

NOW = "2026-11-23T14:00:00Z"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cli(*argv: str) -> float:
    secs, _ = cli_cpu(*argv)
    return secs


def cli_cpu(*argv: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the child: what a loaded, shared
    machine inflates least) of one CLI run."""
    t0, c0 = time.perf_counter(), _children_cpu()
    subprocess.run([sys.executable, "-m", "agent_console", *argv], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, _children_cpu() - c0


def db_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def write_import_file(path: Path, rows: int, *, changed: bool = False) -> None:
    """``changed``: the same tickets with a new subject and tags, half a new priority."""
    rng = random.Random(42)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    orgs = [f"Org {i}" for i in range(50)]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(rows):
            priority = rng.choice(["critical", "urgent", "minor", "1", "2", "3"])
            if changed and i % 2:
                priority = {"critical": "urgent", "urgent": "minor", "minor": "critical",
                            "1": "2", "2": "3", "3": "1"}[priority]
            fh.write(json.dumps({
                "external_id": f"ext-{i}",
                "subject": f"Rewards not posting for batch {i}" + (" (again)" if changed else ""),
                "body": "Points for yesterday's purchases did not post. " * 3,
                "requester_email": f"user{rng.randrange(5000)}@example.com",
                "requester_name": "Some Customer",
                "organization": rng.choice(orgs),
                "priority": priority,
                "channel": rng.choice(["email", "phone", "portal"]),
                "opened_at": (base + timedelta(minutes=rng.randrange(30_000))).isoformat(),
                "tags": "rewards,batch,changed" if changed else "rewards,batch",
            }) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed-tickets", type=int, default=1_000_000)
    ap.add_argument("--import-rows", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ac-bench-") as tmp:
        tmpdir = Path(tmp)
        if args.seed_tickets:
            seed_db = tmpdir / "seed.db"
            secs = cli("--db", f"sqlite:///{seed_db}", "seed", "--tickets",
                       str(args.seed_tickets), "--now", NOW)
            size = db_size(seed_db)
            print(f"seed --tickets {args.seed_tickets:,}: {secs:.1f} s wall "
                  f"({args.seed_tickets / secs:,.0f} tickets/s), "
                  f"database {size / 2**20:,.0f} MiB")

        src = tmpdir / "import.jsonl"
        write_import_file(src, args.import_rows)
        changed = tmpdir / "changed.jsonl"
        write_import_file(changed, args.import_rows, changed=True)
        imp_db = tmpdir / "import.db"
        base = ("--db", f"sqlite:///{imp_db}")
        cli(*base, "agent", "list")  # create the schema first
        for label, path in (
            ("new", src),
            ("same external_ids, every row changed: updates with their events", changed),
            ("the changed file again: nothing changes", changed),
        ):
            secs, cpu = cli_cpu(*base, "import", "tickets", str(path))
            print(f"import tickets ({args.import_rows:,} JSON Lines rows, {label}): "
                  f"{secs:.1f} s wall, {args.import_rows / secs:,.0f} rows/s; "
                  f"{cpu:.1f} s CPU, {args.import_rows / cpu:,.0f} rows per CPU second")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()

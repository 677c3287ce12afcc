"""On-call alerting benchmark (issue 10): one command, prints its figures.

    python bench/bench_oncall.py [--open 100000] [--critical 2000] [--window 60] [--idle 60] [--lead 45]

Builds a fresh SQLite database (in /tmp/ac_bench_oncall) with ``--open`` open tickets of
which ``--critical`` are critical, under a bench policy open every hour of the week (so no
"new critical after hours" alert floods the start). The non-critical tickets are written in
bulk and the alert schedule is bootstrapped once (``watch --once``; its time is printed).
Then the critical tickets are opened so that their 50 % first-reply thresholds are crossed
one after another over ``--window`` seconds, and a real ``agent-console watch --webhook``
process POSTs to an HTTP server on 127.0.0.1 run by this script:

- delay from each threshold instant to the webhook POST arriving (median, p95, max);
  target p95 < 2 s;
- the watcher's CPU over ``--idle`` seconds with nothing due (target < 1 % of one core).

Not a pass/fail test: it prints what it measured.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _harness import cpu_seconds, pct
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_console.desk import Desk  # noqa: E402
from agent_console.desk.deadlines import refresh_deadlines  # noqa: E402
from agent_console.settings import Settings  # noqa: E402
from agent_console.store.models import Customer, Ticket, TicketEvent  # noqa: E402

WORK = Path("/tmp/ac_bench_oncall")


def bench_policy() -> Path:
    text = (ROOT / "data" / "sla.toml").read_text()
    head, _, rest = text.partition("\n[business_hours]")
    _, _, tail = rest.partition("\n[[maintenance]]")
    days = "\n".join(
        f'{d} = ["00:00", "24:00"]' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    path = WORK / "bench_policy.toml"
    path.write_text(f"{head}\n[business_hours]\n{days}\n\n[[maintenance]]{tail}")
    return path


def bulk_open(desk: Desk, n: int, now: datetime) -> None:
    """``n`` open minor/urgent tickets opened in the last hours (bulk, with their events)."""
    with desk.write() as s:
        cust = Customer(name="Bench", email="bench@example.com")
        s.add(cust)
        s.flush()
        policy = desk.default_policy
        rows, events = [], []
        for i in range(n):
            prio, level = ("urgent", 2) if i % 5 == 0 else ("minor", 3)
            opened = now - timedelta(seconds=(i % 3600))
            t = Ticket(
                number=1000 + i,
                key=f"SUP-{1000 + i}",
                subject=f"bench ticket {i}",
                requester_id=cust.id,
                priority=prio,
                priority_level=level,
                status="open",
                opened_at=opened,
                updated_at=opened,
                sla_pauses=[],
            )
            refresh_deadlines(t, policy)
            row = {c.name: getattr(t, c.name) for c in Ticket.__table__.columns if c.name != "id"}
            rows.append(row)
        for i in range(0, n, 5000):
            s.execute(insert(Ticket.__table__), rows[i : i + 5000])
        ids = [
            r[0]
            for r in s.execute(Ticket.__table__.select().with_only_columns(Ticket.__table__.c.id))
        ]
        for tid in ids:
            events.append({"ticket_id": tid, "kind": "created", "at": now, "details": {}})
        for i in range(0, len(events), 5000):
            s.execute(insert(TicketEvent.__table__), events[i : i + 5000])


class Sink(BaseHTTPRequestHandler):
    got: list[tuple[float, dict]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Sink.lock:
            Sink.got.append((time.time(), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--open", type=int, default=100_000)
    ap.add_argument("--critical", type=int, default=2_000)
    ap.add_argument("--window", type=float, default=60.0)
    ap.add_argument("--idle", type=float, default=60.0)
    ap.add_argument(
        "--lead",
        type=float,
        default=45.0,
        help="seconds from now to the first threshold (opening the critical tickets must "
        "fit in it: raise it on a loaded machine)",
    )
    ap.add_argument("--poll", type=float, default=1.0)
    args = ap.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    db = f"sqlite:///{WORK / 'oncall.db'}"
    policy = bench_policy()
    settings = Settings(db_url=db, policy=policy)
    desk = Desk.open(settings)
    n_other = args.open - args.critical
    t0 = time.perf_counter()
    bulk_open(desk, n_other, datetime.now(UTC))
    print(f"wrote {n_other:,} open non-critical tickets in {time.perf_counter() - t0:.1f}s")

    base = [sys.executable, "-m", "agent_console", "--db", db, "--policy", str(policy)]
    t0 = time.perf_counter()
    subprocess.run([*base, "watch", "--once"], check=True, capture_output=True)
    print(
        f"alert schedule bootstrapped for {n_other:,} tickets in {time.perf_counter() - t0:.1f}s "
        "(once per database)"
    )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_address[1]}/hook"

    # critical tickets whose 50 % thresholds (1 h into the 2 h first reply) are crossed
    # one after another over the window, starting in --lead s (opening them takes ~20 s)
    start = datetime.now(UTC) + timedelta(seconds=args.lead)
    step = args.window / args.critical
    t0 = time.perf_counter()
    for i in range(args.critical):
        desk.create_ticket(
            subject=f"critical {i}",
            body="down",
            requester_email="bench@example.com",
            priority="critical",
            opened_at=start - timedelta(hours=1) + timedelta(seconds=i * step),
        )
    print(f"opened {args.critical:,} critical tickets in {time.perf_counter() - t0:.1f}s")
    if datetime.now(UTC) > start:
        print("warning: the window started before the watcher; early delays include that")

    proc = subprocess.Popen(
        [*base, "watch", "--webhook", hook, "--poll", str(args.poll)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        end = start + timedelta(seconds=args.window + 5)
        while datetime.now(UTC) < end:
            time.sleep(0.5)
        # wait for stragglers
        deadline = time.time() + 30
        while (
            time.time() < deadline
            and len([1 for _, b in Sink.got if b.get("threshold") == "0.5"]) < args.critical
        ):
            time.sleep(0.5)
        delays = []
        for recv, body in Sink.got:
            if body.get("threshold") != "0.5":
                continue
            due = datetime.fromisoformat(body["due_at"].replace("Z", "+00:00"))
            crossed = due - timedelta(hours=1)
            delays.append(recv - crossed.timestamp())
        print(
            f"threshold crossed -> webhook POST: {len(delays):,}/{args.critical:,} alerts; "
            f"median {statistics.median(delays):.3f}s, p95 {pct(delays, 95):.3f}s, "
            f"max {max(delays):.3f}s (target p95 < 2 s)"
        )
        others = len(Sink.got) - len(delays)
        if others:
            print(f"  ({others} other POSTs)")
        c0, w0 = cpu_seconds(proc.pid), time.perf_counter()
        time.sleep(args.idle)
        c1, w1 = cpu_seconds(proc.pid), time.perf_counter()
        print(
            f"watcher idle CPU over {w1 - w0:.0f}s: {100 * (c1 - c0) / (w1 - w0):.2f}% of one core "
            f"(poll {args.poll}s; target < 1 %)"
        )
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            err = ""
        print(
            f"watcher exit code after SIGTERM: {proc.returncode}"
            + (f"; stderr: {err.strip()[:200]}" if err.strip() else "")
        )
        server.shutdown()
        desk.engine.dispose()


if __name__ == "__main__":
    main()

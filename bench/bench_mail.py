"""Inbound mail benchmark (issue 14): one command, prints its figures.

    python bench/bench_mail.py [--messages 10000] [--latency 40] [--gap 0.25]

Starts a throwaway Dovecot on 127.0.0.1 (tests/imap_helpers.py; needs ``dovecot-imapd``
and root), writes ``--messages`` messages straight into a fresh user's Maildir (a realistic
mix: 70 % new requests in plain text, 10 % HTML-only, 10 % with a small attachment, 10 %
follow-ups threaded by In-Reply-To to an earlier message), then:

- ingest: one ``fetch_mail_once`` pass into a fresh SQLite file (in /tmp/ac_bench_mail):
  messages per second (target at least 200/s), and the process's resident memory sampled
  every 0.1 s — peak and at 25 / 50 / 75 / 100 % of the messages (flat: messages are
  streamed in batches, the mailbox is never held);
- arrival → queue in IDLE mode: a long-running fetcher (``fetch_mail_forever``) on the same
  database; ``--latency`` messages APPENDed one by one ``--gap`` seconds apart; the time
  from the APPEND's completion to the ticket being listed among open tickets
  (an open ticket with its subject, read by a second desk): median, p95, max (target p95
  under 5 s).

Not a pass/fail test: it prints what it measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlmodel import select  # noqa: E402

from agent_console.desk import Desk  # noqa: E402
from agent_console.settings import Settings  # noqa: E402
from agent_console.store.models import Ticket  # noqa: E402
from tests.imap_helpers import PASSWORD, DovecotServer, mail  # noqa: E402

WORK = Path("/tmp/ac_bench_mail")
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


def message(i: int) -> bytes:
    kind = i % 10
    mid = f"<bench{i}@acme{i % 97}.example>"
    sender = f"Customer {i % 500} <c{i % 500}@acme{i % 97}.example>"
    if kind == 7 and i >= 10:
        m = mail(
            sender=sender,
            subject=f"Re: request {i - 7}",
            message_id=mid,
            body=f"More about it.\n\nOn Mon, Support wrote:\n> earlier text {i}",
            In_Reply_To=f"<bench{i - 7}@acme{(i - 7) % 97}.example>",
        )
        return m.as_bytes()
    if kind == 8:
        m = EmailMessage()
        m["From"], m["To"], m["Subject"], m["Message-ID"] = (
            sender,
            "support@desk.example",
            f"request {i}",
            mid,
        )
        m.set_content(
            f"<html><body><p>Hello,</p><p>order <b>{i}</b> is stuck.</p>"
            "<ul><li>one</li><li>two</li></ul></body></html>",
            subtype="html",
        )
        return m.as_bytes()
    m = mail(
        sender=sender,
        subject=f"request {i}",
        message_id=mid,
        body=f"Hello,\n\nrequest number {i}: the export fails with error E{i % 13}.\n" * 3,
    )
    if kind == 9:
        m.add_attachment(
            os.urandom(4096), maintype="application", subtype="octet-stream", filename=f"log{i}.bin"
        )
    return m.as_bytes()


def fill_maildir(server: DovecotServer, user: str, n: int) -> None:
    """Write ``n`` messages into the user's Maildir/new (owned by the mail user)."""
    home = server.dir / "mail" / user / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    base = int(time.time()) - n
    for i in range(n):
        (home / "new" / f"{base + i}.M{i}P1.bench").write_bytes(message(i))
    for path in [server.dir / "mail" / user, *home.rglob("*")] + [home]:
        shutil.chown(path, "nobody", "nogroup")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--latency", type=int, default=40, help="messages for the IDLE latency")
    ap.add_argument("--gap", type=float, default=0.25, help="seconds between those messages")
    args = ap.parse_args()

    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    server = DovecotServer().start()
    try:
        user = server.new_user()
        t0 = time.perf_counter()
        fill_maildir(server, user, args.messages)
        print(
            f"wrote {args.messages:,} messages into the Maildir in {time.perf_counter() - t0:.1f} s"
        )
        settings = Settings(
            db_url=f"sqlite:///{WORK / 'mail.db'}",
            imap_url=server.url(user),
            imap_password=PASSWORD,
            imap_idle=300.0,
        )
        desk = Desk.open(settings)
        desk.has_tickets()

        # ---------------------------------------------------------------- ingest
        samples: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append((time.perf_counter(), rss_mb()))
                stop.wait(0.1)

        base_rss = rss_mb()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        progress: list[tuple[float, int]] = []
        original = desk.ingest_batch

        def counted(*a, **kw):  # type: ignore[no-untyped-def]
            r = original(*a, **kw)
            done = (progress[-1][1] if progress else 0) + len(r)
            progress.append((time.perf_counter(), done))
            return r

        desk.ingest_batch = counted  # type: ignore[method-assign]
        start = time.perf_counter()
        cpu0 = time.process_time()
        report = desk.fetch_mail_once()
        took = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        stop.set()
        sampler.join()
        desk.ingest_batch = original  # type: ignore[method-assign]
        n = report.total
        print(
            f"ingest: {n:,} messages in {took:.1f} s = {n / took:,.0f} messages/s "
            f"(target >= 200/s); {report.summary()}"
        )
        print(
            f"ingest CPU: {cpu:.1f} s of this process = {n / cpu:,.0f} messages per CPU-second "
            f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores during the run)"
        )
        marks = []
        for frac in (0.25, 0.5, 0.75, 1.0):
            at = next((t for t, k in progress if k >= frac * n), progress[-1][0])
            rss = max((r for t, r in samples if t <= at), default=base_rss)
            marks.append(f"{int(frac * 100)}%: {rss:.0f} MB")
        peak = max(r for _, r in samples)
        print(
            f"memory (RSS): before {base_rss:.0f} MB; peak so far at "
            + ", ".join(marks)
            + f"; peak {peak:.0f} MB"
        )

        # ---------------------------------------------------------------- IDLE latency
        stop = threading.Event()
        lines: list[str] = []
        fetcher = threading.Thread(
            target=desk.fetch_mail_forever, args=(stop, lines.append), daemon=True
        )
        reader = Desk.open(settings)
        fetcher.start()
        deadline = time.monotonic() + 30
        while not any("(IDLE)" in ln for ln in lines) and time.monotonic() < deadline:
            time.sleep(0.05)
        print("fetcher: " + (lines[0] if lines else "did not start"))
        time.sleep(1.0)
        delays: list[float] = []
        for i in range(args.latency):
            subject = f"latency probe {i}"
            server.append(user, mail(subject=subject, sender=f"probe{i}@acme.example"))
            sent = time.perf_counter()
            while time.perf_counter() - sent < 30:
                with reader.read() as sess:  # what the open queue reads: open tickets
                    hit = sess.exec(
                        select(Ticket.id).where(Ticket.is_open == True, Ticket.subject == subject)  # noqa: E712
                    ).first()
                if hit is not None:
                    break
                time.sleep(0.02)
            delays.append(time.perf_counter() - sent)
            time.sleep(args.gap)
        stop.set()
        fetcher.join(10)
        delays.sort()
        p95 = delays[max(0, int(round(0.95 * len(delays))) - 1)]
        print(
            f"arrival → open queue (IDLE, {len(delays)} messages): median "
            f"{statistics.median(delays):.2f} s, p95 {p95:.2f} s, max {delays[-1]:.2f} s "
            "(target p95 < 5 s)"
        )
        desk.engine.dispose()
        reader.engine.dispose()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

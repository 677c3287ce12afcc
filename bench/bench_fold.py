"""Opening a ticket whose customer message is 10 MB: folded (``fold_body_chars``, the
default 20,000) against unfolded (the whole body laid out in the thread).

    python bench/bench_fold.py                    # folded, then unfolded (slow: ~10-50 s)
    python bench/bench_fold.py --only-folded

The ticket screen runs headless (Textual's ``run_test``) on a fresh SQLite file; the time
is from pushing the screen to the first paint after the ticket loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_console.app import AgentConsoleApp  # noqa: E402
from agent_console.desk import Desk  # noqa: E402
from agent_console.screens.ticket import TicketScreen  # noqa: E402
from agent_console.settings import Settings  # noqa: E402

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def big_body(chars: int) -> str:
    line = "The quick brown fox jumps over the lazy dog. " * 20 + "\n"
    return "FIRST LINE\n" + line * (chars // len(line)) + "LAST LINE"


async def open_once(fold_chars: int, size: int) -> float:
    folder = tempfile.mkdtemp()
    settings = Settings(
        db_url=f"sqlite:///{folder}/bench.db", now=NOW, agent="ann", fold_body_chars=fold_chars
    )
    desk = Desk.open(settings)
    desk.add_agent("ann", "Ann One", 1)
    key = desk.create_ticket(
        subject="huge", body=big_body(size), requester_email="c@x.example",
        requester_name="C", priority="urgent", opened_at=NOW - timedelta(minutes=5),
    )
    app = AgentConsoleApp(settings, desk=desk, offer_demo=False, real_ticks=False)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = TicketScreen(key)
        started = time.perf_counter()
        await app.push_screen(screen)
        while screen.detail is None:
            await pilot.pause(0.01)
        await pilot.pause()
        elapsed = time.perf_counter() - started
    desk.engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=10_000_000)
    parser.add_argument("--only-folded", action="store_true")
    args = parser.parse_args()
    folded = asyncio.run(open_once(20_000, args.chars))
    print(f"open a ticket with a {args.chars:,}-character body, folded:   {folded:6.2f} s")
    if not args.only_folded:
        whole = asyncio.run(open_once(10**12, args.chars))
        print(f"open a ticket with a {args.chars:,}-character body, unfolded: {whole:6.2f} s")


if __name__ == "__main__":
    main()

"""``seed`` and ``import tickets``."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime

from agent_console.cli.context import CliContext
from agent_console.cli.output import Progress
from agent_console.desk.importer import ImportFailed
from agent_console.desk.seeding import CHUNK
from agent_console.desk.validation import MAX_REPORTED, plural
from agent_console.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("seed", help="write realistic, deterministic demo data")
    p.add_argument("--tickets", type=int, help="how many tickets (default 2000)")
    p.add_argument("--seed", type=int, help="random seed (same seed, same data; default 1)")
    p.add_argument("--now", help="ISO 8601 instant the data is built around (default: now)")
    p.add_argument("--append", action="store_true", help="add to a database that has tickets")
    p.add_argument(
        "--resume",
        action="store_true",
        help="finish a seed run that was interrupted (plain `seed` does it too)",
    )
    p.add_argument(
        "--chunk",
        type=int,
        default=CHUNK,
        help=f"tickets per transaction (default {CHUNK:,}); a killed run resumes after the "
        "last one written",
    )
    p.set_defaults(func=cmd_seed)

    imp = sub.add_parser("import", help="import data from files")
    isub = imp.add_subparsers(dest="what", metavar="WHAT", required=True)
    t = isub.add_parser(
        "tickets", help="import tickets from JSON Lines or CSV (all or nothing)"
    )
    t.add_argument("file", help="a .jsonl or .csv file")
    t.set_defaults(func=cmd_import_tickets)


def parse_instant(text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"bad {what} {text!r}: use ISO 8601 with an offset") from None
    if value.tzinfo is None:
        raise UserError(f"{what} {text!r} needs a UTC offset (e.g. 2026-11-23T14:00:00Z)")
    return value


def cmd_seed(args: argparse.Namespace, ctx: CliContext) -> int:
    now = parse_instant(args.now, "--now") if args.now else None
    desk = ctx.desk
    interrupted = desk.unfinished_seed_run()
    explicit = args.tickets is not None or args.seed is not None or now is not None
    if args.resume and (explicit or args.append):
        raise UserError("--resume continues the interrupted run as it was asked for; "
                        "give it no --tickets, --seed, --now or --append")
    progress = Progress("seed")
    t0 = time.perf_counter()
    if args.resume or (interrupted is not None and not explicit and not args.append):
        if interrupted is None:
            raise UserError("there is no interrupted seed run to resume in this database")
        print(
            f"resuming the seed run interrupted after {interrupted.written:,} of "
            f"{interrupted.tickets:,} tickets (--seed {interrupted.seed} "
            f"--now {interrupted.now.isoformat()})",
            file=sys.stderr,
        )
        n = desk.resume_seed(progress=progress, chunk=args.chunk)
    else:
        n = desk.seed(
            2000 if args.tickets is None else args.tickets,
            seed=1 if args.seed is None else args.seed,
            now=now,
            append=args.append,
            progress=progress,
            chunk=args.chunk,
        )
    progress.done()
    print(f"seeded {plural(n, 'ticket')} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return 0


def cmd_import_tickets(args: argparse.Namespace, ctx: CliContext) -> int:
    progress = Progress("import")
    t0 = time.perf_counter()
    try:
        report = ctx.desk.import_tickets(args.file, progress=progress)
    except ImportFailed as failed:
        progress.done()
        for err in failed.errors[:MAX_REPORTED]:
            print(f"{args.file}: {err}", file=sys.stderr)
        more = len(failed.errors) - MAX_REPORTED
        if more > 0:
            print(f"{args.file}: … and {plural(more, 'more problem')}", file=sys.stderr)
        print(
            f"agent-console: error: {plural(len(failed.errors), 'problem')} in "
            f"{plural(failed.rows, 'row')}; nothing was imported",
            file=sys.stderr,
        )
        return 2
    progress.done()
    dt = time.perf_counter() - t0
    print(f"{report.summary()} in {dt:.1f}s")
    return 0

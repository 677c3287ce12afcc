"""``agent-console sla apply FILE [--name NAME] [--dry-run]``: store a policy version and
recompute the open tickets under it (desk/policy_apply.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

from agent_console.cli.context import CliContext
from agent_console.cli.output import Progress, clean

_FIELD_NAMES = {
    "first_response_due": "first response",
    "next_update_due": "next update",
    "resolution_due": "resolution",
}
BAR_WIDTH = 24


def register(sla_sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sla_sub.add_parser(
        "apply",
        help="store a policy file in the database and recompute open tickets (lead/admin)",
        description=(
            "Validate a policy file, store it as the next version of the default policy (or "
            "of contract NAME) and recompute the deadlines of the open tickets under it, "
            "1,000 per transaction. Needs --agent LEAD (a lead) or the administrator (no "
            "--agent: the SQLite user, or the PostgreSQL database owner). --dry-run lists "
            "the deadlines that would move and writes nothing."
        ),
    )
    p.add_argument("file", metavar="FILE", help="the policy file (TOML)")
    p.add_argument(
        "--name",
        help="policy to store it as: 'default' or a contract name (default: the stored "
        "contract named like the file; sla.toml and default.toml are the default policy)",
    )
    p.add_argument("--dry-run", action="store_true", help="show what would move; write nothing")
    p.set_defaults(func=handle_apply)


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return "none"
    return value.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")


def handle_apply(args: argparse.Namespace, ctx: CliContext) -> int:
    desk = ctx.desk
    progress = Progress("sla apply")

    def bar(stage: str, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        progress(f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}]", done, total)

    try:
        report = desk.apply_policy(args.file, name=args.name, dry_run=args.dry_run, progress=bar)
    finally:
        progress.done()
    zone = desk.display_zone
    if report.dry_run:
        for move in report.moves:
            for f, (before, after) in move.moved.items():
                print(
                    f"{clean(move.key)}  {move.priority}  {_FIELD_NAMES.get(f, f)}: "
                    f"{_when(before, zone)} → {_when(after, zone)}"
                    + ("  (breached)" if move.now_breached else "")
                )
    elif report.version is not None:
        was = f" (was v{report.previous_version})" if report.previous_version else " (new)"
        print(f"stored {report.name} policy v{report.version}{was}, fingerprint "
              f"{report.fingerprint[:12]}", file=sys.stderr)
    else:
        print(f"{report.name} policy unchanged (v{report.previous_version} is this file); "
              "recomputed its tickets anyway", file=sys.stderr)
    print(report.summary())
    return 0

"""``agent-console sla``: deadlines and business calendars from a policy file.

``sla due`` prints one JSON object with the three deadlines of a ticket (or one per line
for ``--input FILE.jsonl``); ``sla calendar`` prints a policy's open business intervals
and maintenance windows so a lead can check it by eye.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from agent_console.errors import UserError
from agent_console.sla import (
    PRIORITY_NAMES,
    Policy,
    PolicyError,
    TicketClock,
    load_policy,
    load_policy_named,
)
from agent_console.sla.range import SUPPORTED_END, SUPPORTED_FIRST, OutOfRange, check_supported
from agent_console.views import iso_utc

_INPUT_FIELDS = {"priority", "opened", "pauses", "first_reply", "last_update", "id"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sla = sub.add_parser(
        "sla",
        help="SLA deadlines and business calendars",
        description="Compute SLA deadlines and show business calendars from a policy file.",
    )
    sla.set_defaults(func=_no_subcommand, _sla_parser=sla)
    sla_sub = sla.add_subparsers(dest="sla_command", metavar="SUBCOMMAND")

    due = sla_sub.add_parser(
        "due",
        help="deadlines of a ticket (JSON)",
        description=(
            "Print the first-response, next-update and resolution deadlines as JSON "
            "(ISO 8601 UTC). next_update_due is null until the first public reply "
            "(--first-reply); then it is one status-update cadence after the last public "
            "update (--last-update, default the first reply)."
        ),
    )
    due.add_argument("--priority", help="critical, urgent, minor (or 1, 2, 3)")
    due.add_argument("--opened", help="opening instant, ISO 8601 with offset or Z")
    due.add_argument(
        "--pause",
        nargs=2,
        action="append",
        default=[],
        metavar=("START", "END"),
        help="an interval the resolution clock stopped (waiting on the customer); repeatable",
    )
    due.add_argument(
        "--first-reply",
        metavar="ISO",
        help="the first public agent reply (starts the update cadence)",
    )
    due.add_argument(
        "--last-update",
        metavar="ISO",
        help="the last public agent update (needs --first-reply; default: the first reply)",
    )
    due.add_argument(
        "--input",
        metavar="FILE.jsonl",
        help=(
            'many tickets: one JSON object per line ({"priority", "opened", "pauses", '
            '"first_reply", "last_update"}); "-" = stdin'
        ),
    )
    _add_policy_option(due)
    due.set_defaults(func=handle_due)

    cal = sla_sub.add_parser(
        "calendar",
        help="open business intervals and maintenance windows",
        description=(
            "Print a policy's open business intervals, holidays, special days and"
            " maintenance windows per day."
        ),
    )
    cal.add_argument(
        "--from", dest="from_date", metavar="DATE", help="first local date (default: today)"
    )
    cal.add_argument("--days", type=int, default=14, metavar="N", help="how many days (default 14)")
    cal.add_argument("--json", action="store_true", help="one JSON object per day")
    _add_policy_option(cal)
    cal.set_defaults(func=handle_calendar)

    from agent_console.cli import sla_apply_cmd

    sla_apply_cmd.register(sla_sub)


def _add_policy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        dest="sla_policy",
        metavar="FILE",
        help="policy file, or the name of a contract policy (default: the global --policy)",
    )


def _no_subcommand(args: argparse.Namespace, ctx: Any) -> int:
    args._sla_parser.print_help(sys.stderr)
    return 2


# ---------------------------------------------------------------------- helpers
def resolve_policy(args: argparse.Namespace, ctx: Any) -> Policy:
    """``--policy`` of the subcommand, else the global one (``ctx.settings.policy``).

    A value that is not an existing file and looks like a name (no suffix, no slash) is a
    contract policy from ``data/policies``.
    """
    choice = getattr(args, "sla_policy", None)
    if choice:
        path = Path(choice)
        if not path.exists() and path.suffix == "" and "/" not in choice and "\\" not in choice:
            return load_policy_named(choice)
        return load_policy(path)
    settings = getattr(ctx, "settings", None)
    policy_path = getattr(settings, "policy", None)
    if policy_path is None:
        from agent_console.sla import load_default_policy

        return load_default_policy()
    from agent_console.paths import default_policy_path

    try:
        is_default = Path(policy_path).resolve() == default_policy_path().resolve()
    except OSError:
        is_default = False
    return load_policy(policy_path, name="default" if is_default else None)


def parse_instant(value: Any, what: str) -> datetime:
    """An ISO 8601 instant with an offset (``Z`` allowed) → aware datetime, inside the
    supported range (1900-01-01 to 2199-12-31 UTC; else :class:`OutOfRange` naming
    ``what``: one line, exit 2)."""
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{what}: expected an ISO 8601 instant, got {value!r}")
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(
            f"{what}: not an ISO 8601 instant: {text!r} (e.g. 2026-11-23T14:30:00Z)"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise UserError(f"{what}: {text!r} has no UTC offset; add Z or an offset like -05:00")
    return check_supported(parsed, what)




def due_record(
    policy: Policy,
    priority: Any,
    opened: datetime,
    pauses: Iterable[tuple[datetime, datetime]],
    first_reply: datetime | None = None,
    last_update: datetime | None = None,
) -> dict[str, Any]:
    """The deadlines ``sla due`` prints, from the ticket clock built from these facts
    (``next_update_due`` is None until ``first_reply``)."""
    if not isinstance(priority, (str, int)) or isinstance(priority, bool):
        raise UserError(f"priority: expected one of {', '.join(PRIORITY_NAMES)}, got {priority!r}")
    try:
        target = policy.target(str(priority))
    except PolicyError:
        raise UserError(
            f"unknown priority {priority!r} (use {', '.join(PRIORITY_NAMES)} or 1, 2, 3)"
        ) from None
    if last_update is not None and first_reply is None:
        raise UserError("last update given without the first reply (add the first reply)")
    if first_reply is not None and first_reply < opened:
        raise UserError("the first reply is before the opening")
    if last_update is not None and first_reply is not None and last_update < first_reply:
        raise UserError("the last update is before the first reply")
    try:
        clock = TicketClock.of(
            policy,
            target.name,
            opened,
            first_reply=first_reply,
            last_update=last_update,
            pauses=list(pauses),
        )
        deadlines = clock.deadlines()
    except PolicyError:
        raise
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return {
        "priority": target.name,
        "first_response_due": iso_utc(deadlines.first_response_due),
        "next_update_due": iso_utc(deadlines.next_update_due),
        "resolution_due": iso_utc(deadlines.resolution_due),
    }


def _parse_pause_pair(pair: Any, what: str) -> tuple[datetime, datetime]:
    if not isinstance(pair, (list, tuple)) or len(pair) != 2:
        raise UserError(f"{what}: expected [start, end], got {pair!r}")
    start = parse_instant(pair[0], f"{what} start")
    end = parse_instant(pair[1], f"{what} end")
    if end < start:
        raise UserError(f"{what}: ends ({pair[1]}) before it starts ({pair[0]})")
    return start, end


# ---------------------------------------------------------------------- sla due
def handle_due(args: argparse.Namespace, ctx: Any) -> int:
    if args.input is not None:
        if args.priority or args.opened or args.pause or args.first_reply or args.last_update:
            raise UserError(
                "sla due: give either --input or --priority/--opened/--pause/--first-reply/"
                "--last-update, not both"
            )
        policy = resolve_policy(args, ctx)
        if args.input == "-":
            return _due_stream(policy, sys.stdin, "<stdin>", sys.stdout)
        path = Path(args.input)
        try:
            fh = path.open(encoding="utf-8")
        except OSError as exc:
            raise UserError(f"--input {args.input}: cannot read: {exc.strerror or exc}") from None
        with fh:
            return _due_stream(policy, fh, args.input, sys.stdout)
    if not args.priority:
        raise UserError("sla due: --priority is required (critical, urgent, minor)")
    if not args.opened:
        raise UserError("sla due: --opened is required (ISO 8601, e.g. 2026-11-23T14:30:00Z)")
    policy = resolve_policy(args, ctx)
    opened = parse_instant(args.opened, "--opened")
    pauses = [_parse_pause_pair(p, f"--pause {p[0]} {p[1]}") for p in args.pause]
    first_reply = parse_instant(args.first_reply, "--first-reply") if args.first_reply else None
    last_update = parse_instant(args.last_update, "--last-update") if args.last_update else None
    record = due_record(policy, args.priority, opened, pauses, first_reply, last_update)
    print(json.dumps(record))
    return 0


def _due_lines(policy: Policy, lines: Iterable[str], name: str) -> Iterator[str]:
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{name} line {number}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: not valid JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise UserError(f"{where}: expected a JSON object")
        unknown = sorted(set(obj) - _INPUT_FIELDS)
        if unknown:
            raise UserError(
                f"{where}: unknown field {unknown[0]!r} (known: {', '.join(sorted(_INPUT_FIELDS))})"
            )
        if "priority" not in obj or "opened" not in obj:
            missing = "priority" if "priority" not in obj else "opened"
            raise UserError(f"{where}: missing field {missing!r}")
        try:
            opened = parse_instant(obj["opened"], "opened")
            raw_pauses = obj.get("pauses") or []
            if not isinstance(raw_pauses, list):
                raise UserError(f"pauses: expected a list of [start, end], got {raw_pauses!r}")
            pauses = [_parse_pause_pair(p, f"pauses[{i}]") for i, p in enumerate(raw_pauses)]
            first_reply = last_update = None
            if obj.get("first_reply") is not None:
                first_reply = parse_instant(obj["first_reply"], "first_reply")
            if obj.get("last_update") is not None:
                last_update = parse_instant(obj["last_update"], "last_update")
            record = due_record(policy, obj["priority"], opened, pauses, first_reply, last_update)
        except UserError as exc:
            raise UserError(f"{where}: {exc}") from None
        if "id" in obj:
            record = {"id": obj["id"], **record}
        yield json.dumps(record)


def _due_stream(policy: Policy, lines: Iterable[str], name: str, out: IO[str]) -> int:
    # validate everything before printing, so a bad line does not leave half an output
    results = list(_due_lines(policy, lines, name))
    for line in results:
        out.write(line + "\n")
    return 0


# ---------------------------------------------------------------------- sla calendar
def handle_calendar(args: argparse.Namespace, ctx: Any) -> int:
    policy = resolve_policy(args, ctx)
    if args.days < 1 or args.days > 3660:
        raise UserError(f"--days: expected 1 to 3660, got {args.days}")
    if args.from_date:
        try:
            first = date.fromisoformat(args.from_date)
        except ValueError:
            raise UserError(f"--from: not a date: {args.from_date!r} (YYYY-MM-DD)") from None
    else:
        now = getattr(getattr(ctx, "settings", None), "now", None) or datetime.now(UTC)
        first = now.astimezone(policy.tz).date()
    last = date.fromordinal(min(first.toordinal() + args.days - 1, date.max.toordinal()))
    if first < SUPPORTED_FIRST.date() or last >= SUPPORTED_END.date():
        raise OutOfRange(
            f"--from {first.isoformat()} --days {args.days}: outside the supported range "
            "1900-01-01 to 2199-12-31"
        )
    for line in calendar_lines(policy, first, args.days, as_json=args.json):
        print(line)
    return 0


def _hm(local: datetime, day: date) -> str:
    if local.date() > day and (local.hour, local.minute) == (0, 0):
        return "24:00"
    if local.date() != day:
        return f"{local:%a %H:%M}"
    return f"{local:%H:%M}"


def calendar_lines(policy: Policy, first: date, days: int, *, as_json: bool = False) -> list[str]:
    """The lines ``sla calendar`` prints: one per local date."""
    cal = policy.calendar
    out: list[str] = []
    if not as_json:
        out.append(
            f"Policy {policy.name} ({policy.timezone}) from {first.isoformat()}, {days} day(s)"
        )
        out.append(
            "Clocks: "
            + ", ".join(
                f"{t.name} {t.clock}"
                for t in sorted(policy.priorities.values(), key=lambda t: t.level)
            )
        )
    try:
        last = first + timedelta(days=days)
    except OverflowError:
        raise UserError("--from/--days: out of range") from None
    start_ts = cal.wall_to_epoch(first, 0)
    end_ts = cal.wall_to_epoch(last, 0)
    start = datetime.fromtimestamp(start_ts, UTC)
    end = datetime.fromtimestamp(end_ts, UTC)
    windows = [
        (s, e, n)
        for s, e, n in cal._maintenance_epoch(start_ts, end_ts)
        if s < end_ts and e > start_ts
    ]
    day = first
    one = timedelta(days=1)
    del start, end
    while day < last:
        intervals = cal.day_intervals(day)
        plan = cal.day_plan(day)  # special day, holiday or weekly hours: decided there
        holiday = plan.holiday
        day_maint = [
            (s, e, n) for s, e, n in windows if datetime.fromtimestamp(s, policy.tz).date() == day
        ]
        if as_json:
            out.append(
                json.dumps(
                    {
                        "date": day.isoformat(),
                        "open": [
                            [
                                iso_utc(datetime.fromtimestamp(s, UTC)),
                                iso_utc(datetime.fromtimestamp(e, UTC)),
                            ]
                            for s, e in intervals
                        ],
                        "holiday": holiday,
                        "special_day": plan.special,
                        "maintenance": [
                            [
                                iso_utc(datetime.fromtimestamp(s, UTC)),
                                iso_utc(datetime.fromtimestamp(e, UTC)),
                            ]
                            for s, e, _ in day_maint
                        ],
                    }
                )
            )
        else:
            parts = []
            if intervals:
                spans = []
                for s, e in intervals:
                    ls = datetime.fromtimestamp(s, policy.tz)
                    le = datetime.fromtimestamp(e, policy.tz)
                    zone = (
                        ls.tzname()
                        if ls.tzname() == le.tzname()
                        else f"{ls.tzname()}/{le.tzname()}"
                    )
                    spans.append(f"{_hm(ls, day)}–{_hm(le, day)} {zone}")
                note = f" ({plan.special_label})" if plan.special is not None else ""
                parts.append("open " + ", ".join(spans) + note)
            elif plan.closed_reason in ("weekend", "closed", None):
                parts.append("closed")
            else:  # a holiday or a closed special day
                parts.append(f"closed: {plan.closed_reason}")
            for s, e, name in day_maint:
                ls = datetime.fromtimestamp(s, policy.tz)
                le = datetime.fromtimestamp(e, policy.tz)
                parts.append(f"{name} {_hm(ls, day)}–{_hm(le, day)} {ls.tzname()}")
            out.append(f"{day:%a %Y-%m-%d}  " + "; ".join(parts))
        day += one
    return out

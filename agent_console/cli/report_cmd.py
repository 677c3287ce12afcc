"""``agent-console report``: the metrics screen's figures for scripts and a weekly e-mail.

The figures come from the one desk function the screen uses too
(:meth:`agent_console.desk.metrics.MetricsMixin.metrics`); this module only formats them:
``table`` (default), ``json`` (one object; ``--json`` is an alias), ``csv`` (one figure a
row: ``section,group,measure,value``) and ``markdown`` (headed tables).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Iterator
from datetime import date
from typing import Any

from agent_console.cli.context import CliContext
from agent_console.cli.output import clean, print_json, print_table
from agent_console.desk.metrics import PERIODS, MetricsFilter, MetricsReport, report_tables
from agent_console.errors import UserError
from agent_console.views import iso_utc

FORMATS = ("table", "json", "csv", "markdown")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "report",
        help="SLA and workload figures for a period (the metrics screen's)",
        description=(
            "Share of first responses, status updates and resolutions that met their "
            "targets per priority, median and p90 times on the priority's clock, breaches, "
            "tickets opened and resolved per day, backlog, escalations and per-agent load. "
            "Days are those of the display zone (--tz). Default period: the last 7 days."
        ),
    )
    p.add_argument("--from", dest="from_date", metavar="DATE", help="first day (YYYY-MM-DD)")
    p.add_argument(
        "--to", dest="to_date", metavar="DATE", help="last day, included (default today)"
    )
    p.add_argument(
        "--period",
        choices=[k for k in PERIODS if k != "custom"],
        help="a named period instead of --from/--to (today, week, 7d, 30d)",
    )
    p.add_argument("--org", metavar="O", help="only tickets of this organization")
    p.add_argument("--tier", type=int, metavar="N", help="only tickets at this tier (1-3)")
    p.add_argument(
        "--assignee", metavar="HANDLE", help="only tickets assigned to this agent (leads: anyone)"
    )
    p.add_argument("--format", choices=FORMATS, default=None, help="output format (default table)")
    p.add_argument("--json", action="store_true", help="same as --format json")
    p.set_defaults(func=cmd_report)


def _date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{what}: not a date: {text!r} (use YYYY-MM-DD)") from None


def cmd_report(args: argparse.Namespace, ctx: CliContext) -> int:
    fmt = args.format or ("json" if args.json else "table")
    if args.json and args.format not in (None, "json"):
        raise UserError(f"--json contradicts --format {args.format}; use one of them")
    first = _date(args.from_date, "--from")
    last = _date(args.to_date, "--to")
    if args.period and (first or last):
        raise UserError("use either --period or --from/--to, not both")
    desk = ctx.desk
    if args.period:
        kind = args.period
    elif first or last:
        kind = "custom"
        if first is None and last is not None:
            first = date.fromordinal(last.toordinal() - 6)
    else:
        kind = "7d"
    report = desk.metrics(
        kind,
        MetricsFilter(org=args.org, tier=args.tier, assignee=args.assignee),
        first=first,
        last=last,
    )
    if fmt == "json":
        print_json(report.as_dict())
    elif fmt == "csv":
        write_csv(report)
    elif fmt == "markdown":
        print_markdown(report)
    else:
        print_text(report)
    return 0


def _heading(r: MetricsReport) -> str:
    return f"Agent Console report: {r.heading}"


def print_text(r: MetricsReport) -> None:
    print(clean(_heading(r)))
    for _, title, headers, rows in report_tables(r):
        print()
        print(clean(title))
        if rows:
            print_table(headers, rows)
        else:
            print("(none)")
    for note in r.notes:
        print()
        print(clean(note))


#: what Markdown (CommonMark, GitHub tables) would read as markup in a cell: escaped with a
#: backslash, so a subject such as ``*urgent* [b]x[/b] <b>`` renders as it was written
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def _md_cell(value: Any) -> str:
    return _MD_SPECIAL.sub(r"\\\1", clean(value))


def print_markdown(r: MetricsReport) -> None:
    print(f"# {_md_cell(_heading(r))}")
    for _, title, headers, rows in report_tables(r):
        print()
        print(f"## {_md_cell(title)}")
        print()
        if not rows:
            print("_none_")
            continue
        print("| " + " | ".join(headers) + " |")
        print("|" + "|".join(" --- " for _ in headers) + "|")
        for row in rows:
            print("| " + " | ".join(_md_cell(v) for v in row) + " |")
    for note in r.notes:
        print()
        print(f"_{_md_cell(note)}_")


# ---------------------------------------------------------------- CSV (long form)
def csv_rows(r: MetricsReport) -> Iterator[tuple[str, str, str, Any]]:
    """Every figure as (section, group, measure, value); seconds and counts as integers,
    shares as fractions (0..1), instants ISO 8601 UTC; empty = no value."""
    p = r.period
    yield ("period", "", "from", p.first.isoformat())
    yield ("period", "", "to", p.last.isoformat())
    yield ("period", "", "zone", p.zone)
    yield ("period", "", "as_of", iso_utc(r.as_of))
    for line in r.priorities:
        for name, share in (
            ("first_response", line.first_response),
            ("updates", line.updates),
            ("resolution", line.resolution),
        ):
            for measure, value in share.as_dict().items():
                yield (name, line.priority, measure, value)
        yield ("reopened", line.priority, "count", line.reopened)
    yield ("breaches", "", "count", r.breach_count)
    for b in r.breaches:
        yield ("breach", b.key, f"{b.metric}#{b.cycle}", f"{b.state} {iso_utc(b.due)}")
    for d, o, n in r.daily:
        yield ("daily", d.isoformat(), "opened", o)
        yield ("daily", d.isoformat(), "resolved", n)
    for t, n in r.backlog_tier:
        yield ("backlog_tier", str(t), "open", n)
    for a, n in r.backlog_age:
        yield ("backlog_age", a, "open", n)
    for e in r.escalations:
        for measure, value in e.as_dict().items():
            if measure != "tier":
                yield ("escalations", str(e.tier), measure, value)
    for a in r.agents:
        for measure, value in a.as_dict().items():
            if measure != "handle":
                yield ("agent", a.handle, measure, value)
    for i, note in enumerate(r.notes, start=1):
        yield ("note", "", str(i), note)


def write_csv(r: MetricsReport) -> None:
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["section", "group", "measure", "value"])
    for section, group, measure, value in csv_rows(r):
        w.writerow([section, clean(group), measure, "" if value is None else clean(value)])

"""Why a deadline is where it is: the counted business intervals, the skipped days."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from agent_console.sla.calendar import DAY_NAMES, require_aware
from agent_console.sla.deadlines import (
    Pause,
    _left_at,
    merge_pauses,
    resolution_due_epoch,
)
from agent_console.sla.durations import format_duration, format_hm
from agent_console.sla.policy import BUSINESS, Policy, PriorityTarget


@dataclass(frozen=True)
class ExplainLine:
    """One line of an explanation.

    ``kind`` is ``"counted"`` (clock time counted), ``"skipped"`` (a closed day: weekend,
    holiday), ``"paused"`` (waiting on the customer) or ``"note"``.
    """

    kind: str
    text: str
    start: datetime | None = None
    end: datetime | None = None
    seconds: int | None = None


@dataclass(frozen=True)
class DeadlineExplanation:
    """How one deadline was reached."""

    label: str  # "First response", "Next update", "Resolution"
    clock: str
    target_seconds: int
    start: datetime  # where the clock started counting (UTC)
    due: datetime | None  # None while paused
    headline: str
    lines: tuple[ExplainLine, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Explanation:
    policy: str
    timezone: str
    priority: str
    level: int
    sections: tuple[DeadlineExplanation, ...]

    def lines(self) -> list[str]:
        """Human-readable lines, local times with the zone abbreviation."""
        out = [
            f"Policy {self.policy} ({self.timezone}), priority {self.priority} (level {self.level})"
        ]
        for section in self.sections:
            out.append(section.headline)
            out.extend(f"  {line.text}" for line in section.lines)
        return out

    def text(self) -> str:
        return "\n".join(self.lines())


def _local(policy: Policy, ts: float) -> datetime:
    return datetime.fromtimestamp(ts, policy.tz)


def _fmt_instant(policy: Policy, ts: float) -> str:
    d = _local(policy, ts)
    return f"{d:%a %d %b %Y %H:%M} {d.tzname()}"


def _fmt_day(day: date) -> str:
    return f"{day:%a %d %b}"


def _fmt_span(policy: Policy, s: float, e: float) -> str:
    ds, de = _local(policy, s), _local(policy, e)
    end_text = f"{de:%H:%M}"
    if de.date() > ds.date() and (de.hour, de.minute) == (0, 0):
        end_text = "24:00"
    elif de.date() != ds.date():
        end_text = f"{de:%a %d %b %H:%M}"
    zone = ds.tzname() if ds.tzname() == de.tzname() else f"{ds.tzname()}/{de.tzname()}"
    return f"{_fmt_day(ds.date())} {ds:%H:%M}–{end_text} {zone}"


def _subtract(
    spans: list[tuple[float, float]], holes: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    out = []
    for s, e in spans:
        cur = s
        for hs, he in holes:
            if he <= cur or hs >= e:
                continue
            if hs > cur:
                out.append((cur, hs))
            cur = max(cur, he)
        if cur < e:
            out.append((cur, e))
    return out


def _business_lines(
    policy: Policy, t0: float, t1: float, holes: list[tuple[float, float]]
) -> list[ExplainLine]:
    cal = policy.calendar
    lines: list[ExplainLine] = []
    day = _local(policy, t0).date()
    last = _local(policy, t1).date()
    one = timedelta(days=1)
    while day <= last:
        holiday = cal.holiday_name(day)
        if holiday is not None and cal.weekly[day.weekday()]:
            text = "holiday" if holiday == "holiday" else f"holiday ({holiday})"
            lines.append(ExplainLine("skipped", f"{_fmt_day(day)} skipped: {text}"))
        elif not cal.weekly[day.weekday()]:
            reason = "weekend" if DAY_NAMES[day.weekday()] in ("sat", "sun") else "closed"
            lines.append(ExplainLine("skipped", f"{_fmt_day(day)} skipped: {reason}"))
        else:
            spans = [
                (max(float(s), t0), min(float(e), t1))
                for s, e in cal.day_intervals(day)
                if e > t0 and s < t1
            ]
            for s, e in _subtract(spans, holes):
                secs = round(e - s)
                lines.append(
                    ExplainLine(
                        "counted",
                        f"{_fmt_span(policy, s, e)} counted {format_hm(secs)}",
                        datetime.fromtimestamp(s, UTC),
                        datetime.fromtimestamp(e, UTC),
                        secs,
                    )
                )
        day += one
    return lines


def _calendar_lines(
    policy: Policy, t0: float, t1: float, holes: list[tuple[float, float]]
) -> list[ExplainLine]:
    lines = []
    for s, e in _subtract([(t0, t1)], holes):
        secs = round(e - s)
        lines.append(
            ExplainLine(
                "counted",
                f"{_fmt_instant(policy, s)} → {_fmt_instant(policy, e)} counted "
                f"{format_hm(secs)} (24/7)",
                datetime.fromtimestamp(s, UTC),
                datetime.fromtimestamp(e, UTC),
                secs,
            )
        )
    return lines


def _section(
    policy: Policy,
    target: PriorityTarget,
    label: str,
    seconds: int,
    t0: float,
    due: float | None,
    origin: str,
    holes: list[tuple[float, float]],
    now: datetime | None,
    stop: float | None = None,
    left: float | None = None,
) -> DeadlineExplanation:
    clock = "business clock" if target.clock == BUSINESS else "calendar clock (24/7)"
    head = f"{label}: {format_hm(seconds)} on the {clock} from {origin} {_fmt_instant(policy, t0)}"
    if due is not None:
        head += f" → due {_fmt_instant(policy, due)}"
        if now is not None:
            left_now = policy.elapsed(target.name, now, datetime.fromtimestamp(due, UTC))
            running = policy.is_running(target.name, now)
            state = (
                f"{format_duration(left_now)} left"
                if left_now >= 0
                else f"overdue by {format_duration(left_now)}"
            )
            head += f" ({state}{'' if running else ', clock stopped now'})"
    else:
        head += f" → paused with {format_duration(left or 0)} left"
    end = due if due is not None else (stop if stop is not None else t0)
    if target.clock == BUSINESS:
        lines = _business_lines(policy, t0, end, holes)
    else:
        lines = _calendar_lines(policy, t0, end, holes)
    for s, e in holes:
        if e <= t0 or s >= end:
            continue
        stopped = round(policy.elapsed_epoch(target, s, min(e, end)))
        lines.append(
            ExplainLine(
                "paused",
                f"paused {_fmt_instant(policy, s)} → {_fmt_instant(policy, e)}: "
                f"{format_hm(stopped)} of clock time not counted (waiting on customer)",
                datetime.fromtimestamp(s, UTC),
                datetime.fromtimestamp(e, UTC),
                stopped,
            )
        )
    if due is None and stop is not None:
        lines.append(
            ExplainLine(
                "paused",
                f"paused since {_fmt_instant(policy, stop)}: clock stopped, "
                f"{format_hm(round(left or 0))} left when it resumes",
                datetime.fromtimestamp(stop, UTC),
                None,
                round(left or 0),
            )
        )
    return DeadlineExplanation(
        label=label,
        clock=target.clock,
        target_seconds=seconds,
        start=datetime.fromtimestamp(t0, UTC),
        due=datetime.fromtimestamp(due, UTC) if due is not None else None,
        headline=head,
        lines=tuple(lines),
    )


def explain(
    policy: Policy,
    priority: str,
    opened: datetime,
    *,
    pauses: Iterable[Pause] = (),
    first_response_at: datetime | None = None,
    last_public_update_at: datetime | None = None,
    paused_since: datetime | None = None,
    now: datetime | None = None,
) -> Explanation:
    """The three deadlines of a ticket with the intervals that were counted and the days
    and pauses that were skipped. ``now`` (optional) adds the time left."""
    target = policy.target(priority)
    require_aware(opened, "opened")
    if now is not None:
        require_aware(now, "now")
    t_open = opened.timestamp()
    sections = [
        _section(
            policy,
            target,
            "First response",
            target.first_response,
            t_open,
            policy.add_epoch(target, t_open, target.first_response),
            "opening",
            [],
            now,
        )
    ]
    if last_public_update_at is not None:
        base, origin = last_public_update_at, "last public update"
    elif first_response_at is not None:
        base, origin = first_response_at, "first response"
    else:
        base, origin = opened, "opening"
    require_aware(base, origin)
    t_base = base.timestamp()
    sections.append(
        _section(
            policy,
            target,
            "Next update",
            target.status_update,
            t_base,
            policy.add_epoch(target, t_base, target.status_update),
            origin,
            [],
            now,
        )
    )
    merged = merge_pauses(pauses, t_open)
    if paused_since is not None:
        require_aware(paused_since, "paused_since")
        stop = max(paused_since.timestamp(), t_open)
        left = _left_at(policy, target, t_open, merged, stop)
        sections.append(
            _section(
                policy,
                target,
                "Resolution",
                target.resolution,
                t_open,
                None,
                "opening",
                [p for p in merged if p[0] < stop],
                now,
                stop=stop,
                left=left,
            )
        )
    else:
        due = resolution_due_epoch(policy, target, t_open, merged)
        sections.append(
            _section(
                policy, target, "Resolution", target.resolution, t_open, due, "opening", merged, now
            )
        )
    return Explanation(
        policy=policy.name,
        timezone=policy.timezone,
        priority=target.name,
        level=target.level,
        sections=tuple(sections),
    )

"""Why a deadline is where it is: the counted business intervals, the skipped days."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from agent_console.sla.calendar import require_aware
from agent_console.sla.deadlines import (
    Pause,
    _left_at,
    merge_pauses,
    resolution_due_epoch,
)
from agent_console.sla.durations import format_duration, format_hm, whole_seconds
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
        plan = cal.day_plan(day)  # special day, holiday or weekly hours: decided there
        reason = plan.closed_reason
        if reason is not None:
            lines.append(ExplainLine("skipped", f"{_fmt_day(day)} skipped: {reason}"))
        else:
            note = f" ({plan.special_label})" if plan.special is not None else ""
            spans = [
                (max(float(s), t0), min(float(e), t1))
                for s, e in cal.day_intervals(day)
                if e > t0 and s < t1
            ]
            for s, e in _subtract(spans, holes):
                secs = whole_seconds(e - s)
                lines.append(
                    ExplainLine(
                        "counted",
                        f"{_fmt_span(policy, s, e)} counted {format_hm(secs)}{note}",
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
        secs = whole_seconds(e - s)
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


def _counted(
    policy: Policy,
    target: PriorityTarget,
    a: float,
    b: float,
    holes: list[tuple[float, float]],
) -> int:
    """Clock seconds from ``a`` to ``b`` (a <= b), not counting the pauses ``holes``."""
    used = policy.elapsed_epoch(target, a, b)
    for s, e in holes:
        if e > a and s < b:
            used -= policy.elapsed_epoch(target, max(s, a), min(e, b))
    return whole_seconds(used)


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
    done: tuple[str, float] | None = None,
    idle: str | None = None,
) -> DeadlineExplanation:
    """One deadline. ``done`` = (verb, instant) when it was already met or breached (the
    agent answered, the ticket was resolved): judged against the due instant, not ``now``.
    ``idle`` says why a deadline no longer runs (no time left against ``now`` then)."""
    clock = "business clock" if target.clock == BUSINESS else "calendar clock (24/7)"
    head = f"{label}: {format_hm(seconds)} on the {clock} from {origin} {_fmt_instant(policy, t0)}"
    left_s = whole_seconds(left or 0)
    if due is not None:
        head += f" → due {_fmt_instant(policy, due)}"
        if done is not None:
            verb, at = done
            margin = _counted(policy, target, min(at, due), max(at, due), holes)
            if at <= due:
                head += (
                    f" — met at {_fmt_instant(policy, at)} "
                    f"({format_duration(margin)} before the deadline)"
                )
            else:
                head += (
                    f" — breached: {verb} at {_fmt_instant(policy, at)}, "
                    f"{format_duration(margin)} after the deadline"
                )
        elif idle is not None:
            head += f" ({idle})"
        elif now is not None:
            left_now = policy.elapsed(target.name, now, datetime.fromtimestamp(due, UTC))
            running = policy.is_running(target.name, now)
            state = (
                f"{format_duration(left_now)} left"
                if left_now >= 0
                else f"overdue by {format_duration(left_now)}"
            )
            head += f" ({state}{'' if running else ', clock stopped now'})"
    elif left_s < 0:
        head += f" → paused, overdue by {format_duration(left_s)}"
    else:
        head += f" → paused with {format_duration(left_s)} left"
    end = due if due is not None else (stop if stop is not None else t0)
    if target.clock == BUSINESS:
        lines = _business_lines(policy, t0, end, holes)
    else:
        lines = _calendar_lines(policy, t0, end, holes)
    for s, e in holes:
        if e <= t0 or s >= end:
            continue
        stopped = whole_seconds(policy.elapsed_epoch(target, s, min(e, end)))
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
                + (
                    f"overdue by {format_duration(left_s)} when it resumes"
                    if left_s < 0
                    else f"{format_hm(left_s)} left when it resumes"
                ),
                datetime.fromtimestamp(stop, UTC),
                None,
                left_s,
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
    resolved_at: datetime | None = None,
    now: datetime | None = None,
) -> Explanation:
    """The three deadlines of a ticket with the intervals that were counted and the days
    and pauses that were skipped. ``now`` (optional) adds the time left to the deadlines
    still running; a first response already given (``first_response_at``) and a
    resolution already reached (``resolved_at``) are judged met or breached against their
    due instant instead."""
    target = policy.target(priority)
    require_aware(opened, "opened")
    if now is not None:
        require_aware(now, "now")
    answered: tuple[str, float] | None = None
    if first_response_at is not None:
        require_aware(first_response_at, "first_response_at")
        answered = ("answered", first_response_at.timestamp())
    resolved: tuple[str, float] | None = None
    if resolved_at is not None:
        require_aware(resolved_at, "resolved_at")
        resolved = ("resolved", resolved_at.timestamp())
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
            done=answered,
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
    idle = None
    if resolved is not None:
        idle = f"no longer running: resolved {_fmt_instant(policy, resolved[1])}"
    elif paused_since is not None:
        idle = "not running while waiting on the customer"
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
            idle=idle,
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
                policy,
                target,
                "Resolution",
                target.resolution,
                t_open,
                due,
                "opening",
                merged,
                now,
                done=resolved,
            )
        )
    return Explanation(
        policy=policy.name,
        timezone=policy.timezone,
        priority=target.name,
        level=target.level,
        sections=tuple(sections),
    )

"""Why a deadline is where it is: the counted business intervals, the skipped days."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from agent_console.sla.calendar import require_aware
from agent_console.sla.deadlines import Pause
from agent_console.sla.durations import format_duration, format_hm, whole_seconds
from agent_console.sla.policy import BUSINESS, Policy, PriorityTarget

if TYPE_CHECKING:
    from agent_console.sla.clock import TicketClock


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
    """:func:`explain_clock` of the ticket clock built from these facts."""
    from agent_console.sla.clock import TicketClock

    clock = TicketClock.of(
        policy,
        priority,
        opened,
        first_reply=first_response_at,
        last_update=last_public_update_at,
        pauses=pauses,
        paused_since=paused_since,
        resolved_at=resolved_at,
    )
    return explain_clock(clock, now)


def explain_clock(clock: TicketClock, now: datetime | None = None) -> Explanation:
    """The deadlines of a ticket clock with the intervals that were counted and the days
    and pauses that were skipped. ``now`` (optional) adds the time left to the deadlines
    still running; a first response already given and a resolution already reached are
    judged met or breached against their due instant instead. The due instants are the
    clock's own (:meth:`TicketClock.due`): nothing is re-derived here."""
    policy, target = clock.policy, clock.target
    if now is not None:
        require_aware(now, "now")
    answered = None if clock.first_reply is None else ("answered", clock.first_reply)
    resolved = None if clock.resolved_at is None else ("resolved", clock.resolved_at)
    t_open = clock.opened
    fr_due = clock.due("first_response")
    sections = [
        _section(
            policy,
            target,
            "First response",
            target.first_response,
            t_open,
            fr_due.timestamp() if fr_due else None,
            "opening",
            [],
            now,
            done=answered,
        )
    ]
    update = clock.spec("next_update")
    merged = list(clock.pauses)
    if clock.first_reply is None:
        on = "business clock" if target.clock == BUSINESS else "calendar clock (24/7)"
        sections.append(
            DeadlineExplanation(
                label="Next update",
                clock=target.clock,
                target_seconds=target.status_update,
                start=clock.opened_at,
                due=None,
                headline=(
                    f"Next update: every {format_hm(target.status_update)} on the {on}, "
                    "starting with the first public reply (no deadline before it)"
                ),
            )
        )
    else:
        if clock.last_update is not None and clock.last_update > clock.first_reply:
            t_base, origin = clock.last_update, "last public update"
        else:
            t_base, origin = clock.first_reply, "first response"
        if clock.reopened is not None and clock.reopened > t_base:
            t_base, origin = clock.reopened, "reopening"
        upd_due = clock.due("next_update")
        idle = None
        if resolved is not None:
            idle = f"no longer running: resolved {_fmt_instant(policy, resolved[1])}"
        elif not clock.is_open:
            idle = "no longer running: the ticket is closed"
        holes = [p for p in merged if p[1] > t_base] if update.pauses else []
        if upd_due is None and clock.paused_since is not None:
            stop = max(clock.paused_since, t_base)
            sections.append(
                _section(
                    policy,
                    target,
                    "Next update",
                    target.status_update,
                    t_base,
                    None,
                    origin,
                    [p for p in holes if p[0] < stop],
                    now,
                    stop=stop,
                    left=clock.left_when_paused("next_update"),
                )
            )
        else:
            sections.append(
                _section(
                    policy,
                    target,
                    "Next update",
                    target.status_update,
                    t_base,
                    upd_due.timestamp() if upd_due else None,
                    origin,
                    holes,
                    now,
                    idle=idle,
                )
            )
    res_due = clock.due("resolution")
    if res_due is None and clock.paused_since is not None:
        stop = max(clock.paused_since, t_open)
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
                left=clock.left_when_paused("resolution"),
            )
        )
    else:
        sections.append(
            _section(
                policy,
                target,
                "Resolution",
                target.resolution,
                t_open,
                res_due.timestamp() if res_due else None,
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

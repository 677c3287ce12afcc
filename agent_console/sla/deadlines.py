"""Deadlines of a ticket and the time left on them (pure; ``now`` is a parameter)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from agent_console.sla.calendar import require_aware
from agent_console.sla.durations import whole_seconds
from agent_console.sla.policy import Policy, PriorityTarget
from agent_console.sla.range import check_supported

Pause = tuple[datetime, datetime]


@dataclass(frozen=True)
class Deadlines:
    """When each obligation of a ticket falls due (aware UTC)."""

    first_response_due: datetime
    #: None until the first public reply (the update cadence starts with it), and while a
    #: pausable cadence (``status_update_pauses``) waits on the customer
    next_update_due: datetime | None
    #: None while the resolution clock is paused (waiting on the customer)
    resolution_due: datetime | None
    #: clock seconds of resolution time left when paused (None when running), whole
    #: seconds rounded half away from zero
    resolution_left: int | None = None


@dataclass(frozen=True)
class Remaining:
    """Time left to a deadline on its clock."""

    #: clock seconds left; negative = overdue by that much (on the clock); whole seconds
    #: rounded half away from zero (``durations.whole_seconds``)
    seconds: int
    #: is the clock running now (business clocks stop outside business hours)
    running: bool
    #: seconds / target (1.0 = all left, 0 = due now, < 0 overdue), for colouring
    fraction: float

    @property
    def overdue(self) -> bool:
        return self.seconds < 0


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def merge_pauses(pauses: Iterable[Pause], after: float | None = None) -> list[tuple[float, float]]:
    """Pauses as sorted, merged epoch intervals, clipped to start no earlier than
    ``after``. Raises ``ValueError`` for naive instants or a pause that ends before it
    starts."""
    spans: list[tuple[float, float]] = []
    for item in pauses:
        try:
            start, end = item
        except (TypeError, ValueError):
            raise ValueError(f"a pause is a (start, end) pair, got {item!r}") from None
        require_aware(start, "pause start")
        require_aware(end, "pause end")
        check_supported(start, "pause start")
        check_supported(end, "pause end")
        s, e = start.timestamp(), end.timestamp()
        if e < s:
            raise ValueError(
                f"pause ends ({end.isoformat()}) before it starts ({start.isoformat()})"
            )
        if after is not None:
            s = max(s, after)
        if e > s:
            spans.append((s, e))
    spans.sort()
    merged: list[tuple[float, float]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def resolution_due_epoch(
    policy: Policy,
    target: PriorityTarget,
    opened: float,
    merged: Sequence[tuple[float, float]],
    seconds: float | None = None,
) -> float:
    """``opened`` + ``seconds`` (default: the resolution target) on the priority's clock,
    the clock stopped during the ``merged`` pauses (sorted, non-overlapping epoch
    intervals; those ending before ``opened`` are ignored). Epoch seconds in and out."""
    cursor = opened
    left = float(target.resolution if seconds is None else seconds)
    for s, e in merged:
        if e <= cursor:
            continue
        if s > cursor:
            due = policy.add_epoch(target, cursor, left)
            if due <= s:
                return due
            left -= policy.elapsed_epoch(target, cursor, s)
        cursor = e
    return policy.add_epoch(target, cursor, left)


def _left_at(
    policy: Policy,
    target: PriorityTarget,
    opened: float,
    merged: list[tuple[float, float]],
    at: float,
) -> float:
    used = policy.elapsed_epoch(target, opened, at)
    for s, e in merged:
        if s >= at:
            break
        used -= policy.elapsed_epoch(target, s, min(e, at))
    return target.resolution - used


def compute_deadlines(
    policy: Policy,
    priority: str,
    opened: datetime,
    *,
    pauses: Iterable[Pause] = (),
    first_response_at: datetime | None = None,
    last_public_update_at: datetime | None = None,
    paused_since: datetime | None = None,
) -> Deadlines:
    """The three deadlines of a ticket, straight from its facts (the engine the ticket
    clock, :class:`agent_console.sla.clock.TicketClock`, is property-tested against).

    - first response: ``opened`` + first-response target on the priority's clock;
    - next update: None until the first public reply (``first_response_at``); then one
      status-update cadence after the last public agent update (or the first reply). With
      ``status_update_pauses = true`` on the priority the cadence stops during ``pauses``
      and is None while ``paused_since`` is set;
    - resolution: ``opened`` + resolution target, the clock stopped during each pause
      (overlapping pauses merged); None while ``paused_since`` is set.
    """
    target = policy.target(priority)
    require_aware(opened, "opened")
    check_supported(opened, "opened")
    t_open = opened.timestamp()
    first_due = _utc(policy.add_epoch(target, t_open, target.first_response))
    merged = merge_pauses(pauses, t_open)
    update_due: datetime | None = None
    for given, what in ((last_public_update_at, "last update"), (first_response_at, "first response")):
        if given is not None:  # every instant given is checked, used or not
            require_aware(given, what)
            check_supported(given, what)
    if first_response_at is not None:
        base = last_public_update_at or first_response_at
        t_base = max(base.timestamp(), first_response_at.timestamp())
        if not target.status_update_pauses:
            update_due = _utc(policy.add_epoch(target, t_base, target.status_update))
        elif paused_since is None:
            update_due = _utc(
                resolution_due_epoch(policy, target, t_base, merged, target.status_update)
            )
    if paused_since is not None:
        require_aware(paused_since, "paused_since")
        check_supported(paused_since, "paused_since")
        left = _left_at(policy, target, t_open, merged, max(paused_since.timestamp(), t_open))
        return Deadlines(first_due, update_due, None, whole_seconds(left))
    res_due = _utc(resolution_due_epoch(policy, target, t_open, merged))
    return Deadlines(first_due, update_due, res_due)


def resolution_left(
    policy: Policy,
    priority: str,
    opened: datetime,
    pauses: Iterable[Pause] = (),
    paused_since: datetime | None = None,
) -> int:
    """Clock seconds of resolution time left at the instant the ticket was paused
    (``paused_since``), after earlier ``pauses``; negative if it was already overdue.
    Whole seconds, rounded half away from zero (:func:`whole_seconds`)."""
    target = policy.target(priority)
    require_aware(opened, "opened")
    t_open = opened.timestamp()
    merged = merge_pauses(pauses, t_open)
    if paused_since is None:
        raise ValueError("resolution_left needs paused_since")
    require_aware(paused_since, "paused_since")
    return whole_seconds(
        _left_at(policy, target, t_open, merged, max(paused_since.timestamp(), t_open))
    )


def remaining(
    policy: Policy, priority: str, due: datetime, now: datetime, target_seconds: int
) -> Remaining:
    """Clock seconds from ``now`` to ``due`` (negative when overdue; whole seconds rounded
    half away from zero, :func:`whole_seconds`) and whether the clock runs at ``now``. Two bisects: cheap enough for every visible row every second."""
    seconds = policy.elapsed(priority, now, due)
    running = policy.is_running(priority, now)
    fraction = seconds / target_seconds if target_seconds else (1.0 if seconds > 0 else 0.0)
    return Remaining(seconds, running, fraction)

"""SLA timer cells: pure presentational helpers shared by the queue and the detail screen.

Everything is computed at paint time from stored deadlines and ``now`` (no database, no
clock reads): the time left on the deadline's own clock (business time for business-clock
priorities), coloured amber under 25% of its target left and red under 10%, ``overdue …``
once breached, and the wall-clock due time in the agent's zone. A stopped clock (outside
business hours, or waiting on the customer) is shown as paused, never as a frozen number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Protocol

from rich.style import Style
from rich.text import Text

from agent_console.sla import (
    FIRST_REPLY_TIME,
    PERIODIC_UPDATE,
    RESOLUTION_TIME,
    Policy,
    format_duration,
    metric_specs,
    remaining,
)
from agent_console.sla.zones import zone_abbrev

AMBER = 0.25
RED = 0.10

STYLE_OK = Style(color="green")
STYLE_AMBER = Style(color="yellow", bold=True)
STYLE_RED = Style(color="red", bold=True)
STYLE_OVERDUE = Style(color="bright_white", bgcolor="red", bold=True)
STYLE_PAUSED = Style(color="cyan", dim=True)
STYLE_DIM = Style(dim=True)

#: short labels of the metrics (the specs' ``short``: FR / UPD / RES)
LABELS = {spec.name: spec.short for spec in (FIRST_REPLY_TIME, PERIODIC_UPDATE, RESOLUTION_TIME)}


class TimerFacts(Protocol):
    """What a queue timer needs from a ticket (``QueueRow`` has these): the running
    deadline stored with it — the one the queue sorts by."""

    priority: str
    status: str
    paused_since: datetime | None
    #: the running deadline's metric ("" when nothing runs) and due instant (None then)
    sla_metric: str
    next_due: datetime | None


@dataclass(frozen=True)
class Deadline:
    """The deadline a timer shows."""

    which: str  # first_response / next_update / resolution
    due: datetime | None  # None: paused waiting on the customer (resolution)
    target_seconds: int

    @property
    def label(self) -> str:
        return LABELS[self.which]


def format_due(due: datetime, zone: tzinfo, now: datetime | None = None) -> str:
    """``Mon 11:12 ET`` (within the week ahead or behind), else ``2 Dec 11:12 ET``."""
    local = due.astimezone(zone)
    if now is not None and abs(due - now) >= timedelta(days=6):
        return f"{local.day} {local:%b %H:%M} {zone_abbrev(local)}"
    return f"{local:%a %H:%M} {zone_abbrev(local)}"


def format_clock(at: datetime, zone: tzinfo, now: datetime | None = None) -> str:
    """``09:00`` today, ``Mon 09:00`` within the week, ``2 Dec 09:00`` further away."""
    local = at.astimezone(zone)
    if now is not None:
        here = now.astimezone(zone)
        if local.date() == here.date():
            return f"{local:%H:%M}"
        if abs(at - now) >= timedelta(days=6):
            return f"{local.day} {local:%b %H:%M}"
    return f"{local:%a %H:%M}"


def pick_deadline(t: TimerFacts, policy: Policy) -> Deadline | None:
    """Which deadline a ticket's timer shows: its stored running deadline (``sla_metric``,
    ``next_due``) — the ticket clock's :meth:`~agent_console.sla.TicketClock.running`,
    which is also what the queue sorts by, so the queue never sorts by one deadline and
    draws another. Nothing runs while the ticket waits on the customer: the paused
    resolution. None for a finished ticket."""
    if t.status in ("resolved", "closed"):
        return None
    target = policy.target(t.priority)
    if t.sla_metric and t.next_due is not None:
        for spec in metric_specs(target):
            if spec.name == t.sla_metric:
                return Deadline(spec.name, t.next_due, spec.target(target))
    if t.paused_since is not None:
        return Deadline("resolution", None, target.resolution)
    return None


def timer_style(fraction: float, overdue: bool) -> Style:
    if overdue:
        return STYLE_OVERDUE
    if fraction < RED:
        return STYLE_RED
    if fraction < AMBER:
        return STYLE_AMBER
    return STYLE_OK


#: the widest a ``tight`` timer gets (cells): the queue's timer column at 80 columns
TIGHT_CELLS = 24


def deadline_text(
    policy: Policy,
    priority: str,
    due: datetime,
    target_seconds: int,
    now: datetime,
    zone: tzinfo,
    *,
    label: str | None = None,
    compact: bool = False,
    tight: bool = False,
) -> Text:
    """One running (or clock-stopped) deadline: ``47m 12s left · due Mon 11:12 ET``
    (``compact``: ``47m 12s · Mon 11:12`` for narrow columns; ``tight``, the queue on an
    80-column terminal, at most 24 cells: ``47m 12s · 11:12`` — an overdue or paused one
    shows only its amount, ``overdue 5h 24m`` / ``⏸ 4h 00m left``, as the due instant is
    past and the header says when the desk opens).

    Time left is on the priority's clock; when that clock is stopped now (a business
    clock outside business hours) the cell says paused and when the clock starts again
    (``opens Mon 09:00``: never a bare time that would read as the due instant).
    """
    r = remaining(policy, priority, due, now, target_seconds)
    seconds, running, overdue, fraction = r.seconds, r.running, r.overdue, r.fraction
    text = Text(no_wrap=True, overflow="ellipsis")
    if label:
        text.append(f"{label} ", STYLE_DIM)
    amount = format_duration(seconds)
    left = "" if compact and not tight else " left"
    if tight:
        if not running:
            text.append(
                f"⏸ overdue {amount}" if overdue else f"⏸ {amount} left",
                STYLE_RED if overdue else timer_style(fraction, False) + Style(dim=True),
            )
        elif overdue:
            text.append(f"overdue {amount}", timer_style(fraction, True))
        else:
            text.append(amount, timer_style(fraction, False))
            clock = f" · {format_clock(due, zone, now)}"
            if text.cell_len + len(clock) <= TIGHT_CELLS:  # else the amount alone, whole
                text.append(clock, STYLE_DIM)
        return text
    if running:
        if overdue:
            text.append(f"overdue {amount}", timer_style(fraction, True))
        else:
            text.append(f"{amount}{left}", timer_style(fraction, False))
        if compact:
            local = due.astimezone(zone)
            text.append(f" · {local:%a %H:%M}", STYLE_DIM)
        else:
            text.append(f" · due {format_due(due, zone, now)}", STYLE_DIM)
        return text
    opens = policy.next_open(now)
    if overdue:
        text.append(f"⏸ overdue {amount}", STYLE_RED)
    else:
        text.append(f"⏸ {amount}{left}", timer_style(fraction, False) + Style(dim=True))
    text.append(f" · opens {format_clock(opens, zone, now)}", STYLE_PAUSED)
    return text


def waiting_text(
    paused_since: datetime,
    zone: tzinfo,
    now: datetime,
    *,
    label: str | None = None,
    tight: bool = False,
) -> Text:
    """The resolution clock stopped while the ticket waits on the customer:
    ``⏸ waiting since Mon 09:12``; ``tight`` (the 80-column queue): the "since" part only
    when it fits whole in ``TIGHT_CELLS``, else ``RES ⏸ waiting``."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if label:
        text.append(f"{label} ", STYLE_DIM)
    text.append("⏸ waiting", STYLE_PAUSED)
    since = f" since {format_clock(paused_since, zone, now)}"
    if not tight or text.cell_len + len(since) <= TIGHT_CELLS:
        text.append(since, STYLE_DIM)
    return text


def ticket_timer(
    t: TimerFacts,
    policy: Policy,
    now: datetime,
    zone: tzinfo,
    *,
    compact: bool = False,
    tight: bool = False,
) -> Text:
    """The timer cell of a ticket row (the deadline :func:`pick_deadline` chooses)."""
    d = pick_deadline(t, policy)
    if d is None:
        return Text("—", STYLE_DIM)
    if d.due is None:
        return waiting_text(t.paused_since or now, zone, now, label=d.label, tight=tight)
    return deadline_text(
        policy,
        t.priority,
        d.due,
        d.target_seconds,
        now,
        zone,
        label=d.label,
        compact=compact,
        tight=tight,
    )

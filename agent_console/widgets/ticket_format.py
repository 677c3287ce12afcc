"""Formatting for the ticket detail view: literal text, times in the agent's zone, timers.

Customer text is data (DESIGN.md): it becomes a ``rich.text.Text`` built with ``append``
(never parsed as markup), and control characters — terminal escape sequences included —
are shown as visible escapes (``\\x1b[2J``) instead of reaching the terminal.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.text import Text

from agent_console.desk.ticket_view import TimerState
from agent_console.sla import format_duration

KEEP = {"\n", "\t"}


def visible(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with every control character made visible: ``\\x1b`` shows as the four
    characters ``\\x1b``; newlines (and tabs) stay when ``keep_newlines``."""
    out = []
    for ch in text:
        if ch.isprintable() or (keep_newlines and ch in KEEP):
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1] if ch != "\n" else "\\n")
    return "".join(out)


def literal(text: str, style: str = "", *, keep_newlines: bool = True) -> Text:
    """Customer (or any untrusted) text as a Text: no markup, no escapes obeyed."""
    out = Text(no_wrap=False, overflow="fold")
    out.append(visible(text, keep_newlines=keep_newlines), style=style)
    return out


def zone_named(name: str | None, fallback: str) -> tzinfo:
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def absolute(dt: datetime, zone: tzinfo) -> str:
    local = dt.astimezone(zone)
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


def short_due(dt: datetime, zone: tzinfo, now: datetime) -> str:
    """``14:30 EST`` today, ``Tue 14:30 EST`` within a week, else ``Tue 01 Dec 14:30``."""
    local = dt.astimezone(zone)
    here = now.astimezone(zone)
    if local.date() == here.date():
        return f"{local:%H:%M} {local.tzname()}"
    if abs((local.date() - here.date()).days) < 7:
        return f"{local:%a %H:%M} {local.tzname()}"
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


def relative(dt: datetime, now: datetime) -> str:
    """``just now``, ``5m ago``, ``3h ago``, ``2d ago`` (``in 5m`` for the future)."""
    seconds = int((now - dt).total_seconds())
    future = seconds < 0
    s = abs(seconds)
    if s < 60:
        return "just now"
    if s < 3600:
        amount = f"{s // 60}m"
    elif s < 86400:
        amount = f"{s // 3600}h"
    else:
        amount = f"{s // 86400}d"
    return f"in {amount}" if future else f"{amount} ago"


def when(dt: datetime, now: datetime, zone: tzinfo) -> str:
    return f"{relative(dt, now)} · {absolute(dt, zone)}"


# ---------------------------------------------------------------- timers
STATE_STYLE = {
    "met": "green",
    "breached": "bold red",
    "paused": "cyan",
    "idle": "dim",
}


def timer_text(timer: TimerState, zone: tzinfo, now: datetime) -> Text:
    """One SLA timer as the side panel shows it: the time left on its clock (amber under a
    quarter, red overdue), paused, or met / breached with when."""
    out = Text()
    if timer.state in ("met", "breached"):
        mark = "✓ met" if timer.state == "met" else "✗ breached"
        out.append(mark, style=STATE_STYLE[timer.state])
        if timer.done_at is not None:
            out.append(f"  {short_due(timer.done_at, zone, now)}", style="dim")
        if timer.due is not None:
            out.append(f"\ndue {short_due(timer.due, zone, now)}", style="dim")
        return out
    if timer.state == "paused":
        if timer.seconds is None:
            out.append("⏸ paused", style=STATE_STYLE["paused"])
            out.append(" (waiting on customer)", style="dim")
        else:
            out.append(f"⏸ {format_duration(timer.seconds)} left", style=STATE_STYLE["paused"])
            out.append("\npaused: waiting on customer", style="dim")
        return out
    if timer.state == "idle" or timer.seconds is None:
        reason = "after the first response" if timer.name == "next_update" else "—"
        out.append(reason, style="dim")
        return out
    if timer.seconds < 0:
        out.append(f"overdue {format_duration(timer.seconds)}", style="bold red")
    else:
        fraction = timer.fraction if timer.fraction is not None else 1.0
        style = "bold yellow" if fraction < 0.25 else "green"
        out.append(f"{format_duration(timer.seconds)} left", style=style)
    if not timer.running:
        out.append(" (clock stopped)", style="dim")
    if timer.due is not None:
        out.append(f"\ndue {short_due(timer.due, zone, now)}", style="dim")
    return out

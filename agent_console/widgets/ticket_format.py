"""Formatting for the ticket detail view: literal text, times in the agent's zone, timers.

Customer text is data (DESIGN.md): it becomes a ``rich.text.Text`` built with ``append``
(never parsed as markup), and control characters — terminal escape sequences included —
are shown as visible escapes (``\\x1b[2J``) instead of reaching the terminal: the one rule
of :func:`agent_console.safe_text.visible` (re-exported here for the widgets).
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.text import Text

from agent_console.safe_text import visible
from agent_console.sla import format_duration
from agent_console.views import TicketDetail, TimerState
from agent_console.widgets.sla_timer import deadline_text, format_due, waiting_text, zone_abbrev

__all__ = ["visible", "literal", "absolute", "relative", "when", "timer_text"]


def literal(text: str, style: str = "", *, keep_newlines: bool = True) -> Text:
    """Customer (or any untrusted) text as a Text: no markup, no escapes obeyed."""
    out = Text(no_wrap=False, overflow="fold")
    out.append(visible(text, keep_newlines=keep_newlines), style=style)
    return out


def absolute(dt: datetime, zone: tzinfo) -> str:
    local = dt.astimezone(zone)
    return f"{local:%a %d %b %H:%M} {zone_abbrev(local)}"


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


def timer_text(timer: TimerState, detail: TicketDetail, zone: tzinfo, now: datetime) -> Text:
    """One SLA timer as the side panel shows it. Running deadlines use the queue's timer
    cells (:func:`agent_console.widgets.sla_timer.deadline_text`: time left on the clock,
    amber / red, overdue, stopped out of hours); the detail view adds met / breached with
    when, and the time left while waiting on the customer."""
    out = Text()
    if timer.state in ("met", "breached"):
        mark = "✓ met" if timer.state == "met" else "✗ breached"
        out.append(mark, style=STATE_STYLE[timer.state])
        if timer.done_at is not None:
            out.append(f" {format_due(timer.done_at, zone, now)}", style="dim")
        if timer.due is not None:
            out.append(f"\ndue {format_due(timer.due, zone, now)}", style="dim")
        return out
    if timer.state == "paused":
        if timer.name == "resolution" and detail.paused_since is not None:
            out.append_text(waiting_text(detail.paused_since, zone, now))
            if timer.seconds is not None:
                left = format_duration(timer.seconds)
                what = f"overdue {left}" if timer.seconds < 0 else f"{left} left"
                out.append(f"\n{what} when it resumes", style="dim")
        else:
            out.append("⏸ paused (waiting on customer)", style=STATE_STYLE["paused"])
            if timer.seconds is not None:  # a pausable update cadence: what is left
                left = format_duration(timer.seconds)
                what = f"overdue {left}" if timer.seconds < 0 else f"{left} left"
                out.append(f"\n{what} when it resumes", style="dim")
        return out
    if timer.state == "idle" or timer.due is None:
        if timer.name == "next_update" and detail.is_open:
            out.append("starts with the first public reply", style="dim")
        else:
            out.append("—", style="dim")
        return out
    return deadline_text(detail.policy, detail.priority, timer.due, timer.target_seconds, now, zone)

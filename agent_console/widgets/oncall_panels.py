"""The on-call screen's panels: the big countdown of the most urgent ticket, who is on call,
and the open alerts. Views only: they receive plain data (desk rows, instants) and format
it against a ``now`` the screen gives them; nothing here reads the clock or the database.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Digits, Static

from agent_console.sla import Policy
from agent_console.views import AlertRow, OncallSlot, OncallState, QueueRow
from agent_console.widgets.console_header import business_state_text
from agent_console.widgets.sla_timer import (
    AMBER,
    LABELS,
    STYLE_DIM,
    format_clock,
    format_due,
    pick_deadline,
    timer_style,
    zone_abbrev,
)
from agent_console.widgets.styles import priority_style
from agent_console.widgets.ticket_format import visible

METRIC_NAMES = {
    "first_response": "first reply",
    "status_update": "next update",
    "next_update": "next update",
    "resolution": "resolution",
}


def one_line(text: str | None) -> str:
    """Outside text (names, subjects) for one line: the one rule, nothing obeyed."""
    return visible(text or "", keep_newlines=False)


def countdown(seconds: int) -> str:
    """The big countdown's characters: ``1:23:45`` (hours unbounded), ``-0:05:12`` once
    overdue (``seconds`` < 0). Only characters Textual's ``Digits`` draws."""
    sign = "-" if seconds < 0 else ""
    s = abs(int(seconds))
    return f"{sign}{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class UrgentCountdown(Vertical):
    """The most urgent ticket: a line naming it and its deadline, the time left in large
    digits (``Digits``: readable from across a desk), its subject."""

    DEFAULT_CSS = """
    UrgentCountdown {
        height: auto;
    }
    UrgentCountdown #urgent-title, UrgentCountdown #urgent-subject {
        height: 1;
    }
    UrgentCountdown Digits {
        width: auto;
    }
    """

    def __init__(
        self, policy_for: Callable[[str | None], Policy], zone: tzinfo, **kw: object
    ) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.policy_for = policy_for
        self.zone = zone
        self.row: QueueRow | None = None
        self._shown: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="urgent-title", markup=False)
        yield Digits("", id="urgent-digits")
        yield Static(id="urgent-subject", markup=False)

    def set_row(self, row: QueueRow | None, now: datetime) -> None:
        self.row = row
        self._shown = None
        self.tick(now)

    def tick(self, now: datetime) -> None:
        """Reformat from ``now`` (the screen's 1 Hz tick; no I/O). Repaints only on change."""
        if not self.is_mounted:
            return
        title, digits, subject, style = self._texts(now)
        key = (title.plain + subject.plain, digits)
        if key == self._shown:
            return
        self._shown = key
        self.query_one("#urgent-title", Static).update(title)
        d = self.query_one("#urgent-digits", Digits)
        d.update(digits)
        d.set_class(style == "overdue", "-overdue")
        d.set_class(style == "warn", "-warn")
        d.set_class(style == "paused", "-paused")
        self.query_one("#urgent-subject", Static).update(subject)

    def _texts(self, now: datetime) -> tuple[Text, str, Text, str]:
        row = self.row
        if row is None:
            return (
                Text(
                    "Nothing to watch: no open critical ticket, no deadline after hours.", STYLE_DIM
                ),
                "",
                Text(""),
                "",
            )
        policy = self.policy_for(row.policy)
        d = pick_deadline(row, policy)
        title = Text(no_wrap=True, overflow="ellipsis")
        if self.size.width >= 60:
            title.append("Most urgent  ", Style(bold=True))
            title.append(row.key, Style(bold=True))
            title.append(f" {row.priority}", priority_style(row.priority))
        else:
            title.append(row.key, priority_style(row.priority) + Style(bold=True))
        subject = Text(one_line(row.subject), no_wrap=True, overflow="ellipsis")
        if d is None or d.due is None:
            title.append(" · waiting on the customer", STYLE_DIM)
            return title, "", subject, "paused"
        seconds = policy.elapsed(row.priority, now, d.due)
        running = policy.is_running(row.priority, now)
        label = METRIC_NAMES.get(d.which, LABELS.get(d.which, d.which))
        verb = "overdue since" if seconds < 0 else "due"
        if self.size.width < 60:
            label, verb = LABELS.get(d.which, label), ("overdue" if seconds < 0 else "due")
        title.append(f" · {label} {verb} {format_due(d.due, self.zone, now)}")
        if not running:
            title.append(
                f" · clock stopped until {format_clock(policy.next_open(now), self.zone, now)}",
                STYLE_DIM,
            )
            style = "paused"
        elif seconds < 0:
            style = "overdue"
        else:
            fraction = seconds / d.target_seconds if d.target_seconds else 1.0
            style = "warn" if fraction < AMBER else ""
        return title, countdown(seconds), subject, style


def _slot_text(slot: OncallSlot, zone: tzinfo, now: datetime, *, narrow: bool) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{slot.level.capitalize():<10}", Style(bold=True))
    if not slot.handle:
        text.append("nobody", Style(color="red", bold=True))
        return text
    text.append(one_line(slot.handle), Style(bold=True, color="cyan"))
    if slot.name and not narrow:
        text.append(f" {one_line(slot.name)}")
    if slot.until is not None:
        until = slot.until.astimezone(zone)
        text.append(
            f" · until {format_clock(slot.until, zone, now)} {zone_abbrev(until)}", STYLE_DIM
        )
    if slot.source == "override" and not narrow:
        text.append(" (override)", STYLE_DIM)
    return text


def oncall_text(
    state: OncallState,
    policy: Policy,
    maintenance: tuple[datetime, datetime] | None,
    now: datetime,
    zone: tzinfo,
    *,
    rehearsal: bool = False,
    width: int = 80,
) -> Text:
    """Who is on call (primary, secondary, leads) and until when, business hours (open or
    closed, when they next open) and the next maintenance window — one line each; below
    48 columns (``width``) without the agents' full names."""
    narrow = width < 48
    lines = [
        _slot_text(state.primary, zone, now, narrow=narrow),
        _slot_text(state.secondary, zone, now, narrow=narrow),
    ]
    leads = Text(no_wrap=True, overflow="ellipsis")
    leads.append(f"{'Leads':<10}", Style(bold=True))
    leads.append(
        ", ".join(one_line(h) for h in state.leads) or "none",
        STYLE_DIM if not state.leads else Style(),
    )
    lines.append(leads)
    hours = Text(no_wrap=True, overflow="ellipsis")
    hours.append(f"{'Hours':<10}", Style(bold=True))
    hours.append_text(business_state_text(policy, now, zone))
    lines.append(hours)
    maint = Text(no_wrap=True, overflow="ellipsis")
    maint.append(f"{'Maint.':<10}", Style(bold=True))
    if maintenance is None:
        maint.append("none in the next 31 days", STYLE_DIM)
    else:
        start, end = maintenance
        e = end.astimezone(zone)
        span = f"{format_clock(start, zone, now)}–{e:%H:%M} {zone_abbrev(e)}"
        if start <= now:
            maint.append(f"in progress {span}", Style(color="yellow", bold=True))
        else:
            maint.append(span)
    lines.append(maint)
    if rehearsal:
        note = "Rehearsal (--at)" if narrow else "Rehearsal clock (--at): nothing is sent outside"
        lines.append(Text(note, Style(color="magenta")))
    out = Text("\n", no_wrap=True, overflow="ellipsis").join(lines)
    out.no_wrap, out.overflow = True, "ellipsis"
    return out


def alert_cells(a: AlertRow, zone: tzinfo, now: datetime) -> tuple[Text, ...]:
    """One alert row: state (``●`` open / ``✓ by`` acknowledged), ticket key, what crossed,
    due, level (``—`` for a non-critical alert: no on-call level), subject."""
    if a.acknowledged_at is None:
        state = Text("● new", Style(color="red", bold=True))
    else:
        state = Text(f"✓ {one_line(a.acknowledged_by or '')}".rstrip(), STYLE_DIM)
    level = a.level_name or "—"  # the one rule (views.AlertRow.level_name), as `oncall show`
    what = Text(
        a.what, timer_style(0.0, a.threshold.startswith("1") or a.what.endswith("breached"))
    )
    if a.acknowledged_at is not None:
        what.stylize(STYLE_DIM)
    return (
        state,
        Text(a.key, Style(bold=True)),
        Text(a.priority, priority_style(a.priority)),
        what,
        Text(format_due(a.due_at, zone, now), STYLE_DIM),
        Text(level, STYLE_DIM),
        Text(one_line(a.subject), no_wrap=True, overflow="ellipsis"),
    )

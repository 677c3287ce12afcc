"""The header every screen shows: who is working, the desk's business-hours state, and a
maintenance banner when a window is active or starts within the hour.

It is a view: screens give it plain data (:meth:`ConsoleHeader.set_agent`,
:meth:`ConsoleHeader.set_policy`) and call :meth:`ConsoleHeader.update_state` from their
1 Hz tick. Nothing here reads the clock or the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from agent_console.safe_text import one_line
from agent_console.sla import Policy
from agent_console.widgets.sla_timer import format_clock, zone_abbrev

MAINTENANCE_LOOKAHEAD = timedelta(hours=1)


def business_state_text(policy: Policy, now: datetime, zone: tzinfo) -> Text:
    """``● open until 18:00 ET`` / ``○ closed until Mon 09:00 ET`` / ``holiday: …``."""
    state = policy.business_state(now)
    at = format_clock(state.changes_at, zone, now)
    abbrev = zone_abbrev(state.changes_at.astimezone(zone))
    text = Text(no_wrap=True)
    if state.open:
        text.append("● open", Style(color="green", bold=True))
        text.append(f" until {at} {abbrev}")
        return text
    if state.holiday:
        text.append(f"✱ holiday: {state.holiday}", Style(color="magenta", bold=True))
        text.append(f" · closed until {at} {abbrev}")
        return text
    text.append("○ closed", Style(color="yellow", bold=True))
    text.append(f" until {at} {abbrev}")
    return text


def maintenance_text(policy: Policy, now: datetime, zone: tzinfo) -> Text | None:
    """The banner, or None when no window is active or starts within the hour."""
    window = policy.active_or_next_maintenance(now, MAINTENANCE_LOOKAHEAD)
    if window is None:
        return None
    start, end = window
    s, e = start.astimezone(zone), end.astimezone(zone)
    span = f"{s:%H:%M}–{e:%H:%M} {zone_abbrev(e)}"
    if start <= now:
        left = int((end - now).total_seconds()) // 60
        return Text(
            f"⚠ Maintenance window in progress ({span}): ends in {left // 60}h {left % 60:02d}m",
            no_wrap=True,
        )
    mins = max(1, -(-int((start - now).total_seconds()) // 60))
    return Text(f"⚠ Maintenance window starts in {mins} min ({span})", no_wrap=True)


class HeaderLine(Widget):
    """One line of text, repainted without a layout pass (it changes every second)."""

    DEFAULT_CSS = """
    HeaderLine {
        height: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.text = Text()

    def set_text(self, text: Text) -> None:
        self.text = text
        self.refresh()

    def render(self) -> Text:
        return self.text


class ConsoleHeader(Vertical):
    """Agent, tier (``DEMO`` for the demo agent), business hours, maintenance banner."""

    DEFAULT_CSS = """
    ConsoleHeader {
        height: auto;
        dock: top;
        background: $panel;
    }
    ConsoleHeader #header-line {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    ConsoleHeader #header-banner {
        height: 1;
        padding: 0 1;
        background: $warning 40%;
        color: $text;
        text-style: bold;
        display: none;
    }
    ConsoleHeader #header-banner.-shown {
        display: block;
    }
    """

    def __init__(self, title: str = "", *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.title = one_line(title)
        self.handle = ""
        self.agent_name = ""
        self.tier: int | None = None
        self.lead = False
        self.demo = False
        self.policy: Policy | None = None
        self.zone: tzinfo | None = None
        self._now: datetime | None = None
        self._last: tuple[Any, ...] | None = None

    def compose(self) -> ComposeResult:
        yield HeaderLine(id="header-line")
        yield Static(id="header-banner", markup=False)

    # ---------------------------------------------------------------- data in
    def set_agent(
        self, handle: str, name: str, tier: int, *, lead: bool = False, demo: bool = False
    ) -> None:
        # outside text (an agent's own display name): the one rule, no escape obeyed
        self.handle, self.agent_name, self.tier, self.lead, self.demo = (
            one_line(handle),
            one_line(name),
            tier,
            lead,
            demo,
        )
        self._last = None
        if self._now is not None:
            self.update_state(self._now)

    def set_policy(self, policy: Policy, zone: tzinfo | None = None) -> None:
        """The policy whose business hours and maintenance the header shows, and the
        display zone (default: the policy's)."""
        self.policy = policy
        self.zone = zone or policy.tz
        self._last = None

    # ---------------------------------------------------------------- the tick
    def line_text(self, now: datetime, width: int | None = None) -> Text:
        """The header line; on a narrow terminal (``width``) the least useful parts go
        first — the product name, the agent's full name, the date — so that who you are,
        whether the desk is open and the time stay visible."""
        full = self._line(now, compact=False)
        if width is None or full.cell_len <= width:
            return full
        return self._line(now, compact=True)

    def _line(self, now: datetime, *, compact: bool) -> Text:
        zone = self.zone or (self.policy.tz if self.policy else None)
        sep = " │ " if compact else "  │  "
        text = Text(no_wrap=True, overflow="ellipsis")
        if compact:
            text.append(self.title or "Agent Console", Style(bold=True))
        else:
            text.append("Agent Console", Style(bold=True))
            if self.title:
                text.append(f" · {self.title}")
        text.append(sep)
        if self.handle:
            text.append(self.handle, Style(bold=True, color="cyan"))
            if not compact:
                text.append(f" {self.agent_name}")
            if self.tier is not None:
                text.append(f" T{self.tier}" if compact else f" · tier {self.tier}")
            if self.lead:
                text.append(" · lead")
            if self.demo:
                text.append(" ")
                text.append(" DEMO ", Style(color="black", bgcolor="yellow", bold=True))
        else:
            text.append("…", Style(dim=True))
        if self.policy is not None and zone is not None:
            text.append(sep)
            text.append_text(business_state_text(self.policy, now, zone))
            local = now.astimezone(zone)
            text.append(sep)
            clock = f"{local:%H:%M:%S}" if compact else f"{local:%a %d %b %H:%M:%S}"
            text.append(f"{clock} {zone_abbrev(local)}", Style(dim=True))
        return text

    def on_resize(self) -> None:
        if self._now is not None:
            self._last = None
            self.update_state(self._now)

    def update_state(self, now: datetime) -> None:
        """Refresh from ``now`` (call from the screen's 1 Hz tick; no I/O)."""
        self._now = now
        if not self.is_mounted:
            return
        line = self.line_text(now, self.size.width or None)
        banner = None
        if self.policy is not None:
            banner = maintenance_text(self.policy, now, self.zone or self.policy.tz)
        key = (line.plain, banner.plain if banner else None)
        if key == self._last:
            return
        self._last = key
        self.query_one("#header-line", HeaderLine).set_text(line)
        b = self.query_one("#header-banner", Static)
        if banner is not None:
            b.update(banner)
        b.set_class(banner is not None, "-shown")

    def on_mount(self) -> None:
        if self._now is not None:
            self.update_state(self._now)

"""The header every screen shows: who is working, the desk's business-hours state, one
shared notice, and a maintenance banner when a window is active or starts within the hour.

It is a view: screens give it plain data (:meth:`ConsoleHeader.set_agent`,
:meth:`ConsoleHeader.set_policy`) and call :meth:`ConsoleHeader.update_state` from their
1 Hz tick. Nothing here reads the clock or the database.

The notice slot is shared by every screen (DESIGN.md): the app keeps one
:class:`HeaderNotices` (``app.header_notices``, filled by its alert worker) and every
header shows the one that wins — an outage notice over the rehearsal mark (``--at``), over
the count of critical tickets breaching soon, over mail failures (:meth:`HeaderNotices.winner`).
"""

from __future__ import annotations

from dataclasses import dataclass
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
from agent_console.widgets.ticket_format import visible

MAINTENANCE_LOOKAHEAD = timedelta(hours=1)


@dataclass
class HeaderNotices:
    """What wants the shared notice slot (plain data the app updates from its workers).

    ``outage``: a one-line reason the database cannot be reached (None: it can);
    ``rehearsal``: the console runs on a ``--at`` clock; ``breaching``: open critical
    tickets whose running deadline falls within the hour (overdue included);
    ``mail_failures``: outgoing mail given up on (the outbox's failed mail rows)."""

    outage: str | None = None
    rehearsal: bool = False
    breaching: int = 0
    mail_failures: int = 0

    def winner(self, *, compact: bool = False, tight: bool = False) -> Text | None:
        """The one notice the header shows (or None): outage > rehearsal > breaching >
        mail failures. ``compact``: the short form for narrow terminals; the outage keeps
        its whole text (when the next try is, the last sync: issue 11) unless ``tight``."""
        if self.outage:
            text = "⚠ offline" if tight else f"⚠ {visible(self.outage, keep_newlines=False)}"
            return Text(f" {text} ", Style(color="bright_white", bgcolor="red", bold=True))
        if self.rehearsal:
            text = "REHEARSAL" if compact else "REHEARSAL (--at): nothing is sent"
            return Text(f" {text} ", Style(color="black", bgcolor="magenta", bold=True))
        if self.breaching:
            n = self.breaching
            text = f"▲{n} crit <1h" if compact else f"▲ {n} critical breaching within 1h"
            return Text(f" {text} ", Style(color="bright_white", bgcolor="dark_red", bold=True))
        if self.mail_failures:
            n = self.mail_failures
            # the key of the Mail screen, where they are retried or dismissed (app.py)
            text = f"✉{n} failed·5" if compact else (
                f"✉ {n} mail{'s' if n != 1 else ''} not sent · 5 Mail"
            )
            return Text(f" {text} ", Style(color="black", bgcolor="yellow", bold=True))
        return None


def business_state_text(
    policy: Policy, now: datetime, zone: tzinfo, *, short: bool = False
) -> Text:
    """``● open until 18:00 ET`` / ``○ closed until Mon 09:00 ET`` / ``holiday: …``
    (``short``: ``○ closed→Mon 09:00``, for the tightest header)."""
    state = policy.business_state(now)
    at = format_clock(state.changes_at, zone, now)
    abbrev = zone_abbrev(state.changes_at.astimezone(zone))
    text = Text(no_wrap=True)
    if short:
        if state.open:
            text.append("● open", Style(color="green", bold=True))
        elif state.holiday:
            text.append("✱ holiday", Style(color="magenta", bold=True))
        else:
            text.append("○ closed", Style(color="yellow", bold=True))
        text.append(f"→{at}")
        return text
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
        #: the app's shared notices (set on mount from ``app.header_notices``, or by a test)
        self.notices: HeaderNotices | None = None

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
        first — the product name, the agent's full name, the date, then the screen's name
        and the zone of the clock — so that the shared notice, who you are, whether the
        desk is open and the time stay visible (80 columns hold them all)."""
        text = self._line(now, level=0)
        # the notice keeps its words (an outage's reason) as long as anything else can give way
        for level, long_notice in ((1, True), (1, False), (2, False)):
            if width is None or text.cell_len <= width:
                break
            text = self._line(now, level=level, long_notice=long_notice)
        return text

    def _line(self, now: datetime, *, level: int, long_notice: bool | None = None) -> Text:
        """``level`` 0 full, 1 compact, 2 tight (no screen name, short hours, bare clock);
        ``long_notice``: the shared notice in its long form (default: at level 0 only)."""
        compact = level >= 1
        if long_notice is None:
            long_notice = not compact
        zone = self.zone or (self.policy.tz if self.policy else None)
        sep = " │ " if compact else "  │  "
        text = Text(no_wrap=True, overflow="ellipsis")
        parts = 0
        if level == 1:
            text.append(self.title or "Agent Console", Style(bold=True))
            parts += 1
        elif level == 0:
            text.append("Agent Console", Style(bold=True))
            if self.title:
                text.append(f" · {self.title}")
            parts += 1
        notice = (
            self.notices.winner(compact=not long_notice, tight=level >= 2)
            if self.notices is not None
            else None
        )
        if notice is not None:
            if parts:
                text.append(sep)
            text.append_text(notice)
            parts += 1
        if parts:
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
            text.append_text(business_state_text(self.policy, now, zone, short=level >= 2))
            local = now.astimezone(zone)
            text.append(sep)
            if level >= 2:
                text.append(f"{local:%H:%M:%S}", Style(dim=True))
            else:
                clock = f"{local:%H:%M:%S}" if compact else f"{local:%a %d %b %H:%M:%S}"
                text.append(f"{clock} {zone_abbrev(local)}", Style(dim=True))
        return text

    def on_resize(self) -> None:
        if self._now is not None:
            self._last = None
            self.update_state(self._now)

    def refresh_notices(self, now: datetime) -> None:
        """The shared notices changed: repaint the line now (not at the next tick)."""
        self._last = None
        self.update_state(now)

    def update_state(self, now: datetime) -> None:
        """Refresh from ``now`` (call from the screen's 1 Hz tick; no I/O)."""
        self._now = now
        if not self.is_mounted:
            return
        # the line's own padding (one cell each side) is not room for text
        line = self.line_text(now, max(self.size.width - 2, 1) if self.size.width else None)
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
        if self.notices is None:
            shared = getattr(self.app, "header_notices", None)
            if isinstance(shared, HeaderNotices):
                self.notices = shared
        if self._now is not None:
            self.update_state(self._now)

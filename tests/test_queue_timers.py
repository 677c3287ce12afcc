"""SLA timer cells and the console header's texts: pure functions of deadlines and now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_console.sla import load_default_policy
from agent_console.widgets.console_header import business_state_text, maintenance_text
from agent_console.widgets.sla_timer import (
    STYLE_AMBER,
    STYLE_OK,
    STYLE_OVERDUE,
    STYLE_RED,
    deadline_text,
    format_due,
    pick_deadline,
    ticket_timer,
)

POLICY = load_default_policy()
ET = ZoneInfo("America/New_York")
MON_9 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # Monday 09:00 ET: the desk opens


@dataclass(frozen=True)
class Facts:
    priority: str = "urgent"
    status: str = "open"
    paused_since: datetime | None = None
    sla_metric: str = ""
    next_due: datetime | None = None


def styles_of(text) -> set:  # type: ignore[no-untyped-def]
    return {span.style for span in text.spans}


def test_under_an_hour_shows_seconds_and_due_in_agent_zone() -> None:
    due = MON_9 + timedelta(minutes=47, seconds=12)
    t = deadline_text(POLICY, "critical", due, 7200, MON_9, ET)
    assert t.plain == "47m 12s left · due Mon 09:47 ET"


def test_above_an_hour_shows_hours_and_minutes() -> None:
    due = MON_9 + timedelta(hours=3, minutes=12, seconds=40)
    t = deadline_text(POLICY, "critical", due, 8 * 3600, MON_9, ET, label="RES")
    assert t.plain == "RES 3h 12m left · due Mon 12:12 ET"
    assert STYLE_OK in styles_of(t)


@pytest.mark.parametrize(
    ("left", "style"),
    [(0.5, STYLE_OK), (0.24, STYLE_AMBER), (0.11, STYLE_AMBER), (0.09, STYLE_RED)],
)
def test_colour_by_fraction_left(left: float, style) -> None:  # type: ignore[no-untyped-def]
    target = 8 * 3600
    due = MON_9 + timedelta(seconds=int(target * left))
    assert style in styles_of(deadline_text(POLICY, "critical", due, target, MON_9, ET))


def test_overdue_says_by_how_much() -> None:
    due = MON_9 - timedelta(hours=3, minutes=12)
    t = deadline_text(POLICY, "critical", due, 7200, MON_9, ET)
    assert t.plain == "overdue 3h 12m · due Mon 05:48 ET"
    assert STYLE_OVERDUE in styles_of(t)


def test_business_clock_counts_business_time_and_shows_due_wall_clock() -> None:
    # urgent = business clock; at 17:00 ET Monday a deadline 2 business hours away falls
    # Tuesday 10:00 ET: 2h left, due Tue 10:00
    now = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    due = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    t = deadline_text(POLICY, "urgent", due, 4 * 3600, now, ET)
    assert t.plain == "2h 00m left · due Tue 10:00 ET"


def test_closed_desk_shows_paused_with_opening_not_a_live_number() -> None:
    now = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # Mon 18:30 ET, closed
    due = datetime(2026, 11, 24, 17, 10, tzinfo=UTC)  # Tue 12:10 ET = 3h10m business left
    t = deadline_text(POLICY, "urgent", due, 4 * 3600, now, ET)
    assert t.plain == "⏸ 3h 10m left · opens Tue 09:00"
    later = deadline_text(POLICY, "urgent", due, 4 * 3600, now + timedelta(minutes=5), ET)
    assert later.plain == t.plain  # stopped clock: the same text, marked paused


def test_waiting_on_customer_is_paused() -> None:
    facts = Facts(paused_since=MON_9 - timedelta(hours=2), status="pending")
    d = pick_deadline(facts, POLICY)
    assert d is not None and d.which == "resolution" and d.due is None
    assert ticket_timer(facts, POLICY, MON_9, ET).plain == "RES ⏸ waiting since 07:00"


def test_the_timer_draws_the_stored_running_deadline() -> None:
    """The queue sorts by the running deadline (next_due, sla_metric); the timer draws
    exactly that one, whatever else the ticket has (issue 9, failure 1)."""
    fr = Facts(sla_metric="first_response", next_due=MON_9 + timedelta(hours=1))
    d = pick_deadline(fr, POLICY)
    assert d is not None and (d.which, d.due, d.label) == ("first_response", fr.next_due, "FR")
    res = Facts(sla_metric="resolution", next_due=MON_9 + timedelta(hours=2))
    d = pick_deadline(res, POLICY)
    assert d is not None and d.which == "resolution" and d.target_seconds == 45 * 3600
    upd = Facts(sla_metric="next_update", next_due=MON_9 + timedelta(hours=2), status="pending")
    assert pick_deadline(upd, POLICY).label == "UPD"  # type: ignore[union-attr]
    assert pick_deadline(Facts(status="resolved"), POLICY) is None
    assert ticket_timer(Facts(status="closed"), POLICY, MON_9, ET).plain == "—"


def test_due_far_away_shows_the_date() -> None:
    due = datetime(2026, 12, 2, 16, 12, tzinfo=UTC)
    assert format_due(due, ET, MON_9) == "2 Dec 11:12 ET"
    assert format_due(due, ZoneInfo("Europe/Berlin"), MON_9) == "2 Dec 17:12 CET"


@given(st.integers(min_value=-10 * 86400, max_value=10 * 86400))
def test_timer_text_is_one_line_and_never_empty(offset: int) -> None:
    due = MON_9 + timedelta(seconds=offset)
    for prio in ("critical", "urgent", "minor"):
        t = deadline_text(POLICY, prio, due, 3600, MON_9 + timedelta(hours=9), ET)
        assert t.plain and "\n" not in t.plain
        assert ("overdue" in t.plain) == (POLICY.elapsed(prio, MON_9 + timedelta(hours=9), due) < 0)


# ---------------------------------------------------------------- header texts
def test_business_state_texts() -> None:
    assert business_state_text(POLICY, MON_9, ET).plain == "● open until 18:00 ET"
    closed = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    assert business_state_text(POLICY, closed, ET).plain == "○ closed until Tue 09:00 ET"
    thanksgiving = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    assert (
        business_state_text(POLICY, thanksgiving, ET).plain
        == "✱ holiday: Thanksgiving Day · closed until Fri 09:00 ET"
    )
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    assert business_state_text(POLICY, saturday, ET).plain == "○ closed until Mon 09:00 ET"


def test_maintenance_banner_within_the_hour_and_during() -> None:
    assert maintenance_text(POLICY, MON_9, ET) is None
    before = datetime(2026, 11, 27, 4, 30, tzinfo=UTC)  # Thu 23:30 ET
    banner = maintenance_text(POLICY, before, ET)
    assert (
        banner is not None and "starts in 30 min" in banner.plain and "00:00–05:00" in banner.plain
    )
    during = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    banner = maintenance_text(POLICY, during, ET)
    assert banner is not None and "in progress" in banner.plain and "ends in 4h 00m" in banner.plain


def test_compact_timer_for_narrow_columns() -> None:
    due = MON_9 + timedelta(hours=1, minutes=40)
    t = deadline_text(POLICY, "critical", due, 7200, MON_9, ET, label="FR", compact=True)
    assert t.plain == "FR 1h 40m · Mon 10:40"
    closed = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    later = datetime(2026, 11, 24, 17, 10, tzinfo=UTC)
    assert deadline_text(POLICY, "urgent", later, 4 * 3600, closed, ET, compact=True).plain == (
        "⏸ 3h 10m · opens Tue 09:00"
    )

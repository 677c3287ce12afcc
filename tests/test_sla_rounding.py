"""Whole seconds round half away from zero (0.5 s → 1 s, -0.5 s → -1 s) everywhere in the
SLA engine: one helper, ``durations.whole_seconds``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent_console.sla import (
    compute_deadlines,
    format_duration,
    load_default_policy,
    remaining,
    resolution_left,
    whole_seconds,
)
from agent_console.sla.durations import format_hm
from tests.sla_helpers import H, ny

P = load_default_policy()
HALF = timedelta(milliseconds=500)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, 0),
        (7, 7),
        (-7, -7),
        (0.5, 1),
        (-0.5, -1),
        (1.5, 2),
        (2.5, 3),  # half to even would say 2
        (-2.5, -3),
        (0.49999999999999994, 0),  # the largest double below 0.5: x + 0.5 would be 1.0
        (-0.49999999999999994, 0),
        (0.999999, 1),
        (1e-06, 0),
        (-1e-06, 0),
        (14399.5, 14400),
        (-86400.5, -86401),
    ],
)
def test_whole_seconds(value: float, expected: int) -> None:
    assert whole_seconds(value) == expected
    assert type(whole_seconds(value)) is int


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_whole_seconds_is_half_away_from_zero(x: float) -> None:
    assert whole_seconds(x) == int(Decimal(x).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_elapsed_on_both_clocks() -> None:
    t = ny(2026, 11, 24, 10)  # Tuesday, open
    for prio in ("critical", "urgent"):  # 24/7 and business
        assert P.elapsed(prio, t, t + HALF) == 1
        assert P.elapsed(prio, t + HALF, t) == -1
        assert P.elapsed(prio, t, t + 5 * HALF) == 3  # 2.5 s
        assert P.elapsed(prio, t + 5 * HALF, t) == -3
        assert P.elapsed(prio, t, t + timedelta(milliseconds=499)) == 0
    assert P.calendar.elapsed(t, t + HALF) == 1
    assert P.calendar.elapsed(t + HALF, t) == -1
    # half a second before closing to Wednesday's opening: 0.5 business seconds
    close = ny(2026, 11, 24, 18)
    assert P.elapsed("urgent", close - HALF, ny(2026, 11, 25, 9)) == 1


def test_remaining_time_left_and_overdue() -> None:
    now = ny(2026, 11, 24, 10)
    left = remaining(P, "critical", now + HALF, now, 2 * H)
    assert left.seconds == 1 and not left.overdue
    late = remaining(P, "urgent", now - HALF, now, 4 * H)
    assert late.seconds == -1 and late.overdue
    assert remaining(P, "urgent", now + 5 * HALF, now, 4 * H).seconds == 3


def test_time_left_at_a_pause() -> None:
    opened = ny(2026, 11, 24, 10)
    # paused 7h59m59.5s into the 8-hour critical resolution: 0.5 s left → 1 s
    since = opened + timedelta(hours=8) - HALF
    assert resolution_left(P, "critical", opened, paused_since=since) == 1
    d = compute_deadlines(P, "critical", opened, paused_since=since)
    assert d.resolution_left == 1
    # overdue by half a second → -1
    since = opened + timedelta(hours=8) + HALF
    assert resolution_left(P, "critical", opened, paused_since=since) == -1
    assert compute_deadlines(P, "critical", opened, paused_since=since).resolution_left == -1
    # on the business clock: 2.5 s left → 3
    since = P.add("urgent", opened, 45 * H - 2.5)
    assert resolution_left(P, "urgent", opened, paused_since=since) == 3


def test_formatting_rounds_the_same_way() -> None:
    assert format_duration(0.5) == "0m 01s"
    assert format_duration(-0.5) == "0m 01s"
    assert format_duration(59.5) == "1m 00s"
    assert format_duration(0.4) == "0m 00s"
    assert format_hm(0.5) == "0m01s"
    assert format_hm(-0.5) == "-0m01s"


def test_explanation_counts_whole_seconds_half_up() -> None:
    from agent_console.sla import explain

    opened = datetime(2026, 11, 24, 15, 0, 1, 500000, tzinfo=UTC)  # 10:00:01.5 EST
    result = explain(P, "urgent", opened, now=opened)
    (resolution,) = [d for d in result.sections if d.label == "Resolution"]
    counted = [line for line in resolution.lines if line.kind == "counted"]
    assert counted
    # the first counted interval, to 18:00, is 7h59m58.5s: 28799 s (half to even: 28798)
    assert counted[0].seconds == 8 * H - 1

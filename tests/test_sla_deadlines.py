"""Deadlines, pauses, remaining time and explanations on the default policy."""

from __future__ import annotations

from datetime import UTC

import pytest

from agent_console.sla import (
    Deadlines,
    Remaining,
    compute_deadlines,
    explain,
    load_default_policy,
    remaining,
    resolution_left,
)
from tests.sla_helpers import H, ny, utc

P = load_default_policy()
MON = (2026, 11, 23)


def test_urgent_deadlines_across_thanksgiving() -> None:
    d = compute_deadlines(P, "urgent", ny(*MON, 10))
    assert d == Deadlines(
        first_response_due=ny(*MON, 14),
        next_update_due=None,  # the update cadence starts with the first public reply
        resolution_due=ny(2026, 12, 1, 10),
    )
    assert d.first_response_due.tzinfo is UTC


def test_critical_is_calendar_time() -> None:
    sat = ny(2026, 11, 28, 22, 30)
    d = compute_deadlines(P, "1", sat)
    assert d.first_response_due == ny(2026, 11, 29, 0, 30)
    assert d.next_update_due is None
    assert d.resolution_due == ny(2026, 11, 29, 6, 30)
    answered = compute_deadlines(P, "1", sat, first_response_at=ny(2026, 11, 28, 23))
    assert answered.next_update_due == ny(2026, 11, 29, 0)


def test_minor_deadlines() -> None:
    d = compute_deadlines(P, "minor", ny(2026, 11, 27, 17))
    assert d.first_response_due == ny(2026, 11, 30, 16)
    assert d.resolution_due == ny(2026, 12, 4, 17)


def test_next_update_follows_first_response_then_last_update() -> None:
    opened = ny(*MON, 10)
    d = compute_deadlines(P, "urgent", opened, first_response_at=ny(*MON, 11))
    assert d.next_update_due == ny(2026, 11, 24, 11)
    d = compute_deadlines(
        P,
        "urgent",
        opened,
        first_response_at=ny(*MON, 11),
        last_public_update_at=ny(2026, 11, 25, 17),
    )
    assert d.next_update_due == ny(2026, 11, 27, 17)  # Thursday is Thanksgiving
    assert d.first_response_due == ny(*MON, 14)  # the first-response target does not move


def test_pauses_stop_the_resolution_clock() -> None:
    opened = ny(*MON, 10)
    base = compute_deadlines(P, "urgent", opened).resolution_due
    # two business hours of waiting move the deadline two business hours
    d = compute_deadlines(P, "urgent", opened, pauses=[(ny(*MON, 11), ny(*MON, 13))])
    assert d.resolution_due == ny(2026, 12, 1, 12)
    # a pause outside business hours changes nothing
    d = compute_deadlines(P, "urgent", opened, pauses=[(ny(*MON, 19), ny(2026, 11, 24, 8))])
    assert d.resolution_due == base
    # overlapping and duplicate pauses are merged: 11:00-14:00 = 3h
    d = compute_deadlines(
        P,
        "urgent",
        opened,
        pauses=[
            (ny(*MON, 11), ny(*MON, 13)),
            (ny(*MON, 12), ny(*MON, 14)),
            (ny(*MON, 11), ny(*MON, 12)),
        ],
    )
    assert d.resolution_due == ny(2026, 12, 1, 13)
    # a pause before the opening counts only from the opening
    d = compute_deadlines(P, "urgent", opened, pauses=[(ny(*MON, 8), ny(*MON, 11))])
    assert d.resolution_due == ny(2026, 12, 1, 11)
    # first response and next update are not paused
    assert d.first_response_due == ny(*MON, 14)


def test_pause_starting_exactly_at_the_deadline_or_after() -> None:
    opened = ny(2026, 11, 27, 9)  # Friday
    due = compute_deadlines(P, "urgent", opened).resolution_due
    d = compute_deadlines(P, "urgent", opened, pauses=[(due, ny(2026, 12, 31, 12))])
    assert d.resolution_due == due
    d = compute_deadlines(P, "urgent", opened, pauses=[(ny(2027, 1, 5, 9), ny(2027, 1, 6, 9))])
    assert d.resolution_due == due


def test_critical_pause_is_calendar_time() -> None:
    opened = ny(*MON, 10)
    d = compute_deadlines(P, "critical", opened, pauses=[(ny(*MON, 11), ny(*MON, 23))])
    assert d.resolution_due == ny(2026, 11, 24, 6)


def test_paused_since_and_resolution_left() -> None:
    opened = ny(*MON, 10)
    pauses = [(ny(*MON, 11), ny(*MON, 13))]
    d = compute_deadlines(P, "urgent", opened, pauses=pauses, paused_since=ny(2026, 11, 24, 12))
    assert d.resolution_due is None
    # used: Mon 10-11 + 13-18 (6h) + Tue 9-12 (3h) = 9h → 36h left
    assert d.resolution_left == 36 * H
    assert resolution_left(P, "urgent", opened, pauses, ny(2026, 11, 24, 12)) == 36 * H
    # resuming: the same time left from the resume instant
    resume = ny(2026, 11, 30, 9)
    d2 = compute_deadlines(P, "urgent", opened, pauses=[*pauses, (ny(2026, 11, 24, 12), resume)])
    assert P.elapsed("urgent", resume, d2.resolution_due) == 36 * H
    # overdue when paused → negative
    assert resolution_left(P, "critical", opened, (), ny(*MON, 20)) == -2 * H


def test_bad_pauses() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        compute_deadlines(P, "urgent", ny(*MON, 10), pauses=[(ny(*MON, 12), ny(*MON, 11))])
    with pytest.raises(ValueError, match="naive"):
        compute_deadlines(P, "urgent", ny(*MON, 10).replace(tzinfo=None))


def test_remaining() -> None:
    due = ny(*MON, 14)
    r = remaining(P, "urgent", due, ny(*MON, 10), 4 * H)
    assert r == Remaining(4 * H, True, 1.0)
    # after hours: the clock is stopped, the time left does not shrink
    wed_due = ny(2026, 11, 27, 10)
    r1 = remaining(P, "urgent", wed_due, ny(2026, 11, 25, 19), 4 * H)
    r2 = remaining(P, "urgent", wed_due, ny(2026, 11, 26, 12), 4 * H)
    assert r1 == r2 == Remaining(1 * H, False, 0.25)
    # overdue: negative, on the clock
    r = remaining(P, "urgent", due, ny(2026, 11, 24, 10), 4 * H)
    assert r.seconds == -5 * H and r.overdue and r.running
    assert r.fraction == pytest.approx(-1.25)
    # critical runs at the weekend
    r = remaining(P, "critical", ny(2026, 11, 29, 0), ny(2026, 11, 28, 23), 2 * H)
    assert r == Remaining(H, True, 0.5)


def test_explain_lines() -> None:
    e = explain(P, "urgent", ny(2026, 11, 25, 15), now=ny(2026, 11, 26, 12))
    lines = e.lines()
    text = "\n".join(lines)
    assert lines[0] == "Policy default (America/New_York), priority urgent (level 2)"
    assert (
        "First response: 4h00m on the business clock from opening Wed 25 Nov 2026 15:00 EST" in text
    )
    assert "due Fri 27 Nov 2026 10:00 EST (1h 00m left, clock stopped now)" in text
    assert "  Wed 25 Nov 15:00–18:00 EST counted 3h00m" in lines
    assert "  Thu 26 Nov skipped: holiday (Thanksgiving Day)" in lines
    assert "  Fri 27 Nov 09:00–18:00 EST counted 9h00m" in lines
    assert "  Sat 28 Nov skipped: weekend" in lines
    assert [s.label for s in e.sections] == ["First response", "Next update", "Resolution"]
    res = e.sections[2]
    assert sum(line.seconds or 0 for line in res.lines if line.kind == "counted") == 45 * H


def test_explain_pauses_and_paused_since() -> None:
    opened = ny(*MON, 10)
    e = explain(
        P,
        "urgent",
        opened,
        pauses=[(ny(*MON, 11), ny(*MON, 13))],
        paused_since=ny(2026, 11, 24, 12),
    )
    res = e.sections[2]
    assert res.due is None
    texts = [line.text for line in res.lines]
    assert any(
        t.startswith("paused Mon 23 Nov 2026 11:00 EST → Mon 23 Nov 2026 13:00 EST: 2h00m")
        for t in texts
    )
    assert any("36h00m left when it resumes" in t for t in texts)
    assert sum(line.seconds or 0 for line in res.lines if line.kind == "counted") == 9 * H
    crit = explain(P, "critical", opened).sections[0]
    assert crit.lines[0].text.endswith("counted 2h00m (24/7)")
    assert utc(2026, 11, 23, 17) == crit.due

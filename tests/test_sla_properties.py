"""Properties over random instants across several years, and cross-checks against
independent implementations (tests/sla_naive.py and the businesstimedelta package)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_console.sla import compute_deadlines, load_default_policy
from tests.sla_helpers import H, policy_with_hours
from tests.sla_naive import NaiveCalendar

P = load_default_policy()
#: lunch break, a Saturday morning, a Sunday night shift across the DST hour, 24:00 ends
ODD = policy_with_hours(
    {
        "mon": [["08:00", "12:00"], ["13:00", "17:30"]],
        "tue": ["09:00", "24:00"],
        "wed": ["00:00", "18:00"],
        "thu": [["07:15", "11:45"], ["12:00", "12:30"], ["20:00", "24:00"]],
        "fri": ["09:00", "18:00"],
        "sat": ["10:00", "14:00"],
        "sun": ["00:00", "05:00"],
    },
    holidays=["2026-11-26", "2026-12-25", "2027-07-05", "2025-03-10"],
)
POLICIES = {"default": P, "odd": ODD}

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2031, 1, 1, tzinfo=UTC)
SPAN = int((END - START).total_seconds())

instants = st.integers(0, SPAN).map(lambda s: START + timedelta(seconds=s))
amounts = st.integers(0, 600 * H)
which = st.sampled_from(sorted(POLICIES))


@settings(max_examples=400, deadline=None)
@given(which, instants, amounts)
def test_elapsed_inverts_add(name: str, t: datetime, d: int) -> None:
    p = POLICIES[name]
    due = p.add("urgent", t, d)
    assert due >= t
    assert p.elapsed("urgent", t, due) == d
    if d > 0:
        # the earliest such instant: a second earlier is not enough, and it lies in an
        # open interval or is its closing instant
        assert p.elapsed("urgent", t, due - timedelta(seconds=1)) == d - 1
        assert p.is_open(due - timedelta(seconds=1))


@settings(max_examples=300, deadline=None)
@given(which, instants, amounts)
def test_subtract_inverts_add(name: str, t: datetime, d: int) -> None:
    p = POLICIES[name]
    back = p.add("urgent", t, -d)
    assert back <= t
    assert p.elapsed("urgent", back, t) == d


@settings(max_examples=300, deadline=None)
@given(which, instants, instants, amounts, amounts)
def test_monotone(name: str, t1: datetime, t2: datetime, d1: int, d2: int) -> None:
    p = POLICIES[name]
    t1, t2 = sorted((t1, t2))
    d1, d2 = sorted((d1, d2))
    assert p.add("urgent", t1, d1) <= p.add("urgent", t2, d1)
    assert p.add("urgent", t1, d1) <= p.add("urgent", t1, d2)
    e12 = p.elapsed("urgent", t1, t2)
    assert e12 >= 0
    assert p.elapsed("urgent", t2, t1) == -e12
    assert e12 <= (t2 - t1).total_seconds()


@settings(max_examples=200, deadline=None)
@given(which, instants, instants, instants)
def test_elapsed_is_additive(name: str, a: datetime, b: datetime, c: datetime) -> None:
    p = POLICIES[name]
    assert p.elapsed("urgent", a, b) + p.elapsed("urgent", b, c) == p.elapsed("urgent", a, c)


@settings(max_examples=200, deadline=None)
@given(which, instants, st.integers(1, 400 * H))
def test_remaining_counts_down_only_while_running(name: str, now: datetime, d: int) -> None:
    p = POLICIES[name]
    due = p.add("urgent", now, d)
    later = now + timedelta(seconds=60)
    a = p.elapsed("urgent", now, due)
    b = p.elapsed("urgent", later, due)
    running_whole_minute = p.elapsed("urgent", now, later) == 60
    assert a - b == p.elapsed("urgent", now, later)
    if not p.is_running("urgent", now) and not p.is_open(later):
        assert a - b <= 60
    if running_whole_minute:
        assert a - b == 60


def _random_minute(rng: random.Random, first: datetime, days: int) -> datetime:
    return first + timedelta(minutes=rng.randrange(days * 1440))


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_against_naive_minute_walk(name: str) -> None:
    p = POLICIES[name]
    naive = NaiveCalendar.from_policy(p)
    rng = random.Random(1234)
    # around both 2026 DST changes, Thanksgiving and a few random weeks
    firsts = [
        datetime(2026, 3, 5, tzinfo=UTC),
        datetime(2026, 10, 29, tzinfo=UTC),
        datetime(2026, 11, 21, tzinfo=UTC),
        datetime(2025, 3, 6, tzinfo=UTC),
        datetime(2027, 6, 28, tzinfo=UTC),
    ]
    for i in range(500):
        t = _random_minute(rng, firsts[i % len(firsts)], 6)
        d = rng.randrange(0, 10 * 60 + 1) * 60
        assert p.add("urgent", t, d) == naive.add_minutes(t, d), (t, d)
    for i in range(60):
        a = _random_minute(rng, firsts[i % len(firsts)], 5)
        b = a + timedelta(minutes=rng.randrange(4 * 1440))
        assert p.elapsed("urgent", a, b) == naive.elapsed_minutes(a, b), (a, b)
        assert p.is_open(a) == naive.is_open(a)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_against_naive_day_walk(name: str) -> None:
    p = POLICIES[name]
    naive = NaiveCalendar.from_policy(p)
    rng = random.Random(99)
    for _ in range(3000):
        t = START + timedelta(seconds=rng.randrange(SPAN - 200 * 86400))
        d = rng.choice(
            [rng.randrange(1, 10 * H), rng.randrange(1, 100 * H), rng.randrange(450 * H)]
        )
        assert p.add("urgent", t, d) == naive.add_days(t, d), (t, d)


def _btd_default():
    businesstimedelta = pytest.importorskip("businesstimedelta")
    pytz = pytest.importorskip("pytz")
    tz = pytz.timezone("America/New_York")
    workday = businesstimedelta.WorkDayRule(
        start_time=time(9), end_time=time(18), working_days=[0, 1, 2, 3, 4], tz=tz
    )
    holidays = businesstimedelta.HolidayRule(set(P.calendar.holidays), tz=tz)
    return businesstimedelta, businesstimedelta.Rules([workday, holidays])


def test_against_businesstimedelta() -> None:
    btd, rules = _btd_default()
    rng = random.Random(7)
    first = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(3000):
        t = first + timedelta(seconds=rng.randrange(3 * 365 * 86400))
        if i % 5 == 0:  # openings exactly on the hour (at opening, at closing, ...)
            t = t.replace(minute=0, second=0)
        d = rng.choice([4 * H, 9 * H, 45 * H, rng.randrange(1, 60 * H)])
        expected = t + btd.BusinessTimeDelta(rules, seconds=d)
        assert P.add("urgent", t, d) == expected, (t, d)
    for _ in range(20):
        t = first + timedelta(seconds=rng.randrange(2 * 365 * 86400))
        expected = t + btd.BusinessTimeDelta(rules, seconds=450 * H)
        assert P.add("minor", t, 450 * H) == expected


def test_deadlines_of_many_tickets_are_consistent() -> None:
    rng = random.Random(5)
    for _ in range(500):
        opened = START + timedelta(seconds=rng.randrange(SPAN - 100 * 86400))
        prio = rng.choice(["critical", "urgent", "minor"])
        target = P.target(prio)
        pauses = []
        for _ in range(rng.randrange(3)):
            s = opened + timedelta(seconds=rng.randrange(10 * 86400))
            pauses.append((s, s + timedelta(seconds=rng.randrange(3 * 86400))))
        d = compute_deadlines(P, prio, opened, pauses=pauses, first_response_at=opened)
        assert P.elapsed(prio, opened, d.first_response_due) == target.first_response
        assert d.next_update_due is not None

        def merged_until(
            end: datetime, pauses: list = pauses, opened: datetime = opened
        ) -> list[list[datetime]]:
            merged: list[list[datetime]] = []
            for s, e in sorted(pauses):
                s = max(s, opened)
                e = min(e, end)
                if e <= s:
                    continue
                if merged and s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            return merged

        # the update cadence: the default policy pauses it like the resolution
        # (status_update_pauses = true), so the same count holds for both
        upd_paused = 0
        if target.status_update_pauses:
            upd_paused = sum(P.elapsed(prio, s, e) for s, e in merged_until(d.next_update_due))
        assert P.elapsed(prio, opened, d.next_update_due) - upd_paused == target.status_update
        # time counted on the clock, minus the clock time inside (merged) pauses
        counted = P.elapsed(prio, opened, d.resolution_due)
        merged = merged_until(d.resolution_due)
        paused = sum(P.elapsed(prio, s, e) for s, e in merged)
        assert counted - paused == target.resolution
        # and it is the earliest such instant: one second earlier is not enough
        before = d.resolution_due - timedelta(seconds=1)
        paused_before = sum(P.elapsed(prio, s, min(e, before)) for s, e in merged if s < before)
        assert P.elapsed(prio, opened, before) - paused_before < target.resolution

"""The supported range of instants: 1900-01-01 to 2199-12-31 (UTC), computed exactly, and
one clear error (never a traceback, never a silent clamp) outside it."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_console.sla import compute_deadlines, load_default_policy, load_policy_named, remaining
from agent_console.sla.range import (
    SUPPORTED_END,
    SUPPORTED_FIRST,
    OutOfRange,
    check_supported,
)
from tests.sla_helpers import H, policy_with_hours
from tests.sla_naive import NaiveCalendar

P = load_default_policy()
ODD = policy_with_hours(
    {
        "mon": [["08:00", "12:00"], ["13:00", "17:30"]],
        "tue": ["09:00", "24:00"],
        "wed": ["00:00", "18:00"],
        "thu": [["07:15", "11:45"], ["12:00", "12:30"], ["20:00", "24:00"]],
        "sat": ["10:00", "14:00"],
        "sun": ["00:00", "05:00"],
    },
    holidays=["1900-01-02", "2199-12-30", "1970-01-01"],
)
ENT = load_policy_named("enterprise-plus")  # holiday_country = "US": the package's holidays
POLICIES = {"default": P, "odd": ODD, "enterprise-plus": ENT}
LAST = SUPPORTED_END - timedelta(microseconds=1)


def _minute(rng: random.Random, first: datetime, days: int) -> datetime:
    return first + timedelta(minutes=rng.randrange(days * 1440))


@pytest.mark.parametrize("name", sorted(POLICIES))
@pytest.mark.parametrize(
    ("first", "years"),
    [
        (SUPPORTED_FIRST, range(1899, 1901)),  # the first week of the range
        (datetime(2199, 12, 24, tzinfo=UTC), range(2199, 2201)),  # the last week
        (datetime(1969, 12, 28, tzinfo=UTC), range(1969, 1972)),  # around the old clamp
    ],
)
def test_edges_agree_with_the_naive_minute_walk(name: str, first: datetime, years: range) -> None:
    p = POLICIES[name]
    naive = NaiveCalendar.from_policy(p, years=years)
    rng = random.Random(f"{name}{first}")
    for _ in range(150):
        t = _minute(rng, first, 7)
        d = rng.randrange(0, 12 * 60 + 1) * 60
        assert p.add("urgent", t, d) == naive.add_minutes(t, d), (t, d)
    for _ in range(30):
        a = _minute(rng, first, 7)
        b = a + timedelta(minutes=rng.randrange(3 * 1440))
        assert p.elapsed("urgent", a, b) == naive.elapsed_minutes(a, b), (a, b)
        assert p.is_open(a) == naive.is_open(a), a


def test_edges_agree_with_businesstimedelta() -> None:
    btd = pytest.importorskip("businesstimedelta")
    pytz = pytest.importorskip("pytz")
    tz = pytz.timezone("America/New_York")
    rules = btd.Rules(
        [
            btd.WorkDayRule(
                start_time=time(9), end_time=time(18), working_days=[0, 1, 2, 3, 4], tz=tz
            ),
            # businesstimedelta needs a holiday within five years ahead: add Sundays
            # (closed anyway) after each window
            btd.HolidayRule(set(P.calendar.holidays) | {date(2200, 2, 2)}, tz=tz),
        ]
    )
    rng = random.Random(2199)
    # only the last weeks: businesstimedelta attaches pytz zones with tzinfo=, which reads
    # 1900 in New York's local mean time (-4:56), four minutes off; 1900 is checked
    # against the two naive walks above and below
    for first in (datetime(2199, 12, 6, tzinfo=UTC), datetime(2199, 12, 20, tzinfo=UTC)):
        for _ in range(200):
            t = first + timedelta(seconds=rng.randrange(11 * 86400))
            d = rng.choice([4 * H, 9 * H, 45 * H, rng.randrange(1, 60 * H)])
            assert P.add("urgent", t, d) == t + btd.BusinessTimeDelta(rules, seconds=d), (t, d)


def test_first_and_last_supported_instants() -> None:
    # 1900-01-01T00:00Z is Sunday 19:00 EST: Monday 09:00-13:00 EST is 14:00-18:00Z
    d = compute_deadlines(P, "urgent", SUPPORTED_FIRST)
    assert d.first_response_due == datetime(1900, 1, 1, 18, tzinfo=UTC)
    assert d.resolution_due == datetime(1900, 1, 5, 23, tzinfo=UTC)  # 5 business days
    assert compute_deadlines(P, "critical", SUPPORTED_FIRST).resolution_due == datetime(
        1900, 1, 1, 8, tzinfo=UTC
    )
    # the last instant: its deadlines fall in 2200, and can be fed back (time left)
    d = compute_deadlines(P, "urgent", LAST)
    assert d.first_response_due == datetime(2200, 1, 1, 18, tzinfo=UTC)
    assert P.elapsed("urgent", LAST, d.resolution_due) == 45 * H
    left = remaining(P, "urgent", d.first_response_due, LAST, 4 * H)
    assert left.seconds == 4 * H
    crit = compute_deadlines(P, "critical", LAST)
    assert crit.resolution_due == LAST + timedelta(hours=8)
    # business time before the first instant still counts (no clamp at the range edge)
    assert P.add("urgent", datetime(1900, 1, 1, 15, tzinfo=UTC), -2 * H) == datetime(
        1899, 12, 29, 22, tzinfo=UTC
    )


def test_1970_is_not_a_year_late() -> None:
    """The calendar used to clamp years before 1971 to 1971-01-01."""
    opened = datetime(1970, 1, 1, tzinfo=UTC)  # Wednesday 19:00 EST, 31 Dec 1969
    d = compute_deadlines(P, "urgent", opened)
    assert d.first_response_due == datetime(1970, 1, 1, 18, tzinfo=UTC)
    assert d.resolution_due == datetime(1970, 1, 7, 23, tzinfo=UTC)
    assert P.elapsed("urgent", datetime(1969, 6, 2, 13, tzinfo=UTC), opened) > 0
    week = P.elapsed("urgent", datetime(1969, 12, 29, tzinfo=UTC), datetime(1970, 1, 5, tzinfo=UTC))
    assert week == 45 * H
    assert not P.is_open(datetime(1969, 12, 27, 15, tzinfo=UTC))  # a Saturday
    assert P.next_open(datetime(1969, 12, 27, 15, tzinfo=UTC)) == datetime(
        1969, 12, 29, 14, tzinfo=UTC
    )


def test_check_supported_bounds() -> None:
    assert check_supported(SUPPORTED_FIRST, "opened") is SUPPORTED_FIRST
    assert check_supported(LAST, "opened") is LAST
    for bad in (SUPPORTED_FIRST - timedelta(microseconds=1), SUPPORTED_END):
        with pytest.raises(OutOfRange, match=r"^opened .* is outside the supported range"):
            check_supported(bad, "opened")


FAR = [
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(1899, 12, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2200, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, tzinfo=UTC),
]


@pytest.mark.parametrize("far", FAR, ids=lambda d: d.isoformat())
@pytest.mark.parametrize("priority", ["critical", "urgent"])
def test_outside_the_range_is_one_error_naming_the_field(far: datetime, priority: str) -> None:
    ok = datetime(2026, 11, 23, 15, tzinfo=UTC)
    cases = {
        "opened": lambda: compute_deadlines(P, priority, far),
        "last update": lambda: compute_deadlines(P, priority, ok, last_public_update_at=far),
        "pause start": lambda: compute_deadlines(P, priority, ok, pauses=[(far, far)]),
        "paused_since": lambda: compute_deadlines(P, priority, ok, paused_since=far),
    }
    for field, call in cases.items():
        with pytest.raises(OutOfRange) as info:
            call()
        message = str(info.value)
        assert message.startswith(f"{field} {far.isoformat()} is outside the supported range")
        assert "\n" not in message


@pytest.mark.parametrize(
    "far",
    [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, tzinfo=UTC)],
    ids=["year1", "year9999"],
)
def test_the_engine_refuses_absurd_instants_without_overflow(far: datetime) -> None:
    """Below the entry points, the engine's own window answers OutOfRange too (it used
    to raise OverflowError or clamp)."""
    for call in (
        lambda: P.add("urgent", far, H),
        lambda: P.add("critical", far, H),
        lambda: P.add("urgent", far, -H),
        lambda: P.elapsed("urgent", far, datetime(2026, 1, 1, tzinfo=UTC)),
        lambda: P.is_open(far),
        lambda: P.next_open(far),
        lambda: P.next_close(far),
        lambda: P.business_state(far),
    ):
        with pytest.raises(OutOfRange, match="outside the supported range"):
            call()


supported = st.integers(0, int((SUPPORTED_END - SUPPORTED_FIRST).total_seconds()) - 1).map(
    lambda s: SUPPORTED_FIRST + timedelta(seconds=s)
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["default", "odd"]), supported, st.integers(0, 100 * H))
def test_anywhere_in_the_range_agrees_with_the_day_walk(name: str, t: datetime, d: int) -> None:
    p = POLICIES[name]
    # these two policies list their holidays explicitly: the walk needs no year range
    naive = NaiveCalendar(
        p.timezone,
        {i: list(spans) for i, spans in enumerate(p.calendar.weekly)},
        set(p.calendar.holidays),
    )
    due = p.add("urgent", t, d)
    if d:
        assert due == naive.add_days(t, d), (t, d)
    assert p.elapsed("urgent", t, due) == d

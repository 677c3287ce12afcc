"""Business time on the default policy: hours, weekends, holidays, DST, closing rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent_console.sla import BusinessState, load_default_policy
from tests.sla_helpers import H, ny, policy_with_hours, utc

P = load_default_policy()


@pytest.mark.parametrize(
    ("opened", "seconds", "due"),
    [
        # Mon 23 Nov 2026, inside hours
        (ny(2026, 11, 23, 10), 4 * H, ny(2026, 11, 23, 14)),
        # exactly at opening
        (ny(2026, 11, 23, 9), 4 * H, ny(2026, 11, 23, 13)),
        # before hours
        (ny(2026, 11, 23, 7, 30), 4 * H, ny(2026, 11, 23, 13)),
        # after hours
        (ny(2026, 11, 23, 20), 4 * H, ny(2026, 11, 24, 13)),
        # exactly at closing: nothing left today
        (ny(2026, 11, 23, 18), 4 * H, ny(2026, 11, 24, 13)),
        # day before Thanksgiving: Thursday 26 Nov is skipped
        (ny(2026, 11, 25, 15), 4 * H, ny(2026, 11, 27, 10)),
        # opened on the holiday itself
        (ny(2026, 11, 26, 11), 4 * H, ny(2026, 11, 27, 13)),
        # Friday: reached exactly at closing = Friday 18:00, not Monday 09:00
        (ny(2026, 11, 27, 14), 4 * H, ny(2026, 11, 27, 18)),
        (ny(2026, 11, 27, 9), 9 * H, ny(2026, 11, 27, 18)),
        # one second more goes to Monday
        (ny(2026, 11, 27, 14), 4 * H + 1, ny(2026, 11, 30, 9, 0, 1)),
        # Friday at closing and the weekend
        (ny(2026, 11, 27, 18), 4 * H, ny(2026, 11, 30, 13)),
        (ny(2026, 11, 28, 12), 4 * H, ny(2026, 11, 30, 13)),
        (ny(2026, 11, 29, 23, 59, 59), 8 * H, ny(2026, 11, 30, 17)),
        # 45 business hours from Monday 10:00 across Thanksgiving
        (ny(2026, 11, 23, 10), 45 * H, ny(2026, 12, 1, 10)),
        # across DST: spring forward (Sun 8 Mar 2026) and fall back (Sun 1 Nov 2026)
        (ny(2026, 3, 6, 15), 9 * H, ny(2026, 3, 9, 15)),
        (ny(2026, 10, 30, 15), 9 * H, ny(2026, 11, 2, 15)),
        # across New Year: Dec 31 open, Jan 1 holiday, weekend
        (ny(2026, 12, 31, 14), 9 * H, ny(2027, 1, 4, 14)),
        # Christmas 2027 observed on Fri 24 Dec, New Year observed Fri 31 Dec
        (ny(2027, 12, 23, 17), 2 * H, ny(2027, 12, 27, 10)),
        (ny(2027, 12, 30, 17), 2 * H, ny(2028, 1, 3, 10)),
        # seconds are kept
        (ny(2026, 11, 23, 17, 59, 30), 60, ny(2026, 11, 24, 9, 0, 30)),
    ],
)
def test_add_business(opened: datetime, seconds: int, due: datetime) -> None:
    got = P.add("urgent", opened, seconds)
    assert got == due
    assert got.tzinfo is UTC
    assert P.elapsed("urgent", opened, got) == seconds


def test_dst_offsets_in_utc() -> None:
    # Fri 6 Mar 15:00 EST = 20:00Z; Mon 9 Mar 15:00 EDT = 19:00Z
    assert P.add("urgent", utc(2026, 3, 6, 20), 9 * H) == utc(2026, 3, 9, 19)
    # Fri 30 Oct 15:00 EDT = 19:00Z; Mon 2 Nov 15:00 EST = 20:00Z
    assert P.add("urgent", utc(2026, 10, 30, 19), 9 * H) == utc(2026, 11, 2, 20)
    # the critical (calendar) clock is plain elapsed time through the change
    assert P.add("critical", ny(2026, 3, 8, 1), 2 * H) == ny(2026, 3, 8, 4)
    assert P.elapsed("critical", ny(2026, 11, 1, 0), ny(2026, 11, 2, 0)) == 25 * H
    assert P.elapsed("critical", ny(2026, 3, 8, 0), ny(2026, 3, 9, 0)) == 23 * H


def test_dst_days_on_a_round_the_clock_business_calendar() -> None:
    p = policy_with_hours(
        {d: ["00:00", "24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    )
    assert p.elapsed("urgent", ny(2026, 3, 8), ny(2026, 3, 9)) == 23 * H
    assert p.elapsed("urgent", ny(2026, 11, 1), ny(2026, 11, 2)) == 25 * H
    assert p.elapsed("urgent", ny(2026, 3, 7), ny(2026, 3, 14)) == 7 * 24 * H - H
    assert p.add("urgent", ny(2026, 11, 1), 25 * H) == ny(2026, 11, 2)
    assert p.is_open(ny(2026, 3, 8, 3))
    # intervals merge across midnight and across years
    assert p.next_close(ny(2026, 12, 30, 12)) > ny(2029, 1, 1)


def test_dst_with_hours_inside_the_changing_hour() -> None:
    p = policy_with_hours({"sun": ["01:00", "04:00"]})
    # spring forward: 02:00-03:00 does not exist → 2 real hours
    assert p.elapsed("urgent", ny(2026, 3, 8), ny(2026, 3, 9)) == 2 * H
    # fall back: 01:00-02:00 happens twice → 4 real hours
    assert p.elapsed("urgent", ny(2026, 11, 1), ny(2026, 11, 2)) == 4 * H
    # a wall time in the gap maps to the change instant
    q = policy_with_hours({"sun": ["02:30", "05:00"]})
    assert q.open_intervals(ny(2026, 3, 8), ny(2026, 3, 9)) == [
        (utc(2026, 3, 8, 7), utc(2026, 3, 8, 9))
    ]


def test_multi_interval_day_closing_rule() -> None:
    p = policy_with_hours({"mon": [["09:00", "12:00"], ["13:00", "18:00"]]})
    mon = (2026, 11, 23)
    assert p.add("urgent", ny(*mon, 10), 4 * H) == ny(*mon, 15)
    assert p.add("urgent", ny(*mon, 11), 1 * H) == ny(*mon, 12)  # lunch closing instant
    assert p.add("urgent", ny(*mon, 12, 30), 1 * H) == ny(*mon, 14)
    assert p.elapsed("urgent", ny(*mon, 0), ny(*mon, 23)) == 8 * H
    assert not p.is_open(ny(*mon, 12, 15))
    assert p.next_open(ny(*mon, 12, 15)) == ny(*mon, 13)
    assert p.next_close(ny(*mon, 12, 15)) == ny(*mon, 18)
    assert p.add("urgent", ny(*mon, 17), 2 * H) == ny(2026, 11, 30, 10)


def test_add_zero_negative_and_elapsed_antisymmetry() -> None:
    t = ny(2026, 11, 28, 12)  # Saturday
    assert P.add("urgent", t, 0) == t
    assert P.add("urgent", ny(2026, 11, 30, 13), -4 * H) == ny(2026, 11, 30, 9)
    assert P.add("urgent", ny(2026, 11, 30, 9), -1) == ny(2026, 11, 27, 17, 59, 59)
    assert P.add("urgent", ny(2026, 11, 30, 10), -2 * H) == ny(2026, 11, 27, 17)
    a, b = ny(2026, 11, 20, 11), ny(2026, 12, 2, 16)
    assert P.elapsed("urgent", a, b) == -P.elapsed("urgent", b, a) == (7 + 9 * 6 + 7) * H


def test_long_targets_and_far_years() -> None:
    start = ny(2026, 11, 23, 10)
    far = P.add("minor", start, 9000 * H)  # 1000 business days, several years on
    assert P.elapsed("minor", start, far) == 9000 * H
    assert P.add("minor", ny(2045, 6, 1, 10), 9 * H) == ny(2045, 6, 2, 10)
    assert P.add("minor", ny(1999, 12, 31, 17), 2 * H) == ny(
        2000, 1, 3, 10
    )  # no 1999 holidays listed
    assert P.elapsed("minor", ny(1999, 12, 31, 17), ny(2045, 6, 1, 10)) > 0


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="naive"):
        P.add("urgent", datetime(2026, 11, 23, 10), H)
    with pytest.raises(ValueError, match="naive"):
        P.elapsed("urgent", datetime(2026, 11, 23, 10), ny(2026, 11, 23, 11))
    with pytest.raises(ValueError, match="naive"):
        P.is_open(datetime(2026, 11, 23, 10))


def test_is_open_and_running() -> None:
    assert P.is_open(ny(2026, 11, 23, 9))
    assert P.is_open(ny(2026, 11, 23, 17, 59, 59))
    assert not P.is_open(ny(2026, 11, 23, 18))
    assert not P.is_open(ny(2026, 11, 23, 8, 59, 59))
    assert not P.is_open(ny(2026, 11, 26, 12))  # Thanksgiving
    assert not P.is_open(ny(2026, 11, 28, 12))  # Saturday
    assert not P.is_running("urgent", ny(2026, 11, 28, 12))
    assert P.is_running("critical", ny(2026, 11, 28, 12))


def test_next_open_close_and_state() -> None:
    wed_eve = ny(2026, 11, 25, 19)
    assert P.next_open(wed_eve) == ny(2026, 11, 27, 9)
    assert P.next_close(wed_eve) == ny(2026, 11, 27, 18)
    inside = ny(2026, 11, 23, 10)
    assert P.next_open(inside) == inside
    assert P.next_close(inside) == ny(2026, 11, 23, 18)
    assert P.business_state(ny(2026, 11, 26, 12)) == BusinessState(
        open=False, holiday="Thanksgiving Day", changes_at=ny(2026, 11, 27, 9)
    )
    assert P.business_state(inside) == BusinessState(True, None, ny(2026, 11, 23, 18))
    assert P.business_state(ny(2026, 11, 28)).changes_at == ny(2026, 11, 30, 9)


def test_open_intervals() -> None:
    got = P.open_intervals(ny(2026, 11, 23, 12), ny(2026, 11, 30, 10))
    assert got == [
        (ny(2026, 11, 23, 12), ny(2026, 11, 23, 18)),
        (ny(2026, 11, 24, 9), ny(2026, 11, 24, 18)),
        (ny(2026, 11, 25, 9), ny(2026, 11, 25, 18)),
        (ny(2026, 11, 27, 9), ny(2026, 11, 27, 18)),
        (ny(2026, 11, 30, 9), ny(2026, 11, 30, 10)),
    ]
    assert all(s.tzinfo is UTC for s, _ in got)
    assert P.open_intervals(ny(2026, 11, 28), ny(2026, 11, 29)) == []


def test_maintenance_windows() -> None:
    windows = P.maintenance_windows(ny(2026, 11, 23), ny(2026, 12, 1))
    assert windows == [
        (ny(2026, 11, 23, 0), ny(2026, 11, 23, 5)),
        (ny(2026, 11, 27, 0), ny(2026, 11, 27, 5)),
        (ny(2026, 11, 30, 0), ny(2026, 11, 30, 5)),
    ]
    assert P.active_or_next_maintenance(ny(2026, 11, 23, 2), timedelta(hours=1)) == windows[0]
    assert P.active_or_next_maintenance(ny(2026, 11, 26, 23), timedelta(hours=2)) == windows[1]
    assert P.active_or_next_maintenance(ny(2026, 11, 26, 20), timedelta(hours=2)) is None
    assert P.active_or_next_maintenance(ny(2026, 11, 23, 5), timedelta(hours=1)) is None
    # maintenance does not stop clocks
    assert P.add("critical", ny(2026, 11, 23, 0), 2 * H) == ny(2026, 11, 23, 2)

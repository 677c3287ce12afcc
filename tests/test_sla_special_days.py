"""Special days: per-date opening hours that replace the weekly schedule (a half day on
24 December, an extra Saturday before a launch, a closed weekday)."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_console.cli import main
from agent_console.paths import default_policy_path
from agent_console.sla import PolicyError, compute_deadlines, explain, parse_policy
from tests.sla_helpers import BASE, H, ny
from tests.sla_naive import NaiveCalendar

SPECIAL = [
    {"date": "2026-12-24", "hours": ["09:00", "12:00"], "name": "Christmas Eve"},  # Thursday
    {"date": "2026-12-19", "hours": [["10:00", "12:00"], ["13:00", "16:00"]], "name": "launch"},
    {"date": "2026-12-21", "hours": []},  # a Monday, closed
    {"date": "2026-12-31", "hours": ["09:00", "24:00"]},  # a long day to midnight
    {"date": "2026-11-01", "hours": ["00:00", "05:00"]},  # Sunday, the fall-back night
    {"date": "2027-03-14", "hours": ["01:00", "04:00"]},  # Sunday, inside the spring gap
]


def _policy(special: list | None = None, **extra) -> object:
    data = copy.deepcopy(BASE)
    data["special_days"] = copy.deepcopy(SPECIAL if special is None else special)
    data.update(extra)
    return parse_policy(data, "x.toml", "x")


P = _policy()
PLAIN = parse_policy(copy.deepcopy(BASE), "x.toml", "x")


def test_parse() -> None:
    cal = P.calendar
    assert cal.special_day(date(2026, 12, 24)).spans == ((540, 720),)
    assert cal.special_day(date(2026, 12, 24)).name == "Christmas Eve"
    assert cal.special_day(date(2026, 12, 19)).spans == ((600, 720), (780, 960))
    assert cal.special_day(date(2026, 12, 21)).spans == ()
    assert cal.special_day(date(2026, 12, 21)).name == "special day"
    assert cal.special_day(date(2026, 12, 23)) is None
    # TOML's own dates and a single table are accepted too
    one = _policy({"date": date(2026, 12, 24), "hours": "closed"})
    assert one.calendar.special_day(date(2026, 12, 24)).spans == ()


def test_special_days_enter_the_fingerprint() -> None:
    assert P.fingerprint != PLAIN.fingerprint
    assert _policy(SPECIAL[:1]).fingerprint != _policy(SPECIAL[:2]).fingerprint


def test_half_day_extra_saturday_and_closed_monday() -> None:
    # Wednesday 23 Dec 16:00 + 4 business hours: 2 h on Wednesday, then 24 Dec opens at 9
    assert P.add("urgent", ny(2026, 12, 23, 16), 4 * H) == ny(2026, 12, 24, 11)
    assert PLAIN.add("urgent", ny(2026, 12, 23, 16), 4 * H) == ny(2026, 12, 24, 11)
    # ... + 6 h: the half day ends at 12:00, the 25th is Christmas, the 28th resumes
    assert P.add("urgent", ny(2026, 12, 23, 16), 6 * H) == ny(2026, 12, 28, 10)
    assert PLAIN.add("urgent", ny(2026, 12, 23, 16), 6 * H) == ny(2026, 12, 24, 13)
    # a target reached exactly at the special closing is that closing instant
    assert P.add("urgent", ny(2026, 12, 24, 9), 3 * H) == ny(2026, 12, 24, 12)
    # Friday 18 Dec 17:00 + 3 h: 1 h on Friday, then the extra Saturday 10-12
    assert P.add("urgent", ny(2026, 12, 18, 17), 3 * H) == ny(2026, 12, 19, 12)
    assert P.add("urgent", ny(2026, 12, 18, 17), 4 * H) == ny(2026, 12, 19, 14)
    # Saturday 16:00 + 1 h: Monday 21st is closed, Tuesday 22nd opens at 9
    assert P.add("urgent", ny(2026, 12, 19, 16), H) == ny(2026, 12, 22, 10)
    assert P.elapsed("urgent", ny(2026, 12, 18, 9), ny(2026, 12, 23, 9)) == (9 + 5 + 9) * H
    # the long day to midnight and the closed New Year's weekend after it
    assert P.add("urgent", ny(2026, 12, 31, 23), H) == ny(2027, 1, 1, 0)


def test_dst_nights() -> None:
    # 00:00-05:00 on the fall-back Sunday is six real hours
    assert P.elapsed("urgent", ny(2026, 11, 1, 0), ny(2026, 11, 2, 0)) == 6 * H
    # 01:00-04:00 on the spring-forward Sunday: 02:00-03:00 does not exist, two hours
    assert P.elapsed("urgent", ny(2027, 3, 14, 0), ny(2027, 3, 15, 0)) == 2 * H


def test_is_open_next_open_next_close_and_state() -> None:
    assert P.is_open(ny(2026, 12, 24, 11, 59))
    assert not P.is_open(ny(2026, 12, 24, 12))
    assert P.next_close(ny(2026, 12, 24, 10)) == ny(2026, 12, 24, 12)
    assert P.next_open(ny(2026, 12, 24, 13)) == ny(2026, 12, 28, 9)
    assert P.is_open(ny(2026, 12, 19, 11))  # Saturday
    assert not P.is_open(ny(2026, 12, 19, 12, 30))  # its lunch break
    assert P.next_open(ny(2026, 12, 19, 12, 30)) == ny(2026, 12, 19, 13)
    assert P.next_open(ny(2026, 12, 18, 18)) == ny(2026, 12, 19, 10)
    assert not P.is_open(ny(2026, 12, 21, 10))  # closed Monday
    assert P.next_open(ny(2026, 12, 21, 10)) == ny(2026, 12, 22, 9)
    state = P.business_state(ny(2026, 12, 24, 10))
    assert state.open and state.special == "Christmas Eve" and state.holiday is None
    assert state.changes_at == ny(2026, 12, 24, 12)
    assert P.business_state(ny(2026, 12, 23, 10)).special is None
    assert P.open_intervals(ny(2026, 12, 19), ny(2026, 12, 20)) == [
        (ny(2026, 12, 19, 10), ny(2026, 12, 19, 12)),
        (ny(2026, 12, 19, 13), ny(2026, 12, 19, 16)),
    ]


def test_deadlines_and_calendar_clock() -> None:
    d = compute_deadlines(P, "urgent", ny(2026, 12, 23, 16))
    assert d.first_response_due == ny(2026, 12, 24, 11)
    # critical runs 24/7: special days do not touch it
    c = compute_deadlines(P, "critical", ny(2026, 12, 24, 11))
    assert c.first_response_due == ny(2026, 12, 24, 13)


def test_explanation_shows_special_days() -> None:
    result = explain(P, "urgent", ny(2026, 12, 18, 17))
    text = result.text()
    assert "Sat 19 Dec 10:00–12:00 EST counted 2h00m (special day: launch)" in text
    assert "Mon 21 Dec skipped: special day" in text
    assert "Thu 24 Dec 09:00–12:00 EST counted 3h00m (special day: Christmas Eve)" in text
    assert "Fri 25 Dec skipped: holiday" in text
    assert "Sun 20 Dec skipped: weekend" in text


@pytest.mark.parametrize(
    ("special", "message"),
    [
        (
            [{"date": "2026-12-25", "hours": ["09:00", "12:00"]}],
            "x.toml: special_days[0].date: 2026-12-25 is both a holiday and a special day",
        ),
        (
            [{"date": "2026-12-24", "hours": []}, {"date": "2026-12-24", "hours": []}],
            "special_days[1].date: 2026-12-24 is listed twice",
        ),
        ([{"date": "2026-12-24"}], "special_days[0].hours: missing"),
        ([{"hours": []}], "special_days[0].date: missing"),
        ([{"date": "2026-12-32", "hours": []}], "special_days[0].date: bad date '2026-12-32'"),
        (
            [{"date": "2026-12-24", "hours": ["12:00", "09:00"]}],
            "special_days[0].hours: end 09:00 is before start 12:00",
        ),
        (
            [{"date": "2026-12-24", "hours": [["09:00", "12:00"], ["11:00", "13:00"]]}],
            "special_days[0].hours: intervals 09:00–12:00 and 11:00–13:00 overlap",
        ),
        ([{"date": "2026-12-24", "hours": [], "open": True}], "special_days[0].open: unknown key"),
        ([{"date": "2026-12-24", "hours": [], "name": ""}], "special_days[0].name: expected"),
        (["2026-12-24"], "special_days[0]: expected a table"),
        ("2026-12-24", "special_days: expected [[special_days]] tables"),
    ],
)
def test_malformed_special_days(special, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        _policy(special)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_country_holiday_cannot_be_a_special_day() -> None:
    with pytest.raises(PolicyError) as info:
        _policy(
            [{"date": "2026-11-26", "hours": ["09:00", "12:00"]}],
            holidays=[],
            holiday_country="US",
        )
    assert "special_days[0].date: 2026-11-26 is both a holiday (Thanksgiving" in str(info.value)
    with pytest.raises(PolicyError, match=r"2026-12-25 is both a holiday \(Christmas Day\)"):
        _policy(
            [{"date": "2026-12-25", "hours": []}],
            holidays=[{"date": "2026-12-25", "name": "Christmas Day"}],
        )


# ------------------------------------------------------------------ against the naive walk
FIRST = datetime(2026, 10, 26, tzinfo=UTC)
DAYS = 90


def _random_specials(rng: random.Random) -> list[dict]:
    choices = [
        [],
        ["09:00", "12:00"],
        ["00:00", "24:00"],
        [["07:30", "08:15"], ["22:00", "24:00"]],
        ["10:00", "16:00"],
        ["01:00", "04:00"],
        ["00:00", "05:00"],
    ]
    days = rng.sample(range(DAYS), 25)
    out = []
    for n in days:
        day = (FIRST + timedelta(days=n)).date()
        if day in (date(2026, 11, 26), date(2026, 12, 25)):  # the holidays of BASE
            continue
        out.append({"date": day.isoformat(), "hours": rng.choice(choices)})
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_against_the_naive_minute_walk(seed: int) -> None:
    rng = random.Random(seed)
    p = _policy(_random_specials(rng))
    naive = NaiveCalendar.from_policy(p, years=range(2026, 2028))
    for _ in range(250):
        t = FIRST + timedelta(minutes=rng.randrange((DAYS - 20) * 1440))
        d = rng.randrange(0, 14 * 60 + 1) * 60
        assert p.add("urgent", t, d) == naive.add_minutes(t, d), (t, d)
        assert p.is_open(t) == naive.is_open(t), t
    for _ in range(40):
        a = FIRST + timedelta(minutes=rng.randrange((DAYS - 10) * 1440))
        b = a + timedelta(minutes=rng.randrange(4 * 1440))
        assert p.elapsed("urgent", a, b) == naive.elapsed_minutes(a, b), (a, b)


SEEDED = [_policy(_random_specials(random.Random(s))) for s in (11, 12)]
NAIVE = [NaiveCalendar.from_policy(p, years=range(2026, 2028)) for p in SEEDED]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 1),
    st.integers(0, (DAYS - 30) * 86400),
    st.integers(1, 60 * H),
)
def test_property_against_the_day_walk(which: int, offset: int, d: int) -> None:
    p, naive = SEEDED[which], NAIVE[which]
    t = FIRST + timedelta(seconds=offset)
    due = p.add("urgent", t, d)
    assert due == naive.add_days(t, d)
    assert p.elapsed("urgent", t, due) == d


# ------------------------------------------------------------------ sla calendar
def _policy_file(tmp_path: Path) -> Path:
    text = default_policy_path().read_text()
    text = text.replace(
        "\n[business_hours]",
        '\n[[special_days]]\ndate = "2026-12-24"\nhours = ["09:00", "12:00"]\nname = "Christmas Eve"\n\n'
        '[[special_days]]\ndate = "2026-12-19"\nhours = ["10:00", "14:00"]\n\n'
        '[[special_days]]\ndate = "2026-12-22"\nhours = []\nname = "inventory"\n\n'
        "\n[business_hours]",
        1,
    )
    f = tmp_path / "special.toml"
    f.write_text(text)
    return f


def test_sla_calendar_shows_special_days(capsys, tmp_path: Path) -> None:
    f = _policy_file(tmp_path)
    code = main(["sla", "calendar", "--policy", str(f), "--from", "2026-12-18", "--days", "8"])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert "Fri 2026-12-18  open 09:00–18:00 EST; standard maintenance 00:00–05:00 EST" in lines
    assert "Sat 2026-12-19  open 10:00–14:00 EST (special day)" in lines
    assert "Sun 2026-12-20  closed" in lines
    assert "Tue 2026-12-22  closed: special day (inventory)" in lines
    assert "Thu 2026-12-24  open 09:00–12:00 EST (special day: Christmas Eve)" in lines
    assert "Wed 2026-12-23  open 09:00–18:00 EST" in lines
    assert any(
        line.startswith("Fri 2026-12-25  closed: holiday (Christmas Day);") for line in lines
    )
    code = main(
        ["sla", "calendar", "--policy", str(f), "--from", "2026-12-24", "--days", "2", "--json"]
    )
    out, _ = capsys.readouterr()
    eve, christmas = (json.loads(line) for line in out.splitlines())
    assert eve["special_day"] == "Christmas Eve"
    assert eve["open"] == [["2026-12-24T14:00:00Z", "2026-12-24T17:00:00Z"]]
    assert christmas["special_day"] is None and christmas["holiday"] == "Christmas Day"


def test_sla_due_honours_special_days(capsys, tmp_path: Path) -> None:
    f = _policy_file(tmp_path)
    code = main(
        ["sla", "due", "--policy", str(f), "--priority", "urgent", "--opened", "2026-12-23T21:00Z"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    # Wed 16:00 EST + 4 h: 2 h on Wednesday, 2 h of the half day on the 24th
    assert json.loads(out)["first_response_due"] == "2026-12-24T16:00:00Z"


def test_sla_calendar_refuses_a_special_day_on_a_holiday(capsys, tmp_path: Path) -> None:
    text = default_policy_path().read_text()
    text = text.replace(
        "\n[business_hours]",
        '\n[[special_days]]\ndate = "2026-12-25"\nhours = []\n\n[business_hours]',
    )
    f = tmp_path / "bad.toml"
    f.write_text(text)
    code = main(["sla", "calendar", "--policy", str(f)])
    _, err = capsys.readouterr()
    assert code == 2
    assert "special_days[0].date: 2026-12-25 is both a holiday (Christmas Day)" in err
    assert len(err.strip().splitlines()) == 1

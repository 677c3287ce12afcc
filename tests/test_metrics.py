"""Metrics figures against hand-computed expectations (tests/metrics_fixture.py), the same
on SQLite and PostgreSQL; DST and a holiday inside the period; a reopened ticket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent_console.desk import Desk
from agent_console.desk.metrics import MetricsFilter, MetricsReport, day_bounds, resolve_period
from agent_console.errors import NotFound, PermissionDenied, UserError
from agent_console.settings import Settings
from tests.conftest import throwaway_pg_database
from tests.metrics_fixture import NOW, Clock, build

ET = ZoneInfo("America/New_York")
FIRST, LAST = date(2026, 10, 30), date(2026, 11, 2)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'metrics.db'}"
        return
    server = request.getfixturevalue("pg_server")
    with throwaway_pg_database(server) as url:
        yield url


@pytest.fixture
def history(db_url: str) -> Iterator[tuple[Desk, dict[str, str]]]:
    d, keys, _ = build(db_url)
    yield d, keys
    d.engine.dispose()


def report(d: Desk, **filters: object) -> MetricsReport:
    return d.metrics("custom", MetricsFilter(**filters), first=FIRST, last=LAST)  # type: ignore[arg-type]


def line(r: MetricsReport, prio: str):  # type: ignore[no-untyped-def]
    return next(p for p in r.priorities if p.priority == prio)


# ---------------------------------------------------------------- the period
def test_day_bounds_follow_dst_in_the_display_zone() -> None:
    b = day_bounds(FIRST, LAST, ET)
    assert [x.isoformat() for x in b] == [
        "2026-10-30T04:00:00+00:00",
        "2026-10-31T04:00:00+00:00",
        "2026-11-01T04:00:00+00:00",
        "2026-11-02T05:00:00+00:00",  # Sunday 1 Nov had 25 hours
        "2026-11-03T05:00:00+00:00",
    ]


def test_named_periods() -> None:
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday
    assert resolve_period("today", now, ET).days == [date(2026, 11, 25)]
    assert resolve_period("week", now, ET).first == date(2026, 11, 23)
    assert len(resolve_period("7d", now, ET).days) == 7
    assert resolve_period("30d", now, ET).first == date(2026, 10, 27)
    with pytest.raises(UserError, match="before it starts"):
        resolve_period("custom", now, ET, first=date(2026, 11, 5), last=date(2026, 11, 1))
    with pytest.raises(UserError, match="unknown period"):
        resolve_period("fortnight", now, ET)


# ---------------------------------------------------------------- the figures
def test_first_response_per_priority(history: tuple[Desk, dict[str, str]]) -> None:
    r = report(history[0])
    crit = line(r, "critical").first_response
    # T1 3600 met, T4 3600 met, T2 12600 breached, T7 overdue (no time yet)
    assert (crit.met, crit.breached, crit.measured) == (2, 2, 3)
    assert (crit.median, crit.p90) == (3600, 12600)
    urg = line(r, "urgent").first_response
    # T3 10800 business s across the weekend, T6 1800
    assert (urg.met, urg.breached, urg.median, urg.p90) == (2, 0, 1800, 10800)
    minor = line(r, "minor").first_response
    # T8 1800 met (Monday 09:00-09:30), T5 overdue
    assert (minor.met, minor.breached, minor.median, minor.p90) == (1, 1, 1800, 1800)
    assert crit.share == 0.5


def test_updates_and_resolution_judged_on_the_last_resolution(
    history: tuple[Desk, dict[str, str]],
) -> None:
    r = report(history[0])
    crit, urg = line(r, "critical"), line(r, "urgent")
    # updates: T1, T2, T4 cycle 1 met; T4 cycle 2 (after the reopening) breached
    assert (crit.updates.met, crit.updates.breached) == (3, 1)
    assert (urg.updates.met, urg.updates.breached) == (2, 0)
    # resolution: T1 6300 met, T2 14400 met, T4 36000 breached (first resolution met:
    # judged on the last), T7 overdue
    res = crit.resolution
    assert (res.met, res.breached, res.measured, res.median, res.p90) == (2, 2, 3, 14400, 36000)
    # T3: 18000 + 5400 business seconds over its two resolutions, one ticket
    assert (urg.resolution.met, urg.resolution.breached, urg.resolution.median) == (1, 0, 23400)
    assert (crit.reopened, urg.reopened, r.reopened) == (1, 1, 2)


def test_breaches_counted_and_listed(history: tuple[Desk, dict[str, str]]) -> None:
    d, k = history
    r = report(d)
    assert r.breach_count == 6
    got = [(b.key, b.metric, b.state, b.due.isoformat()) for b in r.breaches]
    assert got == [
        (k["T7"], "resolution", "overdue", "2026-11-03T01:00:00+00:00"),
        (k["T4"], "resolution", "breached", "2026-11-02T23:00:00+00:00"),
        (k["T5"], "first_response", "overdue", "2026-11-02T23:00:00+00:00"),
        (k["T7"], "first_response", "overdue", "2026-11-02T19:00:00+00:00"),
        # a fresh update cycle from the reopening at 17:00Z, due 18:00Z
        (k["T4"], "next_update", "breached", "2026-11-02T18:00:00+00:00"),
        (k["T2"], "first_response", "breached", "2026-11-01T05:00:00+00:00"),
    ]


def test_opened_and_resolved_per_local_day_across_dst(
    history: tuple[Desk, dict[str, str]],
) -> None:
    r = report(history[0])
    assert [(d.isoformat(), o, res) for d, o, res in r.daily] == [
        ("2026-10-30", 2, 1),  # T1, T3 opened; T1 resolved
        ("2026-10-31", 1, 0),  # T2 at 23:00 EDT
        ("2026-11-01", 1, 1),  # T8 at 23:30 EST; T2 resolved at 02:00 EST
        ("2026-11-02", 4, 2),  # T4 T6 T5 T7; T3 and T4 (20:00 EST) resolved
    ]


def test_backlog_as_of_the_period_end(history: tuple[Desk, dict[str, str]]) -> None:
    r = report(history[0])
    assert r.as_of == datetime(2026, 11, 3, 5, 0, tzinfo=UTC)
    assert r.backlog_tier == [(1, 2), (2, 2), (3, 0)]  # T5 T8 | T6 T7
    assert dict(r.backlog_age) == {
        "< 1 day": 3,
        "1-3 days": 1,  # T8, opened 24.5 hours before
        "3-7 days": 0,
        "7-30 days": 0,
        "30+ days": 0,
    }


def test_escalations_and_pickup(history: tuple[Desk, dict[str, str]]) -> None:
    r = report(history[0])
    t2 = next(e for e in r.escalations if e.tier == 2)
    assert (t2.escalations, t2.picked_up, t2.waiting) == (2, 1, 1)
    assert (t2.median_pickup, t2.p90_pickup) == (9000, 9000)


def test_per_agent_load(history: tuple[Desk, dict[str, str]]) -> None:
    r = report(history[0])
    got = {
        a.handle: (a.open_assigned, a.resolved, a.first_responses, a.median_first_response)
        for a in r.agents
    }
    assert got == {
        "ann": (0, 3, 4, 3600),  # FR 1800, 3600, 3600, 10800
        "bob": (0, 1, 2, 1800),  # FR 1800, 12600
        "cid": (1, 0, 0, None),
    }


def test_filters(history: tuple[Desk, dict[str, str]]) -> None:
    d, _ = history
    acme = report(d, org="acme")
    crit = line(acme, "critical").first_response
    assert (crit.met, crit.breached) == (1, 1)
    assert line(acme, "urgent").first_response.judged == 0
    tier2 = report(d, tier=2)
    assert [b.metric for b in tier2.breaches] == ["resolution", "first_response"]
    ann = report(d, assignee="ann")
    assert [a.handle for a in ann.agents] == ["ann"]
    assert line(ann, "critical").first_response.judged == 2  # T1, T4
    with pytest.raises(NotFound, match="unknown organization"):
        report(d, org="Nope")
    with pytest.raises(NotFound, match="unknown agent"):
        report(d, assignee="zed")


def test_an_agent_sees_the_team_and_their_own_line(history: tuple[Desk, dict[str, str]]) -> None:
    d, _ = history
    r = d.metrics("custom", first=FIRST, last=LAST, viewer="ann")
    assert [a.handle for a in r.agents] == ["ann"]
    assert r.breach_count == 6 and not r.viewer_is_lead
    with pytest.raises(PermissionDenied, match="not a lead"):
        d.metrics("custom", MetricsFilter(assignee="bob"), first=FIRST, last=LAST, viewer="ann")


def test_holiday_inside_the_period(db_url: str) -> None:
    """Thanksgiving (Thu 26 Nov 2026) does not count on the business clock."""
    clock = Clock(datetime(2026, 11, 25, 22, 0, tzinfo=UTC))  # Wed 17:00 EST
    d = Desk.open(Settings(db_url=db_url, agent="ann"), clock=clock)
    try:
        d.add_agent("ann", "Ann One", 1)
        key = d.create_ticket(
            subject="urgent", body="x", requester_email="a@example.com", priority="urgent"
        )
        clock.at(2026, 11, 27, 15, 0)  # Fri 10:00 EST
        d.reply(key, "Hello.", "ann")
        r = d.metrics("week")
        fr = line(r, "urgent").first_response
        # Wed 17-18 + Fri 9-10 = 2 business hours (11 if Thursday counted): met
        assert (fr.met, fr.breached, fr.median) == (1, 0, 7200)
        assert r.period.first == date(2026, 11, 23)
    finally:
        d.engine.dispose()


def test_sqlite_and_postgresql_give_the_same_figures(pg_server: str, tmp_path: Path) -> None:
    d1, _, _ = build(f"sqlite:///{tmp_path / 'a.db'}")
    with throwaway_pg_database(pg_server) as url:
        d2, _, _ = build(url)
        try:
            for kind in ("custom", "7d", "30d", "today"):
                a = d1.metrics(kind, first=FIRST, last=LAST).as_dict()
                b = d2.metrics(kind, first=FIRST, last=LAST).as_dict()
                assert a == b
        finally:
            d2.engine.dispose()
    d1.engine.dispose()
    assert NOW.tzinfo is UTC

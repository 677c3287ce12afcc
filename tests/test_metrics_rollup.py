"""The metrics rollup (desk/metrics_rollup.py) answers what the raw rows answer, on SQLite
and PostgreSQL: over the command-built history of tests/metrics_fixture.py, seeded
(bulk-written) tickets, imported new tickets, and commands on seeded tickets afterwards
(reply, priority change, resolution, reopening); in a whole-hour zone, a half-hour zone
(day boundaries inside an hour) and UTC; kept current on write = rebuilt from scratch;
a rollup left stale by an upgrade is not read until it is rebuilt."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from agent_console.desk import Desk
from agent_console.desk.metrics import nearest_rank, shown_seconds
from agent_console.desk.metrics_rollup import STALE, is_stale, mark_stale, plan
from agent_console.settings import Settings
from agent_console.store.models import MetricRollup, Ticket
from tests.conftest import throwaway_pg_database
from tests.metrics_fixture import NOW, build

ET = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")


# ---------------------------------------------------------------- pure parts
def test_shown_seconds_keep_what_a_timer_shows() -> None:
    assert [shown_seconds(x) for x in (0, 59, 3599, 3600, 3659, 3660, 18_119)] == [
        0,
        59,
        3599,
        3600,
        3600,
        3660,
        18_060,
    ]


def test_nearest_rank_from_a_histogram() -> None:
    hist = {10: 1, 20: 1, 30: 1, 40: 1}
    assert (nearest_rank(hist, 50), nearest_rank(hist, 90)) == (20, 40)
    assert nearest_rank({5: 3, 7: 0}, 90) == 5  # zero rows (a delta left them) count for none
    assert nearest_rank({}, 50) is None
    # the same as the nearest rank of the listed values
    values = [3, 3, 8, 1, 9, 4, 4, 4, 12, 2]
    for pct in (50, 90):
        k = -(-len(values) * pct // 100)
        assert nearest_rank({v: values.count(v) for v in values}, pct) == sorted(values)[k - 1]


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_plan_covers_whole_hours_and_leaves_the_rest_to_the_rows() -> None:
    from agent_console.desk.metrics import day_bounds
    from agent_console.desk.metrics_rollup import DAY, HOUR

    et = day_bounds(date(2026, 10, 31), date(2026, 11, 1), ET)  # the 25-hour Sunday
    assert plan(et, HOUR) == ([(et[0], et[-1])], [])
    # days: the whole UTC days inside, the rest (the zone's offset) from the rows
    covered, raw = plan((et[0], et[-1]), DAY)
    assert covered == [(_utc(2026, 11, 1), _utc(2026, 11, 2))]
    assert raw == [(et[0], _utc(2026, 11, 1)), (_utc(2026, 11, 2), et[-1])]
    # India: local midnight is 18:30 UTC, inside an hour
    ind = day_bounds(date(2026, 11, 1), date(2026, 11, 2), KOLKATA)
    covered, raw = plan(ind, HOUR)
    assert raw == [
        (_utc(2026, 10, 31, 18, 30), _utc(2026, 10, 31, 19)),
        (_utc(2026, 11, 1, 18), _utc(2026, 11, 1, 19)),
        (_utc(2026, 11, 2, 18), _utc(2026, 11, 2, 18, 30)),
    ]
    assert covered == [
        (_utc(2026, 10, 31, 19), _utc(2026, 11, 1, 18)),
        (_utc(2026, 11, 1, 19), _utc(2026, 11, 2, 18)),
    ]


def test_plan_days_reads_the_smaller_side_of_a_partial_day_raw() -> None:
    """A UTC day the period covers for more than half is read whole from the rollup and
    its outside part taken off again from the raw rows; a smaller part is read raw."""
    from agent_console.desk.metrics import day_bounds
    from agent_console.desk.metrics_rollup import plan_days

    ny = day_bounds(date(2026, 11, 2), date(2026, 11, 4), ET)  # 05:00Z .. 05:00Z
    rollup, add, off = plan_days(ny[0], ny[-1])
    assert rollup == [(_utc(2026, 11, 2), _utc(2026, 11, 5))]
    assert add == [(_utc(2026, 11, 5), _utc(2026, 11, 5, 5))]
    assert off == [(_utc(2026, 11, 2), _utc(2026, 11, 2, 5))]
    ind = day_bounds(date(2026, 11, 2), date(2026, 11, 2), KOLKATA)  # 18:30Z .. 18:30Z
    rollup, add, off = plan_days(ind[0], ind[-1])
    assert rollup == [(_utc(2026, 11, 2), _utc(2026, 11, 3))]
    assert add == [(_utc(2026, 11, 1, 18, 30), _utc(2026, 11, 2))]
    assert off == [(_utc(2026, 11, 2, 18, 30), _utc(2026, 11, 3))]
    utc = day_bounds(date(2026, 11, 2), date(2026, 11, 3), ZoneInfo("UTC"))
    assert plan_days(utc[0], utc[-1]) == ([(utc[0], utc[-1])], [], [])


# ---------------------------------------------------------------- against the raw rows
@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rollup.db'}"
        return
    server = request.getfixturevalue("pg_server")
    with throwaway_pg_database(server) as url:
        yield url


def _keys(d: Desk, where: str, n: int) -> list[str]:
    with d.engine.connect() as c:
        rows = c.execute(
            text(f"SELECT key FROM ticket WHERE {where} ORDER BY number DESC LIMIT {n}")
        ).all()
    return [r[0] for r in rows]


def _history(url: str, tmp_path: Path) -> Desk:
    """The fixture's command history, 1,200 seeded tickets, imported new tickets, and
    commands on seeded tickets afterwards."""
    d, _, clock = build(url)
    d.seed(1200, seed=7, now=NOW - timedelta(hours=3), append=True)
    src = tmp_path / "new.jsonl"
    src.write_text(
        "".join(
            json.dumps(
                {
                    "external_id": f"imp-{i}",
                    "subject": f"imported {i}",
                    "body": "help",
                    "requester_email": f"imp{i}@example.com",
                    "priority": ("critical", "urgent", "minor")[i % 3],
                    "channel": "email",
                    "opened_at": (NOW - timedelta(hours=5 * i + 1)).isoformat(),
                }
            )
            + "\n"
            for i in range(12)
        )
    )
    d.import_tickets(src)
    clock.now = NOW - timedelta(hours=2)
    # open seeded tickets: answered, re-prioritised (their cycles move priority), resolved
    turn = {"critical": "minor", "minor": "urgent", "urgent": "critical"}
    for i, key in enumerate(_keys(d, "status = 'open' AND first_response_at IS NOT NULL", 6)):
        d.set_priority(key, turn[d.ticket_detail(key).priority], "triage", "lee")
        clock.now += timedelta(minutes=7)
        d.reply(key, "An update.", "lee")
        if i % 2:
            d.resolve(key, "done", "lee")
    for key in _keys(d, "status = 'new'", 4):  # first responses now
        clock.now += timedelta(minutes=3)
        d.reply(key, "Hello.", "lee")
    for key in _keys(d, "status = 'resolved'", 3):  # reopened, one resolved again
        clock.now += timedelta(minutes=5)
        d.set_status(key, "open", "lee")
    # resolved tickets handed to another agent: their resolution's credit moves
    for key in _keys(d, "status = 'resolved' AND tier = 1 AND assignee_id IS NOT NULL", 2):
        clock.now += timedelta(minutes=1)
        d.assign(key, "ann" if d.ticket_detail(key).assignee != "ann" else "bob", "lee")
    # hand-overs on seeded tickets: escalations picked up by a claim or an assignment
    # (some after more than an hour: kept to the minute), one handed on to tier 3 before
    # anyone took it, one handed back down; open tickets claimed and reassigned (their
    # figures move to the new agent's and tier's dimensions)
    for i, key in enumerate(_keys(d, "status = 'open' AND tier = 1", 8)):
        clock.now += timedelta(minutes=4 + 7 * i)
        d.escalate(key, "over to tier 2", "lee")
        clock.now += timedelta(minutes=13 * i + 1, seconds=17 * i)
        match i % 4:
            case 0:
                d.claim(key, "cid")
            case 1:
                d.assign(key, "cid", "lee")
            case 2:
                d.escalate(key, "over to tier 3", "lee", to_tier=3)
                clock.now += timedelta(minutes=2)
                d.claim(key, "lee")
            case _:
                d.deescalate(key, "back to tier 1", "lee")
    for key in _keys(d, "status = 'open' AND tier = 1 AND assignee_id IS NOT NULL", 3):
        clock.now += timedelta(minutes=2)
        d.assign(key, "ann" if d.ticket_detail(key).assignee != "ann" else "bob", "lee")
    for key in _keys(d, "status = 'new' AND tier = 1 AND assignee_id IS NULL", 2):
        clock.now += timedelta(minutes=2)
        d.claim(key, "bob")
    clock.now = NOW
    return d


#: the filters the screen offers, one at a time (the rollup's dimensions)
FILTERS = (
    {"tier": 1},
    {"tier": 2},
    {"tier": 3},
    {"org": "Acme"},
    {"assignee": "ann"},
    {"assignee": "cid"},
)


def _as_seen(url: str, zone: str, now: datetime) -> Desk:
    return Desk.open(Settings(db_url=url, agent="lee", timezone=zone, now=now))


def _rollup_rows(d: Desk) -> dict[tuple[object, ...], int]:
    r = MetricRollup.__table__.c  # type: ignore[attr-defined]
    with d.read() as s:
        rows = s.execute(
            select(r.dim, r.figure, r.bucket, r.grp, r.value, r.n).where(r.n != 0)
        ).all()
    return {tuple(row[:5]): int(row[5]) for row in rows}


def test_rollup_figures_equal_the_raw_figures(db_url: str, tmp_path: Path) -> None:
    d = _history(db_url, tmp_path)
    d.engine.dispose()
    checked = 0
    for zone, now in (
        ("America/New_York", NOW),
        ("Asia/Kolkata", NOW + timedelta(minutes=20)),  # "now" inside an hour too
        ("UTC", NOW),
    ):
        seen = _as_seen(db_url, zone, now)
        for kind in ("today", "7d", "30d"):
            fast = seen.metrics(kind)
            slow = seen.metrics(kind, rollup=False)
            assert (fast.source, slow.source) == ("rollup", "rows")
            assert fast.as_dict() == slow.as_dict(), (zone, kind)
            checked += sum(p.first_response.judged for p in fast.priorities)
        long = seen.metrics("custom", first=date(2026, 9, 1), last=date(2026, 11, 3))
        assert (
            long.as_dict()
            == seen.metrics(
                "custom", first=date(2026, 9, 1), last=date(2026, 11, 3), rollup=False
            ).as_dict()
        )
        seen.engine.dispose()
    assert checked > 1000  # the seeded tickets are in there


def test_filtered_rollup_figures_equal_the_raw_figures(db_url: str, tmp_path: Path) -> None:
    """A filter on one tier, organization or agent reads that dimension of the rollup
    (and the raw rows of its edges, filtered): the same figures as the raw rows."""
    from agent_console.desk.metrics import MetricsFilter

    d = _history(db_url, tmp_path)
    d.engine.dispose()
    escalated = 0
    for zone, now in (("America/New_York", NOW), ("Asia/Kolkata", NOW + timedelta(minutes=20))):
        seen = _as_seen(db_url, zone, now)
        for f in FILTERS:
            for kind in ("7d", "30d"):
                fast = seen.metrics(kind, MetricsFilter(**f))  # type: ignore[arg-type]
                slow = seen.metrics(kind, MetricsFilter(**f), rollup=False)  # type: ignore[arg-type]
                assert (fast.source, slow.source) == ("rollup", "rows"), f
                assert fast.as_dict() == slow.as_dict(), (zone, f, kind)
                escalated += sum(e.picked_up for e in fast.escalations)
        both = seen.metrics("30d", MetricsFilter(tier=1, assignee="ann"))
        assert both.source == "rows"  # two filters: the raw rows
        seen.engine.dispose()
    assert escalated > 4


def test_escalation_pickup_from_the_rollup(db_url: str, tmp_path: Path) -> None:
    """Escalations and their pickup times come from the rollup, as from the raw events:
    claimed and assigned pickups, one handed on before anyone took it, over an hour."""
    d = _history(db_url, tmp_path)
    fast = d.metrics("7d")
    slow = d.metrics("7d", rollup=False)
    assert fast.source == "rollup"
    assert [e.as_dict() for e in fast.escalations] == [e.as_dict() for e in slow.escalations]
    t2 = next(e for e in fast.escalations if e.tier == 2)
    t3 = next(e for e in fast.escalations if e.tier == 3)
    assert t2.escalations >= 8 and t2.picked_up >= 4 and t2.waiting >= 2
    assert t3.escalations >= 2 and t3.picked_up >= 2
    assert t2.p90_pickup is not None and t2.p90_pickup > 3600
    d.engine.dispose()


def test_kept_on_write_equals_rebuilt(db_url: str, tmp_path: Path) -> None:
    d = _history(db_url, tmp_path)
    kept = _rollup_rows(d)
    with d.read() as s:
        tickets = s.execute(select(Ticket.__table__.c.id)).all()  # type: ignore[attr-defined]
    assert d.rebuild_metrics_rollup() == len(tickets)
    assert _rollup_rows(d) == kept
    d.engine.dispose()


def test_a_stale_rollup_is_not_read_until_rebuilt(tmp_path: Path) -> None:
    from agent_console.desk.core import DeskCore

    url = f"sqlite:///{tmp_path / 'stale.db'}"
    d, _, _ = build(url)
    with d.write() as s:
        mark_stale(s)
    d.engine.dispose()
    d = DeskCore.open(Settings(db_url=url, agent="lee", now=NOW))  # plumbing only: no rebuild
    d.engine.dispose()
    d = Desk(d.engine, d.settings)
    with d.read() as s:
        assert is_stale(s)
    assert d.metrics("7d").source == "rows"
    assert d.rebuild_metrics_rollup(only_if_stale=True) is not None
    with d.read() as s:
        assert not is_stale(s)
        r = MetricRollup.__table__.c  # type: ignore[attr-defined]
        assert s.execute(select(r.n).where(r.figure == STALE)).first() is None
    assert d.metrics("7d").source == "rollup"
    assert d.rebuild_metrics_rollup(only_if_stale=True) is None
    with d.write() as s:  # a rebuild an earlier start did not finish: the next start does
        mark_stale(s)
    d.engine.dispose()
    d = Desk.open(Settings(db_url=url, agent="lee", now=NOW))
    assert d.metrics("7d").source == "rollup"
    d.engine.dispose()


def test_upgrading_a_database_with_tickets_builds_the_rollup(tmp_path: Path) -> None:
    """The migration leaves the marker over existing tickets; the console that upgrades
    the database (on start, or ``agent-console db upgrade``) rebuilds the rollup, and the
    figures match the raw rows."""

    from agent_console.desk.schema import upgrade_schema

    url = f"sqlite:///{tmp_path / 'old.db'}"
    d, _, _ = build(url)
    expected = d.metrics("7d", rollup=False).as_dict()
    d.engine.dispose()

    def back_to_0014() -> None:
        _downgrade_to(url, "0014")  # the revision before the rollup

    settings = Settings(db_url=url, agent="lee", now=NOW)
    for how in ("open", "db upgrade"):
        back_to_0014()
        if how == "db upgrade":
            assert upgrade_schema(settings).migrated
        d = Desk.open(settings)
        with d.read() as s:
            assert not is_stale(s)
        got = d.metrics("7d")
        assert got.source == "rollup" and got.as_dict() == expected, how
        d.engine.dispose()


def _downgrade_to(url: str, revision: str) -> None:
    """Alembic's own downgrade (every later revision undone, not only the rollup's)."""
    from alembic import command
    from sqlalchemy import create_engine

    from agent_console.store.migrations import _config

    eng = create_engine(url)
    with eng.begin() as c:
        command.downgrade(_config(c), revision)
    eng.dispose()


def test_the_migration_marks_a_database_with_tickets_stale(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from agent_console.store.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    d, _, _ = build(url)
    d.engine.dispose()
    _downgrade_to(url, "0014")  # the revision before the rollup (and what came after it)
    eng = create_engine(url)
    upgrade(eng)
    with eng.connect() as c:
        assert c.execute(text("SELECT figure FROM metric_rollup")).scalars().all() == [STALE]
    eng.dispose()


def test_a_zero_median_on_a_business_clock_is_explained(tmp_path: Path) -> None:
    """Urgent tickets answered on a Saturday took 0 business seconds: the median is
    0m 00s by the rule, and the report says why instead of looking broken."""
    from tests.metrics_fixture import Clock

    clock = Clock(_utc(2026, 11, 7, 14))  # Saturday
    d = Desk.open(Settings(db_url=f"sqlite:///{tmp_path / 'z.db'}", agent="lee"), clock=clock)
    d.add_agent("lee", "Lee Lead", 1, lead=True)
    for i in range(3):
        key = d.create_ticket(
            subject=f"weekend {i}",
            body="help",
            requester_email=f"w{i}@example.com",
            priority="urgent",
        )
        clock.now += timedelta(minutes=20)
        d.reply(key, "On it.", "lee")
    clock.now = _utc(2026, 11, 9, 12)
    r = d.metrics("7d")
    urgent = next(p for p in r.priorities if p.priority == "urgent")
    assert (urgent.clock, urgent.first_response.median) == ("business", 0)
    assert len(r.notes) == 1 and "outside business hours" in r.notes[0]
    assert "urgent" in r.notes[0] and r.as_dict()["notes"] == r.notes
    d.engine.dispose()

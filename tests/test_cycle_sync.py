"""Every path that moves a ticket's deadlines keeps its per-cycle rows (``sla_cycle``), the
metrics rollup and the on-call alert schedule in step (issues 9/13), on SQLite and
PostgreSQL: a re-import that changes a ticket's priority does what the workflow's priority
change does (the same cycle rows, rollup and alert thresholds as a twin ticket changed with
``set_priority`` at the same instant), and ``sla apply`` moves the open cycles' due
instants with the tickets' deadlines. After each: the cycle rows and the alert schedule
agree with a freshly computed ticket clock, and the rollup equals the raw figures (and a
rebuild from scratch)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from agent_console.desk import Desk
from agent_console.desk.deadlines import clock_of
from agent_console.paths import default_policy_path
from agent_console.settings import Settings
from agent_console.store.models import (
    AlertThreshold,
    MetricRollup,
    SlaCycle,
    Ticket,
    TicketEvent,
)
from tests.conftest import FIXED_NOW, throwaway_pg_database

DEFAULT_TEXT = default_policy_path().read_text(encoding="utf-8")
TURN = {"urgent": "critical", "minor": "urgent", "critical": "minor"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cycles.db'}"
        return
    with throwaway_pg_database(request.getfixturevalue("pg_server")) as url:
        yield url


def open_desk(url: str, clock: Clock) -> Desk:
    d = Desk.open(Settings(db_url=url, agent="lee"), clock=clock)  # type: ignore[arg-type]
    d.add_agent("lee", "Lee Lead", 1, lead=True)
    return d


def row(ext: str, priority: str, opened: datetime, **kw: Any) -> dict[str, Any]:
    return {
        "external_id": ext,
        "subject": f"{ext} trouble",
        "body": "It fails.",
        "requester_email": f"{ext}@example.com",
        "priority": priority,
        "channel": "email",
        "opened_at": opened.isoformat(),
        **kw,
    }


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def key_of(d: Desk, ext: str) -> str:
    with d.read() as s:
        return str(s.execute(select(Ticket.key).where(Ticket.external_id == ext)).scalar_one())


def cycle_facts(d: Desk, key: str) -> list[tuple[Any, ...]]:
    """The ticket's cycle rows without their ids."""
    with d.read() as s:
        t = d.ticket_by_key(s, key)
        rows = s.execute(
            select(SlaCycle).where(SlaCycle.ticket_id == t.id).order_by(SlaCycle.metric, SlaCycle.cycle)  # type: ignore[arg-type]
        ).scalars()
        return [
            (r.metric, r.cycle, r.clock, r.started_at, r.due_at, r.target_seconds, r.stopped_at,
             r.met_at, r.breached_at, r.elapsed_seconds)
            for r in rows
        ]


def schedule(d: Desk, key: str) -> dict[tuple[str, int, str], tuple[datetime, datetime]]:
    """The ticket's pending alert thresholds: (metric, cycle, threshold) -> (fire, due)."""
    with d.read() as s:
        t = d.ticket_by_key(s, key)
        rows = s.execute(
            select(AlertThreshold).where(
                AlertThreshold.ticket_id == t.id, AlertThreshold.state == "pending"
            )
        ).scalars()
        return {(r.metric, r.cycle, r.threshold): (r.fire_at, r.due_at) for r in rows}


def assert_agrees_with_a_fresh_clock(d: Desk, key: str) -> None:
    """The stored deadlines, the open cycle rows and the pending alert thresholds of the
    ticket are the ones a clock computed now from its facts gives."""
    with d.read() as s:
        t = d.ticket_by_key(s, key)
        clock = clock_of(t, d.policy_for_ticket(s, t))
        fresh = {m: clock.due(m) for m in ("first_response", "next_update", "resolution")}
        assert (t.first_response_due, t.next_update_due, t.resolution_due) == (
            fresh["first_response"], fresh["next_update"], fresh["resolution"]
        ), key
        open_rows = s.execute(
            select(SlaCycle).where(SlaCycle.ticket_id == t.id, SlaCycle.stopped_at.is_(None))  # type: ignore[union-attr]
        ).scalars().all()
        assert open_rows, key
        for r in open_rows:
            assert r.due_at == fresh[r.metric], (key, r.metric)
            assert r.target_seconds == clock.spec(r.metric).target(clock.target), (key, r.metric)
            assert r.clock == clock.target.clock
    due_of = {(m, c): due for (m, c, _), (_, due) in schedule(d, key).items()}
    running = {(r.metric, r.cycle): r.due_at for r in open_rows if r.due_at is not None}
    assert due_of == running, key  # a paused cycle (due NULL) has no threshold


def rollup(d: Desk) -> dict[tuple[object, ...], int]:
    r = MetricRollup.__table__.c  # type: ignore[attr-defined]
    with d.read() as s:
        rows = s.execute(select(r.figure, r.bucket, r.grp, r.value, r.n).where(r.n != 0)).all()
    return {tuple(x[:4]): int(x[4]) for x in rows}


def assert_rollup_is_true(d: Desk) -> None:
    """The rollup kept on write answers what the raw rows answer, and equals a rebuild."""
    for kind in ("today", "7d", "30d"):
        fast, slow = d.metrics(kind), d.metrics(kind, rollup=False)
        assert (fast.source, slow.source) == ("rollup", "rows")
        assert fast.as_dict() == slow.as_dict(), kind
    kept = rollup(d)
    d.rebuild_metrics_rollup()
    assert rollup(d) == kept


# ---------------------------------------------------------------- import
def test_a_reimport_changing_the_priority_moves_cycles_rollup_and_alerts_as_the_workflow(
    db_url: str, tmp_path: Path
) -> None:
    """Each ticket has a twin: the re-import changes the priority of one, ``set_priority``
    the other's at the same instant. Before the fix the imported one kept its cycle rows
    (old due instants and targets), the rollup counted it under the old priority, and the
    alert schedule (read from the cycle rows) warned on the old deadlines."""
    clock = Clock(FIXED_NOW)  # Mon 23 Nov 2026 09:00 New York
    d = open_desk(db_url, clock)
    try:
        shapes = {  # name -> (priority, opened before now)
            "quiet": ("urgent", timedelta(minutes=30)),
            "answered": ("minor", timedelta(hours=2)),
            "waiting": ("critical", timedelta(hours=1)),
        }
        rows = [
            row(f"{name}-{twin}", prio, FIXED_NOW - ago)
            for name, (prio, ago) in shapes.items()
            for twin in (1, 2)
        ]
        d.import_tickets(write(tmp_path / "a.jsonl", rows))
        clock.advance(minutes=10)
        for name in ("answered", "waiting"):
            for twin in (1, 2):
                d.reply(key_of(d, f"{name}-{twin}"), "Looking into it.")
        clock.advance(minutes=10)
        for twin in (1, 2):
            d.set_status(key_of(d, f"waiting-{twin}"), "pending")
        d.sync_alert_schedule()  # the watcher has bootstrapped its schedule
        clock.advance(minutes=40)

        changed = [
            dict(r, priority=TURN[r["priority"]]) if r["external_id"].endswith("-1") else r
            for r in rows
        ]
        report = d.import_tickets(write(tmp_path / "b.jsonl", changed))
        assert (report.updated, report.unchanged) == (3, 3)
        for name, (prio, _) in shapes.items():
            d.set_priority(key_of(d, f"{name}-2"), TURN[prio], "import b.jsonl")
        d.sync_alert_schedule()

        for name in shapes:
            imported, by_hand = key_of(d, f"{name}-1"), key_of(d, f"{name}-2")
            assert cycle_facts(d, imported) == cycle_facts(d, by_hand), name
            assert schedule(d, imported) == schedule(d, by_hand), name
            assert_agrees_with_a_fresh_clock(d, imported)
        assert_rollup_is_true(d)

        # the next command on the imported ticket carries on from its rows
        clock.advance(minutes=30)
        for twin in (1, 2):
            d.reply(key_of(d, f"quiet-{twin}"), "Fixed, please check.")
            d.set_status(key_of(d, f"waiting-{twin}"), "open")
        d.sync_alert_schedule()
        for name in shapes:
            imported, by_hand = key_of(d, f"{name}-1"), key_of(d, f"{name}-2")
            assert cycle_facts(d, imported) == cycle_facts(d, by_hand), name
            assert schedule(d, imported) == schedule(d, by_hand), name
            assert_agrees_with_a_fresh_clock(d, imported)
        assert_rollup_is_true(d)
    finally:
        d.engine.dispose()


# ---------------------------------------------------------------- sla apply
def edited_policy(tmp_path: Path) -> Path:
    """The default policy with Tuesday 24 Nov a holiday, a 2-hour critical update cadence
    and a 6-hour urgent first response: first responses, updates and resolutions move."""
    text = DEFAULT_TEXT.replace(
        "holidays = [", 'holidays = [\n  { date = "2026-11-24", name = "Launch" },', 1
    )
    text = text.replace('status_update = "1h"', 'status_update = "2h"', 1)
    text = text.replace('first_response = "4h"', 'first_response = "6h"', 1)
    assert text.count("Launch") == 1 and 'status_update = "2h"' in text and '"6h"' in text
    path = tmp_path / "sla.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sla_apply_moves_the_open_cycles_with_the_deadlines(db_url: str, tmp_path: Path) -> None:
    """Before the fix ``sla apply`` moved the tickets' deadlines but left every
    ``sla_cycle.due_at`` on the old policy: the rollup's ``due:`` figures (overdue now)
    and the alert schedule disagreed with the tickets."""
    clock = Clock(FIXED_NOW - timedelta(hours=3))
    d = open_desk(db_url, clock)
    try:
        keys: dict[str, str] = {}

        def new(name: str, priority: str) -> None:
            keys[name] = d.create_ticket(
                subject=f"{name} trouble",
                body="It fails.",
                requester_email=f"{name}@example.com",
                priority=priority,
            )

        new("quiet", "urgent")
        new("answered", "critical")
        new("waiting", "minor")
        new("done", "urgent")
        clock.advance(minutes=30)
        for name in ("answered", "waiting", "done"):
            d.reply(keys[name], "Looking into it.")
        clock.advance(minutes=30)
        d.set_status(keys["waiting"], "pending")
        d.resolve(keys["done"], "fixed")
        d.sync_alert_schedule()
        done_before = cycle_facts(d, keys["done"])
        clock.now = FIXED_NOW

        report = d.apply_policy(edited_policy(tmp_path))
        # quiet: first response and resolution; answered: the update cadence; waiting:
        # nothing runs (its cycles stay paused)
        assert (report.recomputed, report.tickets_moved) == (3, 2)
        d.sync_alert_schedule()
        for name in ("quiet", "answered", "waiting"):
            assert_agrees_with_a_fresh_clock(d, keys[name])
        # the urgent first response now runs 6 business hours (Mon 06:00..., Tue a holiday)
        [fr] = [c for c in cycle_facts(d, keys["quiet"]) if c[0] == "first_response"]
        assert fr[5] == 6 * 3600
        assert cycle_facts(d, keys["done"]) == done_before  # stopped cycles are history
        assert_rollup_is_true(d)

        # applying it again: nothing moves, nothing is written twice
        again = d.apply_policy(edited_policy(tmp_path))
        assert (again.recomputed, again.deadlines_moved) == (3, 0)
        assert_rollup_is_true(d)
    finally:
        d.engine.dispose()


def test_sla_apply_of_the_policy_in_force_repairs_cycles_left_behind(
    db_url: str, tmp_path: Path
) -> None:
    """Cycle rows (and the rollup) an ``sla apply`` before this fix left on the old due
    instants are brought in line by applying the policy in force again; each such ticket gets an ``sla_recomputed`` event, so the alert schedule
    re-derives it. Tickets already in line are not touched."""
    clock = Clock(FIXED_NOW)
    d = open_desk(db_url, clock)
    try:
        keys = [
            d.create_ticket(subject=f"t{i}", body="x", requester_email=f"t{i}@example.com",
                            priority=("urgent", "critical")[i % 2])
            for i in range(3)
        ]
        d.sync_alert_schedule()
        with d.write() as s:  # what a pre-fix apply left: the ticket moved, its cycles not
            t = d.ticket_by_key(s, keys[0])
            for r in s.execute(select(SlaCycle).where(SlaCycle.ticket_id == t.id)).scalars():
                r.due_at = r.due_at - timedelta(hours=1)  # type: ignore[operator]
                s.add(r)
            d.log(s, t.id, "sla_recomputed", policy="default", moved={})
        d.rebuild_metrics_rollup()  # the rollup followed the stale rows too
        d.sync_alert_schedule()  # and so did the schedule
        with pytest.raises(AssertionError):
            assert_agrees_with_a_fresh_clock(d, keys[0])
        clock.advance(minutes=5)
        policy = tmp_path / "sla.toml"
        policy.write_text(DEFAULT_TEXT, encoding="utf-8")
        report = d.apply_policy(policy)
        assert report.unchanged and (report.recomputed, report.deadlines_moved) == (3, 0)
        with d.read() as s:
            evs = s.execute(
                select(TicketEvent.ticket_id, TicketEvent.details).where(
                    TicketEvent.kind == "sla_recomputed", TicketEvent.at == clock.now
                )
            ).all()
        assert [(tid, det["cycles"], det["moved"]) for tid, det in evs] == [
            (d.ticket_detail(keys[0]).id, True, {})
        ]
        d.sync_alert_schedule()
        for key in keys:
            assert_agrees_with_a_fresh_clock(d, key)
        assert_rollup_is_true(d)
    finally:
        d.engine.dispose()


def test_sla_apply_of_new_alert_thresholds_moves_the_schedule(
    db_url: str, tmp_path: Path
) -> None:
    """A policy whose alert thresholds change and whose deadlines do not: before, no
    ticket got an event, so the alert schedule kept warning at the old 80 %."""
    clock = Clock(FIXED_NOW)
    d = open_desk(db_url, clock)
    try:
        key = d.create_ticket(subject="down", body="x", requester_email="a@example.com",
                              priority="critical")
        d.sync_alert_schedule()
        assert {th for (_, _, th) in schedule(d, key)} == {"0.5", "0.8", "1"}
        text = DEFAULT_TEXT.replace("thresholds = [0.5, 0.8, 1.0]", "thresholds = [0.5, 0.9, 1.0]")
        assert text != DEFAULT_TEXT
        policy = tmp_path / "sla.toml"
        policy.write_text(text, encoding="utf-8")
        clock.advance(minutes=5)
        report = d.apply_policy(policy)
        assert (report.recomputed, report.deadlines_moved) == (1, 0)
        d.sync_alert_schedule()
        got = schedule(d, key)
        assert {(m, th) for (m, _, th) in got} == {
            (m, th) for m in ("first_response", "resolution") for th in ("0.5", "0.9", "1")
        }
        assert_agrees_with_a_fresh_clock(d, key)
        # the 90 % of the 2-hour first response: 12 minutes before it is due
        fire, due = got[("first_response", 1, "0.9")]
        assert due - fire == timedelta(minutes=12)
    finally:
        d.engine.dispose()

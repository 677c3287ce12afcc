"""Alerts before breach (issue 10): threshold arithmetic, cycles, pauses, once-only firing
across restarts and racing watchers, met deadlines resolving, escalation, acknowledgement."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from agent_console.desk.alerts import _cycles_due, desired_thresholds
from agent_console.errors import NotFound
from agent_console.sla import load_default_policy
from agent_console.store.models import AlertThreshold, OutboxMessage, SlaAlert, Ticket, TicketEvent
from tests.oncall_helpers import MON_DAY, SAT_NIGHT, Clock, add_team, new_ticket, open_desk


def _count(desk, model, *where) -> int:  # type: ignore[no-untyped-def]
    with desk.read() as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def _ticket(desk, key):  # type: ignore[no-untyped-def]
    with desk.read() as s:
        return desk.ticket_by_key(s, key)


# ------------------------------------------------------------------ arithmetic (pure)
def test_thresholds_on_the_calendar_clock_are_fractions_of_the_target() -> None:
    policy = load_default_policy()
    opened = SAT_NIGHT
    t = Ticket(
        number=1,
        key="SUP-1",
        subject="x",
        requester_id=1,
        priority="critical",
        priority_level=1,
        status="new",
        opened_at=opened,
        updated_at=opened,
        first_response_due=opened + timedelta(hours=2),
        resolution_due=opened + timedelta(hours=8),
    )
    want = desired_thresholds(t, policy, _cycles_due(t, policy, 0))
    assert want[("first_response", 1, "0.5")][0] == opened + timedelta(hours=1)
    assert want[("first_response", 1, "0.8")][0] == opened + timedelta(minutes=96)
    assert want[("first_response", 1, "1")][0] == opened + timedelta(hours=2)
    assert want[("resolution", 1, "0.5")][0] == opened + timedelta(hours=4)
    # Friday 22:00 New York is after hours: a new critical ticket alerts at once
    assert want[("first_response", 1, "arrival")][0] == opened


def test_thresholds_on_the_business_clock_skip_closed_hours() -> None:
    policy = load_default_policy()
    # urgent: 4 business hours; opened Friday 16:00 New York (21:00 UTC)
    opened = datetime(2026, 11, 27, 21, 0, tzinfo=UTC)
    due = policy.add("urgent", opened, 4 * 3600)
    assert due == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)  # Monday 11:00 New York
    t = Ticket(
        number=1,
        key="SUP-1",
        subject="x",
        requester_id=1,
        priority="urgent",
        priority_level=2,
        status="new",
        opened_at=opened,
        updated_at=opened,
        first_response_due=due,
        resolution_due=policy.add("urgent", opened, 45 * 3600),
    )
    want = desired_thresholds(t, policy, _cycles_due(t, policy, 0))
    # 50 % = 2 business hours: Friday 16:00-18:00 New York, i.e. the closing instant
    assert want[("first_response", 1, "0.5")][0] == datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    # 80 % = 3h12m: 2h Friday + 1h12m Monday from 09:00 → 10:12 New York
    assert want[("first_response", 1, "0.8")][0] == datetime(2026, 11, 30, 15, 12, tzinfo=UTC)
    assert ("first_response", 1, "arrival") not in want  # only critical tickets


# ------------------------------------------------------------------ behaviour on a desk
@pytest.fixture
def clock() -> Clock:
    return Clock(SAT_NIGHT)


@pytest.fixture
def adesk(sqlite_url, clock):  # type: ignore[no-untyped-def]
    d = open_desk(sqlite_url, clock)
    add_team(d)
    yield d
    d.engine.dispose()


def test_new_critical_after_hours_alerts_at_once_and_each_threshold_once(adesk, clock) -> None:
    key = new_ticket(adesk)
    tick = adesk.alert_tick()
    assert [(a.key, a.threshold) for a in tick.fired] == [(key, "arrival")]
    assert adesk.alert_tick().fired == []  # not again on the next tick
    clock.advance(minutes=59)
    assert adesk.alert_tick().fired == []
    clock.advance(minutes=1)  # 50 % of the 2-hour first response
    assert [a.threshold for a in adesk.alert_tick().fired] == ["0.5"]
    assert adesk.alert_tick().fired == []
    adesk.acknowledge(key, agent="alice")  # no escalation pending: the next threshold
    assert adesk.alert_tick().next_wake == SAT_NIGHT + timedelta(minutes=96)


def test_business_hours_critical_has_no_arrival_alert(sqlite_url) -> None:
    clock = Clock(MON_DAY)
    d = open_desk(sqlite_url, clock)
    new_ticket(d)
    assert d.alert_tick().fired == []
    d.engine.dispose()


def test_hourly_update_cycles_each_alert_once(adesk, clock) -> None:
    key = new_ticket(adesk)
    adesk.alert_tick()
    adesk.reply(key, "Looking at it", agent="alice")  # first reply: update cycle 1 starts
    clock.advance(minutes=45)  # 15 minutes before the hourly update
    fired = adesk.alert_tick().fired
    assert [(a.metric, a.cycle, a.threshold) for a in fired] == [("next_update", 1, "warn:900")]
    adesk.reply(key, "Still on it", agent="alice")  # update 2: cycle 2
    clock.advance(minutes=45)
    fired = adesk.alert_tick().fired
    assert [(a.metric, a.cycle, a.threshold) for a in fired] == [("next_update", 2, "warn:900")]
    # the first-response alert (arrival) was resolved by the reply: met
    with adesk.read() as s:
        arrival = s.exec(select(SlaAlert).where(SlaAlert.threshold == "arrival")).one()
        assert arrival.resolved_at is not None


def test_paused_ticket_never_alerts_on_resolution(adesk, clock) -> None:
    key = new_ticket(adesk, priority="critical")
    adesk.reply(key, "Need your logs", agent="alice")
    adesk.set_status(key, "pending", agent="alice")  # waiting on the customer
    adesk.alert_tick()
    clock.advance(hours=30)  # far past every resolution threshold
    fired = adesk.alert_tick().fired
    assert not [a for a in fired if a.metric == "resolution"]
    # the default policy pauses the hourly update too (status_update_pauses = true): a
    # ticket waiting on the customer pages nobody
    assert fired == []
    assert (
        _count(
            adesk,
            AlertThreshold,
            AlertThreshold.metric == "resolution",
            AlertThreshold.state == "pending",
        )
        == 0
    )
    adesk.set_status(key, "open", agent="alice")  # resumes with the time that was left
    tick = adesk.alert_tick()
    assert not [a for a in tick.fired if a.metric == "resolution"]
    t = _ticket(adesk, key)
    clock.now = t.resolution_due - timedelta(hours=4) + timedelta(seconds=1)
    assert [a.threshold for a in adesk.alert_tick().fired if a.metric == "resolution"] == ["0.5"]


def test_a_plain_update_cadence_alerts_while_waiting(sqlite_url, clock, tmp_path) -> None:
    """A policy that leaves ``status_update_pauses`` off (a contract may): the hourly
    update runs on while waiting on the customer and alerts; the resolution does not."""
    from agent_console.paths import default_policy_path

    text = default_policy_path().read_text()
    assert text.count("\nstatus_update_pauses = true") == 3
    policy = tmp_path / "plain.toml"
    policy.write_text(
        text.replace("\nstatus_update_pauses = true", "\nstatus_update_pauses = false")
    )
    d = open_desk(sqlite_url, clock, policy=policy)
    add_team(d)
    key = new_ticket(d)
    d.reply(key, "Need your logs", agent="alice")
    d.set_status(key, "pending", agent="alice")
    d.alert_tick()
    clock.advance(hours=30)
    assert [a.metric for a in d.alert_tick().fired] == ["next_update"]
    d.engine.dispose()


def test_thresholds_come_from_the_policy(sqlite_url, clock, tmp_path) -> None:
    from agent_console.paths import default_policy_path

    text = default_policy_path().read_text()
    assert "\nthresholds = [0.5, 0.8, 1.0]\n" in text
    policy = tmp_path / "p.toml"
    policy.write_text(text.replace("\nthresholds = [0.5, 0.8, 1.0]\n", "\nthresholds = [0.25]\n"))
    d = open_desk(sqlite_url, Clock(MON_DAY), policy=policy)
    new_ticket(d)
    d.alert_tick()
    with d.read() as s:
        got = {(r.metric, r.threshold) for r in s.exec(select(AlertThreshold))}
    assert got == {("first_response", "0.25"), ("resolution", "0.25")}
    d.engine.dispose()


def test_once_only_across_a_restart(sqlite_url, clock) -> None:
    d1 = open_desk(sqlite_url, clock)
    new_ticket(d1)
    clock.advance(hours=3)
    first = d1.alert_tick().fired
    assert {a.threshold for a in first} == {"1"}  # lower thresholds superseded, one alert
    d1.engine.dispose()
    d2 = open_desk(sqlite_url, clock)  # a restarted watcher
    assert d2.alert_tick().fired == []
    assert _count(d2, SlaAlert) == 1
    d2.engine.dispose()


def test_acknowledge_stops_escalation_and_is_logged(adesk, clock) -> None:
    key = new_ticket(adesk)
    adesk.alert_tick()
    clock.advance(seconds=adesk.settings.escalate_after)
    esc = adesk.alert_tick().escalated
    assert [a.level for a in esc] == [1]  # primary → secondary
    state = adesk.oncall_now()
    assert "lee" in esc[0].recipients(state) or state.secondary.handle is None
    clock.advance(seconds=adesk.settings.escalate_after)
    assert [a.level for a in adesk.alert_tick().escalated] == [2]  # → leads
    # escalations are the watcher's work: the system actor system:watch (issue 11)
    esc_events = [e for e in adesk.ticket_detail(key).events if e.kind == "alert_escalated"]
    assert len(esc_events) == 2 and {e.agent for e in esc_events} == {"system:watch"}
    assert "lee" in adesk.open_alerts()[0].recipients(adesk.oncall_now())
    acked = adesk.acknowledge(key, agent="alice")
    assert acked[0].acknowledged_by == "alice"
    assert adesk.open_alerts() == []
    assert not acked[0].needs_repeat(clock.now, None, 300)
    with adesk.read() as s:
        assert s.exec(select(TicketEvent).where(TicketEvent.kind == "alert_acknowledged")).first()
    with pytest.raises(NotFound):
        adesk.acknowledge(key, agent="alice")


def test_unacknowledged_critical_alert_repeats_every_five_minutes(adesk, clock) -> None:
    new_ticket(adesk)
    alert = adesk.alert_tick().fired[0]
    assert alert.needs_repeat(clock.now, None, 300)
    assert not alert.needs_repeat(clock.now + timedelta(seconds=299), clock.now, 300)
    assert alert.needs_repeat(clock.now + timedelta(seconds=300), clock.now, 300)


def test_rehearsal_alerts_never_block_real_ones(sqlite_url, clock) -> None:
    real = open_desk(sqlite_url, clock)
    key = new_ticket(real)
    real.engine.dispose()
    from agent_console.desk import Desk
    from agent_console.settings import Settings

    rehearsal = Desk.open(Settings(db_url=sqlite_url, at=SAT_NIGHT + timedelta(hours=3)))
    fired = rehearsal.alert_tick().fired
    assert fired and all(a.rehearsal for a in fired)
    assert rehearsal.alert_tick().fired == []  # once per rehearsal too
    assert _count(rehearsal, OutboxMessage) == 0
    rehearsal.engine.dispose()
    real = open_desk(sqlite_url, clock)
    clock.advance(hours=3)
    assert {a.key for a in real.alert_tick().fired} == {key}  # still fires for real
    assert real.open_alerts() and not any(a.rehearsal for a in real.open_alerts())
    real.engine.dispose()


def test_resolved_ticket_resolves_alerts_and_pages(sqlite_url, clock) -> None:
    d = open_desk(sqlite_url, clock, pagerduty_routing_key="R0UTINGKEY123")
    add_team(d)
    key = new_ticket(d)
    d.alert_tick()
    d.resolve(key, "Restarted the gateway", agent="alice")
    tick = d.alert_tick()
    assert tick.resolved
    with d.read() as s:
        rows = list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [r.payload["event"] for r in rows] == ["trigger", "resolve"]
    assert "R0UTINGKEY123" not in repr([r.payload for r in rows])  # no secret stored
    d.engine.dispose()


def test_breaching_soon_count(adesk, clock) -> None:
    new_ticket(adesk)
    new_ticket(adesk, priority="minor")
    assert adesk.breaching_soon_count(within=3600) == 0
    clock.advance(minutes=61)  # first response due in 59 minutes
    assert adesk.breaching_soon_count(within=3600) == 1


# ------------------------------------------------------------------ racing watchers
def _race(url: str, clock: Clock) -> None:
    setup = open_desk(url, clock, webhook_url="http://127.0.0.1:9/x")
    for i in range(20):
        new_ticket(setup, subject=f"outage {i}")
    setup.engine.dispose()
    clock.advance(hours=3)
    desks = [open_desk(url, clock, webhook_url="http://127.0.0.1:9/x") for _ in range(3)]
    fired: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(desks))

    def run(d) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            for _ in range(3):
                fired.extend(a.id for a in d.alert_tick().fired)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(d,)) for d in desks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(fired) == len(set(fired)) == 20
    assert _count(desks[0], SlaAlert) == 20
    assert _count(desks[0], OutboxMessage) == 20
    for d in desks:
        d.engine.dispose()


def test_two_watchers_racing_sqlite(sqlite_url) -> None:
    _race(sqlite_url, Clock(SAT_NIGHT))


@pytest.mark.postgres
def test_two_watchers_racing_postgres(pg_url) -> None:
    _race(pg_url, Clock(SAT_NIGHT))


@pytest.mark.postgres
def test_alerts_on_postgres(pg_url) -> None:
    clock = Clock(SAT_NIGHT)
    d = open_desk(pg_url, clock)
    add_team(d)
    key = new_ticket(d)
    assert [a.threshold for a in d.alert_tick().fired] == ["arrival"]
    d.reply(key, "On it", agent="alice")
    assert d.alert_tick().resolved
    assert d.alert_tick().fired == []
    d.engine.dispose()


def test_cycles_come_from_the_per_cycle_rows(adesk, clock) -> None:
    """A reopened ticket runs resolution cycle 2 (the sla_cycle rows say so; the stored
    columns alone could not)."""
    key = new_ticket(adesk)
    adesk.reply(key, "On it", agent="alice")
    adesk.resolve(key, "Fixed", agent="alice")
    adesk.alert_tick()
    clock.advance(minutes=5)
    adesk.set_status(key, "open", agent="alice")  # reopened
    clock.advance(hours=9)
    fired = adesk.alert_tick().fired
    assert ("resolution", 2) in {(a.metric, a.cycle) for a in fired}


@pytest.mark.postgres
def test_a_threshold_another_watcher_holds_supersedes_the_earlier_ones_here(pg_url) -> None:
    """PostgreSQL, SKIP LOCKED: while another watcher holds a ticket's furthest due
    threshold, this watcher's earlier thresholds of that cycle are superseded, not fired —
    one alert per crossing even when the batch splits a cycle (the racing-watchers flake)."""
    from sqlalchemy import create_engine, text

    clock = Clock(SAT_NIGHT)
    setup = open_desk(pg_url, clock, webhook_url="http://127.0.0.1:9/x")
    new_ticket(setup, subject="outage")
    setup.engine.dispose()
    clock.advance(hours=3)  # every threshold of the first response is due
    d = open_desk(pg_url, clock, webhook_url="http://127.0.0.1:9/x")
    d.alert_tick()  # builds the schedule and fires
    with d.write() as s:  # back to "nothing fired yet", to replay the race
        s.execute(text("DELETE FROM outbox"))
        s.execute(text("DELETE FROM sla_alert"))
        s.execute(text("UPDATE alert_threshold SET state = 'pending'"))
    with d.read() as s:
        rows = s.exec(select(AlertThreshold).order_by(AlertThreshold.fire_at)).all()
        due = [r for r in rows if r.fire_at <= clock.now and r.metric == "first_response"]
        furthest = max(due, key=lambda r: (r.fire_at, r.id))
    assert len(due) >= 2
    other = create_engine(pg_url)
    with other.connect() as c:
        c.execute(
            text("SELECT id FROM alert_threshold WHERE id = :i FOR UPDATE"), {"i": furthest.id}
        )
        assert d.alert_tick().fired == []  # the earlier ones: superseded, no alert
        c.rollback()
    other.dispose()
    fired = d.alert_tick().fired
    assert [a.threshold for a in fired] == [furthest.threshold]
    d.engine.dispose()

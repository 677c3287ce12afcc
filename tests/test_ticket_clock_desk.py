"""Issue 9 at desk level, on SQLite and PostgreSQL: the failures seen (1: sorted by one
deadline and drawn by another; 2: a past next_update_due before the first reply; 7: a
stopped clock handed out before a running one), the stored running deadline, and the
per-cycle rows the desk commands write."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from agent_console.cli import main
from agent_console.desk import Desk
from agent_console.desk.queue import QueueQuery
from agent_console.settings import Settings
from agent_console.store.models import SlaCycle, Ticket
from agent_console.widgets.sla_timer import ticket_timer
from tests.conftest import FIXED_NOW, throwaway_pg_database
from tests.helpers import Clock

ET = ZoneInfo("America/New_York")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'clock.db'}"
        return
    server = request.getfixturevalue("pg_server")
    with throwaway_pg_database(server) as url:
        yield url


def open_desk(url: str, clock: Clock, policy: Path | None = None, *, agents: bool = True) -> Desk:
    kw = {"policy": policy} if policy is not None else {}
    d = Desk.open(Settings(db_url=url, agent="ann", **kw), clock=clock)
    if agents:
        d.add_agent("ann", "Ann One", 1)
    return d


def new_ticket(d: Desk, priority: str, opened_at: datetime | None = None) -> str:
    return d.create_ticket(
        subject=f"{priority} trouble",
        body="It fails.",
        requester_email="ava@acme.example",
        priority=priority,
        opened_at=opened_at,
    )


def raw(d: Desk, key: str) -> Ticket:
    with d.read() as s:
        return s.exec(select(Ticket).where(Ticket.key == key)).one()


def cycles(d: Desk, key: str) -> list[SlaCycle]:
    tid = raw(d, key).id
    with d.read() as s:
        return list(
            s.exec(
                select(SlaCycle)
                .where(SlaCycle.ticket_id == tid)
                .order_by(SlaCycle.metric, SlaCycle.cycle)  # type: ignore[arg-type]
            )
        )


# ---------------------------------------------------------------- failure 1
def test_failure1_queue_sorts_and_draws_the_same_deadline(db_url: str, tmp_path: Path) -> None:
    """A policy whose critical resolution target (2h) is shorter than its first-response
    target (4h): the queue sorted by the resolution but drew the first response."""
    text = (ROOT / "data" / "sla.toml").read_text()
    start = text.index("[priority.critical]")
    end = text.index("[priority.urgent]")
    critical = (
        '[priority.critical]\nlevel = 1\nclock = "calendar"\nfirst_response = "4h"\n'
        'status_update = "1h"\nresolution = "2h"\n\n'
    )
    policy = tmp_path / "short-resolution.toml"
    policy.write_text(text[:start] + critical + text[end:])
    clock = Clock(FIXED_NOW)
    d = open_desk(db_url, clock, policy)
    try:
        key = new_ticket(d, "critical")
        t = raw(d, key)
        assert t.resolution_due == FIXED_NOW + timedelta(hours=2)
        assert (t.sla_metric, t.next_due) == ("resolution", t.resolution_due)
        (row,) = d.queue_page(QueueQuery(view="all"), 0, 10, FIXED_NOW)
        drawn = ticket_timer(row, d.default_policy, FIXED_NOW, ET).plain
        assert drawn.startswith("RES 2h 00m left"), drawn
    finally:
        d.engine.dispose()


# ---------------------------------------------------------------- failure 2
def test_failure2_next_update_is_null_until_the_first_reply(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock(FIXED_NOW)
    d = open_desk(db_url, clock)
    try:
        key = new_ticket(d, "critical", opened_at=FIXED_NOW - timedelta(hours=3))
        (summary,) = d.list_tickets()
        data = summary.as_json()
        assert data["next_update_due"] is None
        assert data["first_response_due"] is not None
        assert data["due"] == data["first_response_due"]
        detail = d.ticket_detail(key)
        upd = {t.name: t for t in detail.timers(clock())}["next_update"]
        assert upd.state == "idle" and upd.due is None
        d.reply(key, "Looking into it.")
        t = raw(d, key)
        assert t.next_update_due == FIXED_NOW + timedelta(hours=1)
    finally:
        d.engine.dispose()
    if db_url.startswith("sqlite"):
        # the CLI faces: ticket list --json and ticket show
        d = open_desk(db_url, clock, agents=False)
        key2 = new_ticket(d, "critical", opened_at=FIXED_NOW - timedelta(hours=3))
        d.engine.dispose()
        assert main(["--db", db_url, "ticket", "list", "--json"]) == 0
        rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
        assert rows[key2]["next_update_due"] is None
        assert main(["--db", db_url, "ticket", "show", key2]) == 0
        out = capsys.readouterr().out
        (line,) = [x for x in out.splitlines() if "Next update" in x]
        assert "starts with the first public reply" in line and "due" not in line


# ---------------------------------------------------------------- failure 7
def test_failure7_running_clocks_come_before_stopped_ones(db_url: str) -> None:
    """After hours, a minor ticket whose business clock is stopped (breached since
    Wednesday) must not be handed out before a critical 24/7 ticket with 59 min left."""
    friday_evening = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # Fri 18:30 ET: closed
    clock = Clock(friday_evening)
    d = open_desk(db_url, clock)
    try:
        minor = new_ticket(d, "minor", opened_at=datetime(2026, 11, 18, 14, 0, tzinfo=UTC))
        critical = new_ticket(d, "critical", opened_at=friday_evening - timedelta(minutes=61))
        t_minor, t_crit = raw(d, minor), raw(d, critical)
        assert t_minor.next_due < friday_evening < t_crit.next_due  # minor: breached
        assert (t_minor.sla_clock, t_crit.sla_clock) == ("business", "calendar")
        ids = d.queue_ids(QueueQuery(view="unassigned"), friday_evening)
        assert ids == [t_crit.id, t_minor.id]
        keys = [r.key for r in d.queue_page(QueueQuery(view="all"), 0, 10, friday_evening)]
        assert keys == [critical, minor]
        assert [s.key for s in d.list_tickets()] == [critical, minor]
        # during business hours both clocks run: the breached minor comes first again
        monday = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
        assert d.queue_ids(QueueQuery(view="unassigned"), monday) == [t_minor.id, t_crit.id]
        # the patch of an ordering uses the same key
        patched = d.queue_patch(QueueQuery(view="unassigned"), [t_minor.id], [t_crit.id])
        assert patched == [t_crit.id, t_minor.id]
        assert d.claim_next("ann") == [critical]
        assert d.claim_next("ann") == [minor]
    finally:
        d.engine.dispose()


def test_waiting_ticket_without_a_running_clock_goes_last(db_url: str) -> None:
    clock = Clock(FIXED_NOW)
    d = open_desk(db_url, clock)
    try:
        a = new_ticket(d, "critical")
        b = new_ticket(d, "minor")
        d.reply(a, "hi")
        assert raw(d, a).sla_metric == "next_update"
        d.set_status(a, "pending")
        # the default policy pauses the update cadence while waiting on the customer, as
        # it pauses the resolution: no clock runs, so the waiting ticket goes last
        t = raw(d, a)
        assert (t.sla_metric, t.sla_clock, t.next_update_due, t.resolution_due) == (
            "",
            "",
            None,
            None,
        )
        assert d.queue_ids(QueueQuery(view="all"), FIXED_NOW) == [raw(d, b).id, t.id]
        d.resolve(a, "fixed")
        t = raw(d, a)
        assert (t.sla_metric, t.sla_clock) == ("", "")
        assert t.sla_fingerprint == d.default_policy.fingerprint and t.sla_policy == "default"
        assert d.queue_ids(QueueQuery(view="all"), FIXED_NOW) == [raw(d, b).id]
    finally:
        d.engine.dispose()


# ---------------------------------------------------------------- per-cycle rows
def test_cycle_rows_follow_replies_pauses_priority_and_resolution(db_url: str) -> None:
    clock = Clock(FIXED_NOW)
    d = open_desk(db_url, clock)
    try:
        key = new_ticket(d, "critical")
        rows = cycles(d, key)
        assert [(r.metric, r.cycle, r.stopped_at) for r in rows] == [
            ("first_response", 1, None),
            ("resolution", 1, None),
        ]
        assert rows[0].due_at == FIXED_NOW + timedelta(hours=2) and rows[0].target_seconds == 7200
        clock.advance(minutes=30)
        d.reply(key, "first")
        clock.advance(minutes=90)  # the update was due 60 min after the first reply
        d.reply(key, "second")
        by = {(r.metric, r.cycle): r for r in cycles(d, key)}
        fr = by[("first_response", 1)]
        assert fr.met_at == FIXED_NOW + timedelta(minutes=30) and fr.elapsed_seconds == 1800
        upd1, upd2 = by[("next_update", 1)], by[("next_update", 2)]
        assert upd1.breached_at == FIXED_NOW + timedelta(minutes=90) and upd1.met_at is None
        assert upd1.stopped_at == clock() and upd1.elapsed_seconds == 5400
        assert upd2.stopped_at is None and upd2.due_at == clock() + timedelta(hours=1)
        clock.advance(minutes=10)
        d.set_status(key, "pending")
        res = {(r.metric, r.cycle): r for r in cycles(d, key)}[("resolution", 1)]
        assert res.due_at is None and res.stopped_at is None  # paused
        clock.advance(hours=5)
        d.set_status(key, "open")
        res = {(r.metric, r.cycle): r for r in cycles(d, key)}[("resolution", 1)]
        assert res.due_at == FIXED_NOW + timedelta(hours=13)  # 8h + 5h waiting
        d.set_priority(key, "urgent", "not that bad")
        res = {(r.metric, r.cycle): r for r in cycles(d, key)}[("resolution", 1)]
        assert res.target_seconds == 45 * 3600 and res.clock == "business"
        d.set_priority(key, "critical", "it is bad after all")
        clock.advance(minutes=20)
        d.resolve(key, "fixed")
        by = {(r.metric, r.cycle): r for r in cycles(d, key)}
        res = by[("resolution", 1)]
        # 2h10m before waiting, 20m after: 2h30m counted, met
        assert res.met_at == clock() and res.elapsed_seconds == 2 * 3600 + 30 * 60
        assert by[("next_update", 2)].stopped_at == clock()
        clock.advance(hours=1)
        d.set_status(key, "open")  # reopened: a new resolution cycle
        by = {(r.metric, r.cycle): r for r in cycles(d, key)}
        assert (
            by[("resolution", 2)].started_at == clock() and by[("resolution", 2)].stopped_at is None
        )
        # the on-call query: open cycles due before X, along the index
        with d.read() as s:
            due_soon = s.exec(
                select(SlaCycle).where(
                    SlaCycle.stopped_at.is_(None),  # type: ignore[union-attr]
                    SlaCycle.due_at < clock() + timedelta(days=1),  # type: ignore[operator]
                )
            ).all()
        assert {(r.metric, r.cycle) for r in due_soon} == {("resolution", 2), ("next_update", 3)}
    finally:
        d.engine.dispose()


def test_a_reopened_ticket_starts_a_fresh_update_cycle(db_url: str) -> None:
    """Reopening does not show the update overdue at once: the cadence stopped at the
    resolution and a fresh cycle starts at the reopening (stored ``reopened_at``), in the
    stored columns, the running deadline, the timers and the per-cycle rows; a policy
    recompute and a rebuilt clock keep it."""
    clock = Clock(FIXED_NOW)
    d = open_desk(db_url, clock)
    try:
        key = new_ticket(d, "critical")
        clock.advance(minutes=10)
        d.reply(key, "Looking into it.")
        clock.advance(minutes=40)
        d.resolve(key, "fixed")
        reopened = clock.advance(hours=5)  # the old cycle ran out while resolved
        d.set_status(key, "open")
        t = raw(d, key)
        assert t.reopened_at == reopened
        assert t.next_update_due == reopened + timedelta(hours=1)
        assert (t.sla_metric, t.next_due) == ("next_update", reopened + timedelta(hours=1))
        upd = {x.name: x for x in d.ticket_detail(key).timers(clock())}["next_update"]
        assert upd.state == "running" and upd.seconds == 3600
        by = {(r.metric, r.cycle): r for r in cycles(d, key)}
        assert by[("next_update", 1)].met_at is not None  # stopped at the resolution
        fresh = by[("next_update", 2)]
        assert (fresh.started_at, fresh.due_at, fresh.stopped_at) == (
            reopened,
            reopened + timedelta(hours=1),
            None,
        )
        # a reply after the reopening starts the next cycle as always
        clock.advance(minutes=20)
        d.reply(key, "Back on it.")
        assert raw(d, key).next_update_due == clock() + timedelta(hours=1)
        # the pausable cadence (the default policy) pauses while waiting, from that cycle
        d.set_status(key, "pending")
        clock.advance(minutes=5)
        d.set_status(key, "open")
        assert raw(d, key).next_update_due == reopened + timedelta(minutes=80 + 5)
    finally:
        d.engine.dispose()
    # a recompute (sla apply of the policy in force, as the administrator) keeps the
    # reopening's cycle: nothing moves
    admin = Desk.open(Settings(db_url=db_url), clock=clock)
    try:
        report = admin.apply_policy(ROOT / "data" / "sla.toml")
        assert report.recomputed == 1 and report.deadlines_moved == 0
        assert raw(admin, key).next_update_due == reopened + timedelta(minutes=85)
    finally:
        admin.engine.dispose()


def test_a_paused_timer_that_fell_due_says_overdue_in_the_cli() -> None:
    """``ticket show`` of a ticket that breached its resolution and then waits on the
    customer: 'paused, overdue 15m 28s', never 'paused, 15m 28s left'."""
    from agent_console.views import TimerState

    late = TimerState("resolution", "Resolution", None, "paused", seconds=-928)
    assert late.text == "paused, overdue 15m 28s"
    early = TimerState("resolution", "Resolution", None, "paused", seconds=928)
    assert early.text == "paused, 15m 28s left"


def test_a_waiting_ticket_shows_the_update_time_left_when_it_resumes(db_url: str) -> None:
    """The default policy pauses the update cadence while waiting: the ticket screen's
    timer says how much of the cycle is left when it resumes (as for the resolution)."""
    from agent_console.widgets.ticket_format import timer_text

    clock = Clock(FIXED_NOW)
    d = open_desk(db_url, clock)
    try:
        key = new_ticket(d, "critical")
        d.reply(key, "Can you send the logs?")
        clock.advance(minutes=20)
        preview = d.preview_status(key, "pending").text
        assert preview.startswith("Pending stops the resolution clock: 7h 40m left")
        assert preview.endswith("The status-update clock stops too (40m 00s left).")
        d.set_status(key, "pending")
        clock.advance(hours=3)
        detail = d.ticket_detail(key)
        upd = {t.name: t for t in detail.timers(clock())}["next_update"]
        assert (upd.state, upd.seconds) == ("paused", 40 * 60)
        text = timer_text(upd, detail, UTC, clock()).plain
        assert "paused" in text and "40m 00s left when it resumes" in text
    finally:
        d.engine.dispose()


def test_seeded_tickets_have_their_current_cycles(seeded_desk: Desk) -> None:
    """Seeding writes the current cycle of each started metric, so the on-call watcher
    and the metrics screen see demo data too; an open cycle's due is the stored one."""
    with seeded_desk.read() as s:
        tickets = {t.id: t for t in s.exec(select(Ticket))}
        rows = list(s.exec(select(SlaCycle)))
    assert rows
    open_rows = {(r.ticket_id, r.metric): r for r in rows if r.stopped_at is None}
    for t in tickets.values():
        if t.sla_metric:
            assert open_rows[(t.id, t.sla_metric)].due_at == t.next_due
        if not t.is_open:
            assert not any(tid == t.id for tid, _ in open_rows)
    stopped = [r for r in rows if r.stopped_at is not None]
    assert all((r.met_at is None) != (r.breached_at is None) for r in stopped)


# ---------------------------------------------------------------- the queue screen
async def test_queue_screen_reorders_when_the_desk_closes(tmp_path: Path) -> None:
    """The urgency groups change when a business clock stops: at 18:00 ET the minor
    ticket (business clock, breached) drops below the critical 24/7 one without any
    ticket changing, and the screen reads the ordering again."""
    from agent_console.app import create_app
    from agent_console.screens.queue import QueueScreen
    from agent_console.widgets.queue_table import QueueTable
    from tests.helpers import settle_queue as settle

    before_close = datetime(2026, 11, 20, 22, 59, 50, tzinfo=UTC)  # Fri 17:59:50 ET
    clock = Clock(before_close)
    url = f"sqlite:///{tmp_path / 'screen.db'}"
    d = Desk.open(Settings(db_url=url, agent="alice"), clock=clock)
    d.add_agent("alice", "Alice One", 1)
    minor = new_ticket(d, "minor", opened_at=datetime(2026, 11, 18, 14, 0, tzinfo=UTC))
    critical = new_ticket(d, "critical", opened_at=before_close - timedelta(minutes=30))
    ids = {raw(d, k).id: k for k in (minor, critical)}
    app = create_app(
        Settings(db_url=url, agent="alice"),
        desk=Desk(d.engine, Settings(db_url=url, agent="alice")),
        clock=clock,
        offer_demo=False,
    )
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await settle(pilot)
        assert isinstance(screen, QueueScreen)
        table = screen.query_one(QueueTable)
        assert [ids[i] for i in table.ids] == [minor, critical]
        clock.now = before_close + timedelta(seconds=20)  # 18:00:10 ET: closed
        screen._tick()
        screen = await settle(pilot)
        assert [ids[i] for i in screen.query_one(QueueTable).ids] == [critical, minor]
    d.engine.dispose()


async def test_priority_dialog_previews_the_running_deadline(tmp_path: Path) -> None:
    """``p``: each other priority shows the deadline the ticket clock would run under it
    (recomputed from the opening), before anything is written."""
    from textual.widgets import OptionList

    from tests.helpers import make_desk, open_ticket
    from tests.helpers import make_ticket_app as ticket_app

    settings = Settings(db_url=f"sqlite:///{tmp_path / 'p.db'}", now=FIXED_NOW)
    d = make_desk(settings, "ann")
    key = new_ticket(d, "minor")
    app = ticket_app(d)
    async with app.run_test(size=(160, 45)) as pilot:
        await open_ticket(pilot, key)
        await pilot.press("p")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(3)]
        # critical: first response 2h on the 24/7 clock from the opening (Mon 09:00 ET)
        assert "→ FR due Mon 11:00 ET" in labels[0], labels[0]
        assert "→ FR due Mon 13:00 ET" in labels[1], labels[1]  # urgent: 4 business h
        assert "→" not in labels[2]  # the current priority
    d.engine.dispose()

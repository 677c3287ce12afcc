"""The on-call screen and alerts in the TUI (issue 10): the board the desk reads (after hours
and during hours, SQLite and PostgreSQL), the screen's contents at an injected now, an alert
toast and acknowledging it with ``A``, repeats and escalation, the bell, the shared header
(count, rehearsal mark, priorities, 80 columns), a tick that never queries, snapshots."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlmodel import func, select
from textual.pilot import Pilot
from textual.widgets import DataTable, Digits, Static

from agent_console.app import AgentConsoleApp, AlertsPolled, create_app
from agent_console.cli.watch_cmd import Watcher
from agent_console.desk import AlertRow, Desk
from agent_console.desk.oncall_view import (
    AlertToasts,
    after_hours_window,
    last_closing,
    oncall_board,
)
from agent_console.screens.oncall import AlertAcknowledged, BoardLoaded, OncallScreen
from agent_console.sla import load_default_policy
from agent_console.store.models import SlaAlert, Ticket
from agent_console.widgets.console_header import ConsoleHeader, HeaderNotices
from agent_console.widgets.oncall_panels import countdown
from agent_console.widgets.oncall_tickets import OncallTickets
from tests.helpers import wait_for
from tests.oncall_helpers import (
    MON_DAY,
    SAT_NIGHT,
    Clock,
    add_team,
    alert_row,
    new_ticket,
    oncall_state,
    open_desk,
)

#: Friday 27 Nov 2026 18:00 New York (23:00 UTC): the desk closed; Monday 09:00 it opens
FRI_CLOSE = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
MON_OPEN = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


# ------------------------------------------------------------------ pure
def test_after_hours_window_is_last_closing_to_next_opening() -> None:
    policy = load_default_policy()
    assert last_closing(policy, SAT_NIGHT) == FRI_CLOSE
    assert after_hours_window(policy, SAT_NIGHT) == (FRI_CLOSE, MON_OPEN)
    assert after_hours_window(policy, MON_DAY) is None  # open: no after-hours window


def test_countdown_digits() -> None:
    assert countdown(0) == "0:00:00"
    assert countdown(2 * 3600 + 5) == "2:00:05"
    assert countdown(-(12 * 60 + 3)) == "-0:12:03"
    assert countdown(30 * 3600) == "30:00:00"


def _alert(**kw: object) -> AlertRow:
    return alert_row(subject="s", cycle=0, threshold="0.5", **kw)


_state = oncall_state


def test_toasts_once_then_every_five_minutes_and_again_on_escalation() -> None:
    state = _state()
    alice, bob = AlertToasts("alice", 300), AlertToasts("bob", 300)
    a = _alert()
    assert alice.due([a], state, SAT_NIGHT) == [a]
    assert bob.due([a], state, SAT_NIGHT) == []  # level 0 concerns the primary only
    assert alice.due([a], state, SAT_NIGHT + timedelta(seconds=299)) == []
    assert alice.due([a], state, SAT_NIGHT + timedelta(seconds=300)) == [a]
    up = _alert(level=1)  # escalated: the secondary now, and the primary hears it again
    assert bob.due([up], state, SAT_NIGHT + timedelta(seconds=310)) == [up]
    assert alice.due([up], state, SAT_NIGHT + timedelta(seconds=310)) == [up]
    # a non-critical alert is shown once, never repeated
    minor = _alert(id=2, priority="urgent", assignee="carol")
    carol = AlertToasts("carol", 300)
    assert carol.due([minor], state, SAT_NIGHT) == [minor]
    assert carol.due([minor], state, SAT_NIGHT + timedelta(hours=1)) == []
    # acknowledged here: never again, even from a read that raced the acknowledgement
    alice.forget([1])
    assert alice.due([up], state, SAT_NIGHT + timedelta(hours=1)) == []


def test_header_notice_priorities_and_80_columns() -> None:
    n = HeaderNotices(outage="database unavailable", rehearsal=True, breaching=3, mail_failures=2)
    assert "database unavailable" in n.winner().plain  # type: ignore[union-attr]
    n.outage = None
    assert "REHEARSAL" in n.winner().plain  # type: ignore[union-attr]
    n.rehearsal = False
    assert "3 critical breaching" in n.winner().plain  # type: ignore[union-attr]
    n.breaching = 0
    assert "2 mails not sent" in n.winner().plain  # type: ignore[union-attr]
    n.mail_failures = 0
    assert n.winner() is None
    # outside text in the outage line is shown, never obeyed
    n.outage = "db \x1b[2J down"
    assert "\x1b" not in n.winner().plain  # type: ignore[union-attr]

    h = ConsoleHeader("On call")
    h.set_agent("alice", "Alice Moreno", 1, lead=True, demo=True)
    h.set_policy(load_default_policy())
    for notices in (
        HeaderNotices(outage="database x unavailable: connection refused"),
        HeaderNotices(rehearsal=True, breaching=12),
        HeaderNotices(breaching=123),
        HeaderNotices(mail_failures=7),
    ):
        h.notices = notices
        line = h.line_text(SAT_NIGHT, 78).plain  # 80 columns less the header's padding
        assert len(line) <= 78, line
        assert "alice" in line and "closed" in line and "22:00:00" in line
        # 80 columns: the tight form (an outage keeps its whole text only while it fits)
        assert notices.winner(compact=True, tight=True).plain.strip() in line  # type: ignore[union-attr]


# ------------------------------------------------------------------ the board (desk)
def _team_desk(url: str, clock: Clock, **settings: object) -> Desk:
    d = open_desk(url, clock, **settings)
    add_team(d)
    d.set_rota("alice,bob", level="primary", agent="lee")
    d.set_rota("bob,alice", level="secondary", agent="lee")
    return d


def _expected(desk: Desk, now: datetime, window: tuple[datetime, datetime] | None) -> list[str]:
    """The rule, read the slow way: every open ticket, filtered in Python."""
    with desk.read() as s:
        tickets = list(s.exec(select(Ticket).where(Ticket.is_open == True)))  # noqa: E712
    keep = [
        t
        for t in tickets
        if t.priority == "critical"
        or (window is not None and t.next_due is not None and window[0] <= t.next_due <= window[1])
    ]
    keep.sort(key=lambda t: (t.next_due, t.priority_level, t.id))
    # running clocks first (a business clock is stopped after hours)
    keep.sort(key=lambda t: not desk.default_policy.is_running(t.priority, now))
    return [t.key for t in keep]


def _board_checks(url: str) -> None:
    clock = Clock(SAT_NIGHT - timedelta(hours=30))
    desk = _team_desk(url, clock)
    try:
        desk.seed(120, seed=5, now=clock.now, append=True)
        # urgent (4 business hours): opened Fri 14:00 New York, due at closing, Fri 18:00 —
        # inside the window; opened Fri 16:00, due Mon 11:00 — outside it
        clock.now = FRI_CLOSE - timedelta(hours=4)
        at_closing = new_ticket(desk, "urgent", "Due at closing")
        clock.now = FRI_CLOSE - timedelta(hours=2)
        monday = new_ticket(desk, "urgent", "Due on Monday")
        clock.now = SAT_NIGHT - timedelta(minutes=10)
        fresh = new_ticket(desk, subject="Checkout [/down] \x1b[31m")
        clock.now = SAT_NIGHT
        board = oncall_board(desk)
        assert board.window == (FRI_CLOSE, MON_OPEN)
        keys = [r.key for r in board.tickets]
        assert keys == _expected(desk, SAT_NIGHT, board.window)
        assert fresh in keys and board.total == len(keys)
        assert at_closing in keys and monday not in keys
        assert board.oncall.primary.handle == "alice" and not board.oncall.business_open
        assert board.maintenance is not None and board.maintenance[0] > SAT_NIGHT
        # during business hours: the open critical tickets only
        clock.now = MON_OPEN + timedelta(hours=1)
        day = oncall_board(desk)
        assert day.window is None
        assert [r.key for r in day.tickets] == _expected(desk, clock.now, None)
        assert all(r.priority == "critical" for r in day.tickets)
        # the limit keeps the soonest and counts the rest
        few = oncall_board(desk, SAT_NIGHT, limit=2)
        assert [r.key for r in few.tickets] == keys[:2] and few.total == len(keys)
    finally:
        desk.engine.dispose()


def test_board_sqlite(sqlite_url: str) -> None:
    _board_checks(sqlite_url)


@pytest.mark.postgres
def test_board_postgres(pg_url: str) -> None:
    _board_checks(pg_url)


# ------------------------------------------------------------------ the screen (Pilot)
def _app(desk: Desk, clock: Clock, agent: str = "alice", **kw: object) -> AgentConsoleApp:
    settings = desk.settings.with_(agent=agent)
    return create_app(
        settings,
        desk=Desk(desk.engine, settings, clock=clock),
        clock=clock,
        offer_demo=False,
        **{"alert_poll": 0.1, **kw},
    )


def _hook(messages: list) -> object:  # type: ignore[type-arg]
    def hook(m: object) -> None:
        messages.append(m)

    return hook


@pytest.fixture
def night(sqlite_url: str):  # type: ignore[no-untyped-def]
    clock = Clock(SAT_NIGHT - timedelta(hours=30))
    desk = _team_desk(sqlite_url, clock)
    desk.seed(80, seed=11, now=clock.now, append=True)
    clock.now = FRI_CLOSE - timedelta(hours=4)
    new_ticket(desk, "urgent", "Invoices stuck in review (due at closing)")
    clock.now = SAT_NIGHT - timedelta(hours=3)
    new_ticket(desk, "critical", "Payments down since 21:00")
    clock.now = SAT_NIGHT - timedelta(minutes=40)
    desk.create_ticket(
        subject="Card terminal [bold]offline[/bold] \x1b[2J",
        body="x",
        requester_email="ops@example.com",
        priority="critical",
    )
    clock.now = SAT_NIGHT
    yield desk, clock
    desk.engine.dispose()


async def test_screen_after_hours_shows_window_countdown_oncall_and_timers(night) -> None:  # type: ignore[no-untyped-def]
    desk, clock = night
    msgs: list[object] = []
    app = _app(desk, clock, alerts=False)
    async with app.run_test(size=(160, 50), message_hook=_hook(msgs)) as pilot:
        screen = await _oncall_with(pilot, msgs)
        board = screen.board
        assert board is not None and board.window == (FRI_CLOSE, MON_OPEN)
        keys = _expected(desk, SAT_NIGHT, board.window)
        lst = screen.query_one(OncallTickets)
        assert [r.key for r in lst.rows] == keys
        # the most urgent one, in large digits: time left on its running deadline
        top = lst.rows[0]
        policy = desk.policy_named(top.policy)
        seconds = policy.elapsed(top.priority, SAT_NIGHT, top.next_due)
        assert str(screen.query_one(Digits).value) == countdown(seconds)
        title = str(screen.query_one("#urgent-title", Static).render())
        assert top.key in title
        info = str(screen.query_one("#oncall-info", Static).render())
        assert "alice" in info and "bob" in info and "until Mon 09:00" in info
        assert "closed until Mon 09:00 ET" in info and "lee" in info
        assert "Maint." in info
        tickets_title = str(screen.query_one("#tickets-title", Static).render())
        assert "after hours" in tickets_title and "Fri 18:00–Mon 09:00" in tickets_title
        # three timers per ticket; customer text literal
        header = "".join(s.text for s in lst.render_line(0))
        assert "First reply" in header and "Next update" in header and "Resolution" in header
        body = "\n".join("".join(s.text for s in lst.render_line(y)) for y in range(1, 1 + len(keys)))
        assert "[bold]offline[/bold] \\x1b[2J" in body and "\x1b" not in body
        # a second later only the formatting moved
        clock.now = SAT_NIGHT + timedelta(seconds=1)
        screen._tick()
        assert str(screen.query_one(Digits).value) == countdown(seconds - 1)


async def _oncall_with(pilot: Pilot, msgs: list[object]) -> OncallScreen:
    n = sum(isinstance(m, BoardLoaded) for m in msgs)
    await pilot.press("3")
    await wait_for(
        pilot,
        lambda: sum(isinstance(m, BoardLoaded) for m in msgs) > n
        and isinstance(pilot.app.screen, OncallScreen),
    )
    await pilot.pause(0.1)
    return pilot.app.screen  # type: ignore[return-value]


async def test_screen_during_business_hours_lists_critical_only(night) -> None:  # type: ignore[no-untyped-def]
    desk, clock = night
    clock.now = MON_OPEN + timedelta(hours=2)
    msgs: list[object] = []
    app = _app(desk, clock, alerts=False)
    async with app.run_test(size=(160, 50), message_hook=_hook(msgs)) as pilot:
        screen = await _oncall_with(pilot, msgs)
        lst = screen.query_one(OncallTickets)
        assert [r.key for r in lst.rows] == _expected(desk, clock.now, None)
        assert all(r.priority == "critical" for r in lst.rows)
        info = str(screen.query_one("#oncall-info", Static).render())
        assert "open until 18:00 ET" in info
        assert "business hours are open" in str(screen.query_one("#tickets-title", Static).render())


async def test_tick_never_queries(night) -> None:  # type: ignore[no-untyped-def]
    desk, clock = night
    msgs: list[object] = []
    app = _app(desk, clock, alerts=False)
    async with app.run_test(size=(120, 40), message_hook=_hook(msgs)) as pilot:
        screen = await _oncall_with(pilot, msgs)
        await app.workers.wait_for_complete()
        statements: list[str] = []

        def count(conn, cursor, statement, *a):  # type: ignore[no-untyped-def]
            statements.append(statement)

        engine = app.desk.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            for _ in range(3):
                clock.now += timedelta(seconds=1)
                screen._tick()
                await pilot.pause(0.02)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert statements == []


async def test_enter_opens_the_selected_ticket(night) -> None:  # type: ignore[no-untyped-def]
    from agent_console.screens.ticket import TicketScreen

    desk, clock = night
    msgs: list[object] = []
    app = _app(desk, clock, alerts=False)
    async with app.run_test(size=(160, 50), message_hook=_hook(msgs)) as pilot:
        screen = await _oncall_with(pilot, msgs)
        lst = screen.query_one(OncallTickets)
        await pilot.press("down")
        want = lst.rows[1].key
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TicketScreen))
        assert app.screen.key == want  # type: ignore[attr-defined]


async def test_alert_toast_bell_and_acknowledge_with_A(night) -> None:  # type: ignore[no-untyped-def]
    desk, clock = night
    # a critical ticket arriving now (its alert is fresh: toasted on its own, subject
    # literal); the fixture's older ones are folded into one summary toast
    desk.create_ticket(
        subject="Vault [red]alarm[/red] \x1b[5m",
        body="x",
        requester_email="vault@example.com",
        priority="critical",
    )
    msgs: list[object] = []
    app = _app(desk, clock)
    bells: list[float] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(160, 50), notifications=True, message_hook=_hook(msgs)) as pilot:
        await wait_for(pilot, lambda: any(isinstance(m, AlertsPolled) for m in msgs))
        await pilot.pause(0.1)
        toasts = [n.message for n in app._notifications]
        assert any("Vault [red]alarm[/red]" in t for t in toasts), toasts
        assert any(t.startswith("2 open alerts (") for t in toasts), toasts
        assert len(toasts) == 2
        assert not any("\x1b" in t for t in toasts)
        assert bells
        # the shared header counts the critical tickets breaching within the hour
        count = desk.breaching_soon_count(now=SAT_NIGHT)
        assert count >= 1 and app.header_notices.breaching == count
        line = str(app.screen.query_one("#header-line").render())
        assert f"{count} critical breaching within 1h" in line

        screen = await _oncall_with(pilot, msgs)
        table = screen.query_one("#alerts", DataTable)
        open_rows = desk.open_alerts()
        assert table.row_count == len(open_rows) >= 1
        first = screen.selected_alert
        assert first is not None and first.acknowledged_at is None
        await pilot.press("A")
        await wait_for(pilot, lambda: any(isinstance(m, AlertAcknowledged) for m in msgs))
        with desk.read() as s:
            row = s.get(SlaAlert, first.id)
            assert row is not None and row.acknowledged_at is not None
        assert first.id in {a.id for a in desk.open_alerts(include_acknowledged=True)}
        assert first.id not in {a.id for a in desk.open_alerts()}
        # the screen reads the board again: the alert stays listed, acknowledged by alice
        await wait_for(pilot, lambda: screen._alerts.get(first.id) is not None
                    and screen._alerts[first.id].acknowledged_by == "alice")
        row_index = screen._alert_ids.index(first.id)
        assert "✓ alice" in str(table.get_row_at(row_index)[0])
        assert first.id not in app.toasts.shown  # no repeat of an acknowledged alert


async def test_unacknowledged_critical_alert_repeats_after_five_minutes(night) -> None:  # type: ignore[no-untyped-def]
    desk, clock = night
    msgs: list[object] = []
    app = _app(desk, clock, agent="alice")
    async with app.run_test(size=(120, 40), notifications=True, message_hook=_hook(msgs)) as pilot:
        await wait_for(pilot, lambda: any(isinstance(m, AlertsPolled) for m in msgs))
        await pilot.pause(0.2)
        shown = len(app._notifications)
        assert shown >= 1
        app.clear_notifications()
        await pilot.pause(0.5)  # more passes, same minute: nothing again
        assert not app._notifications
        clock.now += timedelta(minutes=5)
        await wait_for(pilot, lambda: bool(app._notifications))


async def test_alerts_do_not_toast_agents_they_do_not_concern(night) -> None:  # type: ignore[no-untyped-def]
    desk, clock = night
    msgs: list[object] = []
    app = _app(desk, clock, agent="carol")
    app.bell = lambda: (_ for _ in ()).throw(AssertionError("bell"))  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40), notifications=True, message_hook=_hook(msgs)) as pilot:
        await wait_for(pilot, lambda: sum(isinstance(m, AlertsPolled) for m in msgs) >= 2)
        assert not [n for n in app._notifications if "Alert" in n.title]


async def test_a_watcher_fires_and_the_console_only_shows_it(night) -> None:  # type: ignore[no-untyped-def]
    """Two consoles and a watcher: the desk claims every alert, so the watcher's pass and
    the consoles' passes never fire one twice; each console still shows it."""
    desk, clock = night
    watcher_desk = Desk(desk.engine, desk.settings, clock=clock)
    out = io.StringIO()
    fired = Watcher(watcher_desk, poll=0.05, out=out).pass_once()
    assert fired >= 1
    with desk.read() as s:
        before = int(s.exec(select(func.count()).select_from(SlaAlert)).one())
    apps = [_app(desk, clock, agent="alice"), _app(desk, clock, agent="bob")]
    seen: list[list[str]] = []
    for app in apps:
        msgs: list[object] = []
        async with app.run_test(size=(120, 40), notifications=True, message_hook=_hook(msgs)) as pilot:
            await wait_for(pilot, lambda m=msgs: sum(isinstance(x, AlertsPolled) for x in m) >= 2)
            polled = [m for m in msgs if isinstance(m, AlertsPolled)]
            assert all(not p.tick.fired for p in polled)  # the watcher had fired them
            seen.append([n.message for n in app._notifications])
        await asyncio.sleep(0)
    with desk.read() as s:
        assert int(s.exec(select(func.count()).select_from(SlaAlert)).one()) == before
    assert seen[0]  # alice, the primary: toasted
    assert not seen[1]  # bob (secondary): not before escalation


async def test_bell_can_be_turned_off(night) -> None:  # type: ignore[no-untyped-def]
    desk, clock = night
    msgs: list[object] = []
    desk.settings = desk.settings.with_(alert_bell=False)
    app = _app(desk, clock)
    app.bell = lambda: (_ for _ in ()).throw(AssertionError("bell"))  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40), notifications=True, message_hook=_hook(msgs)) as pilot:
        await wait_for(pilot, lambda: any(isinstance(m, AlertsPolled) for m in msgs))
        await pilot.pause(0.1)
        assert app._notifications


async def test_rehearsal_mark_and_clock(night) -> None:  # type: ignore[no-untyped-def]
    desk, _clock = night
    settings = desk.settings.with_(agent="alice", at=SAT_NIGHT + timedelta(days=1))
    rehearsal = Desk(desk.engine, settings)
    app = create_app(settings, desk=rehearsal, offer_demo=False, alert_poll=0.1)
    msgs: list[object] = []
    async with app.run_test(size=(80, 24), message_hook=_hook(msgs)) as pilot:
        await wait_for(pilot, lambda: any(isinstance(m, AlertsPolled) for m in msgs))
        # the screens' clock is the rehearsal desk's
        assert abs((app.now() - (SAT_NIGHT + timedelta(days=1))).total_seconds()) < 30
        line = str(app.screen.query_one("#header-line").render())
        assert "REHEARSAL" in line and len(line) <= 78
        assert "crit" not in line  # the rehearsal mark wins over the breaching count
        screen = await _oncall_with(pilot, msgs)
        assert "Rehearsal" in str(screen.query_one("#oncall-info", Static).render())


def test_bell_setting_from_the_config_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from agent_console.errors import UserError
    from agent_console.settings import resolve_settings

    cfg = tmp_path / "config.toml"
    env = {"AGENT_CONSOLE_CONFIG": str(cfg)}
    assert resolve_settings(env=env).alert_bell is True
    cfg.write_text("bell = false\n")
    assert resolve_settings(env=env).alert_bell is False
    cfg.write_text('bell = "no"\n')
    with pytest.raises(UserError, match="bell must be true or false"):
        resolve_settings(env=env)


async def test_console_delivers_the_webhook_once(sqlite_url: str, httpserver) -> None:  # type: ignore[no-untyped-def]
    """With a webhook configured and no watcher running, the console's own worker delivers
    the outbox — once, however many passes run."""
    import json

    from werkzeug import Request, Response

    got: list[dict] = []  # type: ignore[type-arg]

    def record(request: Request) -> Response:
        got.append(json.loads(request.data))
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(record)
    clock = Clock(SAT_NIGHT)
    desk = _team_desk(sqlite_url, clock, webhook_url=httpserver.url_for("/hook"))
    key = new_ticket(desk)
    app = _app(desk, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: bool(got))
        await wait_for(pilot, lambda: app.alert_passes >= 4)
        await app.workers.wait_for_complete()
    assert [g["ticket"] for g in got] == [key]
    assert got[0]["threshold"] == "arrival"
    desk.engine.dispose()


async def test_outage_notice_wins_and_clears(night) -> None:  # type: ignore[no-untyped-def]
    """The alert pass cannot read the database: the header's outage notice (over the
    breaching count) and one notification; when it can again, the notice goes."""
    desk, clock = night
    app = _app(desk, clock)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.alert_passes >= 1)
        assert app.header_notices.breaching >= 1
        with desk.engine.begin() as c:
            c.exec_driver_sql("ALTER TABLE sla_alert RENAME TO sla_alert_away")
        try:
            await wait_for(pilot, lambda: app.header_notices.outage is not None)
            line = str(app.screen.query_one("#header-line").render())
            assert "⚠" in line and "breaching" not in line
            assert any(n.title == "Alerts paused" for n in app._notifications)
        finally:
            with desk.engine.begin() as c:
                c.exec_driver_sql("ALTER TABLE sla_alert_away RENAME TO sla_alert")
        app.run_alert_pass()
        await wait_for(pilot, lambda: app.header_notices.outage is None)
        assert "breaching" in str(app.screen.query_one("#header-line").render())

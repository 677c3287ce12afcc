"""On call at a new user's first start (issue 10/12 audit): the header's breaching count
before the first (possibly long) alert pass ends, alerts for breaches long past folded into
one summary toast, one short toast on a small terminal, one level name on the screen and in
`oncall show`."""

from __future__ import annotations

import threading
from datetime import timedelta

from agent_console.desk import AlertRow
from agent_console.desk.oncall_view import (
    COMPACT_TOAST_SECONDS,
    TOAST_SPREE,
    AlertToasts,
)
from agent_console.widgets.oncall_panels import alert_cells
from tests.helpers import wait_for
from tests.oncall_helpers import SAT_NIGHT, alert_row, oncall_state
from tests.test_oncall_screen import _app, _hook, night  # noqa: F401 (fixture)


def _alert(i: int, *, crossed_ago: float = 0.0, **kw: object) -> AlertRow:
    return alert_row(i, crossed_ago=crossed_ago, **kw)


_state = oncall_state


def test_breaches_long_past_fold_into_one_summary_toast() -> None:
    """The first `--demo` start: fifteen alerts for breaches hours old are one toast."""
    toasts = AlertToasts("alice", 300)
    old = [_alert(i, crossed_ago=3 * 3600) for i in range(1, 16)]
    shown = toasts.toasts(old, _state(), SAT_NIGHT)
    assert len(shown) == 1
    assert shown[0].message.startswith("15 open alerts (SUP-1, SUP-2, SUP-3 +12)")
    assert "press 3" in shown[0].message
    # nothing again on the next pass, nor the one after (no per-alert toasts later)
    assert toasts.toasts(old, _state(), SAT_NIGHT + timedelta(seconds=2)) == []


def test_fresh_alerts_toast_one_by_one_beside_the_summary() -> None:
    toasts = AlertToasts("alice", 300)
    alerts = [_alert(1, crossed_ago=5), _alert(2, crossed_ago=7200), _alert(3, crossed_ago=9000)]
    shown = toasts.toasts(alerts, _state(), SAT_NIGHT)
    assert [t.title for t in shown] == ["Alert #1 · critical", "Alerts"]
    assert shown[0].message == "SUP-1 first reply breached — subject 1"
    assert shown[1].message.startswith("2 open alerts (SUP-2, SUP-3)")
    # more fresh ones than TOAST_SPREE at once: one summary
    many = [_alert(10 + i, crossed_ago=1) for i in range(TOAST_SPREE + 1)]
    out = AlertToasts("alice", 300).toasts(many, _state(), SAT_NIGHT)
    assert len(out) == 1 and out[0].message.startswith(f"{TOAST_SPREE + 1} open alerts")


def test_repeats_of_several_unacknowledged_alerts_are_one_toast() -> None:
    toasts = AlertToasts("alice", 300)
    alerts = [_alert(1, crossed_ago=1), _alert(2, crossed_ago=1)]
    assert len(toasts.toasts(alerts, _state(), SAT_NIGHT)) == 2
    later = toasts.toasts(alerts, _state(), SAT_NIGHT + timedelta(minutes=5))
    assert len(later) == 1 and later[0].message.startswith("2 open alerts")


def test_small_terminal_gets_one_short_toast() -> None:
    alerts = [_alert(1, crossed_ago=1), _alert(2, crossed_ago=1)]
    shown = AlertToasts("alice", 300).toasts(alerts, _state(), SAT_NIGHT, compact=True)
    assert len(shown) == 1
    assert shown[0].message == "2 alerts: SUP-1 +1 — 3 on call"  # one line at 80 columns
    assert shown[0].timeout == COMPACT_TOAST_SECONDS
    one = AlertToasts("alice", 300).toasts([_alert(7, crossed_ago=1)], _state(), SAT_NIGHT, compact=True)
    assert [(t.title, t.message) for t in one] == [("Alert #7", "SUP-7 first reply breached")]
    assert len(one[0].message) <= 36  # fits a toast on an 80-column terminal, no subject


def test_level_name_is_one_rule_for_the_screen_and_the_cli() -> None:
    crit = _alert(1, level=1)
    minor = _alert(2, priority="minor")
    assert crit.level_name == "secondary" and minor.level_name is None
    zone = SAT_NIGHT.tzinfo
    assert str(alert_cells(crit, zone, SAT_NIGHT)[5]) == "secondary"  # type: ignore[arg-type]
    assert str(alert_cells(minor, zone, SAT_NIGHT)[5]) == "—"  # type: ignore[arg-type]


async def test_header_count_shows_before_a_long_first_alert_pass(night) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The first pass on a large database builds the alert schedule (a minute on 100,000
    tickets): the header's breaching count must not wait for it."""
    desk, clock = night
    release = threading.Event()
    real_tick = desk.alert_tick
    app = _app(desk, clock)

    def slow_tick(now=None):  # type: ignore[no-untyped-def]
        release.wait(20)
        return real_tick(now)

    app.desk.alert_tick = slow_tick  # type: ignore[method-assign]
    count = desk.breaching_soon_count(now=clock.now)
    assert count >= 1
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.header_notices.breaching == count)
            await pilot.pause(0.1)
            line = str(app.screen.query_one("#header-line").render())
            assert f"▲{count} crit <1h" in line
            assert app.alert_passes == 0  # the pass itself is still running
            release.set()
            await wait_for(pilot, lambda: app.alert_passes >= 1)
    finally:
        release.set()


def test_timers_at_80_columns_are_whole_and_paused_ones_say_opens() -> None:
    """The queue's tight timer (80 columns) fits 24 cells whole; a stopped clock's time is
    never a bare wall-clock time that reads as the due instant."""
    from agent_console.sla import load_default_policy
    from agent_console.widgets.sla_timer import deadline_text

    policy = load_default_policy()
    zone = policy.tz
    at = SAT_NIGHT  # Friday 22:00 New York: the business clock is stopped
    cases = [
        ("critical", at + timedelta(minutes=59, seconds=49), 7200),  # runs (24/7)
        ("critical", at - timedelta(hours=400), 3600),  # long overdue
        ("minor", at + timedelta(days=3), 8 * 3600),  # paused, time left
        ("minor", at - timedelta(hours=20), 8 * 3600),  # paused, overdue
        ("critical", at + timedelta(days=9, hours=45), 7200),  # runs, due in 10 days
    ]
    for priority, due, target in cases:
        tight = deadline_text(policy, priority, due, target, at, zone, label="UPD", tight=True)
        assert tight.cell_len <= 24, tight.plain
        compact = deadline_text(policy, priority, due, target, at, zone, compact=True)
        wide = deadline_text(policy, priority, due, target, at, zone)
        if priority == "minor":  # business clock, closed now
            assert "⏸" in tight.plain and "opens" not in tight.plain
            assert "opens Mon 09:00" in compact.plain and "opens Mon 09:00" in wide.plain
    running = deadline_text(policy, "critical", cases[0][1], 7200, at, zone, tight=True)
    assert running.plain == "59m 49s · 22:59"


async def test_postgres_console_wakes_its_alert_pass_on_the_feed(pg_url: str) -> None:
    """With a listener (PostgreSQL) the alert pass polls only every 30 s: a critical ticket
    another agent opens after hours still toasts at once, woken by the feed's NOTIFY."""
    import time as _time

    from agent_console.app import LISTENING_ALERT_POLL, create_app
    from agent_console.desk import Desk
    from tests.oncall_helpers import Clock, new_ticket
    from tests.test_oncall_screen import _team_desk

    clock = Clock(SAT_NIGHT)
    desk = _team_desk(pg_url, clock)
    settings = desk.settings.with_(agent="alice")
    app = create_app(
        settings, desk=Desk(desk.engine, settings, clock=clock), clock=clock, offer_demo=False,
        alert_poll=LISTENING_ALERT_POLL,
    )
    try:
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await wait_for(pilot, lambda: app.listening and app.alert_passes >= 1, timeout=20)
            passes = app.alert_passes
            key = new_ticket(desk, "critical", "Vault offline")  # another console's commit
            t0 = _time.monotonic()
            await wait_for(pilot, lambda: any(key in n.message for n in app._notifications), 10)
            assert _time.monotonic() - t0 < LISTENING_ALERT_POLL / 3
            assert app.alert_passes > passes
    finally:
        desk.engine.dispose()


def test_cli_times_and_status_words_are_one_format(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Every instant in --json is UTC, whole seconds, Z (no microseconds, no +00:00); text
    output says 'waiting' as the screens do, and commands take either word; oncall show's
    level is the screen's (primary for a critical alert, '-' for a minor one)."""
    import json
    import re

    from agent_console.cli import main
    from agent_console.desk import Desk
    from agent_console.settings import Settings
    from tests.oncall_helpers import Clock, add_team

    db = f"sqlite:///{tmp_path / 'fmt.db'}"
    clock = Clock(SAT_NIGHT.replace(microsecond=123456))
    d = Desk.open(Settings(db_url=db), clock=clock)
    add_team(d)
    crit = d.create_ticket(subject="Payments down", body="b", requester_email="a@b.example",
                           priority="critical")
    minor = d.create_ticket(subject="Typo", body="b", requester_email="a@b.example",
                            priority="minor")
    clock.now += timedelta(days=3)  # both breached: alerts on a critical and a minor ticket
    d.alert_tick(clock.now)
    d.engine.dispose()
    at = ["--db", db, "--at", "2026-12-01T03:00:00.654321Z"]
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")

    def instants(argv: list[str]) -> list[str]:
        assert main(argv) == 0
        return [m.group(0) for m in stamp.finditer(capsys.readouterr().out)]

    for argv in (
        [*at, "oncall", "show", "--json"],
        ["--db", db, "ticket", "list", "--json"],
        ["--db", db, "ticket", "show", crit, "--json"],
    ):
        found = instants(argv)
        assert found, argv
        bad = [s for s in found if not re.fullmatch(r"[\d-]+T[\d:]+Z", s)]
        assert not bad, (argv, bad)
    # the level column: one rule with the screen
    assert main(["--db", db, "oncall", "show"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(crit in ln and " primary " in ln for ln in lines), lines
    assert any(minor in ln and " primary " not in ln and re.search(r" - +-$", ln.rstrip())
               for ln in lines), "\n".join(lines)
    assert main(["--db", db, "oncall", "show", "--json"]) == 0
    alerts = json.loads(capsys.readouterr().out)["alerts"]
    assert alerts and all(a["fired_at"].endswith("Z") and "." not in a["fired_at"] for a in alerts)
    # waiting: typed either way, shown as the screens show it; --json keeps 'pending'
    assert main(["--db", db, "--agent", "alice", "ticket", "status", crit, "--to", "waiting"]) == 0
    assert "is waiting" in capsys.readouterr().out
    assert main(["--db", db, "ticket", "list", "--status", "waiting"]) == 0
    out = capsys.readouterr().out
    assert crit in out and " waiting " in out and "pending" not in out
    assert main(["--db", db, "ticket", "list", "--status", "waiting", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "pending"
    assert main(["--db", db, "ticket", "show", crit]) == 0
    shown = capsys.readouterr().out
    assert "status:         waiting" in shown and "set status new → waiting" in shown
    assert main(["--db", db, "ticket", "list", "--status", "sleeping"]) == 2
    assert "use new, open, waiting, on hold, resolved, closed" in capsys.readouterr().err


async def test_header_fits_inside_its_padding_for_a_lead_at_160(night) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """A lead's header at 160 columns with the breaching count: whole (the zone of the clock
    was cut off by the line's padding), or the compact form — never cut."""
    desk, clock = night
    app = _app(desk, clock, agent="erin", alert_poll=600)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for(pilot, lambda: app.header_notices.breaching >= 1)
        for width in range(150, 166):
            await pilot.resize_terminal(width, 50)
            await pilot.pause(0.1)
            header = app.screen.query_one("#header-line")
            line = str(header.render())
            assert "erin" in line and len(line) <= header.size.width, (width, line)
            assert line.rstrip().endswith(("ET", "EST", "EDT")), (width, line)


def test_header_keeps_the_outage_reason_while_other_parts_can_give_way() -> None:
    from agent_console.sla import load_default_policy
    from agent_console.widgets.console_header import ConsoleHeader, HeaderNotices
    from tests.conftest import FIXED_NOW

    h = ConsoleHeader("Queue")
    h.set_agent("alice", "Alice Moreno", 1, lead=True)
    h.set_policy(load_default_policy())
    h.notices = HeaderNotices(outage="database unavailable — retrying in 3s")
    full = h.line_text(FIXED_NOW).plain
    for width in range(len(full) - 30, len(full)):
        line = h.line_text(FIXED_NOW, width).plain
        assert len(line) <= width
        assert "database unavailable — retrying in 3s" in line, (width, line)
    assert "⚠ offline" in h.line_text(FIXED_NOW, 80).plain  # 80 columns: the short form


def test_a_waiting_timer_at_80_columns_is_whole() -> None:
    """A ticket waiting on the customer in the 80-column queue: ``RES ⏸ waiting`` whole,
    the "since" part only when it fits (never cut to ``since 00:…``)."""
    from agent_console.sla import load_default_policy
    from agent_console.widgets.sla_timer import waiting_text

    zone = load_default_policy().tz
    since = SAT_NIGHT - timedelta(days=3)
    tight = waiting_text(since, zone, SAT_NIGHT, label="RES", tight=True)
    assert tight.cell_len <= 24 and "…" not in tight.plain, tight.plain
    assert tight.plain.startswith("RES ⏸ waiting")
    wide = waiting_text(since, zone, SAT_NIGHT, label="RES")
    assert "since" in wide.plain

"""The rota, overrides, after-hours permissions and the on-call CLI (issue 10)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from agent_console.cli import main
from agent_console.desk.oncall import handover_bounds, parse_handover
from agent_console.errors import PermissionDenied, UserError
from agent_console.store.models import TicketEvent
from tests.oncall_helpers import MON_DAY, SAT_NIGHT, Clock, add_team, new_ticket, open_desk

NY = ZoneInfo("America/New_York")


def test_handover_is_the_same_wall_time_across_dst() -> None:
    day, minute = parse_handover("mon 09:00")
    # the week DST ends in New York (Sunday 1 Nov 2026): 09:00 EDT, then 09:00 EST
    before, after, _ = handover_bounds(datetime(2026, 10, 31, 12, tzinfo=UTC), day, minute, NY)
    assert before == datetime(2026, 10, 26, 13, 0, tzinfo=UTC)
    assert after == datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["monday", "xyz 09:00", "mon 25:00", ""])
def test_bad_handover_is_a_user_error(bad: str) -> None:
    with pytest.raises(UserError):
        parse_handover(bad)


def _team(url: str, clock: Clock):  # type: ignore[no-untyped-def]
    d = open_desk(url, clock)
    add_team(d)
    return d


def test_weekly_rotation_and_override(sqlite_url: str) -> None:
    clock = Clock(MON_DAY)  # Monday 10:00 New York, after the 09:00 handover
    d = _team(sqlite_url, clock)
    state = d.set_rota("alice,bob", handover="mon 09:00", agent="lee")
    assert state.primary.handle == "alice"
    assert state.primary.until == datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    assert d.oncall_now(MON_DAY + timedelta(days=7)).primary.handle == "bob"
    assert d.oncall_now(MON_DAY + timedelta(days=14)).primary.handle == "alice"
    assert d.oncall_now(MON_DAY - timedelta(hours=2)).primary.handle == "bob"  # last week
    until = MON_DAY + timedelta(hours=5)
    state = d.set_override("bob", until=until, agent="lee")
    assert (state.primary.handle, state.primary.source, state.primary.until) == (
        "bob",
        "override",
        until,
    )
    assert d.oncall_now(until).primary.handle == "alice"
    d.engine.dispose()


def test_only_leads_change_the_rota_and_only_eligible_agents(sqlite_url: str) -> None:
    d = _team(sqlite_url, Clock(MON_DAY))
    with pytest.raises(PermissionDenied):
        d.set_rota("alice", agent="alice")
    with pytest.raises(UserError, match="not eligible"):
        d.set_rota("carol", agent="lee")
    with pytest.raises(PermissionDenied):
        d.set_override("alice", agent="bob")
    d.engine.dispose()


def _after_hours_case(url: str) -> None:
    clock = Clock(SAT_NIGHT)
    d = _team(url, clock)
    d.set_rota("alice", agent="lee")
    key = new_ticket(d)  # critical
    d.escalate(key, "needs tier 2", agent="alice")  # now a tier-2 ticket
    minor = new_ticket(d, priority="minor")
    d.escalate(minor, "needs tier 2", agent="alice")
    # after hours, the on-call primary (tier 1) replies, notes, changes status
    d.reply(key, "We are on it", agent="alice")
    d.reply(key, "checked the gateway", agent="alice", internal=True)
    d.set_status(key, "on_hold", agent="alice")
    with d.read() as s:
        t = d.ticket_by_key(s, key)
        evs = list(s.exec(select(TicketEvent).where(TicketEvent.ticket_id == t.id)))
    marked = [e.kind for e in evs if e.details.get("on_call") == "primary"]
    assert marked == ["replied", "noted", "status"]
    history = [h.text for h in d.ticket_detail(key).events]
    # (on PostgreSQL the owner acts for alice: "… (by the administrator …)", issue 11)
    assert any(h.startswith("alice replied to the customer (on call: primary)") for h in history)
    with pytest.raises(PermissionDenied):  # not a critical ticket
        d.reply(minor, "hi", agent="alice")
    with pytest.raises(PermissionDenied):  # carol is not on call
        d.reply(key, "hi", agent="carol")
    with pytest.raises(PermissionDenied):  # the rule covers reply/note/status only
        d.set_priority(key, "urgent", "calmer", agent="alice")
    clock.now = MON_DAY + timedelta(days=7)  # business hours: the tiers apply again
    with pytest.raises(PermissionDenied):
        d.reply(key, "hello", agent="alice")
    d.engine.dispose()


def test_after_hours_on_call_may_work_any_critical_ticket_sqlite(sqlite_url: str) -> None:
    _after_hours_case(sqlite_url)


@pytest.mark.postgres
def test_after_hours_on_call_may_work_any_critical_ticket_postgres(pg_url: str) -> None:
    _after_hours_case(pg_url)


# ------------------------------------------------------------------ CLI
def _cli_team(db: str) -> None:
    for args in (
        ["agent", "add", "alice", "--name", "Alice", "--tier", "1", "--oncall"],
        ["agent", "add", "bob", "--name", "Bob", "--tier", "2", "--oncall"],
        ["agent", "add", "lee", "--name", "Lee", "--tier", "3", "--lead"],
    ):
        assert main(["--db", db, *args]) == 0


def test_oncall_cli_rota_show_set_ack(sqlite_url: str, capsys) -> None:
    db = sqlite_url
    _cli_team(db)
    assert main(["--db", db, "--agent", "alice", "oncall", "rota", "alice,bob"]) == 3
    assert (
        main(
            ["--db", db, "--agent", "lee", "oncall", "rota", "alice,bob", "--handover", "mon 09:00"]
        )
        == 0
    )
    assert (
        main(["--db", db, "--agent", "lee", "oncall", "rota", "bob", "--level", "secondary"]) == 0
    )
    assert (
        main(["--db", db, "--agent", "lee", "oncall", "rota", "alice", "--handover", "someday"])
        == 2
    )
    capsys.readouterr()
    assert main(["--db", db, "oncall", "show", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["secondary"]["handle"] == "bob" and data["leads"] == ["lee"]
    assert data["primary"]["handle"] in ("alice", "bob")
    assert data["outbox"] == {"pending": 0, "sent": 0, "failed": 0}
    assert (
        main(
            [
                "--db",
                db,
                "--agent",
                "lee",
                "oncall",
                "set",
                "bob",
                "--until",
                "2999-01-01T00:00:00Z",
            ]
        )
        == 2
    )  # outside the supported range
    assert "supported range" in capsys.readouterr().err


def test_oncall_set_and_ack_from_the_cli(sqlite_url: str, capsys) -> None:
    db = sqlite_url
    _cli_team(db)
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    assert main(["--db", db, "--agent", "lee", "oncall", "set", "bob", "--until", soon]) == 0
    assert "bob is primary on call until" in capsys.readouterr().out
    assert (
        main(
            [
                "--db",
                db,
                "--agent",
                "lee",
                "oncall",
                "set",
                "bob",
                "--until",
                "2020-01-01T00:00:00Z",
            ]
        )
        == 2
    )
    assert main(["--db", db, "--agent", "lee", "oncall", "ack", "SUP-999"]) == 2
    assert main(["--db", db, "--agent", "lee", "oncall", "ack", "12345"]) == 2
    errs = capsys.readouterr().err.strip().splitlines()
    assert len(errs) == 3 and all(e.startswith("agent-console: error:") for e in errs)
    # an alert fired by the watcher, acknowledged from the CLI
    d = open_desk(db, Clock(datetime.now(UTC) - timedelta(hours=3)))
    key = new_ticket(d)  # opened 3 hours ago: its first response is overdue
    d.engine.dispose()
    assert main(["--db", db, "watch", "--once"]) == 0
    out = capsys.readouterr().out
    assert f"ALERT #1 {key} critical: first reply breached" in out
    assert "one pass, then exit" in out and "Ctrl-C" not in out
    # a second pass fires nothing new and says what still waits for an acknowledgement
    assert main(["--db", db, "watch", "--once"]) == 0
    assert "0 alert(s) fired or escalated now; 1 earlier alert(s) still unacknowledged" in (
        capsys.readouterr().out
    )
    assert main(["--db", db, "--agent", "bob", "oncall", "ack", key]) == 0
    assert f"acknowledged alert 1: {key}" in capsys.readouterr().out


def test_rehearsal_marks_writes_and_sends_nothing(sqlite_url: str, capsys) -> None:
    db = sqlite_url
    _cli_team(db)
    d = open_desk(db, Clock(MON_DAY))
    key = new_ticket(d)
    d.engine.dispose()
    at = ["--db", db, "--at", "2026-11-28T03:00:00Z"]
    assert main([*at, "--agent", "lee", "ticket", "reply", key, "--body", "rehearsed"]) == 0
    assert main([*at, "watch", "--once", "--webhook", "http://127.0.0.1:9/s3cr3t"]) == 0
    out = capsys.readouterr().out
    assert "REHEARSAL" in out and "[rehearsal]" in out and "would POST" in out
    assert "s3cr3t" not in out
    d = open_desk(db, Clock(MON_DAY))
    with d.read() as s:
        t = d.ticket_by_key(s, key)
        ev = s.exec(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.kind == "replied")
        ).one()
        assert ev.details.get("rehearsal") is True
        assert ev.at.year == 2026 and ev.at.month == 11 and ev.at.day == 28
    assert "[rehearsal] lee replied to the customer" in [
        h.text for h in d.ticket_detail(key).events
    ]
    assert d.open_alerts() == []  # rehearsal alerts are not real ones
    d.engine.dispose()
    assert main(["--db", db, "--at", "yesterday", "oncall", "show"]) == 2


def test_ticket_list_filters(sqlite_url: str, capsys) -> None:
    db = sqlite_url
    d = open_desk(db, Clock(datetime.now(UTC)))
    crit = new_ticket(d)
    new_ticket(d, priority="minor")
    d.engine.dispose()
    capsys.readouterr()
    assert main(["--db", db, "ticket", "list", "--priority", "critical", "--json"]) == 0
    assert [t["key"] for t in json.loads(capsys.readouterr().out)] == [crit]
    assert main(["--db", db, "ticket", "list", "--tier", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["--db", db, "ticket", "list", "--breaching", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # 2h first response: not within 1h
    assert main(["--db", db, "ticket", "list", "--breaching", "3h", "--json"]) == 0
    keys = [t["key"] for t in json.loads(capsys.readouterr().out)]
    assert crit in keys
    assert main(["--db", db, "--tz", "Asia/Tokyo", "ticket", "list"]) == 0
    assert "JST" in capsys.readouterr().out
    assert main(["--db", db, "ticket", "list", "--breaching", "soon"]) == 2
    assert main(["--db", db, "ticket", "list", "--priority", "huge"]) == 2


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "ctrl-c"])
def test_watch_exits_cleanly_on_sigterm(sqlite_url: str, tmp_path, sig) -> None:  # type: ignore[no-untyped-def]
    db = sqlite_url
    assert main(["--db", db, "agent", "list"]) == 0
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_console", "--db", db, "watch", "--poll", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        first = proc.stdout.readline()  # printed once the signal handlers are in place
        assert "watching" in first
        time.sleep(0.5)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "watch: stopped" in out and "Traceback" not in err


def test_ticket_list_watch_redraws_until_interrupted(sqlite_url: str, capsys, monkeypatch) -> None:
    d = open_desk(sqlite_url, Clock(datetime.now(UTC)))
    key = new_ticket(d)
    d.engine.dispose()
    naps: list[float] = []

    def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    from agent_console.cli import ticket_cmd

    monkeypatch.setattr(ticket_cmd, "_nap", nap)
    assert main(["--db", sqlite_url, "ticket", "list", "--watch", "2"]) == 130
    assert naps == [2.0, 2.0]
    assert capsys.readouterr().out.count(key) == 2
    assert main(["--db", sqlite_url, "ticket", "list", "--watch", "0"]) == 2


def test_the_demo_has_a_rota(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh demo showed "nobody" on call above waiting alerts (trial): the demo data
    sets a primary and a secondary rotation among its eligible agents, once."""
    import agent_console.desk.seeding as seeding

    monkeypatch.setattr(seeding, "DEMO_TICKETS", 30)
    d = open_desk(sqlite_url, Clock(MON_DAY))
    d.load_demo()
    state = d.oncall_now()
    assert state.primary.handle in {"alice", "dmitri"} and state.primary.source == "rota"
    assert state.secondary.handle in {"femi", "ines"}
    d.set_rota("dmitri", agent="erin")  # a lead's own rota is kept by a later demo load
    d._demo_rota()
    assert d.oncall_now().primary.handle == "dmitri"

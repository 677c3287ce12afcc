"""Policies stored in the database and versioned; ``sla apply`` (issue 9), on SQLite and
PostgreSQL: failure #3 (an edited policy left stored deadlines on the old one; an urgent
ticket showed ``8h 00m left`` against a 4-hour target)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from agent_console.cli import main
from agent_console.desk import Desk
from agent_console.desk.policies import BUNDLED
from agent_console.desk.policy_apply import EVENT_POLICY_APPLIED, EVENT_RECOMPUTED
from agent_console.errors import PermissionDenied, UserError
from agent_console.paths import default_policy_path, policies_dir
from agent_console.settings import Settings
from agent_console.sla import load_policy
from agent_console.store.models import SlaPolicyVersion, Ticket, TicketEvent
from tests.conftest import FIXED_NOW

DEFAULT_TEXT = default_policy_path().read_text(encoding="utf-8")
MONDAY = FIXED_NOW  # Mon 23 Nov 2026 09:00 New York


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url
        return
    from tests.conftest import throwaway_pg_database

    server = request.getfixturevalue("pg_server")
    with throwaway_pg_database(server) as url:
        yield url


def open_desk(url: str, **kw: object) -> Desk:
    return Desk.open(Settings(db_url=url, now=FIXED_NOW).with_(**kw))


def policy_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def with_holiday(day: str) -> str:
    """The default policy with one more holiday."""
    assert 'holidays = [' in DEFAULT_TEXT
    return DEFAULT_TEXT.replace("holidays = [", f'holidays = [\n  {{ date = "{day}", name = "Launch" }},', 1)


def versions(desk: Desk, name: str = "default") -> list[SlaPolicyVersion]:
    with desk.read() as s:
        return list(
            s.exec(
                select(SlaPolicyVersion)
                .where(SlaPolicyVersion.name == name)
                .order_by(col(SlaPolicyVersion.version))
            ).all()
        )


def events(desk: Desk, kind: str) -> list[TicketEvent]:
    with desk.read() as s:
        return list(s.exec(select(TicketEvent).where(TicketEvent.kind == kind)).all())


def ticket(desk: Desk, key: str) -> Ticket:
    with desk.read() as s:
        return desk.ticket_by_key(s, key)


def urgent_ticket(desk: Desk, opened: datetime = MONDAY, org: str | None = None) -> str:
    return desk.create_ticket(
        subject="Rewards not posting",
        body="Points missing since Friday.",
        requester_email="ava@acme.example",
        requester_name="Ava Adams",
        organization=org,
        priority="urgent",
        opened_at=opened,
    )


# ---------------------------------------------------------------- a new database
def test_a_new_database_stores_the_bundled_policies(db_url: str) -> None:
    desk = open_desk(db_url)
    [default] = versions(desk)
    assert (default.version, default.stored_by, default.toml) == (1, BUNDLED, DEFAULT_TEXT)
    assert default.fingerprint == load_policy(default_policy_path(), "default").fingerprint
    contracts = sorted(p.stem for p in policies_dir().glob("*.toml"))
    assert contracts and desk.policies.names() == ["default", *contracts]
    for name in contracts:
        [row] = versions(desk, name)
        assert row.toml == (policies_dir() / f"{name}.toml").read_text(encoding="utf-8")
    # a second console on the same database stores nothing more
    open_desk(db_url).engine.dispose()
    assert len(versions(desk)) == 1
    desk.engine.dispose()


def test_a_new_database_takes_the_policy_option(tmp_path: Path, sqlite_url: str) -> None:
    local = policy_file(tmp_path, "ours.toml", with_holiday("2026-11-24"))
    desk = open_desk(sqlite_url, policy=local)
    assert versions(desk)[0].toml == local.read_text(encoding="utf-8")
    assert desk.default_policy.holiday_name(datetime(2026, 11, 24).date()) == "Launch"
    assert desk.take_notices() == []
    desk.engine.dispose()


def test_a_local_policy_that_differs_is_one_line_and_the_stored_one_is_used(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    open_desk(sqlite_url).engine.dispose()
    local = policy_file(tmp_path, "edited.toml", with_holiday("2026-11-24"))
    desk = open_desk(sqlite_url, policy=local)
    [notice] = desk.take_notices()
    assert notice.startswith(f"policy file {local} differs from the stored default policy (v1, ")
    assert notice.endswith(f"using the stored one (to store the file: agent-console sla apply {local})")
    assert desk.default_policy.holiday_name(datetime(2026, 11, 24).date()) is None
    desk.engine.dispose()
    # the CLI says it once on stderr; the same file as the stored one says nothing
    assert main(["--db", sqlite_url, "--policy", str(local), "ticket", "list"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "differs from the stored default policy" in err[0]
    same = policy_file(tmp_path, "sla.toml", DEFAULT_TEXT)
    assert main(["--db", sqlite_url, "--policy", str(same), "ticket", "list"]) == 0
    assert capsys.readouterr().err == ""


async def test_the_tui_shows_the_differing_policy_as_a_notification(
    tmp_path: Path, sqlite_url: str
) -> None:
    from agent_console.app import create_app

    open_desk(sqlite_url).engine.dispose()
    local = policy_file(tmp_path, "edited.toml", with_holiday("2026-11-24"))
    settings = Settings(db_url=sqlite_url, now=FIXED_NOW, policy=local)
    app = create_app(settings, offer_demo=False)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause(0.2)
        messages = [n.message for n in app._notifications]
    assert any("differs from the stored default policy" in m for m in messages)
    app.desk.engine.dispose()


# ---------------------------------------------------------------- failure #3
def test_applying_an_edited_policy_moves_stored_due_times(
    tmp_path: Path, db_url: str
) -> None:
    """Adding a holiday and changing hours, then applying: stored due times move, the
    timers count on the same policy the due times came from (never 8h left of 4h)."""
    desk = open_desk(db_url)
    key = urgent_ticket(desk)  # urgent: 4 business hours → due Mon 13:00 New York
    other = urgent_ticket(desk, opened=MONDAY + timedelta(days=2))  # Wed: not moved
    before = ticket(desk, key)
    assert before.first_response_due == MONDAY + timedelta(hours=4)
    other_due = ticket(desk, other).first_response_due
    version_before = before.version

    # a console started with the edited file keeps the stored policy: due and time left agree
    edited = with_holiday("2026-11-23").replace(
        'tue = ["09:00", "18:00"]', 'tue = ["07:00", "18:00"]'
    )
    assert edited != with_holiday("2026-11-23"), "the default policy's tuesday changed"
    local = policy_file(tmp_path, "sla.toml", edited)
    other_console = open_desk(db_url, policy=local)
    fr = other_console.ticket_detail(key).timers(MONDAY)[0]
    assert fr.seconds == 4 * 3600

    report = desk.apply_policy(local)
    assert (report.version, report.previous_version) == (2, 1)
    after = ticket(desk, key)
    # Monday is now a holiday and Tuesday opens at 07:00: due Tue 11:00 New York
    assert after.first_response_due == datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
    assert after.version == version_before  # a recompute bumps no version
    assert ticket(desk, other).first_response_due == other_due
    for d in (desk, other_console):
        d.reload_policies()
        for k in (key, other):
            detail = d.ticket_detail(k)
            timer = detail.timers(detail.opened_at)[0]  # time left when it opened: the target
            assert timer.seconds == 4 * 3600
    assert desk.ticket_detail(key).timers(MONDAY)[0].seconds == 4 * 3600

    # both tickets' resolution runs into the longer Tuesdays; only the first's response moved
    moved = {e.ticket_id: e.details["moved"] for e in events(desk, EVENT_RECOMPUTED)}
    assert set(moved) == {after.id, ticket(desk, other).id}
    assert "first_response_due" not in moved[ticket(desk, other).id]
    assert moved[after.id]["first_response_due"] == [
        "2026-11-23T18:00:00+00:00",
        "2026-11-24T16:00:00+00:00",
    ]
    [summary] = events(desk, EVENT_POLICY_APPLIED)
    assert summary.ticket_id is None
    assert summary.details["version"] == 2 and summary.details["recomputed"] == 2
    assert summary.details["deadlines_moved"] == report.deadlines_moved >= 1
    assert report.tickets_moved == 2
    other_console.engine.dispose()
    desk.engine.dispose()


def test_a_change_that_breaches_counts_it(tmp_path: Path, sqlite_url: str) -> None:
    desk = open_desk(sqlite_url)
    key = urgent_ticket(desk, opened=MONDAY - timedelta(days=2, hours=18))  # Fri 15:00 NY
    # 3 business hours on Friday, 1 on Monday: due Mon 10:00 New York
    assert ticket(desk, key).first_response_due == MONDAY + timedelta(hours=1)
    later = Desk.open(Settings(db_url=sqlite_url), clock=lambda: MONDAY + timedelta(minutes=30))
    shorter = DEFAULT_TEXT.replace('first_response = "4h"', 'first_response = "30m"')
    report = later.apply_policy(policy_file(tmp_path, "sla.toml", shorter))
    # now due Fri 15:30: breached at Mon 09:30, which it was not before
    assert ticket(desk, key).first_response_due == MONDAY - timedelta(days=2, hours=17, minutes=30)
    assert report.now_breached == 1
    assert report.summary() == "1 open ticket recomputed; 1 deadline moved, 1 now breached"
    later.engine.dispose()
    desk.engine.dispose()


# ---------------------------------------------------------------- sla apply
def test_dry_run_lists_what_would_move_and_writes_nothing(
    tmp_path: Path, sqlite_url: str
) -> None:
    desk = open_desk(sqlite_url)
    key = urgent_ticket(desk)
    stamp = ticket(desk, key).first_response_due
    with desk.read() as s:
        n_events = s.execute(text("SELECT count(*) FROM ticket_event")).scalar_one()
    report = desk.apply_policy(
        policy_file(tmp_path, "sla.toml", with_holiday("2026-11-23")), dry_run=True
    )
    assert report.dry_run and report.version is None
    [move] = report.moves
    assert move.key == key and move.moved["first_response_due"][0] == stamp
    assert report.summary() == (
        f"dry run: 1 open ticket would be recomputed; {report.deadlines_moved} deadlines would "
        "move, 0 would be breached; nothing was written"
    )
    assert ticket(desk, key).first_response_due == stamp
    assert len(versions(desk)) == 1
    with desk.read() as s:
        assert s.execute(text("SELECT count(*) FROM ticket_event")).scalar_one() == n_events
    desk.engine.dispose()


def test_applying_the_version_in_force_stores_nothing(tmp_path: Path, sqlite_url: str) -> None:
    desk = open_desk(sqlite_url)
    urgent_ticket(desk)
    report = desk.apply_policy(policy_file(tmp_path, "sla.toml", DEFAULT_TEXT))
    assert report.unchanged and report.version is None and report.previous_version == 1
    assert (report.recomputed, report.deadlines_moved) == (1, 0)
    assert len(versions(desk)) == 1
    assert events(desk, EVENT_RECOMPUTED) == []
    assert len(events(desk, EVENT_POLICY_APPLIED)) == 1
    desk.engine.dispose()


def test_batches_recompute_every_open_ticket_once(tmp_path: Path, seeded_desk: Desk) -> None:
    with seeded_desk.read() as s:
        open_default = s.execute(
            text(
                "SELECT count(*) FROM ticket t LEFT JOIN organization o "
                "ON o.id = t.organization_id WHERE t.is_open "
                "AND (o.sla_policy IS NULL OR o.sla_policy IN ('', 'default'))"
            )
        ).scalar_one()
    calls: list[tuple[int, int]] = []
    report = seeded_desk.apply_policy(
        policy_file(tmp_path, "sla.toml", with_holiday("2026-11-24")),
        batch_size=7,
        progress=lambda stage, done, total: calls.append((done, total)),
    )
    assert report.recomputed == open_default > 7
    assert calls[0] == (0, open_default) and calls[-1] == (open_default, open_default)
    assert len(calls) == 1 + -(-open_default // 7)
    desk = seeded_desk
    # every moved ticket got one event; its stored deadlines are what the policy gives
    with desk.read() as s:
        moved_ids = {e.ticket_id for e in events(desk, EVENT_RECOMPUTED)}
        assert len(moved_ids) == report.tickets_moved
        from agent_console.desk.deadlines import refresh_deadlines

        for t in s.exec(select(Ticket).where(col(Ticket.id).in_(moved_ids))).all():
            stored = (t.first_response_due, t.next_update_due, t.resolution_due)
            refresh_deadlines(t, desk.policy_for_ticket(s, t))
            assert stored == (t.first_response_due, t.next_update_due, t.resolution_due)


def test_a_contract_is_applied_by_name_and_touches_only_its_tickets(
    tmp_path: Path, seeded_desk: Desk
) -> None:
    desk = seeded_desk
    contract = (policies_dir() / "enterprise-plus.toml").read_text(encoding="utf-8")
    edited = contract.replace('tue = ["09:00", "21:00"]', 'tue = ["09:00", "12:00"]', 1)
    assert edited != contract
    # named after the file: the stored contract of that name
    report = desk.apply_policy(policy_file(tmp_path, "enterprise-plus.toml", edited))
    assert report.name == "enterprise-plus" and report.version == 2
    assert len(versions(desk)) == 1 and len(versions(desk, "enterprise-plus")) == 2
    with desk.read() as s:
        ids = {e.ticket_id for e in events(desk, EVENT_RECOMPUTED)}
        orgs = s.execute(
            text(
                "SELECT DISTINCT o.sla_policy FROM ticket t JOIN organization o "
                "ON o.id = t.organization_id WHERE t.id IN ("
                + ",".join(str(i) for i in ids or {0})
                + ")"
            )
        ).scalars().all()
    assert ids and orgs == ["enterprise-plus"]
    # --name stores a new contract; an organization may name it
    report = desk.apply_policy(
        policy_file(tmp_path, "x.toml", contract), name="gold", dry_run=False
    )
    assert report.name == "gold" and report.version == 1 and report.recomputed == 0
    assert "gold" in desk.policies.names()


def test_who_may_apply(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    desk = open_desk(sqlite_url)
    desk.add_agent("ann", "Ann One", 1)
    desk.add_agent("lea", "Lea Lead", 1, lead=True)
    path = policy_file(tmp_path, "sla.toml", with_holiday("2026-11-23"))
    with pytest.raises(PermissionDenied, match="ann is not a lead"):
        open_desk(sqlite_url, agent="ann").apply_policy(path)
    assert main(["--db", sqlite_url, "--agent", "ann", "sla", "apply", str(path)]) == 3
    assert capsys.readouterr().err.count("\n") == 1
    # anyone may look
    assert main(["--db", sqlite_url, "--agent", "ann", "sla", "apply", str(path), "--dry-run"]) == 0
    capsys.readouterr()
    assert main(["--db", sqlite_url, "--agent", "lea", "sla", "apply", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == "0 open tickets recomputed; 0 deadlines moved, 0 now breached\n"
    assert err == "stored default policy v2 (was v1), fingerprint " + load_policy(
        path, "default"
    ).fingerprint[:12] + "\n"
    assert versions(desk)[-1].stored_by == "lea"
    assert main(["--db", sqlite_url, "sla", "apply", str(path)]) == 0  # the administrator
    desk.engine.dispose()


def test_a_bad_policy_file_is_one_line_and_stores_nothing(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    open_desk(sqlite_url).engine.dispose()
    bad = policy_file(tmp_path, "default.toml", DEFAULT_TEXT.replace('first_response = "4h"', 'first_response = "4x"'))
    assert main(["--db", sqlite_url, "sla", "apply", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "default.toml" in err and "first_response" in err
    with pytest.raises(UserError, match="bad policy name '../x'"):
        open_desk(sqlite_url).apply_policy(bad, name="../x")
    with pytest.raises(UserError, match="policy file not found"):
        open_desk(sqlite_url).apply_policy(tmp_path / "missing.toml", name="default")
    # a file named like no stored policy must say which policy it is
    other = policy_file(tmp_path, "gold.toml", DEFAULT_TEXT)
    assert main(["--db", sqlite_url, "sla", "apply", str(other)]) == 2
    assert capsys.readouterr().err == (
        "agent-console: error: gold.toml: no stored policy named 'gold'; say which policy "
        "it is: --name default, or --name gold for a new contract\n"
    )
    assert len(versions(open_desk(sqlite_url))) == 1


@pytest.mark.postgres
def test_on_postgres_a_role_that_is_neither_lead_nor_owner_may_not_apply(
    tmp_path: Path, pg_url: str
) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from tests.test_migrations import grant

    open_desk(pg_url).engine.dispose()
    import uuid

    role = f"ac_clerk_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
    grant(pg_url, role)
    try:
        clerk = open_desk(make_url(pg_url).set(username=role).render_as_string(False))
        path = policy_file(tmp_path, "sla.toml", with_holiday("2026-11-23"))
        with pytest.raises(PermissionDenied, match=f"database owner \\(role postgres; you are {role}\\)"):
            clerk.apply_policy(path)
        clerk.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()


@pytest.mark.postgres
def test_two_applies_storing_the_same_version_number_conflict(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another lead's apply commits version 2 between our read of the newest version and
    our insert: ours is refused as a conflict (exit 4), nothing half-written. (On SQLite
    the write lock is taken before the read, so the two applies queue instead.)"""
    from sqlalchemy import event

    from agent_console.desk import policy_apply
    from agent_console.desk.policies import read_policy_file, store_version
    from agent_console.errors import Conflict

    desk = open_desk(pg_url)
    rival = open_desk(pg_url)
    path = policy_file(tmp_path, "sla.toml", with_holiday("2026-11-24"))

    def racing_store(session, source, *, by, at):  # type: ignore[no-untyped-def]
        def rival_commits(*_args: object) -> None:
            with rival.write() as other:
                store_version(other, read_policy_file(path, "default"), by="rival", at=at)

        event.listen(session, "before_flush", rival_commits, once=True)
        return store_version(session, source, by=by, at=at)

    monkeypatch.setattr(policy_apply, "store_version", racing_store)
    with pytest.raises(Conflict, match="stored at the same moment; run sla apply again") as err:
        desk.apply_policy(path)
    assert err.value.exit_code == 4
    assert [v.stored_by for v in versions(desk)] == [BUNDLED, "rival"]
    assert events(desk, EVENT_POLICY_APPLIED) == []
    rival.engine.dispose()
    desk.engine.dispose()


# ---------------------------------------------------------------- other consoles
def test_another_console_follows_the_apply_through_the_feed(tmp_path: Path, db_url: str) -> None:
    desk = open_desk(db_url)
    key = urgent_ticket(desk)
    watcher = open_desk(db_url)
    cursor = watcher.follow_feed()
    desk.apply_policy(policy_file(tmp_path, "sla.toml", with_holiday("2026-11-23")))
    changed = watcher.poll_feed(cursor)
    assert changed == {ticket(desk, key).id}  # the summary event carries no ticket
    assert watcher.default_policy.fingerprint == desk.default_policy.fingerprint
    assert watcher.default_policy.holiday_name(MONDAY.date()) == "Launch"
    watcher.engine.dispose()
    desk.engine.dispose()

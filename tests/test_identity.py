"""Identity (issue 11): agents as PostgreSQL roles, the actor stamped inside the database,
acting on someone's behalf, privileges; on SQLite a person's action needs a known agent;
system actors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import select

from agent_console.cli import main
from agent_console.desk import Desk
from agent_console.desk.identity import (
    agent_role_name,
    os_user,
)
from agent_console.errors import PermissionDenied, UserError
from agent_console.settings import Settings
from agent_console.store.models import Agent, Message, TicketEvent
from tests.conftest import FIXED_NOW, as_role


def new_ticket(d: Desk) -> str:
    return d.create_ticket(
        subject="Terminals fail with E1042",
        body="All POS terminals fail.",
        requester_email="ava@acme.example",
        priority="urgent",
    )


def events_of(d: Desk, key: str) -> list[TicketEvent]:
    with d.read() as s:
        t = d.ticket_by_key(s, key)
        return list(
            s.exec(
                select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.id)
            )
        )


# ---------------------------------------------------------------- PostgreSQL
# team_url, owner, drop_agent_roles and as_role: tests/conftest.py


@pytest.mark.postgres
def test_agents_are_roles_and_cannot_be_each_other(team_url: str, owner: Desk) -> None:
    ann = owner.add_agent("ann", "Ann One", 1)
    owner.add_agent("bob", "Bob One", 1)
    lea = owner.add_agent("lea", "Lea Lead", 1, lead=True)
    db = make_url(team_url).database
    assert ann.db_role == agent_role_name(db, "ann")
    assert ann.connect is not None and ann.connect.startswith("postgresql+psycopg://ac_")
    assert "***" not in ann.connect and ":@" not in ann.connect
    key = new_ticket(owner)

    as_ann = as_role(team_url, ann.db_role)
    as_ann_claiming_bob = as_role(team_url, ann.db_role, agent="bob")
    as_lea = as_role(team_url, lea.db_role)
    try:
        # the console knows the agent from the connection
        assert as_ann.actor == "ann" and not as_ann.identity.admin
        as_ann.reply(key, "on it", internal=True)
        # --agent cannot claim to be someone else
        with pytest.raises(PermissionDenied, match="only a lead or the administrator"):
            as_ann_claiming_bob.reply(key, "I am bob", internal=True)
        with pytest.raises(PermissionDenied):
            as_ann.reply(key, "I am bob", agent="bob", internal=True)

        # the database itself refuses: a row claiming bob, deleting or rewriting events
        with as_ann.engine.connect() as conn:
            tid = conn.execute(text("SELECT id FROM ticket WHERE key = :k"), {"k": key}).scalar()
            bob_id = conn.execute(text("SELECT id FROM agent WHERE handle = 'bob'")).scalar_one()
            conn.commit()
            for stmt, params in [
                (
                    "INSERT INTO ticket_event (ticket_id, agent_id, kind, at, details) "
                    "VALUES (:t, :a, 'noted', now(), '{}')",
                    {"t": tid, "a": bob_id},
                ),
                ("DELETE FROM ticket_event WHERE ticket_id = :t", {"t": tid}),
                (
                    "UPDATE ticket_event SET agent_id = :a WHERE ticket_id = :t",
                    {"t": tid, "a": bob_id},
                ),
                ("UPDATE message SET body = 'rewritten' WHERE ticket_id = :t", {"t": tid, "a": 0}),
                ("DELETE FROM message WHERE ticket_id = :t", {"t": tid}),
                ("UPDATE agent SET lead = true WHERE handle = 'ann'", {}),
                (
                    "INSERT INTO agent (handle, name, tier, on_call, lead, active, version, kind) "
                    "VALUES ('eve', 'Eve', 1, false, true, true, 1, 'person')",
                    {},
                ),
            ]:
                with pytest.raises(Exception, match="permission denied|may not write") as err:
                    with conn.begin():
                        conn.execute(text(stmt), params)
                assert getattr(err.value.orig, "sqlstate", None) == "42501", stmt  # type: ignore[attr-defined]
            # a forged actor_role is overwritten with current_user
            with conn.begin():
                conn.execute(
                    text(
                        "INSERT INTO ticket_event (ticket_id, agent_id, kind, at, details, "
                        "actor_role) VALUES (:t, NULL, 'noted', now(), '{}', 'postgres')"
                    ),
                    {"t": tid},
                )
        # the desk maps the database's refusal to exit 3
        with pytest.raises(PermissionDenied):
            as_ann.add_agent("eve", "Eve", 1)

        # a lead acts for ann: allowed, and logged as on her behalf
        as_lea.reply(key, "lead speaking for ann", agent="ann", internal=True)
        # the administrator too
        owner.reply(key, "admin for ann", agent="ann", internal=True)
        with pytest.raises(PermissionDenied, match="is the administrator, not an agent"):
            owner.reply(key, "nobody", internal=True)  # no agent named: refused
    finally:
        for d in (as_ann, as_ann_claiming_bob, as_lea):
            d.engine.dispose()

    evs = events_of(owner, key)
    noted = [e for e in evs if e.kind == "noted"]
    roles = [e.actor_role for e in noted]
    assert roles == [ann.db_role, ann.db_role, lea.db_role, owner.identity.role]
    with owner.read() as s:
        ann_id = s.exec(select(Agent.id).where(Agent.handle == "ann")).one()
        authors = s.exec(select(Message.author_agent_id, Message.actor_role)).all()
    assert (ann_id, lea.db_role) in authors and (ann_id, ann.db_role) in authors
    texts = [e.text for e in owner.ticket_detail(key).events if e.kind == "noted"]
    assert texts[0] == "ann added an internal note"
    assert texts[1] == "ann added an internal note (by lea, on their behalf)"  # by time
    assert texts[2] == (
        f"ann added an internal note (by the administrator {owner.identity.role}, on their behalf)"
    )


@pytest.mark.postgres
def test_agent_add_maps_an_existing_role_and_grant_is_repeatable(
    team_url: str, owner: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    db = make_url(team_url).database
    role = agent_role_name(db, "external")
    with owner.engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    code = main(
        ["--db", team_url, "agent", "add", "zoe", "--name", "Zoe", "--tier", "2", "--role", role]
    )
    out = capsys.readouterr().out
    assert code == 0 and f"zoe connects as role {role}" in out and "pg_hba" in out
    assert (
        main(
            ["--db", team_url, "agent", "add", "zed", "--name", "Z", "--tier", "2", "--role", role]
        )
        == 2
    )  # one role, one agent
    assert "already agent zoe" in capsys.readouterr().err
    assert main(["--db", team_url, "db", "grant"]) == 0
    assert 'REVOKE UPDATE, DELETE, TRUNCATE ON "ticket_event"' in capsys.readouterr().out
    zoe = as_role(team_url, role)
    try:
        assert zoe.actor == "zoe"
        with pytest.raises(PermissionDenied, match="only the administrator"):
            zoe.grant_agent_privileges()
    finally:
        zoe.engine.dispose()
    # a role that is no agent is told who maps it
    stranger = agent_role_name(db, "stranger")
    with owner.engine.begin() as conn:
        conn.execute(
            text(f'CREATE ROLE "{stranger}" LOGIN IN ROLE "{agent_role_name(db, "agents")}"')
        )
    s_desk = as_role(team_url, stranger)
    try:
        with pytest.raises(PermissionDenied, match=f"agent add HANDLE --role {stranger}"):
            s_desk.get_agent()
    finally:
        s_desk.engine.dispose()


# ---------------------------------------------------------------- SQLite
def test_sqlite_person_action_needs_a_known_agent(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    owner = Desk.open(Settings(db_url=sqlite_url, now=FIXED_NOW))
    try:
        assert owner.identity.admin  # the owner of the file
        key = new_ticket(owner)
        with pytest.raises(PermissionDenied, match="no agent to act as: pass --agent"):
            owner.reply(key, "hello")
        with owner.read() as s:  # no "Demo Agent" made on demand
            assert s.exec(select(Agent)).all() == []
    finally:
        owner.engine.dispose()
    for argv in (
        ["ticket", "reply", key, "--body", "hi"],
        ["ticket", "claim", key],
        ["ticket", "status", key, "--to", "open"],
    ):
        assert main(["--db", sqlite_url, *argv]) == 3
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--os-user" in err and "--agent HANDLE" in err
    # map the OS user: it acts without --agent
    assert (
        main(
            [
                "--db",
                sqlite_url,
                "agent",
                "add",
                "me",
                "--name",
                "Me",
                "--tier",
                "1",
                "--os-user",
                os_user(),
            ]
        )
        == 0
    )
    assert f"user {os_user()} acts as me" in capsys.readouterr().out
    assert main(["--db", sqlite_url, "ticket", "reply", key, "--body", "hi", "--internal"]) == 0
    capsys.readouterr()
    d = Desk.open(Settings(db_url=sqlite_url, now=FIXED_NOW))
    try:
        assert d.actor == "me" and not d.is_demo_actor
        ev = [e for e in d.ticket_detail(key).events if e.kind == "noted"]
        assert ev[0].agent == "me" and ev[0].text == "me added an internal note"
        assert events_of(d, key)[-1].actor_role == os_user()
    finally:
        d.engine.dispose()


def test_demo_agent_only_in_demo_databases(desk: Desk, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no agent to act as"):
        desk.get_agent()
    demo = Desk.open(Settings(db_url=f"sqlite:///{tmp_path / 'demo.db'}", now=FIXED_NOW))
    try:
        demo.seed(5, seed=3, now=FIXED_NOW)
        me = demo.get_agent()
        assert me.handle == "demo" and me.kind == "demo" and demo.is_demo_actor
    finally:
        demo.engine.dispose()


def test_system_actors_cannot_be_acted_as(desk: Desk) -> None:
    with desk.write() as s:
        imp = desk.system_actor(s, "import")
        assert imp.handle == "system:import" and imp.kind == "system"
    key = new_ticket(desk)
    with pytest.raises(PermissionDenied, match="system actor"):
        desk.reply(key, "hi", agent="system:import")


@pytest.mark.postgres
def test_connection_from_a_service_file_and_no_password_printed(
    team_url: str,
    owner: Desk,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = make_url(team_url)
    secret_url = url.set(password="s3cret-pw").render_as_string(hide_password=False)
    assert main(["--db", secret_url, "agent", "add", "ann", "--name", "Ann", "--tier", "1"]) == 0
    out, err = capsys.readouterr()
    assert "s3cret-pw" not in out + err and "ann connects as role" in out
    role = agent_role_name(url.database or "", "ann")
    assert f"--db postgresql+psycopg://{role}@{url.host}" in out  # no password, not even ***
    role = agent_role_name(url.database or "", "ann")
    service = tmp_path / "pg_service.conf"
    service.write_text(
        f"[helpdesk]\nhost={url.host}\nport={url.port or 5432}\nuser={role}\n"
        f"dbname={url.database}\n"
    )
    monkeypatch.setenv("PGSERVICEFILE", str(service))
    assert main(["--db", "postgresql+psycopg:///?service=helpdesk", "agent", "whoami"]) == 0
    out = capsys.readouterr().out
    assert f"role {role}\n" in out and "acting as ann (Ann), tier 1" in out


def test_import_and_seed_act_as_system_actors(desk: Desk, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"external_id": "x-1", "subject": "Printer", "body": "jams", '
        '"requester_email": "a@example.com", "priority": "minor", "channel": "email", '
        '"opened_at": "2026-11-20T10:00:00+00:00"}\n'
    )
    desk.import_tickets(src)
    key = desk.list_tickets(limit=1)[0].key
    ev = desk.ticket_detail(key).events[0]
    assert ev.agent == "system:import" and ev.text == "ticket imported (by system:import)"
    src.write_text(src.read_text().replace("Printer", "Printer on fire"))
    desk.import_tickets(src)
    assert desk.ticket_detail(key).events[-1].agent == "system:import"
    desk.seed(3, seed=2, now=FIXED_NOW, append=True)
    seeded = [t.key for t in desk.list_tickets() if t.key != key]
    first = desk.ticket_detail(seeded[0]).events[0]
    assert first.agent == "system:seed" and first.text.endswith("(by system:seed)")
    # system actors do not show where people are picked
    assert all(not a.handle.startswith("system:") for a in desk.list_agents())
    assert {"system:import", "system:seed"} <= {
        a.handle for a in desk.list_agents(include_system=True)
    }


# ---------------------------------------------------------------- shown as such
async def test_history_shows_system_actors_and_on_behalf_in_tui_and_cli(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent_console.screens.ticket_info import HistoryScreen
    from tests.helpers import make_desk, open_ticket
    from tests.helpers import make_ticket_app as make_app

    desk = make_desk(settings, "ann")
    try:
        with desk.write() as s:  # bob is the OS user "bob-login"; ann acts for him
            bob = s.exec(select(Agent).where(Agent.handle == "bob")).one()
            bob.os_user = "bob-login"
        src = tmp_path / "in.jsonl"
        src.write_text(
            '{"subject": "Printer", "body": "jams", "requester_email": "a@example.com", '
            '"priority": "minor", "channel": "email", "opened_at": "2026-11-20T10:00:00+00:00"}\n'
        )
        desk.import_tickets(src)
        key = desk.list_tickets(limit=1)[0].key
        desk.reply(key, "for bob", agent="bob", internal=True)
        app = make_app(desk)
        async with app.run_test(size=(140, 45)) as pilot:
            await open_ticket(pilot, key)
            await pilot.press("h")
            await pilot.pause()
            assert isinstance(app.screen, HistoryScreen)
            rows = [(e.agent, e.text) for e in app.screen.events]
        assert rows[0] == ("system:import", "ticket imported (by system:import)")
        assert rows[1] == (
            "bob",
            f"bob added an internal note (by the administrator {os_user()}, on their behalf)",
        )
        assert main(["--db", settings.db_url, "ticket", "show", key]) == 0
        out = capsys.readouterr().out
        assert "ticket imported (by system:import)" in out
        assert (
            f"bob added an internal note (by the administrator {os_user()}, on their behalf)" in out
        )
    finally:
        desk.engine.dispose()

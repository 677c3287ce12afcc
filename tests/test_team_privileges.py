"""Team mode privileges (issue 11): the database backs the desk's rules for real agent
roles — a lead applies a policy, a plain agent cannot change policies or the rota, and the
agents' grants cover every table, those a later revision adds included."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from agent_console.cli import main
from agent_console.desk import Desk
from agent_console.desk.identity import agents_group_name
from agent_console.errors import PermissionDenied
from agent_console.settings import Settings
from tests.conftest import FIXED_NOW, as_role, drop_agent_roles, throwaway_pg_database
from tests.test_identity import new_ticket

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[1]


def role_url(url: str, role: str) -> str:
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def refused(url: str, role: str, stmt: str) -> str:
    """Run ``stmt`` as ``role``; the SQLSTATE it failed with ('' when it went through)."""
    engine = create_engine(role_url(url, role))
    try:
        with engine.begin() as conn:
            conn.execute(text(stmt))
        return ""
    except Exception as exc:  # noqa: BLE001 - the test reads the SQLSTATE
        return str(getattr(getattr(exc, "orig", None), "sqlstate", exc))
    finally:
        engine.dispose()


def test_a_lead_role_applies_a_policy_and_a_plain_agent_cannot(
    team_url: str, owner: Desk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ann = owner.add_agent("ann", "Ann One", 1)
    lea = owner.add_agent("lea", "Lea Lead", 2, lead=True)
    key = new_ticket(owner)
    policy = tmp_path / "sla.toml"
    policy.write_text(
        (ROOT / "data" / "sla.toml")
        .read_text()
        .replace('description = "', 'description = "v2: ', 1)
    )
    # a plain agent: the desk refuses first (exit 3, one line), the database too
    assert main(["--db", role_url(team_url, ann.db_role), "sla", "apply", str(policy)]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "only a lead" in err
    for stmt in (
        "INSERT INTO sla_policy_version (name, version, toml, fingerprint, stored_at, "
        "stored_by) SELECT name, version + 1, toml, fingerprint, stored_at, 'ann' "
        "FROM sla_policy_version LIMIT 1",
        "UPDATE sla_policy_version SET toml = ''",
        "DELETE FROM sla_policy_version",
        "INSERT INTO oncall_rota (level, handles, handover_day, handover_minute, zone, "
        "anchor_at, updated_at, version) VALUES ('primary', '[]', 0, 540, 'UTC', now(), "
        "now(), 1)",
        "DELETE FROM oncall_override",
    ):
        assert refused(team_url, ann.db_role, stmt) == "42501", stmt
    # the lead, connected as their own role: stored and recomputed, no database error
    lead_db = role_url(team_url, lea.db_role)
    assert main(["--db", lead_db, "sla", "apply", str(policy)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "open ticket recomputed" in out
    with owner.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT version, stored_by FROM sla_policy_version WHERE name = 'default' "
                 "ORDER BY version DESC LIMIT 1")
        ).one()
        applied = conn.execute(
            text("SELECT actor_role, details->>'by' FROM ticket_event "
                 "WHERE kind = 'policy_applied' ORDER BY id DESC LIMIT 1")
        ).one()
    assert stored == (2, "lea")
    assert applied == (lea.db_role, "lea")
    # a stored version is history, for a lead too
    assert refused(team_url, lea.db_role, "DELETE FROM sla_policy_version") == "42501"
    assert refused(team_url, lea.db_role, "UPDATE sla_policy_version SET toml = ''") == "42501"
    # the lead may change the rota (the desk's rule, issue 10); the owner may anything
    assert refused(team_url, lea.db_role, "DELETE FROM oncall_override") == ""
    lead_desk = as_role(team_url, lea.db_role)
    try:
        assert lead_desk.ticket_detail(key).key == key
    finally:
        lead_desk.engine.dispose()
    with pytest.raises(PermissionDenied):
        as_ann = as_role(team_url, ann.db_role)
        try:
            as_ann.apply_policy(policy)
        finally:
            as_ann.engine.dispose()


def test_grants_cover_every_table_and_tables_added_later(
    team_url: str, owner: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    ann = owner.add_agent("ann", "Ann One", 1)
    db = make_url(team_url).database or ""
    group = agents_group_name(db)
    with owner.engine.connect() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars().all()
        assert {"presence", "mail_message", "draft", "sla_cycle"} <= set(tables)
        for t in tables:
            assert conn.execute(
                text("SELECT has_table_privilege(:g, :t, 'SELECT')"), {"g": group, "t": t}
            ).scalar(), t
        for t in ("presence", "mail_message", "draft", "ticket", "outbox"):
            for priv in ("INSERT", "UPDATE", "DELETE"):
                assert conn.execute(
                    text("SELECT has_table_privilege(:g, :t, :p)"),
                    {"g": group, "t": t, "p": priv},
                ).scalar(), (t, priv)
    # the presence table works for an agent role (heartbeat, leave)
    as_ann = as_role(team_url, ann.db_role)
    try:
        key = new_ticket(owner)
        as_ann.presence_beat("console-1", key, announce=True)
        as_ann.presence_leave("console-1")
    finally:
        as_ann.engine.dispose()
    # a table the owner adds later (a new revision) is readable by agents at once
    with owner.engine.begin() as conn:
        conn.execute(text("CREATE TABLE later_table (id serial PRIMARY KEY, x text)"))
    assert refused(team_url, ann.db_role, "SELECT * FROM later_table") == ""
    assert refused(team_url, ann.db_role, "INSERT INTO later_table (x) VALUES ('a')") == "42501"
    assert main(["--db", team_url, "agent", "grant"]) == 0
    assert "ALTER DEFAULT PRIVILEGES" in capsys.readouterr().out
    assert refused(team_url, ann.db_role, "INSERT INTO later_table (x) VALUES ('a')") == ""


@pytest.mark.parametrize("how", ["console start", "db upgrade"])
def test_the_owners_upgrade_grants_the_agents_what_it_added(pg_server: str, how: str) -> None:
    """A team whose group role exists before the schema: the owner's upgrade (a console
    starting, or `db upgrade`) applies the agents' grants (no `agent grant` by hand)."""
    with throwaway_pg_database(pg_server, prefix="ac_tpriv") as url:
        db = make_url(url).database or ""
        group = agents_group_name(db)
        admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE ROLE "{group}" NOLOGIN'))
            if how == "db upgrade":
                assert main(["--db", url, "db", "upgrade"]) == 0
            d = Desk.open(Settings(db_url=url, now=FIXED_NOW))  # up to date: no upgrade here
            try:
                with d.engine.connect() as conn:
                    ok = conn.execute(
                        text("SELECT has_table_privilege(:g, 'presence', 'UPDATE') AND "
                             "NOT has_table_privilege(:g, 'ticket_event', 'UPDATE') AND "
                             "has_table_privilege(:g, 'sla_policy_version', 'INSERT') AND "
                             "NOT has_table_privilege(:g, 'agent', 'INSERT')"),
                        {"g": group},
                    ).scalar()
                assert ok
            finally:
                d.engine.dispose()
        finally:
            admin.dispose()
    drop_agent_roles(pg_server, db)

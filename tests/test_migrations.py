"""Alembic migrations: the schema equals the models, release 0.1.0 databases upgrade with
their data, only the PostgreSQL owner migrates, and two owners never both migrate.

The fixtures were made by release 0.1.0 (commit f028e2c, before Alembic):
``release-0.1.0.db`` = ``agent-console --db sqlite:///… seed --tickets 60 --seed 3
--now 2026-11-23T14:00:00Z``; ``release-0.1.0.pg.sql`` = the same with ``--tickets 40
--seed 5`` on PostgreSQL 15, then ``pg_dump --inserts --no-owner --no-privileges``.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from agent_console.cli import main
from agent_console.errors import UserError
from agent_console.store.db import make_engine, migrate, open_engine
from agent_console.store.migrations import (
    BASELINE,
    LEGACY_GUARD_VERSION,
    PG_MIGRATION_LOCK,
    head_revision,
    include_name,
    schema_state,
    upgrade,
)

FIXTURES = Path(__file__).parent / "fixtures"
SQLITE_FIXTURE = FIXTURES / "release-0.1.0.db"
PG_FIXTURE = FIXTURES / "release-0.1.0.pg.sql"
TABLES = ("organization", "customer", "agent", "ticket", "message", "ticket_event", "kb_article")


def schema_diff(engine: Engine, metadata: MetaData | None = None) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"include_name": include_name, "compare_type": True}
        )
        return compare_metadata(ctx, metadata if metadata is not None else SQLModel.metadata)


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def sample(engine: Engine) -> list[tuple]:
    """A few values of every kind (text, enum, instants, JSON) to compare across upgrades."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT key, subject, priority, status, opened_at, first_response_due, "
                "resolution_due, next_due, sla_pauses, version FROM ticket ORDER BY id"
            )
        ).all()
        events = conn.execute(text("SELECT kind, details FROM ticket_event ORDER BY id")).all()
    return [tuple(map(str, r)) for r in rows] + [tuple(map(str, e)) for e in events]


def legacy_version(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version FROM schema_version WHERE id = 1")).scalar_one()


# ---------------------------------------------------------------- schema equals the models
def test_new_sqlite_database_is_at_head_and_equals_the_models(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    assert schema_state(engine).current == head_revision()
    assert schema_diff(engine) == []
    assert legacy_version(engine) == LEGACY_GUARD_VERSION
    engine.dispose()


@pytest.mark.postgres
def test_new_postgres_database_is_at_head_and_equals_the_models(pg_url: str) -> None:
    engine = open_engine(pg_url)
    assert schema_state(engine).current == head_revision()
    assert schema_diff(engine) == []
    engine.dispose()


def test_a_model_change_without_a_revision_is_caught(sqlite_url: str) -> None:
    """The comparison above really compares: a column the revisions lack shows up."""
    from sqlalchemy import Column, Integer

    engine = open_engine(sqlite_url)
    models = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(models)
    models.tables["agent"].append_column(Column("not_in_any_revision", Integer))
    assert [d[0] for d in schema_diff(engine, models)] == ["add_column"]
    engine.dispose()


# ---------------------------------------------------------------- release 0.1.0 upgrades
def test_release_0_1_0_sqlite_file_upgrades_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(SQLITE_FIXTURE, path)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version FROM schema_version").fetchone() == (2,)
    url = f"sqlite:///{path}"
    old = make_engine(url)
    before_counts, before_rows = counts(old), sample(old)
    assert schema_state(old).describe() == "release 0.1.0 (schema_version 2)"
    old.dispose()
    assert before_counts["ticket"] == 60

    engine = open_engine(url)
    assert schema_state(engine).current == head_revision()
    assert counts(engine) == before_counts
    assert sample(engine) == before_rows
    assert schema_diff(engine) == []
    assert legacy_version(engine) == LEGACY_GUARD_VERSION
    engine.dispose()


def _restore_pg_dump(url: str) -> None:
    script = "\n".join(
        line for line in PG_FIXTURE.read_text().splitlines() if not line.startswith("\\")
    )
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(script)  # type: ignore[arg-type]


@pytest.mark.postgres
def test_release_0_1_0_postgres_dump_upgrades_with_its_data(pg_url: str) -> None:
    _restore_pg_dump(pg_url)
    old = make_engine(pg_url)
    before_counts, before_rows = counts(old), sample(old)
    assert schema_state(old).describe() == "release 0.1.0 (schema_version 2)"
    old.dispose()
    assert before_counts["ticket"] == 40

    engine = open_engine(pg_url)
    assert schema_state(engine).current == head_revision()
    assert counts(engine) == before_counts
    assert sample(engine) == before_rows
    assert schema_diff(engine) == []
    # sequences survived: a new row gets the next id
    with engine.begin() as conn:
        new_id = conn.execute(
            text("INSERT INTO organization (name, version) VALUES ('New Org', 1) RETURNING id")
        ).scalar_one()
    assert new_id > before_counts["organization"]
    engine.dispose()


def test_a_schema_version_1_database_gets_its_missing_index_then_is_stamped(
    sqlite_url: str,
) -> None:
    from sqlalchemy import inspect

    engine = open_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO organization (name, version) VALUES ('Keep Me', 1)"))
    _downgrade_to_baseline(engine)  # what release 0.1.0's first step made, then:
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("DROP INDEX ix_ticket_queue_unassigned"))
        conn.execute(text("UPDATE schema_version SET version = 1"))
    result = upgrade(engine)
    assert result.migrated and result.before == "release 0.1.0 (schema_version 1)"
    assert "ix_ticket_queue_unassigned" in {i["name"] for i in inspect(engine).get_indexes("ticket")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM organization")).scalar() == "Keep Me"
    assert schema_diff(engine) == []
    engine.dispose()


def _downgrade_to_baseline(engine: Engine) -> None:
    """Undo every revision after the baseline (the schema release 0.1.0 made)."""
    from alembic import command

    from agent_console.store.migrations import _config

    with engine.begin() as conn:
        command.downgrade(_config(conn), BASELINE)


def test_migrate_is_idempotent(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    assert migrate(engine) == head_revision()
    assert migrate(engine) == head_revision()
    assert upgrade(engine).migrated is False
    engine.dispose()


def test_a_newer_schema_is_refused(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(UserError, match="newer than this console.*upgrade agent-console") as err:
        migrate(engine)
    assert err.value.exit_code == 3
    engine.dispose()


def test_a_newer_legacy_schema_is_refused(sqlite_url: str) -> None:
    engine = open_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("UPDATE schema_version SET version = 999"))
    with pytest.raises(UserError, match="newer than this console"):
        migrate(engine)
    engine.dispose()


# ---------------------------------------------------------------- who migrates (PostgreSQL)
@pytest.fixture
def pg_other_role(pg_server: str, pg_url: str) -> Iterator[str]:
    """A login role that can connect to the test database but does not own it."""
    role = f"ac_clerk_{uuid.uuid4().hex[:8]}"
    dbname = make_url(pg_url).database
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    in_db = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    with in_db.connect() as conn:
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{dbname}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
    try:
        yield make_url(pg_url).set(username=role).render_as_string(hide_password=False)
    finally:
        with in_db.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"),
                {"r": role},
            )
            conn.execute(text(f'DROP OWNED BY "{role}"'))
        with admin.connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        in_db.dispose()
        admin.dispose()


@pytest.mark.postgres
def test_a_role_that_does_not_own_the_database_stops_with_who_must_run_what(
    pg_url: str, pg_other_role: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _restore_pg_dump(pg_url)  # a release 0.1.0 database, owned by the admin role
    owner = make_url(pg_url).username
    role = make_url(pg_other_role).username
    # without a grant the role cannot even see where the schema stands: says which grant
    with pytest.raises(UserError, match=f"role {role} may not read table schema_version: ask "
                       f"the database owner \\(role {owner}\\) to run: GRANT SELECT") as err:
        open_engine(pg_other_role)
    assert err.value.exit_code == 3
    grant(pg_url, role)
    with pytest.raises(UserError) as err:
        open_engine(pg_other_role)
    assert err.value.exit_code == 3
    assert str(err.value) == (
        f"database schema is at release 0.1.0 (schema_version 2), this console needs "
        f"{head_revision()}: ask the database owner (role {owner}) to run: "
        "agent-console db upgrade"
    )
    # `db upgrade` by that role: the same line, exit 3, nothing changed
    assert main(["--db", pg_other_role, "db", "upgrade"]) == 3
    assert "ask the database owner" in capsys.readouterr().err
    engine = make_engine(pg_url)
    assert schema_state(engine).current is None
    # the owner upgrades; then the other role's console starts
    assert main(["--db", pg_url, "db", "upgrade"]) == 0
    assert f"to {head_revision()}" in capsys.readouterr().out
    assert schema_state(engine).current == head_revision()
    grant(pg_url, role)  # the tables the new revisions created
    open_engine(pg_other_role).dispose()
    engine.dispose()


def grant(url: str, role: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
        )
    engine.dispose()


@pytest.mark.postgres
def test_two_owners_starting_at_once_do_not_both_migrate(pg_url: str) -> None:
    """Both block on the advisory lock held here; once released, one migrates and the other
    finds the schema at head."""
    holder = create_engine(pg_url)
    results: list[object] = []

    def start() -> None:
        engine = make_engine(pg_url)
        try:
            results.append(upgrade(engine))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(exc)
        finally:
            engine.dispose()

    with holder.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        threads = [threading.Thread(target=start) for _ in range(2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        waiting = 0
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND NOT granted AND objid = :k"
                ),
                {"k": PG_MIGRATION_LOCK},
            ).scalar_one()
            conn.commit()
            if waiting == 2:
                break
            time.sleep(0.05)
        assert waiting == 2
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_MIGRATION_LOCK})
        conn.commit()
    for t in threads:
        t.join(timeout=60)
    holder.dispose()
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(r.migrated for r in results) == [False, True]  # type: ignore[union-attr]
    engine = make_engine(pg_url)
    assert schema_state(engine).current == head_revision()
    assert schema_diff(engine) == []
    engine.dispose()


def test_two_sqlite_consoles_starting_at_once_migrate_once(tmp_path: Path) -> None:
    """SQLite: the upgrade takes the write lock first (BEGIN IMMEDIATE); the second
    console waits for it and then finds the schema at head."""
    url = f"sqlite:///{tmp_path / 'race.db'}"
    barrier = threading.Barrier(2)
    results: list[object] = []

    def start() -> None:
        engine = make_engine(url)
        try:
            barrier.wait(timeout=10)
            results.append(upgrade(engine))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(not isinstance(r, Exception) for r in results), results
    assert sorted(r.migrated for r in results) == [False, True]  # type: ignore[union-attr]


# ---------------------------------------------------------------- the CLI
def test_db_current_and_upgrade_on_sqlite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.db"
    shutil.copy(SQLITE_FIXTURE, path)
    url = f"sqlite:///{path}"
    assert main(["--db", url, "db", "current"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("release 0.1.0 (schema_version 2) (this console's head is")
    assert main(["--db", url, "db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"database upgraded from release 0.1.0 (schema_version 2) to {head_revision()}"
    )
    assert main(["--db", url, "db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == f"database already at {head_revision()} (head)"
    assert main(["--db", url, "db", "current"]) == 0
    assert capsys.readouterr().out.strip() == f"{head_revision()} (head)"


def test_db_current_of_a_missing_sqlite_file_and_db_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    assert main(["--db", f"sqlite:///{missing}", "db", "current"]) == 2
    assert capsys.readouterr().err == (
        f"agent-console: error: no database at {missing} "
        "(it is created when a console first opens it)\n"
    )
    assert not missing.exists()
    assert main(["db"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "db upgrade" in err and "current" in err


def _unstamped_open_tickets(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM ticket WHERE is_open AND (sla_fingerprint = '' "
                 "OR sla_clock = '' AND next_due < '9999-01-01')")
        ).scalar_one()


def _check_restamped(desk_url: str) -> None:
    from agent_console.desk import Desk
    from agent_console.settings import Settings
    from tests.conftest import FIXED_NOW

    desk = Desk.open(Settings(db_url=desk_url, now=FIXED_NOW))
    [notice] = desk.take_notices()
    assert notice.startswith("database upgraded: deadlines of ") and "open tickets" in notice
    assert _unstamped_open_tickets(desk.engine) == 0
    with desk.read() as s:
        fingerprints = set(s.execute(text(
            "SELECT DISTINCT sla_policy || ':' || sla_fingerprint FROM ticket WHERE is_open"
        )).scalars())
    assert fingerprints == {
        f"{p}:{desk.policy_named(p).fingerprint}" for p in (f.split(":")[0] for f in fingerprints)
    }
    desk.engine.dispose()
    again = Desk.open(Settings(db_url=desk_url, now=FIXED_NOW))  # nothing more to do
    assert again.take_notices() == []
    again.engine.dispose()


def test_opening_a_release_0_1_0_sqlite_file_stamps_its_open_tickets(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(SQLITE_FIXTURE, path)
    _check_restamped(f"sqlite:///{path}")


@pytest.mark.postgres
def test_opening_a_release_0_1_0_postgres_database_stamps_its_open_tickets(pg_url: str) -> None:
    _restore_pg_dump(pg_url)
    _check_restamped(pg_url)


def test_db_upgrade_stamps_the_open_tickets(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    shutil.copy(SQLITE_FIXTURE, path)
    assert main(["--db", f"sqlite:///{path}", "db", "upgrade"]) == 0
    engine = make_engine(f"sqlite:///{path}")
    assert _unstamped_open_tickets(engine) == 0
    engine.dispose()

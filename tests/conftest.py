"""Shared fixtures: a desk on a fresh SQLite file, a throwaway PostgreSQL database, a fixed
clock. PostgreSQL tests are marked ``postgres``; they skip only when no server answers, and
CI (``AGENT_CONSOLE_REQUIRE_PG=1``) turns such a skip into a failure."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent_console.desk import Desk
from agent_console.settings import Settings

#: Monday 23 Nov 2026 14:00 UTC = 09:00 New York, the desk has just opened
FIXED_NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> None:
    """No test reads or writes the real user's config, data or environment."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("AGENT_CONSOLE_CONFIG", str(home / "config.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / "state"))  # the log file
    monkeypatch.delenv("AGENT_CONSOLE_DEBUG", raising=False)
    from agent_console.logs import reset_logging
    from agent_console.redact import forget_secrets

    reset_logging()
    forget_secrets()
    for var in ("AGENT_CONSOLE_DB", "AGENT_CONSOLE_AGENT", "AGENT_CONSOLE_POLICY", "AGENT_CONSOLE_TZ"):
        monkeypatch.delenv(var, raising=False)
    for var in ("AGENT_CONSOLE_SMTP", "AGENT_CONSOLE_SMTP_PASSWORD", "AGENT_CONSOLE_MAIL_FROM"):
        monkeypatch.delenv(var, raising=False)  # a developer's mail server stays out of tests


@pytest.fixture
def fixed_now() -> datetime:
    return FIXED_NOW


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'console.db'}"


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings(db_url=sqlite_url, now=FIXED_NOW)


@pytest.fixture
def desk(settings: Settings) -> Iterator[Desk]:
    d = Desk.open(settings)
    yield d
    d.engine.dispose()


@pytest.fixture
def seeded_desk(desk: Desk) -> Desk:
    desk.seed(300, seed=7, now=FIXED_NOW)
    return desk


# ---------------------------------------------------------------- PostgreSQL
def _pg_admin_url() -> str:
    return os.environ.get("AGENT_CONSOLE_TEST_PG", DEFAULT_PG)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of a reachable PostgreSQL server, or skip (fail in CI)."""
    from sqlalchemy import create_engine, text

    url = _pg_admin_url()
    try:
        eng = create_engine(url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text("SELECT 1"))
        eng.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "no server"
        if os.environ.get("AGENT_CONSOLE_REQUIRE_PG"):
            pytest.fail(f"PostgreSQL required but unreachable at {url}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {url}")
    return url


@contextmanager
def throwaway_pg_database(admin_url: str, prefix: str = "ac_test") -> Iterator[str]:
    """A fresh, empty PostgreSQL database (its URL), dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    with throwaway_pg_database(pg_server) as url:
        yield url


@pytest.fixture
def pg_desk(pg_url: str) -> Iterator[Desk]:
    d = Desk.open(Settings(db_url=pg_url, now=FIXED_NOW))
    yield d
    d.engine.dispose()

# ---------------------------------------------------------------- team mode (issue 11)
def drop_agent_roles(admin_url: str, database: str) -> None:
    """Roles are cluster-wide: drop every agent role the test database ``database`` made."""
    from sqlalchemy import create_engine, text

    from agent_console.desk.identity import agent_role_name

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    prefix = agent_role_name(database, "")
    try:
        with admin.connect() as conn:
            names = conn.execute(
                text("SELECT rolname FROM pg_roles WHERE starts_with(rolname, :p)"),
                {"p": prefix},
            ).scalars()
            for name in list(names):
                conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
    finally:
        admin.dispose()


@pytest.fixture
def team_url(pg_server: str) -> Iterator[str]:
    """A throwaway PostgreSQL database for team mode; the roles made for it are dropped
    after it."""
    from sqlalchemy.engine import make_url

    database = None
    try:
        with throwaway_pg_database(pg_server, prefix="ac_team") as url:
            database = make_url(url).database
            yield url
    finally:
        if database:
            drop_agent_roles(pg_server, database)


@pytest.fixture
def owner(team_url: str) -> Iterator[Desk]:
    """The desk of the database's owner on ``team_url`` (opening it migrates)."""
    d = Desk.open(Settings(db_url=team_url, now=FIXED_NOW))
    yield d
    d.engine.dispose()


def as_role(url: str, role: str, agent: str | None = None) -> Desk:
    """A desk on ``url`` logged in as PostgreSQL role ``role`` (acting as ``agent``)."""
    from sqlalchemy.engine import make_url

    role_url = make_url(url).set(username=role, password=None)
    return Desk.open(
        Settings(db_url=role_url.render_as_string(hide_password=False), agent=agent, now=FIXED_NOW)
    )


# ---------------------------------------------------------------- mail (issue 14)
@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    """A real SMTP server (aiosmtpd) on 127.0.0.1 capturing what it accepts; see
    tests/mail_helpers.py (``refuse(n)``, ``wait_for(n)``, ``url``)."""
    from tests.mail_helpers import SmtpServer

    with SmtpServer() as server:
        yield server

"""No traceback, no secret, no escape sequence reaches a person from the CLI (issue 15):
one line and a pointer to the log file for unexpected errors (``--debug`` for the
traceback); expected errors keep their exit codes; passwords masked in every URL shape,
in messages and in the log file; outside text through the one rule, ``--json`` included."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from agent_console.cli import agent_cmd, main
from agent_console.paths import log_file
from agent_console.redact import (
    UNPARSEABLE,
    mask_secrets,
    mask_url,
    register_url,
)
from agent_console.store.db import first_line

SECRET = "S3cretPW"

BAD_URLS = {
    "no driver prefix": f"postgres:{SECRET}@host/db",
    "no scheme at all": f"user:{SECRET}@host/db",
    "non-numeric port": f"postgresql://u:{SECRET}@host:abc/db",
    "unknown driver": f"foo://u:{SECRET}@h/db",
    "missing driver": f"postgresql+nodriver://u:{SECRET}@h/db",
    "password in the query": f"postgresql+psycopg://u@127.0.0.1:1/db?password={SECRET}",
    "unescaped @ in the password": f"postgresql+psycopg://u:p@{SECRET}@127.0.0.1:1/db",
    "driver error at connect time": f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/db",
}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def log_text() -> str:
    path = log_file()
    return path.read_text(encoding="utf-8") if path.exists() else ""


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_a_bad_database_url_is_one_line_without_the_password(capsys, url: str) -> None:
    code, out, err = run(capsys, "--db", url, "agent", "list")
    assert code == 2, err
    lines = err.strip().splitlines()
    # the warning about the process list, then the error: one line each, no traceback
    assert lines[0].startswith("agent-console: warning: a password in --db")
    assert len(lines) == 2 and lines[1].startswith("agent-console: error:")
    assert "Traceback" not in err
    assert SECRET not in err + out + log_text()


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_a_bad_database_url_from_the_environment_is_masked_too(
    capsys, monkeypatch, url: str
) -> None:
    monkeypatch.setenv("AGENT_CONSOLE_DB", url)
    code, out, err = run(capsys, "agent", "list")
    assert code == 2
    assert len(err.strip().splitlines()) == 1  # no process-list warning: not on the line
    assert SECRET not in err + out + log_text()


def test_the_password_warning_is_given_once_and_only_for_a_password(
    capsys, tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    code, _, err = run(capsys, "--db", db, "agent", "list")
    assert code == 0 and "warning" not in err
    code, _, err = run(capsys, "--db", f"postgresql+psycopg://u:{SECRET}@127.0.0.1:1/db", "agent", "list")
    assert err.count("process list") == 1
    assert "AGENT_CONSOLE_DB" in err


def test_non_numeric_port_says_what_to_do(capsys) -> None:
    code, _, err = run(capsys, "--db", BAD_URLS["non-numeric port"], "agent", "list")
    assert code == 2
    assert "bad database URL '<unparseable URL hidden>': the port is not a number" in err


def test_unescaped_at_says_to_escape_it(capsys) -> None:
    code, _, err = run(capsys, "--db", BAD_URLS["unescaped @ in the password"], "agent", "list")
    assert code == 2 and "%40" in err


@pytest.fixture
def exploding_list(monkeypatch):  # type: ignore[no-untyped-def]
    def explode(args, ctx):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"kaboom at postgresql://u:{SECRET}@db.example/prod\nsecond line")

    monkeypatch.setattr(agent_cmd, "cmd_list", explode)


def test_an_unexpected_error_is_one_line_and_a_log_entry(
    capsys, tmp_path: Path, exploding_list
) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    code, out, err = run(capsys, "--db", db, "agent", "list")
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("agent-console: unexpected error: RuntimeError: kaboom")
    assert str(log_file()) in err and "--debug" in err
    assert SECRET not in err + out
    logged = log_text()
    assert "Traceback (most recent call last)" in logged and "kaboom" in logged
    assert "second line" in logged and "explode" in logged
    assert SECRET not in logged and "postgresql://u:***@db.example/prod" in logged


def test_debug_shows_the_traceback_still_masked(capsys, tmp_path: Path, exploding_list) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    code, _, err = run(capsys, "--debug", "--db", db, "agent", "list")
    assert code == 1
    assert "Traceback (most recent call last)" in err and "explode" in err
    assert SECRET not in err


def test_debug_from_the_environment(capsys, tmp_path: Path, exploding_list, monkeypatch) -> None:
    monkeypatch.setenv("AGENT_CONSOLE_DEBUG", "1")
    code, _, err = run(capsys, "--db", f"sqlite:///{tmp_path / 'x.db'}", "agent", "list")
    assert code == 1 and "Traceback" in err


def test_expected_errors_keep_their_exit_codes(capsys, tmp_path: Path) -> None:
    from datetime import timedelta

    from agent_console.desk import Desk
    from agent_console.settings import Settings
    from tests.conftest import FIXED_NOW

    db = f"sqlite:///{tmp_path / 'x.db'}"
    desk = Desk.open(Settings(db_url=db, now=FIXED_NOW, agent="ann"))
    desk.add_agent("ann", "Ann One", 1)
    key = desk.create_ticket(
        subject="s", body="b", requester_email="c@x.example", requester_name="C",
        priority="minor", opened_at=FIXED_NOW - timedelta(minutes=5),
    )
    desk.escalate(key, "to tier 2", agent="ann")
    desk.engine.dispose()
    code, _, err = run(capsys, "--db", db, "--agent", "ann", "ticket", "show", "SUP-999999")
    assert code == 2 and err.startswith("agent-console: error:")
    code, _, err = run(capsys, "--db", db, "--agent", "ann", "ticket", "escalate", key,
                       "--note", "again")
    assert code == 3 and err.count("\n") == 1, err
    code, _, err = run(capsys, "--db", db, "--agent", "ann", "ticket", "reply", key,
                       "--body", "x", "--expect-version", "1")
    assert code in (3, 4) and "Traceback" not in err


# ---------------------------------------------------------------- the masking function
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"postgresql+psycopg://u:{SECRET}@h:5432/db", "postgresql+psycopg://u:***@h:5432/db"),
        (f"postgres:{SECRET}@host/db", UNPARSEABLE),
        (f"postgresql://u:{SECRET}@h:abc/db", UNPARSEABLE),
        (f"postgresql://u@h/db?password={SECRET}&sslmode=require",
         "postgresql://u@h/db?password=***&sslmode=require"),
        (f"postgresql://u:p@{SECRET}@h/db", "postgresql://***:***@h/db"),
        (f"smtp://me:{SECRET}@mail.example:587", "smtp://me:***@mail.example:587"),
        (f"imaps://me@mail.example/INBOX?token={SECRET}", "imaps://me@mail.example/INBOX?token=***"),
        ("https://hooks.example/services/T0/B0/abcdefgh12345678XYZ",
         "https://hooks.example/services/T0/B0/***"),
        (f"https://alerts.example/hook?api_key={SECRET}", "https://alerts.example/hook?api_key=***"),
        ("sqlite:///tmp/console.db", "sqlite:///tmp/console.db"),
        ("console.db", "console.db"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown
    assert SECRET not in mask_url(url)


def test_mask_secrets_in_free_text_and_driver_errors() -> None:
    register_url(f"postgresql+psycopg://u:{SECRET}@h/db")
    text = (
        f'connection failed: password "{SECRET}" rejected; dsn host=h password=other1; '
        f"see postgresql://a:pw2@c/d."
    )
    masked = mask_secrets(text)
    assert SECRET not in masked and "other1" not in masked and "pw2" not in masked
    assert masked.endswith("postgresql://a:***@c/d.")
    # the storage layer's one-line driver errors pass through it
    exc = OperationalError("SELECT 1", {}, Exception(f"FATAL: bad password {SECRET}\nmore"))
    assert first_line(exc) == "FATAL: bad password ***"


def test_unparseable_url_registered_whole() -> None:
    url = f"postgres:{SECRET}@host/db"
    register_url(url)
    assert mask_secrets(f"Could not parse {url!r}") == "Could not parse '***'"


# ---------------------------------------------------------------- outside text in the CLI
HOSTILE_NAME = "Eve \x1b]0;pwned\x07 \x1b]52;c;aGk=\x07 \x9b2J\x7f\u202eevil"
FAMILY = "👨\u200d👩\u200d👧"


def test_agent_add_echo_and_list_obey_no_escape(capsys, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    code, out, _ = run(capsys, "--db", db, "agent", "add", "eve", "--name", HOSTILE_NAME,
                       "--tier", "1")
    assert code == 0
    for raw in ("\x1b", "\x07", "\x9b", "\x7f", "\u202e"):
        assert raw not in out
    assert "\\x1b]0;pwned" in out
    run(capsys, "--db", db, "agent", "add", "fam", "--name", f"Fam {FAMILY} می\u200cخواهم",
        "--tier", "1")
    code, out, _ = run(capsys, "--db", db, "agent", "list")
    assert FAMILY in out and "می\u200cخواهم" in out and "\\u200d" not in out
    assert "\x1b" not in out and "\x9b" not in out


def test_json_output_escapes_c1_del_and_bidi_overrides(capsys, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    run(capsys, "--db", db, "agent", "add", "eve", "--name", HOSTILE_NAME, "--tier", "1")
    run(capsys, "--db", db, "agent", "add", "fam", "--name", FAMILY, "--tier", "1")
    code, out, _ = run(capsys, "--db", db, "agent", "list", "--json")
    assert code == 0
    for raw in ("\x1b", "\x07", "\x9b", "\x7f", "\u202e"):
        assert raw not in out
    assert "\\u009b" in out and "\\u007f" in out and "\\u202e" in out
    assert FAMILY in out  # joined emoji written as themselves
    names = {a["handle"]: a["name"] for a in json.loads(out)}
    assert names == {"eve": HOSTILE_NAME, "fam": FAMILY}


def test_no_log_file_is_written_when_nothing_goes_wrong(capsys, tmp_path: Path) -> None:
    run(capsys, "--db", f"sqlite:///{tmp_path / 'x.db'}", "agent", "list")
    assert not log_file().exists()
    assert os.environ["XDG_STATE_HOME"] in str(log_file())


def test_a_console_that_crashed_prints_its_one_line(capsys, tmp_path: Path, monkeypatch) -> None:
    """The TUI's error hook leaves a one-line report (tests/test_tui_safety.py); the CLI
    prints it and exits 1 — no traceback dump on the terminal."""
    import agent_console.app as app_module

    class Crashed:
        crash_report = "unexpected error: ValueError: handler bug (details in X.log; --debug …)"
        return_code = 1

        def run(self) -> None:
            pass

    made: list[dict] = []

    def fake_create_app(settings, **kwargs):  # type: ignore[no-untyped-def]
        made.append(kwargs)
        return Crashed()

    monkeypatch.setattr(app_module, "create_app", fake_create_app)
    db = f"sqlite:///{tmp_path / 'x.db'}"
    code, out, err = run(capsys, "--debug", "--db", db)
    assert code == 1
    assert err == f"agent-console: {Crashed.crash_report}\n"
    assert made and made[0]["debug"] is True

"""The CLI: commands work end to end; every error a user can cause is one clear line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent_console.cli import main

NOW = "2026-11-23T14:00:00Z"


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_agent_add_and_list(capsys, db: str) -> None:
    code, out, _ = run(capsys, "--db", db, "agent", "add", "zoe", "--name", "Zoe Young",
                       "--tier", "2", "--oncall", "--lead")
    assert code == 0 and "zoe" in out
    code, out, _ = run(capsys, "--db", db, "agent", "list", "--json")
    assert code == 0
    assert json.loads(out) == [
        {"handle": "zoe", "name": "Zoe Young", "tier": 2, "on_call": True, "lead": True,
         "active": True}
    ]
    code, out, _ = run(capsys, "--db", db, "agent", "list")
    assert "Zoe Young" in out and "HANDLE" in out


def test_seed_then_ticket_list(capsys, db: str) -> None:
    code, _, _ = run(capsys, "--db", db, "seed", "--tickets", "120", "--seed", "3", "--now", NOW)
    assert code == 0
    code, out, _ = run(capsys, "--db", db, "ticket", "list", "--all", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 120
    code, out, _ = run(capsys, "--db", db, "ticket", "list", "--json")
    unresolved = json.loads(out)  # the default: new, open, pending, on hold
    assert 0 < len(unresolved) < 120
    assert {r["status"] for r in unresolved} <= {"new", "open", "pending", "on_hold"}
    assert set(rows[0]) >= {"key", "subject", "priority", "status", "tier", "assignee",
                            "opened", "due"}
    code, out, _ = run(capsys, "--db", db, "ticket", "list", "--status", "closed", "--limit", "3",
                       "--json")
    rows = json.loads(out)
    assert len(rows) == 3 and {r["status"] for r in rows} == {"closed"}
    # most urgent first
    code, out, _ = run(capsys, "--db", db, "ticket", "list", "--status", "open", "--json")
    dues = [r["due"] for r in json.loads(out)]
    assert dues and dues == sorted(dues)
    code, out, _ = run(capsys, "--db", db, "ticket", "list", "--limit", "5")
    assert out.splitlines()[0].startswith("KEY") and len(out.splitlines()) == 6


def test_import_reports_every_bad_row(capsys, db: str, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    good = {"subject": "s", "body": "b", "requester_email": "a@b.example", "priority": "1",
            "channel": "email", "opened_at": NOW}
    path.write_text("\n".join([json.dumps(good), json.dumps(dict(good, priority="p0")),
                               '{"subject": "tr']) + "\n")
    code, out, err = run(capsys, "--db", db, "import", "tickets", str(path))
    assert code == 2
    assert "line 2: unknown priority 'p0'" in err and "line 3: not valid JSON" in err
    assert "nothing was imported" in err
    path.write_text(json.dumps(good) + "\n")
    code, out, _ = run(capsys, "--db", db, "import", "tickets", str(path))
    assert code == 0 and "1 new" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["agent", "add", "x", "--name", "X", "--tier", "1", "--db-x"], None),
        (["--db", "nonsense://", "ticket", "list"], "unsupported database URL"),
        (["--db", "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2", "ticket",
          "list"], "cannot open database"),
        (["import", "tickets", "/nonexistent/file.jsonl"], "cannot read"),
        (["ticket", "list", "--status", "sleeping"], "unknown status 'sleeping'"),
        (["seed", "--tickets", "5", "--now", "yesterday"], "bad --now"),
        (["--policy", "/nonexistent/sla.toml", "ticket", "list"], "sla.toml"),
    ],
)
def test_user_errors_are_one_line(capsys, db: str, argv: list[str], message: str | None) -> None:
    full = argv if "--db" in argv else ["--db", db, *argv]
    try:
        code = main(full)
    except SystemExit as exc:  # argparse usage errors exit 2 with a usage line
        code = exc.code
    _, err = capsys.readouterr()
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    if message:
        assert len(lines) == 1, err
        assert message in lines[0]
        assert lines[0].startswith("agent-console: error:")


def test_python_dash_m_and_console_script(db: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "agent_console", "--db", db, "agent", "list", "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    result = subprocess.run(
        [sys.executable, "-m", "agent_console", "--db", db, "ticket", "list", "--status", "x"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_tui_with_unknown_agent_is_one_line(capsys, db: str) -> None:
    code, _, err = run(capsys, "--db", db, "--agent", "ghost")
    assert code == 2
    assert err.strip() == (
        "agent-console: error: unknown agent 'ghost' (see `agent-console agent list`)"
    )


def test_unknown_time_zone_is_one_line(capsys, db: str) -> None:
    code, _, err = run(capsys, "--db", db, "--tz", "Bad/Zone", "ticket", "list")
    assert code == 2
    assert err.strip().startswith("agent-console: error: unknown time zone 'Bad/Zone'")


def test_agent_handles_are_case_insensitive_everywhere(capsys, db: str) -> None:
    run(capsys, "--db", db, "seed", "--tickets", "400", "--now", NOW)
    code, out, err = run(capsys, "--db", db, "ticket", "claim-next", "--agent", "Alice")
    assert code == 0, err
    key = out.strip()
    assert key.startswith("SUP-")
    code, _, err = run(capsys, "--db", db, "--agent", " ALICE ", "ticket", "reply", key,
                       "--body", "On it.")
    assert code == 0, err


def test_a_mistyped_db_folder_is_an_error_not_a_new_database(capsys, tmp_path: Path) -> None:
    code, _, err = run(capsys, "--db", f"sqlite:///{tmp_path / 'typo' / 'x.db'}", "ticket", "list")
    assert code == 2 and "folder" in err and "does not exist" in err
    assert not (tmp_path / "typo").exists()


def test_the_default_database_folder_is_created(capsys) -> None:
    from agent_console.paths import default_db_url

    code, _, err = run(capsys, "agent", "list")
    assert code == 0, err
    assert Path(default_db_url().removeprefix("sqlite:///")).is_file()


@pytest.mark.parametrize(
    "argv",
    [["ticket", "show"], ["agent", "add", "bob", "--name", "Bob", "--tier", "7"], ["ticket"],
     ["--bogus"]],
)
def test_usage_errors_are_one_line(capsys, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    _, err = capsys.readouterr()
    assert info.value.code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("agent-console: error:")

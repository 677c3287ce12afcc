"""CLI faces of the workflow: ticket show / reply / escalate / status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_console.cli import main
from agent_console.desk import Desk
from agent_console.settings import Settings


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    d = Desk.open(Settings(db_url=url))
    d.add_agent("ann", "Ann One", 1)
    d.add_agent("tom", "Tom Two", 2)
    d.create_ticket(
        subject="Hostile [bold]subject[/]",
        body="body with \x1b[2J escape",
        requester_email="ava@acme.example",
        requester_name="Ava Adams",
        priority="critical",
    )
    d.engine.dispose()
    return url


KEY = "SUP-1001"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_show_json_and_text(capsys, db: str) -> None:
    code, out, _ = run(capsys, "--db", db, "ticket", "show", KEY.lower(), "--json")
    data = json.loads(out)
    assert code == 0 and data["key"] == KEY and data["status"] == "new"
    assert data["messages"][0]["body"] == "body with \x1b[2J escape"
    assert set(data["timers"]) == {"first_response", "next_update", "resolution"}
    code, out, _ = run(capsys, "--db", db, "ticket", "show", KEY)
    assert code == 0
    assert "Hostile [bold]subject[/]" in out
    assert "\\x1b[2J" in out and "\x1b" not in out  # escape sequences shown, not obeyed


def test_reply_note_escalate_status(capsys, db: str) -> None:
    code, out, _ = run(
        capsys, "--db", db, "ticket", "reply", KEY, "--agent", "ann", "--body", "On it"
    )
    assert code == 0 and "replied" in out and "status open" in out
    code, out, _ = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "reply", KEY, "--body", "VIP", "--internal"
    )
    assert code == 0 and "noted" in out  # --agent from the global option
    code, out, _ = run(
        capsys, "--db", db, "ticket", "status", KEY, "--agent", "ann", "--to", "pending"
    )
    assert code == 0 and "is waiting" in out  # the word the screens use
    code, out, _ = run(
        capsys, "--db", db, "ticket", "escalate", KEY, "--agent", "ann", "--note", "tried a restart"
    )
    assert code == 0 and "tier 2" in out
    code, out, _ = run(
        capsys,
        "--db",
        db,
        "ticket",
        "status",
        KEY,
        "--agent",
        "tom",
        "--to",
        "resolved",
        "--summary",
        "fixed the config",
    )
    assert code == 0 and "resolved" in out
    code, out, _ = run(capsys, "--db", db, "ticket", "show", KEY, "--json")
    data = json.loads(out)
    assert [m["kind"] for m in data["messages"]] == [
        "customer",
        "public",
        "internal",
        "handoff",
        "internal",
    ]
    assert [e["kind"] for e in data["events"]] == [
        "created",
        "replied",
        "noted",
        "status",
        "escalated",
        "resolved",
    ]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["ticket", "escalate", KEY, "--agent", "tom", "--note", "x"], 3, "tom is tier 2"),
        (["ticket", "escalate", KEY, "--agent", "ann", "--note", " "], 2, "handoff note"),
        (["ticket", "status", KEY, "--agent", "ann", "--to", "resolved"], 2, "summary"),
        (["ticket", "status", KEY, "--agent", "ann", "--to", "later"], 2, "unknown status"),
        (
            ["ticket", "status", KEY, "--agent", "ann", "--to", "pending", "--expect-version", "7"],
            4,
            "changed since you read it",
        ),
        (["ticket", "reply", "SUP-9", "--agent", "ann", "--body", "x"], 2, "no ticket"),
        (["ticket", "reply", KEY, "--agent", "zed", "--body", "x"], 2, "unknown agent"),
    ],
)
def test_refusals_are_one_line(capsys, db: str, argv: list[str], code: int, message: str) -> None:
    got, out, err = run(capsys, "--db", db, *argv)
    assert got == code
    assert message in err and err.count("\n") == 1 and "Traceback" not in err

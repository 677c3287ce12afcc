"""Issue 12: the command line does what the ticket screen does — assign, priority,
de-escalate, tags, resolve with a public message — through the same desk rules; `ticket
list` shows unresolved tickets unless `--all`; `ticket show` prints the history; argument
errors name `agent-console: error:` once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent_console.cli import main
from agent_console.desk import Desk
from agent_console.settings import Settings

KEY = "SUP-1001"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    d = Desk.open(Settings(db_url=url))
    d.add_agent("ann", "Ann One", 1)
    d.add_agent("bob", "Bob One", 1)
    d.add_agent("tom", "Tom Two", 2)
    d.add_agent("lea", "Lea Lead", 2, lead=True)
    for i in range(3):
        d.create_ticket(
            subject=f"Ticket {i}",
            body="body",
            requester_email="ava@acme.example",
            requester_name="Ava Adams",
            priority="urgent",
        )
    d.engine.dispose()
    return url


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def detail(db: str):
    d = Desk.open(Settings(db_url=db))
    try:
        return d.ticket_detail(KEY)
    finally:
        d.engine.dispose()


def test_assign_and_refusals(capsys, db: str) -> None:
    code, out, _ = run(capsys, "--db", db, "--agent", "ann", "ticket", "assign", KEY, "--to", "ann")
    assert code == 0 and "assigned to ann" in out
    # bob may not take ann's ticket (only a lead reassigns): refused, exit 3
    code, _, err = run(capsys, "--db", db, "--agent", "bob", "ticket", "assign", KEY, "--to", "bob")
    assert code == 3 and err.startswith("agent-console: error: ") and err.count("\n") == 1
    # a tier 2 agent cannot hold a tier 1 ticket
    code, _, err = run(capsys, "--db", db, "--agent", "lea", "ticket", "assign", KEY, "--to", "tom")
    assert code == 3, err
    code, out, _ = run(capsys, "--db", db, "--agent", "lea", "ticket", "assign", KEY, "--nobody")
    assert code == 0 and "unassigned" in out
    code, _, err = run(capsys, "--db", db, "--agent", "ann", "ticket", "assign", KEY, "--to", "zed")
    assert code == 2 and "unknown agent 'zed'" in err
    with pytest.raises(SystemExit):
        main(["--db", db, "ticket", "assign", KEY])
    assert capsys.readouterr().err.count("agent-console: error:") == 1


def test_priority_with_reason_and_refusals(capsys, db: str) -> None:
    code, out, _ = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "priority", KEY, "--to", "critical",
        "--reason", "all stores down",
    )
    assert code == 0 and "is critical" in out
    d = detail(db)
    assert d.priority == "critical" and "all stores down" in json.dumps(d.events[-1].details)
    code, _, err = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "priority", KEY, "--to", "bogus",
        "--reason", "x",
    )
    assert code == 2 and "unknown priority" in err
    code, _, err = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "priority", KEY, "--to", "minor",
        "--reason", "  ",
    )
    assert code == 2 and "reason" in err
    code, _, err = run(
        capsys, "--db", db, "--agent", "tom", "ticket", "priority", KEY, "--to", "minor",
        "--reason", "not mine",
    )
    assert code == 3, err  # tier 2 does not work a tier 1 ticket
    code, _, err = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "priority", KEY, "--to", "minor",
        "--reason", "stale", "--expect-version", "1",
    )
    assert code == 4 and "changed since you read it" in err


def test_deescalate_and_refusals(capsys, db: str) -> None:
    code, _, err = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "deescalate", KEY, "--note", "back"
    )
    assert code == 3, err  # tier 1 has nowhere to go down to
    run(capsys, "--db", db, "--agent", "ann", "ticket", "escalate", KEY, "--note", "found E1")
    code, _, err = run(
        capsys, "--db", db, "--agent", "tom", "ticket", "deescalate", KEY, "--note", " "
    )
    assert code == 2 and "note" in err
    code, out, _ = run(
        capsys, "--db", db, "--agent", "tom", "ticket", "deescalate", KEY, "--note", "a T1 fix"
    )
    assert code == 0 and "de-escalated to tier 1" in out
    d = detail(db)
    assert d.tier == 1 and d.pinned[0].body == "a T1 fix"


def test_tags_and_type(capsys, db: str) -> None:
    code, out, _ = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "tags", KEY, "--type", "inoperable",
        "--set", "POS, Gateway",
    )
    assert code == 0 and "type inoperable" in out
    d = detail(db)
    assert d.request_type == "inoperable" and set(d.tags) == {"pos", "gateway"}
    code, _, err = run(capsys, "--db", db, "--agent", "ann", "ticket", "tags", KEY)
    assert code == 2 and "nothing to change" in err
    code, _, err = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "tags", KEY, "--type", "wish"
    )
    assert code == 2 and "unknown request type" in err
    code, _, err = run(capsys, "--db", db, "--agent", "tom", "ticket", "tags", KEY, "--set", "x")
    assert code == 3, err


def test_resolve_with_a_public_message(capsys, db: str) -> None:
    code, _, err = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "status", KEY, "--to", "resolved",
        "--message", "Fixed, thanks",
    )
    assert code == 2 and "summary" in err
    code, _, err = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "status", KEY, "--to", "pending",
        "--message", "hello",
    )
    assert code == 2 and "resolved only" in err
    code, _, err = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "status", KEY, "--to", "resolved",
        "--summary", "restarted", "--message", "   ",
    )
    assert code == 2 and "empty" in err
    assert detail(db).status == "new"  # nothing half-done
    code, out, _ = run(
        capsys, "--db", db, "--agent", "ann", "ticket", "status", KEY, "--to", "resolved",
        "--summary", "restarted the gateway", "--message", "Fixed: please retry.",
    )
    assert code == 0 and "is resolved" in out
    d = detail(db)
    kinds = [(m.kind, m.body) for m in d.thread]
    assert ("public", "Fixed: please retry.") in kinds
    assert ("internal", "Resolution summary: restarted the gateway") in kinds
    assert d.first_response_at is not None and d.status == "resolved"


def test_list_defaults_to_unresolved(capsys, db: str) -> None:
    run(capsys, "--db", db, "--agent", "ann", "ticket", "status", KEY, "--to", "resolved",
        "--summary", "done")
    code, out, _ = run(capsys, "--db", db, "ticket", "list", "--json")
    keys = {t["key"] for t in json.loads(out)}
    assert code == 0 and keys == {"SUP-1002", "SUP-1003"}
    code, out, _ = run(capsys, "--db", db, "ticket", "list", "--all", "--json")
    assert {t["key"] for t in json.loads(out)} == {KEY, "SUP-1002", "SUP-1003"}
    code, out, _ = run(capsys, "--db", db, "ticket", "list", "--status", "resolved", "--json")
    assert [t["key"] for t in json.loads(out)] == [KEY]
    code, _, err = run(capsys, "--db", db, "ticket", "list", "--all", "--status", "new")
    assert code == 2 and err.count("agent-console: error:") == 1


def test_show_prints_the_history(capsys, db: str) -> None:
    run(capsys, "--db", db, "--agent", "ann", "ticket", "priority", KEY, "--to", "critical",
        "--reason", "stores down")
    run(capsys, "--db", db, "--agent", "ann", "ticket", "assign", KEY, "--to", "ann")
    code, out, _ = run(capsys, "--db", db, "ticket", "show", KEY)
    assert code == 0
    history = out.split("history:")[1]
    assert "priority" in history and "stores down" in history and "ann" in history


@pytest.mark.parametrize(
    "argv",
    [
        ["ticket", "show"],
        ["ticket", "bogus"],
        ["ticket", "list", "--limit", "x"],
        ["ticket", "priority", KEY, "--to", "minor"],
        ["--nope"],
    ],
)
def test_argument_errors_say_error_once(capsys, db: str, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--db", db, *argv])
    _, err = capsys.readouterr()
    assert exc.value.code == 2
    assert err.startswith("agent-console: error: ") and err.count("agent-console") == 2  # + "see …"
    assert err.count("error:") == 1 and err.count("\n") == 1

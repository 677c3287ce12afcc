"""``agent-console sla due`` and ``sla calendar``."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from agent_console.cli import main, sla_cmd
from agent_console.errors import UserError
from agent_console.paths import default_policy_path


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_local(capsys, *argv: str, policy: Path | None = None) -> tuple[int, str, str]:
    """The sla commands on a parser of their own (no database, no other commands)."""
    parser = argparse.ArgumentParser(prog="agent-console")
    sub = parser.add_subparsers(dest="command")
    sla_cmd.register(sub)
    args = parser.parse_args(list(argv))
    ctx = SimpleNamespace(
        settings=SimpleNamespace(policy=policy or default_policy_path(), now=None)
    )
    try:
        code = args.func(args, ctx)
    except UserError as err:
        out, _ = capsys.readouterr()
        return err.exit_code, out, str(err)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(params=["main", "local"])
def run(request, capsys):
    if request.param == "main":
        return lambda *argv: run_main(capsys, *argv)
    return lambda *argv: run_local(capsys, *argv)


def test_due_prints_json(run) -> None:
    code, out, _ = run("sla", "due", "--priority", "urgent", "--opened", "2026-11-25T20:00:00Z")
    assert code == 0
    assert json.loads(out) == {
        "priority": "urgent",
        "first_response_due": "2026-11-27T15:00:00Z",
        "next_update_due": None,  # no public reply yet: the update cadence has not started
        "resolution_due": "2026-12-03T20:00:00Z",
    }


def test_due_next_update_from_first_reply_and_last_update(run) -> None:
    """The update clock's contract (issue 9, failure 2): null until the first public
    reply, then one cadence (urgent: 1 business day) after the last public update."""
    base = ("sla", "due", "--priority", "urgent", "--opened", "2026-11-25T20:00:00Z")
    code, out, _ = run(*base, "--first-reply", "2026-11-27T15:00:00Z")
    assert code == 0 and json.loads(out)["next_update_due"] == "2026-11-30T15:00:00Z"
    code, out, _ = run(
        *base, "--first-reply", "2026-11-27T15:00:00Z", "--last-update", "2026-11-30T16:00:00Z"
    )
    assert code == 0 and json.loads(out)["next_update_due"] == "2026-12-01T16:00:00Z"
    code, _, err = run(*base, "--last-update", "2026-11-30T16:00:00Z")
    assert code == 2 and "without the first reply" in err
    code, _, err = run(*base, "--first-reply", "2026-11-20T15:00:00Z")
    assert code == 2 and "before the opening" in err


def test_due_input_lines_take_first_reply_and_last_update(run, tmp_path) -> None:
    f = tmp_path / "t.jsonl"
    f.write_text(
        '{"id": 1, "priority": "critical", "opened": "2026-11-23T15:00:00Z"}\n'
        '{"id": 2, "priority": "critical", "opened": "2026-11-23T15:00:00Z",'
        ' "first_reply": "2026-11-23T15:30:00Z"}\n'
        '{"id": 3, "priority": "critical", "opened": "2026-11-23T15:00:00Z",'
        ' "first_reply": "2026-11-23T15:30:00Z", "last_update": "2026-11-23T17:00:00Z"}\n'
    )
    code, out, _ = run("sla", "due", "--input", str(f))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["next_update_due"] for r in rows] == [
        None,
        "2026-11-23T16:30:00Z",
        "2026-11-23T18:00:00Z",
    ]
    code, _, err = run("sla", "due", "--input", str(f), "--first-reply", "2026-11-23T15:30:00Z")
    assert code == 2 and "not both" in err


def test_due_friday_closing_and_offsets(run) -> None:
    # Fri 27 Nov 14:00 EST + 4 business hours = Fri 18:00 EST = 23:00Z
    code, out, _ = run("sla", "due", "--priority", "2", "--opened", "2026-11-27T14:00:00-05:00")
    assert code == 0
    assert json.loads(out)["first_response_due"] == "2026-11-27T23:00:00Z"


def test_due_with_pauses(run) -> None:
    code, out, _ = run(
        "sla",
        "due",
        "--priority",
        "urgent",
        "--opened",
        "2026-11-23T15:00:00Z",
        "--pause",
        "2026-11-23T16:00:00Z",
        "2026-11-23T18:00:00Z",
        "--pause",
        "2026-11-24T14:00:00Z",
        "2026-11-24T15:00:00Z",
    )
    assert code == 0
    assert json.loads(out)["resolution_due"] == "2026-12-01T18:00:00Z"


def test_due_policy_option_overrides(run, tmp_path: Path) -> None:
    code, out, _ = run(
        "sla", "due", "--priority", "urgent", "--opened", "2026-11-23T14:00:00Z",
        "--policy", "enterprise-plus",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["first_response_due"] == "2026-11-23T16:00:00Z"
    f = tmp_path / "p.toml"
    f.write_text(
        default_policy_path().read_text().replace('first_response = "4h"', 'first_response = "1h"')
    )
    code, out, _ = run(
        "sla", "due", "--priority", "urgent", "--opened", "2026-11-23T14:00:00Z", "--policy", str(f)
    )
    assert json.loads(out)["first_response_due"] == "2026-11-23T15:00:00Z"


def test_global_policy_option(capsys, tmp_path: Path) -> None:
    f = tmp_path / "p.toml"
    f.write_text(
        default_policy_path().read_text().replace('first_response = "4h"', 'first_response = "1h"')
    )
    code, out, _ = run_main(
        capsys,
        "--policy",
        str(f),
        "sla",
        "due",
        "--priority",
        "urgent",
        "--opened",
        "2026-11-23T14:00:00Z",
    )
    assert code == 0
    assert json.loads(out)["first_response_due"] == "2026-11-23T15:00:00Z"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--priority", "urgent", "--opened", "yesterday"], "--opened: not an ISO 8601 instant"),
        (["--priority", "urgent", "--opened", "2026-11-23T10:00"], "has no UTC offset"),
        (["--priority", "blocker", "--opened", "2026-11-23T10:00Z"], "unknown priority 'blocker'"),
        (["--opened", "2026-11-23T10:00Z"], "--priority is required"),
        (["--priority", "urgent"], "--opened is required"),
        (
            [
                "--priority",
                "urgent",
                "--opened",
                "2026-11-23T10:00Z",
                "--pause",
                "2026-11-23T12:00Z",
                "2026-11-23T11:00Z",
            ],
            "ends (2026-11-23T11:00Z) before it starts",
        ),
        (
            ["--priority", "urgent", "--opened", "2026-11-23T10:00Z", "--policy", "nope.toml"],
            "nope.toml: policy file not found",
        ),
        (
            ["--priority", "urgent", "--opened", "2026-11-23T10:00Z", "--policy", "gold"],
            "no policy named 'gold'",
        ),
        (
            ["--priority", "urgent", "--opened", "0001-01-01T00:00:00Z"],
            "--opened 0001-01-01T00:00:00+00:00 is outside the supported range 1900-01-01 to"
            " 2199-12-31 (UTC)",
        ),
        (
            ["--priority", "critical", "--opened", "9999-12-31T23:00:00Z"],
            "--opened 9999-12-31T23:00:00+00:00 is outside the supported range",
        ),
        (
            ["--priority", "critical", "--opened", "1899-12-31T23:59:59Z"],
            "--opened 1899-12-31T23:59:59+00:00 is outside the supported range",
        ),
        (
            ["--priority", "urgent", "--opened", "2200-01-01T00:00:00+00:00"],
            "--opened 2200-01-01T00:00:00+00:00 is outside the supported range",
        ),
        (
            [
                "--priority",
                "urgent",
                "--opened",
                "2026-11-23T10:00Z",
                "--pause",
                "2026-11-23T11:00Z",
                "9999-01-01T00:00Z",
            ],
            "end 9999-01-01T00:00:00+00:00 is outside the supported range",
        ),
    ],
)
def test_due_bad_input(run, argv: list[str], message: str) -> None:
    code, out, err = run("sla", "due", *argv)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_bad_policy_file_is_one_line(run, tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(
        default_policy_path()
        .read_text()
        .replace('mon = ["09:00", "18:00"]', 'mon = ["09:00", "08:00"]')
    )
    code, _, err = run(
        "sla", "due", "--priority", "urgent", "--opened", "2026-11-23T10:00Z", "--policy", str(f)
    )
    assert code == 2
    assert "bad.toml: business_hours.mon: end 08:00 is before start 09:00" in err


def test_due_input_jsonl(run, tmp_path: Path) -> None:
    f = tmp_path / "in.jsonl"
    f.write_text(
        "\n".join(
            [
                json.dumps({"priority": "urgent", "opened": "2026-11-25T20:00:00Z"}),
                "",
                json.dumps(
                    {
                        "id": "T-1",
                        "priority": "minor",
                        "opened": "2026-11-23T15:00:00Z",
                        "pauses": [["2026-11-23T16:00:00Z", "2026-11-23T18:00:00Z"]],
                    }
                ),
                json.dumps(
                    {"priority": "critical", "opened": "2026-11-28T03:00:00Z", "pauses": []}
                ),
            ]
        )
        + "\n"
    )
    code, out, _ = run("sla", "due", "--input", str(f))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3
    assert rows[0]["first_response_due"] == "2026-11-27T15:00:00Z"
    assert rows[1]["id"] == "T-1" and rows[1]["priority"] == "minor"
    assert rows[1]["resolution_due"] == "2026-12-01T17:00:00Z"
    assert rows[2]["resolution_due"] == "2026-11-28T11:00:00Z"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not valid JSON"),
        ("[1, 2]", "line 2: expected a JSON object"),
        ('{"priority": "urgent"}', "line 2: missing field 'opened'"),
        (
            '{"priority": "urgent", "opened": "2026-11-23T10:00Z", "colour": 1}',
            "line 2: unknown field 'colour'",
        ),
        ('{"priority": "urgent", "opened": "soon"}', "line 2: opened: not an ISO 8601 instant"),
        ('{"priority": 7, "opened": "2026-11-23T10:00Z"}', "line 2: unknown priority 7"),
        (
            '{"priority": "urgent", "opened": "2026-11-23T10:00Z", "pauses": [["2026-11-23T10:00Z"]]}',
            "line 2: pauses[0]: expected [start, end]",
        ),
        (
            '{"priority": "urgent", "opened": "2026-11-23T10:00Z", "pauses": "x"}',
            "line 2: pauses: expected a list",
        ),
        (
            '{"priority": "urgent", "opened": "0001-01-01T00:00:00Z"}',
            "line 2: opened 0001-01-01T00:00:00+00:00 is outside the supported range",
        ),
        (
            '{"priority": "critical", "opened": "9999-12-31T23:00:00Z"}',
            "line 2: opened 9999-12-31T23:00:00+00:00 is outside the supported range",
        ),
        (
            '{"priority": "urgent", "opened": "2026-11-23T10:00Z",'
            ' "pauses": [["1000-01-01T00:00Z", "2026-11-23T11:00Z"]]}',
            "line 2: pauses[0] start 1000-01-01T00:00:00+00:00 is outside the supported range",
        ),
    ],
)
def test_due_input_bad_line(run, tmp_path: Path, line: str, message: str) -> None:
    f = tmp_path / "in.jsonl"
    f.write_text(
        json.dumps({"priority": "urgent", "opened": "2026-11-25T20:00:00Z"}) + "\n" + line + "\n"
    )
    code, out, err = run("sla", "due", "--input", str(f))
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("opened", "first_response_due"),
    [
        ("1970-01-01T00:00:00Z", "1970-01-01T18:00:00Z"),  # it used to answer 1971-01-01
        ("1900-01-01T00:00:00Z", "1900-01-01T18:00:00Z"),
        ("2199-12-31T23:59:59Z", "2200-01-01T18:00:00Z"),
    ],
)
def test_due_at_the_edges_of_the_range(run, opened: str, first_response_due: str) -> None:
    code, out, err = run("sla", "due", "--priority", "urgent", "--opened", opened)
    assert code == 0, err
    assert json.loads(out)["first_response_due"] == first_response_due


def test_due_input_stdin(run, monkeypatch) -> None:
    monkeypatch.setattr(
        "sys.stdin", io.StringIO('{"priority": "urgent", "opened": "2026-11-25T20:00:00Z"}\n')
    )
    code, out, _ = run("sla", "due", "--input", "-")
    assert code == 0
    assert json.loads(out)["priority"] == "urgent"


def test_due_input_missing_file_and_mixed_options(run, tmp_path: Path) -> None:
    code, _, err = run("sla", "due", "--input", str(tmp_path / "none.jsonl"))
    assert code == 2 and "cannot read" in err
    code, _, err = run("sla", "due", "--input", "-", "--priority", "urgent")
    assert code == 2 and "not both" in err


def test_calendar(run) -> None:
    code, out, _ = run("sla", "calendar", "--from", "2026-10-30", "--days", "4")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Policy default (America/New_York) from 2026-10-30, 4 day(s)"
    assert "Fri 2026-10-30  open 09:00–18:00 EDT; standard maintenance 00:00–05:00 EDT" in lines
    assert "Sat 2026-10-31  closed" in lines
    assert "Sun 2026-11-01  closed" in lines
    assert "Mon 2026-11-02  open 09:00–18:00 EST; standard maintenance 00:00–05:00 EST" in lines
    code, out, _ = run("sla", "calendar", "--from", "2026-11-26", "--days", "1")
    assert "Thu 2026-11-26  closed: holiday (Thanksgiving Day)" in out


def test_calendar_json_and_contract(run) -> None:
    code, out, _ = run(
        "sla",
        "calendar",
        "--from",
        "2026-11-23",
        "--days",
        "2",
        "--json",
        "--policy",
        "enterprise-plus",
    )
    assert code == 0
    days = [json.loads(line) for line in out.splitlines()]
    assert days[0] == {
        "date": "2026-11-23",
        "open": [["2026-11-23T14:00:00Z", "2026-11-24T02:00:00Z"]],
        "holiday": None,
        "special_day": None,
        "maintenance": [["2026-11-23T05:00:00Z", "2026-11-23T10:00:00Z"]],
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "23/11/2026"], "--from: not a date"),
        (["--days", "0"], "--days: expected 1 to 3660"),
        (
            ["--from", "0001-01-01"],
            "--from 0001-01-01 --days 14: outside the supported range 1900-01-01 to 2199-12-31",
        ),
        (["--from", "1899-12-31", "--days", "2"], "outside the supported range"),
        (["--from", "2199-12-31", "--days", "2"], "outside the supported range"),
        (["--from", "9999-12-30", "--days", "3660"], "outside the supported range"),
    ],
)
def test_calendar_bad_input(run, argv: list[str], message: str) -> None:
    code, _, err = run("sla", "calendar", *argv)
    assert code == 2 and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_calendar_at_the_edges_of_the_range(run) -> None:
    code, out, _ = run("sla", "calendar", "--from", "1900-01-01", "--days", "1", "--json")
    assert code == 0
    assert json.loads(out)["open"] == [["1900-01-01T14:00:00Z", "1900-01-01T23:00:00Z"]]
    code, out, _ = run("sla", "calendar", "--from", "2199-12-31", "--days", "1", "--json")
    assert code == 0
    assert json.loads(out)["open"] == [["2199-12-31T14:00:00Z", "2199-12-31T23:00:00Z"]]

"""``agent-console report``: the same figures as the desk, in every format; JSON and CSV
parse back; bad input is one line with exit 2, a refused view exit 3."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from agent_console.cli import main
from tests.metrics_fixture import build

PERIOD = ["--from", "2026-10-30", "--to", "2026-11-02"]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('report') / 'r.db'}"
    d, _, _ = build(url)
    d.engine.dispose()
    return url


def run(db: str, capsys: pytest.CaptureFixture[str], *args: str, agent: str = "lee"):  # type: ignore[no-untyped-def]
    code = main(["--db", db, "--agent", agent, "report", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_parses_back_with_the_desk_figures(db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(db, capsys, *PERIOD, "--json")
    assert code == 0
    data = json.loads(out)
    crit = data["priorities"][0]
    assert crit["priority"] == "critical"
    assert crit["first_response"]["median"] == 3600
    assert crit["resolution"]["p90"] == 36000
    assert data["breaches"]["count"] == 6
    assert data["daily"][2] == {"date": "2026-11-01", "opened": 1, "resolved": 1}
    code2, out2, _ = run(db, capsys, *PERIOD, "--format", "json")
    assert (code2, json.loads(out2)) == (0, data)


def test_csv_parses_back(db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(db, capsys, *PERIOD, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    got = {(r["section"], r["group"], r["measure"]): r["value"] for r in rows}
    assert got[("first_response", "urgent", "p90")] == "10800"
    assert got[("resolution", "urgent", "median")] == "23400"
    assert got[("escalations", "2", "median_pickup")] == "9000"
    assert got[("agent", "ann", "resolved")] == "3"
    assert got[("daily", "2026-11-02", "opened")] == "4"
    assert got[("backlog_tier", "2", "open")] == "2"
    assert got[("first_response", "minor", "share")] == "0.5"


def test_table_and_markdown_render_subjects_literally(db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(db, capsys, *PERIOD)
    assert code == 0
    assert "Breaches: 6" in out and "T7 [b]critical[/b] trouble" in out
    assert "2h 30m" in out  # median pickup
    code, md, _ = run(db, capsys, *PERIOD, "--format", "markdown", "--tier", "2")
    assert code == 0
    assert md.startswith("# Agent Console report: Custom (2026-10-30 to 2026-11-02), tier 2")
    assert "| --- |" in md.replace("| --- | ---", "| --- |")


def test_agent_sees_only_their_line_and_may_not_ask_for_another(db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(db, capsys, *PERIOD, "--json", agent="ann")
    assert code == 0
    assert [a["handle"] for a in json.loads(out)["agents"]] == ["ann"]
    code, out, err = run(db, capsys, *PERIOD, "--assignee", "bob", agent="ann")
    assert code == 3 and out == ""
    assert err.count("\n") == 1 and "not a lead" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "30/10/2026"], "--from: not a date"),
        (["--from", "2026-11-05", "--to", "2026-11-01"], "before it starts"),
        (["--period", "7d", "--from", "2026-11-01"], "either --period or --from"),
        (["--org", "Nope"], "unknown organization"),
        (["--tier", "7"], "unknown tier"),
        (["--json", "--format", "csv"], "--json contradicts"),
    ],
)
def test_bad_input_is_one_line_exit_2(db: str, capsys, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run(db, capsys, *args)
    assert code == 2 and out == ""
    assert message in err and err.count("\n") == 1


def test_report_on_postgresql_matches_sqlite(db: str, pg_url: str, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d, _, _ = build(pg_url)
    d.engine.dispose()
    _, a, _ = run(db, capsys, *PERIOD, "--format", "csv")
    _, b, _ = run(pg_url, capsys, *PERIOD, "--format", "csv")
    assert a == b


def test_markdown_escapes_what_markdown_would_render(db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """A subject in the markdown report renders as written: ``[b]``, ``*``, ``_``, ``\\``,
    ``<`` are escaped, not only ``|`` (a ``\\[x]`` lost its backslash, ``*x*`` turned
    italic) (trial)."""
    import re

    code, md, _ = run(db, capsys, *PERIOD, "--format", "markdown")
    assert code == 0
    assert r"T7 \[b\]critical\[/b\] trouble" in md
    unescape = re.compile(r"\\([\\`*_\[\]<>|~])")
    rows = [line for line in md.splitlines() if "T7" in line]
    assert rows and all("T7 [b]critical[/b] trouble" in unescape.sub(r"\1", r) for r in rows)

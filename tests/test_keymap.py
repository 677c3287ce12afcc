"""The keymap (issue 16): keymap.toml rebinds keys by binding id; a bad entry is reported and
ignored; ``?`` and the palette show the keys in force."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent_console.desk import Desk
from agent_console.keymap import KNOWN_IDS, binding_id, key_problem, keymap_path, read_keymap
from agent_console.screens.help import HelpScreen, key_groups
from agent_console.screens.queue import QueueScreen
from agent_console.settings import Settings
from tests.helpers import SIZE
from tests.helpers import make_queue_app as make_app
from tests.helpers import settle_queue as settle


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_binding_ids() -> None:
    assert binding_id("app", "switch_mode('queue')") == "app.switch_mode.queue"
    assert binding_id("queue", "claim") == "queue.claim"
    assert binding_id("app", "app.help") == "app.help"
    import agent_console.screens.queue  # noqa: F401
    import agent_console.screens.ticket  # noqa: F401

    for bid in ("queue.claim", "queue.play", "queue.previous_view", "ticket.reply", "app.help"):
        assert bid in KNOWN_IDS


@pytest.mark.parametrize(
    ("keys", "ok"),
    [
        ("C", True), ("ctrl+k", True), ("f5", True), ("question_mark", True), ("escape", True),
        ("R,ctrl+r", True), ("pagedown", True), ("ctrl+shift+up", True), ("", False),
        ("ctrl+", False), ("hyperspace", False), ("cmd+k", False), ("a,,b", False),
    ],
)
def test_key_names(keys: str, ok: bool) -> None:
    assert (key_problem(keys) is None) is ok


def test_bad_entries_are_reported_and_ignored(tmp_path: Path) -> None:
    path = write(
        tmp_path / "keymap.toml",
        '"queue.claim" = "C"\n"queue.clame" = "x"\n"queue.play" = "cmd+p"\n'
        '[ticket]\nreply = "R"\nnote = 3\n',
    )
    km = read_keymap(path, known={"queue.claim", "queue.play", "ticket.reply", "ticket.note"})
    assert km.keys == {"queue.claim": "C", "ticket.reply": "R"}
    assert len(km.problems) == 3
    assert all(p.startswith(f"keymap file {path}: ") and p.endswith("ignored") for p in km.problems)
    assert any("unknown binding id 'queue.clame'" in p for p in km.problems)
    assert any("'queue.play'" in p and "cmd+p" in p for p in km.problems)
    assert any("'ticket.note'" in p for p in km.problems)
    bad = read_keymap(write(tmp_path / "bad.toml", "queue.claim = "))
    assert bad.keys == {} and "not valid TOML" in bad.problems[0]
    assert read_keymap(tmp_path / "none.toml").problems == ()


async def _keymap_applied(pilot, timeout: float = 8.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if pilot.app.keymap.path is not None:
            await pilot.pause(0.1)
            return
    raise AssertionError("keymap not read")


async def test_override_shown_in_help_and_used(seeded_desk: Desk, settings: Settings) -> None:
    write(keymap_path(), '"queue.claim" = "C"\n"queue.nonsense" = "z"\n"app.help" = "f1,question_mark"\n')
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        queue = await settle(pilot)
        await _keymap_applied(pilot)
        assert [p for p in app.keymap.problems if "queue.nonsense" in p]
        await pilot.press("f1")
        await pilot.pause(0.2)
        assert isinstance(app.screen, HelpScreen)
        keys = {what: key for _, group in key_groups(queue, app) for key, what in group}
        assert keys["Claim"] == "C"
        assert "c" not in {k for _, group in key_groups(queue, app)[:-1] for k, _ in group}
        generic = key_groups(queue, app)[-1][1]
        assert [k for k, what in generic if what == "Help"] == ["f1", "?"]
        await pilot.press("escape")
        await pilot.pause(0.1)
        # the new key claims; the old one no longer does
        await pilot.press("u")
        queue = await settle(pilot)
        row = queue.table.cursor_row
        assert row is not None and row.assignee is None
        await pilot.press("c")
        await pilot.pause(0.5)
        assert app.desk.ticket_detail(row.key).assignee is None
        await pilot.press("C")
        deadline = time.monotonic() + 5
        while app.desk.ticket_detail(row.key).assignee is None and time.monotonic() < deadline:
            await pilot.pause(0.1)
        assert app.desk.ticket_detail(row.key).assignee == "alice"
        assert isinstance(app.screen, QueueScreen)


async def test_several_bad_entries_are_one_notice_at_80x24(
    seeded_desk: Desk, settings: Settings
) -> None:
    """Three bad lines were three toasts covering the queue at 80×24 (trial): one notice says
    how many and where to read them; each stays a log line; the good entries apply."""
    path = write(
        keymap_path(),
        '"queue.claim" = "C"\n"queue.clame" = "x"\n"queue.play" = "cmd+p"\n[ticket]\nnote = 3\n',
    )
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await _keymap_applied(pilot)
        notes = [n for n in app._notifications if n.title == "Keymap"]
        assert [n.message for n in notes] == [
            "keymap.toml: 3 entries ignored ('queue.clame', 'queue.play' +1) — run "
            "`agent-console keymap check` (or see the log)"
        ]
        assert app.keymap.keys == {"queue.claim": "C"}
    # one bad line: the line itself, as before
    write(path, '"queue.clame" = "x"\n')
    one = read_keymap(path, known=KNOWN_IDS)
    assert one.notice() == one.problems[0] and "'queue.clame'" in one.problems[0]


def test_cli_keymap_check(capsys: pytest.CaptureFixture[str]) -> None:
    from agent_console.cli import main

    assert main(["keymap", "check"]) == 2
    assert "not found" in capsys.readouterr().err
    path = write(keymap_path(), '"queue.claim" = "C"\n"queue.clame" = "x"\n"ticket.note" = 3\n')
    assert main(["keymap", "check"]) == 2
    out, err = capsys.readouterr()
    assert out == "queue.claim = C\n"
    lines = err.splitlines()
    assert len(lines) == 3
    assert "unknown binding id 'queue.clame'" in lines[0] and "'ticket.note'" in lines[1]
    assert lines[2] == f"agent-console: error: {path}: 1 entry applies, 2 ignored (the lines above)"
    write(path, '"queue.claim" = "C"\n')
    assert main(["keymap", "check", str(path)]) == 0
    assert capsys.readouterr().out.endswith(f"{path}: ok, 1 entry applies\n")

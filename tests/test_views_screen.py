"""The queue screen with views from files (issue 16): a team view in the bar with its key,
columns and count; each view keeps its filter; a bad file is a notice and the built-ins."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from agent_console.desk import Desk
from agent_console.desk.queue import VIEW_NAMES, QueueQuery
from agent_console.desk.view_files import team_views_path
from agent_console.settings import Settings
from agent_console.widgets.queue_views import QueueViewBar
from tests.conftest import FIXED_NOW
from tests.helpers import SIZE
from tests.helpers import make_queue_app as make_app
from tests.helpers import settle_queue as settle
from tests.test_queue_screen import line_text

TEAM = """
[[view]]
name = "hot"
label = "Hot and mine"
short = "Hot"
key = "v"
sort = "priority"
columns = ["priority", "status", "assignee"]
filter = "priority in (critical, urgent) and tier = mine and assignee = none or assignee = me"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


async def test_team_view_in_bar_with_key_columns_sort_and_count(
    seeded_desk: Desk, settings: Settings
) -> None:
    write(team_views_path(), TEAM)
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        bar = screen.query_one(QueueViewBar)
        want = seeded_desk.queue_ids(
            QueueQuery(view="hot", agent="alice", sort="priority"), FIXED_NOW
        )
        assert f"v Hot {len(want):,}" in bar.plain()
        assert "Requester" in line_text(screen.table, 0)
        await pilot.press("v")
        screen = await settle(pilot)
        assert screen.query_state.view == "hot" and screen.query_state.sort == "priority"
        assert screen.table.ids == want
        header = line_text(screen.table, 0)
        assert "Requester" not in header and "Tier" not in header and "Status" in header
        status = str(screen.query_one("#queue-status").render())
        assert "Hot and mine" in status
        await pilot.press("w")
        screen = await settle(pilot)
        assert "Requester" in line_text(screen.table, 0)


async def test_each_view_keeps_its_filter_and_sort(seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        await pilot.press("slash", *"refund", "enter", "s")
        screen = await settle(pilot)
        assert (screen.query_state.text, screen.query_state.sort) == ("refund", "priority")
        await pilot.press("a")
        screen = await settle(pilot)
        box = screen.query_one("#filter", Input)
        assert (box.value, screen.query_state.text, screen.query_state.sort) == ("", "", "due")
        await pilot.press("w")
        screen = await settle(pilot)
        assert box.value == "refund"
        assert (screen.query_state.text, screen.query_state.sort) == ("refund", "priority")
        assert screen.table.ids == seeded_desk.queue_ids(
            QueueQuery(view="working", agent="alice", text="refund", sort="priority"), FIXED_NOW
        )
        # leaving the queue screen and coming back keeps it too
        await app.switch_mode("knowledge")
        await pilot.pause(0.2)
        await app.switch_mode("queue")
        screen = await settle(pilot)
        assert screen.query_state.text == "refund" and box.value == "refund"


async def test_bad_views_file_is_a_notice_and_the_builtins_run(
    seeded_desk: Desk, settings: Settings
) -> None:
    path = write(team_views_path(), '[[view]]\nname = "x"\nkey = "q"\nfilter = "prio = 1"\n')
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await settle(pilot)
        assert screen.view_set().names == VIEW_NAMES
        notes = [n.message for n in app._notifications]
        assert any(
            m.startswith(f"views file {path}: view 'x', key 'filter': unknown field 'prio'")
            and m.endswith("using the built-in views")
            for m in notes
        ), notes

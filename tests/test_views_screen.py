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


async def test_an_edited_views_file_is_picked_up_and_a_bad_one_keeps_the_views(
    seeded_desk: Desk, settings: Settings
) -> None:
    """views.toml was read once at start (trial): the console notices an edit (its tick
    looks at the file's modification time), puts the new views in force with their keys
    and says so; a file it cannot use is one line, and the views in use stay; f5 reads it
    again on demand."""
    import time

    path = write(team_views_path(), TEAM)
    app = make_app(seeded_desk, settings)

    async def notes() -> list[str]:
        await pilot.pause(0.05)
        return [n.message for n in app._notifications]

    async def until(cond, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await pilot.pause(0.05)
            if cond():
                return
        raise AssertionError("timed out")

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await settle(pilot)
        await pilot.press("v")
        screen = await settle(pilot)
        assert screen.query_state.view == "hot"
        screen.check_views_file()  # nothing changed: nothing read, nothing said
        await pilot.pause(0.2)
        assert not [m for m in await notes() if "Views" in m or "views" in m]
        # the team edits the file: "hot" goes, "cold" comes on key z
        write(path, TEAM.replace('name = "hot"', 'name = "cold"').replace('key = "v"', 'key = "z"'))
        screen._tick()  # the tick looks (views_check_every seconds apart; 0 here)
        screen.views_check_every = 0.0
        screen._tick()
        await until(lambda: "cold" in screen.view_set().names)
        screen = await settle(pilot)
        assert "hot" not in screen.view_set().names
        assert screen.query_state.view == "working"  # the shown view is gone: the first
        assert "z Hot" in screen.query_one(QueueViewBar).plain()
        assert "Views reloaded: 9 views (views.toml)" in await notes()
        await pilot.press("z")
        screen = await settle(pilot)
        assert screen.query_state.view == "cold"
        await pilot.press("v")  # the old key no longer shows a view
        await pilot.pause(0.2)
        assert screen.query_state.view == "cold"
        # a bad edit: one line naming file, view and key; the views in use stay
        write(path, TEAM.replace('name = "hot"', 'name = "cold"').replace("priority in", "prio in"))
        screen._tick()
        await until(lambda: any("keeping the views in use" in m for m in app_notes(app)))
        bad = [m for m in app_notes(app) if "keeping the views in use" in m]
        assert bad == [
            f"views file {path}: view 'cold', key 'filter': unknown field 'prio' (use "
            "priority, status, tier, assignee, org, tag, type, escalated, breaching_within, "
            "text); keeping the views in use"
        ]
        assert "cold" in screen.view_set().names and screen.query_state.view == "cold"
        # fixed, and read on demand with f5 (the palette's "Reload views")
        write(path, TEAM)
        screen.views_check_every = 3600.0
        await pilot.press("f5")
        await until(lambda: "hot" in screen.view_set().names)
        assert "v Hot" in screen.query_one(QueueViewBar).plain()


def app_notes(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [n.message for n in app._notifications]

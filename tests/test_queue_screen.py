"""The Queue screen driven through Pilot (issue 4)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from textual.widgets import Input

import agent_console.screens.queue as queue_module
from agent_console.desk import Desk
from agent_console.desk.queue import VIEWS, QueueQuery
from agent_console.screens.queue import QueueLoaded
from agent_console.settings import Settings
from agent_console.widgets.queue_table import Column, QueueTable
from agent_console.widgets.queue_views import QueueViewBar, ViewTab
from tests.conftest import FIXED_NOW
from tests.helpers import SIZE, Clock, until
from tests.helpers import make_queue_app as make_app
from tests.helpers import settle_queue as settle


def line_text(table: QueueTable, y: int) -> str:
    return "".join(seg.text for seg in table.render_line(y))


def visible_text(table: QueueTable) -> str:
    return "\n".join(line_text(table, y) for y in range(table.size.height))


def expected_ids(desk: Desk, **query: object) -> list[int]:
    return desk.queue_ids(QueueQuery(agent="alice", **query), FIXED_NOW)  # type: ignore[arg-type]


async def test_opens_on_working_view_with_rows_counts_and_header(
    seeded_desk: Desk, settings: Settings
) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        table = screen.query_one(QueueTable)
        assert table.ids == expected_ids(seeded_desk, view="working")
        first = seeded_desk.queue_rows(table.ids[:1])[table.ids[0]]
        assert first.key in line_text(table, 1)
        counts = seeded_desk.queue_counts("alice", FIXED_NOW)
        for tab in screen.query(ViewTab):
            assert tab.count == counts[tab.view.name]
        header = app.screen.query_one("#header-line").render()
        plain = str(header)
        assert "alice" in plain and "tier 1" in plain and "open until 18:00 ET" in plain
        assert app.focused is table


@pytest.mark.parametrize("view", VIEWS, ids=[v.name for v in VIEWS])
async def test_view_keys_switch_views(seeded_desk: Desk, settings: Settings, view) -> None:  # type: ignore[no-untyped-def]
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        other = "a" if view.key != "a" else "m"
        await pilot.press(other)
        await settle(pilot)
        await pilot.press(view.key)
        screen = await settle(pilot)
        assert screen.query_state.view == view.name
        assert screen.query_one(QueueTable).ids == expected_ids(seeded_desk, view=view.name)
        assert screen.query_one(QueueViewBar).active == view.name
        assert view.label in str(screen.query_one("#queue-status").render())


async def test_view_bar_compact_when_narrow(seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot)
        bar = screen.query_one(QueueViewBar)
        counts = seeded_desk.queue_counts("alice", FIXED_NOW)
        assert bar.compact
        # every view's key and count is on screen; the active view keeps its name
        expected = "  ".join(
            f"{v.key} {v.tab + ' ' if v.name == 'working' else ''}{counts[v.name]:,}" for v in VIEWS
        )
        assert bar.plain() == expected
        assert sum(tab.outer_size.width for tab in bar.query(ViewTab)) <= 80
        await pilot.press("b")
        await settle(pilot)
        assert f"b Breaching {counts['breaching']:,}" in bar.plain()
        assert "Working" not in bar.plain()
    async with make_app(seeded_desk, settings).run_test(size=(160, 40)) as pilot:
        screen = await settle(pilot)
        bar = screen.query_one(QueueViewBar)
        assert not bar.compact
        assert all(f"{v.key} {v.tab} " in bar.plain() for v in VIEWS)


async def test_tab_cycles_views_and_click_on_a_view(seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        screen = await settle(pilot)
        assert screen.query_state.view == VIEWS[1].name
        await pilot.press("shift+tab", "shift+tab")
        screen = await settle(pilot)
        assert screen.query_state.view == VIEWS[-1].name
        await pilot.click("#view-critical")
        screen = await settle(pilot)
        assert screen.query_state.view == "critical"
        assert screen.query_one(QueueTable).ids == expected_ids(seeded_desk, view="critical")


async def test_filter_as_you_type_and_escape_clears(seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")  # all open
        screen = await settle(pilot)
        table = screen.query_one(QueueTable)
        region = table.region
        await pilot.press("slash")
        # the one-line filter bar is always laid out: "/" only focuses it
        assert app.focused is screen.query_one("#filter") and table.region == region
        await pilot.press(*"refund")
        await pilot.pause(0.3)
        screen = await settle(pilot)
        want = expected_ids(seeded_desk, view="all", text="refund")
        assert want and table.ids == want
        assert "refund" in str(screen.query_one("#queue-status").render())
        assert all("refund" in r.subject.lower() for r in seeded_desk.queue_rows(want).values())
        await pilot.press("escape")
        screen = await settle(pilot)
        assert screen.query_state.text == ""
        assert table.ids == expected_ids(seeded_desk, view="all")
        assert screen.query_one("#filter", Input).value == ""
        assert app.focused is table and table.region == region


async def test_filter_keeps_only_the_latest_result(seeded_desk: Desk, settings: Settings) -> None:
    """Every keystroke restarts the debounce; only the final text's result is shown."""
    loaded: list[str] = []

    def hook(message: object) -> None:
        if isinstance(message, QueueLoaded):
            loaded.append(message.query.text)

    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await settle(pilot)
        loaded.clear()
        # a debounce longer than a loaded machine's gap between two keystrokes: what is
        # checked is that typing restarts it, not how fast the keys arrive
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(queue_module, "FILTER_DEBOUNCE", 1.0)
            await pilot.press("slash", *"reward")
            assert await until(pilot, lambda: "reward" in loaded)
        screen = await settle(pilot)
        assert screen.query_state.text == "reward"
        assert loaded[-1] == "reward"
        assert "rewar" not in loaded  # debounced: no query per keystroke
        assert screen.query_one(QueueTable).ids == expected_ids(
            seeded_desk, view="working", text="reward"
        )


async def test_hostile_filter_and_subject_render_literally(
    seeded_desk: Desk, settings: Settings
) -> None:
    key = seeded_desk.create_ticket(
        subject="see [/path] docs [bold red]x[/] \x1b[2J \x9b6n \x1b]0;title\x07",
        body="x",
        requester_email="mallory@example.com",
        requester_name="[link=x]Mallory[/link]",
    )
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"[/path]")
        await pilot.pause(0.3)
        screen = await settle(pilot)
        table = screen.query_one(QueueTable)
        assert len(table.ids) == 1
        line = line_text(table, 1)
        assert key in line
        assert "see [/path] docs [bold red]x[/]" in line
        assert "[link=x]Mallory[/link]" in line
        # nothing non-printable reaches the terminal: not C0 (ESC, BEL), not C1 (8-bit CSI)
        screen_text = visible_text(table)
        assert all(ch.isprintable() for ch in screen_text.replace("\n", ""))
        subject = table._cell(table.rows[table.ids[0]], Column("subject", "", 200)).plain
        assert subject == "see [/path] docs [bold red]x[/] \\x1b[2J \\x9b6n \\x1b]0;title\\x07"


async def test_sort_key_cycles_sorts(seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a", "s")
        screen = await settle(pilot)
        assert screen.query_state.sort == "priority"
        assert screen.query_one(QueueTable).ids == expected_ids(
            seeded_desk, view="all", sort="priority"
        )
        await pilot.press("s")
        screen = await settle(pilot)
        assert screen.query_one(QueueTable).ids == expected_ids(
            seeded_desk, view="all", sort="newest"
        )


async def test_keyboard_and_mouse_navigation(seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        screen = await settle(pilot)
        table = screen.query_one(QueueTable)
        await pilot.press("home")
        assert table.cursor == 0
        await pilot.press("down", "down")
        assert table.cursor == 2
        await pilot.press("up")
        assert table.cursor == 1
        await pilot.press("pagedown")
        page = table.size.height - 2
        assert table.cursor == 1 + page
        await pilot.press("end")
        await pilot.pause(0.2)
        assert table.cursor == table.row_count - 1
        assert table.scroll_y > 0
        # (rows far down, fetched on demand: test_far_rows_are_fetched_on_demand)
        await pilot.press("home")
        await pilot.pause(0.1)
        assert table.cursor == 0 and table.scroll_y == 0
        await pilot.click(QueueTable, offset=(3, 4))  # line 4 = row 3
        assert table.cursor == 3
        await pilot.mouse_down(QueueTable)  # no crash on other mouse events
        await pilot.mouse_up(QueueTable)


@pytest.fixture
def long_queue_desk(seeded_desk: Desk) -> Desk:
    """The seeded desk plus 400 open tickets: the "all open" view is several times longer
    than the first window and the viewport's read-ahead together."""
    for i in range(400):
        seeded_desk.create_ticket(
            subject=f"Bulk ticket {i:03d}",
            body="bulk",
            requester_email=f"bulk{i}@example.com",
            requester_name=f"Bulk {i}",
            priority="minor",
            opened_at=FIXED_NOW - timedelta(minutes=400 - i),
        )
    return seeded_desk


async def test_far_rows_are_fetched_on_demand(long_queue_desk: Desk, settings: Settings) -> None:
    """The end of a long view is not in the first window nor in the read-ahead around the
    top: pressing end must ask for it (RowsNeeded), fetch it in a worker and paint it."""
    from agent_console.screens import queue as queue_screen

    needed: list[list[int]] = []

    def record(message: object) -> None:
        if isinstance(message, QueueTable.RowsNeeded):
            needed.append(list(message.ids))

    app = make_app(long_queue_desk, settings)
    async with app.run_test(size=SIZE, message_hook=record) as pilot:
        await settle(pilot)
        await pilot.press("a")
        screen = await settle(pilot)
        table = screen.query_one(QueueTable)
        await pilot.pause(0.2)
        last = table.ids[-1]
        assert len(table.ids) > queue_screen.FIRST_WINDOW + 3 * table.size.height
        assert last not in table.rows  # not fetched yet: the test reaches the paging code
        assert all(last not in ids for ids in needed)
        await pilot.press("end")
        for _ in range(100):
            await pilot.pause(0.05)
            if last in table.rows:
                break
        assert any(last in ids for ids in needed)  # asked for on demand ...
        await pilot.pause(0.1)
        key = long_queue_desk.queue_rows([last])[last].key
        assert key in visible_text(table)  # ... fetched and painted


async def test_enter_and_click_on_highlighted_row_open_the_ticket(
    seeded_desk: Desk, settings: Settings
) -> None:
    from agent_console.screens.ticket import TicketScreen

    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        table = screen.query_one(QueueTable)
        await pilot.press("down")
        key = table.cursor_row.key  # type: ignore[union-attr]
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert isinstance(app.screen, TicketScreen)
        assert app.screen.key == key
        # the queue's clock is paused while the ticket is shown
        assert not screen._ticker._active.is_set()  # type: ignore[union-attr]
        app.pop_screen()
        await pilot.pause(0.2)
        assert app.screen is screen
        assert screen._ticker._active.is_set()  # type: ignore[union-attr]
        await pilot.click(QueueTable, offset=(3, 2))  # row 1: the highlighted row
        await pilot.pause(0.2)
        assert isinstance(app.screen, TicketScreen) and app.screen.key == key


def _holder(desk: Desk, key: str) -> str | None:
    rows = desk.queue_rows(desk.queue_ids(QueueQuery(view="all"), FIXED_NOW))
    return next(r.assignee for r in rows.values() if r.key == key)


async def test_claim_and_claim_next(seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("u")  # unassigned in my tier
        screen = await settle(pilot)
        table = screen.query_one(QueueTable)
        first, second = (seeded_desk.queue_rows(table.ids[:2])[i].key for i in table.ids[:2])
        await pilot.press("down", "c")

        def told(key: str) -> bool:
            return f"Claimed {key}" in [n.message for n in app._notifications]

        assert await until(pilot, lambda: told(second))
        assert _holder(seeded_desk, second) == "alice"
        assert await until(
            pilot,
            lambda: second not in {r.key for r in seeded_desk.queue_rows(table.ids).values()},
        )
        screen = await settle(pilot)
        await pilot.press("n")
        assert await until(pilot, lambda: told(first))
        assert _holder(seeded_desk, first) == "alice"


async def test_claim_refused_is_one_line_notification(
    seeded_desk: Desk, settings: Settings
) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("u")
        screen = await settle(pilot)
        key = screen.query_one(QueueTable).cursor_row.key  # type: ignore[union-attr]
        seeded_desk.claim(key, agent="bruno")  # someone else got it first
        await pilot.press("c")
        await pilot.pause(0.5)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and errors[-1].message == f"{key} is already claimed by bruno (Bruno Keller)"
        assert errors[-1].markup is False


async def test_tick_updates_timers_without_any_query(seeded_desk: Desk, settings: Settings) -> None:
    clock = Clock(FIXED_NOW)
    app = make_app(seeded_desk, settings, clock)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        table = screen.query_one(QueueTable)
        screen._ticker.pause()  # type: ignore[union-attr]
        screen._feed_timer.pause()  # type: ignore[union-attr]
        await pilot.pause(0.1)
        before = visible_text(table)
        statements: list[str] = []

        def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(seeded_desk.engine, "before_cursor_execute", count)
        try:
            for _ in range(5):
                clock.now += timedelta(seconds=1)
                screen._tick()
                await pilot.pause(0.02)
            after = visible_text(table)
        finally:
            event.remove(seeded_desk.engine, "before_cursor_execute", count)
        assert statements == []
        assert after != before
        assert "14:00:05" in str(screen.query_one("#header-line").render()) or "09:00:05" in str(
            screen.query_one("#header-line").render()
        )


def test_second_process_change_shows_up_within_two_seconds(
    seeded_desk: Desk, settings: Settings, sqlite_url: str
) -> None:
    import asyncio

    async def run() -> None:
        app = make_app(seeded_desk, settings)
        async with app.run_test(size=SIZE) as pilot:
            screen = await settle(pilot)
            table = screen.query_one(QueueTable)
            # unassigned view, cursor on row 2; another console claims row 0, which
            # leaves the view: the cursor stays on its ticket (now row 1)
            await pilot.press("u")
            screen = await settle(pilot)
            await pilot.press("down", "down")
            watched = table.cursor_id
            target = seeded_desk.queue_rows(table.ids[:1])[table.ids[0]].key
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "agent_console",
                    "--db",
                    sqlite_url,
                    "ticket",
                    "claim",
                    target,
                    "--agent",
                    "erin",
                ],
                capture_output=True,
                text=True,
                timeout=60,
                cwd=Path(__file__).resolve().parents[1],
            )
            assert proc.returncode == 0, proc.stderr
            t0 = time.monotonic()
            while time.monotonic() - t0 < 2.0:
                await pilot.pause(0.05)
                if target not in visible_text(table):
                    break
            elapsed = time.monotonic() - t0
            assert target not in visible_text(table), "the claim did not show up"
            assert elapsed < 2.0
            assert table.cursor_id == watched  # the cursor stayed on its ticket
            assert table.cursor == 1

    asyncio.run(run())


async def test_feed_change_patches_the_ordering_and_coalesces_counts(
    seeded_desk: Desk, settings: Settings
) -> None:
    """A change elsewhere moves only the changed rows (no re-read of the whole ordering)
    and the view counts are read again at most every COUNT_COALESCE seconds."""
    from agent_console.screens import queue as queue_screen

    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle(pilot)
        screen._feed_timer.pause()  # type: ignore[union-attr]
        table = screen.query_one(QueueTable)
        calls: list[str] = []
        desk = app.desk  # type: ignore[attr-defined]
        for name in ("queue_ids", "queue_counts", "queue_patch"):
            real = getattr(desk, name)

            def spy(*a, _real=real, _name=name, **kw):  # type: ignore[no-untyped-def]
                calls.append(_name)
                return _real(*a, **kw)

            setattr(desk, name, spy)
        await pilot.pause(0.1)
        screen._counted_at = time.monotonic()  # counts were just read
        for n, handle in enumerate(("bruno", "carmen")):
            rows = seeded_desk.queue_rows(table.ids)
            key = next(rows[i].key for i in table.ids if rows[i].assignee is None)
            seeded_desk.claim(key, agent=handle)  # leaves alice's working view
            screen._poll()
            await pilot.pause(0.3)
            assert key not in visible_text(table)
            assert table.ids == expected_ids(seeded_desk, view="working")
            assert calls == ["queue_patch"] * (n + 1)  # no queue_ids, no queue_counts
        assert screen._counts_stale
        screen._counted_at -= queue_screen.COUNT_COALESCE
        screen._poll()
        await pilot.pause(0.3)
        assert calls[-1] == "queue_counts" and calls.count("queue_counts") == 1
        assert screen.counts == seeded_desk.queue_counts("alice", FIXED_NOW)


async def test_feed_keeps_following_after_a_failed_load(
    seeded_desk: Desk, settings: Settings
) -> None:
    """A view whose ordering could not be read still follows the feed: the next change
    reads the whole ordering again (a patch needs a complete one)."""
    from agent_console.errors import UserError

    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await settle(pilot)
        screen._feed_timer.pause()  # type: ignore[union-attr]
        desk = app.desk  # type: ignore[attr-defined]
        real = desk.queue_ids

        def busy(*a, **kw):  # type: ignore[no-untyped-def]
            raise UserError("database is busy")

        desk.queue_ids = busy
        await pilot.press("u")
        await pilot.pause(0.5)
        assert any(n.message == "database is busy" for n in app._notifications)
        desk.queue_ids = real
        table = screen.query_one(QueueTable)
        rows = seeded_desk.queue_rows(table.ids)
        key = next(rows[i].key for i in table.ids if rows[i].assignee is None)
        seeded_desk.claim(key, agent="bruno")
        screen._poll()
        await pilot.pause(0.5)
        assert table.ids == expected_ids(seeded_desk, view="unassigned")
        assert not screen._ordering_stale

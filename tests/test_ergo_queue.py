"""Issue 12 on the queue and in lists: an unmistakable full-width cursor in the theme's
colours (two themes, and after a theme change: no stale cached styles), the draft marker,
``me`` in the Assignee column, the columns kept at 80×24, and 1–4 from any list."""

from __future__ import annotations

from rich.segment import Segment
from textual.widgets import Input, OptionList

from agent_console.desk import Desk
from agent_console.screens.knowledge import KnowledgeScreen
from agent_console.screens.queue import QueueScreen
from agent_console.settings import Settings
from agent_console.widgets.kb_results import KBResultList
from agent_console.widgets.queue_table import QueueTable, layout_columns
from tests.helpers import make_queue_app as make_app
from tests.helpers import settle_queue as settle
from tests.test_queue_screen import line_text


def backgrounds(table: QueueTable, y: int) -> set[str]:
    strip = table.render_line(y)
    return {str(seg.style.bgcolor.triplet) for seg in strip if seg.style and seg.style.bgcolor}


def cursor_colour(app, table: QueueTable) -> str:  # type: ignore[no-untyped-def]
    style = table.get_component_rich_style("queue-table--cursor")
    return str(style.bgcolor.triplet)


async def test_cursor_is_a_full_width_bar_in_two_themes_and_after_a_change(
    seeded_desk: Desk, settings: Settings
) -> None:
    app = make_app(seeded_desk, settings)
    seen: dict[str, str] = {}
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await settle(pilot)
        table = screen.table
        await pilot.press("down", "down")
        await pilot.pause()
        cursor_y = table.cursor - int(table.scroll_y) + 1
        for theme in ("textual-dark", "textual-light", "nord"):
            app.theme = theme
            await pilot.pause()
            await pilot.pause()
            colour = cursor_colour(app, table)
            seen[theme] = colour
            # every cell of the cursor line, the blank end included, sits on the cursor colour
            strip = table.render_line(cursor_y)
            assert strip.cell_length == table.scrollable_content_region.width
            cells = [seg for seg in strip if seg.text]
            assert all(seg.style.bgcolor for seg in cells)
            on_cursor = sum(
                len(seg.text) for seg in cells if str(seg.style.bgcolor.triplet) == colour
            )
            assert on_cursor >= strip.cell_length - 45, theme  # only the timer badge may differ
            assert colour not in backgrounds(table, cursor_y + 1), theme  # other rows: not
        assert len(set(seen.values())) == 3  # each theme's own colour, none stale


async def test_draft_marker_and_me(seeded_desk: Desk, settings: Settings) -> None:
    alice = Desk(seeded_desk.engine, settings.with_(agent="alice"))
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await settle(pilot)
        table = screen.table
        first = table.rows[table.ids[0]]
        alice.save_draft(first.key, "reply", "Dear customer")
        key = alice.claim(table.rows[table.ids[1]].key)
        app.drafts.on_saved()  # what the app's draft keeper calls after a write
        await pilot.press("ctrl+r")
        screen = await settle(pilot)
        for _ in range(20):
            await pilot.pause(0.05)
            if table.drafts:
                break
        text = "\n".join(line_text(table, y) for y in range(1, 6))
        row = next(line for line in text.splitlines() if first.key in line)
        assert "✎ draft" in row
        mine = next(line for line in text.splitlines() if key in line)
        assert " me " in mine and "alice" not in mine


def test_columns_at_80_keep_the_must_haves_in_full() -> None:
    cols = {c.name: c.width for c in layout_columns(79)}
    assert set(cols) == {"key", "priority", "subject", "assignee", "timer"}
    assert cols["timer"] >= 24 and cols["subject"] >= 22  # a subject you can read
    wide = [c.name for c in layout_columns(159)]
    assert wide == [
        "key", "priority", "subject", "requester", "status", "tier", "assignee", "timer"
    ]
    # dropping goes requester first, then tier, then status
    assert "requester" not in {c.name for c in layout_columns(110)}
    assert "tier" not in {c.name for c in layout_columns(95)}
    for width in range(79, 200):
        assert sum(c.width + 1 for c in layout_columns(width)) <= width


async def test_queue_at_80x24_timer_in_full(seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await settle(pilot)
        table = screen.table
        header = line_text(table, 0)
        for title in ("Key", "Priority", "Subject", "Assignee", "Next deadline"):
            assert title in header
        assert "Tier" not in header
        for y in range(1, 8):
            line = line_text(table, y).rstrip()
            assert not line.endswith("…"), line  # the timer is never cut


async def test_escape_then_1_from_kb_results_goes_to_the_queue(
    seeded_desk: Desk, settings: Settings
) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await pilot.pause(0.2)
        kb = app.screen
        assert isinstance(kb, KnowledgeScreen)
        await pilot.press(*"refund")
        for _ in range(40):
            await pilot.pause(0.05)
            if kb.results_query == "refund":
                break
        await pilot.press("down")  # to the results
        await pilot.pause()
        assert isinstance(kb.focused, KBResultList)
        await pilot.press("escape")  # leaves the search: not back into the box
        await pilot.pause()
        assert not isinstance(kb.focused, Input)
        await pilot.press("1")
        await pilot.pause(0.2)
        assert isinstance(app.screen, QueueScreen)
        assert kb.query_one("#kb-query", Input).value == "refund"  # no "1" typed into it
        # and straight from the results, without escape
        await pilot.press("2")
        await pilot.pause(0.2)
        kb.query_one(KBResultList).focus()
        await pilot.pause()
        await pilot.press("1")
        await pilot.pause(0.2)
        assert isinstance(app.screen, QueueScreen)


async def test_option_list_cursor_is_a_full_width_bar(seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        await pilot.pause(0.2)
        kb = app.screen
        await pilot.press(*"refund")
        for _ in range(40):
            await pilot.pause(0.05)
            if kb.results_query == "refund":
                break
        results = kb.query_one(KBResultList)
        results.focus()
        await pilot.pause()
        for theme in ("textual-dark", "textual-light"):
            app.theme = theme
            await pilot.pause()
            cursor = results.get_component_rich_style("option-list--option-highlighted")
            plain = results.rich_style
            assert cursor.bgcolor is not None and cursor.bgcolor != plain.bgcolor, theme
            line = results.render_line(0)
            assert isinstance(line.__iter__().__next__(), Segment)
            assert line.cell_length == results.scrollable_content_region.width
            first = [s for s in line if s.text.strip()]
            assert first and all(s.style.bgcolor == cursor.bgcolor for s in first), theme
        assert isinstance(results, OptionList)

"""``1``–``4`` in both directions (issue 12 audit): from every list they switch screens;
in every text box (the queue filter, the knowledge-base search, the reply editor) they are
typed, and the screen stays."""

from __future__ import annotations

from textual.widgets import Input, TextArea

from agent_console.desk import Desk
from agent_console.screens.knowledge import KnowledgeScreen
from agent_console.screens.metrics import MetricsScreen
from agent_console.screens.oncall import OncallScreen
from agent_console.screens.queue import QueueScreen
from agent_console.screens.ticket import TicketScreen
from agent_console.screens.ticket_composer import Composer
from agent_console.settings import Settings
from tests.helpers import make_queue_app as make_app
from tests.helpers import settle_queue as settle


async def _until(pilot, what, tries: int = 60) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        if what():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


async def test_digits_switch_from_lists_and_type_in_text_boxes(
    seeded_desk: Desk, settings: Settings
) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(120, 36)) as pilot:
        queue = await settle(pilot)
        # the queue's filter box: typed, no switch
        await pilot.press("slash", "1", "2")
        await pilot.pause()
        assert isinstance(app.screen, QueueScreen)
        assert isinstance(queue.focused, Input) and queue.focused.value == "12"
        await pilot.press("escape")  # clears the filter, back to the list
        await settle(pilot)
        # from the list: every screen
        for key, kind in (("3", OncallScreen), ("4", MetricsScreen), ("1", QueueScreen)):
            await pilot.press(key)
            await _until(pilot, lambda kind=kind: isinstance(app.screen, kind))
        # the reply editor: typed, no switch
        await settle(pilot)
        await pilot.press("enter")
        await _until(pilot, lambda: isinstance(app.screen, TicketScreen))
        ticket = app.screen
        await _until(pilot, lambda: ticket.detail is not None)  # type: ignore[attr-defined]
        await pilot.press("r")
        await _until(pilot, lambda: isinstance(ticket.focused, TextArea))
        await pilot.press("1", "2", "3", "4")
        await pilot.pause()
        assert app.screen is ticket
        assert ticket.query_one(Composer).area.text == "1234"
        await pilot.press("escape")  # closes the editor (the draft is kept)
        await pilot.pause()
        await pilot.press("3")  # from the thread: a list again
        await _until(pilot, lambda: isinstance(app.screen, OncallScreen))
        # the knowledge base's search box: typed
        await pilot.press("2")
        await _until(pilot, lambda: isinstance(app.screen, KnowledgeScreen))
        kb = app.screen
        await pilot.pause(0.1)
        box = kb.query_one("#kb-query", Input)
        box.focus()
        await pilot.pause()
        await pilot.press("4")
        await pilot.pause()
        assert app.screen is kb and box.value.endswith("4")


async def test_oncall_help_is_titled_and_lists_its_keys_first(
    seeded_desk: Desk, settings: Settings
) -> None:
    """``?`` on the on-call screen read "Keys — Oncall" and put enter / A under "More keys"
    after the copy keys; now "On call" and its keys in their own group first (trial)."""
    from agent_console.screens.help import HelpScreen, key_groups

    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await _until(pilot, lambda: isinstance(app.screen, OncallScreen))
        oncall = app.screen
        groups = key_groups(oncall, app)
        assert groups[0][0] == "Alerts"
        assert [k for k, _ in groups[0][1]][:2] == ["⏎", "A"]
        await pilot.press("question_mark")
        await _until(pilot, lambda: isinstance(app.screen, HelpScreen))
        title = str(app.screen.query(".title").first().render())
        assert title == "Keys — On call"

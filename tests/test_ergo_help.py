"""``?`` lists the screen's own keys first, grouped, and the generic keys last."""

from __future__ import annotations

from agent_console.desk import Desk
from agent_console.screens.help import GENERIC, HelpScreen, key_groups
from agent_console.settings import Settings
from tests.helpers import make_desk, open_ticket, ticket
from tests.helpers import make_ticket_app as make_app


async def test_ticket_help_lists_its_keys_first_grouped_generic_last(settings: Settings) -> None:
    desk: Desk = make_desk(settings, "ann")
    key = ticket(desk)
    app = make_app(desk)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await open_ticket(pilot, key)
            groups = key_groups(screen, app)
            titles = [t for t, _ in groups]
            assert titles[:3] == ["Write", "Change", "Hand over"]
            assert titles[-1] == GENERIC
            first_keys = [k for k, _ in groups[0][1]]
            assert first_keys == ["r", "i", "x", "m"]  # m: macros (issue 16)
            generic = dict(groups[-1][1])
            assert "^q" in generic and "?" in generic
            own = {k for _, keys in groups[:-1] for k, _ in keys}
            assert not own & {"^q", "?"}  # generic keys only at the end
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            # with the editor open, its keys are listed as the screen's own (Editor group)
            await pilot.press("escape", "r")
            await pilot.pause()
            titles = [t for t, _ in key_groups(screen, app)]
            assert "Editor" in titles and titles.index("Editor") < titles.index(GENERIC)
            editing = [k for t, keys in key_groups(screen, app) for k, _ in keys if t == "More keys"]
            assert editing == []  # the text box's own editing keys are not listed
    finally:
        desk.engine.dispose()

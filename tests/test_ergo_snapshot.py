"""Issue 12, what an agent sees: the queue and the ticket screen at 160×50 and 80×24 (the
columns that stay, the footer's keys), the editor docked below the thread, the help
screen (the screen's keys first, grouped)."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from agent_console.desk import Desk
from agent_console.screens.ticket import TicketScreen
from agent_console.settings import Settings
from tests.conftest import FIXED_NOW
from tests.helpers import Clock, TicketTestApp, settle_ticket
from tests.helpers import make_queue_app as make_app
from tests.helpers import settle_queue as settle
from tests.test_ticket_snapshot import build


async def _queue_ready(pilot: Pilot) -> None:
    screen = await settle(pilot)
    for box in screen.query(Input):
        box.cursor_blink = False
    await pilot.press("down", "down")
    await pilot.pause(0.1)


def test_queue_160x50(snap_compare, seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings, Clock(FIXED_NOW))
    assert snap_compare(app, terminal_size=(160, 50), run_before=_queue_ready)


def test_queue_80x24(snap_compare, seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings, Clock(FIXED_NOW))
    assert snap_compare(app, terminal_size=(80, 24), run_before=_queue_ready)


def test_queue_help_80x24(snap_compare, seeded_desk: Desk, settings: Settings) -> None:
    async def help_(pilot: Pilot) -> None:
        await _queue_ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.1)

    app = make_app(seeded_desk, settings, Clock(FIXED_NOW))
    assert snap_compare(app, terminal_size=(80, 24), run_before=help_)


def _ticket_app(settings: Settings) -> tuple[TicketTestApp, Desk, str]:
    desk, key = build(settings)
    return (
        TicketTestApp(desk.settings, desk=desk, offer_demo=False, alerts=False, real_ticks=False),
        desk,
        key,
    )


def _open(key: str, *keys: str):  # type: ignore[no-untyped-def]
    async def run(pilot: Pilot) -> None:
        await pilot.app.push_screen(TicketScreen(key))
        await settle_ticket(pilot)
        if keys:
            await pilot.press(*keys)
            await pilot.pause(0.1)
        for area in pilot.app.screen.query(TextArea):
            area.cursor_blink = False
        await pilot.pause(0.1)

    return run


def _snap(snap_compare, settings: Settings, size: tuple[int, int], *keys: str) -> bool:  # type: ignore[no-untyped-def]
    app, desk, key = _ticket_app(settings)
    try:
        return bool(snap_compare(app, terminal_size=size, run_before=_open(key, *keys)))
    finally:
        desk.engine.dispose()


def test_ticket_160x50(snap_compare, settings: Settings) -> None:
    assert _snap(snap_compare, settings, (160, 50))


def test_ticket_80x24(snap_compare, settings: Settings) -> None:
    assert _snap(snap_compare, settings, (80, 24))


def test_ticket_docked_reply_editor_160x50(snap_compare, settings: Settings) -> None:
    assert _snap(snap_compare, settings, (160, 50), "r", *"We restarted the gateway")


def test_ticket_resolve_with_message_80x24(snap_compare, settings: Settings) -> None:
    assert _snap(snap_compare, settings, (80, 24), "x", *"cache cleared", "tab", *"Fixed!")


def test_ticket_help_160x50(snap_compare, settings: Settings) -> None:
    assert _snap(snap_compare, settings, (160, 50), "question_mark")

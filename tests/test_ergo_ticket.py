"""Issue 12 on the ticket screen: no lost words (a burst then ctrl+s), drafts in the
database across leaving, switching screens and restarting, quitting with drafts, the
editor docked below the thread, resolve with a public message."""

from __future__ import annotations

import pytest
from textual import events
from textual.keys import _character_to_key
from textual.widgets import TextArea

from agent_console.desk import Desk
from agent_console.screens.quit_drafts import QuitWithDrafts
from agent_console.screens.ticket import TicketScreen
from agent_console.screens.ticket_composer import Composer
from agent_console.settings import Settings
from agent_console.widgets.ticket_thread import MessageCard, TicketThread
from tests.helpers import TicketTestApp, make_desk, open_ticket, ticket
from tests.helpers import settle_ticket as settle


@pytest.fixture
def ann_desk(settings: Settings):  # type: ignore[no-untyped-def]
    d = make_desk(settings, "ann")
    yield d
    d.engine.dispose()


TEXT = "The gateway restarted cleanly after the patch; please retry the sale, thanks!"


def make_app(desk: Desk) -> TicketTestApp:
    return TicketTestApp(desk.settings, desk=desk, offer_demo=False, draft_delay=0.05, alerts=False)


def burst(app, keys: list[str]) -> None:
    """Keys as one burst (a paste in some terminals): all queued before any is handled."""
    driver = app._driver
    for key in keys:
        char = key if len(key) == 1 else None
        name = key if len(key) != 1 or key.isalnum() else _character_to_key(key)
        event = events.Key(name, char)
        event.set_sender(app)
        driver.send_message(event)


async def test_burst_typing_then_send_keeps_every_keystroke(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_ticket(pilot, key)
        for attempt in range(6):
            await pilot.press("i")
            await pilot.pause()
            body = f"{TEXT} #{attempt}"
            burst(app, [*body, "ctrl+s"])
            await settle(pilot)
            d = ann_desk.ticket_detail(key)
            assert d.thread[-1].body == body, f"try {attempt}: {d.thread[-1].body!r}"
        assert ann_desk.drafts_of_ticket(key) == {}


async def test_type_ahead_after_r_lands_in_the_editor(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ticket(pilot, key)
        screen.query_one(TicketThread).focus()
        await pilot.pause()
        burst(app, ["r", *"escalate this please", "ctrl+s"])  # 'e' is no command here
        await settle(pilot)
        d = ann_desk.ticket_detail(key)
        assert d.thread[-1].kind == "public" and d.thread[-1].body == "escalate this please"
        assert d.tier == 1
        # resolving in one burst: summary, tab, message, send
        burst(app, ["x", *"gateway restarted", "tab", *"Fixed, please retry", "ctrl+s"])
        await settle(pilot)
        d = ann_desk.ticket_detail(key)
        assert d.status == "resolved", d.status
        assert d.thread[-1].body == "Resolution summary: gateway restarted"
        assert d.thread[-2].body == "Fixed, please retry"


async def test_editor_docks_below_the_thread_and_escape_keeps_the_draft(ann_desk: Desk) -> None:
    key = ticket(ann_desk, body="Customer: the terminals fail with E1042 since 8am.")
    app = make_app(ann_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ticket(pilot, key)
        await pilot.press("r")
        await pilot.pause()
        composer = screen.query_one(Composer)
        thread = screen.query_one(TicketThread)
        assert composer.is_open and app.screen is screen  # no modal: the thread is there
        assert thread.region.height >= 10 and composer.region.y >= thread.region.bottom
        assert isinstance(screen.focused, TextArea)
        before = composer.region.height
        await pilot.press("ctrl+up")
        await pilot.pause()
        assert composer.region.height > before
        await pilot.press("ctrl+down", "ctrl+down")
        await pilot.pause()
        assert composer.region.height < before
        await pilot.press(*"half a thought")
        await pilot.pause(0.2)  # quiet typing: the draft is written without closing
        await settle(pilot)
        assert ann_desk.drafts_of_ticket(key) == {"reply": "half a thought"}
        await pilot.press("escape")
        await settle(pilot)
        assert not composer.is_open and app.screen is screen
        assert ann_desk.drafts_of_ticket(key) == {"reply": "half a thought"}
        await pilot.press("r")
        await pilot.pause()
        assert composer.area.text == "half a thought"


async def test_draft_survives_leaving_and_restarting(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_ticket(pilot, key)
        await pilot.press("i")
        await pilot.pause()
        await pilot.press(*"VIP: call before 5")
        await pilot.press("escape", "escape")  # close the editor, leave the ticket
        await settle(pilot)
        assert not isinstance(app.screen, TicketScreen)
    assert ann_desk.drafts_of_ticket(key) == {"note": "VIP: call before 5"}
    # a new console on the same database: the draft is back in the editor
    restarted = Desk.open(ann_desk.settings)
    app2 = make_app(restarted)
    try:
        async with app2.run_test(size=(120, 40)) as pilot:
            screen = await open_ticket(pilot, key)
            await pilot.press("i")
            await pilot.pause()
            assert screen.query_one(Composer).area.text == "VIP: call before 5"
            await pilot.press(*" today", "ctrl+s")
            await settle(pilot)
        assert restarted.ticket_detail(key).thread[-1].body == "VIP: call before 5 today"
        assert restarted.drafts_of_ticket(key) == {}
    finally:
        restarted.engine.dispose()


@pytest.mark.parametrize("answer", ["escape", "k", "d"])
async def test_quit_with_a_draft_asks(ann_desk: Desk, answer: str) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_ticket(pilot, key)
        await pilot.press("r")
        await pilot.pause()
        burst(app, [*"unsent words", "ctrl+q"])  # quit right after a burst
        await settle(pilot)
        assert isinstance(app.screen, QuitWithDrafts)
        assert "1 unsent draft" in str(app.screen.query_one(".title").render())
        assert "unsent words" in str(app.screen.query_one("#quit-drafts").render())
        assert ann_desk.drafts_of_ticket(key) == {"reply": "unsent words"}
        await pilot.press(answer)
        await settle(pilot)
        if answer == "escape":
            assert not isinstance(app.screen, QuitWithDrafts) and app.is_running
        else:
            assert app.return_code == 0 or not app.is_running
    expected = {} if answer == "d" else {"reply": "unsent words"}
    assert ann_desk.drafts_of_ticket(key) == expected


async def test_quit_without_drafts_just_quits(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_ticket(pilot, key)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert not app.is_running


async def test_resolve_with_a_public_message(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    ann_desk.save_draft(key, "reply", "Fixed on our side:")  # the reply draft becomes the message
    app = make_app(ann_desk)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ticket(pilot, key)
        await pilot.press("x")
        await pilot.pause()
        composer = screen.query_one(Composer)
        assert composer.is_open and composer.message_area.display
        assert composer.message_area.text == "Fixed on our side:"
        await pilot.press("ctrl+s")  # no summary yet: refused in the editor
        await pilot.pause()
        assert composer.is_open and ann_desk.ticket_detail(key).status == "new"
        await pilot.press(*"restarted the gateway", "tab", *" please retry.", "ctrl+s")
        await settle(pilot)
        d = ann_desk.ticket_detail(key)
        assert d.status == "resolved"
        bodies = [(m.kind, m.body) for m in d.thread]
        assert ("public", "Fixed on our side: please retry.") in bodies
        assert ("internal", "Resolution summary: restarted the gateway") in bodies
        assert ann_desk.drafts_of_ticket(key) == {}


async def test_ticket_still_opens_when_drafts_cannot_be_read(ann_desk: Desk) -> None:
    """A database without the draft table yet (before its migration) still shows tickets."""
    from sqlalchemy import text

    key = ticket(ann_desk)
    with ann_desk.engine.begin() as conn:
        conn.execute(text("DROP TABLE draft"))
    app = make_app(ann_desk)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = await open_ticket(pilot, key)
        assert screen.detail is not None and screen.detail.key == key
        assert any("Drafts unavailable" in n.message for n in app._notifications)


async def test_last_customer_message_stays_in_view_while_writing(ann_desk: Desk) -> None:
    key = ticket(ann_desk, body="First question from the customer.")
    for i in range(6):
        ann_desk.reply(key, f"Agent answer {i}\n\nwith a second paragraph", agent="ann")
    app = make_app(ann_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ticket(pilot, key)
        thread = screen.query_one(TicketThread)
        thread.scroll_end(animate=False, immediate=True)  # reading the latest answers
        await pilot.pause(0.1)
        assert thread.scroll_y > 0
        await pilot.press("r")
        await pilot.pause(0.2)
        customer = [c for c in thread.query(MessageCard) if c.message.kind == "customer"][-1]
        visible = thread.content_region
        assert customer.region.y >= visible.y and customer.region.y < visible.bottom
        assert screen.query_one(Composer).region.y >= visible.bottom


async def test_switching_screens_writes_the_draft_at_once(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    from tests.helpers import Blank

    class TwoModes(TicketTestApp):
        MODES = {"queue": Blank, "knowledge": Blank}  # type: ignore[dict-item]

    app = TwoModes(ann_desk.settings, desk=ann_desk, offer_demo=False, draft_delay=60)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_ticket(pilot, key)
        await pilot.press("r", *"typed then switched")
        await pilot.pause()
        assert ann_desk.drafts_of_ticket(key) == {}  # the debounce has not fired
        screen.query_one(TicketThread).focus()
        await pilot.pause()
        await pilot.press("2")  # another screen: the ticket screen is suspended
        await settle(pilot)
        assert app.screen is not screen
        assert ann_desk.drafts_of_ticket(key) == {"reply": "typed then switched"}

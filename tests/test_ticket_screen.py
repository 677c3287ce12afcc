"""The ticket detail screen driven through its keys (Pilot): reply, note, escalate, status,
priority, resolve; refusals; a conflicting reply keeps the draft; hostile customer text
renders literally."""

from __future__ import annotations

import pytest
from textual.message import Message as TMessage
from textual.widgets import Input, OptionList, Static

from agent_console.desk import Desk
from agent_console.screens.ticket import (
    TicketRefused,
    TicketSaved,
    TicketScreen,
)
from agent_console.screens.ticket_composer import Composer
from agent_console.screens.ticket_dialogs import StatusPicker
from agent_console.screens.ticket_info import ExplainScreen, HistoryScreen
from agent_console.settings import Settings
from agent_console.widgets.ticket_side import TicketSidePanel
from agent_console.widgets.ticket_thread import MessageCard
from tests.conftest import FIXED_NOW
from tests.helpers import (
    Blank,
    TicketTestApp,  # noqa: F401 - re-exported for older imports
    make_desk,
    open_ticket,
    ticket,
    until,
)
from tests.helpers import make_ticket_app as make_app
from tests.helpers import settle_ticket as settle
from tests.helpers import ticket_hook as hook

HOSTILE_SUBJECT = "see [/path] docs [bold red]x[/]"
HOSTILE_BODY = "Hello [bold red]x[/] and \x1b[2J clear\nline two"


@pytest.fixture
def ann_desk(settings: Settings) -> Desk:
    d = make_desk(settings, "ann")
    yield d
    d.engine.dispose()


# ---------------------------------------------------------------- view
async def test_thread_kinds_are_told_apart(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    ann_desk.reply(key, "We are **on it**", agent="ann")
    ann_desk.reply(key, "VIP customer", agent="ann", internal=True)
    ann_desk.escalate(key, "Found E1042; tried a restart", agent="ann")
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        cards = list(screen.query(MessageCard))
        # pinned handoff first, then the conversation oldest first (the handoff as a stub)
        assert [c.message.kind for c in cards] == [
            "handoff",
            "customer",
            "public",
            "internal",
            "handoff",
        ]
        assert cards[0].has_class("msg-handoff") and not cards[0].stub and cards[-1].stub
        internal = cards[3].query_one(".msg-header", Static)
        assert "internal — never sent to the customer" in str(internal.content)
        assert "Ann One · tier 1" in str(internal.content)
        assert "Mon 23 Nov 09:00 ET" in str(internal.content)  # no agent zone: the policy's
        header = str(screen.query_one("#ticket-header", Static).content)
        assert key in header and "tier 2" in header


async def test_narrow_terminal_keeps_the_thread_readable_and_timers_on_top(
    ann_desk: Desk,
) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_ticket(pilot, key)
        side = screen.query_one("#side", TicketSidePanel)
        thread = screen.query_one("#thread")
        assert side.size.width <= 34 and thread.size.width >= 44
        assert side.compact
        # the SLA timers come first in the panel and are within the visible region
        timers = side.query_one("#side-timers", Static)
        assert timers.region.y - side.region.y <= 2
        assert timers.region.bottom <= side.region.bottom
        assert timers.content.renderables[0].plain == "First response"  # type: ignore[union-attr]
    async with make_app(ann_desk).run_test(size=(160, 50)) as pilot:
        screen = await open_ticket(pilot, key)
        side = screen.query_one("#side", TicketSidePanel)
        assert side.outer_size.width == 54 and not side.compact


async def test_times_in_the_agents_zone(settings: Settings) -> None:
    desk = make_desk(settings.with_(timezone="Europe/Berlin"), "ann")
    key = ticket(desk)
    app = make_app(desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        card = next(iter(screen.query(MessageCard)))
        header = str(card.query_one(".msg-header", Static).content)
        assert "30m ago · Mon 23 Nov 14:30 CET" in header
    desk.engine.dispose()


async def test_hostile_customer_text_renders_literally(ann_desk: Desk) -> None:
    key = ticket(ann_desk, subject=HOSTILE_SUBJECT, body=HOSTILE_BODY)
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        card = next(c for c in screen.query(MessageCard) if c.message.kind == "customer")
        body = card.query_one(".msg-body", Static)
        plain = str(body.content)
        assert "[bold red]x[/]" in plain
        assert "\\x1b[2J" in plain and "\x1b" not in plain
        assert "line two" in plain
        header = str(screen.query_one("#ticket-header", Static).content)
        assert HOSTILE_SUBJECT in header
        # what reaches the terminal: the characters, no escape sequence from the ticket
        svg = app.export_screenshot()
        assert "[bold&#160;red]x[/]" in svg or "[bold red]x[/]" in svg
        assert "\\x1b[2J" in svg


# ---------------------------------------------------------------- commands through keys
async def test_reply_through_keys(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    seen: list[TMessage] = []
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45), message_hook=hook(seen)) as pilot:
        screen = await open_ticket(pilot, key)
        await pilot.press("r")
        await pilot.pause()
        assert screen.query_one(Composer).is_open  # docked below the thread
        await pilot.press(*"Restarted the gateway")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        saved = [m for m in seen if isinstance(m, TicketSaved)]
        assert saved and saved[-1].action == "public"
        d = ann_desk.ticket_detail(key)
        assert d.thread[-1].kind == "public" and d.thread[-1].body == "Restarted the gateway"
        assert d.first_response_at == FIXED_NOW and d.status == "open"
        assert screen.detail is not None and screen.detail.version == d.version
        assert "reply" not in screen.drafts


async def test_internal_note_through_keys_and_draft_kept_on_close(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        await pilot.press("i")
        await pilot.pause()
        await pilot.press(*"half a thought")
        await pilot.press("escape")  # closes, keeps the draft
        await pilot.pause()
        assert screen.drafts["note"] == "half a thought"
        await pilot.press("i")
        await pilot.pause()
        assert screen.query_one(Composer).area.text == "half a thought"
        await pilot.press(*" finished")
        await pilot.press("ctrl+s")
        await settle(pilot)
        d = ann_desk.ticket_detail(key)
        assert d.thread[-1].kind == "internal" and d.thread[-1].body == "half a thought finished"
        assert d.first_response_at is None
        assert "note" not in screen.drafts


async def test_escalate_through_keys_requires_a_note(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        await pilot.press("e")
        await pilot.pause()
        composer = screen.query_one(Composer)
        assert composer.is_open and composer.mode is not None
        assert composer.mode.action == "escalate"
        await pilot.press("ctrl+s")  # empty: refused in the editor
        await pilot.pause()
        assert composer.is_open
        error = screen.query_one("#composer-error", Static)
        assert "handoff note is required: what you found, what you tried" in str(error.content)
        # shown inside the editor's visible region
        assert error.region.height == 1 and composer.region.contains_region(error.region)
        await pilot.press(*"Found E1042. Tried restart.")
        assert str(error.content) == ""  # typing clears the reason
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        d = ann_desk.ticket_detail(key)
        assert d.tier == 2 and d.escalated and d.assignee is None
        assert d.pinned[0].body == "Found E1042. Tried restart."
        cards = list(screen.query(MessageCard))
        assert cards[0].message.kind == "handoff"  # pinned at the top


async def test_resolve_through_keys(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "summary is required" in str(screen.query_one("#composer-error", Static).content)
        await pilot.press(*"cleared the cache")
        await pilot.press("ctrl+s")
        await settle(pilot)
        d = ann_desk.ticket_detail(key)
        assert d.status == "resolved" and d.resolved_at == FIXED_NOW
        assert screen.detail is not None and screen.detail.status == "resolved"
        assert "Resolution summary: cleared the cache" in d.thread[-1].body


async def test_status_picker_previews_pending(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        await pilot.press("s")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, StatusPicker)
        options = picker.query_one(OptionList)
        pending = [options.get_option_at_index(i).id for i in range(options.option_count)].index(
            "pending"
        )
        options.highlighted = pending
        await pilot.pause()
        preview = str(picker.query_one("#status-preview", Static).content)
        assert "Pending stops the resolution clock: 7h 30m left" in preview
        await pilot.press("enter")
        await settle(pilot)
        d = ann_desk.ticket_detail(key)
        assert d.status == "pending" and d.paused_since == FIXED_NOW
        assert screen.detail is not None and screen.detail.timers(FIXED_NOW)[2].state == "paused"


async def test_priority_through_keys(ann_desk: Desk) -> None:
    key = ticket(ann_desk, priority="minor")
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_ticket(pilot, key)
        await pilot.press("p")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        options.highlighted = 0  # critical
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.focused, Input)
        await pilot.press(*"all stores down", "enter")
        await settle(pilot)
        d = ann_desk.ticket_detail(key)
        assert d.priority == "critical" and "all stores down" in d.events[-1].text


async def test_assign_and_tags_through_keys(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_ticket(pilot, key)
        await pilot.press("a")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids == ["", "ann", "bob"]  # tier 1 agents only
        options.highlighted = ids.index("ann")
        await pilot.press("enter")
        await settle(pilot)
        assert ann_desk.ticket_detail(key).assignee == "ann"
        await pilot.press("t")
        await pilot.pause()
        app.screen.query_one(Input).value = "vip, pos"
        await pilot.press("enter")
        await settle(pilot)
        assert ann_desk.ticket_detail(key).tags == ("vip", "pos")


async def test_a_tag_too_long_keeps_the_dialog_and_the_text(ann_desk: Desk) -> None:
    """``t`` with a 60-character tag: one line in the dialog, which stays open with what was
    typed (it closed and the text was lost when the desk refused it) (trial)."""
    from agent_console.screens.ticket_dialogs import TagsDialog

    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_ticket(pilot, key)
        await pilot.press("t")
        await pilot.pause()
        dialog = app.screen
        typed = "vip, " + "t" * 60
        dialog.query_one(Input).value = typed
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.screen is dialog and isinstance(dialog, TagsDialog)
        assert dialog.query_one(Input).value == typed
        said = str(dialog.query_one(".dialog-error").render())
        assert "longer than 50 characters" in said
        assert ann_desk.ticket_detail(key).tags == ()


# ---------------------------------------------------------------- refusals and conflicts
async def test_refusal_is_one_line_notification(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    ann_desk.escalate(key, "to tier 2", agent="ann")
    seen: list[TMessage] = []
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45), message_hook=hook(seen), notifications=True) as pilot:
        await open_ticket(pilot, key)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press(*"trying anyway", "ctrl+s")
        await settle(pilot)
        refused = [m for m in seen if isinstance(m, TicketRefused)]
        assert refused and "ann is tier 1" in refused[-1].error
        assert "\n" not in refused[-1].error
        notes = list(app._notifications)
        assert any("ann is tier 1" in n.message and not n.markup for n in notes)
        assert ann_desk.ticket_detail(key).tier == 2


async def test_a_reply_lands_although_someone_changed_the_ticket(
    ann_desk: Desk, settings: Settings
) -> None:
    """Issue 11: a reply is an append; a colleague's change meanwhile never refuses it."""
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        screen = await open_ticket(pilot, key)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press(*"my careful answer")
        # meanwhile another agent changes the ticket
        ann_desk.set_priority(key, "urgent", "one store only", agent="bob")
        await pilot.press("ctrl+s")
        await settle(pilot)
        d = ann_desk.ticket_detail(key)
        assert d.thread[-1].body == "my careful answer" and d.priority == "urgent"
        assert "reply" not in screen.drafts and ann_desk.drafts_of_ticket(key) == {}
        assert not screen.query_one(Composer).is_open


# ---------------------------------------------------------------- history, explain, keys
async def test_history_and_explain_one_key_away(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    ann_desk.reply(key, "on it", agent="ann")
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        await pilot.press("h")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        assert [e.kind for e in app.screen.events] == ["created", "replied"]
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, ExplainScreen)
        assert [s.label for s in app.screen.explanation.sections] == [
            "First response",
            "Next update",
            "Resolution",
        ]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen


def test_every_key_has_a_palette_description() -> None:
    keys = {b.key: b for b in TicketScreen.BINDINGS}  # type: ignore[union-attr]
    for key in ("r", "i", "p", "s", "a", "t", "x", "e", "d", "h", "w", "escape"):
        assert keys[key].description, key


async def test_escape_goes_back(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_ticket(pilot, key)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, Blank)


async def test_unknown_key_is_one_line(ann_desk: Desk) -> None:
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = TicketScreen("SUP-42")
        await app.push_screen(screen)
        await settle(pilot)
        assert "no ticket" in str(screen.query_one("#ticket-header", Static).content)


async def test_deescalate_and_claim_through_keys(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    ann_desk.escalate(key, "to tier 2", agent="ann")
    tom = Desk.open(ann_desk.settings.with_(agent="tom"))
    app = make_app(tom)
    try:
        async with app.run_test(size=(140, 45)) as pilot:
            screen = await open_ticket(pilot, key)
            await pilot.press("c")
            await settle(pilot)
            assert tom.ticket_detail(key).assignee == "tom"
            await pilot.press("d")
            await pilot.pause()
            assert screen.query_one(Composer).is_open
            await pilot.press(*"config only: guide the customer", "ctrl+s")
            await settle(pilot)
            d = tom.ticket_detail(key)
            assert d.tier == 1 and d.assignee is None
            assert d.pinned[0].body == "config only: guide the customer"
            assert screen.detail is not None and screen.detail.tier == 1
    finally:
        tom.engine.dispose()


async def test_follows_changes_made_elsewhere(ann_desk: Desk) -> None:
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        assert screen.detail is not None and screen.detail.version == 1
        ann_desk.reply(key, "from another console", agent="bob")
        screen.watch_feed()
        await settle(pilot)
        assert screen.detail.version == 2
        assert screen.query(MessageCard).last().message.body == "from another console"


async def test_a_change_committed_right_after_our_own_is_not_skipped(ann_desk: Desk) -> None:
    """The screen follows a feed cursor: after its own command it keeps polling, so a
    change another console commits at the same moment still shows up."""
    key = ticket(ann_desk)
    real_reply = ann_desk.reply

    def reply_then_bob(*args, **kw):  # type: ignore[no-untyped-def]
        mine = real_reply(*args, **kw)
        real_reply(key, "bob, at the same moment", agent="bob")  # another console
        return mine

    messages: list[TMessage] = []
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45), message_hook=hook(messages)) as pilot:
        screen = await open_ticket(pilot, key)
        ann_desk.reply = reply_then_bob  # type: ignore[method-assign]
        await pilot.press("r")
        assert await until(pilot, lambda: screen.composer.is_open)
        await pilot.press(*"mine", "ctrl+s")
        assert await until(pilot, lambda: any(isinstance(m, TicketSaved) for m in messages))
        ann_desk.reply = real_reply  # type: ignore[method-assign]
        saved = next(m for m in messages if isinstance(m, TicketSaved))
        assert saved.detail.version == 2  # our own result (bob's came after it)
        # the feed brings bob's reply, however slow the machine (a skipped change never would)
        for _ in range(40):
            if screen.detail is not None and screen.detail.version == 3:
                break
            screen.watch_feed()
            await settle(pilot)
        assert screen.detail is not None and screen.detail.version == 3
        assert screen.query(MessageCard).last().message.body == "bob, at the same moment"

"""Long bodies are stored whole and shown folded in the thread: first and last part, a
"Show all" action that opens the whole body in a view that renders only what is on screen
(issue 15). A 10 MB message opens in well under a second."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from textual.widgets import Button, Log, Static

from agent_console.desk import Desk
from agent_console.safe_text import graphemes
from agent_console.settings import Settings
from agent_console.widgets.ticket_thread import BodyViewer, MessageCard, TicketThread, fold
from tests.conftest import FIXED_NOW
from tests.helpers import TicketTestApp, make_desk, open_ticket

FAMILY = "👨\u200d👩\u200d👧"


def big_body(chars: int) -> str:
    line = "The quick brown fox jumps over the lazy dog. " * 20 + "\n"
    body = "FIRST LINE \x1b[2J\n" + line * (chars // len(line)) + "LAST LINE"
    return body


def test_fold_cuts_between_graphemes_and_keeps_both_ends() -> None:
    body = FAMILY * 10_000
    folded = fold(body, 1001)
    assert folded is not None
    assert body.startswith(folded.head)
    assert body.endswith(folded.tail)
    assert len(folded.head) + folded.hidden + len(folded.tail) == len(body)
    for part in (folded.head, folded.tail):
        assert all(g == FAMILY for g in graphemes(part))
    assert fold("short", 20_000) is None


def test_fold_prefers_a_line_break() -> None:
    body = ("x" * 99 + "\n") * 1000
    folded = fold(body, 10_000)
    assert folded is not None
    assert folded.head.endswith("\n") and len(folded.head) <= 5_000


@pytest.mark.parametrize("size", [10_000_000])
async def test_a_10_mb_message_opens_at_once_folded(settings: Settings, size: int) -> None:
    desk: Desk = make_desk(settings.with_(fold_body_chars=20_000), "ann")
    body = big_body(size)
    key = desk.create_ticket(
        subject="huge", body=body, requester_email="c@x.example", requester_name="C",
        priority="urgent", opened_at=FIXED_NOW - timedelta(minutes=5),
    )
    assert desk.ticket_detail(key).thread[0].body == body  # stored whole
    app = TicketTestApp(desk.settings, desk=desk, offer_demo=False)
    async with app.run_test(size=(140, 45)) as pilot:
        started = time.perf_counter()
        screen = await open_ticket(pilot, key)
        await pilot.pause()
        opened = time.perf_counter() - started
        print(f"\nopened a ticket with a {len(body):,}-character body in {opened:.2f} s")
        assert opened < 5.0  # unfolded: ~10 s; folded: ~0.5 s on a quiet machine
        card = screen.query(MessageCard).first()
        assert card.folded is not None
        head = str(card.query_one(".msg-head", Static).render())
        tail = str(card.query_one(".msg-tail", Static).render())
        assert head.startswith("FIRST LINE \\x1b[2J") and tail.endswith("LAST LINE")
        assert len(head) + len(tail) <= 20_100
        button = card.query_one(".show-all", Button)
        assert f"{card.folded.hidden:,} more characters folded" in str(button.label)
        # Show all: the key on the thread opens the whole body, literally
        screen.query_one(TicketThread).focus()
        started = time.perf_counter()
        await pilot.press("f")
        await pilot.pause()
        shown = time.perf_counter() - started
        print(f"show all: {shown:.2f} s")
        assert isinstance(app.screen, BodyViewer)
        log = app.screen.query_one(Log)
        assert log.line_count == body.count("\n") + 1
        assert log.lines[0] == "FIRST LINE \\x1b[2J" and log.lines[-1] == "LAST LINE"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        # ... and so does the button (reached with tab, pressed with enter)
        button.focus()
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, BodyViewer)
    desk.engine.dispose()


async def test_short_bodies_are_not_folded(settings: Settings) -> None:
    desk = make_desk(settings, "ann")
    key = desk.create_ticket(
        subject="s", body="short body", requester_email="c@x.example", requester_name="C",
        priority="urgent", opened_at=FIXED_NOW - timedelta(minutes=5),
    )
    app = TicketTestApp(desk.settings, desk=desk, offer_demo=False)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        screen = await open_ticket(pilot, key)
        assert all(c.folded is None for c in screen.query(MessageCard))
        assert not screen.query(".show-all")
        screen.query_one(TicketThread).focus()
        await pilot.press("f")
        await pilot.pause()
        assert not isinstance(app.screen, BodyViewer)
    desk.engine.dispose()

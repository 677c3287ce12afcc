"""Play mode (issue 16): ``N`` claims and opens the most urgent unassigned ticket of my
tier, skipping tickets open in another console and claimed ones; a resolve, an escalation
or a move to pending opens the next one, a reply does not; escape leaves Play mode."""

from __future__ import annotations

import time

from sqlalchemy import select

from agent_console.desk import Desk
from agent_console.desk.play import advances_play
from agent_console.screens.macro_picker import MacroPicker
from agent_console.screens.queue import QueueScreen
from agent_console.screens.ticket import TicketScreen
from agent_console.settings import Settings
from agent_console.store.models import Agent, Ticket
from tests.helpers import SIZE
from tests.helpers import make_queue_app as make_app
from tests.helpers import settle_queue as settle


def _assignee(desk: Desk, key: str) -> str | None:
    with desk.read() as s:
        row = s.execute(
            select(Agent.handle)
            .select_from(Ticket)
            .outerjoin(Agent, Agent.id == Ticket.assignee_id)
            .where(Ticket.key == key)
        ).first()
    return row[0] if row else None


def test_advances_after_resolve_escalate_pending_not_reply() -> None:
    assert advances_play("resolve", "resolved")
    assert advances_play("escalate", "open")
    assert advances_play("status", "pending")
    assert not advances_play("status", "on_hold")
    assert not advances_play("public", "open")
    assert not advances_play("internal", "open")
    # a macro (m) that pends, resolves or escalates moves on; one that only replies does not
    assert advances_play("macro", "pending")
    assert advances_play("macro", "resolved")
    assert advances_play("macro", "open", tier_changed=True)
    assert not advances_play("macro", "open")


async def test_a_pending_macro_in_play_mode_opens_the_next_ticket(
    seeded_desk: Desk, settings: Settings
) -> None:
    """Trial defect: points-not-posted (status pending) sent with m + ctrl+s left Play mode
    on the same, now waiting, ticket."""
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("N")
        first = await _wait_ticket(pilot)
        await pilot.press("m")
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, MacroPicker):
                break
        await pilot.press(*"points-not", "enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if app.screen is first and first.composer.is_open:
                break
        await pilot.press("ctrl+s")
        second = await _wait_ticket(pilot, key=first.key)
        assert second.key != first.key and second.play is not None


def test_play_next_skips_tickets_open_elsewhere_and_claimed(
    seeded_desk: Desk, settings: Settings
) -> None:
    alice = Desk(seeded_desk.engine, settings.with_(agent="alice"))
    bruno = Desk(seeded_desk.engine, settings.with_(agent="bruno"))
    first = bruno.claim_next("bruno")[0]  # claimed by bruno: never handed to alice
    looked_at = alice.claim_next("alice")[0]
    alice.assign(looked_at, None, agent="erin")  # back to unassigned, the most urgent
    bruno.presence_beat("c-bruno", looked_at, announce=True)  # bruno has it open now
    key = alice.play_next(console="c-alice")
    assert key not in (first, looked_at)
    assert _assignee(seeded_desk, key) == "alice"
    bruno.presence_leave("c-bruno")
    assert alice.play_next(console="c-alice") == looked_at  # no longer open elsewhere


async def _wait_ticket(pilot, key: str | None = None, timeout: float = 8.0) -> TicketScreen:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        screen = pilot.app.screen
        if (
            isinstance(screen, TicketScreen)
            and screen.detail is not None
            and (key is None or screen.key != key)
        ):
            return screen
    raise AssertionError("no ticket opened")


async def test_play_mode_opens_claims_and_advances(seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        queue = await settle(pilot)
        await pilot.press("N")
        first = await _wait_ticket(pilot)
        assert queue.playing
        assert first.query_one("#play-bar").render().plain.startswith("▶ Play mode")
        assert first.detail is not None and first.detail.assignee == "alice"
        # a reply does not move on
        desk = app.desk
        first._run("public", lambda: desk.reply(first.key, "Looking into it"), lambda d: "sent")
        await pilot.pause(0.5)
        assert app.screen is first
        # a resolve does
        first._run(
            "resolve",
            lambda: desk.resolve(first.key, "fixed the export"),
            lambda d: "resolved",
        )
        second = await _wait_ticket(pilot, key=first.key)
        assert second.key != first.key and second.play is not None
        assert _assignee(seeded_desk, second.key) == "alice"
        assert len(app.screen_stack) == 2  # the queue and the ticket: no pile of screens
        # escape leaves Play mode and the ticket
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert isinstance(app.screen, QueueScreen) and not queue.playing

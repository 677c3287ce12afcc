"""What an agent sees on the ticket detail screen at a fixed ``now``: a hostile subject and
body shown literally, an escalation pinned, internal note marked, three SLA timers."""

from __future__ import annotations

from datetime import timedelta

from textual.pilot import Pilot

from agent_console.desk import Desk
from agent_console.screens.ticket import TicketScreen
from agent_console.settings import Settings
from tests.conftest import FIXED_NOW
from tests.helpers import TicketTestApp
from tests.helpers import settle_ticket as settle


def build(settings: Settings) -> tuple[Desk, str]:
    desk = Desk.open(settings.with_(agent="tom"))
    desk.add_agent("ann", "Ann One", 1)
    desk.add_agent("tom", "Tom Two", 2)
    desk._clock = lambda: FIXED_NOW - timedelta(hours=2)  # the ticket's past
    key = desk.create_ticket(
        subject="Portal shows [bold red]x[/] for see [/path] docs",
        body="Every page shows [bold red]x[/] and then \x1b[2J clears.\nSecond line.",
        requester_email="mallory@example.com",
        requester_name="Mallory Quinn",
        organization="Globex Retail",
        priority="critical",
        tags="portal,vip",
        opened_at=FIXED_NOW - timedelta(hours=3),
    )
    desk.reply(
        key, "Thanks, we are **on it**:\n\n- checked the logs\n- cleared the cache", agent="ann"
    )
    desk.reply(key, "Customer is on the *enterprise* renewal list.", agent="ann", internal=True)
    desk._clock = lambda: FIXED_NOW - timedelta(minutes=30)
    desk.escalate(key, "Found: E1042 on every page.\nTried: cache clear, re-login.", agent="ann")
    desk._clock = lambda: FIXED_NOW
    return desk, key


def test_ticket_detail_snapshot(snap_compare, settings: Settings) -> None:
    desk, key = build(settings)

    async def open_it(pilot: Pilot) -> None:
        await pilot.app.push_screen(TicketScreen(key))
        await settle(pilot)

    app = TicketTestApp(desk.settings, desk=desk, offer_demo=False, alerts=False)
    try:
        assert snap_compare(app, terminal_size=(150, 44), run_before=open_it)
    finally:
        desk.engine.dispose()

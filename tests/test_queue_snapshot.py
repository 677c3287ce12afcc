"""What an agent sees on the Queue screen at a fixed ``now`` (inject the clock): during
business hours (live timers, colours, a hostile subject shown literally) and after hours
(business-clock timers paused until the desk opens)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from agent_console.desk import Desk
from agent_console.settings import Settings
from tests.conftest import FIXED_NOW
from tests.helpers import Clock
from tests.helpers import make_queue_app as make_app
from tests.helpers import settle_queue as settle


@pytest.fixture
def snapshot_desk(seeded_desk: Desk) -> Desk:
    seeded_desk.create_ticket(
        subject="see [/path] docs — [bold red]x[/] \x1b[2J \x9b6n",
        body="hostile",
        requester_email="mallory@example.com",
        requester_name="Mallory [i]Quinn[/i]",
        organization="Globex Retail",
        priority="critical",
        opened_at=FIXED_NOW - timedelta(minutes=20),
    )
    return seeded_desk


async def _ready(pilot: Pilot) -> None:
    screen = await settle(pilot)
    for box in screen.query(Input):
        box.cursor_blink = False
    await pilot.pause(0.1)


@pytest.mark.parametrize(
    "now",
    [FIXED_NOW + timedelta(minutes=7, seconds=30), FIXED_NOW + timedelta(hours=9, minutes=30)],
    ids=["business-hours", "after-hours"],
)
def test_queue_snapshot(
    snap_compare, snapshot_desk: Desk, settings: Settings, now: datetime
) -> None:
    app = make_app(snapshot_desk, settings, Clock(now))
    assert snap_compare(app, terminal_size=(160, 36), run_before=_ready)


def test_queue_snapshot_narrow_with_filter(
    snap_compare, snapshot_desk: Desk, settings: Settings
) -> None:
    async def filtered(pilot: Pilot) -> None:
        await settle(pilot)
        await pilot.press("a", "slash", *"globex")
        await pilot.pause(0.3)
        await _ready(pilot)

    app = make_app(snapshot_desk, settings, Clock(FIXED_NOW))
    assert snap_compare(app, terminal_size=(96, 30), run_before=filtered)

"""What the person on call sees on the On-call screen at a fixed ``now`` on Friday night:
open alerts at the top, the most urgent ticket in large digits, who is on call, the
watched tickets with their three timers, the header's breaching count — at 160×50 and at
80×24 (everything still fits)."""

from __future__ import annotations

import time

import pytest
from textual.pilot import Pilot

from agent_console.screens.oncall import OncallScreen
from tests.oncall_helpers import SAT_NIGHT
from tests.test_oncall_screen import _app, night  # noqa: F401 - the fixture


async def _ready(pilot: Pilot) -> None:
    app = pilot.app
    deadline = time.monotonic() + 10
    while not app.alert_passes:  # type: ignore[attr-defined]
        assert time.monotonic() < deadline
        await pilot.pause(0.05)
    await pilot.press("3")
    while not (isinstance(app.screen, OncallScreen) and app.screen.board is not None):
        assert time.monotonic() < deadline
        await pilot.pause(0.05)
    await app.workers.wait_for_complete()
    await pilot.pause(0.2)
    app.clear_notifications()
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(160, 50), (80, 24)], ids=["160x50", "80x24"])
def test_oncall_snapshot(snap_compare, night, size) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    desk, clock = night
    desk.alert_tick(SAT_NIGHT)  # the alerts due by now, fired before the console starts
    app = _app(desk, clock, alert_poll=600)
    assert snap_compare(app, terminal_size=size, run_before=_ready)

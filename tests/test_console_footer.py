"""The footer (trial): at 80×24 the queue's footer ended in a bare ``?`` — "Help" cut by the
screen edge. Keys that do not fit whole are left out (``?`` and the palette list them all);
the help key always shows with its label, on every screen and size."""

from __future__ import annotations

import time

import pytest
from textual.widgets._footer import FooterKey

from agent_console.desk import Desk
from agent_console.settings import Settings
from agent_console.widgets.console_footer import ConsoleFooter
from tests.test_queue_screen import make_app, settle


def footer_keys(app) -> tuple[list[FooterKey], FooterKey]:  # type: ignore[no-untyped-def]
    footer = app.screen.query_one(ConsoleFooter)
    keys = list(footer.query(FooterKey))
    palette = next(k for k in keys if k.has_class("-command-palette"))
    return [k for k in keys if k is not palette], palette


async def laid_out(pilot, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Until the footer shows its keys, each laid out, the same over two looks (a footer
    recomposes after a screen switch or a resize: keys just mounted have no region yet)."""
    deadline = time.monotonic() + timeout
    last: list[tuple[str, int, int]] | None = None
    while time.monotonic() < deadline:
        await pilot.pause(0.1)
        keys = list(pilot.app.screen.query(FooterKey))
        now = [(k.description, k.region.x, k.region.width) for k in keys]
        if len(keys) > 1 and all(w for _, _, w in now) and now == last:
            return
        last = now
    raise AssertionError("footer not laid out")


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 50)])
async def test_help_is_labelled_and_no_key_is_cut(
    seeded_desk: Desk, settings: Settings, size: tuple[int, int]
) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for mode in ("queue", "oncall", "metrics"):
            await app.switch_mode(mode)
            await laid_out(pilot)
            keys, palette = footer_keys(app)
            assert keys, mode
            shown = {k.description: k for k in keys}
            assert "Help" in shown, (mode, list(shown))
            assert shown["Help"].key_display == "?"
            for k in keys:  # every key whole, left of the palette key
                assert k.region.right <= palette.region.x, (mode, k.description, k.region)
                assert k.region.width >= len(k.key_display) + 1 + len(k.description)
        await app.switch_mode("queue")
        await laid_out(pilot)
        if size[0] >= 160:  # wide: the queue's keys all show
            keys, _ = footer_keys(app)
            assert [k.description for k in keys][:4] == ["Open", "Claim", "Claim next", "Play"]

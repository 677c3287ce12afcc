"""The TUI side of issue 15: an agent's hostile display name never reaches the terminal
as an escape sequence (header, notifications); joined emoji and ZWNJ words are painted as
themselves, not as ``\\u200d`` escapes; a failed worker is one notification and a log
entry, never a crash dump."""

from __future__ import annotations

from datetime import timedelta

from textual.widget import Widget

from agent_console.app import create_app
from agent_console.desk import Desk
from agent_console.paths import log_file
from agent_console.settings import Settings
from agent_console.widgets.console_header import HeaderLine
from agent_console.widgets.queue_table import QueueTable
from tests.conftest import FIXED_NOW
from tests.helpers import SIZE, Clock
from tests.helpers import settle_queue as settle

HOSTILE_NAME = "Eve \x1b]0;pwned\x07 \x1b]52;c;aGk=\x07 \x9b2J\u202eevil"
FAMILY = "👨\u200d👩\u200d👧"
PERSIAN = "می\u200cخواهم"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def painted(widget: Widget) -> str:
    """What the widget sends to the terminal, line by line (its rendered strips)."""
    return "\n".join(
        "".join(seg.text for seg in widget.render_line(y)) for y in range(widget.size.height)
    )


def eve_app(settings: Settings) -> tuple[Desk, object]:
    desk = Desk.open(settings.with_(agent="eve"))
    desk.add_agent("eve", HOSTILE_NAME, 1)
    desk.create_ticket(
        subject=f"Family {FAMILY} and {PERSIAN} in the subject",
        body="hello",
        requester_email="c@x.example",
        requester_name=f"{FAMILY} Requester",
        priority="urgent",
        opened_at=FIXED_NOW - timedelta(minutes=10),
    )
    app = create_app(settings.with_(agent="eve"), desk=desk, clock=Clock(FIXED_NOW),
                     offer_demo=False)
    return desk, app


async def test_hostile_agent_name_is_painted_as_text_in_the_header(settings: Settings) -> None:
    desk, app = eve_app(settings)
    async with app.run_test(size=SIZE) as pilot:  # type: ignore[attr-defined]
        screen = await settle(pilot)
        header = screen.query_one("#header-line", HeaderLine)
        await pilot.pause()
        shown = painted(header)
        assert "eve" in shown and "\\x1b]0;pwned\\x07" in shown
        for raw in RAW:
            assert raw not in shown
    desk.engine.dispose()


async def test_joined_emoji_and_zwnj_are_painted_whole_in_the_queue(settings: Settings) -> None:
    desk, app = eve_app(settings)
    async with app.run_test(size=SIZE) as pilot:  # type: ignore[attr-defined]
        screen = await settle(pilot)
        await pilot.press("a")
        screen = await settle(pilot)
        table = screen.query_one(QueueTable)
        shown = painted(table)
        assert FAMILY in shown and PERSIAN in shown
        assert "\\u200d" not in shown and "\\u200c" not in shown
    desk.engine.dispose()


async def test_notifications_pass_the_rule(settings: Settings) -> None:
    desk, app = eve_app(settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:  # type: ignore[attr-defined]
        await settle(pilot)
        app.notify(f"claimed by {HOSTILE_NAME}", title=HOSTILE_NAME, markup=False)
        await pilot.pause()
        note = list(app._notifications)[-1]  # type: ignore[attr-defined]
        for raw in RAW:
            assert raw not in note.message and raw not in note.title
        assert "\\x1b]52;c;aGk=" in note.message
        app.notify("database postgresql://u:S3cretPW@h/db unavailable", markup=False)
        await pilot.pause()
        note = list(app._notifications)[-1]  # type: ignore[attr-defined]
        assert "S3cretPW" not in note.message and "postgresql://u:***@h/db" in note.message
    desk.engine.dispose()


async def test_a_failed_worker_is_one_notification_and_a_log_entry(
    settings: Settings, monkeypatch
) -> None:
    desk, app = eve_app(settings)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the index exploded\nwith a second line")

    async with app.run_test(size=SIZE, notifications=True) as pilot:  # type: ignore[attr-defined]
        await settle(pilot)
        monkeypatch.setattr(desk, "queue_page", broken)
        await pilot.press("ctrl+r")  # reload: the load worker calls queue_page
        for _ in range(50):
            await pilot.pause(0.05)
            if any(n.title == "Unexpected error" for n in app._notifications):  # type: ignore[attr-defined]
                break
        notes = [n for n in app._notifications if n.title == "Unexpected error"]  # type: ignore[attr-defined]
        assert len(notes) == 1
        assert notes[0].message.startswith("Something went wrong (RuntimeError: the index exploded)")
        assert str(log_file()) in notes[0].message
        assert "\n" not in notes[0].message
        # the app is still running and usable
        assert app.is_running  # type: ignore[attr-defined]
        await pilot.press("down")
        assert app.crash_report is None  # type: ignore[attr-defined]
    logged = log_file().read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in logged and "the index exploded" in logged
    assert "in broken" in logged
    desk.engine.dispose()


async def test_an_error_outside_a_worker_ends_the_app_with_one_line(settings: Settings) -> None:
    desk, app = eve_app(settings)
    try:
        async with app.run_test(size=SIZE) as pilot:  # type: ignore[attr-defined]
            await settle(pilot)

            def boom() -> None:
                raise ValueError("handler bug")

            app.call_later(boom)  # type: ignore[attr-defined]
            await pilot.pause(0.2)
    except ValueError:
        pass  # Pilot re-raises the app's exception for the test framework
    assert app.crash_report is not None  # type: ignore[attr-defined]
    assert app.crash_report.startswith("unexpected error: ValueError: handler bug")  # type: ignore[attr-defined]
    assert str(log_file()) in app.crash_report  # type: ignore[attr-defined]
    assert "handler bug" in log_file().read_text(encoding="utf-8")
    desk.engine.dispose()


async def test_a_narrow_cell_never_cuts_a_joined_emoji(settings: Settings) -> None:
    import regex

    desk = Desk.open(settings.with_(agent="alice"))
    desk.add_agent("alice", "Alice", 1)
    desk.create_ticket(
        subject=FAMILY * 60,
        body="x",
        requester_email="c@x.example",
        requester_name=PERSIAN * 20,
        priority="urgent",
        opened_at=FIXED_NOW - timedelta(minutes=10),
    )
    app = create_app(settings.with_(agent="alice"), desk=desk, clock=Clock(FIXED_NOW),
                     offer_demo=False)
    async with app.run_test(size=(101, 20)) as pilot:
        await settle(pilot)
        await pilot.press("a")
        screen = await settle(pilot)
        shown = painted(screen.query_one(QueueTable))
        assert FAMILY in shown and "…" in shown
        for cluster in regex.findall(r"\X", shown):
            if "\u200d" in cluster:
                assert cluster == FAMILY  # whole, never a man and a dangling joiner
    desk.engine.dispose()


async def test_ticket_thread_paints_writing_and_neutralises_controls(settings: Settings) -> None:
    from textual.widgets import Static

    from agent_console.widgets.ticket_thread import MessageCard
    from tests.helpers import TicketTestApp, make_desk, open_ticket

    scotland = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    body = (
        f"family {FAMILY} flag {scotland}\n"
        f"persian {PERSIAN} marks a\u200eb\u200fc\n"
        "\tindented line\n"
        "hostile \x1b]0;title\x07 \x9b2J \u202eevil\u202c \u2066iso\u2069 del\x7f"
    )
    desk = make_desk(settings, "ann")
    key = desk.create_ticket(
        subject="writing", body=body, requester_email="c@x.example", requester_name=HOSTILE_NAME,
        priority="urgent", opened_at=FIXED_NOW - timedelta(minutes=5),
    )
    app = TicketTestApp(desk.settings, desk=desk, offer_demo=False, real_ticks=False)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        card = screen.query(MessageCard).first()
        shown = painted(card.query_one(".msg-body", Static))
        header = painted(card.query_one(".msg-header", Static))
    for kept in (FAMILY, scotland, PERSIAN, "a\u200eb\u200fc"):
        assert kept in shown
    assert "    indented line" in shown or "\tindented line" in shown  # a tab, not "\t"
    assert len([line for line in shown.splitlines() if line.strip()]) >= 4  # newlines kept
    for raw in ("\x1b", "\x07", "\x9b", "\u202e", "\u202c", "\u2066", "\u2069", "\x7f"):
        assert raw not in shown and raw not in header
    for escape in ("\\x1b]0;title\\x07", "\\x9b2J", "\\u202eevil\\u202c", "\\u2066iso\\u2069",
                   "del\\x7f"):
        assert escape in shown
    assert "\\x1b]0;pwned" in header
    desk.engine.dispose()


async def test_an_unexpected_error_in_a_ticket_command_keeps_the_draft_and_logs(
    settings: Settings, monkeypatch
) -> None:
    from tests.helpers import TicketTestApp, make_desk, open_ticket

    desk = make_desk(settings, "ann")
    key = desk.create_ticket(
        subject="s", body="b", requester_email="c@x.example", requester_name="C",
        priority="urgent", opened_at=FIXED_NOW - timedelta(minutes=5),
    )

    def broken_reply(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyError("lost column")

    app = TicketTestApp(desk.settings, desk=desk, offer_demo=False, real_ticks=False)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        screen = await open_ticket(pilot, key)
        monkeypatch.setattr(desk, "reply", broken_reply)
        await pilot.press("r")
        await pilot.pause()
        await pilot.press(*"my draft", "ctrl+s")
        for _ in range(40):
            await pilot.pause(0.05)
            if screen.drafts:
                break
        assert screen.drafts.get("reply") == "my draft"
        errors = [n for n in app._notifications if n.severity == "error"]  # type: ignore[attr-defined]
        assert errors and "unexpected error: KeyError" in errors[-1].message
        assert str(log_file()) in errors[-1].message
    assert "in broken_reply" in log_file().read_text(encoding="utf-8")
    desk.engine.dispose()

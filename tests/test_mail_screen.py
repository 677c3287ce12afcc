"""The Mail screen (issue 14 operations): reached with ``5`` and the palette's "Mail" (from
the header's "mail not sent" notice, which names the key); per mailbox the last fetch and
error, the outbox (failed with the reason, retrying with its next attempt, queued), the
quarantine (outside text rendered literally); ``d`` / ``D`` dismiss and ``r`` retry on the
selected row — in a worker, recorded on the ticket by the acting agent, the header's count
dropping; a failed action is one line; snapshots at 160×50 and 80×24. A real SMTP server
(aiosmtpd) refuses the mail that fails."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from agent_console.app import AgentConsoleApp, create_app
from agent_console.desk import Desk
from agent_console.screens.mail import MailScreen
from agent_console.store.models import MailProgress, MailQuarantine, TicketEvent
from agent_console.widgets.console_header import HeaderNotices
from tests.mail_helpers import SmtpServer, mail_settings, mail_ticket
from tests.oncall_helpers import Clock

#: Monday 30 Nov 2026 15:00 UTC (10:00 in New York: the desk is open)
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def _board_desk(url: str, server: SmtpServer, clock: Clock) -> Desk:
    """Three e-mail tickets: a reply refused for good, one refused once (retrying in 5
    minutes), one queued; two mailboxes (one failing); a quarantined message whose sender
    and subject carry markup and an escape sequence."""
    settings = mail_settings(url, server, agent="alice", mail_retry_after=900.0)
    desk = Desk.open(settings, clock=clock)
    desk.add_agent("alice", "Alice Moreno", 1)
    clock.now = NOW - timedelta(hours=2)
    a = mail_ticket(desk, subject="Printer on fire", message_id="a@customer.example")
    b = mail_ticket(
        desk,
        subject="Invoice [bold]late[/bold]",
        requester="bob@shop.example",
        message_id="b@shop.example",
    )
    c = mail_ticket(
        desk, subject="VPN drops", requester="carla@corp.example", message_id="c@corp.example"
    )
    clock.now = NOW - timedelta(minutes=10)
    desk.reply(a.key, "Could you send the model number?", agent="alice")
    desk.reply(b.key, "The invoice is on its way.", agent="alice")
    server.refuse(1, "550 5.1.1 <jane@customer.example>: no such user")
    server.refuse(1, "451 4.3.0 greylisted, try again later")
    desk.send_mail()
    clock.now = NOW - timedelta(minutes=1)
    desk.reply(c.key, "Please restart the client.", agent="alice")
    with desk.write() as s:
        s.add(
            MailProgress(
                mailbox="support@127.0.0.1:1143/INBOX", uidvalidity=1, last_uid=41,
                last_fetch_at=NOW - timedelta(minutes=2), received=41, tickets=30,
                follow_ups=8, bounces=1, ignored=1, quarantined=1,
            )
        )
        s.add(
            MailProgress(
                mailbox="billing@127.0.0.1:1143/INBOX", uidvalidity=1, last_uid=0,
                last_fetch_at=None, last_error="IMAP billing@127.0.0.1:1143: connection refused",
                received=0, tickets=0, follow_ups=0, bounces=0, ignored=0, quarantined=0,
            )
        )
        s.add(
            MailQuarantine(
                mailbox="support@127.0.0.1:1143/INBOX", uidvalidity=1, uid=40,
                sender="", subject="[red]win[/red] \x1b[2J a prize",
                reason="no sender address (From)", size=120,
                raw=b"Subject: win a prize\r\n\r\nno sender here\r\n",
                received_at=NOW - timedelta(hours=1), created_at=NOW - timedelta(hours=1),
            )
        )
    clock.now = NOW
    return desk


@pytest.fixture
def board(sqlite_url: str, smtp_server: SmtpServer):  # type: ignore[no-untyped-def]
    clock = Clock(NOW)
    desk = _board_desk(sqlite_url, smtp_server, clock)
    yield desk, clock
    desk.engine.dispose()


def _app(desk: Desk, clock: Clock, **kw: object) -> AgentConsoleApp:
    return create_app(
        desk.settings,
        desk=Desk(desk.engine, desk.settings, clock=clock),
        clock=clock,
        offer_demo=False,
        **{"alerts": False, "real_ticks": False, "live": False, **kw},
    )


async def _until(pilot: Pilot, what, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return
        await pilot.pause(0.05)
    raise AssertionError("timed out")


async def _mail_screen(pilot: Pilot, loads: int = 1) -> MailScreen:
    await pilot.press("5")
    await _until(pilot, lambda: isinstance(pilot.app.screen, MailScreen))
    screen = pilot.app.screen
    assert isinstance(screen, MailScreen)
    await _until(pilot, lambda: screen.loads >= loads)
    await pilot.pause()
    return screen


def _rows(screen: MailScreen, selector: str) -> list[str]:
    table = screen.query_one(selector, DataTable)
    return [
        " | ".join(str(getattr(c, "plain", c)) for c in table.get_row_at(i))
        for i in range(table.row_count)
    ]


async def test_key_5_shows_mailboxes_outbox_and_quarantine(board) -> None:  # type: ignore[no-untyped-def]
    desk, clock = board
    app = _app(desk, clock)
    async with app.run_test(size=(160, 50)) as pilot:
        screen = await _mail_screen(pilot)
        boxes = screen.query_one("#boxes", Static).render()
        text = str(getattr(boxes, "plain", boxes))
        assert "support@127.0.0.1:1143/INBOX  fetched 2m ago" in text
        assert "41 received: 30 tickets, 8 follow-ups" in text
        assert "last error: IMAP billing@127.0.0.1:1143: connection refused" in text
        assert "this console sends mail" in text
        rows = _rows(screen, "#outbox")
        assert len(rows) == 3, rows
        assert rows[0].startswith("✗ failed | SUP-1001 | jane@customer.example | 10m ago | 1")
        assert "| 550 5.1.1 <jane@customer.example>: no such user" in rows[0]
        # what waits: soonest attempt first
        assert rows[1].startswith("· queued | SUP-1003 | carla@corp.example | now | 0")
        assert rows[2].startswith("↻ retrying | SUP-1002 | bob@shop.example | in 5m 00s")
        assert "451 4.3.0 greylisted" in rows[2]
        (q,) = _rows(screen, "#quarantine")
        # outside text: shown literally, the escape sequence as a visible escape, never obeyed
        assert "[red]win[/red]" in q and "\x1b" not in q and "no sender address" in q
        title = str(screen.query_one("#outbox-title", Static).render())
        assert "1 failed, 1 retrying, 1 queued" in title
        # the header's count follows the board
        assert app.header_notices.mail_failures == 1
        # the countdown ticks without a query
        clock.now = NOW + timedelta(seconds=30)
        screen.tick()
        assert "in 4m 30s" in _rows(screen, "#outbox")[2]


async def test_dismiss_retry_and_dismiss_all(board, smtp_server: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    desk, clock = board
    app = _app(desk, clock)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await _mail_screen(pilot)
        # d on a waiting row: one line, nothing changes
        await pilot.press("down", "d")
        await pilot.pause()
        assert desk.mail_failed_count() == 1
        # d on the failed row dismisses it: the header's count drops
        await pilot.press("up", "d")
        await _until(pilot, lambda: app.header_notices.mail_failures == 0)
        with desk.read() as s:
            ev = s.exec(select(TicketEvent).where(TicketEvent.kind == "mail_dismissed")).one()
        history = [e.text for e in desk.ticket_detail("SUP-1001").events]
        assert any("alice dismissed the failed mail to jane@customer.example" in h for h in history)
        assert ev.agent_id is not None
        await _until(pilot, lambda: len(_rows(screen, "#outbox")) == 2)
        # r on the retrying row: tried now
        await pilot.press("down", "r")
        await _until(pilot, lambda: all("| now |" in r for r in _rows(screen, "#outbox")))
        # send: one refused for good again; D dismisses every failure
        smtp_server.refuse(1, "554 5.7.1 rejected")
        app.desk.send_mail()
        screen.reload()
        await _until(pilot, lambda: app.header_notices.mail_failures == 1)
        await pilot.press("D")
        await _until(pilot, lambda: app.header_notices.mail_failures == 0)
        assert desk.mail_failed_count() == 0


async def test_quarantine_retry_is_one_line_and_enter_opens_the_ticket(board) -> None:  # type: ignore[no-untyped-def]
    desk, clock = board
    app = _app(desk, clock)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await _mail_screen(pilot)
        await pilot.press("tab")
        await pilot.pause()
        assert screen.focused is screen.query_one("#quarantine", DataTable)
        await pilot.press("r")
        await _until(pilot, lambda: any("still unreadable" in n.message for n in app._notifications))
        (note,) = [n for n in app._notifications if "still unreadable" in n.message]
        assert "\n" not in note.message and note.severity == "error"
        await pilot.press("d")
        await pilot.pause()
        assert any("kept until it is read again" in n.message for n in app._notifications)
        await pilot.press("shift+tab", "enter")
        from agent_console.screens.ticket import TicketScreen

        await _until(pilot, lambda: isinstance(app.screen, TicketScreen))
        assert app.screen.key == "SUP-1001"  # type: ignore[attr-defined]


async def test_palette_offers_mail_and_the_header_names_the_key(board) -> None:  # type: ignore[no-untyped-def]
    desk, clock = board
    app = _app(desk, clock)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Mail" in titles
        screen = await _mail_screen(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Retry", "Dismiss", "Dismiss all", "Mail"} <= set(titles)
        from agent_console.screens.help import HelpScreen, key_groups

        groups = key_groups(screen, app)
        assert groups[0][0] == "Outbox and quarantine" and groups[-1][0] == "Everywhere"
        assert [k for k, _ in groups[0][1]][:3] == ["r", "d", "D"]
        assert ("5", "Mail") in groups[-1][1]
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "1")
        await _until(pilot, lambda: not isinstance(app.screen, MailScreen))
        # the palette's "Mail" runs: from the queue to the Mail screen
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await pilot.press(*"Mail")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await _until(pilot, lambda: isinstance(app.screen, MailScreen))
    n = HeaderNotices(mail_failures=2)
    assert n.winner().plain.strip() == "✉ 2 mails not sent · 5 Mail"  # type: ignore[union-attr]
    assert n.winner(compact=True).plain.strip() == "✉2 failed·5"  # type: ignore[union-attr]


async def test_a_failed_read_is_one_line(board) -> None:  # type: ignore[no-untyped-def]
    desk, clock = board
    app = _app(desk, clock)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await _mail_screen(pilot)
        with desk.write() as s:  # another console sent it meanwhile
            from agent_console.store.models import OutboxMessage

            row = s.exec(select(OutboxMessage).where(OutboxMessage.failed_at.is_not(None))).one()
            row.dismissed_at = NOW
            s.add(row)
        await pilot.press("d")  # the screen still shows it as failed
        await _until(pilot, lambda: any("already dismissed" in n.message for n in app._notifications))
        await _until(pilot, lambda: len(_rows(screen, "#outbox")) == 2)


async def _ready(pilot: Pilot) -> None:
    await _mail_screen(pilot)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", [(160, 50), (80, 24)], ids=["160x50", "80x24"])
def test_mail_snapshot(snap_compare, board, size) -> None:  # type: ignore[no-untyped-def]
    desk, clock = board
    app = _app(desk, clock)
    assert snap_compare(app, terminal_size=size, run_before=_ready)

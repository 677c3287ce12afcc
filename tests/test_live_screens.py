"""Live updates on screen (issue 11, Pilot): a failed read between poll and apply loses no
change and raises no toast; who else is on a ticket and typing; the collision prompt
before a public reply."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.exc import OperationalError
from textual.widgets import Static, TextArea

from agent_console.app import create_app
from agent_console.desk import Desk
from agent_console.desk.live import Backoff, LinkState
from agent_console.errors import UserError
from agent_console.screens.collision import CollisionPrompt
from agent_console.screens.ticket_composer import Composer
from agent_console.settings import Settings
from agent_console.widgets.queue_table import QueueTable
from tests.conftest import FIXED_NOW
from tests.helpers import (
    SIZE,
    Clock,
    make_desk,
    make_queue_app,
    open_ticket,
    pg_team,
    settle_queue,
    ticket,
    until,
)
from tests.helpers import make_ticket_app as make_app
from tests.helpers import settle_ticket as settle


def _assignee(table: QueueTable, tid: int) -> str | None:
    """The assignee the table shows for ticket ``tid`` (None: unassigned or not loaded)."""
    row = table.rows.get(tid)
    return row.assignee if row is not None else None


def outage() -> UserError:
    try:
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    except OperationalError as exc:
        try:
            raise UserError("database unavailable: server closed the connection") from exc
        except UserError as err:
            return err


async def test_queue_keeps_a_change_whose_rows_could_not_be_read(
    seeded_desk: Desk, settings: Settings
) -> None:
    """The issue's bug: the feed was polled, reading the changed rows failed, and the
    claimed ticket stayed shown unassigned. Now the cursor waits; the header (not a toast
    a second) says the database is unavailable; the next read applies the claim."""
    app = make_queue_app(seeded_desk, settings)
    mono = {"t": 1000.0}  # the link's retry clock moves only when the test says so
    app.link = LinkState(Backoff(first=1.0, most=1.0, jitter=0), monotonic=lambda: mono["t"])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await settle_queue(pilot)
        screen._poll()  # a console has synced before an outage: the notice says when
        assert await until(pilot, lambda: app.link.last_sync is not None)
        if screen._feed_timer is not None:
            screen._feed_timer.pause()
        await pilot.press("u")
        screen = await settle_queue(pilot)
        table = screen.query_one(QueueTable)
        desk = app.desk  # type: ignore[attr-defined]
        key_id = table.ids[0]
        key = table.rows[key_id].key
        real = desk.queue_rows
        calls = {"n": 0}

        def failing(*a, **kw):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            raise outage()

        desk.queue_rows = failing
        seeded_desk.claim(key, agent="bruno")
        screen._poll()
        assert await until(pilot, lambda: app.link.down and not screen._feed_unapplied)
        for _ in range(3):  # within the backoff's second: no other try
            screen._poll()
            await pilot.pause(0.1)
        assert calls["n"] == 1 and app.link.down
        assert table.rows[key_id].assignee is None  # nothing applied, nothing lost
        assert not [n for n in app._notifications if n.severity == "error"]  # no toast
        assert "retrying in" in (app.outage_notice() or "")
        line = str(screen.query_one("#header-line").render())
        # the one shared notice, whole at 160 columns: when the next try is, the last sync
        assert "⚠ database unavailable — retrying in 1 s · last sync 09:00:00" in line
        desk.queue_rows = real
        mono["t"] += 1.01  # the second has passed
        assert app.link.may_try()
        screen._poll()
        assert await until(pilot, lambda: not app.link.down and key_id not in table.ids)
        assert not app.link.down and app.outage_notice() is None
        assert "⚠" not in str(screen.query_one("#header-line").render())
        assert key_id not in table.ids  # claimed: it left the Unassigned view
        assert table.rows.get(key_id) is None or table.rows[key_id].assignee == "bruno"
        screen._poll()
        assert await until(pilot, lambda: not screen._feed_unapplied)


async def test_ticket_shows_who_else_is_here_and_typing(settings: Settings) -> None:
    ann_desk = make_desk(settings, "ann")
    key = ticket(ann_desk)
    bob = Desk(ann_desk.engine, settings.with_(agent="bob"))
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        header = screen.query_one("#ticket-header", Static)
        assert "also here" not in str(header.content)
        bob.presence_beat("c-bob", key, typing=True, announce=True)
        screen.presence_woken()  # PostgreSQL: the listener calls this on a notification
        await settle(pilot)
        assert "bob typing a reply… also here" in str(header.content)
        bob.presence_leave("c-bob")
        screen.presence_woken()
        await settle(pilot)
        assert "also here" not in str(header.content)
        # and this console announced itself: Bob sees Ann on the ticket
        assert [v.handle for v in bob.viewers(key, console="c-bob")] == ["ann"]


async def test_typing_is_announced_at_most_every_two_seconds(settings: Settings) -> None:
    ann_desk = make_desk(settings, "ann")
    key = ticket(ann_desk)
    beats: list[bool] = []
    real = ann_desk.presence_beat

    def spy(console, ticket_key, *, typing=False, announce=False):  # type: ignore[no-untyped-def]
        beats.append(typing)
        return real(console, ticket_key, typing=typing, announce=announce)

    ann_desk.presence_beat = spy  # type: ignore[method-assign]
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_ticket(pilot, key)
        await pilot.press("r")
        start = time.monotonic()
        await pilot.press(*"Restarting the gateway now")
        elapsed = time.monotonic() - start
        await settle(pilot)
        # 26 keys: one announcement per started 2 s (the shared machine types slowly)
        assert 1 <= beats.count(True) <= int(elapsed // 2) + 1 < 26


async def test_collision_prompt_before_a_public_reply(settings: Settings) -> None:
    ann_desk = make_desk(settings, "ann")
    key = ticket(ann_desk)
    bob = Desk(ann_desk.engine, settings.with_(agent="bob"))
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        bob.reply(key, "Bob here: restart the gateway")
        screen.feed_woken()  # PostgreSQL: the listener calls this on a notification
        await settle(pilot)
        await pilot.press("r")
        await pilot.press(*"Ann here")
        await pilot.press("ctrl+s")
        await settle(pilot)
        prompt = app.screen
        assert isinstance(prompt, CollisionPrompt)
        line = str(prompt.query_one("#collision-line", Static).content)
        assert line == "Bob One replied 0 s ago — send anyway / review?"
        await pilot.press("r")  # review: nothing sent, the draft is in the editor
        await settle(pilot)
        assert app.screen is screen and screen.query_one(Composer).is_open
        assert "Ann here" in screen.query_one("#composer-text", TextArea).text
        assert [m.body for m in ann_desk.ticket_detail(key).thread if m.kind == "public"] == [
            "Bob here: restart the gateway"
        ]
        await pilot.press("ctrl+s")  # reviewed: sent without asking again
        await settle(pilot)
        publics = [m for m in ann_desk.ticket_detail(key).thread if m.kind == "public"]
        assert [m.author_handle for m in publics] == ["bob", "ann"]
        # a new reply by Bob asks again; "send anyway" sends
        bob.reply(key, "Bob again")
        screen.feed_woken()
        await settle(pilot)
        await pilot.press("r")
        await pilot.press(*"Ann again")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, CollisionPrompt)
        await pilot.press("s")
        await settle(pilot)
        publics = [m for m in ann_desk.ticket_detail(key).thread if m.kind == "public"]
        assert [m.body for m in publics][-1] == "Ann again"


async def test_an_internal_note_never_asks(settings: Settings) -> None:
    ann_desk = make_desk(settings, "ann")
    key = ticket(ann_desk)
    bob = Desk(ann_desk.engine, settings.with_(agent="bob"))
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_ticket(pilot, key)
        bob.reply(key, "Bob here")
        screen.feed_woken()
        await settle(pilot)
        await pilot.press("i")
        await pilot.press(*"note")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is screen
        assert ann_desk.ticket_detail(key).thread[-1].kind == "internal"


@pytest.mark.postgres
async def test_queue_is_woken_by_another_consoles_claim_on_postgres(pg_url: str) -> None:
    """No polling (the timer is paused): the listener's notification alone brings the
    claim to the screen, and the header shows no outage."""
    base, admin, keys = pg_team(pg_url)
    alice = base.with_(agent="alice")
    app = create_app(alice, desk=Desk(admin.engine, alice), clock=Clock(FIXED_NOW), offer_demo=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle_queue(pilot)
        if screen._feed_timer is not None:
            screen._feed_timer.pause()
        assert app.listener is not None
        assert await until(pilot, lambda: app.listening)
        table = screen.query_one(QueueTable)
        Desk(admin.engine, base.with_(agent="bruno")).claim(keys[1])
        tid = next(i for i, r in table.rows.items() if r.key == keys[1])
        assert await until(pilot, lambda: _assignee(table, tid) == "bruno")
        assert app.outage_notice() is None
    admin.engine.dispose()


async def test_sending_is_refused_during_an_outage_and_the_draft_kept(settings: Settings) -> None:
    ann_desk = make_desk(settings, "ann")
    key = ticket(ann_desk)
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        screen = await open_ticket(pilot, key)
        await pilot.press("r")
        await pilot.press(*"Ann here")
        app.link.failed("database unavailable: connection refused", retry_in=30)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert screen.query_one(Composer).is_open
        assert screen.query_one("#composer-text", TextArea).text == "Ann here"
        assert any("your draft is kept" in n.message for n in app._notifications)
        assert [m.kind for m in ann_desk.ticket_detail(key).thread] == ["customer"]


async def test_a_console_that_exits_leaves_no_presence(settings: Settings) -> None:
    ann_desk = make_desk(settings, "ann")
    key = ticket(ann_desk)
    bob = Desk(ann_desk.engine, settings.with_(agent="bob"))
    app = make_app(ann_desk)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_ticket(pilot, key)
        assert [v.handle for v in bob.viewers(key)] == ["ann"]
    assert bob.viewers(key) == []
    assert bob.open_elsewhere() == {}


@pytest.mark.postgres
async def test_queue_rides_out_an_outage_with_one_notice_and_catches_up(pg_url: str) -> None:
    """A 3-second outage between this console and the server (a TCP proxy): one lasting
    notice, no toasts; on recovery the notice clears and the claim made meanwhile shows."""
    from sqlalchemy.engine import make_url

    from tests.test_live import TcpProxy

    base, admin, keys = pg_team(pg_url)
    url = make_url(pg_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    via = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    alice = Settings(db_url=via, now=FIXED_NOW, agent="alice")
    console = Desk.open(alice)
    # alerts=False as in every screen test: the alert pass's own "Alerts paused" toast
    # (once per outage, issue 10) has its tests in test_oncall_screen.py
    app = create_app(
        alice, desk=console, clock=Clock(FIXED_NOW), offer_demo=False, alerts=False
    )
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await settle_queue(pilot)
            await until(pilot, lambda: app.listening)
            table = screen.query_one(QueueTable)
            tid = next(i for i, r in table.rows.items() if r.key == keys[1])
            proxy.down()
            assert await until(pilot, lambda: app.link.down)
            notice = app.outage_notice() or ""
            assert notice.startswith("database unavailable — retrying in")
            assert "last sync" in notice
            Desk(admin.engine, base.with_(agent="bruno")).claim(keys[1])
            await pilot.pause(3)
            assert table.rows[tid].assignee is None  # the last state stays shown
            proxy.up()
            await until(
                pilot, lambda: not app.link.down and _assignee(table, tid) == "bruno", timeout=40
            )
            assert not app.link.down and app.outage_notice() is None
            assert table.rows[tid].assignee == "bruno"
            assert not [n for n in app._notifications if n.severity == "error"]
    finally:
        proxy.close()
        console.engine.dispose()
        admin.engine.dispose()


async def test_header_shows_a_policy_another_console_applied(
    seeded_desk: Desk, settings: Settings, tmp_path
) -> None:
    """`sla apply` on another console: the feed carries the change to every screen's
    header (business hours), not only to the deadlines."""
    from pathlib import Path

    src = (Path(__file__).resolve().parents[1] / "data" / "sla.toml").read_text()
    policy = tmp_path / "sla.toml"
    policy.write_text(src.replace('mon = ["09:00", "18:00"]', 'mon = ["09:00", "20:00"]'))
    app = make_queue_app(seeded_desk, settings)
    async with app.run_test(size=SIZE) as pilot:
        screen = await settle_queue(pilot)
        line = lambda: str(screen.query_one("#header-line").render())  # noqa: E731
        assert "open until 18:00" in line()
        other = Desk(seeded_desk.engine, settings)  # the administrator, another console
        report = other.apply_policy(policy)
        assert report.version == 2
        deadline = time.monotonic() + 10
        while "open until 20:00" not in line() and time.monotonic() < deadline:
            screen._poll()
            await pilot.pause(0.1)
        assert "open until 20:00" in line()
        assert screen.header.policy.fingerprint == report.fingerprint


async def test_background_reads_during_an_outage_raise_no_toast(
    seeded_desk: Desk, settings: Settings
) -> None:
    """Rows, drafts and views read in the background while the database is down: the
    header's one notice, never a toast per read (a person's own action still says why)."""
    app = make_queue_app(seeded_desk, settings)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        screen = await settle_queue(pilot)
        desk = app.desk  # type: ignore[attr-defined]

        def failing(*a, **kw):  # type: ignore[no-untyped-def]
            raise outage()

        desk.queue_rows = failing
        desk.draft_ticket_ids = failing
        desk.queue_ids = failing
        screen._fetch_rows(screen.query_one(QueueTable).ids[:5])
        screen.drafts_changed()
        await pilot.press("u")  # another view: its load fails too
        assert await until(pilot, lambda: app.link.down)
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        assert app.link.down and "retrying in" in (app.outage_notice() or "")
        assert not [n for n in app._notifications if n.severity == "error"]

"""Macros on the screens (issue 16): ``m`` on a ticket (picker, preview, the text in the
editor and the field changes applied on ctrl+s), marks and ``M`` / ``b`` on the queue (a
worker with progress, a summary of what was refused), and a snapshot of the picker."""

from __future__ import annotations

from datetime import timedelta

from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from agent_console.desk import Desk
from agent_console.desk.macros import personal_macros_dir
from agent_console.paths import kb_dir
from agent_console.screens.bulk import BulkDialog, BulkSummary
from agent_console.screens.macro_picker import MacroPicker
from agent_console.screens.queue import QueueScreen
from agent_console.screens.ticket import TicketScreen
from agent_console.settings import Settings
from tests.conftest import FIXED_NOW
from tests.helpers import TicketTestApp, open_ticket, settle_queue, wait_for
from tests.helpers import make_queue_app as make_app
from tests.helpers import settle_ticket as settle


def build(settings: Settings) -> tuple[Desk, str]:
    desk = Desk.open(settings.with_(agent="ann"))
    desk.add_agent("ann", "Ann One", 1)
    desk.add_agent("tom", "Tom Two", 2)
    desk.import_kb(kb_dir())
    desk._clock = lambda: FIXED_NOW - timedelta(hours=2)
    key = desk.create_ticket(
        subject="Points [bold]missing[/] after purchase",
        body="My points did not post.",
        requester_email="mallory@example.com",
        requester_name="Mallory Quinn",
        organization="Globex Retail",
        priority="urgent",
        opened_at=FIXED_NOW - timedelta(hours=3),
    )
    desk._clock = lambda: FIXED_NOW
    return desk, key


async def test_m_fills_the_editor_and_ctrl_s_applies_the_fields(settings: Settings) -> None:
    desk, key = build(settings)
    app = TicketTestApp(desk.settings, desk=desk, offer_demo=False, alerts=False)
    try:
        async with app.run_test(size=(150, 44)) as pilot:
            screen = await open_ticket(pilot, key)
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, MacroPicker))
            picker = app.screen
            assert isinstance(picker, MacroPicker)
            await pilot.press(*"pionts")  # a typo: kb/fuzzy's one edit
            await pilot.pause()
            assert picker.shown[0].name == "points-not-posted"
            await pilot.press("enter")
            await wait_for(pilot, lambda: app.screen is screen)
            assert screen.composer.is_open
            assert "Hi Mallory," in screen.composer.area.text
            assert screen._pending_macro == ("points-not-posted", "reply")
            assert desk.ticket_detail(key).status == "new"  # nothing yet
            screen.composer.area.insert("\nPS: edited by me.")
            await pilot.press("ctrl+s")
            await settle(pilot)
            d = desk.ticket_detail(key)
            assert (d.status, d.request_type) == ("pending", "inoperable")
            assert "points" in d.tags
            assert any("PS: edited by me." in m.body for m in d.thread)
            assert screen._pending_macro is None
    finally:
        desk.engine.dispose()


async def test_closing_the_editor_drops_the_macro_fields(settings: Settings) -> None:
    desk, key = build(settings)
    app = TicketTestApp(desk.settings, desk=desk, offer_demo=False, alerts=False)
    try:
        async with app.run_test(size=(150, 44)) as pilot:
            screen = await open_ticket(pilot, key)
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, MacroPicker))
            await pilot.press(*"ask-for", "enter")
            await wait_for(pilot, lambda: app.screen is screen)
            assert screen._pending_macro is not None
            await pilot.press("escape")
            await pilot.pause()
            assert screen._pending_macro is None
            assert "Hi Mallory" in screen.drafts["reply"]  # the text stays a draft
            await pilot.press("r", "ctrl+s")
            await settle(pilot)
            assert desk.ticket_detail(key).status == "open"  # a plain reply, no macro fields
    finally:
        desk.engine.dispose()


def test_macro_picker_snapshot(snap_compare, settings: Settings) -> None:
    desk, key = build(settings)

    async def open_picker(pilot: Pilot) -> None:
        await pilot.app.push_screen(TicketScreen(key))
        await settle(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, MacroPicker))
        await pilot.press("down")
        await settle(pilot)

    app = TicketTestApp(desk.settings, desk=desk, offer_demo=False, alerts=False)
    try:
        assert snap_compare(app, terminal_size=(150, 44), run_before=open_picker)
    finally:
        desk.engine.dispose()


async def test_queue_marks_and_bulk_macro_with_a_refusal(
    seeded_desk: Desk, settings: Settings
) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        screen = await settle_queue(pilot)
        table = screen.table
        await pilot.press("space", "space", "space")
        assert len(table.marks) == 3 and table.cursor == 3
        assert "● " in "".join(s.text for s in table.render_line(1))
        await pilot.press("up", "space")  # unmark the third
        assert len(table.marks) == 2
        await pilot.press("escape")
        assert not table.marks
        await pilot.press("ctrl+a")
        assert table.marks == frozenset(table.ids)
        await pilot.press("escape")
        table.cursor = 0
        await pilot.press("space", "space", "space")
        marked = sorted(table.marks, key=table.ids.index)
        keys = seeded_desk.ticket_keys(marked)
        # meanwhile, someone hands the first one to tier 2: alice may no longer reply on it
        lead = seeded_desk.list_agents()
        leads = [a.handle for a in lead if a.lead]
        seeded_desk.escalate(keys[marked[0]], "over to you", agent=leads[0])
        await pilot.press("M")
        await wait_for(pilot, lambda: isinstance(app.screen, MacroPicker))
        await pilot.press(*"ask-for-details", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkSummary), timeout=10)
        summary = app.screen
        assert isinstance(summary, BulkSummary)
        assert summary.report.summary() == "macro ask-for-details: 2 of 3 done, 1 refused"
        assert "tier" in summary.report.refused[0][1]
        await pilot.press("escape")
        assert isinstance(app.screen, QueueScreen)
        assert table.marks == frozenset({marked[0]})  # the refused one stays marked
        for tid in marked[1:]:
            assert seeded_desk.ticket_detail(keys[tid]).status == "pending"


async def test_queue_bulk_action_menu(seeded_desk: Desk, settings: Settings) -> None:
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        screen = await settle_queue(pilot)
        await pilot.press("B")
        assert not isinstance(app.screen, BulkDialog)  # nothing marked: it says so
        await pilot.press("space", "space")
        marked = sorted(screen.table.marks, key=screen.table.ids.index)
        keys = seeded_desk.ticket_keys(marked)
        await pilot.press("B")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkDialog))
        options = app.screen.query_one(OptionList)
        options.highlighted = 4  # tags
        await pilot.press("enter", *"+bulk-test", "enter")
        await wait_for(pilot, lambda: not screen._bulk_running and not screen.table.marks)
        for tid in marked:
            assert "bulk-test" in seeded_desk.ticket_detail(keys[tid]).tags


async def test_a_bad_bulk_argument_keeps_the_dialog_and_the_text(
    seeded_desk: Desk, settings: Settings
) -> None:
    """Bulk priority without a reason, or a tag word without its sign: one line in the
    dialog, which stays open with what was typed (trial defects 9 and 10)."""
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        screen = await settle_queue(pilot)
        await pilot.press("space")
        await pilot.press("B")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkDialog))
        dialog = app.screen
        options = dialog.query_one(OptionList)
        for index, typed, said in [
            (2, "urgent", "needs a reason"),  # priority
            (4, "+ok oops", "'oops': write +tag"),  # tags
            (4, "+ok +" + "t" * 60, "longer than 50 characters"),  # the tag rule (trial)
        ]:
            options.highlighted = index
            await pilot.press("enter")
            box = dialog.query_one("#bulk-argument", Input)
            box.value = ""
            await pilot.press(*typed, "enter")
            await pilot.pause(0.1)
            assert app.screen is dialog and box.value == typed
            assert said in str(dialog.query_one("#bulk-error", Static).render())
            options.focus()
        assert not screen._bulk_running


async def test_keys_are_in_help_and_palette(seeded_desk: Desk, settings: Settings) -> None:
    from agent_console.screens.help import key_groups

    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await settle_queue(pilot)
        groups = dict(key_groups(screen, app))
        marks = dict(groups["Marks"])
        assert {"space", "M", "B"} <= set(marks) and any("ctrl" in k or "^a" in k for k in marks)
        palette = [c.title for c in app.get_system_commands(screen)]
        assert {"Mark", "Mark all", "Macro on marked", "Bulk action"} <= set(palette)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TicketScreen))
        ticket = app.screen
        assert "Macro" in [c.title for c in app.get_system_commands(ticket)]
        assert "m" in dict(dict(key_groups(ticket, app))["Write"])


async def test_a_macro_with_a_terminal_escape_never_reaches_the_terminal(settings: Settings) -> None:
    """A macro text (or name) holding ESC: the editor shows it as a visible ``\\x1b``; raw,
    ``ESC[2J`` in the TextArea cleared the real terminal on every redraw (trial defect)."""
    desk, key = build(settings)
    folder = personal_macros_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "e\x1b[31mvil.toml").write_text(
        'title = "Evil"\nkind = "note"\ntext = "hi \\u001b[2J there"\n', encoding="utf-8"
    )
    app = TicketTestApp(desk.settings, desk=desk, offer_demo=False, alerts=False)
    try:
        async with app.run_test(size=(150, 44)) as pilot:
            await open_ticket(pilot, key)
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, MacroPicker))
            picker = app.screen
            assert isinstance(picker, MacroPicker)
            labels = [str(o.prompt) for o in picker.query_one(OptionList)._options]
            assert not any("\x1b" in label for label in labels)
            # refused when read (the file name and the text hold ESC): never offered, so it
            # can reach neither the editor nor a customer's mail
            assert not any("Evil" in label or "vil" in label for label in labels)
            shown = " ".join(str(w.render()) for w in picker.query(Static))
            assert "\x1b" not in shown
    finally:
        desk.engine.dispose()


def test_several_broken_macro_files_are_all_named_in_the_picker() -> None:
    from agent_console.screens.macro_picker import errors_notice

    errors = [
        f"macro file /home/u/.config/agent-console/macros/{n}.toml: unknown key 'x' (keys: {'a, ' * 40})"
        for n in ("one", "two", "three", "four")
    ]
    text = errors_notice(errors).plain
    assert all(f"{n}.toml" in text for n in ("one", "two", "three", "four"))
    assert text.startswith("4 macro files") and len(text) < 200
    assert errors_notice(errors[:1]).plain == errors[0]


def preview_lines(picker: MacroPicker) -> list[str]:
    """The preview box as drawn (each line's text, right spaces stripped)."""
    static = picker.query_one("#macro-preview", Static)
    return [static.render_line(y).text.rstrip() for y in range(static.size.height)]


async def test_picker_preview_shows_the_change_and_wraps_under_its_text(
    settings: Settings,
) -> None:
    """"Changes" lists what the macro changes — the tags it adds and removes, the priority
    from → to with its reason — not every tag the ticket ends with (trial defect); a change
    too long for the box wraps under its own text, and moving between macros redraws the
    preview as a fresh picker draws it (trial: stale lines at 160×50, critical-outage)."""
    desk, key = build(settings)
    desk.set_type_and_tags(key, None, ["billing", "vip"], agent="ann")
    app = TicketTestApp(desk.settings, desk=desk, offer_demo=False, alerts=False)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            screen = TicketScreen(key)
            await app.push_screen(screen)
            await settle(pilot)
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, MacroPicker))
            picker = app.screen
            assert isinstance(picker, MacroPicker)
            await pilot.press(*"critical-outage")
            await pilot.pause()
            assert picker.shown[0].name == "critical-outage"
            fresh = preview_lines(picker)
            text = "\n".join(fresh)
            assert "• tags +outage" in text
            assert "billing" not in text and "vip" not in text
            assert "• priority urgent → critical (reason: The customer reports" in text
            wrapped = fresh.index(next(x for x in fresh if "• priority urgent" in x)) + 1
            assert fresh[wrapped].startswith("    ") and fresh[wrapped].strip()
            # move away through every macro and back: the same lines, nothing left over
            await pilot.press(*["backspace"] * len("critical-outage"))
            await pilot.pause()
            for _ in range(len(picker.shown)):
                await pilot.press("down")
                await pilot.pause()
            for _ in range(len(picker.shown)):
                await pilot.press("up")
                await pilot.pause()
            await pilot.press("down")  # critical-outage is second in the list
            await pilot.pause()
            assert picker.shown[1].name == "critical-outage"
            assert preview_lines(picker)[: len(fresh)] == fresh
    finally:
        desk.engine.dispose()


async def _editor_rows_after_m(settings: Settings, size: tuple[int, int]) -> int:
    desk, key = build(settings.with_(db_url=f"{settings.db_url}-{size[0]}"))
    app = TicketTestApp(desk.settings, desk=desk, offer_demo=False, alerts=False)
    try:
        async with app.run_test(size=size) as pilot:
            screen = TicketScreen(key)
            await app.push_screen(screen)
            await settle(pilot)
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, MacroPicker))
            await pilot.press(*"ask-for", "enter")
            await wait_for(pilot, lambda: app.screen is screen and screen.composer.is_open)
            await pilot.pause(0.3)
            area = screen.composer.area
            assert area.region.bottom <= screen.composer.region.bottom  # whole, not cut
            thread = screen.query_one("#thread")
            assert thread.region.height >= 4  # the conversation stays in view above it
            return area.content_region.height
    finally:
        desk.engine.dispose()


async def test_editor_shows_five_lines_at_80x24_and_more_when_taller(settings: Settings) -> None:
    """After ``m`` the docked editor showed one line of the macro's text at 80×24 (its
    notice wrapped to several lines inside a fixed-height panel; trial): the text box shows
    at least 5 lines there, and grows with the terminal."""
    small = await _editor_rows_after_m(settings, (80, 24))
    assert small >= 5
    tall = await _editor_rows_after_m(settings, (160, 50))
    assert tall >= 10 and tall > small


async def test_bulk_assign_to_an_unknown_handle_is_one_line(
    seeded_desk: Desk, settings: Settings
) -> None:
    """``B`` → Assign to… with a handle no agent has: one error line, no ticket touched, the
    marks kept — not a summary refusing every marked ticket with the same reason (trial)."""
    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        screen = await settle_queue(pilot)
        await pilot.press("space", "space")
        marked = set(screen.table.marks)
        keys = seeded_desk.ticket_keys(marked)
        before = {k: seeded_desk.ticket_detail(k).version for k in keys.values()}
        await pilot.press("B")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkDialog))
        app.screen.query_one(OptionList).highlighted = 1  # assign
        await pilot.press("enter", *"[red]nobody[/red]", "enter")
        await wait_for(pilot, lambda: not screen._bulk_running)
        await pilot.pause(0.1)
        assert isinstance(app.screen, QueueScreen)  # no BulkSummary
        assert screen.last_bulk_report is None
        said = [n.message for n in app._notifications]
        assert any(m.startswith("unknown agent '[red]nobody[/red]'") for m in said), said
        assert screen.table.marks == frozenset(marked)
        assert {k: seeded_desk.ticket_detail(k).version for k in keys.values()} == before


async def test_bulk_status_and_ticket_list_say_waiting_as_the_screens_do(
    seeded_desk: Desk, settings: Settings, capsys
) -> None:
    """The screens call the status "waiting" (and "on hold"); the bulk status box, the
    ``ticket list`` help and a shipped macro's description said "pending" / "on_hold"
    (trial)."""
    from agent_console.cli import main
    from agent_console.desk.macros import shipped_macros_dir

    app = make_app(seeded_desk, settings)
    async with app.run_test(size=(160, 40)) as pilot:
        await settle_queue(pilot)
        await pilot.press("space", "B")
        await wait_for(pilot, lambda: isinstance(app.screen, BulkDialog))
        app.screen.query_one(OptionList).highlighted = 3  # status
        await pilot.press("enter")
        box = app.screen.query_one("#bulk-argument", Input)
        assert box.placeholder == "open | waiting | on hold"
        await pilot.press(*"waiting", "enter")
        await pilot.pause(0.3)
    try:
        main(["ticket", "-h"])
    except SystemExit:  # argparse's help may exit
        pass
    out = capsys.readouterr().out
    assert "(new, open, waiting, on hold)" in out and "pending" not in out
    text = (shipped_macros_dir() / "ask-for-details.md").read_text(encoding="utf-8")
    assert "pending" not in text.split("---")[1].split("description:")[1].splitlines()[0]

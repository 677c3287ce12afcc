"""KnowledgeScreen with Pilot: search as you type (debounced, stale results dropped), the
article beside the results, suggestions for a ticket, linking (``l``) and ``y``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.app import App
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Static

from agent_console.desk import Desk
from agent_console.screens.knowledge import ArticleChosen, KnowledgeScreen
from agent_console.settings import Settings
from agent_console.widgets.kb_results import KBResultList

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


@pytest.fixture
def kb_desk(tmp_path: Path) -> Desk:
    desk = Desk.open(Settings(db_url=f"sqlite:///{tmp_path / 'screen.db'}", now=NOW))
    desk.seed(4, seed=3, now=NOW)  # tickets, agents, and the starter articles
    yield desk
    desk.engine.dispose()


class KBApp(App[None]):
    """The smallest host: an app exposing ``.desk`` that pushes one screen."""

    def __init__(self, desk: Desk, screen: KnowledgeScreen, on_result: Callable | None = None):
        super().__init__()
        self.desk = desk
        self._kb_screen = screen
        self._on_result = on_result

    def on_mount(self) -> None:
        self.push_screen(self._kb_screen, self._on_result)


async def wait_for(pilot: Pilot, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


def status_text(screen: KnowledgeScreen) -> str:
    return str(screen.query_one("#kb-status", Static).render())


async def test_search_as_you_type(kb_desk: Desk) -> None:
    screen = KnowledgeScreen()
    seen: list[Message] = []
    app = KBApp(kb_desk, screen)
    async with app.run_test(message_hook=seen.append) as pilot:
        await pilot.pause()
        assert screen.focused is screen.query_one("#kb-query", Input)
        await pilot.press(*"maint")
        await wait_for(pilot, lambda: screen.results_query == "maint")
        results = screen.query_one(KBResultList)
        assert results.hits[0].slug == "maintenance-windows"
        # typing fast: the debounce ran one search, not one per key
        # (the hook sees a message when it is posted and when it is handled: count each once)
        ready = list(
            {id(m): m for m in seen if isinstance(m, KnowledgeScreen.ResultsReady)}.values()
        )
        assert [m.query for m in ready if m.query] == ["maint"]
        # the article is rendered beside the results
        await wait_for(pilot, lambda: screen._shown_slug == "maintenance-windows")
        title = str(screen.query_one("#kb-article-title", Static).render())
        assert "Scheduled maintenance windows" in title
        assert "articles" in status_text(screen) or "article" in status_text(screen)
        # keep typing: the results follow
        await pilot.press(*"enance wind")
        await wait_for(pilot, lambda: screen.results_query == "maintenance wind")
        assert results.hits[0].slug == "maintenance-windows"
        # a typo: close matches, said so
        screen.query_one("#kb-query", Input).value = "pasword "
        await wait_for(pilot, lambda: screen.results_query == "pasword ")
        assert results.hits[0].slug == "reset-portal-password"
        assert "no exact match" in status_text(screen)


async def test_stale_results_never_overwrite_newer(kb_desk: Desk) -> None:
    screen = KnowledgeScreen()
    app = KBApp(kb_desk, screen)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press(*"refund")
        await wait_for(pilot, lambda: screen.results_query == "refund")
        shown = [h.slug for h in screen.query_one(KBResultList).hits]
        # a slow search for an older keystroke arrives late
        old = kb_desk.search_kb("password")
        screen.post_message(KnowledgeScreen.ResultsReady(screen._seq - 1, "passw", old, 900.0))
        await pilot.pause(0.1)
        assert screen.results_query == "refund"
        assert [h.slug for h in screen.query_one(KBResultList).hits] == shown


async def test_hostile_text_in_the_search_box(kb_desk: Desk) -> None:
    screen = KnowledgeScreen()
    app = KBApp(kb_desk, screen)
    async with app.run_test() as pilot:
        await pilot.pause()
        for text in ['[bold]"; DROP TABLE kb_article', "NEAR(( *", "[/]"]:
            screen.query_one("#kb-query", Input).value = text
            await wait_for(pilot, lambda text=text: screen.results_query == text)
        assert kb_desk.kb_article_count() >= 15


async def test_suggestions_link_and_insert_for_a_ticket(kb_desk: Desk) -> None:
    key = "SUP-1001"
    expected = [h.slug for h in kb_desk.suggest_for_ticket(key, limit=30)]
    assert expected, "the seeded ticket should have suggestions"
    results_seen: list[ArticleChosen | None] = []
    linked: list[KnowledgeScreen.ArticleLinked] = []

    def hook(message: Message) -> None:
        if isinstance(message, KnowledgeScreen.ArticleLinked) and message not in linked:
            linked.append(message)

    screen = KnowledgeScreen(ticket_key=key)
    app = KBApp(kb_desk, screen, on_result=results_seen.append)
    async with app.run_test(message_hook=hook) as pilot:
        await wait_for(pilot, lambda: screen.results_query == "")
        results = screen.query_one(KBResultList)
        assert [h.slug for h in results.hits] == expected
        assert f"for {key}" in status_text(screen)
        # l links the highlighted article (focus on the results, not the search box)
        await pilot.press("down")
        assert screen.focused is results
        slug = results.selected_hit.slug
        await pilot.press("l")
        await wait_for(pilot, lambda: bool(linked))
        assert linked[0].created and linked[0].slug == slug
        assert [a.slug for a in kb_desk.articles_for_ticket(key)] == [slug]
        # pressing l again does not link twice
        await pilot.press("l")
        await wait_for(pilot, lambda: len(linked) == 2)
        assert not linked[1].created
        # y gives the article's title and link back to whoever opened the screen
        await pilot.press("y")
        await pilot.pause()
        assert len(results_seen) == 1
        chosen = results_seen[0]
        assert isinstance(chosen, ArticleChosen)
        assert chosen.slug == slug and chosen.link.endswith("/" + slug)
        assert chosen.title in chosen.text
    from sqlmodel import select

    from agent_console.store.models import TicketEvent

    with kb_desk.read() as s:
        kinds = [e.kind for e in s.exec(select(TicketEvent)).all()]
    assert kinds.count("linked-article") == 1


async def test_from_a_ticket_the_suggestions_take_the_focus(kb_desk: Desk) -> None:
    key = "SUP-1001"
    linked: list[KnowledgeScreen.ArticleLinked] = []

    def hook(message: Message) -> None:
        if isinstance(message, KnowledgeScreen.ArticleLinked) and message not in linked:
            linked.append(message)

    screen = KnowledgeScreen(ticket_key=key)
    app = KBApp(kb_desk, screen)
    async with app.run_test(message_hook=hook) as pilot:
        await wait_for(pilot, lambda: screen.results_query == "")
        await pilot.pause()
        results = screen.query_one(KBResultList)
        assert screen.focused is results
        # l links at once, no key to leave the search box first
        slug = results.selected_hit.slug
        await pilot.press("l")
        await wait_for(pilot, lambda: bool(linked))
        assert linked[0].created and linked[0].slug == slug
        # / goes back to the search box and letters are typed there
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press("q")
        query = screen.query_one("#kb-query", Input)
        assert screen.focused is query and query.value == "q"


def test_a_one_letter_miss_asks_for_more() -> None:
    screen = KnowledgeScreen()
    one = KnowledgeScreen.ResultsReady(1, "z", [], 1.0)
    two = KnowledgeScreen.ResultsReady(2, "zq", [], 1.0)
    assert "Keep typing" in screen._status_text(one).plain
    assert screen._status_text(two).plain == "No articles match."


class ModeApp(App[None]):
    """The knowledge base as a mode's base screen, the way the console shows it on ``2``."""

    MODES = {"kb": lambda: KnowledgeScreen("refund ")}
    DEFAULT_MODE = "kb"

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk


async def test_link_hidden_without_a_ticket(kb_desk: Desk) -> None:
    app = ModeApp(kb_desk)
    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, KnowledgeScreen)
        await wait_for(pilot, lambda: screen.results_query == "refund ")
        assert screen.check_action("link", ()) is False
        assert screen.check_action("use_in_reply", ()) is True
        # escape leaves the search box, then the search (so the app's 1–4 keys work);
        # "/" goes back to the box (issue 12: escape never lands in the box)
        await pilot.press("escape")
        assert screen.focused is screen.query_one(KBResultList)
        await pilot.press("escape")
        assert screen.focused is None
        await pilot.press("slash")
        assert screen.focused is screen.query_one("#kb-query", Input)
        # y outside a ticket: ArticleChosen is posted (and copied), the screen stays
        await pilot.press("escape", "escape", "y")
        await pilot.pause()
        assert app.screen is screen


async def test_key_2_reaches_the_knowledge_screen(kb_desk: Desk) -> None:
    pytest.importorskip("agent_console.screens.queue")
    from agent_console.app import AgentConsoleApp, create_app

    if isinstance(AgentConsoleApp.MODES.get("knowledge"), str):
        # Textual reads a string mode as the name of an installed screen, not an import path
        pytest.xfail("app.py: MODES['knowledge'] must be a callable returning KnowledgeScreen()")

    app = create_app(kb_desk.settings, desk=kb_desk, offer_demo=False, alerts=False)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause(0.2)
        assert isinstance(app.screen, KnowledgeScreen)


class ClockApp(App[None]):
    """The knowledge base as a mode's base screen, with the app clock the console injects."""

    MODES = {"kb": KnowledgeScreen}
    DEFAULT_MODE = "kb"

    def __init__(self, desk: Desk) -> None:
        super().__init__()
        self.desk = desk
        self.clock = NOW

    def now(self) -> datetime:
        return self.clock


def header_line(screen: KnowledgeScreen) -> str:
    return str(screen.query_one("#header-line").render())


async def test_console_header_on_the_kb_screen(kb_desk: Desk) -> None:
    from datetime import timedelta

    from agent_console.widgets.console_header import ConsoleHeader

    app = ClockApp(kb_desk)
    async with app.run_test(size=(120, 30)) as pilot:
        screen = app.screen
        assert isinstance(screen, KnowledgeScreen)
        header = screen.query_one(ConsoleHeader)
        assert header.region.y == 0 and header.region.width == 120  # docked on top
        # the agent (the demo agent here: DEMO), their tier, the desk's business hours
        await wait_for(pilot, lambda: "DEMO" in header_line(screen))
        line = header_line(screen)
        # the full line does not fit 118 cells (120 minus padding): the compact one, whole
        assert "Knowledge base" in line and ("tier 1" in line or " T1 " in line)
        assert line.endswith(" ET")
        assert "open" in line or "closed" in line or "holiday" in line
        assert "09:00:00" in line  # 14:00 UTC in the desk's zone (ET)
        # the one 1 Hz clock moves the header on
        app.clock = NOW + timedelta(seconds=5)
        await wait_for(pilot, lambda: "09:00:05" in header_line(screen), timeout=3)
        # ... and stops while another screen covers this one
        from textual.screen import Screen

        app.push_screen(Screen())
        await pilot.pause()
        app.clock = NOW + timedelta(seconds=9)
        await pilot.pause(1.3)
        assert "09:00:05" in header_line(screen)
        app.pop_screen()
        await wait_for(pilot, lambda: "09:00:09" in header_line(screen), timeout=3)


async def test_maintenance_banner_on_the_kb_screen(kb_desk: Desk) -> None:
    from datetime import timedelta

    windows = kb_desk.default_policy.maintenance_windows(NOW, NOW + timedelta(days=14))
    if not windows:
        pytest.skip("the default policy has no maintenance window")
    start, _end = min(windows)
    app = ClockApp(kb_desk)
    app.clock = start + timedelta(minutes=1)
    async with app.run_test(size=(120, 30)) as pilot:
        banner = app.screen.query_one("#header-banner", Static)
        await wait_for(pilot, lambda: banner.has_class("-shown"))
        assert "Maintenance window in progress" in str(banner.render())

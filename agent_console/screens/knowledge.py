"""``2``: the knowledge base — search as you type, results with snippets, the article beside.

Opened from a ticket (``k`` on the ticket screen), it starts with suggestions for that ticket,
``l`` links the selected article to it, and ``y`` hands the article's title and link back to
the reply editor: the screen is dismissed with an :class:`ArticleChosen` result::

    self.app.push_screen(KnowledgeScreen(ticket_key="SUP-1042"), callback=self.insert_article)

Outside a ticket ``y`` copies "title: link" to the clipboard and posts ``ArticleChosen``.

Searches run in a thread worker after a 150 ms pause in typing; every keystroke takes a new
sequence number and a result that comes back for an older one is dropped, so a slow search
can never overwrite the results of a newer query.
"""

from __future__ import annotations

import time
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Markdown, OptionList, Static
from textual.worker import get_current_worker

from agent_console.desk.kb import ArticleView
from agent_console.desk.queue import Me
from agent_console.errors import UserError
from agent_console.kb.search import KBHit
from agent_console.kb.text import without_title_heading
from agent_console.keymap import with_ids
from agent_console.safe_text import one_line, visible
from agent_console.screens.ticking import TickingScreen
from agent_console.widgets.console_footer import ConsoleFooter
from agent_console.widgets.console_header import ConsoleHeader
from agent_console.widgets.kb_results import KBResultList

DEBOUNCE_SECONDS = 0.15
RESULT_LIMIT = 30
#: a query shorter than this that finds nothing asks for more, rather than reporting a miss
MIN_QUERY = 2


class ArticleChosen(Message):
    """An article to insert into a reply (``y``): its title and public link."""

    def __init__(self, slug: str, title: str, link: str) -> None:
        super().__init__()
        self.slug = slug
        self.title = title
        self.link = link

    @property
    def text(self) -> str:
        """What goes into the reply: ``Title: https://…``."""
        return f"{self.title}: {self.link}"

    @property
    def markdown(self) -> str:
        return f"[{self.title}]({self.link})"


class KnowledgeScreen(TickingScreen["ArticleChosen | None"]):
    """Search the knowledge base; optionally in the context of one ticket."""

    CSS_PATH = "knowledge.tcss"
    AUTO_FOCUS = "#kb-query"

    BINDINGS = with_ids("knowledge", [
        Binding("slash", "focus_search", "Search", key_display="/"),
        Binding("down", "focus_results", "Results", show=False),
        Binding("l", "link", "Link to ticket"),
        Binding("y", "use_in_reply", "Insert in reply"),
        Binding("s", "suggest", "Suggestions"),
        Binding("escape", "back", "Back"),
    ])

    #: ``?`` lists the keys in these groups, in this order (then the generic keys)
    HELP_GROUPS = {
        "Search": ("focus_search", "focus_results", "suggest"),
        "Use": ("use_in_reply", "link"),
        "Leave": ("back",),
    }

    # ------------------------------------------------------------------ messages
    class ResultsReady(Message):
        """A search (or the suggestions) finished; ``seq`` says for which keystroke."""

        bubble = False

        def __init__(
            self,
            seq: int,
            query: str,
            hits: list[KBHit],
            elapsed_ms: float,
            *,
            suggestions: bool = False,
            error: str | None = None,
        ) -> None:
            super().__init__()
            self.seq = seq
            self.query = query
            self.hits = hits
            self.elapsed_ms = elapsed_ms
            self.suggestions = suggestions
            self.error = error

    class ArticleLoaded(Message):
        bubble = False

        def __init__(
            self, slug: str, article: ArticleView | None, error: str | None = None
        ) -> None:
            super().__init__()
            self.slug = slug
            self.article = article
            self.error = error

    class AgentLoaded(Message):
        """Who is working, for the header (handle, name, tier, lead)."""

        bubble = False

        def __init__(self, me: Me | None, error: str | None = None) -> None:
            super().__init__()
            self.me = me
            self.error = error

    class ArticleLinked(Message):
        """``l`` finished: ``created`` is False when the ticket already linked the article."""

        bubble = False

        def __init__(
            self, ticket_key: str, slug: str, title: str, created: bool, error: str | None = None
        ) -> None:
            super().__init__()
            self.ticket_key = ticket_key
            self.slug = slug
            self.title = title
            self.created = created
            self.error = error

    # ------------------------------------------------------------------ setup
    def __init__(
        self,
        query: str = "",
        *,
        ticket_key: str | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.initial_query = query
        self.ticket_key = ticket_key.strip().upper() if ticket_key else None
        self._seq = 0
        self._debounce: Timer | None = None
        self._shown_slug: str | None = None
        self._ticker: Timer | None = None
        #: the query the results on screen belong to (tests wait for it)
        self.results_query: str | None = None
        #: opened from a ticket: the suggestions take the focus when they arrive, so that
        #: ``l`` / ``y`` work at once (``/`` goes back to the search box)
        self._focus_suggestions = bool(self.ticket_key and not query.strip())

    @property
    def desk(self):  # type: ignore[no-untyped-def]
        return self.app.desk  # type: ignore[attr-defined]

    def now(self) -> datetime:
        clock = getattr(self.app, "now", None)
        return clock() if callable(clock) else self.desk.now()  # type: ignore[no-any-return]

    @property
    def header(self) -> ConsoleHeader:
        return self.query_one(ConsoleHeader)

    def compose(self) -> ComposeResult:
        placeholder = "Search the knowledge base…"
        if self.ticket_key:
            placeholder = f"Search the knowledge base (suggestions for {self.ticket_key})…"
        title = f"Knowledge base for {self.ticket_key}" if self.ticket_key else "Knowledge base"
        yield ConsoleHeader(title, id="header")
        with Vertical(id="kb-left"):
            yield Input(value=self.initial_query, placeholder=placeholder, id="kb-query")
            yield Static(id="kb-status")
            yield KBResultList(id="kb-results")
        with Vertical(id="kb-right"):
            yield Static(id="kb-article-title")
            with VerticalScroll(id="kb-article-scroll"):
                yield Markdown("", id="kb-article")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.title = "Knowledge base"
        self.sub_title = f"for {self.ticket_key}" if self.ticket_key else ""
        self.header.set_policy(self.desk.default_policy, self.desk.display_zone)
        self.header.update_state(self.now())
        self._ticker = self.every(1.0, self._tick, name="kb-tick")
        self._load_agent()
        self.reload()

    # ------------------------------------------------------------------ the one clock
    def _tick(self) -> None:
        """Once a second: the header (business hours, maintenance banner). No query."""
        self.header.update_state(self.now())

    def on_ticks_resumed(self) -> None:
        self._tick()

    def reload(self) -> None:
        """Run the current query again (or the ticket's suggestions when it is empty)."""
        query = self.query_one("#kb-query", Input).value
        self._seq += 1
        if query.strip() or not self.ticket_key:
            self._search(self._seq, query)
        else:
            self._suggest(self._seq, self.ticket_key)

    # ------------------------------------------------------------------ typing
    @on(Input.Changed, "#kb-query")
    def _query_changed(self, event: Input.Changed) -> None:
        self._seq += 1  # anything in flight is now stale
        if self._debounce is not None:
            self._debounce.stop()
        seq = self._seq
        self._debounce = self.set_timer(DEBOUNCE_SECONDS, lambda: self._fire(seq))

    def _fire(self, seq: int) -> None:
        if seq != self._seq:
            return
        query = self.query_one("#kb-query", Input).value
        if not query.strip() and self.ticket_key:
            self._suggest(seq, self.ticket_key)
        else:
            self._search(seq, query)

    @on(Input.Submitted, "#kb-query")
    def _query_submitted(self) -> None:
        self.action_focus_results()

    # ------------------------------------------------------------------ workers
    @work(thread=True, exclusive=True, group="kb-search")
    def _search(self, seq: int, query: str) -> None:
        started = time.perf_counter()
        error = None
        try:
            hits = self.desk.search_kb(query, RESULT_LIMIT) if query.strip() else []
        except UserError as exc:
            hits, error = [], str(exc)
        elapsed = (time.perf_counter() - started) * 1000
        if not get_current_worker().is_cancelled:
            self.post_message(self.ResultsReady(seq, query, hits, elapsed, error=error))

    @work(thread=True, exclusive=True, group="kb-search")
    def _suggest(self, seq: int, ticket_key: str) -> None:
        started = time.perf_counter()
        error = None
        try:
            hits = self.desk.suggest_for_ticket(ticket_key, limit=RESULT_LIMIT)
        except UserError as exc:
            hits, error = [], str(exc)
        elapsed = (time.perf_counter() - started) * 1000
        if not get_current_worker().is_cancelled:
            self.post_message(
                self.ResultsReady(seq, "", hits, elapsed, suggestions=True, error=error)
            )

    @work(thread=True, exclusive=True, group="kb-agent")
    def _load_agent(self) -> None:
        try:
            self.post_message(self.AgentLoaded(self.desk.queue_me()))
        except UserError as exc:
            self.post_message(self.AgentLoaded(None, str(exc)))

    @on(AgentLoaded)
    def _agent_loaded(self, message: AgentLoaded) -> None:
        me = message.me
        if message.error:
            self.notify(message.error, severity="error", markup=False)
        if me is not None:
            self.header.set_agent(
                me.handle, me.name, me.tier, lead=me.lead, demo=bool(self.desk.is_demo_actor)
            )

    @work(thread=True, exclusive=True, group="kb-article")
    def _load_article(self, slug: str) -> None:
        try:
            self.post_message(self.ArticleLoaded(slug, self.desk.get_article(slug)))
        except UserError as exc:
            self.post_message(self.ArticleLoaded(slug, None, str(exc)))

    @work(thread=True, group="kb-link")
    def _link(self, ticket_key: str, slug: str, title: str) -> None:
        try:
            created = self.desk.link_article(ticket_key, slug)
            self.post_message(self.ArticleLinked(ticket_key, slug, title, created))
        except UserError as exc:
            self.post_message(self.ArticleLinked(ticket_key, slug, title, False, str(exc)))

    # ------------------------------------------------------------------ results
    @on(ResultsReady)
    async def _show_results(self, message: ResultsReady) -> None:
        if message.seq != self._seq:
            return  # an older query: never overwrite newer results
        results = self.query_one(KBResultList)
        results.show_hits(message.hits)
        self.results_query = message.query
        self.query_one("#kb-status", Static).update(self._status_text(message))
        self.refresh_bindings()  # y / l depend on a selected result
        if message.suggestions and self._focus_suggestions:
            self._focus_suggestions = False
            query = self.query_one("#kb-query", Input)
            if message.hits and (self.focused is None or self.focused is query):
                results.focus()
        if not message.hits:
            await self._show_article(None)

    def _status_text(self, message: ResultsReady) -> Text:
        if message.error:
            return Text(message.error, style="bold red")
        n = len(message.hits)
        if message.suggestions:
            head = f"{n} suggestion{'s' if n != 1 else ''} for {self.ticket_key}"
        elif not message.query.strip():
            return Text('Type to search: words, "a phrase", or the start of a word.', style="dim")
        elif not n and len(message.query.strip()) < MIN_QUERY:
            return Text("Keep typing…", style="dim")
        elif not n:
            return Text("No articles match.", style="dim")
        else:
            head = f"{n} article{'s' if n != 1 else ''}"
        text = Text(f"{head} · {message.elapsed_ms:.0f} ms", style="dim")
        first = message.hits[0] if message.hits else None
        if first is not None and first.match != "exact" and first.corrected:
            label = "close matches for" if first.match == "fuzzy" else "matching some of"
            text.append(f"  ·  no exact match, {label}: ", style="dim")
            text.append(first.corrected, style="italic")
        return text

    @on(OptionList.OptionHighlighted, "#kb-results")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        slug = event.option.id
        if slug and slug != self._shown_slug:
            self._load_article(slug)

    @on(OptionList.OptionSelected, "#kb-results")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#kb-article-scroll").focus()

    @on(ArticleLoaded)
    async def _article_loaded(self, message: ArticleLoaded) -> None:
        hit = self.query_one(KBResultList).selected_hit
        if hit is None or hit.slug != message.slug:
            return  # the selection moved on meanwhile
        if message.error:
            self.notify(message.error, severity="error", markup=False)
            return
        await self._show_article(message.article)

    async def _show_article(self, article: ArticleView | None) -> None:
        self._shown_slug = article.slug if article else None
        head = self.query_one("#kb-article-title", Static)
        body = self.query_one("#kb-article", Markdown)
        if article is None:
            head.update(Text(""))
            await body.update("")
            return
        text = Text(one_line(article.title), style="bold")
        meta = " · ".join(m for m in (article.section, ", ".join(article.tags)) if m)
        if meta:
            text.append("\n" + one_line(meta), style="dim")
        text.append("\n" + one_line(article.link), style="dim underline")
        head.update(text)
        await body.update(visible(without_title_heading(article.body, article.title)))
        self.query_one("#kb-article-scroll", VerticalScroll).scroll_home(animate=False)

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("link", "suggest") and not self.ticket_key:
            return False  # hidden: there is no ticket
        if action in ("link", "use_in_reply"):
            return True if self._selected_hit() else None  # shown, disabled without a result
        return True

    def _selected_hit(self) -> KBHit | None:
        try:
            return self.query_one(KBResultList).selected_hit
        except Exception:  # noqa: BLE001 - before compose
            return None

    def action_focus_search(self) -> None:
        self.query_one("#kb-query", Input).focus()

    def action_focus_results(self) -> None:
        results = self.query_one(KBResultList)
        if results.option_count:
            results.focus()

    def action_suggest(self) -> None:
        if self.ticket_key:
            self._focus_suggestions = True
            query = self.query_one("#kb-query", Input)
            with query.prevent(Input.Changed):
                query.value = ""
            self.reload()

    def action_link(self) -> None:
        hit = self._selected_hit()
        if hit is None or not self.ticket_key:
            return
        self._link(self.ticket_key, hit.slug, hit.title)

    @on(ArticleLinked)
    def _linked(self, message: ArticleLinked) -> None:
        if message.error:
            self.notify(message.error, severity="error", markup=False)
        elif message.created:
            self.notify(f"Linked “{message.title}” to {message.ticket_key}", markup=False)
        else:
            self.notify(f"{message.ticket_key} already links “{message.title}”", markup=False)

    def action_use_in_reply(self) -> None:
        hit = self._selected_hit()
        if hit is None:
            return
        chosen = ArticleChosen(hit.slug, hit.title, self.desk.kb_link(hit.slug))
        if self._is_pushed():
            self.dismiss(chosen)
            return
        self.post_message(chosen)
        self.app.copy_to_clipboard(chosen.text)
        self.notify(f"Copied: {chosen.text}", markup=False)

    def _is_pushed(self) -> bool:
        stack = self.app.screen_stack
        return len(stack) > 1 and stack[-1] is self

    def action_back(self) -> None:
        """Pushed from a ticket: close. As the ``2`` screen, ``escape`` steps out: from the
        search box to the results, from the results out of the search (nothing focused,
        so ``1``–``4`` switch screens), and from there back to the queue."""
        if self._is_pushed():
            self.dismiss(None)
        elif isinstance(self.focused, Input):
            results = self.query_one(KBResultList)
            if results.option_count:
                results.focus()
            else:
                self.set_focus(None)
        elif self.focused is not None:
            self.set_focus(None)
        else:
            self.app.switch_mode("queue")

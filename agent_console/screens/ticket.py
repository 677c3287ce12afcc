"""The ticket detail screen (issue 5): thread, side panel with live SLA timers, and the
workflow keys. Pushed by the queue with the ticket's key.

Wiring only: the desk does the work in ``@work(thread=True)`` workers whose results come
back as typed messages (:class:`TicketLoaded`, :class:`TicketSaved`,
:class:`TicketRefused`); every write carries the version the agent saw, so a change by
someone else meanwhile is a refusal that names who changed what — and a reply draft is
kept, not lost. The 1 Hz tick only formats stored deadlines.

By responsibility: the commands on the ticket's fields (macro, status, priority, assign,
tags, resolve, hand-over, claim) are in screens/ticket_actions.py, the docked editor in
screens/ticket_composer.py, the dialogs in screens/ticket_dialogs.py, history and the
deadline explanation in screens/ticket_info.py, the messages in screens/ticket_messages.py.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, Static, TextArea

from agent_console.desk.agents import AgentInfo
from agent_console.desk.feed import FeedCursor
from agent_console.desk.play import advances_play
from agent_console.desk.presence import HEARTBEAT as PRESENCE_EVERY
from agent_console.desk.presence import PRESENCE_EXPIRY, Viewer
from agent_console.desk.ticket_view import MessageView, TicketDetail
from agent_console.errors import Conflict, UserError
from agent_console.keymap import with_ids
from agent_console.logs import get_logger, log_file_hint
from agent_console.screens.ticket_actions import TicketActionsMixin
from agent_console.screens.ticket_composer import (
    NOTE_MODE,
    ComposeMode,
    Composer,
    reply_mode,
)
from agent_console.screens.ticket_dialogs import (
    StatusPicker,
)
from agent_console.screens.ticket_info import ExplainScreen, HistoryScreen
from agent_console.screens.ticket_messages import (
    ExplanationReady,
    PresenceRead,
    StatusPreviewsReady,
    TicketChangedElsewhere,
    TicketFailed,
    TicketLoaded,
    TicketRefused,
    TicketSaved,
)
from agent_console.screens.ticking import TickingScreen
from agent_console.views import status_label
from agent_console.widgets.console_footer import ConsoleFooter
from agent_console.widgets.console_header import ConsoleHeader
from agent_console.widgets.styles import status_style
from agent_console.widgets.ticket_format import literal, timer_text
from agent_console.widgets.ticket_side import TicketSidePanel
from agent_console.widgets.ticket_thread import MessageCard, TicketThread

if TYPE_CHECKING:
    from agent_console.desk import Desk
    from agent_console.screens.draft_keeper import DraftKeeper
    from agent_console.screens.knowledge import ArticleChosen

STATUSES = ("open", "pending", "on_hold", "resolved", "closed")
FEED_EVERY = 2  # seconds between looks at the change feed (other agents' edits): one indexed query
#: with the app's listener connected (PostgreSQL) the screen is woken by notifications and
#: looks at the feed on its own only this often (seconds)
FALLBACK_EVERY = 10


class TicketScreen(TicketActionsMixin, TickingScreen[None]):
    """One ticket: thread, side panel with SLA timers, and the workflow keys."""

    CSS_PATH = Path(__file__).with_name("ticket.tcss")

    #: the keys of this screen, most used first: the footer shows the first ones (the
    #: rest are in ``?`` and the palette); ``group`` sorts them in the help screen
    BINDINGS = with_ids("ticket", [
        Binding("r", "reply", "Reply", tooltip="Public reply to the customer (r)"),
        Binding("i", "note", "Note", tooltip="Internal note, never sent to the customer (i)"),
        Binding("x", "resolve", "Resolve", tooltip="Resolve: summary and a message (x)"),
        Binding("s", "status", "Status", tooltip="Change status; waiting (on the customer) stops the clock (s)"),
        Binding("e", "escalate", "Escalate", tooltip="Escalate to the next tier with a note (e)"),
        Binding("a", "assign", "Assign", show=False, tooltip="Assign or reassign (a)"),
        Binding("p", "priority", "Priority", show=False, tooltip="Change priority (p)"),
        Binding("t", "tags", "Tags", show=False, tooltip="Set request type and tags (t)"),
        Binding("d", "deescalate", "De-escalate", show=False, tooltip="Back one tier (d)"),
        Binding("c", "claim", "Claim", show=False, tooltip="Claim this ticket (c)"),
        # not in the footer: at 80 columns it would push "? Help" out (help and palette list it)
        Binding(
            "m", "macro", "Macro", show=False, tooltip="Apply a macro: canned reply + field changes (m)"
        ),
        Binding("k", "knowledge", "KB", show=False, tooltip="Knowledge base suggestions (k)"),
        Binding("h", "history", "History", show=False, tooltip="Who changed what, when (h)"),
        Binding("w", "explain", "Why", show=False, tooltip="Why each deadline falls (w)"),
        Binding("ctrl+r", "reload", "Reload", show=False, tooltip="Reload the ticket (ctrl+r)"),
        Binding("escape", "back", "Back", tooltip="Back to the queue (escape)"),
    ])

    #: ``?`` lists the keys in these groups, in this order (then the generic keys)
    HELP_GROUPS = {
        "Write": ("reply", "note", "resolve", "macro"),
        "Change": ("status", "priority", "assign", "tags", "claim"),
        "Hand over": ("escalate", "deescalate"),
        "Look up": ("knowledge", "history", "explain", "reload"),
        "Editor": ("send", "close", "grow", "shrink"),
        "Leave": ("back",),
    }

    def __init__(self, key: str, *, play: Callable[[str, str], None] | None = None) -> None:
        super().__init__()
        self.key = key.strip().upper()
        #: Play mode (issue 16): called with (key, action) after a command that moves on
        #: (desk/play.py advances_play) and with (key, "leave") when escape leaves it
        self.play = play
        self.detail: TicketDetail | None = None
        self.agents: list[AgentInfo] = []
        #: the agent's unsent drafts on this ticket by kind (reply, note, handoff,
        #: resolution): read from the database with the ticket, written back through the
        #: app's draft keeper while the agent types
        self.drafts: dict[str, str] = {}
        self._drafts_read = False
        self._tick_timer: Timer | None = None
        self._ticks = 0
        #: where this screen is in the change feed (gap-safe; see desk/feed.py)
        self._feed: FeedCursor | None = None
        self._busy = False
        #: a feed read on its way or not yet shown (the cursor waits), and a wake-up that
        #: came meanwhile
        self._feed_unapplied = False
        self._wake_pending = False
        #: other consoles showing this ticket (presence), shown in the ticket's header line
        self.viewers: list[Viewer] = []
        #: the acting agent's handle, and the newest public reply already seen here: a
        #: public reply by someone else after it asks before sending (collision)
        self._me: str | None = None
        self._seen_reply_id: int | None = None
        #: the texts of the command on its way (by draft kind): drafts again if refused
        self._sent: dict[str, str] = {}
        #: a macro whose text is in the editor: (name, draft kind); its field changes are
        #: applied with the text on send (ctrl+s), dropped if the editor closes unsent
        self._pending_macro: tuple[str, str] | None = None

    # ------------------------------------------------------------ plumbing
    @property
    def desk(self) -> Desk:
        return self.app.desk  # type: ignore[attr-defined,no-any-return]

    def now(self) -> datetime:
        clock = getattr(self.app, "now", None)
        return clock() if callable(clock) else self.desk.now()

    @property
    def zone(self) -> tzinfo:
        return self.desk.display_zone  # type: ignore[no-any-return]

    @property
    def keeper(self) -> DraftKeeper:
        return self.app.drafts  # type: ignore[attr-defined,no-any-return]

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(f"Ticket {self.key}", id="header")
        if self.play is not None:
            yield Static(
                Text("▶ Play mode · next ticket after resolve, escalate, pending · esc leaves"),
                id="play-bar",
            )
        yield Static(Text(f"{self.key}  loading…"), id="ticket-header")
        with Horizontal(id="ticket-body"):
            with Vertical(id="ticket-main"):
                yield TicketThread(id="thread")
                yield Composer(id="composer")
            yield TicketSidePanel(id="side")
        yield ConsoleFooter(compact=True)

    def on_mount(self) -> None:
        self._tick_timer = self.every(1, self._tick, name="ticket-tick")
        self.load()
        self._announce(self.key)

    def on_unmount(self) -> None:
        self._announce(None)

    def _announce(self, key: str | None) -> None:
        showing = getattr(self.app, "showing_ticket", None)
        if callable(showing):
            showing(key)
        if key is not None:
            self.presence_woken()

    def on_screen_suspend(self) -> None:
        # (TickingScreen pauses the timers: Textual calls every class's handler)
        self.keeper.flush()  # switching screens: what was typed is written now

    def on_ticks_resumed(self) -> None:
        self._announce(self.key)
        if self.detail is not None:
            self._tick()

    def _tick(self) -> None:
        if self.detail is None:
            return
        now = self.now()
        self.query_one(ConsoleHeader).update_state(now)
        self.query_one(TicketSidePanel).tick(now)
        self._ticks += 1
        if self._ticks % 30 == 0:
            self.query_one(TicketThread).retime(now, self.zone)
        listening = getattr(self.app, "listening", False)
        every = FALLBACK_EVERY if listening else FEED_EVERY
        if self._ticks % every == 0 and not self._busy:
            self.feed_woken()
        # presence: notifications say who came and went; reading again now and then ends
        # a "typing" that stopped and drops consoles that died (SQLite: the only way)
        typing = any(v.typing for v in self.viewers)
        again = PRESENCE_EVERY if typing or not listening else PRESENCE_EXPIRY
        if self._ticks % int(again) == 0:
            self.presence_woken()

    def feed_woken(self) -> None:
        """Read the change feed now (the app's listener heard a commit, the database is
        back, or the fallback poll): one read at a time, a wake-up meanwhile reads again
        once it is shown."""
        if self.detail is None or self._feed is None:
            return
        if self._feed_unapplied:
            self._wake_pending = True
            return
        link = getattr(self.app, "link", None)
        if link is not None and not link.may_try():
            return
        self._wake_pending = False
        self._feed_unapplied = True
        self.watch_feed()

    def presence_woken(self) -> None:
        """What other consoles show or type changed: read who else is here."""
        if getattr(self.app, "live", False):
            self._presence_worker(getattr(self.app, "console_id", None))

    @work(thread=True, exclusive=True, group="ticket-presence")
    def _presence_worker(self, console: str | None) -> None:
        try:
            self.post_message(PresenceRead(self.desk.viewers(self.key, console=console)))
        except UserError:
            return  # best effort: what is shown stays

    @on(PresenceRead)
    def _presence_read(self, message: PresenceRead) -> None:
        if message.viewers != self.viewers:
            self.viewers = message.viewers
            if self.detail is not None:
                self.query_one("#ticket-header", Static).update(self._header(self.detail))

    # ------------------------------------------------------------ workers
    @work(thread=True, exclusive=True, group="ticket-load")
    def load(self) -> None:
        try:
            # the cursor first: a change made while the ticket is being read is not missed
            feed = self.desk.follow_feed() if self._feed is None else None
            detail = self.desk.ticket_detail(self.key)
            agents = self.desk.list_agents()
            me = self.desk.get_agent()
        except UserError as err:
            self.post_message(TicketFailed(str(err)))
            return
        drafts = None
        if not self._drafts_read:
            try:
                drafts = self.desk.drafts_of_ticket(self.key)
            except UserError as err:  # the ticket still shows; typing is kept in memory
                self.app.call_from_thread(
                    self.notify, f"Drafts unavailable: {err}", severity="error", markup=False
                )
        self.post_message(TicketLoaded(detail, agents, me, feed, drafts=drafts))

    @work(thread=True, exclusive=True, group="ticket-feed")
    def watch_feed(self) -> None:
        """Read the change feed; when this ticket changed, read it again. The screen's own
        commands show up here too (harmless: the version tells them apart), and nobody
        else's change is skipped: the cursor moves only once the ticket was shown (a
        failure leaves it, and the next read returns the change again)."""
        feed, shown = self._feed, self.detail
        if shown is None or feed is None:
            self.post_message(TicketChangedElsewhere(None))
            return
        try:
            batch = self.desk.read_feed(feed)
            detail = self.desk.ticket_detail(self.key) if shown.id in batch.ticket_ids else None
        except UserError as err:
            self.post_message(TicketChangedElsewhere(None, error=err))
            return
        self.post_message(TicketChangedElsewhere(detail, batch))

    @work(thread=True, group="ticket-save")
    def run_command(
        self,
        action: str,
        call: Callable[[], TicketDetail],
        summary: Callable[[TicketDetail], str],
        mode: ComposeMode | None = None,
    ) -> None:
        try:
            with self.keeper.sending():  # a draft save on its way never outlives the send
                detail = call()
        except Conflict as err:
            self.post_message(TicketRefused(action, str(err), conflict=True, mode=mode))
            return
        except UserError as err:
            self.post_message(TicketRefused(action, str(err), mode=mode))
            return
        except Exception as err:  # noqa: BLE001 - never leave the screen stuck "saving"
            # the draft is kept (TicketRefused); the details go to the log file
            where = log_file_hint()  # configures the log file first
            get_logger("agent_console.tui").exception("unexpected error in %s", action)
            self.post_message(
                TicketRefused(
                    action, f"unexpected error: {type(err).__name__}: {err} ({where})",
                    mode=mode,
                )
            )
            return
        self.post_message(TicketSaved(action, detail, summary(detail), mode=mode))

    @work(thread=True, exclusive=True, group="ticket-preview")
    def load_status_previews(self) -> None:
        if self.detail is None:
            return
        try:
            previews = [
                (s, self.desk.preview_status(self.key, s).text)
                for s in STATUSES
                if s != self.detail.status
            ]
        except UserError as err:
            self.post_message(TicketRefused("status", str(err)))
            return
        self.post_message(StatusPreviewsReady(previews))

    @work(thread=True, exclusive=True, group="ticket-preview")
    def load_explanation(self) -> None:
        try:
            explanation = self.desk.explain_ticket(self.key, now=self.now())
        except UserError as err:
            self.post_message(TicketRefused("explain", str(err)))
            return
        self.post_message(ExplanationReady(explanation))

    # ------------------------------------------------------------ results
    @on(TicketLoaded)
    def _loaded(self, message: TicketLoaded) -> None:
        if self._feed is None and message.feed is not None:
            self._feed = message.feed
        if message.drafts is not None and not self._drafts_read:
            self._drafts_read = True
            for kind, body in message.drafts.items():
                self.drafts.setdefault(kind, body)  # what was typed meanwhile wins
        self.agents = message.agents
        header = self.query_one(ConsoleHeader)
        if message.me is not None:
            me = message.me
            self._me = me.handle
            header.set_agent(
                me.handle, me.name, me.tier, lead=me.lead, demo=bool(self.desk.is_demo_actor)
            )
        header.set_policy(
            self.desk.default_policy, self.zone
        )  # the desk's hours, as on every screen
        self.show(message.detail)
        header.update_state(self.now())

    @on(TicketSaved)
    def _saved(self, message: TicketSaved) -> None:
        self._busy = False
        mode = message.mode
        action = message.action
        if mode is not None and self._macro_for(mode.kind):
            action = "macro"  # the macro's text was sent with its field changes
        tier_before = self.detail.tier if self.detail is not None else None
        if mode is not None:  # sent: the desk deleted the drafts in the same transaction
            self._sent.clear()
            self._pending_macro = None
            self._seen_reply_id = _newest_public(message.detail)
            if not self.composer.is_open:
                self.query_one(TicketThread).focus()
        self.show(message.detail)
        self.notify(message.summary, markup=False)
        tier_changed = tier_before is not None and message.detail.tier != tier_before
        if self.play is not None and advances_play(
            action, message.detail.status, tier_changed=tier_changed
        ):
            self.play(self.key, action)  # Play mode: the next ticket opens

    @on(TicketRefused)
    def _refused(self, message: TicketRefused) -> None:
        self._busy = False
        text = message.error
        mode = message.mode
        if mode is not None:
            # nothing was sent: the texts are drafts again (kept in the database too)
            for kind, body in self._sent.items():
                self.drafts.setdefault(kind, body)
                self.keeper.note(self.key, kind, self.drafts[kind])
            self._sent.clear()
            self.keeper.flush()
            text += " — your draft is kept"
        self.notify(text, severity="error", markup=False, timeout=8)
        if message.conflict:
            self.load()
        if mode is not None:
            self._open_composer(mode, notice=message.error)

    @on(TicketFailed)
    def _failed(self, message: TicketFailed) -> None:
        self.query_one("#ticket-header", Static).update(
            literal(f"{self.key}  {message.error}", "bold red")
        )
        self.notify(message.error, severity="error", markup=False)

    @on(TicketChangedElsewhere)
    def _changed_elsewhere(self, message: TicketChangedElsewhere) -> None:
        self._feed_unapplied = False
        if message.error is not None:
            feed_failed = getattr(self.app, "feed_failed", None)
            if callable(feed_failed):
                feed_failed(message.error)  # an outage: the header says so (no toast)
            return
        detail = message.detail
        if detail is not None and (self.detail is None or detail.version > self.detail.version):
            self.show(detail)
        if message.batch is not None and self._feed is not None:
            self._feed.advance(message.batch)  # shown: the cursor moves past it
            feed_ok = getattr(self.app, "feed_ok", None)
            if callable(feed_ok):
                feed_ok(message.batch)
        if self._wake_pending:
            self.feed_woken()

    @on(StatusPreviewsReady)
    def _previews(self, message: StatusPreviewsReady) -> None:
        if self.detail is None:
            return
        self.app.push_screen(
            StatusPicker(self.detail.status, message.previews), self._status_chosen
        )

    @on(ExplanationReady)
    def _explanation(self, message: ExplanationReady) -> None:
        states: dict[str, Text] = {}
        if self.detail is not None:
            now = self.now()
            for timer in self.detail.timers(now):
                states[timer.label] = timer_text(timer, self.detail, self.zone, now)
        self.app.push_screen(ExplainScreen(self.key, message.explanation, states))

    # ------------------------------------------------------------ view
    def show(self, detail: TicketDetail) -> None:
        self.detail = detail
        if self._seen_reply_id is None:
            self._seen_reply_id = _newest_public(detail)
        now = self.now()
        self.query_one("#ticket-header", Static).update(self._header(detail))
        self.query_one(TicketThread).show(detail.thread, detail.pinned, now, self.zone)
        self.query_one(TicketSidePanel).show(detail, now, self.zone)

    def _header(self, d: TicketDetail) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        out.append(f" {d.key} ", style="bold reverse")
        out.append(" ")
        out.append(status_label(d.status), style=status_style(d.status))
        out.append(f" · {d.priority} · tier {d.tier}", style="dim")
        out.append("  ")
        out.append_text(literal(d.subject, "bold", keep_newlines=False))
        if self.viewers:
            out.append("  ")
            out.append("◉ ", style="bold cyan")
            for i, v in enumerate(self.viewers):
                out.append(", " if i else "", style="dim")
                out.append(v.handle, style="bold cyan")
                if v.typing:
                    out.append(" typing a reply…", style="italic cyan")
            out.append(" also here", style="dim")
        return out

    # collision ------------------------------------------------------
    def reply_since_opened(self) -> MessageView | None:
        """The newest public reply by another agent since this ticket was opened here (or
        since the agent reviewed it), else None."""
        d = self.detail
        if d is None or self._seen_reply_id is None:
            return None
        others = [
            m
            for m in d.thread
            if m.kind == "public" and m.id > self._seen_reply_id and m.author_handle != self._me
        ]
        return max(others, key=lambda m: m.id) if others else None

    # ------------------------------------------------------------ commands
    def _can_act(self) -> TicketDetail | None:
        if self.detail is None:
            self.notify("The ticket is still loading", markup=False)
            return None
        if self._busy:
            self.notify("Still saving the last change…", markup=False)
            return None
        return self.detail

    def _run(
        self,
        action: str,
        call: Callable[[], TicketDetail],
        summary: Callable[[TicketDetail], str],
        mode: ComposeMode | None = None,
    ) -> None:
        self._busy = True
        self.run_command(action, call, summary, mode)

    def _agent(self) -> str | None:
        return None  # the desk's acting agent (settings.agent or the demo agent)

    # reply / note ------------------------------------------------
    def action_reply(self) -> None:
        if self._can_act():
            self._open_editor(internal=False)

    def action_note(self) -> None:
        if self._can_act():
            self._open_editor(internal=True)

    def _open_editor(self, internal: bool, notice: str | None = None) -> None:
        if self.detail is None:
            return
        mode = NOTE_MODE if internal else reply_mode(self.detail.requester)
        self._open_composer(mode, notice=notice)

    def _open_composer(self, mode: ComposeMode, *, notice: str | None = None) -> None:
        """Dock the editor below the thread with the draft of ``mode`` (and, resolving,
        the reply draft as the public message); the last customer message stays in view."""
        area = self.composer.open(
            mode,
            self.drafts.get(mode.kind, ""),
            message=self.drafts.get("reply", "") if mode.with_message else "",
            notice=notice,
        )
        self.set_focus(area)  # now, not after the queued keys: type-ahead lands in it
        self.call_after_refresh(self._show_last_customer_message)

    def _show_last_customer_message(self) -> None:
        thread = self.query_one(TicketThread)
        cards = [c for c in thread.query(MessageCard) if c.message.kind == "customer"]
        if cards:
            thread.scroll_to_widget(cards[-1], animate=False, top=True)

    @on(Composer.DraftChanged)
    def _draft_changed(self, message: Composer.DraftChanged) -> None:
        if message.text.strip():
            self.drafts[message.kind] = message.text
        else:
            self.drafts.pop(message.kind, None)
        self.keeper.note(self.key, message.kind, message.text)
        typing = getattr(self.app, "typing_in", None)
        if message.kind == "reply" and message.text.strip() and callable(typing):
            typing(self.key)  # the app announces it at most every 2 s

    def _show_message(self, message_id: int) -> None:
        thread = self.query_one(TicketThread)
        for card in thread.query(MessageCard):
            if card.message.id == message_id:
                thread.scroll_to_widget(card, animate=False, top=True)
                return

    @on(Composer.Closed)
    def _composer_closed(self, message: Composer.Closed) -> None:
        if self._pending_macro is not None:
            self.notify(
                f"Macro {self._pending_macro[0]}: field changes dropped (not sent); "
                "the text stays as your draft",
                markup=False,
            )
            self._pending_macro = None
        self.composer.hide()
        self.keeper.flush()
        self.query_one(TicketThread).focus()

    @on(Composer.Submitted)
    def _composer_submitted(self, message: Composer.Submitted) -> None:
        d = self._can_act()
        if d is None:
            return
        public_reply = message.mode.action == "public" or message.message is not None
        other = self.reply_since_opened() if public_reply else None
        if other is not None:
            from agent_console.screens.collision import CollisionPrompt

            def answer(choice: str | None) -> None:
                self._seen_reply_id = _newest_public(self.detail) if self.detail else None
                if choice == "send":
                    self._composer_submitted(message)
                else:  # review: the draft stays in the editor, their reply comes into view
                    self._show_message(other.id)

            self.app.push_screen(CollisionPrompt(other, self.now()), answer)
            return
        link = getattr(self.app, "link", None)
        if link is not None and link.down:
            self.notify(
                "Not sent: the database is unavailable — your draft is kept",
                severity="error",
                markup=False,
            )
            return
        mode, text, public = message.mode, message.text, message.message
        # what goes out is exactly what the editor holds now; its drafts leave the keeper
        self._sent = {mode.kind: text}
        self.drafts.pop(mode.kind, None)
        self.keeper.forget(self.key, mode.kind)
        if public is not None:
            self._sent["reply"] = public
            self.drafts.pop("reply", None)
            self.keeper.forget(self.key, "reply")
        self.composer.hide()
        self.query_one(TicketThread).focus()
        version, key, agent = d.version, self.key, self._agent()
        call: Callable[[], TicketDetail]
        match mode.action:
            case "public" | "internal" if self._macro_for(mode.kind):
                macro_name = self._macro_for(mode.kind)

                def call() -> TicketDetail:
                    return self.desk.apply_macro(
                        key, macro_name, agent=agent, expected_version=version, text=text
                    )

                def summary(t: TicketDetail) -> str:
                    return f"{t.key}: macro {macro_name} applied ({status_label(t.status)})"

            case "public" | "internal":
                internal = mode.action == "internal"

                def call() -> TicketDetail:
                    return self.desk.reply(
                        key, text, agent=agent, internal=internal, expected_version=version
                    )

                def summary(t: TicketDetail) -> str:
                    return f"{t.key}: internal note added" if internal else f"{t.key}: reply sent"

            case "escalate" | "deescalate":
                up = mode.action == "escalate"
                command = self.desk.escalate if up else self.desk.deescalate

                def call() -> TicketDetail:
                    return command(key, text.strip(), agent=agent, expected_version=version)

                def summary(t: TicketDetail) -> str:
                    if up:
                        return f"{t.key} escalated to tier {t.tier}: it is in their Escalations view"
                    return f"{t.key} de-escalated to tier {t.tier}"

            case _:  # resolve

                def call() -> TicketDetail:
                    return self.desk.resolve(
                        key, text.strip(), agent=agent, expected_version=version, message=public
                    )

                def summary(t: TicketDetail) -> str:
                    return f"{t.key} resolved" + (" — message sent" if public else "")

        self._run(mode.action, call, summary, mode)

    # views --------------------------------------------------------
    def action_history(self) -> None:
        if self.detail is not None:
            self.app.push_screen(HistoryScreen(self.key, self.detail.events, self.now(), self.zone))

    def action_explain(self) -> None:
        if self.detail is not None:
            self.load_explanation()

    def action_knowledge(self) -> None:
        """``k``: the knowledge base with suggestions for this ticket; ``l`` there links an
        article, ``y`` comes back with it inserted into the reply draft."""
        from agent_console.screens.knowledge import KnowledgeScreen

        self.app.push_screen(KnowledgeScreen(ticket_key=self.key), self._article_chosen)

    def _article_chosen(self, chosen: ArticleChosen | None) -> None:
        self.load()  # an article may have been linked
        if chosen is None or self.detail is None:
            return
        draft = self.drafts.get("reply", "").rstrip()
        self.drafts["reply"] = (draft + "\n\n" if draft else "") + chosen.markdown
        self.keeper.note(self.key, "reply", self.drafts["reply"])
        self._open_editor(internal=False)

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        if self.composer.is_open:  # focus was on the thread: close the editor first
            self.composer.action_close()
            return
        self.keeper.flush()
        if self.play is not None:
            self.play(self.key, "leave")  # escape leaves Play mode (and the ticket)
            self.play = None
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def capture_drafts(self) -> None:
        """Hand what the open editor holds right now to the draft keeper (quitting)."""
        composer = self.composer
        mode = composer.mode
        if mode is None or not composer.is_open:
            return
        self.keeper.note(self.key, mode.kind, composer.area.text)
        if mode.with_message:
            self.keeper.note(self.key, "reply", composer.message_area.text)

    #: keys that open the editor: run as soon as the screen sees them (see :meth:`on_key`)
    OPENERS = {"r": "reply", "i": "note", "x": "resolve", "e": "escalate", "d": "deescalate"}

    def on_key(self, event: events.Key) -> None:
        """Type-ahead: ``r`` followed at once by the reply (a fast typist, a paste) must
        not lose the reply or run it as commands. Keys reach the screen in order, so ``r``
        opens the editor here, at once, and the keys that were already queued behind it
        for the thread go into the editor instead of being taken for ticket commands."""
        focused = self.focused
        if isinstance(focused, TextArea) and focused.parent is self.composer:
            if event.is_printable and event.character:
                event.stop()
                event.prevent_default()
                focused.insert(event.character)
            elif event.key in ("tab", "shift+tab"):  # in order with the keys around it
                event.stop()
                event.prevent_default()
                self.focus_next() if event.key == "tab" else self.focus_previous()
            return
        if isinstance(focused, Input | TextArea):
            return
        action = self._opener(event.key)
        if action is not None and event.character == event.key:
            event.stop()
            event.prevent_default()
            getattr(self, f"action_{action}")()


    def _opener(self, key: str) -> str | None:
        """The editor-opening action ``key`` runs now: :attr:`OPENERS`, or with a
        keymap.toml in force, the opener bound to ``key`` after it (issue 16)."""
        keymap = getattr(self.app, "keymap", None)
        if keymap is None or not keymap.keys:
            return self.OPENERS.get(key)
        active = self.active_bindings.get(key)
        action = active.binding.action if active is not None else None
        return action if action in self.OPENERS.values() else None


def _newest_public(detail: TicketDetail) -> int:
    """The id of the newest public reply of ``detail`` (0: none)."""
    return max((m.id for m in detail.thread if m.kind == "public"), default=0)

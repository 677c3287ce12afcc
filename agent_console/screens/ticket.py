"""The ticket detail screen (issue 5): thread, side panel with live SLA timers, and the
workflow keys. Pushed by the queue with the ticket's key.

Wiring only: the desk does the work in ``@work(thread=True)`` workers whose results come
back as typed messages (:class:`TicketLoaded`, :class:`TicketSaved`,
:class:`TicketRefused`); every write carries the version the agent saw, so a change by
someone else meanwhile is a refusal that names who changed what — and a reply draft is
kept, not lost. The 1 Hz tick only formats stored deadlines.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Footer, Static

from agent_console.desk.agents import AgentInfo
from agent_console.desk.feed import FeedCursor
from agent_console.desk.ticket_view import TicketDetail
from agent_console.errors import Conflict, UserError
from agent_console.logs import get_logger, log_file_hint
from agent_console.screens.ticket_dialogs import (
    AssignDialog,
    NoteDialog,
    PriorityDialog,
    ReplyEditor,
    ReplyOutcome,
    StatusPicker,
    TagsDialog,
)
from agent_console.screens.ticket_info import ExplainScreen, HistoryScreen
from agent_console.screens.ticket_messages import (
    ExplanationReady,
    StatusPreviewsReady,
    TicketChangedElsewhere,
    TicketFailed,
    TicketLoaded,
    TicketRefused,
    TicketSaved,
)
from agent_console.screens.ticking import TickingScreen
from agent_console.sla import format_duration
from agent_console.widgets.console_header import ConsoleHeader
from agent_console.widgets.styles import status_style
from agent_console.widgets.ticket_format import literal, timer_text
from agent_console.widgets.ticket_side import TicketSidePanel
from agent_console.widgets.ticket_thread import TicketThread

if TYPE_CHECKING:
    from agent_console.desk import Desk
    from agent_console.screens.knowledge import ArticleChosen

STATUSES = ("open", "pending", "on_hold", "resolved", "closed")
FEED_EVERY = 2  # seconds between looks at the change feed (other agents' edits): one indexed query


class TicketScreen(TickingScreen[None]):
    """One ticket: thread, side panel with SLA timers, and the workflow keys."""

    CSS_PATH = Path(__file__).with_name("ticket.tcss")

    BINDINGS = [
        Binding("r", "reply", "Reply", tooltip="Public reply to the customer (r)"),
        Binding("i", "note", "Note", tooltip="Internal note, never sent to the customer (i)"),
        Binding("s", "status", "Status", tooltip="Change status; pending stops the clock (s)"),
        Binding("p", "priority", "Priority", tooltip="Change priority with a reason (p)"),
        Binding("a", "assign", "Assign", tooltip="Assign or reassign (a)"),
        Binding("t", "tags", "Tags", tooltip="Set request type and tags (t)"),
        Binding("x", "resolve", "Resolve", tooltip="Resolve with a resolution summary (x)"),
        Binding("e", "escalate", "Escalate", tooltip="Escalate to the next tier with a note (e)"),
        Binding("d", "deescalate", "De-escalate", show=False, tooltip="Back one tier (d)"),
        Binding("c", "claim", "Claim", show=False, tooltip="Claim this ticket (c)"),
        Binding("k", "knowledge", "KB", tooltip="Knowledge base suggestions (k)"),
        Binding("h", "history", "History", tooltip="Who changed what, when (h)"),
        Binding("w", "explain", "Why", tooltip="Why each deadline falls when it does (w)"),
        Binding("ctrl+r", "reload", "Reload", show=False, tooltip="Reload the ticket (ctrl+r)"),
        Binding("escape", "back", "Back", tooltip="Back to the queue (escape)"),
    ]

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key.strip().upper()
        self.detail: TicketDetail | None = None
        self.agents: list[AgentInfo] = []
        #: unsent drafts by kind ("public" / "internal"): kept across conflicts and closes
        self.drafts: dict[str, str] = {}
        self._tick_timer: Timer | None = None
        self._ticks = 0
        #: where this screen is in the change feed (gap-safe; see desk/feed.py)
        self._feed: FeedCursor | None = None
        self._busy = False

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

    def compose(self) -> ComposeResult:
        yield ConsoleHeader(f"Ticket {self.key}", id="header")
        yield Static(Text(f"{self.key}  loading…"), id="ticket-header")
        with Horizontal(id="ticket-body"):
            yield TicketThread(id="thread")
            yield TicketSidePanel(id="side")
        yield Footer()

    def on_mount(self) -> None:
        self._tick_timer = self.every(1, self._tick, name="ticket-tick")
        self.load()

    def on_ticks_resumed(self) -> None:
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
        if self._ticks % FEED_EVERY == 0 and not self._busy:
            self.watch_feed()

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
        self.post_message(TicketLoaded(detail, agents, me, feed))

    @work(thread=True, exclusive=True, group="ticket-feed")
    def watch_feed(self) -> None:
        """Poll the change feed; when this ticket changed, read it again. The screen's own
        commands show up here too (harmless: the version tells them apart), and nobody
        else's change is skipped."""
        feed, shown = self._feed, self.detail
        if shown is None or feed is None:
            return
        try:
            if shown.id in self.desk.poll_feed(feed):
                self.post_message(TicketChangedElsewhere(self.desk.ticket_detail(self.key)))
        except UserError:
            return

    @work(thread=True, group="ticket-save")
    def run_command(
        self,
        action: str,
        call: Callable[[], TicketDetail],
        summary: Callable[[TicketDetail], str],
        draft: ReplyOutcome | None = None,
    ) -> None:
        try:
            detail = call()
        except Conflict as err:
            self.post_message(TicketRefused(action, str(err), conflict=True, draft=draft))
            return
        except UserError as err:
            self.post_message(TicketRefused(action, str(err), draft=draft))
            return
        except Exception as err:  # noqa: BLE001 - never leave the screen stuck "saving"
            # the draft is kept (TicketRefused); the details go to the log file
            where = log_file_hint()  # configures the log file first
            get_logger("agent_console.tui").exception("unexpected error in %s", action)
            self.post_message(
                TicketRefused(
                    action, f"unexpected error: {type(err).__name__}: {err} ({where})",
                    draft=draft,
                )
            )
            return
        self.post_message(TicketSaved(action, detail, summary(detail)))

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
        self.agents = message.agents
        header = self.query_one(ConsoleHeader)
        if message.me is not None:
            me = message.me
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
        if message.action in ("public", "internal"):
            self.drafts.pop(message.action, None)
        self.show(message.detail)
        self.notify(message.summary, markup=False)

    @on(TicketRefused)
    def _refused(self, message: TicketRefused) -> None:
        self._busy = False
        text = message.error
        draft = message.draft
        if draft is not None and draft.text.strip():
            self.drafts["internal" if draft.internal else "public"] = draft.text
            text += " — your draft is kept"
        self.notify(text, severity="error", markup=False, timeout=8)
        if message.conflict:
            self.load()
            if draft is not None:
                self._open_editor(draft.internal, notice=message.error)

    @on(TicketFailed)
    def _failed(self, message: TicketFailed) -> None:
        self.query_one("#ticket-header", Static).update(
            literal(f"{self.key}  {message.error}", "bold red")
        )
        self.notify(message.error, severity="error", markup=False)

    @on(TicketChangedElsewhere)
    def _changed_elsewhere(self, message: TicketChangedElsewhere) -> None:
        if self.detail is None or message.detail.version > self.detail.version:
            self.show(message.detail)

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
        now = self.now()
        self.query_one("#ticket-header", Static).update(self._header(detail))
        self.query_one(TicketThread).show(detail.thread, detail.pinned, now, self.zone)
        self.query_one(TicketSidePanel).show(detail, now, self.zone)

    def _header(self, d: TicketDetail) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        out.append(f" {d.key} ", style="bold reverse")
        out.append(" ")
        out.append(d.status.replace("_", " "), style=status_style(d.status))
        out.append(f" · {d.priority} · tier {d.tier}", style="dim")
        out.append("  ")
        out.append_text(literal(d.subject, "bold", keep_newlines=False))
        return out

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
        draft: ReplyOutcome | None = None,
    ) -> None:
        self._busy = True
        self.run_command(action, call, summary, draft)

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
        kind = "internal" if internal else "public"
        editor = ReplyEditor(
            internal=internal,
            to=self.detail.requester,
            draft=self.drafts.get(kind, ""),
            notice=notice,
        )
        self.app.push_screen(editor, self._editor_closed)

    def _editor_closed(self, outcome: ReplyOutcome | None) -> None:
        if outcome is None or self.detail is None:
            return
        kind = "internal" if outcome.internal else "public"
        if outcome.text.strip():
            self.drafts[kind] = outcome.text
        else:
            self.drafts.pop(kind, None)
        if not outcome.send:
            return
        version, key = self.detail.version, self.key
        self._run(
            kind,
            lambda: self.desk.reply(
                key,
                outcome.text,
                agent=self._agent(),
                internal=outcome.internal,
                expected_version=version,
            ),
            lambda d: (
                f"{d.key}: internal note added" if outcome.internal else f"{d.key}: reply sent"
            ),
            draft=outcome,
        )

    # status -------------------------------------------------------
    def action_status(self) -> None:
        if self._can_act():
            self.load_status_previews()

    def _status_chosen(self, status: str | None) -> None:
        if not status or self.detail is None:
            return
        if status == "resolved":
            self.action_resolve()
            return
        version, key = self.detail.version, self.key
        self._run(
            "status",
            lambda: self.desk.set_status(
                key, status, agent=self._agent(), expected_version=version
            ),
            lambda d: f"{d.key} is now {d.status.replace('_', ' ')}",
        )

    # priority -----------------------------------------------------
    def action_priority(self) -> None:
        d = self._can_act()
        if d is None:
            return
        targets = {}
        for name in PriorityDialog.PRIORITIES:
            try:
                t = d.policy.target(name)
            except (KeyError, ValueError):
                continue
            targets[name] = (
                f"first response {format_duration(t.first_response)}, "
                f"resolution {format_duration(t.resolution)} ({t.clock})"
            )
        self.app.push_screen(PriorityDialog(d.priority, targets), self._priority_chosen)

    def _priority_chosen(self, choice: tuple[str, str] | None) -> None:
        if not choice or self.detail is None:
            return
        priority, reason = choice
        version, key = self.detail.version, self.key
        self._run(
            "priority",
            lambda: self.desk.set_priority(
                key, priority, reason, agent=self._agent(), expected_version=version
            ),
            lambda d: f"{d.key} is now {d.priority}; deadlines recomputed from the opening",
        )

    # assign -------------------------------------------------------
    def action_assign(self) -> None:
        d = self._can_act()
        if d is None:
            return
        # who may hold it: the ticket's tier, and leads of any tier (desk.permissions.may_take)
        tier_agents = [
            (a.handle, a.name, a.lead) for a in self.agents if a.tier == d.tier or a.lead
        ]
        self.app.push_screen(AssignDialog(d.tier, tier_agents, d.assignee), self._assignee_chosen)

    def _assignee_chosen(self, handle: str | None) -> None:
        if handle is None or self.detail is None:
            return
        version, key = self.detail.version, self.key
        self._run(
            "assign",
            lambda: self.desk.assign(
                key, handle or None, agent=self._agent(), expected_version=version
            ),
            lambda d: f"{d.key} assigned to {d.assignee}" if d.assignee else f"{d.key} unassigned",
        )

    # type & tags --------------------------------------------------
    def action_tags(self) -> None:
        d = self._can_act()
        if d is not None:
            self.app.push_screen(TagsDialog(d.request_type, d.tags), self._tags_chosen)

    def _tags_chosen(self, choice: tuple[str, str] | None) -> None:
        if not choice or self.detail is None:
            return
        rtype, tags = choice
        version, key = self.detail.version, self.key
        self._run(
            "tags",
            lambda: self.desk.set_type_and_tags(
                key, rtype, tags, agent=self._agent(), expected_version=version
            ),
            lambda d: f"{d.key}: type {d.request_type}, tags {', '.join(d.tags) or 'none'}",
        )

    # resolve ------------------------------------------------------
    def action_resolve(self) -> None:
        d = self._can_act()
        if d is None:
            return
        dialog = NoteDialog(
            f"Resolve {d.key}",
            "The resolution summary is kept with the ticket (internal): what fixed it.",
            required="A resolution summary is required",
            placeholder="what fixed it",
        )
        self.app.push_screen(dialog, self._resolve_summary)

    def _resolve_summary(self, summary: str | None) -> None:
        if not summary or self.detail is None:
            return
        version, key = self.detail.version, self.key
        self._run(
            "resolve",
            lambda: self.desk.resolve(key, summary, agent=self._agent(), expected_version=version),
            lambda d: f"{d.key} resolved",
        )

    # escalate / de-escalate ---------------------------------------
    def action_escalate(self) -> None:
        self._hand_over(up=True)

    def action_deescalate(self) -> None:
        self._hand_over(up=False)

    def _hand_over(self, *, up: bool) -> None:
        """``e`` / ``d``: one tier up or down, with a required note pinned on the thread."""
        d = self._can_act()
        if d is None:
            return
        if up:
            dialog = NoteDialog(
                f"Escalate {d.key} to tier {d.tier + 1}",
                f"The ticket leaves your queue and arrives unassigned in tier {d.tier + 1}'s "
                "Escalations view; this handoff note is pinned at the top of its thread.",
                required="A handoff note is required: what you found, what you tried",
                placeholder="what was found, what was tried",
            )
        else:
            dialog = NoteDialog(
                f"De-escalate {d.key} to tier {d.tier - 1}",
                "The ticket goes back one tier, unassigned, with this note pinned.",
                required="A note is required: what the tier below should do",
                placeholder="what was found, what the tier below should do",
            )

        def note_written(note: str | None) -> None:
            if not note or self.detail is None:
                return
            version, key = self.detail.version, self.key
            command = self.desk.escalate if up else self.desk.deescalate
            self._run(
                "escalate" if up else "deescalate",
                lambda: command(key, note, agent=self._agent(), expected_version=version),
                lambda t: (
                    f"{t.key} escalated to tier {t.tier}: it is in their Escalations view"
                    if up
                    else f"{t.key} de-escalated to tier {t.tier}"
                ),
            )

        self.app.push_screen(dialog, note_written)

    # claim ------------------------------------------------------
    def action_claim(self) -> None:
        d = self._can_act()
        if d is None:
            return
        version, key = d.version, self.key

        def call() -> TicketDetail:
            self.desk.claim(key, agent=self._agent(), expected_version=version)
            return self.desk.ticket_detail(key)

        self._run("claim", call, lambda t: f"{t.key} is yours ({t.assignee})")

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
        draft = self.drafts.get("public", "").rstrip()
        self.drafts["public"] = (draft + "\n\n" if draft else "") + chosen.markdown
        self._open_editor(internal=False)

    def action_reload(self) -> None:
        self.load()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

"""The ticket screen's commands on the ticket's fields (README "Keys", Ticket): a macro
(``m``: the picker, then its text into the docked editor with the field changes applied on
send — Zendesk's way), status, priority with its deadline previews, assign, type and tags,
resolve, escalate / de-escalate with a handoff note, claim. Each opens a dialog or the
editor; the desk work runs through the screen's ``_run`` (a worker, typed messages back).

:class:`TicketActionsMixin` is mixed into :class:`~agent_console.screens.ticket.
TicketScreen`, which provides ``desk``, ``detail``, ``drafts``, ``keeper``, ``composer``,
``_can_act``, ``_run``, ``_agent``, ``_open_composer`` and the previews' workers.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.widgets import Static

from agent_console.desk.macros import MacroPreview
from agent_console.desk.ticket_view import TicketDetail
from agent_console.errors import UserError
from agent_console.safe_text import visible
from agent_console.screens.macro_picker import MacroPicker, MacroPreviewsReady
from agent_console.screens.ticket_composer import (
    NOTE_MODE,
    handoff_mode,
    reply_mode,
    resolve_mode,
)
from agent_console.screens.ticket_dialogs import AssignDialog, PriorityDialog, TagsDialog
from agent_console.screens.ticket_messages import TicketRefused
from agent_console.sla import format_duration
from agent_console.widgets.sla_timer import format_due
from agent_console.widgets.ticket_format import literal


class TicketActionsMixin:
    """Macro, status, priority, assign, tags, resolve, hand-over and claim on a ticket."""

    detail: Any
    key: str
    _pending_macro: tuple[str, str] | None

    # macro --------------------------------------------------------
    def action_macro(self) -> None:
        if self._can_act():
            self.load_macro_previews()

    @work(thread=True, exclusive=True, group="ticket-preview")
    def load_macro_previews(self) -> None:
        try:
            previews, errors = self.desk.preview_macros(self.key, agent=self._agent())
        except UserError as err:
            self.post_message(TicketRefused("macro", str(err)))
            return
        self.post_message(MacroPreviewsReady(self.key, previews, errors))

    def on_macro_previews_ready(self, message: MacroPreviewsReady) -> None:
        if not message.previews:
            self.notify(
                "No macros: put .toml or .md files in the macros folder (README \"Macros\")",
                markup=False,
                severity="warning",
            )
            return
        by_name = {p.name: p for p in message.previews}

        def chosen(name: str | None) -> None:
            if name and name in by_name:
                self._macro_chosen(by_name[name])

        self.app.push_screen(MacroPicker(self.key, message.previews, message.errors), chosen)

    def _macro_for(self, kind: str) -> str | None:
        if self._pending_macro is not None and self._pending_macro[1] == kind:
            return self._pending_macro[0]
        return None

    def _macro_chosen(self, p: MacroPreview) -> None:
        """Zendesk's way: a macro with a text fills the editor (reply or note) for the
        agent to review; its field changes are applied with it on send (ctrl+s). A macro
        without a text applies at once (its preview was the review)."""
        d = self._can_act()
        if d is None:
            return
        if not p.text.strip():
            version, key, name = d.version, self.key, p.name
            self._run(
                "macro",
                lambda: self.desk.apply_macro(
                    key, name, agent=self._agent(), expected_version=version
                ),
                lambda t: f"{t.key}: macro {name} applied",
            )
            return
        mode = NOTE_MODE if p.kind == "note" else reply_mode(d.requester)
        draft = self.drafts.get(mode.kind, "")
        text = (draft.rstrip() + "\n\n" if draft.strip() else "") + p.text.strip()
        self.drafts[mode.kind] = text
        self.keeper.note(self.key, mode.kind, text)
        self._pending_macro = (p.name, mode.kind)
        self._open_composer(mode)
        notice = Text(f"Macro {visible(p.name, keep_newlines=False)}", "bold cyan")
        if p.changes:
            notice.append(" — on send (ctrl+s) also: ", "cyan")
            notice.append_text(literal("; ".join(p.changes), "cyan", keep_newlines=False))
        else:
            notice.append(" — review, then ctrl+s sends", "cyan")
        box = self.composer.query_one("#composer-notice", Static)
        box.update(notice)
        box.display = True

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
            # the preview: the ticket clock under that priority (recomputed from opening)
            running = d.clock.with_priority(name).running()
            if running is not None and name != d.priority:
                due = format_due(running.due, self.zone, self.now())
                targets[name] += f" → {running.metric.short} due {due}"
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
        """``x``: the docked editor with the resolution summary (internal, required) and a
        public message to the customer beside it ("submit as solved", optional)."""
        d = self._can_act()
        if d is not None:
            self._open_composer(resolve_mode(d.key, d.requester))

    # escalate / de-escalate ---------------------------------------
    def action_escalate(self) -> None:
        self._hand_over(up=True)

    def action_deescalate(self) -> None:
        self._hand_over(up=False)

    def _hand_over(self, *, up: bool) -> None:
        """``e`` / ``d``: one tier up or down, with a required note pinned on the thread."""
        d = self._can_act()
        if d is not None:
            self._open_composer(handoff_mode(up=up, key=d.key, tier=d.tier))

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

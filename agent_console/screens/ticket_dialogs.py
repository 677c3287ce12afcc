"""Dialogs of the ticket detail screen: ``ModalScreen[T]`` that ``dismiss(value)``.

They do no desk work: the ticket screen passes in what they show (previews, agents) and
runs the command with what they return. Text from tickets is shown with ``Text`` only.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from agent_console.desk.validation import tags_problem
from agent_console.views import status_label
from agent_console.widgets.ticket_format import literal

CSS = Path(__file__).with_name("ticket.tcss")


class _Dialog(ModalScreen):  # type: ignore[type-arg]
    CSS_PATH = CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _error(self, message: str) -> None:
        self.query_one(".dialog-error", Static).update(Text(message, style="bold red"))


class StatusPicker(_Dialog):
    """``s``: the statuses the ticket can go to, each with what it does to the resolution
    clock (previewed by the desk before anything is written)."""

    def __init__(self, current: str, previews: list[tuple[str, str]]):
        super().__init__()
        self.current = current
        self.previews = dict(previews)
        self.order = [status for status, _ in previews]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(
                Text(f"Set status (now {status_label(self.current)})"), classes="title"
            )
            yield OptionList(
                *[Option(Text(status_label(s)), id=s) for s in self.order], id="statuses"
            )
            yield Static("", id="status-preview")
            yield Static(Text("enter choose · escape cancel", style="dim"), classes="hint")

    def on_mount(self) -> None:
        options = self.query_one("#statuses", OptionList)
        options.focus()
        if self.order:
            options.highlighted = 0
            self._preview(self.order[0])

    def _preview(self, status: str) -> None:
        self.query_one("#status-preview", Static).update(literal(self.previews.get(status, "")))

    @on(OptionList.OptionHighlighted, "#statuses")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id:
            self._preview(event.option.id)

    @on(OptionList.OptionSelected, "#statuses")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class PriorityDialog(_Dialog):
    """``p``: a new priority and the reason (required; it goes into the history)."""

    PRIORITIES = ("critical", "urgent", "minor")

    def __init__(self, current: str, targets: dict[str, str] | None = None):
        super().__init__()
        self.current = current
        self.targets = targets or {}

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(f"Change priority (now {self.current})"), classes="title")
            options = []
            for p in self.PRIORITIES:
                label = Text(p, style="bold" if p == self.current else "")
                if p in self.targets:
                    label.append(f"  {self.targets[p]}", style="dim")
                if p == self.current:
                    label.append("  (current)", style="dim")
                options.append(Option(label, id=p))
            yield OptionList(*options, id="priorities")
            yield Input(placeholder="reason (required), then enter", id="reason")
            yield Static("", classes="dialog-error")
            yield Static(
                Text(
                    "Targets are recomputed from the opening under the new priority.", style="dim"
                ),
                classes="hint",
            )

    def on_mount(self) -> None:
        options = self.query_one("#priorities", OptionList)
        others = [i for i, p in enumerate(self.PRIORITIES) if p != self.current]
        options.highlighted = others[0] if others else 0
        options.focus()

    @on(OptionList.OptionSelected, "#priorities")
    def _chosen(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    def _submit(self) -> None:
        options = self.query_one("#priorities", OptionList)
        if options.highlighted is None:
            self._error("Choose a priority")
            return
        priority = self.PRIORITIES[options.highlighted]
        reason = self.query_one("#reason", Input).value.strip()
        if priority == self.current:
            self._error(f"The ticket is already {priority}")
            options.focus()
            return
        if not reason:
            self._error("A reason is required")
            return
        self.dismiss((priority, reason))


class AssignDialog(_Dialog):
    """``a``: the agents who work the ticket's tier and the leads, or nobody. Returns a
    handle, ``""`` to unassign, None when cancelled."""

    def __init__(self, tier: int, agents: list[tuple[str, str, bool]], current: str | None):
        super().__init__()
        self.tier = tier
        self.agents = agents
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(f"Assign to a tier {self.tier} agent or a lead"), classes="title")
            options = [Option(Text("— nobody (unassign)", style="italic"), id="")]
            for handle, name, lead in self.agents:
                label = literal(f"{handle:<10} {name}", keep_newlines=False)
                if lead:
                    label.append("  lead", style="dim")
                if handle == self.current:
                    label.append("  (current)", style="dim")
                options.append(Option(label, id=handle))
            yield OptionList(*options, id="agents")
            yield Static(Text("enter choose · escape cancel", style="dim"), classes="hint")

    def on_mount(self) -> None:
        options = self.query_one("#agents", OptionList)
        options.focus()
        options.highlighted = 1 if len(self.agents) else 0

    @on(OptionList.OptionSelected, "#agents")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id or "")


class TagsDialog(_Dialog):
    """``t``: request type and tags (comma-separated). Returns ``(type, tags)``."""

    TYPES = ("inoperable", "added", "desired", "question")

    BINDINGS = [
        Binding("ctrl+s", "submit", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, request_type: str, tags: tuple[str, ...]):
        super().__init__()
        self.request_type = request_type
        self.tags = tags

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text("Request type and tags"), classes="title")
            yield Select(
                [(t, t) for t in self.TYPES],
                value=self.request_type if self.request_type in self.TYPES else Select.BLANK,
                allow_blank=False,
                id="type",
            )
            yield Input(", ".join(self.tags), placeholder="tags, comma-separated", id="tags")
            yield Static("", classes="dialog-error")
            yield Static(Text("enter / ctrl+s save · escape cancel", style="dim"), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#tags", Input).focus()

    @on(Input.Submitted, "#tags")
    def action_submit(self) -> None:
        value = self.query_one("#type", Select).value
        rtype = value if isinstance(value, str) else self.request_type
        tags = self.query_one("#tags", Input).value
        problem = tags_problem(tags.split(","))
        if problem:  # checked here, so the dialog keeps what was typed
            self._error(problem)
            return
        self.dismiss((rtype, tags))

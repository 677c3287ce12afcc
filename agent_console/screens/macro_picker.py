"""The macro picker (issue 16): ``m`` on a ticket, ``M`` on the marked tickets of the queue.

A fuzzy filter over the macros' names and titles (Textual's own matcher — the command
palette's — with the knowledge base's one-typo tolerance, kb/fuzzy.py, for whole words),
and beside the list a preview of the highlighted macro: the rendered text, each field
change, what it does to the deadlines (the ticket clock, previewed by the desk with
nothing written) and, when it would be refused, why. It does no desk work: the screen that
pushes it passes the previews in and gets the chosen macro's name back.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.fuzzy import Matcher
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from agent_console.desk.macros import MacroPreview
from agent_console.kb.fuzzy import within_one_edit
from agent_console.safe_text import visible
from agent_console.widgets.ticket_format import literal


def macro_matches(query: str, preview: MacroPreview) -> float:
    """How well ``query`` matches the macro (0: not at all): the palette's fuzzy score on
    "name title", else 0.5 when every word of the query is within one typo of a word of
    the name, title or description."""
    query = query.strip()
    if not query:
        return 1.0
    haystack = f"{preview.name} {preview.title}"
    score = Matcher(query, case_sensitive=False).match(haystack)
    if score > 0:
        return score
    words = {
        w
        for w in f"{preview.name.replace('-', ' ')} {preview.title} {preview.description}".lower().split()
    }
    wanted = query.lower().split()
    if wanted and all(any(within_one_edit(q, w) for w in words) for q in wanted if len(q) >= 4):
        if any(len(q) >= 4 for q in wanted):
            return 0.5
    return 0.0


def errors_notice(errors: list[str]) -> Text:
    """The broken macro files under the list: one in full; several by name (the box is
    three lines high, so joining them all cut off every file after the first)."""
    if len(errors) == 1:
        return literal(errors[0], "red", keep_newlines=False)
    names = []
    for e in errors:
        head = e.removeprefix("macro file ").split(": ", 1)[0]
        names.append(Path(head).name)
    return literal(
        f"{len(errors)} macro files are broken and left out: {', '.join(names)}"
        " — `agent-console macro list` says what is wrong with each",
        "red",
        keep_newlines=False,
    )


def _bullets(lines: tuple[str, ...]) -> Table:
    """One bullet per line; a line too long for the box wraps under its own text (a hanging
    indent), not under the bullet, so one change never reads as two."""
    grid = Table.grid(padding=0)
    grid.add_column(width=4, no_wrap=True)
    grid.add_column(ratio=1)
    for line in lines:
        grid.add_row("  • ", literal(line, keep_newlines=False))
    return grid


def preview_renderable(p: MacroPreview) -> Group:
    """The preview of one macro on the ticket: title, description, why it would be
    refused, the rendered text, each field change (what changes: ``tags +outage``,
    ``priority urgent → critical (reason: …)``) and each deadline it moves. Customer and
    macro text is literal (no markup, controls shown escaped)."""
    head = Text()
    head.append_text(literal(p.title, "bold", keep_newlines=False))
    if p.source == "personal":
        head.append(
            "  your macro" + (" — it hides the shipped one of the same name" if p.shadows else ""),
            "cyan",
        )
    if p.description:
        head.append("\n")
        head.append_text(literal(p.description, "dim"))
    parts: list[RenderableType] = [head]
    if p.refusal:
        refused = Text("\nRefused: ", "bold red")
        refused.append_text(literal(p.refusal, "red"))
        parts.append(refused)
    if p.text:
        body = Text(
            "\nInternal note:\n" if p.kind == "note" else "\nReply to the customer:\n", "bold"
        )
        body.append_text(literal(p.text.strip()))
        parts.append(body)
    for title, lines in (("Changes:", p.changes), ("Deadlines:", p.deadlines)):
        if lines:
            parts.append(Text(f"\n{title}", "bold"))
            parts.append(_bullets(lines))
    return Group(*parts)


class MacroPicker(ModalScreen[str | None]):
    """Choose a macro; returns its name, or None (escape)."""

    CSS_PATH = Path(__file__).with_name("macro_picker.tcss")
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "move(1)", "Next", show=False),
        Binding("up", "move(-1)", "Previous", show=False),
    ]

    def __init__(
        self,
        target: str,
        previews: list[MacroPreview],
        errors: list[str] | None = None,
        *,
        how: str = "",
    ) -> None:
        super().__init__()
        self.target = target
        self.previews = previews
        self.by_name = {p.name: p for p in previews}
        self.errors = errors or []
        self.how = how
        self.shown: list[MacroPreview] = list(previews)

    def compose(self) -> ComposeResult:
        with Vertical(id="macro-dialog"):
            yield Static(Text(f"Apply a macro to {self.target}", "bold"), id="macro-title")
            yield Input(placeholder="type to filter macros", id="macro-filter")
            with Horizontal(id="macro-body"):
                yield OptionList(id="macro-list")
                with VerticalScroll(id="macro-preview-box"):
                    yield Static("", id="macro-preview")
            if self.errors:
                yield Static(errors_notice(self.errors), id="macro-errors")
            hint = "enter apply · ↑↓ choose · escape cancel"
            if self.how:
                hint = f"{self.how} · {hint}"
            yield Static(Text(hint, "dim"), id="macro-hint")

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#macro-filter", Input).focus()

    def _fill(self, query: str) -> None:
        scored = [(macro_matches(query, p), i, p) for i, p in enumerate(self.previews)]
        self.shown = [p for s, _, p in sorted(scored, key=lambda x: (-x[0], x[1])) if s > 0]
        options = self.query_one("#macro-list", OptionList)
        options.clear_options()
        for p in self.shown:
            label = literal(p.title, "bold" if p.refusal is None else "dim", keep_newlines=False)
            label.append(f"\n  {visible(p.name, keep_newlines=False)}", "dim")
            if p.source == "personal":
                label.append(" · yours" + (" (hides shipped)" if p.shadows else ""), "cyan")
            if p.refusal:
                label.append(" · refused", "red")
            options.add_option(Option(label, id=p.name))
        if self.shown:
            options.highlighted = 0
            self._preview(self.shown[0])
        else:
            self.query_one("#macro-preview", Static).update(Text("No macro matches.", "dim"))

    def _preview(self, p: MacroPreview) -> None:
        self.query_one("#macro-preview", Static).update(preview_renderable(p))

    @on(Input.Changed, "#macro-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#macro-filter")
    def _submitted(self) -> None:
        options = self.query_one("#macro-list", OptionList)
        if options.highlighted is not None and self.shown:
            self._choose(self.shown[options.highlighted].name)

    @on(OptionList.OptionHighlighted, "#macro-list")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id in self.by_name:
            self._preview(self.by_name[event.option.id])

    @on(OptionList.OptionSelected, "#macro-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self._choose(event.option.id)

    def _choose(self, name: str) -> None:
        p = self.by_name.get(name)
        if p is not None and p.refusal and not self.how:
            self.notify(f"Refused: {p.refusal}", severity="error", markup=False, timeout=8)
            return
        self.dismiss(name)

    def action_move(self, step: int) -> None:
        options = self.query_one("#macro-list", OptionList)
        if not self.shown:
            return
        current = options.highlighted or 0
        options.highlighted = max(0, min(len(self.shown) - 1, current + step))

    def action_cancel(self) -> None:
        self.dismiss(None)


class MacroPreviewsReady(Message):
    """The macros in force previewed on a ticket (for :class:`MacroPicker`)."""

    def __init__(self, target: str, previews: list[MacroPreview], errors: list[str]) -> None:
        super().__init__()
        self.target = target
        self.previews = previews
        self.errors = errors

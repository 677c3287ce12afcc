"""Marks and bulk actions on the queue (issue 16).

``space`` marks the ticket under the cursor (and moves down), ``ctrl+a`` marks every ticket
of the view, ``escape`` clears the marks; ``M`` applies a macro to the marked tickets and
``B`` runs a bulk action on them (claim, assign, priority, status, tags). Each ticket is
one transaction in the desk; the run is a thread worker that reports progress in the
status line, so the queue stays responsive; at the end a summary says what succeeded and
what was refused and why (refused tickets stay marked).

:class:`QueueMarksMixin` is mixed into the queue screen; the dialogs here do no desk work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from agent_console.desk.macros import BulkReport, parse_priority_change, parse_tag_changes
from agent_console.errors import UserError
from agent_console.screens.macro_picker import MacroPicker, MacroPreviewsReady
from agent_console.widgets.ticket_format import literal

CSS = Path(__file__).with_name("macro_picker.tcss")

#: the bulk actions of ``b``: id → (label, what the box asks for; "" = nothing)
BULK_ACTIONS = {
    "claim": ("Claim them", ""),
    "assign": ("Assign to…", "agent handle (empty: unassign)"),
    "priority": ("Set priority…", "critical|urgent|minor: reason   e.g.  urgent: outage at ACME"),
    "status": ("Set status…", "open | waiting | on hold"),
    "tags": ("Tags…", "+add -remove   e.g.  +billing -new"),
}


@dataclass(frozen=True)
class BulkChoice:
    action: str
    argument: str


class BulkProgress(Message):
    def __init__(self, label: str, done: int, total: int) -> None:
        super().__init__()
        self.label = label
        self.done = done
        self.total = total


class BulkDone(Message):
    def __init__(self, report: BulkReport, ids: dict[str, int]) -> None:
        super().__init__()
        self.report = report
        self.ids = ids


class BulkFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class BulkDialog(ModalScreen[BulkChoice | None]):
    """``B``: which bulk action, and its argument."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def compose(self) -> ComposeResult:
        with Vertical(id="bulk-dialog"):
            yield Static(
                Text(f"Bulk action on {self.count} marked ticket{'s' * (self.count != 1)}", "bold")
            )
            yield OptionList(
                *[Option(label, id=key) for key, (label, _) in BULK_ACTIONS.items()],
                id="bulk-actions",
            )
            yield Input(id="bulk-argument")
            yield Static("", id="bulk-error")
            yield Static(Text("enter choose · one transaction per ticket · escape cancel", "dim"))

    def on_mount(self) -> None:
        options = self.query_one("#bulk-actions", OptionList)
        options.highlighted = 0
        options.focus()
        self.query_one("#bulk-argument").display = False

    @on(OptionList.OptionSelected, "#bulk-actions")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        action = event.option.id or ""
        ask = BULK_ACTIONS[action][1]
        if not ask:
            self.dismiss(BulkChoice(action, ""))
            return
        box = self.query_one("#bulk-argument", Input)
        box.placeholder = ask
        box.display = True
        box.focus()

    @on(Input.Submitted, "#bulk-argument")
    def _submitted(self, event: Input.Submitted) -> None:
        options = self.query_one("#bulk-actions", OptionList)
        if options.highlighted is None:
            return
        action = list(BULK_ACTIONS)[options.highlighted]
        value = event.value.strip()
        problem = None
        if action in ("priority", "status", "tags") and not value:
            problem = f"Type {BULK_ACTIONS[action][1]}"
        else:
            try:  # checked here, so a mistake keeps the dialog and what was typed
                if action == "priority":
                    parse_priority_change(value)
                elif action == "tags":
                    parse_tag_changes(value)
            except UserError as exc:
                problem = str(exc)
        if problem:
            self.query_one("#bulk-error", Static).update(Text(problem, "bold red"))
            self.app.bell()
            return
        self.dismiss(BulkChoice(action, value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class BulkSummary(ModalScreen[None]):
    """What a bulk action did: counts, then each refused ticket and why."""

    CSS_PATH = CSS
    BINDINGS = [Binding("escape", "close", "Close"), Binding("enter", "close", "Close")]

    def __init__(self, report: BulkReport) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        r = self.report
        with Vertical(id="bulk-dialog"):
            yield Static(literal(r.summary() + f" in {r.seconds:.1f} s", "bold"))
            body = Text()
            if r.refused:
                body.append("Refused (still marked):\n", "bold red")
                for key, why in r.refused:
                    body.append(f"  {key}  ", "bold")
                    body.append_text(literal(why, keep_newlines=False))
                    body.append("\n")
            if r.done:
                body.append("Done:\n", "bold green")
                for _key, what in r.done:
                    body.append("  ")
                    body.append_text(literal(what, keep_newlines=False))
                    body.append("\n")
            with VerticalScroll(id="bulk-lines"):
                yield Static(body)
            yield Static(Text("enter / escape close", "dim"))

    def action_close(self) -> None:
        self.dismiss(None)


class QueueMarksMixin:
    """Marks and bulk actions for the queue screen (which provides ``table``, ``desk``,
    ``notify``, ``_poll`` and the status line)."""

    _marks: set[int]
    _bulk_running: bool = False
    _bulk_status: str = ""
    #: the last bulk run's outcome (tests, the benchmark)
    last_bulk_report: BulkReport | None = None

    # ---------------------------------------------------------------- marks
    def _mark_set(self) -> set[int]:
        if not hasattr(self, "_marks"):
            self._marks = set()
        return self._marks

    def _show_marks(self) -> None:
        self.table.set_marks(frozenset(self._mark_set()))  # type: ignore[attr-defined]
        self._update_status()  # type: ignore[attr-defined]

    def action_toggle_mark(self) -> None:
        table = self.table  # type: ignore[attr-defined]
        tid = table.cursor_id
        if tid is None:
            return
        marks = self._mark_set()
        marks.symmetric_difference_update({tid})
        self._show_marks()
        table.action_cursor_down()

    def action_mark_all(self) -> None:
        marks = self._mark_set()
        marks.update(self.table.ids)  # type: ignore[attr-defined]
        self._show_marks()
        self.notify(f"{len(marks):,} tickets marked", markup=False, timeout=2)  # type: ignore[attr-defined]

    def clear_marks(self) -> bool:
        """Clear the marks; False if there were none."""
        marks = self._mark_set()
        if not marks:
            return False
        marks.clear()
        self._show_marks()
        return True

    def marks_status(self) -> str:
        """The status-line part: marks and a bulk run's progress."""
        parts = []
        if self._mark_set():
            parts.append(f"{len(self._mark_set()):,} marked")
        if self._bulk_status:
            parts.append(self._bulk_status)
        return " · ".join(parts)

    def _marked_or_say(self) -> list[int] | None:
        if self._bulk_running:
            self.notify("A bulk action is still running…", markup=False)  # type: ignore[attr-defined]
            return None
        marks = self._mark_set()
        if not marks:
            self.notify(  # type: ignore[attr-defined]
                "Mark tickets first: space marks one, ctrl+a all in the view",
                markup=False,
            )
            return None
        ids = self.table.ids  # type: ignore[attr-defined]
        order = {tid: i for i, tid in enumerate(ids)}
        return sorted(marks, key=lambda t: order.get(t, len(order)))

    # ---------------------------------------------------------------- M: a macro
    def action_bulk_macro(self) -> None:
        ids = self._marked_or_say()
        if ids is not None:
            self._load_bulk_previews(ids)

    @work(thread=True, exclusive=True, group="queue-bulk-preview")
    def _load_bulk_previews(self, ids: list[int]) -> None:
        desk = self.desk  # type: ignore[attr-defined]
        try:
            keys = desk.ticket_keys(ids[:1])
            previews, errors = desk.preview_macros(keys[ids[0]]) if keys else ([], [])
        except UserError as err:
            self.post_message(BulkFailed(str(err)))  # type: ignore[attr-defined]
            return
        self.post_message(MacroPreviewsReady(f"{len(ids)} marked", previews, errors))  # type: ignore[attr-defined]

    def on_macro_previews_ready(self, message: MacroPreviewsReady) -> None:
        if not message.previews:
            self.notify('No macros: see README "Macros"', markup=False)  # type: ignore[attr-defined]
            return
        count = len(self._mark_set())
        picker = MacroPicker(
            f"{count} marked ticket{'s' * (count != 1)}",
            message.previews,
            message.errors,
            how="preview on the first marked ticket; the text is sent as it is, per ticket",
        )

        def chosen(name: str | None) -> None:
            ids = self._marked_or_say()
            if name and ids:
                self._run_bulk(ids, "macro", name)

        self.app.push_screen(picker, chosen)  # type: ignore[attr-defined]

    # ---------------------------------------------------------------- B: claim, assign…
    def action_bulk(self) -> None:
        ids = self._marked_or_say()
        if ids is None:
            return

        def chosen(choice: BulkChoice | None) -> None:
            ids = self._marked_or_say()
            if choice and ids:
                self._run_bulk(ids, choice.action, choice.argument)

        self.app.push_screen(BulkDialog(len(ids)), chosen)  # type: ignore[attr-defined]

    def _run_bulk(self, ids: list[int], action: str, argument: str) -> None:
        self._bulk_running = True
        self._bulk_status = f"{action}: starting…"
        self._update_status()  # type: ignore[attr-defined]
        self._bulk_worker(ids, action, argument)

    @work(thread=True, exclusive=True, group="queue-bulk")
    def _bulk_worker(self, ids: list[int], action: str, argument: str) -> None:
        desk = self.desk  # type: ignore[attr-defined]
        post = self.post_message  # type: ignore[attr-defined]
        try:
            by_id = desk.ticket_keys(ids)
            keys = [by_id[i] for i in ids if i in by_id]
            label = action if action != "macro" else f"macro {argument}"

            def progress(done: int, total: int) -> None:
                if done == total or done % 5 == 0:
                    post(BulkProgress(label, done, total))

            report = _run(desk, action, argument, keys, progress)
        except UserError as err:
            post(BulkFailed(str(err)))
            return
        post(BulkDone(report, {k: i for i, k in by_id.items()}))

    def on_bulk_progress(self, message: BulkProgress) -> None:
        self._bulk_status = f"{message.label}: {message.done}/{message.total}"
        self._update_status()  # type: ignore[attr-defined]

    def on_bulk_failed(self, message: BulkFailed) -> None:
        self._bulk_running = False
        self._bulk_status = ""
        self._update_status()  # type: ignore[attr-defined]
        self.notify(message.error, severity="error", markup=False, timeout=8)  # type: ignore[attr-defined]

    def on_bulk_done(self, message: BulkDone) -> None:
        self._bulk_running = False
        self._bulk_status = ""
        report = message.report
        self.last_bulk_report = report
        marks = self._mark_set()
        marks.difference_update(message.ids[k] for k, _ in report.done if k in message.ids)
        self._show_marks()
        self.notify(  # type: ignore[attr-defined]
            report.summary(),
            severity="warning" if report.refused else "information",
            markup=False,
        )
        if report.refused:
            self.app.push_screen(BulkSummary(report))  # type: ignore[attr-defined]
        self._poll(count_now=True)  # type: ignore[attr-defined]


def _run(desk: Any, action: str, argument: str, keys: list[str], progress: Any) -> BulkReport:
    """The desk's bulk command for ``action`` (``b`` / ``M``)."""
    match action:
        case "macro":
            return desk.bulk_macro(keys, argument, progress=progress)
        case "claim":
            return desk.bulk_claim(keys, progress=progress)
        case "assign":
            return desk.bulk_assign(keys, argument or None, progress=progress)
        case "priority":
            prio, reason = parse_priority_change(argument)
            return desk.bulk_priority(keys, prio, reason, progress=progress)
        case "status":
            return desk.bulk_status(keys, argument, progress=progress)
        case "tags":
            add, remove = parse_tag_changes(argument)
            return desk.bulk_tags(keys, add, remove, progress=progress)
    raise UserError(f"unknown bulk action {action!r}")

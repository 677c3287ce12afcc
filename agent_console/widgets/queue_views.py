"""The queue's view bar: one tab per view with its count and its key; click or press."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static

from agent_console.desk.queue import QueueView


class ViewTab(Static):
    """One view: ``w Working 43``."""

    def __init__(self, view: QueueView) -> None:
        super().__init__(id=f"view-{view.name}", markup=False)
        self.view = view
        self.count: int | None = None
        self.tooltip = f"{view.label} ({view.key}): {view.help}"

    def label(self) -> Text:
        text = Text(no_wrap=True)
        text.append(self.view.key, Style(underline=True, bold=True))
        text.append(f" {self.view.tab} ")
        text.append("…" if self.count is None else f"{self.count:,}", Style(bold=True))
        return text

    def set_count(self, count: int | None) -> None:
        if count != self.count:
            self.count = count
            self.update(self.label())

    def on_mount(self) -> None:
        self.update(self.label())

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(QueueViewBar.ViewChosen(self.view.name))


class QueueViewBar(Horizontal):
    DEFAULT_CSS = """
    QueueViewBar {
        height: 1;
        background: $boost;
    }
    QueueViewBar ViewTab {
        width: auto;
        height: 1;
        padding: 0 1;
        color: $text-muted;
    }
    QueueViewBar ViewTab:hover {
        background: $primary 30%;
    }
    QueueViewBar ViewTab.-active {
        background: $primary;
        color: $text;
        text-style: bold;
    }
    """

    class ViewChosen(Message):
        def __init__(self, view: str) -> None:
            super().__init__()
            self.view = view

    def __init__(self, views: Sequence[QueueView], active: str, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.views = list(views)
        self.active = active

    def compose(self) -> ComposeResult:
        for v in self.views:
            tab = ViewTab(v)
            tab.set_class(v.name == self.active, "-active")
            yield tab

    def set_active(self, view: str) -> None:
        self.active = view
        for tab in self.query(ViewTab):
            tab.set_class(tab.view.name == view, "-active")

    def set_counts(self, counts: Mapping[str, int]) -> None:
        for tab in self.query(ViewTab):
            tab.set_count(counts.get(tab.view.name))

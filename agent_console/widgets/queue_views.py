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

from agent_console.views import QueueView

#: columns of padding around each tab's label
TAB_PADDING = 2


class ViewTab(Static):
    """One view: ``w Working 43``, or ``w 43`` when the bar is narrow (``compact``)."""

    def __init__(self, view: QueueView) -> None:
        super().__init__(id=f"view-{view.name}", markup=False)
        self.view = view
        self.count: int | None = None
        self.compact = False
        self.tooltip = f"{view.label} ({view.key}): {view.help}"

    def label(self, *, compact: bool | None = None) -> Text:
        compact = self.compact if compact is None else compact
        text = Text(no_wrap=True)
        text.append(self.view.key, Style(underline=True, bold=True))
        text.append(" " if compact else f" {self.view.tab} ")
        text.append("…" if self.count is None else f"{self.count:,}", Style(bold=True))
        return text

    def set_count(self, count: int | None) -> None:
        if count != self.count:
            self.count = count
            self.update(self.label())

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
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

    async def set_views(self, views: Sequence[QueueView], active: str) -> None:
        """Show another set of views (views.toml read again), ``active`` highlighted."""
        self.views = list(views)
        self.active = active
        await self.recompose()
        self._fit()

    def set_active(self, view: str) -> None:
        self.active = view
        for tab in self.query(ViewTab):
            tab.set_class(tab.view.name == view, "-active")
        self._fit()

    def set_counts(self, counts: Mapping[str, int]) -> None:
        for tab in self.query(ViewTab):
            tab.set_count(counts.get(tab.view.name))
        self._fit()

    @property
    def compact(self) -> bool:
        """True when the full labels do not fit and the tabs show only key and count."""
        return any(tab.compact for tab in self.query(ViewTab))

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """Full labels (``w Working 109``) when they all fit, else ``w 109`` per view; the
        tooltip keeps the view's name."""
        width = self.size.width
        if not width:
            return
        tabs = list(self.query(ViewTab))

        def cells(tab: ViewTab, compact: bool) -> int:
            return tab.label(compact=compact).cell_len + TAB_PADDING

        full = sum(cells(tab, False) for tab in tabs)
        if full <= width:
            for tab in tabs:
                tab.set_compact(False)
            return
        # narrow: key and count only, but the active view keeps its name when that fits
        short = sum(cells(tab, True) for tab in tabs)
        for tab in tabs:
            active = tab.view.name == self.active
            named = active and short - cells(tab, True) + cells(tab, False) <= width
            tab.set_compact(not named)

    def plain(self) -> str:
        """What the bar shows, as text (tests)."""
        return "  ".join(tab.label().plain for tab in self.query(ViewTab))

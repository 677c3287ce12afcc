"""The knowledge-base results list: plain :class:`KBHit` data in, options out.

Titles and snippets are built as ``rich.text.Text`` — article text is never parsed as markup;
the snippet's «markers» become a highlight style.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from agent_console.kb.search import KBHit
from agent_console.kb.text import snippet_parts
from agent_console.safe_text import one_line

HIGHLIGHT = "bold reverse"


def render_hit(hit: KBHit) -> Text:
    text = Text(no_wrap=False, overflow="fold")
    text.append(one_line(hit.title), style="bold")
    if hit.section:
        text.append("  ·  ")
        text.append(one_line(hit.section), style="dim")
    if hit.snippet:
        text.append("\n")
        for part, highlighted in snippet_parts(hit.snippet):
            text.append(one_line(part), style=HIGHLIGHT if highlighted else "")
    return text


class KBResultList(OptionList):
    """Search results; the option id is the article slug."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.hits: list[KBHit] = []

    def show_hits(self, hits: list[KBHit]) -> None:
        previous = self.selected_hit.slug if self.selected_hit else None
        self.hits = list(hits)
        options: list[Option | None] = []
        for h in self.hits:
            if options:
                options.append(None)  # a rule between results: where one ends is clear
            options.append(Option(render_hit(h), id=h.slug))
        self.set_options(options)
        if self.hits:
            slugs = [h.slug for h in self.hits]
            self.highlighted = slugs.index(previous) if previous in slugs else 0

    @property
    def selected_hit(self) -> KBHit | None:
        index = self.highlighted
        if index is None or not (0 <= index < len(self.hits)):
            return None
        return self.hits[index]

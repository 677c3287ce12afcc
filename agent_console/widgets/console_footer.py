"""The footer of every screen: Textual's :class:`~textual.widgets.Footer`, where a key that
does not fit whole is left out instead of cut, and ``?`` Help always shows with its label.

Textual's footer lays the keys out left to right and cuts whatever passes the right edge:
at 80 columns the queue's footer ended in a bare ``?`` (its "Help" cut; trial). Here the
keys are measured (the footer's own paddings) and those that do not fit whole are dropped
from the right, the help key last and kept — ``?`` lists every key of the screen, and the
command palette offers them all. Below :data:`COMPACT_WIDTH` columns the footer is
compact (less padding), so more keys fit.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: below this many columns the footer drops its paddings
COMPACT_WIDTH = 100
#: the actions whose key is never left out (and any binding described "Help": a screen's
#: own help, such as the metrics screen's ``?``)
KEPT_ACTIONS = frozenset({"help", "app.help"})


def _kept(binding: Binding) -> bool:
    return binding.action in KEPT_ACTIONS or binding.description == "Help"


def key_cells(key_display: str, description: str, *, compact: bool) -> int:
    """The columns one key takes in the footer, its margin included (Textual's CSS:
    ``padding: 0 1`` around the key and ``0 1 0 0`` after the label; compact: no key
    padding, one space before the label and a margin of 1)."""
    from rich.cells import cell_len

    if compact:
        return cell_len(key_display) + 1 + cell_len(description) + 1
    return 1 + cell_len(key_display) + 1 + cell_len(description) + 1


class ConsoleFooter(Footer):
    """A footer whose keys are shown whole or not at all, the help key always."""

    def __init__(self, *, compact: bool | None = None) -> None:
        #: fixed compact style (the ticket screen); None: compact below COMPACT_WIDTH
        self._fixed_compact = compact
        super().__init__(compact=bool(compact))
        self._laid_out_for = -1

    def _width(self) -> int:
        return self.size.width or self.app.size.width

    def on_resize(self, event: events.Resize) -> None:
        width = event.size.width
        if self._fixed_compact is None:
            compact = width < COMPACT_WIDTH
            if compact != self.compact:
                self.compact = compact
        if width != self._laid_out_for and self._bindings_ready:
            self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        width = self._width()
        self._laid_out_for = width
        compact = self.compact
        seen: dict[str, tuple[Binding, bool, str]] = {}
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in seen:
                seen[binding.action] = (binding, enabled, tooltip)
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                palette = found
        # compact: the last key's right margin may touch the palette's border
        budget = width + (1 if compact else 0)
        if palette is not None:
            # docked right with a border and (not compact) a right padding
            budget -= 1 + key_cells(
                self.app.get_key_display(palette[1]), palette[1].description, compact=compact
            ) + (0 if compact else 1)
        kept = [v for v in seen.values() if _kept(v[0])]
        budget -= sum(
            key_cells(self.app.get_key_display(b), b.description, compact=compact)
            for b, _, _ in kept
        )
        shown: list[tuple[Binding, bool, str]] = []
        for value in seen.values():
            binding = value[0]
            if _kept(binding):
                shown.append(value)
                continue
            cells = key_cells(self.app.get_key_display(binding), binding.description, compact=compact)
            if cells > budget:
                budget = -1  # keep the order: nothing after a key that did not fit
                continue
            budget -= cells
            shown.append(value)
        self.styles.grid_size_columns = len(shown)
        for binding, enabled, tooltip in shown:
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if palette is not None:
            _node, binding, enabled, tooltip = palette
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

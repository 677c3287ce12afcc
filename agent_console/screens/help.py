"""``?``: the keys of the screen you came from — its own keys first, in the groups the
screen names (``HELP_GROUPS``: group title → action names), then the generic keys of the
app (screens, palette, help, quit) last."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

GENERIC = "Everywhere"
OTHER = "More keys"


def key_groups(origin: Screen, app: App) -> list[tuple[str, list[tuple[str, str]]]]:  # type: ignore[type-arg]
    """``[(group title, [(key, what it does), …]), …]``: the screen's groups in its order,
    then its other keys, then the app's generic keys. Keys of a focused widget (a text
    box's editing keys, the list's movement keys) are left out unless the footer shows
    them; the editor docked on a screen counts as the screen's."""
    groups: dict[str, str] = {}
    order: list[str] = []
    for title, actions in getattr(origin, "HELP_GROUPS", {}).items():
        order.append(title)
        for action in actions:
            groups[action] = title
    own: dict[str, list[tuple[str, str]]] = {title: [] for title in order}
    generic: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for active in origin.active_bindings.values():
        b: Binding = active.binding
        if not b.description:
            continue
        shown = b.key_display or app.get_key_display(b)
        if (shown, b.description) in seen:
            continue
        node = active.node
        action = b.action.split("(")[0]
        what = describe(b)
        if node is app or isinstance(node, App) or b.action.startswith("app."):
            seen.add((shown, b.description))
            generic.append((shown, what))
            continue
        if node is not origin and action not in groups and not b.show:
            continue  # a focused widget's own keys (text editing, moving)
        seen.add((shown, b.description))
        own.setdefault(groups.get(action, OTHER), []).append((shown, what))
    out = [(title, keys) for title, keys in own.items() if keys]
    if generic:
        out.append((GENERIC, generic))
    return out


def describe(b: Binding) -> str:
    """The longer of the binding's texts: its tooltip without the ``(key)`` at the end."""
    tip = (b.tooltip or "").strip()
    if tip.endswith(")") and "(" in tip:
        tip = tip[: tip.rindex("(")].rstrip()
    return tip or b.description


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, origin: Screen) -> None:
        super().__init__()
        self.origin = origin

    def compose(self) -> ComposeResult:
        default = self.origin.__class__.__name__.removesuffix("Screen")
        name = getattr(self.origin, "HELP_TITLE", "") or default
        with VerticalScroll(id="dialog"):
            yield Static(Text(f"Keys — {name}"), classes="title")
            yield Static(render_groups(key_groups(self.origin, self.app)), id="help-keys")
            yield Static(Text("ctrl+p opens the command palette: every action is there too."))


def render_groups(groups: Iterable[tuple[str, list[tuple[str, str]]]]) -> Table:
    table = Table(box=None, show_header=False, expand=False, padding=(0, 1))
    table.add_column("Key", style="bold cyan", no_wrap=True, min_width=10)
    table.add_column("Action", ratio=None)
    first = True
    for title, keys in groups:
        if not first:
            table.add_row("", "")
        first = False
        table.add_row(Text(title, style="bold underline"), "")
        for key, what in keys:
            table.add_row(Text(key), Text(what))
    return table

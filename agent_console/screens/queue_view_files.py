"""The queue's views as files (issue 16; README "Views"), on the screen: the views in force
(built-ins + the team's ``views.toml``) and their keys, showing a view with the filter and
sort it had, and an edited ``views.toml`` picked up while the console runs (its
modification time looked at on the tick; ``f5``) — in force at once, or one line and the
views in use kept (desk/view_files.py ``reload_view_set``).

:class:`QueueViewsMixin` is mixed into the queue screen (screens/queue.py), which provides
``desk``, ``table``, ``query_state``, ``_load`` and the status line.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual import work
from textual.widgets import Input

from agent_console.desk.view_files import ViewSet, file_stamp, team_views_path
from agent_console.errors import UserError
from agent_console.logs import get_logger
from agent_console.screens.queue_messages import QueueFailed, ViewsReloaded
from agent_console.widgets.queue_views import QueueViewBar


class QueueViewsMixin:
    """The views of the queue screen and their file."""

    views: ViewSet | None
    _views_stamp: tuple[int, int] | None
    _views_checked: float
    _view_states: dict[str, Any]
    query_state: Any

    def view_set(self) -> ViewSet:
        """The views in force, read once (views.toml); their keys are bound on this screen
        and the first view's sort is taken."""
        if self.views is None:
            self._views_stamp = file_stamp(self.views_file)
            self.views = views = self.desk.queue_view_set()
            if self.query_state.view not in views.names:
                self.query_state = self.query_state.with_(view=views.names[0])
            first = views.named(self.query_state.view)
            self.query_state = self.query_state.with_(sort=first.sort)
            for v in views.views:
                if v.key:
                    self._bindings.bind(v.key, f"show_view('{v.name}')", f"View: {v.label}", show=False)
        return self.views

    @property
    def views_file(self) -> Path:
        """The team's views.toml this console reads."""
        return self.desk.views_path or team_views_path()  # type: ignore[no-any-return]

    def check_views_file(self) -> None:
        """Read views.toml again when it changed since it was read (its modification time
        and size; called by the tick every :attr:`views_check_every` seconds)."""
        self._views_checked = time.monotonic()
        if file_stamp(self.views_file) != self._views_stamp:
            self._reload_views_worker(asked=False)

    def action_reload_views(self) -> None:
        """Read views.toml again now (f5, the palette's "Reload views")."""
        self._reload_views_worker(asked=True)

    @work(thread=True, exclusive=True, group="queue-views")
    def _reload_views_worker(self, *, asked: bool) -> None:
        stamp = file_stamp(self.views_file)
        try:
            views = self.desk.reload_queue_views()
        except UserError as exc:  # the database (agent handles) could not be read
            self.post_message(QueueFailed(str(exc), cause=exc))
            return
        self.post_message(ViewsReloaded(views, stamp, asked=asked))

    async def on_views_reloaded(self, message: ViewsReloaded) -> None:
        """A usable file is in force at once (the view bar, its keys, the view shown —
        the first one when the shown view is gone); a bad one is one line, and the views in
        use stay."""
        self._views_stamp = message.stamp
        new = message.views
        if new.error:
            get_logger("agent_console.views").warning("%s", new.error)
            self.notify(new.error, title="Views", severity="warning", timeout=20, markup=False)
            return
        old = self.view_set()
        for v in old.views:
            if v.key:
                self._bindings.key_to_bindings.pop(v.key, None)
        self.views = new
        for v in new.views:
            if v.key:
                self._bindings.bind(v.key, f"show_view('{v.name}')", f"View: {v.label}", show=False)
        self._view_states = {k: q for k, q in self._view_states.items() if k in new.names}
        if self.query_state.view not in new.names:
            first = new.views[0]
            self.query_state = self.query_state.with_(view=first.name, text="", sort=first.sort)
            box = self.query_one("#filter", Input)
            with box.prevent(Input.Changed):
                box.value = ""
        await self.query_one(QueueViewBar).set_views(new.views, self.query_state.view)
        self.table.set_columns(new.named(self.query_state.view).columns)
        self.refresh_bindings()
        self._load()
        changed = [v.name for v in new.views] != [v.name for v in old.views] or new != old
        if changed or message.asked:
            where = Path(new.team_file).name if new.team_file else "the built-ins"
            self.notify(
                f"Views reloaded: {len(new.views)} views ({where})", title="Views", timeout=4
            )

    def action_show_view(self, view: str) -> None:
        """Show ``view``, with the filter text and sort it had when the agent left it."""
        views = self.view_set()
        if view not in views.names:
            return
        self.query_one(QueueViewBar).set_active(view)
        if view != self.query_state.view:
            self._view_states[self.query_state.view] = self.query_state
            shown = views.named(view)
            self.query_state = self._view_states.get(view) or self.query_state.with_(
                view=view, text="", sort=shown.sort
            )
            self.table.set_columns(shown.columns)
            box = self.query_one("#filter", Input)
            if box.value != self.query_state.text:
                if self._filter_timer is not None:
                    self._filter_timer.stop()
                    self._filter_timer = None
                with box.prevent(Input.Changed):
                    box.value = self.query_state.text
            self._load()
        self.table.focus()

    def action_next_view(self, step: int = 1) -> None:
        names = self.view_set().names
        i = names.index(self.query_state.view) if self.query_state.view in names else 0
        self.action_show_view(names[(i + step) % len(names)])

"""Play mode on the queue (issue 16; README "Keys"): ``N`` claims the most urgent unassigned
ticket of my tier (not one open in another console: desk/play.py) and opens it; after a
resolve, an escalation or a move to pending the next one opens by itself; ``escape``
leaves it.

:class:`QueuePlayMixin` is mixed into the queue screen (screens/queue.py), which provides
``desk``, ``_poll``, ``_follow_key`` and the status line.
"""

from __future__ import annotations

from textual import work

from agent_console.errors import UserError
from agent_console.screens.queue_messages import PlayNext, QueueFailed
from agent_console.screens.ticket import TicketScreen


class QueuePlayMixin:
    """Play mode for the queue screen."""

    #: Play mode (``N``): the next ticket opens after a resolve, escalation or pending
    playing: bool = False

    def action_play(self) -> None:
        """``N``: Play mode — claim the most urgent unassigned ticket of my tier (not one
        open in another console) and open it; the next opens after a resolve, an
        escalation or a move to pending (desk/play.py)."""
        self.playing = True
        self._update_status()
        self._play_worker()

    @work(thread=True, exclusive=True, group="queue-claim")
    def _play_worker(self) -> None:
        try:
            key = self.desk.play_next(console=getattr(self.app, "console_id", None))
        except UserError as exc:
            self.post_message(PlayNext(None))
            self.post_message(QueueFailed(str(exc)))
            return
        self.post_message(PlayNext(key))

    def on_play_next(self, message: PlayNext) -> None:
        if not self.playing:
            return
        if message.key is None:
            self.stop_playing("Play mode: nothing left to take in your tier.")
            return
        self._follow_key = message.key
        self._poll(count_now=True)
        self.app.push_screen(TicketScreen(message.key, play=self._played))

    def _played(self, key: str, action: str) -> None:
        """The ticket screen in Play mode: ``action`` done on ``key`` (go on), or
        ``"leave"`` (escape: Play mode ends, the screen closes itself)."""
        if action == "leave":
            self.stop_playing()
            return
        top = self.app.screen
        if isinstance(top, TicketScreen) and top.key == key:
            top.play = None
            self.app.pop_screen()
        self._play_worker()

    def stop_playing(self, why: str = "Play mode off.") -> None:
        self.playing = False
        self._update_status()
        self.notify(why, markup=False, timeout=3)

"""Typed messages the ticket screen's workers post back to it (tests observe them with
``run_test(message_hook=...)``)."""

from __future__ import annotations

from textual.message import Message

from agent_console.desk.agents import AgentInfo
from agent_console.desk.feed import FeedBatch, FeedCursor
from agent_console.desk.presence import Viewer
from agent_console.desk.ticket_view import TicketDetail
from agent_console.screens.ticket_composer import ComposeMode
from agent_console.sla import Explanation


class TicketLoaded(Message):
    """The ticket was read (first load, reload, or after someone else changed it)."""

    def __init__(
        self,
        detail: TicketDetail,
        agents: list[AgentInfo],
        me: AgentInfo | None = None,
        feed: FeedCursor | None = None,
        *,
        drafts: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.detail = detail
        self.agents = agents
        self.me = me
        #: the agent's drafts on the ticket by kind (first load only; None: not read)
        self.drafts = drafts
        #: the change-feed cursor, made by the first load (before the ticket was read)
        self.feed = feed


class TicketSaved(Message):
    """A command went through; ``detail`` is the ticket as it is now."""

    def __init__(
        self, action: str, detail: TicketDetail, summary: str, *, mode: ComposeMode | None = None
    ) -> None:
        super().__init__()
        self.action = action
        #: the editor's mode when the command sent a text from it
        self.mode = mode
        self.detail = detail
        self.summary = summary


class TicketRefused(Message):
    """The desk refused a command (tier rules, missing note, stale version …)."""

    def __init__(
        self, action: str, error: str, *, conflict: bool = False, mode: ComposeMode | None = None
    ) -> None:
        super().__init__()
        self.action = action
        self.error = error
        self.conflict = conflict
        #: the editor's mode when the refused command came from it (its text is kept)
        self.mode = mode


class TicketFailed(Message):
    """The ticket could not be read at all (unknown key, database unavailable)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class StatusPreviewsReady(Message):
    def __init__(self, previews: list[tuple[str, str]]) -> None:
        super().__init__()
        self.previews = previews


class ExplanationReady(Message):
    def __init__(self, explanation: Explanation) -> None:
        super().__init__()
        self.explanation = explanation


class TicketChangedElsewhere(Message):
    """The change feed shows an event on this ticket; ``detail`` is the ticket now (shown
    when it is newer than what the screen shows: its own commands are already there)."""

    def __init__(
        self,
        detail: TicketDetail | None,
        batch: FeedBatch | None = None,
        *,
        error: Exception | None = None,
    ) -> None:
        super().__init__()
        #: the read failed (nothing moves; the app decides whether it is an outage)
        self.error = error
        #: None: the feed had nothing for this ticket (only the cursor moves)
        self.detail = detail
        #: the feed read it came from: the screen's cursor takes its position once shown
        self.batch = batch


class PresenceRead(Message):
    """Who else shows this ticket now (other consoles; typing first)."""

    def __init__(self, viewers: list[Viewer]) -> None:
        super().__init__()
        self.viewers = viewers


# ---------------------------------------------------------------- screen

"""Read models of one ticket — they live in :mod:`agent_console.views` (no SQLAlchemy
there, so widgets can draw them without importing the desk); re-exported here for the
desk modules and callers that import them from their old home."""

from __future__ import annotations

from agent_console.views import (
    ArticleRef,
    AttachmentView,
    EventView,
    MessageView,
    StatusPreview,
    TicketDetail,
    TimerState,
    describe_event,
    iso,
    timer_states,
)

__all__ = [
    "ArticleRef",
    "AttachmentView",
    "EventView",
    "MessageView",
    "StatusPreview",
    "TicketDetail",
    "TimerState",
    "describe_event",
    "iso",
    "timer_states",
]

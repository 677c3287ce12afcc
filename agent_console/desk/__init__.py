"""The application API (services). Screens and the CLI call a :class:`Desk`; it is the only
place that opens sessions and commits, and it enforces who may do what."""

from __future__ import annotations

from agent_console.desk.agents import AgentInfo, AgentsMixin
from agent_console.desk.alerts import AlertRow, AlertsMixin, AlertTick
from agent_console.desk.claims import ClaimsMixin
from agent_console.desk.drafts import DraftInfo, DraftsMixin
from agent_console.desk.feed import FeedBatch, FeedCursor, FeedMixin
from agent_console.desk.importer import ImportMixin, ImportReport
from agent_console.desk.kb import KBMixin
from agent_console.desk.macros import BulkReport, MacroPreview, MacrosMixin
from agent_console.desk.mail_in import MailInMixin
from agent_console.desk.mail_out import MailOutMixin
from agent_console.desk.metrics import MetricsMixin
from agent_console.desk.play import PlayMixin
from agent_console.desk.policy_apply import ApplyReport, PolicyApplyMixin
from agent_console.desk.presence import PresenceMixin, Viewer
from agent_console.desk.queue import QueueMixin
from agent_console.desk.seeding import SeedMixin
from agent_console.desk.tickets import TicketsMixin, TicketSummary
from agent_console.desk.workflow import WorkflowMixin


class Desk(
    MailOutMixin,
    MacrosMixin,
    AlertsMixin,
    SeedMixin,
    ImportMixin,
    MailInMixin,
    TicketsMixin,
    AgentsMixin,
    FeedMixin,
    KBMixin,
    WorkflowMixin,
    QueueMixin,
    ClaimsMixin,
    PolicyApplyMixin,
    DraftsMixin,
    MetricsMixin,
    PresenceMixin,
    PlayMixin,
):
    """Every query and command of Agent Console, each in its own transaction."""


__all__ = [
    "AgentInfo",
    "AlertRow",
    "AlertTick",
    "ApplyReport",
    "BulkReport",
    "Desk",
    "DraftInfo",
    "FeedBatch",
    "FeedCursor",
    "ImportReport",
    "MacroPreview",
    "TicketSummary",
    "Viewer",
]

"""Metrics (issue 13): indexed ranges for the metrics screen and ``agent-console report`` —
tickets opened and resolved in a period, per-metric cycles stopped and breached in a
period, escalation events in a period, and the sender of a ticket's first public reply.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_message_ticket_kind_at",
        "message",
        ["ticket_id", "kind", "created_at", "author_agent_id"],
        unique=False,
    )
    op.create_index("ix_sla_cycle_breached", "sla_cycle", ["breached_at"], unique=False)
    op.create_index(
        "ix_sla_cycle_metric_stopped",
        "sla_cycle",
        ["metric", "stopped_at", "met_at", "ticket_id", "cycle", "elapsed_seconds"],
        unique=False,
    )
    op.create_index("ix_ticket_opened_at", "ticket", ["opened_at", "priority"], unique=False)
    op.create_index(
        "ix_ticket_resolved_at", "ticket", ["resolved_at", "opened_at", "tier"], unique=False
    )
    op.create_index("ix_ticket_event_kind_at", "ticket_event", ["kind", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_ticket_event_kind_at", table_name="ticket_event")
    op.drop_index("ix_ticket_resolved_at", table_name="ticket")
    op.drop_index("ix_ticket_opened_at", table_name="ticket")
    op.drop_index("ix_sla_cycle_metric_stopped", table_name="sla_cycle")
    op.drop_index("ix_sla_cycle_breached", table_name="sla_cycle")
    op.drop_index("ix_message_ticket_kind_at", table_name="message")

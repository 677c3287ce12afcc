"""On call (issue 10): the rota and its overrides, the alert schedule (one row per open
cycle and threshold), fired alerts (once per ticket, metric, cycle, threshold and
namespace), the feed cursor of the alert schedule, and the one outbox for everything
that leaves (webhooks now, mail later).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_cursor",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("gaps", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "oncall_override",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rehearsal", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agent.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["agent.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_oncall_override_level_start", "oncall_override", ["level", "starts_at"], unique=False
    )
    op.create_table(
        "oncall_rota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(), nullable=False),
        sa.Column("handles", sa.JSON(), nullable=False),
        sa.Column("handover_day", sa.Integer(), nullable=False),
        sa.Column("handover_minute", sa.Integer(), nullable=False),
        sa.Column("zone", sa.String(), nullable=False),
        sa.Column("anchor_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["agent.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("level"),
    )
    op.create_table(
        "alert_threshold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.String(), nullable=False),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "metric", "cycle", "threshold", name="uq_alert_threshold"),
    )
    op.create_index("ix_alert_threshold_due", "alert_threshold", ["state", "fire_at"], unique=False)
    op.create_index(
        "ix_alert_threshold_ticket", "alert_threshold", ["ticket_id", "state"], unique=False
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("destination", sa.String(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedup_key", sa.String(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedup_key", name="uq_outbox_dedup"),
    )
    op.create_index(
        "ix_outbox_ready", "outbox", ["sent_at", "failed_at", "available_at"], unique=False
    )
    op.create_table(
        "sla_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.String(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("escalate_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rehearsal", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["agent.id"],
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["ticket.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "ticket_id", "metric", "cycle", "threshold", "rehearsal", name="uq_sla_alert_once"
        ),
    )
    op.create_index("ix_sla_alert_escalate", "sla_alert", ["escalate_at"], unique=False)
    op.create_index(
        "ix_sla_alert_open",
        "sla_alert",
        ["resolved_at", "acknowledged_at", "fired_at"],
        unique=False,
    )
    op.create_index(
        "ix_sla_alert_ticket", "sla_alert", ["ticket_id", "metric", "cycle"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_sla_alert_ticket", table_name="sla_alert")
    op.drop_index("ix_sla_alert_open", table_name="sla_alert")
    op.drop_index("ix_sla_alert_escalate", table_name="sla_alert")
    op.drop_table("sla_alert")
    op.drop_index("ix_outbox_ready", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_alert_threshold_ticket", table_name="alert_threshold")
    op.drop_index("ix_alert_threshold_due", table_name="alert_threshold")
    op.drop_table("alert_threshold")
    op.drop_table("oncall_rota")
    op.drop_index("ix_oncall_override_level_start", table_name="oncall_override")
    op.drop_table("oncall_override")
    op.drop_table("alert_cursor")

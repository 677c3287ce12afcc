"""The ticket clock (issue 9): per-cycle SLA facts and what each ticket's deadlines came from.

- ``sla_cycle``: one row per metric cycle of a ticket.
- ``ticket.sla_fingerprint`` / ``sla_policy`` / ``sla_metric`` / ``sla_clock``, and the queue
  indexes ending with ``sla_clock, sla_policy`` (the urgency group read from the index).

Existing tickets get ``sla_policy`` from their organization's contract here; the other
stamps are left empty and written by the desk right after the upgrade (it recomputes
the open tickets through the ticket clock: ``Desk.restamp_after_upgrade``), since a frozen
revision cannot run the application's clock.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_OLD_QUEUE_INDEXES = {
    "ix_ticket_queue_tier": ["is_open", "tier", "next_due", "priority_level"],
    "ix_ticket_queue_unassigned": [
        "is_open", "tier", "assignee_id", "next_due", "priority_level", "id",
    ],
    "ix_ticket_queue_assignee": ["is_open", "assignee_id", "next_due"],
    "ix_ticket_queue_all": ["is_open", "next_due", "priority_level"],
}
_NEW_QUEUE_INDEXES = {
    "ix_ticket_queue_tier": [
        "is_open", "tier", "next_due", "priority_level", "sla_clock", "sla_policy",
    ],
    "ix_ticket_queue_unassigned": [
        "is_open", "tier", "assignee_id", "next_due", "priority_level", "id",
        "sla_clock", "sla_policy",
    ],
    "ix_ticket_queue_assignee": [
        "is_open", "assignee_id", "next_due", "priority_level", "sla_clock", "sla_policy",
    ],
    "ix_ticket_queue_all": [
        "is_open", "next_due", "priority_level", "sla_clock", "sla_policy", "tier",
        "assignee_id",
    ],
}  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "sla_cycle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("target_seconds", sa.Integer(), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("elapsed_seconds", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "metric", "cycle", name="uq_sla_cycle"),
    )
    op.create_index("ix_sla_cycle_metric_started", "sla_cycle", ["metric", "started_at"])
    op.create_index("ix_sla_cycle_open_due", "sla_cycle", ["stopped_at", "due_at"])
    op.create_index("ix_sla_cycle_ticket_id", "sla_cycle", ["ticket_id"])

    for name, default in (
        ("sla_fingerprint", ""),
        ("sla_policy", "default"),
        ("sla_metric", ""),
        ("sla_clock", ""),
    ):
        op.add_column(
            "ticket", sa.Column(name, sa.String(), nullable=False, server_default=default)
        )
    op.execute(
        "UPDATE ticket SET sla_policy = COALESCE((SELECT NULLIF(o.sla_policy, '') "
        "FROM organization o WHERE o.id = ticket.organization_id), 'default')"
    )
    for name, columns in _NEW_QUEUE_INDEXES.items():
        op.drop_index(name, table_name="ticket")
        op.create_index(name, "ticket", columns)


def downgrade() -> None:
    for name, columns in _OLD_QUEUE_INDEXES.items():
        op.drop_index(name, table_name="ticket")
        op.create_index(name, "ticket", columns)
    with op.batch_alter_table("ticket") as batch_op:
        for name in ("sla_clock", "sla_metric", "sla_policy", "sla_fingerprint"):
            batch_op.drop_column(name)
    op.drop_table("sla_cycle")

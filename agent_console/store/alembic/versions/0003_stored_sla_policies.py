"""Stored, versioned SLA policies; desk-wide events (no ticket) in the event table.

- ``sla_policy_version``: every version of the default policy and of each contract.
- ``ticket_event.ticket_id`` becomes nullable: ``sla apply`` writes one ``policy_applied``
  summary event that concerns no single ticket (README, "Stored policies").

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_policy_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("toml", sa.String(), nullable=False),
        sa.Column("fingerprint", sa.String(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", "version", name="uq_sla_policy_version"),
    )
    with op.batch_alter_table("ticket_event") as batch_op:
        batch_op.alter_column("ticket_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM ticket_event WHERE ticket_id IS NULL")
    with op.batch_alter_table("ticket_event") as batch_op:
        batch_op.alter_column("ticket_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("sla_policy_version")

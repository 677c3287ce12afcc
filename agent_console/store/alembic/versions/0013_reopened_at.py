"""Ticket clock (issues 9/15 audit): ``ticket.reopened_at``, the last reopening — a
reopened ticket's status-update cadence starts a fresh cycle there (sla/clock.py).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ticket", sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("ticket", "reopened_at")

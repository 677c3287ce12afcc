"""Mail operations (issue 14): a failed outbox row can be dismissed (``dismissed_at``: the
header stops counting it) or sent again (``retried_at``: its give-up time counts from
there), by a person, recorded in the ticket's history (desk/mail_out.py).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("retried_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("retried_at")
        batch.drop_column("dismissed_at")

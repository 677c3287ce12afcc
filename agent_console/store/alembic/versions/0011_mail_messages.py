"""E-mail (issue 14): ``mail_message``, every message received or sent by Message-ID
(the thread index and the exactly-once key).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("ticket_message_id", sa.Integer(), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("mailbox", sa.String(length=320), nullable=True),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=True),
        sa.Column("uid", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.ForeignKeyConstraint(["ticket_message_id"], ["message.id"]),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", name="uq_mail_message_id"),
    )
    op.create_index(
        "ix_mail_message_address", "mail_message", ["direction", "address", "created_at"]
    )
    op.create_index("ix_mail_message_ticket", "mail_message", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_mail_message_ticket", table_name="mail_message")
    op.drop_index("ix_mail_message_address", table_name="mail_message")
    op.drop_table("mail_message")

"""Live updates (issue 11): the presence table (``store.models.Presence``), and on
PostgreSQL the trigger that announces every statement inserting events on the channel
``agent_console_feed`` — delivered when the transaction commits, one notification per
transaction (see ``desk/live.py``).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION agent_console_feed_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('agent_console_feed', '');
    RETURN NULL;
END
$$
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER ticket_event_notify AFTER INSERT ON ticket_event
FOR EACH STATEMENT EXECUTE FUNCTION agent_console_feed_notify()
"""


def upgrade() -> None:
    op.create_table(
        "presence",
        sa.Column("console", sa.String(length=40), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("typing_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("console"),
    )
    op.create_index("ix_presence_ticket", "presence", ["ticket_id", "seen_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute("DROP TRIGGER IF EXISTS ticket_event_notify ON ticket_event")
        op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ticket_event_notify ON ticket_event")
        op.execute("DROP FUNCTION IF EXISTS agent_console_feed_notify()")
    op.drop_index("ix_presence_ticket", table_name="presence")
    op.drop_table("presence")

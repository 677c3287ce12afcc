"""Identity (issue 11): who acts, and who wrote each row.

- ``agent.kind`` (person / system / demo), ``agent.db_role`` (PostgreSQL role the agent
  connects as), ``agent.os_user`` (SQLite: the OS user acting as them), each role / user
  at most one agent; the agent ``demo`` of an earlier database becomes kind demo.
- ``ticket_event.actor_role``, ``message.actor_role``: the role (PostgreSQL) or OS user
  (SQLite) that wrote the row.
- System actors (``system:import`` …, agent rows of kind system) are made on first use
  (SQLite) or by the administrator's ``agent add`` / ``agent grant`` (PostgreSQL).
- PostgreSQL: the trigger ``ac_stamp_actor`` on ticket_event and message stamps
  ``actor_role`` with ``current_user`` and refuses a row a plain agent role writes in
  another person's name (only the database owner, a superuser or a lead act on someone's
  behalf). Privileges: ``agent-console agent grant`` (README, "A team on one PostgreSQL").

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

STAMP_ACTOR = """
CREATE OR REPLACE FUNCTION ac_stamp_actor() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    claimed integer;
    me_id integer;
    me_lead boolean;
    is_admin boolean;
BEGIN
    NEW.actor_role := current_user;
    SELECT pg_catalog.pg_has_role(current_user, d.datdba, 'MEMBER') OR r.rolsuper
      INTO is_admin
      FROM pg_catalog.pg_database d, pg_catalog.pg_roles r
     WHERE d.datname = current_database() AND r.rolname = current_user;
    IF is_admin THEN
        RETURN NEW;
    END IF;
    IF TG_TABLE_NAME = 'message' THEN
        claimed := NEW.author_agent_id;
    ELSE
        claimed := NEW.agent_id;
    END IF;
    SELECT id, lead INTO me_id, me_lead FROM agent WHERE db_role = current_user AND active;
    IF me_id IS NULL THEN
        RAISE EXCEPTION 'role % is not an active agent of this desk', current_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF claimed IS NULL OR claimed = me_id OR me_lead
       OR EXISTS (SELECT 1 FROM agent WHERE id = claimed AND kind = 'system') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'role % may not write as another agent (only a lead or the administrator acts on their behalf)', current_user
        USING ERRCODE = 'insufficient_privilege';
END
$fn$
"""


def upgrade() -> None:
    with op.batch_alter_table("agent") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(), nullable=False, server_default="person"))
        batch_op.add_column(sa.Column("db_role", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("os_user", sa.String(), nullable=True))
    op.create_index("uq_agent_db_role", "agent", ["db_role"], unique=True)
    op.create_index("uq_agent_os_user", "agent", ["os_user"], unique=True)
    for table in ("ticket_event", "message"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("actor_role", sa.String(), nullable=True))
    op.execute("UPDATE agent SET kind = 'demo' WHERE handle = 'demo'")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(STAMP_ACTOR)
        for table in ("ticket_event", "message"):
            op.execute(
                f"CREATE TRIGGER ac_stamp_actor BEFORE INSERT ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ac_stamp_actor()"
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in ("ticket_event", "message"):
            op.execute(f"DROP TRIGGER IF EXISTS ac_stamp_actor ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ac_stamp_actor()")
    for table in ("ticket_event", "message"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column("actor_role")
    op.drop_index("uq_agent_os_user", table_name="agent")
    op.drop_index("uq_agent_db_role", table_name="agent")
    with op.batch_alter_table("agent") as batch_op:
        batch_op.drop_column("os_user")
        batch_op.drop_column("db_role")
        batch_op.drop_column("kind")

"""Leads-only tables (issue 11): the database backs the desk's rule that only a lead or the
administrator changes the stored SLA policies (``sla apply``, issue 9) and the on-call rota
and overrides (issue 10).

PostgreSQL: the statement trigger ``ac_leads_only`` on ``sla_policy_version``,
``oncall_rota`` and ``oncall_override`` refuses an INSERT, UPDATE, DELETE or TRUNCATE by a
role that is neither the administrator (the database owner, or a superuser) nor the role of
an active lead (``agent.lead``), with SQLSTATE 42501 (insufficient_privilege). Agent roles
hold INSERT on ``sla_policy_version`` (``agent-console agent grant``: a lead's apply stores
a version) but never UPDATE or DELETE: a stored version is history. SQLite: nothing (the
desk's rules, one machine).

Revision ID: 0012_teamfix
Revises: 0011
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

from alembic import op

revision = "0012_teamfix"
down_revision = "0011"
branch_labels = None
depends_on = None

LEADS_ONLY_TABLES = ("sla_policy_version", "oncall_rota", "oncall_override")

LEADS_ONLY = """
CREATE OR REPLACE FUNCTION ac_leads_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
    is_admin boolean;
    me_lead boolean;
BEGIN
    SELECT pg_catalog.pg_has_role(current_user, d.datdba, 'MEMBER') OR r.rolsuper
      INTO is_admin
      FROM pg_catalog.pg_database d, pg_catalog.pg_roles r
     WHERE d.datname = current_database() AND r.rolname = current_user;
    IF is_admin THEN
        RETURN NULL;
    END IF;
    SELECT lead INTO me_lead FROM agent WHERE db_role = current_user AND active;
    IF coalesce(me_lead, false) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'role % may not change %: only a lead or the administrator does', current_user, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$fn$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(LEADS_ONLY)
    for table in LEADS_ONLY_TABLES:
        op.execute(
            f"CREATE TRIGGER ac_leads_only BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION ac_leads_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in LEADS_ONLY_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS ac_leads_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS ac_leads_only()")

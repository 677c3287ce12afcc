"""Metrics (issue 13): ``metric_rollup`` keyed also by dimension (``dim``: every ticket,
one tier, one organization, one agent) so that the filtered figures read the rollup too,
and holding the escalation figures; the backlog index covers the filters
(``ix_ticket_backlog`` replaces ``ix_ticket_resolved_at``). The table is made anew (its primary key changes); a
database that holds tickets gets the ``_stale`` marker row: its figures come from the raw
rows until the console that upgraded it has rebuilt the rollup
(``Desk.rebuild_metrics_rollup``, run right after the upgrade).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def _make(with_dim: bool) -> None:
    cols = [
        sa.Column("figure", sa.String(length=40), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grp", sa.String(length=20), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    ]
    key = ["figure", "bucket", "grp", "value"]
    if with_dim:
        cols.insert(0, sa.Column("dim", sa.String(length=20), nullable=False))
        key.insert(0, "dim")
    op.create_table("metric_rollup", *cols, sa.PrimaryKeyConstraint(*key))
    has_tickets = op.get_bind().execute(sa.text("SELECT 1 FROM ticket LIMIT 1")).first()
    if has_tickets is None:
        return
    marker = {
        "figure": "_stale",
        "bucket": datetime(1970, 1, 1, tzinfo=UTC),
        "grp": "",
        "value": 0,
        "n": 1,
    }
    table_cols = [
        sa.column("figure", sa.String()),
        sa.column("bucket", sa.DateTime(timezone=True)),
        sa.column("grp", sa.String()),
        sa.column("value", sa.BigInteger()),
        sa.column("n", sa.Integer()),
    ]
    if with_dim:
        table_cols.append(sa.column("dim", sa.String()))
        marker["dim"] = ""
    op.bulk_insert(sa.table("metric_rollup", *table_cols), [marker])


def upgrade() -> None:
    op.drop_table("metric_rollup")
    _make(with_dim=True)
    # the backlog index covers the filters too (organization, assignee); a database
    # whose indexes are already those of this revision keeps them
    have = {i["name"] for i in sa.inspect(op.get_bind()).get_indexes("ticket")}
    if "ix_ticket_resolved_at" in have:
        op.drop_index("ix_ticket_resolved_at", table_name="ticket")
    if "ix_ticket_backlog" not in have:
        op.create_index(
            "ix_ticket_backlog",
            "ticket",
            ["resolved_at", "opened_at", "tier", "organization_id", "assignee_id"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_index("ix_ticket_backlog", table_name="ticket")
    op.create_index(
        "ix_ticket_resolved_at", "ticket", ["resolved_at", "opened_at", "tier"], unique=False
    )
    op.drop_table("metric_rollup")
    _make(with_dim=False)

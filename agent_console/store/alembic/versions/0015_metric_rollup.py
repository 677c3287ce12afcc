"""Metrics (issue 13): ``metric_rollup``, the figures added up per UTC hour / day and kept
current on write (desk/metrics_rollup.py). A database that already holds tickets gets a
``_stale`` marker row: its figures come from the raw rows until the console that
upgraded it has rebuilt the rollup (``Desk.rebuild_metrics_rollup``, run right after the
upgrade).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_rollup",
        sa.Column("figure", sa.String(length=40), nullable=False),
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grp", sa.String(length=20), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("figure", "bucket", "grp", "value"),
    )
    has_tickets = op.get_bind().execute(sa.text("SELECT 1 FROM ticket LIMIT 1")).first()
    if has_tickets is not None:
        rollup = sa.table(
            "metric_rollup",
            sa.column("figure", sa.String()),
            sa.column("bucket", sa.DateTime(timezone=True)),
            sa.column("grp", sa.String()),
            sa.column("value", sa.BigInteger()),
            sa.column("n", sa.Integer()),
        )
        op.bulk_insert(
            rollup,
            [
                {
                    "figure": "_stale",
                    "bucket": datetime(1970, 1, 1, tzinfo=UTC),
                    "grp": "",
                    "value": 0,
                    "n": 1,
                }
            ],
        )


def downgrade() -> None:
    op.drop_table("metric_rollup")

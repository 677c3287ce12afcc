"""Keep release 0.1.0 consoles out of a database migrated by Alembic.

Release 0.1.0 reads ``schema_version`` and refuses a version above 2 ("newer than this
console: upgrade agent-console"); without this row it would take an Alembic-managed database
for an empty one. The row is written on new databases too.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Released revisions are frozen: never edit one, add a new revision.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_schema_version = sa.table(
    "schema_version",
    sa.column("id", sa.Integer()),
    sa.column("version", sa.Integer()),
    sa.column("applied_at", sa.DateTime(timezone=True)),
)


def _set(version: int) -> None:
    conn = op.get_bind()
    now = datetime.now(UTC)
    if conn.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # stored naive UTC on SQLite, like UTCDateTime
    t = _schema_version
    if conn.execute(sa.select(t.c.id).where(t.c.id == 1)).first() is None:
        conn.execute(t.insert().values(id=1, version=version, applied_at=now))
    else:
        conn.execute(t.update().where(t.c.id == 1).values(version=version, applied_at=now))


def upgrade() -> None:
    _set(3)


def downgrade() -> None:
    _set(2)

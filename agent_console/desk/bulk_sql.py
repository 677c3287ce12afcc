"""Bulk writes straight through the database driver, for the writers that touch hundreds
of thousands of rows in one command (``sla apply``, an import's updates, the metrics
rollup's upserts): SQLAlchemy's per-row parameter handling of an executemany costs more
than the database's work there. The columns' own bind processors are still applied (UTC
instants stored as each database stores them, text made NUL-safe), so a row written here
reads back exactly as one written through SQLAlchemy; the statements run in the caller's
session and transaction, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session

__all__ = ["driver_executemany", "update_by_id"]


def _bind_processor(type_: Any, dialect: Any) -> Any:
    """The column type's value conversion on this database, as SQLAlchemy applies it."""
    return type_.dialect_impl(dialect).bind_processor(dialect)


def driver_executemany(
    session: Session, table: Any, sql: str, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Run ``sql`` once per row of ``rows`` (one driver executemany, the caller's
    transaction): ``sql`` has ``{}`` where each placeholder goes (the driver's: ``?`` on
    SQLite, ``%s`` on PostgreSQL), ``names`` the columns of ``table`` bound in order,
    whose bind processors are applied here. Raises what the driver raises (wrapped by
    SQLAlchemy as ``DBAPIError``)."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    text = sql.replace("{}", "?" if dialect.paramstyle == "qmark" else "%s")
    procs = [
        (k, p)
        for k, p in enumerate(_bind_processor(table.c[name].type, dialect) for name in names)
        if p is not None
    ]
    params: list[tuple[Any, ...]] = []
    if procs:
        for row in rows:
            values = list(row)
            for k, p in procs:
                values[k] = p(values[k])
            params.append(tuple(values))
    else:
        params = [tuple(r) for r in rows]
    connection.exec_driver_sql(text, params)


def update_by_id(
    session: Session, table: Any, rows: Sequence[Mapping[str, Any]], id_key: str
) -> None:
    """``UPDATE <table> SET <columns> WHERE id = <row[id_key]>`` for every row of
    ``rows`` (dicts that all set the columns of the first, besides ``id_key``), one
    :func:`driver_executemany`."""
    if not rows:
        return
    names = [k for k in rows[0] if k != id_key]
    sql = (
        f"UPDATE {table.name} SET "
        + ", ".join(f"{n} = {{}}" for n in names)
        + " WHERE id = {}"
    )
    driver_executemany(
        session, table, sql, [*names, "id"], [(*(r[n] for n in names), r[id_key]) for r in rows]
    )

"""Metrics: SQL building blocks shared by the raw queries and the rollup reads — the same
SQL (and figures) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, false, func, null, or_, select

__all__ = [
    "Span",
    "bucket_of",
    "percentiles",
    "seconds_between",
    "shown_sql",
    "within",
]

#: a half-open range of instants ``[start, end)`` (aware UTC)
Span = tuple[datetime, datetime]


def within(col: Any, spans: Sequence[Span]) -> ColumnElement[bool]:
    """``col`` falls in one of ``spans`` (half-open); false for no span."""
    if not spans:
        return false()
    return or_(*[and_(col >= a, col < b) for a, b in spans])


def shown_sql(col: Any) -> ColumnElement[Any]:
    """SQL of :func:`~agent_console.desk.metrics_figures.shown_seconds`: whole seconds
    under an hour, whole minutes (rounded down) from an hour."""
    return case((col < 3600, col), else_=col - col % 60)


def percentiles(value: ColumnElement[Any], keys: Sequence[ColumnElement[Any]], source: Any) -> Any:
    """``SELECT keys..., total, n, p50, p90 FROM source GROUP BY keys``: per group the rows
    (``total``), the non-NULL values (``n``) and their nearest-rank percentiles, with
    window functions — the same SQL and figures on SQLite and PostgreSQL (NULLs are
    ordered last explicitly: the two order them differently by default)."""
    ranked = (
        select(
            *[k.label(f"k{i}") for i, k in enumerate(keys)],
            value.label("v"),
            func.row_number()
            .over(partition_by=list(keys), order_by=(case((value.is_(None), 1), else_=0), value))
            .label("rn"),
            func.count(value).over(partition_by=list(keys)).label("n"),
        )
        .select_from(source)
        .subquery()
    )
    ks = [ranked.c[f"k{i}"] for i in range(len(keys))]
    valued = ranked.c.v.is_not(None)
    return select(
        *ks,
        func.count().label("total"),
        func.max(ranked.c.n).label("n"),
        func.min(case((and_(valued, ranked.c.rn * 100 >= ranked.c.n * 50), ranked.c.v))).label(
            "p50"
        ),
        func.min(case((and_(valued, ranked.c.rn * 100 >= ranked.c.n * 90), ranked.c.v))).label(
            "p90"
        ),
    ).group_by(*ks)


def seconds_between(later: Any, earlier: Any, dialect: str) -> ColumnElement[Any]:
    """Whole seconds from ``earlier`` to ``later`` (two timestamp expressions)."""
    if dialect == "sqlite":
        diff = (func.julianday(later) - func.julianday(earlier)) * 86400.0
    else:
        diff = func.extract("epoch", later - earlier)
    return cast(func.round(diff), Integer)


def bucket_of(col: Any, bounds: Sequence[datetime]) -> ColumnElement[Any]:
    """The index of the half-open bucket ``[bounds[i], bounds[i+1])`` holding ``col``."""
    return case(*[(col < b, i) for i, b in enumerate(bounds[1:])], else_=null())


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _aware(value: Any, conv: Any, dialect: Any) -> datetime:
    """A coalesced instant read back from a raw expression (SQLite returns a string)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return conv(value, dialect)  # type: ignore[no-any-return]

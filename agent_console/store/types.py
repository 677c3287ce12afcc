"""Column types shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, String, Table, Text, Unicode, UnicodeText, event
from sqlalchemy.types import TypeDecorator
from sqlmodel.sql.sqltypes import AutoString

#: what a NUL character in text becomes in storage (issue 15)
NUL_REPLACEMENT = "\ufffd"


def replace_nul(value: str) -> str:
    """``value`` with every NUL (U+0000) replaced by U+FFFD REPLACEMENT CHARACTER."""
    return value.replace("\x00", NUL_REPLACEMENT) if "\x00" in value else value


class SafeText(TypeDecorator[str]):
    """Text stored the same way on every backend: a NUL character becomes U+FFFD.

    PostgreSQL refuses NUL in text ("A string literal cannot contain NUL"); SQLite keeps it.
    Replacing it here, in the one place every write passes (ORM and bulk Core statements
    alike, from import, mail, seed or a screen), makes a body with a NUL import, arrive and
    read back identically on both (issue 15: "mail can never be refused for one").
    Every plain string column of every table gets this type (:func:`_nul_safe_column`)."""

    impl = AutoString
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:  # type: ignore[override]
        if isinstance(value, str) and "\x00" in value:
            return value.replace("\x00", NUL_REPLACEMENT)
        return value

    def bind_processor(self, dialect):  # type: ignore[no-untyped-def]
        """One plain function per value (bulk inserts bind millions of strings): the
        generic TypeDecorator wrapper costs a second call per value."""
        inner = self.impl_instance.bind_processor(dialect)
        if inner is None:
            return _nul_to_fffd
        return lambda value: inner(_nul_to_fffd(value))


def _nul_to_fffd(value: object) -> object:
    if value.__class__ is str and "\x00" in value:  # type: ignore[operator]
        return value.replace("\x00", NUL_REPLACEMENT)  # type: ignore[union-attr]
    if isinstance(value, str) and "\x00" in value:  # a str subclass (StrEnum)
        return str(value).replace("\x00", NUL_REPLACEMENT)
    return value


class SafeLongText(SafeText):
    """:class:`SafeText` for ``Text`` columns (unbounded, ``TEXT`` in DDL)."""

    impl = Text
    cache_ok = True


_PLAIN_STRING_TYPES = {AutoString: SafeText, String: SafeText, Unicode: SafeText}
_PLAIN_TEXT_TYPES = {Text: SafeLongText, UnicodeText: SafeLongText}


@event.listens_for(Column, "after_parent_attach")
def _nul_safe_column(column: Column, parent: object) -> None:  # type: ignore[type-arg]
    """Give every plain string column of every table :class:`SafeText` (tables added later,
    by anyone, included); enums, JSON and other types are left alone."""
    if not isinstance(parent, Table):
        return
    kind = type(column.type)
    swap = _PLAIN_STRING_TYPES.get(kind) or _PLAIN_TEXT_TYPES.get(kind)
    if swap is not None:
        column.type = swap(length=getattr(column.type, "length", None))


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC instants on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no zone, so instants are stored as naive
    UTC and come back aware. A naive datetime handed in is refused: it would be ambiguous.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: "no running deadline" — sorts after every real instant (a paused or finished ticket).
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)

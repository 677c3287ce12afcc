"""The instants the SLA engine computes exactly: 1900-01-01 to 2199-12-31 (UTC).

One home for the range so that the engine, the CLI (``sla due``) and the importer refuse
the same instants with the same words. (ticket clock issue: "instants from 1900-01-01 to
2199-12-31 are computed exactly; an instant outside that range is a one-line error naming
the field".)
"""

from __future__ import annotations

from datetime import UTC, datetime

from agent_console.sla.errors import PolicyError

#: first supported instant (inclusive), aware UTC
SUPPORTED_FIRST = datetime(1900, 1, 1, tzinfo=UTC)
#: end of the supported range (exclusive): 2199-12-31 is the last supported day
SUPPORTED_END = datetime(2200, 1, 1, tzinfo=UTC)


class OutOfRange(PolicyError):
    """An instant outside :data:`SUPPORTED_FIRST` … :data:`SUPPORTED_END` (exit 2 in the CLI)."""


def check_supported(instant: datetime, field: str) -> datetime:
    """Return ``instant`` unchanged, or raise :class:`OutOfRange` naming ``field``.

    ``instant`` must be timezone-aware. The message reads
    ``opened_at 1899-12-31T23:00:00+00:00 is outside the supported range 1900-01-01 to
    2199-12-31 (UTC)``."""
    if instant.tzinfo is None:
        raise PolicyError(f"{field} {instant.isoformat()} has no time zone (add +00:00 or Z)")
    if not (SUPPORTED_FIRST <= instant < SUPPORTED_END):
        raise OutOfRange(
            f"{field} {instant.isoformat()} is outside the supported range "
            "1900-01-01 to 2199-12-31 (UTC)"
        )
    return instant

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


#: the engine's own window, wider than the supported range so that a deadline computed
#: from an instant on 2199-12-31 (it may fall in 2200) can be fed back (time left,
#: explanations), and business time can be subtracted from 1900-01-01: local years
#: ENGINE_FIRST_YEAR to ENGINE_LAST_YEAR. Outside it the engine raises :class:`OutOfRange`
#: instead of clamping (which answered a deadline a year late) or overflowing.
ENGINE_FIRST_YEAR = 1800
ENGINE_LAST_YEAR = 2300
_ENGINE_LO = datetime(ENGINE_FIRST_YEAR + 1, 1, 1, tzinfo=UTC).timestamp()
_ENGINE_HI = datetime(ENGINE_LAST_YEAR, 1, 1, tzinfo=UTC).timestamp()


def check_engine_epoch(t: float, field: str = "instant") -> None:
    """Raise :class:`OutOfRange` if epoch second ``t`` is outside the engine's window (a
    year inside :data:`ENGINE_FIRST_YEAR` … :data:`ENGINE_LAST_YEAR` in every zone)."""
    if not (_ENGINE_LO <= t < _ENGINE_HI):
        try:
            shown = datetime.fromtimestamp(t, UTC).isoformat()
        except (OverflowError, ValueError, OSError):
            shown = f"(epoch second {t:.0f})"
        raise OutOfRange(
            f"{field} {shown} is outside the supported range 1900-01-01 to 2199-12-31 (UTC)"
        )

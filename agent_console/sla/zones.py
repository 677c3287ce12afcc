"""Zone abbreviations for display: ``ET`` rather than ``EST``/``EDT`` (one rule for every
screen, the CLI and the status preview)."""

from __future__ import annotations

from datetime import datetime

# generic abbreviations for the North-American zones ("due Mon 11:12 ET")
_GENERIC = {
    "EST": "ET",
    "EDT": "ET",
    "CST": "CT",
    "CDT": "CT",
    "MST": "MT",
    "MDT": "MT",
    "PST": "PT",
    "PDT": "PT",
}


def zone_abbrev(local: datetime) -> str:
    """The zone name of an aware local time, generic for North America (``ET``)."""
    name = local.tzname() or ""
    return _GENERIC.get(name, name)

"""Shared bits of the SLA tests."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from agent_console.sla import Policy, parse_policy

NY = ZoneInfo("America/New_York")
H = 3600

BASE = {
    "timezone": "America/New_York",
    "holidays": ["2026-11-26", "2026-12-25"],
    "business_hours": {d: ["09:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "maintenance": [{"days": ["mon", "fri"], "start": "00:00", "end": "05:00"}],
    "priority": {
        "critical": {
            "level": 1,
            "clock": "calendar",
            "first_response": "2h",
            "status_update": "1h",
            "resolution": "8h",
        },
        "urgent": {
            "level": 2,
            "clock": "business",
            "first_response": "4h",
            "status_update": "9h",
            "resolution": "45h",
        },
        "minor": {
            "level": 3,
            "clock": "business",
            "first_response": "8h",
            "status_update": "45h",
            "resolution": "45h",
        },
    },
}


def ny(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=NY)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def policy_with_hours(hours: dict, holidays: list | None = None) -> Policy:
    data = copy.deepcopy(BASE)
    data["business_hours"] = hours
    data["holidays"] = holidays or []
    return parse_policy(data, "mem.toml", "test")

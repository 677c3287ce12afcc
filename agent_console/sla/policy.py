"""Support policies: a business calendar plus per-priority clocks and targets.

A policy is loaded from TOML (format documented in the README and in ``data/sla.toml``)
and validated strictly: every problem names the file, the key and the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent_console.sla.calendar import (
    DAY_NAMES,
    BusinessCalendar,
    BusinessState,
    MaintenanceRule,
    SpecialDay,
    require_aware,
)
from agent_console.sla.durations import parse_duration, whole_seconds
from agent_console.sla.errors import PolicyError
from agent_console.sla.range import check_engine_epoch

CALENDAR = "calendar"
BUSINESS = "business"
CLOCKS = (CALENDAR, BUSINESS)
PRIORITY_NAMES: tuple[str, ...] = ("critical", "urgent", "minor")
DEFAULT_POLICY_NAME = "default"

_TOP_KEYS = {
    "name",
    "description",
    "timezone",
    "holidays",
    "holiday_country",
    "holiday_subdiv",
    "business_hours",
    "maintenance",
    "priority",
    "alerts",
    "special_days",
}
_PRIORITY_KEYS = {
    "level",
    "clock",
    "first_response",
    "status_update",
    "resolution",
    "label",
    "status_update_pauses",
    "update_warning",
}
_ALERT_KEYS = {"thresholds"}
#: alert thresholds (fractions of a target elapsed) when a policy has no ``[alerts]`` table:
#: 50 %, 80 % and 100 % (the on-call issue's defaults)
DEFAULT_ALERT_THRESHOLDS: tuple[float, ...] = (0.5, 0.8, 1.0)
_MAINT_KEYS = {"days", "start", "end", "name"}
_SPECIAL_KEYS = {"date", "hours", "name"}
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class PriorityTarget:
    """One priority's clock and targets, in seconds on that clock."""

    name: str
    level: int
    clock: str  # "calendar" | "business"
    first_response: int
    status_update: int
    resolution: int
    label: str = ""
    #: ``status_update_pauses = true``: the periodic update clock stops while the ticket
    #: waits on the customer and resumes with the time that was left (Zendesk's pausable
    #: update); False (default): the update cadence runs on regardless
    status_update_pauses: bool = False
    #: ``update_warning = "15m"``: also alert this many seconds (on the priority's clock)
    #: before each periodic update falls due; None = no such alert
    update_warning: int | None = None

    @property
    def business(self) -> bool:
        return self.clock == BUSINESS


class Policy:
    """An immutable support policy. All methods take aware datetimes, return aware UTC
    datetimes, and never read the clock."""

    __slots__ = (
        "name",
        "timezone",
        "tz",
        "priorities",
        "source",
        "description",
        "calendar",
        "fingerprint",
        "alert_thresholds",
        "_lookup",
    )

    name: str
    timezone: str
    tz: ZoneInfo
    priorities: Mapping[str, PriorityTarget]
    source: str
    description: str
    calendar: BusinessCalendar
    #: sha256 hex of the policy's content (name + parsed document, key order and comments
    #: ignored): stored on each ticket beside the deadlines it produced (DESIGN.md Storage)
    fingerprint: str
    #: when to alert, as fractions of a target elapsed, ascending and unique, each in
    #: (0, 1]; from the ``[alerts]`` table, default :data:`DEFAULT_ALERT_THRESHOLDS`
    alert_thresholds: tuple[float, ...]

    def __init__(
        self,
        name: str,
        calendar: BusinessCalendar,
        priorities: Mapping[str, PriorityTarget],
        source: str = "<policy>",
        description: str = "",
        fingerprint: str = "",
        alert_thresholds: tuple[float, ...] = DEFAULT_ALERT_THRESHOLDS,
    ) -> None:
        lookup: dict[object, PriorityTarget] = {}
        for key, target in priorities.items():
            for alias in (
                key,
                key.upper(),
                key.capitalize(),
                target.level,
                str(target.level),
                f"p{target.level}",
                f"P{target.level}",
            ):
                lookup.setdefault(alias, target)
        sets = object.__setattr__
        sets(self, "name", name)
        sets(self, "timezone", calendar.timezone)
        sets(self, "tz", calendar.tz)
        sets(self, "priorities", MappingProxyType(dict(priorities)))
        sets(self, "source", source)
        sets(self, "description", description)
        sets(self, "calendar", calendar)
        sets(
            self,
            "fingerprint",
            fingerprint
            or _fingerprint(
                name,
                {
                    "timezone": calendar.timezone,
                    "priorities": {k: repr(v) for k, v in priorities.items()},
                    "alert_thresholds": list(alert_thresholds),
                },
            ),
        )
        sets(self, "alert_thresholds", tuple(float(x) for x in alert_thresholds))
        sets(self, "_lookup", lookup)

    def __setattr__(self, key: str, value: object) -> None:
        raise AttributeError("Policy is immutable")

    def __repr__(self) -> str:
        return f"Policy({self.name!r}, {self.timezone!r}, source={self.source!r})"

    # -------------------------------------------------------------- priorities
    def target(self, priority: str | int) -> PriorityTarget:
        """The target of ``"critical"``/``"urgent"``/``"minor"`` (or ``"1"``, ``"2"``,
        ``"3"``, ``"P1"``…)."""
        found = self._lookup.get(priority)
        if found is None:
            if isinstance(priority, str):
                found = self._lookup.get(priority.strip().lower())
            if found is None:
                known = ", ".join(
                    f"{t.name} ({t.level})"
                    for t in sorted(self.priorities.values(), key=lambda t: t.level)
                )
                raise PolicyError(f"{self.source}: unknown priority {priority!r} (known: {known})")
        return found

    # -------------------------------------------------------------- clocks
    def add(self, priority: str, start: datetime, seconds: int | float) -> datetime:
        """``start`` plus ``seconds`` on the priority's clock (UTC). A business target
        reached exactly at closing is that closing instant."""
        target = self._lookup.get(priority) or self.target(priority)
        if target.clock == BUSINESS:
            return self.calendar.add(start, seconds)
        if start.tzinfo is None:
            require_aware(start, "start")
        check_engine_epoch(start.timestamp(), "start")
        # via UTC: aware arithmetic in a ZoneInfo zone would be wall-clock arithmetic
        return start.astimezone(UTC) + timedelta(seconds=seconds)

    def elapsed(self, priority: str, start: datetime, end: datetime) -> int:
        """Seconds on the priority's clock from ``start`` to ``end`` (negative if
        ``end`` is earlier), whole seconds rounded half away from zero (0.5 s → 1 s,
        -0.5 s → -1 s: :func:`~agent_console.sla.durations.whole_seconds`)."""
        target = self._lookup.get(priority) or self.target(priority)
        if target.clock == BUSINESS:
            return self.calendar.elapsed(start, end)
        if start.tzinfo is None:
            require_aware(start, "start")
        if end.tzinfo is None:
            require_aware(end, "end")
        return whole_seconds(end.timestamp() - start.timestamp())

    def is_running(self, priority: str, at: datetime) -> bool:
        """Is the priority's clock running at ``at``? (calendar: always)."""
        target = self._lookup.get(priority) or self.target(priority)
        if target.clock == BUSINESS:
            return self.calendar.is_open(at)
        if at.tzinfo is None:
            require_aware(at, "at")
        return True

    # epoch-second versions, for the deadline arithmetic
    def add_epoch(self, target: PriorityTarget, t: float, seconds: float) -> float:
        if target.clock == BUSINESS and seconds > 0:
            return self.calendar.add_epoch(t, seconds)
        if target.clock == BUSINESS:
            if seconds == 0:
                return t
            return self.calendar.add(datetime.fromtimestamp(t, UTC), seconds).timestamp()
        return t + seconds

    def elapsed_epoch(self, target: PriorityTarget, t0: float, t1: float) -> float:
        if target.clock == BUSINESS:
            return self.calendar.elapsed_epoch(t0, t1)
        return t1 - t0

    # -------------------------------------------------------------- calendar
    def is_open(self, at: datetime) -> bool:
        return self.calendar.is_open(at)

    def next_open(self, at: datetime) -> datetime:
        return self.calendar.next_open(at)

    def next_close(self, at: datetime) -> datetime:
        return self.calendar.next_close(at)

    def business_state(self, at: datetime) -> BusinessState:
        return self.calendar.business_state(at)

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return self.calendar.open_intervals(start, end)

    def maintenance_windows(
        self, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        return self.calendar.maintenance_windows(start, end)

    def active_or_next_maintenance(
        self, at: datetime, within: timedelta
    ) -> tuple[datetime, datetime] | None:
        return self.calendar.active_or_next_maintenance(at, within)

    def holiday_name(self, day: date) -> str | None:
        return self.calendar.holiday_name(day)


# ---------------------------------------------------------------------- parsing
def _fingerprint(name: str, data: Mapping[str, Any]) -> str:
    """sha256 hex of ``name`` and the parsed document in a canonical JSON form."""
    canonical = json.dumps(
        {"name": name, "policy": data}, sort_keys=True, default=str, ensure_ascii=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, reason: str) -> PolicyError:
        return PolicyError(f"{self.source}: {key}: {reason}" if key else f"{self.source}: {reason}")

    def check_keys(self, table: Mapping[str, Any], allowed: set[str], key: str) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            where = f"{key}.{unknown[0]}" if key else unknown[0]
            raise self.fail(where, f"unknown key (known: {', '.join(sorted(allowed))})")


def _parse_time(ctx: _Ctx, key: str, value: Any) -> int:
    if not isinstance(value, str):
        raise ctx.fail(key, f'expected a time "HH:MM", got {value!r}')
    m = _TIME_RE.fullmatch(value.strip())
    if not m:
        raise ctx.fail(key, f'bad time {value!r} (expected "HH:MM", e.g. "09:00")')
    h, mi = int(m.group(1)), int(m.group(2))
    if mi > 59 or h > 24 or (h == 24 and mi):
        raise ctx.fail(key, f"bad time {value!r} (00:00–24:00)")
    return h * 60 + mi


def _fmt_minutes(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def _parse_span(ctx: _Ctx, key: str, value: Any) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ctx.fail(key, f'expected ["HH:MM", "HH:MM"], got {value!r}')
    start = _parse_time(ctx, key, value[0])
    end = _parse_time(ctx, key, value[1])
    if end < start:
        raise ctx.fail(
            key,
            f"end {_fmt_minutes(end)} is before start {_fmt_minutes(start)}"
            " (split a window that crosses midnight into two days)",
        )
    if end == start:
        raise ctx.fail(key, f"empty interval {_fmt_minutes(start)}–{_fmt_minutes(end)}")
    return start, end


def _parse_day(ctx: _Ctx, key: str, value: Any) -> tuple[tuple[int, int], ...]:
    if value in ([], "closed"):
        return ()
    if not isinstance(value, list):
        raise ctx.fail(key, f'expected ["09:00", "18:00"] or a list of intervals, got {value!r}')
    if all(isinstance(v, str) for v in value):
        spans = [_parse_span(ctx, key, value)]
    else:
        spans = [_parse_span(ctx, f"{key}[{i}]", v) for i, v in enumerate(value)]
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s < merged[-1][1]:
            ps, pe = merged[-1]
            raise ctx.fail(
                key,
                f"intervals {_fmt_minutes(ps)}–{_fmt_minutes(pe)} and "
                f"{_fmt_minutes(s)}–{_fmt_minutes(e)} overlap",
            )
        if merged and s == merged[-1][1]:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return tuple(merged)


def _parse_date(ctx: _Ctx, key: str, value: Any) -> date:
    if isinstance(value, datetime):
        raise ctx.fail(key, f"expected a date, got a date-time {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ctx.fail(key, f'bad date {value!r} (expected "YYYY-MM-DD")')


def _parse_holidays(ctx: _Ctx, value: Any) -> dict[date, str]:
    if not isinstance(value, list):
        raise ctx.fail("holidays", "expected a list of dates")
    out: dict[date, str] = {}
    for i, item in enumerate(value):
        key = f"holidays[{i}]"
        if isinstance(item, dict):
            ctx.check_keys(item, {"date", "name"}, key)
            if "date" not in item:
                raise ctx.fail(key, "missing date")
            day = _parse_date(ctx, f"{key}.date", item["date"])
            name = item.get("name", "holiday")
            if not isinstance(name, str) or not name.strip():
                raise ctx.fail(f"{key}.name", "expected a non-empty string")
        else:
            day = _parse_date(ctx, key, item)
            name = "holiday"
        out[day] = name.strip()
    return out


def _parse_days(ctx: _Ctx, key: str, value: Any) -> frozenset[int]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ctx.fail(key, f'expected a list of days like ["mon", "fri"], got {value!r}')
    days = set()
    for item in value:
        name = item.strip().lower() if isinstance(item, str) else item
        if name not in DAY_NAMES:
            raise ctx.fail(key, f"unknown day {item!r} (use {', '.join(DAY_NAMES)})")
        days.add(DAY_NAMES.index(name))
    return frozenset(days)


def _parse_maintenance(ctx: _Ctx, value: Any) -> tuple[MaintenanceRule, ...]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ctx.fail("maintenance", "expected [[maintenance]] tables")
    rules = []
    for i, item in enumerate(value):
        key = f"maintenance[{i}]"
        if not isinstance(item, dict):
            raise ctx.fail(key, "expected a table with days, start and end")
        ctx.check_keys(item, _MAINT_KEYS, key)
        for required in ("days", "start", "end"):
            if required not in item:
                raise ctx.fail(f"{key}.{required}", "missing")
        days = _parse_days(ctx, f"{key}.days", item["days"])
        start, end = _parse_span(ctx, key, [item["start"], item["end"]])
        name = item.get("name", "maintenance")
        if not isinstance(name, str):
            raise ctx.fail(f"{key}.name", "expected a string")
        rules.append(MaintenanceRule(days, start, end, name))
    return tuple(rules)


def _parse_special_days(ctx: _Ctx, value: Any) -> dict[date, SpecialDay]:
    """``[[special_days]]`` tables: ``date``, ``hours`` (like a business_hours day; ``[]``
    = closed) and an optional ``name``. A date may appear once."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ctx.fail("special_days", "expected [[special_days]] tables with date and hours")
    out: dict[date, SpecialDay] = {}
    for i, item in enumerate(value):
        key = f"special_days[{i}]"
        if not isinstance(item, dict):
            raise ctx.fail(key, 'expected a table: date = "2026-12-24", hours = ["09:00", "12:00"]')
        ctx.check_keys(item, _SPECIAL_KEYS, key)
        for required in ("date", "hours"):
            if required not in item:
                hint = ' (e.g. ["09:00", "12:00"], or [] for closed)' if required == "hours" else ""
                raise ctx.fail(f"{key}.{required}", f"missing{hint}")
        day = _parse_date(ctx, f"{key}.date", item["date"])
        spans = _parse_day(ctx, f"{key}.hours", item["hours"])
        name = item.get("name", "special day")
        if not isinstance(name, str) or not name.strip():
            raise ctx.fail(f"{key}.name", "expected a non-empty string")
        if day in out:
            raise ctx.fail(f"{key}.date", f"{day.isoformat()} is listed twice in special_days")
        out[day] = SpecialDay(spans, name.strip())
    return out


def _parse_duration(ctx: _Ctx, key: str, value: Any, clock: str) -> int:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ctx.fail(key, str(exc)) from None
    if seconds <= 0:
        raise ctx.fail(key, "must be longer than zero")
    if clock == BUSINESS and isinstance(value, str) and "d" in value.lower():
        raise ctx.fail(
            key,
            f'days are ambiguous on a business clock; write business hours (e.g. "45h"), got {value!r}',
        )
    return seconds


def _parse_priority(ctx: _Ctx, name: str, value: Any) -> PriorityTarget:
    key = f"priority.{name}"
    if not isinstance(value, dict):
        raise ctx.fail(key, "expected a table")
    ctx.check_keys(value, _PRIORITY_KEYS, key)
    for required in ("level", "clock", "first_response", "status_update", "resolution"):
        if required not in value:
            raise ctx.fail(f"{key}.{required}", "missing")
    level = value["level"]
    if isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise ctx.fail(f"{key}.level", f"expected a positive integer, got {level!r}")
    clock = value["clock"]
    if clock not in CLOCKS:
        raise ctx.fail(f"{key}.clock", f'unknown clock {clock!r} (use "calendar" or "business")')
    label = value.get("label", "")
    if not isinstance(label, str):
        raise ctx.fail(f"{key}.label", "expected a string")
    pauses = value.get("status_update_pauses", False)
    if not isinstance(pauses, bool):
        raise ctx.fail(f"{key}.status_update_pauses", f"expected true or false, got {pauses!r}")
    status_update = _parse_duration(ctx, f"{key}.status_update", value["status_update"], clock)
    warning: int | None = None
    if "update_warning" in value:
        warning = _parse_duration(ctx, f"{key}.update_warning", value["update_warning"], clock)
        if warning >= status_update:
            raise ctx.fail(
                f"{key}.update_warning",
                f"{value['update_warning']!r} is not shorter than status_update "
                f"{value['status_update']!r} (it alerts that long before each update is due)",
            )
    return PriorityTarget(
        name=name,
        level=level,
        clock=clock,
        first_response=_parse_duration(
            ctx, f"{key}.first_response", value["first_response"], clock
        ),
        status_update=status_update,
        resolution=_parse_duration(ctx, f"{key}.resolution", value["resolution"], clock),
        label=label,
        status_update_pauses=pauses,
        update_warning=warning,
    )


def _parse_alerts(ctx: _Ctx, value: Any) -> tuple[float, ...]:
    """``[alerts] thresholds = [0.5, 0.8, 1.0]``: fractions of a target elapsed at which
    the on-call alerts fire; each in (0, 1], ascending, unique (issue 10)."""
    if not isinstance(value, dict):
        raise ctx.fail("alerts", "expected a table: [alerts] thresholds = [0.5, 0.8, 1.0]")
    ctx.check_keys(value, _ALERT_KEYS, "alerts")
    if "thresholds" not in value:
        return DEFAULT_ALERT_THRESHOLDS
    raw = value["thresholds"]
    if not isinstance(raw, list) or not raw:
        raise ctx.fail(
            "alerts.thresholds",
            f"expected a non-empty list of fractions like [0.5, 0.8, 1.0], got {raw!r}",
        )
    out: list[float] = []
    for i, item in enumerate(raw):
        key = f"alerts.thresholds[{i}]"
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise ctx.fail(key, f"expected a fraction of the target like 0.8, got {item!r}")
        if not (0 < item <= 1):
            raise ctx.fail(key, f"{item!r} is outside (0, 1] (1.0 = the deadline itself)")
        if out and item <= out[-1]:
            word = "repeats" if item == out[-1] else "is below"
            raise ctx.fail(
                key, f"{item!r} {word} {out[-1]!r} (list thresholds ascending, each once)"
            )
        out.append(float(item))
    return tuple(out)


def parse_policy(data: Mapping[str, Any], source: str, name: str | None = None) -> Policy:
    """Build a policy from parsed TOML (pure). ``source`` names the file in errors."""
    ctx = _Ctx(source)
    if not isinstance(data, Mapping):
        raise ctx.fail("", "expected a TOML table")
    ctx.check_keys(data, _TOP_KEYS, "")

    if name is None:
        raw_name = data.get("name", Path(source).stem)
        if not isinstance(raw_name, str) or not raw_name.strip():
            raise ctx.fail("name", "expected a non-empty string")
        name = raw_name.strip()
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ctx.fail("description", "expected a string")

    if "timezone" not in data:
        raise ctx.fail("timezone", 'missing (e.g. timezone = "America/New_York")')
    tz_name = data["timezone"]
    if not isinstance(tz_name, str):
        raise ctx.fail("timezone", f"expected a string, got {tz_name!r}")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ctx.fail("timezone", f"unknown time zone {tz_name!r}") from None

    holidays = _parse_holidays(ctx, data["holidays"]) if "holidays" in data else {}

    country = data.get("holiday_country")
    subdiv = data.get("holiday_subdiv")
    if country is not None:
        if not isinstance(country, str):
            raise ctx.fail("holiday_country", 'expected a country code like "US"')
        if subdiv is not None and not isinstance(subdiv, str):
            raise ctx.fail("holiday_subdiv", 'expected a subdivision code like "NY"')
        import holidays as holidays_pkg

        try:
            holidays_pkg.country_holidays(country, subdiv=subdiv, years=2000)
        except NotImplementedError as exc:
            raise ctx.fail("holiday_country", f"unknown country or subdivision: {exc}") from None
    elif subdiv is not None:
        raise ctx.fail("holiday_subdiv", "needs holiday_country")

    hours = data.get("business_hours", {})
    if not isinstance(hours, dict):
        raise ctx.fail("business_hours", "expected a table of days")
    weekly: list[tuple[tuple[int, int], ...]] = [() for _ in DAY_NAMES]
    for day_key, value in hours.items():
        day = day_key.strip().lower()
        if day not in DAY_NAMES:
            raise ctx.fail(f"business_hours.{day_key}", f"unknown day (use {', '.join(DAY_NAMES)})")
        weekly[DAY_NAMES.index(day)] = _parse_day(ctx, f"business_hours.{day_key}", value)

    maintenance = _parse_maintenance(ctx, data["maintenance"]) if "maintenance" in data else ()

    prio = data.get("priority")
    if not isinstance(prio, dict):
        raise ctx.fail(
            "priority", "missing [priority.critical], [priority.urgent], [priority.minor]"
        )
    for key in prio:
        if key not in PRIORITY_NAMES:
            raise ctx.fail(
                f"priority.{key}", f"unknown priority (known: {', '.join(PRIORITY_NAMES)})"
            )
    priorities: dict[str, PriorityTarget] = {}
    for pname in PRIORITY_NAMES:
        if pname not in prio:
            raise ctx.fail(f"priority.{pname}", "missing priority")
        priorities[pname] = _parse_priority(ctx, pname, prio[pname])
    levels: dict[int, str] = {}
    for target in priorities.values():
        if target.level in levels:
            raise ctx.fail(
                f"priority.{target.name}.level",
                f"level {target.level} is also used by {levels[target.level]}",
            )
        levels[target.level] = target.name
        if target.clock == BUSINESS and not any(weekly):
            raise ctx.fail(
                f"priority.{target.name}.clock",
                "business clock, but business_hours has no open hours",
            )

    alert_thresholds = (
        _parse_alerts(ctx, data["alerts"]) if "alerts" in data else DEFAULT_ALERT_THRESHOLDS
    )

    special_days = _parse_special_days(ctx, data["special_days"]) if "special_days" in data else {}

    calendar = BusinessCalendar(
        tz_name,
        tuple(weekly),
        holidays,
        holiday_country=country,
        holiday_subdiv=subdiv,
        maintenance=maintenance,
        special_days=special_days,
    )
    for i, day in enumerate(special_days):
        holiday = calendar.holiday_name(day)  # explicit, or the country's
        if holiday is not None:
            named = "" if holiday == "holiday" else f" ({holiday})"
            raise ctx.fail(
                f"special_days[{i}].date",
                f"{day.isoformat()} is both a holiday{named} and a special day; "
                "remove one (a special day with hours = [] is closed)",
            )
    return Policy(
        name,
        calendar,
        priorities,
        source=source,
        description=description,
        fingerprint=_fingerprint(name, data),
        alert_thresholds=alert_thresholds,
    )

"""Independent, deliberately simple business-time implementations for cross-checks.

They share the policy's *data* (zone, weekly hours, holiday dates) but none of the
engine's logic: the minute walk asks "is this minute open?" of local wall time, one minute
at a time; the day walk converts each local day's hours to UTC and walks day by day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTE = timedelta(minutes=1)


class NaiveCalendar:
    def __init__(
        self,
        tz: str,
        weekly: dict[int, list[tuple[int, int]]],
        holidays: set[date],
        special: dict[date, list[tuple[int, int]]] | None = None,
    ) -> None:
        self.tz = ZoneInfo(tz)
        self.weekly = weekly  # weekday → [(start minute, end minute)], end may be 1440
        self.holidays = holidays
        self.special = special or {}  # local date → its own hours, instead of the week's

    def _spans(self, day: date) -> list[tuple[int, int]]:
        if day in self.special:
            return list(self.special[day])
        if day in self.holidays:
            return []
        return list(self.weekly.get(day.weekday(), ()))

    @classmethod
    def from_policy(cls, policy, years: range = range(2020, 2035)) -> NaiveCalendar:
        cal = policy.calendar
        holidays = set()
        day = date(years.start, 1, 1)
        while day.year < years.stop:
            if cal.holiday_name(day) is not None:
                holidays.add(day)
            day += timedelta(days=1)
        weekly = {i: list(spans) for i, spans in enumerate(cal.weekly)}
        special = {d: list(sd.spans) for d, sd in cal.special_days.items()}
        return cls(policy.timezone, weekly, holidays, special)

    # ------------------------------------------------------------ minute walk
    def is_open(self, t: datetime) -> bool:
        local = t.astimezone(self.tz)
        minute = local.hour * 60 + local.minute
        return any(s <= minute < e for s, e in self._spans(local.date()))

    def add_minutes(self, start: datetime, seconds: int) -> datetime:
        """Minute-aligned ``start`` and ``seconds``: walk minute by minute."""
        assert seconds % 60 == 0 and start.second == 0 and start.microsecond == 0
        t = start.astimezone(UTC)
        left = seconds // 60
        while left > 0:
            if self.is_open(t):
                left -= 1
            t += MINUTE
        return t

    def elapsed_minutes(self, start: datetime, end: datetime) -> int:
        t = start.astimezone(UTC)
        end = end.astimezone(UTC)
        n = 0
        while t < end:
            if self.is_open(t):
                n += 1
            t += MINUTE
        return n * 60

    # ------------------------------------------------------------ day walk
    def day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        out = []
        for s, e in self._spans(day):
            start = datetime.combine(day, time(s // 60, s % 60), self.tz).astimezone(UTC)
            end_day = day + timedelta(days=e // 1440)
            e %= 1440
            end = datetime.combine(end_day, time(e // 60, e % 60), self.tz).astimezone(UTC)
            out.append((start, end))
        return out

    def add_days(self, start: datetime, seconds: float) -> datetime:
        """Walk the open intervals day by day (the "plain interval walk")."""
        t = start.astimezone(UTC)
        left = timedelta(seconds=seconds)
        day = t.astimezone(self.tz).date() - timedelta(days=1)
        while True:
            for s, e in self.day_intervals(day):
                if e <= t:
                    continue
                s = max(s, t)
                if e - s >= left:
                    return s + left
                left -= e - s
            day += timedelta(days=1)

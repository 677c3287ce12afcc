"""A business calendar: weekly hours in a time zone, holidays, maintenance windows.

The hot path is closed-form: the calendar keeps, for a contiguous range of years, a flat
table of its open intervals as UTC epoch seconds with the cumulative business seconds
before each one. The business-time function ``B(t)`` (business seconds up to ``t``) is
then one bisect, and its inverse (adding business time) is another. The cost does not
depend on how far apart the two instants are. Years are built lazily, from local wall
time per day through :mod:`zoneinfo`, so DST changes come out right (a 00:00–05:00
window on 2026-11-01 in New York is six real hours long).

Wall times that do not exist (the spring-forward gap) resolve to the instant of the
change; wall times that happen twice (the fall-back hour) resolve to the first
occurrence when they open an interval and the second when they close one.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from agent_console.sla.durations import whole_seconds
from agent_console.sla.errors import PolicyError
from agent_console.sla.range import (
    ENGINE_FIRST_YEAR,
    ENGINE_LAST_YEAR,
    OutOfRange,
    check_engine_epoch,
)

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: local years the engine will build tables for: the supported range of instants
#: (1900-01-01 to 2199-12-31 UTC, ``range.py``) with room around it for results; never
#: clamped (an instant outside is :class:`~agent_console.sla.range.OutOfRange`)
MIN_YEAR = ENGINE_FIRST_YEAR
MAX_YEAR = ENGINE_LAST_YEAR
#: how many consecutive years without a single open minute we tolerate before giving up
_MAX_EMPTY_YEARS = 3

Span = tuple[int, int]  # minutes after local midnight, end may be 1440


@dataclass(frozen=True)
class MaintenanceRule:
    """A weekly maintenance window in local wall time. It is informational: it does not
    stop any clock."""

    days: frozenset[int]  # 0 = Monday
    start: int  # minutes after local midnight
    end: int  # minutes after local midnight, up to 1440
    name: str = "maintenance"


@dataclass(frozen=True)
class SpecialDay:
    """Opening hours of one local date that replace the weekly schedule on that date (a
    half day on 24 December, an extra Saturday before a launch). ``spans`` empty = closed."""

    spans: tuple[Span, ...]
    name: str = "special day"


@dataclass(frozen=True)
class DayPlan:
    """What one local date's hours are and why: the one place that decides it, for the
    interval tables, the explanations and ``sla calendar``."""

    day: date
    #: open intervals, minutes after local midnight (end up to 1440)
    spans: tuple[Span, ...]
    #: the holiday's name when the date is a holiday (whatever the weekday), else None
    holiday: str | None
    #: the special day's name when special hours replace the weekly schedule, else None
    special: str | None
    #: whether the weekly schedule alone would open this date
    weekly_open: bool = False

    @property
    def special_label(self) -> str | None:
        """``"special day: Christmas Eve"`` (``"special day"`` if unnamed), or None."""
        if self.special is None:
            return None
        return "special day" if self.special == "special day" else f"special day: {self.special}"

    @property
    def closed_reason(self) -> str | None:
        """Why the date is closed (``"holiday (Christmas Day)"``, ``"special day (...)"``,
        ``"weekend"``, ``"closed"``), or None when it has open hours."""
        if self.spans:
            return None
        if self.special is not None:
            return (
                "special day" if self.special == "special day" else f"special day ({self.special})"
            )
        if self.holiday is not None and self.weekly_open:
            return "holiday" if self.holiday == "holiday" else f"holiday ({self.holiday})"
        return "weekend" if self.day.weekday() >= 5 else "closed"


@dataclass(frozen=True)
class BusinessState:
    """Where the desk stands at an instant."""

    open: bool
    #: the holiday's name when the instant's local date is a holiday, else None
    holiday: str | None
    #: the closing instant if open, the next opening if closed (UTC)
    changes_at: datetime
    #: the special day's name when the local date runs on special hours, else None
    special: str | None = None


def require_aware(value: datetime, what: str = "instant") -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} {value.isoformat()} is naive; give a time zone (UTC)")


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class _Table:
    """Open intervals for the local years ``y0..y1`` (UTC epoch seconds, as floats).

    ``S[i]``/``E[i]`` are the start and end of interval ``i``; ``CS[i]``/``CE[i]`` the
    business seconds counted (from the table's base) at its start and end. Intervals are
    non-empty, sorted, and merged when they touch (a 24:00 end meeting a 00:00 start).
    """

    __slots__ = ("y0", "y1", "lo", "hi", "S", "E", "CS", "CE")

    def __init__(
        self,
        y0: int,
        y1: int,
        lo: float,
        hi: float,
        S: list[float],
        E: list[float],
        CS: list[float],
        CE: list[float],
    ) -> None:
        self.y0, self.y1, self.lo, self.hi = y0, y1, lo, hi
        self.S, self.E, self.CS, self.CE = S, E, CS, CE


class BusinessCalendar:
    """Weekly business hours in one time zone, with holidays and maintenance windows.

    Pure and immutable from the outside; internally it caches interval tables per year.
    Every method takes aware datetimes and returns aware UTC datetimes.
    """

    def __init__(
        self,
        timezone: str,
        weekly: tuple[tuple[Span, ...], ...],
        holidays: Mapping[date, str] | None = None,
        *,
        holiday_country: str | None = None,
        holiday_subdiv: str | None = None,
        maintenance: tuple[MaintenanceRule, ...] = (),
        special_days: Mapping[date, SpecialDay] | None = None,
    ) -> None:
        if len(weekly) != 7:
            raise ValueError("weekly schedule needs 7 days")
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.weekly = tuple(tuple(day) for day in weekly)
        self.holidays: dict[date, str] = dict(holidays or {})
        self.holiday_country = holiday_country
        self.holiday_subdiv = holiday_subdiv
        self.maintenance = tuple(maintenance)
        #: local dates whose hours replace the weekly schedule (never a holiday too: the
        #: policy parser refuses a date that is both)
        self.special_days: dict[date, SpecialDay] = dict(special_days or {})
        self.weekly_seconds = sum(e - s for day in self.weekly for s, e in day) * 60
        self._country_cache: dict[int, dict[date, str]] = {}
        self._year_cache: dict[int, list[tuple[int, int]]] = {}
        self._lock = threading.RLock()
        self._tab: _Table = _Table(0, -1, 0.0, 0.0, [], [], [], [])

    # ------------------------------------------------------------------ local time
    def wall_to_epoch(self, day: date, minutes: int, *, closing: bool = False) -> int:
        """The UTC epoch second of local wall time ``minutes`` after midnight on ``day``.

        ``minutes`` may be 1440 (24:00 = next midnight). A wall time in a DST gap maps to
        the instant of the change; a repeated wall time maps to its first occurrence, or
        its second when ``closing`` (so an interval covers the whole repeated hour).
        """
        if minutes >= 1440:
            day = day + timedelta(days=minutes // 1440)
            minutes %= 1440
        naive = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60)
        u0 = int(naive.replace(tzinfo=self.tz).timestamp())
        u1 = int(naive.replace(tzinfo=self.tz, fold=1).timestamp())
        if u0 == u1:
            return u0
        if u0 < u1:  # ambiguous (fall back): first or second occurrence
            return u1 if closing else u0
        # gap (spring forward): the change happens in (u1, u0]; find it by bisection
        after = datetime.fromtimestamp(u0, self.tz).utcoffset()
        lo, hi = u1, u0
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, self.tz).utcoffset() == after:
                hi = mid
            else:
                lo = mid
        return hi

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name if ``day`` (a local date) is closed as a holiday."""
        name = self.holidays.get(day)
        if name is not None:
            return name
        if self.holiday_country:
            return self._country_holidays(day.year).get(day)
        return None

    def _country_holidays(self, year: int) -> dict[date, str]:
        cached = self._country_cache.get(year)
        if cached is None:
            import holidays as holidays_pkg

            found = holidays_pkg.country_holidays(
                self.holiday_country, subdiv=self.holiday_subdiv, years=year
            )
            cached = {d: str(n) for d, n in found.items()}
            self._country_cache[year] = cached
        return cached

    def special_day(self, day: date) -> SpecialDay | None:
        """The special hours of local date ``day``, if it has any."""
        return self.special_days.get(day)

    def day_plan(self, day: date) -> DayPlan:
        """The hours of local date ``day`` and why (special day, holiday, weekly)."""
        weekly = self.weekly[day.weekday()]
        holiday = self.holiday_name(day)
        special = self.special_days.get(day)
        if special is not None:
            spans = special.spans
        elif holiday is not None:
            spans = ()
        else:
            spans = weekly
        return DayPlan(
            day,
            spans,
            holiday,
            special.name if special is not None else None,
            weekly_open=bool(weekly),
        )

    def day_intervals(self, day: date) -> list[tuple[int, int]]:
        """Open intervals of one local date as UTC epoch seconds: the special day's hours
        if it is one, else none on holidays, else the weekly schedule's."""
        special = self.special_days.get(day) if self.special_days else None
        if special is not None:
            spans = special.spans
        else:
            spans = self.weekly[day.weekday()]
            if not spans or self.holiday_name(day) is not None:
                return []
        out: list[tuple[int, int]] = []
        for s, e in spans:
            us = self.wall_to_epoch(day, s)
            ue = self.wall_to_epoch(day, e, closing=True)
            if ue > us:
                out.append((us, ue))
        return out

    # ------------------------------------------------------------------ tables
    def _year(self, year: int) -> list[tuple[int, int]]:
        cached = self._year_cache.get(year)
        if cached is None:
            cached = []
            day = date(year, 1, 1)
            one = timedelta(days=1)
            while day.year == year:
                cached.extend(self.day_intervals(day))
                day += one
            self._year_cache[year] = cached
        return cached

    def _build(self, y0: int, y1: int) -> _Table:
        if y0 < MIN_YEAR or y1 > MAX_YEAR:
            raise OutOfRange(
                f"{self.timezone} calendar: years {y0}–{y1} are outside the supported range"
                " 1900-01-01 to 2199-12-31 (UTC)"
            )
        S: list[float] = []
        E: list[float] = []
        for year in range(y0, y1 + 1):
            for s, e in self._year(year):
                if E and s <= E[-1]:
                    if e > E[-1]:
                        E[-1] = float(e)
                else:
                    S.append(float(s))
                    E.append(float(e))
        CS: list[float] = []
        CE: list[float] = []
        acc = 0.0
        for s, e in zip(S, E, strict=True):
            CS.append(acc)
            acc += e - s
            CE.append(acc)
        lo = float(self.wall_to_epoch(date(y0, 1, 1), 0))
        hi = float(self.wall_to_epoch(date(y1 + 1, 1, 1), 0))
        return _Table(y0, y1, lo, hi, S, E, CS, CE)

    def _year_of(self, t: float) -> int:
        return datetime.fromtimestamp(t, self.tz).year

    def _cover(self, t: float) -> _Table:
        """A table whose year range covers instant ``t`` (and has intervals)."""
        with self._lock:
            tab = self._tab
            if tab.lo <= t < tab.hi and tab.S:
                return tab
            check_engine_epoch(t)
            year = self._year_of(t)
            if tab.y1 < tab.y0:  # empty: start with the year before, this and the next
                y0, y1 = year - 1, year + 1
            else:
                y0, y1 = min(tab.y0, year - 1), max(tab.y1, year + 1)
            tab = self._build(max(y0, MIN_YEAR), min(y1, MAX_YEAR))
            empty = 0
            while not tab.S:
                empty += 1
                if empty > _MAX_EMPTY_YEARS:
                    raise PolicyError(
                        f"{self.timezone} calendar: no open business hours around {year}"
                    )
                tab = self._build(tab.y0, tab.y1 + 1)
            self._tab = tab
            return tab

    def _grow(self, forward: bool) -> None:
        """Add years after (or before) the current table until it holds more intervals."""
        with self._lock:
            tab = self._tab
            y0, y1 = tab.y0, tab.y1
            for _ in range(_MAX_EMPTY_YEARS + 1):
                step = max(1, (y1 - y0 + 1) // 2)
                if forward:
                    y1 = min(y1 + step, MAX_YEAR)
                else:
                    y0 = max(y0 - step, MIN_YEAR)
                new = self._build(y0, y1)
                if len(new.S) > len(tab.S) or (
                    new.S and tab.S and (new.E[-1] > tab.E[-1] or new.S[0] < tab.S[0])
                ):
                    self._tab = new
                    return
                if y1 >= MAX_YEAR or y0 <= MIN_YEAR:
                    break
            where = f"after {tab.y1}" if forward else f"before {tab.y0}"
            raise PolicyError(f"{self.timezone} calendar: no open business hours {where}")

    # ------------------------------------------------------------------ hot path
    def business_value(self, t: float) -> tuple[_Table, float]:
        """``(table, B(t))``: business seconds from the table's base up to epoch ``t``."""
        tab = self._tab
        if not (tab.lo <= t < tab.hi):
            tab = self._cover(t)
        i = bisect_right(tab.S, t) - 1
        if i < 0:
            return tab, tab.CS[0]
        b = tab.CS[i] + (t - tab.S[i])
        ce = tab.CE[i]
        return tab, (b if b < ce else ce)

    def add(self, start: datetime, seconds: float) -> datetime:
        """The instant ``seconds`` of business time after ``start`` (UTC).

        A target reached exactly at a closing instant is that closing instant. Zero
        returns ``start``; a negative amount goes back in time (the latest instant with
        that much business time before ``start``).
        """
        t = start.timestamp()
        if start.tzinfo is None:
            require_aware(start, "start")
        if seconds <= 0:
            if seconds == 0:
                return start.astimezone(UTC)
            return _utc(self._sub_epoch(t, -seconds))
        tab = self._tab
        if not (tab.lo <= t < tab.hi):
            tab = self._cover(t)
        S = tab.S
        i = bisect_right(S, t) - 1
        if i < 0:
            v = tab.CS[0] + seconds
        else:
            b = tab.CS[i] + (t - S[i])
            ce = tab.CE[i]
            v = (b if b < ce else ce) + seconds
        CE = tab.CE
        if v > CE[-1]:
            self._grow(forward=True)
            return self.add(start, seconds)
        j = bisect_left(CE, v)
        return _utc(tab.S[j] + (v - tab.CS[j]))

    def add_epoch(self, t: float, seconds: float) -> float:
        """:meth:`add` on epoch seconds (``seconds`` > 0)."""
        tab, b = self.business_value(t)
        v = b + seconds
        if v > tab.CE[-1]:
            self._grow(forward=True)
            return self.add_epoch(t, seconds)
        j = bisect_left(tab.CE, v)
        return tab.S[j] + (v - tab.CS[j])

    def _sub_epoch(self, t: float, seconds: float) -> float:
        tab, b = self.business_value(t)
        v = b - seconds
        if v < tab.CS[0]:
            self._grow(forward=False)
            return self._sub_epoch(t, seconds)
        j = bisect_right(tab.CS, v) - 1
        return tab.S[j] + (v - tab.CS[j])

    def elapsed_epoch(self, t0: float, t1: float) -> float:
        """Business seconds from epoch ``t0`` to ``t1`` (negative if ``t1`` < ``t0``)."""
        lo_t, hi_t = (t0, t1) if t0 <= t1 else (t1, t0)
        tab = self._tab
        if not (tab.lo <= lo_t and hi_t < tab.hi):
            self._cover(lo_t)
            tab = self._cover(hi_t)
        S, CS, CE = tab.S, tab.CS, tab.CE
        i = bisect_right(S, t0) - 1
        if i < 0:
            b0 = CS[0]
        else:
            b0 = CS[i] + (t0 - S[i])
            if b0 > CE[i]:
                b0 = CE[i]
        i = bisect_right(S, t1) - 1
        if i < 0:
            b1 = CS[0]
        else:
            b1 = CS[i] + (t1 - S[i])
            if b1 > CE[i]:
                b1 = CE[i]
        return b1 - b0

    def elapsed_float(self, start: datetime, end: datetime) -> float:
        if start.tzinfo is None:
            require_aware(start, "start")
        if end.tzinfo is None:
            require_aware(end, "end")
        return self.elapsed_epoch(start.timestamp(), end.timestamp())

    def elapsed(self, start: datetime, end: datetime) -> int:
        """Business seconds between two instants (negative if ``end`` < ``start``), whole
        seconds rounded half away from zero (:func:`~agent_console.sla.durations.whole_seconds`)."""
        return whole_seconds(self.elapsed_float(start, end))

    def _locate(self, t: float) -> tuple[_Table, int]:
        """The table covering ``t`` and the index of the last interval starting at or
        before ``t`` (-1 if none)."""
        tab = self._tab
        if not (tab.lo <= t < tab.hi):
            tab = self._cover(t)
        return tab, bisect_right(tab.S, t) - 1

    def is_open_epoch(self, t: float) -> bool:
        tab = self._tab
        if not (tab.lo <= t < tab.hi):
            tab = self._cover(t)
        i = bisect_right(tab.S, t) - 1
        return i >= 0 and t < tab.E[i]

    def is_open(self, at: datetime) -> bool:
        """Is the desk open at ``at`` (inside an open business interval)?"""
        if at.tzinfo is None:
            require_aware(at, "at")
        return self.is_open_epoch(at.timestamp())

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself if open, else the next opening (UTC)."""
        require_aware(at, "at")
        t = at.timestamp()
        tab, i = self._locate(t)
        if i >= 0 and t < tab.E[i]:
            return at.astimezone(UTC)
        while i + 1 >= len(tab.S):
            self._grow(forward=True)
            tab, i = self._locate(t)
        return _utc(tab.S[i + 1])

    def next_close(self, at: datetime) -> datetime:
        """The end of the open interval containing ``at``, or of the next one (UTC).

        A calendar that never closes (open around the clock) looks ahead about three
        years and returns the end of that horizon.
        """
        require_aware(at, "at")
        t = at.timestamp()
        horizon = t + 3 * 366 * 86400
        while True:
            tab, i = self._locate(t)
            k = i if (i >= 0 and t < tab.E[i]) else i + 1
            if k < len(tab.S) and (tab.E[k] < tab.hi or tab.hi >= horizon):
                return _utc(min(tab.E[k], max(horizon, tab.S[k])))
            self._grow(forward=True)

    def business_state(self, at: datetime) -> BusinessState:
        require_aware(at, "at")
        is_open = self.is_open(at)
        day = self.local_date(at)
        special = self.special_days.get(day)
        return BusinessState(
            open=is_open,
            holiday=self.holiday_name(day),
            changes_at=self.next_close(at) if is_open else self.next_open(at),
            special=special.name if special is not None else None,
        )

    def open_intervals_epoch(self, t0: float, t1: float) -> list[tuple[float, float]]:
        if t1 <= t0:
            return []
        self._cover(t0)
        tab = self._cover(t1)
        S, E = tab.S, tab.E
        i = max(bisect_right(S, t0) - 1, 0)
        out: list[tuple[float, float]] = []
        while i < len(S) and S[i] < t1:
            s, e = max(S[i], t0), min(E[i], t1)
            if e > s:
                out.append((s, e))
            i += 1
        return out

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Open intervals overlapping ``[start, end)``, clipped to it, in UTC."""
        require_aware(start, "start")
        require_aware(end, "end")
        return [
            (_utc(s), _utc(e))
            for s, e in self.open_intervals_epoch(start.timestamp(), end.timestamp())
        ]

    # ------------------------------------------------------------------ maintenance
    def _maintenance_epoch(self, t0: float, t1: float) -> Iterator[tuple[int, int, str]]:
        if not self.maintenance:
            return
        day = datetime.fromtimestamp(t0, self.tz).date() - timedelta(days=1)
        last = datetime.fromtimestamp(t1, self.tz).date() + timedelta(days=1)
        one = timedelta(days=1)
        while day <= last:
            wd = day.weekday()
            for rule in self.maintenance:
                if wd in rule.days:
                    s = self.wall_to_epoch(day, rule.start)
                    e = self.wall_to_epoch(day, rule.end, closing=True)
                    if e > s and e > t0 and s < t1:
                        yield s, e, rule.name
            day += one

    def maintenance_windows(
        self, start: datetime, end: datetime
    ) -> list[tuple[datetime, datetime]]:
        """Maintenance windows overlapping ``[start, end)``, whole (not clipped), in UTC."""
        require_aware(start, "start")
        require_aware(end, "end")
        spans = sorted(
            {(s, e) for s, e, _ in self._maintenance_epoch(start.timestamp(), end.timestamp())}
        )
        return [(_utc(s), _utc(e)) for s, e in spans]

    def active_or_next_maintenance(
        self, at: datetime, within: timedelta
    ) -> tuple[datetime, datetime] | None:
        """The window active at ``at``, else the first one starting within ``within``."""
        require_aware(at, "at")
        t = at.timestamp()
        horizon = t + within.total_seconds()
        best: tuple[int, int] | None = None
        for s, e, _ in self._maintenance_epoch(t, max(horizon, t) + 1):
            if s <= t < e:
                return _utc(s), _utc(e)
            if t < s <= horizon and (best is None or s < best[0]):
                best = (s, e)
        return (_utc(best[0]), _utc(best[1])) if best else None

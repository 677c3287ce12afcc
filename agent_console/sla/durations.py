"""Durations: ``"1h30m"`` in policy files and on the command line, ``"5h 03m"`` on timers."""

from __future__ import annotations

import re

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_RE = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> int:
    """``"1h30m"`` → 5400. Units ``d`` (24 hours), ``h``, ``m``, ``s`` in that order.

    Spaces between parts are allowed (``"1h 30m"``). Raises :class:`ValueError` with the
    reason for anything else (empty, no unit, unknown unit, negative, wrong order).
    """
    if not isinstance(text, str):
        raise ValueError(f'expected a duration string like "4h" or "1h30m", got {text!r}')
    compact = text.strip().lower().replace(" ", "")
    if not compact:
        raise ValueError('empty duration (write e.g. "4h" or "1h30m")')
    match = _DURATION_RE.fullmatch(compact)
    if match is None or not any(match.groups()):
        if compact.isdigit():
            raise ValueError(
                f'duration {text!r} has no unit (write e.g. "{compact}h" or "{compact}m")'
            )
        raise ValueError(
            f'bad duration {text!r} (use d, h, m, s in that order, e.g. "4h", "1h30m", "45m")'
        )
    total = 0
    for value, unit in zip(match.groups(), "dhms", strict=True):
        if value:
            total += int(value) * _UNITS[unit]
    return total


def whole_seconds(seconds: int | float) -> int:
    """Seconds rounded to a whole number, half away from zero: 0.5 → 1, -0.5 → -1,
    2.5 → 3, 1.4999 → 1 (not Python's ``round``, which rounds half to even and gives
    0.5 → 0).

    The one rounding rule of the SLA engine: time left, elapsed business time and the
    time left at a pause are whole seconds by this rule (ticket clock issue; as other
    business-time libraries do). Exact for every float: the fraction is taken by
    subtraction, never by adding 0.5 (``0.49999999999999994 + 0.5`` is 1.0).
    """
    whole = int(seconds)  # towards zero
    frac = seconds - whole  # exact
    if frac >= 0.5:
        return whole + 1
    if frac <= -0.5:
        return whole - 1
    return whole


def format_duration(seconds: int | float) -> str:
    """A timer's text: ``47m 12s`` under an hour, hours and minutes above (``5h 03m``,
    ``43h 00m``) — never days, which would read as 24-hour days on a business clock.

    A negative value shows its magnitude (the caller says "overdue"). A fraction of a
    second rounds half away from zero (:func:`whole_seconds`).
    """
    s = abs(whole_seconds(seconds))
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def format_hm(seconds: int | float) -> str:
    """Compact hours and minutes for explanations: ``9h00m``, ``45m``, ``0m`` (fractions
    of a second rounded by :func:`whole_seconds`)."""
    seconds = whole_seconds(seconds)
    s = abs(seconds)
    sign = "-" if seconds < 0 else ""
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    tail = f"{sec:02d}s" if sec else ""
    if h:
        return f"{sign}{h}h{m:02d}m{tail}"
    return f"{sign}{m}m{tail}"

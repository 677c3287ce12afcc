"""The one validation layer for imported ticket rows (issue 15).

Every row is checked here, in Python, BEFORE anything is written, so a file gets the same
answer on SQLite and PostgreSQL: a limit PostgreSQL would enforce late and badly (a btree
index entry above ~2,700 bytes, a NUL character in text) is a line-numbered error here, or
(NUL in a body) handled by the storage layer the same way on both
(:class:`agent_console.store.types.SafeText`).

Limits (documented in README "Importing tickets"):

==================  ============================================================
field               rule
==================  ============================================================
subject             required, at most :data:`MAX_SUBJECT` characters, one line
body                required, at most ``Settings.max_body_chars`` characters
requester_email     required, one ``@`` with text on both sides, no spaces,
                    at most :data:`MAX_EMAIL` characters (RFC 5321's 254)
requester_name      at most :data:`MAX_NAME` characters, one line
organization        at most :data:`MAX_NAME` characters, one line
external_id         at most :data:`MAX_EXTERNAL_ID` characters, one line; unique
                    within a file
tags                text (comma-separated) or a list of text; each tag at most
                    :data:`MAX_TAG` characters, all together at most
                    :data:`MAX_TAGS_TOTAL`
opened_at           ISO 8601 with an offset, inside the supported range
                    (:func:`agent_console.sla.range.check_supported`) and no more
                    than :data:`FUTURE_TOLERANCE` ahead of the desk's clock
==================  ============================================================

"One line" fields take no control characters (C0 including newline and tab, DEL, C1, the
line and paragraph separators U+2028/U+2029). No field may hold a lone surrogate (a
``"\\ud800"`` escape in JSON): it is not a character and cannot be stored. Bodies keep
newlines, tabs and every other character; the terminal output rule renders them safely.
The byte limits keep every indexed column under PostgreSQL's btree entry limit even in
4-byte characters (254 × 4 = 1,016 bytes < 2,704).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent_console.desk.tickets import normalise_tags
from agent_console.sla.errors import PolicyError
from agent_console.sla.range import check_supported
from agent_console.store.models import Channel, Priority, RequestType

FIELDS = (
    "external_id",
    "subject",
    "body",
    "requester_email",
    "requester_name",
    "organization",
    "priority",
    "channel",
    "opened_at",
    "request_type",
    "tags",
)
REQUIRED = ("subject", "body", "requester_email", "priority", "channel", "opened_at")

MAX_SUBJECT = 500
MAX_EMAIL = 254
MAX_NAME = 200
MAX_EXTERNAL_ID = 200
MAX_TAG = 50
MAX_TAGS_TOTAL = 1000
#: an opening instant may be at most this far ahead of the desk's clock (clock skew)
FUTURE_TOLERANCE = timedelta(minutes=5)
#: the CLI lists at most this many problems, then "… and N more"
MAX_REPORTED = 50

_ONE_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACE = re.compile(r"\s")
_FIELD_SET = frozenset(FIELDS)
_CHANNELS = {c.value: c for c in Channel}
_REQUEST_TYPES = {r.value: r for r in RequestType}
#: accepted priority spellings seen so far -> Priority (Priority.parse decides; cached)
_PRIORITIES: dict[str, Priority] = {}


def _text_problem(
    key: str, value: Any, limit: int | None, one_line: bool, problems: list[str]
) -> str | None:
    """The slow path of a text field: a number as text, or the problem with the value."""
    if value is None:
        if key in REQUIRED:
            problems.append(f"missing {key}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.append(f"{key} must be text, not {_json_kind(value)}")
        return None
    s = value if isinstance(value, str) else str(value)
    if one_line:
        s = s.strip()
    if not s.strip():
        if key in REQUIRED:
            problems.append(f"missing {key}")
        return None
    bad = _char_problem(key, s, one_line=one_line)
    if bad:
        problems.append(bad)
        return None
    if limit is not None and len(s) > limit:
        problems.append(f"{key} is {len(s):,} characters long (at most {limit:,})")
        return None
    return s


@dataclass(frozen=True)
class RowError:
    """One problem of one line of the file (1-based line number)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ImportRow:
    """A row that passed every check: normalised values, ready to write."""

    line: int
    external_id: str | None
    subject: str
    body: str
    requester_email: str
    requester_name: str | None
    organization: str | None
    priority: Priority
    channel: Channel
    opened_at: datetime
    request_type: RequestType
    tags: str


def show(value: str, width: int = 40) -> str:
    """A value quoted for an error line: escaped (repr) and cut to ``width`` characters."""
    if len(value) > width:
        return repr(value[:width]) + f"… ({len(value):,} characters)"
    return repr(value)


def _char_problem(key: str, value: str, *, one_line: bool) -> str | None:
    m = (_ONE_LINE_BAD if one_line else _SURROGATE).search(value)
    if m is None:
        return None
    ch = m.group()
    where = f"at character {m.start() + 1}"
    if 0xD800 <= ord(ch) <= 0xDFFF:
        return f"{key} holds a lone surrogate U+{ord(ch):04X} {where} (not a character)"
    return (
        f"{key} holds the control character U+{ord(ch):04X} {where} "
        "(one-line fields take no control characters or line breaks)"
    )


class RowChecker:
    """Checks rows against the limits; one instance per file (it remembers external ids
    to report duplicates with both lines).

    ``now`` is the desk's clock (aware UTC); ``max_body_chars`` comes from
    ``Settings.max_body_chars``."""

    def __init__(self, *, now: datetime, max_body_chars: int) -> None:
        self.now = now
        self.latest_opening = now + FUTURE_TOLERANCE
        self.max_body_chars = max_body_chars
        self._ext_lines: dict[str, int] = {}

    def check(self, line: int, rec: dict[str, Any]) -> ImportRow | list[RowError]:
        """The row, or EVERY problem found in it (never raises for bad data)."""
        problems: list[str] = []
        if not _FIELD_SET.issuperset(rec):
            for k in sorted(k for k in rec if k not in _FIELD_SET):
                problems.append(f"unknown field {show(k)} (fields: {', '.join(FIELDS)})")

        def text(key: str, limit: int | None, *, one_line: bool = True) -> str | None:
            value = rec.get(key)
            if type(value) is str:  # the common case, checked without detours
                s = value.strip() if one_line else value
                if (
                    s
                    and (limit is None or len(s) <= limit)
                    and (_ONE_LINE_BAD if one_line else _SURROGATE).search(s) is None
                    and (one_line or not s.isspace())
                ):
                    return s
            return _text_problem(key, value, limit, one_line, problems)

        external_id = text("external_id", MAX_EXTERNAL_ID)
        subject = text("subject", MAX_SUBJECT)
        body = text("body", self.max_body_chars, one_line=False)
        email = text("requester_email", None)
        if email is not None:
            email = email.lower()
            if len(email) > MAX_EMAIL:
                problems.append(
                    f"requester_email is {len(email):,} characters long (at most {MAX_EMAIL})"
                )
                email = None
            elif "@" not in email or email[0] == "@" or email[-1] == "@" or _SPACE.search(email):
                problems.append(f"bad requester_email {show(email)} (expected name@domain)")
                email = None
        name = text("requester_name", MAX_NAME)
        organization = text("organization", MAX_NAME)

        priority = None
        prio_raw = rec.get("priority")
        if isinstance(prio_raw, str | int) and not isinstance(prio_raw, bool):
            prio_s = text("priority", 20)
            if prio_s is not None:
                try:
                    priority = _PRIORITIES.get(prio_s) or _PRIORITIES.setdefault(
                        prio_s, Priority.parse(prio_s)
                    )
                except ValueError:
                    problems.append(
                        f"unknown priority {show(prio_s)} (use critical/urgent/minor or 1/2/3)"
                    )
        elif prio_raw is None:
            problems.append("missing priority")
        else:
            problems.append(f"priority must be text or 1/2/3, not {_json_kind(prio_raw)}")

        channel = None
        channel_s = text("channel", 20)
        if channel_s is not None:
            channel = _CHANNELS.get(channel_s.lower())
            if channel is None:
                problems.append(f"unknown channel {show(channel_s)} (use email/phone/portal)")

        request_type = RequestType.QUESTION
        rt_s = text("request_type", 20)
        if rt_s is not None:
            found = _REQUEST_TYPES.get(rt_s.lower())
            if found is not None:
                request_type = found
            else:
                problems.append(
                    f"unknown request_type {show(rt_s)} (use inoperable/added/desired/question)"
                )

        opened = self._opened(text("opened_at", 64), problems)
        tags = self._tags(rec.get("tags"), problems)

        if external_id is not None:
            first = self._ext_lines.setdefault(external_id, line)
            if first != line:
                problems.append(
                    f"external_id {show(external_id)} is also on line {first} "
                    "(one row per ticket in a file)"
                )
        if problems:
            return [RowError(line, p) for p in problems]
        assert subject and body and email and priority and channel and opened  # noqa: S101
        return ImportRow(
            line=line,
            external_id=external_id,
            subject=subject,
            body=body,
            requester_email=email,
            requester_name=name,
            organization=organization,
            priority=priority,
            channel=channel,
            opened_at=opened,
            request_type=request_type,
            tags=tags or "",
        )

    def _opened(self, raw: str | None, problems: list[str]) -> datetime | None:
        if raw is None:
            return None
        try:
            opened = datetime.fromisoformat(raw)
        except ValueError:
            problems.append(
                f"bad opened_at {show(raw)} (use ISO 8601 with an offset, "
                "e.g. 2026-11-20T10:15:00-05:00)"
            )
            return None
        if opened.tzinfo is None:
            problems.append(f"opened_at {show(raw)} has no UTC offset (add Z or +01:00)")
            return None
        try:
            check_supported(opened, "opened_at")
        except PolicyError as exc:
            problems.append(str(exc))
            return None
        if opened > self.latest_opening:
            problems.append(
                f"opened_at {opened.isoformat()} is in the future (the desk's clock reads "
                f"{self.now.isoformat()}; at most {_minutes(FUTURE_TOLERANCE)} ahead is accepted)"
            )
            return None
        return opened

    @staticmethod
    def _tags(raw: Any, problems: list[str]) -> str | None:
        if raw is None:
            return ""
        if isinstance(raw, str):
            items = raw.split(",")
        elif isinstance(raw, list):
            items = []
            for i, item in enumerate(raw, start=1):
                if not isinstance(item, str):
                    problems.append(
                        f"tags item {i} is {_json_kind(item)}; tags are text "
                        '(comma-separated) or a list of text, e.g. ["vip", "billing"]'
                    )
                    return None
                if "," in item:
                    problems.append(f"tag {show(item)} holds a comma (a comma separates tags)")
                    return None
                items.append(item)
        else:
            problems.append(
                f"tags must be text (comma-separated) or a list of text, not {_json_kind(raw)}"
            )
            return None
        bad = tags_problem(items)
        if bad:
            problems.append(bad)
            return None
        return normalise_tags(items)


def tags_problem(items: list[str]) -> str | None:
    """The first thing wrong with these tags, one line, or None — the one rule for tags
    however they arrive (import, ``t`` / ``ticket tags``, bulk ``+tag``, a macro): one line
    each (no control characters), at most :data:`MAX_TAG` characters each and
    :data:`MAX_TAGS_TOTAL` together (stored comma-joined)."""
    for item in items:
        tag = item.strip()
        bad = _char_problem("tags", tag, one_line=True)
        if bad:
            return bad
        if len(tag) > MAX_TAG:
            return f"tag {show(tag)} is longer than {MAX_TAG} characters"
    tags = normalise_tags(items)
    if len(tags) > MAX_TAGS_TOTAL:
        return f"tags are {len(tags):,} characters together (at most {MAX_TAGS_TOTAL:,})"
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true/false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _minutes(delta: timedelta) -> str:
    m = int(delta.total_seconds() // 60)
    return f"{m} minute{'s' if m != 1 else ''}"


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 ticket``, ``2 tickets``, ``1,000 tickets``."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"

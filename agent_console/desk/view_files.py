"""Views as files (issue 16): the queue's views read from ``views.toml``.

The built-ins ship in ``data/views.toml`` (today's eight views); a team's file in the
config directory (``paths.user_config_dir()/views.toml``, kept in version control by the
team) adds views and overrides built-ins by name, key by key. A view has a name, a key, a
label, columns, a sort and a filter in a small fixed vocabulary (README "Views"); the
filter is parsed here into a :class:`~agent_console.views.ViewFilter` and compiled to SQL
by the queue's query builder (:func:`agent_console.desk.queue.filter_condition`).

A bad team file is one :class:`ViewFileError` naming the file, the view and the key; the
console then runs with the built-ins (:func:`load_view_set` says so in ``error``). No
database and no Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agent_console.errors import UserError
from agent_console.paths import data_dir, user_config_dir
from agent_console.safe_text import visible
from agent_console.sla import parse_duration
from agent_console.store.models import Priority, RequestType, Status
from agent_console.toml_files import TomlFileError, load_toml
from agent_console.views import (
    QUEUE_COLUMNS,
    REQUIRED_COLUMNS,
    FilterClause,
    QueueView,
    ViewFilter,
)

VIEWS_FILE = "views.toml"
#: the sorts a view may name (desk/queue.py SORTS; checked there too)
SORTS = ("due", "priority", "newest", "oldest", "updated", "key")
#: the filter's vocabulary: field → the operators it takes
FIELDS: dict[str, tuple[str, ...]] = {
    "priority": ("=", "!=", "in"),
    "status": ("=", "!=", "in"),
    "tier": ("=", "!=", "in"),
    "assignee": ("=", "!=", "in"),
    "org": ("=", "!=", "in"),
    "tag": ("=", "!=", "in"),
    "type": ("=", "!=", "in"),
    "escalated": ("=", "!="),
    "breaching_within": ("=", "!="),
    "text": ("=", "!="),
}
#: keys of a ``[[view]]`` table
VIEW_KEYS = ("name", "label", "short", "key", "help", "sort", "columns", "filter", "hide")
#: keys the queue screen uses for itself: a view cannot take them
RESERVED_KEYS = frozenset("cnNsMB/?12345 jk")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_OPEN_STATUSES = tuple(s.value for s in Status if s.is_open)


def builtin_views_path() -> Path:
    return data_dir() / VIEWS_FILE


def team_views_path() -> Path:
    """``views.toml`` in the user config directory (it may not exist)."""
    return user_config_dir() / VIEWS_FILE


class ViewFileError(UserError):
    """A views file that cannot be used: ``views file PATH: view 'NAME', key 'KEY': what``."""

    def __init__(self, path: Path | str, view: str | None, key: str | None, what: str) -> None:
        where = f"views file {path}"
        if view is not None:
            where += f": view {view!r}"
        if key is not None:
            where += f", key {key!r}" if view is not None else f": key {key!r}"
        super().__init__(f"{where}: {what}")
        self.path = str(path)
        self.view = view
        self.key = key


# ---------------------------------------------------------------- the filter language
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>!=|=)
      | (?P<punct>[(),\[\]])
      | "(?P<dq>[^"]*)"
      | '(?P<sq>[^']*)'
      | (?P<word>[^\s=!(),\[\]"']+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # op / punct / str (quoted) / word
    text: str


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot read {text[pos:].strip()[:20]!r}")
        pos = m.end()
        if m.group("op"):
            out.append(_Tok("op", m.group("op")))
        elif m.group("punct"):
            out.append(_Tok("punct", m.group("punct")))
        elif m.group("dq") is not None:
            out.append(_Tok("str", m.group("dq")))
        elif m.group("sq") is not None:
            out.append(_Tok("str", m.group("sq")))
        else:
            out.append(_Tok("word", m.group("word")))
    return out


def parse_filter(text: str) -> ViewFilter:
    """``"tier = mine and assignee = none or assignee = me"`` → a :class:`ViewFilter`.

    Clauses are ``field = value``, ``field != value`` or ``field in (a, b)``, joined with
    ``and`` / ``or`` (``and`` binds first; no parentheses around clauses). Values with
    spaces are quoted (``org = "Acme Corp"``). Raises ValueError with what is wrong."""
    toks = _tokens(text or "")
    groups: list[tuple[FilterClause, ...]] = []
    group: list[FilterClause] = []
    i = 0

    def word(j: int) -> str | None:
        return toks[j].text.lower() if j < len(toks) and toks[j].kind == "word" else None

    def value(j: int, field: str) -> tuple[str, int]:
        if j >= len(toks) or toks[j].kind not in ("word", "str"):
            raise ValueError(f"{field}: a value is missing")
        return toks[j].text, j + 1

    if not toks:
        return ViewFilter((), "")
    while True:
        field = word(i)
        if field is None:
            got = toks[i].text if i < len(toks) else "the end"
            raise ValueError(f"expected a field name, found {got!r}")
        if field not in FIELDS:
            raise ValueError(f"unknown field {field!r} (use {', '.join(FIELDS)})")
        i += 1
        if i < len(toks) and toks[i].kind == "op":
            op = toks[i].text
            raw, i = value(i + 1, field)
            raws = [raw]
        elif word(i) == "in":
            op = "in"
            i += 1
            if i >= len(toks) or toks[i].text not in ("(", "["):
                raise ValueError(f"{field} in: the values go in parentheses: in (a, b)")
            close = ")" if toks[i].text == "(" else "]"
            i += 1
            raws = []
            while True:
                raw, i = value(i, field)
                raws.append(raw)
                if i < len(toks) and toks[i].text == ",":
                    i += 1
                    continue
                if i < len(toks) and toks[i].text == close:
                    i += 1
                    break
                raise ValueError(f"{field} in: expected ',' or {close!r}")
        else:
            raise ValueError(f"{field}: expected =, != or in after it")
        if op not in FIELDS[field]:
            raise ValueError(f"{field} takes {' or '.join(FIELDS[field])}, not {op}")
        group.append(FilterClause(field, op, tuple(_normalize(field, r) for r in raws)))
        if i >= len(toks):
            break
        joiner = word(i)
        if joiner == "and":
            i += 1
        elif joiner == "or":
            groups.append(tuple(group))
            group = []
            i += 1
        else:
            raise ValueError(f"expected 'and' or 'or', found {toks[i].text!r}")
        if i >= len(toks):
            raise ValueError(f"a clause is missing after {joiner!r}")
    groups.append(tuple(group))
    return ViewFilter(tuple(groups), " ".join(text.split()))


def _normalize(field: str, raw: str) -> str:
    v = raw.strip()
    if not v:
        raise ValueError(f"{field}: empty value")
    low = v.lower()
    match field:
        case "priority":
            return Priority.parse(low).value
        case "status":
            if low not in _OPEN_STATUSES:
                raise ValueError(
                    f"status {v!r}: views show open tickets (use {', '.join(_OPEN_STATUSES)})"
                )
            return low
        case "tier":
            if low == "mine":
                return low
            if not low.isdigit() or int(low) < 1:
                raise ValueError(f"tier {v!r}: use mine or a tier number (1, 2, 3…)")
            return str(int(low))
        case "assignee":
            return low
        case "type":
            names = [t.value for t in RequestType]
            if low not in names:
                raise ValueError(f"type {v!r}: use {', '.join(names)}")
            return low
        case "escalated":
            if low in ("yes", "true", "1"):
                return "yes"
            if low in ("no", "false", "0"):
                return "no"
            raise ValueError(f"escalated {v!r}: use yes or no")
        case "breaching_within":
            try:
                return str(int(parse_duration(v)))
            except ValueError as exc:
                raise ValueError(f"breaching_within {v!r}: {exc}") from None
        case "tag":
            return low
        case _:  # org, text: as written
            return v


# ---------------------------------------------------------------- files
@dataclass(frozen=True)
class ViewSet:
    """The views in force: built-ins merged with the team file. ``error``: why the team
    file was not used (one line naming the file, the view and the key), else None."""

    views: tuple[QueueView, ...]
    team_file: str | None = None
    error: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.views)

    def named(self, name: str) -> QueueView:
        for v in self.views:
            if v.name == name:
                return v
        raise UserError(f"unknown queue view {name!r} (use {', '.join(self.names)})")

    def get(self, name: str) -> QueueView | None:
        return next((v for v in self.views if v.name == name), None)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return load_toml(path)
    except TomlFileError as exc:
        raise ViewFileError(path, None, None, str(exc)) from None
    except OSError as exc:
        raise ViewFileError(path, None, None, f"cannot be read ({exc.strerror or exc})") from None


def _entries(path: Path, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    unknown = sorted(set(data) - {"view"})
    if unknown:
        raise ViewFileError(path, None, unknown[0], "unknown table (views are [[view]] tables)")
    entries = data.get("view", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ViewFileError(path, None, "view", "write each view as a [[view]] table")
    return entries


def unknown_handle_problem(filt: ViewFilter, handles: Collection[str]) -> str | None:
    """Why ``filt`` names an assignee no agent has (``assignee = nobodyhere``: a typo
    would show an empty view, silently), or None. ``handles``: the agents' handles."""
    known = {h.lower() for h in handles}
    for group in filt.groups:
        for clause in group:
            if clause.field != "assignee":
                continue
            for value in clause.values:
                if value not in ("me", "none") and value not in known:
                    some = ", ".join(sorted(known)[:6]) + (", …" if len(known) > 6 else "")
                    return (
                        f"assignee {value!r}: no agent has that handle "
                        f"(use me, none or a handle: {some or 'no agents yet'})"
                    )
    return None


def _view_from(
    path: Path,
    entry: Mapping[str, Any],
    base: QueueView | None,
    source: str,
    handles: Collection[str] | None = None,
) -> QueueView | None:
    """One ``[[view]]`` table over ``base`` (the built-in of that name, if any). None: the
    team hides the built-in (``hide = true``). ``handles``: the agents' handles an
    ``assignee`` clause may name (None: not checked)."""
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name.strip().lower()):
        shown = name if isinstance(name, str) else None
        raise ViewFileError(
            path, shown, "name", "each view needs a name: letters, digits, - and _ (32 at most)"
        )
    name = name.strip().lower()
    for k in entry:
        if k not in VIEW_KEYS:
            raise ViewFileError(path, name, k, f"unknown key (use {', '.join(VIEW_KEYS)})")

    def text(key: str, default: str) -> str:
        if key not in entry:
            return default
        value = entry[key]
        if not isinstance(value, str):
            raise ViewFileError(path, name, key, "must be a string")
        # a label, short label or help is drawn on the queue: a control (ESC) shows as a
        # visible escape instead of reaching the terminal
        return visible(" ".join(value.split()), keep_newlines=False)

    hide = entry.get("hide", False)
    if not isinstance(hide, bool):
        raise ViewFileError(path, name, "hide", "must be true or false")
    if hide:
        if base is None:
            raise ViewFileError(path, name, "hide", "hides only a built-in view")
        return None
    label = text("label", base.label if base else name.replace("_", " ").capitalize())
    if not label:
        raise ViewFileError(path, name, "label", "must not be empty")
    raw_key = entry.get("key")
    if isinstance(raw_key, str) and raw_key and not raw_key.strip():
        raise ViewFileError(path, name, "key", f"{raw_key!r}: space is a queue key already (marks)")
    key = text("key", base.key if base else "")
    if len(key) > 1 or (key and not key.isprintable()):
        raise ViewFileError(path, name, "key", f"{key!r}: one character (or \"\" for none)")
    if key in RESERVED_KEYS:
        raise ViewFileError(
            path, name, "key", f"{key!r} is a queue key already (reserved: {''.join(sorted(RESERVED_KEYS)).strip()})"
        )
    sort = text("sort", base.sort if base else "due")
    if sort not in SORTS:
        raise ViewFileError(path, name, "sort", f"{sort!r}: use {', '.join(SORTS)}")
    columns = base.columns if base else QUEUE_COLUMNS
    if "columns" in entry:
        raw = entry["columns"]
        if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
            raise ViewFileError(path, name, "columns", "a list of column names")
        wanted = {c.strip().lower() for c in raw}
        bad = sorted(wanted - set(QUEUE_COLUMNS))
        if bad:
            raise ViewFileError(
                path, name, "columns", f"unknown column {bad[0]!r} (use {', '.join(QUEUE_COLUMNS)})"
            )
        columns = tuple(c for c in QUEUE_COLUMNS if c in wanted | REQUIRED_COLUMNS)
    filt = base.filter if base else ViewFilter()
    if "filter" in entry:
        raw_filter = entry["filter"]
        if not isinstance(raw_filter, str):
            raise ViewFileError(path, name, "filter", "must be a string")
        try:
            filt = parse_filter(raw_filter)
        except ValueError as exc:
            raise ViewFileError(path, name, "filter", str(exc)) from None
        problem = None if handles is None else unknown_handle_problem(filt, handles)
        if problem:
            raise ViewFileError(path, name, "filter", problem)
    if base is None and "filter" not in entry:
        raise ViewFileError(path, name, "filter", 'a new view needs a filter ("" for every open ticket)')
    return QueueView(
        name=name,
        label=label,
        key=key,
        help=text("help", base.help if base else filt.text or "every open ticket"),
        short=text("short", base.short if base else ""),
        filter=filt,
        sort=sort,
        columns=columns,
        source=source,
    )


def read_views(
    path: Path,
    base: Iterable[QueueView] = (),
    handles: Collection[str] | None = None,
) -> tuple[QueueView, ...]:
    """The views of ``path`` merged over ``base``: a view named like a base view overrides
    the keys it gives (or hides it with ``hide = true``), a new name is added after them.
    ``handles``: the agents' handles (from the database), so that ``assignee = HANDLE``
    names an agent there is; None: not checked. Raises :class:`ViewFileError` (file, view,
    key) on anything it cannot use."""
    data = _read_toml(path)
    views: dict[str, QueueView | None] = {v.name: v for v in base}
    builtin = dict(views)
    seen: set[str] = set()
    source = "built-in" if not views else str(path)
    for entry in _entries(path, data):
        probe = entry.get("name")
        name = probe.strip().lower() if isinstance(probe, str) else ""
        if name and name in seen:
            raise ViewFileError(path, name, "name", "defined twice in this file")
        view = _view_from(path, entry, builtin.get(name), source, handles)
        seen.add(name)
        views[name] = view
    out = tuple(v for v in views.values() if v is not None)
    if not out:
        raise ViewFileError(path, None, "view", "no view left to show")
    by_key: dict[str, str] = {}
    for v in out:
        if v.key and v.key in by_key:
            raise ViewFileError(
                path, v.name, "key", f"{v.key!r} is also the key of view {by_key[v.key]!r}"
            )
        if v.key:
            by_key[v.key] = v.name
    return out


def load_view_set(
    team_path: Path | None = None, handles: Collection[str] | None = None
) -> ViewSet:
    """The built-in views with the team file (default :func:`team_views_path`) over them.
    A team file that cannot be used leaves the built-ins in force; ``error`` says why.
    ``handles``: as :func:`read_views`."""
    builtins = read_views(builtin_views_path())
    path = team_views_path() if team_path is None else team_path
    if not path.is_file():
        return ViewSet(builtins)
    try:
        return ViewSet(read_views(path, builtins, handles), team_file=str(path))
    except ViewFileError as exc:
        return ViewSet(builtins, team_file=str(path), error=f"{exc}; using the built-in views")



def file_stamp(path: Path) -> tuple[int, int] | None:
    """``(mtime in ns, size)`` of a views file, None when there is none: what a console
    compares to notice that the file was edited (a stat, no read)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def reload_view_set(
    current: ViewSet, team_path: Path | None = None, handles: Collection[str] | None = None
) -> ViewSet:
    """The views file read again while a console runs (README "Views"): the new views
    when the file can be used (a removed file: the built-ins); otherwise the views in use
    stay, and ``error`` says why in one line (file, view, key) — unlike at start, when a
    bad file means the built-ins."""
    path = team_views_path() if team_path is None else team_path
    builtins = read_views(builtin_views_path())
    if not path.is_file():
        return ViewSet(builtins)
    try:
        return ViewSet(read_views(path, builtins, handles), team_file=str(path))
    except ViewFileError as exc:
        return replace(current, error=f"{exc}; keeping the views in use")

"""The keymap (issue 16): ``keymap.toml`` in the config directory rebinds keys by binding id.

Every key binding of the console has an id, ``<scope>.<action>`` (``queue.claim``,
``ticket.reply``, ``app.help``; an action with an argument adds it: ``app.switch_mode.queue``);
:func:`with_ids` gives them. The file maps ids to keys, Textual's keymap format::

    "queue.claim" = "C"            # one key
    "ticket.reply" = "R,ctrl+r"    # several keys, comma-separated

The app hands the entries to Textual (``App.set_keymap``), so the footer, ``?`` and the
command palette show the keys in force. A bad entry (unknown id, a key Textual cannot name,
not a string) is ignored and reported — one log line each naming the file and the id, and
one notice for them all (:meth:`Keymap.notice`; ``agent-console keymap check`` lists them);
the rest of the file still applies. No Textual import here but for the key names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from textual.binding import Binding
from textual.keys import KEY_TO_UNICODE_NAME, REPLACED_KEYS, Keys

from agent_console.paths import user_config_dir
from agent_console.toml_files import TomlFileError, load_toml

KEYMAP_FILE = "keymap.toml"
MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
_NAMED_KEYS = frozenset(k.value for k in Keys if "+" not in k.value) | {
    "enter", "space", "tab", "backspace", "delete", "insert", "comma", "question_mark",
    "slash", "backslash", "minus", "plus", "underscore", "at",
}
_ARG = re.compile(r"[^A-Za-z0-9_-]+")
#: every binding id :func:`with_ids` gave (the screens register theirs when imported)
KNOWN_IDS: set[str] = set()


def keymap_path() -> Path:
    """``keymap.toml`` in the user config directory (it may not exist)."""
    return user_config_dir() / KEYMAP_FILE


def binding_id(scope: str, action: str) -> str:
    """``scope.action`` with the action's arguments appended: ``show_view('mine')`` →
    ``scope.show_view.mine``; ``next_view(-1)`` → ``scope.next_view.-1``."""
    name, _, args = action.partition("(")
    parts = [p for p in _ARG.split(args.rstrip(")")) if p] if args else []
    return ".".join([scope, name.removeprefix("app."), *parts])


def with_ids(scope: str, bindings: Iterable[Binding | tuple[str, ...]]) -> list[Binding | tuple[str, ...]]:
    """``bindings`` with an id on each :class:`Binding` that has none
    (:func:`binding_id`); the ids are recorded in :data:`KNOWN_IDS`."""
    out: list[Binding | tuple[str, ...]] = []
    for b in bindings:
        if isinstance(b, Binding):
            if b.id is None:
                b = replace(b, id=binding_id(scope, b.action))
            KNOWN_IDS.add(b.id)  # type: ignore[arg-type]
        out.append(b)
    return out


def key_problem(keys: str) -> str | None:
    """Why ``keys`` (comma-separated, Textual's names: ``ctrl+k``, ``f5``, ``R``,
    ``question_mark``) is not a key string, or None when it is."""
    parts = [k.strip() for k in keys.split(",")]
    if not keys.strip() or any(not k for k in parts):
        return "an empty key"
    for key in parts:
        *mods, base = key.split("+")
        bad = [m for m in mods if m not in MODIFIERS]
        if bad or not base:
            return f"{key!r}: modifiers are {', '.join(sorted(MODIFIERS))}"
        if len(base) == 1:
            if not base.isprintable() or base.isspace():
                return f"{key!r}: not a key name"
            continue
        if base in _NAMED_KEYS or base in REPLACED_KEYS:
            continue
        name = KEY_TO_UNICODE_NAME.get(base, base.replace("_", " ").upper())
        try:
            unicodedata.lookup(name)
        except KeyError:
            return f"{key!r}: not a key name (e.g. ctrl+k, f5, R, escape, question_mark)"
    return None


@dataclass(frozen=True)
class Keymap:
    """The entries of a keymap file that apply (id → keys) and one line per entry that
    was ignored."""

    keys: dict[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    path: str | None = None
    #: the binding id of each problem (None: the whole file), in the order of ``problems``
    problem_ids: tuple[str | None, ...] = ()

    def notice(self) -> str | None:
        """What the console says about the ignored entries, as **one** notification (a
        toast per bad line covered the queue at 80×24): the line itself when there is one;
        for several, how many, the first ids and where the lines are —
        ``keymap.toml: 3 entries ignored ('queue.clame', 'queue.play' +1) — run
        `agent-console keymap check` (or see the log)``. None when nothing was ignored."""
        if not self.problems:
            return None
        if len(self.problems) == 1:
            return self.problems[0]
        ids = [i for i in self.problem_ids if i is not None]
        shown = ", ".join(repr(i) for i in ids[:2])
        more = f" +{len(ids) - 2}" if len(ids) > 2 else ""
        name = Path(self.path).name if self.path else KEYMAP_FILE
        return (
            f"{name}: {len(self.problems)} entries ignored ({shown}{more}) — run "
            "`agent-console keymap check` (or see the log)"
        )


def read_keymap(path: Path | None = None, known: Iterable[str] | None = None) -> Keymap:
    """The keymap file (default :func:`keymap_path`): entries that apply and problems.

    ``known``: the binding ids there are (an unknown id is a problem); None: not checked.
    A file that is not TOML is one problem and no entry. Never raises for the file's
    content."""
    path = keymap_path() if path is None else path
    if not path.is_file():
        return Keymap()
    where = f"keymap file {path}"
    try:
        data = load_toml(path)
    except TomlFileError as exc:
        return Keymap({}, (f"{where}: {exc}; no key changed",), str(path), (None,))
    except OSError as exc:
        return Keymap(
            {}, (f"{where}: cannot be read ({exc.strerror or exc})",), str(path), (None,)
        )
    known_ids = None if known is None else frozenset(known)
    keys: dict[str, str] = {}
    problems: list[str] = []
    ids: list[str | None] = []
    for bid, value in _flatten(data):
        problem: str | None
        if not isinstance(value, str):
            problem = f"{where}: {bid!r}: the keys must be a string like \"ctrl+k\"; ignored"
        elif known_ids is not None and bid not in known_ids:
            near = sorted(k for k in known_ids if k.split(".")[-1] == bid.split(".")[-1])
            hint = f" (did you mean {', '.join(near[:3])}?)" if near else " (README \"Keymap\" lists them)"
            problem = f"{where}: unknown binding id {bid!r}{hint}; ignored"
        else:
            why = key_problem(value)
            problem = f"{where}: {bid!r}: {why}; ignored" if why else None
        if problem:
            problems.append(problem)
            ids.append(bid)
            continue
        keys[bid] = ",".join(k.strip() for k in value.split(","))  # type: ignore[union-attr]
    return Keymap(keys, tuple(problems), str(path), tuple(ids))


def load_binding_ids() -> frozenset[str]:
    """Every binding id of the console: importing the screens registers theirs (their
    BINDINGS go through :func:`with_ids`). Imports Textual; for the app and the CLI."""
    import agent_console.app  # noqa: F401 - the app's own keys
    import agent_console.screens.knowledge  # noqa: F401 - their binding ids
    import agent_console.screens.mail  # noqa: F401
    import agent_console.screens.metrics  # noqa: F401
    import agent_console.screens.oncall  # noqa: F401
    import agent_console.screens.queue  # noqa: F401
    import agent_console.screens.ticket  # noqa: F401

    return frozenset(KNOWN_IDS)


def _flatten(data: Mapping[str, object], prefix: str = "") -> list[tuple[str, object]]:
    """Dotted ids written as TOML keys (``"queue.claim" = "C"``) or as tables
    (``[queue]`` / ``claim = "C"``) both give ``queue.claim``."""
    out: list[tuple[str, object]] = []
    for k, v in data.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.extend(_flatten(v, f"{name}."))
        else:
            out.append((name, v))
    return out

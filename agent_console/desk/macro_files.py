"""Macros as files (issue 16): reading, checking and rendering them. No database here.

A macro is a TOML file, or a Markdown file whose front matter (python-frontmatter) holds
the same keys and whose body is the text. Shipped macros live in ``data/macros/``; an
agent's own in ``<config dir>/macros/`` (``paths.user_config_dir()``); a personal macro
with the same name (the file's stem) wins over the shipped one, and says so.

Keys (all optional, but a macro does at least one thing)::

    title = "Ask for the transaction file"   # shown in the picker (default: the name)
    description = "…"                         # one line, shown in the picker
    kind = "reply"                            # the text is a public "reply" or a "note"
    text = "Hi {requester.first_name}, …"     # (Markdown: the body)
    status = "pending"                        # open | pending | on_hold | resolved
    resolution = "…"                          # the resolution summary (status resolved)
    priority = "urgent"                       # critical | urgent | minor
    reason = "…"                              # why (required with priority)
    type = "question"                         # request type
    add_tags = ["points"]                     # tags added; remove_tags: tags removed
    tier = 2                                  # escalate / de-escalate to this tier
    handoff = "…"                             # the handoff note (required with tier)

Placeholders in every text (text, resolution, reason, handoff): ``{requester.name}``,
``{requester.first_name}``, ``{requester.email}``, ``{ticket.key}``, ``{ticket.subject}``,
``{ticket.priority}``, ``{ticket.status}``, ``{org.name}``, ``{agent.name}``,
``{agent.first_name}``, ``{agent.handle}``, ``{kb:SLUG}`` (the article's title and link);
``{{`` and ``}}`` are literal braces. An unknown placeholder or a stray brace is an error
when the file is read; a placeholder with no value on a ticket is reported by name when
the macro is rendered (:class:`MissingValues`), never rendered as braces.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter  # type: ignore[import-untyped]

from agent_console.errors import NotFound, UserError
from agent_console.store.models import Priority, RequestType
from agent_console.views import status_label

#: the placeholders a macro may use besides ``{kb:SLUG}``
PLACEHOLDERS: tuple[str, ...] = (
    "requester.name",
    "requester.first_name",
    "requester.email",
    "ticket.key",
    "ticket.subject",
    "ticket.priority",
    "ticket.status",
    "org.name",
    "agent.name",
    "agent.first_name",
    "agent.handle",
)
#: statuses a macro may set (a ticket never goes back to new; closing is not a macro's)
MACRO_STATUSES = ("open", "pending", "on_hold", "resolved")
KINDS = ("reply", "note")
KEYS = (
    "title",
    "description",
    "kind",
    "text",
    "status",
    "resolution",
    "priority",
    "reason",
    "type",
    "add_tags",
    "remove_tags",
    "tier",
    "handoff",
)
#: texts that may hold placeholders
TEXT_KEYS = ("text", "resolution", "reason", "handoff")

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}|[{}]")
_KB = re.compile(r"kb:([a-z0-9][a-z0-9_-]*)")


class MacroError(UserError):
    """A macro file that cannot be used: one line naming the file and what is wrong."""


class MissingValues(UserError):
    """Placeholders with no value on this ticket (``names``, e.g. ``{org.name}``)."""

    def __init__(self, macro: str, names: list[str]) -> None:
        self.names = names
        super().__init__(
            f"macro {macro}: no value for {', '.join(names)} on this ticket; nothing was written"
        )


def placeholders(template: str) -> list[str]:
    """The placeholder names in ``template`` (``ticket.key``, ``kb:slug``), in order.

    Raises ValueError for an unknown name or a stray ``{`` / ``}``."""
    names: list[str] = []
    for m in _TOKEN.finditer(template):
        tok = m.group(0)
        if tok in ("{{", "}}"):
            continue
        if m.group(1) is None:
            line = template.count("\n", 0, m.start()) + 1
            raise ValueError(f"a lone {tok!r} on line {line} (write {tok * 2} for a literal brace)")
        name = m.group(1).strip()
        if name in PLACEHOLDERS or _KB.fullmatch(name):
            names.append(name)
            continue
        raise ValueError(
            f"unknown placeholder {{{name}}} (use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
            ", {kb:SLUG}; {{ and }} for literal braces)"
        )
    return names


def render(
    template: str,
    values: Mapping[str, str | None],
    kb: Callable[[str], str | None],
) -> tuple[str, list[str]]:
    """``template`` with its placeholders filled: ``(text, missing)``.

    ``values``: placeholder name → value (None or blank: no value); ``kb(slug)``: the
    article's "title (link)", or None when there is no such article. ``missing`` names
    every placeholder without a value (``{org.name}``); the text then keeps nothing in
    their place, and the caller refuses it (:class:`MissingValues`)."""
    missing: list[str] = []

    def one(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "{{":
            return "{"
        if tok == "}}":
            return "}"
        name = (m.group(1) or "").strip()
        kb_match = _KB.fullmatch(name)
        value = kb(kb_match.group(1)) if kb_match else values.get(name)
        if value is None or not str(value).strip():
            label = "{" + name + "}"
            if label not in missing:
                missing.append(label)
            return ""
        return str(value)

    return _TOKEN.sub(one, template), missing


@dataclass(frozen=True)
class Macro:
    """One macro, checked. ``source``: ``shipped`` or ``personal``; ``shadows``: the
    shipped file a personal macro of the same name hides (None otherwise)."""

    name: str
    path: Path
    source: str
    title: str
    description: str = ""
    kind: str = "reply"
    text: str = ""
    status: str | None = None
    resolution: str | None = None
    priority: str | None = None
    reason: str | None = None
    request_type: str | None = None
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    tier: int | None = None
    handoff: str | None = None
    shadows: Path | None = None

    @property
    def changes_fields(self) -> bool:
        return any(
            (
                self.status,
                self.priority,
                self.request_type,
                self.add_tags,
                self.remove_tags,
                self.tier,
            )
        )

    def field_lines(self) -> list[str]:
        """The field changes in words, in the order they apply (templates unrendered)."""
        out: list[str] = []
        if self.request_type:
            out.append(f"type → {self.request_type}")
        if self.add_tags or self.remove_tags:
            out.append(
                "tags "
                + " ".join([f"+{t}" for t in self.add_tags] + [f"-{t}" for t in self.remove_tags])
            )
        if self.priority:
            out.append(f"priority → {self.priority}")
        if self.status:
            out.append(f"status → {status_label(self.status)}")
        if self.tier:
            out.append(f"tier → {self.tier} (with a handoff note)")
        return out


def _tags(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where} must be a list of tags")
    return tuple(no_controls(t, where).strip().lower() for t in value if t.strip())


#: control characters a macro may not carry (newline and tab are text; ESC, the other C0
#: controls, DEL and C1 would reach a customer's mail or an agent's terminal)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def no_controls(value: str, where: str) -> str:
    """``value`` when it holds no control character but newline and tab; else ValueError
    naming ``where`` and the character (ESC would reach a customer's mail or a terminal)."""
    found = _CONTROLS.search(value.replace("\r\n", "\n"))
    if found:
        raise ValueError(f"{where} holds the control character {ord(found.group()):#04x}")
    return value


def _text(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key} must be text")
    return no_controls(value, key).strip() or None


def parse_macro(path: Path, source: str) -> Macro:
    """Read and check one macro file (``.toml`` or ``.md``). Raises :class:`MacroError`
    naming the file (and the key) when it cannot be used."""
    try:
        raw = path.read_text(encoding="utf-8")
        if path.suffix == ".toml":
            data: dict[str, object] = tomllib.loads(raw)
        else:
            post = frontmatter.loads(raw)
            data = dict(post.metadata)
            if post.content.strip():
                if "text" in data:
                    raise ValueError("the text is both in the front matter and the body")
                data["text"] = post.content
        return _build(path, source, data)
    except (OSError, UnicodeDecodeError) as exc:
        raise MacroError(f"macro file {path}: cannot read it ({exc})") from None
    except (tomllib.TOMLDecodeError, ValueError, TypeError) as exc:
        raise MacroError(f"macro file {path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - YAML errors of the front matter
        raise MacroError(f"macro file {path}: {type(exc).__name__}: {exc}") from None


def _build(path: Path, source: str, data: Mapping[str, object]) -> Macro:
    no_controls(path.stem, "the file name")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (keys: {', '.join(KEYS)})")
    kind = (_text(data, "kind") or "reply").lower()
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: use reply or note")
    texts = {k: _text(data, k) for k in TEXT_KEYS}
    for key, value in texts.items():
        if value:
            try:
                placeholders(value)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
    status = _text(data, "status")
    if status is not None:
        status = status.lower().replace(" ", "_")
        if status not in MACRO_STATUSES:
            raise ValueError(f"status {status!r}: use {', '.join(MACRO_STATUSES)}")
        if status == "resolved" and not texts["resolution"]:
            raise ValueError("status resolved needs a resolution (the summary: what fixed it)")
    priority = _text(data, "priority")
    if priority is not None:
        priority = Priority.parse(priority).value
        if not texts["reason"]:
            raise ValueError("priority needs a reason (it goes into the history)")
    rtype = _text(data, "type")
    if rtype is not None:
        rtype = rtype.lower()
        if rtype not in {r.value for r in RequestType}:
            raise ValueError(f"type {rtype!r}: use {', '.join(r.value for r in RequestType)}")
    tier = data.get("tier")
    if tier is not None:
        if isinstance(tier, bool) or not isinstance(tier, int) or not 1 <= tier <= 3:
            raise ValueError("tier must be 1, 2 or 3")
        if not texts["handoff"]:
            raise ValueError("tier needs a handoff note (what was found, what was tried)")
    macro = Macro(
        name=path.stem.lower(),
        path=path,
        source=source,
        title=_text(data, "title") or path.stem,
        description=_text(data, "description") or "",
        kind=kind,
        text=texts["text"] or "",
        status=status,
        resolution=texts["resolution"],
        priority=priority,
        reason=texts["reason"],
        request_type=rtype,
        add_tags=_tags(data.get("add_tags", []), "add_tags"),
        remove_tags=_tags(data.get("remove_tags", []), "remove_tags"),
        tier=tier,  # type: ignore[arg-type]
        handoff=texts["handoff"],
    )
    if not macro.text and not macro.changes_fields:
        raise ValueError("it does nothing: give it a text or a field change")
    return macro


@dataclass
class MacroBook:
    """The macros in force: shipped ones, then personal ones (same name: personal wins).
    ``errors``: one line per file that could not be used (the others still work)."""

    macros: dict[str, Macro] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, shipped: Path | None, personal: Path | None) -> MacroBook:
        book = cls()
        for folder, source in ((shipped, "shipped"), (personal, "personal")):
            if folder is None or not folder.is_dir():
                continue
            seen: dict[str, Path] = {}
            for path in sorted(_files(folder)):
                name = path.stem.lower()
                if name in seen:
                    book.errors.append(
                        f"macro file {path}: {seen[name].name} has the same name; ignored"
                    )
                    continue
                try:
                    macro = parse_macro(path, source)
                except MacroError as exc:
                    book.errors.append(str(exc))
                    continue
                seen[name] = path
                earlier = book.macros.get(name)
                if earlier is not None and earlier.source == "shipped":
                    macro = _with_shadow(macro, earlier.path)
                book.macros[name] = macro
        return book

    def sorted(self) -> list[Macro]:
        return sorted(self.macros.values(), key=lambda m: m.name)

    def get(self, name: str) -> Macro:
        key = name.strip().lower()
        for suffix in (".toml", ".md"):
            key = key.removesuffix(suffix)
        macro = self.macros.get(key)
        if macro is None:
            near = [n for n in self.macros if key and (key in n or n in key)]
            hint = f" (did you mean {', '.join(near[:3])}?)" if near else ""
            raise NotFound(f"no macro {name!r}{hint}; `agent-console macro list` shows them")
        return macro


def _files(folder: Path) -> Iterable[Path]:
    for path in folder.iterdir():
        if path.suffix in (".toml", ".md") and path.is_file() and not path.name.startswith("."):
            yield path


def _with_shadow(macro: Macro, shipped: Path) -> Macro:
    from dataclasses import replace

    return replace(macro, shadows=shipped)


def tags_after(current: Iterable[str], macro: Macro) -> list[str]:
    """The ticket's tags once ``macro`` adds and removes its own (order kept)."""
    out = [t for t in current if t not in macro.remove_tags]
    out += [t for t in macro.add_tags if t not in out and t not in macro.remove_tags]
    return out

"""Article files: front matter, slugs, and the plain text the search index holds.

An article is a Markdown file that starts with a small front matter block::

    ---
    title: Resetting a Portal password
    section: Account & access
    tags: [password, login, portal]
    slug: reset-portal-password        # optional; default: the file name without .md
    ---
    Body in Markdown…

No YAML library: the block is ``key: value`` lines; ``tags`` is ``[a, b]``, ``a, b`` or a
``- item`` list on the following lines. Unknown keys are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

MAX_TITLE = 300
MAX_SLUG = 120
MAX_BODY = 500_000  # characters; larger files are refused

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,118}[a-z0-9])?$")
WORD_RE = re.compile(r"[^\W_]+")
#: characters that must not reach a terminal from article text (C0/C1 controls but tab/newline)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

#: highlight markers in snippets (plain text, JSON); the UI turns them into a style
HL_START = "«"
HL_END = "»"


class ArticleError(ValueError):
    """A file that cannot become an article; ``str()`` is one line."""


@dataclass(frozen=True)
class ArticleDoc:
    """One parsed article, ready to store."""

    slug: str
    title: str
    section: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    body: str = ""

    @property
    def tags_csv(self) -> str:
        return ",".join(self.tags)


def slugify(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:MAX_SLUG].strip("-")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _strip_comment(value: str) -> str:
    # "value   # comment" (a '#' preceded by whitespace), not inside quotes
    if value.lstrip()[:1] in "\"'":
        return value
    m = re.search(r"\s#", value)
    return value[: m.start()] if m else value


def _tags(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    elif value.startswith("["):
        raise ArticleError("tags: unclosed '['")
    return [t for t in (_unquote(v).strip().lower() for v in value.split(",")) if t]


def split_front_matter(text: str) -> tuple[dict[str, object], str]:
    """``(fields, body)``; a file without a leading ``---`` has no fields."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, text
    end = None
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            end = i
            break
    if end is None:
        raise ArticleError("front matter is not closed by a '---' line")
    fields: dict[str, object] = {}
    key_for_list: str | None = None
    for n, raw in enumerate(lines[1:end], start=2):
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.lstrip().startswith("- ") and key_for_list:
            items = fields.setdefault(key_for_list, [])
            assert isinstance(items, list)
            items.append(_unquote(_strip_comment(line.lstrip()[2:])).strip().lower())
            continue
        if ":" not in line:
            raise ArticleError(
                f"front matter line {n}: expected 'key: value', got {line.strip()[:40]!r}"
            )
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if not re.fullmatch(r"[a-z_][a-z0-9_-]*", key):
            raise ArticleError(f"front matter line {n}: bad key {key[:40]!r}")
        value = _strip_comment(value).strip()
        if key == "tags":
            if value:
                fields[key] = _tags(value)
                key_for_list = None
            else:
                fields[key] = []
                key_for_list = key
            continue
        key_for_list = None
        fields[key] = _unquote(value)
    return fields, "\n".join(lines[end + 1 :])


def parse_article(text: str, *, default_slug: str) -> ArticleDoc:
    """Parse one article file's text; raises :class:`ArticleError` with a one-line reason."""
    if "\x00" in text:
        raise ArticleError("binary file (NUL bytes)")
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    fields, body = split_front_matter(text)
    body = CONTROL_RE.sub("", body).strip("\n")
    if len(body) > MAX_BODY:
        raise ArticleError(f"body longer than {MAX_BODY:,} characters")
    title = str(fields.get("title") or "").strip()
    if not title:
        m = re.search(r"^#\s+(.+)$", body, re.MULTILINE)
        if m is None:
            raise ArticleError("no title (front matter 'title:' or a '# ' heading)")
        title = m.group(1).strip()
    title = CONTROL_RE.sub("", title)
    if len(title) > MAX_TITLE:
        raise ArticleError(f"title longer than {MAX_TITLE} characters")
    slug = str(fields.get("slug") or "").strip()
    if slug:
        if not SLUG_RE.match(slug):
            raise ArticleError(f"bad slug {slug[:60]!r}: use lower-case letters, digits and '-'")
    else:
        slug = slugify(default_slug)
        if not slug:
            raise ArticleError("cannot derive a slug from the file name; add 'slug:'")
    section = CONTROL_RE.sub("", str(fields.get("section") or "")).strip()
    raw_tags = fields.get("tags") or []
    tags = raw_tags if isinstance(raw_tags, list) else _tags(str(raw_tags))
    clean_tags = tuple(dict.fromkeys(CONTROL_RE.sub("", t).replace(",", " ") for t in tags if t))
    return ArticleDoc(slug=slug, title=title, section=section, tags=clean_tags, body=body)


# ------------------------------------------------------------------ plain text for the index
_FENCE_RE = re.compile(r"^\s*(```|~~~).*$", re.MULTILINE)
_IMAGE_RE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_REFLINK_RE = re.compile(r"\[([^\]]*)\]\[[^\]]*\]")
_AUTOLINK_RE = re.compile(r"<(https?://[^>]+)>")
_TAG_RE = re.compile(r"</?[A-Za-z][^>]*>")
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE)
_QUOTE_RE = re.compile(r"^\s*>\s?", re.MULTILINE)
_BULLET_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)
_RULE_RE = re.compile(r"^\s*(?:[-*_]\s*){3,}$", re.MULTILINE)
_TABLE_RULE_RE = re.compile(r"^\s*\|?\s*:?-{2,}.*$", re.MULTILINE)
_EMPH_RE = re.compile(r"(\*{1,3}|_{2,3}|`+|~~)")


_LEAD_HEADING_RE = re.compile(r"\A\s*#{1,2}\s+(.+?)\s*#*\s*(?:\n|\Z)")


def without_title_heading(markdown: str, title: str) -> str:
    """The body without a leading ``# heading`` that repeats the title (snippets and the
    article pane show the title already)."""
    m = _LEAD_HEADING_RE.match(markdown)
    if m and m.group(1).strip().casefold() == title.strip().casefold():
        return markdown[m.end() :].lstrip("\n")
    return markdown


def plain_text(markdown: str) -> str:
    """Markdown reduced to words and sentences for indexing and snippets."""
    text = _FENCE_RE.sub("", markdown)
    text = _IMAGE_RE.sub(r"\1", text)
    text = _LINK_RE.sub(r"\1", text)
    text = _REFLINK_RE.sub(r"\1", text)
    text = _AUTOLINK_RE.sub(r"\1", text)
    text = _TAG_RE.sub(" ", text)
    text = _RULE_RE.sub("", text)
    text = _TABLE_RULE_RE.sub("", text)
    text = _HEADING_RE.sub("", text)
    text = _QUOTE_RE.sub("", text)
    text = _BULLET_RE.sub("", text)
    text = _EMPH_RE.sub("", text)
    text = text.replace("|", " ")
    text = text.replace(HL_START, '"').replace(HL_END, '"')
    text = CONTROL_RE.sub(" ", text)
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n", text)
    return text.strip()


def words_of(text: str) -> set[str]:
    """The vocabulary words of a text (for typo correction and prefix expansion)."""
    out = set()
    for w in WORD_RE.findall(unicodedata.normalize("NFKC", text).casefold()):
        if 3 <= len(w) <= 40 and not w.isdigit():
            out.add(w)
    return out


def article_words(doc: ArticleDoc) -> set[str]:
    return words_of(" ".join((doc.title, doc.section, " ".join(doc.tags), plain_text(doc.body))))


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """Split a snippet with «markers» into ``(text, highlighted)`` runs (markers removed)."""
    parts: list[tuple[str, bool]] = []
    pos = 0
    while pos < len(snippet):
        start = snippet.find(HL_START, pos)
        if start < 0:
            parts.append((snippet[pos:], False))
            break
        end = snippet.find(HL_END, start + 1)
        if end < 0:
            parts.append((snippet[pos:].replace(HL_START, ""), False))
            break
        if start > pos:
            parts.append((snippet[pos:start], False))
        parts.append((snippet[start + 1 : end], True))
        pos = end + 1
    return [(t, h) for t, h in parts if t]

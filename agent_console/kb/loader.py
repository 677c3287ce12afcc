"""Reading a folder of article files: every good file parsed, every bad one named."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from agent_console.kb.text import ArticleDoc, ArticleError, parse_article

MAX_FILE_BYTES = 2_000_000


@dataclass(frozen=True)
class FileError:
    """A file that was skipped, and why (one line)."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


def article_files(folder: Path) -> list[Path]:
    """Every ``*.md`` below ``folder`` (sorted, hidden folders and files skipped)."""
    files = []
    for p in folder.rglob("*.md"):
        rel = p.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if p.is_file():
            files.append(p)
    return sorted(files)


def read_article(path: Path, *, name: str) -> ArticleDoc | FileError:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return FileError(name, f"larger than {MAX_FILE_BYTES // 1_000_000} MB")
        raw = path.read_bytes()
    except OSError as exc:
        return FileError(name, f"cannot read: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return FileError(name, f"not UTF-8 text (byte {exc.start})")
    try:
        return parse_article(text, default_slug=path.stem)
    except ArticleError as exc:
        return FileError(name, str(exc))


def read_folder(
    folder: Path, progress: Callable[[int, int], None] | None = None
) -> Iterator[ArticleDoc | FileError]:
    """Parse every article file of ``folder``; a slug seen twice is an error for the second."""
    files = article_files(folder)
    seen: dict[str, str] = {}
    for i, path in enumerate(files, start=1):
        name = path.relative_to(folder).as_posix()
        item = read_article(path, name=name)
        if isinstance(item, ArticleDoc):
            if item.slug in seen:
                item = FileError(name, f"slug {item.slug!r} already used by {seen[item.slug]}")
            else:
                seen[item.slug] = name
        yield item
        if progress:
            progress(i, len(files))

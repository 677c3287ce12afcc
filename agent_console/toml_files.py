"""Read a TOML file a person wrote (config, keymap, views, SLA policy): one home for the
two ways its content can be unusable — not UTF-8 text, or not TOML — so that every reader
says it in one line instead of an unexpected error."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class TomlFileError(ValueError):
    """The file's content cannot be used; ``str(exc)`` is one line without the path:
    ``not UTF-8 text (byte N)`` or ``not valid TOML (<tomllib's reason>)``."""


def load_toml(path: Path) -> dict[str, Any]:
    """The parsed file. Raises :class:`OSError` when it cannot be read (missing, a folder,
    no permission) and :class:`TomlFileError` when its content is not UTF-8 TOML (TOML
    files are UTF-8 by the TOML 1.0 specification)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TomlFileError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TomlFileError(f"not valid TOML ({exc})") from None

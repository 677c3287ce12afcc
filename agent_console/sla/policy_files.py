"""Policy files: reading a policy from TOML, contract policies by name, and the cached
book of policies a desk works with. (The format and its validation are in ``policy.py``.)"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from agent_console.sla.errors import PolicyError
from agent_console.sla.policy import _NAME_RE, DEFAULT_POLICY_NAME, Policy, parse_policy
from agent_console.toml_files import TomlFileError, load_toml


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def load_policy(path: str | Path, name: str | None = None) -> Policy:
    """Read and validate a policy file. Raises :class:`PolicyError` naming the file."""
    path = Path(path)
    source = _display_path(path)
    try:
        data = load_toml(path)
    except FileNotFoundError:
        raise PolicyError(f"{source}: policy file not found") from None
    except IsADirectoryError:
        raise PolicyError(f"{source}: is a directory, not a policy file") from None
    except OSError as exc:
        raise PolicyError(f"{source}: cannot read: {exc.strerror or exc}") from None
    except TomlFileError as exc:
        raise PolicyError(f"{source}: {exc}") from None
    return parse_policy(data, source, name)


def load_default_policy() -> Policy:
    """The shipped default policy (``data/sla.toml``)."""
    from agent_console.paths import default_policy_path

    return load_policy(default_policy_path(), name=DEFAULT_POLICY_NAME)


def _default_dirs() -> list[Path]:
    from agent_console.paths import policies_dir

    return [policies_dir()]


def contract_names(search_dirs: Iterable[Path] | None = None) -> list[str]:
    """Names of the contract policies found in ``search_dirs``."""
    dirs = list(search_dirs) if search_dirs is not None else _default_dirs()
    names = {p.stem for d in dirs if Path(d).is_dir() for p in Path(d).glob("*.toml")}
    return sorted(names)


def load_policy_named(
    name: str | None,
    default: Policy | None = None,
    search_dirs: Sequence[Path] | None = None,
) -> Policy:
    """A contract policy by name (``data/policies/<name>.toml``); ``None`` or
    ``"default"`` is the default policy (``default`` if given)."""
    if name is None or name == "" or name == DEFAULT_POLICY_NAME:
        return default if default is not None else load_default_policy()
    dirs = list(search_dirs) if search_dirs is not None else _default_dirs()
    if not _NAME_RE.fullmatch(name):
        raise PolicyError(f"bad policy name {name!r} (letters, digits, '-', '_', '.')")
    for d in dirs:
        candidate = Path(d) / f"{name}.toml"
        if candidate.is_file():
            return load_policy(candidate, name=name)
    known = ", ".join(contract_names(dirs)) or "none"
    where = ", ".join(_display_path(Path(d)) for d in dirs)
    raise PolicyError(f"no policy named {name!r} in {where} (known: default, {known})")


class PolicyBook:
    """The default policy plus contract policies loaded on first use and cached."""

    def __init__(self, default: Policy, dirs: Sequence[Path] | None = None) -> None:
        self.default = default
        self.dirs = list(dirs) if dirs is not None else _default_dirs()
        self._cache: dict[str, Policy | PolicyError] = {}
        self._lock = threading.Lock()

    def get(self, name: str | None) -> Policy:
        if name is None or name == "" or name == DEFAULT_POLICY_NAME:
            return self.default
        found = self._cache.get(name)
        if found is None:
            with self._lock:
                found = self._cache.get(name)
                if found is None:
                    try:
                        found = load_policy_named(name, self.default, self.dirs)
                    except PolicyError as exc:
                        # remembered: a missing contract is not re-read from disk on
                        # every paint of every row that names it
                        found = exc
                    self._cache[name] = found
        if isinstance(found, PolicyError):
            raise found
        return found

    def names(self) -> list[str]:
        return [DEFAULT_POLICY_NAME, *contract_names(self.dirs)]

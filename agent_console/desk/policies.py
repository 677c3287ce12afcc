"""SLA policies stored in the database, versioned (README, "Stored policies").

A team on one database shares one set of policies: the default (name ``default``) and the
contracts (the names organizations' ``sla_policy`` give). Each is a list of versions in
``sla_policy_version``; the highest version is in force. A new database takes the bundled
default (``data/sla.toml``, or ``--policy FILE``) and the bundled contracts
(``data/policies/*.toml``) on its first start; after that only ``agent-console sla apply``
changes them (desk/policy_apply.py). A local policy file that differs from the stored
default is reported in one line and not used.

This module reads and writes the versions and builds the :class:`PolicyBook` a desk
works with; it opens no session of its own (the caller's transaction is used).
"""

from __future__ import annotations

import threading
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, col, select

from agent_console.sla import DEFAULT_POLICY_NAME, Policy, PolicyBook, PolicyError, parse_policy
from agent_console.sla.policy_files import load_policy
from agent_console.store.models import SlaPolicyVersion

#: ``stored_by`` of the versions a new database takes from the bundled files
BUNDLED = "bundled"


@dataclass(frozen=True)
class PolicySource:
    """A validated policy file: the policy and the exact text that will be stored."""

    policy: Policy
    text: str
    path: Path


def read_policy_file(path: str | Path, name: str) -> PolicySource:
    """Read and validate a policy file under ``name``. Raises :class:`PolicyError` naming
    the file, the key and the reason."""
    path = Path(path)
    policy = load_policy(path, name=name)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read: {exc}") from None
    return PolicySource(policy, text, path)


def parse_stored(row: SlaPolicyVersion) -> Policy:
    """The :class:`Policy` of a stored version (its text was validated when stored)."""
    source = f"stored policy {row.name} v{row.version}"
    try:
        data = tomllib.loads(row.toml)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML: {exc}") from None
    return parse_policy(data, source, row.name)


def latest_versions(session: Session) -> dict[str, SlaPolicyVersion]:
    """The version in force of every stored policy, by name."""
    newest = (
        select(SlaPolicyVersion.name, func.max(SlaPolicyVersion.version).label("v"))
        .group_by(SlaPolicyVersion.name)
        .subquery()
    )
    rows = session.exec(
        select(SlaPolicyVersion).join(
            newest,
            (col(SlaPolicyVersion.name) == newest.c.name)
            & (col(SlaPolicyVersion.version) == newest.c.v),
        )
    ).all()
    return {r.name: r for r in rows}


def policy_history(session: Session, name: str) -> list[SlaPolicyVersion]:
    """Every stored version of ``name``, oldest first."""
    return list(
        session.exec(
            select(SlaPolicyVersion)
            .where(SlaPolicyVersion.name == name)
            .order_by(col(SlaPolicyVersion.version))
        ).all()
    )


def store_version(
    session: Session, source: PolicySource, *, by: str, at: datetime
) -> SlaPolicyVersion:
    """Append the next version of ``source.policy.name`` (in the caller's transaction).
    Two writers racing for the same version number: one gets an IntegrityError."""
    name = source.policy.name
    current = session.exec(
        select(func.max(SlaPolicyVersion.version)).where(SlaPolicyVersion.name == name)
    ).one()
    row = SlaPolicyVersion(
        name=name,
        version=int(current or 0) + 1,
        toml=source.text,
        fingerprint=source.policy.fingerprint,
        stored_at=at,
        stored_by=by,
    )
    session.add(row)
    session.flush()
    return row


def store_bundled(
    session: Session, default: PolicySource, contracts_dir: Path, *, at: datetime
) -> None:
    """A new database's first start: store ``default`` and every bundled contract as
    version 1. Raises :class:`PolicyError` for a malformed bundled contract."""
    store_version(session, default, by=BUNDLED, at=at)
    if contracts_dir.is_dir():
        for path in sorted(contracts_dir.glob("*.toml")):
            store_version(session, read_policy_file(path, path.stem), by=BUNDLED, at=at)


class StoredPolicyBook(PolicyBook):
    """The :class:`PolicyBook` of the stored policies in force (parsed on first use)."""

    def __init__(self, rows: dict[str, SlaPolicyVersion]) -> None:
        if DEFAULT_POLICY_NAME not in rows:
            raise PolicyError("no default policy stored (run: agent-console sla apply FILE)")
        super().__init__(parse_stored(rows[DEFAULT_POLICY_NAME]), dirs=[])
        self.rows = dict(rows)
        self._parsed: dict[str, Policy | PolicyError] = {}
        self._parse_lock = threading.Lock()

    def version_of(self, name: str | None) -> SlaPolicyVersion | None:
        return self.rows.get(name or DEFAULT_POLICY_NAME)

    def get(self, name: str | None) -> Policy:
        if name is None or name == "" or name == DEFAULT_POLICY_NAME:
            return self.default
        found = self._parsed.get(name)
        if found is None:
            with self._parse_lock:
                found = self._parsed.get(name)
                if found is None:
                    row = self.rows.get(name)
                    if row is None:
                        known = ", ".join(self.names())
                        found = PolicyError(
                            f"no stored policy named {name!r} (stored: {known}; store one "
                            f"with: agent-console sla apply FILE --name {name})"
                        )
                    else:
                        try:
                            found = parse_stored(row)
                        except PolicyError as exc:
                            found = exc
                    self._parsed[name] = found
        if isinstance(found, PolicyError):
            raise found
        return found

    def names(self) -> list[str]:
        return [DEFAULT_POLICY_NAME, *sorted(n for n in self.rows if n != DEFAULT_POLICY_NAME)]


def differs_notice(local: PolicySource, stored: SlaPolicyVersion) -> str | None:
    """The one line a console says when its local policy file is not the stored default
    (None when they are the same policy)."""
    if local.policy.fingerprint == stored.fingerprint:
        return None
    return (
        f"policy file {local.path} differs from the stored default policy (v{stored.version}, "
        f"{stored.stored_at:%Y-%m-%d %H:%M} UTC by {stored.stored_by}); using the stored one "
        f"(to store the file: agent-console sla apply {local.path})"
    )

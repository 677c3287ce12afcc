"""Who is acting (issue 11): the identity a console has from its connection, the agent it
acts as, system actors, and the PostgreSQL roles and privileges behind them.

The rules, in one place:

- **PostgreSQL.** Each agent connects as their own database role (``agent.db_role``). The
  console knows the agent from ``current_user``; ``--agent`` names another agent only for
  the **administrator** (the role that owns the database, or a superuser) and for a
  **lead** — recorded as done by that role on the agent's behalf. The role that wrote an
  event or a message is stamped *inside* the database (``actor_role``, set by the trigger
  of revision 0010 from ``current_user``), and the same trigger refuses a plain agent's
  row claiming another person. Privileges (:func:`grant_sql`) keep agent roles from
  deleting or rewriting events and messages and from changing agents or policies.
- **SQLite** (one machine). The owner of the database file is the administrator. A
  person's action needs a known agent: ``--agent`` / ``AGENT_CONSOLE_AGENT`` / the config
  file, else the operating-system user mapped with ``agent add --os-user NAME``, else the
  demo agent of a database made by ``--demo`` / ``seed``; otherwise it is refused with
  one line saying how to pick one. ``actor_role`` is the OS user.
- **System actors** (agent rows of kind ``system``, handles ``system:<name>``) do the
  work no person does: import, seed, policy recompute, the alert watcher, mail fetch.

How people authenticate is the deployment's ``pg_hba.conf``; the console never checks a
password (README, "A team on one PostgreSQL").
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sqlalchemy import or_, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlmodel import Session, select

from agent_console.errors import PermissionDenied, UserError
from agent_console.redact import SECRET_KEY, mask_url
from agent_console.store.models import Agent

DEMO_HANDLE = "demo"
#: the work no person does, by what does it (``system:<name>``)
SYSTEM_ACTORS: dict[str, str] = {
    "import": "Import",
    "seed": "Demo data",
    "sla": "Policy recompute",
    "watch": "Alert watcher",
    "mail": "Mail fetcher",
}
SYSTEM_PREFIX = "system:"
#: PostgreSQL identifiers are at most 63 bytes
_PG_NAME_MAX = 63


class AgentKind(StrEnum):
    PERSON = "person"
    SYSTEM = "system"
    DEMO = "demo"  # the agent of a database made by --demo / seed


def system_handle(name: str) -> str:
    """``system:<name>`` for one of :data:`SYSTEM_ACTORS`; ValueError for another name."""
    if name not in SYSTEM_ACTORS:
        raise ValueError(f"unknown system actor {name!r}")
    return f"{SYSTEM_PREFIX}{name}"


@dataclass(frozen=True)
class Identity:
    """What the connection says about who is there.

    ``role``: PostgreSQL ``current_user``, or the OS user on SQLite. ``admin``: the owner of
    the database (PostgreSQL: ``pg_database.datdba`` or a superuser; SQLite: the owner of
    the file). ``owner``: the owning role / user name."""

    backend: str
    role: str
    owner: str
    admin: bool

    @property
    def postgres(self) -> bool:
        return self.backend == "postgresql"


def os_user() -> str:
    """The operating-system user running this console."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return str(os.getuid())


def read_identity(conn: Connection) -> Identity:
    """The identity of ``conn`` (one query on PostgreSQL, a ``stat`` on SQLite)."""
    if conn.dialect.name == "postgresql":
        row = conn.execute(
            text(
                "SELECT current_user, pg_catalog.pg_get_userbyid(d.datdba), "
                "pg_catalog.pg_has_role(current_user, d.datdba, 'MEMBER') OR r.rolsuper "
                "FROM pg_catalog.pg_database d, pg_catalog.pg_roles r "
                "WHERE d.datname = current_database() AND r.rolname = current_user"
            )
        ).one()
        return Identity("postgresql", str(row[0]), str(row[1]), bool(row[2]))
    me = os_user()
    path = conn.engine.url.database
    owner, admin = me, True
    if path and path != ":memory:" and not path.startswith("file:"):
        try:
            uid = Path(path).expanduser().stat().st_uid
        except OSError:
            uid = os.getuid()
        admin = uid == os.getuid()
        if not admin:
            try:
                import pwd

                owner = pwd.getpwuid(uid).pw_name
            except (ImportError, KeyError):
                owner = str(uid)
    return Identity(conn.dialect.name, me, owner, admin)


# ---------------------------------------------------------------- who acts
def no_agent_error(ident: Identity) -> UserError:
    """The one line for a person's action with no known agent."""
    if ident.postgres:
        if ident.admin:
            return PermissionDenied(
                f"role {ident.role} is the administrator, not an agent: act for one with "
                "--agent HANDLE"
            )
        return PermissionDenied(
            f"role {ident.role} is not an agent of this desk: ask the administrator "
            f"(role {ident.owner}) to run: agent-console agent add HANDLE --role {ident.role} "
            "…"
        )
    return PermissionDenied(
        'no agent to act as: pass --agent HANDLE, set agent = "HANDLE" in the config '
        "file, or map your user: agent-console agent add HANDLE --os-user "
        f"{ident.role} --name … --tier … (or try the demo data: agent-console --demo)"
    )


def _check_usable(agent: Agent) -> Agent:
    if agent.kind == AgentKind.SYSTEM:
        raise PermissionDenied(f"{agent.handle} is a system actor; a person acts as themself")
    if not agent.active:
        raise UserError(f"agent {agent.handle!r} is deactivated")
    return agent


def resolve_actor(session: Session, ident: Identity, requested: str | None, lookup) -> Agent:  # type: ignore[no-untyped-def]
    """The agent a person's action is done as (rules in the module docstring).

    ``requested``: the handle of ``--agent`` / the environment / the config (None: none
    named). ``lookup(session, handle)`` finds an agent by handle or raises NotFound.
    Raises :class:`PermissionDenied` (exit 3) when the connection may not act as them."""
    if ident.postgres:
        if requested is None:
            mine = session.exec(select(Agent).where(Agent.db_role == ident.role)).first()
            if mine is not None:
                return _check_usable(mine)
            demo = demo_agent(session)
            if demo is not None and ident.admin:
                return _check_usable(demo)
            raise no_agent_error(ident)
        # the connection's agent and the one named, in one round trip (the claim path)
        rows = session.exec(
            select(Agent).where(
                or_(Agent.db_role == ident.role, Agent.handle == requested.strip().lower())
            )
        ).all()
        mine = next((a for a in rows if a.db_role == ident.role), None)
        named = next((a for a in rows if a.handle == requested.strip().lower()), None)
        agent = _check_usable(named if named is not None else lookup(session, requested))
        if mine is not None and mine.id == agent.id:
            return agent
        if ident.admin or (mine is not None and mine.lead and mine.active):
            return agent
        if mine is None:
            raise no_agent_error(ident)
        raise PermissionDenied(
            f"you are connected as role {ident.role} (agent {mine.handle}); only a lead or "
            f"the administrator acts for another agent — drop --agent {agent.handle}"
        )
    if requested is not None:
        return _check_usable(lookup(session, requested))
    mapped = session.exec(select(Agent).where(Agent.os_user == ident.role)).first()
    if mapped is not None:
        return _check_usable(mapped)
    demo = demo_agent(session)
    if demo is not None:
        return _check_usable(demo)
    raise no_agent_error(ident)


def demo_agent(session: Session) -> Agent | None:
    """The demo agent, in a database made by ``--demo`` / ``seed`` only."""
    return session.exec(
        select(Agent).where(Agent.kind == AgentKind.DEMO.value, Agent.handle == DEMO_HANDLE)
    ).first()


def system_actor(session: Session, name: str) -> Agent:
    """The system actor ``system:<name>``, made on first use (on PostgreSQL the
    administrator's ``agent add`` / ``agent grant`` makes them all: agent roles may not
    add agents)."""
    handle = system_handle(name)
    agent = session.exec(select(Agent).where(Agent.handle == handle)).first()
    if agent is None:
        agent = Agent(handle=handle, name=SYSTEM_ACTORS[name], tier=1, kind=AgentKind.SYSTEM)
        session.add(agent)
        session.flush()
    return agent


def on_behalf_label(
    actor_role: str | None, agent: Agent | None, roles: dict[str, str], admin: str
) -> str:
    """``" (by …)"`` when the role that wrote a row is not the agent it names, else ``""``.

    ``roles``: database role / OS user → agent handle; ``admin``: the administrator's
    role (the database owner) or user (the SQLite file's owner). An agent with no role or
    user of their own (seeded demo data, SQLite without mappings) shows nothing."""
    if not actor_role or agent is None or agent.kind == AgentKind.SYSTEM:
        return ""
    if agent.db_role == actor_role or agent.os_user == actor_role:
        return ""
    by = roles.get(actor_role)
    if by is not None:
        return "" if by == agent.handle else f" (by {by}, on their behalf)"
    if agent.db_role is None and agent.os_user is None:
        return ""
    if actor_role == admin:
        return f" (by the administrator {actor_role}, on their behalf)"
    return f" (by {actor_role}, on their behalf)"


# ---------------------------------------------------------------- PostgreSQL roles
_IDENT_OK = re.compile(r"[^a-z0-9_]")


def _pg_name(*parts: str) -> str:
    name = "_".join(_IDENT_OK.sub("_", p.lower()) for p in parts)
    if len(name) <= _PG_NAME_MAX:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: _PG_NAME_MAX - 9]}_{digest}"


def agent_role_name(database: str, handle: str) -> str:
    """The role ``agent add`` creates for ``handle`` on ``database``: ``ac_<db>_<handle>``
    (letters other than a-z, 0-9 and _ become _; shortened with a hash past 63 bytes)."""
    return _pg_name("ac", database, handle)


def agents_group_name(database: str) -> str:
    """The group role holding the agents' privileges on ``database``: ``ac_<db>_agents``."""
    return _pg_name("ac", database, "agents")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: tables agent roles read but never change (agents, the schema's own bookkeeping)
READ_ONLY_TABLES = ("agent", "alembic_version", "schema_version")
#: append-only tables: agents add rows, never change or delete them. A stored policy
#: version is history too; only leads add one (the trigger ``ac_leads_only``, revision
#: 0012_teamfix, which also keeps the on-call rota and overrides to leads)
APPEND_ONLY_TABLES = ("ticket_event", "message", "sla_policy_version")


def grant_sql(database: str, group: str, tables: set[str]) -> list[str]:
    """The statements giving ``group`` an agent's privileges on ``database`` (idempotent;
    the owner runs them: ``agent-console agent grant``, and the owner's console after
    every upgrade). Every table in schema public, those a later revision adds included:
    the default privileges give the group SELECT on tables the owner creates from now
    on (read-only until the grants are applied again, which the upgrade does)."""
    g = quote_ident(group)
    out = [
        f"GRANT CONNECT ON DATABASE {quote_ident(database)} TO {g}",
        f"GRANT USAGE ON SCHEMA public TO {g}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {g}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {g}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {g}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {g}",
    ]
    for t in APPEND_ONLY_TABLES:
        if t in tables:
            out.append(f"REVOKE UPDATE, DELETE, TRUNCATE ON {quote_ident(t)} FROM {g}")
    for t in READ_ONLY_TABLES:
        if t in tables:
            out.append(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {quote_ident(t)} FROM {g}")
    return out


def connect_url(db_url: str, role: str) -> str:
    """How the agent with ``role`` connects: ``db_url`` with that user, without the password
    or a secret query value (``?password=`` …), masked again by :func:`redact.mask_url`."""
    given = make_url(db_url)
    url = URL.create(
        given.drivername,
        username=role,
        host=given.host,
        port=given.port,
        database=given.database,
        query={k: v for k, v in given.query.items() if not SECRET_KEY.fullmatch(k)},
    )
    return mask_url(url)


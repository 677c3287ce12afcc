"""Agents: add (with their database role / OS user, issue 11), list, privileges."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from agent_console.desk.core import INSUFFICIENT_PRIVILEGE, DeskCore
from agent_console.desk.identity import (
    SYSTEM_ACTORS,
    AgentKind,
    agent_role_name,
    agents_group_name,
    connect_url,
    grant_sql,
    quote_ident,
)
from agent_console.errors import PermissionDenied, UserError
from agent_console.store.db import first_line
from agent_console.store.models import Agent

ROLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.@-]{0,62}$")

HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")


@dataclass(frozen=True)
class AgentInfo:
    handle: str
    name: str
    tier: int
    on_call: bool
    lead: bool
    active: bool
    #: person, system or demo (desk/identity.AgentKind)
    kind: str = AgentKind.PERSON.value
    #: PostgreSQL role the agent connects as; SQLite OS user mapped to them
    db_role: str | None = None
    os_user: str | None = None
    #: ``agent add`` on PostgreSQL: how the agent connects (URL without a password)
    connect: str | None = None

    @classmethod
    def of(cls, a: Agent, connect: str | None = None) -> AgentInfo:
        return cls(
            a.handle,
            a.name,
            a.tier,
            a.on_call,
            a.lead,
            a.active,
            a.kind,
            a.db_role,
            a.os_user,
            connect,
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class AgentsMixin(DeskCore):
    def add_agent(
        self,
        handle: str,
        name: str,
        tier: int,
        *,
        on_call: bool = False,
        lead: bool = False,
        role: str | None = None,
        os_user: str | None = None,
    ) -> AgentInfo:
        """Add a person agent (the administrator only: the database owner / file owner).

        PostgreSQL: the agent connects as ``role`` (an existing role, mapped) or, without
        it, as a new LOGIN role ``ac_<db>_<handle>`` made here (needs CREATEROLE); either
        way the role joins ``ac_<db>_agents``, which holds the agents' privileges
        (:meth:`grant_agent_privileges`). ``connect`` of the result is how they connect.
        SQLite: ``os_user`` maps an operating-system user to the agent (they act as it
        without --agent). Errors: UserError (bad input, exit 2), PermissionDenied (3)."""
        handle = handle.strip().lower()
        if not HANDLE_RE.match(handle):
            raise UserError(
                f"bad handle {handle!r}: use 1-32 lower-case letters, digits, '.', '_' or '-'"
            )
        if tier not in (1, 2, 3):
            raise UserError(f"tier must be 1, 2 or 3, not {tier}")
        if not name.strip():
            raise UserError("an agent needs a name (--name)")
        ident = self.identity
        if ident.postgres and os_user:
            raise UserError("--os-user is for SQLite; on PostgreSQL an agent is a role (--role)")
        if not ident.postgres and role:
            raise UserError("--role is for PostgreSQL; on SQLite map a user with --os-user")
        if role is not None and not ROLE_RE.match(role):
            raise UserError(f"bad role name {role!r}")
        if os_user is not None and not os_user.strip():
            raise UserError("--os-user needs a user name")
        self.require_admin("adds agents")
        with self.write() as s:
            if s.exec(select(Agent).where(Agent.handle == handle)).first():
                raise UserError(f"agent {handle!r} already exists")
            connect = None
            db_role = None
            if ident.postgres:
                db_role = role or agent_role_name(self._database_name(), handle)
                taken = s.exec(select(Agent).where(Agent.db_role == db_role)).first()
                if taken is not None:
                    raise UserError(f"role {db_role} is already agent {taken.handle}")
                self._ensure_role(s, db_role, create=role is None)
                self._grant_all(s, extra=[db_role])
                connect = connect_url(self.settings.db_url, db_role)
            elif os_user:
                taken = s.exec(select(Agent).where(Agent.os_user == os_user.strip())).first()
                if taken is not None:
                    raise UserError(f"user {os_user.strip()} is already agent {taken.handle}")
            agent = Agent(
                handle=handle,
                name=name.strip(),
                tier=tier,
                on_call=on_call,
                lead=lead,
                db_role=db_role,
                os_user=os_user.strip() if os_user else None,
            )
            s.add(agent)
            s.flush()
            return AgentInfo.of(agent, connect)

    def grant_agent_privileges(self) -> list[str]:
        """(PostgreSQL, the administrator) Give ``ac_<db>_agents`` the agents' privileges
        again: everything on every table, except that ticket_event, message and
        sla_policy_version are append-only and agent and the schema tables read-only
        (:func:`~agent_console.desk.identity.grant_sql`). The owner's upgrade does it too.
        Returns the statements run; SQLite: nothing to do."""
        if not self.identity.postgres:
            return []
        self.require_admin("grants privileges")
        with self.write() as s:
            return self._grant_all(s)

    def regrant_after_upgrade(self) -> None:
        """After an upgrade on PostgreSQL (the owner migrates): apply the agents'
        privileges again when the team has its group role, so that tables and rules a
        revision added are the agents' at once (``agent grant`` by hand is not needed)."""
        ident = self.identity
        if not ident.postgres or not ident.admin:
            return
        with self.write() as s:
            group = agents_group_name(str(s.execute(text("SELECT current_database()")).scalar_one()))
            if s.execute(
                text("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :r"), {"r": group}
            ).first():
                self._grant_all(s)

    # ------------------------------------------------------------ PostgreSQL roles
    def _database_name(self) -> str:
        with self.read() as s:
            return str(s.execute(text("SELECT current_database()")).scalar_one())

    def _ensure_role(self, s: Session, role: str, *, create: bool) -> None:
        exists = s.execute(
            text("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :r"), {"r": role}
        ).first()
        if exists and create:
            raise UserError(
                f"role {role} already exists: map it with --role {role} if it is this agent's"
            )
        if not exists and not create:
            raise UserError(f"no role {role} on this server (create it, or leave out --role)")
        if create:
            self._ddl(s, f"CREATE ROLE {quote_ident(role)} LOGIN", role)

    def _grant_all(self, s: Session, extra: list[str] | None = None) -> list[str]:
        for name in SYSTEM_ACTORS:  # agent roles may not add them on first use
            self.system_actor(s, name)
        db = str(s.execute(text("SELECT current_database()")).scalar_one())
        group = agents_group_name(db)
        run: list[str] = []
        if not s.execute(
            text("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = :r"), {"r": group}
        ).first():
            run.append(f"CREATE ROLE {quote_ident(group)} NOLOGIN")
        tables = set(inspect(s.connection()).get_table_names())
        run += grant_sql(db, group, tables)
        roles = s.exec(select(Agent.db_role).where(Agent.db_role.is_not(None))).all()  # type: ignore[union-attr]
        members = [r for r in roles if r] + list(extra or [])
        for stmt in run:
            self._ddl(s, stmt, group)
        # the agents (and a role being added in this transaction) join the group
        pending = [
            r[0]
            for r in s.execute(
                text(
                    "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(:names) "
                    "AND NOT pg_catalog.pg_has_role(rolname, :g, 'MEMBER')"
                ),
                {"names": members, "g": group},
            )
        ]
        for r in pending:
            stmt = f"GRANT {quote_ident(group)} TO {quote_ident(r)}"
            self._ddl(s, stmt, group)
            run.append(stmt)
        return run

    def _ddl(self, s: Session, stmt: str, subject: str) -> None:
        try:
            with s.begin_nested():
                s.execute(text(stmt))
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
                raise PermissionDenied(
                    f"{subject}: {first_line(exc)} (the administrator needs CREATEROLE, or "
                    "a superuser runs it)"
                ) from exc
            raise

    def list_agents(
        self, *, include_inactive: bool = False, include_system: bool = False
    ) -> list[AgentInfo]:
        """Agents by tier and handle: active people (and the demo agent); deactivated ones
        with ``include_inactive``, the system actors with ``include_system``."""
        with self.read() as s:
            q = select(Agent).order_by(Agent.tier, Agent.handle)
            if not include_inactive:
                q = q.where(Agent.active == True)  # noqa: E712
            if not include_system:
                q = q.where(Agent.kind != AgentKind.SYSTEM.value)
            return [AgentInfo.of(a) for a in s.exec(q)]

    def get_agent(self, handle: str | None = None) -> AgentInfo:
        """The agent ``handle`` (default: the acting agent, see :meth:`acting_agent`)."""
        with self.read() as s:
            if handle:
                return AgentInfo.of(self.agent_by_handle(s, handle))
            return AgentInfo.of(self.acting_agent(s))

"""The desk's core: engine, clock, policies, transactions and the event trail.

Every query and command of the application goes through a :class:`Desk` (see
``agent_console/desk/__init__.py``); this module holds what they all share.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session, select

from agent_console.desk.identity import (
    AgentKind,
    Identity,
    read_identity,
    resolve_actor,
    system_actor,
)
from agent_console.desk.metrics_rollup import event_logged
from agent_console.desk.policies import (
    PolicySource,
    StoredPolicyBook,
    differs_notice,
    latest_versions,
    read_policy_file,
    store_bundled,
)
from agent_console.errors import NotFound, PermissionDenied, UserError
from agent_console.paths import default_db_url, default_policy_path, policies_dir
from agent_console.settings import Settings, check_zone
from agent_console.sla import DEFAULT_POLICY_NAME, Policy, PolicyError
from agent_console.store.db import first_line, make_engine, migrate, safe_url
from agent_console.store.migrations import schema_state
from agent_console.store.models import Agent, Message, Organization, Ticket, TicketEvent

Clock = Callable[[], datetime]
#: SQLSTATE of a privilege the database refused (GRANT/REVOKE, the actor trigger)
INSUFFICIENT_PRIVILEGE = "42501"


def system_clock() -> datetime:
    return datetime.now(UTC)


def rehearsal_clock(start: datetime) -> Clock:
    """A clock that reads ``start`` now and keeps ticking from there (``--at``, issue 10)."""
    origin = time.monotonic()
    begin = start.astimezone(UTC)
    return lambda: begin + timedelta(seconds=time.monotonic() - origin)


def _is_explicit_policy(path: Path) -> bool:
    """``--policy`` / ``AGENT_CONSOLE_POLICY`` / config named a file other than the bundled
    default."""
    try:
        return Path(path).resolve() != default_policy_path().resolve()
    except OSError:
        return True


class DeskCore:
    """Shared plumbing; the public API is :class:`agent_console.desk.Desk`."""

    def __init__(self, engine: Engine, settings: Settings, *, clock: Clock | None = None) -> None:
        self.engine = engine
        self.settings = settings
        fixed = settings.now
        if clock is None and settings.at is not None:
            clock = rehearsal_clock(settings.at)
        self._clock: Clock = clock or ((lambda: fixed) if fixed else system_clock)
        self._write_engine = engine.execution_options(sqlite_immediate=True)
        self._identity: Identity | None = None
        self._actor: tuple[str, bool] | None = None
        #: one-line notices for the person starting the console (CLI: stderr; TUI: a
        #: notification), e.g. a local policy file that differs from the stored one
        self.notices: list[str] = []
        self.policies: StoredPolicyBook = self._open_policies()

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock | None = None) -> DeskCore:
        """A desk on ``settings.db_url``, its schema migrated first when this console may
        (store/migrations.py), and the open tickets re-stamped after such an upgrade."""
        is_default = settings.db_url == default_db_url()
        engine = make_engine(settings.db_url, create_folder=is_default)
        try:
            before = schema_state(engine)
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        desk = cls(engine, settings, clock=clock)
        if before.needs_restamp:
            desk.restamp_after_upgrade()
        if not before.up_to_date:
            desk.regrant_after_upgrade()
        if before.can_migrate:  # also finishes a rebuild an earlier start did not
            desk.rebuild_after_upgrade()
        return desk

    def regrant_after_upgrade(self) -> None:
        """After an upgrade: the agents' privileges on what it added (PostgreSQL; the
        :class:`Desk` does it, ``AgentsMixin.regrant_after_upgrade``)."""

    def rebuild_after_upgrade(self) -> None:
        """Rebuild what an upgrade left to be rebuilt (the metrics rollup:
        ``MetricsMixin.rebuild_metrics_rollup``); a bare ``DeskCore`` leaves it to the
        next ``Desk`` that opens."""

    def restamp_after_upgrade(self) -> None:
        """Recompute what an upgrade left unstamped. The :class:`Desk` does it
        (``PolicyApplyMixin.restamp_after_upgrade``); this plumbing class has no recompute,
        so a bare ``DeskCore`` leaves the stamps to the next ``Desk`` that opens."""

    # ------------------------------------------------------------ stored policies
    def _open_policies(self) -> StoredPolicyBook:
        """The stored policies in force (desk/policies.py); a new database first takes the
        bundled default (or ``--policy FILE``) and the bundled contracts."""
        explicit = _is_explicit_policy(self.settings.policy)
        local: PolicySource | None = None
        if explicit:
            local = self._read_local_policy()
        with self.read() as s:
            rows = latest_versions(s)
        if not rows:
            local = local or self._read_local_policy()
            try:
                with Session(self._write_engine, expire_on_commit=False) as s:
                    if not latest_versions(s):  # re-checked under the write lock
                        store_bundled(s, local, policies_dir(), at=self.now())
                        s.commit()
            except IntegrityError:
                pass  # another console stored them first (PostgreSQL); read theirs
            except PolicyError as exc:
                raise UserError(f"SLA policy: {exc}") from exc
            except SQLAlchemyError as exc:
                raise UserError(f"database error: {first_line(exc)}") from exc
            with self.read() as s:
                rows = latest_versions(s)
        try:
            book = StoredPolicyBook(rows)
        except PolicyError as exc:
            raise UserError(f"SLA policy: {exc}") from exc
        if explicit and local is not None:
            notice = differs_notice(local, rows[DEFAULT_POLICY_NAME])
            if notice:
                self.notices.append(notice)
        return book

    def _read_local_policy(self) -> PolicySource:
        try:
            return read_policy_file(self.settings.policy, DEFAULT_POLICY_NAME)
        except PolicyError as exc:
            raise UserError(f"SLA policy: {exc}") from exc

    def reload_policies(self) -> None:
        """Read the stored policies again (after ``sla apply`` here or on another console)."""
        with self.read() as s:
            rows = latest_versions(s)
        try:
            self.policies = StoredPolicyBook(rows)
        except PolicyError as exc:
            raise UserError(f"SLA policy: {exc}") from exc
        # desk/queue.open_policy_names keeps the loaded policies a while: not these
        self.__dict__.pop("_open_policies_cache", None)

    def take_notices(self) -> list[str]:
        """The pending start-up notices (each returned once)."""
        out, self.notices = self.notices, []
        return out

    # ------------------------------------------------------------ clock & identity
    def now(self) -> datetime:
        return self._clock()

    @property
    def identity(self) -> Identity:
        """Who the connection is (PostgreSQL role / OS user, administrator or not); read
        once per desk (desk/identity.py)."""
        if self._identity is None:
            with self._errors(), self.engine.connect() as conn:
                self._identity = read_identity(conn)
        return self._identity

    def acting_agent(self, session: Session, agent: str | None = None) -> Agent:
        """The agent a person's action is done as: ``agent`` (a command's ``--agent``), else
        the configured one, else the agent of the connection (rules: desk/identity.py).
        Raises PermissionDenied (exit 3) with one line saying how to pick one."""
        requested = (agent or self.settings.agent or "").strip().lower() or None
        return resolve_actor(session, self.identity, requested, self.agent_by_handle)

    @property
    def actor(self) -> str:
        """The acting agent's handle (see :meth:`acting_agent`; raises when there is none)."""
        if self._actor is None:
            with self.read() as s:
                me = self.acting_agent(s)
                self._actor = (me.handle, me.kind == AgentKind.DEMO)
        return self._actor[0]

    @property
    def is_demo_actor(self) -> bool:
        """The acting agent is the demo agent (a database made by --demo / seed)."""
        try:
            _ = self.actor
        except UserError:
            return False
        return bool(self._actor and self._actor[1])

    def require_admin(self, doing: str) -> None:
        """Only the administrator (the owner of the database / of the SQLite file) ``doing``."""
        ident = self.identity
        if not ident.admin:
            raise PermissionDenied(
                f"only the administrator ({'role' if ident.postgres else 'user'} "
                f"{ident.owner}) {doing}; you are {ident.role}"
            )

    def system_actor(self, session: Session, name: str) -> Agent:
        """The system actor ``system:<name>`` (import, seed, sla, watch, mail)."""
        return system_actor(session, name)

    @property
    def display_zone(self) -> ZoneInfo:
        """The zone the agent reads times in, on every screen and in the CLI: ``--tz`` /
        ``AGENT_CONSOLE_TZ`` / config, else the default policy's zone."""
        if self.settings.timezone:
            return check_zone(self.settings.timezone)
        return self.default_policy.tz

    @property
    def default_policy(self) -> Policy:
        return self.policies.get(None)

    def policy_named(self, name: str | None) -> Policy:
        try:
            return self.policies.get(name)
        except (ValueError, OSError) as exc:
            raise UserError(f"contract policy {name!r}: {exc}") from exc

    # ------------------------------------------------------------ transactions
    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (rolled back at the end)."""
        with self._errors(), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: commits on success, rolls back everything on any error."""
        role = self.identity.role
        with self._errors(), Session(self._write_engine, expire_on_commit=False) as session:

            def stamp(sess: Session, _ctx: object, _objs: object) -> None:
                # who wrote the row (PostgreSQL: the trigger overrides it with current_user)
                for obj in sess.new:
                    if isinstance(obj, Message | TicketEvent) and obj.actor_role is None:
                        obj.actor_role = role

            event.listen(session, "before_flush", stamp)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except UserError:
            raise
        except IntegrityError as exc:
            raise UserError(f"refused by the database: {first_line(exc)}") from exc
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != INSUFFICIENT_PRIVILEGE:
                if isinstance(exc, OperationalError):
                    raise UserError(
                        f"database {safe_url(self.engine)} unavailable: {first_line(exc)}"
                    ) from exc
                raise UserError(f"database error: {first_line(exc)}") from exc
            raise PermissionDenied(f"refused by the database: {first_line(exc)}") from exc
        except OperationalError as exc:
            raise UserError(
                f"database {safe_url(self.engine)} unavailable: {first_line(exc)}"
            ) from exc
        except SQLAlchemyError as exc:
            raise UserError(f"database error: {first_line(exc)}") from exc

    # ------------------------------------------------------------ shared lookups
    def agent_by_handle(self, session: Session, handle: str) -> Agent:
        handle = handle.strip().lower()
        agent = session.exec(select(Agent).where(Agent.handle == handle)).first()
        if agent is None:
            raise NotFound(f"unknown agent {handle!r} (see `agent-console agent list`)")
        if not agent.active:
            raise UserError(f"agent {handle!r} is deactivated")
        return agent

    def ticket_by_key(self, session: Session, key: str) -> Ticket:
        ticket = session.exec(select(Ticket).where(Ticket.key == key.strip().upper())).first()
        if ticket is None:
            raise NotFound(f"no ticket {key!r}")
        return ticket

    def policy_for_ticket(self, session: Session, ticket: Ticket) -> Policy:
        if ticket.organization_id is None:
            return self.default_policy
        org = session.get(Organization, ticket.organization_id)
        return self.policy_named(org.sla_policy if org else None)

    def event_details(self, details: dict[str, Any]) -> dict[str, Any]:
        """An event's details as stored: under a ``--at`` rehearsal they say so
        (``rehearsal: true``). Every event writer goes through it (:meth:`log`)."""
        if self.settings.at is not None:
            details["rehearsal"] = True
        return details

    def log(
        self,
        session: Session,
        ticket_id: int | None,
        kind: str,
        *,
        agent_id: int | None = None,
        at: datetime | None = None,
        **details: Any,
    ) -> TicketEvent:
        """Append one event to the ticket's trail (in the caller's transaction).
        ``ticket_id`` None: a desk-wide event (``policy_applied``), see models.TicketEvent.
        Under a ``--at`` rehearsal the event says so (``rehearsal: true``)."""
        ev = TicketEvent(
            ticket_id=ticket_id,
            agent_id=agent_id,
            kind=kind,
            at=at or self.now(),
            details=self.event_details(details),
            actor_role=self.identity.role,  # PostgreSQL: the trigger stamps current_user
        )
        event_logged(session, ticket_id, kind, ev.at, ev.details)  # the metrics rollup
        session.add(ev)
        return ev

"""The desk's core: engine, clock, policies, transactions and the event trail.

Every query and command of the application goes through a :class:`Desk` (see
``agent_console/desk/__init__.py``); this module holds what they all share.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session, select

from agent_console.errors import NotFound, UserError
from agent_console.paths import default_db_url, policies_dir
from agent_console.settings import DEMO_AGENT, Settings, check_zone
from agent_console.sla import Policy, PolicyBook, PolicyError, load_policy
from agent_console.store.db import first_line, open_engine, safe_url
from agent_console.store.models import Agent, Organization, Ticket, TicketEvent

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def rehearsal_clock(start: datetime) -> Clock:
    """A clock that reads ``start`` now and keeps ticking from there (``--at``, issue 10)."""
    origin = time.monotonic()
    begin = start.astimezone(UTC)
    return lambda: begin + timedelta(seconds=time.monotonic() - origin)


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
        try:
            default = load_policy(settings.policy, name="default")
        except PolicyError as exc:
            raise UserError(f"SLA policy: {exc}") from exc
        self.policies = PolicyBook(default, [policies_dir()])

    @classmethod
    def open(cls, settings: Settings, *, clock: Clock | None = None) -> DeskCore:
        is_default = settings.db_url == default_db_url()
        return cls(open_engine(settings.db_url, create_folder=is_default), settings, clock=clock)

    # ------------------------------------------------------------ clock & identity
    def now(self) -> datetime:
        return self._clock()

    @property
    def actor(self) -> str:
        """The acting agent's handle: the configured one, else the demo tier 1 agent."""
        return (self.settings.agent or DEMO_AGENT).strip().lower()

    @property
    def is_demo_actor(self) -> bool:
        return not self.settings.agent

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
        with self._errors(), Session(self._write_engine, expire_on_commit=False) as session:
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
            if handle == DEMO_AGENT and self.is_demo_actor:
                return self._create_demo_agent(session)
            raise NotFound(f"unknown agent {handle!r} (see `agent-console agent list`)")
        if not agent.active:
            raise UserError(f"agent {handle!r} is deactivated")
        return agent

    def _create_demo_agent(self, session: Session) -> Agent:
        agent = Agent(handle=DEMO_AGENT, name="Demo Agent", tier=1)
        session.add(agent)
        session.flush()
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

    def log(
        self,
        session: Session,
        ticket_id: int,
        kind: str,
        *,
        agent_id: int | None = None,
        at: datetime | None = None,
        **details: Any,
    ) -> TicketEvent:
        """Append one event to the ticket's trail (in the caller's transaction). Under a
        ``--at`` rehearsal the event says so (``rehearsal: true``)."""
        if self.settings.at is not None:
            details["rehearsal"] = True
        ev = TicketEvent(
            ticket_id=ticket_id, agent_id=agent_id, kind=kind, at=at or self.now(), details=details
        )
        session.add(ev)
        return ev

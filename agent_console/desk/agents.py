"""Agents: add, list."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from sqlmodel import select

from agent_console.desk.core import DeskCore
from agent_console.errors import UserError
from agent_console.store.models import Agent

HANDLE_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")


@dataclass(frozen=True)
class AgentInfo:
    handle: str
    name: str
    tier: int
    on_call: bool
    lead: bool
    active: bool

    @classmethod
    def of(cls, a: Agent) -> AgentInfo:
        return cls(a.handle, a.name, a.tier, a.on_call, a.lead, a.active)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class AgentsMixin(DeskCore):
    def add_agent(
        self, handle: str, name: str, tier: int, *, on_call: bool = False, lead: bool = False
    ) -> AgentInfo:
        handle = handle.strip().lower()
        if not HANDLE_RE.match(handle):
            raise UserError(
                f"bad handle {handle!r}: use 1-32 lower-case letters, digits, '.', '_' or '-'"
            )
        if tier not in (1, 2, 3):
            raise UserError(f"tier must be 1, 2 or 3, not {tier}")
        if not name.strip():
            raise UserError("an agent needs a name (--name)")
        with self.write() as s:
            if s.exec(select(Agent).where(Agent.handle == handle)).first():
                raise UserError(f"agent {handle!r} already exists")
            agent = Agent(handle=handle, name=name.strip(), tier=tier, on_call=on_call, lead=lead)
            s.add(agent)
            s.flush()
            return AgentInfo.of(agent)

    def list_agents(self, *, include_inactive: bool = False) -> list[AgentInfo]:
        with self.read() as s:
            q = select(Agent).order_by(Agent.tier, Agent.handle)
            if not include_inactive:
                q = q.where(Agent.active == True)  # noqa: E712
            return [AgentInfo.of(a) for a in s.exec(q)]

    def get_agent(self, handle: str | None = None) -> AgentInfo:
        """The agent ``handle`` (default: the acting agent, see :meth:`acting_agent`)."""
        with self.read() as s:
            if handle:
                return AgentInfo.of(self.agent_by_handle(s, handle))
            return AgentInfo.of(self.acting_agent(s))

"""Presence: who else has a ticket open, who is typing a reply there, and which tickets of
the queue are open elsewhere (issue 11: Zendesk, Freshdesk and Help Scout show the same).

Each running console has a random id and one ``presence`` row, rewritten by a heartbeat
(:meth:`PresenceMixin.presence_beat`, every :data:`HEARTBEAT` seconds, and at once when the
console opens or leaves a ticket or its agent starts typing — at most once every
:data:`TYPING_EVERY` seconds). A row not rewritten for ``presence_expiry`` seconds is a
console that died (``kill -9``, a lost laptop): readers ignore it and the next heartbeat of
any console deletes it. A console that exits deletes its row (:meth:`presence_leave`).

Times here are wall-clock UTC (``presence_clock``), never the desk's rehearsal clock:
presence is about now. On PostgreSQL a change of what a console shows or types is also
announced on :data:`PRESENCE_CHANNEL`, so other consoles repaint at once: the payload is
``open:KEY`` (a console now shows KEY; ``open:`` no ticket, ``leave:`` it exited) — every
console reads again — or ``typing:KEY`` — only the consoles showing KEY read again.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from agent_console.desk.core import DeskCore
from agent_console.store.models import Agent, Presence, Ticket

#: seconds between heartbeats of a console
HEARTBEAT = 5.0
#: seconds without a heartbeat after which a console counts as gone
PRESENCE_EXPIRY = 15.0
#: a console announces its agent's typing at most this often (seconds)
TYPING_EVERY = 2.0
#: "is typing" is shown this long after the last announcement (seconds)
TYPING_SHOWN = 5.0
#: the PostgreSQL notification channel presence changes are announced on
PRESENCE_CHANNEL = "agent_console_presence"


def new_console_id() -> str:
    """A random id for one running console (32 hex digits)."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class Viewer:
    """Another console showing a ticket: its agent, and whether they are typing a reply
    (announced within the last :data:`TYPING_SHOWN` seconds)."""

    handle: str
    name: str
    typing: bool


class PresenceMixin(DeskCore):
    #: seconds without a heartbeat after which a console is gone (tests make it short)
    presence_expiry: float = PRESENCE_EXPIRY
    #: the wall clock presence is measured on (UTC; injectable for tests)
    presence_clock: Callable[[], datetime] = staticmethod(lambda: datetime.now(UTC))

    def _presence_cutoff(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.presence_expiry)

    def presence_beat(
        self,
        console: str,
        ticket_key: str | None,
        *,
        typing: bool = False,
        announce: bool = False,
    ) -> None:
        """Write this console's row: it shows ``ticket_key`` (None: no ticket), and its agent
        typed a reply just now when ``typing``. ``announce``: what the console shows or
        types changed — write it whole, delete the rows of consoles gone for longer than the
        expiry, and tell the other consoles now (PostgreSQL). Without either, a heartbeat
        only renews ``seen_at`` (one statement; ``ticket_key`` is then what was announced).
        Raises UserError when the database is unavailable."""
        now = self.presence_clock()
        if not typing and not announce:
            # a plain heartbeat: one UPDATE (what the console shows was written when it
            # changed); a row purged meanwhile (the console was suspended) is written whole
            with self.write() as s:
                table = Presence.__table__
                done = s.execute(
                    table.update().where(table.c.console == console).values(seen_at=now)
                ).rowcount
            if done:
                return
            announce = True
        with self.write() as s:
            me = self.agent_by_handle(s, self.actor)
            ticket_id = None
            if ticket_key:
                ticket_id = s.exec(
                    select(Ticket.id).where(Ticket.key == ticket_key.strip().upper())
                ).first()
            values = {
                "console": console,
                "agent_id": me.id,
                "ticket_id": ticket_id,
                "seen_at": now,
                "typing_at": now if typing else None,
            }
            table = Presence.__table__
            postgres = self.engine.dialect.name == "postgresql"
            insert = pg_insert if postgres else sqlite_insert
            stmt = insert(table).values(**values)
            update = {k: stmt.excluded[k] for k in values if k != "console"}
            s.execute(stmt.on_conflict_do_update(index_elements=["console"], set_=update))
            s.execute(delete(Presence).where(col(Presence.seen_at) < self._presence_cutoff(now)))
            if announce and postgres:
                payload = f"{'typing' if typing else 'open'}:{ticket_key or ''}"
                s.execute(text("SELECT pg_notify(:c, :p)"), {"c": PRESENCE_CHANNEL, "p": payload})

    def presence_leave(self, console: str) -> None:
        """The console exits: its row goes (others see it at their next read)."""
        with self.write() as s:
            s.execute(delete(Presence).where(col(Presence.console) == console))
            if self.engine.dialect.name == "postgresql":
                s.execute(text("SELECT pg_notify(:c, 'leave:')"), {"c": PRESENCE_CHANNEL})

    def viewers(self, ticket_key: str, *, console: str | None = None) -> list[Viewer]:
        """The other consoles showing ``ticket_key`` (not ``console``), one per agent, by
        handle; typing agents first."""
        now = self.presence_clock()
        typing_since = now - timedelta(seconds=TYPING_SHOWN)
        with self.read() as s:
            rows = s.exec(
                select(Agent.handle, Agent.name, Presence.typing_at)
                .join(Agent, col(Agent.id) == col(Presence.agent_id))
                .join(Ticket, col(Ticket.id) == col(Presence.ticket_id))
                .where(Ticket.key == ticket_key.strip().upper())
                .where(col(Presence.seen_at) >= self._presence_cutoff(now))
                .where(col(Presence.console) != (console or ""))
            ).all()
        by_agent: dict[str, Viewer] = {}
        for handle, name, typing_at in rows:
            typing = typing_at is not None and typing_at >= typing_since
            if handle not in by_agent or typing:
                by_agent[handle] = Viewer(handle, name, typing)
        return sorted(by_agent.values(), key=lambda v: (not v.typing, v.handle))

    def open_elsewhere(self, *, console: str | None = None) -> dict[int, tuple[str, ...]]:
        """Ticket id → handles of the agents whose other consoles show it (the queue's
        marker)."""
        now = self.presence_clock()
        with self.read() as s:
            rows = s.exec(
                select(Presence.ticket_id, Agent.handle)
                .join(Agent, col(Agent.id) == col(Presence.agent_id))
                .where(col(Presence.ticket_id).is_not(None))
                .where(col(Presence.seen_at) >= self._presence_cutoff(now))
                .where(col(Presence.console) != (console or ""))
            ).all()
        out: dict[int, set[str]] = {}
        for ticket_id, handle in rows:
            out.setdefault(int(ticket_id), set()).add(handle)
        return {k: tuple(sorted(v)) for k, v in out.items()}

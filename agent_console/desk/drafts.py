"""Unsent texts (issue 12): a reply, note, handoff or resolution summary an agent has begun,
kept per ticket, agent and kind in the ``draft`` table so that nothing typed is lost by
leaving the ticket, switching screens, quitting or a crash.

Only the author reads their drafts: every call works on the acting agent's rows (the
configured agent, or ``agent=``), never anyone else's. The screens write drafts from a
worker, debounced while the agent types; the desk deletes a draft in the same transaction
that sends its text (:func:`clear_draft`, called by the workflow commands).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from agent_console.desk.core import DeskCore
from agent_console.errors import NotFound, UserError
from agent_console.store.models import Draft, DraftKind, Ticket

__all__ = ["DraftInfo", "DraftsMixin", "clear_draft", "parse_draft_kind"]


@dataclass(frozen=True)
class DraftInfo:
    """One unsent text of the acting agent: ``updated_at`` is an aware UTC instant."""

    key: str
    kind: str
    body: str
    updated_at: datetime


def parse_draft_kind(kind: str) -> DraftKind:
    """``reply`` / ``note`` / ``handoff`` / ``resolution``; UserError (exit 2) otherwise."""
    try:
        return DraftKind(kind.strip().lower())
    except ValueError:
        raise UserError(
            f"unknown draft kind {kind!r} (use {', '.join(k.value for k in DraftKind)})"
        ) from None


def clear_draft(session: Session, ticket_id: int, agent_id: int, kind: DraftKind) -> None:
    """Delete one draft inside the caller's transaction (the text was just sent)."""
    session.execute(
        delete(Draft).where(
            col(Draft.ticket_id) == ticket_id,
            col(Draft.agent_id) == agent_id,
            col(Draft.kind) == kind.value,
        )
    )


class DraftsMixin(DeskCore):
    """Drafts of the acting agent."""

    def _reader_id(self, session: Session, agent: str | None) -> int | None:
        try:
            return self.agent_by_handle(session, agent or self.actor).id
        except NotFound:
            return None  # the demo agent before its first write: no drafts yet

    def save_draft(self, key: str, kind: str, body: str, *, agent: str | None = None) -> None:
        """Keep ``body`` as the agent's ``kind`` draft on ticket ``key`` (replacing the one
        there); an empty or blank body deletes it. NotFound for an unknown ticket."""
        k = parse_draft_kind(kind)
        for attempt in (1, 2):
            try:
                with self.write() as s:
                    me = self.agent_by_handle(s, agent or self.actor)
                    ticket = self.ticket_by_key(s, key)
                    row = s.exec(
                        select(Draft).where(
                            Draft.ticket_id == ticket.id,
                            Draft.agent_id == me.id,
                            Draft.kind == k.value,
                        )
                    ).first()
                    if not body.strip():
                        if row is not None:
                            s.delete(row)
                        return
                    if row is None:
                        row = Draft(
                            ticket_id=ticket.id,  # type: ignore[arg-type]
                            agent_id=me.id,  # type: ignore[arg-type]
                            kind=k.value,
                            body=body,
                            updated_at=self.now(),
                        )
                    else:
                        row.body = body
                        row.updated_at = self.now()
                    s.add(row)
                return
            except UserError as exc:
                # two writers inserted the same draft at once: the second one updates
                if attempt == 2 or not isinstance(exc.__cause__, IntegrityError):
                    raise

    def drafts_of_ticket(self, key: str, *, agent: str | None = None) -> dict[str, str]:
        """The agent's drafts on one ticket, by kind (``{"reply": "…"}``)."""
        with self.read() as s:
            me = self._reader_id(s, agent)
            if me is None:
                return {}
            ticket = self.ticket_by_key(s, key)
            rows = s.exec(
                select(Draft).where(Draft.ticket_id == ticket.id, Draft.agent_id == me)
            ).all()
            return {r.kind: r.body for r in rows}

    def my_drafts(self, *, agent: str | None = None) -> list[DraftInfo]:
        """Every unsent text of the agent, most recently touched first."""
        with self.read() as s:
            me = self._reader_id(s, agent)
            if me is None:
                return []
            rows = s.exec(
                select(Draft, Ticket.key)
                .join(Ticket, col(Ticket.id) == col(Draft.ticket_id))
                .where(Draft.agent_id == me)
                .order_by(col(Draft.updated_at).desc(), col(Draft.id).desc())
            ).all()
            return [DraftInfo(key, d.kind, d.body, d.updated_at) for d, key in rows]

    def draft_ticket_ids(self, *, agent: str | None = None) -> frozenset[int]:
        """Ids of the tickets where the agent has an unsent text (the queue's marker)."""
        with self.read() as s:
            me = self._reader_id(s, agent)
            if me is None:
                return frozenset()
            ids = s.exec(select(Draft.ticket_id).where(Draft.agent_id == me).distinct()).all()
            return frozenset(int(i) for i in ids)

    def discard_draft(self, key: str, kind: str, *, agent: str | None = None) -> None:
        """Delete one draft (nothing happens when there is none)."""
        self.save_draft(key, kind, "", agent=agent)

    def discard_my_drafts(self, *, agent: str | None = None) -> int:
        """Delete every draft of the agent; returns how many there were."""
        with self.write() as s:
            me = self._reader_id(s, agent)
            if me is None:
                return 0
            result = s.execute(delete(Draft).where(col(Draft.agent_id) == me))
            return int(result.rowcount or 0)

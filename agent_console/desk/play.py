"""Play mode (issue 16; Zendesk's "Play"): the desk hands the agent the next ticket.

``N`` on the queue takes the most urgent unassigned ticket of the agent's tier — the
claim-next order of the ticket clock's urgency rule (:meth:`ClaimsMixin.claim_next`,
README "Urgency") — skipping tickets another console shows right now (presence,
:meth:`PresenceMixin.open_elsewhere`), claims it and opens it. When the agent resolves it,
escalates it or moves it to pending (:func:`advances_play`), the next one opens by
itself; a reply alone does not advance. ``escape`` leaves Play mode.
"""

from __future__ import annotations

from agent_console.desk.core import DeskCore

#: the commands after which Play mode opens the next ticket (a reply or a note does not)
ADVANCING_ACTIONS = frozenset({"resolve", "escalate"})


def advances_play(action: str, status: str, *, tier_changed: bool = False) -> bool:
    """Whether a command done in Play mode moves on to the next ticket: a resolve, an
    escalation, or a status change that leaves the ticket pending (waiting on the
    customer). ``action``: the ticket screen's command name; ``status``: the ticket's
    status after it."""
    if action == "macro":  # a macro (m) that resolves, pends or escalates moves on too
        return status in ("pending", "resolved", "closed") or tier_changed
    return action in ADVANCING_ACTIONS or (action == "status" and status == "pending")


class PlayMixin(DeskCore):
    def play_next(self, agent: str | None = None, *, console: str | None = None) -> str | None:
        """Claim the next ticket for Play mode and return its key (None: nothing left).

        The most urgent unassigned open ticket of the agent's tier (claim-next order),
        leaving out tickets that another console (not ``console``, this one) shows now;
        already claimed tickets are never taken. A ticket another agent wins meanwhile is
        skipped. Raises UserError when the database is unavailable."""
        elsewhere = self.open_elsewhere(console=console)  # type: ignore[attr-defined]
        keys: list[str] = self.claim_next(agent, 1, skip=elsewhere)  # type: ignore[attr-defined]
        return keys[0] if keys else None

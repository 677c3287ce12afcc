"""Tier rules of the ticket workflow, enforced in the desk so the CLI and a key press obey
the same rules (issue 5).

- an agent works tickets of their own tier; leads may act on any ticket;
- an agent takes (claims, or is assigned) tickets of their own tier; a lead takes any
  ticket, by claiming it or by being assigned it — one rule, :func:`may_take`;
- tier 1 escalates only to tier 2, tier 3 only receives from tier 2 (one step up);
- de-escalation goes one step down;
- only a lead reassigns a ticket that another agent holds;
- after hours (the default policy closed), the current on-call primary and secondary may
  reply, note and change status on any critical ticket whatever its tier (issue 10; the
  handbook's "after-hours monitoring for Critical Issues") — :func:`on_call_covers`; the
  history marks what was done that way (``on_call`` in the event);
- only leads change the on-call rota and overrides (:func:`require_may_change_rota`; there is
  no separate administrator role yet).

Each check raises :class:`~agent_console.errors.PermissionDenied` with one line saying why.
"""

from __future__ import annotations

from agent_console.errors import PermissionDenied, UserError
from agent_console.store.models import Agent, Ticket

TOP_TIER = 3


#: what the after-hours on-call rule lets the primary and secondary do on a critical ticket
ON_CALL_ACTIONS = frozenset({"reply on", "note on", "change the status of", "resolve"})


def on_call_covers(ticket: Ticket, on_call: str | None, doing: str) -> bool:
    """The after-hours rule: ``on_call`` is the level ("primary" / "secondary") the agent
    holds *while the default policy is closed* (None by day or when not on call); it covers
    replying, noting and changing status (``doing``) on a critical ticket of any tier."""
    return (
        on_call in ("primary", "secondary")
        and ticket.priority == "critical"
        and doing in ON_CALL_ACTIONS
    )


def require_works(
    agent: Agent, ticket: Ticket, doing: str = "work", *, on_call: str | None = None
) -> None:
    """``agent`` may act on ``ticket``: same tier, or a lead, or (after hours) the on-call
    primary/secondary on a critical ticket (:func:`on_call_covers`)."""
    if agent.lead or agent.tier == ticket.tier:
        return
    if on_call_covers(ticket, on_call, doing):
        return
    raise PermissionDenied(
        f"{agent.handle} is tier {agent.tier}; {ticket.key} is a tier {ticket.tier} ticket "
        f"(only leads {doing} tickets of another tier)"
    )


def require_not_closed(ticket: Ticket) -> None:
    """A closed ticket no longer changes: not its fields, thread, links or assignee."""
    if ticket.status == "closed":
        raise UserError(
            f"{ticket.key} is closed; a closed ticket no longer changes "
            "(open a new ticket instead)"
        )


def may_take(agent: Agent, tier: int) -> bool:
    """``agent`` may hold a ticket of ``tier`` (claim it, or be assigned it)."""
    return bool(agent.lead) or agent.tier == tier


def require_may_take(agent: Agent, key: str, tier: int) -> None:
    """Why ``agent`` may not hold ticket ``key`` of ``tier``, if they may not."""
    if not may_take(agent, tier):
        raise PermissionDenied(
            f"{agent.handle} is tier {agent.tier}; {key} is a tier {tier} ticket "
            "(only leads take tickets of another tier; escalate or de-escalate it first)"
        )


def escalation_target(agent: Agent, ticket: Ticket, to_tier: int | None) -> int:
    """The tier an escalation goes to (one step up), or why it may not."""
    require_works(agent, ticket, "escalate")
    if ticket.tier >= TOP_TIER:
        raise PermissionDenied(f"{ticket.key} is already at tier {TOP_TIER}, the top tier")
    target = ticket.tier + 1 if to_tier is None else to_tier
    if target == 3 and ticket.tier != 2:
        raise PermissionDenied(
            f"tier 3 only receives from tier 2 ({ticket.key} is at tier {ticket.tier})"
        )
    if ticket.tier == 1 and target != 2:
        raise PermissionDenied("tier 1 escalates only to tier 2")
    if target != ticket.tier + 1:
        raise PermissionDenied(
            f"escalation goes one tier up: {ticket.key} is at tier {ticket.tier}, "
            f"not to tier {target}"
        )
    return target


def deescalation_target(agent: Agent, ticket: Ticket, to_tier: int | None) -> int:
    """The tier a de-escalation goes to (one step down), or why it may not."""
    require_works(agent, ticket, "de-escalate")
    if ticket.tier <= 1:
        raise PermissionDenied(f"{ticket.key} is at tier 1; there is no tier below")
    target = ticket.tier - 1 if to_tier is None else to_tier
    if target != ticket.tier - 1:
        raise PermissionDenied(
            f"de-escalation goes one tier down: {ticket.key} is at tier {ticket.tier}, "
            f"not to tier {target}"
        )
    return target


def require_may_assign(
    agent: Agent, ticket: Ticket, current: Agent | None, new: Agent | None
) -> None:
    """Who may (re)assign: the ticket's tier works its own unassigned tickets and gives up
    its own; only a lead takes a ticket away from another agent."""
    require_works(agent, ticket, "assign")
    if current is not None and current.id != agent.id and not agent.lead:
        raise PermissionDenied(
            f"{ticket.key} is assigned to {current.handle}; only a lead reassigns "
            "another agent's ticket"
        )
    if new is not None:
        if not new.active:
            raise PermissionDenied(f"agent {new.handle!r} is deactivated")
        require_may_take(new, ticket.key, ticket.tier)


def require_may_change_rota(agent: Agent) -> None:
    """Only leads change the on-call rota and its overrides (issue 10)."""
    if not agent.lead:
        raise PermissionDenied(
            f"{agent.handle} is not a lead; only leads change who is on call"
        )

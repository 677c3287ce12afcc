"""Tier rules of the ticket workflow, enforced in the desk so the CLI and a key press obey
the same rules (issue 5).

- an agent works tickets of their own tier; leads may act on any ticket;
- an agent takes (claims, or is assigned) tickets of their own tier; a lead takes any
  ticket, by claiming it or by being assigned it — one rule, :func:`may_take`;
- tier 1 escalates only to tier 2, tier 3 only receives from tier 2 (one step up);
- de-escalation goes one step down;
- only a lead reassigns a ticket that another agent holds.

Each check raises :class:`~agent_console.errors.PermissionDenied` with one line saying why.
"""

from __future__ import annotations

from agent_console.errors import PermissionDenied, UserError
from agent_console.store.models import Agent, Ticket

TOP_TIER = 3


def require_works(agent: Agent, ticket: Ticket, doing: str = "work") -> None:
    """``agent`` may act on ``ticket``: same tier, or a lead."""
    if agent.lead or agent.tier == ticket.tier:
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

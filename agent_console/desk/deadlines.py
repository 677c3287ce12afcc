"""Keep a ticket's stored SLA deadlines true. Called by every command that moves them
(open, reply, priority change, pause, resume, resolve); the UI tick only formats them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agent_console.sla import Policy, compute_deadlines
from agent_console.store.models import Status, Ticket
from agent_console.store.types import FAR_FUTURE


def parse_pauses(raw: list[list[str]]) -> list[tuple[datetime, datetime]]:
    return [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in raw]


def pause_pairs(pauses: list[tuple[datetime, datetime]]) -> list[list[str]]:
    return [[a.isoformat(), b.isoformat()] for a, b in pauses]


def deadline_columns(
    policy: Policy,
    priority: str,
    opened: datetime,
    *,
    status: str = "new",
    first_response_at: datetime | None = None,
    last_public_update_at: datetime | None = None,
    pauses: Iterable[tuple[datetime, datetime]] = (),
    paused_since: datetime | None = None,
    resolved_at: datetime | None = None,
) -> dict[str, Any]:
    """The stored deadline columns of a ticket from its facts (``first_response_due``,
    ``next_update_due``, ``resolution_due``, ``next_due``), for rows bulk-updated without
    ORM objects (``sla apply``). :func:`refresh_deadlines` is this on a ticket."""
    d = compute_deadlines(
        policy,
        priority,
        opened,
        pauses=list(pauses),
        first_response_at=first_response_at,
        last_public_update_at=last_public_update_at,
        paused_since=paused_since,
    )
    cols: dict[str, Any] = {
        "first_response_due": d.first_response_due,
        "next_update_due": d.next_update_due,
        "resolution_due": d.resolution_due,
    }
    cols["next_due"] = nearest_due(
        status=status, first_response_at=first_response_at, paused_since=paused_since, **cols
    )
    return cols


def refresh_deadlines(ticket: Ticket, policy: Policy) -> None:
    """Recompute the three deadlines and the queue's sort key from the ticket's facts."""
    cols = deadline_columns(
        policy,
        ticket.priority,
        ticket.opened_at,
        status=ticket.status,
        first_response_at=ticket.first_response_at,
        last_public_update_at=ticket.last_public_update_at,
        pauses=parse_pauses(ticket.sla_pauses),
        paused_since=ticket.paused_since,
        resolved_at=ticket.resolved_at,
    )
    for name, value in cols.items():
        setattr(ticket, name, value)


def next_due(ticket: Ticket) -> datetime:
    """The nearest deadline whose clock can run: what the queue sorts by."""
    return nearest_due(
        status=ticket.status,
        first_response_at=ticket.first_response_at,
        paused_since=ticket.paused_since,
        first_response_due=ticket.first_response_due,
        next_update_due=ticket.next_update_due,
        resolution_due=ticket.resolution_due,
    )


def nearest_due(
    *,
    status: str,
    first_response_at: datetime | None,
    paused_since: datetime | None,
    first_response_due: datetime | None,
    next_update_due: datetime | None,
    resolution_due: datetime | None,
) -> datetime:
    """:func:`next_due` from plain values (bulk writers have rows, not ticket objects):
    first response until answered, then the next status update; the resolution deadline
    throughout; nothing runs while the ticket waits on the customer or is finished."""
    if not Status(status).is_open:
        return FAR_FUTURE
    waiting = paused_since is not None
    candidates: list[datetime] = []
    if first_response_at is None:
        if first_response_due is not None:
            candidates.append(first_response_due)
    elif not waiting and next_update_due is not None:
        candidates.append(next_update_due)
    if resolution_due is not None and not waiting:
        candidates.append(resolution_due)
    return min(candidates, default=FAR_FUTURE)


def nearest_due_of_row(row: dict) -> datetime:  # type: ignore[type-arg]
    """:func:`nearest_due` for a column dict about to be bulk-inserted."""
    return nearest_due(
        status=row["status"],
        first_response_at=row.get("first_response_at"),
        paused_since=row.get("paused_since"),
        first_response_due=row.get("first_response_due"),
        next_update_due=row.get("next_update_due"),
        resolution_due=row.get("resolution_due"),
    )

"""The alert thresholds, pure (issue 10): which thresholds a ticket's open SLA cycles have
and the instant (UTC) each one is crossed. No database, no clock read: the facts come from
the ticket, its ``sla_cycle`` rows and its policy; :mod:`agent_console.desk.alerts_schedule`
stores what :func:`desired_thresholds` answers.

A fraction ``f`` of a target (``Policy.alert_thresholds``; default 50 %, 80 %, 100 %) is
crossed when the time left on the priority's clock is ``(1 - f) × target``; critical
priorities add ``update_warning`` seconds before each status update is due, and an
``arrival`` threshold when a critical ticket opens after hours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from agent_console.sla import Policy
from agent_console.store.models import SlaCycle, Status, Ticket

METRICS: tuple[str, ...] = ("first_response", "next_update", "resolution")


# ====================================================================== the adapter
@dataclass(frozen=True)
class OpenCycle:
    """One running metric cycle: due instant (UTC) and the target (seconds on the
    priority's clock)."""

    metric: str
    cycle: int
    due_at: datetime
    target_seconds: int


@dataclass(frozen=True)
class CycleFacts:
    """What the alert schedule needs of one ticket: its open cycles, the cycle each metric
    is at (to tell a met cycle from a paused one), the thresholds and the update warning."""

    open: list[OpenCycle]
    current: dict[str, int | None]
    paused: bool
    thresholds: tuple[float, ...]
    update_warning: int | None


def _cycles_due(
    ticket: Ticket,
    policy: Policy,
    public_updates: int,
    cycles: Sequence[SlaCycle] = (),
) -> CycleFacts:
    """THE adapter between the alerts and the ticket clock (issue 9). Thresholds come from
    the policy (``Policy.alert_thresholds``, ``PriorityTarget.update_warning``).

    The cycles come from the per-cycle rows (``sla_cycle``) the clock's owner writes: a
    row with ``stopped_at`` NULL is the running cycle of its metric, with its number, due
    instant and target (``due_at`` NULL while paused: no alert); a stopped one is over
    (met or breached). A ticket without any such row (written before the table existed, or
    by a bulk writer that does not keep them) falls back to its stored due columns
    (``first_response_due``, ``next_update_due``, ``resolution_due``), numbered as the
    table numbers them: first response and resolution cycle 1, the n-th periodic update
    cycle n (``public_updates`` = public agent replies so far); the update cadence runs on
    while waiting on the customer unless the priority's ``status_update_pauses``."""
    target = policy.target(ticket.priority)
    thresholds = tuple(policy.alert_thresholds)
    warning = target.update_warning
    paused = ticket.paused_since is not None
    if cycles:
        out: list[OpenCycle] = []
        current: dict[str, int | None] = {m: None for m in METRICS}
        for row in cycles:
            if row.stopped_at is not None:
                continue
            if (current.get(row.metric) or 0) > row.cycle:
                continue
            current[row.metric] = row.cycle
            out = [c for c in out if c.metric != row.metric]
            if row.due_at is not None and Status(ticket.status).is_open:
                out.append(OpenCycle(row.metric, row.cycle, row.due_at, row.target_seconds))
        return CycleFacts(out, current, paused, thresholds, warning)
    is_open = Status(ticket.status).is_open
    out = []
    current = {m: None for m in METRICS}
    if is_open and ticket.first_response_at is None:
        current["first_response"] = 1
        if ticket.first_response_due is not None:
            out.append(
                OpenCycle("first_response", 1, ticket.first_response_due, target.first_response)
            )
    if is_open and ticket.first_response_at is not None:
        n = max(public_updates, 1)
        current["next_update"] = n
        if not (paused and target.status_update_pauses) and ticket.next_update_due is not None:
            out.append(OpenCycle("next_update", n, ticket.next_update_due, target.status_update))
    if is_open:
        current["resolution"] = 1
        if not paused and ticket.resolution_due is not None:
            out.append(OpenCycle("resolution", 1, ticket.resolution_due, target.resolution))
    return CycleFacts(out, current, paused, thresholds, warning)


def threshold_label(fraction: float) -> str:
    return f"{fraction:g}"


def _back(policy: Policy, priority: str, due: datetime, seconds: int) -> datetime:
    """The first instant with ``seconds`` of the priority's clock left before ``due``. On a
    business clock going back alone would land on the next opening (the *latest* such
    instant); one second further back and one forward gives the first — a threshold reached
    exactly at closing time is that closing instant, as for deadlines (DESIGN.md)."""
    return policy.add(priority, policy.add(priority, due, -(seconds + 1)), 1)


def desired_thresholds(
    ticket: Ticket, policy: Policy, facts: CycleFacts
) -> dict[tuple[str, int, str], tuple[datetime, datetime]]:
    """(metric, cycle, threshold) → (fire_at, due_at) for every open cycle. Pure: the
    instants come from the stored dues and the policy's clock arithmetic."""
    out: dict[tuple[str, int, str], tuple[datetime, datetime]] = {}
    for c in facts.open:
        for f in facts.thresholds:
            left = round((1.0 - f) * c.target_seconds)
            fire = c.due_at if left <= 0 else _back(policy, ticket.priority, c.due_at, left)
            out[(c.metric, c.cycle, threshold_label(f))] = (fire, c.due_at)
        if c.metric == "next_update" and facts.update_warning:
            w = facts.update_warning
            fire = _back(policy, ticket.priority, c.due_at, w)
            out[(c.metric, c.cycle, f"warn:{w}")] = (fire, c.due_at)
    if (
        ticket.priority == "critical"
        and facts.current["first_response"] is not None
        and ticket.first_response_due is not None
        and not policy.is_open(ticket.opened_at)
    ):
        # a new critical ticket arriving after hours alerts at once
        out[("first_response", 1, "arrival")] = (ticket.opened_at, ticket.first_response_due)
    return out


def _cycle_ended(facts: CycleFacts, metric: str, cycle: int) -> bool:
    """The cycle is over (met, answered late, or the ticket finished) — not merely paused."""
    cur = facts.current.get(metric)
    if cur is None:
        return True
    return cycle < cur

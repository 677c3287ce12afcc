"""The bulk writers' rollup difference (desk/metrics_rollup.py ``contribution_delta`` and
``DeltaBatch``) is exactly ``contributions(after) - contributions(before)``: for due
instants moved on running cycles (the short route ``sla apply`` takes), a priority
change, a cycle closed or started, cycles the rollup does not judge, and a ticket that
counted nothing before. Pure: the database-backed equality with a rebuild is
tests/test_cycle_sync.py's."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_console.desk.metrics_rollup import (
    CycleFacts,
    DeltaBatch,
    contribution_delta,
    contributions,
)

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
H = timedelta(hours=1)


def _c(metric: str, cycle: int = 1, due: datetime | None = None, **kw: Any) -> CycleFacts:
    return CycleFacts(
        metric,
        cycle,
        kw.get("started", T0),
        due,
        kw.get("stopped"),
        kw.get("met"),
        kw.get("breached"),
        kw.get("elapsed"),
    )


def _expected(pb: str | None, p: str, before: Any, after: Any, **dims: Any) -> dict[Any, int]:
    out: Counter[Any] = Counter()
    out.update(contributions(p, T0, after, **dims))
    if before is not None:
        out.subtract(contributions(pb or "", T0, before, **dims))
    return {k: n for k, n in out.items() if n}


RUNNING = [_c("first_response", due=T0 + 2 * H), _c("resolution", due=T0 + 30 * H)]
CASES = {
    "due moved, same hour": ("urgent", "urgent", RUNNING, [
        _c("first_response", due=T0 + 2 * H + timedelta(minutes=10)), RUNNING[1]]),
    "due moved, other hours": ("urgent", "urgent", RUNNING, [
        _c("first_response", due=T0 + 5 * H), _c("resolution", due=T0 + 50 * H)]),
    "nothing moved": ("urgent", "urgent", RUNNING, list(RUNNING)),
    "priority changed": ("urgent", "minor", RUNNING, [
        _c("first_response", due=T0 + 8 * H), _c("resolution", due=T0 + 90 * H)]),
    "closed met": ("urgent", "urgent", RUNNING, [
        _c("first_response", due=T0 + 2 * H, stopped=T0 + H, met=T0 + H, elapsed=3600),
        RUNNING[1]]),
    "closed breached": ("urgent", "urgent", RUNNING, [
        _c("first_response", due=T0 + 2 * H, stopped=T0 + 3 * H, breached=T0 + 2 * H,
           elapsed=3 * 3600),
        RUNNING[1]]),
    "started a cycle": ("urgent", "urgent", RUNNING[:1], RUNNING),
    "an older resolution cycle's due moved": ("urgent", "urgent", [
        _c("resolution", 1, due=T0 + H), _c("resolution", 2, due=T0 + 9 * H)], [
        _c("resolution", 1, due=T0 + 4 * H), _c("resolution", 2, due=T0 + 12 * H)]),
    "counted nothing before": (None, "urgent", None, RUNNING),
    "no rows before (counted as opened)": ("minor", "urgent", [], RUNNING),
}


@pytest.mark.parametrize("name", list(CASES))
def test_the_delta_is_after_minus_before(name: str) -> None:
    pb, p, before, after = CASES[name]
    dims = {"assignee": 4, "responder": 7, "tier": 2, "org": 11}
    got = contribution_delta(pb, p, T0, before, after, **dims)
    assert got == _expected(pb, p, before, after, **dims)
    assert 0 not in got.values()


def test_a_batch_adds_tickets_up_per_dimension() -> None:
    batch = DeltaBatch()
    total: Counter[Any] = Counter()
    for i, name in enumerate(CASES):
        pb, p, before, after = CASES[name]
        dims = {"assignee": (i % 3) or None, "responder": None, "tier": 1 + i % 2, "org": None}
        batch.add(pb, p, T0, before, after, **dims)
        total.update(_expected(pb, p, before, after, **dims))
    assert batch.keys() == {k: n for k, n in total.items() if n}

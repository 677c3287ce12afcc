"""The ticket clock (issue 9): metrics as specs, the running deadline, states, and
properties of the clock against the engine (``compute_deadlines`` from the facts)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_console.sla import (
    FIRST_REPLY_TIME,
    PAUSABLE_UPDATE,
    PERIODIC_UPDATE,
    RESOLUTION_TIME,
    Policy,
    TicketClock,
    compute_deadlines,
    load_default_policy,
    metric_specs,
)
from tests.sla_helpers import H

P = load_default_policy()
MON_9 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # Monday 09:00 ET


def pausable(policy: Policy, pauses: bool = True) -> Policy:
    """``policy`` with ``status_update_pauses = pauses`` on every priority."""
    prios = {
        name: dataclasses.replace(t, status_update_pauses=pauses)
        for name, t in policy.priorities.items()
    }
    suffix = "-pausable" if pauses else "-plain"
    return Policy(policy.name + suffix, policy.calendar, prios, source="<test>")


#: the default policy pauses the update cadence while waiting (data/sla.toml); PLAIN is the
#: same policy with the cadence running on (a contract may say so)
PP = pausable(P)
PLAIN = pausable(P, False)
POLICIES = {"plain": PLAIN, "pausable": PP}


# ---------------------------------------------------------------- specs
def test_the_handbook_metrics_are_specs() -> None:
    crit = PLAIN.target("critical")
    assert metric_specs(crit) == (FIRST_REPLY_TIME, PERIODIC_UPDATE, RESOLUTION_TIME)
    assert [s.target(crit) for s in metric_specs(crit)] == [2 * H, 1 * H, 8 * H]
    assert PERIODIC_UPDATE.cyclic and not RESOLUTION_TIME.cyclic
    assert not PERIODIC_UPDATE.pauses and PAUSABLE_UPDATE.pauses and RESOLUTION_TIME.pauses
    assert metric_specs(PP.target("critical"))[1] is PAUSABLE_UPDATE


def test_the_default_policy_pauses_every_update_cadence_while_waiting() -> None:
    """The shipped policy (data/sla.toml) sets ``status_update_pauses = true`` on every
    priority: the handbook's status updates are owed to the client while the desk works,
    not while it waits on the client's answer (README "SLA policy files")."""
    for name in ("critical", "urgent", "minor"):
        assert P.target(name).status_update_pauses, name
        assert metric_specs(P.target(name))[1] is PAUSABLE_UPDATE
    waiting = (
        TicketClock.of(P, "critical", MON_9)
        .reply(MON_9 + timedelta(minutes=10))
        .set_status("pending", MON_9 + timedelta(minutes=40))
    )
    assert waiting.due("next_update") is None and waiting.running() is None


# ---------------------------------------------------------------- the update clock's contract
def test_next_update_is_none_until_the_first_public_reply() -> None:
    c = TicketClock.of(P, "critical", MON_9)
    assert c.deadlines().next_update_due is None
    assert c.status("next_update", MON_9 + timedelta(hours=5)).state == "idle"
    replied = c.reply(MON_9 + timedelta(minutes=30))
    assert replied.deadlines().next_update_due == MON_9 + timedelta(minutes=90)
    again = replied.reply(MON_9 + timedelta(minutes=80))
    assert again.due("next_update") == MON_9 + timedelta(minutes=140)
    assert again.first_reply_at == MON_9 + timedelta(minutes=30)  # the first stays first


def test_running_deadline_is_the_nearest_live_metric() -> None:
    c = TicketClock.of(P, "critical", MON_9)
    r = c.running()
    assert r is not None and r.metric.name == "first_response" and r.clock == "calendar"
    replied = c.reply(MON_9 + timedelta(minutes=30))
    r = replied.running()
    assert r is not None and r.metric.name == "next_update"
    assert r.due == MON_9 + timedelta(minutes=90)
    resolved = replied.set_status("resolved", MON_9 + timedelta(hours=1))
    assert resolved.running() is None and not resolved.is_open


def test_resolution_shorter_than_first_response_runs_first() -> None:
    """Failure 1's clock side: a contract whose resolution target is shorter than its
    first-response target: the running deadline is the resolution."""
    crit = dataclasses.replace(P.target("critical"), first_response=4 * H, resolution=2 * H)
    odd = Policy("odd", P.calendar, {**P.priorities, "critical": crit}, source="<test>")
    r = TicketClock.of(odd, "critical", MON_9).running()
    assert r is not None and r.metric.name == "resolution"
    assert r.due == MON_9 + timedelta(hours=2)


def test_pending_pauses_resolution_the_plain_update_runs_the_pausable_stops() -> None:
    opened, reply, wait = MON_9, MON_9 + timedelta(minutes=10), MON_9 + timedelta(hours=1)
    plain = TicketClock.of(PLAIN, "critical", opened).reply(reply).set_status("pending", wait)
    assert plain.due("resolution") is None
    assert plain.left_when_paused("resolution") == 7 * H
    assert plain.due("next_update") == reply + timedelta(hours=1)
    r = plain.running()
    assert r is not None and r.metric.name == "next_update"
    paused = TicketClock.of(PP, "critical", opened).reply(reply).set_status("pending", wait)
    assert paused.due("next_update") is None and paused.running() is None
    assert paused.left_when_paused("next_update") == 10 * 60
    state = paused.status("next_update", wait + timedelta(hours=3))
    assert (state.state, state.seconds, state.running) == ("paused", 600, False)
    back = paused.set_status("open", wait + timedelta(hours=2))
    assert back.due("next_update") == wait + timedelta(hours=2, minutes=10)
    assert back.due("resolution") == opened + timedelta(hours=10)


def test_reopening_counts_the_time_resolved_as_paused() -> None:
    c = TicketClock.of(P, "critical", MON_9).reply(MON_9 + timedelta(minutes=5))
    resolved = c.set_status("resolved", MON_9 + timedelta(hours=3))
    assert resolved.status("resolution", MON_9 + timedelta(hours=4)).state == "met"
    reopened = resolved.set_status("open", MON_9 + timedelta(hours=10))
    assert reopened.is_open and reopened.resolved_at is None
    # 3h used before resolving, 7h resolved (paused), 5h left from the reopening
    assert reopened.due("resolution") == MON_9 + timedelta(hours=15)
    assert reopened.pause_list == [(MON_9 + timedelta(hours=3), MON_9 + timedelta(hours=10))]


@pytest.mark.parametrize("which", ["plain", "pausable"])
def test_reopening_starts_a_fresh_update_cycle(which: str) -> None:
    """A reopened ticket is not overdue on its update at once: the cadence stopped at the
    resolution and a fresh cycle starts at the reopening (plain or pausable cadence)."""
    policy = POLICIES[which]
    c = TicketClock.of(policy, "critical", MON_9).reply(MON_9 + timedelta(minutes=5))
    resolved = c.set_status("resolved", MON_9 + timedelta(minutes=50))
    at = MON_9 + timedelta(hours=10)
    reopened = resolved.set_status("open", at)
    assert reopened.reopened_at == at
    assert reopened.due("next_update") == at + timedelta(hours=1)
    state = reopened.status("next_update", at + timedelta(minutes=1))
    assert (state.state, state.seconds) == ("running", 59 * 60)
    r = reopened.running()
    assert r is not None and r.metric.name == "next_update" and r.due == at + timedelta(hours=1)
    # the next public reply starts the next cycle as usual
    assert reopened.reply(at + timedelta(minutes=30)).due("next_update") == at + timedelta(
        minutes=90
    )
    # the explanation says where the cycle started
    heads = {s.label: s for s in reopened.explain(at).sections}
    assert "from reopening" in heads["Next update"].headline
    # rebuilt from the stored facts: the same clock
    rebuilt = TicketClock.of(
        policy,
        "critical",
        MON_9,
        first_reply=reopened.first_reply_at,
        last_update=reopened.last_update_at,
        pauses=reopened.pause_list,
        reopened_at=reopened.reopened_at,
        status="open",
    )
    assert rebuilt.deadlines() == reopened.deadlines()


def test_priority_change_recomputes_from_the_opening() -> None:
    c = TicketClock.of(P, "minor", MON_9).with_priority("critical")
    assert c.due("first_response") == MON_9 + timedelta(hours=2)
    assert c.due("resolution") == MON_9 + timedelta(hours=8)


def test_states_at_an_instant() -> None:
    c = TicketClock.of(P, "critical", MON_9)
    s = c.status("first_response", MON_9 + timedelta(hours=1, minutes=30))
    assert (s.state, s.seconds, s.running) == ("running", 1800, True)
    s = c.status("first_response", MON_9 + timedelta(hours=3))
    assert (s.state, s.seconds) == ("overdue", -3600)
    late = c.reply(MON_9 + timedelta(hours=3))
    s = late.status("first_response", MON_9 + timedelta(hours=4))
    assert (s.state, s.done_at) == ("breached", MON_9 + timedelta(hours=3))
    # a business clock outside business hours: stopped, time left frozen
    evening = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # Mon 18:30 ET
    u = TicketClock.of(P, "urgent", datetime(2026, 11, 23, 21, 0, tzinfo=UTC))
    s = u.status("first_response", evening)
    assert s.state == "running" and not s.running and s.seconds == 2 * H  # 16:00-18:00 used
    assert not u.runs_at(evening) and u.runs_at(evening + timedelta(hours=16))


def test_explanation_reads_the_clock() -> None:
    c = TicketClock.of(P, "critical", MON_9)
    e = c.explain(MON_9 + timedelta(minutes=10))
    heads = {s.label: s for s in e.sections}
    assert heads["First response"].due == c.due("first_response")
    assert heads["Next update"].due is None
    assert "starting with the first public reply" in heads["Next update"].headline
    r = c.reply(MON_9 + timedelta(minutes=20)).set_status("pending", MON_9 + timedelta(hours=1))
    e = r.explain(MON_9 + timedelta(hours=2))
    heads = {s.label: s for s in e.sections}
    assert heads["Next update"].due == r.due("next_update")
    assert heads["Resolution"].due is None and "paused with 7h 00m left" in (
        heads["Resolution"].headline
    )


def test_the_clock_is_immutable_and_rejects_naive_instants() -> None:
    c = TicketClock.of(P, "critical", MON_9)
    with pytest.raises(AttributeError):
        c.opened = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError):
        TicketClock.of(P, "critical", datetime(2026, 11, 23, 9))


# ---------------------------------------------------------------- the clock against the engine
START = datetime(2025, 6, 1, tzinfo=UTC)
ops = st.lists(
    st.tuples(
        st.sampled_from(["reply", "pending", "open", "priority", "resolve", "reopen"]),
        st.integers(0, 3 * 86400),  # seconds after the previous event
        st.sampled_from(["critical", "urgent", "minor"]),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 2 * 365 * 86400),
    st.sampled_from(["critical", "urgent", "minor"]),
    ops,
    st.sampled_from(sorted(POLICIES)),
)
def test_clock_after_any_events_agrees_with_the_engine(
    offset: int, priority: str, events: list[tuple[str, int, str]], which: str
) -> None:
    """A reply, a pause, a priority change, a resolution and a reopening in any order:
    the clock's deadlines are those the engine computes from the resulting facts."""
    policy = POLICIES[which]
    at = START + timedelta(seconds=offset)
    clock = TicketClock.of(policy, priority, at)
    # the facts, kept by hand as a desk would store them
    prio, first, last, pauses, since, resolved = priority, None, None, [], None, None
    reopened = None
    for kind, gap, new_prio in events:
        at += timedelta(seconds=gap)
        if kind == "reply" and resolved is None:
            clock = clock.reply(at)
            first = first or at
            last = at
        elif kind == "pending" and resolved is None:
            clock = clock.set_status("pending", at)
            since = since or at
        elif kind == "open" and resolved is None:
            clock = clock.set_status("open", at)
            if since is not None:
                pauses.append((since, at))
                since = None
        elif kind == "priority":
            clock = clock.with_priority(new_prio)
            prio = new_prio
        elif kind == "resolve" and resolved is None:
            clock = clock.set_status("resolved", at)
            if since is not None:
                pauses.append((since, at))
                since = None
            resolved = at
        elif kind == "reopen" and resolved is not None:
            clock = clock.set_status("open", at)
            pauses.append((resolved, at))
            resolved = None
            reopened = at
    expected = compute_deadlines(
        policy,
        prio,
        START + timedelta(seconds=offset),
        pauses=pauses,
        first_response_at=first,
        # a reopening starts a fresh update cycle: the engine's cycle base is the latest
        last_public_update_at=max((x for x in (last, reopened) if x is not None), default=None),
        paused_since=since,
    )
    assert clock.deadlines() == expected
    assert clock.is_open == (resolved is None)
    # the running deadline is one of the deadlines, and the nearest live one
    running = clock.running()
    fast = clock.running_epoch()  # the bulk writers' unrolled path says the same
    assert fast == (None if running is None else (running.metric.name, running.due.timestamp()))
    if resolved is not None:
        assert running is None
    elif running is not None:
        live = [
            d
            for name, d in (
                ("first_response", expected.first_response_due if first is None else None),
                ("next_update", expected.next_update_due),
                ("resolution", expected.resolution_due),
            )
            if d is not None
        ]
        assert running.due == min(live)
    # building the clock straight from the facts gives the same clock
    rebuilt = TicketClock.of(
        policy,
        prio,
        START + timedelta(seconds=offset),
        first_reply=first,
        last_update=last,
        pauses=pauses,
        paused_since=since,
        resolved_at=resolved,
        reopened_at=reopened,
    )
    assert rebuilt.deadlines() == clock.deadlines()
    assert rebuilt.running() == clock.running()

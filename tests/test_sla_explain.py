"""The deadline explanation (``w`` on the ticket screen): deadlines already met or breached
are judged against their due instant, never against now; an overdue pause says so."""

from __future__ import annotations

from datetime import timedelta

from agent_console.sla import explain, load_default_policy
from tests.sla_helpers import ny

P = load_default_policy()
MON = (2026, 11, 23)
LATER = ny(2026, 12, 3, 12)  # long after every deadline below


def heads(e) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {s.label: s.headline for s in e.sections}


def test_first_response_met_is_judged_at_the_answer_not_now() -> None:
    # urgent: 4h on the business clock, opened Mon 10:00 -> due Mon 14:00
    e = explain(P, "urgent", ny(*MON, 10), first_response_at=ny(*MON, 12, 30), now=LATER)
    head = heads(e)["First response"]
    assert head.endswith(
        "→ due Mon 23 Nov 2026 14:00 EST — met at Mon 23 Nov 2026 12:30 EST "
        "(1h 30m before the deadline)"
    )
    assert "overdue" not in head and "left" not in head


def test_first_response_breached_says_how_late_on_the_clock() -> None:
    # answered Tue 10:05: Mon 14:00-18:00 and Tue 09:00-10:05 of business time late
    e = explain(P, "urgent", ny(*MON, 10), first_response_at=ny(2026, 11, 24, 10, 5), now=LATER)
    head = heads(e)["First response"]
    assert head.endswith(
        "→ due Mon 23 Nov 2026 14:00 EST — breached: answered at Tue 24 Nov 2026 10:05 EST, "
        "5h 05m after the deadline"
    )
    assert "overdue" not in head and "left" not in head


def test_first_response_still_running_shows_time_left() -> None:
    e = explain(P, "urgent", ny(*MON, 10), now=ny(*MON, 13))
    assert heads(e)["First response"].endswith("(1h 00m left)")


def test_resolved_ticket_resolution_met_and_next_update_stopped() -> None:
    # urgent resolution: 45h business -> due Tue 1 Dec 10:00; resolved Tue 24 Nov 10:00
    # after 9h counted: 36h of the clock to spare
    e = explain(
        P,
        "urgent",
        ny(*MON, 10),
        first_response_at=ny(*MON, 11),
        last_public_update_at=ny(2026, 11, 24, 10),
        resolved_at=ny(2026, 11, 24, 10),
        now=LATER,
    )
    h = heads(e)
    assert h["Resolution"].endswith(
        "→ due Tue 01 Dec 2026 10:00 EST — met at Tue 24 Nov 2026 10:00 EST "
        "(36h 00m before the deadline)"
    )
    assert "overdue" not in h["Next update"] and "left" not in h["Next update"]
    assert "no longer running: resolved Tue 24 Nov 2026 10:00 EST" in h["Next update"]


def test_resolved_late_does_not_count_a_later_pause() -> None:
    # due Tue 1 Dec 10:00; waiting on the customer Tue 12:00-15:00; resolved Wed 10:00:
    # Tue 10:00-18:00 + Wed 09:00-10:00 = 9h, minus the 3h pause = 6h late
    e = explain(
        P,
        "urgent",
        ny(*MON, 10),
        pauses=[(ny(2026, 12, 1, 12), ny(2026, 12, 1, 15))],
        first_response_at=ny(*MON, 11),
        resolved_at=ny(2026, 12, 2, 10),
        now=LATER,
    )
    head = heads(e)["Resolution"]
    assert head.endswith(
        "→ due Tue 01 Dec 2026 10:00 EST — breached: resolved at Wed 02 Dec 2026 10:00 EST, "
        "6h 00m after the deadline"
    )
    assert "overdue" not in head


def test_pending_while_overdue_says_overdue_not_left() -> None:
    # critical: 8h on the 24/7 clock from Mon 10:00 -> due 18:00; paused 40m 36.6s later
    paused = ny(*MON, 18) + timedelta(minutes=40, seconds=36, microseconds=600_000)
    e = explain(P, "critical", ny(*MON, 10), paused_since=paused, now=LATER)
    res = e.sections[2]
    assert res.due is None
    assert res.headline.endswith("→ paused, overdue by 40m 37s")
    last = res.lines[-1]
    assert last.kind == "paused"
    assert last.text.endswith("clock stopped, overdue by 40m 37s when it resumes")
    assert last.seconds == -2437
    assert not any("left" in line.text for line in res.lines) and "left" not in res.headline


def test_pending_with_time_left_keeps_its_wording() -> None:
    e = explain(P, "critical", ny(*MON, 10), paused_since=ny(*MON, 12), now=LATER)
    res = e.sections[2]
    assert res.headline.endswith("→ paused with 6h 00m left")
    assert res.lines[-1].text.endswith("6h00m left when it resumes")
    # no first reply yet: the update cadence has not started (update clock contract)
    assert "starting with the first public reply" in heads(e)["Next update"]

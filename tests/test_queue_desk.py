"""The desk's queue API: views, counts, orderings, filter, rows by id (issue 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from agent_console.desk import Desk
from agent_console.desk.queue import (
    BREACHING_WINDOW,
    SORT_NAMES,
    VIEW_NAMES,
    QueueQuery,
    like_pattern,
    next_sort,
)
from agent_console.errors import UserError
from agent_console.store.models import Agent, Customer, Organization, Ticket
from agent_console.store.types import FAR_FUTURE
from tests.conftest import FIXED_NOW


def _all_open(desk: Desk) -> list[Ticket]:
    with desk.read() as s:
        return list(s.execute(select(Ticket).where(Ticket.is_open == True)).scalars())  # noqa: E712


def _agent(desk: Desk, handle: str) -> Agent:
    with desk.read() as s:
        return s.execute(select(Agent).where(Agent.handle == handle)).scalar_one()


@pytest.mark.parametrize("view", VIEW_NAMES)
def test_each_view_holds_exactly_its_tickets(seeded_desk: Desk, view: str) -> None:
    me = _agent(seeded_desk, "alice")
    opened = _all_open(seeded_desk)
    soon = FIXED_NOW + BREACHING_WINDOW
    want = {
        "working": lambda t: (t.tier == 1 and t.assignee_id is None) or t.assignee_id == me.id,
        "mine": lambda t: t.assignee_id == me.id,
        "unassigned": lambda t: t.tier == 1 and t.assignee_id is None,
        "escalations": lambda t: t.tier == 1 and t.escalated,
        "critical": lambda t: t.priority == "critical",
        "breaching": lambda t: t.next_due <= soon,
        "waiting": lambda t: t.status == "pending",
        "all": lambda t: True,
    }[view]
    expected = {t.id for t in opened if want(t)}
    q = QueueQuery(view=view, agent="alice")
    ids = seeded_desk.queue_ids(q, FIXED_NOW)
    assert set(ids) == expected
    assert len(ids) == len(set(ids))
    counts = seeded_desk.queue_counts("alice", FIXED_NOW)
    assert counts[view] == len(expected)


def test_views_are_for_the_agents_tier(seeded_desk: Desk) -> None:
    key = seeded_desk.create_ticket(subject="Tier 2 work", body="x", requester_email="t2@x.org")
    with seeded_desk.write() as s:
        t = seeded_desk.ticket_by_key(s, key)
        t.tier, t.escalated = 2, True
    ids = seeded_desk.queue_ids(QueueQuery(view="unassigned", agent="femi"), FIXED_NOW)
    rows = seeded_desk.queue_rows(ids)
    assert rows and all(r.tier == 2 and r.assignee is None for r in rows.values())
    assert key in {r.key for r in rows.values()}
    esc = seeded_desk.queue_ids(QueueQuery(view="escalations", agent="femi"), FIXED_NOW)
    assert key in {r.key for r in seeded_desk.queue_rows(esc).values()}
    assert key not in {
        r.key
        for r in seeded_desk.queue_rows(
            seeded_desk.queue_ids(QueueQuery(view="working", agent="alice"), FIXED_NOW)
        ).values()
    }


def test_default_order_is_soonest_breach_then_priority(seeded_desk: Desk) -> None:
    ids = seeded_desk.queue_ids(QueueQuery(view="all"), FIXED_NOW)
    rows = seeded_desk.queue_rows(ids)
    keys = [((rows[i].next_due or FAR_FUTURE), rows[i].priority_level, rows[i].id) for i in ids]
    assert keys == sorted(keys)
    # breached first
    first = rows[ids[0]]
    assert first.next_due is not None and first.next_due < FIXED_NOW


@pytest.mark.parametrize("sort", SORT_NAMES)
def test_every_sort_is_a_total_order_of_the_view(seeded_desk: Desk, sort: str) -> None:
    base = seeded_desk.queue_ids(QueueQuery(view="all"), FIXED_NOW)
    ids = seeded_desk.queue_ids(QueueQuery(view="all", sort=sort), FIXED_NOW)
    assert sorted(ids) == sorted(base)
    rows = seeded_desk.queue_rows(ids)
    seq = [rows[i] for i in ids]
    key = {
        "due": lambda r: ((r.next_due or FAR_FUTURE), r.priority_level, r.id),
        "priority": lambda r: (r.priority_level, (r.next_due or FAR_FUTURE), r.id),
        "newest": lambda r: (-r.opened_at.timestamp(), -r.id),
        "oldest": lambda r: (r.opened_at, r.id),
        "updated": lambda r: (-r.updated_at.timestamp(), -r.id),
        "key": lambda r: r.number,
    }[sort]
    assert seq == sorted(seq, key=key)


def test_next_sort_cycles() -> None:
    seen = ["due"]
    while (n := next_sort(seen[-1])) != "due":
        seen.append(n)
    assert seen == list(SORT_NAMES)


def test_filter_matches_key_subject_requester_and_organization(seeded_desk: Desk) -> None:
    rows = seeded_desk.queue_rows(seeded_desk.queue_ids(QueueQuery(view="all"), FIXED_NOW))
    sample = next(iter(rows.values()))

    def hits(text: str) -> set[int]:
        return set(seeded_desk.queue_ids(QueueQuery(view="all", text=text), FIXED_NOW))

    assert sample.id in hits(sample.key.lower())
    assert sample.id in hits(sample.subject[3:12].upper())
    assert sample.id in hits(sample.requester.split()[0])
    if sample.organization:
        assert sample.id in hits(sample.organization)
    word = "refund"
    expected = {r.id for r in rows.values() if word in r.subject.lower()}
    assert expected and hits(word) >= expected


@pytest.mark.parametrize(
    "text", ["%", "_", "\\", "[/path]", "it's", '"quoted"', "a%b_c\\d", "(", "*", "🙂"]
)
def test_filter_text_is_data_never_syntax(seeded_desk: Desk, text: str) -> None:
    # no error, and wildcards in the text match literally (nothing has these subjects)
    assert seeded_desk.queue_ids(QueueQuery(view="all", text=text), FIXED_NOW) == []


def test_filter_wildcards_match_literally(seeded_desk: Desk) -> None:
    key = seeded_desk.create_ticket(
        subject="Refund 100% of fee_x for [/path] docs",
        body="x",
        requester_email="lit@example.com",
    )
    ids = seeded_desk.queue_ids(QueueQuery(view="all", text="100% of fee_x"), FIXED_NOW)
    rows = seeded_desk.queue_rows(ids)
    assert [r.key for r in rows.values()] == [key]
    assert seeded_desk.queue_ids(QueueQuery(view="all", text="100%%"), FIXED_NOW) == []
    assert seeded_desk.queue_ids(QueueQuery(view="all", text="fee_"), FIXED_NOW) == ids
    assert like_pattern("a%b_c\\") == "%a\\%b\\_c\\\\%"


def test_rows_are_plain_values_with_policy_and_deadlines(seeded_desk: Desk) -> None:
    ids = seeded_desk.queue_ids(QueueQuery(view="all"), FIXED_NOW)[:50]
    rows = seeded_desk.queue_rows(ids + [10**9])
    assert set(rows) == set(ids)  # the missing id is simply absent
    with seeded_desk.read() as s:
        for r in rows.values():
            t = s.get(Ticket, r.id)
            cust = s.get(Customer, t.requester_id)
            org = s.get(Organization, t.organization_id) if t.organization_id else None
            assert r.key == t.key and r.subject == t.subject and r.requester == cust.name
            assert r.organization == (org.name if org else None)
            assert r.policy == (org.sla_policy if org else None)
            assert r.first_response_due == t.first_response_due
            assert r.resolution_due == t.resolution_due
            assert r.version == t.version
    with pytest.raises(Exception):  # noqa: B017 - frozen dataclass
        next(iter(rows.values())).subject = "x"  # type: ignore[misc]


def test_page_and_position_follow_the_ordering(seeded_desk: Desk) -> None:
    q = QueueQuery(view="all")
    ids = seeded_desk.queue_ids(q, FIXED_NOW)
    page = seeded_desk.queue_page(q, offset=5, limit=7, now=FIXED_NOW)
    assert [r.id for r in page] == ids[5:12]
    assert seeded_desk.queue_position(q, ids[9], FIXED_NOW) == 9
    assert seeded_desk.queue_position(q, 10**9, FIXED_NOW) is None
    with pytest.raises(UserError):
        seeded_desk.queue_page(q, offset=-1)


def test_breaching_view_moves_with_now(seeded_desk: Desk) -> None:
    q = QueueQuery(view="breaching")
    now_ids = set(seeded_desk.queue_ids(q, FIXED_NOW))
    later = set(seeded_desk.queue_ids(q, FIXED_NOW + timedelta(hours=6)))
    assert now_ids <= later and len(later) > len(now_ids)


def test_unknown_view_sort_and_agent_are_one_line_errors(seeded_desk: Desk) -> None:
    with pytest.raises(UserError, match="unknown queue view"):
        seeded_desk.queue_ids(QueueQuery(view="nope"))
    with pytest.raises(UserError, match="unknown sort"):
        seeded_desk.queue_ids(QueueQuery(sort="nope"))
    with pytest.raises(UserError, match="unknown agent"):
        seeded_desk.queue_ids(QueueQuery(agent="nobody"))


def test_no_demo_actor_on_an_empty_team_database(desk: Desk) -> None:
    """Issue 11: without an agent a fresh database has no "Demo Agent" to act as."""
    with pytest.raises(UserError, match="no agent to act as"):
        desk.queue_me()
    desk.add_agent("ann", "Ann One", 1)
    me = desk.queue_me("ann")
    assert me.handle == "ann" and me.tier == 1
    assert desk.queue_ids(QueueQuery(agent="ann")) == []
    assert desk.queue_counts("ann")["all"] == 0


@pytest.mark.postgres
def test_queue_on_postgresql(pg_desk: Desk) -> None:
    pg_desk.seed(300, seed=7, now=FIXED_NOW)
    q = QueueQuery(view="all")
    ids = pg_desk.queue_ids(q, FIXED_NOW)
    counts = pg_desk.queue_counts(None, FIXED_NOW)
    assert len(ids) == counts["all"] > 0
    rows = pg_desk.queue_rows(ids)
    keys = [((rows[i].next_due or FAR_FUTURE), rows[i].priority_level, rows[i].id) for i in ids]
    assert keys == sorted(keys)
    # case-insensitive, wildcard-safe filter on PostgreSQL too
    hits = pg_desk.queue_ids(QueueQuery(view="all", text="REFUND"), FIXED_NOW)
    assert hits and all("refund" in rows[i].subject.lower() for i in hits)
    assert pg_desk.queue_ids(QueueQuery(view="all", text="100%_\\"), FIXED_NOW) == []
    for view in VIEW_NAMES:
        assert len(pg_desk.queue_ids(QueueQuery(view=view), FIXED_NOW)) == counts[view]


def _new_tickets(desk: Desk) -> list[str]:
    return [
        desk.create_ticket(
            subject=f"Refund {i}" if i % 3 == 0 else f"Printer {i}",
            body="x",
            requester_email=f"c{i}@x.org",
            priority=("critical", "urgent", "minor")[i % 3],
            opened_at=FIXED_NOW - timedelta(minutes=7 * i),
        )
        for i in range(8)
    ]


def _change_some_tickets(desk: Desk, keys: list[str]) -> None:
    """A mix of changes another console could make: claims, escalation, priority, status,
    resolution, a reply and a new ticket."""
    desk.claim(keys[0], agent="alice")
    desk.claim(keys[1], agent="bruno")
    desk.escalate(keys[2], "found: x; tried: y", agent="erin")
    desk.set_priority(keys[3], "minor", "workaround found", agent="erin")
    desk.set_priority(keys[4], "critical", "customer down", agent="erin")
    desk.set_status(keys[5], "pending", agent="erin")
    desk.resolve(keys[6], "fixed", agent="erin")
    desk.reply(keys[7], "looking into it", agent="erin")
    desk.create_ticket(subject="Refund please", body="x", requester_email="new@x.org")


@pytest.mark.parametrize("sort", SORT_NAMES)
@pytest.mark.parametrize(
    ("view", "text"),
    [("working", ""), ("unassigned", ""), ("all", ""), ("waiting", ""), ("all", "refund")],
)
def test_patching_an_ordering_equals_reading_it_again(
    seeded_desk: Desk, sort: str, view: str, text: str
) -> None:
    """The change feed's cheap path: only the changed tickets are moved (issue 4 scale)."""
    q = QueueQuery(view=view, text=text, sort=sort, agent="alice")
    keys = _new_tickets(seeded_desk)
    before = seeded_desk.queue_ids(q, FIXED_NOW)
    cursor = seeded_desk.follow_feed()
    _change_some_tickets(seeded_desk, keys)
    changed = seeded_desk.poll_feed(cursor)
    assert len(changed) == 9
    patched = seeded_desk.queue_patch(q, before, changed, FIXED_NOW)
    assert patched == seeded_desk.queue_ids(q, FIXED_NOW)
    assert patched != before


def test_patching_with_too_many_changes_asks_for_a_full_read(seeded_desk: Desk) -> None:
    from agent_console.desk.queue import PATCH_LIMIT

    q = QueueQuery(view="all", agent="alice")
    ids = seeded_desk.queue_ids(q, FIXED_NOW)
    assert seeded_desk.queue_patch(q, ids, range(1, PATCH_LIMIT + 2), FIXED_NOW) is None
    assert seeded_desk.queue_patch(q, ids, ids[:PATCH_LIMIT], FIXED_NOW) == ids


@pytest.mark.postgres
@pytest.mark.parametrize("sort", ["due", "newest"])
def test_patching_on_postgresql(pg_desk: Desk, sort: str) -> None:
    pg_desk.seed(300, seed=7, now=FIXED_NOW)
    for handle, name, tier, lead in [("alice", "Alice", 1, False), ("bruno", "Bruno", 1, False)]:
        if handle not in {a.handle for a in pg_desk.list_agents()}:
            pg_desk.add_agent(handle, name, tier, lead=lead)
    if "erin" not in {a.handle for a in pg_desk.list_agents()}:
        pg_desk.add_agent("erin", "Erin", 1, lead=True)
    q = QueueQuery(view="working", sort=sort, agent="alice")
    keys = _new_tickets(pg_desk)
    before = pg_desk.queue_ids(q, FIXED_NOW)
    cursor = pg_desk.follow_feed()
    _change_some_tickets(pg_desk, keys)
    changed = pg_desk.poll_feed(cursor)
    assert pg_desk.queue_patch(q, before, changed, FIXED_NOW) == pg_desk.queue_ids(q, FIXED_NOW)

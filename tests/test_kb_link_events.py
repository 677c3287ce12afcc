"""Issue 9, failure #5: linking an article is a ticket-visible change; other consoles see
it through the change feed (an event), and it is an append, not a field edit (no version
bump), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from agent_console.desk import Desk
from agent_console.settings import Settings
from agent_console.store.models import Ticket
from tests.conftest import FIXED_NOW, throwaway_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def two_consoles(request, tmp_path: Path) -> Iterator[tuple[Desk, Desk]]:
    """Two desks (consoles) on one database: alice's and bob's."""

    def pair(url: str) -> tuple[Desk, Desk]:
        a = Desk.open(Settings(db_url=url, now=FIXED_NOW, agent="alice"))
        a.seed(40, seed=3, now=FIXED_NOW)
        return a, Desk.open(Settings(db_url=url, now=FIXED_NOW, agent="bob"))

    if request.param == "sqlite":
        desks = pair(f"sqlite:///{tmp_path / 'k.db'}")
        yield desks
    else:
        with throwaway_pg_database(request.getfixturevalue("pg_server")) as url:
            desks = pair(url)
            yield desks
            for d in desks:
                d.engine.dispose()


def test_link_and_unlink_reach_other_consoles_through_the_feed(two_consoles) -> None:
    alice, bob = two_consoles
    with alice.read() as s:
        tid, key, version = s.exec(
            select(Ticket.id, Ticket.key, Ticket.version)
            .where(Ticket.tier == 1, Ticket.is_open == True)  # noqa: E712
            .order_by(Ticket.id)
            .limit(1)
        ).one()
    slug = alice.search_kb("maintenance window")[0].slug
    cursor = bob.follow_feed()
    assert alice.link_article(key, slug) is True
    assert bob.poll_feed(cursor) == {tid}
    history = [e.text for e in bob.ticket_history(key)]
    assert history[-1].startswith("alice linked the article")
    assert [a.slug for a in bob.articles_for_ticket(key)] == [slug]
    assert alice.unlink_article(key, slug) is True
    assert bob.poll_feed(cursor) == {tid}
    assert bob.ticket_history(key)[-1].text.startswith("alice unlinked the article")
    # links are appends, not field edits: a console's edit based on `version` still applies
    assert bob.ticket_detail(key).version == version
    # a second link of the same article writes nothing (no event, nothing to see)
    alice.link_article(key, slug)
    bob.poll_feed(cursor)
    assert alice.link_article(key, slug) is False
    assert bob.poll_feed(cursor) == frozenset()

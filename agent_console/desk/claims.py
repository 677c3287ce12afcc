"""Claims: an agent takes an unassigned ticket (issue 4 / issue 5).

A claim is one conditional ``UPDATE … WHERE assignee_id IS NULL AND is_open …``: of two
agents racing for a ticket exactly one update matches a row. On SQLite the write
transaction starts with ``BEGIN IMMEDIATE`` (see ``store/db.py``), so claimers in several
processes queue on the write lock; on PostgreSQL the loser's UPDATE waits for the winner's
row lock, then re-checks the WHERE clause and matches nothing. Either way the loser learns
who holds the ticket, and :meth:`ClaimsMixin.claim_next` simply moves on to the next one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, literal, not_, select, true, update
from sqlmodel import Session

from agent_console.desk.core import DeskCore
from agent_console.desk.metrics_rollup import dims_changed, event_logged
from agent_console.desk.permissions import require_may_take
from agent_console.desk.queue import open_policy_names, running_now
from agent_console.errors import Conflict, NotFound, UserError
from agent_console.store.models import Agent, Ticket, TicketEvent

T = Ticket.__table__.c  # type: ignore[attr-defined]
_BATCH = 16


def _who(session: Session, agent_id: int | None) -> str:
    if agent_id is None:
        return "nobody"
    holder = session.get(Agent, agent_id)
    return f"{holder.handle} ({holder.name})" if holder else f"agent #{agent_id}"


class ClaimsMixin(DeskCore):
    def claim(self, key: str, agent: str | None = None, expected_version: int | None = None) -> str:
        """Assign the unassigned open ticket ``key`` to ``agent`` (default: the acting
        agent). Agents claim tickets of their own tier; leads claim any (the rule an
        assignment obeys too: :func:`~agent_console.desk.permissions.may_take`).

        ``expected_version``: the version the agent saw; a ticket changed since is a
        :class:`Conflict`. Claiming a ticket already yours is a no-op. Returns the key.
        """
        if self.engine.dialect.name == "postgresql":
            # the update and its event in one statement (bench_team), then the metrics
            # rollup (desk/metrics_rollup.py) in the same transaction
            with self.write() as s:
                me = self.acting_agent(s, agent)
                won = s.execute(self._claim_statement(me, key, expected_version)).first()
                if won is not None:
                    tid, ev_id = int(won.ticket_id), int(won.id)
                    dims_changed(s, tid, assignee_before=None, before_id=ev_id)
                    event_logged(s, tid, "claimed", won.at, {}, before_id=ev_id)
                    return key.strip().upper()
                return self._claim_refused(s, me, key, expected_version)
        with self.write() as s:
            me = self.acting_agent(s, agent)
            # the conditional update finds the ticket by key and returns it; only when it
            # matches nothing is the row read, to say why
            won_key = self._try_claim(s, me, None, expected_version, key=key)
            if won_key is not None:
                return won_key
            return self._claim_refused(s, me, key, expected_version)

    def _claim_refused(
        self, s: Session, me: Agent, key: str, expected_version: int | None
    ) -> str:
        """The claim's update matched nothing: why (NotFound, Conflict, PermissionDenied),
        or the key when the ticket is already ``me``'s (a no-op)."""
        row = s.execute(
            select(T.id, T.key, T.tier, T.assignee_id, T.is_open, T.status, T.version).where(
                T.key == key.strip().upper()
            )
        ).first()
        if row is None:
            raise NotFound(f"no ticket {key!r}")
        self._claim_checks(s, me, row, expected_version)
        if row.assignee_id == me.id:
            return str(row.key)  # already yours: a no-op
        # lost a race between the update and this read (PostgreSQL): say to whom
        raise Conflict(f"{row.key} changed while claiming it; try again")

    def _claim_checks(self, s: Session, me: Agent, row: Any, expected_version: int | None) -> None:
        if not row.is_open:
            raise Conflict(f"{row.key} is {row.status}; only an open ticket can be claimed")
        if row.assignee_id is not None and row.assignee_id != me.id:
            raise Conflict(f"{row.key} is already claimed by {_who(s, row.assignee_id)}")
        require_may_take(me, row.key, row.tier)
        if expected_version is not None and row.version != expected_version:
            raise Conflict(
                f"{row.key} changed since you saw it (version {expected_version}, now "
                f"{row.version}); reload it and try again"
            )

    def _claim_statement(self, me: Agent, key: str, expected_version: int | None):  # type: ignore[no-untyped-def]
        """PostgreSQL: the conditional update of the ticket ``key`` and its ``claimed``
        event in one statement (a data-modifying CTE); it returns a row when ``me`` won."""
        now = self.now()
        where = [T.key == key.strip().upper(), T.assignee_id.is_(None), T.is_open == true()]
        if not me.lead:  # may_take, in the WHERE clause
            where.append(T.tier == me.tier)
        if expected_version is not None:
            where.append(T.version == expected_version)
        won = (
            update(Ticket.__table__)
            .where(*where)
            .values(assignee_id=me.id, version=T.version + 1, updated_at=now)
            .returning(T.id)
            .cte("won")
        )
        ev = TicketEvent.__table__  # type: ignore[attr-defined]
        details = self.event_details({"agent": me.handle})
        return (
            insert(ev)
            .from_select(
                ["ticket_id", "agent_id", "kind", "at", "details", "actor_role"],
                select(
                    won.c.id,
                    literal(me.id),
                    literal("claimed"),
                    literal(now, ev.c.at.type),
                    literal(details, ev.c.details.type),
                    literal(self.identity.role),
                ),
            )
            .returning(ev.c.id, ev.c.ticket_id, ev.c.at)
        )

    def _try_claim(
        self,
        s: Session,
        me: Agent,
        ticket_id: int | None,
        expected_version: int | None = None,
        *,
        key: str | None = None,
    ) -> str | None:
        """The conditional update of the ticket ``ticket_id`` (or the ticket ``key``):
        its key when this agent won it (event logged in the same transaction), else None.
        Two statements: ``UPDATE … RETURNING`` and the event's ``INSERT`` (bench_team)."""
        now = self.now()
        where = T.id == ticket_id if key is None else T.key == key.strip().upper()
        stmt = (
            update(Ticket.__table__)
            .where(where, T.assignee_id.is_(None), T.is_open == true())
            .values(assignee_id=me.id, version=T.version + 1, updated_at=now)
            .returning(T.id, T.key)
        )
        if not me.lead:  # may_take, in the WHERE clause
            stmt = stmt.where(T.tier == me.tier)
        if expected_version is not None:
            stmt = stmt.where(T.version == expected_version)
        won = s.execute(stmt).first()
        if won is None:
            return None
        dims_changed(s, int(won.id), assignee_before=None)  # metrics rollup
        self.log(s, int(won.id), "claimed", agent_id=me.id, at=now, agent=me.handle)
        return str(won.key)

    def claim_next(
        self, agent: str | None = None, count: int = 1, *, skip: Iterable[int] = ()
    ) -> list[str]:
        """Claim the ``count`` most urgent unassigned open tickets of the agent's tier, in
        the queue's "soonest breach" order (README "Urgency"): tickets whose clock runs now
        first, then those whose clock is stopped (waiting on the customer, or a business
        clock outside business hours); each group by its stored due instant (breached
        first), then priority. A ticket another agent wins meanwhile is skipped: the loser
        gets the following one, and so is every ticket id in ``skip`` (Play mode: tickets
        open in another console). Returns the keys claimed (empty when nothing is left)."""
        if count < 1:
            raise UserError("--count must be 1 or more")
        claimed: list[str] = []
        skipped = frozenset(skip)
        now = self.now()
        runs = running_now(open_policy_names(self, now))
        with self.write() as s:
            me = self.acting_agent(s, agent)
            # one keyset walk per urgency group, each along the unassigned-queue index
            for group in (runs, not_(runs)):
                after: tuple[Any, int, int] | None = None
                while len(claimed) < count:
                    q = (
                        select(T.id, T.key, T.next_due, T.priority_level)
                        .where(
                            T.is_open == true(),
                            T.tier == me.tier,
                            T.assignee_id.is_(None),
                            group,
                        )
                        .order_by(T.next_due, T.priority_level, T.id)
                        .limit(max(_BATCH, 2 * (count - len(claimed))))
                    )
                    if after is not None:
                        due, level, last_id = after
                        q = q.where(
                            (T.next_due > due)
                            | ((T.next_due == due) & (T.priority_level > level))
                            | ((T.next_due == due) & (T.priority_level == level) & (T.id > last_id))
                        )
                    batch = s.execute(q).all()
                    if not batch:
                        break
                    for r in batch:
                        if r.id in skipped:
                            continue
                        if self._try_claim(s, me, r.id):
                            claimed.append(r.key)
                            if len(claimed) >= count:
                                break
                    last = batch[-1]
                    after = (last.next_due, last.priority_level, last.id)
        return claimed

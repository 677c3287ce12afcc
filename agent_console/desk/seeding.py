"""``seed``: realistic, deterministic demo data, written with bulk inserts.

The same ``seed`` and ``now`` give the same database. A million tickets are written in
chunks (one commit per chunk, multi-row INSERTs), with deadlines computed by the SLA engine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert
from sqlalchemy import select as sa_select
from sqlmodel import select

from agent_console.desk import demo_corpus as corpus
from agent_console.desk.deadlines import clock_columns, cycle_rows
from agent_console.desk.kb import KBMixin
from agent_console.desk.tickets import KEY_PREFIX, TicketsMixin
from agent_console.errors import UserError
from agent_console.paths import kb_dir
from agent_console.sla import Policy, TicketClock
from agent_console.store.models import (
    Agent,
    Customer,
    Message,
    MessageKind,
    Organization,
    SlaCycle,
    Status,
    Ticket,
    TicketEvent,
)

CHUNK = 20_000
CUSTOMERS_PER_ORG = 24
HISTORY_DAYS = 56  # tickets are opened over the eight weeks before `now`

SeedProgress = Callable[[int, int], None]

# status mix: (status, weight) — about one ticket in ten is still open
STATUS_WEIGHTS = [
    (Status.NEW, 3),
    (Status.OPEN, 4),
    (Status.PENDING, 2),
    (Status.ON_HOLD, 1),
    (Status.RESOLVED, 30),
    (Status.CLOSED, 60),
]
PRIORITY_WEIGHTS = [("critical", 8), ("urgent", 30), ("minor", 62)]
CHANNEL_WEIGHTS = [("email", 55), ("portal", 35), ("phone", 10)]
TYPE_WEIGHTS = [("inoperable", 40), ("added", 15), ("desired", 10), ("question", 35)]


def _weighted(rng: random.Random, table: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


class SeedMixin(TicketsMixin, KBMixin):
    def seed(
        self,
        tickets: int,
        *,
        seed: int = 1,
        now: datetime | None = None,
        append: bool = False,
        progress: SeedProgress | None = None,
    ) -> int:
        """Write demo organizations, customers, agents, articles and ``tickets`` tickets."""
        if tickets < 0:
            raise UserError("--tickets must be zero or more")
        now = now or self.now()
        rng = random.Random(seed)
        with self.write() as s:
            existing = int(s.execute(sa_select(func.count()).select_from(Ticket)).scalar_one())
            if existing and not append:
                raise UserError(
                    f"the database already holds {existing} tickets; "
                    "use --append to add more or point --db at a new file"
                )
            orgs = self._seed_orgs(s)
            customers = self._seed_customers(s, orgs, rng)
            agents = self._seed_agents(s)
            first_number = self.next_ticket_number(s)
        self.seed_knowledge_base()
        policies = {oid: self.policy_named(p) for oid, (_, p) in orgs.items()}
        written = 0
        number = first_number
        while written < tickets:
            n = min(CHUNK, tickets - written)
            rows, threads = [], []
            for _ in range(n):
                row, thread = self._fake_ticket(rng, number, now, customers, agents, policies)
                rows.append(row)
                threads.append(thread)
                number += 1
            self._write_chunk(rows, threads)
            written += n
            if progress:
                progress(written, tickets)
        return written

    def seed_knowledge_base(self) -> None:
        """Load the starter articles shipped in ``data/kb/`` (idempotent by slug)."""
        if kb_dir().is_dir():
            self.import_kb(kb_dir())

    # ------------------------------------------------------------------ reference data
    def _seed_orgs(self, s: Any) -> dict[int, tuple[str, str | None]]:
        out = {}
        for name, domain, policy in corpus.ORGANIZATIONS:
            org = s.exec(select(Organization).where(Organization.name == name)).first()
            if org is None:
                org = Organization(name=name, domain=domain, sla_policy=policy)
                s.add(org)
                s.flush()
            out[org.id] = (domain, org.sla_policy)
        return out

    def _seed_customers(
        self, s: Any, orgs: dict[int, tuple[str, str | None]], rng: random.Random
    ) -> list[tuple[int, int, str]]:
        """[(customer id, organization id, name)]"""
        out = []
        for oid, (domain, _) in orgs.items():
            for i in range(CUSTOMERS_PER_ORG):
                first, last = rng.choice(corpus.FIRST_NAMES), rng.choice(corpus.LAST_NAMES)
                email = f"{first}.{last}{i}@{domain}".lower()
                cust = s.exec(select(Customer).where(Customer.email == email)).first()
                if cust is None:
                    cust = Customer(name=f"{first} {last}", email=email, organization_id=oid)
                    s.add(cust)
                    s.flush()
                out.append((cust.id, oid, cust.name))
        return out

    def _seed_agents(self, s: Any) -> dict[int, list[int]]:
        """tier -> [agent id]"""
        by_tier: dict[int, list[int]] = {1: [], 2: [], 3: []}
        for handle, name, tier, on_call, lead in corpus.AGENTS:
            agent = s.exec(select(Agent).where(Agent.handle == handle)).first()
            if agent is None:
                agent = Agent(handle=handle, name=name, tier=tier, on_call=on_call, lead=lead)
                s.add(agent)
                s.flush()
            by_tier[agent.tier].append(agent.id)
        return by_tier

    # ------------------------------------------------------------------ tickets
    def _fake_ticket(
        self,
        rng: random.Random,
        number: int,
        now: datetime,
        customers: list[tuple[int, int, str]],
        agents: dict[int, list[int]],
        policies: dict[int, Policy],
    ) -> tuple[dict[str, Any], list[tuple[str, int | None, int | None, timedelta, str, bool]]]:
        cust_id, org_id, _ = rng.choice(customers)
        policy = policies[org_id]
        status = _weighted(rng, STATUS_WEIGHTS)
        priority = _weighted(rng, PRIORITY_WEIGHTS)
        rtype = _weighted(rng, TYPE_WEIGHTS)
        target = policy.target(priority)
        if status.is_open:
            # mostly recent, a tail of old backlog (breached)
            age = timedelta(seconds=rng.expovariate(1 / (target.first_response * 1.6 + 3600)))
            age = min(age, timedelta(days=HISTORY_DAYS))
        else:
            age = timedelta(seconds=rng.uniform(86_400, HISTORY_DAYS * 86_400))
        opened = (now - age).replace(microsecond=0)
        subject_t, body_t = rng.choice(corpus.REQUESTS[rtype])
        fill = {
            "program": rng.choice(corpus.PROGRAMS),
            "feature": rng.choice(corpus.FEATURES),
            "error": rng.choice(corpus.ERRORS),
            "merchant": rng.choice(corpus.MERCHANTS),
        }
        tier = 1
        if status is not Status.NEW:
            r = rng.random()
            tier = 3 if r < 0.06 else 2 if r < 0.22 else 1
        assignee = None
        if status is not Status.NEW and (tier == 1 or not status.is_open or rng.random() < 0.6):
            # answered tickets have an owner; some escalations still wait for a consultant
            assignee = rng.choice(agents[tier])
        elif status is Status.NEW and rng.random() < 0.1:
            assignee = rng.choice(agents[1])
        thread: list[tuple[str, int | None, int | None, timedelta, str, bool]] = [
            (MessageKind.CUSTOMER.value, None, cust_id, timedelta(0), body_t.format(**fill), False)
        ]
        first_response_at = last_update = resolved_at = paused_since = None
        if status is not Status.NEW:
            # answered somewhere between early and a bit late
            delay = timedelta(seconds=int(target.first_response * rng.uniform(0.1, 1.3)))
            first_response_at = min(opened + delay, now)
            last_update = first_response_at
            responder = assignee or rng.choice(agents[1])
            thread.append(
                (
                    MessageKind.PUBLIC.value,
                    responder,
                    None,
                    first_response_at - opened,
                    rng.choice(corpus.REPLIES),
                    False,
                )
            )
            if rng.random() < 0.3:
                thread.append(
                    (
                        MessageKind.INTERNAL.value,
                        responder,
                        None,
                        first_response_at - opened + timedelta(minutes=5),
                        rng.choice(corpus.NOTES),
                        False,
                    )
                )
            if tier > 1:
                thread.append(
                    (
                        MessageKind.HANDOFF.value,
                        rng.choice(agents[tier - 1]),
                        None,
                        first_response_at - opened + timedelta(minutes=20),
                        rng.choice(corpus.HANDOFFS).format(**fill),
                        True,
                    )
                )
            if status is Status.PENDING:
                paused_since = min(first_response_at + timedelta(minutes=30), now)
            if not status.is_open:
                resolved_at = min(first_response_at + timedelta(hours=rng.uniform(1, 60)), now)
                thread.append(
                    (
                        MessageKind.PUBLIC.value,
                        assignee,
                        None,
                        resolved_at - opened,
                        "Resolved: " + rng.choice(corpus.REPLIES),
                        False,
                    )
                )
                last_update = resolved_at
        clock = TicketClock.of(
            policy,
            priority,
            opened,
            first_reply=first_response_at,
            last_update=last_update,
            paused_since=paused_since,
            resolved_at=resolved_at,
            status=status.value,
        )
        sla = clock_columns(clock)
        row: dict[str, Any] = {
            "number": number,
            "key": f"{KEY_PREFIX}-{number}",
            "external_id": None,
            "subject": subject_t.format(**fill),
            "requester_id": cust_id,
            "organization_id": org_id,
            "priority": priority,
            "priority_level": {"critical": 1, "urgent": 2, "minor": 3}[priority],
            "status": status.value,
            "is_open": status.is_open,
            "tier": tier,
            "escalated": tier > 1,
            "assignee_id": assignee,
            "channel": _weighted(rng, CHANNEL_WEIGHTS),
            "request_type": rtype,
            "tags": rng.choice(["", "", "rewards", "portal", "virtual-terminal", "billing,vip"]),
            "opened_at": opened,
            "first_response_at": first_response_at,
            "last_public_update_at": last_update,
            "resolved_at": resolved_at,
            "updated_at": resolved_at or last_update or opened,
            "paused_since": paused_since,
            "sla_pauses": [],
            "version": 1,
            **sla,
            "_clock": clock,  # taken off before the insert: its sla_cycle rows follow
        }
        # nothing in a thread happens after `now`
        latest = now - opened
        thread = [(k, a, c, min(off, latest), b, p) for k, a, c, off, b, p in thread]
        return row, thread

    def _write_chunk(
        self,
        rows: list[dict[str, Any]],
        threads: list[list[tuple[str, int | None, int | None, timedelta, str, bool]]],
    ) -> None:
        t = Ticket.__table__
        clocks = [row.pop("_clock") for row in rows]
        with self.write() as s:
            s.execute(insert(t), rows)
            first = rows[0]["number"]
            ids = dict(
                s.execute(
                    sa_select(t.c.number, t.c.id).where(
                        t.c.number >= first, t.c.number <= rows[-1]["number"]
                    )
                ).all()
            )
            messages, events = [], []
            for row, thread in zip(rows, threads, strict=True):
                tid = ids[row["number"]]
                opened = row["opened_at"]
                for kind, agent_id, cust_id, offset, body, pinned in thread:
                    messages.append(
                        {
                            "ticket_id": tid,
                            "kind": kind,
                            "author_agent_id": agent_id,
                            "author_customer_id": cust_id,
                            "body": body,
                            "created_at": opened + offset,
                            "pinned": pinned,
                        }
                    )
                events.append(
                    {
                        "ticket_id": tid,
                        "agent_id": None,
                        "kind": "created",
                        "at": opened,
                        "details": {"source": "seed"},
                    }
                )
                if row["status"] != Status.NEW.value:
                    events.append(
                        {
                            "ticket_id": tid,
                            "agent_id": row["assignee_id"],
                            "kind": "status",
                            "at": row["updated_at"],
                            "details": {"to": row["status"], "source": "seed"},
                        }
                    )
            s.execute(insert(Message.__table__), messages)
            s.execute(insert(TicketEvent.__table__), events)
            cycles = [
                c
                for row, clock in zip(rows, clocks, strict=True)
                for c in cycle_rows(clock, ids[row["number"]])
            ]
            if cycles:
                s.execute(insert(SlaCycle.__table__), cycles)

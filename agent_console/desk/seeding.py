"""``seed``: realistic, deterministic demo data, written with bulk inserts.

The same ``seed`` and ``now`` give the same database. A million tickets are written in
chunks (one commit per chunk, multi-row INSERTs), with deadlines computed by the SLA engine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import select

from agent_console.desk import demo_corpus as corpus
from agent_console.desk.deadlines import clock_columns, cycle_rows
from agent_console.desk.identity import DEMO_HANDLE, AgentKind
from agent_console.desk.kb import KBMixin
from agent_console.desk.metrics_rollup import add_rows
from agent_console.desk.tickets import KEY_PREFIX, TicketsMixin
from agent_console.errors import NotFound, UserError
from agent_console.paths import kb_dir
from agent_console.sla import Policy, TicketClock
from agent_console.store.models import (
    Agent,
    Customer,
    Message,
    MessageKind,
    OncallRota,
    Organization,
    SeedRun,
    SlaCycle,
    Status,
    Ticket,
    TicketEvent,
)

CHUNK = 20_000
#: tickets `agent-console --demo` loads into an empty database
DEMO_TICKETS = 2000
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


@dataclass(frozen=True)
class SeedRunView:
    """An interrupted ``seed`` run: ``written`` of ``tickets`` tickets, built around
    ``now`` (aware UTC) from random ``seed``."""

    seed: int
    now: datetime
    tickets: int
    written: int

    def how_to_resume(self) -> str:
        return (
            f"a seed run was interrupted after {self.written:,} of {self.tickets:,} tickets "
            f"(--tickets {self.tickets} --seed {self.seed} --now {self.now.isoformat()}); "
            "run `agent-console seed --resume` to finish it"
        )


def _rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _rng_from(state: list[Any]) -> random.Random:
    rng = random.Random()
    rng.setstate((state[0], tuple(state[1]), state[2]))
    return rng


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
        chunk: int = CHUNK,
    ) -> int:
        """Write demo organizations, customers, agents, articles and ``tickets`` tickets;
        returns how many tickets this call wrote.

        Tickets are written ``chunk`` per transaction, each with the run's progress
        (:class:`~agent_console.store.models.SeedRun`), so a killed run leaves a consistent
        database and resumes: calling ``seed`` again with the same ``tickets``/``seed``
        (and ``now``, or none) finishes it, as does :meth:`resume_seed`. Raises
        :class:`UserError` when the database already holds tickets (unless ``append``) or
        holds a different interrupted run (the message says how to finish it)."""
        if tickets < 0:
            raise UserError("--tickets must be zero or more")
        if chunk < 1:
            raise UserError("--chunk must be 1 or more")
        interrupted = self.unfinished_seed_run()
        if interrupted is not None:
            same = (tickets, seed) == (interrupted.tickets, interrupted.seed) and (
                now is None or now == interrupted.now
            )
            if append or not same:
                raise UserError(interrupted.how_to_resume())
            return self.resume_seed(progress=progress, chunk=chunk)
        now = now or self.now()
        rng = random.Random(seed)
        with self.write() as s:
            existing = int(s.execute(sa_select(func.count()).select_from(Ticket)).scalar_one())
            if existing and not append:
                raise UserError(
                    f"the database already holds {existing:,} tickets; "
                    "use --append to add more or point --db at a new file"
                )
            orgs = self._seed_orgs(s)
            customers = self._seed_customers(s, orgs, rng)
            agents = self._seed_agents(s)
            run = SeedRun(
                seed=seed,
                now=now,
                tickets=tickets,
                written=0,
                first_number=self.next_ticket_number(s),
                rng_state=_rng_state(rng),
                started_at=self.now(),
            )
            s.add(run)
            s.flush()
            run_id = int(run.id)  # type: ignore[arg-type]
        self.seed_knowledge_base()
        return self._seed_tickets(run_id, orgs, customers, agents, progress, chunk)

    def unfinished_seed_run(self) -> SeedRunView | None:
        """The newest ``seed`` run that was interrupted before its last chunk, if any."""
        with self.read() as s:
            run = s.exec(
                select(SeedRun)
                .where(SeedRun.finished_at == None)  # noqa: E711
                .order_by(SeedRun.id.desc())  # type: ignore[union-attr]
                .limit(1)
            ).first()
            if run is None:
                return None
            return SeedRunView(run.seed, run.now, run.tickets, run.written)

    def resume_seed(self, *, progress: SeedProgress | None = None, chunk: int = CHUNK) -> int:
        """Finish the interrupted ``seed`` run: the tickets it had not written yet, exactly
        as the uninterrupted run would have written them (same random state, same
        ``now``). Returns how many tickets this call wrote; raises :class:`UserError` when
        there is no interrupted run."""
        if chunk < 1:
            raise UserError("--chunk must be 1 or more")
        with self.write() as s:
            run = s.exec(
                select(SeedRun)
                .where(SeedRun.finished_at == None)  # noqa: E711
                .order_by(SeedRun.id.desc())  # type: ignore[union-attr]
                .limit(1)
            ).first()
            if run is None:
                raise UserError("there is no interrupted seed run to resume in this database")
            # the reference data exists; looking it up again replays the same random draws
            orgs = self._seed_orgs(s)
            customers = self._seed_customers(s, orgs, random.Random(run.seed))
            agents = self._seed_agents(s)
            run_id = int(run.id)  # type: ignore[arg-type]
        self.seed_knowledge_base()
        return self._seed_tickets(run_id, orgs, customers, agents, progress, chunk)

    def _seed_tickets(
        self,
        run_id: int,
        orgs: dict[int, tuple[str, str | None]],
        customers: list[tuple[int, int, str]],
        agents: dict[int, list[int]],
        progress: SeedProgress | None,
        chunk: int,
    ) -> int:
        with self.read() as s:
            run = s.get(SeedRun, run_id)
            assert run is not None  # noqa: S101
            rng = _rng_from(run.rng_state)
            now, tickets, written = run.now, run.tickets, run.written
            # another writer may have added tickets since the run was interrupted
            number = max(self.next_ticket_number(s), run.first_number + written)
        policies = {oid: self.policy_named(p) for oid, (_, p) in orgs.items()}
        start = written
        if written >= tickets:
            self._finish_run(run_id, written, rng)
        while written < tickets:
            n = min(chunk, tickets - written)
            rows, threads = [], []
            for _ in range(n):
                row, thread = self._fake_ticket(rng, number, now, customers, agents, policies)
                rows.append(row)
                threads.append(thread)
                number += 1
            written += n
            self._write_chunk(rows, threads, run=(run_id, written, _rng_state(rng), tickets))
            if progress:
                progress(written, tickets)
        return written - start

    def _finish_run(self, run_id: int, written: int, rng: random.Random) -> None:
        with self.write() as s:
            s.execute(
                update(SeedRun)
                .where(SeedRun.id == run_id)  # type: ignore[arg-type]
                .values(written=written, rng_state=_rng_state(rng), finished_at=self.now())
            )

    def demo_needs_loading(self) -> bool:
        """``--demo`` loads data: the database has no tickets, or a demo/seed load was
        interrupted (it resumes). Raises :class:`NotFound` when the acting agent
        (``--agent``) is neither in the database nor one of the demo agents, before
        anything is written."""
        interrupted = self.unfinished_seed_run() is not None
        if self.has_tickets() and not interrupted:
            return False
        handle = (self.settings.agent or "").strip().lower()
        demo_handles = [a[0] for a in corpus.AGENTS]
        if handle and handle not in demo_handles:
            with self.read() as s:
                known = s.exec(select(Agent.id).where(Agent.handle == handle)).first()
            if known is None:
                raise NotFound(
                    f"unknown agent {handle!r}: the demo data has the agents "
                    f"{', '.join(demo_handles)} (or add yours with `agent-console agent add`)"
                )
        return True

    def load_demo(self, progress: SeedProgress | None = None) -> int:
        """Load (or finish loading) the demo data: :data:`DEMO_TICKETS` tickets, seed 1,
        around the desk's clock, with the demo agents (alice, bruno, …). Returns the
        tickets written."""
        if self.unfinished_seed_run() is not None:
            written = self.resume_seed(progress=progress)
        else:
            written = self.seed(DEMO_TICKETS, seed=1, progress=progress)
        self._demo_rota()
        return written

    def _demo_rota(self) -> None:
        """The demo's on-call rota (issue 10), when the database has none: the eligible
        tier 1 agents take turns as primary, the eligible tier 2/3 agents as secondary,
        set by the first demo lead through :meth:`set_rota` (its rules apply). Without it
        the on-call screen of a fresh demo showed "nobody" on call above waiting alerts.
        Not under a ``--at`` rehearsal (the rota is not rehearsed)."""
        if getattr(self, "rehearsal", False):
            return
        with self.read() as s:
            if s.exec(select(OncallRota)).first() is not None:
                return
        lead = next(h for h, _n, _t, _o, is_lead in corpus.AGENTS if is_lead)
        primary = [h for h, _n, tier, on_call, _l in corpus.AGENTS if on_call and tier == 1]
        secondary = [h for h, _n, tier, on_call, _l in corpus.AGENTS if on_call and tier > 1]
        self.set_rota(primary, level="primary", agent=lead)  # type: ignore[attr-defined]
        self.set_rota(secondary, level="secondary", agent=lead)  # type: ignore[attr-defined]

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
                kind = AgentKind.DEMO if handle == DEMO_HANDLE else AgentKind.PERSON
                agent = Agent(
                    handle=handle, name=name, tier=tier, on_call=on_call, lead=lead, kind=kind
                )
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
        *,
        run: tuple[int, int, list[Any], int] | None = None,
    ) -> None:
        """One chunk in one transaction; ``run`` = (seed run id, tickets written with this
        chunk, random state after it, tickets asked for) is recorded in the same one."""
        t = Ticket.__table__
        clocks = [row.pop("_clock") for row in rows]
        with self.write() as s:
            if run is not None:
                run_id, written, state, total = run
                s.execute(
                    update(SeedRun)
                    .where(SeedRun.id == run_id)  # type: ignore[arg-type]
                    .values(
                        written=written,
                        rng_state=state,
                        finished_at=self.now() if written >= total else None,
                    )
                )
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
            seeder = self.system_actor(s, "seed").id  # work no person does (issue 11)
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
                        "agent_id": seeder,
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
            per_ticket = [
                cycle_rows(clock, ids[row["number"]])
                for row, clock in zip(rows, clocks, strict=True)
            ]
            cycles = [c for each in per_ticket for c in each]
            if cycles:
                s.execute(insert(SlaCycle.__table__), cycles)
            # the metrics rollup (issue 13), in the same transaction
            add_rows(
                s,
                [
                    (
                        r["priority"],
                        r["opened_at"],
                        r["assignee_id"],
                        _first_public(thread),
                        r["tier"],
                        r["organization_id"],
                    )
                    for r, thread in zip(rows, threads, strict=True)
                ],
                per_ticket,
            )


def _first_public(thread: list[tuple[str, int | None, int | None, timedelta, str, bool]]) -> Any:
    """The author of a seeded thread's first public reply (the metrics' first responder):
    the earliest, the first written among equals (as the message ids order them)."""
    public = [(off, i, a) for i, (k, a, _, off, _, _) in enumerate(thread) if k == MessageKind.PUBLIC.value]
    return min(public)[2] if public else None

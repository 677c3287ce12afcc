"""``sla apply``: store a policy file as the next version and recompute the open tickets
under it (README, "Stored policies").

- Who: a lead (the agent the console acts as: ``--agent LEAD``, or a lead's own
  PostgreSQL role) or the administrator (no ``--agent``: the user of a SQLite file, or the
  PostgreSQL database owner's role). Anyone may ``--dry-run``.
- The file is validated first (one line naming the file, key and reason; exit 2).
- The new version is stored in its own transaction, then the open tickets under the
  policy (organizations whose ``sla_policy`` names it; for ``default``, tickets of no
  organization or of an organization without a contract) are recomputed through
  :func:`agent_console.desk.deadlines.clock_columns` of each ticket's clock, one
  transaction per batch of :data:`BATCH_SIZE`, in id order, the batch's tickets locked
  as a workflow command locks its ticket. In the same transaction the open
  ``sla_cycle`` rows take the new due instants, targets and clock kinds, and the metrics
  rollup moves with them (:func:`agent_console.desk.deadlines.sync_cycles_many`, the rule
  every command's ``sync_cycles`` applies); stopped cycles are history and keep the
  verdict they had. Ticket versions are not bumped (deadlines are derived, not edited: no
  one's edit conflicts with a recompute).
- Events: ``sla_recomputed`` on each ticket where a deadline moved (details: the policy,
  its version and ``moved``: field → [before, after] ISO instants or null); on every
  recomputed ticket when the policy's alert thresholds or update warnings changed
  (``alerts`` true; ``moved`` may be empty); on a ticket whose cycle rows had to be
  brought in line (``moved`` empty, ``cycles`` true: rows an earlier release left
  behind). The alert schedule re-derives the tickets it sees in the feed. And one
  ``policy_applied`` summary event with no ticket (``ticket_id`` NULL; details: policy,
  version, previous_version, fingerprint, by and the counts). Consoles following the feed
  reload the stored policies when they see it.
- Applying the version already in force stores nothing but still recomputes (so an
  interrupted apply is finished by running it again).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Row, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from agent_console.desk.core import DeskCore
from agent_console.desk.deadlines import (
    ClockChange,
    clock_columns,
    clock_of,
    deadline_columns,
    sync_cycles_many,
)
from agent_console.desk.policies import latest_versions, read_policy_file, store_version
from agent_console.errors import Conflict, PermissionDenied, UserError
from agent_console.sla import DEFAULT_POLICY_NAME, Policy, PolicyError
from agent_console.sla.policy import _NAME_RE
from agent_console.store.models import Organization, Ticket, TicketEvent

#: tickets recomputed per transaction
BATCH_SIZE = 1000
#: the stored deadlines a recompute compares (``next_due`` follows from them)
DEADLINE_FIELDS = ("first_response_due", "next_update_due", "resolution_due")
#: event kinds written by a recompute
EVENT_RECOMPUTED = "sla_recomputed"
EVENT_POLICY_APPLIED = "policy_applied"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TicketMove:
    """One ticket whose deadlines moved: field → (before, after), UTC instants or None."""

    key: str
    priority: str
    moved: dict[str, tuple[datetime | None, datetime | None]]
    now_breached: bool


@dataclass
class ApplyReport:
    """What ``sla apply`` did (or, with ``dry_run``, would do)."""

    name: str
    fingerprint: str
    dry_run: bool
    #: the version stored (None on a dry run or when the file is the version in force)
    version: int | None
    #: the version in force before (None: a new contract)
    previous_version: int | None
    recomputed: int = 0
    #: deadlines (first response, next update, resolution) whose instant changed
    deadlines_moved: int = 0
    tickets_moved: int = 0
    #: tickets whose running deadline is past now after the recompute but was not before
    now_breached: int = 0
    #: every moved ticket on a dry run (empty otherwise: an apply reports counts)
    moves: list[TicketMove] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not self.dry_run and self.version is None

    def summary(self) -> str:
        """``312 open tickets recomputed; 41 deadlines moved, 3 now breached``"""
        n = self.recomputed
        if self.dry_run:
            return (
                f"dry run: {n:,} open ticket{'s' if n != 1 else ''} would be recomputed; "
                f"{self.deadlines_moved:,} deadline{'s' if self.deadlines_moved != 1 else ''} "
                f"would move, {self.now_breached:,} would be breached; nothing was written"
            )
        return (
            f"{n:,} open ticket{'s' if n != 1 else ''} recomputed; "
            f"{self.deadlines_moved:,} deadline{'s' if self.deadlines_moved != 1 else ''} "
            f"moved, {self.now_breached:,} now breached"
        )


class PolicyApplyMixin(DeskCore):
    def apply_policy(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        dry_run: bool = False,
        progress: Progress | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> ApplyReport:
        """Validate the policy file at ``path``, store it as the next version of ``name``
        and recompute the open tickets under it (module docstring). Raises
        :class:`UserError` (exit 2) for a bad file, :class:`PermissionDenied` (exit 3)
        for someone neither a lead nor the administrator."""
        with self.read() as s:
            stored = latest_versions(s)
        name = name or _name_for(Path(path), stored)
        if not _NAME_RE.fullmatch(name):
            raise UserError(f"bad policy name {name!r} (letters, digits, '-', '_', '.')")
        try:
            source = read_policy_file(path, name)
        except PolicyError as exc:
            raise UserError(f"SLA policy: {exc}") from exc
        policy = source.policy
        current = stored.get(name)
        previous = current.version if current is not None else None
        report = ApplyReport(policy.name, policy.fingerprint, dry_run, None, previous)
        if dry_run:
            self._recompute(policy, report, version=None, agent_id=None,
                            progress=progress, batch_size=batch_size)
            return report
        by, agent_id = self._policy_writer()
        if current is None or current.fingerprint != policy.fingerprint:
            with self.write() as s:
                try:
                    row = store_version(s, source, by=by, at=self.now())
                except IntegrityError as exc:
                    raise Conflict(
                        f"another version of policy {name!r} was stored at the same moment; "
                        "run sla apply again (it stores the file only if it differs)"
                    ) from exc
                report.version = row.version
        before = self._policy_in_force(name) if current is not None else None
        self.reload_policies()
        after = self.policy_named(name)
        self._recompute(after, report, version=report.version or previous,
                        agent_id=agent_id, progress=progress, batch_size=batch_size,
                        alerts=before is None or _alerting(before) != _alerting(after))
        self._log_applied(report, by=by, agent_id=agent_id)
        return report

    def restamp_after_upgrade(self, *, batch_size: int = BATCH_SIZE) -> list[ApplyReport]:
        """After an upgrade across :data:`~agent_console.store.migrations.STAMP_REVISION`:
        recompute the open tickets under every stored policy (the versions in force, no new
        version), so their ticket-clock stamps are written; a ``policy_applied`` event per
        policy (``by`` = ``upgrade``) and one start-up notice."""
        reports = []
        for name in self.policies.names():
            try:
                policy = self.policy_named(name)
            except UserError:
                continue  # a stored contract that no longer parses: its timers say so
            row = self.policies.version_of(name)
            version = row.version if row is not None else None
            report = ApplyReport(name, policy.fingerprint, False, None, version)
            self._recompute(policy, report, version=version, agent_id=None, progress=None,
                            batch_size=batch_size)
            self._log_applied(report, by="upgrade", agent_id=None)
            reports.append(report)
        n = sum(r.recomputed for r in reports)
        if n:
            self.notices.append(
                f"database upgraded: deadlines of {n:,} open ticket{'s' if n != 1 else ''} "
                "recomputed under the stored policies"
            )
        return reports

    def _log_applied(self, report: ApplyReport, *, by: str, agent_id: int | None) -> None:
        """The one ``policy_applied`` summary event (no ticket) of an apply."""
        with self.write() as s:
            self.log(
                s,
                None,
                EVENT_POLICY_APPLIED,
                agent_id=agent_id,
                policy=report.name,
                version=report.version or report.previous_version,
                previous_version=report.previous_version,
                stored=report.version is not None,
                fingerprint=report.fingerprint,
                by=by,
                recomputed=report.recomputed,
                deadlines_moved=report.deadlines_moved,
                tickets_moved=report.tickets_moved,
                now_breached=report.now_breached,
            )

    # ------------------------------------------------------------ who may apply
    def _policy_writer(self) -> tuple[str, int | None]:
        """``(stored_by, agent id)`` of who applies, or :class:`PermissionDenied`: a lead
        (the agent this connection acts as: ``--agent LEAD``, or on PostgreSQL the lead's
        own role, or a SQLite user mapped with ``--os-user``; desk/identity.py) or the
        administrator without ``--agent`` (the database owner / the SQLite file's owner).
        On PostgreSQL the trigger ``ac_leads_only`` (revision 0012) refuses any
        other role's write to the stored policies: the same rule in the database."""
        ident = self.identity
        if self.settings.agent or not ident.admin:
            try:
                with self.read() as s:
                    agent = self.acting_agent(s)
            except PermissionDenied as exc:
                raise PermissionDenied(
                    f"applying an SLA policy needs a lead or the database owner (role "
                    f"{ident.owner}; you are {ident.role}): {exc}"
                ) from exc
            if not agent.lead:
                raise PermissionDenied(
                    f"{agent.handle} is not a lead: only a lead or the administrator (no "
                    "--agent) applies an SLA policy"
                )
            return agent.handle, agent.id
        return (f"admin:{ident.role}" if ident.postgres else "admin"), None

    # ------------------------------------------------------------ the recompute
    def _policy_in_force(self, name: str) -> Policy | None:
        """The stored policy ``name`` this desk uses now (None: it no longer parses)."""
        try:
            return self.policy_named(name)
        except UserError:
            return None

    def _recompute(
        self,
        policy: Policy,
        report: ApplyReport,
        *,
        version: int | None,
        agent_id: int | None,
        progress: Progress | None,
        batch_size: int,
        alerts: bool = False,
    ) -> None:
        """Plain rows in, columns from :func:`clock_columns` out, one executemany UPDATE
        per batch of the tickets whose stored columns differ (no ORM objects: at 100,000
        tickets their attribute bookkeeping costs more than the deadlines), and the
        batch's cycle rows and rollup share (:func:`sync_cycles_many`). ``alerts``: the
        policy's alert thresholds changed (every ticket gets an event, see
        :meth:`_recompute_rows`)."""
        under = _under_policy(policy.name)
        with self.read() as s:
            ids = [int(i) for i in s.execute(select(_T.c.id).where(under).order_by(_T.c.id)).scalars()]
        total = len(ids)
        now = self.now()
        # the facts the clock needs and the stored columns it gives (to compare)
        derived = deadline_columns(policy, "minor", now).keys()
        wanted = dict.fromkeys(
            [*_FACT_COLUMNS, "key", "assignee_id", "tier", "organization_id", *derived]
        )
        columns = [_T.c[name] for name in wanted]
        if progress:
            progress("recompute", 0, total)
        for start in range(0, total, batch_size):
            chunk = ids[start : start + batch_size]
            query = select(*columns).where(_T.c.id.in_(chunk), under).order_by(_T.c.id)
            if report.dry_run:
                with self.read() as s:
                    rows = s.execute(query).all()
                self._recompute_rows(rows, policy, report, now)
            else:
                with self.write() as s:
                    # the tickets held while their clocks move, as a command holds its
                    # ticket (PostgreSQL; SQLite holds the write lock)
                    rows = s.execute(query.with_for_update()).all()
                    updates, events, clocks = self._recompute_rows(
                        rows, policy, report, now, alerts
                    )
                    for group in _by_columns(updates):
                        s.execute(_update_statement(group[0]), group)
                    # their sla_cycle rows and the metrics rollup, in the same transaction
                    changed, started = sync_cycles_many(s, clocks, now)
                    behind = changed - started - {ev["ticket_id"] for ev in events}
                    events += [
                        {"ticket_id": tid, "details": {"policy": policy.name, "moved": {},
                                                       "cycles": True}}
                        for tid in sorted(behind)
                    ]
                    if events:
                        # work no person does: the system actor (issue 11); who applied
                        # is on the policy_applied event
                        sla_actor = self.system_actor(s, "sla").id
                        for ev in events:
                            ev.update(agent_id=sla_actor, at=now, kind=EVENT_RECOMPUTED)
                            ev["details"]["version"] = version
                        s.execute(insert(TicketEvent.__table__), events)  # type: ignore[arg-type]
            if progress:
                progress("recompute", min(start + batch_size, total), total)

    @staticmethod
    def _recompute_rows(
        rows: Sequence[Row[Any]],
        policy: Policy,
        report: ApplyReport,
        now: datetime,
        alerts: bool = False,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[ClockChange]]:
        """``(updates, events, clocks)`` of one batch; counts go into ``report``.
        ``alerts``: the policy's alert thresholds changed, so every ticket gets its event
        (the alert schedule re-derives the tickets it sees in the feed)."""
        updates: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        clocks: list[ClockChange] = []
        for row in rows:
            r = row._mapping
            clock = clock_of(row, policy)  # type: ignore[arg-type]
            clocks.append(ClockChange(row, r["priority"], clock))
            new = clock_columns(clock)
            report.recomputed += 1
            changed = {k: v for k, v in new.items() if r[k] != v}
            if changed:
                updates.append({"_id": r["id"], **changed})
            moved = {f: (r[f], new[f]) for f in DEADLINE_FIELDS if r[f] != new[f]}
            if moved:
                breached = new["next_due"] <= now < r["next_due"]
                report.deadlines_moved += len(moved)
                report.tickets_moved += 1
                report.now_breached += breached
                if report.dry_run:
                    report.moves.append(TicketMove(r["key"], r["priority"], moved, breached))
            if report.dry_run or not (moved or alerts):
                continue  # nothing moved (at most a stamp or the sort key changed)
            details: dict[str, Any] = {
                "policy": policy.name,
                "moved": {f: [_iso(a), _iso(b)] for f, (a, b) in moved.items()},
            }
            if alerts:
                details["alerts"] = True
            events.append({"ticket_id": r["id"], "details": details})
        return updates, events, clocks


_T = Ticket.__table__  # type: ignore[attr-defined]
#: what a ticket's clock is built from (:func:`clock_of`)
_FACT_COLUMNS = (
    "id",
    "priority",
    "status",
    "opened_at",
    "first_response_at",
    "last_public_update_at",
    "paused_since",
    "resolved_at",
    "reopened_at",
    "sla_pauses",
)


def _alerting(policy: Policy) -> tuple[Any, ...]:
    """What the alert schedule takes from a policy besides the deadlines: the thresholds
    and each priority's update warning (desk/alerts.py ``desired_thresholds``)."""
    return (
        tuple(policy.alert_thresholds),
        tuple(sorted((t.name, t.update_warning) for t in policy.priorities.values())),
    )


def _by_columns(updates: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The updates grouped by the columns they set (one executemany per group)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for u in updates:
        groups.setdefault(tuple(u), []).append(u)
    return list(groups.values())


def _update_statement(sample: dict[str, Any]):  # type: ignore[no-untyped-def]
    """``UPDATE ticket SET <the columns of sample> WHERE id = :_id`` for executemany;
    ``version`` is not touched."""
    return (
        update(_T)
        .where(_T.c.id == bindparam("_id"))
        .values({k: bindparam(k) for k in sample if k != "_id"})
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _name_for(path: Path, stored: dict[str, object]) -> str:
    """``--name`` left out: ``enterprise-plus.toml`` is the stored contract of that name,
    ``sla.toml`` / ``default.toml`` the default policy; any other file name must say which
    (applying a contract file over the default policy by mistake would move every ticket)."""
    if path.stem in stored and path.stem != DEFAULT_POLICY_NAME:
        return path.stem
    if path.stem in ("sla", DEFAULT_POLICY_NAME):
        return DEFAULT_POLICY_NAME
    raise UserError(
        f"{path.name}: no stored policy named {path.stem!r}; say which policy it is: "
        f"--name default, or --name {path.stem} for a new contract"
    )


def _under_policy(name: str):  # type: ignore[no-untyped-def]
    """Open tickets whose deadlines come from the policy ``name`` (the same rule as
    :meth:`DeskCore.policy_for_ticket`)."""
    if name == DEFAULT_POLICY_NAME:
        contractless = select(Organization.id).where(
            or_(
                col(Organization.sla_policy).is_(None),
                col(Organization.sla_policy).in_(["", DEFAULT_POLICY_NAME]),
            )
        )
        owner = or_(
            col(Ticket.organization_id).is_(None), col(Ticket.organization_id).in_(contractless)
        )
    else:
        owner = col(Ticket.organization_id).in_(
            select(Organization.id).where(Organization.sla_policy == name)
        )
    return (col(Ticket.is_open) == True) & owner  # noqa: E712

"""Who is on call (issue 10): the rota kept in the database, one-off overrides, and the
desk API the on-call screen and the CLI read.

Levels, in escalation order: ``primary``, ``secondary``, then ``leads`` (every active lead;
the last level, no rota). Each of the first two levels has a weekly rotation
(:class:`~agent_console.store.models.OncallRota`): a list of eligible agents (``agent add
--oncall``) and a handover — a weekday and a wall time in a zone (``"mon 09:00"`` in
America/New_York; DST-safe: the handover is that wall time every week). A one-off override
(:class:`~agent_console.store.models.OncallOverride`) puts an agent on call at a level from
now until an instant (default: the next weekly handover); the latest override wins.

Desk API (all instants aware UTC; ``at`` defaults to the desk's clock, so ``--at`` rehearsals
follow it):

- :meth:`OncallMixin.oncall_now` → :class:`OncallState` — who is on call at ``at`` and until
  when, leads, whether business hours are open and when that changes;
- :meth:`OncallMixin.set_rota`, :meth:`OncallMixin.set_override` — leads only
  (:func:`~agent_console.desk.permissions.require_may_change_rota`); ``PermissionDenied``
  (exit 3) otherwise, ``UserError`` (exit 2) for bad input;
- :func:`on_call_level` — the level an agent holds at an instant (used by the after-hours
  permission rule in :mod:`agent_console.desk.permissions` and by alert routing).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from agent_console.desk.core import DeskCore
from agent_console.desk.permissions import require_may_change_rota
from agent_console.errors import UserError
from agent_console.settings import check_zone
from agent_console.sla import DAY_NAMES, PolicyError
from agent_console.sla.range import check_supported
from agent_console.store.models import Agent, OncallOverride, OncallRota
from agent_console.views import OncallSlot, OncallState

LEVELS: tuple[str, ...] = ("primary", "secondary")
#: escalation order of an alert's ``level`` number: 0 primary, 1 secondary, 2 leads
ESCALATION: tuple[str, ...] = ("primary", "secondary", "leads")

_HANDOVER_RE = re.compile(r"^\s*([a-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})\s*$", re.IGNORECASE)


def parse_level(text: str | None) -> str:
    level = (text or "primary").strip().lower()
    if level not in LEVELS:
        raise UserError(f"unknown on-call level {text!r} (use primary or secondary)")
    return level


def parse_handover(text: str) -> tuple[int, int]:
    """``"mon 09:00"`` → (weekday 0..6, minutes after midnight). One-line UserError else."""
    m = _HANDOVER_RE.match(text or "")
    if not m:
        raise UserError(f'bad handover {text!r}: write a weekday and a time, e.g. "mon 09:00"')
    day_name, hh, mm = m.group(1).lower(), int(m.group(2)), int(m.group(3))
    if day_name not in DAY_NAMES:
        raise UserError(f"bad handover day {m.group(1)!r} (use {', '.join(DAY_NAMES)})")
    if hh > 23 or mm > 59:
        raise UserError(f"bad handover time {hh:02d}:{mm:02d} (00:00 to 23:59)")
    return DAY_NAMES.index(day_name), hh * 60 + mm


def _wall(day: date, minute: int, zone: ZoneInfo) -> datetime:
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(UTC)


def handover_bounds(
    at: datetime, day: int, minute: int, zone: ZoneInfo
) -> tuple[datetime, datetime, date]:
    """The weekly handover at or before ``at`` and the next one (UTC), and the local date
    of the former (to count weeks). Pure."""
    local = at.astimezone(zone)
    d = local.date() - timedelta(days=(local.weekday() - day) % 7)
    last = _wall(d, minute, zone)
    if last > at:
        d -= timedelta(days=7)
        last = _wall(d, minute, zone)
    return last, _wall(d + timedelta(days=7), minute, zone), d


def rota_turn(rota: OncallRota, at: datetime) -> tuple[str | None, datetime, datetime]:
    """Whose turn it is in ``rota`` at ``at``: (handle or None, since, until). Pure."""
    zone = check_zone(rota.zone)
    since, until, d = handover_bounds(at, rota.handover_day, rota.handover_minute, zone)
    if not rota.handles:
        return None, since, until
    anchor_day = rota.anchor_at.astimezone(zone).date()
    weeks = (d - anchor_day).days // 7
    return rota.handles[weeks % len(rota.handles)], since, until


def _slot(session: Session, level: str, at: datetime, rehearsal: bool) -> OncallSlot:
    rota = session.exec(select(OncallRota).where(OncallRota.level == level)).first()
    handle: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    source = "rota"
    if rota is not None:
        handle, since, until = rota_turn(rota, at)
    q = (
        select(OncallOverride, Agent)
        .join(Agent, col(Agent.id) == OncallOverride.agent_id)
        .where(
            OncallOverride.level == level,
            col(OncallOverride.starts_at) <= at,
            col(OncallOverride.ends_at) > at,
        )
        .order_by(col(OncallOverride.starts_at).desc(), col(OncallOverride.id).desc())
    )
    if not rehearsal:
        q = q.where(OncallOverride.rehearsal == False)  # noqa: E712
    found = session.exec(q.limit(1)).first()
    if found is not None:
        ov, agent = found
        handle, since, until, source = agent.handle, ov.starts_at, ov.ends_at, "override"
    elif until is not None:
        # an override that starts before the handover ends this turn early
        q2 = select(OncallOverride.starts_at).where(
            OncallOverride.level == level,
            col(OncallOverride.starts_at) > at,
            col(OncallOverride.starts_at) < until,
        )
        if not rehearsal:
            q2 = q2.where(OncallOverride.rehearsal == False)  # noqa: E712
        nxt = session.exec(q2.order_by(col(OncallOverride.starts_at)).limit(1)).first()
        if nxt is not None:
            until = nxt
    name = None
    if handle:
        agent = session.exec(select(Agent).where(Agent.handle == handle)).first()
        if agent is None or not agent.active:
            handle = None
        else:
            name = agent.name
    return OncallSlot(level, handle, name, since, until, source)


def oncall_state(
    session: Session,
    at: datetime,
    *,
    policy_open: bool,
    next_change: datetime | None,
    rehearsal: bool = False,
) -> OncallState:
    """:class:`OncallState` read in ``session`` (for callers that hold a transaction)."""
    leads = [
        a.handle
        for a in session.exec(
            select(Agent).where(Agent.lead == True, Agent.active == True).order_by(Agent.handle)  # noqa: E712
        )
    ]
    return OncallState(
        at=at,
        primary=_slot(session, "primary", at, rehearsal),
        secondary=_slot(session, "secondary", at, rehearsal),
        leads=leads,
        business_open=policy_open,
        next_change=next_change,
        rehearsal=rehearsal,
    )


def on_call_level(
    session: Session, handle: str, at: datetime, *, rehearsal: bool = False
) -> str | None:
    """``"primary"`` / ``"secondary"`` when ``handle`` holds that level at ``at``, else None
    (leads are not "on call": they act by their lead rights)."""
    for level in LEVELS:
        if _slot(session, level, at, rehearsal).handle == handle:
            return level
    return None


class OncallMixin(DeskCore):
    """The rota and who is on call; see the module docstring."""

    @property
    def rehearsal(self) -> bool:
        """The desk runs on a ``--at`` clock (a rehearsal): writes are marked, nothing is
        sent outside, alerts live in their own namespace."""
        return self.settings.at is not None

    def oncall_now(self, at: datetime | None = None) -> OncallState:
        """Who is on call at ``at`` (default: now on the desk's clock) and until when."""
        at = at or self.now()
        policy = self.default_policy
        is_open = policy.is_open(at)
        nxt = policy.next_close(at) if is_open else policy.next_open(at)
        with self.read() as s:
            return oncall_state(
                s, at, policy_open=is_open, next_change=nxt, rehearsal=self.rehearsal
            )

    def set_rota(
        self,
        handles: list[str] | str,
        *,
        level: str | None = None,
        handover: str | None = None,
        zone: str | None = None,
        agent: str | None = None,
    ) -> OncallState:
        """Replace a level's weekly rotation: ``handles`` in order (the first is on call from
        the most recent handover), a handover like ``"mon 09:00"`` (default: keep the
        current one, else Monday 09:00) in ``zone`` (default: the rota's, else the default
        policy's zone). Every handle must be an active agent marked ``--oncall``.

        Raises PermissionDenied (not a lead), UserError (bad handle/handover/zone, or under a
        ``--at`` rehearsal: the rota is not rehearsed — use an override)."""
        lvl = parse_level(level)
        if isinstance(handles, str):
            handles = [h for h in (x.strip().lower() for x in handles.split(",")) if h]
        if not handles:
            raise UserError("a rota needs at least one agent handle (HANDLE,HANDLE,…)")
        if len(set(handles)) != len(handles):
            raise UserError("a rota lists each agent once")
        if self.rehearsal:
            raise UserError(
                "the rota is not changed in a rehearsal (--at); use `oncall set HANDLE` "
                "for a rehearsal override"
            )
        now = self.now()
        with self.write() as s:
            actor = self.agent_by_handle(s, agent or self.actor)
            require_may_change_rota(actor)
            for h in handles:
                a = self.agent_by_handle(s, h)
                if not a.on_call:
                    raise UserError(
                        f"agent {h!r} is not eligible for on call "
                        "(add them with `agent add --oncall`)"
                    )
            rota = s.exec(select(OncallRota).where(OncallRota.level == lvl)).first()
            if handover:
                day, minute = parse_handover(handover)
            elif rota is not None:
                day, minute = rota.handover_day, rota.handover_minute
            else:
                day, minute = 0, 9 * 60
            zname = zone or (rota.zone if rota else self.default_policy.timezone)
            tz = check_zone(zname)
            since, _until, _d = handover_bounds(now, day, minute, tz)
            if rota is None:
                rota = OncallRota(level=lvl, anchor_at=since, updated_at=now)
            rota.handles = list(handles)
            rota.handover_day, rota.handover_minute, rota.zone = day, minute, zname
            rota.anchor_at = since
            rota.updated_at = now
            rota.updated_by_id = actor.id
            rota.version = (rota.version or 0) + 1
            s.add(rota)
        return self.oncall_now(now)

    def set_override(
        self,
        handle: str,
        *,
        level: str | None = None,
        until: datetime | None = None,
        agent: str | None = None,
    ) -> OncallState:
        """Put ``handle`` on call at ``level`` from now until ``until`` (aware; default: the
        level's next weekly handover, else one week). Leads only. Under ``--at`` the override
        is a rehearsal one (seen only by rehearsal consoles)."""
        lvl = parse_level(level)
        now = self.now()
        if until is not None:
            if until.tzinfo is None:
                raise UserError("--until needs a UTC offset (e.g. 2026-11-30T09:00:00Z)")
            if until <= now:
                raise UserError("--until lies in the past; give a later instant")
            try:
                check_supported(until, "--until")
            except PolicyError as exc:
                raise UserError(str(exc)) from None
        with self.write() as s:
            actor = self.agent_by_handle(s, agent or self.actor)
            require_may_change_rota(actor)
            target = self.agent_by_handle(s, handle)
            if until is None:
                rota = s.exec(select(OncallRota).where(OncallRota.level == lvl)).first()
                if rota is not None:
                    until = rota_turn(rota, now)[2]
                else:
                    until = now + timedelta(days=7)
            s.add(
                OncallOverride(
                    level=lvl,
                    agent_id=target.id,  # type: ignore[arg-type]
                    starts_at=now,
                    ends_at=until,
                    created_by_id=actor.id,
                    created_at=now,
                    rehearsal=self.rehearsal,
                )
            )
        return self.oncall_now(now)

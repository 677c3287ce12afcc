"""The ticket clock: every SLA rule between the engine and a ticket, in one pure place.

A :class:`TicketClock` is an immutable value built from a ticket's SLA facts (its policy,
priority, opening, first public reply, last public agent update, pauses — the closed ones
and an open one — and the resolution instant). It answers

- the deadlines (:meth:`TicketClock.deadlines`, :meth:`TicketClock.due`),
- the *running deadline*: the metric whose clock runs now and falls due first — what the
  queue sorts by **and** draws (:meth:`TicketClock.running`),
- time left and state of each metric at an instant (:meth:`TicketClock.status`),
- the effect of a public reply, a status change, a priority change, a pause and a resume
  (each returns a new clock: :meth:`reply`, :meth:`set_status`, :meth:`with_priority`,
  :meth:`pause`, :meth:`resume`),
- the explanation of every deadline (:meth:`explain`, via :mod:`agent_console.sla.explain`).

SLA metrics are data: a :class:`MetricSpec` says what starts a metric, what stops it,
whether waiting on the customer pauses it, which target of the priority it uses and that
it runs on the priority's clock. The handbook's three metrics are :data:`FIRST_REPLY_TIME`,
:data:`PERIODIC_UPDATE` and :data:`RESOLUTION_TIME`; a priority with
``status_update_pauses = true`` uses :data:`PAUSABLE_UPDATE` instead (Zendesk's "pausable
update": the update cadence stops while the ticket waits on the customer). Adding a metric
is one spec in :func:`metric_specs`.

Rules (sources: the support handbooks in ``reference/``, DESIGN.md "SLA semantics"):

- First response: from the opening to the first public agent reply. Never paused.
- Next update (periodic update): starts with the first public reply; each public reply
  stops the cycle and starts the next one, due one status-update cadence later. It has no
  deadline before the first public reply (``next_update_due`` is None). It keeps running
  while the ticket waits on the customer unless the priority says
  ``status_update_pauses = true`` (the default policy does, for every priority); it stops
  when the ticket is resolved, and **reopening** starts a fresh cycle at the reopening
  (the ``reopened`` fact): the cycle starts at the latest of the first public reply, the
  last public update and the last reopening. (Resuming the cycle that stopped at the
  resolution would show a reopened ticket overdue at once whenever the cadence ran out
  while it was resolved; a resolved ticket owes no updates.)
- Resolution: from the opening to the resolution, stopped while the ticket waits on the
  customer (``pending``) and resumed with the time that was left. **Reopening** a resolved
  ticket resumes it too, and the time the ticket spent resolved counts as paused: it is
  stored as one more closed pause, so the resolution clock continues where it stopped.
- A priority change recomputes every target from the opening instant under the new
  priority (the facts stay, the targets change).

All instants are aware datetimes; deadlines come back in UTC. Seconds are clock seconds
(business seconds on a business clock). Nothing here reads the clock or touches a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from agent_console.sla.calendar import require_aware
from agent_console.sla.deadlines import Deadlines, Pause, merge_pauses, resolution_due_epoch
from agent_console.sla.durations import whole_seconds
from agent_console.sla.policy import BUSINESS, Policy, PriorityTarget
from agent_console.sla.range import check_supported

if TYPE_CHECKING:
    from agent_console.sla.explain import Explanation

__all__ = [
    "FIRST_REPLY_TIME",
    "OPEN_STATUSES",
    "PAUSABLE_UPDATE",
    "PERIODIC_UPDATE",
    "RESOLUTION_TIME",
    "MetricSpec",
    "MetricStatus",
    "Running",
    "TicketClock",
    "metric_specs",
]

# what starts / stops a metric
OPENED = "opened"
FIRST_REPLY = "first_reply"
PUBLIC_REPLY = "public_reply"
RESOLVED = "resolved"

#: the statuses of an open ticket (store.models.Status.is_open; resolved and closed are not)
OPEN_STATUSES = frozenset({"new", "open", "pending", "on_hold"})
_PENDING = "pending"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One SLA metric as data.

    ``starts``: ``"opened"`` or ``"first_reply"``; ``stops``: ``"first_reply"``,
    ``"public_reply"`` (a cyclic metric: every public reply ends one cycle and starts the
    next) or ``"resolved"``; ``pauses``: the clock stops while the ticket waits on the
    customer (status ``pending``) and while it is resolved; ``target_field``: the
    :class:`~agent_console.sla.policy.PriorityTarget` attribute holding its target
    (seconds on the priority's clock, ``PriorityTarget.clock``)."""

    name: str  # the stored column is f"{name}_due"
    label: str
    short: str  # the queue timer's label
    starts: str
    stops: str
    pauses: bool
    target_field: str

    @property
    def cyclic(self) -> bool:
        return self.stops == PUBLIC_REPLY

    def target(self, priority: PriorityTarget) -> int:
        """Target seconds of this metric for ``priority`` (on the priority's clock)."""
        return int(getattr(priority, self.target_field))


FIRST_REPLY_TIME = MetricSpec(
    "first_response", "First response", "FR", OPENED, FIRST_REPLY, False, "first_response"
)
PERIODIC_UPDATE = MetricSpec(
    "next_update", "Next update", "UPD", FIRST_REPLY, PUBLIC_REPLY, False, "status_update"
)
#: the policy option ``status_update_pauses = true``: the update cadence stops while waiting
PAUSABLE_UPDATE = MetricSpec(
    "next_update", "Next update", "UPD", FIRST_REPLY, PUBLIC_REPLY, True, "status_update"
)
RESOLUTION_TIME = MetricSpec(
    "resolution", "Resolution", "RES", OPENED, RESOLVED, True, "resolution"
)

_PLAIN_SPECS = (FIRST_REPLY_TIME, PERIODIC_UPDATE, RESOLUTION_TIME)
_PAUSABLE_SPECS = (FIRST_REPLY_TIME, PAUSABLE_UPDATE, RESOLUTION_TIME)
METRIC_NAMES: tuple[str, ...] = tuple(s.name for s in _PLAIN_SPECS)


def metric_specs(priority: PriorityTarget) -> tuple[MetricSpec, ...]:
    """The metrics a ticket of ``priority`` is measured on, in display order."""
    if priority.status_update_pauses:
        return _PAUSABLE_SPECS
    return _PLAIN_SPECS


#: per PriorityTarget (by identity; the target is kept alive in the value): its specs and,
#: per spec, (starts at the opening?, cyclic?, pausable?, target seconds) — the hot loop's
#: plain data, so that building 100,000 clocks does not re-read the specs each time
_PLANS: dict[int, tuple[PriorityTarget, tuple[MetricSpec, ...], tuple[Any, ...]]] = {}


def _plan(target: PriorityTarget) -> tuple[tuple[MetricSpec, ...], tuple[Any, ...]]:
    found = _PLANS.get(id(target))
    if found is None or found[0] is not target:
        specs = metric_specs(target)
        steps = tuple((s.starts == OPENED, s.cyclic, s.pauses, s.target(target)) for s in specs)
        found = (target, specs, steps)
        if len(_PLANS) > 4096:
            _PLANS.clear()
        _PLANS[id(target)] = found
    return found[1], found[2]


@dataclass(frozen=True, slots=True)
class Running:
    """The running deadline: the metric that runs now and falls due first."""

    metric: MetricSpec
    due: datetime  # aware UTC
    clock: str  # "calendar" | "business": the clock it runs on
    target_seconds: int


@dataclass(frozen=True, slots=True)
class MetricStatus:
    """One metric of a ticket at an instant.

    ``state``: ``running`` (due ahead), ``overdue`` (breached and still running),
    ``met`` / ``breached`` (stopped: in time / late), ``paused`` (waiting on the customer:
    ``seconds`` is the time left when it resumes), ``idle`` (not started, or no longer
    applies: no first reply yet for the update cadence, a finished ticket).
    ``running`` says whether the clock runs at that instant (a business clock outside
    business hours is stopped, a paused metric too)."""

    name: str
    label: str
    due: datetime | None
    state: str
    seconds: int | None = None  # clock seconds left (negative: overdue by)
    running: bool = True
    fraction: float | None = None  # seconds / target, for colouring
    done_at: datetime | None = None  # when it was met / breached (stopped)
    target_seconds: int = 0


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _ts(value: datetime | None, what: str) -> float | None:
    """Epoch seconds of an aware instant in the supported range (``ValueError`` for a
    naive one, :class:`~agent_console.sla.range.OutOfRange` outside 1900–2199)."""
    if value is None:
        return None
    if value.tzinfo is None:
        require_aware(value, what)
    check_supported(value, what)
    return value.timestamp()


class _ClockFacts(NamedTuple):
    """The stored shape of a :class:`TicketClock` (a named tuple: immutable, cheap)."""

    policy: Policy
    target: PriorityTarget
    #: the metrics of the priority (:func:`metric_specs`) and their cached plan
    specs: tuple[MetricSpec, ...]
    steps: tuple[Any, ...]
    #: epoch seconds (UTC) of the facts
    opened: float
    first_reply: float | None
    last_update: float | None
    #: closed pauses of the pausable metrics, merged and sorted (epoch seconds)
    pauses: tuple[tuple[float, float], ...]
    paused_since: float | None
    resolved_at: float | None
    is_open: bool
    #: epoch seconds of the last reopening (resolved -> open), None if never reopened
    reopened: float | None
    #: due instants (epoch seconds, None: not started / paused), in ``specs`` order
    dues: tuple[float | None, ...]


def _dues(
    policy: Policy,
    target: PriorityTarget,
    steps: tuple[Any, ...],
    opened: float,
    first: float | None,
    last: float | None,
    pauses: tuple[tuple[float, float], ...],
    waiting: bool,
    reopened: float | None = None,
) -> tuple[float | None, ...]:
    """Due instants of every metric: a metric starts at the opening or at the first
    public reply (a cyclic one at the latest of the last public update and the last
    reopening), runs its target on the
    priority's clock, and a pausable one skips the closed pauses and has no due instant
    while waiting. The hot path of every writer: plain locals over the cached plan."""
    out: list[float | None] = []
    for from_opening, cyclic, pausable, seconds in steps:
        if from_opening:
            start = opened
        elif first is None:
            out.append(None)
            continue
        else:
            start = first
            if cyclic:
                if last is not None and last > start:
                    start = last
                if reopened is not None and reopened > start:
                    start = reopened
        if not pausable or not (waiting or pauses):
            out.append(policy.add_epoch(target, start, seconds))
        elif waiting:
            out.append(None)
        else:
            out.append(resolution_due_epoch(policy, target, start, pauses, seconds))
    return tuple(out)


class TicketClock(_ClockFacts):
    """An immutable ticket clock (see the module docstring for the rules).

    Build it with :meth:`of` (from datetimes) or ``TicketClock(policy, target, opened,
    first_reply, last_update, pauses, paused_since, resolved_at, is_open, reopened)``
    (epoch seconds, pauses merged; ``reopened`` optional). Raises ``ValueError`` for naive instants or a pause ending
    before it starts, :class:`~agent_console.sla.range.OutOfRange` outside 1900–2199,
    :class:`~agent_console.sla.errors.PolicyError` for an unknown priority."""

    __slots__ = ()

    def __new__(
        cls,
        policy: Policy,
        target: PriorityTarget,
        opened: float,
        first_reply: float | None,
        last_update: float | None,
        pauses: tuple[tuple[float, float], ...],
        paused_since: float | None,
        resolved_at: float | None,
        is_open: bool,
        reopened: float | None = None,
    ) -> TicketClock:
        specs, steps = _plan(target)
        dues = _dues(
            policy,
            target,
            steps,
            opened,
            first_reply,
            last_update,
            pauses,
            paused_since is not None,
            reopened,
        )
        return tuple.__new__(
            cls,
            (
                policy,
                target,
                specs,
                steps,
                opened,
                first_reply,
                last_update,
                pauses,
                paused_since,
                resolved_at,
                is_open,
                reopened,
                dues,
            ),
        )

    def __repr__(self) -> str:
        return (
            f"TicketClock({self.policy.name!r}, {self.target.name!r}, opened={self.opened_at}, "
            f"open={self.is_open})"
        )

    # ------------------------------------------------------------------ build
    @classmethod
    def of(
        cls,
        policy: Policy,
        priority: str,
        opened: datetime,
        *,
        first_reply: datetime | None = None,
        last_update: datetime | None = None,
        pauses: Iterable[Pause] = (),
        paused_since: datetime | None = None,
        resolved_at: datetime | None = None,
        status: str | None = None,
        reopened_at: datetime | None = None,
    ) -> TicketClock:
        """A clock from a ticket's facts. ``status`` (optional) decides whether the ticket
        is open (``resolved``/``closed``: not); without it, a ticket with ``resolved_at``
        is finished. ``pending`` without ``paused_since`` is not paused (the facts rule).
        ``reopened_at``: the last reopening (a fresh update cycle starts there)."""
        target = policy.target(priority)
        if opened is None:
            raise ValueError("opened is required")
        if opened.tzinfo is None:
            require_aware(opened, "opened")
        check_supported(opened, "opened")
        t_open = opened.timestamp()
        is_open = (status in OPEN_STATUSES) if status is not None else resolved_at is None
        merged = tuple(merge_pauses(pauses, t_open)) if pauses else ()
        return cls(
            policy,
            target,
            t_open,
            None if first_reply is None else _ts(first_reply, "first reply"),
            None if last_update is None else _ts(last_update, "last update"),
            merged,
            None if paused_since is None else _ts(paused_since, "paused since"),
            None if resolved_at is None else _ts(resolved_at, "resolved at"),
            is_open,
            None if reopened_at is None else _ts(reopened_at, "reopened at"),
        )

    def _with(self, **changes: object) -> TicketClock:
        facts = {
            "policy": self.policy,
            "target": self.target,
            "opened": self.opened,
            "first_reply": self.first_reply,
            "last_update": self.last_update,
            "pauses": self.pauses,
            "paused_since": self.paused_since,
            "resolved_at": self.resolved_at,
            "is_open": self.is_open,
            "reopened": self.reopened,
        }
        facts.update(changes)
        return TicketClock(**facts)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ facts as datetimes
    @property
    def opened_at(self) -> datetime:
        return _utc(self.opened)

    @property
    def first_reply_at(self) -> datetime | None:
        return None if self.first_reply is None else _utc(self.first_reply)

    @property
    def last_update_at(self) -> datetime | None:
        return None if self.last_update is None else _utc(self.last_update)

    @property
    def paused_since_at(self) -> datetime | None:
        return None if self.paused_since is None else _utc(self.paused_since)

    @property
    def resolved_at_dt(self) -> datetime | None:
        return None if self.resolved_at is None else _utc(self.resolved_at)

    @property
    def reopened_at(self) -> datetime | None:
        return None if self.reopened is None else _utc(self.reopened)

    @property
    def pause_list(self) -> list[tuple[datetime, datetime]]:
        """The closed pauses as aware UTC pairs (what the ticket stores)."""
        return [(_utc(s), _utc(e)) for s, e in self.pauses]

    @property
    def priority(self) -> str:
        return self.target.name

    @property
    def clock_kind(self) -> str:
        """``"calendar"`` or ``"business"``: the clock every metric of the priority uses."""
        return self.target.clock

    @property
    def waiting(self) -> bool:
        """Waiting on the customer (pending): the pausable metrics are stopped."""
        return self.paused_since is not None

    def spec(self, name: str) -> MetricSpec:
        for s in self.specs:
            if s.name == name:
                return s
        raise KeyError(f"unknown SLA metric {name!r} (known: {', '.join(METRIC_NAMES)})")

    # ------------------------------------------------------------------ deadlines
    def start_epoch(self, spec: MetricSpec) -> float | None:
        """Where the metric's current cycle started counting (epoch), None if not yet."""
        if spec.starts == OPENED:
            return self.opened
        if self.first_reply is None:
            return None
        if spec.cyclic:
            return max(self.first_reply, self.last_update or 0.0, self.reopened or 0.0)
        return self.first_reply

    def dues_epoch(self) -> tuple[float | None, ...]:
        """Due instants (epoch seconds, None: not started / paused) of every metric, in
        :attr:`specs` order."""
        return self.dues

    def due(self, metric: str) -> datetime | None:
        """Due instant (UTC) of ``metric``'s current cycle; None before it starts (the
        update cadence before the first public reply) or while it is paused."""
        for spec, due in zip(self.specs, self.dues_epoch(), strict=True):
            if spec.name == metric:
                return None if due is None else _utc(due)
        raise KeyError(f"unknown SLA metric {metric!r} (known: {', '.join(METRIC_NAMES)})")

    def deadlines(self) -> Deadlines:
        """The three stored deadlines: first response, next update (None until the first
        public reply, or while a pausable cadence waits), resolution (None while paused;
        ``resolution_left`` then holds the clock seconds left when it resumes)."""
        fr, upd, res = self.dues_epoch()
        left = None
        if res is None and self.paused_since is not None:
            left = self.left_when_paused("resolution")
        return Deadlines(
            _utc(fr),  # type: ignore[arg-type]
            None if upd is None else _utc(upd),
            None if res is None else _utc(res),
            left,
        )

    def elapsed_at(self, metric: str, at: float, *, since: float | None = None) -> int:
        """Clock seconds counted on ``metric`` from ``since`` (default: where its current
        cycle started) to ``at`` (epoch seconds), pauses excluded for a pausable metric."""
        spec = self.spec(metric)
        start = self.start_epoch(spec) if since is None else since
        if start is None or at <= start:
            return 0
        used = self.policy.elapsed_epoch(self.target, start, at)
        if spec.pauses:
            spans = list(self.pauses)
            if self.paused_since is not None:
                spans.append((self.paused_since, max(at, self.paused_since)))
            for s, e in spans:
                if s >= at:
                    break
                if e <= start:
                    continue
                used -= self.policy.elapsed_epoch(self.target, max(s, start), min(e, at))
        return whole_seconds(used)

    def left_when_paused(self, metric: str) -> int | None:
        """Clock seconds ``metric`` had left when its pause began (negative: overdue by);
        None when it is not paused."""
        spec = self.spec(metric)
        if not spec.pauses or self.paused_since is None:
            return None
        start = self.start_epoch(spec)
        if start is None:
            return None
        stop = max(self.paused_since, start)
        return spec.target(self.target) - self.elapsed_at(metric, stop)

    def _live(self, spec: MetricSpec) -> bool:
        """Does the metric's clock run in principle now (started, not stopped, not
        paused)? Business hours aside."""
        if not self.is_open:
            return False
        if spec.stops == FIRST_REPLY:
            return self.first_reply is None
        if spec.starts == FIRST_REPLY and self.first_reply is None:
            return False
        return not (spec.pauses and self.paused_since is not None)

    def running(self) -> Running | None:
        """The running deadline: among the metrics whose clock runs (started, not
        stopped, not waiting), the one due first. None when nothing runs (finished, or
        everything waits on the customer). The queue sorts by it and draws it."""
        best: Running | None = None
        best_due = 0.0
        for spec, due in zip(self.specs, self.dues_epoch(), strict=True):
            if due is None or not self._live(spec):
                continue
            if best is None or due < best_due:
                best_due = due
                best = Running(spec, _utc(due), self.target.clock, spec.target(self.target))
        return best

    def running_epoch(self) -> tuple[str, float] | None:
        """:meth:`running` as (metric name, due epoch) — the bulk writers' fast path.
        (:meth:`_live` unrolled: a metric with a due instant has started and is not
        waiting, so only a finished ticket and an answered first response are left out.)"""
        if not self.is_open:
            return None
        answered = self.first_reply is not None
        best: tuple[str, float] | None = None
        for spec, due in zip(self.specs, self.dues, strict=True):
            if due is None or (answered and spec.stops == FIRST_REPLY):
                continue
            if best is None or due < best[1]:
                best = (spec.name, due)
        return best

    def runs_at(self, at: datetime) -> bool:
        """Does the running deadline's clock run at ``at``? False when nothing runs or
        a business clock is outside business hours. (The queue's urgency groups compute
        the same from stored columns in SQL: ``desk.queue.running_now``.)"""
        if self.running() is None:
            return False
        if self.target.clock == BUSINESS:
            return self.policy.calendar.is_open(at)
        return True

    # ------------------------------------------------------------------ state at an instant
    def status(self, metric: str, now: datetime) -> MetricStatus:
        """``metric`` at ``now``: state, clock seconds left, whether its clock runs."""
        spec = self.spec(metric)
        t_now = _ts(now, "now")
        assert t_now is not None
        target = spec.target(self.target)
        due_ts = self.dues_epoch()[self.specs.index(spec)]
        due = None if due_ts is None else _utc(due_ts)
        # stopped: met or breached against the due instant
        stopped_at: float | None = None
        if spec.stops == FIRST_REPLY and self.first_reply is not None:
            stopped_at = self.first_reply
        elif spec.stops == RESOLVED and self.resolved_at is not None:
            stopped_at = self.resolved_at
        if stopped_at is not None:
            state = "met" if due_ts is None or stopped_at <= due_ts else "breached"
            return MetricStatus(
                spec.name, spec.label, due, state, done_at=_utc(stopped_at), target_seconds=target
            )
        if not self.is_open or self.start_epoch(spec) is None:
            return MetricStatus(spec.name, spec.label, due, "idle", target_seconds=target)
        if spec.pauses and self.paused_since is not None:
            left = self.left_when_paused(spec.name)
            return MetricStatus(
                spec.name,
                spec.label,
                None,
                "paused",
                seconds=left,
                running=False,
                fraction=(left or 0) / target if target else None,
                target_seconds=target,
            )
        assert due_ts is not None
        seconds = whole_seconds(self.policy.elapsed_epoch(self.target, t_now, due_ts))
        if t_now > due_ts:
            seconds = -whole_seconds(self.policy.elapsed_epoch(self.target, due_ts, t_now))
        runs = self.target.clock != BUSINESS or self.policy.calendar.is_open_epoch(t_now)
        fraction = seconds / target if target else (1.0 if seconds > 0 else 0.0)
        return MetricStatus(
            spec.name,
            spec.label,
            due,
            "overdue" if seconds < 0 else "running",
            seconds=seconds,
            running=runs,
            fraction=fraction,
            target_seconds=target,
        )

    def statuses(self, now: datetime) -> tuple[MetricStatus, ...]:
        """Every metric at ``now``, in display order (first response, update, resolution)."""
        return tuple(self.status(s.name, now) for s in self.specs)

    # ------------------------------------------------------------------ what happens
    def reply(self, at: datetime) -> TicketClock:
        """A public agent reply at ``at``: the first one stops the first-response clock
        and starts the update cadence; each one ends the update cycle and starts the next."""
        t = _ts(at, "reply")
        assert t is not None
        return self._with(
            first_reply=self.first_reply if self.first_reply is not None else t,
            last_update=t,
        )

    def pause(self, at: datetime) -> TicketClock:
        """The ticket starts waiting on the customer: the pausable metrics stop."""
        if self.paused_since is not None:
            return self
        return self._with(paused_since=_ts(at, "pause"))

    def resume(self, at: datetime) -> TicketClock:
        """Waiting ends: the pausable metrics resume with the time they had left (the
        wait becomes one more closed pause)."""
        if self.paused_since is None:
            return self
        t = _ts(at, "resume")
        assert t is not None
        return self._with(pauses=self._add_pause(self.paused_since, t), paused_since=None)

    def _add_pause(self, start: float, end: float) -> tuple[tuple[float, float], ...]:
        if end <= start:
            return self.pauses
        spans = sorted([*self.pauses, (max(start, self.opened), end)])
        merged: list[tuple[float, float]] = []
        for s, e in spans:
            if e <= s:
                continue
            if merged and s <= merged[-1][1]:
                if e > merged[-1][1]:
                    merged[-1] = (merged[-1][0], e)
            else:
                merged.append((s, e))
        return tuple(merged)

    def set_status(self, status: str, at: datetime) -> TicketClock:
        """The effect of a status change at ``at``: ``pending`` pauses the pausable
        metrics; leaving it resumes them; ``resolved`` stops every metric (a pause still
        open is closed at ``at``); ``closed`` keeps the record; reopening a resolved ticket
        (any open status) resumes the resolution clock, the time spent resolved counted
        as paused, and starts a fresh update cycle at ``at``."""
        status = status.strip().lower()
        t = _ts(at, "status change")
        assert t is not None
        clock = self
        if status in OPEN_STATUSES:
            if clock.resolved_at is not None:  # reopening
                clock = clock._with(
                    pauses=clock._add_pause(clock.resolved_at, t),
                    resolved_at=None,
                    is_open=True,
                    reopened=t,
                )
            elif not clock.is_open:
                clock = clock._with(is_open=True)
            if status == _PENDING:
                return clock.pause(at)
            return clock.resume(at)
        if status == RESOLVED:
            clock = clock.resume(at)
            return clock._with(resolved_at=t, is_open=False)
        if status == "closed":
            return clock._with(is_open=False)
        raise ValueError(f"unknown status {status!r}")

    def with_priority(self, priority: str) -> TicketClock:
        """The same facts under another priority: every target recomputed from the opening."""
        return self._with(target=self.policy.target(priority))

    def with_policy(self, policy: Policy) -> TicketClock:
        """The same facts under another policy (a contract, an edited policy file)."""
        return self._with(policy=policy, target=policy.target(self.target.name))

    # ------------------------------------------------------------------ explanation
    def explain(self, now: datetime | None = None) -> Explanation:
        """Why each deadline falls where it does (:func:`agent_console.sla.explain.explain_clock`)."""
        from agent_console.sla.explain import explain_clock

        return explain_clock(self, now)

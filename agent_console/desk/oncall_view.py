"""What the on-call screen shows (issue 10, TUI part): one read of the desk, plain data.

The rota and alerts themselves live in :mod:`agent_console.desk.oncall` and
:mod:`agent_console.desk.alerts`; this module only gathers what one screen needs in one
worker call — :func:`oncall_board` — so the screen's 1 Hz tick formats from stored instants
and never queries.

Which tickets (the issue's rule): every open critical ticket, and any open ticket whose
running deadline (``ticket.next_due``, the instant the queue sorts by) falls inside the
current after-hours window — the default policy's closed period *now*, from its last
closing to its next opening. During business hours there is no such window and the list
is the open critical tickets. Soonest breach first (the queue's ``due`` order: running
deadline, then priority, then ticket id). Both parts come from the queue indices
(``is_open, priority_level`` / ``is_open, next_due``), never from a scan of every ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select, true
from sqlalchemy.sql import func

from agent_console.desk.alerts import AlertRow
from agent_console.desk.oncall import OncallState
from agent_console.desk.queue import QueueRow
from agent_console.sla import Policy
from agent_console.store.models import Ticket

if TYPE_CHECKING:
    from agent_console.desk import Desk

T = Ticket.__table__.c  # type: ignore[attr-defined]

#: how far back the last closing is looked for (a long holiday closure still fits)
LAST_CLOSE_LOOKBACK = timedelta(days=45)
#: how far ahead the next maintenance window is looked for
MAINTENANCE_LOOKAHEAD = timedelta(days=31)
#: the most tickets one board carries (the rest are counted in ``total``)
BOARD_LIMIT = 200
#: acknowledged (still unresolved) alerts listed below the unacknowledged ones
ACKNOWLEDGED_SHOWN = 20


@dataclass(frozen=True)
class OncallBoard:
    """One read of everything the on-call screen shows. Instants are aware UTC.

    ``window``: the current after-hours window (last closing, next opening) or None while
    business hours are open; ``maintenance``: the maintenance window in progress or the next
    one within :data:`MAINTENANCE_LOOKAHEAD` (start, end), else None; ``tickets``: the watched
    tickets, soonest breach first (at most ``limit``), ``total`` how many match in all;
    ``alerts``: open (unresolved) alerts of this namespace: every unacknowledged one
    first, then up to :data:`ACKNOWLEDGED_SHOWN` acknowledged ones."""

    now: datetime
    oncall: OncallState
    window: tuple[datetime, datetime] | None
    maintenance: tuple[datetime, datetime] | None
    tickets: list[QueueRow]
    total: int
    alerts: list[AlertRow]


def last_closing(policy: Policy, now: datetime) -> datetime | None:
    """The end of the policy's last open interval before ``now`` (UTC), or None when none
    ended within :data:`LAST_CLOSE_LOOKBACK`. Pure (the policy's calendar)."""
    intervals = policy.open_intervals(now - LAST_CLOSE_LOOKBACK, now)
    ended = [end for _start, end in intervals if end <= now]
    return ended[-1] if ended else None


def after_hours_window(policy: Policy, now: datetime) -> tuple[datetime, datetime] | None:
    """The closed period containing ``now`` — (last closing, next opening), UTC — or None
    when business hours are open at ``now``. Pure."""
    if policy.is_open(now):
        return None
    opens = policy.next_open(now)
    closed = last_closing(policy, now) or (now - LAST_CLOSE_LOOKBACK)
    return closed, opens


def watched_condition(window: tuple[datetime, datetime] | None) -> object:
    """The WHERE clause of the board's tickets (see the module docstring)."""
    critical = T.priority_level == 1
    if window is None:
        return and_(T.is_open == true(), critical)
    start, end = window
    return and_(T.is_open == true(), or_(critical, and_(T.next_due >= start, T.next_due <= end)))


def _clock_runs(desk: Desk, row: QueueRow, now: datetime) -> bool:
    """Whether the ticket's deadline clock runs at ``now`` (its policy's clock for its
    priority). A contract that fails to load counts as running (shown, never hidden)."""
    try:
        return desk.policy_named(row.policy).is_running(row.priority, now)
    except Exception:  # noqa: BLE001 - a bad contract file must not hide the ticket
        return True


def oncall_board(
    desk: Desk, now: datetime | None = None, *, limit: int = BOARD_LIMIT
) -> OncallBoard:
    """Everything the on-call screen shows at ``now`` (default: the desk's clock, so a
    ``--at`` rehearsal follows it). Read only; raises ``UserError`` when the database is
    unavailable (as every desk read)."""
    now = now or desk.now()
    policy = desk.default_policy
    window = after_hours_window(policy, now)
    maintenance = policy.active_or_next_maintenance(now, MAINTENANCE_LOOKAHEAD)
    cond = watched_condition(window)
    with desk.read() as s:
        ids = list(
            s.execute(
                select(T.id)
                .where(cond)  # type: ignore[arg-type]
                .order_by(T.next_due, T.priority_level, T.id)
                .limit(limit)
            ).scalars()
        )
        total = int(s.execute(select(func.count()).select_from(Ticket).where(cond)).scalar_one())  # type: ignore[arg-type]
    rows = desk.queue_rows(ids)
    # unacknowledged first (all of them, up to the desk's limit), then recent acknowledged
    alerts = desk.open_alerts()
    alerts += [
        a
        for a in desk.open_alerts(include_acknowledged=True, limit=ACKNOWLEDGED_SHOWN * 4)
        if a.acknowledged_at is not None
    ][:ACKNOWLEDGED_SHOWN]
    found = [rows[i] for i in ids if i in rows]
    return OncallBoard(
        now=now,
        oncall=desk.oncall_now(now),
        window=window,
        maintenance=maintenance,
        tickets=sorted(found, key=lambda r: not _clock_runs(desk, r, now)),
        total=total,
        alerts=alerts,
    )


# ====================================================================== console toasts
#: at most this many fresh alerts toast one by one in a pass; more are one summary toast
TOAST_SPREE = 3
#: seconds an alert toast stays on a normal terminal / a small one (below 100×30)
TOAST_SECONDS = 10.0
COMPACT_TOAST_SECONDS = 5.0


@dataclass(frozen=True)
class Toast:
    """One notification to show: plain text (outside text included — the app's notify
    renders it literally), a Textual severity and how long it stays (seconds)."""

    title: str
    message: str
    severity: str
    timeout: float


class AlertToasts:
    """Which alerts one console shows as a toast (and a bell) now — plain bookkeeping, no
    clock read and no I/O; the app feeds it every pass of its alert worker.

    An alert is shown to ``handle`` when it concerns them (:meth:`AlertRow.concerns`: the
    assignee, the on-call levels up to the alert's escalation level, leads): once when it
    is first seen open, again when it escalates to a new level, and — unacknowledged
    critical alerts — every ``every`` seconds (:meth:`AlertRow.needs_repeat`, 5 min by
    default). Acknowledged or resolved alerts are forgotten."""

    def __init__(self, handle: str, every: float) -> None:
        self.handle = handle
        self.every = every
        #: alert id → (when this console last showed it, the level it showed)
        self.shown: dict[int, tuple[datetime, int]] = {}
        #: acknowledged from this console (a read racing the acknowledgement may still
        #: list them open: never shown again)
        self.silenced: set[int] = set()
        #: of the alerts :meth:`due` just returned: first seen / escalated (True) or a repeat
        self._first_seen: dict[int, bool] = {}

    def due(self, alerts: list[AlertRow], oncall: OncallState, now: datetime) -> list[AlertRow]:
        """The alerts of ``alerts`` (open alerts, as :meth:`AlertsMixin.open_alerts` reads
        them) to show now; marks them shown at ``now``."""
        out: list[AlertRow] = []
        live: set[int] = set()
        for a in alerts:
            if not a.open or a.id in self.silenced or not a.concerns(self.handle, oncall):
                continue
            live.add(a.id)
            last = self.shown.get(a.id)
            if last is None or a.level > last[1] or a.needs_repeat(now, last[0], self.every):
                out.append(a)
                # first seen here, or escalated: news (a repeat is a reminder)
                self._first_seen[a.id] = last is None or a.level > last[1]
                self.shown[a.id] = (now, a.level)
        for gone in set(self.shown) - live:
            del self.shown[gone]
        self.silenced &= {a.id for a in alerts}
        return out

    def toasts(
        self,
        alerts: list[AlertRow],
        oncall: OncallState,
        now: datetime,
        *,
        compact: bool = False,
    ) -> list[Toast]:
        """What to put on screen now for ``alerts`` (as :meth:`due` picks them), as plain
        :class:`Toast` values — the app only shows them. The rule (issue 10, and the
        "unobtrusive at small sizes" finding of the issue-12 audit):

        - an alert whose threshold was crossed within the last ``every`` seconds and seen
          here for the first time (or escalated) is *fresh*: up to :data:`TOAST_SPREE` of
          them toast one by one (key, what crossed, subject);
        - everything else — alerts crossed long ago (a breach long past, the backlog a
          console finds when it starts: the first ``--demo`` start), repeats of
          unacknowledged critical alerts, more than :data:`TOAST_SPREE` at once — is folded
          into **one** summary toast (count and the first keys; the on-call screen lists
          them all);
        - ``compact`` (a small terminal): one toast at most, short, shown for less time
          (:data:`COMPACT_TOAST_SECONDS`): the header's count says the rest."""
        show = self.due(alerts, oncall, now)
        if not show:
            return []
        fresh: list[AlertRow] = []
        folded: list[AlertRow] = []
        for a in show:
            crossed = a.fire_at or a.fired_at
            first = self._first_seen.pop(a.id, False)
            recent = (now - crossed).total_seconds() <= self.every
            (fresh if first and recent else folded).append(a)
        if len(fresh) > TOAST_SPREE:
            folded, fresh = fresh + folded, []
        if len(folded) == 1 and not fresh:
            fresh, folded = folded, []
        if compact and len(fresh) + len(folded) > 1:
            folded, fresh = fresh + folded, []
        out = [self._one(a, compact=compact) for a in fresh]
        if folded:
            out.append(self._summary(folded, compact=compact))
        return out

    @staticmethod
    def _one(a: AlertRow, *, compact: bool) -> Toast:
        level = ("", " · escalated to secondary", " · escalated to leads")[
            min(max(a.level, 0), 2)
        ]
        mark = " · rehearsal" if a.rehearsal else ""
        if compact:
            return Toast(
                title=f"Alert #{a.id}{mark}",
                message=f"{a.key} {a.what}",
                severity="error" if a.priority == "critical" else "warning",
                timeout=COMPACT_TOAST_SECONDS,
            )
        return Toast(
            title=f"Alert #{a.id} · {a.priority}{mark}",
            message=f"{a.key} {a.what}{level} — {a.subject}",
            severity="error" if a.priority == "critical" else "warning",
            timeout=TOAST_SECONDS,
        )

    @staticmethod
    def _summary(alerts: list[AlertRow], *, compact: bool) -> Toast:
        keys = list(dict.fromkeys(a.key for a in alerts))
        first = 1 if compact else 3  # compact: one line of a toast on 80 columns
        shown = ", ".join(keys[:first])
        more = f" +{len(keys) - first}" if len(keys) > first else ""
        n = len(alerts)
        noun = "alert" if n == 1 else "alerts"
        return Toast(
            title="Alerts" + (" · rehearsal" if any(a.rehearsal for a in alerts) else ""),
            message=(
                f"{n} {noun}: {shown}{more} — 3 on call"
                if compact
                else f"{n} open {noun} ({shown}{more}) — press 3 for the on-call screen"
            ),
            severity="error" if any(a.priority == "critical" for a in alerts) else "warning",
            timeout=COMPACT_TOAST_SECONDS if compact else TOAST_SECONDS,
        )

    def forget(self, ids: list[int]) -> None:
        """Alerts acknowledged here: no repeat (the next read no longer lists them)."""
        for i in ids:
            self.shown.pop(i, None)
            self.silenced.add(i)


def mail_failure_count(desk: Desk) -> int:
    """Outgoing mail given up on (refused, or bounced after the server took it) that nobody
    dismissed: the header's lowest-priority notice. The rule is the desk's
    (desk/mail_out.py ``mail_failed_count``)."""
    return desk.mail_failed_count()

"""The queue: views with counts, the ordering of a view, rows fetched by id (issue 4).

The queue screen is a virtual view: it asks for the *ordering* of a view (ticket ids only,
read from the queue indices) and fetches the few rows it shows by id. Nothing here builds
ORM objects for the UI: rows are plain frozen :class:`QueueRow` values.

Orderings are deterministic: every sort ends on the ticket id (tickets are numbered in
creation order, so the id breaks ties like the number does, and the index serves it).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from agent_console.desk.core import DeskCore
from agent_console.desk.view_files import (
    ViewSet,
    builtin_views_path,
    load_view_set,
    read_views,
    reload_view_set,
)
from agent_console.errors import UserError
from agent_console.sla import BUSINESS, CALENDAR
from agent_console.store.models import Agent, Customer, Organization, Priority, Ticket
from agent_console.store.types import FAR_FUTURE
from agent_console.views import FilterClause, QueueRow, QueueView, ViewFilter

T = Ticket.__table__.c  # type: ignore[attr-defined]
C = Customer.__table__.c  # type: ignore[attr-defined]
O = Organization.__table__.c  # type: ignore[attr-defined]  # noqa: E741
A = Agent.__table__.c  # type: ignore[attr-defined]

#: "Breaching soon": the nearest running deadline falls within this (or is already past)
BREACHING_WINDOW = timedelta(hours=1)
#: above this many changed tickets, patching an ordering costs about what reading it does
PATCH_LIMIT = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


#: the built-in views (``data/views.toml``), in the order the view bar shows them; the
#: views in force (a team's ``views.toml`` over these) come from
#: :meth:`QueueMixin.queue_view_set`
VIEWS: tuple[QueueView, ...] = read_views(builtin_views_path())
VIEW_NAMES: tuple[str, ...] = tuple(v.name for v in VIEWS)
DEFAULT_VIEW = "working"


@dataclass(frozen=True)
class QueueSort:
    name: str
    label: str


SORTS: tuple[QueueSort, ...] = (
    QueueSort("due", "soonest breach"),
    QueueSort("priority", "priority"),
    QueueSort("newest", "newest"),
    QueueSort("oldest", "oldest"),
    QueueSort("updated", "recently updated"),
    QueueSort("key", "key"),
)
SORT_NAMES: tuple[str, ...] = tuple(s.name for s in SORTS)
DEFAULT_SORT = "due"


@dataclass(frozen=True)
class QueueQuery:
    """What the queue shows: a view of the acting agent, a filter text and a sort."""

    view: str = DEFAULT_VIEW
    text: str = ""
    sort: str = DEFAULT_SORT
    #: the agent whose view it is (None: the desk's acting agent)
    agent: str | None = None

    def with_(self, **changes: Any) -> QueueQuery:
        return replace(self, **changes)


@dataclass(frozen=True)
class QueueCounts:
    counts: dict[str, int]

    def __getitem__(self, view: str) -> int:
        return self.counts.get(view, 0)


@dataclass(frozen=True)
class Me:
    """The acting agent as the queue needs it."""

    id: int
    handle: str
    name: str
    tier: int
    lead: bool


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards in the user's text escaped (escape char ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def text_condition(text: str) -> ColumnElement[bool]:
    """SQL: ``text`` (case-insensitive, literal) in the key, subject, requester name or
    e-mail, or organization name: what the ``/`` filter matches, as subqueries (a view's
    ``text`` clause; no join, so it sits in any view's WHERE clause)."""
    pat = like_pattern(text)
    customers = select(C.id).where(
        or_(C.name.ilike(pat, escape="\\"), C.email.ilike(pat, escape="\\"))
    )
    orgs = select(O.id).where(O.name.ilike(pat, escape="\\"))
    return or_(
        T.key.ilike(pat, escape="\\"),
        T.subject.ilike(pat, escape="\\"),
        T.requester_id.in_(customers),
        T.organization_id.in_(orgs),
    )


def _in(column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column = v`` for one value (the form the queue indices serve best), else IN."""
    values = list(dict.fromkeys(values))
    return column == values[0] if len(values) == 1 else column.in_(values)


def _tag_condition(tag: str) -> ColumnElement[bool]:
    # tags are stored comma-separated, lower case ("billing,vip"): a whole-item match
    return (literal(",") + T.tags + literal(",")).like(like_pattern(f",{tag},"), escape="\\")


def _clause_condition(c: FilterClause, me: Me, now: datetime) -> ColumnElement[bool]:
    """One clause as SQL; ``!=`` is the exact complement of ``=`` (a ticket with no
    assignee or no organization is ``!=`` any handle or name)."""
    values = c.values
    match c.field:
        case "priority":
            cond = _in(T.priority_level, sorted({Priority(v).level for v in values}))
        case "status":
            cond = _in(T.status, values)
        case "type":
            cond = _in(T.request_type, values)
        case "tier":
            tiers = sorted({me.tier if v == "mine" else int(v) for v in values})
            cond = _in(T.tier, tiers)
        case "escalated":
            cond = T.escalated == (values[0] == "yes")
        case "assignee":
            someone: list[ColumnElement[bool]] = []  # tests on a set assignee_id
            handles = [v for v in values if v not in ("me", "none")]
            if "me" in values:
                someone.append(T.assignee_id == me.id)
            if handles:
                someone.append(T.assignee_id.in_(select(A.id).where(_in(A.handle, handles))))
            nobody = "none" in values
            if not c.negated:
                parts = ([T.assignee_id.is_(None)] if nobody else []) + someone
                return or_(*parts)
            # the NULL-safe complement: "assignee != me" keeps the unassigned tickets
            if not someone:
                return T.assignee_id.is_not(None)
            if nobody:
                return and_(T.assignee_id.is_not(None), ~or_(*someone))
            return or_(T.assignee_id.is_(None), ~or_(*someone))
        case "org":
            names = sorted({v.lower() for v in values})
            orgs = select(O.id).where(_in(func.lower(O.name), names))
            cond = T.organization_id.in_(orgs)
            if c.negated:
                return or_(T.organization_id.is_(None), ~cond)
            return cond
        case "tag":
            cond = or_(*[_tag_condition(v) for v in values])
        case "breaching_within":
            cond = T.next_due <= now + timedelta(seconds=int(values[0]))
        case "text":
            cond = text_condition(values[0])
        case _:
            raise UserError(f"unknown view filter field {c.field!r}")
    return ~cond if c.negated else cond


def filter_condition(f: ViewFilter, me: Me, now: datetime) -> ColumnElement[bool]:
    """SQL for a view's filter (:mod:`agent_console.desk.view_files`): an OR of ANDs of
    indexed column tests (tier, assignee, priority level, next due, status…), ``true``
    when the filter is empty. ``me``: whose ``mine`` / ``me`` it is; ``now``: the
    instant ``breaching_within`` counts from (UTC)."""
    if not f.groups:
        return true()
    groups = [and_(*[_clause_condition(c, me, now) for c in g]) for g in f.groups]
    return groups[0] if len(groups) == 1 else or_(*groups)


def view_condition(view: QueueView | str, me: Me, now: datetime) -> ColumnElement[bool]:
    """The WHERE clause of a view (always on open tickets: the queue indices' prefix).
    ``view``: a :class:`QueueView` (its filter) or a built-in view's name."""
    if isinstance(view, str):
        view = view_named(view)
    is_open = T.is_open == true()
    if not view.filter.groups:
        return is_open
    return and_(is_open, filter_condition(view.filter, me, now))


# ---------------------------------------------------------------- urgency (issue 9)
def running_now(open_policies: Iterable[str]) -> ColumnElement[bool]:
    """SQL: does the ticket's running deadline's clock run now?

    The one urgency rule, as an expression over stored, indexed columns (written by
    ``desk/deadlines.py`` from the ticket clock): a calendar clock always runs; a business
    clock runs when its policy's business hours are open now (``open_policies``: the
    names of those policies, see :meth:`QueueMixin.open_policies`); nothing runs when
    ``sla_clock`` is empty (finished, or every running metric waits on the customer)."""
    names = sorted(set(open_policies))
    calendar = T.sla_clock == CALENDAR
    if not names:
        return calendar
    return or_(calendar, and_(T.sla_clock == BUSINESS, T.sla_policy.in_(names)))


def urgency_group(open_policies: Iterable[str]) -> ColumnElement[int]:
    """0 for tickets whose clock runs now, 1 for tickets whose clock is stopped: the first
    key of "soonest breach" and of claim-next (README "Urgency")."""
    return case((running_now(open_policies), 0), else_=1)


#: how long the list of contract policy names is reused (it is a directory listing)
POLICY_NAMES_TTL = 60.0


def open_policy_names(desk: DeskCore, now: datetime) -> frozenset[str]:
    """Names of the policies (default and contracts) whose business hours are open at
    ``now``: the parameter of :func:`running_now`. A contract that fails to load is left
    out (its tickets' timers already say ``policy?``). No database; the loaded policies
    are reused for :data:`POLICY_NAMES_TTL` seconds, so the UI tick may call it."""
    cached = getattr(desk, "_open_policies_cache", None)
    clock = time.monotonic()
    if cached is None or clock - cached[0] > POLICY_NAMES_TTL:
        names = {desk.default_policy.name}
        try:
            names.update(desk.policies.names())
        except OSError:
            pass
        loaded = []
        for name in sorted(names):
            try:
                loaded.append(desk.policy_named(name))
            except (UserError, ValueError):
                continue
        cached = (clock, tuple(loaded))
        desk._open_policies_cache = cached  # type: ignore[attr-defined]
    return frozenset(p.name for p in cached[1] if p.calendar.is_open(now))


def sort_columns(sort: str, open_policies: Iterable[str] = ()) -> list[Any]:
    match sort:
        case "due":
            return [urgency_group(open_policies), T.next_due, T.priority_level, T.id]
        case "priority":
            return [T.priority_level, T.next_due, T.id]
        case "newest":
            return [T.opened_at.desc(), T.id.desc()]
        case "oldest":
            return [T.opened_at, T.id]
        case "updated":
            return [T.updated_at.desc(), T.id.desc()]
        case "key":
            return [T.number]
    raise UserError(f"unknown sort {sort!r} (use {', '.join(SORT_NAMES)})")


def sort_key_columns(sort: str, open_policies: Iterable[str] = ()) -> tuple[Any, ...] | None:
    """The columns each sort orders by (:func:`sort_columns` without the directions)."""
    match sort:
        case "due":
            return (urgency_group(open_policies), T.next_due, T.priority_level, T.id)
        case "priority":
            return (T.priority_level, T.next_due, T.id)
        case "newest" | "oldest":
            return (T.opened_at, T.id)
        case "updated":
            return (T.updated_at, T.id)
        case "key":
            return (T.number,)
    return None


def _micros(dt: datetime) -> int:
    return (dt - _EPOCH) // _MICROSECOND


def sort_key(sort: str, values: Sequence[Any]) -> tuple[int, ...]:
    """A ticket's place in ``sort`` as a tuple that compares like the SQL ordering does
    (``values``: the ticket's ``_SORT_KEY_COLUMNS[sort]``; descending sorts negated)."""
    match sort:
        case "due":
            return (int(values[0]), _micros(values[1]), values[2], values[3])
        case "priority":
            return (values[0], _micros(values[1]), values[2])
        case "oldest":
            return (_micros(values[0]), values[1])
        case "newest" | "updated":
            return (-_micros(values[0]), -values[1])
        case "key":
            return (values[0],)
    raise UserError(f"unknown sort {sort!r} (use {', '.join(SORT_NAMES)})")


class _Gone(Exception):
    """A ticket of the ordering no longer exists: read the ordering again."""


def _row(r: Any) -> QueueRow:
    return QueueRow(
        id=r.id,
        key=r.key,
        number=r.number,
        priority=r.priority,
        priority_level=r.priority_level,
        subject=r.subject,
        requester=r.requester,
        organization=r.organization,
        status=r.status,
        tier=r.tier,
        escalated=bool(r.escalated),
        assignee=r.assignee,
        opened_at=r.opened_at,
        updated_at=r.updated_at,
        first_response_at=r.first_response_at,
        first_response_due=r.first_response_due,
        next_update_due=r.next_update_due,
        resolution_due=r.resolution_due,
        paused_since=r.paused_since,
        next_due=None if r.next_due is None or r.next_due >= FAR_FUTURE else r.next_due,
        sla_metric=r.sla_metric or "",
        policy=r.policy,
        version=r.version,
    )


_ROW_COLUMNS = (
    T.id,
    T.key,
    T.number,
    T.priority,
    T.priority_level,
    T.subject,
    C.name.label("requester"),
    O.name.label("organization"),
    T.status,
    T.tier,
    T.escalated,
    A.handle.label("assignee"),
    T.opened_at,
    T.updated_at,
    T.first_response_at,
    T.first_response_due,
    T.next_update_due,
    T.resolution_due,
    T.paused_since,
    T.next_due,
    T.sla_metric,
    O.sla_policy.label("policy"),
    T.version,
)


def _rows_select() -> Any:
    return (
        select(*_ROW_COLUMNS)
        .select_from(Ticket.__table__)
        .join(Customer.__table__, C.id == T.requester_id)
        .outerjoin(Organization.__table__, O.id == T.organization_id)
        .outerjoin(Agent.__table__, A.id == T.assignee_id)
    )


class QueueMixin(DeskCore):
    # ------------------------------------------------------------------ urgency
    def open_policies(self, now: datetime) -> frozenset[str]:
        """:func:`open_policy_names` of this desk."""
        return open_policy_names(self, now)

    # ------------------------------------------------------------------ views (issue 16)
    #: the team's views file (None: ``views.toml`` in the user config directory)
    views_path: Path | None = None

    def queue_view_set(self, *, reload: bool = False) -> ViewSet:
        """The views in force: the built-ins with the team's ``views.toml`` over them
        (read once per desk; ``reload`` reads the file again). A team file that cannot be
        used leaves the built-ins; :attr:`ViewSet.error` says why in one line."""
        cached: ViewSet | None = getattr(self, "_view_set", None)
        if cached is None or reload:
            cached = load_view_set(self.views_path, handles=self.agent_handles())
            self._view_set = cached
        return cached

    def reload_queue_views(self) -> ViewSet:
        """Read the team's ``views.toml`` again (:func:`~agent_console.desk.view_files.
        reload_view_set`): a file that can be used is in force from now; a bad one leaves
        the views in use, and the returned set's ``error`` says why."""
        fresh = reload_view_set(
            self.queue_view_set(), self.views_path, handles=self.agent_handles()
        )
        if fresh.error is None:
            self._view_set = fresh
        return fresh

    def agent_handles(self) -> list[str]:
        """Every agent's handle (deactivated ones too): what ``assignee = HANDLE`` in a
        views file may name (desk/view_files.py)."""
        with self.read() as s:
            return list(s.execute(select(A.handle)).scalars())

    def queue_view(self, name: str) -> QueueView:
        """The view in force named ``name`` (UserError naming the views there are)."""
        return self.queue_view_set().named(name)

    def view_where(self, view: str | QueueView, me: Me, now: datetime) -> ColumnElement[bool]:
        """:func:`view_condition` of a view in force (by name) or of ``view`` itself."""
        return view_condition(self.queue_view(view) if isinstance(view, str) else view, me, now)

    # ------------------------------------------------------------------ who am I
    def queue_me(self, agent: str | None = None) -> Me:
        """The agent a queue is for (the acting agent by default)."""
        with self.read() as s:
            return self._me(s, agent)

    def _me(self, session: Any, agent: str | None) -> Me:
        handle = (agent or self.actor).strip().lower()
        a = session.execute(select(Agent).where(A.handle == handle)).scalars().first()
        if a is None or not a.active:
            # unknown / deactivated: one clear error; the demo agent is made on first use
            with self.write() as w:
                a = self.agent_by_handle(w, handle)
        return Me(int(a.id), a.handle, a.name, a.tier, a.lead)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ orderings
    def _filtered(self, stmt: Any, text: str) -> Any:
        text = (text or "").strip()
        if not text:
            return stmt
        pat = like_pattern(text)
        return (
            stmt.join(Customer.__table__, C.id == T.requester_id)
            .outerjoin(Organization.__table__, O.id == T.organization_id)
            .where(
                or_(
                    T.key.ilike(pat, escape="\\"),
                    T.subject.ilike(pat, escape="\\"),
                    C.name.ilike(pat, escape="\\"),
                    C.email.ilike(pat, escape="\\"),
                    O.name.ilike(pat, escape="\\"),
                )
            )
        )

    def queue_ids(self, query: QueueQuery, now: datetime | None = None) -> list[int]:
        """The ids of every ticket in ``query``'s view, in its order (ids only: read from
        the queue indices; ~100,000 open tickets in a few tens of milliseconds)."""
        now = now or self.now()
        with self.read() as s:
            me = self._me(s, query.agent)
            stmt = select(T.id).select_from(Ticket.__table__)
            stmt = self._filtered(stmt, query.text)
            stmt = stmt.where(self.view_where(query.view, me, now)).order_by(
                *sort_columns(query.sort, self.open_policies(now))
            )
            return list(s.execute(stmt).scalars())

    def queue_patch(
        self,
        query: QueueQuery,
        ordering: Sequence[int],
        changed: Iterable[int],
        now: datetime | None = None,
    ) -> list[int] | None:
        """``ordering`` (``query``'s ids as last read) brought up to date for the tickets
        in ``changed``, without reading the whole ordering again: each changed ticket is
        taken out and, if it still belongs to the view, put back at its sort position (a
        bisection on the sort key; the keys of the ~17 tickets it is compared with are read
        by id). None when patching is not worth it (more than ``PATCH_LIMIT`` changes):
        read the ordering with :meth:`queue_ids` instead."""
        changed = set(changed)
        if len(changed) > PATCH_LIMIT:
            return None
        ids = [i for i in ordering if i not in changed] if changed else list(ordering)
        if not changed:
            return ids
        now = now or self.now()
        sort = query.sort
        columns = sort_key_columns(sort, self.open_policies(now))
        if columns is None:
            raise UserError(f"unknown sort {sort!r} (use {', '.join(SORT_NAMES)})")
        with self.read() as s:
            me = self._me(s, query.agent)
            stmt = self._filtered(select(T.id).select_from(Ticket.__table__), query.text)
            stmt = stmt.where(self.view_where(query.view, me, now), T.id.in_(sorted(changed)))
            members = sorted(s.execute(stmt).scalars())
            if not members:
                return ids

            def read_keys(wanted: Sequence[int]) -> dict[int, tuple[int, ...]]:
                found = s.execute(select(T.id, *columns).where(T.id.in_(wanted)))
                return {r[0]: sort_key(sort, r[1:]) for r in found}

            keys = read_keys(members)

            def key_of(tid: int) -> tuple[int, ...]:
                key = keys.get(tid)
                if key is None:
                    key = read_keys([tid]).get(tid)
                    if key is None:
                        raise _Gone(tid)
                    keys[tid] = key
                return key

            try:
                for tid in sorted(members, key=key_of):
                    ids.insert(bisect_left(ids, keys[tid], key=key_of), tid)
            except _Gone:
                return None
        return ids

    def queue_page(
        self, query: QueueQuery, offset: int = 0, limit: int = 50, now: datetime | None = None
    ) -> list[QueueRow]:
        """One page of ``query``'s rows (offset/limit in the view's order)."""
        if offset < 0 or limit < 0:
            raise UserError("offset and limit must be zero or more")
        now = now or self.now()
        with self.read() as s:
            me = self._me(s, query.agent)
            ids = select(T.id).select_from(Ticket.__table__)
            ids = self._filtered(ids, query.text)
            ids = (
                ids.where(self.view_where(query.view, me, now))
                .order_by(*sort_columns(query.sort, self.open_policies(now)))
                .offset(offset)
                .limit(limit)
            )
            page = list(s.execute(ids).scalars())
        found = self.queue_rows(page)
        return [found[i] for i in page if i in found]

    def queue_rows(self, ids: Iterable[int]) -> dict[int, QueueRow]:
        """Rows by ticket id (what the screen paints, and what the change feed refreshes).
        Tickets that no longer exist are absent."""
        wanted = sorted(set(ids))
        out: dict[int, QueueRow] = {}
        if not wanted:
            return out
        with self.read() as s:
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                for r in s.execute(_rows_select().where(T.id.in_(chunk))):
                    out[r.id] = _row(r)
        return out

    def queue_position(
        self, query: QueueQuery, ticket_id: int, now: datetime | None = None
    ) -> int | None:
        """Where ``ticket_id`` stands in ``query``'s ordering (0-based), None if not in it."""
        ids = self.queue_ids(query, now)
        try:
            return ids.index(ticket_id)
        except ValueError:
            return None

    # ------------------------------------------------------------------ counts
    def queue_counts(self, agent: str | None = None, now: datetime | None = None) -> QueueCounts:
        """How many tickets each view holds (one pass over the open tickets)."""
        now = now or self.now()
        with self.read() as s:
            me = self._me(s, agent)

            def n(cond: ColumnElement[bool]) -> Any:
                return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

            views = self.queue_view_set().views
            stmt = select(
                *[
                    func.count(literal(1))
                    if not v.filter.groups
                    else n(filter_condition(v.filter, me, now))
                    for v in views
                ]
            ).where(T.is_open == true())
            row = s.execute(stmt).one()
        return QueueCounts({v.name: int(c or 0) for v, c in zip(views, row, strict=True)})


def view_named(name: str) -> QueueView:
    for v in VIEWS:
        if v.name == name:
            return v
    raise UserError(f"unknown queue view {name!r} (use {', '.join(VIEW_NAMES)})")


def sort_named(name: str) -> QueueSort:
    for s in SORTS:
        if s.name == name:
            return s
    raise UserError(f"unknown sort {name!r} (use {', '.join(SORT_NAMES)})")


def next_sort(name: str, step: int = 1) -> str:
    i = SORT_NAMES.index(name) if name in SORT_NAMES else 0
    return SORT_NAMES[(i + step) % len(SORT_NAMES)]


__all__: Sequence[str] = [
    "DEFAULT_SORT",
    "DEFAULT_VIEW",
    "SORTS",
    "VIEWS",
    "Me",
    "QueueCounts",
    "QueueMixin",
    "QueueQuery",
    "QueueRow",
    "QueueSort",
    "QueueView",
    "like_pattern",
    "next_sort",
    "sort_key",
    "sort_named",
    "view_named",
]

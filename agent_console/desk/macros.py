"""Macros and bulk actions (issue 16): applying a macro to one ticket, previewing it, and
running one command over many marked tickets.

A macro (desk/macro_files.py) is applied in **one transaction per ticket** through the
workflow's own steps (desk/workflow.py ``_do_*``), so the tier rules of
desk/permissions.py and the ticket clock decide as they do for a key press: a refusal at
any step rolls the whole macro back — nothing is written. The steps run in a fixed order:
the text (reply or note), type and tags, priority, status, and the tier last (after a
handoff the ticket belongs to another tier).

The preview runs the same steps in a transaction that is always rolled back, so what it
shows (and refuses) is what applying would do, with the deadlines before and after from
the ticket clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from agent_console.desk.deadlines import clock_of
from agent_console.desk.kb import KBMixin
from agent_console.desk.macro_files import (
    Macro,
    MacroBook,
    MissingValues,
    no_controls,
    render,
    tags_after,
)
from agent_console.desk.permissions import deescalation_target, escalation_target
from agent_console.desk.tickets import parse_status
from agent_console.desk.validation import tags_problem
from agent_console.desk.workflow import WorkflowMixin, _Change
from agent_console.errors import NotFound, UserError
from agent_console.logs import get_logger
from agent_console.paths import data_dir, user_config_dir
from agent_console.sla import TicketClock
from agent_console.store.models import (
    Agent,
    Customer,
    KBArticle,
    Organization,
    Priority,
    RequestType,
    Status,
    Ticket,
)
from agent_console.views import status_label

#: a bulk run reports progress as (done so far, total)
Progress = Callable[[int, int], None]


def shipped_macros_dir():  # type: ignore[no-untyped-def]
    return data_dir() / "macros"


def personal_macros_dir():  # type: ignore[no-untyped-def]
    return user_config_dir() / "macros"


@dataclass(frozen=True)
class MacroPreview:
    """What applying macro ``name`` to ticket ``key`` would do (nothing written).

    ``text``: the rendered reply/note (missing values shown as ``⟨name: no value⟩``);
    ``changes``: each field change in words; ``deadlines``: each deadline that moves
    (``"Resolution: due Mon 12 Jan 10:00 CET → paused, 3h left"``); ``refusal``: why it
    would be refused (a tier rule, a missing value), else None."""

    name: str
    title: str
    description: str
    source: str
    shadows: bool
    kind: str
    text: str
    changes: tuple[str, ...]
    deadlines: tuple[str, ...]
    refusal: str | None = None


@dataclass
class BulkReport:
    """The outcome of one bulk action: per ticket, what was done or why it was refused."""

    action: str
    total: int = 0
    done: list[tuple[str, str]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.refused

    def summary(self) -> str:
        """One line: ``"macro ask-for-file: 198 of 200 done, 2 refused"``."""
        line = f"{self.action}: {len(self.done)} of {self.total} done"
        if self.refused:
            line += f", {len(self.refused)} refused"
        return line

    def refusal_lines(self) -> list[str]:
        return [f"{key}: {why}" for key, why in self.refused]


class _DryRun(Exception):  # noqa: N818 - control flow: roll the preview back
    def __init__(self, preview: MacroPreview) -> None:
        self.preview = preview


class MacrosMixin(KBMixin, WorkflowMixin):
    """Macros (list, preview, apply) and bulk actions over marked tickets."""

    # ------------------------------------------------------------ the macros in force
    def macro_book(self) -> MacroBook:
        """The shipped and personal macros, read from their folders now (a file edited
        while the console runs is used at the next look)."""
        return MacroBook.load(shipped_macros_dir(), personal_macros_dir())

    def get_macro(self, name: str) -> Macro:
        """One macro by name; NotFound says which exist. A broken file is a
        :class:`~agent_console.desk.macro_files.MacroError` naming it."""
        book = self.macro_book()
        try:
            return book.get(name)
        except NotFound:
            wanted = name.strip().lower()
            for err in book.errors:
                if f"/{wanted}." in err:
                    raise UserError(err) from None
            raise

    # ------------------------------------------------------------ rendering
    def _values(self, s: Session, t: Ticket, actor: Agent) -> dict[str, str | None]:
        requester = s.get(Customer, t.requester_id)
        org = s.get(Organization, t.organization_id) if t.organization_id else None
        req_name = (requester.name or "").strip() if requester else ""
        return {
            "requester.name": req_name or None,
            "requester.first_name": req_name.split()[0] if req_name else None,
            "requester.email": requester.email if requester else None,
            "ticket.key": t.key,
            "ticket.subject": t.subject,
            "ticket.priority": t.priority,
            "ticket.status": t.status.replace("_", " "),
            "org.name": org.name if org else None,
            "agent.name": actor.name,
            "agent.first_name": actor.name.split()[0] if actor.name.strip() else None,
            "agent.handle": actor.handle,
        }

    def _kb_lookup(self, s: Session) -> Callable[[str], str | None]:
        def lookup(slug: str) -> str | None:
            art = s.exec(select(KBArticle).where(KBArticle.slug == slug)).first()
            return f"{art.title} ({self.kb_link(art.slug)})" if art else None

        return lookup

    def _render_all(
        self, s: Session, macro: Macro, t: Ticket, actor: Agent, *, text: str | None = None
    ) -> tuple[dict[str, str], list[str]]:
        """The macro's texts rendered for ``t`` (``text``: the agent's edited reply, used
        as it is) and the placeholders that had no value."""
        values = self._values(s, t, actor)
        kb = self._kb_lookup(s)
        out: dict[str, str] = {}
        missing: list[str] = []
        for key in ("text", "resolution", "reason", "handoff"):
            template = getattr(macro, key) or ""
            if key == "text" and text is not None:
                out[key] = text
                continue
            rendered, lacks = render(template, values, kb)
            out[key] = rendered
            missing += [m for m in lacks if m not in missing]
        return out, missing

    # ------------------------------------------------------------ applying
    def _apply_steps(self, c: _Change, macro: Macro, texts: dict[str, str]) -> list[str]:
        """Run the macro's steps on ``c`` (one transaction); returns what was done, in words.
        A step with nothing to do (already pending, tag already there) is skipped."""
        t = c.ticket
        done: list[str] = []
        status_was = t.status  # a reply moves new → open first: say it from where it stood
        body = texts["text"].strip()
        if body:
            internal = macro.kind == "note"
            self._do_reply(c, body, internal)
            done.append("note added" if internal else "reply sent")
        if macro.request_type or macro.add_tags or macro.remove_tags:
            rtype = RequestType(macro.request_type) if macro.request_type else None
            before_tags = list(t.tag_list)
            tags = tags_after(before_tags, macro)
            type_was = t.request_type
            type_moves = rtype is not None and rtype.value != type_was
            if type_moves or tags != before_tags:
                self._do_type_and_tags(c, rtype if type_moves else None, tags)
                if type_moves:
                    done.append(f"type {type_was or 'none'} → {t.request_type}")
                if tags != before_tags:
                    done.append(tag_change(before_tags, t.tag_list))
        if macro.priority and macro.priority != t.priority:
            was = t.priority
            reason = texts["reason"].strip()
            self._do_priority(c, Priority(macro.priority), reason)
            done.append(f"priority {was} → {t.priority} (reason: {reason})")
        if macro.status and macro.status != t.status:
            target = parse_status(macro.status)
            if target is Status.RESOLVED:
                self._do_resolve(c, texts["resolution"].strip(), None)
            else:
                self._do_status(c, target)
            done.append(f"status {status_label(status_was)} → {status_label(t.status)}")
        if macro.tier and macro.tier != t.tier:
            c_tier = t.tier
            up = macro.tier > t.tier
            if up:
                target_tier = escalation_target(c.actor, t, macro.tier)
            else:
                target_tier = deescalation_target(c.actor, t, macro.tier)
            if not t.is_open:
                raise UserError(f"{t.key} is {t.status}; reopen it before handing it over")
            self._hand_over(
                c,
                t,
                target_tier,
                texts["handoff"].strip(),
                escalated=up,
                kind="escalated" if up else "deescalated",
            )
            done.append(
                f"tier {c_tier} → {t.tier} ({'escalated' if up else 'de-escalated'}, with a handoff note)"
            )
        if not done:
            raise UserError(f"{t.key}: macro {macro.name} changes nothing on it")
        return done

    def _apply_one(
        self,
        key: str,
        macro: Macro,
        agent: str | None,
        expected_version: int | None,
        text: str | None,
    ) -> str:
        """One ticket, one transaction; returns the summary line."""
        if text is not None:
            try:
                no_controls(text, "the text")
            except ValueError as exc:
                raise UserError(f"{exc}; nothing was sent") from None
        with self._change(key, agent, expected_version, append=not macro.changes_fields) as c:
            texts, missing = self._render_all(c.session, macro, c.ticket, c.actor, text=text)
            if missing:
                raise MissingValues(macro.name, missing)
            done = self._apply_steps(c, macro, texts)
            return f"{c.ticket.key}: macro {macro.name}: {'; '.join(done)}"

    def apply_macro(
        self,
        key: str,
        name: str,
        agent: str | None = None,
        expected_version: int | None = None,
        *,
        text: str | None = None,
    ):  # type: ignore[no-untyped-def]
        """Apply macro ``name`` to ticket ``key`` in one transaction and return the
        ticket's detail. ``text``: the reply/note as the agent edited it (default: the
        macro's text rendered for this ticket).

        Raises :class:`MissingValues` (a placeholder with no value),
        :class:`~agent_console.errors.PermissionDenied` (a tier rule, from
        desk/permissions.py), :class:`~agent_console.errors.Conflict` (the ticket moved past
        ``expected_version``) or UserError — in every case nothing is written."""
        self._apply_one(key, self.get_macro(name), agent, expected_version, text)
        return self.ticket_detail(key)

    def preview_macro(self, key: str, name: str, agent: str | None = None) -> MacroPreview:
        """What :meth:`apply_macro` would do now, with nothing written (the steps run in a
        transaction that is rolled back)."""
        macro = self.get_macro(name)
        return self._preview(key, macro, agent)

    def preview_macros(
        self, key: str, agent: str | None = None
    ) -> tuple[list[MacroPreview], list[str]]:
        """Every macro in force previewed on ``key`` (the ticket's ``m`` picker), and the
        files that could not be used."""
        book = self.macro_book()
        return [self._preview(key, m, agent) for m in book.sorted()], list(book.errors)

    def _preview(self, key: str, macro: Macro, agent: str | None) -> MacroPreview:
        base = dict(
            name=macro.name,
            title=macro.title,
            description=macro.description,
            source=macro.source,
            shadows=macro.shadows is not None,
            kind=macro.kind,
        )
        shown_text = ""
        try:
            with self._change(key, agent, None, append=True) as c:
                t = c.ticket
                texts, missing = self._render_all(c.session, macro, t, c.actor)
                shown_text = texts["text"]
                if missing:
                    shown_text = self._render_marked(c.session, macro, t, c.actor)
                    raise MissingValues(macro.name, missing)
                before = clock_of(t, c.policy)
                fmt = self._local_fmt(c.policy)
                done = self._apply_steps(c, macro, texts)
                after = clock_of(t, c.policy)
                moves = _deadline_moves(before, after, c.now, fmt, self._left)
                raise _DryRun(
                    MacroPreview(
                        **base,  # type: ignore[arg-type]
                        text=shown_text,
                        changes=tuple(d for d in done if d not in ("reply sent", "note added")),
                        deadlines=tuple(moves),
                    )
                )
        except _DryRun as dry:
            return dry.preview
        except UserError as err:
            return MacroPreview(
                **base,  # type: ignore[arg-type]
                text=shown_text,
                changes=tuple(macro.field_lines()),
                deadlines=(),
                refusal=str(err),
            )

    def _render_marked(self, s: Session, macro: Macro, t: Ticket, actor: Agent) -> str:
        values = {k: (v or f"⟨{k}: no value⟩") for k, v in self._values(s, t, actor).items()}
        kb = self._kb_lookup(s)
        text, _ = render(macro.text, values, lambda slug: kb(slug) or f"⟨kb:{slug}: no article⟩")
        return text

    # ------------------------------------------------------------ bulk actions
    def ticket_keys(self, ids: Iterable[int]) -> dict[int, str]:
        """Ticket id → key for ``ids`` (the queue's marks are ids), in chunks."""
        ids = list(ids)
        out: dict[int, str] = {}
        with self.read() as s:
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                for tid, key in s.exec(
                    select(Ticket.id, Ticket.key).where(col(Ticket.id).in_(chunk))
                ).all():
                    out[tid] = key  # type: ignore[index]
        return out

    def run_bulk(
        self,
        action: str,
        keys: Iterable[str],
        step: Callable[[str], str],
        progress: Progress | None = None,
    ) -> BulkReport:
        """Run ``step(key)`` on each ticket, each in its own transaction; a refusal
        (UserError) is recorded with its reason and the run goes on. Never raises for one
        ticket; an unexpected error is logged and recorded as refused."""
        import time

        keys = [k.strip().upper() for k in keys if k.strip()]
        report = BulkReport(action, total=len(keys))
        started = time.monotonic()
        for i, key in enumerate(keys, 1):
            try:
                report.done.append((key, step(key)))
            except UserError as err:
                report.refused.append((key, str(err)))
            except Exception as err:  # noqa: BLE001 - one ticket never stops the run
                get_logger("agent_console.desk").exception("bulk %s on %s", action, key)
                report.refused.append((key, f"unexpected error: {type(err).__name__}"))
            if progress is not None:
                progress(i, report.total)
        report.seconds = time.monotonic() - started
        return report

    def bulk_macro(
        self,
        keys: Iterable[str],
        name: str,
        agent: str | None = None,
        progress: Progress | None = None,
        *,
        text: str | None = None,
    ) -> BulkReport:
        """Apply macro ``name`` to each ticket (its text rendered per ticket; ``text``: a
        reply/note sent as it is instead, the same on every ticket)."""
        macro = self.get_macro(name)
        return self.run_bulk(
            f"macro {macro.name}",
            keys,
            lambda key: self._apply_one(key, macro, agent, None, text),
            progress,
        )

    def bulk_claim(
        self, keys: Iterable[str], agent: str | None = None, progress: Progress | None = None
    ) -> BulkReport:
        """Claim each ticket (desk/claims.py rules)."""
        return self.run_bulk(
            "claim",
            keys,
            lambda k: f"{self.claim(k, agent)}: claimed",
            progress,  # type: ignore[attr-defined]
        )

    def _bulk_step(self, agent: str | None, do: Callable[[_Change], str]) -> Callable[[str], str]:
        def step(key: str) -> str:
            with self._change(key, agent, None) as c:
                return f"{c.ticket.key}: {do(c)}"

        return step

    def bulk_assign(
        self,
        keys: Iterable[str],
        handle: str | None,
        agent: str | None = None,
        progress: Progress | None = None,
    ) -> BulkReport:
        """Assign each ticket to ``handle`` (None: unassign) — the rules of
        :meth:`assign`. Raises :class:`NotFound` / :class:`UserError` before any ticket
        when ``handle`` names no active agent (one line, not one refusal per ticket)."""
        if handle:
            with self.read() as s:
                self.agent_by_handle(s, handle)

        def step(key: str) -> str:
            self.assign(key, handle, agent)
            return f"{key}: assigned to {handle or 'nobody'}"

        return self.run_bulk(f"assign to {handle or 'nobody'}", keys, step, progress)

    def bulk_priority(
        self,
        keys: Iterable[str],
        priority: str,
        reason: str,
        agent: str | None = None,
        progress: Progress | None = None,
    ) -> BulkReport:
        """Set each ticket's priority (with the reason); deadlines recomputed."""
        try:
            prio = Priority.parse(priority)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        why = (reason or "").strip()
        if not why:
            raise UserError("changing the priority needs a reason")

        def do(c: _Change) -> str:
            self._do_priority(c, prio, why)
            return f"priority {prio.value}"

        return self.run_bulk(f"priority {prio.value}", keys, self._bulk_step(agent, do), progress)

    def bulk_status(
        self,
        keys: Iterable[str],
        status: str,
        agent: str | None = None,
        progress: Progress | None = None,
    ) -> BulkReport:
        """Set each ticket's status (open, pending, on hold; resolving needs a summary per
        ticket: use a macro with ``resolution``)."""
        target = parse_status(status)
        if target in (Status.RESOLVED, Status.CLOSED, Status.NEW):
            raise UserError(
                f"bulk status {target.value} is not offered; resolve with a macro that "
                "carries the resolution summary"
            )

        def do(c: _Change) -> str:
            if c.ticket.status == target.value:
                raise UserError(f"already {target.value.replace('_', ' ')}")
            self._do_status(c, target)
            return f"status {status_label(target.value)}"

        label = f"status {status_label(target.value)}"
        return self.run_bulk(label, keys, self._bulk_step(agent, do), progress)

    def bulk_tags(
        self,
        keys: Iterable[str],
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        agent: str | None = None,
        progress: Progress | None = None,
    ) -> BulkReport:
        """Add and remove tags on each ticket."""
        add_t = tuple(t.strip().lower() for t in add if t.strip())
        rem_t = tuple(t.strip().lower() for t in remove if t.strip())
        if not add_t and not rem_t:
            raise UserError("no tags to add or remove")
        shape = Macro(
            name="tags", path=None, source="", title="", add_tags=add_t, remove_tags=rem_t
        )  # type: ignore[arg-type]

        def do(c: _Change) -> str:
            before = list(c.ticket.tag_list)
            tags = tags_after(before, shape)
            if tags == before:
                raise UserError("tags already so")
            self._do_type_and_tags(c, None, tags)
            return tag_change(before, c.ticket.tag_list)

        label = "tags " + " ".join([f"+{t}" for t in add_t] + [f"-{t}" for t in rem_t])
        return self.run_bulk(label, keys, self._bulk_step(agent, do), progress)


def _deadline_moves(
    before: TicketClock,
    after: TicketClock,
    now: datetime,
    fmt: Callable[[datetime | None], str],
    left: Callable[[int], str],
) -> list[str]:
    """Each deadline the change moves, in words (the ticket clock before and after)."""
    out: list[str] = []
    b_states = {m.name: m for m in before.statuses(now)}
    for a in after.statuses(now):
        b = b_states.get(a.name)
        if b is None:
            continue
        if (b.state, b.due) == (a.state, a.due):
            continue
        if a.state == "paused":
            out.append(f"{a.label}: stops ({left(a.seconds or 0)} when it resumes)")
        elif a.state in ("met", "breached"):
            out.append(f"{a.label}: stops — {a.state}")
        elif a.state == "idle":
            if b.state != "idle":
                out.append(f"{a.label}: no longer applies")
        elif b.state == "idle" and a.due is not None:
            out.append(f"{a.label}: starts, due {fmt(a.due)}")
        elif b.state == "paused" and a.due is not None:
            out.append(f"{a.label}: runs again, due {fmt(a.due)}")
        elif b.due != a.due:
            out.append(f"{a.label}: due {fmt(b.due)} → {fmt(a.due)}")
    return out or ["No deadline moves."]


def tag_change(before: Iterable[str], after: Iterable[str]) -> str:
    """What a change of tags does, in words: ``"tags +billing -waiting"`` (added first,
    then removed, in the tickets' order) — the change, not the tags that result."""
    b, a = list(before), list(after)
    added = [f"+{t}" for t in a if t not in b]
    removed = [f"-{t}" for t in b if t not in a]
    return "tags " + (" ".join(added + removed) or "unchanged")


def parse_priority_change(text: str) -> tuple[str, str]:
    """``"urgent: outage at ACME"`` → ``("urgent", "outage at ACME")`` for a bulk priority
    change. Raises :class:`UserError` (one line, what to type) for an unknown priority or a
    missing reason (the history keeps the reason: desk/workflow.py ``set_priority``)."""
    prio, _, reason = text.partition(":")
    try:
        Priority.parse(prio)
    except ValueError as exc:
        raise UserError(f"{exc}; type e.g.  urgent: outage at ACME") from None
    if not reason.strip():
        raise UserError("changing the priority needs a reason: type e.g.  urgent: outage at ACME")
    return prio.strip(), reason.strip()


def parse_tag_changes(text: str) -> tuple[list[str], list[str]]:
    """``"+vip -spam, +billing"`` → ``(["vip", "billing"], ["spam"])``. Every word needs its
    sign; raises :class:`UserError` for a bare word or a lone ``+``/``-`` instead of
    guessing."""
    add: list[str] = []
    remove: list[str] = []
    for word in text.replace(",", " ").split():
        sign, tag = word[:1], word[1:].strip()
        if sign not in "+-" or not tag:
            raise UserError(f"{word!r}: write +tag to add a tag and -tag to remove one")
        (add if sign == "+" else remove).append(tag)
    if not add and not remove:
        raise UserError("no tag given: write +tag to add a tag and -tag to remove one")
    problem = tags_problem(add)  # the tag rule, before any ticket (validation.py)
    if problem:
        raise UserError(problem)
    return add, remove

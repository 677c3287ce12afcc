"""The Mail screen (issue 14 operations, key ``5``, palette "Mail"): is the desk's mail
working, and what needs a person?

- **Mailboxes**: per mailbox fetched, the last fetch, what came in and the last error;
  whether this console sends (``--smtp``) or leaves it to a watcher;
- **Outbox**: mail given up on (refused for good, or bounced) with the reason, then what
  waits — retrying (with the next attempt, counting down) or queued. ``r`` sends the
  selected one again, ``d`` dismisses a failure (the header stops counting it; the ticket
  keeps its history), ``D`` dismisses every failure, ``enter`` opens its ticket;
- **Quarantine**: messages that could not become tickets — reason, sender, subject
  (outside text, rendered literally) — ``r`` reads the selected one again.

Wiring only: the desk is read in a thread worker (:func:`agent_console.desk.mail_out.
mail_board`) and acted on in another (retry, dismiss: a person's action recorded on the
ticket); results come back as typed messages (:class:`MailLoaded`, :class:`MailActed`,
:class:`MailFailed`). Live: read again every :attr:`MailScreen.refresh_every` seconds while
shown, when another console's change is announced (PostgreSQL) and when the app's alert
pass saw a change; the 1 Hz tick only re-formats the countdowns (no query).
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Static

from agent_console.desk.mail_out import MailBoard, OutboxMail, mail_board
from agent_console.desk.queue import Me
from agent_console.errors import UserError
from agent_console.keymap import with_ids
from agent_console.safe_text import one_line
from agent_console.screens.ticking import TickingScreen
from agent_console.sla import format_duration
from agent_console.widgets.console_footer import ConsoleFooter
from agent_console.widgets.console_header import ConsoleHeader
from agent_console.widgets.ticket_format import absolute, relative


# ---------------------------------------------------------------- typed messages
class MailLoaded(Message):
    """A fresh read of the board (and, the first time, the acting agent for the header)."""

    def __init__(self, board: MailBoard, me: Me | None = None) -> None:
        super().__init__()
        self.board = board
        self.me = me


class MailActed(Message):
    """A retry or dismissal went through: ``text`` says what (one line)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class MailFailed(Message):
    """A read (``action`` False) or an action failed: ``error`` is the one line to show,
    ``cause`` the desk's error (an outage goes to the header's notice instead)."""

    def __init__(
        self, error: str, *, cause: BaseException | None = None, action: bool = False
    ) -> None:
        super().__init__()
        self.error = error
        self.cause = cause
        self.action = action


#: below this many columns the tables keep their essential columns
NARROW = 110
OUTBOX_COLUMNS = ("State", "Ticket", "To", "When", "Tries", "Kind", "Reason")
OUTBOX_NARROW = (0, 1, 2, 3, 6)
QUARANTINE_COLUMNS = ("ID", "Received", "From", "Subject", "Reason")
QUARANTINE_NARROW = (0, 2, 3, 4)

STATE_STYLE = {
    "failed": "bold red",
    "bounced": "bold red",
    "retrying": "yellow",
    "queued": "",
    "sending": "cyan",
}


_SERVER = re.compile(r"^smtps?://\S+\s+")


def _n(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _cut(text: str, cells: int) -> Text:
    """Outside text as one literal line, cut to ``cells`` with an ellipsis."""
    out = Text(one_line(text), no_wrap=True, overflow="ellipsis")
    out.truncate(cells, overflow="ellipsis")
    return out


def outbox_state(m: OutboxMail) -> str:
    """The state word a row shows: failed / bounced / sending / retrying / queued."""
    if m.state == "failed":
        return "bounced" if m.bounced else "failed"
    if m.sending:
        return "sending"
    return m.state


def outbox_when(m: OutboxMail, now: datetime, zone: tzinfo) -> Text:
    """Failed: how long ago; waiting: when the next attempt is (a countdown)."""
    if m.state in ("failed", "dismissed") and m.failed_at is not None:
        return Text(relative(m.failed_at, now), style="dim", no_wrap=True)
    if m.next_at is None:
        return Text("—", no_wrap=True)
    left = (m.next_at - now).total_seconds()
    return Text("now" if left <= 0 else f"in {format_duration(left)}", no_wrap=True)


def outbox_cells(m: OutboxMail, now: datetime, zone: tzinfo, *, narrow: bool) -> tuple[Text, ...]:
    state = outbox_state(m)
    marks = {"failed": "✗", "bounced": "✗", "retrying": "↻", "queued": "·", "sending": "→"}
    return (
        Text(f"{marks.get(state, ' ')} {state}", style=STATE_STYLE.get(state, ""), no_wrap=True),
        Text(m.key or "—", style="bold", no_wrap=True),
        _cut(m.to, 22 if narrow else 32),
        outbox_when(m, now, zone),
        Text(str(m.attempts), no_wrap=True),
        Text(m.kind, no_wrap=True),
        _cut(m.short_reason or "—", 200),
    )


def quarantine_cells(q: Any, now: datetime, zone: tzinfo, *, narrow: bool) -> tuple[Text, ...]:
    received = relative(q.received_at, now) if q.received_at else "—"
    return (
        Text(str(q.id), no_wrap=True),
        Text(received, style="dim", no_wrap=True),
        _cut(q.sender or "—", 18 if narrow else 30),
        _cut(q.subject or "—", 20 if narrow else 40),
        _cut(q.reason, 200),
    )


def mailbox_text(board: MailBoard, now: datetime, zone: tzinfo, *, narrow: bool) -> Text:
    """The mailboxes panel: a line per mailbox (and its last error), then who sends."""
    text = Text()
    if not board.mailboxes:
        text.append("No mailbox fetched yet", "dim")
        if board.mailbox:
            text.append(f" · {one_line(board.mailbox)}: agent-console mail fetch (or watch)")
        else:
            text.append(" · set --imap / AGENT_CONSOLE_IMAP / imap to read one", "dim")
        text.append("\n")
    for b in board.mailboxes:
        ok = b.last_error is None
        text.append("● " if ok else "▲ ", "green" if ok else "bold red")
        text.append(one_line(b.mailbox), "bold")
        fetched = (
            f"fetched {relative(b.last_fetch_at, now)}" if b.last_fetch_at else "never fetched"
        )
        if not narrow and b.last_fetch_at:
            fetched += f" ({absolute(b.last_fetch_at, zone)})"
        text.append(f"  {fetched}", "dim")
        text.append(
            f"\n  {b.received} received: {b.tickets} tickets, {b.follow_ups} follow-ups, "
            f"{_n(b.bounces, 'bounce')}, {b.ignored} ignored, {b.quarantined} quarantined"
        )
        if b.last_error:
            text.append("\n  last error: ", "bold red")
            text.append(one_line(b.last_error)[:300], "red")
        text.append("\n")
    if board.sends:
        text.append("Sending: this console sends mail (--smtp)", "dim")
    else:
        text.append(
            "Sending: by agent-console watch / mail send (this console has no --smtp)",
            "dim",
        )
    return text


class MailScreen(TickingScreen[None]):
    """Mailboxes, the mail outbox and the quarantine, with retry and dismiss."""

    CSS_PATH = "mail.tcss"

    BINDINGS = with_ids("mail", [
        Binding("r", "retry", "Retry", tooltip="Send the selected mail again / read the "
                "selected quarantined message again (r)"),
        Binding("d", "dismiss_failed", "Dismiss", tooltip="Dismiss the selected failed mail: "
                "the header stops counting it, the ticket keeps it (d)"),
        Binding("D", "dismiss_all", "Dismiss all", key_display="D",
                tooltip="Dismiss every failed mail (D)"),
        Binding("enter", "open", "Open ticket"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ])
    HELP_GROUPS = {
        "Outbox and quarantine": ["retry", "dismiss_failed", "dismiss_all", "open", "reload"],
    }

    #: seconds between reads of the board while shown
    refresh_every: float = 5.0

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:  # noqa: A002
        super().__init__(name=name, id=id)
        self.board: MailBoard | None = None
        self.me: Me | None = None
        self._outbox: list[OutboxMail] = []
        self._quarantine: list[Any] = []
        self._narrow: bool | None = None
        #: boards read (tests wait on it)
        self.loads = 0

    @property
    def desk(self):  # type: ignore[no-untyped-def]
        return self.app.desk  # type: ignore[attr-defined]

    @property
    def zone(self) -> tzinfo:
        return self.desk.display_zone  # type: ignore[no-any-return]

    def app_now(self) -> datetime:
        return self.app.now()  # type: ignore[attr-defined,no-any-return]

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield ConsoleHeader("Mail", id="header")
        yield Static(Text("Mailboxes", style="bold"), id="boxes-title")
        yield Static(Text("loading…", style="dim"), id="boxes")
        yield Static(id="outbox-title")
        outbox: DataTable[Text] = DataTable(id="outbox", cursor_type="row", zebra_stripes=False)
        yield outbox
        yield Static(id="detail")
        yield Static(id="quarantine-title")
        quarantine: DataTable[Text] = DataTable(
            id="quarantine", cursor_type="row", zebra_stripes=False
        )
        yield quarantine
        yield ConsoleFooter()

    def on_mount(self) -> None:
        header = self.query_one(ConsoleHeader)
        header.set_policy(self.desk.default_policy, self.zone)
        header.update_state(self.app_now())
        self._set_columns()
        self.query_one("#outbox", DataTable).focus()
        self.every(1.0, self.tick, name="mail-tick")
        self.every(self.refresh_every, self.reload, name="mail-reload")
        self.reload()

    def _set_columns(self) -> None:
        narrow = self.size.width < NARROW if self.size.width else False
        if narrow == self._narrow:
            return
        self._narrow = narrow
        outbox: DataTable[Text] = self.query_one("#outbox", DataTable)
        outbox.clear(columns=True)
        picks = OUTBOX_NARROW if narrow else tuple(range(len(OUTBOX_COLUMNS)))
        outbox.add_columns(*(OUTBOX_COLUMNS[i] for i in picks))
        quarantine: DataTable[Text] = self.query_one("#quarantine", DataTable)
        quarantine.clear(columns=True)
        picks = QUARANTINE_NARROW if narrow else tuple(range(len(QUARANTINE_COLUMNS)))
        quarantine.add_columns(*(QUARANTINE_COLUMNS[i] for i in picks))

    def on_resize(self) -> None:
        before = self._narrow
        self._set_columns()
        if self.board is not None and before != self._narrow:
            self._show(self.board)

    # ---------------------------------------------------------------- live
    def tick(self) -> None:
        """Once a second: the header and the outbox's countdowns. No query."""
        now = self.app_now()
        self.query_one(ConsoleHeader).update_state(now)
        if self.board is None or self._narrow is None:
            return
        table: DataTable[Text] = self.query_one("#outbox", DataTable)
        when = OUTBOX_COLUMNS.index("When")
        column = list(table.columns)[
            (OUTBOX_NARROW if self._narrow else range(len(OUTBOX_COLUMNS))).index(when)
        ]
        for m in self._outbox:
            if m.state in ("queued", "retrying"):
                table.update_cell(str(m.id), column, outbox_when(m, now, self.zone))

    def reload(self) -> None:
        """Read the board again (a worker)."""
        self._load_worker(self.me is None)

    def feed_woken(self) -> None:
        self.reload()

    def alerts_changed(self) -> None:
        self.reload()

    def on_ticks_resumed(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, group="mail-board")
    def _load_worker(self, first: bool) -> None:
        desk = self.desk
        try:
            me = desk.queue_me() if first else None
            board = mail_board(desk)
        except UserError as exc:
            self.post_message(MailFailed(str(exc), cause=exc))
            return
        self.post_message(MailLoaded(board, me))

    @on(MailLoaded)
    def _loaded(self, message: MailLoaded) -> None:
        if message.me is not None:
            self.me = message.me
            self.query_one(ConsoleHeader).set_agent(
                message.me.handle,
                message.me.name,
                message.me.tier,
                lead=message.me.lead,
                demo=bool(self.desk.is_demo_actor),
            )
        self.board = message.board
        self.loads += 1
        feed_ok = getattr(self.app, "feed_ok", None)
        if callable(feed_ok):
            feed_ok()  # the database answers: an outage notice goes
        self._show(message.board)
        # the header's "mail not sent" count follows what this screen just read
        notices = getattr(self.app, "header_notices", None)
        if notices is not None and notices.mail_failures != message.board.failed:
            notices.mail_failures = message.board.failed
            self.query_one(ConsoleHeader).refresh_notices(self.app_now())

    def _show(self, board: MailBoard) -> None:
        now = self.app_now()
        narrow = bool(self._narrow)
        self.query_one("#boxes", Static).update(
            mailbox_text(board, now, self.zone, narrow=narrow)
        )
        self._fill(
            "#outbox",
            board.outbox,
            [outbox_cells(m, now, self.zone, narrow=narrow) for m in board.outbox],
            OUTBOX_NARROW if narrow else tuple(range(len(OUTBOX_COLUMNS))),
        )
        self._outbox = list(board.outbox)
        self._fill(
            "#quarantine",
            board.quarantine,
            [quarantine_cells(q, now, self.zone, narrow=narrow) for q in board.quarantine],
            QUARANTINE_NARROW if narrow else tuple(range(len(QUARANTINE_COLUMNS))),
        )
        self._quarantine = list(board.quarantine)
        self.query_one("#outbox-title", Static).update(self._outbox_title(board))
        self._show_detail()
        self.query_one("#quarantine-title", Static).update(self._quarantine_title(board))

    def _fill(self, selector: str, rows: list[Any], cells: list[tuple[Text, ...]],
              picks: tuple[int, ...] | range) -> None:
        table: DataTable[Text] = self.query_one(selector, DataTable)
        keep = table.cursor_row if table.row_count else 0
        old = [r.id for r in (self._outbox if selector == "#outbox" else self._quarantine)]
        kept_id = old[keep] if 0 <= keep < len(old) else None
        table.clear()
        for row, c in zip(rows, cells, strict=True):
            table.add_row(*(c[i] for i in picks), key=str(row.id))
        ids = [r.id for r in rows]
        if kept_id in ids:
            table.move_cursor(row=ids.index(kept_id), animate=False)
        elif rows:
            table.move_cursor(row=min(keep, len(rows) - 1), animate=False)
        table.set_class(not rows, "-empty")

    def _outbox_title(self, board: MailBoard) -> Text:
        waiting = [m for m in board.outbox if m.state in ("queued", "retrying")]
        retrying = sum(1 for m in waiting if m.state == "retrying")
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append("Outbox: ", "bold")
        if board.failed:
            title.append(f"{board.failed} failed", "bold red")
        else:
            title.append("none failed", "green")
        title.append(f", {retrying} retrying, {len(waiting) - retrying} queued")
        title.append(f", {board.counts.get('sent', 0)} sent", "dim")
        if board.counts.get("dismissed"):
            title.append(f", {board.counts['dismissed']} dismissed", "dim")
        if board.outbox and not self._narrow:
            title.append(" · r retry · d dismiss · D all · enter ticket", "dim")
        return title

    def _show_detail(self) -> None:
        """Under the outbox: the selected mail in full — subject, recipient, the whole
        reason (a table cell cuts it at 80 columns)."""
        detail = self.query_one("#detail", Static)
        m = self.selected_mail
        if m is None:
            detail.update("")
            detail.set_class(True, "-empty")
            return
        text = Text()
        text.append(f"{m.key or '—'} ", "bold")
        text.append(f"{m.kind} to {one_line(m.to)}: ")
        text.append(one_line(m.subject))
        if m.reason:
            text.append("\n")
            # the server (``mail status`` names it) is the same for every row
            reason = _SERVER.sub("", one_line(m.reason))
            text.append(reason, "red" if m.state == "failed" else "yellow")
        detail.update(text)
        detail.set_class(False, "-empty")

    @on(DataTable.RowHighlighted, "#outbox")
    def _outbox_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def _quarantine_title(self, board: MailBoard) -> Text:
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append("Quarantine: ", "bold")
        n = len(board.quarantine)
        if n:
            title.append(f"{n} message{'s' if n != 1 else ''} not read into tickets", "yellow")
            title.append(" · r reads the selected one again", "dim")
        else:
            title.append("empty", "dim")
        return title

    # ---------------------------------------------------------------- selection
    def _selected(self, selector: str, rows: list[Any]) -> Any | None:
        table: DataTable[Text] = self.query_one(selector, DataTable)
        if not table.row_count or not rows:
            return None
        row = table.cursor_row
        return rows[row] if 0 <= row < len(rows) else None

    @property
    def selected_mail(self) -> OutboxMail | None:
        return self._selected("#outbox", self._outbox)  # type: ignore[no-any-return]

    @property
    def selected_quarantined(self) -> Any | None:
        return self._selected("#quarantine", self._quarantine)

    @property
    def _in_quarantine(self) -> bool:
        return self.focused is self.query_one("#quarantine", DataTable)

    # ---------------------------------------------------------------- actions
    def action_reload(self) -> None:
        self.reload()

    def action_retry(self) -> None:
        if self._in_quarantine:
            q = self.selected_quarantined
            if q is None:
                self.notify("No quarantined message selected.", markup=False)
                return
            self._act_worker("quarantine", q.id)
            return
        m = self.selected_mail
        if m is None:
            self.notify("No mail selected: the outbox is empty.", markup=False)
            return
        self._act_worker("retry", m.id)

    def action_dismiss_failed(self) -> None:
        if self._in_quarantine:
            self.notify(
                "A quarantined message is kept until it is read again (r); nothing to dismiss.",
                markup=False,
            )
            return
        m = self.selected_mail
        if m is None or m.state != "failed":
            self.notify("Select a failed mail to dismiss (queued or retrying mail is not).",
                        markup=False)
            return
        self._act_worker("dismiss", m.id)

    def action_dismiss_all(self) -> None:
        if self.board is None or not self.board.failed:
            self.notify("No failed mail to dismiss.", markup=False)
            return
        self._act_worker("dismiss_all", None)

    def action_open(self) -> None:
        if self._in_quarantine:
            q = self.selected_quarantined
            key = q.ticket if q is not None else None
        else:
            m = self.selected_mail
            key = m.key if m is not None else None
        if key:
            from agent_console.screens.ticket import TicketScreen

            self.app.push_screen(TicketScreen(key))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    @work(thread=True, group="mail-act")
    def _act_worker(self, what: str, ident: int | None) -> None:
        desk = self.desk
        try:
            if what == "retry":
                m = desk.retry_mail(ident)
                text = f"Mail to {m.to} ({m.key or 'no ticket'}) will be sent again"
                if not desk.mail_configured():
                    text += " by the console that sends (watch / mail send)"
            elif what == "dismiss":
                desk.dismiss_failed_mail(ident)
                text = f"Failed mail {ident} dismissed; its ticket keeps the history"
            elif what == "dismiss_all":
                n = len(desk.dismiss_failed_mail(None))
                text = f"{n} failed mail dismissed; the tickets keep the history"
            else:
                r = desk.quarantine_retry(ident)
                if r.outcome == "quarantined":
                    raise UserError(f"message {ident} is still unreadable: {r.detail}")
                text = f"Message {ident} read again: " + (
                    f"{r.outcome.replace('_', ' ')} {r.key}" if r.key else r.outcome
                )
        except UserError as exc:
            self.post_message(MailFailed(str(exc), cause=exc, action=True))
            return
        self.post_message(MailActed(text))

    @on(MailActed)
    def _acted(self, message: MailActed) -> None:
        self.notify(message.text, title="Mail", markup=False)
        self.reload()

    @on(MailFailed)
    def _failed(self, message: MailFailed) -> None:
        feed_failed = getattr(self.app, "feed_failed", None)
        if message.cause is not None and callable(feed_failed) and feed_failed(message.cause):
            return  # an outage: the header says so, the next read catches up
        self.notify(message.error, title="Mail", severity="error", markup=False)
        if message.action:
            self.reload()

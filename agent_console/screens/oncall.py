"""The On-call screen (issue 10, key ``3``): what someone watching the desk after hours needs
on one screen.

- unacknowledged alerts at the top (``A`` acknowledges the selected one, ``enter`` opens its
  ticket);
- the most urgent ticket's time left in large digits (Textual's ``Digits``);
- who is on call now (primary, secondary, leads) and until when, whether business hours are
  open and when they next open, the next maintenance window;
- every open critical ticket and every ticket whose running deadline falls inside the
  current after-hours window, soonest breach first, with their first-reply, next-update and
  resolution timers (``enter`` opens one).

Wiring only: the desk is read in thread workers (:func:`agent_console.desk.oncall_view.
oncall_board`), results come back as typed messages (:class:`BoardLoaded`,
:class:`BoardFailed`, :class:`AlertAcknowledged`). One 1 Hz interval formats the timers from
the stored instants (no query), paused while the screen is hidden; the board is read again
every :attr:`OncallScreen.refresh_every` seconds and whenever the app's alert worker saw
alerts change.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Static

from agent_console.desk.alerts import AlertRow
from agent_console.desk.oncall_view import OncallBoard, oncall_board
from agent_console.desk.queue import Me
from agent_console.errors import UserError
from agent_console.keymap import with_ids
from agent_console.widgets.console_footer import ConsoleFooter
from agent_console.widgets.console_header import ConsoleHeader
from agent_console.widgets.oncall_panels import UrgentCountdown, alert_cells, oncall_text
from agent_console.widgets.oncall_tickets import OncallTickets


# ---------------------------------------------------------------- typed messages
class BoardLoaded(Message):
    """A fresh read of the board (and, the first time, the acting agent for the header)."""

    def __init__(self, board: OncallBoard, me: Me | None = None) -> None:
        super().__init__()
        self.board = board
        self.me = me


class BoardFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class AlertAcknowledged(Message):
    def __init__(self, alerts: list[AlertRow]) -> None:
        super().__init__()
        self.alerts = alerts


#: the alert table's columns (alert_cells' order); below NARROW columns only NARROW_PICKS
ALERT_COLUMNS = ("State", "Ticket", "Priority", "Alert", "Due", "Level", "Subject")
NARROW = 100
NARROW_PICKS = (0, 1, 3, 4, 6)


class OncallScreen(Screen[None]):
    """Critical and after-hours tickets, the big countdown, who is on call, open alerts."""

    CSS_PATH = "oncall.tcss"

    BINDINGS = with_ids("oncall", [
        Binding("enter", "open", "Open ticket"),
        Binding("A", "acknowledge", "Acknowledge alert", key_display="A"),
        Binding("ctrl+r", "reload", "Reload", show=False),
    ])

    #: the ``?`` help's title and groups (screens/help.py): the screen's keys first
    HELP_TITLE = "On call"
    HELP_GROUPS = {"Alerts": ["open", "acknowledge", "reload"]}

    #: seconds between reads of the board (tickets move in and out of the window)
    refresh_every: float = 5.0

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:  # noqa: A002
        super().__init__(name=name, id=id)
        self.board: OncallBoard | None = None
        self.me: Me | None = None
        self._ticker: Timer | None = None
        self._reloader: Timer | None = None
        self._alert_ids: list[int] = []
        self._alerts: dict[int, AlertRow] = {}
        #: the alert table shows the narrow columns (below NARROW terminal columns)
        self._alerts_narrow = False

    @property
    def _alert_picks(self) -> tuple[int, ...]:
        return NARROW_PICKS if self._alerts_narrow else tuple(range(len(ALERT_COLUMNS)))

    # ---------------------------------------------------------------- layout
    @property
    def desk(self):  # type: ignore[no-untyped-def]
        return self.app.desk  # type: ignore[attr-defined]

    @property
    def zone(self) -> tzinfo:
        return self.desk.display_zone  # type: ignore[no-any-return]

    def app_now(self) -> datetime:
        return self.app.now()  # type: ignore[attr-defined,no-any-return]

    def compose(self) -> ComposeResult:
        yield ConsoleHeader("On call", id="header")
        yield Static(id="alerts-title", markup=False)
        table: DataTable[Text] = DataTable(id="alerts", cursor_type="row", zebra_stripes=False)
        table.add_columns(*ALERT_COLUMNS)
        yield table
        with Horizontal(id="top"):
            yield UrgentCountdown(self.desk.policy_named, self.zone, id="urgent")
            yield Static(id="oncall-info", markup=False)
        yield Static(id="tickets-title", markup=False)
        yield OncallTickets(self.desk.policy_named, self.zone, self.app_now(), id="tickets")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        header = self.query_one(ConsoleHeader)
        header.set_policy(self.desk.default_policy, self.zone)
        header.update_state(self.app_now())
        self.query_one("#alerts-title", Static).update(Text("Alerts: loading…", "dim"))
        self.query_one(OncallTickets).focus()
        self._ticker = self.set_interval(1.0, self._tick, name="oncall-tick")
        self._reloader = self.set_interval(self.refresh_every, self.reload, name="oncall-reload")
        self.reload()

    def on_resize(self) -> None:
        """A short terminal keeps room for the watched tickets: fewer alert rows."""
        alerts = self.query_one("#alerts", DataTable)
        alerts.styles.max_height = 7 if self.size.height >= 36 else 4
        if self.board is not None and self._alerts_narrow != (self.size.width < NARROW):
            self._show_alerts(self.board.alerts, self.app_now())

    # ---------------------------------------------------------------- the one clock
    def _tick(self) -> None:
        """Once a second: format the header, the countdown and the timers. No query."""
        now = self.app_now()
        self.query_one(ConsoleHeader).update_state(now)
        self.query_one(UrgentCountdown).tick(now)
        self.query_one(OncallTickets).tick(now)
        if self.board is not None:
            self._show_info(now)

    def on_screen_suspend(self) -> None:
        for timer in (self._ticker, self._reloader):
            if timer is not None:
                timer.pause()

    def on_screen_resume(self) -> None:
        for timer in (self._ticker, self._reloader):
            if timer is not None:
                timer.resume()
        if self.is_mounted and self._ticker is not None:
            self._tick()
            self.reload()

    # ---------------------------------------------------------------- loading
    def reload(self) -> None:
        """Read the board again (the app calls this when its alert worker saw a change)."""
        self._board_worker(self.me is None)

    def alerts_changed(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, group="oncall-board")
    def _board_worker(self, first: bool) -> None:
        desk = self.desk
        try:
            me = desk.queue_me() if first else None
            board = oncall_board(desk, self.app_now())
        except UserError as exc:
            self.post_message(BoardFailed(str(exc)))
            return
        self.post_message(BoardLoaded(board, me))

    @on(BoardLoaded)
    def _board_loaded(self, message: BoardLoaded) -> None:
        if message.me is not None:
            self.me = message.me
            self.query_one(ConsoleHeader).set_agent(
                message.me.handle,
                message.me.name,
                message.me.tier,
                lead=message.me.lead,
                demo=bool(self.desk.is_demo_actor),
            )
        board = self.board = message.board
        now = self.app_now()
        self._show_alerts(board.alerts, now)
        self._show_info(now)
        rows = board.tickets
        self.query_one(UrgentCountdown).set_row(rows[0] if rows else None, now)
        title = self._tickets_title(board)
        self.query_one("#tickets-title", Static).update(title)
        self.query_one(OncallTickets).set_rows(
            rows, "Nothing to watch: no open critical ticket and no deadline in this window."
        )

    def _tickets_title(self, board: OncallBoard) -> Text:
        """What the list watches, in words that fit the screen's width."""
        narrow = self.size.width < 100
        title = Text(no_wrap=True, overflow="ellipsis")
        count = f"{board.total} ticket{'s' if board.total != 1 else ''}"
        if board.total > len(board.tickets):
            count = f"{len(board.tickets)} of {count}"
        if board.window is None:
            title.append("Open critical tickets" if narrow else "Watching open critical tickets")
            title.append(" (business hours)" if narrow else " (business hours are open)", "dim")
        else:
            start, end = board.window
            span = f"{start.astimezone(self.zone):%a %H:%M}–{end.astimezone(self.zone):%a %H:%M}"
            if narrow:
                title.append(f"Critical + due while closed ({span})")
            else:
                title.append(f"Watching critical tickets and deadlines after hours (closed {span})")
        title.append(f" · {count}", "dim")
        room = (self.query_one("#tickets-title", Static).size.width or self.size.width) - 2
        sort = " · soonest breach first"
        if title.cell_len + len(sort) > room:
            sort = " · soonest first"  # 80 columns: the whole line, no cut
        if title.cell_len + len(sort) <= room:
            title.append(sort, "dim")
        return title

    @on(BoardFailed)
    def _board_failed(self, message: BoardFailed) -> None:
        self.notify(message.error, title="On call", severity="error", markup=False)

    def _show_info(self, now: datetime) -> None:
        board = self.board
        if board is None:
            return
        text = oncall_text(
            board.oncall,
            self.desk.default_policy,
            board.maintenance,
            now,
            self.zone,
            rehearsal=bool(self.desk.rehearsal),
            width=self.query_one("#oncall-info", Static).size.width or 80,
        )
        self.query_one("#oncall-info", Static).update(text)

    def _show_alerts(self, alerts: list[AlertRow], now: datetime) -> None:
        table: DataTable[Text] = self.query_one("#alerts", DataTable)
        keep = self.selected_alert
        ids = [a.id for a in alerts]
        narrow = self.size.width < NARROW
        if narrow != self._alerts_narrow:
            # below 100 columns the priority (its colour is on the key) and the level go,
            # so that what crossed, when and the subject stay readable
            self._alerts_narrow = narrow
            table.clear(columns=True)
            table.add_columns(*(ALERT_COLUMNS[i] for i in self._alert_picks))
        else:
            table.clear()
        for a in alerts:
            cells = alert_cells(a, self.zone, now)
            table.add_row(*(cells[i] for i in self._alert_picks), key=str(a.id))
        self._alert_ids = ids
        self._alerts = {a.id: a for a in alerts}
        if keep is not None and keep.id in ids:
            table.move_cursor(row=ids.index(keep.id), animate=False)
        new = sum(1 for a in alerts if a.acknowledged_at is None)
        title = Text(no_wrap=True, overflow="ellipsis")
        if not alerts:
            title.append("Alerts: none open", "dim")
        else:
            title.append(f"Alerts: {new} unacknowledged", "bold red" if new else "bold")
            if len(alerts) > new:
                title.append(f", {len(alerts) - new} acknowledged", "dim")
            title.append(" · A acknowledges · enter opens the ticket", "dim")
        self.query_one("#alerts-title", Static).update(title)
        table.set_class(not alerts, "-empty")

    # ---------------------------------------------------------------- selection
    @property
    def selected_alert(self) -> AlertRow | None:
        table: DataTable[Text] = self.query_one("#alerts", DataTable)
        alerts = self._alerts
        if not table.row_count or not alerts:
            return None
        row = table.cursor_row
        if not 0 <= row < len(self._alert_ids):
            return None
        return alerts.get(self._alert_ids[row])

    # ---------------------------------------------------------------- actions
    def action_open(self) -> None:
        if self.focused is self.query_one("#alerts", DataTable):
            alert = self.selected_alert
            if alert is not None:
                self._open(alert.key)
            return
        row = self.query_one(OncallTickets).cursor_row
        if row is not None:
            self._open(row.key)

    @on(DataTable.RowSelected, "#alerts")
    def _alert_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        alert = self.selected_alert
        if alert is not None:
            self._open(alert.key)

    @on(OncallTickets.Selected)
    def _ticket_selected(self, message: OncallTickets.Selected) -> None:
        self._open(message.row.key)

    def _open(self, key: str) -> None:
        from agent_console.screens.ticket import TicketScreen

        self.app.push_screen(TicketScreen(key))

    def action_reload(self) -> None:
        self.reload()

    def action_acknowledge(self) -> None:
        alert = self.selected_alert
        if alert is None:
            self.notify("No alert selected: the alerts are listed at the top.", markup=False)
            return
        if alert.acknowledged_at is not None:
            self.notify(f"Alert #{alert.id} on {alert.key} is already acknowledged.", markup=False)
            return
        self._ack_worker(alert.id)

    @work(thread=True, exclusive=True, group="oncall-ack")
    def _ack_worker(self, alert_id: int) -> None:
        try:
            rows = self.desk.acknowledge(alert_id)
        except UserError as exc:
            self.post_message(BoardFailed(str(exc)))
            return
        self.post_message(AlertAcknowledged(rows))

    @on(AlertAcknowledged)
    def _acknowledged(self, message: AlertAcknowledged) -> None:
        for a in message.alerts:
            self.notify(f"Acknowledged #{a.id} {a.key}: {a.what}", title="On call", markup=False)
        seen = getattr(self.app, "alerts_acknowledged", None)
        if callable(seen):
            seen([a.id for a in message.alerts])
        self.reload()

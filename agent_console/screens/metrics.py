"""``4``: the metrics screen — are we keeping the handbook's promises?

For a period (today, this week, last 7 / 30 days, custom) and optionally one
organization, tier or agent: the share of first responses, status updates and
resolutions that met their targets per priority, median and p90 times on the priority's
clock, the breaches (``enter`` opens the ticket), tickets opened and resolved per day, the
backlog by tier and age, escalations and their pickup time, and each agent's load. Numbers
in tables, charts beside them (textual-plotext).

The figures come from one desk call (:meth:`agent_console.desk.metrics.MetricsMixin.metrics`,
the same that ``agent-console report`` prints) run in a thread worker; the body shows a
loading indicator meanwhile and the 1 Hz tick (header only) never waits for it. A
result that comes back for an older request is dropped.
"""

from __future__ import annotations

import time
from datetime import date, datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static, TabbedContent, TabPane

from agent_console.desk.metrics import (
    PERIODS,
    MetricsFilter,
    MetricsReport,
    report_tables,
)
from agent_console.errors import UserError
from agent_console.keymap import with_ids
from agent_console.screens.help import HelpScreen
from agent_console.widgets.console_footer import ConsoleFooter
from agent_console.widgets.console_header import ConsoleHeader
from agent_console.widgets.metrics_chart import MetricsChart
from agent_console.widgets.metrics_table import FigureTable

#: the period key cycles through these (custom is entered with ``c``)
CYCLE = ("today", "week", "7d", "30d")

#: one bullet a line: the help's text box wraps them to its width
DEFINITIONS = "\n".join(
    [
        "On the Breaches tab, enter opens the ticket of the highlighted breach.",
        "",
        "Definitions",
        "• Met / breached: each metric cycle is judged once, in the period holding the instant "
        "its outcome became certain — met when it stopped by its due instant, breached when its "
        "due instant passed (a cycle still running past it counts as breached: overdue).",
        "• First response: from the opening to the first public agent reply, credited to the "
        "agent who sent it. Status updates: every update cycle. Resolution: a ticket's last "
        "resolution; a reopened ticket is one ticket judged on its last resolution, reopenings "
        "counted apart.",
        "• Times are on the priority's own clock (business hours for a business-clock priority, "
        "waiting on the customer excluded), as the ticket clock stored them, to the second "
        "under an hour and to the minute from an hour (as shown). A first response sent outside "
        "business hours, before the clock started, took 0m 00s. Median and p90 are "
        "nearest-rank: the smallest time with at least 50 % / 90 % of the times at or below it.",
        "• Days are those of the display zone (--tz, else the default policy's zone).",
        "• Backlog: tickets open at the period's end (or now), by tier and by age at that instant.",
        "• Escalation pickup: from the escalation to the first claim or assignment after it, "
        "with no hand-over in between (wall-clock time); not picked up yet = waiting.",
        "• Leads see every agent's line; an agent sees the team figures and their own line.",
    ]
)


class MetricsLoaded(Message):
    """A metrics request finished (``report`` or ``error``); ``seq`` says which one."""

    def __init__(
        self, seq: int, report: MetricsReport | None, elapsed_ms: float, error: str | None = None
    ) -> None:
        super().__init__()
        self.seq = seq
        self.report = report
        self.elapsed_ms = elapsed_ms
        self.error = error


class PromptDialog(ModalScreen[str | None]):
    """One line of input: ``enter`` answers it, ``escape`` cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, hint: str, value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(Text(self.title_text), classes="title")
            yield Input(value=self.value, placeholder=self.hint, id="prompt")
            yield Static(Text("enter: apply · escape: cancel · empty: all"), classes="hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class MetricsHelp(HelpScreen):
    """``?`` on the metrics screen: its keys, then the definitions of the figures."""

    def on_mount(self) -> None:
        self.query_one("#dialog").mount(Static(Text(DEFINITIONS), id="definitions"))


class MetricsScreen(Screen[None]):
    """The team's SLA figures for a period, with charts."""

    CSS_PATH = "metrics.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    BINDINGS = with_ids(
        "metrics",
        [
            Binding(
                "p",
                "next_period",
                "Period",
                tooltip="Next period: today, this week, last 7 days, last 30 days (p)",
            ),
            Binding(
                "c",
                "custom_period",
                "Custom dates",
                tooltip="Custom period: first and last day; empty goes back to 7 days (c)",
            ),
            Binding("o", "filter_org", "Org", tooltip="Only one organization; empty: all (o)"),
            Binding("t", "next_tier", "Tier", tooltip="Tier: all, 1, 2, 3 (t)"),
            Binding(
                "a",
                "filter_agent",
                "Agent",
                tooltip="Only tickets assigned to one agent; empty: all (a)",
            ),
            Binding("x", "clear_filters", "Clear filters"),
            Binding("ctrl+r", "reload", "Reload", tooltip="Compute the figures again (ctrl+r)"),
            Binding(
                "question_mark",
                "metrics_help",
                "Help",
                key_display="?",
                tooltip="These keys and the definitions of the figures (?)",
            ),
        ],
    )
    #: the ``?`` help's groups (screens/help.py); enter on a breach is the table's own key
    HELP_GROUPS = {
        "Period": ["next_period", "custom_period", "reload"],
        "Filters": ["filter_org", "next_tier", "filter_agent", "clear_filters"],
        "Help": ["metrics_help"],
    }

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:  # noqa: A002
        super().__init__(name=name, id=id)
        self.period_kind = "7d"
        self.custom: tuple[date, date | None] | None = None
        self.filters = MetricsFilter()
        self.report: MetricsReport | None = None
        self._seq = 0
        self._ticker: Timer | None = None

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield ConsoleHeader("Metrics", id="header")
        yield Static(id="metrics-bar")
        with TabbedContent(id="metrics-body", initial="tab-targets"):
            with TabPane("Targets", id="tab-targets"), VerticalScroll(classes="pane"):
                with Horizontal(classes="split"):
                    with Vertical(classes="numbers"):
                        yield FigureTable(id="targets")
                        yield FigureTable(id="times")
                        yield Static(id="times-note", classes="note")
                    yield MetricsChart(id="chart-targets")
            with TabPane("Breaches", id="tab-breaches"):
                yield Static(id="breaches-title", classes="section")
                yield FigureTable(id="breaches")
            with TabPane("Per day", id="tab-daily"), VerticalScroll(classes="pane"):
                with Horizontal(classes="split"):
                    yield FigureTable(id="daily")
                    yield MetricsChart(id="chart-daily")
            with TabPane("Backlog", id="tab-backlog"), VerticalScroll(classes="pane"):
                yield Static(id="backlog-title", classes="section")
                with Horizontal(classes="split"):
                    with Vertical(classes="numbers"):
                        yield FigureTable(id="backlog_tier")
                        yield FigureTable(id="backlog_age")
                    yield MetricsChart(id="chart-backlog")
            with TabPane("Escalations", id="tab-escalations"), VerticalScroll(classes="pane"):
                yield FigureTable(id="escalations")
            with TabPane("Agents", id="tab-agents"), VerticalScroll(classes="pane"):
                yield Static(id="agents-title", classes="section")
                yield FigureTable(id="agents")
        yield Static(id="metrics-status")
        yield ConsoleFooter()

    @property
    def desk(self):  # type: ignore[no-untyped-def]
        return self.app.desk  # type: ignore[attr-defined]

    @property
    def header(self) -> ConsoleHeader:
        return self.query_one(ConsoleHeader)

    def now(self) -> datetime:
        return self.app.now()  # type: ignore[attr-defined,no-any-return]

    def on_mount(self) -> None:
        self.header.set_policy(self.desk.default_policy, self.desk.display_zone)
        self.header.update_state(self.now())
        self._ticker = self.set_interval(1.0, self._tick, name="metrics-tick")
        self._set_agent()
        self.reload()

    @work(thread=True, exclusive=True, group="metrics-agent")
    def _set_agent(self) -> None:
        """Who is working, for the header (a query: off the UI thread)."""
        try:
            me = self.desk.queue_me()
        except UserError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", markup=False)
            return
        self.app.call_from_thread(
            self.header.set_agent,
            me.handle,
            me.name,
            me.tier,
            lead=me.lead,
            demo=bool(self.desk.is_demo_actor),
        )

    # ---------------------------------------------------------------- the one clock
    def _tick(self) -> None:
        """Once a second: the header only. The figures load in a worker."""
        self.header.update_state(self.now())

    def on_screen_suspend(self) -> None:
        if self._ticker is not None:
            self._ticker.pause()

    def on_screen_resume(self) -> None:
        if self._ticker is not None:
            self._ticker.resume()
            if self.is_mounted:
                self._tick()

    # ---------------------------------------------------------------- loading
    def reload(self) -> None:
        """Compute the figures for the current period and filters (in a worker)."""
        self._seq += 1
        self.query_one("#metrics-body").loading = True
        self._show_bar(loading=True)
        first, last = self.custom if self.custom else (None, None)
        self._load(self._seq, self.period_kind, self.filters, first, last)

    @work(thread=True, exclusive=True, group="metrics")
    def _load(
        self, seq: int, kind: str, filters: MetricsFilter, first: date | None, last: date | None
    ) -> None:
        started = time.perf_counter()
        try:
            report = self.desk.metrics(kind, filters, first=first, last=last)
            error = None
        except UserError as exc:
            report, error = None, str(exc)
        self.post_message(MetricsLoaded(seq, report, (time.perf_counter() - started) * 1000, error))

    @on(MetricsLoaded)
    def _loaded(self, message: MetricsLoaded) -> None:
        if message.seq != self._seq:
            return  # an older request
        self.query_one("#metrics-body").loading = False
        if message.error or message.report is None:
            self.notify(message.error or "no figures", severity="error", markup=False)
            if self.report is not None:  # the bar names the figures shown, not the refused
                self.filters = self.report.filters
            self._show_bar()
            return
        self.report = message.report
        self._show(message.report)
        self._show_bar()

    def _show_bar(self, *, loading: bool = False) -> None:
        if self.custom:
            first, last = self.custom
            period = f"Custom ({first.isoformat()} to {(last or 'today')})"
        else:
            period = PERIODS[self.period_kind]
        if self.report is not None and not loading:
            period = self.report.period.label
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(period, "bold")
        text.append(" · ")
        text.append(self.filters.label)
        if loading:
            text.append(" · computing…", "italic")
        self.query_one("#metrics-bar", Static).update(text)

    def _show(self, r: MetricsReport) -> None:
        tables = {tid: (title, headers, rows) for tid, title, headers, rows in report_tables(r)}
        for tid in ("targets", "times", "daily", "backlog_tier", "backlog_age", "escalations"):
            _, headers, rows = tables[tid]
            self.query_one(f"#{tid}", FigureTable).show(headers, rows)
        note = self.query_one("#times-note", Static)
        note.update(Text("\n".join(r.notes)))
        note.display = bool(r.notes)
        title, headers, rows = tables["breaches"]
        self.query_one("#breaches-title", Static).update(
            Text(title + " · enter opens the ticket" if rows else title)
        )
        self.query_one("#breaches", FigureTable).show(
            headers, rows, keys=[b.key + f"#{i}" for i, b in enumerate(r.breaches)]
        )
        self.query_one(TabbedContent).get_tab("tab-breaches").label = Text(
            f"Breaches {r.breach_count}"
        )
        title, headers, rows = tables["backlog_tier"]
        self.query_one("#backlog-title", Static).update(Text(title))
        title, headers, rows = tables["agents"]
        self.query_one("#agents-title", Static).update(Text(title))
        self.query_one("#agents", FigureTable).show(headers, rows)
        # charts: share met per priority, opened vs resolved, backlog by age
        prios = [p.priority for p in r.priorities]
        self.query_one("#chart-targets", MetricsChart).show_bars(
            "% met",
            prios,
            [
                ("FR", [_pct(p.first_response.share) for p in r.priorities]),
                ("UPD", [_pct(p.updates.share) for p in r.priorities]),
                ("RES", [_pct(p.resolution.share) for p in r.priorities]),
            ],
            ylim=(0, 100),
        )
        self.query_one("#chart-daily", MetricsChart).show_lines(
            "opened / resolved",
            [d.strftime("%m-%d") for d, _, _ in r.daily],
            [
                ("opened", [o for _, o, _ in r.daily]),
                ("resolved", [n for _, _, n in r.daily]),
            ],
        )
        self.query_one("#chart-backlog", MetricsChart).show_bars(
            "open by age", [a for a, _ in r.backlog_age], [("open", [n for _, n in r.backlog_age])]
        )

    # ---------------------------------------------------------------- actions
    def action_reload(self) -> None:
        self.reload()

    def action_next_period(self) -> None:
        """Today → this week → last 7 days → last 30 days → today…"""
        if self.custom:
            self.custom = None
            self.period_kind = CYCLE[0]
        else:
            i = CYCLE.index(self.period_kind) if self.period_kind in CYCLE else -1
            self.period_kind = CYCLE[(i + 1) % len(CYCLE)]
        self.reload()

    def set_period(self, kind: str, first: date | None = None, last: date | None = None) -> None:
        """Show ``kind`` (see :data:`PERIODS`); ``custom`` takes ``first``..``last``."""
        if kind == "custom":
            if first is None:
                raise UserError("a custom period needs a first day")
            self.custom = (first, last)
        else:
            self.custom = None
        self.period_kind = kind
        self.reload()

    def action_custom_period(self) -> None:
        value = ""
        if self.custom:
            first, last = self.custom
            value = f"{first.isoformat()} {last.isoformat() if last else ''}".strip()
        self.app.push_screen(
            PromptDialog(
                "Custom period: first and last day (display zone)",
                "YYYY-MM-DD [YYYY-MM-DD]",
                value,
            ),
            self._custom_answer,
        )

    def _custom_answer(self, answer: str | None) -> None:
        if answer is None:
            return
        if not answer:
            self.custom = None
            self.period_kind = "7d"
            self.reload()
            return
        parts = answer.replace(",", " ").replace(" to ", " ").split()
        try:
            days = [date.fromisoformat(p) for p in parts[:2]]
        except ValueError:
            self.notify(
                f"not a date: {answer!r} (use YYYY-MM-DD YYYY-MM-DD)",
                severity="error",
                markup=False,
            )
            return
        self.set_period("custom", days[0], days[1] if len(days) > 1 else None)

    def action_filter_org(self) -> None:
        self.app.push_screen(
            PromptDialog("Only one organization", "organization name", self.filters.org or ""),
            lambda v: self._set_filter(org=v),
        )

    def action_filter_agent(self) -> None:
        self.app.push_screen(
            PromptDialog("Only tickets assigned to", "agent handle", self.filters.assignee or ""),
            lambda v: self._set_filter(assignee=v),
        )

    def action_next_tier(self) -> None:
        order = [None, 1, 2, 3]
        i = order.index(self.filters.tier)
        self.filters = MetricsFilter(self.filters.org, order[(i + 1) % 4], self.filters.assignee)
        self.reload()

    def action_clear_filters(self) -> None:
        self.filters = MetricsFilter()
        self.reload()

    def _set_filter(self, **changes: str | None) -> None:
        if any(v is None for v in changes.values()):
            return  # cancelled
        values = {
            "org": self.filters.org,
            "tier": self.filters.tier,
            "assignee": self.filters.assignee,
        }
        values.update({k: (v or None) for k, v in changes.items()})
        self.filters = MetricsFilter(**values)  # type: ignore[arg-type]
        self.reload()

    def action_metrics_help(self) -> None:
        if not isinstance(self.app.screen, HelpScreen):
            self.app.push_screen(MetricsHelp(self))

    @on(DataTable.RowSelected, "#breaches")
    def _open_breach(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value or "").split("#")[0]
        if key:
            self.open_ticket(key)

    def open_ticket(self, key: str) -> None:
        from agent_console.screens.ticket import TicketScreen

        self.app.push_screen(TicketScreen(key))


def _pct(share: float | None) -> float:
    return 0.0 if share is None else round(share * 100, 1)

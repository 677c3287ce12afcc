"""The metrics screen: ``4`` opens it, the figures load in a worker, the period switches,
a breached ticket opens from the list, ``?`` states the definitions; snapshots at 160×50
and 80×24 (fixed clock, the fixed history of tests/metrics_fixture.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TabbedContent

from agent_console.app import AgentConsoleApp, create_app
from agent_console.desk import Desk
from agent_console.screens.metrics import MetricsLoaded, MetricsScreen
from agent_console.settings import Settings
from tests.metrics_fixture import Clock, build


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('metrics_ui') / 'ui.db'}"
    d, keys, _ = build(url)
    d.engine.dispose()
    yield url, keys


def make_app(url: str, agent: str = "lee") -> tuple[AgentConsoleApp, list[MetricsLoaded]]:
    from tests.metrics_fixture import NOW

    clock = Clock(NOW)
    settings = Settings(db_url=url, agent=agent)
    desk = Desk.open(settings, clock=clock)
    app = create_app(
        settings, desk=desk, clock=clock, offer_demo=False, alerts=False, real_ticks=False
    )
    return app, []


async def loaded(pilot: Pilot) -> MetricsScreen:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)
    screen = pilot.app.screen
    assert isinstance(screen, MetricsScreen)
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)
    return screen


def cells(screen: MetricsScreen, table_id: str) -> list[list[str]]:
    table = screen.query_one(f"#{table_id}", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def to_custom(pilot: Pilot) -> MetricsScreen:
    await pilot.press("4")
    await loaded(pilot)
    await pilot.press("c")
    await pilot.pause(0.1)
    pilot.app.screen.query_one(Input).value = "2026-10-30 2026-11-02"
    await pilot.press("enter")
    return await loaded(pilot)


async def test_key_4_opens_the_figures_and_the_period_switches(
    history: tuple[str, dict[str, str]],
) -> None:
    url, _ = history
    app, _ = make_app(url)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("4")
        screen = await loaded(pilot)
        assert screen.report is not None and screen.report.period.kind == "7d"
        # now is Tue 3 Nov 17:00Z: the last 7 days hold the whole history, and T6's
        # status update fell overdue at 15:00Z
        assert screen.report.breach_count == 7
        await pilot.press("p")  # 7d -> 30d
        screen = await loaded(pilot)
        assert screen.report.period.kind == "30d"
        await pilot.press("p")  # -> today (Tue 3 Nov): T6's overdue update only
        screen = await loaded(pilot)
        assert screen.report.period.first == date(2026, 11, 3)
        assert [(b.metric, b.state) for b in screen.report.breaches] == [("next_update", "overdue")]
        screen = await to_custom(pilot)
        assert screen.report.period.kind == "custom"
        assert cells(screen, "targets")[0][:3] == ["critical", "calendar", "50.0% of 4"]
        assert cells(screen, "times")[1] == ["urgent", "30m 00s", "3h 00m", "6h 30m", "6h 30m"]
        assert "Custom (2026-10-30 to 2026-11-02)" in str(screen.query_one("#metrics-bar").render())


async def test_enter_on_a_breach_opens_the_ticket(history: tuple[str, dict[str, str]]) -> None:
    url, keys = history
    app, _ = make_app(url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        screen = await to_custom(pilot)
        screen.query_one(TabbedContent).active = "tab-breaches"
        await pilot.pause(0.1)
        table = screen.query_one("#breaches", DataTable)
        table.focus()
        assert cells(screen, "breaches")[0][-1] == "T7 [b]critical[/b] trouble"  # literally
        await pilot.press("down", "enter")  # the second breach: T4's resolution
        await pilot.pause(0.3)
        from agent_console.screens.ticket import TicketScreen

        assert isinstance(app.screen, TicketScreen)
        assert app.screen.key == keys["T4"]


async def test_filters_and_an_agents_own_line(history: tuple[str, dict[str, str]]) -> None:
    url, _ = history
    app, _ = make_app(url, agent="ann")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        screen = await to_custom(pilot)
        assert [r[0] for r in cells(screen, "agents")] == ["ann"]
        await pilot.press("t", "t")  # all -> tier 1 -> tier 2
        screen = await loaded(pilot)
        assert screen.filters.tier == 2
        assert screen.report.breach_count == 2
        await pilot.press("x")
        screen = await loaded(pilot)
        assert screen.report.breach_count == 6


async def test_help_states_the_definitions(history: tuple[str, dict[str, str]]) -> None:
    url, _ = history
    app, _ = make_app(url)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("4")
        await loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        text = str(app.screen.query_one("#definitions").render())
        assert "judged on its last resolution" in text and "nearest-rank" in text


@pytest.mark.parametrize(
    "size",
    [
        (160, 50),
        # the chart lays its ticks out for the size it is painted at (one y label read 40
        # or 60 from run to run when data arrived before the chart had its size)
        (80, 24),
    ],
    ids=["160x50", "80x24"],
)
def test_metrics_snapshot(snap_compare, history: tuple[str, dict[str, str]], size) -> None:  # type: ignore[no-untyped-def]
    url, _ = history
    app, _ = make_app(url)

    async def ready(pilot: Pilot) -> None:
        await pilot.pause(0.2)
        screen = await to_custom(pilot)
        screen.query_one("#targets").focus()
        await pilot.pause(0.2)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=ready)


def test_screen_module_keeps_sql_out() -> None:
    src = Path(__file__).resolve().parent.parent / "agent_console/screens/metrics.py"
    assert "sqlalchemy" not in src.read_text()


# ---------------------------------------------------------------- defects a new user saw
async def test_help_lists_the_screens_keys_first_in_groups(
    history: tuple[str, dict[str, str]],
) -> None:
    """The metrics keys come first, in their own groups (not under "More keys"), and each
    definition is one paragraph the help box wraps once (no hard line breaks inside)."""
    from agent_console.screens.help import OTHER, key_groups
    from agent_console.screens.metrics import DEFINITIONS

    url, _ = history
    app, _ = make_app(url)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.2)
        await pilot.press("4")
        screen = await loaded(pilot)
        groups = key_groups(screen, app)
        titles = [title for title, _ in groups]
        assert titles[:3] == ["Period", "Filters", "Help"]
        keys = {k for _, ks in groups[:3] for k, _ in ks}
        assert {"p", "c", "o", "t", "a", "x", "^r", "?"} <= keys
        assert OTHER not in titles[:3]
        for line in DEFINITIONS.splitlines():
            assert not line.startswith(" "), line  # a continuation: a hard wrap
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert "enter opens the ticket" in str(app.screen.query_one("#definitions").render())


async def test_chart_legend_sits_above_the_bars(history: tuple[str, dict[str, str]]) -> None:
    """plotext draws the legend inside the plot's top left: no bar may reach its rows."""
    import re

    from agent_console.widgets.metrics_chart import MetricsChart

    url, _ = history
    for size in ((160, 50), (80, 24)):
        app, _ = make_app(url)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.2)
            screen = await to_custom(pilot)
            chart = screen.query_one("#chart-targets", MetricsChart)
            assert max(v for _, vs in chart.series for v in vs) == 100  # a full bar
            chart.render()
            plot = re.sub(r"\x1b\[[0-9;]*m", "", chart.plt.build())
            legend = [line for line in plot.splitlines() if re.search(r"██ (FR|UPD|RES)\b", line)]
            assert len(legend) == 3, plot
            for line in legend:
                assert line.count("█") == 2, plot  # the swatch only


async def test_a_refused_agent_filter_leaves_the_bar_on_the_figures_shown(
    history: tuple[str, dict[str, str]],
) -> None:
    """An agent (not a lead) filters by another handle: refused in one line, and the bar
    keeps naming the figures on screen (it read "agent [red]zz[/red]" over the team's
    figures; the line said "drop --assignee", a CLI option) (trial)."""
    url, _ = history
    app, _ = make_app(url, agent="ann")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause(0.2)
        await pilot.press("4")
        screen = await loaded(pilot)
        shown = screen.report
        await pilot.press("a", *"[red]zz[/red]", "enter")
        screen = await loaded(pilot)
        said = [n.message for n in app._notifications]
        assert any("ann is not a lead" in m for m in said), said
        assert not any("--assignee" in m for m in said)
        assert screen.filters.assignee is None and screen.report is shown
        bar = str(screen.query_one("#metrics-bar").render())
        assert "zz" not in bar and "all tickets" in bar

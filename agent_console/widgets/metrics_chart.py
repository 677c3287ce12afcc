"""Charts of the metrics screen, drawn in the terminal by textual-plotext.

Views only: the screen hands them plain numbers (:meth:`MetricsChart.show_bars`,
:meth:`MetricsChart.show_lines`); they keep them and redraw at every size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual_plotext import PlotextPlot

#: plot rows of the smallest chart (metrics.tcss: 12 high), the legend's room is sized for
LEGEND_ROWS = 9


class MetricsChart(PlotextPlot):
    """A bar chart (grouped bars) or a line chart of a few series."""

    DEFAULT_CSS = """
    MetricsChart {
        min-height: 8;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self._kind = ""
        self._title = ""
        self._labels: list[str] = []
        self._series: list[tuple[str, list[float]]] = []
        self._ylim: tuple[float, float] | None = None
        #: the size the plot was last laid out for (its ticks depend on the height)
        self._drawn_for: tuple[int, int] | None = None

    def show_bars(
        self,
        title: str,
        labels: Sequence[str],
        series: Sequence[tuple[str, Sequence[float]]],
        *,
        ylim: tuple[float, float] | None = None,
    ) -> None:
        """Grouped bars: one group per label, one bar per series (name, values)."""
        self._set("bars", title, labels, series, ylim)

    def show_lines(
        self, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]
    ) -> None:
        """One line per series over the labels (e.g. days)."""
        self._set("lines", title, labels, series, None)

    @property
    def series(self) -> list[tuple[str, list[float]]]:
        return list(self._series)

    def _set(
        self,
        kind: str,
        title: str,
        labels: Sequence[str],
        series: Sequence[tuple[str, Sequence[float]]],
        ylim: tuple[float, float] | None,
    ) -> None:
        self._kind, self._title, self._ylim = kind, title, ylim
        self._labels = [str(x) for x in labels]
        self._series = [(name, [float(v) for v in values]) for name, values in series]
        self._draw()
        self.refresh()

    def _draw(self) -> None:
        self._drawn_for = (self.size.width, self.size.height)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self._title)
        if not self._labels or not self._series:
            return
        if self._kind == "bars":
            if len(self._series) == 1:
                plt.bar(self._labels, self._series[0][1], width=0.4)
            else:
                plt.multiple_bar(
                    self._labels,
                    [values for _, values in self._series],
                    labels=[name for name, _ in self._series],
                    width=0.25,
                )
        else:
            xs = list(range(1, len(self._labels) + 1))
            for name, values in self._series:
                plt.plot(xs, values, label=name, marker="braille")
            step = max(1, len(xs) // 6)
            plt.xticks(xs[::step], self._labels[::step])
        self._make_room_for_the_legend()

    def _make_room_for_the_legend(self) -> None:
        """plotext draws the legend over the top left of the plot: raise the top of the y
        axis so that the legend's rows sit above the highest bar or line, and keep the
        ticks on the data's own range (e.g. 0-100 %)."""
        plt = self.plt
        values = [v for _, vs in self._series for v in vs]
        low, high = self._ylim if self._ylim is not None else (0.0, max(values, default=0.0))
        high = high or 1.0
        legend = len(self._series) if len(self._series) > 1 else 0
        if not legend:
            if self._ylim is not None:
                plt.ylim(low, high)
            return
        # the rows of the smallest chart (12 high, minus the title, the frame and the x
        # labels): the same room at every size, so a chart draws the same whatever the
        # height it had when it last drew
        room = min(0.6, (legend + 1) / LEGEND_ROWS)
        plt.ylim(low, low + (high - low) / (1 - room))
        # no more ticks than the plot has rows for, two rows apart: two ticks on one row
        # are drawn in an order that changes from run to run
        rows = self.size.height - 4  # the title, the frame and the x labels
        plt.yticks(_ticks(low, high, most=max(2, rows // 2) if rows > 0 else 5))

    def on_resize(self) -> None:
        self._draw()

    def render(self):  # type: ignore[no-untyped-def]
        """Lay the plot out for the size it is drawn at: the y ticks depend on the height,
        and data that arrived before the chart had its size (or between a resize and the
        paint) drew them for another height — one tick label of the 80×24 snapshot read 40
        or 60 from run to run."""
        if self._drawn_for != (self.size.width, self.size.height):
            self._draw()
        return super().render()


def _ticks(low: float, high: float, most: int = 5) -> list[float]:
    """Round ticks from ``low`` up to ``high``, at most ``most`` steps apart (so at most
    ``most + 1`` ticks)."""
    span = high - low
    step = 10 ** math.floor(math.log10(span / 4)) if span > 0 else 1.0
    for mult in (1, 2, 2.5, 5, 10, 20, 25, 50, 100):
        if span / (step * mult) <= most:
            step *= mult
            break
    out, v = [], low
    while v <= high + 1e-9:
        out.append(round(v, 6))
        v += step
    return out

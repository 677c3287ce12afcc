"""Charts of the metrics screen, drawn in the terminal by textual-plotext.

Views only: the screen hands them plain numbers (:meth:`MetricsChart.show_bars`,
:meth:`MetricsChart.show_lines`); they keep them and redraw at every size.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual_plotext import PlotextPlot


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
        if self._ylim is not None:
            plt.ylim(*self._ylim)

    def on_resize(self) -> None:
        self._draw()

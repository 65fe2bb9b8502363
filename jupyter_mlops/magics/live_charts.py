"""Live charts in the run card: what ``mlops.log`` logs, drawn under the cell as it trains.

The kernel side of ``core/live.py``'s hook. Each run's card is displayed with a display id of
its own (``%mlops track`` shows it; a run started from Python gets it at its first metric), and
updated in place: at most every ``INTERVAL`` seconds while a cell logs (core's timer thread says
when; the update itself runs in the thread that logs), and once more when the cell ends, then
with the charts also as ``image/svg+xml`` so the saved notebook shows them anywhere. Each metric
keeps at most ``MAX_POINTS`` points (every other one is dropped when full) and its exact count,
minimum, maximum and last value, so memory stays flat however long the loop runs. What was
logged is taken in bulk, column by column with the interpreter's built-ins, only when an update
is due: a tight loop pays one list extend per call, and the thinning and the SVG are paid at
most every ``INTERVAL`` and at the cell's end.

Only in a kernel with a front end (``ipykernel``): a terminal has no display to update.
"""

from __future__ import annotations

import math
import threading
import warnings
from operator import countOf, itemgetter
from time import monotonic
from typing import Any

from IPython.display import display

from ..core import live
from ..display.live_chart import live_card

INTERVAL = 0.5  # seconds between two updates of a card while a cell logs
MAX_POINTS = 200  # points kept per metric (between half this and this)
MAX_CHARTS = 6  # metrics drawn per run; the others are counted
MAX_NAMES = 1000  # names of the metrics not drawn, kept to count them

_name, _value, _step = itemgetter(0), itemgetter(1), itemgetter(3)


class Series:
    """One metric's points, thinned by half each time ``MAX_POINTS`` are kept (the points kept
    are the 1st, (1 + stride)th, ... value), with its exact count, minimum, maximum and last."""

    __slots__ = ("count", "high", "last", "low", "points", "steps_vary", "stride")

    def __init__(self) -> None:
        self.count = 0
        self.stride = 1
        self.points: list[tuple[int, int, float]] = []  # (number of the value, step, value)
        self.low, self.high = math.inf, -math.inf
        self.last: tuple[int, int, float] | None = None
        self.steps_vary = False  # x is the step when it varies, else the value's number

    def extend(self, logged: list | tuple) -> None:
        """Add ``(name, value, timestamp, step)`` tuples of this metric, in order: a few passes
        of the interpreter's built-ins over them, and a tuple made only for the points kept."""
        values = list(map(_value, logged))
        # a sum that is not finite: a NaN (never drawn, never a minimum) or an overflow
        finite = math.isfinite(sum(values))
        seen = values if finite else [v for v in values if math.isfinite(v)]
        if seen:
            self.low, self.high = min(self.low, min(seen)), max(self.high, max(seen))
        start, count = self.count, self.count + len(values)
        while True:  # thin what is kept until what comes fits (as adding one by one would)
            first = (-start) % self.stride  # the first whose number is 1 + k * stride
            coming = -(-(len(values) - first) // self.stride) if first < len(values) else 0
            if len(self.points) + coming < MAX_POINTS:
                break
            del self.points[1::2]
            self.stride *= 2
        kept = logged[first :: self.stride]
        numbers = range(start + 1 + first, count + 1, self.stride)
        self.points.extend(zip(numbers, map(_step, kept), map(_value, kept), strict=True))
        self.count = count
        self.last = (count, logged[-1][3], values[-1])
        if not self.steps_vary:  # judged on the points kept and the last
            steps = {p[1] for p in self.points}
            self.steps_vary = len(steps | {self.last[1]}) > 1

    def chart(self, name: str) -> dict[str, Any]:
        """What ``display/live_chart.py`` draws: x is the step when steps vary, else the
        value's number."""
        kept = self.points
        if self.last is not None and (not kept or kept[-1][0] != self.last[0]):
            kept = [*kept, self.last]
        at = 1 if self.steps_vary else 0
        finite = self.low <= self.high
        return {
            "name": name,
            "points": [(p[at], p[2]) for p in kept if math.isfinite(p[2])],
            "count": self.count,
            "low": self.low if finite else None,
            "high": self.high if finite else None,
            "last": self.last[2] if self.last else None,
            "x": "step" if self.steps_vary else "value",
        }


class Card:
    """A run's card: its display id, where it was last shown, and its metrics' series."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.display_id = f"mlops-run-{run.run_id}"
        self.cell: int | None = None  # the cell it was last displayed under (None: not yet)
        self.series: dict[str, Series] = {}
        self.others: set[str] = set()  # metrics logged beyond MAX_CHARTS
        self.changed = False  # values not drawn yet
        self.unsaved = False  # drawn since the last full (``image/svg+xml``) bundle
        self.status = run.status

    def extend(self, logged: list[tuple[str, float, int, int]]) -> None:
        """Add the run's logged metrics, in order: by column when every call logged the same
        names in the same order (a training loop), else name by name."""
        self.changed = True
        if countOf(map(_name, logged), logged[0][0]) == len(logged):  # one metric
            self._extend(logged[0][0], logged)
            return
        names_logged = list(map(_name, logged))
        names = list(dict.fromkeys(names_logged))
        width = len(names)
        if len(logged) % width == 0 and all(
            names_logged[i::width].count(name) == len(logged) // width
            for i, name in enumerate(names)
        ):
            for i, name in enumerate(names):
                self._extend(name, logged[i::width])
            return
        by_name: dict[str, list] = {name: [] for name in names}
        for metric in logged:
            by_name[metric[0]].append(metric)
        for name, column in by_name.items():
            self._extend(name, column)

    def _extend(self, name: str, logged: list | tuple) -> None:
        found = self.series.get(name)
        if found is None:
            if len(self.series) >= MAX_CHARTS:
                if len(self.others) < MAX_NAMES:
                    self.others.add(name)
                return
            found = self.series[name] = Series()
        found.extend(logged)

    def bundle(self, image: bool) -> dict[str, str]:
        charts = [s.chart(name) for name, s in self.series.items()]
        return live_card(self.run.info, charts, len(self.others), image=image)


class LiveCharts:
    """The kernel's live cards: ``look`` is ``core.live``'s watcher."""

    def __init__(self) -> None:
        self.cards: dict[str, Card] = {}
        self.cell = 0  # cells started, to tell the current one
        self._lock = threading.Lock()  # a thread logging too: one update at a time

    def look(self) -> None:
        """Called inside ``mlops.log`` when due: update the cards; never raises."""
        try:
            self.update()
        except Exception as exc:  # a display that breaks never stops a training loop
            turn(False)
            warnings.warn(f"jupyter-mlops: live charts turned off: {exc}", stacklevel=4)

    def update(self, *, final: bool = False) -> None:
        """Take what was logged into the cards and draw the ones that changed (``final``: with
        ``image/svg+xml``, the bundle a saved notebook keeps)."""
        if not self._lock.acquire(blocking=False):  # another thread draws: look again later
            live.look_at(monotonic() + INTERVAL)
            return
        try:
            self._take()
            for card in list(self.cards.values()):
                status_changed = card.status != card.run.status
                if card.changed or status_changed or (final and card.unsaved):
                    self._draw(card, final)
        finally:
            live.look_at(monotonic() + INTERVAL)
            self._lock.release()

    def _card(self, run: Any) -> Card:
        card = self.cards.get(run.run_id)
        if card is None:
            card = self.cards[run.run_id] = Card(run)
        return card

    def _take(self) -> None:
        for run, logged in live.take():
            self._card(run).extend(logged)

    def _draw(self, card: Card, final: bool) -> None:
        bundle = card.bundle(image=final)
        if card.cell is None:  # a run started from Python: its card appears at its first value
            display(bundle, raw=True, display_id=card.display_id)
            card.cell = self.cell
        else:
            display(bundle, raw=True, display_id=card.display_id, update=True)
        card.changed, card.unsaved, card.status = False, not final, card.run.status

    def show(self, run: Any) -> None:
        """Show the run's card under this cell (``%mlops track``): every card of a run has its
        display id, so all of them are updated; shown twice in one cell, it is updated instead."""
        with self._lock:
            self._take()
            card = self._card(run)
            bundle = card.bundle(image=bool(card.series))
            if card.cell == self.cell:
                display(bundle, raw=True, display_id=card.display_id, update=True)
            else:
                display(bundle, raw=True, display_id=card.display_id)
                card.cell = self.cell
            card.changed, card.unsaved, card.status = False, False, run.status

    def cell_started(self) -> None:
        self.cell += 1
        # a cell shorter than the interval draws once, at its end: a quick loop pays no draw
        live.look_at(monotonic() + INTERVAL)

    def cell_finished(self, active: list[Any]) -> None:
        """The cell ended: the last values drawn, as a saved notebook keeps them; the cards of
        runs that ended (not in ``active``) are let go."""
        self.update(final=True)
        running = {id(run) for run in active}
        for run_id, card in list(self.cards.items()):
            if id(card.run) not in running:
                del self.cards[run_id]


_charts = LiveCharts()  # the kernel's cards, kept while live charts are turned off and on
charts: LiveCharts | None = None  # the same, while live charts are on


def in_front_end(shell: Any) -> bool:
    """Whether ``shell`` is a kernel with a front end that can update a display."""
    return getattr(shell, "kernel", None) is not None


def turn(on: bool) -> None:
    """Start or stop drawing live charts in this kernel (``MLOpsMagics.live_charts``)."""
    global charts
    charts = _charts if on else None
    live.watch(_charts.look if on else None)


def cell_started() -> None:
    """A cell starts (``pre_run_cell``): counted even while the charts are off."""
    _charts.cell_started()


def cell_finished(active: list[Any]) -> None:
    """A cell ended (``post_run_cell``): its last values drawn while the charts are on; a
    failure turns them off with one warning rather than a traceback after every cell."""
    if charts is None:
        return
    try:
        charts.cell_finished(active)
    except Exception as exc:
        turn(False)
        warnings.warn(f"jupyter-mlops: live charts turned off: {exc}", stacklevel=2)

"""Who watches metrics as they are logged: what ``log`` keeps for a front end that draws them.

While someone watches, ``tracking.log`` adds the ``(name, value, timestamp, step)`` tuples of
every call to ``pending`` (``switch`` first when another run logs) and, once the monotonic clock
has passed ``due``, calls ``look``: the watcher then ``take``s what was logged and says when to
look again (``look_at``). That is a list extend and a clock read per call, with no thread and
no object kept that the garbage collector must scan (a kept container per call made Python's
full collections run in a tight loop, at ten times the cost of the rest). Core knows nothing of
what the watcher does: in a notebook kernel the IPython layer (``magics/live_charts.py``) draws
live charts in the run's card. Nobody watching (plain Python, the CLI, a terminal) costs ``log``
one attribute read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

Metric = tuple[str, float, int, int]  # (name, value, timestamp in ms, step), as ``log`` queues

watching = False
run: Any = None  # the run ``pending`` belongs to
pending: list[Metric] = []
due = math.inf  # when ``log`` calls ``look`` next (``time.monotonic``)
_earlier: list[tuple[Any, list[Metric]]] = []  # what other runs logged before a ``switch``
_watcher: Callable[[], None] | None = None


def watch(watcher: Callable[[], None] | None) -> None:
    """Have ``watcher()`` called from ``log`` when due (at once first); ``None``: nobody
    watches, and nothing is kept. It must be quick and never raise: it runs inside ``log``.

    One watcher at a time: a kernel has one front end drawing its runs' cards.
    """
    global watching, run, pending, due, _watcher
    _watcher, watching, run, pending = watcher, watcher is not None, None, []
    _earlier.clear()
    due = 0.0 if watching else math.inf


def switch(new_run: Any) -> None:
    """Another run logs: what the last one logged is put aside for the watcher."""
    global run, pending
    if pending:
        _earlier.append((run, pending))
    run, pending = new_run, []


def take() -> list[tuple[Any, list[Metric]]]:
    """What each run logged since the watcher last took it, in order; ``pending`` starts
    afresh."""
    global pending
    taken = [*_earlier, (run, pending)] if pending else list(_earlier)
    _earlier.clear()
    pending = []
    return taken


def look_at(when: float) -> None:
    """When ``log`` calls ``look`` next (a ``time.monotonic`` time), while someone watches."""
    global due
    if watching:
        due = when


def look() -> None:
    """``log`` found the watcher due: hand over to it."""
    global due
    due = math.inf  # until the watcher says when (``look_at``): a draw that logs does not recur
    if _watcher is not None:
        _watcher()

"""Who watches metrics as they are logged: what ``log`` keeps for a front end that draws them.

While someone watches, ``tracking.log`` hands the ``(name, value, timestamp, step)`` tuples of
every call of the watched ``run`` to ``sink`` (``switch`` first when another run logs). ``sink``
is ``pending.extend`` (one C call: nothing else per call, not even a clock read) until the
watcher is due: then a timer thread, asleep otherwise, swaps in ``_due``, which extends and calls
the watcher in the logging thread; the watcher ``take``s what was logged and says when to look
again (``look_at``). No object is made per call that the garbage collector must scan (a kept
container per call made Python's full collections run in a tight loop, at ten times the cost of
the rest). Core knows nothing of what the watcher does: in a notebook kernel the IPython layer
(``magics/live_charts.py``) draws live charts in the run's card. Nobody watching (plain Python,
the CLI, a terminal) costs ``log`` one attribute read, and no thread runs.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from time import monotonic
from typing import Any

Metric = tuple[str, float, int, int]  # (name, value, timestamp in ms, step), as ``log`` queues

watching = False
run: Any = None  # the run ``pending`` belongs to (``None`` while nobody watches)
pending: list[Metric] = []  # the one list, for good: ``take`` removes what it copied
_extend = pending.extend
_earlier: list[tuple[Any, list[Metric]]] = []  # what other runs logged before a ``switch``
_watcher: Callable[[], None] | None = None
_deadline = math.inf  # when the timer makes ``sink`` look (``time.monotonic``)
_timer = threading.Condition()  # guards ``_deadline``; wakes the timer thread
_generation = 0  # a timer thread runs while it is the generation that started it


def _due(metrics: list[Metric]) -> None:
    """``sink`` once the watcher is due: keep the values, then hand over to the watcher."""
    _extend(metrics)
    look()


sink: Callable[[list[Metric]], None] = _extend


def watch(watcher: Callable[[], None] | None) -> None:
    """Have ``watcher()`` called from ``log`` when due (at the first value first); ``None``:
    nobody watches, nothing is kept and the timer thread ends. It must be quick and never raise:
    it runs inside ``log``.

    One watcher at a time: a kernel has one front end drawing its runs' cards.
    """
    global watching, run, _watcher, _deadline, _generation, sink
    with _timer:
        _generation += 1
        _watcher, watching, run, _deadline = watcher, watcher is not None, None, math.inf
        sink = _due if watching else _extend  # the first value is shown at once
        del pending[:]
        _earlier.clear()
        _timer.notify_all()  # an earlier generation's thread ends
        if watching:
            threading.Thread(
                target=_wait, args=(_generation,), name="jupyter-mlops-live", daemon=True
            ).start()


def _wait(generation: int) -> None:
    """The timer thread: asleep until the deadline, then ``sink`` looks at the next value."""
    global sink, _deadline
    with _timer:
        while generation == _generation:
            left = _deadline - monotonic()
            if left <= 0:
                sink, _deadline = _due, math.inf  # until the watcher says when (``look_at``)
                continue
            _timer.wait(None if left == math.inf else left)


def switch(new_run: Any) -> None:
    """Another run logs: what the last one logged is put aside for the watcher."""
    global run
    if pending:
        _earlier.append((run, _take_pending()))
    run = new_run


def _take_pending() -> list[Metric]:
    # a copy, then the copied part removed: a thread extending in between adds at the end, so
    # nothing is lost or taken twice (each step is one call the interpreter does not interrupt)
    taken = pending[:]
    del pending[: len(taken)]
    return taken


def take() -> list[tuple[Any, list[Metric]]]:
    """What each run logged since the watcher last took it, in order; ``pending`` is emptied."""
    taken = list(_earlier)
    _earlier.clear()
    if pending:
        taken.append((run, _take_pending()))
    return taken


def look_at(when: float) -> None:
    """When ``log`` calls the watcher next (a ``time.monotonic`` time), while someone watches."""
    global _deadline, sink
    with _timer:
        if watching:
            sink, _deadline = _extend, when
            _timer.notify_all()


def look() -> None:
    """The watcher is due: hand over to it."""
    global sink
    sink = _extend  # until the watcher says when (``look_at``): a draw that logs does not recur
    if _watcher is not None:
        _watcher()


def _forked() -> None:
    """A forked child has no front end of its own (and no timer thread): nobody watches."""
    global watching, run, _watcher, _deadline, _timer, sink
    _timer = threading.Condition()
    watching, run, _watcher, _deadline, sink = False, None, None, math.inf, _extend
    del pending[:]
    _earlier.clear()


os.register_at_fork(after_in_child=_forked)

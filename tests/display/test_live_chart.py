"""The live chart's drawing and bookkeeping in process: inert SVG, odd series, flat memory, and
nothing at all outside a notebook kernel."""

from __future__ import annotations

import math
import os
import re
import threading
from pathlib import Path
from time import monotonic, sleep

from IPython.utils.capture import capture_output

from jupyter_mlops.config import resolve_settings
from jupyter_mlops.core import live
from jupyter_mlops.core.tracking import Run
from jupyter_mlops.display.live_chart import charts_svg, live_card
from jupyter_mlops.magics import live_charts
from jupyter_mlops.magics.live_charts import MAX_CHARTS, MAX_POINTS, LiveCharts, Series

INFO = {
    "run_id": "abc",
    "run_name": "r",
    "experiment": "e",
    "experiment_id": "1",
    "status": "RUNNING",
    "tracking_uri": "sqlite:///x.db",
}


def chart(name: str, values: list[float], steps: list[int] | None = None) -> dict:
    steps = steps or [0] * len(values)
    series = Series()
    for value, step in zip(values, steps, strict=True):  # one log call at a time
        series.extend([(name, value, 0, step)])
    return series.chart(name)


def log(run: Run, metrics: list[tuple[str, float, int, int]]) -> None:
    """What ``tracking.log`` does for a watcher once the values are queued."""
    if live.watching:
        if run is live.run:
            live.sink(metrics)
        elif metrics:
            live.switch(run)
            live.sink(metrics)


def test_names_are_escaped_and_nothing_is_active() -> None:
    hostile = chart("<script>alert(1)</script>", [1.0, 2.0])
    info = {**INFO, "run_name": "<img src=x onerror=alert(1)>"}
    bundle = live_card(info, [hostile], image=True)
    for text in (bundle["text/html"], bundle["image/svg+xml"]):
        assert "<script" not in text and "<img" not in text and "href" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bundle["image/svg+xml"]
    assert "&lt;img src=x onerror=alert(1)&gt;" in bundle["text/html"]


def test_odd_series_draw_what_they_can() -> None:
    flat = chart("flat", [3.0] * 5)
    single = chart("one", [0.5])
    nan_only = chart("nan", [math.nan, math.nan])
    mixed = chart("mixed", [1.0, math.nan, 3.0], steps=[10, 20, 30])
    assert flat["low"] == flat["high"] == 3.0 and flat["x"] == "value"
    assert nan_only["low"] is None and nan_only["points"] == [] and math.isnan(nan_only["last"])
    assert mixed["points"] == [(10, 1.0), (30, 3.0)] and mixed["x"] == "step"
    svg = charts_svg([flat, single, nan_only, mixed], more=2)
    assert svg.count("<polyline") == 3 and "no finite value" in svg
    assert "and 2 more metrics (not drawn)" in svg
    assert "last nan" in svg and "step (3 values)" in svg


def test_memory_stays_flat_over_a_long_loop(tmp_path: Path, _shell) -> None:
    run = Run("abc", "1", "e", "r", resolve_settings(tmp_path))  # a run's card: no store read
    charts = LiveCharts()
    names = [f"m{i}" for i in range(MAX_CHARTS + 3)]
    live.watch(charts.look)
    try:
        with capture_output() as captured:
            for i in range(100_000):
                log(run, [("loss", 1.0 / (i + 1), 0, i)])
            log(run, [(name, 1.0, 0, 0) for name in names])
            charts.update(final=True)
    finally:
        live.watch(None)
    card = charts.cards["abc"]
    series = card.series["loss"]
    assert len(series.points) <= MAX_POINTS and series.count == 100_000
    assert series.low == 1e-5 and series.high == 1.0 and series.last == (100_000, 99_999, 1e-5)
    kept = [p[1] for p in series.points]  # the steps kept: every stride-th, from the first
    assert kept == list(range(0, 99_999, series.stride))[: len(kept)]
    assert len(card.series) == MAX_CHARTS and len(card.others) == 4 and not live.pending
    outputs = captured.outputs
    assert outputs[0].transient == {"display_id": "mlops-run-abc"} and not outputs[0].update
    assert all(o.update for o in outputs[1:]) and "image/svg+xml" in outputs[-1].data
    lines = re.findall(r"<polyline [^>]*points='([^']*)'", outputs[-1].data["image/svg+xml"])
    assert len(lines) == MAX_CHARTS and len(lines[0].split()) <= MAX_POINTS + 1


def test_loops_logging_other_names_are_kept_apart(tmp_path: Path, _shell) -> None:
    # by column when each call logs the same names; name by name when they differ
    run = Run("xyz", "1", "e", "r", resolve_settings(tmp_path))
    card = LiveCharts()._card(run)
    card.extend([m for i in range(500) for m in [("a", float(i), 0, i), ("b", -float(i), 0, i)]])
    card.extend([("a", 1000.0, 0, 500), ("b", math.nan, 0, 500), ("c", 7.0, 0, 0)])
    a, b, c = (card.series[n] for n in "abc")
    assert (a.count, a.low, a.high, a.last) == (501, 0.0, 1000.0, (501, 500, 1000.0))
    assert (b.count, b.low, b.high) == (501, -499.0, 0.0) and math.isnan(b.last[2])
    assert (c.count, c.steps_vary, a.steps_vary) == (1, False, True)
    assert [p[1] for p in a.points] == list(range(0, 501, a.stride))[: len(a.points)]


def test_outside_a_notebook_kernel_nobody_watches(ip) -> None:
    # a terminal IPython (and plain Python) has no display to update: log pays one attribute read
    assert live_charts.charts is None and not live.watching and not live.pending
    assert not live_charts.in_front_end(ip)


def _until(condition, what: str) -> None:
    """Wait for the timer thread (generously: this asserts what happens, not how soon)."""
    deadline = monotonic() + 30
    while not condition():
        assert monotonic() < deadline, what
        sleep(0.005)


def test_log_hands_values_to_the_watcher_only_when_the_timer_says(tmp_path: Path) -> None:
    run = Run("abc", "1", "e", "r", resolve_settings(tmp_path))
    looked: list[tuple[int, list]] = []

    def watcher() -> None:
        looked.append((threading.get_ident(), live.take()))
        live.look_at(monotonic() + 3600)  # not again unless told

    live.watch(watcher)
    try:
        log(run, [("loss", 1.0, 0, 0)])  # the first value is shown at once
        for i in range(1, 1000):  # between looks the sink is the list's own extend: no look
            log(run, [("loss", 1.0, 0, i)])
        assert len(looked) == 1 and len(live.pending) == 999
        assert live.sink == live.pending.extend
        live.look_at(monotonic())  # due now: the timer swaps the sink, the next log looks
        _until(lambda: live.sink != live.pending.extend, "the timer did not fire")
        log(run, [("loss", 2.0, 0, 1000)])
    finally:
        live.watch(None)
    assert [len(taken) for _, taken in looked] == [1, 1]  # one run each time
    thread, ((who, values),) = looked[1]
    assert thread == threading.get_ident() and who is run  # drawn in the logging thread
    assert [v[3] for v in values] == list(range(1, 1001))
    _until(lambda: "jupyter-mlops-live" not in {t.name for t in threading.enumerate()}, "alive")
    assert not live.watching and not live.pending and live.run is None


def test_values_logged_from_a_thread_while_the_watcher_takes_are_all_kept(
    tmp_path: Path,
) -> None:
    run = Run("abc", "1", "e", "r", resolve_settings(tmp_path))
    taken: list = []
    live.watch(lambda: live.look_at(math.inf))
    try:
        log(run, [("x", 0.0, 0, 0)])  # the first value looks at once: the watcher waits
        live.take()

        def logging() -> None:
            for i in range(200_000):
                log(run, [("x", float(i), 0, i)])

        thread = threading.Thread(target=logging)
        thread.start()
        while thread.is_alive():
            taken += [m for _, metrics in live.take() for m in metrics]
        thread.join()
        taken += [m for _, metrics in live.take() for m in metrics]
    finally:
        live.watch(None)
    assert [m[3] for m in taken] == list(range(200_000))  # none lost, none twice, in order


def test_a_forked_child_watches_nothing(tmp_path: Path) -> None:
    run = Run("abc", "1", "e", "r", resolve_settings(tmp_path))
    live.watch(lambda: None)
    try:
        log(run, [("x", 1.0, 0, 0)])
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: no front end, no timer thread, nothing kept
            log(run, [("x", 2.0, 0, 1)])
            os.write(write, repr((live.watching, live.run, len(live.pending))).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as child:
            said = child.read()
        os.waitpid(pid, 0)
    finally:
        live.watch(None)
    assert said == "(False, None, 0)"

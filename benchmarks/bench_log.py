"""Per-call cost of ``mlops.log`` against a raw ``mlflow.log_metric``, on the same sqlite store,
and what the live chart in the run card adds to a notebook's loop.

Peer: ``mlflow.log_metric``, which writes one row per call to the store before returning (about
3 ms on sqlite). ``mlops.log`` queues the values and a background thread writes them in
batches, so the cell does not wait; what is left is flushed at ``end_run``, and that flush is
timed too. Both runs are read back: the script exits 1 if a single value is missing.

Live chart: in a real kernel (nbclient, as Jupyter runs one), loops logging ``--live-steps``
values, one cell each, with the card's chart on and off (``%config MLOpsMagics.live_charts``),
interleaved (off-on, on-off, ...), ``--live-repeats`` times each, so a load on the machine hits
both alike: the loop's wall time, its thread's CPU time and the cell's (to idle, with the draw
at its end). Printed: the median of each mode and two ratios, that of the medians and the
median of each adjacent on/off pair's ratio (goal: the 10,000-value loop at most 1% slower).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path

LIVE_SETUP = [
    "%load_ext jupyter_mlops",
    "%mlops track start -n live-chart --no-autolog",
    """import json
import time

import jupyter_mlops as mlops

def loop(steps):
    # wall time, and this thread's CPU time: the loop's own work, without the time it waits
    # while the background writer (the same in both modes, and noisy) holds the interpreter
    start, cpu = time.perf_counter(), time.thread_time()
    for i in range(steps):
        mlops.log(loss=1.0 / (i + 1), step=i)
    return time.perf_counter() - start, time.thread_time() - cpu

loop(1000)  # warm-up
seconds = {}""",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="calls per tool")
    parser.add_argument(
        "--live-steps",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        help="values per live-chart loop (10,000: the goal's; 100,000: redrawn while it runs)",
    )
    parser.add_argument("--live-repeats", type=int, default=21, help="loops each, on and off")
    parser.add_argument("--live-only", action="store_true", help="only the live chart's case")
    args = parser.parse_args()
    if args.live_only:
        live_chart(args.live_steps, args.live_repeats)
        return
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)

    import mlflow
    from mlflow import MlflowClient

    import jupyter_mlops as mlops

    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # a fresh project: the default embedded store <tmp>/.mlops/mlflow.db
        subprocess.run(["git", "init", "-q"], check=True)

        raw_run = mlops.start_run(experiment="bench-log", run_name="raw", autolog=False)
        mlflow.log_metric("warm-up", 0.0)  # first-call costs are not per-call costs
        start = time.perf_counter()
        for i in range(args.n):
            mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
        raw = (time.perf_counter() - start) / args.n
        mlops.end_run()

        our_run = mlops.start_run(experiment="bench-log", run_name="ours", autolog=False)
        mlops.log(warm_up=0.0)
        start = time.perf_counter()
        for i in range(args.n):
            mlops.log(step=i, loss=1.0 / (i + 1))
        ours = (time.perf_counter() - start) / args.n
        start = time.perf_counter()
        mlops.end_run()  # flushes what the background writer has not written yet
        flush = time.perf_counter() - start

        client = MlflowClient(mlflow.get_tracking_uri())
        stored = {
            name: len(client.get_metric_history(run.run_id, "loss"))
            for name, run in (("raw", raw_run), ("ours", our_run))
        }

    print(f"{'tool':<44}{'per call':>12}")
    print(f"{'mlflow.log_metric (peer)':<44}{raw * 1000:>9.3f} ms")
    print(f"{'mlops.log':<44}{ours * 1000:>9.3f} ms")
    print(f"{'mlops end_run flush (once per run)':<44}{flush * 1000:>9.1f} ms total")
    ratio = raw / max(ours, 1e-9)
    print(
        f"\nmlops.log is {ratio:.0f}x cheaper per call than mlflow.log_metric "
        f"(target >= 10x: {'met' if ratio >= 10 else 'MISSED'}); "
        f"whole {args.n}-call run including the flush: "
        f"{raw * args.n / (ours * args.n + flush):.1f}x faster"
    )
    print(f"values stored: raw {stored['raw']}/{args.n}, ours {stored['ours']}/{args.n}")
    if stored["ours"] != args.n or stored["raw"] != args.n:
        raise SystemExit("values were lost")
    live_chart(args.live_steps, args.live_repeats)


def live_chart(steps: list[int], repeats: int) -> None:
    """Loops of ``mlops.log`` in a real kernel, one cell each, the live chart on and off
    alternately: the loop's own time and the cell's (busy to idle, so the draw at the cell's
    end counts), the median of each."""
    import nbformat
    from _common import clean_env
    from nbclient import NotebookClient

    timed: list[tuple[int, str, int]] = []  # (steps, mode, index of the cell)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in LIVE_SETUP]
    for count in steps:
        for repeat in range(_repeats(count, repeats)):
            for mode in ("off", "on") if repeat % 2 == 0 else ("on", "off"):
                nb.cells.append(  # the last loop's values written first: both start level
                    nbformat.v4.new_code_cell(
                        "mlops.flush()\nget_ipython().run_line_magic("
                        f"'config', 'MLOpsMagics.live_charts = {mode == 'on'}')"
                    )
                )
                timed.append((count, mode, len(nb.cells)))
                key = f"{count}-{mode}"
                nb.cells.append(
                    nbformat.v4.new_code_cell(
                        f"seconds.setdefault('{key}', []).append(loop({count}))"
                    )
                )
    nb.cells += [
        nbformat.v4.new_code_cell("print(json.dumps(seconds))"),
        nbformat.v4.new_code_cell("%mlops track stop"),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["git", "init", "-q"], cwd=tmp, check=True)
        path = Path(tmp) / "live.ipynb"
        nbformat.write(nb, path)
        env = {**clean_env(), "JPY_SESSION_NAME": str(path)}
        client = NotebookClient(
            nb, kernel_name="python3", timeout=1800, resources={"metadata": {"path": tmp}}
        )
        client.execute(env=env)
    loops = json.loads("".join(o.get("text", "") for o in nb.cells[-2].outputs))
    cells: dict[str, list[float]] = {}
    for count, mode, index in timed:
        execution = nb.cells[index].metadata["execution"]
        busy, idle = (
            datetime.fromisoformat(execution[f"iopub.status.{state}"]) for state in ("busy", "idle")
        )
        cells.setdefault(f"{count}-{mode}", []).append((idle - busy).total_seconds())
    print("\nlive chart: loops of mlops.log in a kernel, chart off and on interleaved")
    print(
        f"{'':<32}{'chart off':>12}{'chart on':>12}{'on/off':>10}{'paired':>10}"
        f"{'pairs, middle half':>22}"
    )
    for count in steps:
        times = {
            "loop, wall": {m: [w for w, _ in loops[f"{count}-{m}"]] for m in ("off", "on")},
            "loop, its thread's CPU": {
                m: [c for _, c in loops[f"{count}-{m}"]] for m in ("off", "on")
            },
            "cell to idle, wall": {m: cells[f"{count}-{m}"] for m in ("off", "on")},
        }
        print(f"{count:,} calls, {_repeats(count, repeats)} loops each (medians)")
        paired = {}
        for label, found in times.items():
            off, on = statistics.median(found["off"]), statistics.median(found["on"])
            paired[label], low, high = _paired(found["off"], found["on"])
            print(
                f"  {label:<30}{off * 1000:>9.1f} ms{on * 1000:>9.1f} ms"
                f"{(on / off - 1) * 100:>+9.2f}%{paired[label] * 100:>+9.2f}%"
                f"{low * 100:>+11.2f}% to {high * 100:+.2f}%"
            )
        if count == 10_000:
            for label in ("loop, wall", "loop, its thread's CPU"):
                met = "met" if paired[label] <= 0.01 else "MISSED"
                print(f"  goal, at most 1% more ({label}, paired median): {met}")
    card = [o for o in nb.cells[1].outputs if o.output_type == "display_data"]
    if not card or "image/svg+xml" not in card[0].get("data", {}):
        raise SystemExit("the saved notebook has no chart")


def _paired(off: list[float], on: list[float]) -> tuple[float, float, float]:
    """The median of ``on[i] / off[i] - 1`` and its quartiles (how far one pair can stray):
    each pair ran back to back (in either order), so a load that comes and goes weighs on both
    of a pair alike."""
    ratios = [b / a - 1 for a, b in zip(off, on, strict=True)]
    low, median, high = statistics.quantiles(ratios, n=4)
    return median, low, high


def _repeats(count: int, repeats: int) -> int:
    """Fewer loops of the long ones: each value is also written to sqlite, at ~0.1 ms."""
    return max(3, repeats * 10_000 // count)


if __name__ == "__main__":
    main()

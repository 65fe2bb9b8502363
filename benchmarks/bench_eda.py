"""EDA of a 1M x 20 frame: jupyter_mlops.eda against the pandas summary and ydata-profiling.

Peers: (a) the pandas summary a user would type, ``df.describe(include="all")``,
``df.isna().sum()``, ``df.corr(numeric_only=True)`` and ``df.duplicated().sum()``, in this
environment; (b) ydata-profiling in minimal mode, ``ProfileReport(df, minimal=True)``. ydata
pins ``pandas<3`` and ``numpy<2.4`` (and needs ``pkg_resources``, so ``setuptools<81``), so it
runs in a virtual environment of its own, created on first use under
``~/.cache/jupyter-mlops-bench/ydata-venv`` (``--ydata-venv``); there its frame has pandas 2's
object string columns, here pandas 3's ``str`` columns, so the two frame sizes differ.

Data: ``--rows`` (default 1,000,000) x 20 columns from a fixed seed: 12 float (one with exactly
5% NaN, a few correlated), 4 int (10 to 2e9 distinct values) and 4 string columns of 50 levels
each (two uniform, two skewed); one row in 1,000 repeats an earlier row. Each process generates
the same frame from ``make_frame`` in this file (the ydata process runs this file as a worker)
and reports a fingerprint of it, which the parent compares.

Method: every tool runs in a fresh subprocess, which generates the frame, imports the tool, runs
it once on a 1,000-row frame (one-time imports are no per-call cost), collects garbage, resets
the kernel's peak-RSS mark to the current RSS (Linux: ``5`` written to ``/proc/self/clear_refs``,
so building the frame is not counted), records that RSS as the baseline, runs the tool
``--repeat`` times (ydata ``--ydata-repeat``, default once) and reads
``resource.getrusage(RUSAGE_SELF).ru_maxrss``. Peak extra memory is that peak minus the
baseline: what the tool needs on top of the frame already loaded, compared with the frame's
``memory_usage(deep=True).sum()``. Where the mark cannot be reset the peak includes building the
frame, an upper bound, and the table says so. Seconds are the median over the repeats; for
jupyter-mlops and ydata the computation and the HTML report are timed apart, and the acceptance
lines are judged on the reading less favourable to jupyter-mlops.

Acceptance: at most 2x the pandas summary's time (goal: no slower), at least 10x faster than
ydata-profiling minimal, peak extra memory at most 2x the frame, HTML report at most 2 MB.

Wide frames (``--wide``, default 500, 2,000 and 10,000 columns of ``--wide-rows`` 500 rows, from
``make_wide``: nine in ten columns numeric, one in twenty of those with 10% NaN and one pair in
fifty nearly identical, one in ten a 5-level string): the same method, one tool per fresh
process, the pandas summary beside ``mlops.eda``; printed are the seconds, the HTML's seconds,
peak extra memory and the HTML and JSON sizes. Acceptance at 10,000 columns: at most 30 s with
the HTML, within 2 GiB, HTML at most 5 MB. The script exits 0 whatever
the timings, and 1 if the report's numbers disagree with pandas: mean, std, min, max and median
of every numeric column to a relative 1e-6, missing counts, and duplicate rows.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.util
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

SEED = 0
LEVELS = 50
YDATA_REQUIREMENTS = ["ydata-profiling", "setuptools<81", "psutil"]
MiB = 1 << 20


# -- data: imported by every worker, pandas 2 or 3 --------------------------------------------
def make_frame(rows: int, seed: int = SEED):
    """The benchmark frame (12 float, 4 int, 4 string columns), fixed by ``rows`` and ``seed``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    shared = rng.standard_normal(rows)
    floats = {}
    for i in range(12):
        shape = i % 4
        if shape == 0:
            x = rng.standard_normal(rows) * (i + 1) + i
        elif shape == 1:
            x = rng.lognormal(0.0, 1.0, rows)
        elif shape == 2:
            x = rng.uniform(-100.0, 100.0, rows)
        else:  # a correlated group, so correlations have something to find
            x = 0.8 * shared + 0.2 * rng.standard_normal(rows)
        floats[f"f{i:02d}"] = x
    floats["f00"][rng.choice(rows, rows // 20, replace=False)] = np.nan  # exactly 5%
    ints = {
        "i0": rng.integers(0, 10, rows),
        "i1": rng.integers(0, 1000, rows),
        "i2": rng.poisson(3.0, rows),
        "i3": rng.integers(-(10**9), 10**9, rows),
    }
    skew = 1.0 / np.arange(1, LEVELS + 1)
    codes = {
        "s0": rng.integers(0, LEVELS, rows),
        "s1": rng.integers(0, LEVELS, rows),
        "s2": rng.choice(LEVELS, rows, p=skew / skew.sum()),
        "s3": rng.choice(LEVELS, rows, p=skew[::-1] / skew.sum()),
    }
    if rows >= 2:  # plant duplicate rows: the last 0.1% copy random earlier rows
        n_dup = max(1, rows // 1000)
        src = rng.integers(0, rows - n_dup, n_dup)
        dst = np.arange(rows - n_dup, rows)
        for column in (*floats.values(), *ints.values(), *codes.values()):
            column[dst] = column[src]
    strings = {}
    for name, code in codes.items():
        levels = np.array([f"{name}_level_{j:02d}" for j in range(LEVELS)], dtype=object)
        strings[name] = levels[code]  # pandas 3 infers its str dtype, pandas 2 keeps object
    return pd.DataFrame({**floats, **ints, **strings})


def make_wide(rows: int, cols: int, seed: int = SEED):
    """A wide frame: ``cols`` columns of ``rows`` rows, nine in ten numeric (one in twenty of
    those with 10% NaN, and one pair in fifty nearly identical), one in ten a 5-level string."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_text = cols // 10
    numbers = rng.standard_normal((rows, cols - n_text))
    twins = np.arange(0, numbers.shape[1] - 1, 50)
    numbers[:, twins + 1] = numbers[:, twins] + 0.01 * rng.standard_normal((rows, len(twins)))
    gappy = np.arange(7, numbers.shape[1], 20)
    holes = rng.random((rows, len(gappy))) < 0.1
    numbers[:, gappy] = np.where(holes, np.nan, numbers[:, gappy])
    data = {f"x{j:05d}": numbers[:, j] for j in range(numbers.shape[1])}
    levels = np.array([f"level_{j}" for j in range(5)], dtype=object)
    for j in range(n_text):
        data[f"s{j:05d}"] = levels[rng.integers(0, 5, rows)]
    return pd.DataFrame(data)


def fingerprint(df) -> str:
    """Digest of the frame's values, equal under pandas 2 (object) and 3 (str) strings."""
    import numpy as np

    digest = hashlib.sha256(str(df.shape).encode())
    for name in df.columns:
        s = df[name]
        if s.dtype.kind in "fi":
            values = s.to_numpy(dtype="float64", na_value=np.nan)
            digest.update(f"{name}:{np.isnan(values).sum()}:".encode())
            digest.update(np.nan_to_num(values, nan=0.0).tobytes())
        else:
            counts = s.value_counts().sort_index()
            digest.update(f"{name}:{list(zip(counts.index, counts, strict=True))}".encode())
            digest.update("|".join(s.iloc[:1000].tolist()).encode())
    return digest.hexdigest()[:16]


# -- worker: one tool in a fresh process -------------------------------------------------------
def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # peak RSS := current RSS (Linux 4.0+)
    except OSError:
        return False
    return True


def _rss() -> int:
    try:
        import psutil
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return psutil.Process().memory_info().rss


def _peak() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # KiB elsewhere


def _pandas_summary(df) -> tuple:
    return (
        df.describe(include="all"),
        df.isna().sum(),
        df.corr(numeric_only=True),
        df.duplicated().sum(),
    )


def _stages(tool: str):
    """The timed stages of ``tool``, (label, stage) with stage(df, previous result) -> result."""
    if tool == "pandas":
        return [("summary", lambda df, _: _pandas_summary(df))]
    if tool == "ours":
        import jupyter_mlops

        eda = jupyter_mlops.eda  # AttributeError: not written yet, reported as skipped
        stages = [("eda", lambda df, _: eda(df))]
        if importlib.util.find_spec("jupyter_mlops.display.eda"):  # the HTML view, once written
            stages.append(("html", lambda df, report: report.to_html()))
        return stages
    from ydata_profiling import ProfileReport

    def describe(df, _):
        report = ProfileReport(df, minimal=True, progress_bar=False)
        report.get_description()
        return report

    return [("eda", describe), ("html", lambda df, report: report.to_html())]


def _check(df, report: dict) -> list[str]:
    """Where our report disagrees with pandas (empty when all agree)."""
    wrong = []
    columns = report["columns"]
    for name in df.columns:
        s = df[name]
        got = columns[str(name)]
        if got["missing"] != int(s.isna().sum()):
            wrong.append(f"{name}.missing: {got['missing']} != pandas {int(s.isna().sum())}")
        if s.dtype.kind not in "fi":
            continue
        # relative 1e-6; the absolute floor (1e-12 of the column's scale) only matters for a
        # statistic that is zero up to rounding, where a relative test is meaningless
        floor = 1e-12 * max(abs(float(s.min())), abs(float(s.max())), 1.0)
        for stat in ("mean", "std", "min", "max", "median"):
            want = float(getattr(s, stat)())
            value = got.get(stat)
            if value is None or not math.isclose(value, want, rel_tol=1e-6, abs_tol=floor):
                wrong.append(f"{name}.{stat}: {value!r} != pandas {want!r}")
    want = int(df.duplicated().sum())
    if report["duplicate_rows"] != want:
        wrong.append(f"duplicate_rows: {report['duplicate_rows']!r} != pandas {want}")
    return wrong


def _worker(tool: str, rows: int, repeat: int, cols: int = 0) -> dict:
    warnings.filterwarnings("ignore")
    df = make_wide(rows, cols) if cols else make_frame(rows)
    import pandas as pd

    out: dict = {
        "tool": tool,
        "pandas": pd.__version__,
        "frame_bytes": int(df.memory_usage(deep=True).sum()),
        "fingerprint": fingerprint(df),
    }
    try:
        stages = _stages(tool)
    except (ImportError, AttributeError) as exc:
        return {**out, "skipped": f"{type(exc).__name__}: {exc}"}
    small = make_frame(min(rows, 1000), seed=SEED + 1)
    if cols:  # warm up on a frame wide enough to take the wide path
        small = make_wide(min(rows, 100), min(cols, 300), seed=SEED + 1)
    state = None
    for _, stage in stages:  # warm-up: one-time imports are not per-call costs, for any tool
        state = stage(small, state)
    del small, state
    gc.collect()
    out["peak_reset"] = _reset_peak()
    baseline = _rss()
    times: dict[str, list[float]] = {label: [] for label, _ in stages}
    last = None
    for _ in range(repeat):
        state = None
        for label, stage in stages:
            start = time.perf_counter()
            state = stage(df, state)
            times[label].append(time.perf_counter() - start)
            if label == "eda" and tool == "ours":
                last = state.to_dict()
            if label == "html" and tool == "ours":
                out["html_bytes"] = len(state.encode())
        del state
        gc.collect()
    out["peak_extra_bytes"] = max(_peak() - baseline, 0)
    out["seconds"] = {label: statistics.median(values) for label, values in times.items()}
    if tool == "ours":
        out["json_bytes"] = len(json.dumps(last).encode())
        out["mismatches"] = [] if cols else _check(df, last)
    return out


# -- parent ------------------------------------------------------------------------------------
def _ydata_python(venv: Path) -> str | None:
    """The ydata venv's python, creating the venv on first use; None if it cannot be made."""
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    marker = venv / ".bench-eda-installed"
    if marker.exists() and python.exists():
        return str(python)
    print(f"creating {venv} for ydata-profiling (first use, a few minutes) ...", flush=True)
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *YDATA_REQUIREMENTS],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        subprocess.run([str(python), "-W", "ignore", "-c", "import ydata_profiling"], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        tail = (getattr(exc, "stderr", None) or "").strip().splitlines()[-5:]
        print(f"ydata-profiling unavailable ({exc}); skipping it", *tail, sep="\n  ")
        return None
    marker.write_text(" ".join(YDATA_REQUIREMENTS) + "\n")
    return str(python)


def _run(python: str, tool: str, rows: int, repeat: int, cols: int = 0) -> dict:
    env = {
        **os.environ,
        "YDATA_PROFILING_NO_ANALYTICS": "True",  # no telemetry call from the ydata process
        "MPLBACKEND": "Agg",
        "PYTHONWARNINGS": "ignore",
    }
    command = [python, str(Path(__file__).resolve()), "--worker", tool]
    command += ["--rows", str(rows), "--repeat", str(repeat), "--cols", str(cols)]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n  ".join(done.stderr.strip().splitlines()[-8:])
        return {"tool": tool, "failed": f"exit {done.returncode}\n  {tail}"}
    return json.loads(lines[-1])


def _mib(n: float) -> str:
    return f"{n / MiB:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the 20-column frame")
    parser.add_argument("--repeat", type=int, default=3, help="runs of pandas and jupyter-mlops")
    parser.add_argument("--ydata-repeat", type=int, default=1, help="runs of ydata-profiling")
    parser.add_argument("--skip-ydata", action="store_true", help="leave ydata-profiling out")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    parser.add_argument(
        "--ydata-venv",
        type=Path,
        default=cache / "jupyter-mlops-bench" / "ydata-venv",
        help="virtual environment for ydata-profiling (created on first use)",
    )
    parser.add_argument(
        "--wide",
        default="500,2000,10000",
        help="column counts of the wide frames (comma-separated; empty: none)",
    )
    parser.add_argument("--wide-rows", type=int, default=500, help="rows of the wide frames")
    parser.add_argument("--wide-repeat", type=int, default=1, help="runs on each wide frame")
    parser.add_argument("--skip-long", action="store_true", help="only the wide frames")
    parser.add_argument("--worker", choices=["pandas", "ours", "ydata"], help=argparse.SUPPRESS)
    parser.add_argument("--cols", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, args.rows, args.repeat, args.cols)))
        return 0
    status = 0 if args.skip_long else _long(args)
    widths = [int(c) for c in args.wide.split(",") if c.strip()]
    return max(status, _wide(widths, args.wide_rows, args.wide_repeat))


def _wide(widths: list[int], rows: int, repeat: int) -> int:
    """Wide frames: time, peak memory and the report's size, with ``df.corr()`` beside them."""
    if not widths:
        return 0
    print(f"\nwide frames: {rows:,} rows, 9 in 10 columns numeric, 1 in 10 a 5-level string")
    head = f"{'columns':>8}{'tool':>28}{'seconds':>9}{'+ html s':>9}{'peak extra MiB':>16}"
    print(f"{head}{'HTML MB':>10}{'JSON MB':>10}")
    status = 0
    for cols in widths:
        for tool, label in (("pandas", "pandas summary"), ("ours", "jupyter_mlops.eda")):
            r = _run(sys.executable, tool, rows, repeat, cols)
            if "seconds" not in r:
                print(f"{cols:>8,}{label:>28}  FAILED: {r.get('failed') or r.get('skipped')}")
                status = max(status, 1 if tool == "ours" else 0)
                continue
            seconds = r["seconds"]
            main = seconds.get("eda", seconds.get("summary"))
            html = f"{seconds['html']:.2f}" if "html" in seconds else ""
            line = f"{cols:>8,}{label:>28}{main:>9.2f}{html:>9}{_mib(r['peak_extra_bytes']):>16}"
            if tool == "ours":
                line += f"{r['html_bytes'] / 10**6:>10.2f}{r['json_bytes'] / 10**6:>10.2f}"
                limits = main + seconds.get("html", 0) <= 30 and r["peak_extra_bytes"] <= 2 << 30
                if cols >= 10_000:
                    small = r["html_bytes"] <= 5 * 10**6
                    verdict = "met" if limits and small else "MISSED"
                    line += f"  (<= 30 s, <= 2 GiB, HTML <= 5 MB: {verdict})"
            print(line, flush=True)
    return status


def _long(args) -> int:
    """The 1M x 20 frame against the pandas summary and ydata-profiling."""

    print(f"frame: {args.rows:,} rows x 20 columns; each tool in a fresh process", flush=True)
    results = {
        "pandas": _run(sys.executable, "pandas", args.rows, args.repeat),
        "ours": _run(sys.executable, "ours", args.rows, args.repeat),
    }
    if not args.skip_ydata:
        python = _ydata_python(args.ydata_venv)
        if python:
            results["ydata"] = _run(python, "ydata", args.rows, args.ydata_repeat)

    ok = {k: r for k, r in results.items() if "seconds" in r}
    for key, r in results.items():
        if "failed" in r:
            print(f"{key}: FAILED: {r['failed']}")
        elif "skipped" in r:
            print(f"{key}: skipped, not available yet: {r['skipped']}")
    ours = ok.get("ours", {}).get("seconds")
    labels = {
        ("pandas", "summary"): "pandas summary (describe, isna, corr, duplicated)",
        ("ours", "eda"): "jupyter_mlops.eda(df)",
        ("ours", "html"): "  + report.to_html()",
        ("ydata", "eda"): "ydata-profiling minimal: get_description()",
        ("ydata", "html"): "  + report.to_html()",
    }
    print(f"\n{'tool':<52}{'seconds':>9}{'x ours':>9}{'peak extra MiB':>16}{'x frame':>9}")
    for (key, stage), label in labels.items():
        if stage not in ok.get(key, {}).get("seconds", {}):
            continue
        r = ok[key]
        seconds = r["seconds"][stage]
        mine = ours and ours.get("html" if stage == "html" else "eda")
        line = f"{label:<52}{seconds:>9.2f}{f'{seconds / mine:.2f}' if mine else '':>9}"
        if stage != "html":  # one peak per process, over all its stages and repeats
            extra = r["peak_extra_bytes"]
            flag = "" if r["peak_reset"] else "  (includes building the frame)"
            line += f"{_mib(extra):>16}{extra / r['frame_bytes']:>9.2f}{flag}"
        print(line)
    print()
    for key, r in ok.items():
        print(
            f"frame in the {key} process: {_mib(r['frame_bytes'])} MiB "
            f"(pandas {r['pandas']}), fingerprint {r['fingerprint']}"
        )
    if len({r["fingerprint"] for r in ok.values()}) > 1:
        print("WARNING: the processes generated different frames; the comparison is unfair")

    status = 1 if "failed" in results["ours"] else 0
    if ours is None:
        return status
    html = "html" in ours
    total = ours["eda"] + ours.get("html", 0.0)
    print(f"\nacceptance ({args.rows:,} x 20; judged {'with' if html else 'without'} the HTML):")
    if "pandas" in ok:
        summary = ok["pandas"]["seconds"]["summary"]
        ratio = total / summary
        verdict = "met" if ratio <= 2 else "MISSED"
        goal = ", goal (no slower) met too" if ratio <= 1 else ""
        both = f" ({ratio:.2f}x with HTML)" if html else ""
        print(
            f"  time vs the pandas summary: {ours['eda'] / summary:.2f}x{both}, "
            f"limit 2x: {verdict}{goal}"
        )
    if "ydata" in ok:
        theirs = ok["ydata"]["seconds"]
        faster = theirs["eda"] / ours["eda"]
        with_html = (theirs["eda"] + theirs["html"]) / total if html else faster
        both = f" ({with_html:.1f}x with HTML)" if html else ""
        verdict = "met" if min(faster, with_html) >= 10 else "MISSED"
        print(f"  faster than ydata-profiling minimal: {faster:.1f}x{both}, need 10x: {verdict}")
    mine = ok["ours"]
    peak = mine["peak_extra_bytes"] / mine["frame_bytes"]
    verdict = "met" if peak <= 2 else "MISSED"
    print(f"  peak extra memory: {peak:.2f}x the frame, limit 2x: {verdict}")
    if "html_bytes" in mine:
        size = mine["html_bytes"]
        verdict = "met" if size <= 2 * 10**6 else "MISSED"
        print(
            f"  report size: HTML {size / 10**6:.2f} MB (limit 2 MB: {verdict}), "
            f"JSON {mine['json_bytes'] / 10**6:.2f} MB"
        )
    if mine["mismatches"]:
        status = 1
        print("\nreport DISAGREES with pandas:", *mine["mismatches"], sep="\n  ")
    else:
        print("\nreport agrees with pandas: mean, std, min, max, median, missing, duplicate rows")
    return status


if __name__ == "__main__":
    sys.exit(main())

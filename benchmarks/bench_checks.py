"""``mlops.check`` on 1M rows x 20 columns against the same diagnostics run by hand, and the
planted-violation battery's detection and false-alarm rates.

Peer: what a user otherwise writes in a notebook with statsmodels on all rows: an OLS fit,
Ramsey's RESET, Breusch-Pagan (White's test with 20 features needs a 1M x 230 auxiliary
design, which a user would not attempt), Jarque-Bera, Durbin-Watson and a loop of
``variance_inflation_factor`` calls; plus ``df.isna().mean()`` and ``df.duplicated()``.
That gives p-values only, no verdicts, and on a million rows every test rejects.

Targets: 1M x 20 in at most 5 s; at least 95% of planted violations flagged and at most 10%
false alarms on clean data (tests/planted.py, the same battery the test suite runs).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def frame(n: int, p: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p - 1))
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(p - 1)])
    df["y"] = x[:, :5] @ np.array([1.0, 0.8, -0.6, 0.5, 0.3]) + rng.normal(size=n)
    return df


def by_hand(df) -> dict[str, float]:
    """The diagnostics a user would run themselves with statsmodels, on every row."""
    import statsmodels.api as sm
    from statsmodels.stats.diagnostic import het_breuschpagan, linear_reset
    from statsmodels.stats.outliers_influence import variance_inflation_factor
    from statsmodels.stats.stattools import durbin_watson, jarque_bera

    df.isna().mean()
    df.duplicated().sum()
    exog = sm.add_constant(df.drop(columns="y").to_numpy())
    fit = sm.OLS(df["y"].to_numpy(), exog).fit()
    out = {
        "reset_p": float(linear_reset(fit, power=3, use_f=True).pvalue),
        "bp_p": float(het_breuschpagan(fit.resid, exog)[1]),
        "jb_p": float(jarque_bera(fit.resid)[1]),
        "dw": float(durbin_watson(fit.resid)),
    }
    out["max_vif"] = max(variance_inflation_factor(exog, i) for i in range(1, exog.shape[1]))
    return out


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=20, help="seeds of the planted battery")
    parser.add_argument("--skip-peer", action="store_true", help="skip the by-hand statsmodels")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    import statsmodels.api  # noqa: F401  (imports are not part of the timings)

    from jupyter_mlops.core.stats.checks import check
    from tests.planted import score

    df = frame(args.rows, args.columns)
    check(df.iloc[:2000], "y")  # warm-up: first-call imports
    ours, report = timed(lambda: check(df, "y"), args.repeat)
    print(f"data: {args.rows:,} rows x {args.columns} columns (19 features + regression target)")
    print(f"{'tool':<52}{'median s':>10}")
    print(f"{'mlops.check (verdicts, residual checks on 10k)':<52}{ours:>10.2f}")
    counts = report.counts()
    print(f"  verdicts: {counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail")
    if not args.skip_peer:
        peer, found = timed(lambda: by_hand(df), 1)
        print(f"{'statsmodels by hand on all rows (p-values only)':<52}{peer:>10.2f}")
        print(f"  ratio: mlops.check takes {ours / peer:.2f}x the by-hand time")
        print(f"  by hand on clean data: {', '.join(f'{k}={v:.3g}' for k, v in found.items())}")

    for n in (300, 1000):
        start = time.perf_counter()
        result = score(range(args.seeds), n)
        took = time.perf_counter() - start
        print(
            f"planted battery, {n} rows, {args.seeds} seeds: detected "
            f"{result['detection_rate']:.1%} of {result['planted']} violations, false alarms on "
            f"{result['false_alarm_rate']:.1%} of {result['clean']} clean sets ({took:.1f} s)"
        )
        for miss in result["misses"][:10]:
            print(f"  missed: {miss}")
        for alarm in result["false_alarms"][:10]:
            print(f"  false alarm: {alarm}")
        if n == 1000:
            battery_ok = result["detection_rate"] >= 0.95 and result["false_alarm_rate"] <= 0.10
    ok = ours <= 5.0 and counts["fail"] == 0 and battery_ok
    print(f"{'PASS' if ok else 'FAIL'}: 1M x 20 in <= 5 s, clean data not failed, battery targets")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

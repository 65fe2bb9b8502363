"""``mlops.check`` on 1M rows x 20 columns against the same diagnostics run by hand, and the
planted-violation battery's detection and false-alarm rates.

Peer: what a user otherwise writes in a notebook with statsmodels on all rows: an OLS fit,
Ramsey's RESET, Breusch-Pagan (White's test with 20 features needs a 1M x 230 auxiliary
design, which a user would not attempt), Jarque-Bera, Durbin-Watson and a loop of
``variance_inflation_factor`` calls; plus ``df.isna().mean()`` and ``df.duplicated()``.
That gives p-values only, no verdicts, and on a million rows every test rejects.

A wide frame (500 rows x 10,000 noise columns, the target depending on five of them) times
the checks where an OLS fit is impossible (p > n); its peer is what a user would run by hand
there: ``df.isna()``, ``df.duplicated()`` and Spearman's rho of every column with the target
(``df.corrwith(y, method="spearman")``). The HTML report's size is printed for both frames.

Targets: 1M x 20 in at most 5 s; 500 x 10,000 in at most 30 s with no verdict but the sample
size's (every other check passes or is skipped with its reason); at least 95% of planted
violations flagged and at most 10% false alarms on clean data (tests/planted.py, the same
battery the test suite runs).
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


def wide_by_hand(df) -> None:
    """What a user runs by hand on a frame wider than it is long (no OLS fit exists)."""
    df.isna().mean()
    df.duplicated().sum()
    df.drop(columns="y").corrwith(df["y"], method="spearman")


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def arguments() -> argparse.Namespace:
    """The options of both halves (regression and classification), parsed once each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=20, help="seeds of the planted battery")
    parser.add_argument("--skip-peer", action="store_true", help="skip the by-hand statsmodels")
    parser.add_argument("--wide-rows", type=int, default=500)
    parser.add_argument("--wide-columns", type=int, default=10_000)
    return parser.parse_args()


def main() -> int:
    args = arguments()
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

    print(f"  HTML report: {len(report.to_html(full_page=True)) / 1024:.1f} KiB")

    wide = frame(args.wide_rows, args.wide_columns + 1, seed=1)
    took_wide, wide_report = timed(lambda: check(wide, "y"), 1)
    print(f"data: {args.wide_rows:,} rows x {args.wide_columns:,} feature columns (p > n)")
    print(f"{'mlops.check (verdicts, OLS checks skipped with reasons)':<52}{took_wide:>10.2f}")
    wide_flags = {c.id: c.verdict for c in wide_report.checks if c.verdict != "pass"}
    print(f"  not passed: {wide_flags}; skipped: {len(wide_report.skipped)} with reasons")
    print(f"  HTML report: {len(wide_report.to_html(full_page=True)) / 1024:.1f} KiB")
    if not args.skip_peer:
        peer_wide, _ = timed(lambda: wide_by_hand(wide), 1)
        print(f"{'pandas by hand (isna, duplicated, Spearman per column)':<52}{peer_wide:>10.2f}")
    wide_ok = took_wide <= 30.0 and set(wide_flags) <= {"sample_size"}

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
    ok = ours <= 5.0 and counts["fail"] == 0 and battery_ok and wide_ok
    print(
        f"{'PASS' if ok else 'FAIL'}: 1M x 20 in <= 5 s, clean data not failed, "
        "wide frame in <= 30 s with no false alarm, battery targets"
    )
    return 0 if ok else 1


# -- classification ----------------------------------------------------------------------------
def logistic_frame(n: int, p: int, seed: int = 0, bend: str | None = None):
    """``p - 1`` standard-normal features and a binary target drawn from a logistic model on the
    first five (``bend``: "square" adds 0.6 (x0² - 1) to the logit, "log" makes it linear in
    log x0 with x0 lognormal)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p - 1))
    eta = x[:, :5] @ np.array([1.0, 0.8, -0.6, 0.5, 0.3])
    if bend == "square":
        eta = eta + 0.6 * (x[:, 0] ** 2 - 1)
    if bend == "log":
        x[:, 0] = rng.lognormal(size=n)
        eta = 1.5 * np.log(x[:, 0]) + x[:, 1:5] @ np.array([0.8, -0.6, 0.5, 0.3])
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(p - 1)])
    df["y"] = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return df


def classifier_by_hand(df) -> dict[str, float]:
    """What a user writes for a classifier with statsmodels on every row: a logit fit, a
    Box-Tidwell likelihood ratio, GLM influence (Cook's distance), Hosmer-Lemeshow in deciles
    and the Brier score. P-values only: on a million rows every one rejects what it can."""
    import numpy as np
    import pandas as pd
    import statsmodels.api as sm
    from scipy.stats import chi2

    x = df.drop(columns="y").to_numpy()
    y = df["y"].to_numpy(dtype=float)
    exog = sm.add_constant(x)
    fit = sm.Logit(y, exog).fit(disp=0)
    shifted = x - x.min(axis=0) + 1
    augmented = sm.Logit(y, np.column_stack([exog, shifted * np.log(shifted)])).fit(disp=0)
    lr = 2 * (augmented.llf - fit.llf)
    glm = sm.GLM(y, exog, family=sm.families.Binomial()).fit()
    cooks = glm.get_influence().cooks_distance[0]
    p = fit.predict(exog)
    groups = pd.DataFrame({"p": p, "y": y}).groupby(pd.qcut(p, 10, labels=False))
    observed, expected, n = groups["y"].sum(), groups["p"].sum(), groups.size()
    hl = float(np.sum((observed - expected) ** 2 / (expected * (1 - expected / n))))
    return {
        "box_tidwell_p": float(chi2.sf(lr, x.shape[1])),
        "max_cooks": float(cooks.max()),
        "hosmer_lemeshow_p": float(chi2.sf(hl, 8)),
        "brier": float(np.mean((y - p) ** 2)),
    }


def classifier_rates(seeds: int, n: int) -> tuple[float, dict[str, float]]:
    """False alarms of the classifier checks on clean logistic data, and how often each
    planted bend is flagged by the linearity of the logit check."""
    from jupyter_mlops.core.stats import classifier_checks

    def flagged(df) -> set[str]:
        features = [c for c in df.columns if c != "y"]
        checks, _, _ = classifier_checks.run(df, "y", features, features, None, 0.05)
        return {c.id for c in checks if c.verdict != "pass"}

    alarms = sum(bool(flagged(logistic_frame(n, 6, 1000 + s))) for s in range(seeds))
    found = {
        bend: sum("logit_linearity" in flagged(logistic_frame(n, 6, s, bend)) for s in range(seeds))
        / seeds
        for bend in ("square", "log")
    }
    return alarms / seeds, found


def classification() -> int:
    """``mlops.check`` on a 1M-row binary target against the by-hand diagnostics, with and
    without a model, and the classifier checks' false-alarm and detection rates.

    Targets: 1M x 20 in at most 5 s (with a model too); false alarms on clean logistic data
    no more than a 5% rate (the shared alpha) explains: at most the binomial 99th percentile
    of five times ``--seeds`` sets; each planted bend flagged in at least 95% of 1,000-row sets."""
    args = arguments()
    warnings.filterwarnings("ignore")
    from sklearn.linear_model import LogisticRegression

    from jupyter_mlops.core.stats.checks import check

    df = logistic_frame(args.rows, args.columns)
    check(df.iloc[:2000], "y")  # warm-up: first-call imports
    ours, report = timed(lambda: check(df, "y"), args.repeat)
    features = [c for c in df.columns if c != "y"]
    model = LogisticRegression(max_iter=1000).fit(df[features].iloc[:50_000], df["y"][:50_000])
    with_model, model_report = timed(lambda: check(df, "y", model=model), args.repeat)
    print(f"\ndata: {args.rows:,} rows x {args.columns} columns (binary target, logistic)")
    print(f"{'tool':<52}{'median s':>10}")
    print(f"{'mlops.check (verdicts, classifier checks on 10k)':<52}{ours:>10.2f}")
    print(f"{'mlops.check model= (predict_proba on 10k)':<52}{with_model:>10.2f}")
    counts, model_counts = report.counts(), model_report.counts()
    print(f"  verdicts: {counts['pass']} pass, {counts['warn']} warn, {counts['fail']} fail")
    if not args.skip_peer:
        peer, found = timed(lambda: classifier_by_hand(df), 1)
        print(f"{'statsmodels by hand on all rows (p-values only)':<52}{peer:>10.2f}")
        print(f"  ratio: mlops.check takes {ours / peer:.2f}x the by-hand time")
        print(f"  by hand on clean data: {', '.join(f'{k}={v:.3g}' for k, v in found.items())}")
    from scipy.stats import binom

    rates_ok, seeds = True, 5 * args.seeds  # a set takes ~0.1 s: more seeds, a tighter bound
    bound = binom.ppf(0.99, seeds, 0.05) / seeds
    for n in (300, 1000):
        start = time.perf_counter()
        false_alarms, detected = classifier_rates(seeds, n)
        took = time.perf_counter() - start
        bends = ", ".join(f"{bend} {rate:.0%}" for bend, rate in detected.items())
        print(
            f"classifier checks, {n} rows, {seeds} seeds: false alarms on clean logistic "
            f"data {false_alarms:.1%} (bound {bound:.0%}); bends in the logit flagged: {bends} "
            f"({took:.1f} s)"
        )
        if n == 1000:
            rates_ok = false_alarms <= bound and min(detected.values()) >= 0.95
    fails = counts["fail"] + model_counts["fail"]
    ok = max(ours, with_model) <= 5.0 and fails == 0 and rates_ok
    verdict = "PASS" if ok else "FAIL"
    print(f"{verdict}: classification 1M x 20 in <= 5 s, clean data not failed, rates")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(max(main(), classification()))

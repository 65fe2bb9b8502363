"""Each column's drift: a two-sample test and the population stability index (PSI).

Numbers get PSI over the reference's deciles (the outer bins open-ended, so values beyond the
reference's range still count) and two tests, combined by Bonferroni into the column's p-value:
Kolmogorov-Smirnov on the values present, and the chi-square test of homogeneity on the very
bins PSI reads (missing values a bin), the test PSI approximates (PSI * n1*n2/(n1+n2) is about
chi-square with bins - 1 df), so whatever moves PSI (a change of spread, of the missing share)
has a test of its own. Levels get the chi-square test and PSI over the levels, rare levels
merged into one "other" level so the expected counts are not tiny. Missing values are a bin of
their own; empty bins count as a share of 0.0001.
"""

from __future__ import annotations

import functools
import math
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from .column_profile import HIGH_CARDINALITY_SHARE

EPS = 1e-4  # the share given to an empty bin, so PSI stays finite
DECILES = np.linspace(0.1, 0.9, 9)
MIN_EXPECTED = 5.0  # expected count a level needs in both frames to stay a level of its own
MAX_LEVELS = 50  # levels kept at most; the rarer ones join "other"
SCIPY_KS_MAX = 100_000  # values a side up to which the KS p-value is scipy's own

UNCOUNTABLE = "its values cannot be counted (unhashable cells such as lists or dicts)"
OTHER = "(other)"
NEW = "(new levels)"
MISSING = "(missing)"


def column_drift(
    ref: pd.Series, cur: pd.Series, kind: str, alpha: float = 0.05
) -> dict[str, Any] | str:
    """The tests, PSI and bins of one column; instead, the reason it has no levels to count.

    ``psi_chance`` is the PSI that samples of these sizes without any drift exceed with
    probability ``alpha`` (chi-square approximation, an underestimate below ~100 rows a side):
    when it is above the major threshold, the samples cannot tell a major shift from chance.
    """
    if kind == "numeric":
        out = _numeric(_floats(ref), _floats(cur))
    else:
        levels = _levels(ref, cur)
        if isinstance(levels, str):
            return levels
        out = {**levels, "kind": kind}
    bins = out["bins"]
    used = sum(1 for p, q in zip(bins["reference"], bins["current"], strict=True) if p or q)
    out["psi_chance"] = psi_chance(used, len(ref), len(cur), alpha)
    return out


@functools.lru_cache(maxsize=1024)
def psi_chance(bins: int, n_reference: int, n_current: int, alpha: float) -> float:
    """The (1 - alpha) quantile of PSI without drift: chi2(bins - 1) * (1/n1 + 1/n2)."""
    from scipy.stats import chi2

    if bins < 2:
        return 0.0
    return float(chi2.isf(alpha, bins - 1) * (1 / n_reference + 1 / n_current))


def bonferroni(p_values: list[float | None]) -> float | None:
    """One p-value for a column from its tests: the smallest times their number, at most 1."""
    present = [p for p in p_values if p is not None]
    return min(1.0, len(present) * min(present)) if present else None


def binned_chi2(ref_counts: np.ndarray, cur_counts: np.ndarray) -> dict[str, Any] | None:
    """The chi-square test of homogeneity on two count rows (bins empty in both dropped); None
    with fewer than two bins.

    Equal to scipy's ``chi2_contingency``, which is called for one degree of freedom (where it
    applies Yates' correction); above, Pearson's statistic is the four lines below and the
    p-value scipy's ``chdtrc``, because ``chi2_contingency``'s wrappers cost a millisecond a
    call, 10 s on a frame of 10,000 columns.
    """
    used = (ref_counts + cur_counts) > 0
    if used.sum() < 2 or ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return None
    observed = np.array([ref_counts[used], cur_counts[used]], dtype="float64")
    df = observed.shape[1] - 1
    if df == 1:
        from scipy.stats import chi2_contingency

        result = chi2_contingency(observed)
        return {"statistic": float(result.statistic), "df": 1, "p_value": float(result.pvalue)}
    from scipy.special import chdtrc

    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    statistic = float(((observed - expected) ** 2 / expected).sum())
    return {"statistic": statistic, "df": df, "p_value": float(chdtrc(df, statistic))}


def _floats(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        s = s.dt.total_seconds()
    if s.dtype == np.float64:
        return s.to_numpy()
    return s.to_numpy(dtype="float64", na_value=np.nan)


def _numeric(ref: np.ndarray, cur: np.ndarray) -> dict[str, Any]:
    # sorted once: the KS statistic, the deciles and the bin counts all read sorted values
    r, c = np.sort(ref[~np.isnan(ref)]), np.sort(cur[~np.isnan(cur)])
    statistic = ks_p = None
    if len(r) and len(c):
        statistic, ks_p = ks(r, c, presorted=True)
    edges = decile_edges(r)
    ref_counts = binned_counts(r, edges, len(ref) - len(r))
    cur_counts = binned_counts(c, edges, len(cur) - len(c))
    labels = _bin_labels(edges)
    if ref_counts[-1] == 0 and cur_counts[-1] == 0:  # no missing values: no missing bin
        ref_counts, cur_counts = ref_counts[:-1], cur_counts[:-1]
    else:
        labels.append(MISSING)
    binned = binned_chi2(ref_counts, cur_counts)
    return {
        "kind": "numeric",
        "test": "ks+chi2",
        "statistic": statistic,
        "p_value": bonferroni([ks_p, binned and binned["p_value"]]),
        "tests": {"ks": {"statistic": statistic, "p_value": ks_p}, "chi2": binned},
        "psi": psi(ref_counts, cur_counts),
        "infinite_reference": _share(int(np.isinf(r).sum()), len(ref)),
        "infinite_current": _share(int(np.isinf(c).sum()), len(cur)),
        "missing_reference": _share(len(ref) - len(r), len(ref)),
        "missing_current": _share(len(cur) - len(c), len(cur)),
        "reference": _summary(r),
        "current": _summary(c),
        "bins": _bins(labels, ref_counts, cur_counts),
    }


def ks(reference: np.ndarray, current: np.ndarray, presorted: bool = False) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value.

    Up to 100,000 values a side this is scipy's ``ks_2samp`` (exact p for small samples).
    Above, scipy's p-value costs up to half a second per column (an exact one-sample sum over
    hundreds of thousands of terms), so the same statistic gets the limiting Kolmogorov
    distribution with Stephens' finite-sample correction, within 0.3% of scipy's for p-values
    from 0.001 to 0.5.
    """
    if max(len(reference), len(current)) <= SCIPY_KS_MAX:
        from scipy.stats import ks_2samp

        result = ks_2samp(reference, current)
        return float(result.statistic), float(result.pvalue)
    from scipy.stats import kstwobign

    a, b = (reference, current) if presorted else (np.sort(reference), np.sort(current))
    n, m = len(a), len(b)
    # both empirical CDFs at every observed value (right-continuous; ties counted)
    d_at_a = np.abs(_right_ranks(a) / n - np.searchsorted(b, a, "right") / m).max()
    d_at_b = np.abs(np.searchsorted(a, b, "right") / n - _right_ranks(b) / m).max()
    d = float(max(d_at_a, d_at_b))
    en = math.sqrt(n * m / (n + m))
    p = float(kstwobign.sf((en + 0.12 + 0.11 / en) * d))
    return d, min(max(p, 0.0), 1.0)


def _right_ranks(v: np.ndarray) -> np.ndarray:
    """``np.searchsorted(v, v, "right")`` for sorted ``v``, in one linear pass."""
    starts = np.flatnonzero(v[1:] != v[:-1]) + 1  # where a new value begins
    ends = np.append(starts, len(v))  # one past the last copy of each distinct value
    run = np.zeros(len(v), dtype=np.int64)
    run[starts] = 1
    return ends[np.cumsum(run)]


def decile_edges(sorted_values: np.ndarray) -> np.ndarray:
    """PSI's bin edges: the distinct deciles of the finite values (sorted, no NaN). Public so
    that the training reference kept at promotion bins its columns exactly as drift does."""
    r = sorted_values
    finite = r[np.searchsorted(r, -np.inf, "right") : np.searchsorted(r, np.inf, "left")]
    return np.unique(np.quantile(finite, DECILES)) if len(finite) else np.array([])


def binned_counts(sorted_values: np.ndarray, edges: np.ndarray, missing: int) -> np.ndarray:
    """Counts in the bins (-inf, e1], (e1, e2], ..., (ek, inf), then the missing count."""
    ends = np.searchsorted(sorted_values, edges, "right")  # values <= each edge
    counts = np.diff(np.concatenate([[0], ends, [len(sorted_values)]]))
    return np.append(counts, missing)


def _bin_labels(edges: Any) -> list[str]:
    e = [f"{x:.4g}" for x in edges]
    if not e:
        return ["all values"]
    return [f"≤ {e[0]}", *(f"{a} to {b}" for a, b in pairwise(e)), f"> {e[-1]}"]


@np.errstate(invalid="ignore", over="ignore")
def _summary(values: np.ndarray) -> dict[str, float | None]:
    if len(values) == 0:
        return {"mean": None, "median": None, "std": None}
    std = float(np.std(values, ddof=1)) if len(values) > 1 else None
    return {"mean": float(np.mean(values)), "median": float(np.median(values)), "std": std}


def _levels(ref: pd.Series, cur: pd.Series) -> dict[str, Any] | str:
    """Chi-square and PSI over the levels; a reason instead when there are no levels to count
    (unhashable cells such as lists, or an identifier whose every value is new)."""
    n_r = len(ref)
    try:  # one factorize over both frames: the levels line up without an index join
        codes, uniques = pd.factorize(pd.concat([ref, cur], ignore_index=True))
    except TypeError:  # unhashable cells
        return UNCOUNTABLE
    ref_codes, cur_codes = codes[:n_r], codes[n_r:]
    k = len(uniques)
    r_counts = np.bincount(ref_codes[ref_codes >= 0], minlength=k)
    c_counts = np.bincount(cur_codes[cur_codes >= 0], minlength=k)
    n_levels_r, n_levels_c = int((r_counts > 0).sum()), int((c_counts > 0).sum())
    if n_levels_r > MAX_LEVELS and n_levels_r > HIGH_CARDINALITY_SHARE * (ref_codes >= 0).sum():
        return (
            f"nearly every value is distinct ({n_levels_r:,} levels in {n_r:,} reference rows: "
            "an identifier or free text), so no level recurs often enough to compare"
        )
    names = np.asarray(uniques, dtype=object)
    is_new = (r_counts == 0) & (c_counts > 0)
    new_rows = int(c_counts[is_new].sum())
    missing_r, missing_c = int((ref_codes < 0).sum()), int((cur_codes < 0).sum())
    if missing_r or missing_c:
        names = np.append(names, np.array([MISSING], dtype=object))
        r_counts = np.append(r_counts, missing_r)
        c_counts = np.append(c_counts, missing_c)
    labels, r_counts, c_counts, merged = _merge_rare(names, r_counts, c_counts, n_r, len(cur))
    test = binned_chi2(r_counts, c_counts)
    return {
        "test": "chi2",
        "statistic": test and test["statistic"],
        "p_value": test and test["p_value"],
        "tests": {"chi2": test},
        "psi": psi(r_counts, c_counts),
        "missing_reference": _share(missing_r, n_r),
        "missing_current": _share(missing_c, len(cur)),
        "n_levels_reference": n_levels_r,
        "n_levels_current": n_levels_c,
        "new_levels": int(is_new.sum()),
        "new_levels_share": _share(new_rows, len(cur)),
        "merged_levels": merged,
        "bins": _bins(labels, r_counts, c_counts),
    }


def _merge_rare(
    names: np.ndarray, r: np.ndarray, c: np.ndarray, n_r: int, n_c: int
) -> tuple[list[Any], np.ndarray, np.ndarray, int]:
    """Fold levels whose expected count is under 5 in either frame into "other" levels.

    Rare levels the reference never had go to a "(new levels)" bucket of their own, so a
    column whose current values are all unseen still shows as a change. Returns the labels,
    the two count rows and how many levels were folded.
    """
    total = r + c
    order = np.argsort(-total, kind="stable")
    expected = total * (min(n_r, n_c) / (n_r + n_c))  # the smaller of the two expected counts
    keep = [int(i) for i in order[expected[order] >= MIN_EXPECTED][:MAX_LEVELS]]
    rest = np.ones(len(total), dtype=bool)
    rest[keep] = False
    old = [int(i) for i in order[rest[order] & (r[order] > 0)]]
    new = [int(i) for i in order[rest[order] & (r[order] == 0)]]

    def small(bucket: list[int]) -> bool:
        return bool(bucket) and float(expected[bucket].sum()) < MIN_EXPECTED

    if small(new):
        old, new = old + new, []
    while small(old) and len(keep) > 1:
        old.append(keep.pop())  # "other" itself too small: fold the smallest kept level in
    labels = [_jsonable(names[i]) for i in keep]
    r_out, c_out = [int(r[i]) for i in keep], [int(c[i]) for i in keep]
    for bucket, label in ((old, OTHER), (new, NEW)):
        if bucket:
            labels.append(_jsonable(names[bucket[0]]) if len(bucket) == 1 else label)
            r_out.append(int(r[bucket].sum()))
            c_out.append(int(c[bucket].sum()))
    merged = sum(len(b) for b in (old, new) if len(b) > 1)
    return labels, np.array(r_out, dtype="int64"), np.array(c_out, dtype="int64"), merged


def psi(reference_counts: Any, current_counts: Any) -> float:
    """Population stability index of two count vectors over the same bins.

    ``sum((q - p) * ln(q / p))`` with ``p``, ``q`` the reference and current shares; an empty
    bin's share counts as 0.0001 so the index stays finite.
    """
    r = np.asarray(reference_counts, dtype="float64")
    c = np.asarray(current_counts, dtype="float64")
    if r.sum() == 0 or c.sum() == 0:
        return 0.0
    p, q = r / r.sum(), c / c.sum()
    p, q = np.where(p == 0, EPS, p), np.where(q == 0, EPS, q)
    return float(np.sum((q - p) * np.log(q / p)))


def _bins(labels: list[Any], r: np.ndarray, c: np.ndarray) -> dict[str, list]:
    rt, ct = max(int(r.sum()), 1), max(int(c.sum()), 1)
    return {
        "labels": list(labels),
        "reference": [float(x) / rt for x in r],
        "current": [float(x) / ct for x in c],
    }


# -- helpers ---------------------------------------------------------------------------------
def _share(part: int, whole: int) -> float:
    return float(part / whole) if whole else 0.0


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)

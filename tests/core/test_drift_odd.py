"""Odd input to drift: each gets a sensible verdict saying what was skipped and why, or one line
of DriftError; never a traceback or a warning from numpy, pandas or scipy."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from jupyter_mlops.core.stats.drift import DriftError, compare

N = 400


def normal(seed: int, n: int = N) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=n)


def strict(ref: pd.DataFrame, cur: pd.DataFrame) -> dict:
    """``compare`` with every warning an error, its report strict JSON."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = compare(ref, cur)
    json.dumps(report, allow_nan=False)
    return report


def test_infinite_values_count_in_the_outer_bins_and_are_named() -> None:
    ref = pd.DataFrame({"x": normal(1)})
    cur = pd.DataFrame({"x": np.concatenate([normal(2, N - 80), np.full(80, np.inf)])})
    r = strict(ref, cur)["columns"]["x"]
    assert r["infinite_reference"] == 0 and r["infinite_current"] == 0.2
    assert r["bins"]["current"][-1] >= 0.2  # the open-ended top bin holds them
    assert r["drifted"] and "infinite values went from 0.0% to 20.0%" in r["message"]


def test_a_column_of_infinities_only_is_compared() -> None:
    both = pd.DataFrame({"x": np.full(N, -np.inf)})
    r = strict(both, both.copy())["columns"]["x"]
    assert r["verdict"] == "stable" and r["psi"] == 0


@pytest.mark.parametrize(
    "cells",
    [[[1, 2], [3]], [{"a": 1}, {"b": 2}], [{1}, {2}], ["text", [1]]],
    ids=["lists", "dicts", "sets", "strings-and-lists"],
)
def test_unhashable_cells_are_skipped_with_why(cells: list) -> None:
    ref = pd.DataFrame({"odd": cells * (N // 2), "x": normal(3)})
    cur = pd.DataFrame({"odd": cells[::-1] * (N // 2), "x": normal(4)})
    report = strict(ref, cur)
    assert "odd" not in report["columns"] and "x" in report["columns"]
    assert report["skipped"]["odd"] == (
        "its values cannot be counted (unhashable cells such as lists or dicts)"
    )


def test_integer_column_labels_are_reported_as_text() -> None:
    ref = pd.DataFrame(np.column_stack([normal(5), normal(6)]))
    cur = pd.DataFrame(np.column_stack([normal(7), normal(8) + 1]))
    report = strict(ref, cur)
    assert list(report["columns"]) == ["0", "1"] and report["drifted"] == ["1"]


def test_one_label_as_number_and_as_text_is_one_line() -> None:
    ref = pd.DataFrame({1: normal(9), "1": normal(10)})
    with pytest.raises(DriftError, match=r"unique as text \(1 and '1' are the same name\)") as e:
        compare(ref, ref)
    assert "\n" not in str(e.value)


def test_tuple_labels_and_tuple_cells() -> None:
    columns = pd.MultiIndex.from_tuples([("a", 1), ("a", 2)])
    ref = pd.DataFrame(np.column_stack([normal(11), normal(12)]), columns=columns)
    cur = pd.DataFrame(np.column_stack([normal(13), normal(14)]), columns=columns)
    shared = [(1, 2), (3, 4)]
    ref[("b", 0)] = shared * (N // 2)
    cur[("b", 0)] = [(1, 2)] * N  # every row the first tuple now
    report = strict(ref, cur)
    assert set(report["columns"]) == {"('a', 1)", "('a', 2)", "('b', 0)"}
    cells = report["columns"]["('b', 0)"]
    assert cells["kind"] == "categorical" and cells["verdict"] == "major"
    assert cells["bins"]["labels"] == ["(1, 2)", "(3, 4)"]
    assert "'(1, 2)' went from 50.0% to 100.0% of rows" in cells["message"]


def test_identifiers_are_skipped_not_called_new_levels() -> None:
    """Every id is new in the current frame; a chi-square over them would call it a major shift."""
    ref = pd.DataFrame({"id": [f"r{i}" for i in range(N)], "x": normal(15)})
    cur = pd.DataFrame({"id": [f"c{i}" for i in range(N)], "x": normal(16)})
    report = strict(ref, cur)
    assert "id" not in report["columns"] and report["drifted"] == []
    assert report["skipped"]["id"].startswith("nearly every value is distinct (400 levels in 400")


def test_complex_numbers_and_periods_are_skipped_with_why() -> None:
    ref = pd.DataFrame({"z": normal(17) + 1j, "p": pd.period_range("2020-01", periods=N, freq="D")})
    cur = pd.DataFrame({"z": normal(18) - 1j, "p": pd.period_range("2022-01", periods=N, freq="D")})
    report = strict(ref, cur)
    assert report["columns"] == {}
    assert report["skipped"]["z"].startswith("complex numbers are not compared")
    assert report["skipped"]["p"].startswith("dates are not compared")


def test_levels_all_too_rare_are_not_judged() -> None:
    ref = pd.DataFrame({"c": list("abcdefghij") * 3})
    cur = pd.DataFrame({"c": list("abcdefghij") * 3})
    r = strict(ref, cur)["columns"]["c"]
    assert r["p_value"] is None and r["verdict"] == "inconclusive" and not r["drifted"]
    assert "each of its levels is too rare to test (under 5 expected rows a side)" in r["message"]


def test_one_row_a_side_cannot_be_judged() -> None:
    report = strict(pd.DataFrame({"x": [1.0]}), pd.DataFrame({"x": [2.0]}))
    assert report["columns"]["x"]["verdict"] == "inconclusive" and report["drifted"] == []
    assert report["sample_note"].startswith("1 column could not be judged: with 1 reference")


def test_tied_values_raise_no_scipy_warning() -> None:
    """scipy's exact KS gives up on some tied samples (this pair of 30 Poisson counts) and warns
    before falling back to the asymptotic p-value; the report keeps the p-value, not the noise."""
    from scipy.stats import ks_2samp

    rng = np.random.default_rng(58)
    ref = pd.DataFrame({"k": rng.poisson(3, 30).astype(float)})
    cur = pd.DataFrame({"k": rng.poisson(3, 30).astype(float)})
    with pytest.warns(RuntimeWarning, match="ks_2samp: Exact calculation unsuccessful"):
        ks_2samp(ref["k"], cur["k"])
    r = strict(ref, cur)["columns"]["k"]
    assert r["tests"]["ks"]["p_value"] == 1.0 and not r["drifted"]

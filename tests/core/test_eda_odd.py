"""EDA on odd input, one test per case: every column is profiled or said to be skipped and why.

Each frame is a real data set that ships with statsmodels with the odd column a user's frame
would hold (a list of tags, a dict of metadata, a time zone, ...). The numbers of the ordinary
columns must still equal pandas' own, and whatever cannot be computed must appear in
``skipped`` with a reason, never vanish and never raise from inside pandas.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import jupyter_mlops as mlops
from jupyter_mlops.core.stats.eda import EdaError, profile
from jupyter_mlops.display import eda as view


def anes() -> pd.DataFrame:
    """The 1996 American National Election Study extract (944 respondents)."""
    return sm.datasets.anes96.load_pandas().data


def checked(df: pd.DataFrame, **kwargs) -> dict:
    """The profile, after checking it is strict JSON and renders, and that the ordinary numeric
    columns still equal pandas."""
    report = profile(df, **kwargs)
    json.dumps(report, allow_nan=False)
    assert "<table" in view.render_html(report)
    for name, s in df.items():
        got = report["columns"][str(name)]
        assert got["missing"] == s.isna().sum(), name
        if (
            got["kind"] == "numeric"
            and s.dtype == "float64"
            and s.notna().any()
            and np.isfinite(s.dropna()).all()
        ):
            assert math.isclose(got["mean"], s.mean(), rel_tol=1e-12), name
            assert got["n_unique"] == s.nunique(), name
    return report


def codes(report: dict, column: str) -> set[str]:
    return {w["code"] for w in report["warnings"] if column in w["columns"]}


def skipped_for(report: dict, column: str) -> dict[str, str]:
    return {s["what"]: s["reason"] for s in report["skipped"] if column in s["columns"]}


def unhashable_case(cells: list) -> dict:
    df = anes()
    n = len(df)
    df["tags"] = [cells[i % len(cells)] if i % 4 else None for i in range(n)]
    report = checked(df)
    tags = report["columns"]["tags"]
    assert tags["kind"] == "other" and tags["n_unique"] is None
    assert tags["missing"] == (n + 3) // 4 and math.isclose(
        tags["missing_fraction"], 0.25, abs_tol=1e-3
    )
    assert tags["value_types"] == [[type(cells[0]).__name__, n - (n + 3) // 4]]
    assert codes(report, "tags") == {"nested_values", "high_missing"}
    assert (
        "cannot be counted or compared"
        in skipped_for(report, "tags")["distinct values, top values and associations"]
    )
    # pandas cannot compare such rows either: the count is skipped, and the report says why
    assert report["duplicate_rows"] is None
    assert "not counted" in skipped_for(report, "tags")["duplicate rows"]
    assert "not countable: cells hold" in view.render_html(report)
    return report


def test_lists_in_cells_are_profiled_as_other() -> None:
    report = unhashable_case([["tv", "radio"], ["press"], []])
    assert report["target"] is None
    df = anes()
    df["tags"] = [["tv"] if i % 3 else None for i in range(len(df))]
    with_target = checked(df, target="vote")  # the other columns still relate to the target
    assert "tags" not in with_target["target"]["relationships"]
    assert with_target["target"]["relationships"]["PID"]["measure"] == "correlation_ratio"


def test_dicts_in_cells_are_profiled_as_other() -> None:
    unhashable_case([{"source": "tv"}, {"source": "press", "days": 3}])


def test_sets_in_cells_are_profiled_as_other() -> None:
    unhashable_case([{"tv", "radio"}, {"press"}])


def test_arrays_in_cells_are_profiled_as_other() -> None:
    unhashable_case([np.arange(3), np.arange(2)])


def test_tuples_are_labels_and_counted_like_pandas() -> None:
    df = anes()
    df["range"] = list(zip(df["ClinLR"].astype(int), df["DoleLR"].astype(int), strict=True))
    report = checked(df)
    got = report["columns"]["range"]
    # a tuple is hashable: counted like any label, and one type is not "mixed types"
    assert got["kind"] == "categorical" and got["n_unique"] == df["range"].nunique()
    expected = df["range"].value_counts().head(3)
    assert got["top"][:3] == [[str(k), int(c)] for k, c in expected.items()]
    assert got["mixed_types"] is False and "mixed_types" not in codes(report, "range")
    assert report["duplicate_rows"] == df.duplicated().sum()


def test_integer_column_labels() -> None:
    df = sm.datasets.statecrime.load_pandas().data.reset_index(drop=True)
    numbered = df.set_axis(range(df.shape[1]), axis=1)  # 0 .. 6, as from a headerless CSV
    named, plain = checked(df, target="murder"), checked(numbered, target=1)
    assert list(plain["columns"]) == [str(i) for i in range(df.shape[1])]
    assert plain["target"]["column"] == "1"
    assert [v["value"] for v in plain["target"]["relationships"].values()] == [
        v["value"] for v in named["target"]["relationships"].values()
    ]
    assert plain["columns"]["0"] == named["columns"]["violent"]
    assert profile(numbered, target="1")["target"] == plain["target"]


def test_mixed_types_name_the_types() -> None:
    df = anes()
    answers: list = [str(int(v)) for v in df["educ"]]
    answers[::10] = [int(v) for v in df["educ"][::10]]  # one in ten typed in as a number
    df["educ_typed"] = answers
    report = checked(df)
    got = report["columns"]["educ_typed"]
    assert got["mixed_types"] is True
    assert got["value_types"] == [["str", 849], ["int", 95]]
    message = next(w["message"] for w in report["warnings"] if w["code"] == "mixed_types")
    assert "str (849), int (95)" in message


def test_infinite_values_are_left_out_of_correlations_like_pandas() -> None:
    df = sm.datasets.macrodata.load_pandas().data
    df["m1_per_rate"] = df["m1"] / df["tbilrate"].where(df["tbilrate"] > 0.2, 0.0)  # x / 0
    assert np.isinf(df["m1_per_rate"]).sum() == 3
    report = checked(df)
    got = report["columns"]["m1_per_rate"]
    assert got["infinite"] == 3 and got["mean"] is None  # pandas: inf; strict JSON: null
    assert "infinite_values" in codes(report, "m1_per_rate")
    assert (
        "as pandas' corr does"
        in skipped_for(report, "m1_per_rate")["infinite values in correlations"]
    )
    expected = df.corr()  # pandas leaves non-finite values out, pair by pair
    for other in ("m1", "realgdp", "tbilrate"):
        got_r = report["correlations"]["pearson"]["m1_per_rate"][other]
        assert math.isclose(got_r, expected.loc["m1_per_rate", other], rel_tol=1e-9)


def test_all_infinite_column_is_named() -> None:
    df = sm.datasets.copper.load_pandas().data
    df["ratio"] = np.inf
    report = checked(df)
    assert codes(report, "ratio") == {"infinite_values", "constant"}
    assert report["correlations"]["pearson"]["ratio"]["TIME"] is None


def test_datetime_with_time_zone_keeps_its_zone() -> None:
    df = sm.datasets.macrodata.load_pandas().data
    df["published"] = pd.date_range("1959-04-15 09:00", periods=len(df), freq="QS").tz_localize(
        "Europe/Paris"
    )
    report = checked(df)
    got = report["columns"]["published"]
    assert got["kind"] == "datetime" and got["time_zone"] == "Europe/Paris"
    assert got["min"] == df["published"].min().isoformat() and got["min"].endswith("+01:00")
    assert got["max"] == df["published"].max().isoformat()
    assert sum(got["histogram"]["counts"]) == len(df)
    assert (
        got["histogram"]["edges"][0] == got["min"] and got["histogram"]["edges"][-1] == got["max"]
    )
    assert "datetime" not in codes(report, "published")


def test_mixed_time_zones_are_shown_in_utc() -> None:
    df = sm.datasets.copper.load_pandas().data
    stamps = [pd.Timestamp(f"{1951 + i}-06-30 12:00", tz="UTC") for i in range(len(df))]
    stamps[::2] = [s.tz_convert("Asia/Tokyo") for s in stamps[::2]]
    df["recorded"] = pd.Series(stamps, dtype=object)
    got = checked(df)["columns"]["recorded"]
    assert got["kind"] == "datetime" and got["time_zone"] == "mixed time zones, shown in UTC"
    assert got["min"] == "1951-06-30T12:00:00+00:00" and got["n_unique"] == len(df)


def test_all_missing_columns_say_drop_them() -> None:
    df = sm.datasets.spector.load_pandas().data
    n = len(df)
    df["float"] = np.nan
    df["object"] = pd.Series([None] * n, dtype=object)
    df["nullable"] = pd.Series([pd.NA] * n, dtype="Int64")
    df["string"] = pd.Series([None] * n, dtype="str")
    df["when"] = pd.Series([pd.NaT] * n)
    report = checked(df)
    for column in ("float", "object", "nullable", "string", "when"):
        assert codes(report, column) == {"high_missing"}, column  # not also "constant"
        message = next(w["message"] for w in report["warnings"] if column in w["columns"])
        assert message == f"{column} is entirely missing; it carries no information: drop it."
        assert skipped_for(report, column) == {
            "statistics and correlations": "the column has no values."
        }
    assert "float" not in report["correlations"]["pearson"]  # left out, and skipped says why


def test_a_target_of_lists_is_one_line() -> None:
    df = anes()
    df["answers"] = [[v] for v in df["vote"]]
    with pytest.raises(EdaError, match=r"target 'answers' holds list values") as info:
        mlops.eda(df, target="answers")
    assert "\n" not in str(info.value)

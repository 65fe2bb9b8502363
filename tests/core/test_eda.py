"""EDA against pandas on the same data, planted problems, odd frames and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core.stats.eda import EdaError, profile

N = 5_000


def planted(seed: int = 7) -> pd.DataFrame:
    """One clean column and one column per problem the report must name."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "clean": rng.normal(50, 5, N),
            "constant": np.full(N, 4.2),
            "mostly_missing": np.where(rng.random(N) < 0.6, np.nan, rng.normal(size=N)),
            "customer_id": np.arange(N),
            "income": rng.lognormal(10, 1, N),
            "region": rng.choice(["north", "south", "east", "west"], N),
            "target": (rng.random(N) < 0.04).astype(int),
        }
    )
    df["clean_copy"] = df["clean"] * 2 + rng.normal(0, 0.01, N)
    return pd.concat([df, df.iloc[:25]], ignore_index=True)  # 25 duplicate rows


def codes_for(report: dict) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for w in report["warnings"]:
        for column in w["columns"] or ["<frame>"]:
            found.setdefault(column, set()).add(w["code"])
    return found


def test_each_planted_problem_is_named_and_the_clean_column_is_not() -> None:
    report = mlops.eda(planted(), target="target").to_dict()
    codes = codes_for(report)
    assert "constant" in codes["constant"]
    assert "high_missing" in codes["mostly_missing"]
    assert "high_cardinality" in codes["customer_id"]
    assert "skewed" in codes["income"]
    assert "high_correlation" in codes["clean_copy"] and "high_correlation" in codes["clean"]
    assert "imbalanced_target" in codes["target"]
    assert "duplicate_rows" in codes["<frame>"]
    assert codes["clean"] == {"high_correlation"}  # nothing else on a clean normal column
    assert "region" not in codes
    for w in report["warnings"]:
        assert w["message"].endswith(".") and "\n" not in w["message"]


def close(a: float | None, b: float) -> bool:
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return a is None
    return a is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("strings", ["str", "object", "category"])
def test_numbers_equal_pandas(strings: str) -> None:
    rng = np.random.default_rng(3)
    df = planted(3)
    df["ints"] = rng.integers(-5, 500, len(df))
    df["nullable"] = pd.array(rng.integers(0, 9, len(df)), dtype="Int64")
    df.loc[::7, "nullable"] = pd.NA
    df["flag"] = rng.random(len(df)) < 0.3
    df["region"] = df["region"].astype(strings)
    df.loc[::11, "region"] = None
    report = profile(df, target="target")

    assert report["n_rows"], report["n_columns"] == df.shape
    assert report["duplicate_rows"] == df.duplicated().sum()
    assert report["missing_cells"] == df.isna().sum().sum()
    assert report["memory_bytes"] == df.memory_usage(deep=True).sum()
    for name, s in df.items():
        stats = report["columns"][name]
        assert stats["missing"] == s.isna().sum(), name
        assert stats["n_unique"] == s.nunique(), name
        if stats["kind"] != "numeric":
            assert stats["top"][:3] == [[k, c] for k, c in s.value_counts().head(3).items()]
            continue
        expected = {
            "mean": s.mean(),
            "std": s.std(),
            "min": s.min(),
            "p25": s.quantile(0.25),
            "median": s.median(),
            "p75": s.quantile(0.75),
            "max": s.max(),
            "skew": s.skew(),
        }
        for key, value in expected.items():
            assert close(stats[key], float(value)), (name, key, stats[key], value)
        assert sum(stats["histogram"]["counts"]) == s.notna().sum()
        assert len(stats["histogram"]["edges"]) == len(stats["histogram"]["counts"]) + 1
    assert report["columns"]["flag"]["kind"] == "boolean"
    assert report["columns"]["region"]["kind"] == "categorical"

    numeric = [c for c, s in report["columns"].items() if s["kind"] == "numeric"]
    expected_r = df[numeric].astype("float64").corr()
    for a in numeric:
        for b in numeric:
            assert close(report["correlations"]["pearson"][a][b], expected_r.loc[a, b]), (a, b)


def test_target_relationships_and_classes() -> None:
    df = planted()
    report = profile(df, target="target")
    target = report["target"]
    assert target["task"] == "classification"
    assert target["classes"] == [[k, c] for k, c in df["target"].value_counts().items()]
    assert "customer_id" in target["relationships"]  # numeric: correlation ratio
    assert "constant" not in target["relationships"]
    assert target["relationships"]["region"]["measure"] == "cramers_v"

    reg = profile(df, target="income")["target"]
    assert reg["task"] == "regression" and "histogram" in reg
    r = df[["income", "clean"]].corr().loc["income", "clean"]
    assert close(reg["relationships"]["clean"]["value"], r)
    values = [abs(v["value"]) for v in reg["relationships"].values()]
    assert values == sorted(values, reverse=True)


def test_leaky_feature_is_flagged() -> None:
    df = planted()
    df["leak"] = df["target"] * 3.0 + 1
    codes = codes_for(profile(df, target="target"))
    assert "target_leakage" in codes["leak"]


def test_large_frames_sample_only_spearman() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=30_000), "b": rng.normal(size=30_000)})
    small = profile(df)
    assert small["sample"] is None
    sampled = profile(df, sample=5_000)
    assert sampled["sample"] == {"rows": 5_000, "of": 30_000, "seed": 0, "used_for": ["spearman"]}
    # everything else still uses every row
    assert sampled["columns"] == small["columns"]
    assert sampled["correlations"]["pearson"] == small["correlations"]["pearson"]
    rho = df.corr(method="spearman").loc["a", "b"]
    assert abs(sampled["correlations"]["spearman"]["a"]["b"] - rho) < 0.05
    assert close(small["correlations"]["spearman"]["a"]["b"], rho)


def test_duplicates_with_missing_values_count_like_pandas() -> None:
    df = pd.DataFrame({"a": [1.0, np.nan, np.nan, 1.0, 2.0], "b": ["x", None, None, "x", "y"]})
    assert profile(df)["duplicate_rows"] == df.duplicated().sum() == 2


def test_odd_frames_do_not_break() -> None:
    empty = profile(pd.DataFrame({"a": pd.Series([], dtype="float64"), "b": []}))
    assert empty["n_rows"] == 0 and empty["columns"]["a"]["mean"] is None
    nothing = profile(pd.DataFrame({"a": [np.nan, np.nan], "b": [None, None]}))
    assert nothing["columns"]["a"]["histogram"] == {"edges": [], "counts": []}
    when = pd.date_range("2024-01-01", periods=48, freq="h")
    mixed = profile(
        pd.DataFrame(
            {
                0: [1, 2, 3, 4],
                "when": when[:4],
                "mixed": [1, "a", 2.5, None],
                "inf": [1.0, np.inf, 2.0, 3.0],
            }
        )
    )
    assert mixed["columns"]["0"]["mean"] == 2.5  # non-string column names become strings
    assert mixed["columns"]["when"]["kind"] == "datetime"
    assert mixed["columns"]["when"]["min"] == "2024-01-01T00:00:00"
    assert {"mixed_types", "infinite_values"} <= {w["code"] for w in mixed["warnings"]}
    json.dumps(mixed, allow_nan=False)  # strict JSON: NaN and infinities became null


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mlops.eda([1, 2, 3]), "needs a pandas DataFrame, not list"),
        (lambda: mlops.eda(pd.DataFrame({"a": [1]}), target="y"), "no column named 'y'"),
        (lambda: mlops.eda(pd.DataFrame({"a": [1]}), name="../x"), "invalid report name"),
        (lambda: mlops.eda(pd.DataFrame({"a": [1]}), sample=0), "at least 10 rows"),
        (lambda: mlops.eda(pd.DataFrame([[1, 2]], columns=["a", "a"])), "repeated: a"),
    ],
)
def test_bad_input_is_one_line(call, message: str) -> None:
    with pytest.raises(EdaError, match=message) as info:
        call()
    assert "\n" not in str(info.value)


def test_report_inside_a_run_is_logged(project, client) -> None:
    df = planted()
    with mlops.track(experiment="eda", autolog=False) as run:
        report = mlops.eda(df, target="target", name="churn")
    artifacts = {f.path for f in client.list_artifacts(run.run_id, "eda")}
    assert artifacts == {"eda/churn.html", "eda/churn.json"}
    local = client.download_artifacts(run.run_id, "eda", str(project / "out"))
    logged = json.loads((project / "out" / "eda" / "churn.json").read_text())
    assert logged["warnings"] == report.to_dict()["warnings"]
    page = (project / "out" / "eda" / "churn.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "imbalanced_target" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    tags = client.get_run(run.run_id).data.tags
    assert tags["mlops.eda.churn.warnings"] == str(len(report.warnings))
    assert local

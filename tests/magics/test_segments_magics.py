"""%mlops segments in a real IPython shell: fitted into the namespace, tracked, and typos."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from IPython.core.error import UsageError

from tests.conftest import all_runs

DATA = """
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge

rng = np.random.default_rng(0)
sales = pd.DataFrame({"store": np.repeat([f"s{i}" for i in range(6)], 30),
                      "price": rng.uniform(1, 10, 180)})
sales["units"] = 50 - np.repeat(np.arange(6), 30) * sales["price"] + rng.normal(0, 1, 180)
ridge = Ridge(alpha=0.5)
"""


@pytest.fixture
def shop(ip):
    ip.run_cell(textwrap.dedent(DATA)).raise_error()
    yield ip
    for name in ("family", "by_store", "Shrunk", "X"):
        ip.user_ns.pop(name, None)


def test_segments_fits_into_the_namespace_and_tracks_children(
    shop, project: Path, client, capfd
) -> None:
    ip = shop
    ip.run_line_magic("mlops", "track start -e shop -n stores")  # autolog on: paused for fits
    capfd.readouterr()
    ip.run_line_magic(
        "mlops", "segments sales --by store --target units --estimator ridge --n-jobs 1"
    )
    out = capfd.readouterr().out
    family = ip.user_ns["family"]
    assert len(family.models) == 6 and family.estimator.alpha == 0.5
    assert out.startswith("family: 6 segments of 'store': 6 models of their own (Ridge(alpha=0.5))")
    assert "SegmentFamily: 6 segments" in out  # the summary displayed after the line
    ip.run_line_magic("mlops", "track stop")

    (parent,) = [r for r in all_runs(client) if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in all_runs(client) if r.data.tags.get("mlflow.parentRunId")]
    assert len(children) == 6 and parent.info.status == "FINISHED"
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    # the per-segment fits were not autologged onto the parent run
    assert not [k for k in parent.data.metrics if k.startswith("training_")]
    assert parent.data.metrics["segments.count"] == 6


def test_name_min_rows_and_an_expression_for_the_estimator(shop, project: Path, client) -> None:
    ip = shop
    ip.run_line_magic(
        "mlops",
        "segments sales.iloc[:100] --by store --target units --estimator 'Ridge(alpha=2.0)' "
        "--min-rows 25 --n-jobs 1 --cv 0 --name by_store",
    )
    family = ip.user_ns["by_store"]
    assert "family" not in ip.user_ns
    assert sorted(family.models) == ["s0", "s1", "s2"] and family.small_segments == ["s3"]
    assert len(family.scores) == 3 and all(np.isnan(list(family.scores.values())))  # cv 0
    assert all_runs(client) == []  # no run active: nothing logged


SHRUNK = """
from sklearn.base import BaseEstimator, RegressorMixin


class Shrunk(RegressorMixin, BaseEstimator):
    def __init__(self, factor=0.9):
        self.factor = factor

    def fit(self, X, y):
        self.ridge_ = Ridge().fit(X, y)
        return self

    def predict(self, X):
        return self.factor * self.ridge_.predict(X)
"""


def test_a_notebook_estimator_fitted_in_workers_is_promoted_with_its_code(
    shop, project: Path, client, capfd
) -> None:
    ip = shop
    ip.run_cell(textwrap.dedent(SHRUNK), store_history=True).raise_error()
    ip.run_line_magic("mlops", "track start -e shop --no-autolog")
    ip.run_line_magic(
        "mlops", "segments sales --by store --target units --estimator 'Shrunk()' --n-jobs 2"
    )
    family = ip.user_ns["family"]
    shrunk = ip.user_ns["Shrunk"]
    assert type(family.models["s1"]) is shrunk  # the notebook's own class, left as it was
    assert shrunk.fit.__globals__ is ip.user_ns
    ip.run_cell("X = sales.drop(columns='units')").raise_error()
    capfd.readouterr()
    ip.run_line_magic("mlops", "promote family --name stores --X X --alias staging")
    assert "models:/stores@staging (version 1)" in capfd.readouterr().out
    ip.run_line_magic("mlops", "track stop")
    version = client.get_model_version_by_alias("stores", "staging")
    assert version.tags["mlops.verified"] == "true"  # predicted the same in a fresh process


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%mlops segments sales --target units --estimator ridge", "required: --by"),
        ("%mlops segments nosuch --by store --target units --estimator ridge", "cannot evaluate"),
        ("%mlops segments sales --by shop --target units --estimator ridge", "no column 'shop'"),
        ("%mlops segments sales --by store --target units --estimator 'ridge.alpha'", "not float"),
        ("%mlops segments sales --by store --target units --estimator ridge --name 2x", "--name"),
        ("%mlops segments sales --by store --target units --estimator ridge --n-jobs x", "int"),
        (
            "%mlops segments sales --by store --target units --estimator ridge --dask "
            "tcp://127.0.0.1:1",
            "cannot reach the Dask scheduler",
        ),
    ],
)
def test_mistakes_are_one_line(shop, project: Path, capfd, line: str, message: str) -> None:
    capfd.readouterr()
    result = shop.run_cell(line)
    out, err = capfd.readouterr()
    output = out + err
    assert isinstance(result.error_in_exec, UsageError)
    assert message in output and "Traceback" not in output
    assert len([x for x in output.splitlines() if x.strip()]) == 1


def test_help(shop, capfd) -> None:
    shop.run_line_magic("mlops", "segments --help")
    out = capfd.readouterr().out
    assert "--by COL" in out and "--dask ADDRESS" in out and "--min-rows N" in out

"""Per-segment model families: fitted in this process, in joblib's workers and on a real Dask
cluster, tracked as child runs in the project's sqlite store, promoted and loaded elsewhere."""

from __future__ import annotations

import json
import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_regressor
from sklearn.linear_model import LogisticRegression, Ridge

import jupyter_mlops as mlops
from jupyter_mlops.core.batch.segments import SegmentError, SegmentFamily
from jupyter_mlops.errors import MlopsError
from jupyter_mlops.runtime.segment_family import SegmentWarning
from tests.cli.test_sweep import dask_cluster  # noqa: F401  (a real scheduler and two workers)
from tests.conftest import all_runs
from tests.core.test_promote import load_elsewhere, store_uri

FEATURES = ["price", "promo"]


def stores(n: int = 40, rows: int = 60, small: tuple[int, ...] = (), seed: int = 0) -> pd.DataFrame:
    """Stores whose sales fall with price at slopes of their own, rows shuffled together."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        size = 8 if i in small else rows
        price = rng.uniform(1, 10, size)
        promo = rng.integers(0, 2, size)
        sales = 100 + 5 * i + rng.normal(-3, 2) * price + 4 * promo + rng.normal(0, 1, size)
        frames.append(pd.DataFrame({"store": f"s{i:02d}", "price": price, "promo": promo}))
        frames[-1]["sales"] = sales
    frame = pd.concat(frames, ignore_index=True)
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return stores()


@pytest.fixture(scope="module")
def family(frame: pd.DataFrame) -> SegmentFamily:
    """Fitted once for the tests that need no store (no run is active: nothing is logged)."""
    return mlops.fit_segments(frame, by="store", target="sales", estimator=Ridge(), n_jobs=1)


def children_of(client, parent_id: str) -> list:
    runs = all_runs(client)
    return [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent_id]


def test_forty_segments_fit_in_worker_processes_route_and_become_child_runs(
    project: Path, client, frame: pd.DataFrame
) -> None:
    with mlops.track(experiment="stores", run_name="by store", autolog=False) as run:
        family = mlops.fit_segments(frame, by="store", target="sales", estimator=Ridge(), n_jobs=2)

    # 40 fitted models plus the fallback, trained on every row as given
    assert family.backend_ == "2 local processes"
    assert len(family.models) == 40 and family.small_segments == []
    assert sorted(family.models) == [f"s{i:02d}" for i in range(40)]
    own = Ridge().fit(frame[FEATURES], frame["sales"])
    assert np.array_equal(family.fallback.coef_, own.coef_)
    # each segment's model is the one a loop would fit on that segment's rows, in order
    rows = frame[frame["store"] == "s07"]
    alone = Ridge().fit(rows[FEATURES], rows["sales"])
    assert np.array_equal(family.models["s07"].coef_, alone.coef_)

    # routed predictions, in the input's order, are each segment model's own predictions
    X = frame.drop(columns="sales")
    routed = family.predict(X)
    for segment, model in family.models.items():
        mask = (X["store"] == segment).to_numpy()
        assert np.array_equal(routed[mask], model.predict(X.loc[mask, FEATURES]))

    # one child run per segment under the parent, read back from the sqlite store
    children = children_of(client, run.run_id)
    assert len(children) == 40 and len(all_runs(client)) == 41
    by_name = {c.info.run_name: c for c in children}
    assert set(by_name) == {f"store=s{i:02d}" for i in range(40)}
    child = by_name["store=s07"]
    assert child.info.status == "FINISHED" and child.info.end_time >= child.info.start_time
    assert child.data.params == {"segment": "s07", "estimator": "Ridge"}
    assert child.data.metrics["rows"] == 60
    assert child.data.metrics["cv_score"] == family.scores["s07"]
    assert child.data.tags["mlops.segment.model"] == "own"
    assert family.run_ids_["s07"] == child.info.run_id

    # the parent's summary: metrics, and the table worst first as JSON and HTML
    parent = client.get_run(run.run_id)
    metrics = parent.data.metrics
    assert metrics["segments.count"] == 40 and metrics["segments.fallback"] == 0
    assert metrics["segments.worst_cv_score"] == min(family.scores.values())
    assert metrics["segments.median_cv_score"] == float(np.median(list(family.scores.values())))
    assert parent.data.tags["mlops.segments.by"] == "store"
    paths = {a.path for a in client.list_artifacts(run.run_id, "segments")}
    assert paths == {"segments/summary.json", "segments/summary.html"}
    local = client.download_artifacts(run.run_id, "segments/summary.json", str(project))
    summary = json.loads(Path(local).read_text())
    scores = [s["cv_score"] for s in summary["segments"]]
    assert scores == sorted(scores) and summary["segments"][0]["segment"] == min(
        family.scores, key=family.scores.get
    )
    assert summary["segments"][0]["run_id"] == family.run_ids_[summary["segments"][0]["segment"]]


def test_no_run_active_logs_nothing(project: Path, client, frame: pd.DataFrame) -> None:
    family = mlops.fit_segments(frame, by="store", target="sales", estimator=Ridge(), n_jobs=1)
    assert len(family.models) == 40 and family.backend_ == "this process"
    assert family.run_ids_ == {} and family.parent_run_id_ is None
    assert all_runs(client) == []


def test_small_unseen_and_missing_segments_are_served_by_the_fallback() -> None:
    frame = stores(n=6, rows=40, small=(2, 4), seed=1)
    frame.loc[frame.index[:3], "store"] = None  # rows with no segment train the fallback only
    family = mlops.fit_segments(
        frame, by="store", target="sales", estimator=Ridge(), n_jobs=1, min_rows=20
    )
    assert family.small_segments == ["s02", "s04"]
    assert sorted(family.models) == ["s00", "s01", "s03", "s05"]
    assert family.rows_without_segment_ == 3 and family.rows_["s02"] == 8
    fallback = Ridge().fit(frame[FEATURES], frame["sales"])
    assert np.array_equal(family.fallback.coef_, fallback.coef_)

    X = frame.drop(columns="sales")
    small = X[X["store"].isin(["s02", "s04"])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # known small segments do not warn
        assert np.array_equal(family.predict(small), fallback.predict(small[FEATURES]))

    new = X.head(6).copy()
    new["store"] = ["zz", "s00", None, "zz", "s05", "yy"]
    with pytest.warns(SegmentWarning) as caught:
        predicted = family.predict(new)
    (warning,) = caught
    assert str(warning.message) == (
        "4 rows of 'store' segments the family never saw ('zz', (no segment), 'yy') were "
        "served by the fallback model"
    )
    unseen = [0, 2, 3, 5]
    expected = fallback.predict(new.iloc[unseen][FEATURES])
    assert np.array_equal(predicted[unseen], expected)
    assert predicted[1] == family.models["s00"].predict(new.iloc[[1]][FEATURES])[0]

    table = family.to_frame()
    assert list(table.index[-2:]) == ["s02", "s04"]  # unscored last
    assert table.loc["s02", "model"] == "fallback"
    assert table.loc["s02", "note"] == "fewer than 20 rows"


def test_summary_views_and_scikit_learn_behaviour(
    family: SegmentFamily, frame: pd.DataFrame
) -> None:
    table = family.to_frame()
    assert table.index.name == "store" and len(table) == 40
    assert table["cv_score"].is_monotonic_increasing  # worst first
    data = family.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["n_segments"] == 40 and data["scoring"] == "r2" and data["cv"] == 5
    html = family._repr_html_()
    assert "40 segments" in html and "<script" not in html and table.index[0] in html
    assert repr(family).startswith("SegmentFamily: 40 segments of 'store': 40 models")

    # a scikit-learn estimator: a regressor, cloned and refitted to the same models
    assert is_regressor(family)
    again = clone(family).fit(frame.drop(columns="sales"), frame["sales"])
    for segment, model in family.models.items():
        assert np.array_equal(again.models[segment].coef_, model.coef_)
    restored = pickle.loads(pickle.dumps(family))
    assert np.array_equal(restored.predict(frame), family.predict(frame))


def test_a_segment_that_cannot_be_fitted_is_served_by_the_fallback(project: Path, client) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"region": np.repeat(["north", "south", "mono"], 50), "x": rng.normal(size=150)}
    )
    frame["bought"] = (frame["x"] + rng.normal(0, 0.5, 150) > 0).astype(int)
    frame.loc[frame["region"] == "mono", "bought"] = 1  # one class: LogisticRegression refuses
    warned = pytest.warns(UserWarning, match="1 segment could not be fitted")
    with mlops.track(experiment="regions", autolog=False) as run, warned:
        family = mlops.fit_segments(
            frame, by="region", target="bought", estimator=LogisticRegression(), n_jobs=1
        )
    assert sorted(family.models) == ["north", "south"]
    assert list(family.failed_segments) == ["mono"]
    assert "ValueError" in family.failed_segments["mono"]
    assert family.scoring_ == "accuracy"
    mono = frame[frame["region"] == "mono"].drop(columns="bought")
    assert np.array_equal(family.predict(mono), family.fallback.predict(mono[["x"]]))
    (failed,) = [c for c in children_of(client, run.run_id) if c.info.status == "FAILED"]
    assert failed.info.run_name == "region=mono" and "ValueError" in failed.data.tags["mlops.error"]
    assert client.get_run(run.run_id).data.metrics["segments.failed"] == 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: mlops.fit_segments(f, "shop", "sales", Ridge()), "no column 'shop' to segment"),
        (lambda f: mlops.fit_segments(f, "store", "sold", Ridge()), "no column 'sold' to predict"),
        (lambda f: mlops.fit_segments(f.iloc[:0], "store", "sales", Ridge()), "has no rows"),
        (lambda f: mlops.fit_segments(f.to_numpy(), "store", "sales", Ridge()), "not ndarray"),
        (lambda f: mlops.fit_segments(f, "store", "sales", "ridge"), "not str"),
        (lambda f: mlops.fit_segments(f, "store", "sales", Ridge), "pass Ridge()"),
        (lambda f: mlops.fit_segments(f, "store", "store", Ridge()), "both 'store'"),
        (
            lambda f: mlops.fit_segments(f.assign(store=None), "store", "sales", Ridge()),
            "no values",
        ),
        (lambda f: mlops.fit_segments(f, "store", "sales", Ridge(), min_rows=0), "min_rows"),
        (lambda f: mlops.fit_segments(f, "store", "sales", Ridge(), n_jobs=0), "n_jobs"),
        (lambda f: mlops.fit_segments(f, "store", "sales", Ridge(), cv=1), "cv must be"),
        (lambda f: mlops.fit_segments(f, "store", "sales", Ridge(), scoring="nope"), "scoring"),
        (lambda f: mlops.fit_segments(f, "store", "sales", Ridge(), features=["x"]), "'x'"),
        (
            lambda f: mlops.fit_segments(f, "store", "sales", Ridge(), dask="tcp://127.0.0.1:1"),
            "cannot reach the Dask",
        ),
    ],
)
def test_mistakes_are_one_line_errors(frame: pd.DataFrame, call, message: str) -> None:
    with pytest.raises(MlopsError) as caught:
        call(frame)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_predict_needs_the_segment_column(family: SegmentFamily, frame: pd.DataFrame) -> None:
    with pytest.raises(SegmentError, match=r"missing column.*store"):
        family.predict(frame.drop(columns="store"))
    with pytest.raises(SegmentError, match="not ndarray"):
        family.predict(frame.to_numpy())
    with pytest.raises(SegmentError, match="not fitted"):
        SegmentFamily(Ridge(), by="store").predict(frame)


def test_the_same_models_on_a_dask_cluster(
    family: SegmentFamily,
    frame: pd.DataFrame,
    dask_cluster: str,  # noqa: F811
) -> None:
    from distributed import Client

    on_dask = mlops.fit_segments(frame, "store", "sales", Ridge(), dask=dask_cluster)
    assert on_dask.backend_ == f"Dask cluster at {dask_cluster}"
    with Client(dask_cluster, set_as_default=False) as client:  # a Client works as well
        again = mlops.fit_segments(frame, "store", "sales", Ridge(), dask=client)
    for fitted in (on_dask, again):
        assert list(fitted.models) == list(family.models)
        for segment, model in family.models.items():
            assert np.array_equal(fitted.models[segment].coef_, model.coef_)
            assert fitted.models[segment].intercept_ == model.intercept_
        assert np.array_equal(fitted.fallback.coef_, family.fallback.coef_)
        assert fitted.scores == family.scores


# runs in a fresh interpreter, in another folder, where jupyter_mlops cannot be imported
LOAD_ELSEWHERE = """
import pickle, sys, warnings
sys.modules["jupyter_mlops"] = None  # as if it were not installed
import mlflow, mlflow.sklearn, pandas as pd
uri, sample, out = sys.argv[1:4]
X = pd.read_pickle(sample)
model = mlflow.pyfunc.load_model(uri)
result = {"predictions": model.predict(X)}
new = X.head(4).copy()
new["store"] = ["s01", "s99", "s99", "s02"]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    result["new"] = model.predict(new)
result["warnings"] = [(w.category.__name__, str(w.message)) for w in caught]
result["raw"] = type(mlflow.sklearn.load_model(uri)).__name__
with open(out, "wb") as f:
    pickle.dump(result, f)
"""


def test_a_promoted_family_loads_and_routes_in_a_fresh_process(
    project: Path, client, frame: pd.DataFrame, tmp_path: Path
) -> None:
    with mlops.track(experiment="stores", autolog=False):
        family = mlops.fit_segments(frame, by="store", target="sales", estimator=Ridge(), n_jobs=1)
        X = frame.drop(columns="sales")
        promoted = mlops.promote(family, "sales-by-store", X=X, alias="staging")
    assert promoted.uri == "models:/sales-by-store@staging"
    assert promoted.verification["rows"] == 500  # compared exactly before registering

    got = load_elsewhere(tmp_path, promoted.uri, store_uri(project), X, script=LOAD_ELSEWHERE)
    assert np.array_equal(got["predictions"], family.predict(X))
    new = X.head(4).copy()
    new["store"] = ["s01", "s99", "s99", "s02"]
    with pytest.warns(SegmentWarning):
        assert np.array_equal(got["new"], family.predict(new))
    assert np.array_equal(got["new"][1:3], family.fallback.predict(new.iloc[1:3][FEATURES]))
    # the contract names the unseen segment, then the family says the fallback served it
    assert got["warnings"] == [
        ("ContractWarning", "store: 2 rows with unseen segments ('s99')"),
        (
            "SegmentWarning",
            "2 rows of 'store' segments the family never saw ('s99') were served by the "
            "fallback model",
        ),
    ]
    assert got["raw"] == "SegmentFamily"

    # the artifact: the family's code in code/, no jupyter-mlops requirement, the card lists
    # every segment, the contract knows every store
    import mlflow

    folder = Path(
        mlflow.artifacts.download_artifacts(
            f"models:/{promoted.model_id}",
            dst_path=str(tmp_path / "dl"),
            tracking_uri=store_uri(project),
        )
    )
    assert len(list((folder / "code").glob("mlops_segments_*.py"))) == 1
    requirements = (folder / "requirements.txt").read_text()
    assert "scikit-learn==" in requirements and "jupyter" not in requirements
    card = (folder / "MODEL_CARD.md").read_text()
    assert "## Segments" in card and "40 segments, 40 with a model of their own" in card
    worst = min(family.scores, key=family.scores.get)
    segment_rows = [line for line in card.splitlines() if re.match(r"\| `s\d\d` \|", line)]
    assert len(segment_rows) == 40 and segment_rows[0].startswith(f"| `{worst}` | 60 | own |")
    contract = json.loads((folder / "contract.json").read_text())
    assert contract["segment_column"] == "store"
    (store,) = [c for c in contract["columns"] if c["name"] == "store"]
    assert store["categories"] == sorted(family.models)


def test_promote_needs_the_segment_column_in_x(
    project: Path, client, family: SegmentFamily, frame: pd.DataFrame
) -> None:
    with pytest.raises(MlopsError, match="X must be a DataFrame holding the column 'store'"):
        mlops.promote(family, "sales-by-store", X=frame[FEATURES])
    assert client.search_registered_models() == []

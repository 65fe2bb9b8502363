"""The training reference kept with a promoted model (issue 20): real promotions into a real
sqlite store, the artifact's ``reference/`` files read back with pyarrow, compared with pandas'
own computations on X, and tampered with on disk as someone with write access to the store would."""

from __future__ import annotations

import json
import pickle
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core import tags
from jupyter_mlops.core.registry import reference
from jupyter_mlops.core.registry.reference import ReferenceError, build_reference
from jupyter_mlops.core.registry.reference_load import (
    Reference,
    load_reference,
    read_profile,
    read_sample,
)
from jupyter_mlops.core.stats.drift import compare

NOTEBOOK = """
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

X, y = load_diabetes(return_X_y=True, as_frame=True)
X = X[["age", "bmi", "bp", "s5"]].copy()
X["band"] = np.where(X["bmi"] > 0.03, "high", np.where(X["bmi"] < -0.03, "low", "mid"))
X.loc[X.index % 7 == 0, "bp"] = np.nan
X.loc[X.index % 11 == 0, "band"] = None
encode = ColumnTransformer(
    [("band", OneHotEncoder(handle_unknown="ignore"), ["band"])],
    remainder=SimpleImputer(),
)
model = make_pipeline(encode, Ridge()).fit(X, y)
"""

# 200,000 rows: a numeric and a categorical column the model reads, and a long text column it
# ignores (1,000-character cells: the sample cuts them at reference.TEXT_CHARS)
LARGE = """
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

rng = np.random.default_rng(7)
n = 200_000
notes = np.array(["x" * 1000 + str(i) for i in range(50)], dtype=object)
X = pd.DataFrame({
    "amount": rng.lognormal(3, 1, n),
    "score": rng.normal(0, 1, n),
    "channel": rng.choice(["web", "shop", "phone"], n, p=[0.6, 0.3, 0.1]),
    "note": notes[rng.integers(0, 50, n)],
})
y = (X["score"] + (X["channel"] == "web") > 0.5).astype(int)
encode = ColumnTransformer(
    [("channel", OneHotEncoder(), ["channel"]), ("num", "passthrough", ["amount", "score"])]
)
model = make_pipeline(encode, LogisticRegression(max_iter=1000)).fit(X, y)
"""


def stored_folder(client, model_id: str) -> Path:
    location = client.get_logged_model(model_id).artifact_location
    return Path(location.removeprefix("file://"))


def expected_rows(n: int, k: int, max_rows: int = 10_000) -> np.ndarray:
    """The rows a reference samples: seeded (0), uniform, the first ``k`` of its shuffle."""
    return np.sort(np.random.default_rng(0).choice(n, min(n, max_rows), replace=False)[:k])


def one_line_refusal(uri: str) -> str:
    with pytest.raises(ReferenceError) as caught:
        load_reference(uri)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(uri)
    return message


def test_promote_keeps_a_reference_equal_to_pandas_and_refuses_it_tampered(ip, project, client):
    ip.run_cell(textwrap.dedent(NOTEBOOK)).raise_error()
    X, model = ip.user_ns["X"], ip.user_ns["model"]
    promoted = mlops.promote(model, "diab", X=X, alias="staging")
    stored = stored_folder(client, promoted.model_id)
    assert (stored / tags.REFERENCE_PROFILE).is_file()
    assert (stored / tags.REFERENCE_SAMPLE).is_file()
    # its files are among those whose digests the version records
    recorded = json.loads(client.get_model_version("diab", "1").tags[tags.ARTIFACT_SHA256])
    assert {tags.REFERENCE_PROFILE, tags.REFERENCE_SAMPLE} < set(recorded["files"])

    ref = load_reference("models:/diab@staging")
    assert ref.uri == "models:/diab/1" and ref.columns == list(X.columns)
    profile = ref.profile
    assert profile["rows"] == len(X) == 442
    for name in X.columns:
        column = profile["columns"][name]
        assert column["null_rate"] == X[name].isna().mean()
        assert column["nulls"] == X[name].isna().sum()
    assert profile["columns"]["bp"]["null_rate"] > 0 and profile["columns"]["band"]["nulls"] > 0
    for name in ("age", "bmi", "bp", "s5"):
        column = profile["columns"][name]
        assert column["kind"] == "numeric"
        edges = X[name].quantile(np.linspace(0.1, 0.9, 9)).unique()
        assert column["edges"] == pytest.approx(list(edges), rel=0, abs=0)
        bins = pd.cut(X[name], [-np.inf, *edges, np.inf]).value_counts(sort=False)
        assert column["counts"] == list(bins)
        assert (column["min"], column["max"]) == (X[name].min(), X[name].max())
    band = profile["columns"]["band"]
    assert band["kind"] == "categorical" and band["other"] == 0
    assert dict(band["levels"]) == X["band"].value_counts().to_dict()

    # the sample: every row here (442 < 10,000), in the seeded order, with the predictions
    sample = ref.sample
    assert profile["sample"]["rows"] == len(sample) == 442
    rows = expected_rows(len(X), 442)
    features = ref.features()
    pd.testing.assert_frame_equal(features, X.iloc[rows].reset_index(drop=True), check_dtype=False)
    np.testing.assert_array_equal(sample["prediction"], model.predict(X.iloc[rows]))
    assert ref.prediction_columns == ["prediction"]
    assert profile["predictions"]["over"] == "sample"
    # read back with pyarrow alone, it is the same table
    assert pq.read_table(stored / tags.REFERENCE_SAMPLE).num_rows == 442

    # the model loads and predicts as before: the reference is data beside it
    loaded = mlops.load_model("models:/diab@staging")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    card = (stored / tags.MODEL_CARD).read_text(encoding="utf-8")
    assert (
        "Training reference (reference/): 5 columns profiled over 442 rows, 442 rows sampled "
        "with their predictions, for monitor to compare production inputs with." in card
    )

    # the artifact store tampered with, as someone with write access to it could: refused in
    # one line, before anything is parsed, for every file of reference/ the version recorded
    folder = stored / tags.REFERENCE_FOLDER
    profile_path, sample_path = folder / "profile.json", folder / "sample.parquet"
    profile_bytes, sample_bytes = profile_path.read_bytes(), sample_path.read_bytes()
    original = json.loads(profile_bytes)
    script = "<script>alert(1)</script>"
    html = json.loads(profile_bytes)
    html["columns"]["band"]["levels"][0][0] = script
    profile_path.write_text(json.dumps(html), encoding="utf-8")
    assert one_line_refusal("models:/diab/1") == (
        "models:/diab/1: reference/profile.json was modified after promotion (its sha256 "
        "differs from the one recorded on the version): not read"
    )
    profile_path.write_bytes(profile_bytes)
    sample_path.write_bytes(pickle.dumps(pd.DataFrame({"a": [1]})))
    assert "reference/sample.parquet was modified after promotion" in one_line_refusal(
        "models:/diab/1"
    )
    sample_path.write_bytes(sample_bytes)
    (folder / "extra.py").write_text("print('hi')\n", encoding="utf-8")
    assert one_line_refusal("models:/diab/1") == (
        "models:/diab/1: reference/extra.py was added after promotion: not read"
    )
    (folder / "extra.py").unlink()
    sample_path.unlink()
    assert one_line_refusal("models:/diab/1") == (
        "models:/diab/1: reference/sample.parquet is missing from the artifact: not read"
    )
    sample_path.write_bytes(sample_bytes)
    assert load_reference("models:/diab/1").profile == original  # restored: read again


def test_a_reference_file_is_parsed_within_limits_and_kept_as_inert_text(tmp_path):
    """Behind the digests, the reader itself trusts nothing: what a reference never holds is
    refused in one line; HTML in a level name stays the literal text it is."""
    X = pd.DataFrame({"age": [1.0, 2.0, None, 4.0], "band": ["a", "b", "a", None]})
    files = build_reference(X, np.array([0, 1, 0, 1]))
    original = json.loads(files["profile.json"])
    path, uri = tmp_path / "profile.json", "models:/m/3"

    def read(profile) -> dict:
        path.write_text(json.dumps(profile), encoding="utf-8")
        return read_profile(path, uri)

    def refused(profile_or_text) -> str:
        if isinstance(profile_or_text, dict):
            profile_or_text = json.dumps(profile_or_text)
        path.write_text(profile_or_text, encoding="utf-8")
        with pytest.raises(ReferenceError) as caught:
            read_profile(path, uri)
        message = str(caught.value)
        assert "\n" not in message and message.startswith(f"{uri}: reference/profile.json")
        return message

    assert read(original) == original
    assert dict(original["columns"]["band"]["levels"]) == {"a": 2, "b": 1}
    assert original["columns"]["age"]["null_rate"] == 0.25
    script = json.loads(files["profile.json"])
    script["columns"]["band"]["levels"][0][0] = "<script>alert(1)</script>"
    assert read(script)["columns"]["band"]["levels"][0][0] == "<script>alert(1)</script>"
    long = json.loads(files["profile.json"])
    long["columns"]["band"]["levels"][0][0] = "x" * 5000
    assert refused(long).endswith("a level name longer than 200 characters)")
    kind = json.loads(files["profile.json"])
    kind["columns"]["age"]["kind"] = "pickle"
    assert refused(kind).endswith("(column 'age': unknown kind)")
    assert refused('{"format": 1, "rows": NaN}').endswith("is not valid JSON")
    assert refused("[" * 100_000 + "]" * 100_000).endswith("is not valid JSON")
    assert refused(" " * (reference.PROFILE_BYTES + 1)).endswith("not read")
    sample = tmp_path / "sample.parquet"
    sample.write_bytes(pickle.dumps(X))  # never unpickled, only refused
    with pytest.raises(ReferenceError, match="is not a readable Parquet file"):
        read_sample(sample, uri, 4)
    sample.write_bytes(files["sample.parquet"])
    with pytest.raises(ReferenceError, match="is not the sample its profile describes"):
        read_sample(sample, uri, 5)
    assert read_sample(sample, uri, 4)["prediction"].tolist() == [0, 1, 0, 1]


def test_a_large_frame_keeps_a_bounded_seeded_sample_that_drift_can_read(ip, project, client):
    ip.run_cell(textwrap.dedent(LARGE)).raise_error()
    X, model = ip.user_ns["X"], ip.user_ns["model"]
    first = mlops.promote(model, "big", X=X)
    second = mlops.promote(model, "big", X=X)
    sizes = {}
    for promoted in (first, second):
        folder = stored_folder(client, promoted.model_id) / tags.REFERENCE_FOLDER
        sizes[promoted.version] = sum(f.stat().st_size for f in folder.iterdir())
    assert max(sizes.values()) < 8 * 2**20  # a few MB, whatever X is
    one, two = load_reference("models:/big/1"), load_reference("models:/big/2")
    pd.testing.assert_frame_equal(one.sample, two.sample)  # seeded: the same rows twice
    assert len(one.sample) == 10_000 and one.profile["rows"] == 200_000
    rows = expected_rows(len(X), 10_000)
    expected = X.iloc[rows].reset_index(drop=True)
    np.testing.assert_array_equal(one.sample["prediction"], model.predict(X.iloc[rows]))
    np.testing.assert_array_equal(one.sample["amount"], expected["amount"])
    assert one.sample["note"].str.len().max() == reference.TEXT_CHARS
    assert (
        dict(one.profile["columns"]["channel"]["levels"]) == X["channel"].value_counts().to_dict()
    )
    assert dict(one.profile["columns"]["note"]["levels"]) == {
        k[: reference.TEXT_CHARS]: v for k, v in X["note"].value_counts().items()
    }

    # what monitor will do: drift of the reference sample against production inputs
    stable = compare(one.features(), one.comparable(X))
    assert stable["drifted"] == [] and set(stable["columns"]) == set(X.columns)
    shifted = X.copy()
    shifted["amount"] = shifted["amount"] * 2
    rng = np.random.default_rng(11)
    shifted["channel"] = rng.choice(["web", "shop", "phone"], len(X), p=[0.4, 0.3, 0.3])
    moved = compare(one.features(), one.comparable(shifted))
    assert sorted(moved["drifted"]) == ["amount", "channel"]


def test_a_version_without_a_reference_says_so_in_one_line(ip, project, client):
    ip.run_cell(textwrap.dedent(NOTEBOOK)).raise_error()
    X, model = ip.user_ns["X"], ip.user_ns["model"]
    old = mlops.promote(model, "old", X=X, reference=False)  # as promoted before this change
    assert not (stored_folder(client, old.model_id) / tags.REFERENCE_FOLDER).exists()
    message = one_line_refusal("models:/old/1")
    assert message == (
        "models:/old/1 has no training reference (promoted before references were kept, or "
        "without X): promote it again with X to keep one"
    )
    card = (stored_folder(client, old.model_id) / tags.MODEL_CARD).read_text(encoding="utf-8")
    assert "No training reference is kept with this version (promoted with reference=False)" in card
    ip.run_line_magic("mlops", "promote model --name quiet --X X --no-reference")
    source = client.get_model_version("quiet", "1").source  # models:/m-<id> in MLflow 3
    folder = stored_folder(client, source.removeprefix("models:/"))
    assert (folder / "MLmodel").exists() and not (folder / tags.REFERENCE_FOLDER).exists()
    bare = mlops.promote(model, "bare")  # no X: no reference, and the card says why
    card = (stored_folder(client, bare.model_id) / tags.MODEL_CARD).read_text(encoding="utf-8")
    assert "No training reference is kept with this version (promoted without X)" in card
    assert one_line_refusal("models:/bare/1").startswith("models:/bare/1 has no training ref")


def test_odd_columns_are_sampled_as_text_dropped_or_named_apart(tmp_path):
    frame = pd.DataFrame(
        {
            "mixed": [1, "a", 2.5, None] * 5,
            "lists": [[1], [2], [3], [4]] * 5,
            "prediction": np.arange(20.0),
            3: pd.Categorical(["u", "v"] * 10),
        }
    )
    files = build_reference(frame, np.arange(20) % 2, max_rows=8)
    profile = json.loads(files["profile.json"])
    assert profile["columns"]["lists"]["kind"] == "other"
    assert profile["sample"]["dropped"] == {"lists": reference.NOT_COUNTABLE}
    assert profile["sample"]["as_text"] == ["mixed"]
    assert profile["predictions"]["columns"] == ["_prediction"]  # apart from X's own column
    assert profile["predictions"]["over"] == "training" and profile["sample"]["rows"] == 8
    path = tmp_path / "sample.parquet"
    path.write_bytes(files["sample.parquet"])
    sample = read_sample(path, "models:/x/1", 8)
    assert list(sample.columns) == ["mixed", "prediction", "3", "_prediction"]
    rows = expected_rows(20, 8, max_rows=8)
    assert [None if pd.isna(v) else v for v in sample["mixed"]] == [
        None if v is None else str(v) for v in frame["mixed"].iloc[rows]
    ]
    np.testing.assert_array_equal(sample["_prediction"], (np.arange(20) % 2)[rows])
    # production rows prepared as the sample was: the mixed column as text, names as text
    ref = Reference("models:/x/1", profile, path)
    ready = ref.comparable(frame.drop(columns="lists"))
    assert list(ready.columns) == ["mixed", "prediction", "3"]
    assert [None if pd.isna(v) else v for v in ready["mixed"][:4]] == ["1", "a", "2.5", None]
    assert list(ref.features().columns) == ["mixed", "prediction", "3"]

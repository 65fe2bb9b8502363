"""Promotion: notebook models packaged, checked in a fresh process, registered, loaded elsewhere."""

from __future__ import annotations

import html
import json
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from mlflow import MlflowClient

import jupyter_mlops as mlops
from jupyter_mlops.core.registry.promote import PromoteError
from tests.conftest import kernel_env

NOTEBOOK = """
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler


def log_area(X):
    X = X.copy()
    X["mean area"] = np.log(X["mean area"])
    return X


class Ratio(BaseEstimator, TransformerMixin):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = X.copy()
        X["ratio"] = X["mean radius"] / X["mean texture"]
        return X


X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X = X.iloc[:, :8]
X["size"] = np.where(X["mean radius"] > 15, "large", "small")
encode = ColumnTransformer(
    [("size", OneHotEncoder(handle_unknown="ignore"), ["size"])], remainder=StandardScaler()
)
model = make_pipeline(
    FunctionTransformer(log_area), Ratio(), encode, LogisticRegression(max_iter=5000)
).fit(X, y)
"""

# runs in a fresh interpreter, in another folder, with only the store's URI to go on
LOAD_ELSEWHERE = """
import json, pickle, sys, warnings
import mlflow, pandas as pd
uri, sample, out = sys.argv[1:4]
X = pd.read_pickle(sample)
model = mlflow.pyfunc.load_model(uri)
result = {"predictions": model.predict(X), "in_sys_path": [p for p in sys.path if "code" in p]}
try:
    model.predict(X.drop(columns=["mean texture"]))
except Exception as exc:
    result["missing"] = f"{type(exc).__name__}: {exc}"
odd = X.head(3).copy()
odd.loc[odd.index[0], "mean radius"] = 1e6
odd.loc[odd.index[1], "size"] = "gigantic"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model.predict(odd)
result["warnings"] = [str(w.message) for w in caught if w.category.__name__ == "ContractWarning"]
try:
    model.predict(odd, params={"on_violation": "raise"})
except Exception as exc:
    result["raised"] = f"{type(exc).__name__}: {exc}"
with open(out, "wb") as f:
    pickle.dump(result, f)
"""


def cell(ip, code: str) -> None:
    ip.run_cell(textwrap.dedent(code), store_history=True).raise_error()


def load_elsewhere(
    tmp_path: Path, uri: str, tracking_uri: str, X: pd.DataFrame, script: str = LOAD_ELSEWHERE
) -> dict:
    """Load ``uri`` in a fresh ``python -I`` in an empty folder and run ``script`` (by default:
    predict and probe the contract); the pickled dict it writes."""
    where = tmp_path / "elsewhere"
    where.mkdir(exist_ok=True)
    sample, out = where / "X.pkl", where / "out.pkl"
    X.to_pickle(sample)
    env = kernel_env()
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", script, uri, str(sample), str(out)],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return pickle.loads(out.read_bytes())


def download(model_id: str, where: Path, project: Path) -> Path:
    import mlflow

    return Path(
        mlflow.artifacts.download_artifacts(
            f"models:/{model_id}", dst_path=str(where), tracking_uri=store_uri(project)
        )
    )


def store_uri(project: Path) -> str:
    return f"sqlite:///{(project / '.mlops' / 'mlflow.db').as_posix()}"


def test_promoted_pipeline_with_notebook_code_loads_by_alias_elsewhere(
    ip, project, client, tmp_path, capsys
):
    cell(ip, NOTEBOOK)
    ip.run_line_magic("mlops", "track start -e promo -n fit --no-autolog")
    ip.run_line_magic("mlops", "log accuracy=0.97")
    ip.run_line_magic(
        "mlops", 'promote model --name cancer --X X --y y --alias staging --description "v1"'
    )
    printed = capsys.readouterr().out
    assert "models:/cancer@staging (version 1)" in printed
    ip.run_line_magic("mlops", "track stop")

    X, model = ip.user_ns["X"], ip.user_ns["model"]
    got = load_elsewhere(tmp_path, "models:/cancer@staging", store_uri(project), X)
    # 1. exactly what the notebook predicts
    assert np.array_equal(got["predictions"], model.predict(X))
    # 2. the contract: a missing column raises naming it; odd values warn naming the columns
    assert got["missing"].startswith("ContractError") and "mean texture" in got["missing"]
    warned = " ".join(got["warnings"])
    assert "mean radius" in warned and "size" in warned and "gigantic" in warned
    assert got["raised"].startswith("ContractError") and "mean radius" in got["raised"]

    # 3. the artifact: notebook code as source, contract.json, MODEL_CARD.md naming the run
    mv = client.get_model_version_by_alias("cancer", "staging")
    assert str(mv.version) == "1" and mv.description == "v1"
    assert mv.source.startswith("models:/m-")  # sqlite keeps the link in the source only
    model_id = mv.model_id or mv.source.removeprefix("models:/")
    run = client.get_run(mv.run_id)
    assert run.info.run_name == "fit"
    assert mv.tags["mlops.verified"] == "true" and mv.tags["mlops.run_id"] == mv.run_id
    logged = client.get_logged_model(model_id)
    assert str(logged.status) in ("READY", "LoggedModelStatus.READY")
    assert logged.source_run_id == mv.run_id
    files = {a.path for a in client.list_logged_model_artifacts(model_id)}
    assert {"MLmodel", "MODEL_CARD.md", "contract.json", "requirements.txt"} <= files
    folder = download(model_id, tmp_path / "dl", project)
    code = list((folder / "code").glob("notebook_cancer_*.py"))
    assert len(code) == 1
    source = code[0].read_text()
    assert "class Ratio(BaseEstimator, TransformerMixin):" in source
    assert "def log_area(X):" in source
    assert not list(folder.rglob("__pycache__"))
    card = (folder / "MODEL_CARD.md").read_text()
    assert mv.run_id in card and "models:/cancer@staging" in card and "| Version | 1 |" in card
    assert "accuracy" in card and "classification" in card
    contract = json.loads((folder / "contract.json").read_text())
    assert [c["name"] for c in contract["columns"]] == list(X.columns)
    requirements = (folder / "requirements.txt").read_text()
    assert "scikit-learn==" in requirements and "mlflow==" in requirements
    assert "mlflow-skinny" not in requirements
    # the run lists the model among its outputs and says what it promoted
    assert model_id in [o.model_id for o in run.outputs.model_outputs]
    assert run.data.tags["mlops.promoted.cancer"] == "1@staging"

    # a second promotion is version 2; the alias moves and the card says so
    promoted = mlops.promote(model, "cancer", X=X, y=y_of(ip), alias="staging")
    assert promoted.version == "2" and promoted.uri == "models:/cancer@staging"
    assert str(client.get_model_version_by_alias("cancer", "staging").version) == "2"
    card = (download(promoted.model_id, tmp_path / "dl2", project) / "MODEL_CARD.md").read_text()
    assert "| Version | 2 |" in card
    # promoted outside a run: a short run of its own, finished
    assert client.get_run(promoted.run_id).info.run_name == "promote cancer"
    assert client.get_run(promoted.run_id).info.status == "FINISHED"


def y_of(ip):
    return ip.user_ns["y"]


def registered_names(client) -> list[str]:
    return [m.name for m in client.search_registered_models()]


def test_code_that_cannot_be_recovered_is_not_registered(ip, project, client):
    cell(ip, NOTEBOOK)
    cell(
        ip,
        """
        from sklearn.preprocessing import FunctionTransformer
        exec("def hidden(X):\\n    return X\\n")
        Xn = X.drop(columns="size")
        opaque = make_pipeline(FunctionTransformer(hidden), LogisticRegression(max_iter=5000))
        opaque.fit(Xn, y)
        """,
    )
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("mlops", "promote opaque --name opaque --X Xn")
    message = str(caught.value)
    assert message.startswith("not registered:") and "hidden" in message
    assert "\n" not in message
    assert "opaque" not in registered_names(client)


def test_predictions_that_change_after_reloading_are_not_registered(ip, project, client):
    cell(ip, NOTEBOOK)
    cell(
        ip,
        """
        import os

        class ProcessBound:
            \"\"\"Predicts its own process id: a model that is not what it was once reloaded.\"\"\"

            def fit(self, X, y=None):
                return self

            def predict(self, X):
                return np.full(len(X), os.getpid())

        bound = ProcessBound().fit(X)
        """,
    )
    with pytest.raises(PromoteError, match="predicts differently") as caught:
        mlops.promote(ip.user_ns["bound"], "bound", X=ip.user_ns["X"], alias="prod")
    assert "sample rows differ" in str(caught.value)
    assert "bound" not in registered_names(client)
    assert (
        client.search_logged_models(
            experiment_ids=[e.experiment_id for e in client.search_experiments()]
        )
        == []
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("promote model --name 'bad name' --X X", "invalid model name 'bad name'"),
        ("promote model --name ok --alias latest --X X", "alias 'latest' is reserved"),
        ("promote model --name ok --alias v3 --X X", "alias 'v3' is reserved"),
        ("promote model --name ok --X X --y y.head(5)", "y has 5 values but X has 569 rows"),
        ("promote nothing_here --name ok", "cannot evaluate 'nothing_here'"),
        ("promote X --name ok", "DataFrame has no predict method"),
        ("promote model", "the following arguments are required: --name"),
    ],
)
def test_bad_arguments_are_one_line(ip, project, client, line, expected):
    cell(ip, NOTEBOOK)
    with pytest.raises(UsageError) as caught:
        ip.run_line_magic("mlops", line)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert registered_names(client) == []


def test_array_features_and_no_x(ip, project, client, tmp_path):
    cell(ip, NOTEBOOK)
    cell(
        ip,
        """
        from sklearn.linear_model import Ridge
        def scaled(X):
            return X / 10.0
        Xa = X.iloc[:, :4].to_numpy()
        ridge = make_pipeline(FunctionTransformer(scaled), Ridge()).fit(Xa, y)
        """,
    )
    ns = ip.user_ns
    promoted = mlops.promote(ns["ridge"], "ridge", X=ns["Xa"], y=ns["y"])
    assert promoted.uri == "models:/ridge/1" and promoted.verification["rows"] == 500
    import mlflow

    loaded = mlflow.pyfunc.load_model(f"models:/{promoted.model_id}")
    assert np.array_equal(loaded.predict(ns["Xa"][:7]), ns["ridge"].predict(ns["Xa"][:7]))
    bare = mlops.promote(ns["ridge"], "ridge", alias="bare")
    assert bare.version == "2" and bare.verification["rows"] == 0
    assert "not compared" in bare.summary()


def test_promotion_against_a_server(ip, project, tmp_path, mlflow_server):
    cell(ip, NOTEBOOK)
    ns = ip.user_ns
    with mlops.track(experiment="remote-promo", tracking_uri=mlflow_server, autolog=False):
        promoted = mlops.promote(ns["model"], "remote-cancer", X=ns["X"], alias="staging")
    assert promoted.version == "1"
    got = load_elsewhere(tmp_path, "models:/remote-cancer@staging", mlflow_server, ns["X"])
    assert np.array_equal(got["predictions"], ns["model"].predict(ns["X"]))
    server = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    assert str(server.get_model_version_by_alias("remote-cancer", "staging").version) == "1"
    # its files' digests checked after a download through the server's artifact proxy
    loaded = mlops.load_model("models:/remote-cancer@staging", tracking_uri=mlflow_server)
    assert np.array_equal(loaded.predict(ns["X"]), ns["model"].predict(ns["X"]))
    assert not (project / ".mlops").exists()


# a frame with the dtypes MLflow's signature cannot hold as they are: a pandas Categorical, a
# nullable Int64 with missing values; and a datetime and a boolean, which it can
HOMES = """
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder


def days_listed(X):
    return X.apply(lambda s: (s - pd.Timestamp("2024-01-01")).dt.days).to_numpy(dtype=float)


rng = np.random.default_rng(11)
n = 600
homes = pd.DataFrame(
    {
        "color": pd.Categorical(
            rng.choice(["red", "green", "blue"], n), categories=["red", "green", "blue"]
        ),
        "rooms": pd.array(
            np.where(rng.random(n) < 0.2, None, rng.integers(1, 7, n)), dtype="Int64"
        ),
        "listed": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
        "garden": rng.random(n) < 0.4,
    }
)
score = (
    (homes["color"] == "red").to_numpy() * 1.5
    + homes["rooms"].fillna(2).to_numpy(dtype=float) * 0.6
    - (homes["listed"] - pd.Timestamp("2024-01-01")).dt.days.to_numpy() / 120
    + homes["garden"].to_numpy() * 1.2
)
sold = (score + rng.normal(0, 0.8, n) > score.mean()).astype(int)
features = ColumnTransformer(
    [
        ("color", OneHotEncoder(handle_unknown="ignore"), ["color"]),
        ("rooms", SimpleImputer(strategy="median"), ["rooms"]),
        ("listed", FunctionTransformer(days_listed), ["listed"]),
    ],
    remainder="passthrough",  # garden
)
houses = make_pipeline(features, LogisticRegression(max_iter=5000)).fit(homes, sold)
"""

# in a fresh interpreter: the frame itself, then MLflow's scoring server fed that frame as a
# client sends it (JSON: categories as text, Int64 nulls as null, datetimes as ISO text)
HOMES_ELSEWHERE = """
import json, pickle, sys, warnings
import mlflow, pandas as pd
from fastapi.testclient import TestClient
from mlflow.pyfunc import scoring_server
uri, sample, out = sys.argv[1:4]
X = pd.read_pickle(sample)
model = mlflow.pyfunc.load_model(uri)
result = {"predictions": model.predict(X)}
body = json.dumps(
    {"dataframe_split": json.loads(X.to_json(orient="split", index=False, date_format="iso"))}
)
served = TestClient(scoring_server.init(model)).post(
    "/invocations", content=body, headers={"Content-Type": "application/json"}
)
result["served"] = (served.status_code, served.json())
odd = X.head(3).astype({"color": "str"})
odd.loc[odd.index[0], "color"] = "purple"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    result["odd"] = model.predict(odd)
result["warnings"] = [str(w.message) for w in caught if w.category.__name__ == "ContractWarning"]
try:
    model.predict(X.drop(columns=["rooms"]))
except Exception as exc:
    result["missing"] = f"{type(exc).__name__}: {exc}"
with open(out, "wb") as f:
    pickle.dump(result, f)
"""


def test_categorical_nullable_int_datetime_and_bool_columns_promote_and_serve(
    ip, project, client, tmp_path
):
    cell(ip, HOMES)
    ns = ip.user_ns
    X, model = ns["homes"], ns["houses"]
    assert X["rooms"].isna().sum() > 0 and isinstance(X["color"].dtype, pd.CategoricalDtype)
    promoted = mlops.promote(model, name="homes", X=X, y=ns["sold"], alias="staging")
    assert promoted.verification["rows"] == 500

    got = load_elsewhere(
        tmp_path, "models:/homes@staging", store_uri(project), X, script=HOMES_ELSEWHERE
    )
    expected = model.predict(X)
    assert np.array_equal(got["predictions"], expected)
    status, body = got["served"]
    assert status == 200, body
    assert np.array_equal(np.asarray(body["predictions"]), expected)
    odd = X.head(3).astype({"color": "str"})
    odd.loc[odd.index[0], "color"] = "purple"
    assert np.array_equal(got["odd"], model.predict(odd))  # the unseen level is one-hot zeros
    assert got["warnings"] == ["color: 1 row with unseen categories ('purple')"]
    assert got["missing"] == "ContractError: missing column the model was trained on: rooms"

    folder = download(promoted.model_id, tmp_path / "dl", project)
    columns = {c["name"]: c for c in json.loads((folder / "contract.json").read_text())["columns"]}
    assert columns["color"]["family"] == "category"
    assert columns["color"]["categories"] == ["red", "green", "blue"]
    assert columns["rooms"]["family"] == "integer" and columns["rooms"]["dtype"] == "Int64"
    assert columns["rooms"]["null_rate"] == float(f"{X['rooms'].isna().mean():.4g}") > 0
    assert columns["listed"]["family"] == "datetime"
    assert columns["garden"]["family"] == "boolean"
    from mlflow.models import Model

    signature = Model.load(str(folder / "MLmodel")).signature.inputs.to_dict()
    types = {c["name"]: c["type"] for c in signature}
    assert types == {"color": "any", "rooms": "any", "listed": "datetime", "garden": "boolean"}


def test_columns_mlflow_cannot_enforce_are_left_to_the_contract(ip, project):
    """MLflow's datetime refuses timezone-aware values, even the training frame's; its long
    refuses the nulls a nullable Int64 may get, even one that had none in training. Such columns
    are ``Any`` in the signature: the contract checks them and gives back their dtypes."""
    cell(
        ip,
        """
        import numpy as np
        import pandas as pd
        from sklearn.linear_model import LinearRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import FunctionTransformer

        def hour_of_day(X):
            return np.column_stack([X["at"].dt.hour, X["load"]])

        meter = pd.DataFrame(
            {
                "at": pd.date_range("2024-03-30", periods=96, freq="h", tz="Europe/Oslo"),
                "load": np.linspace(1.0, 3.0, 96),
                "phase": pd.array(np.arange(96) % 3 + 1, dtype="Int64"),
            }
        )
        usage = meter["at"].dt.hour * 0.5 + meter["load"]
        meters = make_pipeline(FunctionTransformer(hour_of_day), LinearRegression())
        meters.fit(meter, usage)
        """,
    )
    ns = ip.user_ns
    X, model = ns["meter"], ns["meters"]
    promoted = mlops.promote(model, "meters", X=X)
    import mlflow

    loaded = mlflow.pyfunc.load_model(promoted.uri)
    assert {c.name: repr(c.type) for c in loaded.metadata.get_input_schema().inputs} == {
        "at": "Any",
        "load": "double",
        "phase": "Any",
    }
    assert np.array_equal(loaded.predict(X), model.predict(X))
    as_utc_text = X.assign(at=X["at"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert np.array_equal(loaded.predict(as_utc_text), model.predict(X))
    phase = X["phase"].astype(float).where(X.index != 5)  # what JSON makes of a null in it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert np.array_equal(loaded.predict(X.assign(phase=phase)), model.predict(X))
    # the shipped copy's ContractWarning: a class of its own, the same name
    said = [str(w.message) for w in caught if w.category.__name__ == "ContractWarning"]
    assert said == ["phase: 1 row missing (none in training)"]
    with pytest.raises(mlops.MlopsError, match="at: expected timezone-aware datetimes"):
        loaded.predict(X.assign(at=X["at"].dt.tz_localize(None)))


def test_a_held_alias_registers_without_moving(ip, project, client, tmp_path, monkeypatch, capsys):
    from jupyter_mlops.core.tracking import HOLD_ALIASES_ENV
    from jupyter_mlops.display.promote import promotion_html

    cell(
        ip,
        """
        from sklearn.datasets import load_breast_cancer
        from sklearn.linear_model import LogisticRegression
        X, y = load_breast_cancer(return_X_y=True, as_frame=True)
        X = X.iloc[:, :4]
        plain = LogisticRegression(max_iter=5000).fit(X, y)
        """,
    )
    ns = ip.user_ns
    first = mlops.promote(ns["plain"], "held", X=ns["X"], alias="staging")
    assert first.uri == "models:/held@staging" and first.held_alias is None
    assert first.held_note is None and "not moved" not in first.summary()

    monkeypatch.setenv(HOLD_ALIASES_ENV, "1")  # what the runner sets in a sweep point's kernel
    held = mlops.promote(ns["plain"], "held", X=ns["X"], alias="staging")
    assert (held.version, held.alias, held.held_alias) == ("2", None, "staging")
    assert held.uri == "models:/held/2" and held.to_dict()["held_alias"] == "staging"
    assert str(client.get_model_version_by_alias("held", "staging").version) == "1"
    mv = client.get_model_version("held", "2")
    assert mv.tags["mlops.alias.held"] == "staging"
    assert "mlops.alias.held" not in client.get_model_version("held", "1").tags
    assert client.get_run(held.run_id).data.tags["mlops.promoted.held"] == "2"
    line = (
        "alias 'staging' not moved: promotions inside a sweep point or a reproduction only "
        "register (use `jupyter mlops sweep --best METRIC --alias staging`)"
    )
    assert held.summary().splitlines()[1] == line and line in repr(held)
    assert html.escape(line) in promotion_html(held)
    card = (download(held.model_id, tmp_path / "dl", project) / "MODEL_CARD.md").read_text()
    assert "models:/held/2" in card and "@staging" not in card

    capsys.readouterr()
    ip.run_line_magic("mlops", "promote plain --name held --X X --alias staging")
    assert capsys.readouterr().out.splitlines()[:2] == ["models:/held/3 (version 3)", line]
    assert str(client.get_model_version_by_alias("held", "staging").version) == "1"

    monkeypatch.setenv(HOLD_ALIASES_ENV, "0")  # "0" holds nothing
    moved = mlops.promote(ns["plain"], "held", X=ns["X"], alias="staging")
    assert moved.alias == "staging" and moved.held_alias is None
    assert str(client.get_model_version_by_alias("held", "staging").version) == "4"

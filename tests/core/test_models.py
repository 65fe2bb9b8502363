"""mlops.models / set_alias over a real sqlite registry with real logged scikit-learn models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mlops.core.registry.models import MODEL_COLUMNS, VERSION_COLUMNS, models, set_alias
from jupyter_mlops.errors import MlopsError
from tests.conftest import ENV_VARS, client_for, kernel_env

ODD = 'it\'s "odd" 100%'  # no escape in MLflow's filter syntax covers this name
DECOY = "it-s -odd- 100-"  # matches the LIKE pattern used for ODD, must not be mixed in


def log_model(experiment: str = "models"):
    """A tiny fitted model logged in a real run of the project's store: (run, model info)."""
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    import jupyter_mlops as mlops

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    with mlops.track(experiment=experiment, autolog=False) as run:
        # explicit requirements: inferring them costs ~2.5 s and is not what is tested here
        info = mlflow.sklearn.log_model(model, name="m", pip_requirements=["scikit-learn"])
    return run, info


def register(info, name: str, times: int = 1) -> list:
    import mlflow

    return [mlflow.register_model(info.model_uri, name) for _ in range(times)]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    """One store shared by the read-only tests: six models, aliases, a model with no version."""
    root = tmp_path_factory.mktemp("registry")
    (root / ".mlops").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        for name in ENV_VARS:
            mp.delenv(name, raising=False)
        mp.chdir(root)
        run, info = log_model()
        register(info, "churn", 3)
        register(info, "sales")
        register(info, "pager", 5)
        register(info, ODD)
        register(info, DECOY, 2)
    client = client_for(root)
    client.create_registered_model("draft", description="nothing promoted yet")
    client.update_registered_model("churn", "<script>alert('x')</script> predicts churn")
    client.set_registered_model_tag("churn", "team", "crm")
    client.update_model_version("churn", "3", "candidate")
    client.set_model_version_tag("churn", "3", "validated", "yes")
    client.set_registered_model_alias("churn", "champion", "2")
    client.set_registered_model_alias("churn", "staging", "3")
    client.set_registered_model_alias("sales", "prod", "1")
    return {"uri": client.tracking_uri, "run_id": run.run_id, "info": info, "client": client}


NAMES = sorted(["churn", "sales", "pager", ODD, DECOY, "draft"], key=lambda n: (n.lower(), n))


def test_listing_has_one_row_per_model(registry) -> None:
    table = models(tracking_uri=registry["uri"])
    assert table.kind == "models" and table.name is None
    assert [row["name"] for row in table.rows] == NAMES
    rows = {row["name"]: row for row in table.rows}
    churn = rows["churn"]
    assert churn["latest_version"] == 3 and churn["versions"] == 3
    assert churn["aliases"] == {"staging": 3, "champion": 2}
    assert list(churn["aliases"]) == ["staging", "champion"]  # newest version first
    assert churn["tags"] == {"team": "crm"}
    assert churn["description"].startswith("<script>")
    assert churn["last_updated"] >= churn["created"]
    assert (rows["pager"]["versions"], rows[DECOY]["versions"], rows[ODD]["versions"]) == (5, 2, 1)
    assert rows["draft"] | {"created": None, "last_updated": None} == {
        "name": "draft",
        "description": "nothing promoted yet",
        "latest_version": None,
        "aliases": {},
        "versions": 0,
        "created": None,
        "last_updated": None,
        "tags": {},
    }
    data = table.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["kind"] == "models" and data["registry_uri"] == registry["uri"]
    assert list(rows["sales"]) == MODEL_COLUMNS


def test_versions_are_newest_first_with_their_aliases(registry) -> None:
    table = models("churn", tracking_uri=registry["uri"])
    assert table.kind == "versions" and table.name == "churn" and len(table) == 3
    assert [row["version"] for row in table] == [3, 2, 1]
    assert [row["aliases"] for row in table] == [["staging"], ["champion"], []]
    newest = table.rows[0]
    assert list(newest) == VERSION_COLUMNS
    assert newest["name"] == "churn" and newest["status"] == "READY"
    assert newest["run_id"] == registry["run_id"]
    assert newest["source"] == registry["info"].model_uri
    assert newest["model_id"] == registry["info"].model_id
    assert newest["description"] == "candidate" and newest["tags"] == {"validated": "yes"}
    assert table.rows[1]["description"] is None and table.rows[1]["tags"] == {}
    assert json.loads(json.dumps(table.to_dict()))["rows"] == table.rows


def test_every_page_is_read(registry) -> None:
    client = registry["client"]
    assert client.search_registered_models(max_results=2).token  # more than one page exists
    assert client.search_model_versions("name = 'pager'", max_results=2).token
    whole = models(tracking_uri=registry["uri"])
    paged = models(tracking_uri=registry["uri"], page_size=2)
    assert paged.rows == whole.rows and len(paged) == 6
    versions = models("pager", tracking_uri=registry["uri"], page_size=2)
    assert [row["version"] for row in versions] == [5, 4, 3, 2, 1]


def test_names_that_need_quoting_find_only_their_own_versions(registry) -> None:
    odd = models(ODD, tracking_uri=registry["uri"])
    assert [(row["name"], row["version"]) for row in odd] == [(ODD, 1)]
    decoy = models(DECOY, tracking_uri=registry["uri"])
    assert [(row["name"], row["version"]) for row in decoy] == [(DECOY, 2), (DECOY, 1)]


def test_a_model_without_versions_says_so(registry) -> None:
    table = models("draft", tracking_uri=registry["uri"])
    assert table.rows == []
    assert repr(table) == (
        "Model 'draft' has no versions yet: promote one with %mlops promote MODEL --name draft"
    )
    assert list(table.to_frame().columns) == VERSION_COLUMNS


def test_unknown_name_is_one_line_naming_the_registered(registry) -> None:
    with pytest.raises(MlopsError) as caught:
        models("chrun", tracking_uri=registry["uri"])
    message = str(caught.value)
    assert message.startswith("no registered model named 'chrun' (did you mean 'churn'?); ")
    assert message.endswith("registered: " + ", ".join(NAMES))
    assert "\n" not in message
    with pytest.raises(MlopsError, match="no registered model named 'nope'"):
        set_alias("nope", "prod", 1, tracking_uri=registry["uri"])


def test_unknown_name_in_an_empty_store(project: Path) -> None:
    with pytest.raises(MlopsError) as caught:
        models("churn")
    assert str(caught.value) == "no registered model named 'churn'; none registered yet"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "a registered model name cannot be empty"),
        ("   ", "a registered model name cannot be empty"),
        ("churn\n", "model name 'churn\\n' contains a control character"),
        ("a\x00b", "contains a control character"),
        ("x" * 300, "model name is 300 characters long; the registry allows at most 256"),
        ("models:/churn@prod", "model names cannot contain '/' or ':'"),
    ],
)
def test_bad_names_are_one_line(project: Path, name: str, message: str) -> None:
    with pytest.raises(MlopsError) as caught:
        models(name)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not (project / ".mlops").exists()  # checked before the store is touched


def test_empty_store_is_friendly(project: Path) -> None:
    table = models()  # the project's default store, created on first use
    assert (project / ".mlops" / "mlflow.db").is_file()
    assert table.rows == [] and len(table) == 0
    empty = "No registered models yet: promote one with %mlops promote MODEL --name NAME"
    assert repr(table) == empty
    assert empty in table._repr_html_()
    frame = table.to_frame()
    assert frame.empty and list(frame.columns) == MODEL_COLUMNS


def test_to_frame(registry) -> None:
    import pandas as pd

    frame = models(tracking_uri=registry["uri"]).to_frame()
    assert list(frame.columns) == MODEL_COLUMNS and len(frame) == 6
    assert isinstance(frame["last_updated"].dtype, pd.DatetimeTZDtype)
    assert frame.set_index("name")["latest_version"].to_dict()["churn"] == 3
    assert frame.set_index("name")["latest_version"].isna()["draft"]
    versions = models("churn", tracking_uri=registry["uri"]).to_frame()
    assert list(versions.columns) == VERSION_COLUMNS
    assert versions["version"].tolist() == [3, 2, 1]
    assert str(versions["created"].dt.tz) == "UTC"


def test_html_and_text_escape_and_show_aliases(registry) -> None:
    listing = models(tracking_uri=registry["uri"])
    html = listing._repr_html_()
    assert "<script" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "mlops-models" in html and "staging &rarr; v3" in html
    assert "it&#x27;s &quot;odd&quot; 100%" in html
    text = repr(listing)
    assert text.splitlines()[0] == f"Registered models: 6 ({registry['uri']})"
    assert "staging=v3 champion=v2" in text
    versions = models("churn", tracking_uri=registry["uri"])
    html = versions._repr_html_()
    assert "<script" not in html and "models:/churn@staging" in html
    assert registry["run_id"] in html and registry["info"].model_id in html
    assert repr(versions).splitlines()[0].startswith("Model 'churn': 3 versions, newest first")


def test_set_alias_points_and_moves(project: Path, client) -> None:
    _, info = log_model()
    register(info, "churn", 2)
    row = set_alias("churn", "staging", 1)
    assert row["version"] == 1 and row["aliases"] == ["staging"] and row["name"] == "churn"
    row = set_alias("churn", "staging", "2")  # an alias moves: one version at a time
    assert row["version"] == 2 and row["aliases"] == ["staging"]
    assert client.get_model_version_by_alias("churn", "staging").version in (2, "2")
    assert [r["aliases"] for r in models("churn")] == [["staging"], []]
    assert models().rows[0]["aliases"] == {"staging": 2}


@pytest.mark.parametrize(
    ("alias", "version", "message"),
    [
        ("latest", 1, "alias 'latest' is reserved by MLflow"),
        ("Latest", 1, "alias 'Latest' is reserved by MLflow"),
        ("v3", 1, "alias 'v3' is reserved by MLflow (it means version 3)"),
        ("V10", 1, "alias 'V10' is reserved by MLflow"),
        ("a b", 1, "alias 'a b' may only contain letters, digits, '_' and '-'"),
        ("prod/eu", 1, "may only contain letters, digits, '_' and '-'"),
        ("", 1, "an alias cannot be empty"),
        ("a" * 256, 1, "the registry allows at most 255"),
        ("prod", 9, "model 'churn' has no version 9; versions: 1"),
        ("prod", "two", "a model version is a whole number such as 3, not 'two'"),
        ("prod", 0, "a model version is a whole number such as 3, not 0"),
        ("prod", True, "a model version is a whole number such as 3, not True"),
    ],
)
def test_set_alias_mistakes_are_one_line(project: Path, alias, version, message: str) -> None:
    if "no version" in message:
        _, info = log_model()
        register(info, "churn")
    with pytest.raises(MlopsError) as caught:
        set_alias("churn", alias, version)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    if "no version" in message:
        assert models("churn").rows[0]["aliases"] == []
    else:
        assert not (project / ".mlops").exists()  # checked before the store is touched


def test_importing_stays_light() -> None:
    code = (
        "import sys, jupyter_mlops.core.registry.models, jupyter_mlops.display.models, "
        "jupyter_mlops.magics.models\n"
        "print(sorted({'mlflow', 'pandas', 'sklearn'} & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=kernel_env(), check=True
    )
    assert out.stdout.strip() == "[]"

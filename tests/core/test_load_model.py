"""mlops.load_model: a promoted model's files are checked against the digests on its version
before anything of it is imported (a real sqlite store, a real promotion, the artifact store
tampered with on disk as someone with write access to it would)."""

from __future__ import annotations

import importlib.util
import json
import py_compile
import shutil
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import mlflow
import numpy as np
import pytest

import jupyter_mlops as mlops
from jupyter_mlops import ArtifactDigestError, UnverifiedModelWarning
from jupyter_mlops.core import tags
from jupyter_mlops.core.registry import digests
from jupyter_mlops.errors import NotFoundError

NOTEBOOK = """
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer


def doubled(X):
    return X * 2.0


X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X = X.iloc[:, :4]
clf = make_pipeline(FunctionTransformer(doubled), LogisticRegression(max_iter=5000)).fit(X, y)
"""


def artifact_folder(client, model_id: str) -> Path:
    location = client.get_logged_model(model_id).artifact_location
    return Path(location.removeprefix("file://"))


def refused(uri: str) -> str:
    with pytest.raises(ArtifactDigestError) as caught:
        mlops.load_model(uri)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(uri) and message.endswith("not loaded")
    return message


def test_load_model_checks_every_file_before_importing_any(
    ip, project, client, tmp_path, monkeypatch, capfd
):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the kept downloads land here
    ip.run_cell(textwrap.dedent(NOTEBOOK)).raise_error()
    X, model = ip.user_ns["X"], ip.user_ns["clf"]
    promoted = mlops.promote(model, "diab", X=X, alias="staging")
    stored = artifact_folder(client, promoted.model_id)
    tag = client.get_model_version("diab", "1").tags[tags.ARTIFACT_SHA256]
    recorded = json.loads(tag)
    # `%mlops models diab` shows the long tag cut short (whole on hover), not a wide cell
    page = mlops.models("diab")._repr_html_()
    assert f"… ({len(tag):,} characters)</code>" in page and len(tag) > 1000
    assert recorded == {"files": digests.folder_sha256(stored)}
    (module,) = (stored / "code").glob("notebook_diab_*.py")
    assert {"MLmodel", "contract.json", "MODEL_CARD.md", "data/model/model.pkl"} < set(
        recorded["files"]
    )
    assert f"code/{module.name}" in recorded["files"]
    monkeypatch.delitem(sys.modules, module.stem, raising=False)

    # 1. the notebook's code module rewritten to leave a mark when imported: refused by name,
    # before anything of it ran; MLflow's own loader, unchecked, would have run it
    marker = tmp_path / "imported"
    original = module.read_text()
    module.write_text(f"open({str(marker)!r}, 'w').close()\n{original}")
    message = refused("models:/diab@staging")
    assert f"code/{module.name} was modified after promotion" in message
    assert not marker.exists() and module.stem not in sys.modules
    mlflow.pyfunc.load_model(f"models:/{promoted.model_id}")  # what the check prevents
    assert marker.exists()
    # the source restored, but its bytecode left in the store (MLflow loaded it in place) and
    # made to be used without looking at the source: dropped from the copy, never imported
    module.write_text(original)
    del sys.modules[module.stem]
    marker.unlink()
    tampered = tmp_path / module.name
    tampered.write_text(f"open({str(marker)!r}, 'w').close()\n{original}")
    cached = Path(importlib.util.cache_from_source(str(module)))
    py_compile.compile(
        str(tampered), str(cached), invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )

    # 2. the contract loosened, a file added, a file removed: each named, in one line
    contract = stored / "contract.json"
    text = contract.read_text()
    contract.write_text(text.replace('"null_rate"', '"null_rate_"', 1))
    assert "contract.json was modified after promotion" in refused("models:/diab/1")
    contract.write_text(text)
    (stored / "code" / "sitecustomize.py").write_text("import os\n")
    assert "code/sitecustomize.py was added to the artifact" in refused("models:/diab/1")
    (stored / "code" / "sitecustomize.py").unlink()
    settings = stored / "data" / "model" / "settings.json"
    saved = settings.read_bytes()
    settings.unlink()
    assert "data/model/settings.json is missing from the artifact" in refused("models:/diab/1")
    settings.write_bytes(saved)

    # 3. as promoted: loads by alias and by number and predicts what the notebook predicts,
    # without a progress bar per downloaded file
    capfd.readouterr()
    for uri in ("models:/diab@staging", "models:/diab/1", "models:/diab/latest"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UnverifiedModelWarning)
            loaded = mlops.load_model(uri)
        assert np.array_equal(loaded.predict(X), model.predict(X))
    assert not marker.exists()
    assert "Downloading artifacts" not in capfd.readouterr().err

    # 4. a version without digests (promoted before they were recorded): loads, with one line
    client.delete_model_version_tag("diab", "1", tags.ARTIFACT_SHA256)
    with pytest.warns(UnverifiedModelWarning) as caught:
        loaded = mlops.load_model("models:/diab@staging")
    (warning,) = caught
    assert str(warning.message) == (
        "models:/diab@staging has no recorded file digests (promoted before they were "
        "recorded, or not by jupyter-mlops): loaded unverified"
    )
    assert np.array_equal(loaded.predict(X.head(3)), model.predict(X.head(3)))

    # 5. mistakes in the URI: one line each
    for uri, expected in [
        ("runs:/abc/model", "models:/NAME@ALIAS or models:/NAME/VERSION, not 'runs:/abc/model'"),
        ("models:/nope@staging", "no registered model named 'nope'"),
        ("models:/diab@prod", "model 'diab' has no alias 'prod'; aliases: staging"),
        ("models:/diab/9", "model 'diab' has no version 9"),
        ("models:/diab/x", "a model version is a whole number such as 3, not 'x'"),
    ]:
        with pytest.raises(mlops.MlopsError) as caught:
            mlops.load_model(uri)
        assert expected in str(caught.value) and "\n" not in str(caught.value)
        assert isinstance(caught.value, NotFoundError) == ("no " in expected)


def test_digests_too_long_for_a_tag_go_in_a_manifest_file(ip, project, client, monkeypatch):
    """A manifest over the tag's limit is a file in the artifact; the tag holds its digest, so
    rewriting the manifest to match a tampered file is itself caught. Here another promotion
    also takes the version number the card was written for (injected: a race), so the card is
    rewritten after registration, and the manifest and tag recorded again."""
    from jupyter_mlops.core.registry import register

    monkeypatch.setattr(tempfile, "tempdir", str(project.parent))
    ip.run_cell(textwrap.dedent(NOTEBOOK)).raise_error()
    X, model = ip.user_ns["X"], ip.user_ns["clf"]
    monkeypatch.setattr(digests, "TAG_LIMIT", 200)
    monkeypatch.setattr(register, "next_version", lambda client, name: 7)
    promoted = mlops.promote(model, "long", X=X)
    stored = artifact_folder(client, promoted.model_id)
    assert promoted.version == "1" and "| Version | 1 |" in (stored / "MODEL_CARD.md").read_text()
    tag = json.loads(client.get_model_version("long", "1").tags[tags.ARTIFACT_SHA256])
    manifest = stored / digests.MANIFEST_FILE
    assert tag == {"manifest": digests.MANIFEST_FILE, "sha256": digests.file_sha256(manifest)}
    listed = json.loads(manifest.read_text())["files"]
    assert listed == digests.folder_sha256(stored, skip=frozenset({digests.MANIFEST_FILE}))
    assert np.array_equal(mlops.load_model("models:/long/1").predict(X), model.predict(X))

    card = stored / "MODEL_CARD.md"
    original_card, original_manifest = card.read_bytes(), manifest.read_bytes()
    card.write_text("# a card rewritten\n")
    assert "MODEL_CARD.md was modified" in refused("models:/long/1")
    listed["MODEL_CARD.md"] = digests.file_sha256(card)  # the manifest made to agree
    manifest.write_text(json.dumps({"files": listed}, separators=(",", ":"), sort_keys=True))
    assert f"{digests.MANIFEST_FILE} was modified" in refused("models:/long/1")
    card.write_bytes(original_card)
    manifest.write_bytes(original_manifest)
    shutil.rmtree(stored / "code")
    assert "is missing from the artifact" in refused("models:/long/1")


LOAD_AND_PREDICT = """
import json, sys
import pandas as pd
{load}
print(json.dumps(model.predict(pd.read_csv(sys.argv[1])).tolist()))
"""


def test_the_promotion_says_how_to_load_it_in_and_outside_the_project(
    ip, project, client, tmp_path
):
    """The card's two recipes, followed literally in fresh processes: ``mlops.load_model`` from
    a folder of the project finds the project's store; outside it, MLflow pointed at that store
    by the printed environment loads it. Neither leaves a store where it ran."""
    import subprocess

    from tests.conftest import kernel_env

    ip.run_cell(textwrap.dedent(NOTEBOOK)).raise_error()
    X, model = ip.user_ns["X"], ip.user_ns["clf"]
    promoted = mlops.promote(model, "away", X=X, alias="staging")
    uri = "models:/away@staging"
    store = f"sqlite:///{(project / '.mlops' / 'mlflow.db').as_posix()}"
    assert promoted.elsewhere_env() == {"MLFLOW_TRACKING_URI": store}
    recipe = f'export MLFLOW_TRACKING_URI={store}, then mlflow.pyfunc.load_model("{uri}")'
    assert promoted.summary().splitlines()[-1] == (
        f'load with mlops.load_model("{uri}"); elsewhere: {recipe}'
    )
    page = promoted._repr_html_()
    assert f"<code>mlops.load_model(&quot;{uri}&quot;)</code>" in page  # escaped, inert
    assert f"elsewhere</th><td><code>export MLFLOW_TRACKING_URI={store}, then" in page
    rows = tmp_path / "rows.csv"
    X.head(25).to_csv(rows, index=False)
    expected = model.predict(X.head(25)).tolist()

    def predicted(load: str, cwd: Path, env: dict[str, str]) -> list:
        done = subprocess.run(
            [sys.executable, "-c", LOAD_AND_PREDICT.format(load=load), str(rows)],
            cwd=cwd, env={**kernel_env(), **env}, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    inside = project / "notebooks"
    inside.mkdir()
    load = f"import jupyter_mlops as mlops\nmodel = mlops.load_model({uri!r})"
    assert predicted(load, inside, {}) == expected
    assert list(inside.iterdir()) == [] and not (project / "mlflow.db").exists()

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    load = f"import mlflow.pyfunc\nmodel = mlflow.pyfunc.load_model({uri!r})"
    assert predicted(load, outside, promoted.elsewhere_env()) == expected
    assert list(outside.iterdir()) == []

"""`jupyter mlops retrain` as a user (or cron) runs it: a real git + DVC project, real kernels,
the real sqlite store; one project shared by the tests of this file (each re-run costs a kernel
and a promotion)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

import jupyter_mlops as mlops
from tests.cli.test_reproduce import cache_files
from tests.conftest import ENV_VARS, all_runs, cli, client_for, git, start_cli, write_notebook

TRAIN = [
    "shuffle_labels = False\npause = 0\nmarker = ''",
    "import numpy as np\n"
    "import pandas as pd\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "import jupyter_mlops as mlops\n"
    "mlops.data.use('data/train.csv')\n"
    "df = pd.read_csv('data/train.csv')\n"
    "X, y = df.drop(columns='y'), df['y'].to_numpy()\n"
    "if shuffle_labels:\n"
    "    y = np.random.default_rng(0).permutation(y)\n"
    "model = LogisticRegression(max_iter=5000).fit(X, y)\n"
    "if pause:  # for the Ctrl-C test\n"
    "    import pathlib, time\n"
    "    pathlib.Path(marker).touch()\n"
    "    time.sleep(pause)\n"
    "mlops.promote(model, 'bc', X=X)",
]
PLAIN = """
import pandas as pd
from sklearn.linear_model import LogisticRegression
import jupyter_mlops as mlops
df = pd.read_csv('holdout.csv')
X = df.drop(columns='y')
mlops.promote(LogisticRegression(max_iter=5000).fit(X, df['y']), 'plain', X=X, alias='champion')
"""


def _frame():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    frame = X.iloc[:, :4].set_axis(["radius", "texture", "perimeter", "area"], axis=1)
    return frame.assign(y=y)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    """A project whose notebook promoted bc version 1 from data version 1 (60 rows), set as
    champion; then data version 2 (300 other rows) committed. A holdout beside it."""
    root = tmp_path_factory.mktemp("retrain") / "proj"
    root.mkdir()
    git(root, "init", "-q")
    with pytest.MonkeyPatch.context() as mp:
        for name in ENV_VARS:
            mp.delenv(name, raising=False)
        mp.chdir(root)
        frame = _frame()
        (root / "data").mkdir()
        frame.iloc[:60].to_csv(root / "data" / "train.csv", index=False)
        frame.iloc[400:].to_csv(root / "holdout.csv", index=False)
        frame.iloc[400:].drop(columns="y").to_csv(root / "no_target.csv", index=False)
        mlops.data.add("data/train.csv")
        write_notebook(root / "train.ipynb", TRAIN, {0: ["parameters"]})
        (root / "plain.py").write_text(PLAIN)
        git(root, "add", "train.ipynb", "plain.py")
        git(root, "commit", "-q", "-m", "train on data v1")
        out = cli("run", "train.ipynb", cwd=root)
        assert out.returncode == 0, out.stdout + out.stderr
        mlops.set_alias("bc", "champion", 1, reason="first model")

        frame.iloc[100:400].to_csv(root / "data" / "train.csv", index=False)
        mlops.data.add("data/train.csv")
        git(root, "commit", "-q", "-m", "data v2")
        yield root


def _state(client) -> tuple:
    """What must not change when retrain refuses: versions, aliases, runs."""
    versions = sorted(
        (mv.name, int(mv.version)) for mv in client.search_model_versions(max_results=1000)
    )
    aliases = {m.name: dict(m.aliases) for m in client.search_registered_models()}
    return versions, aliases, len(all_runs(client))


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_bad_input_is_one_line_and_nothing_runs_registers_or_moves(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(trained)
    exec(compile(PLAIN, "plain.py", "exec"), {"__name__": "__main__"})  # not a batch run
    client = client_for(trained)
    before = _state(client)
    ev = ["--eval", "holdout.csv", "--target", "y"]
    cases = [
        (["bc@prod", *ev], "model 'bc' has no alias 'prod'; aliases: champion"),
        (
            ["plain@champion", *ev],
            "which recorded no notebook (mlops.notebook.path / mlflow.source.name)",
        ),
        (
            ["bc@champion", "--eval", "no_target.csv", "--target", "y"],
            "the evaluation data has no column 'y' to score against (its columns: radius, "
            "texture, perimeter, area)",
        ),
        (
            ["bc@champion", *ev, "--scoring", "nope"],
            "no scikit-learn scorer named 'nope'; for example accuracy, balanced_accuracy, "
            "f1, roc_auc, r2, neg_mean_absolute_error (sklearn.metrics.get_scorer_names() "
            "lists all)",
        ),
        (
            ["bc@champion", *ev, "-p", "shuffle_lables", "True"],
            "not re-run: parameter 'shuffle_lables' is not defined in the notebook's "
            "parameters cell (did you mean 'shuffle_labels'?)",
        ),
        (["bc@champion", *ev, "--force"], "--force needs --reason TEXT"),
    ]
    for args, message in cases:
        out = cli("retrain", *args, cwd=trained)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert out.stderr.startswith("jupyter mlops retrain: "), (args, out.stderr)
        assert message in out.stderr, (args, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
        assert out.stdout == ""
    # the same refusals from Python, one line each (the CLI prints exactly these)
    for model, kwargs, message in [
        ("bc", {}, "retrain needs the champion as NAME@ALIAS (for example mymodel@champion)"),
        ("bc@champion", {"data": ["holdout.csv"]}, "--data holdout.csv: no holdout.csv.dvc is"),
        ("bc@champion", {"target": "y"}, "--target needs --eval PATH"),
        ("bc@champion", {"eval": "holdout.csv", "target": "y", "tolerance": -1}, "--tolerance"),
    ]:
        with pytest.raises(mlops.MlopsError, match=re.escape(message)) as refused:
            mlops.retrain(model, **kwargs)
        assert "\n" not in str(refused.value)
    assert _state(client) == before


def test_retrain_gates_the_challenger_on_new_data_and_refuses_a_ruined_one(
    trained: Path,
) -> None:
    client = client_for(trained)
    new_md5 = _md5(trained / "data" / "train.csv")
    dvc_text = (trained / "data" / "train.csv.dvc").read_text()
    porcelain, cached = git(trained, "status", "--porcelain"), cache_files(trained)
    (champion_run,) = [
        r
        for r in all_runs(client)
        if r.data.tags.get("mlops.promoted.bc") and "mlflow.parentRunId" not in r.data.tags
    ]  # the notebook's run (its autologged fit, a child, is tagged too)
    assert champion_run.data.tags["mlops.data.data/train.csv"] != new_md5  # trained on v1

    out = cli("retrain", "bc@champion", "--eval", "holdout.csv", "--target", "y", cwd=trained)
    assert out.returncode == 0, out.stdout + out.stderr
    assert str(client.get_model_version_by_alias("bc", "champion").version) == "2"
    (rerun,) = [
        r for r in all_runs(client) if r.data.tags.get("mlops.runner", "").endswith("retrain")
    ]
    tags = rerun.data.tags
    assert rerun.info.status == "FINISHED"
    assert tags["mlops.data.data/train.csv"] == new_md5  # the re-run read data version 2
    assert tags["mlops.retrain.of"] == "models:/bc/1"
    assert tags["mlops.retrain.alias"] == "champion"
    assert tags["mlops.retrain.run"] == champion_run.info.run_id
    assert tags["mlops.runner"] == "jupyter-mlops retrain"
    assert tags["mlops.promoted.bc"] == "2"
    assert tags["mlops.git.commit"] == git(trained, "rev-parse", "HEAD")
    assert tags["mlops.notebook.path"] == str(trained / "train.ipynb")
    assert rerun.info.experiment_id == champion_run.info.experiment_id
    assert client.get_model_version("bc", "2").tags["mlops.run_id"] == rerun.info.run_id
    assert "challenger: models:/bc/2" in out.stdout
    decision = json.loads(client.get_model_version("bc", "2").tags["mlops.gate.decision"])
    c, k = decision["challenger_score"], decision["champion_score"]
    assert decision["result"] == "passed" and decision["scoring"] == "accuracy"
    assert (f"{c:.4f}", f"{k:.4f}") == ("0.9112", "0.6746")  # as the README shows them
    assert out.stdout.strip().splitlines()[-1] == (
        f"gate passed: accuracy: challenger v2 {c:.4f}, champion v1 {k:.4f} (tolerance 0); "
        "'champion' of bc -> v2"
    )

    history = _history(trained)
    moves = [row for row in history if row["alias"] == "champion"]
    assert [(m["previous"], m["version"], m["via"]) for m in moves] == [
        (None, 1, "api"),
        (1, 2, "retrain"),
    ]
    assert moves[1]["gate"]["result"] == "passed" and moves[1]["gate"]["challenger_score"] == c
    assert moves[0]["reason"] == "first model"

    # a parameter that ruins the model: the gate refuses, the alias stays
    out = cli(
        "retrain",
        "bc@champion",
        "-p",
        "shuffle_labels",
        "True",
        "--eval",
        "holdout.csv",
        "--target",
        "y",
        cwd=trained,
    )
    assert out.returncode == 3, out.stdout + out.stderr
    assert str(client.get_model_version_by_alias("bc", "champion").version) == "2"
    decision = json.loads(client.get_model_version("bc", "3").tags["mlops.gate.decision"])
    c, k = decision["challenger_score"], decision["champion_score"]
    assert decision["result"] == "refused"
    assert (f"{c:.4f}", f"{k:.4f}") == ("0.7574", "0.9112")  # as the README shows them
    assert out.stdout.strip().splitlines()[-1] == (
        f"gate refused: accuracy: challenger v3 {c:.4f}, champion v2 {k:.4f} (tolerance 0); "
        "its accuracy is below the champion's; 'champion' of bc stays at v2"
    )
    assert (trained / "data" / "train.csv.dvc").read_text() == dvc_text  # workspace untouched
    assert git(trained, "status", "--porcelain") == porcelain
    assert cache_files(trained) == cached  # the DVC cache only read
    names = sorted(
        r.info.run_name
        for r in all_runs(client)
        if r.data.tags.get("mlops.runner") == "jupyter-mlops retrain"
    )
    assert names == [f"{champion_run.info.run_name} (retrain)"] * 2  # not "(retrain) (retrain)"
    refused = [r for r in _history(trained) if r["alias"] == "champion"][-1]
    assert refused["moved"] is False and refused["via"] == "retrain"
    assert refused["gate"]["result"] == "refused"


def _history(root: Path) -> list[dict]:
    from jupyter_mlops.config import resolve_settings
    from jupyter_mlops.core.registry.alias_history import history_rows

    rows, truncated = history_rows(resolve_settings(root), "bc")
    assert not truncated
    return rows


def test_without_eval_the_challenger_is_registered_and_nothing_moves(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = client_for(trained)
    champion = str(client.get_model_version_by_alias("bc", "champion").version)
    moves = len(_history(trained))
    newest = max(int(mv.version) for mv in client.search_model_versions("name='bc'"))

    out = cli("retrain", "bc@champion", "--data", "data/train.csv", cwd=trained)
    assert out.returncode == 0, out.stdout + out.stderr
    challenger = f"models:/bc/{newest + 1}"
    assert out.stdout.strip().splitlines()[-1] == (
        f"registered the challenger {challenger}; nothing gated or moved: gate it with "
        f"`jupyter mlops gate {challenger} models:/bc/{champion} --eval PATH --target COL "
        "--alias champion`"
    )
    assert str(client.get_model_version_by_alias("bc", "champion").version) == champion
    assert len(_history(trained)) == moves
    assert "mlops.gate.result" not in client.get_model_version("bc", str(newest + 1)).tags

    # a promotion asking for an alias inside a retrain's re-run says who moves it instead
    from jupyter_mlops.core.session import HOLD_ALIASES_ENV

    monkeypatch.chdir(trained)
    monkeypatch.setenv(HOLD_ALIASES_ENV, "retrain")  # what retrain's runner sets in the kernel
    frame = _frame().iloc[:100]
    X = frame.drop(columns="y")
    from sklearn.linear_model import LogisticRegression

    held = mlops.promote(
        LogisticRegression(max_iter=5000).fit(X, frame["y"]), "held", X=X, alias="champion"
    )
    assert held.held_alias == "champion" and held.alias is None
    assert held.held_note == (
        "alias 'champion' not moved: a retrain's re-run registers the challenger only; its "
        "gate moves the alias (`jupyter mlops gate CHALLENGER CHAMPION --eval PATH --target "
        "COL --alias champion`)"
    )
    assert "champion" not in client.get_registered_model("held").aliases


def test_ctrl_c_kills_the_rerun_and_moves_nothing(trained: Path, tmp_path: Path) -> None:
    client = client_for(trained)
    before = _state(client)
    marker = tmp_path / "reached"
    proc = start_cli(
        "retrain",
        "bc@champion",
        "-p",
        "pause",
        "600",
        "-p",
        "marker",
        str(marker),
        *("--eval", "holdout.csv", "--target", "y"),
        cwd=trained,
    )
    try:
        for _ in range(600):  # the re-run's kernel is in its sleeping cell
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.2)
        assert marker.exists(), proc.communicate(timeout=60)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == (
        "jupyter mlops retrain: interrupted; nothing moved (a re-run that had started is KILLED)"
    )
    reruns = [
        r for r in all_runs(client) if r.data.tags.get("mlops.runner", "").endswith("retrain")
    ]
    assert reruns[0].info.status == "KILLED"  # newest first
    assert reruns[0].data.tags["mlops.error"] == "interrupted"
    assert _state(client)[:2] == before[:2]  # no version registered, no alias moved


def test_a_failed_rerun_is_one_line_exit_1_and_moves_nothing(trained: Path) -> None:
    client = client_for(trained)
    before = _state(client)
    ev = ("--eval", "holdout.csv", "--target", "y")
    out = cli("retrain", "bc@champion", "-p", "pause", "120", "--timeout", "3", *ev, cwd=trained)
    assert out.returncode == 1, out.stdout + out.stderr
    # our one line comes last. The kernel shares stderr: when the timeout interrupts it
    # mid-import, ipykernel itself may log "[IPKernelApp] ERROR ..." with its own traceback
    # before it (the runner's behaviour, as for `run --timeout`; seen under load)
    lines = out.stderr.strip().splitlines()
    line = lines[-1]
    assert line.startswith("jupyter mlops retrain: the re-run ") and "timed out after 3 s" in line
    assert "failed, nothing moved: " in line
    assert [x for x in lines if x.startswith("jupyter mlops")] == [line]
    reruns = [
        r for r in all_runs(client) if r.data.tags.get("mlops.runner", "").endswith("retrain")
    ]
    assert reruns[0].info.status == "FAILED"
    assert _state(client)[:2] == before[:2]  # no version registered, no alias moved

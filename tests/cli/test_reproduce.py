"""`jupyter mlops reproduce` as a user runs it: a real git + DVC project, real kernels."""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
from pathlib import Path

import nbformat
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core.batch.reproduce import Reproduction, compare_metrics
from jupyter_mlops.core.batch.reproduce_checks import Repository as _Repository
from jupyter_mlops.core.batch.reproduce_checks import UntrustedSnapshotError
from jupyter_mlops.core.batch.reproduce_checks import placed_by_history as _placed_by_history
from jupyter_mlops.core.data import dvc_repo
from jupyter_mlops.errors import MlopsError
from tests.conftest import ENV_VARS, all_runs, cli, client_for, git, write_notebook

CSV_V1 = "v\n1\n2\n3\n"  # total with scale 2: 12
CSV_V2 = "v\n10\n20\n"
TRAIN = [
    "scale = 1",
    "import pandas as pd\n"
    "import jupyter_mlops as mlops\n"
    "mlops.data.use('../data/values.csv')\n"  # relative to the notebook's folder
    "df = pd.read_csv('../data/values.csv')\n"
    "mlops.log(total=float(df['v'].sum() * scale))",
]


def cache_files(project: Path) -> set[str]:
    cache = dvc_repo.cache_dir(project)
    return {p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file()}


def reproduced_runs(client, run_id: str) -> list:
    return [r for r in all_runs(client) if r.data.tags.get("mlops.reproduces") == run_id]


def test_reproduce_restores_data_and_parameters_and_leaves_the_workspace(
    project: Path, client
) -> None:
    csv = project / "data" / "values.csv"
    csv.parent.mkdir()
    csv.write_text(CSV_V1)
    mlops.data.add("data/values.csv")
    (project / "notebooks").mkdir()
    notebook = write_notebook(project / "notebooks" / "train.ipynb", TRAIN, {0: ["parameters"]})
    git(project, "add", "notebooks/train.ipynb")
    git(project, "commit", "-q", "-m", "data v1")
    out = cli("run", "notebooks/train.ipynb", "-p", "scale", "2", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    (original,) = all_runs(client)
    assert original.data.metrics["total"] == 12.0

    # the project moves on: a new data version, and an edit to the notebook not yet committed
    csv.write_text(CSV_V2)
    mlops.data.add("data/values.csv")
    git(project, "commit", "-q", "-m", "data v2")
    write_notebook(notebook, [*TRAIN, "print('edited')"], {0: ["parameters"]})
    edited, porcelain = notebook.read_bytes(), git(project, "status", "--porcelain")
    cached = cache_files(project)

    out = cli("reproduce", original.info.run_id, "--keep", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    row = next(line for line in out.stdout.splitlines() if line.strip().startswith("total"))
    assert row.split()[1:3] == ["12", "12"] and row.split()[-1] == "same"
    assert "Result: same" in out.stdout

    (new,) = reproduced_runs(client, original.info.run_id)
    assert new.info.status == "FINISHED"
    assert new.info.experiment_id == original.info.experiment_id
    assert new.data.params["scale"] == "2"
    assert new.data.metrics["total"] == 12.0
    assert new.data.tags["mlops.reproduce.verdict"] == "same"
    assert new.data.tags["mlops.reproduce.code"] == "commit"  # the committed notebook ran
    for key in ("mlflow.source.name", "mlops.notebook.path", "mlops.git.commit"):
        assert new.data.tags[key] == original.data.tags[key]
    v1 = hashlib.md5(CSV_V1.encode()).hexdigest()
    assert new.data.tags["mlops.data.data/values.csv"] == v1  # the notebook saw version 1
    comparison = json.loads(
        Path(client.download_artifacts(new.info.run_id, "reproduce/comparison.json")).read_text()
    )
    assert comparison["status"] == "same" and comparison["rows"][0]["metric"] == "total"

    # it ran in a scratch clone that wrote runs to the project's store, not its own
    scratch = Path(re.search(r"scratch folder kept at (\S+)", out.stdout).group(1))
    try:
        assert (scratch / "data" / "values.csv").read_text() == CSV_V1
        assert not (scratch / ".mlops" / "mlflow.db").exists()
        assert not list(scratch.rglob("mlflow.db"))
        assert not (scratch / ".dvc" / "cache").exists()  # the project's cache, no second one
    finally:
        shutil.rmtree(scratch.parent)

    # and the workspace is as it was
    assert csv.read_text() == CSV_V2
    assert notebook.read_bytes() == edited
    assert git(project, "status", "--porcelain") == porcelain
    assert cache_files(project) == cached

    # the store picks a data version, never where it goes: a recorded .dvc file moving its
    # data over the committed notebook is refused, one the commit lacks is not restored
    run_id, commit = original.info.run_id, original.data.tags["mlops.git.commit"]
    recorded = (project / "data" / "values.csv.dvc").read_text()
    over = recorded.replace("path: values.csv", "path: ../notebooks/train.ipynb")
    altered = project.parent / "altered" / "values.csv.dvc"
    altered.parent.mkdir()
    altered.write_text(over)
    client.log_artifact(run_id, str(altered), "dvc/data")
    with pytest.raises(
        MlopsError, match=re.escape("puts data somewhere else than data/values.csv.dvc")
    ):
        mlops.reproduce(run_id)
    assert len(reproduced_runs(client, run_id)) == 1  # nothing more ran
    notes: list[str] = []
    repo = _Repository(project, "", commit)
    beside = recorded.replace("path: values.csv", "path: pandas.py")
    kept = _placed_by_history(repo, {"notebooks/pandas.py.dvc": beside}, run_id, notes)
    assert kept == {} and "does not track was not restored: notebooks/pandas.py" in notes[0]


def test_a_dirty_run_is_refused_and_a_trusted_one_compares_metrics(project: Path, client) -> None:
    cells = ["import random\nimport jupyter_mlops as mlops", "mlops.log(r=random.random())"]
    notebook = write_notebook(project / "rand.ipynb", cells)
    git(project, "add", "rand.ipynb")
    git(project, "commit", "-q", "-m", "rand")
    write_notebook(notebook, [*cells, "print('not committed')"])  # run with an uncommitted edit
    assert cli("run", "rand.ipynb", cwd=project).returncode == 0
    (original,) = all_runs(client)
    run_id = original.info.run_id
    assert original.data.tags["mlops.git.dirty"] == "true"
    user = original.data.tags["mlflow.user"]  # who logged it, as MLflow's start_run records

    out = cli("reproduce", run_id, cwd=project)
    assert out.returncode == 2, out.stdout + out.stderr
    first, *difference = out.stderr.splitlines()
    assert f"run {run_id} was logged by {user} on " in first
    assert "differs from rand.ipynb at its commit" in first and "--trust-snapshot" in first
    assert "+      print('not committed')" in difference and "Traceback" not in out.stderr
    assert not reproduced_runs(client, run_id)  # refused before anything ran

    out = cli("reproduce", run_id, "--trust-snapshot", cwd=project)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"logged by {user}" in out.stderr and "+      print('not committed')" in out.stderr
    row = next(line for line in out.stdout.splitlines() if line.strip().startswith("r "))
    assert row.split()[-1] == "differs"
    assert "Result: differs" in out.stdout
    assert "uncommitted changes" in out.stdout

    out = cli("reproduce", run_id, "--trust-snapshot", "--atol", "10", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Result: same" in out.stdout
    reruns = reproduced_runs(client, run_id)
    assert sorted(r.data.tags["mlops.reproduce.verdict"] for r in reruns) == ["differs", "same"]
    assert {r.data.tags["mlops.reproduce.code"] for r in reruns} == {"snapshot"}


def test_a_snapshot_altered_in_the_store_does_not_run_unless_trusted(
    project: Path, client, tmp_path: Path
) -> None:
    marker = tmp_path / "ran-from-the-store"
    cells = ["scale = 1", "import jupyter_mlops as mlops\nmlops.log(total=3.0 * scale)"]
    write_notebook(project / "train.ipynb", cells, {0: ["parameters"]})
    git(project, "add", "train.ipynb")
    git(project, "commit", "-q", "-m", "train")
    out = cli("run", "train.ipynb", "-p", "scale", "2", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    (original,) = all_runs(client)
    run_id, tags = original.info.run_id, original.data.tags

    # tags are store input too: a parameter name that is code, a commit that is a git option
    # or not in the local repository; each refused in one line before anything runs
    client.set_tag(run_id, "mlops.parameters", json.dumps({"import os; os.mkdir('x') #": "1"}))
    with pytest.raises(UntrustedSnapshotError, match="not all Python literals") as refused:
        mlops.reproduce(run_id)
    assert "+      # Parameters" in refused.value.difference  # the injected cell is shown now
    client.set_tag(run_id, "mlops.parameters", tags["mlops.parameters"])
    for commit, message in [
        ("--output=/tmp/x", "which is not a commit id"),
        ("0123456789abcdef" * 2 + "01234567", "is not in the repository at"),
    ]:
        client.set_tag(run_id, "mlops.git.commit", commit)
        with pytest.raises(MlopsError, match=message) as refused:
            mlops.reproduce(run_id)
        assert "\n" not in str(refused.value)
    branch = tags["mlflow.source.git.branch"]
    assert f"fetch the branch that has it (git fetch origin {branch})" in str(refused.value)
    client.set_tag(run_id, "mlops.git.commit", tags["mlops.git.commit"])

    # someone who can write the store replaces the snapshot (and says they are mallory)
    executed = Path(client.download_artifacts(run_id, "notebook/train.ipynb", str(tmp_path)))
    nb = nbformat.read(executed, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(f"open({str(marker)!r}, 'w').write('x')"))
    (tmp_path / "evil").mkdir()
    nbformat.write(nb, tmp_path / "evil" / "train.ipynb")
    client.log_artifact(run_id, str(tmp_path / "evil" / "train.ipynb"), "notebook")
    client.set_tag(run_id, "mlflow.user", "mallory\x1b[2J")  # a terminal escape, shown inert

    out = cli("reproduce", run_id, cwd=project)
    assert out.returncode == 2, out.stdout + out.stderr
    first, *difference = out.stderr.splitlines()
    assert f"run {run_id} was logged by mallory\\x1b[2J on " in first and "\x1b" not in out.stderr
    assert "snapshot differs from train.ipynb" in first and "--trust-snapshot" in first
    assert f"+      open({str(marker)!r}, 'w').write('x')" in difference
    assert not any("scale = 2" in line for line in difference)  # its injected cell is expected
    assert not marker.exists() and not reproduced_runs(client, run_id)

    out = cli("reproduce", run_id, "--trust-snapshot", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "logged by mallory" in out.stderr and str(marker) in out.stderr
    assert marker.exists()
    (new,) = reproduced_runs(client, run_id)
    assert new.data.tags["mlops.reproduce.code"] == "snapshot"
    assert new.data.params["scale"] == "2" and new.data.metrics["total"] == 6.0


def test_without_git_the_snapshot_and_its_data_are_all_there_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "plain"
    (root / ".mlops").mkdir(parents=True)  # a project without git
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(root)
    csv = root / "values.csv"
    csv.write_text(CSV_V1)
    mlops.data.add("values.csv")
    cells = [c.replace("../data/", "") for c in TRAIN]
    write_notebook(root / "nb.ipynb", cells, {0: ["parameters"]})
    assert cli("run", "nb.ipynb", "-p", "scale", "2", cwd=root).returncode == 0
    (original,) = all_runs(client_for(root))
    csv.write_text(CSV_V2)  # edited in place, not versioned

    with pytest.raises(UntrustedSnapshotError, match="recorded no git commit") as refused:
        mlops.reproduce(original.info.run_id)  # the Python API: nothing vouches for the snapshot
    assert "+      mlops.data.use('values.csv')" in refused.value.difference  # all of it is new
    result = mlops.reproduce(original.info.run_id, trust_snapshot=True)
    assert result.ok and result.status == "same", result.summary()
    assert [(r.metric, r.original, r.reproduced) for r in result.rows] == [("total", 12.0, 12.0)]
    assert any("no git commit" in note for note in result.notes)
    assert csv.read_text() == CSV_V2

    # the version the run used is gone from the cache and there is no remote: one line, exit 2
    md5 = original.data.tags["mlops.data.values.csv"]
    cached = dvc_repo.cache_dir(root) / md5[:2] / md5[2:]
    cached.chmod(0o644)
    cached.unlink()
    out = cli("reproduce", original.info.run_id, "--trust-snapshot", cwd=root)
    assert out.returncode == 2, out.stdout + out.stderr
    *shown, last = out.stderr.strip().splitlines()  # who logged it and the snapshot, then one line
    assert shown[0].startswith("running the notebook snapshot") and "Traceback" not in out.stderr
    assert last.startswith("jupyter mlops reproduce: cannot restore")
    assert f"values.csv (md5 {md5}): it is not in the project's DVC cache" in last


def test_reproducing_a_run_that_promoted_moves_no_alias(project: Path, client) -> None:
    from tests.cli.test_sweep import HELD, TRAIN_AND_PROMOTE

    write_notebook(project / "train.ipynb", TRAIN_AND_PROMOTE, {0: ["parameters"]})
    git(project, "add", "train.ipynb")
    git(project, "commit", "-q", "-m", "train")
    out = cli("run", "train.ipynb", "-p", "C", "0.5", cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    (original,) = [r for r in all_runs(client) if "mlflow.parentRunId" not in r.data.tags]
    assert original.data.tags["mlops.promoted.cancer"] == "1@staging"
    assert str(client.get_model_version_by_alias("cancer", "staging").version) == "1"

    out = cli("reproduce", original.info.run_id, cwd=project)
    assert out.returncode == 0, out.stdout + out.stderr
    (new,) = reproduced_runs(client, original.info.run_id)
    assert new.data.tags["mlops.promoted.cancer"] == "2"  # registered, no alias
    mv = client.get_model_version("cancer", "2")
    assert mv.tags["mlops.run_id"] == new.info.run_id and mv.tags["mlops.alias.held"] == "staging"
    assert client.get_run(mv.run_id).data.tags["mlflow.parentRunId"] == new.info.run_id
    assert client.get_registered_model("cancer").aliases == {"staging": 1}  # only that alias
    assert (
        "note: the notebook promoted cancer: registered version 2 without moving alias "
        "'staging' (a reproduction moves no alias)"
    ) in out.stdout
    executed = client.download_artifacts(new.info.run_id, "notebook/train.ipynb")
    assert HELD in Path(executed).read_text()


def test_unknown_run_is_one_line(project: Path) -> None:
    out = cli("reproduce", "0123456789abcdef0123456789abcdef", cwd=project)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert "no run '0123456789abcdef0123456789abcdef'" in out.stderr
    assert "Traceback" not in out.stderr


def test_comparison_rows() -> None:
    rows = compare_metrics(
        {"acc": 0.9, "loss": 1.0, "gone": 3.0, "zero": 0.0, "nan": math.nan},
        {"acc": 0.9 + 1e-9, "loss": 1.1, "extra": 2.0, "zero": 0.5, "nan": math.nan},
        rtol=1e-6,
        atol=0.0,
    )
    verdicts = {r.metric: r.verdict for r in rows}
    assert verdicts == {
        "acc": "same",
        "extra": "new",
        "gone": "missing",
        "loss": "differs",
        "nan": "same",
        "zero": "differs",
    }
    by_name = {r.metric: r for r in rows}
    assert math.isclose(by_name["loss"].abs_diff, 0.1) and math.isclose(
        by_name["loss"].rel_diff, 0.1
    )
    assert by_name["zero"].rel_diff == math.inf and by_name["gone"].reproduced is None
    assert compare_metrics({"loss": 1.0}, {"loss": 1.1}, atol=0.2)[0].verdict == "same"

    result = Reproduction("a" * 32, "b" * 32, "differs", rows, "exp", "sqlite:///x.db")
    assert not result.ok and "Result: differs (4 of 6 metric(s)" in result.summary()
    frame = result.to_frame()
    assert list(frame.columns) == [
        "metric",
        "original",
        "reproduced",
        "abs_diff",
        "rel_diff",
        "verdict",
    ]
    assert json.loads(result.to_json())["rows"][-1]["rel_diff"] is None  # inf is not JSON


def test_the_difference_ignores_outputs_and_a_long_one_is_trimmed() -> None:
    from jupyter_mlops.core.batch.reproduce_checks import (
        SHOWN_DIFF_LINES,
        _trimmed,
        snapshot_difference,
    )

    committed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    executed = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "scale = 2", metadata={"tags": ["injected-parameters"]}
            ),  # not what the runner injects for scale=2: it starts "# Parameters"
            nbformat.v4.new_code_cell(
                "x = 1", execution_count=3, outputs=[nbformat.v4.new_output("stream", text="1")]
            ),
        ]
    )
    executed.metadata["kernelspec"] = {"name": "other"}
    assert snapshot_difference(committed, executed, {"scale": 2}).splitlines()[-1] == (
        "+      scale = 2"
    )
    executed.cells[0].source = "# Parameters\nscale = 2\n"  # exactly the injected cell
    assert snapshot_difference(committed, executed, {"scale": 2}) == ""

    long = snapshot_difference(
        None,
        nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell("\n".join(f"step_{i} = {i}" for i in range(200)))]
        ),
    )
    shown = _trimmed(long, "artifact notebook/nb.ipynb of run r").splitlines()
    assert len(shown) == SHOWN_DIFF_LINES + 1 and shown[-2] == long.splitlines()[59]
    assert shown[-1] == (
        f"... {len(long.splitlines()) - 60} more line(s): the whole snapshot is artifact "
        "notebook/nb.ipynb of run r"
    )

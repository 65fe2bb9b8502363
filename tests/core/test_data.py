"""mlops.data on a real git + DVC repository: versions, status, checkout, safety."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import jupyter_mlops as mlops
from jupyter_mlops.core.data import dvc_repo
from jupyter_mlops.core.data.dvc_repo import DataError
from tests.conftest import git, kernel_env


def md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def wine_csv(project: Path, name: str = "data/x.csv") -> Path:
    from sklearn.datasets import load_wine

    path = project / name
    path.parent.mkdir(parents=True, exist_ok=True)
    load_wine(as_frame=True).frame.to_csv(path, index=False)
    return path


def test_add_in_a_run_records_the_dvc_version(project: Path, client) -> None:
    csv = wine_csv(project)
    with mlops.track(experiment="data", autolog=False) as run:
        result = mlops.data.add("data/x.csv", message="wine v1")
    (version,) = result.versions
    dvc_file = yaml.safe_load((project / "data" / "x.csv.dvc").read_text())
    assert dvc_file["outs"][0]["md5"] == md5(csv) == version.md5
    assert version.rows == 178 and len(version.columns) == 14
    assert any("Initialised DVC" in note for note in result.notes)
    assert any('git commit -m "wine v1"' in note for note in result.notes)
    staged = git(project, "diff", "--cached", "--name-only").split()
    assert {"data/x.csv.dvc", "data/.gitignore", ".dvc/config"} <= set(staged)
    assert "data/x.csv" not in staged  # the data itself never goes to git

    stored = client.get_run(run.run_id)
    (inp,) = stored.inputs.dataset_inputs
    assert inp.dataset.digest == md5(csv)
    assert inp.dataset.name == "data/x.csv"
    source = json.loads(inp.dataset.source)
    assert source["path"] == "data/x.csv" and source["git_rev"] == git(project, "rev-parse", "HEAD")
    columns = [c["name"] for c in json.loads(inp.dataset.schema)["mlflow_colspec"]]
    assert columns == list(pd.read_csv(csv, nrows=1).columns)
    assert json.loads(inp.dataset.profile)["num_rows"] == 178
    saved = Path(client.download_artifacts(run.run_id, "dvc/data/x.csv.dvc")).read_text()
    assert saved == (project / "data" / "x.csv.dvc").read_text()  # what reproduce restores
    assert stored.data.tags["mlops.data.data/x.csv"] == md5(csv)


def test_each_add_records_who_versioned_it_and_status_ignores_it(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``.dvc`` file's ``meta.versioned_by`` names who added this version: DVC keeps a
    stage's ``meta`` across re-adds, so a second user's add must replace it."""
    csv = wine_csv(project)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "carol")
    assert mlops.data.add("data/x.csv").versions[0].user == "carol"
    git(project, "commit", "-q", "-m", "data v1")
    assert mlops.data.status().paths == {"data/x.csv": "in sync"}  # meta is not a change
    with csv.open("a") as handle:
        handle.write("1,2,3,4,5,6,7,8,9,10,11,12,13,14\n")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "dave")
    (version,) = mlops.data.add("data/x.csv").versions
    dvc_file = yaml.safe_load((project / "data" / "x.csv.dvc").read_text())
    assert dvc_file["meta"] == {"versioned_by": "dave"} and version.user == "dave"
    assert dvc_file["outs"][0]["md5"] == md5(csv)
    with mlops.track(experiment="data", autolog=False):
        (used,) = mlops.data.use("data/x.csv")
    assert used.user == "dave"  # read back from the file, whoever uses it


def test_status_modified_then_checkout_restores_bytes(project: Path) -> None:
    csv = wine_csv(project)
    mlops.data.add("data/x.csv")
    original = csv.read_bytes()
    git(project, "commit", "-q", "-m", "data v1")
    assert mlops.data.status().paths == {"data/x.csv": "in sync"}
    with csv.open("a") as handle:
        handle.write("1,2,3\n")
    status = mlops.data.status()
    assert status.paths == {"data/x.csv": "modified"} and not status.ok
    assert status.to_dict()["paths"]["data/x.csv"] == "modified"
    assert list(status.to_frame().columns) == ["path", "state"]
    edited = csv.read_bytes()
    mlops.data.checkout("data/x.csv")
    assert csv.read_bytes() == original
    (backup,) = (project / ".mlops" / "backup" / "data").iterdir()
    assert backup.read_bytes() == edited  # the local edit was kept, not lost


def test_checkout_an_older_version_by_git_revision(project: Path) -> None:
    csv = wine_csv(project)
    mlops.data.add("data/x.csv")
    git(project, "commit", "-q", "-m", "v1")
    v1, rev1 = csv.read_bytes(), git(project, "rev-parse", "HEAD")
    csv.write_text("a,b\n1,2\n")
    mlops.data.add("data/x.csv")
    git(project, "commit", "-q", "-m", "v2")
    version = mlops.data.checkout("data/x.csv", rev=rev1)
    assert csv.read_bytes() == v1
    assert version.md5 == hashlib.md5(v1).hexdigest()


def test_folder_and_parquet(project: Path) -> None:
    folder = project / "images"
    folder.mkdir()
    for i in range(5):
        (folder / f"{i}.txt").write_text(f"image {i}\n")
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"], "c": [0.5, 1.5, 2.5]})
    frame.to_parquet(project / "table.parquet")
    result = mlops.data.add("images", "table.parquet")
    folder_version, table = result.versions
    assert folder_version.md5.endswith(".dir") and folder_version.nfiles == 5
    assert table.rows == 3 and list(table.columns) == ["a", "b", "c"]


def test_without_git_dvc_runs_without_scm(tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "plain"
    (root / ".mlops").mkdir(parents=True)  # a project root without git
    (root / "d.csv").write_text("a\n1\n")
    monkeypatch.chdir(root)
    result = mlops.data.add("d.csv")
    assert any("without git" in note for note in result.notes)
    assert (root / "d.csv.dvc").exists()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mlops.data.add("/etc/hostname"), "outside the project root"),
        (lambda: mlops.data.add("data/missing.csv"), "no such file or folder"),
        (lambda: mlops.data.add(".git/config"), "not data"),
        (lambda: mlops.data.add(), "name at least one"),
        (lambda: mlops.data.push(), "not initialised"),
        (lambda: mlops.data.checkout("README.md"), "not versioned with DVC"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(project: Path, call, message: str) -> None:
    before = sorted(
        p.relative_to(project).as_posix() for p in project.rglob("*") if ".git/" not in p.as_posix()
    )
    with pytest.raises(DataError, match=message) as info:
        call()
    assert "\n" not in str(info.value)
    after = sorted(
        p.relative_to(project).as_posix() for p in project.rglob("*") if ".git/" not in p.as_posix()
    )
    assert after == before  # DVC was not even initialised


def test_a_link_out_of_the_project_inside_a_folder_is_refused(project: Path, tmp_path) -> None:
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "secret.txt").write_text("SECRET\n")
    (outside / "deep" / "more.txt").write_text("MORE\n")
    folder = project / "data"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("a\n1\n")
    (folder / "b.csv").symlink_to(folder / "a.csv")  # a link inside the project is data
    (project / "first.csv").write_text("f\n1\n")
    mlops.data.add("first.csv")  # DVC initialised, a first object cached
    cache = project / ".dvc" / "cache"
    cached = sorted(cache.rglob("*"))
    for link, target in [
        ("sub/secret.txt", outside / "secret.txt"),  # a file, one folder down
        ("sub/deep", outside / "deep"),  # a folder (never walked into)
        ("sub/dangling", outside / "gone.txt"),  # a link to nothing, still outside
    ]:
        (folder / link).symlink_to(target)
        with pytest.raises(DataError, match="symbolic link leading outside") as info:
            mlops.data.add("data")
        assert f"data/{link} is a symbolic link" in str(info.value)
        assert "\n" not in str(info.value) and "SECRET" not in str(info.value)
        (folder / link).unlink()
    assert sorted(cache.rglob("*")) == cached and not (project / "data.dvc").exists()
    (folder / "sub" / "loop").symlink_to(folder / "sub" / "loop")
    with pytest.raises(DataError, match="data/sub/loop is a symbolic link that cannot be"):
        mlops.data.add("data")
    (folder / "sub" / "loop").unlink()
    (version,) = mlops.data.add("data").versions  # links that stay inside are fine
    assert version.nfiles == 2 and (project / "data.dvc").is_file()


def test_git_index_held_elsewhere_is_waited_for_then_reported(project: Path) -> None:
    import threading

    (project / "a.txt").write_text("a\n")
    lock = project / ".git" / "index.lock"
    lock.write_text("")  # another git process at work
    threading.Timer(0.6, lock.unlink).start()
    started = time.monotonic()
    assert dvc_repo.stage(project, ["a.txt"], wait=10) == ["a.txt"]
    assert time.monotonic() - started >= 0.6
    assert git(project, "diff", "--cached", "--name-only") == "a.txt"
    lock.write_text("")
    (project / "b.txt").write_text("b\n")
    with pytest.raises(dvc_repo.DataLockedError, match=r"holds \.git/index\.lock"):
        dvc_repo.stage(project, ["b.txt"], wait=0.3)
    lock.unlink()
    with pytest.raises(DataError, match="git add") as info:  # not a lock: one line, at once
        (project.parent / "out.txt").write_text("o\n")
        dvc_repo.stage(project, ["a.txt", "../out.txt"], wait=10)
    assert "\n" not in str(info.value)


def test_use_records_versioned_data(project: Path, client) -> None:
    wine_csv(project)
    mlops.data.add("data/x.csv")
    with pytest.raises(mlops.NoActiveRunError):
        mlops.data.use("data/x.csv")
    with pytest.raises(DataError, match="not versioned"):
        mlops.data.use("README.md")
    with mlops.track(experiment="data", autolog=False) as run:
        (version,) = mlops.data.use("data/x.csv")
    (inp,) = client.get_run(run.run_id).inputs.dataset_inputs
    assert inp.dataset.digest == version.md5


ADD_BIG = textwrap.dedent(
    """
    import sys
    import jupyter_mlops as mlops
    from jupyter_mlops.core.data import dvc_repo
    print("adding", flush=True)
    mlops.data.add(sys.argv[1])
    print("done", flush=True)
    """
)


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.5])
def test_interrupted_add_never_loses_data(project: Path, delay: float) -> None:
    big = project / "big.bin"
    with big.open("wb") as handle:
        for _ in range(160):
            handle.write(os.urandom(1 << 20))
    expected = md5(big)
    original = os.open(big, os.O_RDONLY)  # held open, so its inode cannot be reused
    dvc_repo.init(project)
    proc = subprocess.Popen(
        [sys.executable, "-c", ADD_BIG, "big.bin"],
        cwd=project,
        env=kernel_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "adding"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert md5(big) == expected  # the workspace copy is intact, whenever the kill came
    (version,) = mlops.data.add("big.bin").versions  # and the next add completes
    assert version.md5 == expected
    cached = dvc_repo.cache_dir(project) / expected[:2] / expected[2:]
    assert md5(cached) == expected  # the cache holds exactly those bytes
    assert md5(big) == expected
    # the very same file, never removed and re-linked (DVC's default link types do that)
    assert os.fstat(original).st_nlink == 1
    assert os.path.samestat(os.fstat(original), big.stat())
    os.close(original)


@pytest.mark.parametrize("torn", ["", '{"write": {"/x": {"pid": 1'])
def test_add_recovers_from_a_half_written_dvc_stage_lock(project: Path, torn: str) -> None:
    # what DVC leaves when it is killed while rewriting .dvc/tmp/rwlock in place
    dvc_repo.init(project)
    path = wine_csv(project)
    rwlock = project / ".dvc" / "tmp" / "rwlock"
    rwlock.parent.mkdir(parents=True, exist_ok=True)
    rwlock.write_text(torn)
    with pytest.warns(UserWarning, match="half-written"):
        (version,) = mlops.data.add("data/x.csv").versions
    assert version.md5 == md5(path)
    table = json.loads(rwlock.read_text())  # readable again, and nothing left holding stages
    assert not table.get("write") and not table.get("read")


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from dvc.repo import Repo
    repo = Repo(sys.argv[1])
    with repo.lock:
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def test_lock_held_elsewhere_waits_then_says_so(project: Path, monkeypatch) -> None:
    wine_csv(project)
    mlops.data.add("data/x.csv")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(project), "30"],
        env=kernel_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        assert mlops.data.status().paths == {"data/x.csv": "not committed"}  # no lock needed
        assert time.monotonic() - start < 10
        monkeypatch.setattr(dvc_repo, "LOCK_WAIT_SECONDS", 1.0)
        (project / "data" / "y.csv").write_text("a\n1\n")
        with pytest.raises(DataError, match="another DVC process holds the repository lock"):
            mlops.data.add("data/y.csv")
        assert (project / "data" / "y.csv").read_text() == "a\n1\n"
        assert not (project / "data" / "y.csv.dvc").exists()
    finally:
        holder.kill()
        holder.wait()
    (version,) = mlops.data.add("data/y.csv").versions  # the lock was DVC's to release
    assert version.rows == 1


CONCURRENT_ADD = textwrap.dedent(
    """
    import sys, time
    import jupyter_mlops as mlops
    import dvc.repo
    start_at = float(sys.argv[2])
    while time.time() < start_at:
        time.sleep(0.005)
    mlops.data.add(sys.argv[1])
    """
)


def test_two_processes_adding_at_once(project: Path) -> None:
    for name in ("a", "b"):
        with (project / f"{name}.bin").open("wb") as handle:
            handle.write(os.urandom(20 << 20))
    dvc_repo.init(project)
    start_at = f"{time.time() + 6:.3f}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_ADD, f"{name}.bin", start_at],
            cwd=project,
            env=kernel_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    for name in ("a", "b"):
        out = yaml.safe_load((project / f"{name}.bin.dvc").read_text())["outs"][0]
        assert out["md5"] == md5(project / f"{name}.bin")


PEAK_MEMORY = textwrap.dedent(
    """
    import resource, sys
    import jupyter_mlops as mlops
    mlops.data.add(sys.argv[1])
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)  # MiB on Linux
    """
)


def test_large_files_are_streamed_not_loaded(project: Path) -> None:
    row = b"0.123456789,1.23456789,12.3456789,123.456789,1234.56789,12345.6789,123456.789\n"
    with (project / "big.csv").open("wb") as handle:
        handle.write(b"a,b,c,d,e,f,g\n")
        block = row * 10_000
        for _ in range(400):  # about 300 MiB
            handle.write(block)
    (project / "small.csv").write_text("a,b,c,d,e,f,g\n" + "1,2,3,4,5,6,7\n" * 10)
    dvc_repo.init(project)

    def peak(name: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", PEAK_MEMORY, name],
            cwd=project,
            env=kernel_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.strip().splitlines()[-1])

    small, big = peak("small.csv"), peak("big.csv")
    assert big - small < 100, f"adding 300 MiB raised the peak from {small} to {big} MiB"
    dvc_file = yaml.safe_load((project / "big.csv.dvc").read_text())["outs"][0]
    assert dvc_file["md5"] == md5(project / "big.csv")


def test_a_path_with_a_nul_character_is_one_clear_error(project: Path) -> None:
    from jupyter_mlops.core.data.dvc_repo import DataError

    with pytest.raises(DataError, match="NUL character"):
        mlops.data.add("data\x00.csv")
    assert not (project / ".dvc").exists()  # refused before DVC was set up

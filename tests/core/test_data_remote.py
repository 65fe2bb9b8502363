"""DVC remotes: push, lose everything local, pull back; a local folder and a real S3 server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core.data.dvc_repo import DataError
from tests.conftest import git, kernel_env, start_moto, stop
from tests.core.test_data import md5, wine_csv

DVC = str(Path(sys.executable).parent / "dvc")


def dvc(project: Path, *args: str) -> None:
    """The DVC command line, as a user configures remotes."""
    subprocess.run([DVC, *args], cwd=project, check=True, capture_output=True, env=kernel_env())


def versioned(project: Path) -> Path:
    csv = wine_csv(project)
    mlops.data.add("data/x.csv")
    git(project, "commit", "-qm", "wine v1")
    return csv


def round_trip(project: Path, csv: Path) -> None:
    """Push, delete the file and DVC's whole cache, pull: the same bytes come back."""
    expected = md5(csv)
    assert mlops.data.status().paths == {"data/x.csv": "not pushed"}
    assert mlops.data.push() == 1
    assert mlops.data.status().paths == {"data/x.csv": "in sync"}
    csv.unlink()
    shutil.rmtree(project / ".dvc" / "cache")
    assert mlops.data.status(check_remote=False).paths == {"data/x.csv": "missing"}
    mlops.data.pull()
    assert md5(csv) == expected
    assert mlops.data.status().paths == {"data/x.csv": "in sync"}


def test_local_folder_remote_round_trip(project: Path, tmp_path: Path) -> None:
    csv = versioned(project)
    dvc(project, "remote", "add", "-d", "storage", str(tmp_path / "storage"))
    round_trip(project, csv)
    assert any((tmp_path / "storage" / "files" / "md5").rglob("*"))


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory):
    """moto's S3-compatible server on 127.0.0.1, with one bucket."""
    url, proc = start_moto(tmp_path_factory.mktemp("moto"))
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket="mlops-data")
    yield url, s3
    stop(proc, timeout=30)


def test_s3_remote_round_trip(project: Path, s3_server) -> None:
    url, s3 = s3_server
    csv = versioned(project)
    dvc(project, "remote", "add", "-d", "s3remote", "s3://mlops-data/project")
    dvc(project, "remote", "modify", "s3remote", "endpointurl", url)
    dvc(project, "remote", "modify", "--local", "s3remote", "access_key_id", "testing")
    dvc(project, "remote", "modify", "--local", "s3remote", "secret_access_key", "testing")
    with pytest.raises(DataError, match=r"commit \.dvc/config") as info:
        mlops.data.status()  # DVC reads the committed config, which has no s3remote yet
    assert "\n" not in str(info.value)
    git(project, "commit", "-qam", "S3 remote")  # the url in git, the keys in config.local
    round_trip(project, csv)
    expected = md5(csv)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="mlops-data")["Contents"]]
    assert f"project/files/md5/{expected[:2]}/{expected[2:]}" in keys


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: mlops.data.push(), "no DVC remote configured"),
        (lambda: mlops.data.pull(), "no DVC remote configured"),
        (lambda: mlops.data.push(remote="nope"), "no DVC remote named 'nope'"),
    ],
)
def test_transfers_without_a_usable_remote_change_nothing(project: Path, call, message) -> None:
    csv = versioned(project)
    before = {p: p.read_bytes() for p in (csv, project / "data" / "x.csv.dvc")}
    cache = sorted((project / ".dvc" / "cache").rglob("*"))
    with pytest.raises(DataError, match=message) as info:
        call()
    assert "\n" not in str(info.value)
    assert {p: p.read_bytes() for p in before} == before
    assert sorted((project / ".dvc" / "cache").rglob("*")) == cache


def test_push_and_pull_magics(ip, capfd, project: Path, tmp_path: Path) -> None:
    csv = versioned(project)
    expected = md5(csv)
    dvc(project, "remote", "add", "-d", "storage", str(tmp_path / "storage"))
    capfd.readouterr()
    assert ip.run_cell("%mlops data push").success
    assert "Pushed 1 file(s)." in capfd.readouterr().out
    csv.unlink()
    shutil.rmtree(project / ".dvc" / "cache")
    assert ip.run_cell("%mlops data pull").success
    assert "Pulled 1 file(s); restored data/x.csv." in capfd.readouterr().out
    assert md5(csv) == expected
    assert ip.run_cell("%mlops data push").success
    assert "Everything is already on the remote." in capfd.readouterr().out


def pyproject_remote(project: Path, remote: str) -> None:
    """``dvc_remote`` as a team commits it in ``[tool.jupyter-mlops]``."""
    (project / "pyproject.toml").write_text(f"[tool.jupyter-mlops]\ndvc_remote = '{remote}'\n")


def s3_environment(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """The S3 endpoint and keys where botocore reads them, not in any DVC config."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_a_remote_given_by_url_in_pyproject_round_trips(
    project: Path, s3_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, s3 = s3_server
    s3_environment(monkeypatch, url)
    pyproject_remote(project, "s3://mlops-data/by-url")
    csv = wine_csv(project)
    added = mlops.data.add("data/x.csv")
    assert added.versions[0].remote_url == "s3://mlops-data/by-url"  # what a run records
    git(project, "commit", "-qm", "wine v1")
    round_trip(project, csv)
    expected = md5(csv)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="mlops-data")["Contents"]]
    assert f"by-url/files/md5/{expected[:2]}/{expected[2:]}" in keys
    assert "pyproject-url" not in (project / ".dvc" / "config").read_text()  # nothing written


def test_a_url_naming_a_configured_remote_uses_its_endpoint_and_keys(
    project: Path, s3_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, s3 = s3_server
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    csv = versioned(project)
    dvc(project, "remote", "add", "team", "s3://mlops-data/team/")
    dvc(project, "remote", "modify", "team", "endpointurl", url)
    dvc(project, "remote", "modify", "--local", "team", "access_key_id", "testing")
    dvc(project, "remote", "modify", "--local", "team", "secret_access_key", "testing")
    git(project, "commit", "-qam", "team remote")
    pyproject_remote(project, "s3://mlops-data/team")
    assert mlops.data.push() == 1  # no default remote: the URL found remote 'team'
    assert mlops.data.status().remote == "s3://mlops-data/team"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="mlops-data", Prefix="team/")["Contents"]]
    assert len(keys) == 1 and md5(csv)[2:] in keys[0]


@pytest.mark.parametrize("how", ["url", "named"])
def test_a_bucket_that_does_not_exist_is_one_line_and_changes_nothing(
    project: Path, s3_server, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    url, _ = s3_server
    s3_environment(monkeypatch, url)
    csv = versioned(project)
    if how == "url":
        pyproject_remote(project, "s3://no-such-bucket/x")
    else:
        dvc(project, "remote", "add", "-d", "gone", "s3://no-such-bucket/x")
        git(project, "commit", "-qam", "remote gone")
    before = {p: p.read_bytes() for p in (csv, project / "data" / "x.csv.dvc")}
    cache = sorted((project / ".dvc" / "cache").rglob("*"))
    with pytest.raises(DataError) as info:
        mlops.data.push()
    line = str(info.value)
    assert "\n" not in line and "testing" not in line
    assert "s3://no-such-bucket/x" in line and "bucket does not exist" in line
    assert {p: p.read_bytes() for p in before} == before
    assert sorted((project / ".dvc" / "cache").rglob("*")) == cache


def test_push_magic_to_a_missing_bucket_is_one_line(
    ip, capfd, project: Path, s3_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = s3_server
    s3_environment(monkeypatch, url)
    versioned(project)
    pyproject_remote(project, "s3://no-such-bucket/x")
    capfd.readouterr()
    assert not ip.run_cell("%mlops data push").success
    captured = capfd.readouterr()
    text = captured.out + captured.err  # DVC's progress bars, then what went wrong
    said = [line for line in text.splitlines() if "bucket" in line]
    assert len(said) == 1 and "s3://no-such-bucket/x" in said[0], text
    assert "Traceback" not in text and "ERROR" not in text and "testing" not in text

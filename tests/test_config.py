"""Project root discovery and settings precedence: option > env > pyproject.toml > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_mlops.config import ConfigError, find_project_root, resolve_settings


def test_root_is_nearest_git_or_mlops_ancestor(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_project_root(deep) == tmp_path
    (tmp_path / "a" / ".mlops").mkdir()
    assert find_project_root(deep) == tmp_path / "a"


def test_root_falls_back_to_start_dir(tmp_path: Path) -> None:
    lone = tmp_path / "lone"
    lone.mkdir()
    assert find_project_root(lone) == lone.resolve()


def test_default_store_is_sqlite_under_root(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    s = resolve_settings(tmp_path, environ={})
    assert s.tracking_uri == f"sqlite:///{tmp_path.resolve()}/.mlops/mlflow.db"
    assert s.registry_uri == s.tracking_uri
    assert s.artifact_root == tmp_path.resolve() / ".mlops" / "artifacts"
    assert s.autolog is True
    assert s.source["tracking_uri"] == "default"


def test_precedence_option_env_pyproject(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\ntracking_uri = "sqlite:///store/m.db"\n'
        'experiment = "churn"\nautolog = false\ndvc_remote = "s3store"\n'
    )
    s = resolve_settings(tmp_path, environ={})
    assert s.tracking_uri == f"sqlite:///{tmp_path.resolve()}/store/m.db"  # relative to root
    assert s.artifact_root == tmp_path.resolve() / "store" / "artifacts"  # beside the database
    assert (s.experiment, s.autolog, s.dvc_remote) == ("churn", False, "s3store")
    assert s.source["tracking_uri"] == "pyproject.toml"

    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:5999", "MLFLOW_EXPERIMENT_NAME": "env-exp"}
    s = resolve_settings(tmp_path, environ=env)
    assert s.tracking_uri == "http://127.0.0.1:5999"
    assert s.artifact_root is None  # a server decides where artifacts go
    assert s.experiment == "env-exp"

    s = resolve_settings(tmp_path, tracking_uri="sqlite:////x/y.db", environ=env)
    assert s.tracking_uri == "sqlite:////x/y.db" and s.source["tracking_uri"] == "option"


def test_unknown_pyproject_key_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.jupyter-mlops]\ntraking_uri = 'x'\n")
    with pytest.raises(ConfigError, match="traking_uri"):
        resolve_settings(tmp_path, environ={})


def test_bad_autolog_value(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.jupyter-mlops]\nautolog = 'maybe'\n")
    with pytest.raises(ConfigError, match="autolog"):
        resolve_settings(tmp_path, environ={})


def test_inference_log_location(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    s = resolve_settings(tmp_path, environ={})
    assert s.inference_log_location == str(tmp_path.resolve() / ".mlops" / "inference")
    (tmp_path / "pyproject.toml").write_text("[tool.jupyter-mlops]\ninference_log = 'logs/inf'\n")
    s = resolve_settings(tmp_path, environ={})
    assert s.inference_log_location == str(tmp_path.resolve() / "logs" / "inf")
    assert s.source["inference_log"] == "pyproject.toml"
    s = resolve_settings(tmp_path, environ={"MLOPS_INFERENCE_LOG": "s3://bucket/inference"})
    assert s.inference_log_location == "s3://bucket/inference"
    assert s.source["inference_log"] == "$MLOPS_INFERENCE_LOG"


def test_pyproject_names_the_server_and_the_dvc_remote_by_url(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        "[tool.jupyter-mlops]\ntracking_uri = 'https://mlflow.example.org:5000/team'\n"
        "dvc_remote = 's3://team-data/churn'\n"
    )
    s = resolve_settings(tmp_path, environ={})
    assert s.tracking_uri == s.registry_uri == "https://mlflow.example.org:5000/team"
    assert s.dvc_remote == "s3://team-data/churn"
    assert s.artifact_root is None


@pytest.mark.parametrize(
    ("key", "value", "secret", "goes"),
    [
        ("tracking_uri", "https://alice:S3cretPw@mlflow.example.org", "S3cretPw", "MLFLOW_"),
        ("registry_uri", "https://tok3nVALUE@mlflow.example.org/", "tok3nVALUE", "credentials"),
        ("tracking_uri", "http://mlflow.example.org/?token=tok3nVALUE", "tok3nVALUE", "TOKEN"),
        ("dvc_remote", "https://u:S3cretPw@storage.example.org/dvc", "S3cretPw", "config.local"),
        ("dvc_remote", "s3://bucket/x?access_key=AKIAXYZ&secret_key=S3cret", "S3cret", "local"),
    ],
)
def test_an_address_carrying_credentials_is_refused_without_repeating_them(
    tmp_path: Path, key: str, value: str, secret: str, goes: str
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(f"[tool.jupyter-mlops]\n{key} = '{value}'\n")
    with pytest.raises(ConfigError) as info:
        resolve_settings(tmp_path, environ={})
    line = str(info.value)
    assert "\n" not in line and key in line and "carries credentials" in line
    assert secret not in line and "AKIA" not in line
    assert goes in line
    # the same address from the environment is the user's own, not a committed file
    (tmp_path / "pyproject.toml").unlink()
    env = {"MLFLOW_TRACKING_URI": value} if key == "tracking_uri" else {}
    assert resolve_settings(tmp_path, environ=env).tracking_uri.startswith(("http", "sqlite"))


def test_a_refused_address_is_one_line_from_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from jupyter_mlops.cli import main

    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        "[tool.jupyter-mlops]\ntracking_uri = 'https://bob:hunter2pw@mlflow.example.org'\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["status"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "carries credentials" in err and "hunter2pw" not in err

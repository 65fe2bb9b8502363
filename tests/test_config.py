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

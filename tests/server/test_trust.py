"""A shared store is untrusted input (issue 16): the card route reads only what the configured
store serves itself and sends nothing elsewhere; malformed requests are 4xx JSON, never 500."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.test_api import CARD, assert_error, call

TOKEN = "s3cret-tracking-token"


class Listener:
    """A real TCP listener on 127.0.0.1 that records every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            with conn:
                conn.settimeout(1)
                try:
                    self.received += conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


def hostile_sources(port: int, outside: Path) -> list[str]:
    """Version sources a shared store could hold that lead away from it."""
    here = f"127.0.0.1:{port}"
    return [
        f"http://{here}/artifacts/model",
        f"https://{here}/model",
        f"mlflow-artifacts://{here}/model",
        f"s3://{here}/model",
        outside.as_uri(),
        str(outside),
        f"file://{here}{outside}",
    ]


async def test_card_of_a_sqlite_store_is_read_from_its_own_artifacts_only(
    jp_fetch, seeded, mlflow_client, listener, tmp_path, monkeypatch
) -> None:
    import mlflow.tracking._tracking_service.utils as tracking_uri_state

    # the client resolves a models:/ source through the process-wide tracking URI (see
    # test_model_card_of_a_promoted_version); the server reads the same store either way
    monkeypatch.setattr(tracking_uri_state, "_tracking_uri", mlflow_client.tracking_uri)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "MODEL_CARD.md").write_text("SECRET outside the store\n")
    versions = [
        mlflow_client.create_model_version("churn", source=source).version
        for source in hostile_sources(listener.port, outside)
    ]
    # a run whose artifacts live on another host, named through runs:/ (a store's own scheme)
    http_root = f"http://127.0.0.1:{listener.port}/experiment"
    elsewhere = mlflow_client.create_experiment("elsewhere", artifact_location=http_root)
    run_id = mlflow_client.create_run(elsewhere).info.run_id
    versions.append(
        mlflow_client.create_model_version(
            "churn", source=f"runs:/{run_id}/model", run_id=run_id
        ).version
    )
    # an MLflow 3 logged model in that experiment: its artifact location is on that host too
    logged = mlflow_client.create_logged_model(elsewhere, name="churn")
    assert logged.artifact_location.startswith(http_root)
    versions.append(
        mlflow_client.create_model_version(
            "churn", source=f"models:/{logged.model_id}", model_id=logged.model_id
        ).version
    )
    # a card inside the store's artifact root that is a symlink to a file outside it
    run = mlflow_client.create_run(seeded["experiments"]["churn"])
    model_dir = Path(run.info.artifact_uri.removeprefix("file://")) / "model"
    model_dir.mkdir(parents=True)
    os.symlink(outside / "MODEL_CARD.md", model_dir / "MODEL_CARD.md")
    versions.append(mlflow_client.create_model_version("churn", source=model_dir.as_uri()).version)
    listener.connections, listener.received = 0, b""  # count what the card route does only
    for version in versions:
        status, reply = await call(jp_fetch, "models", "churn", "versions", str(version), "card")
        assert_error(status, reply, 404)
        assert reply["error"] == "not_found" and "SECRET" not in reply["message"]
    assert listener.connections == 0 and TOKEN.encode() not in listener.received
    status, reply = await call(jp_fetch, "models", "churn", "versions", str(versions[0]), "card")
    assert "not in this store's artifacts (http://127.0.0.1)" in reply["message"]
    # mlops.load_model follows the same rule: nothing downloaded from elsewhere, one line
    from jupyter_mlops import load_model
    from jupyter_mlops.core.store import ForeignArtifactsError

    for version in versions[:-1]:  # the last one's folder is the store's own (its card links out)
        with pytest.raises(ForeignArtifactsError, match="not in this store's artifacts") as exc:
            load_model(f"models:/churn/{version}", tracking_uri=mlflow_client.tracking_uri)
        assert "\n" not in str(exc.value)
    assert listener.connections == 0 and TOKEN.encode() not in listener.received


async def test_card_through_a_real_mlflow_server(
    jp_fetch, mlflow_server, listener, tmp_path, tmp_path_factory, monkeypatch
) -> None:
    import mlflow.tracking._tracking_service.utils as tracking_uri_state
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    monkeypatch.setattr(tracking_uri_state, "_tracking_uri", mlflow_server)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    name = f"card-{uuid.uuid4().hex[:8]}"
    experiment = client.create_experiment(name)
    client.create_registered_model(name)
    # the card as promote logs it: a logged model's artifacts, proxied by the tracking server
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MODEL_CARD.md").write_text(CARD, encoding="utf-8")
    logged = client.create_logged_model(experiment, name=name)
    assert logged.artifact_location.startswith("mlflow-artifacts:")
    client.log_model_artifacts(logged.model_id, str(folder))
    good = client.create_model_version(
        name, source=f"models:/{logged.model_id}", model_id=logged.model_id
    ).version
    # the server refuses most of these sources itself (MLflow 3.x guards http and host-named
    # mlflow-artifacts sources); what it accepts must still not be followed
    hostile = []
    for source in hostile_sources(listener.port, tmp_path)[:4]:
        with contextlib.suppress(MlflowException):
            hostile.append(client.create_model_version(name, source=source).version)
    assert hostile, "the server accepted none of the hostile sources"
    # a shared server's database is not ours to trust either: point versions at the listener
    # behind the server's back, as another client of a shared store (or its owner) could
    planted = [client.create_model_version(name, source="s3://bucket/m").version for _ in "ab"]
    (db,) = [
        p
        for p in tmp_path_factory.getbasetemp().glob("mlflow-server[0-9]*/server.db")
        if name in p.read_bytes().decode("latin-1")
    ]
    with sqlite3.connect(db) as conn:
        for version, source in zip(planted, hostile_sources(listener.port, tmp_path), strict=False):
            conn.execute(
                "UPDATE model_versions SET source = ?, storage_location = ? "
                "WHERE name = ? AND version = ?",
                (source, source, name, int(version)),
            )
    hostile += planted
    listener.connections, listener.received = 0, b""
    status, reply = await call(jp_fetch, "models", name, "versions", str(good), "card")
    assert status == 200, reply
    assert reply["markdown"] == CARD
    for version in hostile:
        status, reply = await call(jp_fetch, "models", name, "versions", str(version), "card")
        assert_error(status, reply, 404)
    assert listener.connections == 0 and TOKEN.encode() not in listener.received


def forged(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


async def test_malformed_requests_are_4xx_json(jp_fetch, seeded) -> None:
    root = seeded["root"]
    deep = "[" * 100_000 + "]" * 100_000
    long = "x" * 5_000
    (root / "loop").symlink_to(root / "loop")
    churn = seeded["experiments"]["churn"]
    cases = [
        (("data",), "POST", deep, None, 400, "invalid_json"),
        (("models", "churn", "aliases"), "POST", deep, None, 400, "invalid_json"),
        (("data",), "POST", {"path": long}, None, 400, "bad_path"),
        (("data",), "POST", {"path": "y" * 300}, None, 400, "bad_path"),  # ENAMETOOLONG
        (("data",), "POST", '{"path": "\\ud800.csv"}', None, 400, "bad_path"),
        (("data",), "POST", {"path": "loop"}, None, 400, "bad_path"),
        (("models", long), "GET", None, None, 400, "bad_request"),
        (("models", long, "versions", "1", "card"), "GET", None, None, 400, "bad_request"),
        (("models", "churn", "versions", "9" * 5_000, "card"), "GET", None, None, 400, None),
        (("models", long, "versions", "1", "monitoring"), "GET", None, None, 400, "bad_request"),
        (
            ("models", "churn", "versions", "1", "monitoring"),
            "GET",
            None,
            {"limit": long},
            400,
            None,
        ),
        (("runs", "a" * 5_000), "GET", None, None, 400, "bad_run_id"),
        (("runs", seeded["run_id"], "metrics", long), "GET", None, None, 400, None),
    ]
    for token in [
        forged({"offset": 10**30}),  # past SQLite's integers
        forged({"offset": [1]}),
        forged({"offset": {"a": 1}}),
        forged([1]),
        forged("offset"),
        forged({"offset": "1e400"}),
        "%%%",
        "A" * 4_097,
    ]:
        params = {"experiment_id": churn, "page_token": token}
        cases.append((("runs",), "GET", None, params, 400, "bad_parameter"))
    for parts, method, body, params, expected, code in cases:
        status, reply = await call(jp_fetch, *parts, method=method, body=body, params=params)
        assert_error(status, reply, expected)
        assert code is None or reply["error"] == code, (parts, reply)
    # an offset a store can take is a page, even if an empty one
    params = {"experiment_id": churn, "page_token": forged({"offset": 10**12})}
    status, reply = await call(jp_fetch, "runs", params=params)
    assert status == 200 and reply["runs"] == []
    assert not (root / ".dvc").exists()


async def test_post_data_refuses_a_folder_linking_out(jp_fetch, seeded, tmp_path) -> None:
    root = seeded["root"]
    status, reply = await call(jp_fetch, "data", method="POST", body={"path": "data.csv"})
    assert status == 200, reply  # DVC initialised, one object cached
    cache = sorted((root / ".dvc" / "cache").rglob("*"))
    (tmp_path / "secret.txt").write_text("SECRET\n")
    (root / "folder" / "sub").mkdir(parents=True)
    (root / "folder" / "ok.txt").write_text("ok\n")
    (root / "folder" / "sub" / "s.txt").symlink_to(tmp_path / "secret.txt")
    status, reply = await call(jp_fetch, "data", method="POST", body={"path": "folder"})
    assert_error(status, reply, 400)
    assert reply["error"] == "outside_root" and "folder/sub/s.txt" in reply["message"]
    assert sorted((root / ".dvc" / "cache").rglob("*")) == cache
    assert not (root / "folder.dvc").exists()


async def test_git_index_held_elsewhere_is_a_409(jp_fetch, seeded, monkeypatch) -> None:
    from jupyter_mlops.core.data import dvc_repo

    monkeypatch.setattr(dvc_repo, "GIT_LOCK_WAIT_SECONDS", 0.5)
    lock = seeded["root"] / ".git" / "index.lock"
    lock.write_text("")  # another git process at work
    status, reply = await call(jp_fetch, "data", method="POST", body={"path": "data.csv"})
    assert_error(status, reply, 409)
    assert reply["error"] == "busy" and "index.lock" in reply["message"]
    lock.unlink()
    status, reply = await call(jp_fetch, "data", method="POST", body={"path": "data.csv"})
    assert status == 200, reply  # trying again once git is done works

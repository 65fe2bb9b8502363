"""The REST API through a real Jupyter server: every route, auth, bad input, pagination, writes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.core.registry.model_card import card_html
from jupyter_mlops.server.handlers import ROUTES, methods

API = ("mlops", "api")


async def call(jp_fetch, *parts: str, method: str = "GET", body: Any = None, **kwargs: Any):
    """(status, parsed JSON body) of one request; errors are answers, not exceptions."""
    if body is not None and not isinstance(body, str | bytes):
        body = json.dumps(body)
    if method == "POST" and body is None:
        body = ""
    response = await jp_fetch(*API, *parts, method=method, body=body, raise_error=False, **kwargs)
    text = response.body.decode()
    assert "Traceback" not in text
    assert response.headers["Content-Type"].startswith("application/json"), text
    return response.code, json.loads(text)


def assert_error(status: int, reply: dict, expected: int) -> None:
    assert status == expected, reply
    assert set(reply) == {"error", "message"}, reply
    assert reply["error"] and reply["message"] and "\n" not in reply["message"]


# -- happy paths ------------------------------------------------------------------------------
async def test_status(jp_fetch, seeded) -> None:
    status, reply = await call(jp_fetch, "status")
    assert status == 200
    assert reply["project_root"] == str(seeded["root"])
    assert reply["tracking_uri"].endswith("/.mlops/mlflow.db")
    assert reply["tracking_uri_source"] == "default"
    assert reply["git"] is True and reply["dvc"]["initialized"] is False


async def test_status_honours_pyproject(jp_fetch, seeded) -> None:
    (seeded["root"] / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\ntracking_uri = "sqlite:///other/store.db"\n'
    )
    status, reply = await call(jp_fetch, "status")
    assert status == 200 and reply["tracking_uri_source"] == "pyproject.toml"
    assert reply["tracking_uri"] == f"sqlite:///{seeded['root'] / 'other' / 'store.db'}"


async def test_experiments(jp_fetch, seeded) -> None:
    status, reply = await call(jp_fetch, "experiments")
    assert status == 200
    names = {e["name"]: e["experiment_id"] for e in reply["experiments"]}
    assert {"churn", "many", "empty"} <= set(names)
    assert names["churn"] == seeded["experiments"]["churn"]


async def test_runs_of_an_experiment(jp_fetch, seeded) -> None:
    status, reply = await call(
        jp_fetch, "runs", params={"experiment_id": seeded["experiments"]["churn"]}
    )
    assert status == 200 and reply["next_page_token"] is None
    rows = {r["name"]: r for r in reply["runs"]}
    lr = rows["lr"]
    assert lr["run_id"] == seeded["run_id"] and lr["status"] == "FINISHED"
    assert lr["metrics"]["loss"] == 0.1 and lr["metrics"]["odd"] == "NaN"
    assert lr["params"] == {"alpha": "0.1", "solver": "lbfgs"}
    # list rows carry user tags and a few key mlflow.* tags, not the internal ones
    assert lr["tags"] == {"dataset": "churn_v3", "mlflow.source.name": "train.ipynb"}
    assert lr["start_time"].endswith("+00:00") and lr["experiment_id"]


async def test_run_details(jp_fetch, seeded) -> None:
    status, reply = await call(jp_fetch, "runs", seeded["run_id"])
    assert status == 200
    assert reply["run_id"] == seeded["run_id"] and reply["params"]["solver"] == "lbfgs"
    assert reply["tags"]["mlflow.internal"] == "x"  # details keep every tag
    artifacts = {a["path"]: a for a in reply["artifacts"]}
    assert artifacts["notes"]["is_dir"] is True and artifacts["summary.json"]["file_size"] == 2
    assert reply["inputs"] == []


async def test_metric_history(jp_fetch, seeded) -> None:
    status, reply = await call(jp_fetch, "runs", seeded["run_id"], "metrics", "loss")
    assert status == 200
    assert [p["step"] for p in reply["history"]] == list(range(10))
    assert reply["history"][0]["value"] == 1.0 and reply["history"][-1]["value"] == 0.1


async def test_models_and_versions(jp_fetch) -> None:
    status, reply = await call(jp_fetch, "models")
    assert status == 200 and reply["kind"] == "models"
    (row,) = reply["rows"]
    assert row["name"] == "churn" and row["latest_version"] == 2
    assert row["aliases"] == {"staging": 1}
    status, reply = await call(jp_fetch, "models", "churn")
    assert status == 200 and reply["kind"] == "versions"
    assert [(r["version"], r["aliases"]) for r in reply["rows"]] == [(2, []), (1, ["staging"])]


async def test_alias_moves(jp_fetch, mlflow_client) -> None:
    body = {"alias": "staging", "version": 2}
    status, reply = await call(jp_fetch, "models", "churn", "aliases", method="POST", body=body)
    assert status == 200 and reply["version"] == 2 and reply["aliases"] == ["staging"]
    assert int(mlflow_client.get_model_version_by_alias("churn", "staging").version) == 2


CARD = "# churn\n\nTrained by run `lr`; <script>alert(1)</script> stays text for the panel.\n"


async def test_model_card_of_a_promoted_version(
    jp_fetch, seeded, mlflow_client, tmp_path, monkeypatch
) -> None:
    # as `promote` registers: a logged model holding MODEL_CARD.md, the version pointing at it
    # (MLflow's registry resolves a `models:/<id>` source through the process-wide tracking URI,
    # which another test may have set: point it here, then take it away for the server)
    import mlflow.tracking._tracking_service.utils as tracking_uri_state

    monkeypatch.setattr(tracking_uri_state, "_tracking_uri", mlflow_client.tracking_uri)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_client.tracking_uri)
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "MODEL_CARD.md").write_text(CARD, encoding="utf-8")
    (folder / "MLmodel").write_text("flavors: {}\n")
    logged = mlflow_client.create_logged_model(
        seeded["experiments"]["churn"], name="churn", source_run_id=seeded["run_id"]
    )
    mlflow_client.log_model_artifacts(logged.model_id, str(folder))
    version = mlflow_client.create_model_version(
        "churn",
        source=f"models:/{logged.model_id}",
        run_id=seeded["run_id"],
        model_id=logged.model_id,
    ).version
    # the server is given no default: it must find the logged model in its project's store
    monkeypatch.setattr(tracking_uri_state, "_tracking_uri", None)
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.chdir(tmp_path)  # where a stray default store (mlflow.db) would appear
    status, reply = await call(jp_fetch, "models", "churn", "versions", str(version), "card")
    assert status == 200, reply
    html = card_html(CARD)  # the card rendered inert for the panel (tests/core/test_redact.py)
    run = mlflow_client.get_run(seeded["run_id"]).info  # the version's run as it is now
    now = {"id": run.run_id, "name": "lr", "status": "FINISHED", "end_time": run.end_time}
    now["card_says_running"] = False
    assert reply == {
        "name": "churn",
        "version": int(version),
        "markdown": CARD,
        "html": html,
        "run": now,
    }
    assert not (tmp_path / "mlflow.db").exists()


def version_with_card(client, seeded: dict) -> str:
    """A new version of `churn` whose run logged the model and its card (artifacts of runs
    seeded in the template are shared by every test, so the card goes to a run of its own)."""
    run = client.create_run(seeded["experiments"]["churn"], run_name="carded")
    client.log_text(run.info.run_id, CARD, "model/MODEL_CARD.md")
    source = f"{run.info.artifact_uri}/model"
    return str(client.create_model_version("churn", source=source, run_id=run.info.run_id).version)


async def test_model_card_of_a_version_logged_with_its_run(jp_fetch, seeded, mlflow_client) -> None:
    version = version_with_card(mlflow_client, seeded)
    status, reply = await call(jp_fetch, "models", "churn", "versions", version, "card")
    assert status == 200 and reply["markdown"] == CARD and reply["version"] == int(version)


async def test_data_add_and_list(jp_fetch, seeded) -> None:
    root = seeded["root"]
    status, reply = await call(jp_fetch, "data")
    assert status == 200 and reply["paths"] == {} and reply["initialized"] is False
    status, reply = await call(jp_fetch, "data", method="POST", body={"path": "data.csv"})
    assert status == 200, reply
    (version,) = reply["versions"]
    assert version["path"] == "data.csv" and version["rows"] == 2
    assert (root / "data.csv.dvc").is_file()
    assert any('git commit -m "Version data.csv"' in note for note in reply["notes"])
    status, reply = await call(jp_fetch, "data")
    assert status == 200 and reply["initialized"] is True
    assert reply["paths"] == {"data.csv": "not committed"}  # staged, never committed for you


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "expected", "code"),
    [
        ({"path": "../../etc/passwd"}, 400, "bad_path"),
        ({"path": "/etc/passwd"}, 400, "bad_path"),
        ({"path": "escape"}, 400, "outside_root"),  # a symlink to a folder outside the root
        ({"path": "escape/passwd"}, 400, "outside_root"),
        ({"path": "nope.csv"}, 404, "not_found"),
        ({"path": "."}, 400, "bad_path"),
        ({"path": ""}, 400, "bad_path"),
        ({"path": 3}, 400, "bad_path"),
        ({}, 400, "bad_path"),
        ("not json", 400, "invalid_json"),
        ("", 400, "invalid_json"),
        (json.dumps(["data.csv"]), 400, "bad_body"),
        (json.dumps("data.csv"), 400, "bad_body"),
    ],
)
async def test_data_refuses_bad_paths_and_bodies(
    jp_fetch, seeded, tmp_path, body, expected, code
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("secret\n")
    os.symlink(outside, seeded["root"] / "escape")
    status, reply = await call(jp_fetch, "data", method="POST", body=body)
    assert_error(status, reply, expected)
    assert reply["error"] == code
    assert not (seeded["root"] / ".dvc").exists()  # nothing was touched


@pytest.mark.parametrize(
    ("parts", "params", "expected", "code"),
    [
        (("runs", "0" * 32), None, 404, "not_found"),
        (("runs", "not-a-run-id"), None, 400, "bad_run_id"),
        (("runs", "0" * 32, "metrics", "loss"), None, 404, "not_found"),
        (("runs", "{run_id}", "metrics", "nope"), None, 404, "not_found"),
        (("runs", "{run_id}", "metrics", "bad*key"), None, 400, "bad_metric_key"),
        (("runs",), {}, 400, "bad_parameter"),
        (("runs",), {"experiment_id": "424242"}, 404, "not_found"),
        (("runs",), {"experiment_id": "1", "max_results": "0"}, 400, "bad_parameter"),
        (("runs",), {"experiment_id": "1", "max_results": "1001"}, 400, "bad_parameter"),
        (("runs",), {"experiment_id": "1", "max_results": "ten"}, 400, "bad_parameter"),
        (("runs",), {"experiment_id": "{churn}", "page_token": "garbage"}, 400, "bad_parameter"),
        (("models", "nope"), None, 404, "not_found"),
        (("models", "churn", "versions", "1", "card"), None, 404, "not_found"),  # no card
        (("models", "churn", "versions", "9", "card"), None, 404, "not_found"),
        (("models", "nope", "versions", "1", "card"), None, 404, "not_found"),
        (("models", "churn", "versions", "0", "card"), None, 400, "bad_parameter"),
        (("models", "churn", "versions", "two", "card"), None, 400, "bad_parameter"),
        (("nowhere",), None, 404, "not_found"),
    ],
)
async def test_bad_reads(jp_fetch, seeded, parts, params, expected, code) -> None:
    parts = tuple(p.format(run_id=seeded["run_id"]) for p in parts)
    churn = seeded["experiments"]["churn"]
    params = {k: v.format(churn=churn) for k, v in (params or {}).items()}
    status, reply = await call(jp_fetch, *parts, params=params)
    assert_error(status, reply, expected)
    assert reply["error"] == code


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("churn", {"alias": "latest", "version": 1}, 400),
        ("churn", {"alias": "v2", "version": 1}, 400),
        ("churn", {"alias": "bad alias", "version": 1}, 400),
        ("churn", {"alias": "prod", "version": 9}, 404),
        ("churn", {"alias": "prod", "version": "two"}, 400),
        ("churn", {"alias": "prod", "version": True}, 400),
        ("churn", {"alias": "prod"}, 400),
        ("churn", ["prod", 1], 400),
        ("churn", "{", 400),
        ("nope", {"alias": "prod", "version": 1}, 404),
    ],
)
async def test_bad_alias_requests(jp_fetch, mlflow_client, name, body, expected) -> None:
    status, reply = await call(jp_fetch, "models", name, "aliases", method="POST", body=body)
    assert_error(status, reply, expected)
    aliases = mlflow_client.get_registered_model("churn").aliases
    assert {k: int(v) for k, v in aliases.items()} == {"staging": 1}


async def test_unexpected_errors_answer_json_without_details(jp_fetch, jp_serverapp) -> None:
    from jupyter_mlops.server.handlers import SERVICE_KEY

    def broken() -> dict:
        raise RuntimeError("secret detail /home/someone")

    jp_serverapp.web_app.settings[SERVICE_KEY].status = broken
    status, reply = await call(jp_fetch, "status")
    assert_error(status, reply, 500)
    assert reply["error"] == "internal_error" and "secret" not in reply["message"]


# -- pagination -------------------------------------------------------------------------------
async def test_pages_cover_every_run_once(jp_fetch, seeded) -> None:
    from tests.server.conftest import MANY_RUNS

    seen: list[str] = []
    pages = 0
    params = {"experiment_id": seeded["experiments"]["many"], "max_results": "100"}
    while True:
        status, reply = await call(jp_fetch, "runs", params=params)
        assert status == 200
        pages += 1
        seen += [r["run_id"] for r in reply["runs"]]
        if not reply["next_page_token"]:
            break
        params["page_token"] = reply["next_page_token"]
    assert pages == 3 and len(seen) == MANY_RUNS == len(set(seen))


# -- authentication ---------------------------------------------------------------------------
def _concrete(template: str, seeded: dict) -> tuple[str, ...]:
    values = {
        "run_id": seeded["run_id"],
        "key": "loss",
        "name": "churn",
        "version": "1",
        "path": "summary.json",
        "other_id": seeded["other_run_id"],
    }
    return tuple(template.format(**values).split("/"))


ROUTE_CALLS = [(t, m.upper()) for t, h in ROUTES for m in sorted(methods(h))]


@pytest.mark.parametrize(("template", "method"), ROUTE_CALLS)
async def test_every_route_needs_authentication(
    jp_fetch, seeded, mlflow_client, template, method
) -> None:
    parts = _concrete(template, seeded)
    if template.endswith("/card"):  # the seeded versions have no card
        parts = (*parts[:3], version_with_card(mlflow_client, seeded), "card")
    if "notebook-diff" in template:  # the seeded runs have no notebook snapshot
        from tests.server.test_notebook_diff import runs_with_snapshots

        a, b = runs_with_snapshots(mlflow_client, seeded)
        parts = ("runs", a, "notebook-diff", b)
    body = json.dumps({"path": "data.csv", "alias": "prod", "version": 2})
    kwargs = {"body": body} if method == "POST" else {}
    params = {"experiment_id": seeded["experiments"]["churn"]} if template == "runs" else None
    if template.endswith("/compare"):
        params = {"a": "1", "b": "2"}
    # the same request with the token works (so the refusal below is about the token alone)
    if method == "GET":
        status, _ = await call(jp_fetch, *parts, params=params)
        assert status == 200
    status, reply = await call(
        jp_fetch, *parts, method=method, params=params, headers={"Authorization": ""}, **kwargs
    )
    assert status in (401, 403)
    assert reply["error"] in ("unauthorized", "forbidden")
    assert not (seeded["root"] / "data.csv.dvc").exists()


async def test_a_wrong_token_is_refused(jp_fetch, seeded) -> None:
    status, _ = await call(jp_fetch, "status", headers={"Authorization": "token wrong"})
    assert status in (401, 403)


def test_routes_are_decorated() -> None:
    """Each verb carries @authenticated and @authorized (both wrap the method)."""
    for _, handler in ROUTES:
        for name in methods(handler):
            inner = getattr(handler, name).__wrapped__.__wrapped__
            assert inner.__qualname__ == f"{handler.__name__}.{name}"


def test_service_refuses_paths_without_a_server(tmp_path: Path) -> None:
    from jupyter_mlops.server.service import MlopsService
    from jupyter_mlops.server.validation import ApiError

    service = MlopsService(tmp_path)
    (tmp_path / "ok.csv").write_text("a\n1\n")
    assert service.data_path("ok.csv") == tmp_path / "ok.csv"
    for bad in ("..", "a/../../x", "C:\\x", "\\\\host\\share", "ok.csv\x00", str(tmp_path)):
        with pytest.raises(ApiError):
            service.data_path(bad)


@pytest.mark.timeout(90)  # MLflow's own retries would hold each request for minutes
async def test_a_tracking_server_that_is_down_is_a_503_line_not_a_hung_request(
    jp_fetch, seeded
) -> None:
    from tests.conftest import free_port

    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    config = f'[tool.jupyter-mlops]\ntracking_uri = "{down}"\n'
    (seeded["root"] / "pyproject.toml").write_text(config)
    churn = {"experiment_id": seeded["experiments"]["churn"]}
    asks = [
        (("experiments",), {}),
        (("runs",), churn),
        (("runs", seeded["run_id"]), {}),
        (("models",), {}),
        (("models", "churn", "history"), {}),
    ]
    for parts, params in asks:
        status, reply = await call(jp_fetch, *parts, params=params)
        assert_error(status, reply, 503)
        assert reply["error"] == "store_unreachable"
        assert reply["message"].startswith(f"the tracking server {down} is not answering")
    body = {"alias": "champion", "version": 1}
    status, reply = await call(jp_fetch, "models", "churn", "aliases", method="POST", body=body)
    assert_error(status, reply, 503)
    status, reply = await call(jp_fetch, "status")  # the project itself still answers
    assert status == 200 and reply["tracking_uri"] == down

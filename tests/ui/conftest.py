"""A real ``jupyter lab`` over a seeded project, driven in Debian's Chromium through Playwright.

One lab server and one browser page serve a whole test module. The project is a git repository
seeded through the public Python API (runs with a metric history and params, a run whose name
is HTML, a DVC-versioned ``data.csv``, a registered model). Chromium and the built JupyterLab
extension are requirements, not options: without them the fixture fails and says what to run.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, git, kernel_env, stop

REPO = Path(__file__).resolve().parents[2]
SEED = Path(__file__).with_name("seed_project.py")
DEFAULT_SEED = [[SEED, "--model"]]
SCREENSHOTS = REPO / "build" / "ui"
CHROMIUM = Path("/usr/bin/chromium")
# the closed network refuses Chromium's background connections: keep it from making any
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EXTENSION = "jupyter-mlops"
START_TIMEOUT = 90  # seconds for the lab server to answer /api/status
LOG_TAIL = 60


def installed_extension() -> Path | None:
    """The ``package.json`` of the prebuilt extension where JupyterLab looks for it, if any."""
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("labextensions"):
        found = Path(folder) / EXTENSION / "package.json"
        if found.is_file():
            return found
    return None


def require_browser_and_extension() -> None:
    """Fail (never skip) with what to run when Chromium or the built extension is missing."""
    if not CHROMIUM.is_file():
        pytest.fail(
            f"{CHROMIUM} is missing: run `bash scripts/install-test-deps.sh` (Debian's chromium)",
            pytrace=False,
        )
    if installed_extension() is None:
        pytest.fail(
            f"the JupyterLab extension {EXTENSION!r} is not built and installed in {sys.prefix}: "
            "run `pip install -e .` (builds labextension/ into jupyter_mlops/labextension)",
            pytrace=False,
        )


@dataclass
class Lab:
    """A running ``jupyter lab`` and the facts the seed recorded (run ids, experiment id)."""

    url: str  # ends with "/"
    token: str
    root: Path
    log: Path
    facts: dict[str, Any]
    proc: subprocess.Popen

    def log_tail(self, lines: int = LOG_TAIL) -> str:
        return tail(self.log, lines)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the server's REST API with the token (no cookie, so no XSRF header needed)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path.lstrip("/"),
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
        return json.loads(payload) if payload else None


def tail(path: Path, lines: int = LOG_TAIL) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:])


def _new_project(root: Path) -> None:
    root.mkdir(parents=True)
    git(root, "init", "-q")
    (root / "README.md").write_text("demo\n")
    (root / "data.csv").write_text("x,y\n0,1\n1,3\n2,5\n3,7\n")
    git(root, "add", "README.md")
    git(root, "commit", "-q", "-m", "init")


def _lab_env(home: Path) -> dict[str, str]:
    """The tests' environment without MLflow settings, with Jupyter's per-user state in ``home``."""
    env = kernel_env()
    for name, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
    ):
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / sub)
    # no "get news?" toast over the page on first start
    news = home / "lab-settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True, exist_ok=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    # the extension built in this checkout (`jlpm build`), before the one installed in the venv
    built = REPO / "jupyter_mlops" / "labextension"
    if (built / "package.json").is_file():
        (home / "jupyter-path" / "labextensions").mkdir(parents=True, exist_ok=True)
        link = home / "jupyter-path" / "labextensions" / EXTENSION
        if not link.exists():
            link.symlink_to(built, target_is_directory=True)
        env["JUPYTER_PATH"] = os.pathsep.join(
            p for p in (str(home / "jupyter-path"), env.get("JUPYTER_PATH", "")) if p
        )
    return env


def _wait_for_lab(url: str, token: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    headers = {"Authorization": f"token {token}"}
    request = urllib.request.Request(url + "api/status", headers=headers)
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        if proc.poll() is not None:
            pytest.fail(
                f"jupyter lab exited with {proc.returncode} before answering; its log:\n"
                + tail(log),
                pytrace=False,
            )
        if time.monotonic() > deadline:
            pytest.fail(
                f"jupyter lab did not answer /api/status within {START_TIMEOUT} s; its log:\n"
                + tail(log),
                pytrace=False,
            )
        time.sleep(0.2)


def _seed(root: Path, command: list[str]) -> dict[str, Any]:
    """Run one seeding script in the project with the tests' Python; its last line is JSON."""
    seed = subprocess.run(
        [sys.executable, *command],
        cwd=root,
        env=kernel_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if seed.returncode != 0:
        pytest.fail(
            f"seeding the project ({command}) failed:\n{seed.stderr[-4000:]}", pytrace=False
        )
    return json.loads(seed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """``jupyter lab`` on a free port over a freshly seeded project (seeded while it starts).

    A test module says how its project is seeded with ``LAB_SEED``, a list of commands (a
    script and its arguments, run in order by the tests' Python, each printing one JSON line
    of facts, merged); by default the panel's seed with a registered model."""
    require_browser_and_extension()
    home = tmp_path_factory.mktemp("ui")
    root = home / "proj"
    _new_project(root)
    env = _lab_env(home)
    port, token = free_port(), secrets.token_hex(16)
    log = home / "jupyter-lab.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={port}",
                f"--ServerApp.root_dir={root}",
                f"--IdentityProvider.token={token}",
                # window.jupyterapp: the browser tests change the theme with its command
                "--LabApp.expose_app_in_browser=True",
            ],
            cwd=root,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        # the server resolves the project on every request, so seeding can overlap its start
        facts: dict[str, Any] = {}
        for command in getattr(request.module, "LAB_SEED", DEFAULT_SEED):
            facts.update(_seed(root, [str(part) for part in command]))
        _wait_for_lab(url, token, proc, log)
        yield Lab(url=url, token=token, root=root, log=log, facts=facts, proc=proc)
    finally:
        stop(proc)


@dataclass
class UI:
    """The browser page on the lab, with what the page did that a test may not expect."""

    page: Any
    lab: Lab
    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def report(self) -> str:
        parts = [f"dialogs: {self.dialogs}", f"page errors: {self.page_errors}"]
        parts += ["console errors:", *self.console_errors[-20:]]
        return "\n".join(parts)


def _on_dialog(ui: UI, dialog: Any) -> None:
    ui.dialogs.append(f"{dialog.type}: {dialog.message}")
    dialog.dismiss()


@pytest.fixture(scope="module")
def ui(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    """Chromium (headless, a fresh profile) with JupyterLab loaded, logged in by the token."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 800},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(20_000)
            state = UI(page=page, lab=lab)
            page.on("dialog", lambda dialog: _on_dialog(state, dialog))
            page.on("pageerror", lambda error: state.page_errors.append(str(error)))
            page.on(
                "console",
                lambda msg: state.console_errors.append(msg.text) if msg.type == "error" else None,
            )
            page.goto(f"{lab.url}lab?token={lab.token}")
            wait_for_app(page)
            yield state
        finally:
            context.close()


def wait_for_app(page: Any) -> None:
    """JupyterLab has started: its main dock panel and the launcher are on the page."""
    page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
    page.wait_for_selector(".jp-Launcher", timeout=60_000)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On a failure, add the lab server's log tail and the page's errors to the report."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    lab_ = funcargs.get("lab")
    if isinstance(lab_, Lab):
        report.sections.append((f"jupyter lab log (last {LOG_TAIL} lines)", lab_.log_tail()))
    ui_ = funcargs.get("ui")
    if isinstance(ui_, UI):
        report.sections.append(("browser", ui_.report()))

"""The side panel's own checks (jest unit tests, eslint and prettier) run through pytest, so the
test command runs them too. They use the jlpm that the installed JupyterLab ships."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension"
TIMEOUT = 600  # seconds; `jlpm install` on an empty cache downloads a few hundred packages
TAIL = 4000  # characters of output shown when a command fails


def jlpm() -> list[str]:
    """The command for jlpm: the script next to this interpreter, else the module it runs."""
    script = Path(sys.executable).with_name("jlpm")
    if script.is_file():
        return [str(script)]
    for module in ("jupyter_builder.jlpm", "jupyterlab.jlpmapp"):
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            found = None
        if found is not None:
            code = f"import sys; from {module} import main; sys.exit(main())"
            return [sys.executable, "-c", code]
    pytest.fail("jlpm not found: install JupyterLab (`pip install -e .` does)", pytrace=False)


def run_jlpm(*args: str) -> subprocess.CompletedProcess[str]:
    """``jlpm ARGS`` in labextension/, with this environment's scripts (jlpm, jupyter) first on
    PATH, as package.json's scripts call them by name."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["FORCE_COLOR"] = "0"
    return subprocess.run(
        [*jlpm(), *args],
        cwd=LABEXTENSION,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def output(done: subprocess.CompletedProcess[str]) -> str:
    return (done.stdout + done.stderr)[-TAIL:]


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """labextension/node_modules, installed with ``jlpm install`` when it is missing."""
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: the side panel's tests need Node.js 20", pytrace=False)
    folder = LABEXTENSION / "node_modules"
    if not (folder / ".bin" / "jest").exists():
        done = run_jlpm("install")
        if done.returncode != 0:
            pytest.fail(
                "`jlpm install` in labextension/ failed (it needs the npm registry):\n"
                + output(done),
                pytrace=False,
            )
    return folder


@pytest.mark.timeout(TIMEOUT)
def test_jest_unit_tests_pass(node_modules: Path) -> None:
    done = run_jlpm("test", "--ci")
    text = output(done)
    assert done.returncode == 0, f"`jlpm test` failed:\n{text}"
    summary = re.search(r"^Tests:\s+(.*)$", text, re.MULTILINE)
    assert summary and " passed" in summary.group(1), f"jest ran no test:\n{text}"


@pytest.mark.timeout(TIMEOUT)
def test_eslint_and_prettier_are_clean(node_modules: Path) -> None:
    done = run_jlpm("lint:check")
    assert done.returncode == 0, f"`jlpm lint:check` failed:\n{output(done)}"

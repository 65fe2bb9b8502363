"""Jupyter sees both extensions, enabled and OK: from the dev install and from the built wheel
installed in a fresh virtual environment (what `pip install jupyter-mlops` gives a user)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import kernel_env
from tests.ui.conftest import EXTENSION, REPO

SERVER_EXTENSION = "jupyter_mlops"
BUILT = REPO / "jupyter_mlops" / "labextension" / "package.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def extension_lists(bin_dir: Path, home: Path) -> tuple[str, str]:
    """``jupyter server extension list`` and ``jupyter labextension list`` as printed (they
    write to stderr), colours removed; the user's own Jupyter config and data are kept out."""
    env = kernel_env()
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env[name] = str(home / name.lower())
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    outputs = []
    for command in (["server", "extension", "list"], ["labextension", "list"]):
        done = subprocess.run(
            [str(bin_dir / "jupyter"), *command],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        text = ANSI.sub("", done.stdout + done.stderr)
        assert done.returncode == 0, f"`jupyter {' '.join(command)}` failed:\n{text}"
        outputs.append(text)
    return outputs[0], outputs[1]


def assert_enabled_and_ok(server_list: str, lab_list: str) -> None:
    enabled = re.search(rf"^\s*{SERVER_EXTENSION}\s+enabled\s*$", server_list, re.M)
    validated = re.search(rf"^\s*{SERVER_EXTENSION}\b[^\n]*\bOK\b", server_list, re.M)
    assert enabled and validated, f"server extension not enabled and OK:\n{server_list}"
    line = re.search(rf"^\s*{EXTENSION}\s+v\S+\s+enabled\s+OK\b.*$", lab_list, re.M)
    assert line, f"lab extension not enabled and OK:\n{lab_list}"


def test_dev_install_lists_both_extensions(tmp_path: Path) -> None:
    assert_enabled_and_ok(*extension_lists(Path(sys.executable).parent, tmp_path))


@pytest.mark.timeout(900)
def test_wheel_in_fresh_venv_lists_both_extensions(tmp_path: Path) -> None:
    if not BUILT.is_file():
        pytest.fail(
            f"{BUILT.relative_to(REPO)} is missing: run `pip install -e .` first so the wheel "
            "ships the built extension without running node",
            pytrace=False,
        )
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", str(REPO), "--no-deps", "-w", str(dist)],
        check=True,
        env=kernel_env(),
        timeout=600,
    )
    (wheel,) = dist.glob("jupyter_mlops-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = f"share/jupyter/labextensions/{EXTENSION}/package.json"
    enabling = f"etc/jupyter/jupyter_server_config.d/{SERVER_EXTENSION}.json"
    for path in (shipped, enabling):
        assert any(name.endswith(path) for name in names), f"{wheel.name} lacks {path}"

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    # the versions the dev environment was tested with (a release made since cannot break the
    # resolution), fetched with pip's patience for a busy registry; pip's own words on failure
    pinned = tmp_path / "constraints.txt"
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    pinned.write_text(
        "\n".join(line for line in frozen.splitlines() if "==" in line and " @ " not in line)
    )
    install = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--retries", "10"]
    install += ["--timeout", "60", "-c", str(pinned), str(wheel)]
    for _attempt in (1, 2):
        done = subprocess.run(
            install, capture_output=True, text=True, env=kernel_env(), timeout=900
        )
        if done.returncode == 0:
            break
    assert done.returncode == 0, f"pip install of the wheel failed twice:\n{done.stderr[-3000:]}"
    assert_enabled_and_ok(*extension_lists(venv / "bin", tmp_path))

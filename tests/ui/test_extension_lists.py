"""Jupyter sees both extensions, enabled and OK: from the dev install and from the built wheel
installed in a fresh virtual environment (what `pip install jupyter-mlops` gives a user)."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import kernel_env
from tests.ui.conftest import EXTENSION, REPO

SERVER_EXTENSION = "jupyter_mlops"
BUILT = REPO / "jupyter_mlops" / "labextension" / "package.json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def extension_lists(bin_dir: Path, home: Path, python: Path | None = None) -> tuple[str, str]:
    """``jupyter server extension list`` and ``jupyter labextension list`` as printed (they
    write to stderr), colours removed; the user's own Jupyter config and data are kept out.
    With ``python``, the same two apps run as that interpreter's modules (a venv with no
    ``jupyter`` command of its own), from ``home`` so the checkout is not on its path."""
    env = kernel_env()
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env[name] = str(home / name.lower())
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    outputs = []
    commands = [["server", "extension", "list"], ["labextension", "list"]]
    modules = ["jupyter_server.extension.serverextension", "jupyterlab.labextensions"]
    for command, module in zip(commands, modules, strict=True):
        argv = [str(bin_dir / "jupyter"), *command]
        if python is not None:
            argv = [str(python), "-m", module, "list"]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, cwd=home)
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


@pytest.mark.timeout(600)
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
    # the panel's settings (the Runs view's columns): without it the settings registry has none
    schema = f"share/jupyter/labextensions/{EXTENSION}/schemas/{EXTENSION}/plugin.json"
    for path in (shipped, enabling, schema):
        assert any(name.endswith(path) for name in names), f"{wheel.name} lacks {path}"

    # the wheel alone, into a fresh venv whose dependencies are the dev environment's own
    # packages, reached by a path in a .pth file (whose own .pth files, the dev install's editable
    # path among them, Python does not read). What the wheel declares it depends on is resolved
    # from the same pyproject.toml by the quick start's install and by scripts/test-pythons.sh
    # on two other Pythons; installing all of it again here cost 150 s of the suite.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    dev_site = Path(sysconfig.get_paths()["purelib"])
    (site_packages / "dev-dependencies.pth").write_text(f"{dev_site}\n")
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
    install += ["--no-deps", "--no-index", str(wheel)]
    done = subprocess.run(install, capture_output=True, text=True, env=kernel_env(), timeout=300)
    assert done.returncode == 0, f"pip install of the wheel failed:\n{done.stderr[-3000:]}"
    where = subprocess.run(
        [str(python), "-c", "import jupyter_mlops; print(jupyter_mlops.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path, env=kernel_env(),
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(site_packages), f"{where} is not the wheel's copy"
    server_list, lab_list = extension_lists(venv / "bin", tmp_path, python=python)
    assert str(REPO) not in server_list + lab_list  # nothing of the checkout was listed
    assert_enabled_and_ok(server_list, lab_list)

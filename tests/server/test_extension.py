"""The extension as installed: enabled and valid for `jupyter server extension list`, and the
OpenAPI description matching the route table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

import jupyter_mlops
from jupyter_mlops.server.handlers import ROUTES, methods
from tests.conftest import kernel_env

SPEC = Path(jupyter_mlops.__file__).parent / "server" / "openapi.yaml"


def test_extension_is_enabled_and_ok() -> None:
    exe = Path(sys.executable).parent / "jupyter"
    done = subprocess.run(
        [str(exe), "server", "extension", "list"],
        capture_output=True,
        text=True,
        env=kernel_env(),
        timeout=120,
    )
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
    assert done.returncode == 0, text
    assert re.search(r"^\s*jupyter_mlops enabled\s*$", text, re.MULTILINE), text
    assert re.search(rf"^\s*jupyter_mlops {jupyter_mlops.__version__} OK\s*$", text, re.M), text


def test_extension_points() -> None:
    assert jupyter_mlops._jupyter_server_extension_points() == [{"module": "jupyter_mlops.server"}]


def test_openapi_lists_exactly_the_route_table() -> None:
    spec = yaml.safe_load(SPEC.read_text())
    assert spec["openapi"].startswith("3.1")
    documented = {
        path: {m for m in ops if m in {"get", "post", "put", "patch", "delete"}}
        for path, ops in spec["paths"].items()
    }
    routed = {f"/{template}": methods(handler) for template, handler in ROUTES}
    assert documented == routed
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"error", "message"}

    def resolve(item: dict) -> dict:
        if "$ref" not in item:
            return item
        node = spec
        for part in item["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        return node

    for path, ops in spec["paths"].items():
        params = set(re.findall(r"\{(\w+)\}", path))
        for method in documented[path]:
            op = ops[method]
            listed = op.get("parameters", []) + ops.get("parameters", [])
            named = {resolve(p)["name"] for p in listed}
            assert params <= named, (path, method)
            assert "200" in op["responses"] and "403" in op["responses"], (path, method)

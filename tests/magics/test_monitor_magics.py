"""%mlops monitor in a real kernel, over a real promoted model and its real inference log."""

from __future__ import annotations

import pytest

from tests.conftest import execute_notebook, write_notebook
from tests.core.test_monitor import project_at, shared_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory, _shell):
    built = shared_shop(tmp_path_factory, _shell)  # built once per session
    with project_at(built["root"]):
        yield built


def test_monitor_shows_its_windows_inline(shop):
    root = shop["root"]
    notebook = write_notebook(
        root / "watch.ipynb",
        [
            "%load_ext jupyter_mlops",
            "%mlops monitor shop@live --since 2026-11-02 --until 2026-11-05 --no-record",
            "%mlops monitor shop@live --window 90m",
        ],
    )
    nb = execute_notebook(notebook, allow_errors=True)
    (output,) = [o for o in nb.cells[1].outputs if o.output_type == "display_data"]
    html = output.data["text/html"]
    assert "mlops-monitor" in html and "<script" not in html
    assert html.count("<tr>") == 4  # a head and three windows
    assert "amount, channel" in html and "v-empty" in html
    text = output.data["text/plain"].splitlines()
    assert text[-1].startswith("drifted: 2 input columns drifted (amount, channel)")
    (line,) = "".join(o.get("text", "") for o in nb.cells[2].outputs).strip().splitlines()
    assert line.startswith("UsageError: window '90m' is not a number of hours or days")

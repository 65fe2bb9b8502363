"""Live charts in the run card, in real kernels: the card is updated in place while a cell logs
(at most every half second), the saved notebook keeps the last chart as SVG (nbconvert's HTML
shows it), names are inert, and a batch run saves its executed notebook with the chart."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_mlops.magics.live_charts import INTERVAL, MAX_POINTS
from tests.conftest import cli, client_for, kernel_env, write_notebook

CELLS = [
    "%load_ext jupyter_mlops",
    "%mlops track start -n live",
    "import time\n"
    "import jupyter_mlops as mlops\n"
    "start = time.perf_counter()\n"
    "for i in range(10_000):\n"
    "    mlops.log(loss=1 / (i + 1), step=i)\n"
    "print(f'loop {time.perf_counter() - start:.6f}')",
    "for i in range(80):\n    mlops.log(acc=i / 80, step=i)\n    time.sleep(0.02)",
    "%mlops track stop",
    "with mlops.track(run_name='<script>alert(1)</script>'):\n"
    "    for i in range(3):\n"
    "        mlops.log(val=float(i))",
]


class RecordingClient(NotebookClient):
    """nbclient as it is, keeping every message the kernel sent: (cell, type, content)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[int, str, dict]] = []

    def process_message(self, msg: dict, cell: Any, cell_index: int) -> Any:
        self.seen.append((cell_index, msg["msg_type"], msg["content"]))
        return super().process_message(msg, cell, cell_index)


@pytest.fixture(scope="module")
def executed(module_root: Path) -> tuple[Any, list[tuple[int, str, dict]], Path]:
    """The notebook run once in a real kernel: the executed notebook and what the kernel sent."""
    path = write_notebook(module_root / "live.ipynb", CELLS)
    nb = nbformat.read(path, as_version=4)
    client = RecordingClient(
        nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(module_root)}}
    )
    client.execute(env=kernel_env(path))
    return nb, client.seen, module_root


def messages(seen: list, cell: int, kind: str) -> list[dict]:
    return [content for index, msg_type, content in seen if index == cell and msg_type == kind]


def display_id(content: dict) -> str:
    return (content.get("transient") or {}).get("display_id", "")


def polyline_points(svg: str) -> list[list[str]]:
    return [found.split() for found in re.findall(r"<polyline [^>]*points='([^']*)'", svg)]


def test_the_card_is_updated_in_place_while_a_cell_logs(executed) -> None:
    _, seen, _ = executed
    (shown,) = messages(seen, 1, "display_data")  # %mlops track start
    card = display_id(shown)
    assert card.startswith("mlops-run-")
    assert "<polyline" not in shown["data"]["text/html"]  # nothing logged yet

    updates = messages(seen, 2, "update_display_data")
    assert updates and {display_id(u) for u in updates} == {card}
    assert not messages(seen, 2, "display_data")  # the card above is updated, no new one
    # throttled: a first update, at most one per interval while it ran, and the cell's last
    printed = "".join(c["text"] for c in messages(seen, 2, "stream") if c["name"] == "stdout")
    loop_seconds = float(printed.split()[1])
    assert len(updates) <= 2 + loop_seconds / INTERVAL
    final = updates[-1]["data"]
    assert "image/svg+xml" in final  # the cell's last update: what a saved notebook keeps
    (points,) = polyline_points(final["image/svg+xml"])
    assert 2 <= len(points) <= MAX_POINTS + 1  # thinned, plus the last value
    assert "loss: last 0.0001, min 0.0001, max 1 (10,000 values)" in final["text/plain"]
    assert "<polyline" in final["text/html"] and "last 0.0001" in final["text/html"]


def test_a_slow_loop_updates_the_card_while_it_runs(executed) -> None:
    _, seen, _ = executed
    updates = messages(seen, 3, "update_display_data")
    during = [u for u in updates if "image/svg+xml" not in u["data"]]
    assert len(during) >= 2  # 1.6 s of logging: the card moved before the cell ended
    svg = updates[-1]["data"]["image/svg+xml"]
    assert len(polyline_points(svg)) == 2  # loss from the cell before, acc from this one
    assert ">acc<" in svg and ">loss<" in svg


def test_the_saved_notebook_keeps_the_final_chart_and_its_html_shows_it(executed) -> None:
    from nbconvert import HTMLExporter

    nb, _, root = executed
    (start_card,) = [o for o in nb.cells[1].outputs if o.output_type == "display_data"]
    (stop_card,) = [o for o in nb.cells[4].outputs if o.output_type == "display_data"]
    for output in (start_card, stop_card):  # updated in place: both show the ended run
        assert "FINISHED" in output.data["text/plain"]
        assert len(polyline_points(output.data["image/svg+xml"])) == 2
        assert "<polyline" in output.data["text/html"]
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert "<polyline" in html and ">loss<" in html
    # the chart is a view: every value is in the store
    client = client_for(root)
    (run,) = client.search_runs(
        [client.get_experiment_by_name("live").experiment_id], "attributes.run_name = 'live'"
    )
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 10_000


def test_a_run_started_from_python_gets_a_card_at_its_first_value_with_inert_names(
    executed,
) -> None:
    nb, seen, _ = executed
    (shown,) = messages(seen, 5, "display_data")
    assert display_id(shown).startswith("mlops-run-")
    (output,) = [o for o in nb.cells[5].outputs if o.output_type == "display_data"]
    page = output.data["text/html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page
    assert "<script" not in output.data["image/svg+xml"]
    assert "FINISHED" in output.data["text/plain"]  # the block ended within the cell
    assert "val: last 2, min 0, max 2 (3 values)" in output.data["text/plain"]
    assert "value (3 values)" in output.data["image/svg+xml"]  # no step: x counts the values


def test_a_batch_run_saves_the_executed_notebook_with_the_chart(project: Path) -> None:
    write_notebook(
        project / "train.ipynb",
        [
            "import jupyter_mlops as mlops\n"
            "for i in range(50):\n"
            "    mlops.log(loss=1 / (i + 1), step=i)"
        ],
    )
    out = cli("run", "train.ipynb", "-o", "out.ipynb", cwd=project)
    assert out.returncode == 0, out.stderr
    (card,) = [
        o
        for o in nbformat.read(project / "out.ipynb", 4).cells[0].outputs
        if o.output_type == "display_data"
    ]
    assert len(polyline_points(card.data["image/svg+xml"])) == 1
    assert "loss: last 0.02, min 0.02, max 1 (50 values)" in card.data["text/plain"]
    client = client_for(project)
    (run,) = client.search_runs([client.get_experiment_by_name("train").experiment_id])
    page = Path(client.download_artifacts(run.info.run_id, "notebook/train.html")).read_text()
    assert "<polyline" in page

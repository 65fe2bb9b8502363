"""Run details in a real lab (issue 23): metric charts with axes and a hover readout, a metric
logged once as a number, and the artifact browser (an EDA report and a hostile HTML file in a
sandboxed iframe tab, a notebook snapshot read-only, a CSV downloaded).

The hostile artifact's script would retitle the page, change its own text and call ``alert``;
its image and frame point at a beacon server this module runs: none of that may happen.
"""

from __future__ import annotations

import http.server
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.ui.conftest import SEED, UI
from tests.ui.panel import in_both_themes, open_details

BEACON_PORT = free_port()
LAB_SEED = [[SEED], [Path(__file__).with_name("seed_details.py"), BEACON_PORT]]
MAIN = "#jp-main-dock-panel"


class _Beacon(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def beacon() -> Iterator[list[str]]:
    """An HTTP server on ``BEACON_PORT`` recording every path asked of it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", BEACON_PORT), _Beacon)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield _Beacon.hits
    finally:
        server.shutdown()
        server.server_close()


def details(ui: UI) -> Any:
    return open_details(ui, ui.lab.facts["details"])


def texts(locator: Any) -> list[str]:
    """The text of every element found (SVG text has no ``innerText``)."""
    return locator.evaluate_all("nodes => nodes.map(n => n.textContent)")


def expand(view: Any, folder: str) -> None:
    item = view.locator(f'li[data-path="{folder}"]')
    if item.get_attribute("aria-expanded") != "true":
        item.locator("button").first.click()
    item.locator("ul.jp-mlops-artifact-list").wait_for()


def open_artifact(ui: UI, path: str) -> Any:
    """Click artifact ``path`` in the run's details; return its main-area tab, once shown."""
    view = details(ui)
    view.locator("div.jp-mlops-artifacts").wait_for()
    if "/" in path:
        expand(view, path.rsplit("/", 1)[0])
    view.locator(f'li[data-path="{path}"] button').click()
    tab = ui.page.locator(f"{MAIN} .jp-mlops-artifact-tab:visible")
    tab.wait_for()
    return tab


def report_frame(ui: UI, path: str) -> Any:
    tab = open_artifact(ui, path)
    iframe = tab.locator("iframe")
    iframe.wait_for()
    src = iframe.get_attribute("src") or ""
    assert iframe.get_attribute("sandbox") == "", "the report's iframe is not fully sandboxed"
    assert src.endswith(f"/mlops/api/runs/{ui.lab.facts['details']}/artifacts/{path}"), src
    assert "token" not in src, "the iframe's URL carries the token"
    return tab


def shown_eda(tab: Any) -> None:
    """The EDA report shows in the tab's iframe: its overview of the 150 rows of iris."""
    body = tab.frame_locator("iframe").locator(".mlops-eda")
    body.wait_for()
    text = body.inner_text()
    assert "Overview" in text and "iris" in text and "150" in text, text[:300]


def test_chart_has_axes_ticks_and_a_hover_readout(ui: UI) -> None:
    view = details(ui)
    chart = view.locator('svg.jp-mlops-chart[data-metric="loss"]')
    chart.wait_for()
    y_labels = texts(chart.locator(".jp-mlops-chart-y-axis text"))
    x_labels = texts(chart.locator(".jp-mlops-chart-x-axis text"))
    assert y_labels[0] == "0" and float(y_labels[-1]) >= 1.6, y_labels  # losses 1.6 .. 0.26
    assert x_labels[0] == "0" and x_labels[-1] in ("5", "6"), x_labels  # steps 0 .. 5
    box = chart.bounding_box()
    assert box
    chart.hover(position={"x": box["width"] - 14, "y": box["height"] / 2})
    tooltip = view.locator(".jp-mlops-chart-tooltip")
    tooltip.wait_for()
    text = tooltip.inner_text()
    assert "step 5" in text and "value 0.26" in text and "time" in text, text
    assert chart.locator(".jp-mlops-chart-guide").count() == 1
    view.locator('button.jp-mlops-x-mode[data-mode="relative"]').click()
    view.locator('svg.jp-mlops-chart[data-metric="loss"][data-mode="relative"]').wait_for()
    relative = texts(chart.locator(".jp-mlops-chart-x-axis text"))
    assert relative[0] == "0s" and all(label.endswith("s") for label in relative), relative
    view.locator('button.jp-mlops-x-mode[data-mode="wall"]').click()
    view.locator('svg.jp-mlops-chart[data-metric="loss"][data-mode="wall"]').wait_for()
    wall = texts(chart.locator(".jp-mlops-chart-x-axis text"))
    assert wall and all(re.fullmatch(r"\d\d:\d\d(:\d\d(\.\d{3})?)?", t) for t in wall), wall


def test_a_metric_logged_once_is_a_number(ui: UI) -> None:
    view = details(ui)
    cell = view.locator('table.jp-mlops-single-metrics tr[data-key="accuracy"] td')
    assert cell.inner_text() == "0.93"
    assert view.locator('svg.jp-mlops-chart[data-metric="accuracy"]').count() == 0


def test_the_artifact_tree_lists_folders_and_sizes(ui: UI) -> None:
    view = details(ui)
    top = view.locator("div.jp-mlops-artifacts > ul > li")
    top.first.wait_for()
    assert top.evaluate_all("items => items.map(i => i.dataset.path)") == [
        "data",
        "eda",
        "notebook",
        "hostile.html",
    ]
    expand(view, "data")
    size = view.locator('li[data-path="data/sample.csv"] .jp-mlops-artifact-size').inner_text()
    assert size.endswith(" B") or size.endswith(" KB"), size


def test_the_eda_report_opens_in_a_tab_authorised_by_the_cookie(ui: UI) -> None:
    tab = report_frame(ui, "eda/iris.html")
    title = ui.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current")
    assert title.inner_text().strip() == "details · iris.html"
    shown_eda(tab)
    # the iframe's request carried no token: the page's cookie authorised it, nothing else does
    url = ui.lab.url + f"mlops/api/runs/{ui.lab.facts['details']}/artifacts/eda/iris.html"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 403


def test_a_hostile_html_artifact_runs_nothing_and_fetches_nothing(
    ui: UI, beacon: list[str]
) -> None:
    title = ui.page.title()
    tab = report_frame(ui, "hostile.html")
    frame = tab.frame_locator("iframe")
    frame.locator("#headline").wait_for()
    assert frame.locator("#state").inner_text() == "untouched", "the artifact's script ran"
    assert ui.page.title() == title
    assert ui.lab.facts["hostile_title"] not in ui.page.title()
    assert ui.dialogs == [], f"the artifact opened dialogs: {ui.dialogs}"
    # once the frame's load event fired, its image and inner frame were asked for (or refused)
    handle = tab.locator("iframe").element_handle()
    assert handle is not None
    content = handle.content_frame()
    assert content is not None
    content.wait_for_load_state("load")
    assert content.locator("#state").inner_text() == "untouched"
    assert beacon == [], f"the artifact reached another host: {beacon}"


def test_the_notebook_snapshot_opens_read_only_without_a_kernel(ui: UI, beacon: list[str]) -> None:
    tab = open_artifact(ui, "notebook/train.ipynb")
    snapshot = tab.locator(".jp-mlops-notebook-snapshot")
    snapshot.locator("h1", has_text="Churn model").wait_for()
    assert snapshot.locator("strong", has_text="iris").count() == 1  # markdown rendered
    source = snapshot.locator(".jp-mlops-snapshot-source").inner_text()
    assert source == "print('accuracy', 0.93)"
    output = snapshot.locator(".jp-OutputArea-output").all_inner_texts()
    assert "accuracy 0.93" in output[0] and "html output" in output[1], output
    # untrusted: no script ran, and no image came from elsewhere (markdown's or the output's)
    assert snapshot.locator("script").count() == 0
    assert snapshot.locator("img[data-mlops-blocked]").count() == 2
    assert snapshot.locator('img[src^="http"]').count() == 0
    assert beacon == [], f"the snapshot reached another host: {beacon}"
    editable = '[contenteditable="true"], textarea, input, .cm-editor, .jp-Notebook'
    assert tab.locator(editable).count() == 0, "the snapshot has something editable"
    assert ui.lab.api("GET", "api/sessions") == []
    assert ui.lab.api("GET", "api/kernels") == []


def test_a_csv_is_downloaded(ui: UI, tmp_path: Path) -> None:
    view = details(ui)
    expand(view, "data")
    link = view.locator('li[data-path="data/sample.csv"] a[download]')
    with ui.page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "sample.csv"
    saved = tmp_path / "sample.csv"
    download.save_as(saved)
    assert saved.read_text().startswith("sepal length (cm),")


def test_screenshots_in_both_themes(ui: UI) -> None:
    def run_details() -> Any:
        view = details(ui)
        view.locator('svg.jp-mlops-chart[data-metric="loss"]').wait_for()
        expand(view, "eda")
        return view

    assert len(in_both_themes(ui, run_details, "run-details")) == 2

    def report() -> Any:
        tab = report_frame(ui, "eda/iris.html")
        shown_eda(tab)
        return tab

    shots = in_both_themes(ui, report, "artifact-report", element=lambda tab: tab)
    assert len(shots) == 2

    def notebook() -> Any:
        tab = open_artifact(ui, "notebook/train.ipynb")
        tab.locator(".jp-OutputArea-output").first.wait_for()
        return tab

    assert len(in_both_themes(ui, notebook, "notebook-snapshot", element=lambda tab: tab)) == 2

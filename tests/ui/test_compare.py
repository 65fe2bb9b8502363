"""Compare in the panel, in a real JupyterLab and browser (issue 23): a sweep's child runs side
by side (metrics before params, "differences only"), their parallel coordinates, and nbdime's
diff of two runs' notebook snapshots in a main-area tab. Screenshots in both themes:
``compare``, ``parallel-coordinates``, ``notebook-diff``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ui.conftest import UI
from tests.ui.panel import assert_no_injected_html, in_both_themes, run_row, show_section
from tests.ui.seed_compare import ADDED_MARKDOWN, EXPERIMENT, GRID

LAB_SEED = [[Path(__file__).with_name("seed_compare.py")]]
DIFF_TAB = ".jp-MainAreaWidget:has(.jp-mlops-notebook-diff)"


def show_compare_runs(ui: UI) -> Any:
    """The runs table of the compare experiment, once every seeded run is listed."""
    facts = ui.lab.facts
    panel = show_section(ui, "runs")
    back = panel.locator("button.jp-mlops-back")
    if back.is_visible():
        back.click()
    panel.locator("select.jp-mlops-experiment").select_option(label=EXPERIMENT)
    # the sweep's points are nested under their parent, collapsed until it is opened
    twisty = run_row(panel, facts["sweep_parent"]).locator("button.jp-mlops-twisty")
    if twisty.get_attribute("aria-expanded") == "false":
        twisty.click()
    for run_id in [facts["sweep_parent"], *facts["sweep_children"], *facts["snapshot_runs"]]:
        run_row(panel, run_id).wait_for()
    return panel


def compare(ui: UI, run_ids: list[str]) -> Any:
    """Tick ``run_ids`` and press Compare; the comparison."""
    panel = show_compare_runs(ui)
    for run_id in run_ids:
        run_row(panel, run_id).locator("input.jp-mlops-select").check()
    panel.locator("button.jp-mlops-compare-button").click()
    view = panel.locator(".jp-mlops-compare")
    view.locator("table.jp-mlops-compare-table").wait_for()
    return view


def compare_children(ui: UI) -> Any:
    return compare(ui, ui.lab.facts["sweep_children"])


def test_comparing_a_sweeps_children(ui: UI) -> None:
    view = compare_children(ui)
    heads = view.locator("thead th[data-run-id]").all_inner_texts()
    assert sorted(heads) == sorted(f"lr={lr} depth={depth}" for lr, depth, _ in GRID)
    keys = view.locator("tbody tr[data-key]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-key'))"
    )
    assert keys == ["auc", "depth", "lr", "seed"], keys  # metrics before params
    auc = view.locator('tr[data-key="auc"]')
    assert "0.91" in auc.locator("td.jp-mlops-max").inner_text()
    assert "0.71" in auc.locator("td.jp-mlops-min").inner_text()
    view.locator("input.jp-mlops-differences-only").check()
    view.locator('tr[data-key="seed"]').wait_for(state="detached")  # equal in every run
    assert view.locator('tr[data-key="lr"]').is_visible()
    assert "1 equal row hidden" in view.locator(".jp-mlops-hidden-rows").inner_text()
    assert_no_injected_html(ui)


def test_parallel_coordinates_of_the_sweep(ui: UI) -> None:
    view = compare_children(ui)
    svg = view.locator("svg.jp-mlops-parallel-svg")
    axes = svg.locator("g.jp-mlops-axis").evaluate_all(
        "gs => gs.map(g => [g.getAttribute('data-axis'), g.getAttribute('data-kind')])"
    )
    assert axes == [["depth", "param"], ["lr", "param"], ["auc", "metric"]], axes
    lines = svg.locator("polyline.jp-mlops-parallel-line")
    assert lines.count() == len(GRID)
    first = ui.lab.facts["sweep_children"][0]
    title = svg.locator(f'polyline[data-run-id="{first}"] title').text_content()
    assert title == "lr=0.01 depth=2: auc 0.71"
    # every line reaches the metric axis, each at its own height (auc differs in every run)
    ends = lines.evaluate_all("ls => ls.map(l => l.getAttribute('points').split(' ').at(-1))")
    assert len(set(ends)) == len(GRID), ends


def test_compare_sweep_from_the_parents_details(ui: UI) -> None:
    facts = ui.lab.facts
    panel = show_compare_runs(ui)
    run_row(panel, facts["sweep_parent"]).locator("td.jp-mlops-run-name").click()
    button = panel.locator("button.jp-mlops-compare-sweep")
    button.wait_for()
    assert button.inner_text().strip() == f"Compare sweep ({len(GRID)})"
    button.click()
    view = panel.locator(".jp-mlops-compare")
    view.locator("svg.jp-mlops-parallel-svg").wait_for()
    ids = view.locator("thead th[data-run-id]").evaluate_all(
        "ths => ths.map(th => th.getAttribute('data-run-id'))"
    )
    assert sorted(ids) == sorted(facts["sweep_children"])


def open_notebook_diff(ui: UI) -> Any:
    """Compare the two snapshot runs and open their notebook diff; the tab's content."""
    before, after = ui.lab.facts["snapshot_runs"]
    view = compare(ui, [before, after])
    view.locator("button.jp-mlops-notebook-diff-button").click()
    tab = ui.page.locator(".jp-MainAreaWidget .jp-mlops-notebook-diff").first
    tab.locator(".jp-Cell-diff").nth(2).wait_for()
    return tab


def test_notebook_diff_opens_in_a_main_area_tab(ui: UI) -> None:
    before, after = ui.lab.facts["snapshot_runs"]
    tab = open_notebook_diff(ui)
    title = ui.page.locator(DIFF_TAB).first
    assert title.get_attribute("id") == f"jupyter-mlops-notebook-diff-{before}-{after}"
    cells = tab.locator(".jp-Notebook-diff > .jp-Cell-diff, .jp-Notebook-diff .jp-Cell-diff")
    assert cells.count() == 3
    changed = tab.locator(".jp-Cell-diff.jp-Diff-twoway")
    assert changed.count() == 1, tab.inner_html()[:2000]
    text = changed.inner_text()
    assert "lr = 0.1" in text and "lr = 0.3" in text
    added = tab.locator(".jp-Cell-diff.jp-Diff-added")
    assert ADDED_MARKDOWN in added.inner_text()
    assert_no_injected_html(ui)


def test_a_snapshots_html_output_renders_sanitized_even_when_trusted(ui: UI) -> None:
    tab = open_notebook_diff(ui)
    kept = tab.locator("b.mlops-kept")
    kept.wait_for()  # the output is rendered, as HTML that the sanitizer let through
    assert tab.locator("img[onerror], script").count() == 0
    # nbdime's own "Trust" button is hidden; pressed anyway, the output stays untrusted
    trust = tab.locator("button.jp-Diff-trustOutputButton")
    assert trust.count() >= 1 and not trust.first.is_visible()
    trust.first.evaluate("button => button.click()")
    tab.locator("b.mlops-kept").wait_for()
    assert tab.locator("img[onerror], script").count() == 0
    assert ui.page.title() != "RAN" and ui.dialogs == [] and ui.page_errors == []


def test_screenshots_in_both_themes(ui: UI) -> None:
    paths = in_both_themes(ui, lambda: compare_children(ui), "compare")
    paths += in_both_themes(
        ui,
        lambda: compare_children(ui),
        "parallel-coordinates",
        element=lambda view: view.locator(".jp-mlops-parallel"),
    )
    paths += in_both_themes(
        ui,
        lambda: open_notebook_diff(ui),
        "notebook-diff",
        element=lambda tab: ui.page.locator(DIFF_TAB).first,
    )
    assert all(path.stat().st_size > 1000 for path in paths)

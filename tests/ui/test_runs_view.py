"""The Runs view in a real lab (issue 23): search, sort by a header, the column chooser kept in
the settings registry, child runs under their parent, FAILED and KILLED told apart, long names
shortened in the middle, and a resizable name column. Screenshots: ``runs-filter-*.png`` and
``runs-nested-*.png`` under ``build/ui/``, in the light and the dark theme."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import UI, wait_for_app
from tests.ui.panel import PANEL, in_both_themes, show_section
from tests.ui.seed_runs import CHILDREN, LONG_NAMES, PARENT, PLAIN

LAB_SEED = [[Path(__file__).with_name("seed_runs.py")]]
SETTINGS = "lab/api/settings/jupyter-mlops:plugin"
TOP = "tr.jp-mlops-run[data-depth='0']"
# top-level runs: the plain ones, the two long names, the parent, the failed and killed ones
TOP_LEVEL = len(PLAIN) + len(LONG_NAMES) + 3


def ids(ui: UI) -> dict[str, str]:
    return ui.lab.facts["ids"]


def show_runs(ui: UI) -> Any:
    """The seeded experiment's runs (back from details if need be), once its parent is listed."""
    panel = show_section(ui, "runs")
    back = panel.locator("button.jp-mlops-back")
    if back.is_visible():
        back.click()
    panel.locator("select.jp-mlops-experiment").select_option(value=ui.lab.facts["runs_experiment"])
    row(panel, ids(ui)[PARENT]).wait_for()
    return panel


def row(panel: Any, run_id: str) -> Any:
    return panel.locator(f'tr.jp-mlops-run[data-run-id="{run_id}"]')


def search(panel: Any, text: str) -> None:
    box = panel.locator("input.jp-mlops-search-input")
    box.fill(text)
    box.press("Enter")


def names(panel: Any, selector: str = TOP) -> list[str]:
    """The full names of the rows shown (the cell's text; its label may be shorter)."""
    return [
        n.strip()
        for n in panel.locator(f"{selector} td.jp-mlops-run-name .jp-mlops-link").all_inner_texts()
    ]


def metric(panel: Any, key: str) -> list[float | None]:
    cells = panel.locator(f'{TOP} td.jp-mlops-metric[data-key="{key}"]').all_inner_texts()
    return [float(c) if c.strip() else None for c in cells]


def label(panel: Any, run_id: str) -> str:
    return row(panel, run_id).locator(".jp-mlops-name-shown").get_attribute("data-label")


def test_a_filter_narrows_the_rows_and_clearing_it_restores_them(ui: UI) -> None:
    panel = show_runs(ui)
    expect(panel.locator(TOP)).to_have_count(TOP_LEVEL)
    search(panel, "metrics.acc > 0.6 and params.penalty = 'l2'")
    expect(panel.locator(TOP)).to_have_count(1)
    assert names(panel) == ["baseline-l2"]
    search(panel, "baseline")  # plain words: the run's name
    expect(panel.locator(TOP)).to_have_count(2)
    assert sorted(names(panel)) == ["baseline-l1", "baseline-l2"]
    # children found without their parent stay at top level, marked with the parent's id
    search(panel, "attributes.run_name LIKE 'lr=%'")
    expect(panel.locator(TOP)).to_have_count(len(CHILDREN))
    assert sorted(names(panel)) == sorted(CHILDREN)
    mark = row(panel, ids(ui)["lr=0.01"]).locator(".jp-mlops-orphan")
    assert mark.inner_text().strip() == "↳"
    assert ids(ui)[PARENT] in mark.get_attribute("title")
    panel.locator("input.jp-mlops-search-input").fill("")  # cleared: every run again
    expect(panel.locator(TOP)).to_have_count(TOP_LEVEL)


def test_a_bad_filter_shows_one_line_and_keeps_the_text(ui: UI) -> None:
    panel = show_runs(ui)
    search(panel, "metrics.acc >")
    error = panel.locator(".jp-mlops-search-error")
    error.wait_for()
    line = error.inner_text().strip()
    assert "\n" not in line and "metrics.acc >" in line, line
    assert "Traceback" not in line
    assert panel.locator("input.jp-mlops-search-input").input_value() == "metrics.acc >"
    expect(panel.locator(TOP)).to_have_count(TOP_LEVEL)  # the list as it was
    panel.locator("input.jp-mlops-search-input").fill("")  # emptied: no line left
    expect(error).to_have_count(0)


def test_clicking_a_metric_header_sorts_on_the_server_and_again_reverses(ui: UI) -> None:
    panel = show_runs(ui)
    header = panel.locator('th[data-sort-key="metric:acc"]')
    header.locator("button.jp-mlops-sort").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(header.locator(".jp-mlops-sort-arrow")).to_have_text("↑")
    first_acc = panel.locator(f'{TOP} td.jp-mlops-metric[data-key="acc"]').first
    expect(first_acc).to_have_text("0.1")  # the server's answer has come
    ascending = metric(panel, "acc")
    assert ascending == sorted(ascending) and len(ascending) == TOP_LEVEL, ascending
    header.locator("button.jp-mlops-sort").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(first_acc).to_have_text("0.8")
    descending = metric(panel, "acc")
    assert descending == sorted(ascending, reverse=True), descending
    assert panel.locator('th[data-sort-key="name"]').get_attribute("aria-sort") is None
    panel.locator('th[data-sort-key="start"] button').click()  # a time: newest first
    expect(panel.locator('th[data-sort-key="start"]')).to_have_attribute("aria-sort", "descending")


def test_a_hidden_column_stays_hidden_after_a_reload(ui: UI) -> None:
    panel = show_runs(ui)
    loss = panel.locator('th[data-sort-key="metric:loss"]')
    expect(loss).to_have_count(1)
    panel.locator("button.jp-mlops-columns-button").click()
    menu = panel.locator(".jp-mlops-columns-menu")
    menu.locator('fieldset[data-kind="metrics"] input[data-key="loss"]').uncheck()
    menu.locator('fieldset[data-kind="params"] input[data-key="penalty"]').check()
    expect(loss).to_have_count(0)
    expect(panel.locator('th[data-sort-key="param:penalty"]')).to_have_count(1)
    ui.page.keyboard.press("Escape")
    expect(menu).to_have_count(0)
    stored = ui.lab.api("GET", SETTINGS)["settings"]
    assert stored["runsColumns"]["ui-runs"] == {"metrics": ["acc"], "params": ["penalty"]}
    ui.page.reload()
    wait_for_app(ui.page)
    panel = show_runs(ui)
    expect(panel.locator('th[data-sort-key="metric:acc"]')).to_have_count(1)
    expect(panel.locator('th[data-sort-key="metric:loss"]')).to_have_count(0)
    penalty = row(panel, ids(ui)["baseline-l1"]).locator('td.jp-mlops-param[data-key="penalty"]')
    assert penalty.inner_text().strip() == "l1"


def test_child_runs_are_collapsed_under_their_parent_until_expanded(ui: UI) -> None:
    panel = show_runs(ui)
    parent = row(panel, ids(ui)[PARENT])
    assert parent.locator("button.jp-mlops-twisty").inner_text() == "▸"
    assert names(panel, f'tr[data-run-id="{ids(ui)[PARENT]}"]') == [PARENT]
    assert parent.locator(".jp-mlops-child-count").inner_text() == f"({len(CHILDREN)})"
    for child in CHILDREN:
        expect(row(panel, ids(ui)[child])).to_have_count(0)
    parent.locator("button.jp-mlops-twisty").click()
    children = panel.locator("tr.jp-mlops-run[data-depth='1']")
    expect(children).to_have_count(len(CHILDREN))
    assert sorted(names(panel, "tr.jp-mlops-run[data-depth='1']")) == sorted(CHILDREN)
    # indented under the parent, just after it
    rows = panel.locator("tr.jp-mlops-run")
    order = [rows.nth(i).get_attribute("data-run-id") for i in range(rows.count())]
    at = order.index(ids(ui)[PARENT])
    assert set(order[at + 1 : at + 1 + len(CHILDREN)]) == {ids(ui)[c] for c in CHILDREN}
    parent_x = parent.locator(".jp-mlops-link").bounding_box()["x"]
    child_x = children.first.locator(".jp-mlops-link").bounding_box()["x"]
    assert child_x > parent_x, (child_x, parent_x)
    assert parent.locator("button.jp-mlops-twisty").get_attribute("aria-expanded") == "true"


def status_look(panel: Any, run_id: str) -> tuple[str, str, str]:
    cell = row(panel, run_id).locator("td.jp-mlops-run-status")
    icon = cell.locator(".jp-mlops-status-icon")
    colour = icon.evaluate("e => getComputedStyle(e).color")
    glyph = icon.evaluate("e => getComputedStyle(e, '::before').content")
    return cell.inner_text().strip(), colour, glyph


def test_failed_and_killed_runs_differ_in_text_colour_and_icon(ui: UI) -> None:
    panel = show_runs(ui)
    failed = status_look(panel, ids(ui)["crashes"])
    killed = status_look(panel, ids(ui)["interrupted"])
    finished = status_look(panel, ids(ui)["baseline-l1"])
    assert (failed[0], killed[0], finished[0]) == ("FAILED", "KILLED", "FINISHED")
    assert len({failed[1], killed[1], finished[1]}) == 3, (failed, killed, finished)
    assert len({failed[2], killed[2], finished[2]}) == 3, (failed, killed, finished)
    title = (
        row(panel, ids(ui)["interrupted"]).locator("td.jp-mlops-run-status").get_attribute("title")
    )
    assert title.startswith("KILLED")


def test_long_names_read_differently_and_show_in_full_on_hover(ui: UI) -> None:
    panel = show_runs(ui)
    four, five = (ids(ui)[n] for n in LONG_NAMES)
    shown = [label(panel, four), label(panel, five)]
    assert shown[0] != shown[1], shown
    for text, full in zip(shown, LONG_NAMES, strict=True):
        assert "…" in text and text.endswith(full[-3:]) and text.startswith(full[:5]), text
    for run_id, full in zip((four, five), LONG_NAMES, strict=True):
        link = row(panel, run_id).locator(".jp-mlops-link")
        assert link.get_attribute("title") == full
        # the label fits its cell: nothing past the edge is hidden
        assert link.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), run_id


def test_dragging_the_name_header_edge_widens_the_column(ui: UI) -> None:
    panel = show_runs(ui)
    header = panel.locator("th.jp-mlops-name-column")
    before = header.bounding_box()["width"]
    short = label(panel, ids(ui)[LONG_NAMES[0]])
    edge = header.locator(".jp-mlops-resize").bounding_box()
    x, y = edge["x"] + edge["width"] / 2, edge["y"] + edge["height"] / 2
    ui.page.mouse.move(x, y)
    ui.page.mouse.down()
    ui.page.mouse.move(x + 40, y, steps=4)
    ui.page.mouse.move(x + 80, y, steps=4)
    ui.page.mouse.up()
    after = header.bounding_box()["width"]
    assert after >= before + 70, (before, after)
    assert len(label(panel, ids(ui)[LONG_NAMES[0]])) > len(short)
    stored = ui.lab.api("GET", SETTINGS)["settings"]
    assert stored["runsNameWidth"] >= before + 70, stored
    ui.lab.api("PUT", SETTINGS, {"raw": json.dumps({**stored, "runsNameWidth": 120})})
    ui.page.reload()  # the page reads its settings once
    wait_for_app(ui.page)


def test_runs_view_screenshots_in_light_and_dark_themes(ui: UI) -> None:
    def filtered() -> Any:
        panel = show_runs(ui)
        search(panel, "metrics.acc >")
        panel.locator(".jp-mlops-search-error").wait_for()
        return panel

    def nested() -> Any:
        panel = show_runs(ui)
        search(panel, "")
        expect(panel.locator(TOP)).to_have_count(TOP_LEVEL)
        parent = row(panel, ids(ui)[PARENT])
        if parent.locator("button.jp-mlops-twisty").get_attribute("aria-expanded") == "false":
            parent.locator("button.jp-mlops-twisty").click()
        expect(panel.locator("tr.jp-mlops-run[data-depth='1']")).to_have_count(len(CHILDREN))
        ui.page.mouse.move(0, 0)  # no row under the pointer: none drawn as hovered
        return panel

    paths = in_both_themes(ui, filtered, "runs-filter")
    paths += in_both_themes(ui, nested, "runs-nested")
    assert [p.name for p in paths] == [
        "runs-filter-light.png",
        "runs-filter-dark.png",
        "runs-nested-light.png",
        "runs-nested-dark.png",
    ]
    assert ui.page.locator(PANEL).is_visible()
    assert ui.page_errors == [], ui.page_errors

"""The Models section with two promoted versions (``seed_models``): each version names the run
that made it, its key metrics and who promoted it; ticking both shows the data contract's
differences (the added column, the changed dtype); the card of a run that has ended does not say
it is running. Screenshots: models-versions, models-compare, model-card-tab (both themes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.ui.conftest import UI
from tests.ui.panel import assert_no_injected_html, in_both_themes, show_section

LAB_SEED = [[Path(__file__).with_name("seed_models.py")]]


def open_model(ui: UI) -> Any:
    """The seeded model, its versions listed (opened if it is not)."""
    name = ui.lab.facts["model"]
    panel = show_section(ui, "models")
    model = panel.locator(f'.jp-mlops-models [data-model-name="{name}"]').first
    model.wait_for()
    if model.locator(".jp-mlops-model-toggle").get_attribute("aria-expanded") != "true":
        model.locator(".jp-mlops-model-toggle").click()
    model.locator('[data-model-version="2"] .jp-mlops-version-run').wait_for()
    for loading in ("reading health", "reading history"):  # read once the view has settled
        model.get_by_text(loading).first.wait_for(state="detached")
    return model


def version(model: Any, number: int) -> Any:
    return model.locator(f'[data-model-version="{number}"]')


def test_versions_show_run_name_metrics_and_owner(ui: UI) -> None:
    facts = ui.lab.facts
    model = open_model(ui)
    owner = ui.lab.api("GET", f"mlops/api/models/{facts['model']}")["rows"][0]["user"]
    assert owner
    for number, run_name in ((1, facts["run_names"][0]), (2, facts["run_names"][1])):
        row = version(model, number)
        assert row.locator(".jp-mlops-version-run-name").inner_text() == run_name
        keys = row.locator(".jp-mlops-version-metric").evaluate_all(
            "nodes => nodes.map(n => n.dataset.key)"
        )
        assert keys == ["mae", "r2"], keys
        assert row.locator(".jp-mlops-version-user").inner_text() == owner
        assert row.locator(".jp-mlops-version-run").is_visible()
    assert version(model, 2).get_by_text(f"@{facts['alias']}").is_visible()
    in_both_themes(ui, lambda: open_model(ui), "models-versions")


def compare(ui: UI) -> Any:
    """Both versions ticked; the comparison, once shown."""
    model = open_model(ui)
    for number in (1, 2):
        box = version(model, number).locator("input.jp-mlops-vcompare-box")
        if not box.is_checked():
            box.check()
    result = model.locator(".jp-mlops-vcompare")
    result.locator(".jp-mlops-diff-row").first.wait_for()
    return result


def section(result: Any) -> Any:
    """The whole comparison section (its heading too), for its screenshot."""
    return result.locator("xpath=ancestor::section[1]")


def test_comparing_two_versions_shows_the_contract_differences(ui: UI) -> None:
    result = compare(ui)
    added = result.locator('.jp-mlops-diff-row[data-column="sex"]')
    assert added.get_attribute("data-change") == "added"
    assert "jp-mlops-diff-added" in (added.get_attribute("class") or "")
    age = result.locator('.jp-mlops-diff-row[data-column="age"]')
    assert age.get_attribute("data-change") == "changed"
    assert age.locator('[data-what="dtype"]').inner_text() == "dtype: float64 → int64"
    same = result.locator('.jp-mlops-diff-row[data-column="bmi"]')
    assert same.get_attribute("data-change") == "same"
    # the difference is marked by its edge, in a colour of the theme (not the row's text)
    edge = age.evaluate("n => getComputedStyle(n).borderLeftColor")
    plain = same.evaluate("n => getComputedStyle(n).borderLeftColor")
    assert edge != plain, (edge, plain)
    names = ui.lab.facts["run_names"]
    assert all(n in result.locator(".jp-mlops-vcompare-title").inner_text() for n in names)
    assert result.locator('tr[data-key="r2"]').get_attribute("data-change") == "changed"
    assert_no_injected_html(ui)
    in_both_themes(ui, lambda: compare(ui), "models-compare", element=section)


def card(ui: UI) -> Any:
    model = open_model(ui)
    version(model, 1).locator("button.jp-mlops-version-button").click()
    section = model.locator(".jp-mlops-card-section")
    section.locator(".jp-mlops-model-card").get_by_text("Model card", exact=False).first.wait_for()
    section.locator(".jp-mlops-card-run").wait_for()
    return section


def test_card_of_a_finished_run_never_says_running(ui: UI) -> None:
    section = card(ui)
    text = section.inner_text()
    assert "running" not in text.lower(), text
    run = section.locator(".jp-mlops-card-run")
    assert run.get_attribute("data-status") == "FINISHED"
    assert run.inner_text() == f"Run {ui.lab.facts['run_names'][0]}: finished now"
    assert ui.lab.facts["runs"][0] in section.locator(".jp-mlops-model-card").inner_text()
    in_both_themes(ui, lambda: card(ui), "model-card-tab", element=lambda s: s)
    assert ui.page_errors == [], f"uncaught errors in the page: {ui.page_errors}"

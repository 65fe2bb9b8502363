"""What the browser tests of the panel share: finding the panel and its sections, and
screenshots (under ``build/ui/``) in the light and the dark theme."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.ui.conftest import SCREENSHOTS, UI, wait_for_app

PANEL = "#jupyter-mlops-panel"
TAB = '.jp-SideBar [data-id="jupyter-mlops-panel"]'
THEMES = "lab/api/settings/@jupyterlab/apputils-extension:themes"
PNG = b"\x89PNG\r\n\x1a\n"
# the first colour actually painted behind an element: its own, or the nearest ancestor's
PAINTED_BACKGROUND = """(element) => {
  for (let node = element; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour && colour !== 'transparent' && colour !== 'rgba(0, 0, 0, 0)') return colour;
  }
  return null;
}"""


def open_panel(ui: UI) -> Any:
    """Show the panel (clicking its tab only when it is not already open); return it."""
    page = ui.page
    panel = page.locator(PANEL)
    if not panel.is_visible():
        page.locator(TAB).click()
    panel.wait_for(state="visible")
    return panel


def show_section(ui: UI, name: str) -> Any:
    panel = open_panel(ui)
    panel.locator(f'button[data-mlops-section="{name}"]').click()
    return panel


def show_runs(ui: UI) -> Any:
    """The runs table of the seeded experiment (back from a run or a comparison if need be),
    once both seeded runs are listed."""
    facts = ui.lab.facts
    panel = show_section(ui, "runs")
    back = panel.locator("button.jp-mlops-back")
    if back.is_visible():
        back.click()
    panel.locator("select.jp-mlops-experiment").select_option(value=facts["experiment_id"])
    for run_id in (facts["baseline"], facts["xss"]):
        panel.locator(f'tr.jp-mlops-run[data-run-id="{run_id}"]').wait_for()
    return panel


def run_row(panel: Any, run_id: str) -> Any:
    return panel.locator(f'tr.jp-mlops-run[data-run-id="{run_id}"]')


def open_details(ui: UI, run_id: str) -> Any:
    panel = show_runs(ui)
    run_row(panel, run_id).locator("td.jp-mlops-run-name").click()
    details = panel.locator(f'.jp-mlops-run-details[data-run-id="{run_id}"]')
    details.locator("table.jp-mlops-params").wait_for()  # loaded
    return details


def assert_no_injected_html(ui: UI) -> None:
    assert ui.page.locator('img[src="x"]').count() == 0, "a run name was rendered as HTML"
    assert ui.dialogs == [], f"the page opened dialogs: {ui.dialogs}"
    assert ui.page_errors == [], f"uncaught errors in the page: {ui.page_errors}"


def screenshot(ui: UI, name: str) -> Path:
    box = ui.page.locator(PANEL).bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0, f"the panel has no size: {box}"
    path = SCREENSHOTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    ui.page.screenshot(path=path, clip=box)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > len(PNG), f"{path} is not a PNG"
    return path


def set_theme(ui: UI, theme: str) -> None:
    """Change the theme with JupyterLab's own command, as its Settings menu does (the lab is
    started with the app exposed to the page): the choice is saved like a user's, and the page
    keeps its state, with no reload. Without the app, through the settings REST API and a
    reload."""
    page = ui.page
    if page.evaluate("() => Boolean(window.jupyterapp)"):
        page.evaluate(
            "theme => window.jupyterapp.commands.execute('apputils:change-theme', {theme})",
            theme,
        )
    else:
        ui.lab.api("PUT", THEMES, {"raw": json.dumps({"theme": theme})})
        page.reload()
        wait_for_app(page)
    page.locator(f'body[data-jp-theme-name="{theme}"]').wait_for(state="attached")


def painted_background(ui: UI) -> str:
    return ui.page.locator(PANEL).evaluate(PAINTED_BACKGROUND)


def in_both_themes(ui: UI, show: Callable[[], Any], name: str, element: Any = None) -> list[Path]:
    """Screenshots ``name-light.png`` and ``name-dark.png`` of the panel (or of what ``element``
    returns), each after ``show()`` has brought the view back once the theme changed; returns
    the two paths, the page left in the light theme."""
    paths = []
    try:
        for theme, suffix in (("JupyterLab Light", "light"), ("JupyterLab Dark", "dark")):
            if suffix == "dark":
                set_theme(ui, theme)
            target = show()
            path = SCREENSHOTS / f"{name}-{suffix}.png"
            if element is None:
                paths.append(screenshot(ui, path.name))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                element(target).screenshot(path=path)
                paths.append(path)
    finally:
        set_theme(ui, "JupyterLab Light")
    return paths

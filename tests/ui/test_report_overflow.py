"""No table, card or cell of any report overflows a notebook's output; no text is clipped.

Each report is built once from bundled real data through the public API, wrapped in a box as
wide as a notebook's output area and measured in Debian's Chromium. The width is measured, not
guessed: JupyterLab 4.6 in a 1280 x 800 window with the file browser open (its default layout)
gives ``.jp-OutputArea-output`` 848 px, of which 20 px is its right padding
(``.jp-RenderedHTMLCommon``), so a rendered report gets 828 px. Every tab of the EDA report is
shown in turn. Screenshots go to ``build/ui/reports/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core.production import monitor, monitor_report
from jupyter_mlops.core.production.monitor_windows import Window
from jupyter_mlops.core.registry.reference import build_reference
from jupyter_mlops.core.registry.reference_load import Reference, read_profile
from jupyter_mlops.display import monitor as monitor_view
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS

OUTPUT_WIDTH = 828  # px: JupyterLab 4.6's output area at 1280 px with the left sidebar open
SHOTS = SCREENSHOTS / "reports"

# Every element that is wider than its own box, or reaches past the output area's right edge.
# A box that clips (overflow other than visible, or text-overflow) and holds more than it shows
# is clipped text; one that scrolls sideways is a table that does not fit.
MEASURE = """(width) => {
  const out = document.getElementById('out');
  const edge = out.getBoundingClientRect().right + 0.5;
  const found = [];
  const name = (el) => el.tagName.toLowerCase()
      + (el.className && el.className.baseVal === undefined
         ? '.' + String(el.className).trim().split(/\\s+/).join('.') : '');
  for (const el of out.querySelectorAll('*')) {
    if (el.tagName === 'STYLE' || el.tagName === 'INPUT') continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 && rect.height === 0) continue;  // not shown (another tab)
    const text = (el.innerText || el.textContent || '').trim().slice(0, 60);
    if (rect.right > edge) {
      const past = Math.round(rect.right - edge);
      found.push(`${name(el)} reaches ${past} px past the output: ${text}`);
      continue;
    }
    if (el instanceof SVGElement) continue;
    const style = getComputedStyle(el);
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      const clips = style.overflowX !== 'visible' || style.textOverflow !== 'clip';
      const what = clips ? 'clips its text' : 'overflows its box';
      found.push(`${name(el)} ${what} (${el.scrollWidth} > ${el.clientWidth} px): ${text}`);
    }
  }
  return found;
}"""


# -- the reports, from bundled data --------------------------------------------------------------
def _diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    return frame.rename(columns={"target": "progression"})


def _cancer() -> pd.DataFrame:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer(as_frame=True)
    frame = data.frame.copy()
    frame["diagnosis"] = np.where(data.target == 0, "malignant", "benign")
    return frame.drop(columns="target")


def _grunfeld() -> pd.DataFrame:
    import statsmodels.api as sm

    return sm.datasets.grunfeld.load_pandas().data


def _monitor_page(tmp: Any) -> tuple[str, str]:
    """The monitoring summary and one window's page: a model of diabetes progression whose
    logged inputs are the heavier half of the patients."""
    frame = _diabetes()
    X = frame.drop(columns="progression")
    files = build_reference(X, np.asarray(frame["progression"], dtype=float))
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    profile = read_profile(tmp / "profile.json", "models:/progression/1")
    reference = Reference("models:/progression/1", profile, tmp / "sample.parquet")
    logged = X[X["bmi"] > X["bmi"].median()].reset_index(drop=True)
    logged["prediction"] = frame["progression"].iloc[: len(logged)].to_numpy(dtype=float) * 1.3
    logged["_mlops_request"] = (np.arange(len(logged)) // 10).astype(str)
    logged["_mlops_violations"] = ""
    names = monitor_report.log_names(reference, list(logged.columns))
    start = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)
    span = Window(start, start + dt.timedelta(days=1))
    table = pa.Table.from_pandas(logged, preserve_index=False)
    judged = [monitor_report.judge_window(span, table, np.arange(len(logged)), reference, names)]
    source = {"kind": "promoted", "rows": len(X), "sampled": len(X)}
    report = monitor.summary("progression", "1", "1d", span.start, span.end, source, judged)
    return monitor_view.render_html(report), monitor_view.render_window_document(report)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each report's HTML, built once: the notebook fragment (or, for a monitoring window, the
    page logged as its artifact)."""
    from sklearn.ensemble import RandomForestRegressor

    diabetes, cancer = _diabetes(), _cancer()
    heavy = diabetes["bmi"] > diabetes["bmi"].median()  # most columns drift, one is stable
    odd = cancer.iloc[1::2]  # three columns drift, 27 are stable
    smooth = odd[odd["mean smoothness"] > odd["mean smoothness"].quantile(0.3)]
    X, y = diabetes.drop(columns="progression"), diabetes["progression"]
    forest = RandomForestRegressor(n_estimators=30, random_state=0).fit(X, y)
    summary, window = _monitor_page(tmp_path_factory.mktemp("reference"))
    return {
        "eda-cancer": mlops.eda(cancer, target="diagnosis", name="cancer").to_html(),
        "eda-diabetes": mlops.eda(diabetes, target="progression", name="diabetes").to_html(),
        "eda-grunfeld": mlops.eda(_grunfeld(), target="invest", name="grunfeld").to_html(),
        "checks-diabetes": mlops.check(diabetes, "progression", name="diabetes").to_html(),
        "checks-cancer": mlops.check(cancer, "diagnosis", name="cancer").to_html(),
        "drift-cancer": mlops.drift(
            cancer.iloc[::2], smooth, target="diagnosis", name="smoother-cells"
        ).to_html(),
        "drift-diabetes": mlops.drift(
            diabetes[~heavy], diabetes[heavy], target="progression", name="heavier-patients"
        ).to_html(),
        "explain-diabetes": mlops.explain(forest, X, y, name="forest", sample=200).to_html(),
        "monitor-summary": summary,
        "monitor-window": window,
    }


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    """One headless Chromium page, wide enough for the output area and the page's margins."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/install-test-deps.sh`")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": OUTPUT_WIDTH + 200, "height": 900})
        finally:
            browser.close()


def _show(page: Any, html: str) -> None:
    """The report in a box as wide as the output area (a logged page's body made that wide)."""
    if html.lstrip().startswith("<!DOCTYPE"):
        body = html.split("<body", 1)[1].split(">", 1)[1].rsplit("</body>", 1)[0]
    else:
        body = html
    page.set_content(
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body style='margin:8px'>"
        f"<div id='out' style='width:{OUTPUT_WIDTH}px'>{body}</div></body></html>"
    )


def _measure_every_tab(page: Any, name: str) -> list[str]:
    """What overflows, tab by tab (a report without tabs is its one panel), with every folded
    ``<details>`` open: what a click shows must fit too."""
    page.eval_on_selector_all("#out details", "els => els.forEach(e => { e.open = true; })")
    labels = page.locator("#out .mlops-report > label")
    problems: list[str] = []
    if labels.count() == 0:
        problems += page.evaluate(MEASURE, OUTPUT_WIDTH)
        page.locator("#out").screenshot(path=str(SHOTS / f"{name}.png"))
        return problems
    for i in range(labels.count()):
        title = labels.nth(i).inner_text().split(" (")[0].lower()
        labels.nth(i).click()
        problems += [f"[{title}] {p}" for p in page.evaluate(MEASURE, OUTPUT_WIDTH)]
        page.locator("#out").screenshot(path=str(SHOTS / f"{name}-{title}.png"))
    return problems


@pytest.mark.parametrize(
    "name",
    [
        "eda-cancer",
        "eda-diabetes",
        "eda-grunfeld",
        "checks-diabetes",
        "checks-cancer",
        "drift-cancer",
        "drift-diabetes",
        "explain-diabetes",
        "monitor-summary",
        "monitor-window",
    ],
)
def test_no_table_overflows_the_notebook_output(
    reports: dict[str, str], page: Any, name: str
) -> None:
    _show(page, reports[name])
    problems = _measure_every_tab(page, name)
    assert not problems, f"{name} at {OUTPUT_WIDTH} px:\n" + "\n".join(problems[:40])


def test_the_measure_finds_a_clipped_statistic(page: Any) -> None:
    """The measure itself fails a card that clips a value, and passes one that wraps."""
    clipped = (
        "<div style='width:120px;overflow:hidden'><table><tr><th>skew</th><td>-1.0123456</td>"
        "<th>max</th><td>23.000001</td></tr></table></div>"
    )
    _show(page, clipped)
    assert any("clips its text" in p for p in page.evaluate(MEASURE, OUTPUT_WIDTH))
    _show(page, "<div style='width:120px'><p>skew -1.01 max 23</p></div>")
    assert page.evaluate(MEASURE, OUTPUT_WIDTH) == []

"""The monitoring report's HTML and text: untrusted column names, levels and violation keys from
a shared log and artifact store stay inert (escaped in HTML, control characters shown as escapes
in the terminal). The report is computed by the real code over a real in-memory reference."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa

from jupyter_mlops.core.production import monitor, monitor_report
from jupyter_mlops.core.production.monitor_windows import Window
from jupyter_mlops.core.registry.reference import build_reference
from jupyter_mlops.core.registry.reference_load import Reference, read_profile
from jupyter_mlops.display import monitor as view
from tests.display.test_eda_html import parse

IMG = "<img src=x onerror=alert(1)>"
LEVEL = "<script>alert(1)</script>"
CURSOR = "clear\x1b[2Jscreen"


def frame(n: int, seed: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            IMG: rng.normal(shift, 1, n),
            CURSOR: rng.choice([LEVEL, "plain"], n, p=[0.5 + shift / 3, 0.5 - shift / 3]),
        }
    )


def hostile_report(tmp_path) -> dict:
    X = frame(3000, 0, 0.0)
    files = build_reference(X, np.zeros(len(X)))
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    profile = read_profile(tmp_path / "profile.json", "models:/evil/1")
    reference = Reference("models:/evil/1", profile, tmp_path / "sample.parquet")
    logged = frame(3000, 1, 1.0)
    logged["prediction"] = 0.0
    logged["_mlops_request"] = np.repeat(np.arange(30).astype(str), 100)
    logged["_mlops_violations"] = json.dumps({IMG: 2, CURSOR: 1})
    names = monitor_report.log_names(reference, list(logged.columns))
    start = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc)
    span = Window(start, start + dt.timedelta(days=1))
    table = pa.Table.from_pandas(logged, preserve_index=False)
    rows = np.arange(len(logged))
    judged = [monitor_report.judge_window(span, table, rows, reference, names)]
    source = {"kind": "promoted", "rows": 3000, "sampled": 3000}
    return monitor.summary("evil", "1", "1d", span.start, span.end, source, judged)


def test_hostile_names_stay_inert_in_html_and_text(tmp_path):
    report = hostile_report(tmp_path)
    assert sorted(report["drifted"]) == sorted([IMG, CURSOR])  # the real drift flagged them
    (window,) = report["windows"]
    assert window["violations"][IMG] == {"rows": 60, "rate": 0.02}
    for page in (view.render_html(report), view.render_window_document(report)):
        checker = parse(page)
        assert {t for t, _ in checker.tags} <= {
            "html",
            "head",
            "meta",
            "title",
            "body",
            "div",
            "style",
            "h3",
            "h4",
            "p",
            "b",
            "span",
            "table",
            "tr",
            "th",
            "td",
            "details",
            "summary",
            "i",
            "ul",
            "li",
            "small",
        }
        assert not any(k.startswith("on") for _, attrs in checker.tags for k in attrs)
        assert "<img" not in page and "<script" not in page and "&lt;img src=x" in page
    text = view.render_text(report)
    assert "\x1b" not in text and "clear\\x1b[2Jscreen" in text

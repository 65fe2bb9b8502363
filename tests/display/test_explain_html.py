"""The explanation's HTML: self-contained, balanced, escaped, one bar per feature."""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

import jupyter_mlops as mlops
from jupyter_mlops.display import explain as view
from tests.display.test_eda_html import parse

HOSTILE = "<script>alert(1)</script>"


def hostile_report(**kwargs) -> dict:
    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame({HOSTILE: rng.normal(size=n), "it's": rng.normal(size=n), "noise": 0.0})
    X["noise"] = rng.normal(size=n)
    y = 2 * X[HOSTILE] - 0.5 * X["it's"] + rng.normal(0, 0.1, n)
    return mlops.explain(LinearRegression().fit(X, y), X, y, name="risky", **kwargs).to_dict()


def test_html_is_self_contained_balanced_and_escaped() -> None:
    report = hostile_report()
    page = view.render_html(report)
    checker = parse(page)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "it&#x27;s" in page
    assert not re.search(r"(src|href)\s*=|url\(|@import|https?://", page)
    bars = [a for tag, a in checker.tags if tag == "div" and a.get("class", "").startswith("bar")]
    assert len(bars) == 6  # three permutation bars and three SHAP bars
    widths = re.findall(r"class='bar' style='width:([0-9.]+)%'", page)
    assert float(widths[0]) == max(float(w) for w in widths[:3])  # most important first
    text = " ".join(checker.text)
    assert "Permutation importance" in text and "Mean |SHAP|" in text
    assert report["shap_note"] in text


def test_negative_importance_and_missing_shap_render(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "shap", None)  # import shap raises ImportError
    report = hostile_report(sample=50)
    report["permutation"]["noise"]["mean"] = -0.01  # chance can make a useless column negative
    page = view.render_html(report)
    parse(page)
    assert "class='bar neg'" in page
    assert "shap is not installed" in page and "random sample of 50 of 400 rows" in page


def test_document_and_text() -> None:
    report = hostile_report()
    page = view.render_document(report)
    assert page.startswith("<!DOCTYPE html>") and "<title>Explanation: risky</title>" in page
    parse(page)
    text = view.render_text(report)
    assert text.startswith("Explanation 'risky': LinearRegression (regression)")
    assert f"  {HOSTILE}: " in text.splitlines()[1]

"""The drift report's HTML: self-contained, balanced, escaped, one badge and PSI bar per column."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from jupyter_mlops.core.stats.drift import DriftReport, compare
from jupyter_mlops.display import drift as view
from tests.display.test_eda_html import parse

HOSTILE = "<script>alert(1)</script>"


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 2_000

    def frame(shift: float, gold: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                HOSTILE: rng.normal(shift, 1, n),
                "plan": rng.choice(["<b>gold</b>", "silver"], n, p=[gold, 1 - gold]),
                "steady": rng.normal(0, 1, n),
                "y'": rng.random(n) < 0.3 + shift / 4,
                "when": pd.date_range("2025-01-01", periods=n, freq="h"),
            }
        )

    return frame(0, 0.3), frame(1, 0.6)


def test_html_is_self_contained_balanced_and_escaped() -> None:
    ref, cur = frames()
    report = compare(ref, cur, target="y'", name="risky")
    page = view.render_html(report)
    checker = parse(page)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;gold&lt;/b&gt;" in page and "<b>gold</b>" not in page
    assert "y&#x27;" in page  # quotes in names cannot close an attribute
    assert not re.search(r"(src|href)\s*=|url\(|@import|https?://", page)
    spans = [a.get("class", "") for tag, a in checker.tags if tag == "span"]
    badges = [c for c in spans if c.startswith("v v-")]
    assert sorted(badges) == ["v v-drifted", "v v-major", "v v-major", "v v-stable"]
    bars = [a for tag, a in checker.tags if tag == "div" and a.get("class") == "psi"]
    assert len(bars) == 4  # three features and the target
    text = " ".join(checker.text)
    assert "2 of 3 columns drifted" in text and "label drift" in text
    assert "when not compared" in text
    # the columns that moved carry their sentence; the stable ones are one line each in the
    # compact table after them, with their figures and verdict but not the sentence
    for column, r in report["columns"].items():
        assert (r["message"] in text) == (r["verdict"] != "stable"), column
    stable = page.split("<table class='stable'>", 1)[1].split("</table>", 1)[0]
    assert "<th class='name'>steady</th>" in stable and "v v-stable" in stable
    assert "v v-major" not in stable and "shares per bin" not in stable


def test_worst_columns_come_first_and_bars_scale() -> None:
    ref, cur = frames()
    page = view.render_html(compare(ref, cur))
    assert page.index("class='v v-major'") < page.index("class='v v-stable'")
    widths = [float(w) for w in re.findall(r"class='fill v-[a-z]+' style='width:([0-9.]+)%'", page)]
    assert max(widths) == 100.0 and min(widths) < 5  # capped at PSI 0.5; a stable column is short


def test_document_and_text() -> None:
    ref, cur = frames()
    report = DriftReport(compare(ref, cur, name="risky"))
    page = report.to_html(full_page=True)
    assert page.startswith("<!DOCTYPE html>") and "<title>Drift: risky</title>" in page
    parse(page)
    assert repr(report).startswith("Drift report 'risky': 3 of 4 columns drifted")


def test_nothing_compared_still_renders() -> None:
    when = pd.DataFrame({"when": pd.date_range("2025-01-01", periods=3, freq="D")})
    page = view.render_html(compare(when, when))
    parse(page)
    assert "No columns were compared" in page


def test_samples_too_small_are_shown_as_such() -> None:
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=40), "k": rng.choice(["a", "b"], 40)})
    cur = pd.DataFrame({"x": rng.normal(size=40), "k": rng.choice(["a", "b"], 40)})
    report = compare(ref, cur)
    assert report["columns"]["x"]["verdict"] == "inconclusive"
    page = view.render_html(report)
    checker = parse(page)
    spans = [a.get("class", "") for tag, a in checker.tags if tag == "span"]
    assert "v v-inconclusive" in spans and "too few rows" in " ".join(checker.text)
    assert report["sample_note"] in " ".join(checker.text)
    assert "PSI alone never flags a column" in " ".join(checker.text)
    assert report["sample_note"] in view.render_text(report)
    assert page.index("class='v v-inconclusive'") < page.index("class='v v-stable'")

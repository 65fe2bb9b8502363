"""The EDA report's HTML: self-contained, escaped, with its charts and tabs."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd

from jupyter_mlops.core.stats.eda import EdaReport, profile
from jupyter_mlops.display import eda as view

VOID = {"input", "meta", "br", "hr", "img", "line", "rect", "path"}


class Checker(HTMLParser):
    """Collects tags and checks that every opened element is closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.stack and self.stack[-1] == tag, (self.stack[-5:], tag)
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Checker:
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.stack == []
    return checker


def hostile_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame(
        {
            "<script>alert(1)</script>": rng.normal(size=n),
            "income": rng.lognormal(size=n),
            "plan": rng.choice(["<b>gold</b>", "silver"], n),
            "active": rng.random(n) < 0.5,
            "when": pd.date_range("2025-01-01", periods=n, freq="D"),
            "y": (rng.random(n) < 0.05).astype(int),
        }
    )


def test_html_is_self_contained_balanced_and_escaped() -> None:
    report = profile(hostile_frame(), target="y", name="risky")
    page = view.render_html(report)
    checker = parse(page)
    assert "<script" not in page.lower()  # the hostile name is text, not a tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;gold&lt;/b&gt;" in page and "<b>gold</b>" not in page
    assert not re.search(r"(src|href)\s*=|url\(|@import|https?://", page)
    # one histogram per numeric column, plus the datetime one
    assert sum(1 for tag, _ in checker.tags if tag == "svg") >= 3
    tabs = [a["for"] for tag, a in checker.tags if tag == "label"]
    assert len(tabs) == 5
    text = " ".join(checker.text)
    for w in report["warnings"]:
        assert w["code"] in text
    assert "imbalanced_target" in text and "skewed" in text


def test_sampling_note_only_when_sampled() -> None:
    frame = pd.DataFrame({"a": np.arange(1000.0), "b": np.arange(1000.0) ** 2})
    assert "random sample" not in view.render_html(profile(frame))
    sampled = view.render_html(profile(frame, sample=100))
    assert "random sample of 100 of 1,000 rows (seed 0)" in sampled


def test_document_text_and_widget() -> None:
    report = EdaReport(profile(hostile_frame(), target="y", name="risky"))
    page = report.to_html(full_page=True)
    assert page.startswith("<!DOCTYPE html>") and "<meta charset='utf-8'>" in page
    parse(page)
    assert repr(report).startswith("EDA report 'risky': 400 rows x 6 columns")
    tab = report.widget()
    assert list(tab.titles) == [
        "Overview",
        "Columns",
        "Correlations",
        "Target",
        f"Warnings ({len(report.warnings)})",
    ]
    assert all("mlops-eda" in child.value for child in tab.children)


def test_frames_without_numbers_or_values_render() -> None:
    for frame in (
        pd.DataFrame({"s": ["a", "b", None]}),
        pd.DataFrame({"x": [np.nan, np.nan]}),
        pd.DataFrame({"x": pd.Series([], dtype="float64")}),
    ):
        parse(view.render_html(profile(frame)))


def test_skipped_parts_are_listed_and_escaped() -> None:
    frame = hostile_frame()
    frame["<i>tags</i>"] = [["a", "b"] if i % 2 else None for i in range(len(frame))]
    report = profile(frame, name="risky")
    page = view.render_html(report)
    parse(page)
    assert "<h4>Not computed</h4>" in page and "<i>tags</i>" not in page
    assert "&lt;i&gt;tags&lt;/i&gt;" in page and "cannot be counted or compared" in page
    assert "duplicate rows</b>" in page  # the count it could not make, with why
    assert "unknown (unhashable cells)" in page

"""EDA of wide frames: the strongest pairs instead of the whole matrix, equal to pandas and scipy.

Beyond ``WIDE`` (100) columns of one measure the report keeps the ``TOP_PAIRS`` strongest pairs,
the number of pairs at or above the warning threshold and each column's strongest partner; the
figures must be the ones pandas' ``corr`` and scipy's ``association`` give on the same data.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from jupyter_mlops.core.stats import correlations_wide, eda
from jupyter_mlops.core.stats.correlations import cramers_v
from jupyter_mlops.core.stats.eda import TOP_PAIRS, WIDE, profile
from jupyter_mlops.display import eda as view


def macro_with_lags(lags: int) -> pd.DataFrame:
    """US quarterly macro data 1959-2009 (203 quarters) with ``lags`` lags of each series: the
    wide frame of a forecaster's feature table."""
    df = sm.datasets.macrodata.load_pandas().data
    shifted = {f"{c}_lag{k}": df[c].shift(k) for c in df.columns[2:] for k in range(1, lags + 1)}
    return pd.concat([df, pd.DataFrame(shifted)], axis=1)


@pytest.mark.parametrize("blocks", ["one block", "many blocks and row chunks"])
def test_wide_frame_keeps_the_strongest_pairs_as_pandas_computes_them(blocks, monkeypatch) -> None:
    if blocks != "one block":  # 3 rows of the matrix at a time, 5 rows of the data
        monkeypatch.setattr(correlations_wide, "BLOCK_CELLS", 3 * 109)
        monkeypatch.setattr(correlations_wide, "CHUNK_CELLS", 5 * 109)
    df = macro_with_lags(8)  # 110 numeric columns, 109 without the target
    assert df.shape[1] - 1 > WIDE
    report = profile(df, target="unemp")
    assert report["correlations"]["pearson"] is None  # no 109 x 109 matrix in the report
    top = report["correlations_top"]["pearson"]
    features = df.drop(columns="unemp")
    expected = features.corr()
    r = expected.to_numpy(copy=True)
    upper = np.triu_indices(len(r), 1)
    strength = np.abs(r[upper])
    assert top["columns"] == 109 and top["pairs_total"] == len(strength) == 5_886
    assert top["at_or_above_threshold"] == int((strength >= 0.95).sum()) == 1_937
    assert len(top["pairs"]) == TOP_PAIRS
    kept = np.sort(strength)[::-1][:TOP_PAIRS]
    assert np.allclose([abs(v) for _, _, v in top["pairs"]], kept, rtol=1e-12, atol=1e-12)
    for a, b, value in top["pairs"]:
        assert math.isclose(value, expected.loc[a, b], rel_tol=1e-9), (a, b)
    np.fill_diagonal(r, np.nan)
    for i, column in enumerate(features.columns):  # each column's strongest partner
        partner, value = top["strongest_partner"][column]
        assert math.isclose(abs(value), np.nanmax(np.abs(r[i])), rel_tol=1e-12), column
        assert math.isclose(value, expected.loc[column, partner], rel_tol=1e-9), column

    # Trending aggregates in levels correlate near 1 (Granger and Newbold 1974, "Spurious
    # regressions in econometrics", J. Econometrics 2(2), 111-120): realgdp and realcons
    # (r = 0.9992 here) are flagged, among the 200 named pairs or in the one line for the rest.
    flagged = [w for w in report["warnings"] if w["code"] == "high_correlation"]
    named = {frozenset(w["columns"]) for w in flagged if len(w["columns"]) == 2}
    assert len(named) == sum(abs(v) >= 0.95 for _, _, v in top["pairs"])
    rest = [w for w in flagged if len(w["columns"]) != 2]
    assert len(rest) == 1 and rest[0]["message"].startswith("1,737 more pairs")
    assert {"realgdp", "realcons"} <= set().union(*named, rest[0]["columns"])
    assert "unemp" not in set().union(*named, rest[0]["columns"])  # the target's are apart

    # the target's relationships are its row of the matrix, as pandas computes it
    relations = report["target"]["relationships"]
    target_r = df.corr()["unemp"].drop("unemp")
    assert set(relations) == set(target_r.index)
    for column, rel in relations.items():
        assert math.isclose(rel["value"], target_r[column], rel_tol=1e-9), column

    note = {s["what"]: s["reason"] for s in report["skipped"]}["pearson matrix"]
    assert note.startswith("109 columns make 5,886 pairs") and "1,937" in note


def test_wide_frame_with_a_constant_target() -> None:
    df = macro_with_lags(8)
    df["flat"] = 1.0  # a target without variance: no r with it, and nothing crashes
    target = profile(df, target="flat")["target"]
    assert target["task"] == "classification" and target["classes"] == [[1.0, len(df)]]
    assert all(rel["measure"] == "correlation_ratio" for rel in target["relationships"].values())


def test_narrow_frames_keep_the_whole_matrix() -> None:
    df = sm.datasets.macrodata.load_pandas().data
    report = profile(df)
    assert report["correlations_top"] == {}
    assert set(report["correlations"]["pearson"]) == set(df.columns)
    assert not [s for s in report["skipped"] if s["what"].endswith("matrix")]


@pytest.mark.parametrize("block_cells", [correlations_wide.BLOCK_CELLS, 40])
def test_wide_categorical_frame_keeps_the_strongest_cramers_v_as_scipy(
    block_cells: int, monkeypatch
) -> None:
    monkeypatch.setattr(correlations_wide, "BLOCK_CELLS", block_cells)  # 40: a column a block
    df = sm.datasets.anes96.load_pandas().data
    columns = ["PID", "educ", "income", "vote", "TVnews", "selfLR", "ClinLR", "DoleLR"]
    labels = df[columns].astype(int).astype(str)
    labels.loc[::9, "income"] = None  # gaps: each pair uses the rows where both are present
    monkeypatch.setattr(eda, "WIDE", 4)  # 8 categorical columns take the wide path
    monkeypatch.setattr(eda, "TOP_PAIRS", 5)
    report = profile(labels)
    assert report["correlations"]["cramers_v"] is None
    top = report["correlations_top"]["cramers_v"]
    codes = {c: pd.factorize(labels[c], use_na_sentinel=True)[0] for c in columns}
    every = sorted(
        (
            (cramers_v(codes[a], codes[b]), a, b)
            for i, a in enumerate(columns)
            for b in columns[i + 1 :]
        ),
        reverse=True,
    )
    assert [[a, b] for _, a, b in every[:5]] == [[a, b] for a, b, _ in top["pairs"]]
    assert [v for v, _, _ in every[:5]] == [v for _, _, v in top["pairs"]]  # scipy's own
    # Party identification predicts the vote (Campbell et al. 1960, The American Voter, ch. 6):
    # the strongest association of the study, V = 0.82.
    assert top["pairs"][0][:2] == ["PID", "vote"] and round(top["pairs"][0][2], 2) == 0.82
    assert top["strongest_partner"]["vote"][0] == "PID"
    for column in columns:  # the screened partners (not recomputed) agree with scipy too
        partner, value = top["strongest_partner"][column]
        strongest = max(v for v, a, b in every if column in (a, b))
        assert math.isclose(value, strongest, rel_tol=1e-9), column
        assert math.isclose(value, cramers_v(codes[column], codes[partner]), rel_tol=1e-9)
    assert top["at_or_above_threshold"] == 0


def test_wide_report_page_shows_pairs_and_warned_columns_not_the_matrix() -> None:
    df = macro_with_lags(20)  # 254 columns: beyond the 200 column cards a page shows
    report = profile(df)
    page = view.render_html(report)
    assert "class='heat'" not in page  # no heatmap of a cut matrix
    assert "254 columns: cards for the" in page and "then one line per column" in page
    warned = {c for w in report["warnings"] for c in w["columns"]}
    cards = page.count("<div class='card'>")
    assert cards == min(len(warned), view.MAX_CARDS)
    assert page.count("<tr><td>") >= 254  # one line per column
    assert "kept the 200 strongest Pearson r pairs" in page
    # the JSON holds every kept pair and partner, a fraction of the matrix it replaces
    assert len(json.dumps(report)) < 0.2 * len(json.dumps(df.corr().to_dict()))


def test_too_many_levels_for_cramers_v_is_said_not_hidden(monkeypatch) -> None:
    df = sm.datasets.anes96.load_pandas().data
    labels = df[["PID", "educ", "income", "vote", "TVnews"]].astype(int).astype(str)
    monkeypatch.setattr(eda, "WIDE", 4)
    monkeypatch.setattr(eda, "MAX_LEVEL_CELLS", 100)  # 48 levels: 1,152 cells over all pairs
    report = profile(labels)
    assert report["correlations"]["cramers_v"] is None
    assert "cramers_v" not in report["correlations_top"]
    note = {s["what"]: s for s in report["skipped"]}["cramers_v matrix"]
    assert note["columns"] == list(labels.columns)
    assert note["reason"].startswith("5 categorical columns with 48 levels in all make 1,152")
    assert "Cramér&#x27;s V was left out" in view.render_html(report)

"""Many simple models: one per segment, fitted in parallel, tracked and promoted as one.

``fit_segments(df, by="store", target="sales", estimator=Ridge())`` fits a clone of the estimator
on each store's rows, scores it with cross-validation, and fits a fallback on all rows; the
result is a ``SegmentFamily`` (``segment_family.py``) that routes each row to its model.

Where the fits run: in this process (``n_jobs=1``), in joblib's local worker processes, or on a
Dask distributed cluster (``dask=`` a scheduler address or a ``distributed.Client``). Segments
are sent in a few chunks per worker, balanced by rows, and each chunk carries only its own
segments' rows (the fallback's task carries them all): a task per segment would cost more to
ship and schedule than a linear model costs to fit.

With a run active, every segment becomes a child run (its rows, score and fit time) created
through ``MlflowClient`` with explicit ids, and the parent gets the summary: ``segments/summary
.json`` and ``.html`` (worst segments first) and ``segments.*`` metrics. Without one, nothing is
logged.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...runtime import segment_family
from ...runtime.segment_family import SegmentError
from ..autolog import without_autolog
from .segments_backends import fit_all, fit_chunk, one_line, open_backend
from .segments_logging import log_family

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SegmentError", "SegmentFamily", "fit_segments"]


class SegmentFamily(segment_family.SegmentFamily):
    """The family users build: the runtime's ``SegmentFamily`` (what ships in a model and only
    predicts) plus fitting and the rich HTML view, which need jupyter-mlops. Promotion re-bases
    it onto the copy of the runtime class it ships, so a model never refers to this module."""

    def fit(self, X: pd.DataFrame, y: Any) -> SegmentFamily:
        """Fit one model per segment of ``X[by]`` and the fallback."""
        return train(self, X, y)

    def _repr_html_(self) -> str:
        if not self.__sklearn_is_fitted__():
            return super()._repr_html_()
        from ...display.segments import family_html

        return family_html(self.to_dict())


NAMES_SHOWN = 8  # columns or segments named in a message


@without_autolog
def fit_segments(
    df: pd.DataFrame,
    by: Any,
    target: Any,
    estimator: Any,
    n_jobs: int | None = -1,
    dask: Any = None,
    min_rows: int = 20,
    *,
    features: list[Any] | None = None,
    cv: Any = 5,
    scoring: Any = None,
) -> SegmentFamily:
    """Fit a clone of ``estimator`` on each segment of ``df[by]`` to predict ``df[target]``,
    plus a fallback on all rows, and return the ``SegmentFamily`` that routes between them.

    Runs in ``n_jobs`` local processes (-1: one per CPU; 1: in this process) or, when ``dask``
    is a scheduler address or a ``distributed.Client``, on that cluster. Segments with fewer
    than ``min_rows`` rows are served by the fallback. ``features`` default to every column
    but ``by`` and ``target``; ``cv`` folds (0: none) score each segment with ``scoring``
    (default: the estimator's own score). With a run active, each segment is a child run.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise SegmentError(f"fit_segments needs a pandas DataFrame, not {type(df).__name__}")
    if len(df) == 0:
        raise SegmentError("the DataFrame has no rows: nothing to fit")
    for role, column in (("segment by", by), ("predict", target)):
        if column not in df.columns:
            raise SegmentError(f"no column {column!r} to {role}: {_columns_hint(df)}")
    if by == target:
        raise SegmentError(f"by and target are both {by!r}: segment by another column")
    family = SegmentFamily(
        estimator=estimator,
        by=by,
        features=features,
        min_rows=min_rows,
        cv=cv,
        scoring=scoring,
        n_jobs=n_jobs,
    )
    train(family, df.drop(columns=[target]), df[target], dask=dask)

    from ..tracking import active_run

    run = active_run()  # inside `jupyter mlops run`, the runner's run
    if run is not None:
        log_family(family, run)
    return family


# -- fitting ------------------------------------------------------------------------------------
def train(family: SegmentFamily, X: pd.DataFrame, y: Any, dask: Any = None) -> SegmentFamily:
    """Fit ``family`` in place on ``X`` (holding the ``by`` column) and ``y``; return it."""
    import numpy as np
    import pandas as pd

    started = time.perf_counter()
    estimator, by = family.estimator, family.by
    _check_estimator(estimator)
    if not isinstance(X, pd.DataFrame):
        raise SegmentError(f"X must be a pandas DataFrame holding {by!r}, not {type(X).__name__}")
    if len(X) == 0:
        raise SegmentError("X has no rows: nothing to fit")
    if by not in X.columns:
        raise SegmentError(f"no column {by!r} to segment by: {_columns_hint(X)}")
    y = pd.Series(y, index=X.index) if not isinstance(y, pd.Series) else y
    if len(y) != len(X):
        raise SegmentError(f"y has {len(y)} values but X has {len(X)} rows")
    features = _features(family.features, X, by)
    _check_settings(family)
    scoring = _check_scoring(estimator, family.scoring)

    codes, segments = _factorize(X[by])
    if not segments:
        raise SegmentError(f"column {by!r} holds no values: there is nothing to segment by")
    counts = np.bincount(codes[codes >= 0], minlength=len(segments))
    fittable = counts >= family.min_rows
    # the rows of fittable segments, grouped by segment (stable: each keeps the input's order)
    keep = np.flatnonzero((codes >= 0) & fittable[np.maximum(codes, 0)])
    keep = keep[np.argsort(codes[keep], kind="stable")]
    data = X[features]
    ordered = (data.take(keep), y.take(keep))
    ends = np.cumsum(counts * fittable)
    spans = [(int(i), int(ends[i] - counts[i]), int(ends[i])) for i in np.flatnonzero(fittable)]

    with open_backend(family.n_jobs, dask, len(spans) + 1, estimator) as backend:
        calls: list[tuple[Callable[..., Any], Any, tuple[Any, ...]]] = [
            (fit_all, (data, y), (estimator, family.cv, scoring))  # the biggest task first
        ]
        for chunk in _chunks(spans, backend.chunks):
            first, last = chunk[0][1], chunk[-1][2]
            part = (ordered[0].iloc[first:last], ordered[1].iloc[first:last])
            items = [(i, a - first, b - first) for i, a, b in chunk]
            calls.append((fit_chunk, part, (estimator, items, family.cv, scoring)))
        results = backend.run(calls)
        description = backend.describe()

    fallback, results = results[0], [r for chunk in results[1:] for r in chunk]
    if fallback["error"]:
        raise SegmentError(
            f"the fallback model (all {len(X):,} rows) could not be fitted: {fallback['error']}"
        )
    _store(family, segments, counts, fittable, results, fallback)
    family.feature_names_in_ = features
    family.n_features_in_ = len(features)
    family.target_ = y.name
    family.scoring_ = _scoring_label(estimator, scoring)
    family.n_rows_ = len(X)
    family.rows_without_segment_ = int((codes < 0).sum())
    family.backend_ = description
    family.run_ids_, family.parent_run_id_ = {}, None
    family.seconds_ = time.perf_counter() - started
    _report_failures(family)
    return family


def _store(
    family: SegmentFamily,
    segments: list[Any],
    counts: Any,
    fittable: Any,
    results: list[dict[str, Any]],
    fallback: dict[str, Any],
) -> None:
    family.segments_ = segments
    family.rows_ = {s: int(n) for s, n in zip(segments, counts, strict=True)}
    family.small_segments_ = [s for s, ok in zip(segments, fittable, strict=True) if not ok]
    family.models_, family.failed_segments_ = {}, {}
    family.scores_, family.score_stds_ = {}, {}
    family.fit_seconds_, family.fit_started_ = {}, {}
    for result in sorted(results, key=lambda r: r["index"]):
        segment = segments[result["index"]]
        family.fit_seconds_[segment] = result["seconds"]
        family.fit_started_[segment] = result["started"]
        if result["error"]:
            family.failed_segments_[segment] = result["error"]
            continue
        family.models_[segment] = result["model"]
        family.scores_[segment], family.score_stds_[segment] = result["score"], result["std"]
    family.fallback_ = fallback["model"]
    family.fallback_score_, family.fallback_score_std_ = fallback["score"], fallback["std"]


def _report_failures(family: SegmentFamily) -> None:
    failed = family.failed_segments_
    if not failed:
        return
    shown = "; ".join(f"{s!r}: {e}" for s, e in list(failed.items())[:3])
    more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
    if not family.models_:
        raise SegmentError(f"no segment could be fitted ({shown}{more})")
    warnings.warn(
        f"{len(failed)} segment{'s' if len(failed) != 1 else ''} could not be fitted and "
        f"{'are' if len(failed) != 1 else 'is'} served by the fallback model ({shown}{more})",
        UserWarning,
        stacklevel=3,
    )


def _check_estimator(estimator: Any) -> None:
    if isinstance(estimator, type):
        raise SegmentError(
            f"estimator must be an instance, not the class {estimator.__name__}: "
            f"pass {estimator.__name__}()"
        )
    if not all(callable(getattr(estimator, m, None)) for m in ("fit", "predict", "get_params")):
        raise SegmentError(
            "estimator must be a scikit-learn estimator (with fit, predict and get_params), "
            f"not {type(estimator).__name__}"
        )


def _features(features: list[Any] | None, X: pd.DataFrame, by: Any) -> list[Any]:
    if features is None:
        chosen = [c for c in X.columns if c != by]
    else:
        if isinstance(features, str) or not hasattr(features, "__iter__"):
            raise SegmentError(f"features must be a list of column names, not {features!r}")
        chosen = list(features)
        missing = [c for c in chosen if c not in X.columns]
        if missing:
            raise SegmentError(f"feature column(s) not in the frame: {_names(missing)}")
    if not chosen:
        raise SegmentError(f"no feature columns: the frame holds only {by!r} and the target")
    return chosen


def _check_settings(family: SegmentFamily) -> None:
    min_rows, cv, n_jobs = family.min_rows, family.cv, family.n_jobs
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise SegmentError(f"min_rows must be a whole number of at least 1, not {min_rows!r}")
    folds = cv is None or hasattr(cv, "split") or (type(cv) is int and (cv == 0 or cv >= 2))
    if not folds:
        raise SegmentError(
            f"cv must be a number of folds (2 or more, 0 for none) or a splitter, not {cv!r}"
        )
    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)):
        raise SegmentError(f"n_jobs must be a whole number (-1: one per CPU), not {n_jobs!r}")
    if n_jobs == 0:
        raise SegmentError("n_jobs must not be 0: use 1 for this process, -1 for one per CPU")


def _check_scoring(estimator: Any, scoring: Any) -> Any:
    """``scoring`` as given, once scikit-learn has accepted it for this estimator."""
    if scoring is None:
        return None
    from sklearn.metrics import check_scoring

    try:
        check_scoring(estimator, scoring=scoring)
    except (ValueError, TypeError) as exc:
        raise SegmentError(f"scoring {scoring!r} is not usable: {one_line(exc)}") from None
    return scoring


def _scoring_label(estimator: Any, scoring: Any) -> str:
    if isinstance(scoring, str):
        return scoring
    if scoring is not None:
        return getattr(scoring, "__name__", type(scoring).__name__)
    from sklearn.base import is_classifier, is_regressor

    if is_regressor(estimator):
        return "r2"
    return "accuracy" if is_classifier(estimator) else "score"


def _factorize(values: pd.Series) -> tuple[Any, list[Any]]:
    """Codes (-1 for a missing segment) and the segments as Python scalars, sorted when the
    values compare (mixed types keep their order of appearance)."""
    import pandas as pd

    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(values, sort=False)
    return codes, list(uniques.tolist())


def _chunks(spans: list[tuple[int, int, int]], n: int) -> list[list[tuple[int, int, int]]]:
    """``spans`` cut into at most ``n`` runs of neighbours holding about the same rows."""
    if not spans:
        return []
    total = spans[-1][2]
    chunks: list[list[tuple[int, int, int]]] = [[]]
    for span in spans:
        middle = (span[1] + span[2]) / 2
        if chunks[-1] and middle * n // total >= len(chunks):
            chunks.append([])
        chunks[-1].append(span)
    return chunks


# -- small helpers -------------------------------------------------------------------------------


def _names(names: list[Any]) -> str:
    shown = ", ".join(repr(n) for n in names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")


def _columns_hint(df: pd.DataFrame) -> str:
    return f"the frame has {_names(list(df.columns))}"

"""A family of per-segment models that predicts as one: each row goes to its segment's model.

``SegmentFamily`` is what ``mlops.fit_segments`` returns and what ``mlops.promote`` registers.
It is a scikit-learn estimator (``predict``, ``get_params``, ``clone``), so the usual packaging
path applies: a promoted family is pickled against a copy of this file shipped in the model's
``code/`` folder, which is why this file needs only numpy, pandas and scikit-learn, and works as
a plain top-level module where jupyter-mlops is not installed. This class only predicts: the
fitting, and the rich HTML view, are added by the subclass users build
(``jupyter_mlops.core.batch.segments.SegmentFamily``), which promotion re-bases onto the copy.

Routing: rows whose segment had a model of its own get that model's prediction; rows of a
segment that was too small (or whose fit failed) get the fallback model, trained on all rows;
rows of a segment never seen in training (or with no segment value) get the fallback too, with
a ``SegmentWarning`` naming those segments. Predictions come back in the input's row order.
"""

import html
import importlib
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

try:
    from .errors import MlopsError, SegmentWarning
except ImportError:  # a plain copy of this file, shipped with a packaged model
    try:  # the installed jupyter-mlops's classes: `except mlops.MlopsError` still catches ours
        _installed: Any = importlib.import_module("jupyter_mlops.runtime.errors")
    except ImportError:  # jupyter-mlops is not installed here
        _installed = None
    if hasattr(_installed, "MlopsError"):
        MlopsError = _installed.MlopsError
    else:

        class MlopsError(Exception):  # type: ignore[no-redef]
            """A mistake the user can fix: the message names the thing to change."""

    if hasattr(_installed, "SegmentWarning"):  # (an older jupyter-mlops has none)
        SegmentWarning = _installed.SegmentWarning
    else:

        class SegmentWarning(UserWarning):  # type: ignore[no-redef]
            """Rows of segments the family never saw were served by the fallback model."""


__all__ = ["SegmentError", "SegmentFamily", "SegmentWarning"]

EXAMPLES = 5  # unseen segments named in a warning
TEXT_ROWS = 10  # segments listed by repr()


class SegmentError(MlopsError):
    """Input a segment family cannot fit or route; the message names what to change."""


class SegmentFamily(BaseEstimator):
    """One fitted model per value of ``by``, plus a fallback model fitted on all rows.

    Build it with ``mlops.fit_segments(df, by=..., target=..., estimator=...)`` (parallel, tracked)
    or, as any estimator, ``SegmentFamily(estimator, by="store").fit(X, y)`` with ``X`` holding
    the ``by`` column. ``features`` names the columns the models see (default: every column of
    ``X`` but ``by``); segments with fewer than ``min_rows`` rows are served by the fallback;
    ``cv`` folds (0 for none) score each segment with ``scoring`` (default: the estimator's own
    ``score``, R² or accuracy).
    """

    _mlops_segment_family = True  # how promote recognises a family, in any copy of this file

    def __init__(
        self,
        estimator: Any = None,
        by: Any = None,
        features: list[Any] | None = None,
        min_rows: int = 20,
        cv: Any = 5,
        scoring: Any = None,
        n_jobs: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.by = by
        self.features = features
        self.min_rows = min_rows
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any) -> "SegmentFamily":
        """This class, which ships inside a model, only predicts: fitting lives in jupyter-mlops
        (``mlops.fit_segments``, or the ``SegmentFamily`` of ``jupyter_mlops.core.batch.segments``,
        a subclass of this one)."""
        raise SegmentError(
            "this copy of SegmentFamily only predicts: fit with mlops.fit_segments(...) or "
            "jupyter_mlops.core.batch.segments.SegmentFamily(...).fit(X, y)"
        )

    # -- what was fitted --------------------------------------------------------------------
    @property
    def models(self) -> dict[Any, Any]:
        """``{segment: fitted estimator}`` for every segment with a model of its own."""
        self._check_fitted()
        return dict(self.models_)

    @property
    def fallback(self) -> Any:
        """The model fitted on all rows: it serves small, failed and unseen segments."""
        self._check_fitted()
        return self.fallback_

    @property
    def segments(self) -> list[Any]:
        """Every segment seen in training, in sorted order (models or not)."""
        self._check_fitted()
        return list(self.segments_)

    @property
    def scores(self) -> dict[Any, float]:
        """Cross-validated score of each segment's own model (``scoring_`` names the score)."""
        self._check_fitted()
        return {s: self.scores_[s] for s in self.models_ if s in self.scores_}

    @property
    def small_segments(self) -> list[Any]:
        """Segments with fewer than ``min_rows`` rows: served by the fallback model."""
        self._check_fitted()
        return list(self.small_segments_)

    @property
    def failed_segments(self) -> dict[Any, str]:
        """``{segment: error}`` for segments whose own fit raised: served by the fallback."""
        self._check_fitted()
        return dict(self.failed_segments_)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "fallback_")

    def _check_fitted(self) -> None:
        if not self.__sklearn_is_fitted__():
            raise SegmentError(
                "this segment family is not fitted: use mlops.fit_segments(...) or .fit(X, y)"
            )

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        if self.estimator is not None:
            from sklearn.utils import get_tags

            inner = get_tags(self.estimator)
            tags.estimator_type = inner.estimator_type  # is_regressor(family) is the model's
            tags.target_tags.required = inner.target_tags.required
        return tags

    # -- predicting -------------------------------------------------------------------------
    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Each row's prediction from its segment's model (the fallback for segments without
        one), in the input's order. Rows of segments never seen in training warn."""
        self._check_fitted()
        if not isinstance(X, pd.DataFrame):
            raise SegmentError(
                f"a segment family predicts from a pandas DataFrame holding the column "
                f"{self.by!r}, not {type(X).__name__}"
            )
        missing = [c for c in [self.by, *self.feature_names_in_] if c not in X.columns]
        if missing:
            shown = ", ".join(str(c) for c in dict.fromkeys(missing))
            raise SegmentError(f"X is missing column(s) the family needs: {shown}")
        features = X[list(self.feature_names_in_)]
        if len(X) == 0:
            classes = getattr(self.fallback_, "classes_", None)
            return np.empty(0, dtype=getattr(classes, "dtype", np.float64))
        known = pd.Index(self.segments_)
        codes = known.get_indexer(X[self.by])  # -1: a segment never seen, or no segment
        own = np.array([s in self.models_ for s in self.segments_] + [False], dtype=bool)
        route = np.where(own[codes], codes, -1)  # a code of -1 reads the appended False
        self._warn_unseen(X[self.by], codes)

        order = np.argsort(route, kind="stable")
        starts = np.flatnonzero(np.r_[True, np.diff(route[order]) != 0])
        ends = np.r_[starts[1:], len(order)]
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for start, end in zip(starts, ends, strict=True):
            rows = order[start:end]
            code = route[rows[0]]
            model = self.fallback_ if code < 0 else self.models_[self.segments_[code]]
            parts.append((rows, np.asarray(model.predict(features.iloc[rows]))))
        first = parts[0][1]
        dtype = np.result_type(*(p.dtype for _, p in parts))
        out = np.empty((len(X), *first.shape[1:]), dtype=dtype)
        for rows, predicted in parts:
            out[rows] = predicted
        return out

    def _warn_unseen(self, values: pd.Series, codes: np.ndarray) -> None:
        unseen = codes < 0
        count = int(unseen.sum())
        if not count:
            return
        labels = values[unseen].astype(object).where(values[unseen].notna(), "(no segment)")
        names = labels.value_counts().index.tolist()
        shown = ", ".join(repr(v) if v != "(no segment)" else v for v in names[:EXAMPLES])
        more = f" and {len(names) - EXAMPLES} more" if len(names) > EXAMPLES else ""
        rows = "1 row" if count == 1 else f"{count} rows"
        warnings.warn(
            f"{rows} of {self.by!r} segments the family never saw ({shown}{more}) "
            f"{'was' if count == 1 else 'were'} served by the fallback model",
            SegmentWarning,
            stacklevel=3,
        )

    # -- summaries --------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """One row per segment, the worst cross-validated score first (unscored last)."""
        self._check_fitted()
        rows = []
        for segment in self.segments_:
            if segment in self.models_:
                model, note = "own", ""
            elif segment in self.failed_segments_:
                model, note = "fallback", f"fit failed: {self.failed_segments_[segment]}"
            else:
                model, note = "fallback", f"fewer than {self.min_rows} rows"
            row = {
                self._label: segment,
                "rows": self.rows_[segment],
                "model": model,
                "cv_score": self.scores_.get(segment, math.nan),
                "cv_std": self.score_stds_.get(segment, math.nan),
                "fit_seconds": self.fit_seconds_.get(segment, math.nan),
                "note": note,
            }
            if self.run_ids_:
                row["run_id"] = self.run_ids_.get(segment)
            rows.append(row)
        frame = pd.DataFrame(rows)
        frame = frame.sort_values("cv_score", kind="stable", na_position="last")
        return frame.set_index(self._label)

    @property
    def _label(self) -> str:
        return str(self.by) if str(self.by) not in ("rows", "model", "cv_score") else "segment"

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready built-ins: settings, fallback and each segment (worst
        first), as logged to ``segments/summary.json``."""
        self._check_fitted()
        scored = [v for v in (self.scores_.get(s) for s in self.models_) if _finite(v)]
        frame = self.to_frame()
        segments = [
            {
                "segment": _plain(segment),
                "rows": int(row["rows"]),
                "model": row["model"],
                "cv_score": _number(row["cv_score"]),
                "cv_std": _number(row["cv_std"]),
                "fit_seconds": _number(row["fit_seconds"]),
                "note": row["note"] or None,
                "run_id": (self.run_ids_ or {}).get(segment),
            }
            for segment, row in zip(frame.index.tolist(), frame.to_dict("records"), strict=True)
        ]
        return {
            "by": _plain(self.by),
            "target": _plain(self.target_),
            "estimator": _describe(self.estimator),
            "features": [_plain(c) for c in self.feature_names_in_],
            "scoring": self.scoring_,
            "cv": self.cv if isinstance(self.cv, int) else repr(self.cv),
            "min_rows": self.min_rows,
            "rows": self.n_rows_,
            "rows_without_segment": self.rows_without_segment_,
            "n_segments": len(self.segments_),
            "n_models": len(self.models_),
            "n_fallback": len(self.segments_) - len(self.models_),
            "small_segments": [_plain(s) for s in self.small_segments_],
            "failed_segments": {str(_plain(s)): e for s, e in self.failed_segments_.items()},
            "worst_cv_score": min(scored) if scored else None,
            "median_cv_score": float(np.median(scored)) if scored else None,
            "fallback": {
                "rows": self.n_rows_,
                "cv_score": _number(self.fallback_score_),
                "cv_std": _number(self.fallback_score_std_),
            },
            "backend": self.backend_,
            "seconds": round(self.seconds_, 3),
            "parent_run_id": self.parent_run_id_,
            "segments": segments,
        }

    def describe(self) -> str:
        """One line: how many segments, models and fallbacks, and the score spread."""
        self._check_fitted()
        n, own = len(self.segments_), len(self.models_)
        scored = sorted(v for v in (self.scores_.get(s) for s in self.models_) if _finite(v))
        text = (
            f"{n} segment{'s' if n != 1 else ''} of {self.by!r}: {own} model"
            f"{'s' if own != 1 else ''} of their own ({_describe(self.estimator)}), "
            f"{n - own} served by the fallback"
        )
        if scored:
            text += (
                f"; cv {self.scoring_} worst {scored[0]:.4g}, median {np.median(scored):.4g}"
                f" (fallback {_fmt(self.fallback_score_)})"
            )
        return text

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        if not self.__sklearn_is_fitted__():
            return super().__repr__(N_CHAR_MAX)
        frame = self.to_frame().drop(columns=["run_id"], errors="ignore").head(TEXT_ROWS)
        more = len(self.segments_) - len(frame)
        tail = f"\n... and {more} more segments (.to_frame() has them all)" if more > 0 else ""
        return f"SegmentFamily: {self.describe()}\n{frame.to_string()}{tail}"

    def _repr_html_(self) -> str:
        """A plain table (jupyter-mlops's subclass renders the rich view)."""
        if not self.__sklearn_is_fitted__():
            return f"<pre>{html.escape(repr(self))}</pre>"
        return f"<p>{html.escape(self.describe())}</p>{self.to_frame().to_html()}"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        # scikit-learn's own bundle (its estimator diagram) would win over _repr_html_
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _number(value: Any) -> float | None:
    return float(value) if _finite(value) else None


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if _finite(value) else "not scored"


def _plain(value: Any) -> Any:
    """A segment value (or column name) as a JSON scalar."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


def _describe(estimator: Any) -> str:
    text = " ".join(repr(estimator).split())
    return text if len(text) <= 120 else type(estimator).__name__

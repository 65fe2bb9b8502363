"""Model diagnostics for a binary classification target, as a statistician runs them on a
logistic regression of the target on the numeric features: separation, linearity of the logit
(Box-Tidwell), influential rows (Cook's distance), and calibration (Hosmer-Lemeshow, Brier with
Spiegelhalter's z) of the logistic fit's probabilities, or of ``model.predict_proba``'s.

The tests with a p-value (linearity and the two calibration tests) share one alpha
(Bonferroni); separation and influence are judged by rules, not tests. Each test needs an
effect large enough to matter besides a small p-value. Frames over 10,000 rows use a stated,
seeded random sample. A multiclass target is skipped with the reason: the checks apply to
two classes, and one class against the rest is a binary target the user can make.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from .calibration import calibration_checks
from .logit_checks import logit_checks
from .verdicts import SEED, Check, CheckError

CLASSIFIER_SAMPLE = 10_000  # rows for the logistic fit and the model's probabilities
CLASSIFIER_CHECKS = ("separation", "logit_linearity", "logit_influence")
CALIBRATION_CHECKS = ("calibration", "brier_score")
MAX_LOGIT_FEATURES = 200  # a logistic fit on more numeric features is not what these read


def run(
    data: pd.DataFrame,
    target: str,
    numeric: list[str],
    features: list[str],
    model: Any,
    alpha: float,
) -> tuple[list[Check], list[dict[str, str]], dict[str, Any]]:
    """The classifier checks that apply, the ones skipped and why, and what the report says of
    the fit. ``numeric`` are the logistic fit's regressors; ``features`` what the model reads."""
    every = (*CLASSIFIER_CHECKS, *CALIBRATION_CHECKS)
    classes = _classes(data[target])
    proba = _has_proba(model)
    if len(classes) != 2:
        reason = (
            f"apply to a binary target; {target!r} has {len(classes)} classes (check one class "
            "against the rest with a binary target, e.g. df[target] == 'a')"
        )
        if not proba or len(classes) < 2:
            return [], [{"id": cid, "reason": reason} for cid in every], {}
        checks, info = _one_vs_rest(data, target, features, model, classes, alpha)
        skipped = [{"id": cid, "reason": reason} for cid in CLASSIFIER_CHECKS]
        return checks, skipped + info.pop("skipped", []), info
    columns = numeric if len(numeric) <= MAX_LOGIT_FEATURES else []
    rows = _complete_rows(data, target, columns, features if proba else [])
    needed = max(20, len(columns) + 5)
    if len(rows) < needed:
        reason = (
            f"only {len(rows)} complete rows; the logistic diagnostics need at least {needed}"
            + (f" ({len(columns)} numeric features + 5)" if needed > 20 else "")
        )
        return [], [{"id": cid, "reason": reason} for cid in every], {}
    chosen, sampled = _sample(rows)
    y = (data[target].to_numpy()[chosen] == classes[1]).astype(float)
    if y.min() == y.max():
        reason = "the complete rows hold one class only"
        return [], [{"id": cid, "reason": reason} for cid in every], {}
    tests = (1 if columns else 0) + (2 if (proba or columns) else 0)
    alpha_each = alpha / max(tests, 1)
    info: dict[str, Any] = {
        "classifier_rows": len(chosen),
        "classifier_sample": bool(sampled),
        "classifier_seed": SEED,
        "classifier_alpha": alpha_each,
        "positive_class": str(classes[1]),
        "calibration_from": "model" if proba else ("logit" if columns else None),
    }
    checks: list[Check] = []
    skipped: list[dict[str, str]] = []
    fitted = None
    if columns:
        logit, fitted, not_run, detail = logit_checks(data, columns, y, chosen, alpha_each)
        checks += logit
        skipped += not_run
        info.update(detail)
    else:
        why = (
            "no numeric features for a logistic fit"
            if not numeric
            else f"{len(numeric)} numeric features; a logistic fit here reads at most "
            f"{MAX_LOGIT_FEATURES}"
        )
        skipped += [{"id": cid, "reason": why} for cid in CLASSIFIER_CHECKS]
    p = _model_proba(model, data.iloc[chosen][features], classes)[:, 1] if proba else fitted
    if p is None:
        why = "no probabilities: pass model= with predict_proba, or numeric features to fit"
        if columns:
            why = (
                "the logistic fit does not exist (the classes are separated)"
                if info.get("logit_fit") == "separated"
                else "the logistic fit did not converge"
            ) + "; pass model= to check a model's probabilities"
        skipped += [{"id": cid, "reason": why} for cid in CALIBRATION_CHECKS]
        info["calibration_from"] = None
    else:
        more, table = calibration_checks(p, y, alpha_each, "model" if proba else "logit")
        checks += more
        info["reliability"] = table
    if model is not None and not proba:
        skipped.append(
            {"id": "model_calibration", "reason": "the model has no predict_proba to calibrate"}
        )
    return checks, skipped, info


def _classes(y: pd.Series) -> list[Any]:
    """The target's distinct values in a stable order; the second is the event modelled."""
    values = pd.unique(y.dropna())
    try:
        return sorted(values.tolist())
    except TypeError:  # mixed types: sort by their text
        return sorted(values.tolist(), key=str)


def _has_proba(model: Any) -> bool:
    return model is not None and callable(getattr(model, "predict_proba", None))


def _complete_rows(
    data: pd.DataFrame, target: str, numeric: list[str], features: list[str]
) -> np.ndarray:
    """Positions of the rows with a target, finite numeric features, and every model feature."""
    complete = data[target].notna().to_numpy().copy()
    if numeric:
        values = data[numeric].to_numpy(dtype=float, na_value=np.nan)
        complete &= np.isfinite(values).all(axis=1)
    if features:
        complete &= data[features].notna().all(axis=1).to_numpy()
    return np.flatnonzero(complete)


def _sample(rows: np.ndarray) -> tuple[np.ndarray, bool]:
    rng = np.random.default_rng(SEED)
    if len(rows) > CLASSIFIER_SAMPLE:
        return np.sort(rng.choice(rows, CLASSIFIER_SAMPLE, replace=False)), True
    return rows, False


def _model_proba(model: Any, x: pd.DataFrame, classes: list[Any]) -> np.ndarray:
    """The model's probabilities, a column per class of the target in ``classes``' order (the
    model's ``classes_`` say which column is which)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proba = np.asarray(model.predict_proba(x), dtype=float)
    except Exception as exc:  # the user's model: any failure is theirs to read
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise CheckError(f"model.predict_proba on the features failed: {text}") from None
    if proba.ndim == 1 and len(classes) == 2:
        proba = np.column_stack([1 - proba, proba])
    known = list(getattr(model, "classes_", []))
    if known:
        columns = [_position(known, c) for c in classes]
        missing = [str(c) for c, j in zip(classes, columns, strict=True) if j is None]
        if missing or len(known) != proba.shape[1]:
            raise CheckError(
                f"the model's classes ({', '.join(map(str, known))}) do not include the "
                f"target's class {(missing or [str(classes[0])])[0]!r}; pass the model fitted "
                "on this target"
            )
        proba = proba[:, columns]
    elif proba.ndim != 2 or proba.shape[1] != len(classes):
        raise CheckError(
            f"model.predict_proba gave {proba.shape[-1]} columns for {len(classes)} classes"
        )
    if not np.all(np.isfinite(proba)) or proba.min() < 0 or proba.max() > 1:
        raise CheckError("model.predict_proba gave values that are not probabilities in [0, 1]")
    return proba


def _position(known: list[Any], label: Any) -> int | None:
    """Where ``label`` is among the model's classes: equal values (1 and 1.0 are one class),
    else equal text."""
    for j, value in enumerate(known):
        try:
            if bool(value == label):
                return j
        except (TypeError, ValueError):
            pass
    text = [str(value) for value in known]
    return text.index(str(label)) if str(label) in text else None


def _one_vs_rest(
    data: pd.DataFrame,
    target: str,
    features: list[str],
    model: Any,
    classes: list[Any],
    alpha: float,
) -> tuple[list[Check], dict[str, Any]]:
    """A multiclass model's calibration, each class against the rest: the two tests per class
    share alpha (Bonferroni over 2k tests); the report shows the worst class of each."""
    rows = _complete_rows(data, target, [], features)
    if len(rows) < 20:
        reason = f"only {len(rows)} complete rows; calibration needs at least 20"
        return [], {"skipped": [{"id": cid, "reason": reason} for cid in CALIBRATION_CHECKS]}
    chosen, sampled = _sample(rows)
    proba = _model_proba(model, data.iloc[chosen][features], classes)
    labels = data[target].to_numpy()[chosen]
    alpha_each = alpha / (2 * len(classes))
    worst: dict[str, tuple[Check, Any, list[dict[str, float]]]] = {}
    for j, label in enumerate(classes):
        y = (labels == label).astype(float)
        if y.min() == y.max():
            continue
        found, table = calibration_checks(proba[:, j], y, alpha_each, "model")
        for check in found:
            check.message = f"Class {label} against the rest: {check.message}"
            held = worst.get(check.id)
            if held is None or _severity(check) > _severity(held[0]):
                worst[check.id] = (check, label, table)
    info: dict[str, Any] = {
        "classifier_rows": len(chosen),
        "classifier_sample": bool(sampled),
        "classifier_seed": SEED,
        "classifier_alpha": alpha_each,
        "positive_class": f"each of {len(classes)} classes against the rest",
        "calibration_from": "model",
    }
    if "calibration" in worst:
        _, label, table = worst["calibration"]
        info["reliability"] = table
        info["reliability_class"] = str(label)
    return [worst[cid][0] for cid in CALIBRATION_CHECKS if cid in worst], info


def _severity(check: Check) -> tuple[int, float]:
    """Verdict first, then effect: how a class's calibration compares with another's."""
    effect = check.effect.get("mean_abs_gap", check.effect.get("relative_excess")) or 0.0
    return {"pass": 0, "warn": 1, "fail": 2}[check.verdict], abs(float(effect))

"""Promotion: the notebook's model as a packaged, verified, registered MLflow model.

The usual way a notebook model dies: it was pickled against classes and functions that live in
``__main__``, nobody loaded it anywhere else, and nothing says what data it expects. Here the
model's notebook code is captured as a module (``capture``), its training data becomes a
contract checked before every predict (``runtime.contract``), and the packaged model is loaded in
a fresh Python process, in another folder, with no notebook, and must predict exactly what the
notebook predicts before anything is written to the registry.

The steps, each a module: check the arguments (here), ``package`` the artifact folder (its code,
contract, loader and requirements: ``requirements``), ``verify`` it in a fresh process,
``register`` it (logged model, version, tags, alias). The registered version's
``mlops.artifact.sha256`` tag records every file's sha256 (``digests``), which
``mlops.load_model`` checks before anything of the artifact is imported.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import store
from ..autolog import without_autolog
from .guard import check_force, guard_alias, run_tags_now
from .package import Package, build
from .promotion import EXAMPLE_ROWS, PromoteError, Promotion, is_family, is_sklearn, native
from .register import register
from .verify import verify

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# the names sweep and reproduce read these tags by (tags.py spells them)


@without_autolog
def promote(
    model: Any,
    name: str,
    X: Any = None,
    y: Any = None,
    alias: str | None = None,
    description: str | None = None,
    *,
    on_violation: str = "warn",
    reference: bool = True,
    force: bool = False,
    reason: str | None = None,
    user_ns: dict | None = None,
) -> Promotion:
    """Package ``model`` with its notebook code and data contract, prove it loads and predicts
    the same in a fresh process, then log and register it (and set ``alias``).

    Uses the active run (a short ``promote <name>`` run otherwise), so the model card can
    name the data versions, metrics and checks that run recorded. Nothing is registered when
    capturing the code or the fresh-process check fails.

    With ``X``, a training reference (a profile of ``X`` and a seeded sample of at most 10,000
    of its rows) is kept in the artifact for ``monitor``; ``reference=False`` keeps none, for
    training rows that must not be copied into the registry.

    An alias named in ``protected_aliases`` (default ``champion`` and ``production``) is
    refused for a run whose checks failed, unless ``force=True`` with a ``reason``; every alias
    move is recorded in the alias history (``mlops.alias_history``) with ``reason``.
    """
    from .. import tracking

    started = time.perf_counter()
    _check_arguments(model, name, alias, X, y)
    check_force(force, reason)
    if on_violation not in ("warn", "raise"):
        raise PromoteError(f"on_violation must be 'warn' or 'raise', not {on_violation!r}")
    input_kind = "frame"
    if X is not None:
        X, input_kind = _as_frame(X)
    _preflight(model, X, input_kind)
    user_ns = user_ns if user_ns is not None else tracking.session.user_ns

    run = tracking.active_run()
    own_run = run is None
    if own_run:
        run = tracking.start_run(run_name=f"promote {name}", autolog=False)
    try:
        result = _promote_on(
            run,
            model,
            name,
            X,
            y,
            alias,
            description,
            input_kind,
            on_violation,
            user_ns,
            reference,
            (force, reason),
        )
    except BaseException as exc:
        if own_run:
            status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
            tracking.end_run(status, run=run, error=exc)
        raise
    if own_run:
        tracking.end_run("FINISHED", run=run)
    result.seconds = time.perf_counter() - started
    return result


def _promote_on(
    run: Any,
    model: Any,
    name: str,
    X: Any,
    y: Any,
    alias: str | None,
    description: str | None,
    input_kind: str,
    on_violation: str,
    user_ns: dict | None,
    keep_reference: bool = True,
    override: tuple[bool, str | None] = (False, None),
) -> Promotion:
    """Package, verify, register: nothing reaches the store before the fresh process agrees."""
    from .. import tracking

    held = None
    if alias and tracking.aliases_held():
        held, alias = alias, None  # register only: the card and the run tag name no alias
    force, reason = override
    forced = False
    if alias and alias in run.settings.protected_aliases:  # before anything is built
        forced = guard_alias(
            run.settings, alias, run.run_id, run_tags_now(run.client, run.run_id), force
        )
    with tempfile.TemporaryDirectory(prefix="mlops-promote-") as tmp:
        work = Path(tmp)
        folder = work / "model"
        package = _package(
            folder,
            model,
            name,
            X,
            input_kind,
            on_violation,
            user_ns,
            run.settings.root,
            keep_reference,
        )
        verification = verify(folder, model, X, input_kind, work)
        # verified: now write to the store, the card naming the version it is about to get
        tracking.flush()  # also creates the child run that recorded the model's fit
        promotion = register(
            folder,
            run,
            model,
            name=name,
            alias=alias,
            held=held,
            description=description,
            X=X,
            y=y,
            package=package,
            verification=verification,
            reason=reason,
            forced=forced,
        )
        promotion.held_by = tracking.alias_holder() if held else None
        return promotion


def _package(
    folder: Path,
    model: Any,
    name: str,
    X: Any,
    input_kind: str,
    on_violation: str,
    user_ns: dict | None,
    root: Path,
    keep_reference: bool = True,
) -> Package:
    """``package.build``, its failures as one ``PromoteError`` line each."""
    from mlflow.exceptions import MlflowException

    from .capture import CaptureError

    try:
        with store.quiet_logs("mlflow"):
            return build(
                folder,
                model=model,
                name=name,
                X=X,
                input_kind=input_kind,
                on_violation=on_violation,
                user_ns=user_ns,
                root=root,
                keep_reference=keep_reference,
            )
    except CaptureError as exc:
        raise PromoteError(f"not registered: {exc}") from None
    except MlflowException as exc:  # MLflow refused to save it (a signature, say)
        first = (str(exc.message).strip().splitlines() or [""])[0][:300]
        raise PromoteError(f"not registered: MLflow could not save it: {first}") from None


# -- checks on the arguments ------------------------------------------------------------------
def _check_arguments(model: Any, name: str, alias: str | None, X: Any, y: Any) -> None:
    if not isinstance(name, str) or not NAME.match(name):
        raise PromoteError(
            f"invalid model name {name!r}: use letters, digits, '_', '-' or '.' (at most 128), "
            "starting with a letter or digit"
        )
    if alias is not None:
        from .models import check_alias

        check_alias(alias)  # the same rules (and words) as setting an alias from the panel
    if not callable(getattr(model, "predict", None)):
        raise PromoteError(f"{type(model).__name__} has no predict method: promote a fitted model")
    if is_family(model) and X is not None:
        columns = getattr(X, "columns", None)
        if columns is None or model.by not in columns:
            raise PromoteError(
                f"X must be a DataFrame holding the column {model.by!r}: a segment family "
                "routes rows by it"
            )
    if X is not None:
        import pandas as pd

        if not isinstance(X, pd.DataFrame) and getattr(X, "ndim", None) != 2:
            raise PromoteError(
                f"X must be a DataFrame or a 2-d array of training features, not {type(X).__name__}"
            )
        if len(X) == 0:
            raise PromoteError("X has no rows: pass the training features")
        if y is not None and len(y) != len(X):
            raise PromoteError(f"y has {len(y)} values but X has {len(X)} rows")


def _preflight(model: Any, X: Any, input_kind: str) -> None:
    """Refuse, in one line and before any run exists, a model that cannot be what it claims:
    unfitted, or fitted on other columns than ``X`` holds."""
    if is_sklearn(model):
        from sklearn.exceptions import NotFittedError
        from sklearn.utils.validation import check_is_fitted

        try:
            check_is_fitted(model)
        except NotFittedError:
            raise PromoteError(
                f"{type(model).__name__} is not fitted: call its fit method before promoting it"
            ) from None
        except TypeError:  # not an estimator after all: the predict below tells
            pass
    if X is None:
        return
    fitted_on = getattr(model, "feature_names_in_", None)
    if fitted_on is not None and not is_family(model):
        expected = [str(c) for c in fitted_on]
        given = [str(c) for c in X.columns]
        missing = [c for c in expected if c not in given]
        unexpected = [c for c in given if c not in expected]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing {_names(missing)}")
            if unexpected:
                parts.append(f"not fitted on {_names(unexpected)}")
            raise PromoteError(
                f"X does not hold the columns the model was fitted on: {'; '.join(parts)}"
            )
    n_features = getattr(model, "n_features_in_", None)
    if fitted_on is None and isinstance(n_features, int) and X.shape[1] != n_features:
        raise PromoteError(f"X has {X.shape[1]} columns but the model was fitted on {n_features}")
    try:
        model.predict(native(X.head(EXAMPLE_ROWS), input_kind))
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        raise PromoteError(
            f"the model cannot predict on X ({type(exc).__name__}: {first}): pass the "
            "features it was fitted on"
        ) from None


def _names(columns: list[str], shown: int = 5) -> str:
    text = ", ".join(repr(c) for c in columns[:shown])
    return text + (f" and {len(columns) - shown} more" if len(columns) > shown else "")


def _as_frame(X: Any) -> tuple[Any, str]:
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        return X, "frame"
    return pd.DataFrame(X), "array"


__all__ = ["PromoteError", "Promotion", "promote"]

"""jupyter-mlops: track, version, check and promote models without leaving the notebook.

``import jupyter_mlops`` and ``%load_ext jupyter_mlops`` stay light: MLflow, pandas and
scikit-learn are imported only when a feature that needs them is first used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# mlops.data.add(...), mlops.data.status()
_MODULES = {"data": "jupyter_mlops.core.data.operations"}
_LAZY = {
    # read from the installed metadata on first use (written once, in labextension/package.json)
    "__version__": "jupyter_mlops._version",
    "track": "jupyter_mlops.core.tracking",
    "start_run": "jupyter_mlops.core.tracking",
    "end_run": "jupyter_mlops.core.tracking",
    "active_run": "jupyter_mlops.core.tracking",
    "log": "jupyter_mlops.core.tracking",
    "flush": "jupyter_mlops.core.tracking",
    "runs": "jupyter_mlops.core.runs",
    "status": "jupyter_mlops.core.runs",
    "run_notebook": "jupyter_mlops.core.batch.runner",
    "sweep": "jupyter_mlops.core.batch.sweep",
    "fit_segments": "jupyter_mlops.core.batch.segments",
    "reproduce": "jupyter_mlops.core.batch.reproduce",
    "eda": "jupyter_mlops.core.stats.eda",
    "check": "jupyter_mlops.core.stats.checks",
    "drift": "jupyter_mlops.core.stats.drift",
    "explain": "jupyter_mlops.core.stats.explain",
    "promote": "jupyter_mlops.core.registry.promote",
    "models": "jupyter_mlops.core.registry.models",
    "set_alias": "jupyter_mlops.core.registry.models",
    "alias_history": "jupyter_mlops.core.registry.alias_history",
    "alias_at": "jupyter_mlops.core.registry.alias_history",
    "load_model": "jupyter_mlops.core.registry.load",
    "monitor": "jupyter_mlops.core.production.monitor",
    "score": "jupyter_mlops.core.production.score",
    "retrain": "jupyter_mlops.core.production.retrain",
    "gate": "jupyter_mlops.core.production.gate",
    "ArtifactDigestError": "jupyter_mlops.core.registry.digests",
    "UnverifiedModelWarning": "jupyter_mlops.core.registry.load",
    "resolve_settings": "jupyter_mlops.config",
    "MlopsError": "jupyter_mlops.errors",
    "NoActiveRunError": "jupyter_mlops.errors",
}

__all__ = sorted(
    [
        *(n for n in _LAZY if n != "__version__"),
        *_MODULES,
        "load_ipython_extension",
        "unload_ipython_extension",
    ]
)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Where Jupyter finds the server extension (the REST API under ``mlops/api/``)."""
    return [{"module": "jupyter_mlops.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the side panel's built assets (``labextension/`` built into the
    package), e.g. for ``jupyter labextension develop``."""
    return [{"src": "labextension", "dest": "jupyter-mlops"}]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = import_module(_MODULES[name])
    elif name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'jupyter_mlops' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_mlops``: register ``%mlops`` and the cell hooks."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)

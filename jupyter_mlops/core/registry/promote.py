"""Promotion: the notebook's model as a packaged, verified, registered MLflow model.

The usual way a notebook model dies: it was pickled against classes and functions that live in
``__main__``, nobody loaded it anywhere else, and nothing says what data it expects. Here the
model's notebook code is captured as a module (``capture.py``), its training data becomes a
contract checked before every predict (``contract.py``), and the packaged model is loaded in a
fresh Python process, in another folder, with no notebook, and must predict exactly what the
notebook predicts before anything is written to the registry.

Layout of the artifact (an MLflow model; pyfunc always, the sklearn flavour too when it is one)::

    MLmodel  MODEL_CARD.md  contract.json  requirements.txt  python_env.yaml  conda.yaml
    input_example.json  serving_input_example.json
    code/<notebook module>.py  code/mlops_loader_<hash>.py  code/mlops_contract_<hash>.py
    code/mlops_segments_<hash>.py (a segment family's class)
    model/model.pkl  model/settings.json
    mlops_sha256.json (only when the files' digests are too many for a tag: see ``digests``)

The registered version's ``mlops.artifact.sha256`` tag records every file's sha256, which
``mlops.load_model`` checks before anything of the artifact is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import MlopsError
from .. import store
from ..autolog import without_autolog
from . import digests

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
SAMPLE_ROWS = 500  # rows compared between the notebook and the fresh process
EXAMPLE_ROWS = 5
VERIFY_TIMEOUT = 300.0
ALWAYS_REQUIRED = ("mlflow", "pandas", "numpy")
# the verification process starts from a clean slate: only what finding Python and a home needs
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT")
KEPT_ENV_PREFIXES = ("MLFLOW_ALLOW_PICKLE",)
HELD_ALIAS_TAG = "mlops.alias.held"  # on a version registered where aliases are held
PROMOTED_TAG = "mlops.promoted."  # + the model's name, on the run: VERSION or VERSION@ALIAS

VERIFY_SCRIPT = textwrap.dedent(
    """
    import pickle, sys, warnings
    path, sample, out = sys.argv[1:4]
    import pandas as pd
    import mlflow.pyfunc
    X = pd.read_pickle(sample)
    model = mlflow.pyfunc.load_model(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predictions = model.predict(X)
    seen = [str(w.message) for w in caught if w.category.__name__ == "ContractWarning"]
    with open(out, "wb") as f:
        pickle.dump({"predictions": predictions, "warnings": seen}, f)
    """
)


class PromoteError(MlopsError):
    """The model was not registered; the message says why and what to do."""


@dataclass(repr=False)
class Promotion:
    """A registered, verified model version. Attribute access falls through to MLflow's
    ``ModelVersion`` (``.version``, ``.run_id``, ``.source`` ...)."""

    name: str
    version: str
    alias: str | None
    model_id: str
    run_id: str
    model_version: Any
    verification: dict[str, Any] = field(default_factory=dict)
    requirements: list[str] = field(default_factory=list)
    code_files: list[str] = field(default_factory=list)
    seconds: float = 0.0
    candidate_run_id: str | None = None  # the child run that recorded this model's fit
    held_alias: str | None = None  # asked for, but not moved (a sweep point or a reproduction)

    @property
    def held_note(self) -> str | None:
        """One line saying the alias asked for was not moved, and how to move it; else None."""
        if not self.held_alias:
            return None
        return (
            f"alias {self.held_alias!r} not moved: promotions inside a sweep point or a "
            "reproduction only register (use `jupyter mlops sweep --best METRIC --alias "
            f"{self.held_alias}`)"
        )

    @property
    def uri(self) -> str:
        """``models:/NAME@ALIAS`` when an alias was set, else ``models:/NAME/VERSION``."""
        if self.alias:
            return f"models:/{self.name}@{self.alias}"
        return f"models:/{self.name}/{self.version}"

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_") or key == "model_version":
            raise AttributeError(key)
        return getattr(self.model_version, key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "alias": self.alias,
            "held_alias": self.held_alias,
            "uri": self.uri,
            "model_id": self.model_id,
            "run_id": self.run_id,
            "verification": self.verification,
            "requirements": self.requirements,
            "code_files": self.code_files,
            "seconds": round(self.seconds, 3),
            "candidate_run_id": self.candidate_run_id,
        }

    def summary(self) -> str:
        v = self.verification
        checked = (
            f"{v['rows']} rows predicted identically in a fresh process"
            if v.get("rows")
            else "loaded in a fresh process (no X given: predictions not compared)"
        )
        text = f"{self.uri} (version {self.version}): {checked}"
        return f"{text}\n{self.held_note}" if self.held_note else text

    def __repr__(self) -> str:
        return f"Registered {self.summary()}"

    def _repr_html_(self) -> str:
        from ...display.promote import promotion_html

        return promotion_html(self)


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
    if _is_family(model) and X is not None:
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
    if _is_sklearn(model):
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
    if fitted_on is not None and not _is_family(model):
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
        model.predict(_native(X.head(EXAMPLE_ROWS), input_kind))
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


# -- what the model needs -----------------------------------------------------------------------
class _Discard:
    def write(self, data: bytes) -> int:
        return len(data)


class _ModuleFinder(pickle.Pickler):
    """Pickle's own traversal, noting the module of every class and function it refers to."""

    def __init__(self) -> None:
        super().__init__(_Discard(), protocol=5)
        self.modules: set[str] = set()

    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, type | types.FunctionType | types.BuiltinFunctionType):
            module = getattr(obj, "__module__", None)
        else:
            module = type(obj).__module__
        if isinstance(module, str):
            self.modules.add(module)
        return NotImplemented


def _modules_of(model: Any, source: str) -> set[str]:
    import ast

    finder = _ModuleFinder()
    # the capture step reports an unpicklable model with a better message
    with contextlib.suppress(Exception):
        finder.dump(model)
    modules = set(finder.modules)
    if source:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
    return {m.split(".")[0] for m in modules}


def _top_level_names(dist: importlib.metadata.Distribution) -> set[str]:
    """The importable top-level names a distribution provides, from its own records.

    ``top_level.txt`` alone is not enough: setuptools writes it, but meson-python (numpy,
    scikit-learn, pandas, scipy), scikit-build-core, flit and hatchling do not, and Python
    3.10's ``packages_distributions()`` reads nothing else, so there numpy maps to no
    distribution. Every installer writes RECORD (``dist.files``): a file that is a module
    (``.py``, ``.pyc``, an extension) at the top, or anywhere below a top-level folder, names it.
    """
    import inspect

    names = set((dist.read_text("top_level.txt") or "").split())
    for file in dist.files or ():
        parts = file.parts
        if not parts or parts[0] in names or parts[0] == "__pycache__":
            continue
        module = inspect.getmodulename(parts[-1])
        if module is None:
            continue  # data, metadata, scripts, .pth files: nothing one imports
        top = parts[0] if len(parts) > 1 else module
        if top.isidentifier():
            names.add(top)
    return names


# (sys.path with its folders' mtimes, top-level module -> distribution names); see below
_distributions_cache: tuple[tuple[tuple[str, int], ...], dict[str, list[str]]] | None = None


def _module_distributions() -> dict[str, list[str]]:
    """Top-level module name -> the installed distributions that provide it, on any Python.

    Reading every distribution's RECORD takes a noticeable fraction of a second, so the map is
    kept for the process; installing or removing a distribution (``%pip install`` between two
    promotions) changes the mtime of the folder it lands in, which rebuilds the map.
    """
    global _distributions_cache
    key: list[tuple[str, int]] = []
    for entry in sys.path:
        with contextlib.suppress(OSError):
            key.append((entry, os.stat(entry or ".").st_mtime_ns))
    fingerprint = tuple(key)
    if _distributions_cache is not None and _distributions_cache[0] == fingerprint:
        return _distributions_cache[1]
    found: dict[str, list[str]] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue  # a broken dist-info folder, left by an interrupted uninstall
        for top in _top_level_names(dist):
            if name not in found.setdefault(top, []):
                found[top].append(name)
    _distributions_cache = (fingerprint, found)
    return found


def _requirements_and_local_code(
    tops: set[str], root: Path, skip: set[str]
) -> tuple[list[str], list[Path]]:
    """Pinned requirements for installed packages; files for modules that live in the project.

    A module next to the notebook (``from helpers import Cleaner``) is neither installed nor in
    the notebook: it travels in ``code/`` like the captured cells. Anything else that is not an
    installed distribution cannot be reproduced elsewhere, so promotion refuses it.
    """
    from .capture import is_notebook_module

    dists = _module_distributions()
    pins: dict[str, str] = {}
    local: list[Path] = []
    for top in sorted(tops | set(ALWAYS_REQUIRED)):
        if top in skip or top in sys.stdlib_module_names or top == "builtins":
            continue
        if is_notebook_module(top) or top.startswith("__"):
            continue
        names = dists.get(top)
        if names and len(names) > 1:  # mlflow's module ships in mlflow, mlflow-skinny, ...
            own = [d for d in names if re.sub(r"[-_.]+", "_", d).lower() == top.lower()]
            names = own or names
        if names:
            for dist in names:
                key = re.sub(r"[-_.]+", "-", dist).lower()
                try:
                    pins[key] = f"{dist}=={importlib.metadata.version(dist)}"
                except importlib.metadata.PackageNotFoundError:
                    continue
            continue
        module = sys.modules.get(top)
        file = getattr(module, "__file__", None)
        if module is None or not file:
            continue  # built into the interpreter, or never imported: nothing to ship
        path = Path(file).resolve()
        if hasattr(module, "__path__"):
            path = path.parent
        if root.resolve() in path.parents and "site-packages" not in path.parts:
            local.append(path)
            continue
        raise PromoteError(
            f"the model needs module {top!r} ({path}), which is neither an installed package "
            "nor in the project: install it, or define that code in the notebook"
        )
    return sorted(pins.values(), key=str.lower), local


# -- building the artifact ----------------------------------------------------------------------
def _digest(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()[:10]


def _module_slug(name: str) -> str:
    slug = re.sub(r"\W+", "_", name).strip("_").lower()
    return slug or "model"


def _copy_code(path: Path, folder: Path) -> str:
    target = folder / path.name
    if path.is_dir():
        shutil.copytree(path, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        shutil.copy2(path, target)
    return path.name


def _build(
    folder: Path,
    *,
    model: Any,
    name: str,
    X: Any,
    input_kind: str,
    on_violation: str,
    user_ns: dict | None,
    root: Path,
) -> dict[str, Any]:
    """Write the MLflow model into ``folder``; return what the card and the tags need."""
    import mlflow.pyfunc
    from mlflow.models import Model, ModelSignature, infer_signature
    from mlflow.types.schema import ParamSchema, ParamSpec

    from ...runtime.contract import Contract
    from . import capture

    staging = folder.parent / "staging"
    code, data = staging / "code", staging / "model"
    code.mkdir(parents=True)
    data.mkdir()
    code_files: list[str] = []
    shipped: list[str] = []
    with contextlib.ExitStack() as stack:
        packaged = model
        if _is_family(model):  # pickled against a copy of its class shipped in code/
            packaged, family_module = stack.enter_context(_shipped_family(model, code))
            shipped.append(family_module)
        objs = capture.find_notebook_objects(packaged)
        source = capture.recover_source(objs, user_ns=user_ns) if objs else ""
        module_name = f"notebook_{_module_slug(name)}_{_digest(source)}"
        source, pickled = capture.package(packaged, module_name, user_ns=user_ns)
        tops = _modules_of(packaged, source)
    if source:
        (code / f"{module_name}.py").write_text(source, encoding="utf-8")
        code_files.append(f"{module_name}.py")
    requirements, local = _requirements_and_local_code(tops, root, skip={module_name, *shipped})
    code_files += [_copy_code(path, code) for path in local]

    contract_text = Path(sys.modules[Contract.__module__].__file__).read_text(encoding="utf-8")
    contract_module = f"mlops_contract_{_digest(contract_text)}"
    (code / f"{contract_module}.py").write_text(contract_text, encoding="utf-8")
    from ...runtime import loader as packaged_loader

    loader_text = Path(packaged_loader.__file__).read_text(encoding="utf-8")
    loader_module = f"mlops_loader_{_digest(loader_text)}"
    (code / f"{loader_module}.py").write_text(loader_text, encoding="utf-8")
    code_files += [f"{contract_module}.py", f"{loader_module}.py"]

    (data / packaged_loader.MODEL_FILE).write_bytes(pickled)
    settings = {
        "input": input_kind,
        "on_violation": on_violation,
        "module": module_name,
        "contract": X is not None,
    }
    written = {**settings, packaged_loader.CONTRACT_MODULE_SETTING: contract_module}
    (data / packaged_loader.SETTINGS_FILE).write_text(json.dumps(written), encoding="utf-8")

    params = ParamSchema(
        [
            ParamSpec("on_violation", "string", on_violation),
            ParamSpec("method", "string", "predict"),
        ]
    )
    contract = signature = example = None
    if X is not None:
        contract = Contract.learn(X, segment_column=model.by if _is_family(model) else None)
        sample = _native(X.head(min(len(X), 1000)), input_kind)
        inferred = infer_signature(sample, model.predict(sample))
        signature = ModelSignature(_input_schema(inferred.inputs, X), inferred.outputs, params)
        example = _native(X.head(EXAMPLE_ROWS), input_kind)
    else:
        signature = ModelSignature(inputs=None, outputs=None, params=params)

    mlflow_model = Model(metadata={"jupyter_mlops": {"version": _own_version(), **settings}})
    if _is_sklearn(model):
        import sklearn

        mlflow_model.add_flavor(
            "sklearn",
            pickled_model=f"data/model/{packaged_loader.MODEL_FILE}",
            sklearn_version=sklearn.__version__,
            serialization_format="pickle",
            code="code",
        )
    mlflow.pyfunc.save_model(
        str(folder),
        loader_module=loader_module,
        data_path=str(data),
        code_paths=[str(p) for p in sorted(code.iterdir())],
        mlflow_model=mlflow_model,
        signature=signature,
        input_example=example,
        pip_requirements=requirements,
    )
    shutil.rmtree(staging)
    for pycache in folder.rglob("__pycache__"):
        shutil.rmtree(pycache, ignore_errors=True)
    if contract is not None:
        contract.save(folder / packaged_loader.CONTRACT_FILE)
    return {
        "module": module_name,
        "code_files": code_files,
        "requirements": requirements,
        "contract": contract,
    }


def _input_schema(schema: Any, X: Any) -> Any:
    """The inferred input schema, as MLflow should enforce it before the contract does.

    Every column is optional, so that a missing column reaches the contract, whose error names
    it in one line (MLflow's repeats the whole input). A column whose values MLflow's enforcement
    cannot take is declared ``Any`` and left to the contract, which checks it and casts it back
    to its training dtype (see ``_enforceable``).
    """
    from mlflow.types.schema import AnyType, ColSpec, DataType, Schema

    if schema is None or not schema.has_input_names() or schema.is_tensor_spec():
        return schema
    specs = []
    for spec in schema.inputs:
        kind = spec.type
        if isinstance(kind, DataType) and spec.name in X.columns:
            kind = kind if _enforceable(X[spec.name], kind) else AnyType()
        specs.append(ColSpec(kind, spec.name, required=False))
    return Schema(specs)


def _enforceable(column: Any, kind: Any) -> bool:
    """Whether MLflow's schema enforcement takes ``column``'s values as ``kind`` now and later.

    Not a pandas Categorical (MLflow has no categorical type: it infers strings, then refuses
    the categorical dtype), nor a nullable integer or boolean (``Int64``, ``boolean``: MLflow's
    long and boolean refuse the missing values such a column is declared to hold, as ``<NA>``
    and as the floats a JSON client sends); nor any other column whose training values its
    enforcement refuses (a timezone-aware datetime, say).
    """
    import pandas as pd
    from mlflow.exceptions import MlflowException
    from mlflow.models import validate_schema
    from mlflow.types.schema import ColSpec, Schema

    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    if isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "iub":
        return False
    try:
        validate_schema(column.to_frame(), Schema([ColSpec(kind, column.name, required=False)]))
    except (MlflowException, TypeError, ValueError):  # refused: the contract checks it instead
        return False
    return True


def _native(X: Any, input_kind: str) -> Any:
    """Rows as the model was trained on them: the frame, or its array."""
    return X if input_kind == "frame" else X.to_numpy()


def _is_family(model: Any) -> bool:
    """A ``SegmentFamily`` (``fit_segments``), from jupyter-mlops or a promoted copy of it."""
    return getattr(type(model), "_mlops_segment_family", False) is True


@contextlib.contextmanager
def _shipped_family(family: Any, code: Path) -> Any:
    """Write a copy of the family's module into ``code/`` (numpy, pandas and scikit-learn
    only) and yield the family re-based on it, with the copy's name; while the block runs the
    copy is importable, so pickle refers to it and the model loads without jupyter-mlops."""
    import importlib

    from ...runtime import segment_family

    text = Path(segment_family.__file__).read_text(encoding="utf-8")
    name = f"mlops_segments_{_digest(text)}"
    (code / f"{name}.py").write_text(text, encoding="utf-8")
    folder = code.parent / "family"
    folder.mkdir()
    (folder / f"{name}.py").write_text(text, encoding="utf-8")
    saved = sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    try:
        twin = object.__new__(importlib.import_module(name).SegmentFamily)
        twin.__dict__.update(family.__dict__)
        yield twin, name
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(name, None)
        if saved is not None:
            sys.modules[name] = saved
        shutil.rmtree(folder, ignore_errors=True)


def _is_sklearn(model: Any) -> bool:
    sklearn_base = sys.modules.get("sklearn.base")
    return sklearn_base is not None and isinstance(model, sklearn_base.BaseEstimator)


def _own_version() -> str:
    from ..._version import __version__

    return __version__


# -- verification in a fresh process -------------------------------------------------------------
def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in KEPT_ENV}
    env.update({k: v for k, v in os.environ.items() if k.startswith(KEPT_ENV_PREFIXES)})
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _sample(X: Any) -> Any:
    if len(X) <= SAMPLE_ROWS:
        return X
    return X.sample(SAMPLE_ROWS, random_state=0).sort_index()


def _verify(folder: Path, model: Any, X: Any, input_kind: str, work: Path) -> dict[str, Any]:
    """Load the packaged model in a fresh interpreter elsewhere and compare its predictions."""
    started = time.perf_counter()
    cwd = work / "elsewhere"
    cwd.mkdir()
    sample_path, out_path = work / "sample.pkl", work / "predictions.pkl"
    sample = None if X is None else _native(_sample(X), input_kind)
    if sample is not None:
        sample_path.write_bytes(pickle.dumps(sample, protocol=5))
        script = VERIFY_SCRIPT
    else:
        script = "import sys, mlflow.pyfunc; mlflow.pyfunc.load_model(sys.argv[1])"
    try:  # -I: no PYTHONPATH, no user site, no script folder; -B: the folder stays as uploaded
        done = _run_child(
            [
                sys.executable,
                "-I",
                "-B",
                "-c",
                script,
                str(folder),
                str(sample_path),
                str(out_path),
            ],
            cwd=cwd,
            env=_clean_env(),
            timeout=VERIFY_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise PromoteError(
            f"not registered: loading the packaged model in a fresh process took over "
            f"{VERIFY_TIMEOUT:.0f} s"
        ) from None
    if done.returncode != 0:
        raise PromoteError(
            "not registered: the packaged model fails in a fresh Python process "
            f"({_last_error(done.stderr)})"
        )
    info: dict[str, Any] = {"rows": 0, "seconds": 0.0, "warnings": []}
    if sample is not None:
        with open(out_path, "rb") as f:
            reloaded = pickle.load(f)  # written by our own verification process just now
        expected = model.predict(sample)
        problem = _difference(expected, reloaded["predictions"])
        if problem:
            raise PromoteError(
                f"not registered: the reloaded model predicts differently: {problem}"
            )
        info.update(rows=len(sample), warnings=reloaded["warnings"])
    info["seconds"] = round(time.perf_counter() - started, 3)
    return info


def _run_child(
    args: list[str], *, timeout: float, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(capture_output=True, text=True)``, except that a Ctrl-C while the child
    is being started still stops it: CPython's ``Popen()`` leaves a started child running when
    the KeyboardInterrupt lands inside the constructor (found by the crash matrix of
    ``benchmarks/bench_reliability.py``), so the interrupt is held back until we hold the child.
    """
    import signal
    import threading

    held: list[int] = []
    previous = signal.getsignal(signal.SIGINT)
    hold = threading.current_thread() is threading.main_thread() and callable(previous)
    if hold:
        signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
        )
    finally:
        if hold:
            signal.signal(signal.SIGINT, previous)
    with process:
        try:
            if held:
                raise KeyboardInterrupt
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            process.kill()
            process.wait()
            raise
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def _last_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if re.match(r"^[\w.]*(Error|Exception|Interrupt)\b", line):
            return line[:500]
    return (lines[-1] if lines else "no output")[:500]


def _as_array(values: Any) -> Any:
    import numpy as np

    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    return np.asarray(values)


def _difference(expected: Any, got: Any) -> str | None:
    """Why two prediction arrays are not identical, or None. Exact: a promoted model must
    predict what the notebook predicted, not nearly."""
    import numpy as np
    import pandas as pd

    a, b = _as_array(expected), _as_array(got)
    if a.shape != b.shape:
        return f"shape {b.shape} instead of {a.shape}"
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        same = (a == b) | (np.isnan(a) & np.isnan(b))
    else:
        same = (a == b) | (pd.isna(a) & pd.isna(b))
    same = np.asarray(same)
    if same.all():
        return None
    rows = ~same.reshape(len(a), -1).all(axis=1) if a.ndim else ~same
    first = int(np.flatnonzero(rows)[0])
    return (
        f"{int(rows.sum())} of {len(a)} sample rows differ (first: row {first}, notebook "
        f"{a[first]!r}, reloaded {b[first]!r})"
    )


# -- the run, the card, the registry ----------------------------------------------------------
def _contract_summary(contract: Any) -> str | None:
    if contract is None:
        return None
    from collections import Counter

    columns = contract.columns
    kinds = Counter(spec.family for spec in columns)
    parts = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
    return (
        f"{len(columns)} columns ({parts}); ranges, levels and null rates in contract.json. "
        "Missing columns or wrong types raise; unseen values warn (MLOPS_ON_VIOLATION=raise "
        "or params={'on_violation': 'raise'} makes them raise)."
    )


def _next_version(client: Any, name: str) -> int:
    from mlflow.exceptions import MlflowException

    try:
        versions = store.with_retry(lambda: client.search_model_versions(f"name='{name}'"))
    except MlflowException:
        return 1
    return max((int(v.version) for v in versions), default=0) + 1


def _ensure_registered_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        store.with_retry(lambda: client.get_registered_model(name))
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" not in str(exc.error_code):
            raise
        try:
            store.with_retry(lambda: client.create_registered_model(name))
        except MlflowException as again:
            if "RESOURCE_ALREADY_EXISTS" not in str(again.error_code):
                raise


def _lineage_tags(run: Any, run_id: str) -> dict[str, str]:
    tags = {"mlops.run_id": run_id}
    for key, value in run.data.tags.items():
        if key.startswith(("mlops.data.", "mlops.git.", "mlops.notebook.")) or key in (
            "mlflow.source.name",
            "mlflow.source.git.commit",
        ):
            tags[key] = value
    return {k[:250]: str(v)[:5000] for k, v in tags.items()}


def _write_card(folder: Path, facts: dict[str, Any], **kwargs: Any) -> None:
    from .model_card import render_model_card

    (folder / "MODEL_CARD.md").write_text(render_model_card(facts, **kwargs), encoding="utf-8")


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
    user_ns: dict | None = None,
) -> Promotion:
    """Package ``model`` with its notebook code and data contract, prove it loads and predicts
    the same in a fresh process, then log and register it (and set ``alias``).

    Uses the active run (a short ``promote <name>`` run otherwise), so the model card can
    name the data versions, metrics and checks that run recorded. Nothing is registered when
    capturing the code or the fresh-process check fails.
    """
    from .. import tracking

    started = time.perf_counter()
    _check_arguments(model, name, alias, X, y)
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
            run, model, name, X, y, alias, description, input_kind, on_violation, user_ns
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
) -> Promotion:
    from mlflow.entities import LoggedModelOutput
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    from .. import tracking
    from .capture import CaptureError
    from .model_card import card_facts

    held = None
    if alias and tracking.aliases_held():
        held, alias = alias, None  # register only: the card and the run tag name no alias
    client = run.client
    with tempfile.TemporaryDirectory(prefix="mlops-promote-") as tmp:
        work = Path(tmp)
        folder = work / "model"
        try:
            with store.quiet_logs("mlflow"):
                built = _build(
                    folder,
                    model=model,
                    name=name,
                    X=X,
                    input_kind=input_kind,
                    on_violation=on_violation,
                    user_ns=user_ns,
                    root=run.settings.root,
                )
        except CaptureError as exc:
            raise PromoteError(f"not registered: {exc}") from None
        except MlflowException as exc:  # MLflow refused to save it (a signature, say)
            first = (str(exc.message).strip().splitlines() or [""])[0][:300]
            raise PromoteError(f"not registered: MLflow could not save it: {first}") from None
        verification = _verify(folder, model, X, input_kind, work)

        # verified: now write to the store, the card naming the version it is about to get
        tracking.flush()  # also creates the child run that recorded the model's fit
        facts = card_facts(client, run.run_id)
        model_facts = _model_facts(model)
        candidate = model_facts.get("candidate") or {}
        mlflow_run = store.with_retry(lambda: client.get_run(run.run_id))
        lineage = _lineage_tags(mlflow_run, run.run_id)
        training = None
        if X is not None:
            training = {"rows": len(X), "columns": [str(c) for c in X.columns]}
            if y is not None:
                training["target"] = str(getattr(y, "name", None) or "y")
            task = _task(model)
            if task:
                training["task"] = task
        card = {
            "name": name,
            "alias": alias,
            "description": description,
            "training": training,
            "requirements": built["requirements"],
            "contract_summary": _contract_summary(built["contract"]),
            "segments": model.to_dict() if _is_family(model) else None,
            "model": model_facts,
        }
        version = _next_version(client, name)
        _write_card(folder, facts, version=version, model_uri=_uri(name, alias, version), **card)

        lineage.update(_model_tags(model_facts))
        fit_run_id = candidate.get("run_id") or run.run_id  # where the model's fit is recorded
        logged = store.with_retry(
            lambda: client.create_logged_model(
                run.experiment_id,
                name=name,
                source_run_id=fit_run_id,
                tags={**lineage, "mlops.verified_rows": str(verification["rows"])},
                params=_logged_params(model_facts["params"]),
                model_type="jupyter-mlops",
            )
        )
        try:
            mlmodel = Model.load(str(folder / "MLmodel"))
            mlmodel.run_id, mlmodel.model_id = run.run_id, logged.model_id
            mlmodel.model_uuid, mlmodel.artifact_path = logged.model_id, logged.artifact_location
            mlmodel.save(str(folder / "MLmodel"))
            recorded = digests.record(folder)  # the files are final: what load_model checks
            client.log_model_artifacts(logged.model_id, str(folder))
            store.with_retry(
                lambda: client.log_outputs(run.run_id, [LoggedModelOutput(logged.model_id, 0)])
            )
            store.with_retry(lambda: client.finalize_logged_model(logged.model_id, "READY"))
        except BaseException:
            _finalize_failed(client, logged.model_id)
            raise

        _ensure_registered_model(client, name)
        mv = store.with_retry(
            lambda: client.create_model_version(
                name,
                source=f"models:/{logged.model_id}",  # how MLflow links a version to its model
                run_id=fit_run_id,
                # a held alias is named on the version, for `sweep --best ... --alias` to move
                tags={
                    **lineage,
                    "mlops.verified": "true",
                    digests.TAG: recorded,
                    **({HELD_ALIAS_TAG: held} if held else {}),
                },
                description=description,
                model_id=logged.model_id,
            )
        )
        if int(mv.version) != version:  # another promotion got in between: fix the card
            _write_card(
                folder, facts, version=mv.version, model_uri=_uri(name, alias, mv.version), **card
            )
            client.log_model_artifact(logged.model_id, str(folder / "MODEL_CARD.md"))
            recorded = digests.record(folder)
            if (folder / digests.MANIFEST_FILE).exists():
                client.log_model_artifact(logged.model_id, str(folder / digests.MANIFEST_FILE))
            store.with_retry(
                lambda: client.set_model_version_tag(name, mv.version, digests.TAG, recorded)
            )
        if alias:
            store.with_retry(lambda: client.set_registered_model_alias(name, alias, mv.version))
        if description and not _has_description(client, name):
            store.with_retry(lambda: client.update_registered_model(name, description))
        promoted = [(f"{PROMOTED_TAG}{name}"[:250], f"{mv.version}{'@' + alias if alias else ''}")]
        tracking.session.buffer.add(client, run.run_id, tags=promoted)
        if candidate.get("run_id"):
            tracking.session.buffer.add(client, candidate["run_id"], tags=promoted)
        return Promotion(
            name=name,
            version=str(mv.version),
            alias=alias,
            model_id=logged.model_id,
            run_id=run.run_id,
            model_version=mv,
            verification=verification,
            requirements=built["requirements"],
            code_files=built["code_files"],
            candidate_run_id=candidate.get("run_id"),
            held_alias=held,
        )


def _model_facts(model: Any) -> dict[str, Any]:
    """What the promoted object itself is: its class, its own params (deep for a pipeline),
    and the child run that recorded its fit, if autologging saw it. Never the run's params,
    which may belong to other candidates the notebook tried."""
    from .. import autolog

    cls = type(model)
    facts: dict[str, Any] = {"class": f"{cls.__module__}.{cls.__qualname__}", "params": {}}
    if callable(getattr(model, "get_params", None)):
        with contextlib.suppress(Exception):
            facts["params"] = autolog.model_params(model)
            facts["changed_params"] = autolog.changed_params(model)
    found = autolog.candidate_of(model)
    if found is not None:
        facts["candidate"] = {
            "run_id": found.run_id,
            "name": found.name,
            "metrics": dict(found.metrics),
        }
    return facts


def _model_tags(model_facts: dict[str, Any]) -> dict[str, str]:
    tags = {"mlops.model.class": model_facts["class"]}
    if model_facts.get("changed_params") is not None:
        tags["mlops.model.params"] = json.dumps(model_facts["changed_params"], sort_keys=True)
    if (model_facts.get("candidate") or {}).get("run_id"):
        tags["mlops.candidate_run_id"] = model_facts["candidate"]["run_id"]
    return {k: v[:5000] for k, v in tags.items()}


def _logged_params(params: dict[str, str]) -> dict[str, str]:
    return {k[:250]: v[:6000] for k, v in params.items()}


def _task(model: Any) -> str | None:
    if not _is_sklearn(model):
        return None
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(model):
        return "classification"
    return "regression" if is_regressor(model) else None


def _uri(name: str, alias: str | None, version: int | str) -> str:
    return f"models:/{name}@{alias}" if alias else f"models:/{name}/{version}"


def _has_description(client: Any, name: str) -> bool:
    return bool(store.with_retry(lambda: client.get_registered_model(name)).description)


def _finalize_failed(client: Any, model_id: str) -> None:
    with contextlib.suppress(Exception):  # the original error is the one worth showing
        client.finalize_logged_model(model_id, "FAILED")


__all__ = ["PromoteError", "Promotion", "promote"]

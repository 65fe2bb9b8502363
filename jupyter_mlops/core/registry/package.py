"""Packaging: the notebook's model as an MLflow model folder that loads without the notebook.

Layout of the folder (pyfunc always, the sklearn flavour too when it is one)::

    MLmodel  contract.json  requirements.txt  python_env.yaml  conda.yaml
    reference/profile.json  reference/sample.parquet (the training reference: ``reference``)
    input_example.json  serving_input_example.json
    code/<notebook module>.py  code/mlops_loader_<hash>.py  code/mlops_contract_<hash>.py
    code/mlops_contract_<hash>_columns.py
    code/mlops_inference_log_<hash>.py  code/mlops_inference_log_<hash>_files.py
    code/mlops_segments_<hash>.py (a segment family's class)
    model/model.pkl  model/settings.json

The runtime files are copied as they are, named by their content's digest; ``settings.json``
names the contract's and the inference log's copies for the loader (and the registered name,
which the log files its rows under), and a family's class is pickled against its copy, so
the model loads with neither jupyter-mlops nor the notebook.

``promote`` adds ``MODEL_CARD.md`` (and ``mlops_sha256.json`` when the digests are too many for a
tag) once the fresh-process check has passed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ...runtime import loader as packaged_loader
from .promotion import EXAMPLE_ROWS, is_family, is_sklearn, native
from .requirements import modules_of, requirements_and_local_code


@dataclass
class Package:
    """What the card and the tags need from a built model folder."""

    module: str  # the notebook code's module name (written to code/ only when not empty)
    code_files: list[str]
    requirements: list[str]
    contract: Any  # the learned Contract, or None when no X was given
    reference: dict[str, Any] | None = None  # the training reference's summary (reference/)
    no_reference: str | None = None  # why the artifact has none


class _Shipped(NamedTuple):
    loader: str
    contract: str
    inference_log: str
    files: list[str]


class _Captured(NamedTuple):
    module: str
    source: str
    pickled: bytes
    tops: set[str]
    shipped: list[str]  # modules written into code/ by us (a segment family's class)


def build(
    folder: Path,
    *,
    model: Any,
    name: str,
    X: Any,
    input_kind: str,
    on_violation: str,
    user_ns: dict | None,
    root: Path,
    keep_reference: bool = True,
) -> Package:
    """Write the MLflow model into ``folder``; return what the card and the tags need."""
    staging = folder.parent / "staging"
    code, data = staging / "code", staging / "model"
    code.mkdir(parents=True)
    data.mkdir()
    captured = _capture(model, name, code, user_ns)
    code_files = _write_notebook_code(code, captured)
    requirements, local = requirements_and_local_code(
        captured.tops, root, skip={captured.module, *captured.shipped}
    )
    code_files += [_copy_code(path, code) for path in local]
    shipped = _ship_runtime(code)
    code_files += shipped.files
    settings = {
        "input": input_kind,
        "on_violation": on_violation,
        "module": captured.module,
        "contract": X is not None,
    }
    _write_model_data(data, captured.pickled, settings, shipped, name)
    contract = _learn_contract(model, X)
    _save_model(
        folder,
        model=model,
        X=X,
        input_kind=input_kind,
        settings=settings,
        loader_module=shipped.loader,
        code=code,
        data=data,
        requirements=requirements,
    )
    shutil.rmtree(staging)
    for pycache in folder.rglob("__pycache__"):
        shutil.rmtree(pycache, ignore_errors=True)
    if contract is not None:
        contract.save(folder / packaged_loader.CONTRACT_FILE)
    package = Package(captured.module, code_files, requirements, contract)
    package.reference, package.no_reference = _keep_reference(
        folder, model, X, input_kind, keep_reference
    )
    return package


# -- the steps  -----------------------------------------------------------------------------------
def _capture(model: Any, name: str, code: Path, user_ns: dict | None) -> _Captured:
    """The model pickled against its notebook code captured as a module (see ``capture``)."""
    from . import capture

    shipped: list[str] = []
    with contextlib.ExitStack() as stack:
        packaged = model
        if is_family(model):  # pickled against a copy of its class shipped in code/
            packaged, family_module = stack.enter_context(_shipped_family(model, code))
            shipped.append(family_module)
        objs = capture.find_notebook_objects(packaged)
        source = capture.recover_source(objs, user_ns=user_ns) if objs else ""
        module_name = f"notebook_{_module_slug(name)}_{digest(source)}"
        source, pickled = capture.package(packaged, module_name, user_ns=user_ns)
        tops = modules_of(packaged, source)
    return _Captured(module_name, source, pickled, tops, shipped)


def _write_notebook_code(code: Path, captured: _Captured) -> list[str]:
    if not captured.source:
        return []
    (code / f"{captured.module}.py").write_text(captured.source, encoding="utf-8")
    return [f"{captured.module}.py"]


def _ship_runtime(code: Path) -> _Shipped:
    """Copies of the loader, the contract and the inference log writer in ``code/``, named by
    their content's digest. They are copied as they are: the loader finds the contract's and
    the log's copies through ``settings.json``, and each finds its second module beside it
    (``<contract module>_columns.py``, ``<log module>_files.py``)."""
    from ...runtime import contract, contract_columns, inference_log, inference_log_files

    loader_text = Path(packaged_loader.__file__).read_text(encoding="utf-8")
    contract_text = Path(contract.__file__).read_text(encoding="utf-8")
    columns_text = Path(contract_columns.__file__).read_text(encoding="utf-8")
    log_text = Path(inference_log.__file__).read_text(encoding="utf-8")
    files_text = Path(inference_log_files.__file__).read_text(encoding="utf-8")
    loader = f"mlops_loader_{digest(loader_text)}"
    shipped = f"mlops_contract_{digest(contract_text + columns_text)}"
    log = f"mlops_inference_log_{digest(log_text + files_text)}"
    files = {
        f"{loader}.py": loader_text,
        f"{shipped}.py": contract_text,
        f"{shipped}_columns.py": columns_text,
        f"{log}.py": log_text,
        f"{log}_files.py": files_text,
    }
    for name, text in files.items():
        (code / name).write_text(text, encoding="utf-8")
    return _Shipped(loader, shipped, log, list(files))


def _write_model_data(
    data: Path, pickled: bytes, settings: dict[str, Any], shipped: _Shipped, name: str
) -> None:
    """``model.pkl`` and ``settings.json`` (with the runtime copies' modules and the registered
    name): what the loader reads."""
    (data / packaged_loader.MODEL_FILE).write_bytes(pickled)
    written = {
        **settings,
        packaged_loader.CONTRACT_MODULE_SETTING: shipped.contract,
        packaged_loader.LOG_MODULE_SETTING: shipped.inference_log,
        packaged_loader.NAME_SETTING: name,
    }
    (data / packaged_loader.SETTINGS_FILE).write_text(json.dumps(written), encoding="utf-8")


def _keep_reference(
    folder: Path, model: Any, X: Any, input_kind: str, keep: bool
) -> tuple[dict[str, Any] | None, str | None]:
    """``reference/`` beside the model (data ``monitor`` reads, never loaded by the model):
    a profile of ``X`` and a seeded sample with the model's predictions on the sample's rows.
    Returns its summary, or why there is none."""
    from . import reference

    if X is None:
        return None, "promoted without X"
    if not keep:
        return None, "promoted with reference=False"
    try:
        kept = reference.write_reference(
            folder, X, lambda rows: model.predict(native(rows, input_kind))
        )
    except reference.ReferenceError as exc:
        return None, str(exc)
    return kept, None


def _learn_contract(model: Any, X: Any) -> Any:
    if X is None:
        return None
    from ...runtime.contract import Contract

    return Contract.learn(X, segment_column=model.by if is_family(model) else None)


def _save_model(
    folder: Path,
    *,
    model: Any,
    X: Any,
    input_kind: str,
    settings: dict[str, Any],
    loader_module: str,
    code: Path,
    data: Path,
    requirements: list[str],
) -> None:
    """MLflow writes the folder: MLmodel, the environment files, the examples."""
    import mlflow.pyfunc
    from mlflow.models import Model

    signature, example = _signature(model, X, input_kind, settings["on_violation"])
    mlflow_model = Model(metadata={"jupyter_mlops": {"version": _own_version(), **settings}})
    if is_sklearn(model):
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


def _signature(model: Any, X: Any, input_kind: str, on_violation: str) -> tuple[Any, Any]:
    """The signature (inputs MLflow may enforce, the call's params) and the input example."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ParamSchema, ParamSpec

    params = ParamSchema(
        [
            ParamSpec("on_violation", "string", on_violation),
            ParamSpec("method", "string", "predict"),
        ]
    )
    if X is None:
        return ModelSignature(inputs=None, outputs=None, params=params), None
    sample = native(X.head(min(len(X), 1000)), input_kind)
    inferred = infer_signature(sample, model.predict(sample))
    signature = ModelSignature(_input_schema(inferred.inputs, X), inferred.outputs, params)
    return signature, native(X.head(EXAMPLE_ROWS), input_kind)


# -- helpers  -------------------------------------------------------------------------------------
def digest(text: str | bytes) -> str:
    """The short content hash in a shipped module's name (``mlops_loader_<digest>``)."""
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


@contextlib.contextmanager
def _shipped_family(family: Any, code: Path) -> Any:
    """Write a copy of the family's module into ``code/`` (numpy, pandas and scikit-learn
    only) and yield the family re-based on it, with the copy's name; while the block runs the
    copy is importable, so pickle refers to it and the model loads without jupyter-mlops."""
    import importlib

    from ...runtime import segment_family

    text = Path(segment_family.__file__).read_text(encoding="utf-8")
    name = f"mlops_segments_{digest(text)}"
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


def _own_version() -> str:
    from ..._version import __version__

    return __version__

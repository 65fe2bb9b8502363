"""The loader a promoted model ships with: MLflow's pyfunc calls ``_load_pyfunc`` on load.

A copy of this file travels in the artifact's ``code/`` folder (under a name unique to its
content, as does the copy of ``contract.py`` it imports: ``settings.json`` names that copy), so
loading needs mlflow, pandas and the model's own packages, but neither jupyter-mlops nor the
notebook. Before every ``predict`` the input is checked against ``contract.json``: input the
model cannot use raises, values it never saw warn, or raise when configured (``on_violation``:
the ``MLOPS_ON_VIOLATION`` environment variable, or ``params={"on_violation": "raise"}`` per
call; the default was set at promotion).

A ``ContractError`` raised at ``predict`` is also an ``MlflowException`` with
``INVALID_PARAMETER_VALUE`` when MLflow is importable (``served_error``), so that MLflow's scoring
server (``mlflow models serve``, ``jupyter mlops serve``) answers it as a 400 whose JSON names the
columns, instead of its generic "unexpected error" with a stack trace.
"""

import importlib
import json
import os
import pickle
import re
import sys

MODEL_FILE = "model.pkl"
SETTINGS_FILE = "settings.json"
CONTRACT_MODULE_SETTING = "contract_module"  # the shipped copy of contract.py, by module name
LOG_MODULE_SETTING = "inference_log_module"  # the shipped copy of inference_log.py
NAME_SETTING = "registered_name"  # the name promotion registered the model under
CONTRACT_FILE = "contract.json"  # next to MLmodel, one level above the data folder
LOG_ENV, NAME_ENV, VERSION_ENV = "MLOPS_INFERENCE_LOG", "MLOPS_MODEL_NAME", "MLOPS_MODEL_VERSION"
ON_VIOLATION_ENV = "MLOPS_ON_VIOLATION"
METHODS = ("predict", "predict_proba", "decision_function", "transform")


class PromotedModel:
    """The notebook's model behind its data contract."""

    def __init__(self, model, contract, settings, log=None):
        self.model = model
        self.contract = contract
        self.settings = settings
        self.log = log  # an InferenceLog when MLOPS_INFERENCE_LOG was set at load
        self.contract_error = _contract_error(contract)

    def predict(self, model_input, params=None):
        params = params or {}
        method = params.get("method") or "predict"
        if method not in METHODS or not hasattr(self.model, method):
            raise ValueError(
                f"method {method!r} is not available: use one of "
                + ", ".join(m for m in METHODS if hasattr(self.model, m))
            )
        on_violation = (
            params.get("on_violation")
            or os.environ.get(ON_VIOLATION_ENV)
            or self.settings.get("on_violation", "warn")
        )
        X = model_input
        logged, counts = None, None
        if self.contract is not None:
            import pandas as pd

            frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
            try:
                if self.log is not None and hasattr(self.contract, "validate_counted"):
                    checked, counts = self.contract.validate_counted(
                        frame, on_violation=on_violation
                    )
                else:
                    checked = self.contract.validate(frame, on_violation=on_violation)
            except Exception as exc:
                if self.contract_error is None or not isinstance(exc, self.contract_error):
                    raise
                raise served_error(exc, self.contract, frame, on_violation) from None
            logged = checked
            if self.settings.get("input") != "array":
                X = checked
            elif isinstance(X, pd.DataFrame):
                X = checked.to_numpy()
            # else: an array goes in as given; BLAS sums in memory order, so even a copy with
            # another layout could move the last digit of a prediction
        result = getattr(self.model, method)(X)
        if self.log is not None and method == "predict":
            self.log.record(model_input if logged is None else logged, result, counts)
        return result

    def get_raw_model(self):
        """The estimator itself, without the contract check (MLflow's pyfunc convention)."""
        return self.model


def served_error(exc, contract, frame, on_violation):
    """``exc``, the contract's error, as one MLflow's scoring server answers with a 400 naming
    the columns (``{"error_code": "INVALID_PARAMETER_VALUE", "message": ..., "columns": [...]}``)
    and still an instance of the contract's ``ContractError`` (and so of ``MlopsError``); ``exc``
    itself where MLflow cannot be imported."""
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
    except ImportError:
        return exc
    base = type(exc)
    served = _SERVED.get(base)
    if served is None:
        served = _SERVED[base] = _served_class(base, MlflowException)
    severities = ("error", "warning") if on_violation == "raise" else ("error",)
    try:
        found = contract.violations(frame) if hasattr(contract, "violations") else []
    except Exception:
        found = []
    columns = list(dict.fromkeys(f["column"] for f in found if f["severity"] in severities))
    return served(str(exc), error_code=INVALID_PARAMETER_VALUE, columns=columns)


_SERVED = {}  # the contract's ContractError class -> its serving twin


def _served_class(base, mlflow_exception):
    """A class deriving from the contract's ``ContractError`` and ``MlflowException``, with the
    same name, whose message stays the one line it was raised with: MLflow's scoring server
    rewrites a failed prediction's message as "Failed to predict data '<the input frame>'", which
    would echo up to a screenful of the request back, and bury the columns."""

    class ContractError(base, mlflow_exception):
        def __init__(self, message, error_code, columns):
            mlflow_exception.__init__(self, message, error_code=error_code, columns=columns)

        @property
        def message(self):
            return self.__dict__.get("_line", "")

        @message.setter
        def message(self, value):
            self.__dict__.setdefault("_line", value)  # the first: the contract's own line

        def __str__(self):
            return self.message

        def __reduce__(self):  # picklable, as the contract's own error (a process pool's)
            return base, (self.message,)

    ContractError.__module__, ContractError.__qualname__ = base.__module__, base.__qualname__
    ContractError.__doc__ = base.__doc__
    return ContractError


def _contract_error(contract):
    """The ``ContractError`` class of the module ``contract`` came from (None without one)."""
    if contract is None:
        return None
    module = sys.modules.get(type(contract).__module__)
    return getattr(module, "ContractError", None)


def _allow_pickle():
    try:
        from mlflow.environment_variables import MLFLOW_ALLOW_PICKLE_DESERIALIZATION
    except ImportError:  # an older or trimmed MLflow: nothing to honour
        return True
    return MLFLOW_ALLOW_PICKLE_DESERIALIZATION.get()


def _load_pyfunc(data_path):
    if not _allow_pickle():
        raise RuntimeError(
            "Deserializing this model is disallowed because "
            "'MLFLOW_ALLOW_PICKLE_DESERIALIZATION' is false; set it to 'true' to load it."
        )
    with open(os.path.join(data_path, SETTINGS_FILE), encoding="utf-8") as f:
        settings = json.load(f)
    with open(os.path.join(data_path, MODEL_FILE), "rb") as f:
        model = pickle.load(f)  # MLflow's sklearn flavour loads the same way
    contract = None
    if settings.get("contract"):
        path = _find_contract(data_path)
        contract = _contract_class(settings).load(path)
    return PromotedModel(model, contract, settings, log=_inference_log(settings, data_path))


def _inference_log(settings, data_path):
    """The writer when ``MLOPS_INFERENCE_LOG`` names a location, else None. The model's name:
    ``MLOPS_MODEL_NAME``, else the name it was promoted under; its version: ``MLOPS_MODEL_VERSION``
    (the registry numbers a version only after the artifact is written), else ``uuid-`` and
    the artifact's own MLflow ``model_uuid``, which names exactly this model too."""
    location = os.environ.get(LOG_ENV)
    if not location:
        return None
    shipped = settings.get(LOG_MODULE_SETTING)
    if shipped:
        module = importlib.import_module(shipped)
    else:
        from . import inference_log as module
    name = os.environ.get(NAME_ENV) or settings.get(NAME_SETTING) or "unnamed"
    version = os.environ.get(VERSION_ENV) or f"uuid-{_model_uuid(data_path)}"
    return module.InferenceLog(location, name, version)


def _model_uuid(data_path):
    """MLflow's ``model_uuid`` from the MLmodel file above the data folder ("unknown" if none)."""
    folder = os.path.abspath(data_path)
    for _ in range(3):
        folder = os.path.dirname(folder)
        path = os.path.join(folder, "MLmodel")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                found = re.search(r"^model_uuid:\s*'?([\w.-]+)", f.read(), re.MULTILINE)
            return found.group(1) if found else "unknown"
    return "unknown"


def _contract_class(settings):
    """The ``Contract`` of the copy shipped next to this loader (``settings.json`` names it);
    this package's own when the loader runs inside jupyter-mlops."""
    shipped = settings.get(CONTRACT_MODULE_SETTING)
    if shipped:
        return importlib.import_module(shipped).Contract
    from .contract import Contract

    return Contract


def _find_contract(data_path):
    """``contract.json`` sits next to MLmodel; MLflow hands us ``<model>/data/model``."""
    folder = os.path.abspath(data_path)
    for _ in range(3):
        folder = os.path.dirname(folder)
        path = os.path.join(folder, CONTRACT_FILE)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"{CONTRACT_FILE} is missing from the model: it cannot be checked")

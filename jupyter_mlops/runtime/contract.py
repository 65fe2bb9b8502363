"""The data contract of a promoted model: what its training data looked like, checked at predict.

``Contract.learn(X)`` records each training column in order: its type family and exact pandas
dtype, its null rate, the range of numbers and datetimes, and the known levels of strings and
categoricals. ``validate(df)`` is what a packaged model runs before ``predict``:

* input the model cannot use (a missing column, strings where numbers were learned, fractions
  in an integer column) raises ``ContractError``, one line naming the columns;
* values the model never saw (outside the learned range, unseen levels, nulls in a column that
  had none) give one ``ContractWarning`` per call, or raise with ``on_violation="raise"``;
* extra columns are dropped (saying so once); the frame returned holds the training columns in
  training order, cast to the learned dtypes wherever that loses nothing: a categorical from its
  levels as text, a nullable integer from floats with NaN, a datetime from ISO 8601 text (JSON
  and CSV have no datetime type, so that is how a served model receives one).

Ranges allow a small tolerance (``RANGE_TOLERANCE`` of the larger bound, written per column as
``tolerance``) so that values rounded through float32, CSV or JSON do not count as new. A string
column with more than ``MAX_CATEGORIES`` levels is recorded as free text and its values are not
checked; the segment column of a per-segment model keeps all its levels (an unseen segment is
served by the fallback model).

This file and ``contract_columns.py`` need pandas and numpy only, and work as plain files too:
a packaged model ships a copy of both (the columns module as ``<this copy's name>_columns.py``)
and loads them where jupyter-mlops is not installed, perhaps by path without a ``sys.modules``
entry (hence no ``from __future__ import annotations``: dataclasses need the module registered
to read string annotations).
"""

import importlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

try:
    from .errors import ContractWarning, MlopsError
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

    if hasattr(_installed, "ContractWarning"):  # (an older jupyter-mlops has none)
        ContractWarning = _installed.ContractWarning
    else:

        class ContractWarning(UserWarning):  # type: ignore[no-redef]
            """Values the training data never had: out of range, unseen levels, nulls."""


def _beside(part: str) -> Any:
    """The module shipped beside a plain copy of this file as ``<its name>_<part>.py``."""
    import importlib.util
    import sys

    here = Path(__file__)
    name = f"{here.stem}_{part}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, here.with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses read annotations through sys.modules
        spec.loader.exec_module(module)
    return sys.modules[name]


try:
    from . import contract_columns as columns
except ImportError:  # a plain copy: its columns module ships beside it
    columns = _beside("columns")

ColumnSpec = columns.ColumnSpec
Finding = columns.Finding
counted, listed = columns.counted, columns.listed
MAX_CATEGORIES = columns.MAX_CATEGORIES  # more levels than this: free text, values not checked

__all__ = ["ColumnSpec", "Contract", "ContractError", "ContractWarning"]

CONTRACT_VERSION = 1


class ContractError(MlopsError):
    """Input a model cannot use, or (when so configured) values its training data never had."""


@dataclass
class Contract:
    """The columns a model was trained on; ``validate`` enforces them on new input."""

    columns: list[ColumnSpec]
    rows: int
    segment_column: str | int | None = None
    version: int = CONTRACT_VERSION

    # learning -------------------------------------------------------------------------------

    @classmethod
    def learn(cls, X: pd.DataFrame, segment_column: str | int | None = None) -> "Contract":
        """Record what ``X`` holds, column by column, so a packaged model can check its input.

        ``segment_column`` names the column that routes rows of a per-segment model: all its
        levels are kept (no free-text cap) and unseen ones are reported as unseen segments.
        """
        if not isinstance(X, pd.DataFrame):
            raise ContractError(f"learn needs a pandas DataFrame, got {type(X).__name__}")
        if X.shape[1] == 0 or len(X) == 0:
            raise ContractError(f"cannot learn a contract from an empty frame (shape {X.shape})")
        bad = [c for c in X.columns if not isinstance(c, (str, int)) or isinstance(c, bool)]
        if bad:
            raise ContractError(f"column names must be strings or integers, not {bad[0]!r}")
        dupes = X.columns[X.columns.duplicated()].unique().tolist()
        if dupes:
            raise ContractError(f"duplicate column names: {listed(dupes)}")
        if segment_column is not None and segment_column not in X.columns:
            raise ContractError(f"segment column {segment_column!r} is not a column of X")
        specs = [
            columns.learn_column(name, X.iloc[:, i], segment=name == segment_column)
            for i, name in enumerate(X.columns)
        ]
        return cls(columns=specs, rows=len(X), segment_column=segment_column)

    @property
    def column_names(self) -> list[str | int]:
        """The training columns, in training order."""
        return [c.name for c in self.columns]

    # serialization ----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The contract as JSON-ready built-ins (what ``contract.json`` holds)."""
        return {
            "version": self.version,
            "rows": self.rows,
            "segment_column": self.segment_column,
            "columns": [c.to_dict() for c in self.columns],
        }

    def to_json(self) -> str:
        """Strict JSON (no NaN), one column per block, short lists on one line, for people too."""
        return _dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Contract":
        """The contract ``to_dict`` wrote; a newer version than this module knows is refused."""
        if not isinstance(data, dict) or "columns" not in data:
            raise ContractError("not a model contract: expected an object with 'columns'")
        version = data.get("version")
        if not isinstance(version, int) or version > CONTRACT_VERSION:
            raise ContractError(
                f"contract version {version!r} is not supported (this module reads up to "
                f"{CONTRACT_VERSION}): update jupyter-mlops"
            )
        try:
            columns = [ColumnSpec.from_dict(c) for c in data["columns"]]
        except ValueError as exc:
            raise ContractError(str(exc)) from None
        segment = data.get("segment_column")
        if segment is not None and segment not in [c.name for c in columns]:
            raise ContractError(f"contract names segment column {segment!r} but has no such column")
        return cls(
            columns=columns, rows=data.get("rows", 0), segment_column=segment, version=version
        )

    @classmethod
    def from_json(cls, text: str) -> "Contract":
        """The contract ``to_json`` wrote; text that is not one raises ``ContractError``."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ContractError(f"contract is not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def save(self, path: str | Path) -> Path:
        """Write ``contract.json`` (UTF-8); returns the path written."""
        path = Path(path)
        path.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Contract":
        """Read a ``contract.json`` that ``save`` wrote."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def __repr__(self) -> str:
        size = f"{counted(len(self.columns), 'column')} from {counted(self.rows, 'row')}"
        return f"Contract({size}: {listed(self.column_names)})"

    # enforcing --------------------------------------------------------------------------------

    def violations(self, df: pd.DataFrame) -> list[dict[str, Any]]:
        """Every finding on ``df`` as JSON-ready dicts, for logging; raises only for a non-frame.

        Keys: ``column``, ``check`` (missing_column, duplicate_column, type, extra_column,
        nulls, below_min, above_max, unseen_categories, unseen_segments), ``severity`` (error:
        ``validate`` raises; warning: it warns; info), ``rows``, ``message`` and, where they
        apply, ``limit``, ``examples`` (and ``unseen``, how many levels), ``expected`` and
        ``got`` (dtypes).
        """
        findings, _ = self._check(df)
        return [f.to_dict() for f in findings]

    def validate(
        self, df: pd.DataFrame, on_violation: Literal["warn", "raise"] = "warn"
    ) -> pd.DataFrame:
        """Check ``df`` against the contract; return what the model should be given.

        Raises ``ContractError`` for input the model cannot use, and for values it never saw
        when ``on_violation="raise"`` (else one ``ContractWarning``). The frame returned has the
        training columns in training order, cast losslessly to the learned dtypes.
        """
        return self._enforce(df, on_violation)[0]

    def validate_counted(
        self, df: pd.DataFrame, on_violation: Literal["warn", "raise"] = "warn"
    ) -> tuple[pd.DataFrame, dict[str, int]]:
        """``validate``, also returning the rows flagged per column (``{column: rows}``, only
        columns with values the training data never had): what the inference log records."""
        return self._enforce(df, on_violation)

    def _enforce(self, df: pd.DataFrame, on_violation: str) -> tuple[pd.DataFrame, dict[str, int]]:
        if on_violation not in ("warn", "raise"):
            raise ValueError(f"on_violation must be 'warn' or 'raise', not {on_violation!r}")
        findings, frame = self._check(df)
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise ContractError(_summary(errors))
        extra = [f.column for f in findings if f.check == "extra_column"]
        if extra:
            warnings.warn(
                f"dropped {counted(len(extra), 'column')} the model was not trained on: "
                f"{listed(extra)}",
                UserWarning,
                stacklevel=3,
            )
        values = [f for f in findings if f.severity == "warning"]
        if values:
            if on_violation == "raise":
                raise ContractError(_summary(values))
            warnings.warn(_summary(values), ContractWarning, stacklevel=3)
        counts: dict[str, int] = {}
        for f in values:
            counts[str(f.column)] = counts.get(str(f.column), 0) + int(f.rows or 0)
        return frame, counts  # type: ignore[return-value]  # None only with errors, raised above

    def _check(self, df: pd.DataFrame) -> tuple[list[Finding], pd.DataFrame | None]:
        if not isinstance(df, pd.DataFrame):
            raise ContractError(f"model input must be a pandas DataFrame, got {type(df).__name__}")
        findings: list[Finding] = []
        present = set(df.columns)
        dupes = set(df.columns[df.columns.duplicated()])
        out: dict[Any, pd.Series] = {}
        for spec in self.columns:
            if spec.name not in present:
                text = "missing (a training column)"
                findings.append(Finding(spec.name, "missing_column", "error", text))
            elif spec.name in dupes:
                findings.append(
                    Finding(spec.name, "duplicate_column", "error", "duplicated in the input")
                )
            else:
                series, found = columns.check_column(
                    spec, df[spec.name], spec.name == self.segment_column
                )
                findings += found
                out[spec.name] = series
        known = set(self.column_names)
        for name in dict.fromkeys(df.columns):
            if name not in known:
                findings.append(Finding(name, "extra_column", "info", "not a training column"))
        if any(f.severity == "error" for f in findings):
            return findings, None
        frame = pd.DataFrame(out, columns=self.column_names, copy=False)
        return findings, frame


# messages and JSON ------------------------------------------------------------------------------


def _summary(findings: list[Finding]) -> str:
    """One line: missing columns first, then each column's findings."""
    missing = [f.column for f in findings if f.check == "missing_column"]
    parts = []
    if missing:
        word = counted(len(missing), "column", bare=True)
        parts.append(f"missing {word} the model was trained on: {listed(missing)}")
    by_column: dict[Any, list[str]] = {}
    for f in findings:
        if f.check != "missing_column":
            by_column.setdefault(f.column, []).append(f.detail)
    parts += [f"{column}: {', '.join(details)}" for column, details in by_column.items()]
    return "; ".join(parts)


def _dumps(value: Any, level: int = 0) -> str:
    """JSON with objects one key a line and lists of scalars on one line (no NaN allowed)."""
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {_dumps(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [f"{inner}{_dumps(v, level + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, allow_nan=False, ensure_ascii=False)

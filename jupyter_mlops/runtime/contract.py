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

This file needs pandas and numpy only, and works as a plain file too: a packaged model ships a
copy of it and loads it where jupyter-mlops is not installed, perhaps by path without a
``sys.modules`` entry (hence no ``from __future__ import annotations``: dataclasses need the
module registered to read string annotations).
"""

import contextlib
import importlib
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

try:
    from .errors import MlopsError
except ImportError:  # a plain copy of this file, shipped with a packaged model
    try:  # the installed jupyter-mlops's base: `except mlops.MlopsError` still catches ours
        MlopsError = importlib.import_module("jupyter_mlops.runtime.errors").MlopsError
    except ImportError:  # jupyter-mlops is not installed here

        class MlopsError(Exception):  # type: ignore[no-redef]
            """A mistake the user can fix: the message names the thing to change."""


__all__ = ["ColumnSpec", "Contract", "ContractError", "ContractWarning"]

CONTRACT_VERSION = 1
MAX_CATEGORIES = 1_000  # more levels than this: free text, values not checked
RANGE_TOLERANCE = 1e-6  # relative to the larger bound: float32/CSV rounding is not "out of range"
EXAMPLES = 3  # unseen levels named in a message
NAMES_SHOWN = 10  # column names listed in a message before "and N more"

FAMILIES = ("number", "integer", "boolean", "string", "category", "datetime", "other")
_LEVELS = ("string", "category")
# infer_dtype of an object column -> family (anything else is "other")
_OBJECT_FAMILIES = {
    "string": "string",
    "empty": "string",
    "boolean": "boolean",
    "integer": "integer",
    "floating": "number",
    "mixed-integer-float": "number",
}
_EXPECTED = {
    "number": "numbers",
    "integer": "whole numbers",
    "boolean": "booleans",
    "string": "strings",
    "category": "categories",
    "datetime": "datetimes",
}
_GOT = {**_EXPECTED, "integer": "integers", "other": "values of another type"}
_HINTS = {
    "number": ": convert it with pandas.to_numeric first",
    "integer": ": convert it with pandas.to_numeric first",
    "datetime": ": only ISO 8601 text is read as datetimes; parse it with pandas.to_datetime first",
}


class ContractError(MlopsError):
    """Input a model cannot use, or (when so configured) values its training data never had."""


class ContractWarning(UserWarning):
    """Values the training data never had: out of range, unseen levels, unexpected nulls."""


@dataclass
class ColumnSpec:
    """What one training column held. ``min``/``max`` are ISO strings for datetimes."""

    name: str | int
    family: str
    dtype: str
    null_rate: float
    min: float | int | str | None = None
    max: float | int | str | None = None
    tolerance: float | None = None
    categories: list[Any] | None = None
    ordered: bool | None = None
    free_text: bool = False
    levels: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Name, family, dtype and null rate first, then what the family records."""
        out: dict[str, Any] = {
            "name": self.name,
            "family": self.family,
            "dtype": self.dtype,
            "null_rate": self.null_rate,
        }
        if self.family in ("number", "integer", "datetime") and self.categories is None:
            out["min"], out["max"] = self.min, self.max
            if self.tolerance is not None:
                out["tolerance"] = self.tolerance
        if self.free_text:
            out["free_text"], out["levels"] = True, self.levels
        elif self.categories is not None:
            out["categories"] = self.categories
        if self.ordered is not None:
            out["ordered"] = self.ordered
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ColumnSpec":
        missing = [k for k in ("name", "family", "dtype", "null_rate") if k not in data]
        if missing:
            raise ContractError(f"contract column {data.get('name', data)!r} has no {missing[0]!r}")
        if data["family"] not in FAMILIES:
            raise ContractError(
                f"contract column {data['name']!r}: unknown family {data['family']!r}"
            )
        return cls(
            name=data["name"],
            family=data["family"],
            dtype=data["dtype"],
            null_rate=data["null_rate"],
            min=data.get("min"),
            max=data.get("max"),
            tolerance=data.get("tolerance"),
            categories=data.get("categories"),
            ordered=data.get("ordered"),
            free_text=bool(data.get("free_text", False)),
            levels=data.get("levels"),
        )


@dataclass
class _Finding:
    column: Any
    check: str
    severity: str  # error, warning or info
    detail: str
    rows: int | None = None
    extra: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"column": self.column, "check": self.check, "severity": self.severity}
        out |= {"rows": self.rows, "message": f"{self.column}: {self.detail}", **(self.extra or {})}
        return out


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
            raise ContractError(f"duplicate column names: {_names(dupes)}")
        if segment_column is not None and segment_column not in X.columns:
            raise ContractError(f"segment column {segment_column!r} is not a column of X")
        specs = [
            _learn_column(name, X.iloc[:, i], segment=name == segment_column)
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
        columns = [ColumnSpec.from_dict(c) for c in data["columns"]]
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
        names = _names(self.column_names)
        size = f"{_count(len(self.columns), 'column')} from {_count(self.rows, 'row')}"
        return f"Contract({size}: {names})"

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
        if on_violation not in ("warn", "raise"):
            raise ValueError(f"on_violation must be 'warn' or 'raise', not {on_violation!r}")
        findings, frame = self._check(df)
        errors = [f for f in findings if f.severity == "error"]
        if errors:
            raise ContractError(_summary(errors))
        extra = [f.column for f in findings if f.check == "extra_column"]
        if extra:
            warnings.warn(
                f"dropped {_count(len(extra), 'column')} the model was not trained on: "
                f"{_names(extra)}",
                UserWarning,
                stacklevel=2,
            )
        values = [f for f in findings if f.severity == "warning"]
        if values:
            if on_violation == "raise":
                raise ContractError(_summary(values))
            warnings.warn(_summary(values), ContractWarning, stacklevel=2)
        return frame  # type: ignore[return-value]  # None only with errors, raised above

    def _check(self, df: pd.DataFrame) -> tuple[list[_Finding], pd.DataFrame | None]:
        if not isinstance(df, pd.DataFrame):
            raise ContractError(f"model input must be a pandas DataFrame, got {type(df).__name__}")
        findings: list[_Finding] = []
        present = set(df.columns)
        dupes = set(df.columns[df.columns.duplicated()])
        out: dict[Any, pd.Series] = {}
        for spec in self.columns:
            if spec.name not in present:
                text = "missing (a training column)"
                findings.append(_Finding(spec.name, "missing_column", "error", text))
            elif spec.name in dupes:
                findings.append(
                    _Finding(spec.name, "duplicate_column", "error", "duplicated in the input")
                )
            else:
                series, found = _check_column(spec, df[spec.name], spec.name == self.segment_column)
                findings += found
                out[spec.name] = series
        known = set(self.column_names)
        for name in dict.fromkeys(df.columns):
            if name not in known:
                findings.append(_Finding(name, "extra_column", "info", "not a training column"))
        if any(f.severity == "error" for f in findings):
            return findings, None
        frame = pd.DataFrame(out, columns=self.column_names, copy=False)
        return findings, frame


# learning one column ----------------------------------------------------------------------------


def _family(s: pd.Series) -> str:
    """The family of a column's values: decides which checks and casts apply."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if ptypes.is_bool_dtype(dtype):
        return "boolean"
    if ptypes.is_integer_dtype(dtype):
        return "integer"
    if ptypes.is_float_dtype(dtype):
        return "number"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    if ptypes.is_object_dtype(dtype):
        return _OBJECT_FAMILIES.get(ptypes.infer_dtype(s, skipna=True), "other")
    if ptypes.is_string_dtype(dtype):
        return "string"
    return "other"


def _learn_column(name: str | int, s: pd.Series, segment: bool) -> ColumnSpec:
    family = _family(s)
    nulls = int(s.isna().sum())
    spec = ColumnSpec(name=name, family=family, dtype=str(s.dtype), null_rate=_rate(nulls, len(s)))
    if family == "category":
        spec.ordered = bool(s.dtype.ordered)
    if segment or family in _LEVELS:
        levels = _levels(s)
        if levels is None or (len(levels) > MAX_CATEGORIES and not segment):
            spec.free_text = True
            spec.levels = int(s.nunique())
        else:
            spec.categories = levels
    elif family in ("number", "integer"):
        values = pd.to_numeric(s) if ptypes.is_object_dtype(s.dtype) else s
        if family == "integer":
            present = values.dropna()
            if len(present):
                spec.min, spec.max = int(present.min()), int(present.max())
        else:
            arr = values.to_numpy(dtype="float64", na_value=np.nan)
            arr = arr[np.isfinite(arr)]
            if len(arr):
                single = getattr(s.dtype, "numpy_dtype", s.dtype).itemsize < 8
                spec.min, spec.max = (_short_float(v, single) for v in (arr.min(), arr.max()))
                bound = max(abs(spec.min), abs(spec.max))
                spec.tolerance = float(f"{RANGE_TOLERANCE * bound:.3g}")
    elif family == "datetime":
        present = s.dropna()
        if len(present):
            spec.min, spec.max = present.min().isoformat(), present.max().isoformat()
    return spec


def _levels(s: pd.Series) -> list[Any] | None:
    """The known levels as JSON scalars (declared order for categoricals, sorted otherwise)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        values = s.dtype.categories.tolist()
    else:
        values = pd.unique(s.dropna()).tolist()
        with contextlib.suppress(TypeError):  # mixed types keep their order of appearance
            values = sorted(values)
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    for v in values:
        ok = isinstance(v, (str, int, bool)) or (isinstance(v, float) and math.isfinite(v))
        if not ok:
            return None  # not representable in JSON: treat as free text
    return values


def _short_float(value: float, single: bool) -> float:
    """A float32's shortest repr (0.1, not 0.10000000149011612): readable, and within tolerance."""
    return float(str(np.float32(value))) if single else float(value)


def _rate(count: int, total: int) -> float:
    # four significant digits: readable, and a single null in a billion rows is still not zero
    return float(f"{count / total:.4g}") if total else 0.0


# checking one column ----------------------------------------------------------------------------


def _check_column(
    spec: ColumnSpec, s: pd.Series, segment: bool
) -> tuple[pd.Series, list[_Finding]]:
    """Type-check, look for values training never had, and cast one input column."""
    got = _family(s)
    if got == "string" and spec.family == "datetime":
        parsed = _iso_datetimes(s)
        if parsed is not None:
            s, got = parsed, "datetime"
    na = s.isna()  # once: on an object column of a million rows this costs 25 ms
    all_null = bool(na.all())
    if got in ("number", "integer") and ptypes.is_object_dtype(s.dtype):
        s = pd.to_numeric(s)
    problem = None if all_null else _type_problem(spec, s, got)
    if problem:
        detail, rows = problem
        extra = {"expected": spec.dtype, "got": str(s.dtype)}
        return s, [_Finding(spec.name, "type", "error", detail, rows, extra)]

    found: list[_Finding] = []
    nulls = int(na.sum())
    if nulls and spec.null_rate == 0:
        text = f"{_count(nulls, 'row')} missing (none in training)"
        found.append(_Finding(spec.name, "nulls", "warning", text, nulls))
    unseen: list[Any] = []
    if all_null:
        pass
    elif spec.categories is not None:
        unseen, finding = _unseen(spec, s, na, segment)
        found += [finding] if finding else []
    elif spec.min is not None and spec.family in ("number", "integer", "datetime"):
        found += _range_findings(spec, s)
    # nulls only, or strings to strings: nothing to lose, no round trip to pay for
    safe = all_null or (got == "string" and spec.family == "string")
    out = _cast(s, _target_dtype(spec, unseen), safe)
    if all_null and spec.family == "integer" and not ptypes.is_numeric_dtype(out.dtype):
        out = out.astype("float64")  # no int64 holds a null: numbers the model can read
    return out, found


def _iso_datetimes(s: pd.Series) -> pd.Series | None:
    """``s`` read as ISO 8601 datetimes (how JSON and CSV carry them), or None when a value is
    not one: other formats are ambiguous (is 01/02 January or February?), so they stay an error.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pd.to_datetime(s, format="ISO8601")
    except (TypeError, ValueError, OverflowError):
        return None


def _unseen(
    spec: ColumnSpec, s: pd.Series, na: pd.Series, segment: bool
) -> tuple[list[Any], _Finding | None]:
    """Levels of ``s`` training never had (most frequent first), and the finding naming them."""
    mask = ~(na | s.isin(spec.categories))
    count = int(mask.sum())
    if not count:
        return [], None
    counts = s[mask].value_counts()
    unseen = counts[counts > 0].index.tolist()  # a categorical also lists its unused levels
    what = "segments" if segment else "categories"
    shown = ", ".join(repr(v) for v in unseen[:EXAMPLES])
    more = ", ..." if len(unseen) > EXAMPLES else ""
    text = f"{_count(count, 'row')} with unseen {what} ({shown}{more})"
    extra = {"examples": unseen[:EXAMPLES], "unseen": len(unseen)}
    return unseen, _Finding(spec.name, f"unseen_{what}", "warning", text, count, extra)


def _type_problem(spec: ColumnSpec, s: pd.Series, got: str) -> tuple[str, int | None] | None:
    """Why ``s`` cannot stand for the learned column, as (message, rows); None when it can."""
    want = spec.family
    if want == "category":
        learned = _kind_of_values(spec.categories) if spec.categories is not None else None
        usable = learned is None or _level_kind(s) == learned
    elif want == "string":
        usable = got == "string" or (got == "category" and _level_kind(s) == "string")
    elif want == "other":
        usable = str(s.dtype) == spec.dtype or _cast(s, _resolve(spec.dtype)) is not s
    elif want == "datetime":
        usable = got == "datetime"
    else:
        usable = got in ("number", "integer", "boolean")
    if not usable:
        expected = spec.dtype if want == "other" else f"{_EXPECTED[want]} ({spec.dtype})"
        hint = _HINTS.get(want, "") if got == "string" else ""
        return f"expected {expected}, got {_GOT[got]} ({s.dtype}){hint}", None

    bad = 0
    if want == "integer" and got == "number":
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(arr) & (np.floor(arr) == arr)
            bad = int(np.count_nonzero(~np.isnan(arr) & ~whole))
        what = f"with fractions or infinities ({s.dtype})"
    elif want == "boolean" and got in ("number", "integer"):
        bad = int((s.notna() & ~s.isin([0, 1])).sum())
        what = f"other than 0 and 1 ({s.dtype})"
    if bad:
        return f"expected {_EXPECTED[want]} ({spec.dtype}), got {_count(bad, 'row')} {what}", bad
    if want == "datetime":
        learned_tz = getattr(_resolve(spec.dtype), "tz", None)
        if (learned_tz is None) != (getattr(s.dtype, "tz", None) is None):
            aware = "timezone-naive" if learned_tz is None else "timezone-aware"
            return f"expected {aware} datetimes ({spec.dtype}), got {s.dtype}", None
    return None


def _level_kind(s: pd.Series) -> str:
    """'string' or 'number' (or another family): what the levels of ``s`` are."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return _kind_of_values(s.dtype.categories)
    family = _family(s)
    return "number" if family in ("number", "integer") else family


def _kind_of_values(values: Any) -> str:
    kind = ptypes.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return "string"
    if kind in ("integer", "floating", "mixed-integer-float"):
        return "number"
    return kind


def _range_findings(spec: ColumnSpec, s: pd.Series) -> list[_Finding]:
    """Rows below the learned min and above the learned max (numbers within the tolerance)."""
    if spec.family == "datetime":
        lo, hi = pd.Timestamp(spec.min), pd.Timestamp(spec.max)
        words = ("before", "after")
    else:
        tol = spec.tolerance or 0
        lo, hi = spec.min - tol, spec.max + tol
        words = ("below", "above")
        if ptypes.is_bool_dtype(s.dtype):
            s = s.astype("Int8")
    out = []
    for check, word, bound, limit, count in (
        ("below_min", words[0], "min", spec.min, int(s.lt(lo).sum())),
        ("above_max", words[1], "max", spec.max, int(s.gt(hi).sum())),
    ):
        if count:
            text = f"{_count(count, 'row')} {word} the training {bound} {_fmt(limit, spec.family)}"
            out.append(_Finding(spec.name, check, "warning", text, count, {"limit": limit}))
    return out


def _target_dtype(spec: ColumnSpec, unseen: list[Any]) -> Any:
    """The dtype to cast to: the learned one (a categorical keeps its codes, unseen levels last)."""
    if spec.family == "category":
        if spec.categories is None:
            return _resolve("category")
        return pd.CategoricalDtype([*spec.categories, *unseen], ordered=bool(spec.ordered))
    return _resolve(spec.dtype)


def _resolve(name: str) -> Any:
    """The dtype named ``name`` in this pandas, or None when it cannot build it."""
    try:
        dtype = ptypes.pandas_dtype(name)
    except (TypeError, ValueError, ImportError):
        return None  # e.g. "string[pyarrow]" without pyarrow: leave the column as given
    if isinstance(dtype, np.dtype) and dtype.kind in "US":
        return np.dtype(object)  # "str" in pandas 2: its astype(str) turns nulls into 'nan'
    return dtype


def _cast(s: pd.Series, target: Any, safe: bool = False) -> pd.Series:
    """``s`` as ``target`` when the round trip gives ``s`` back exactly; else ``s`` unchanged.

    ``safe``: the caller knows nothing can be lost (a column of nulls, where None and NaT differ
    as objects but not as nulls; strings to a string dtype), so the cast needs no round trip.
    """
    if target is None or s.dtype == target:
        return s
    try:
        with np.errstate(all="ignore"):
            out = s.astype(target)
            back = None if safe else out.astype(s.dtype)
    except (TypeError, ValueError, OverflowError, ArithmeticError):
        return s
    return out if back is None or back.equals(s) else s


# messages and JSON ------------------------------------------------------------------------------


def _summary(findings: list[_Finding]) -> str:
    """One line: missing columns first, then each column's findings."""
    missing = [f.column for f in findings if f.check == "missing_column"]
    parts = []
    if missing:
        word = _count(len(missing), "column", bare=True)
        parts.append(f"missing {word} the model was trained on: {_names(missing)}")
    by_column: dict[Any, list[str]] = {}
    for f in findings:
        if f.check != "missing_column":
            by_column.setdefault(f.column, []).append(f.detail)
    parts += [f"{column}: {', '.join(details)}" for column, details in by_column.items()]
    return "; ".join(parts)


def _count(n: int, noun: str, bare: bool = False) -> str:
    word = noun if n == 1 else noun + "s"
    return word if bare else f"{n} {word}"


def _names(names: list[Any]) -> str:
    shown = ", ".join(str(n) for n in names[:NAMES_SHOWN])
    extra = len(names) - NAMES_SHOWN
    return f"{shown} and {extra} more" if extra > 0 else shown


def _fmt(value: Any, family: str) -> str:
    if family == "datetime":
        return str(pd.Timestamp(value))
    return str(value) if isinstance(value, int) else f"{value:.6g}"


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

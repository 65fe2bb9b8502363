"""One column of a data contract: what a training column held, and checking new values of it.

``contract.py`` builds a ``Contract`` from these specs; this module learns a spec from a training
column (``learn_column``), checks an input column against it (``check_column``, which returns
findings rather than raising), and words the findings. Like ``contract.py`` it needs pandas and
numpy only and works as a plain file: a packaged model ships it beside its copy of
``contract.py`` as ``<that copy's name>_columns.py``, which is where a plain copy looks for it
(hence this module's own name, ``contract_columns``). No ``from __future__ import annotations``:
dataclasses need the module registered to read string annotations.
"""

import contextlib
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

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
        """The spec ``to_dict`` wrote; ``ValueError`` names what is missing or unknown."""
        missing = [k for k in ("name", "family", "dtype", "null_rate") if k not in data]
        if missing:
            raise ValueError(f"contract column {data.get('name', data)!r} has no {missing[0]!r}")
        if data["family"] not in FAMILIES:
            raise ValueError(f"contract column {data['name']!r}: unknown family {data['family']!r}")
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
class Finding:
    """One thing ``check_column`` found: its severity decides raise, warn or report."""

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


def learn_column(name: str | int, s: pd.Series, segment: bool) -> ColumnSpec:
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


def check_column(spec: ColumnSpec, s: pd.Series, segment: bool) -> tuple[pd.Series, list[Finding]]:
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
        return s, [Finding(spec.name, "type", "error", detail, rows, extra)]

    found: list[Finding] = []
    nulls = int(na.sum())
    if nulls and spec.null_rate == 0:
        text = f"{counted(nulls, 'row')} missing (none in training)"
        found.append(Finding(spec.name, "nulls", "warning", text, nulls))
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
) -> tuple[list[Any], Finding | None]:
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
    text = f"{counted(count, 'row')} with unseen {what} ({shown}{more})"
    extra = {"examples": unseen[:EXAMPLES], "unseen": len(unseen)}
    return unseen, Finding(spec.name, f"unseen_{what}", "warning", text, count, extra)


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
        return f"expected {_EXPECTED[want]} ({spec.dtype}), got {counted(bad, 'row')} {what}", bad
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


def _range_findings(spec: ColumnSpec, s: pd.Series) -> list[Finding]:
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
            limit_text = formatted(limit, spec.family)
            text = f"{counted(count, 'row')} {word} the training {bound} {limit_text}"
            out.append(Finding(spec.name, check, "warning", text, count, {"limit": limit}))
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


def counted(n: int, noun: str, bare: bool = False) -> str:
    word = noun if n == 1 else noun + "s"
    return word if bare else f"{n} {word}"


def listed(names: list[Any]) -> str:
    shown = ", ".join(str(n) for n in names[:NAMES_SHOWN])
    extra = len(names) - NAMES_SHOWN
    return f"{shown} and {extra} more" if extra > 0 else shown


def formatted(value: Any, family: str) -> str:
    if family == "datetime":
        return str(pd.Timestamp(value))
    return str(value) if isinstance(value, int) else f"{value:.6g}"

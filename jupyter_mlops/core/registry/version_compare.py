"""Two versions of a registered model side by side: their runs' params and metrics, and how
their data contracts differ (columns added or removed, dtype, range, categories, required).

The contract is ``contract.json`` in each version's artifact, written at promotion. A shared
artifact store is untrusted input: only that file (and the digest manifest, when the version's
tag names one) is downloaded, only where the configured store serves the version's files itself,
and it must hash to what the version recorded at promotion (``digests``) before it is parsed as
JSON within a size limit. Nothing is unpickled or imported. A contract that cannot be read is
one line in ``contract.problems``; the rest of the comparison still answers.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ...config import Settings
from ...errors import MlopsError
from .. import store, tags

MAX_CONTRACT_BYTES = 2_000_000  # a contract lists columns and at most a few hundred levels each
MAX_LEVELS_SHOWN = 20  # categories added or removed named in one difference


def compare_versions(
    name: str,
    a: int | str,
    b: int | str,
    *,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
    client: Any = None,
) -> dict[str, Any]:
    """Versions ``a`` and ``b`` of model ``name`` compared, as a JSON-able dict: ``a`` and
    ``b`` (version, run id and name, status, who promoted it), ``params`` and ``metrics``
    (one row per key with both values and ``change``), and ``contract`` (each column's
    ``change`` and ``differences``, with a summary). Bad versions are a one-line
    ``MlopsError``; a missing model or version a ``NotFoundError``."""
    from ..session import project_settings
    from . import models
    from .version_runs import runs_by_id

    models.check_name(name)
    first, second = models.version_number(a), models.version_number(b)
    if first == second:
        raise MlopsError(f"choose two different versions to compare (both are {first})")
    settings = settings or project_settings(tracking_uri)
    client = store.retrying(client or models.registry_client(settings))
    model = models.registered_model(client, name, models.PAGE_SIZE)
    versions = [models.model_version(client, model.name, n) for n in (first, second)]
    found = runs_by_id(client, [mv.run_id for mv in versions if mv.run_id])
    runs = [found.get(mv.run_id or "") for mv in versions]
    contracts = [read_contract(client, mv, settings) for mv in versions]
    return {
        "name": model.name,
        "a": _side(versions[0], runs[0], contracts[0]),
        "b": _side(versions[1], runs[1], contracts[1]),
        "params": _values(*(dict(r.data.params) if r else {} for r in runs)),
        "metrics": _values(*(dict(r.data.metrics) if r else {} for r in runs)),
        "contract": contract_diff(contracts[0][0], contracts[1][0])
        | {"problems": {"a": contracts[0][1], "b": contracts[1][1]}},
    }


def _side(mv: Any, run: Any, contract: tuple[dict[str, Any] | None, str | None]) -> dict[str, Any]:
    user = (mv.tags or {}).get(tags.PROMOTED_BY) or getattr(mv, "user_id", None) or ""
    spec = contract[0]
    return {
        "version": int(mv.version),
        "run_id": mv.run_id or None,
        "run_name": (run.info.run_name or None) if run else None,
        "run_status": run.info.status if run else None,
        "user": " ".join(str(user).split())[:200] or None,
        "columns": len(spec["columns"]) if spec else None,
        "rows": spec.get("rows") if spec else None,
    }


def _values(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per key of either side: both values and ``same``, ``changed``, ``added`` (only
    in b) or ``removed`` (only in a)."""
    rows = []
    for key in sorted(set(a) | set(b)):
        if key not in a:
            change = "added"
        elif key not in b:
            change = "removed"
        else:
            change = "same" if _same(a[key], b[key]) else "changed"
        rows.append({"key": key, "a": a.get(key), "b": b.get(key), "change": change})
    return rows


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return True
    return x == y


# -- the contracts ------------------------------------------------------------------------------
def contract_diff(a: dict[str, Any] | None, b: dict[str, Any] | None) -> dict[str, Any]:
    """How contract ``b`` differs from contract ``a`` (``Contract.to_dict`` form), column by
    column in b's order then a's removed ones: ``added``, ``removed``, ``changed`` (with the
    ``differences``) or ``same``. Either missing: no columns, ``compared`` false."""
    if a is None or b is None:
        return {"compared": False, "columns": [], "added": [], "removed": [], "changed": []}
    old = {str(c["name"]): c for c in a["columns"]}
    new = {str(c["name"]): c for c in b["columns"]}
    columns = []
    for name, spec in new.items():
        if name not in old:
            columns.append(_column(name, "added", None, spec, []))
        else:
            found = column_differences(old[name], spec)
            columns.append(_column(name, "changed" if found else "same", old[name], spec, found))
    columns += [_column(n, "removed", s, None, []) for n, s in old.items() if n not in new]
    return {
        "compared": True,
        "columns": columns,
        **{kind: [c["name"] for c in columns if c["change"] == kind] for kind in _KINDS},
    }


_KINDS = ("added", "removed", "changed")


def _column(
    name: str, change: str, a: dict[str, Any] | None, b: dict[str, Any] | None, found: list
) -> dict[str, Any]:
    return {"name": name, "change": change, "a": a, "b": b, "differences": found}


def required(spec: dict[str, Any]) -> bool:
    """A column is required when its training data had no nulls: a null in it is news."""
    return not spec.get("null_rate")


def column_differences(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed in one column between two contracts: ``dtype`` (and its family), ``range``,
    ``categories``, ``free_text`` and ``required``; each ``{"what", "a", "b", "text"}``."""
    found = []
    if a.get("dtype") != b.get("dtype") or a.get("family") != b.get("family"):
        found.append(_diff("dtype", a.get("dtype"), b.get("dtype")))
    bounds = (a.get("min"), a.get("max")), (b.get("min"), b.get("max"))
    if bounds[0] != bounds[1] and any(v is not None for v in (*bounds[0], *bounds[1])):
        found.append(_diff("range", _range(*bounds[0]), _range(*bounds[1])))
    if bool(a.get("free_text")) != bool(b.get("free_text")):
        found.append(_diff("free_text", bool(a.get("free_text")), bool(b.get("free_text"))))
    levels = _levels(a.get("categories"), b.get("categories"))
    if levels:
        found.append(levels)
    if required(a) != required(b):
        word = {True: "required", False: "optional"}
        found.append(_diff("required", word[required(a)], word[required(b)]))
    return found


def _diff(what: str, a: Any, b: Any, text: str | None = None) -> dict[str, Any]:
    return {"what": what, "a": a, "b": b, "text": text or f"{what}: {a} → {b}"}


def _range(low: Any, high: Any) -> str:
    return "none" if low is None and high is None else f"{_short(low)} … {_short(high)}"


def _short(value: Any) -> str:
    """A bound as people read it: floats in 4 significant digits, the rest as recorded."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _levels(a: Any, b: Any) -> dict[str, Any] | None:
    """Levels added and removed; a column that gained or lost its levels altogether shows as
    a change of dtype or of ``free_text`` instead."""
    if not isinstance(a, list) or not isinstance(b, list) or a == b:
        return None
    added = [v for v in b if v not in a]
    removed = [v for v in a if v not in b]
    parts = []
    if added:
        parts.append("added " + _named(added))
    if removed:
        parts.append("removed " + _named(removed))
    text = "categories: " + ("; ".join(parts) if parts else "reordered")
    return {"what": "categories", "a": a, "b": b, "added": added, "removed": removed, "text": text}


def _named(values: list[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:MAX_LEVELS_SHOWN])
    more = len(values) - MAX_LEVELS_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def read_contract(
    client: Any, mv: Any, settings: Settings
) -> tuple[dict[str, Any] | None, str | None]:
    """The version's ``contract.json`` as ``Contract.to_dict`` wrote it, checked against the
    digest recorded at promotion, or ``(None, why)`` in one line."""
    from ...runtime.contract import Contract, ContractError
    from . import digests, models

    uri = f"models:/{mv.name}/{mv.version}"
    tag = (mv.tags or {}).get(tags.ARTIFACT_SHA256)
    if tag is None:
        return None, f"{uri} has no file digests recorded at promotion: its contract is not read"
    try:
        location = str(models.version_artifacts(client, mv, settings)).rstrip("/")
    except store.ForeignArtifactsError as exc:
        return None, f"{uri}: its files are not in this store's artifacts ({exc.kind}): not read"
    folder = Path(tempfile.mkdtemp(prefix="mlops-contract-"))
    try:
        manifest = None
        if digests.MANIFEST_FILE in tag:
            manifest = _file(location, digests.MANIFEST_FILE, folder, settings)
        try:
            expected = digests.recorded_files(tag, uri=uri, manifest=manifest)
        except digests.ArtifactDigestError as exc:
            return None, str(exc)
        if tags.CONTRACT not in expected:
            return None, f"{uri} has no data contract (promoted without X)"
        path = _file(location, tags.CONTRACT, folder, settings)
        if path is None:
            return None, f"{uri}: {tags.CONTRACT} is missing from the artifact"
        if path.stat().st_size > MAX_CONTRACT_BYTES:
            return None, f"{uri}: {tags.CONTRACT} is larger than a contract is: not read"
        if digests.file_sha256(path) != expected[tags.CONTRACT]:
            return None, (
                f"{uri}: {tags.CONTRACT} was modified after promotion (its sha256 differs from "
                "the one recorded on the version): not read"
            )
        try:
            data = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_refuse)
            return Contract.from_dict(data).to_dict(), None
        except (UnicodeDecodeError, ValueError, RecursionError, TypeError, ContractError) as exc:
            return None, f"{uri}: {tags.CONTRACT} is not a contract ({type(exc).__name__})"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _refuse(name: str) -> Any:
    raise ValueError(name)


def _file(location: str, path: str, folder: Path, settings: Settings) -> Path | None:
    """``path`` of the version artifact at ``location``, when the store has it as a file."""
    from . import digests

    found = digests.fetch(location, path, folder, settings)
    return found if found is not None and found.is_file() else None

"""A training reference rebuilt for a version promoted before references were kept.

Such a version's run recorded the DVC md5 of the data it used (``mlops.data.<path>`` tags,
copied onto the version at promotion). The object with that md5 in the project's DVC cache is
those exact bytes: it is read (CSV or Parquet, chosen by the recorded path's suffix) after its
md5 is checked, cut to the columns of the model's contract (``contract.json`` in the verified
artifact), and summarised in memory by ``reference.build_reference`` with the model's own
predictions on the sample. Nothing is written to the artifact: the version's files stay as
promoted. When any step is missing (no recorded data, not in the cache, a folder, another
format, no file with the contract's columns) one line says which, and the report says the
reference was rebuilt, from which path and md5.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from pathlib import Path
from typing import Any

from .. import tags
from .monitor_windows import MonitorError

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def rebuilt_reference(uri: str, settings: Any) -> tuple[Any, dict[str, Any]]:
    """``(reference, source)`` rebuilt from the training data the version's run recorded, or
    a one-line ``MonitorError`` saying why it cannot be."""
    from ..registry import load, models
    from ..registry.reference import ReferenceError, build_reference
    from ..registry.reference_load import Reference, no_reference, read_profile

    name, _, version = load.parse_uri(uri)
    client = models.registry_client(settings)
    mv = load.registered_version(client, name, None, version)
    why = f"{no_reference(uri)}; it cannot be rebuilt"
    recorded = recorded_data(client, mv)
    if not recorded:
        raise MonitorError(f"{why}: its run recorded no DVC-versioned data (mlops.data.use)")
    with warnings.catch_warnings():  # a version without digests warns; monitor reads only
        warnings.simplefilter("ignore")
        _, folder = load.verified_download(uri, settings)
    columns = contract_columns(folder)
    if columns is None:
        raise MonitorError(f"{why}: its artifact has no {tags.CONTRACT}")
    path, md5, X = training_frame(settings.root, recorded, columns, why)
    import mlflow.pyfunc

    from .. import store

    with store.quiet_logs("mlflow"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = mlflow.pyfunc.load_model(str(folder))
        try:
            files = build_reference(X, lambda rows: model.predict(rows))
        except ReferenceError as exc:
            raise MonitorError(f"{why}: {exc}") from None
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix="mlops-rebuilt-"))
    try:
        for file_name, data in files.items():
            (scratch / file_name).write_bytes(data)
        reference = Reference(
            uri, read_profile(scratch / "profile.json", uri), scratch / "sample.parquet"
        )
        reference.sample  # read now: the folder goes below  # noqa: B018
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    source = {
        "kind": "rebuilt",
        "rows": reference.profile["rows"],
        "sampled": reference.profile["sample"]["rows"],
        "path": path,
        "md5": md5,
    }
    return reference, source


def recorded_data(client: Any, mv: Any) -> dict[str, str]:
    """``{path: md5}`` recorded on the version (copied from its run), else on its run."""
    found = {k: v for k, v in (mv.tags or {}).items() if k.startswith(tags.DATA_PREFIX)}
    if not found and mv.run_id:
        from mlflow.exceptions import MlflowException

        try:
            run_tags = client.get_run(mv.run_id).data.tags
        except MlflowException:  # a deleted run: nothing recorded to rebuild from
            run_tags = {}
        found = {k: v for k, v in run_tags.items() if k.startswith(tags.DATA_PREFIX)}
    return {k[len(tags.DATA_PREFIX) :]: str(v) for k, v in sorted(found.items())}


def contract_columns(folder: Path) -> list[str] | None:
    """The training columns named by the artifact's contract, in training order."""
    found = sorted(folder.rglob(tags.CONTRACT))
    if not found:
        return None
    try:
        spec = json.loads(found[0].read_text(encoding="utf-8"))
        return [str(c["name"]) for c in spec["columns"]]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def training_frame(
    root: Path, recorded: dict[str, str], columns: list[str], why: str
) -> tuple[str, str, Any]:
    """(path, md5, X): the first recorded file that holds every contract column, read from the
    DVC cache with its md5 checked, cut to those columns."""
    from ...errors import MlopsError
    from ..data import dvc_repo

    if not dvc_repo.is_initialized(root):
        raise MonitorError(f"{why}: the project at {root} has no DVC repository")
    try:
        cache = dvc_repo.cache_dir(root)
    except MlopsError as exc:
        raise MonitorError(f"{why}: {exc}") from None
    reasons = []
    for path, md5 in recorded.items():
        kind = READERS.get(Path(path).suffix.lower())
        if md5.endswith(".dir") or kind is None:
            reasons.append(f"{path} is not one CSV or Parquet file")
            continue
        obj = cache / md5[:2] / md5[2:]
        if len(md5) != 32 or not obj.is_file():
            reasons.append(f"{path} (md5 {md5}) is not in the DVC cache (mlops.data.pull)")
            continue
        data = obj.read_bytes()
        if hashlib.md5(data, usedforsecurity=False).hexdigest() != md5:
            reasons.append(f"{path}: the cached object's md5 differs from the recorded {md5}")
            continue
        frame = _read(data, kind)
        if frame is None or any(c not in frame.columns for c in columns):
            reasons.append(f"{path} lacks the model's input columns")
            continue
        return path, md5, frame[columns]
    raise MonitorError(f"{why}: {'; '.join(reasons)}")


def _read(data: bytes, kind: str) -> Any:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        if kind == "csv":
            frame = pd.read_csv(io.BytesIO(data))
        else:
            frame = pq.read_table(pa.BufferReader(data)).to_pandas(ignore_metadata=True)
    except (ValueError, OSError, pa.ArrowException, pd.errors.ParserError):
        return None
    return frame.set_axis([str(c) for c in frame.columns], axis=1)


__all__ = ["contract_columns", "rebuilt_reference", "recorded_data", "training_frame"]

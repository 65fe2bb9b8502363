"""Reading a promoted version's training reference (``reference/``) as untrusted input.

A shared artifact store may be writable by people who cannot write the registry, and ``monitor``
acts on what the reference says. So only the ``reference/`` files are downloaded, each must be
one the version recorded at promotion, unchanged (``digests``); the JSON is parsed within a size
limit and checked for the shape ``reference`` writes; the Parquet sample is read by pyarrow
alone (no pickle, no extension types, no pandas metadata). Anything else is one line naming the
model version. A version without a reference says so in one line: rebuilding one from the
training data version its run recorded (DVC md5) is left to ``monitor``, at ``no_reference``.
"""

from __future__ import annotations

import functools
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import tags
from .reference import (
    FORMAT,
    MAX_LEVELS,
    PROFILE_BYTES,
    SAMPLE_BYTES,
    TEXT_CHARS,
    ReferenceError,
    as_text,
    cut_text,
)


class NoReferenceError(ReferenceError):
    """The version has no training reference (``monitor`` may rebuild one)."""


@dataclass
class Reference:
    """A promoted version's training reference: its profile, and its sample read when asked."""

    uri: str
    profile: dict[str, Any]
    sample_path: Path = field(repr=False)

    @property
    def columns(self) -> list[str]:
        """The training features profiled, in ``X``'s order."""
        return list(self.profile["columns"])

    @property
    def prediction_columns(self) -> list[str]:
        """The sample's prediction columns (``prediction``, or one per output)."""
        return list(self.profile["predictions"]["columns"])

    @functools.cached_property
    def sample(self) -> Any:
        """The sampled rows (features, then predictions) as a DataFrame, read on first use."""
        return read_sample(self.sample_path, self.uri, self.profile["sample"]["rows"])

    def features(self) -> Any:
        """The sample's feature columns: the reference frame ``drift`` takes."""
        return self.sample[[c for c in self.sample.columns if c not in self.prediction_columns]]

    def comparable(self, frame: Any) -> Any:
        """``frame`` (production inputs) prepared as the sample was: names as text, text cut
        at the same length, the same columns as text, so that ``drift`` compares like with like."""
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        texts = set(self.profile["sample"]["as_text"])
        out = {}
        for name in frame.columns:
            s = frame[name]
            # Arrow-backed text (as read from the inference log) is cut by Arrow, as fast as
            # a copy; the rest as the sample was cut
            arrow = getattr(s.dtype, "storage", None) == "pyarrow"
            s = s.str.slice(0, TEXT_CHARS) if arrow else cut_text(s)
            if name in texts:
                s = s.map(as_text)
            out[name] = s
        import pandas as pd

        return pd.DataFrame(out, index=frame.index)


def load_reference(
    model_uri: str, *, tracking_uri: str | None = None, settings: Any = None
) -> Reference:
    """The training reference of ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``.

    Downloads only the artifact's ``reference/`` files. A version promoted before references
    were kept (or without ``X``) has none: a one-line ``ReferenceError`` says so (rebuilding one
    from the training data version the run recorded is ``monitor``'s, not done here).
    """
    from ..session import project_settings
    from . import load, models

    name, alias, version = load.parse_uri(model_uri)
    settings = settings or project_settings(tracking_uri)
    client = models.registry_client(settings)
    mv = load.registered_version(client, name, alias, version)
    uri = f"models:/{mv.name}/{mv.version}"
    downloads: list[Path] = []
    try:
        folder = _download(client, mv, settings, uri, tags.REFERENCE_FOLDER, downloads)
        profile_path, sample_path = folder / "profile.json", folder / "sample.parquet"
        if not profile_path.is_file() and not sample_path.is_file():
            raise NoReferenceError(no_reference(uri))
        _check_digests(client, mv, settings, folder, uri, downloads)
        reference = Reference(uri, read_profile(profile_path, uri), sample_path)
        reference.sample  # read now: the downloaded files are removed below  # noqa: B018
        return reference
    finally:  # nothing left behind in the temporary folder, read or refused
        for path in downloads:
            shutil.rmtree(path, ignore_errors=True)


def _check_digests(
    client: Any, mv: Any, settings: Any, folder: Path, uri: str, downloads: list[Path]
) -> None:
    """Every file of ``reference/`` must be one recorded on the version at promotion, unchanged
    (``digests``): a reference is only worth comparing with if it is the one promoted."""
    from . import digests

    tag = (mv.tags or {}).get(tags.ARTIFACT_SHA256)
    present = digests.folder_sha256(folder)
    if tag is None:  # promoted before digests, so before references: this one was added since
        raise ReferenceError(
            f"{uri}: {tags.REFERENCE_FOLDER}/ was not recorded at promotion (the version has no "
            "file digests): not read"
        )
    manifest = None
    if digests.MANIFEST_FILE in tag:
        manifest = _download(client, mv, settings, uri, digests.MANIFEST_FILE, downloads)
    try:
        expected = digests.recorded_files(tag, uri=uri, manifest=manifest)
    except digests.ArtifactDigestError as exc:
        raise ReferenceError(str(exc)) from None
    prefix = f"{tags.REFERENCE_FOLDER}/"
    missing = [p for p in expected if p.startswith(prefix) and p[len(prefix) :] not in present]
    if missing:
        raise ReferenceError(f"{uri}: {missing[0]} is missing from the artifact: not read")
    for name, digest in present.items():
        path = f"{prefix}{name}"
        if path not in expected:
            raise ReferenceError(f"{uri}: {path} was added after promotion: not read")
        if expected[path] != digest:
            raise ReferenceError(
                f"{uri}: {path} was modified after promotion (its sha256 differs from the one "
                "recorded on the version): not read"
            )


def no_reference(uri: str) -> str:
    """The one line for a version without a training reference (the hook ``monitor`` extends
    by rebuilding one from the run's DVC-recorded training data)."""
    return (
        f"{uri} has no training reference (promoted before references were kept, or without "
        "X): promote it again with X to keep one"
    )


def _download(
    client: Any, mv: Any, settings: Any, uri: str, path: str, downloads: list[Path]
) -> Path:
    """``path`` of the version's artifact in a new temporary folder (added to ``downloads``,
    which the caller removes)."""
    import tempfile

    from . import digests, models

    location = str(models.version_artifacts(client, mv, settings)).rstrip("/")
    folder = Path(tempfile.mkdtemp(prefix="mlops-reference-"))
    downloads.append(folder)
    local = digests.fetch(location, path, folder, settings)
    if local is None:
        raise NoReferenceError(no_reference(uri))
    return local


def read_profile(path: Path, uri: str) -> dict[str, Any]:
    """``profile.json`` parsed within limits and checked for the shape we write."""
    if path.is_symlink() or not path.is_file():
        raise ReferenceError(f"{uri}: {tags.REFERENCE_PROFILE} is missing from the artifact")
    size = path.stat().st_size
    if size > PROFILE_BYTES:
        raise ReferenceError(
            f"{uri}: {tags.REFERENCE_PROFILE} has {size:,} bytes, more than a reference writes "
            f"({PROFILE_BYTES:,} at most): not read"
        )
    try:
        profile = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ReferenceError(f"{uri}: {tags.REFERENCE_PROFILE} is not valid JSON") from None
    problem = _shape_problem(profile)
    if problem:
        raise ReferenceError(f"{uri}: {tags.REFERENCE_PROFILE} is not a reference ({problem})")
    return profile


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _shape_problem(profile: Any) -> str | None:
    """What is wrong with a parsed profile, or None: the keys and types we write, nothing more."""
    if not isinstance(profile, dict) or profile.get("format") != FORMAT:
        return f"no format {FORMAT}"
    columns, predictions, sample = (profile.get(k) for k in ("columns", "predictions", "sample"))
    if not isinstance(columns, dict) or not isinstance(predictions, dict):
        return "no columns"
    if not isinstance(sample, dict) or not _count(sample.get("rows")):
        return "no sample row count"
    if not isinstance(sample.get("as_text"), list):
        return "no list of the sample's text columns"
    if not isinstance(predictions.get("columns"), list):
        return "no prediction columns"
    for name, column in [*columns.items(), *(predictions.get("profile") or {}).items()]:
        problem = _column_problem(column)
        if problem:
            return f"column {str(name)[:40]!r}: {problem}"
    return None


def _column_problem(column: Any) -> str | None:
    if not isinstance(column, dict):
        return "not an object"
    if column.get("kind") not in ("numeric", "categorical", "boolean", "datetime", "other"):
        return "unknown kind"
    rate = column.get("null_rate")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        return "null rate not in [0, 1]"
    for level in column.get("levels", []):
        if not (isinstance(level, list) and len(level) == 2 and _count(level[1])):
            return "a level is not [label, count]"
        label = level[0]
        if isinstance(label, str) and len(label) > TEXT_CHARS:
            return f"a level name longer than {TEXT_CHARS} characters"
        if not isinstance(label, (str, int, float, bool)):
            return "a level name is not text or a number"
    if len(column.get("levels", [])) > MAX_LEVELS:
        return f"more than {MAX_LEVELS} levels"
    if column["kind"] == "numeric":
        edges, counts = column.get("edges"), column.get("counts")
        if (
            not isinstance(edges, list)
            or not isinstance(counts, list)
            or not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in edges)
            or not all(_count(c) for c in counts)
            or len(counts) != len(edges) + 1
        ):
            return "bins are not numbers with one count more than edges"
    return None


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_sample(path: Path, uri: str, rows: int) -> Any:
    """``sample.parquet`` read with pyarrow: plain Arrow types only, no pandas metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.is_symlink() or not path.is_file():
        raise ReferenceError(f"{uri}: {tags.REFERENCE_SAMPLE} is missing from the artifact")
    if path.stat().st_size > 2 * SAMPLE_BYTES:
        raise ReferenceError(f"{uri}: {tags.REFERENCE_SAMPLE} is larger than a reference writes")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError):
        raise ReferenceError(
            f"{uri}: {tags.REFERENCE_SAMPLE} is not a readable Parquet file"
        ) from None
    if table.num_rows != rows or any(isinstance(t, pa.ExtensionType) for t in table.schema.types):
        raise ReferenceError(
            f"{uri}: {tags.REFERENCE_SAMPLE} is not the sample its profile describes"
        )
    return table.to_pandas(ignore_metadata=True)


__all__ = [
    "NoReferenceError",
    "Reference",
    "load_reference",
    "no_reference",
    "read_profile",
    "read_sample",
]

"""``mlops.score`` / ``jupyter mlops score``: a registered model over a CSV or Parquet file (or a
folder of Parquet files, optionally on a Dask cluster), in chunks, in bounded memory.

The steps: check the paths (``score_io.plan``), resolve the model once to one registered version
and its verified files (``target.resolve``), load it with the inference log told that name and
version, then stream each file chunk by chunk (``score_chunks.score_file``): the contract checked
per chunk, the predictions appended to the columns as read, every chunk's rows logged. The output
appears only when every chunk scored (a temporary name, renamed at the end).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import MlopsError
from ..session import project_settings
from . import score_chunks, score_io, target

if TYPE_CHECKING:
    from ...config import Settings

CHUNKSIZE = 100_000


@dataclass(frozen=True)
class ScoreResult:
    """What ``score`` did: the version that scored (pinned), the files, rows and chunks, rows with
    values the training data never had per column, and where the rows were logged."""

    model: str
    input: str
    output: str
    rows: int
    chunks: int
    files: int
    seconds: float
    violations: dict[str, int] = field(default_factory=dict)
    logged_to: str | None = None
    workers: str = "this process"
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the terminal."""
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"scored {self.rows:,} rows in {self.chunks:,} chunks ({self.files} file"
            f"{'s' if self.files != 1 else ''}) with {self.model} in {self.seconds:.1f} s "
            f"({rate:,.0f} rows/s, {self.workers}): {self.output}"
        ]
        if self.violations:
            flagged = ", ".join(f"{c} {n:,}" for c, n in sorted(self.violations.items()))
            lines.append(f"rows with values the training data never had: {flagged}")
        else:
            lines.append("rows with values the training data never had: none")
        lines.append(f"inference log: {self.logged_to}" if self.logged_to else "inference log: off")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """In a notebook, the summary the CLI prints (the fields stay on the object)."""
        printer.text(self.summary())


def score(
    uri: str,
    input: str | Path,
    output: str | Path,
    *,
    chunksize: int = CHUNKSIZE,
    settings: Settings | None = None,
    log: bool = True,
    dask: Any = None,
    progress: bool | None = None,
) -> ScoreResult:
    """Score ``input`` (CSV, Parquet, or a folder of Parquet files) with the registered model
    ``uri`` into ``output`` (the input's format, its columns plus the prediction column(s)),
    ``chunksize`` rows at a time, logging every row to the project's inference log unless
    ``log=False``. ``dask`` (a scheduler address or a ``distributed.Client``) scores a folder's
    files on that cluster. ``progress``: a bar on stderr (default: when stderr is a terminal).

    Input the model cannot use is an ``MlopsError`` naming the column and the rows; nothing is
    written then. Values the training data never had are counted in ``violations``.
    """
    started = time.perf_counter()
    if not isinstance(chunksize, int) or isinstance(chunksize, bool) or chunksize < 1:
        raise MlopsError(f"chunksize must be a whole number of rows, 1 or more, not {chunksize!r}")
    paths = score_io.plan(input, output)
    if dask is not None and not paths.folder:
        raise MlopsError("--dask scores a folder of Parquet files, one task per file: give one")
    settings = settings or project_settings()
    found = target.resolve(uri, settings)
    env = found.log_env(settings, enabled=log)
    total = paths.total_rows()
    bar = _bar(total, sys.stderr.isatty() if progress is None else progress)
    try:
        if dask is not None:
            done, workers = _on_dask(dask, found, env, paths, chunksize, bar)
        else:
            done, workers = _here(found, env, paths, chunksize, bar), "this process"
    finally:
        if bar is not None:
            bar.close()
    return ScoreResult(
        model=found.pinned_uri,
        input=str(paths.source),
        output=str(paths.output),
        rows=done.rows,
        chunks=done.chunks,
        files=len(paths.files),
        seconds=time.perf_counter() - started,
        violations=done.violations,
        logged_to=(env[target.LOG_ENV] or None) if done.logged else None,
        workers=workers,
        notes=done.notes,
    )


def _bar(total: int | None, shown: bool) -> Any:
    if not shown:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="row", unit_scale=True, desc="Scoring", file=sys.stderr)


def _here(
    found: target.Target, env: dict[str, str], paths: score_io.Plan, chunksize: int, bar: Any
) -> score_chunks.FileResult:
    """Every file in this process, one after the other; the log closed (written) at the end."""
    scoring = score_chunks.load(found.folder, env)
    done = score_chunks.FileResult()
    note = score_chunks.unlogged(scoring, env)
    if note:
        done.logged, done.notes = False, [note]
    folder = score_io.temporary_folder(paths.output) if paths.folder else None
    step = bar.update if bar is not None else None
    try:
        for source, name in paths.files:
            dest = folder / name if folder is not None else paths.output
            dest.parent.mkdir(parents=True, exist_ok=True)
            shown = str(source)
            done.add(
                score_chunks.score_file(
                    scoring, source, dest, paths.kind, chunksize, shown=shown, step=step
                )
            )
        if folder is not None:
            score_io.commit_folder(folder, paths.output)
    except BaseException:
        if folder is not None:
            score_io.discard_folder(folder)
        raise
    finally:
        if scoring.log is not None:
            scoring.log.close()
    if scoring.log is not None and scoring.log.dropped:
        done.notes.append(f"the inference log dropped {scoring.log.dropped:,} rows (see above)")
    return done


def _on_dask(
    address: Any,
    found: target.Target,
    env: dict[str, str],
    paths: score_io.Plan,
    chunksize: int,
    bar: Any,
) -> tuple[score_chunks.FileResult, str]:
    """One task per file on the cluster; each worker loads the verified model folder (a path
    on this machine: workers elsewhere need it, the input and the output on a shared
    filesystem at the same paths) and writes its rows to the inference log itself."""
    import uuid

    from ..batch.executors import DaskCluster

    cluster = DaskCluster(address)
    folder = score_io.temporary_folder(paths.output)
    done = score_chunks.FileResult()
    run = uuid.uuid4().hex[:8]
    try:
        tasks = []
        for i, (source, name) in enumerate(paths.files):
            dest = folder / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            tasks.append(
                {
                    "key": f"mlops-score-{run}-{i}",
                    "folder": str(found.folder),
                    "env": env,
                    "source": str(source),
                    "dest": str(dest),
                    "chunksize": chunksize,
                    "shown": str(source),
                }
            )
        for _, future in cluster.run(score_chunks.score_file_task, tasks, set):
            answer = future.result()
            part = score_chunks.FileResult(
                answer["rows"], answer["chunks"], answer["violations"], answer["notes"]
            )
            part.logged = answer["logged"]
            done.add(part)
            if bar is not None:
                bar.update(part.rows)
        score_io.commit_folder(folder, paths.output)
    except BaseException:
        cluster.abort()
        score_io.discard_folder(folder)
        raise
    finally:
        cluster.close()
    return done, cluster.describe()

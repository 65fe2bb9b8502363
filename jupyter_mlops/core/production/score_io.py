"""The files ``score`` streams: which input, which output, read and written in chunks.

Nothing here holds a whole file. Parquet is read with ``ParquetFile.iter_batches``; CSV with
pyarrow's streaming reader (``pyarrow.csv.open_csv``) rather than pandas' ``read_csv(chunksize=)``,
because pandas guesses each chunk's types anew (a column read as integers in chunk 1 can be floats
in chunk 7, and the output's schema would change with it), while here every column is read as
text, the one type that fits every chunk, and written back as read; the model's numeric columns
are read as the numbers it was trained on chunk by chunk (``typed``).
Either way the batches are cut into chunks of exactly ``chunksize`` rows (the last one shorter).

The output is written to a temporary name beside it (a dot file, or a dot folder for a folder of
Parquet files) and renamed into place only when every chunk scored: a failed or interrupted score
leaves no output, half-written or otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import MlopsError

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
READ_BUFFER = 1 << 20  # bytes read from a Parquet file at a time


@dataclass(frozen=True)
class Plan:
    """What to read and where to write: ``files`` are (input file, output name relative to the
    output folder) for a folder, or one (input, output) pair for a file."""

    source: Path
    output: Path
    kind: str  # "csv" or "parquet"
    folder: bool  # a folder of Parquet files in, a folder of Parquet files out
    files: tuple[tuple[Path, Path], ...]

    def total_rows(self) -> int | None:
        """The rows to score when the files say so (Parquet footers); None for CSV."""
        if self.kind != "parquet":
            return None
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(path).metadata.num_rows for path, _ in self.files)


def plan(source: str | os.PathLike[str], output: str | os.PathLike[str]) -> Plan:
    """Check the input and the output before anything is loaded; each problem is one line."""
    src, out = Path(source).expanduser(), Path(output).expanduser()
    if not src.exists():
        raise MlopsError(f"input {src} does not exist: give a CSV or Parquet file or a folder")
    if not out.parent.is_dir():
        raise MlopsError(f"the output's folder {out.parent} does not exist: create it first")
    if out.resolve() == src.resolve():
        raise MlopsError(f"the output {out} is the input: name another file")
    if src.is_dir():
        names = sorted(
            p
            for p in src.rglob("*")
            if p.suffix in (".parquet", ".pq")
            and p.is_file()
            and not any(part.startswith((".", "_")) for part in p.relative_to(src).parts)
        )
        if not names:
            raise MlopsError(f"the folder {src} holds no Parquet files (*.parquet)")
        if out.exists():
            raise MlopsError(
                f"the output folder {out} exists: remove it or name another (a folder of Parquet "
                f"files is written as a new folder)"
            )
        for path in names:
            readable(path, "parquet")
        return Plan(src, out, "parquet", True, tuple((p, p.relative_to(src)) for p in names))
    kind = SUFFIXES.get(src.suffix.lower())
    if kind is None:
        raise MlopsError(
            f"input {src} is neither CSV nor Parquet: name it .csv or .parquet, or give a folder "
            f"of Parquet files"
        )
    if SUFFIXES.get(out.suffix.lower()) != kind:
        raise MlopsError(
            f"the output is written in the input's format ({kind}): name it {out.stem}"
            f"{'.csv' if kind == 'csv' else '.parquet'}, not {out.name}"
        )
    if out.is_dir():
        raise MlopsError(f"the output {out} is a folder: name a file")
    readable(src, kind)
    return Plan(src, out, kind, False, ((src, Path(out.name)),))


def readable(path: Path, kind: str) -> None:
    """Open ``path`` as ``kind`` (its footer, or its first block): unreadable is one line."""
    import pyarrow as pa

    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            pq.ParquetFile(path).close()
        else:
            csv_columns(path)
    except OSError as exc:
        reason = exc.strerror or str(exc).splitlines()[0]
        raise MlopsError(f"cannot read input {path} ({reason})") from None
    except (pa.ArrowException, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise MlopsError(f"input {path} is not a readable {kind} file ({reason})") from None


def csv_columns(path: Path) -> list[str]:
    """The header's column names (pyarrow reads the first block only)."""
    from pyarrow import csv

    with csv.open_csv(path) as reader:
        return list(reader.schema.names)


def batches(path: Path, kind: str, chunksize: int) -> Iterator[Any]:
    """The file as ``pyarrow.Table`` chunks of ``chunksize`` rows, one schema throughout: a
    Parquet file's own, or for CSV every column as text (``typed`` reads the model's numbers
    chunk by chunk, so a value that is not one is named with its chunk's rows)."""
    import pyarrow as pa

    if kind == "parquet":
        import pyarrow.parquet as pq

        # no pre-buffering: pyarrow would read each row group's column chunks whole (a row
        # group can be the whole file); a buffered stream reads page by page instead
        handle = pq.ParquetFile(path, pre_buffer=False, buffer_size=READ_BUFFER)
        stream: Any = handle.iter_batches(batch_size=chunksize)
    else:
        from pyarrow import csv

        types = {name: pa.string() for name in csv_columns(path)}
        convert = csv.ConvertOptions(column_types=types, strings_can_be_null=True)
        handle = stream = csv.open_csv(path, convert_options=convert)
    with contextlib.closing(handle):
        yield from rechunk(stream, chunksize)


def typed(table: Any, specs: dict[Any, Any]) -> Any:
    """A CSV chunk (all text) with the contract's numeric and boolean columns read as what the
    model was trained on; levels, datetimes and text stay text, which the contract reads as a
    served model does. A value that is not a number is a ``ValueError`` naming the column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for name, spec in specs.items():
        if name not in table.column_names or spec.categories is not None:
            continue
        tries = {"number": ["float64"], "integer": ["int64", "float64"], "boolean": ["bool"]}
        for i, kind in enumerate(tries.get(spec.family, [])):
            try:
                column = pc.cast(table[name], pa.type_for_alias(kind))
            except pa.ArrowInvalid as exc:
                if i + 1 == len(tries[spec.family]):
                    found = str(exc).strip().splitlines()[0]
                    raise ValueError(f"{name}: {found} (the model was trained on {kind})") from None
                continue  # an integer column with fractions: the contract says so
            table = table.set_column(table.column_names.index(name), name, column)
            break
    return table


def rechunk(stream: Any, chunksize: int) -> Iterator[Any]:
    """Batches of any size as tables of exactly ``chunksize`` rows (the last one shorter)."""
    import pyarrow as pa

    held: list = []
    rows = 0
    for batch in stream:
        if batch.num_rows == 0:
            continue
        held.append(batch)
        rows += batch.num_rows
        while rows >= chunksize:
            table = pa.Table.from_batches(held)
            yield table.slice(0, chunksize).combine_chunks()
            rest = table.slice(chunksize)
            held, rows = rest.to_batches(), rest.num_rows
    if rows:
        yield pa.Table.from_batches(held).combine_chunks()


class Writer:
    """Appends chunks to a temporary file beside ``dest``; ``commit`` renames it into place,
    ``discard`` removes it. The first chunk fixes the schema; later ones are cast to it."""

    def __init__(self, dest: Path, kind: str) -> None:
        self.dest, self.kind = dest, kind
        self.temporary = dest.with_name(f".{dest.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
        self.writer: Any = None
        self.schema: Any = None

    def write(self, table: Any) -> None:
        if self.writer is None:
            self.schema = table.schema
            if self.kind == "parquet":
                import pyarrow.parquet as pq

                self.writer = pq.ParquetWriter(self.temporary, self.schema)
            else:
                from pyarrow import csv

                self.writer = csv.CSVWriter(self.temporary, self.schema)
        elif table.schema != self.schema:
            table = table.cast(self.schema)
        self.writer.write_table(table)

    def commit(self) -> None:
        if self.writer is None:  # an input without rows: its header (CSV) or schema only
            raise MlopsError(f"nothing to write to {self.dest}: the input has no rows")
        self.writer.close()
        with open(self.temporary, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(self.temporary, self.dest)

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            if self.writer is not None:
                self.writer.close()
        with contextlib.suppress(OSError):
            os.remove(self.temporary)


def temporary_folder(output: Path) -> Path:
    """A new dot folder beside ``output``, renamed to it by ``commit_folder``."""
    folder = output.with_name(f".{output.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    folder.mkdir()
    return folder


def commit_folder(temporary: Path, output: Path) -> None:
    if output.exists():
        raise MlopsError(f"the output folder {output} appeared while scoring: nothing replaced")
    os.replace(temporary, output)


def discard_folder(temporary: Path) -> None:
    shutil.rmtree(temporary, ignore_errors=True)

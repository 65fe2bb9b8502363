"""Cheap facts about a versioned table (rows, column types) without loading it: what a data
version records beside DVC's digest."""

from __future__ import annotations

from pathlib import Path

TABLE_SUFFIXES = {".csv", ".parquet", ".pq"}
_CHUNK = 1 << 20


def mlflow_type(dtype: str) -> str:
    """A column dtype as MLflow's colspec names its type (a dataset input's schema)."""
    kind = dtype.lower()
    if kind.startswith(("int", "uint")):
        return "long"
    if kind.startswith(("float", "double", "decimal")):
        return "double"
    if kind.startswith("bool"):
        return "boolean"
    if kind.startswith(("datetime", "timestamp", "date")):
        return "datetime"
    return "string"


def describe_table(path: Path) -> tuple[int | None, dict[str, str] | None]:
    """Row count and column dtypes of a csv or parquet file, without loading it.

    parquet: from its footer. csv: dtypes from the first 1,000 rows, rows by counting line
    breaks in 1 MiB chunks (a quoted field spanning lines counts as more than one row).
    """
    suffix = path.suffix.lower()
    if not path.is_file() or suffix not in TABLE_SUFFIXES:
        return None, None
    try:
        if suffix in {".parquet", ".pq"}:
            import pyarrow.parquet as pq

            meta = pq.read_metadata(path)
            schema = meta.schema.to_arrow_schema()
            return meta.num_rows, {f.name: str(f.type) for f in schema}
        import pandas as pd

        head = pd.read_csv(path, nrows=1000)
        columns = {str(c): str(t) for c, t in head.dtypes.items()}
        lines, last = 0, b"\n"
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
        if last != b"\n":
            lines += 1
        return max(lines - 1, 0), columns
    except Exception:  # an unreadable table is still data: version it, just without a schema
        return None, None

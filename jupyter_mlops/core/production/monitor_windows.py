"""The windows ``monitor`` judges, and the logged rows that fall in them.

A window is ``1h``, ``6h``, ``1d``, ``7d``...: whole hours or days. Windows are laid from
``since`` floored to UTC midnight (days, and hours that divide a day: ``6h`` windows start at
00, 06, 12, 18) or to the hour (other hours), so that monitoring the same period twice judges
the same windows; the last one ends at ``until`` (it may be shorter: its end says so).

The inference log is untrusted input (a shared folder or bucket): it is read with pyarrow's
dataset reader, filtered to one version's partition and to ``[since, until)`` on ``_mlops_ts``
before any row is materialised, only the columns monitoring needs, and without pandas metadata.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from ...errors import MlopsError

WINDOW = re.compile(r"^\s*(\d{1,4})\s*([hd])\s*$")
MAX_WINDOWS = 1000  # windows in one call at most: each becomes a run
UTC = dt.timezone.utc


class MonitorError(MlopsError):
    """Bad input to ``monitor``: one line saying what to change."""


@dataclass(frozen=True)
class Window:
    """One window: ``[start, end)`` in UTC."""

    start: dt.datetime
    end: dt.datetime

    @property
    def start_iso(self) -> str:
        return iso(self.start)

    @property
    def end_iso(self) -> str:
        return iso(self.end)


def parse_window(text: Any) -> dt.timedelta:
    """``1h``, ``6h``, ``1d``, ``7d``: whole hours or days (at least one)."""
    match = WINDOW.match(text) if isinstance(text, str) else None
    if match is None or int(match[1]) == 0:
        raise MonitorError(
            f"window {text!r} is not a number of hours or days: give one such as 1h, 6h, 1d or 7d"
        )
    n = int(match[1])
    return dt.timedelta(hours=n) if match[2] == "h" else dt.timedelta(days=n)


def parse_time(value: Any, what: str) -> dt.datetime | None:
    """An ISO 8601 date or time as an aware UTC datetime (a naive one is taken as UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime(value.year, value.month, value.day)
    else:
        try:
            text = str(value).strip()
            if text[-1:] in ("Z", "z"):  # Python 3.10 reads no "Z": the same instant spelled out
                text = text[:-1] + "+00:00"
            stamp = dt.datetime.fromisoformat(text)
        except ValueError:
            raise MonitorError(
                f"--{what} {str(value)[:60]!r} is not an ISO 8601 date or time: give one such "
                "as 2026-12-01 or 2026-12-01T06:00Z"
            ) from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def iso(stamp: dt.datetime) -> str:
    """``2026-12-01T00:00:00Z``: the form every record of a window uses."""
    return stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def floor(stamp: dt.datetime, length: dt.timedelta) -> dt.datetime:
    """The start of the aligned window holding ``stamp``: midnight for days and for hours that
    divide a day, else the hour."""
    stamp = stamp.astimezone(UTC)
    midnight = stamp.replace(hour=0, minute=0, second=0, microsecond=0)
    if length >= dt.timedelta(days=1):
        return midnight
    hours = int(length.total_seconds() // 3600)
    if 24 % hours == 0:
        return midnight + dt.timedelta(hours=(stamp.hour // hours) * hours)
    return stamp.replace(minute=0, second=0, microsecond=0)


def windows(since: dt.datetime, until: dt.datetime, length: dt.timedelta) -> list[Window]:
    """The aligned windows from ``since`` to ``until`` (the first and last cut there)."""
    if until <= since:
        raise MonitorError(
            f"--until {iso(until)} is not after --since {iso(since)}: give a later --until"
        )
    start = floor(since, length)
    count = -(-(until - start) // length)
    if count > MAX_WINDOWS:
        raise MonitorError(
            f"{iso(since)} .. {iso(until)} holds {count:,} windows of {length}, more than "
            f"{MAX_WINDOWS:,}: give a longer --window or a later --since"
        )
    out = []
    while start < until:  # the first window starts at since, the last ends at until
        out.append(Window(max(start, since), min(start + length, until)))
        start += length
    return out


# -- the logged rows -------------------------------------------------------------------------------
def log_dataset(location: str, name: str, uri: str) -> Any:
    """The model's inference log as a ``pyarrow.dataset``; a location or model without one is
    one line."""
    import pyarrow as pa

    from ...runtime import inference_log

    try:
        found = inference_log.dataset(location, name)
    except (FileNotFoundError, pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise MonitorError(
            f"no inference log of {uri} at {location} ({reason}): serve or score the model with "
            "the log on, or set inference_log / MLOPS_INFERENCE_LOG to where it is"
        ) from None
    return found


def version_filter(version: str, since: dt.datetime | None, until: dt.datetime | None) -> Any:
    """Rows of this version's partition with ``_mlops_ts`` in ``[since, until)``."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    from ...runtime.inference_log_files import TS

    where = ds.field("version") == str(version)  # hive partitions read back URI-decoded
    ts = pa.timestamp("us", tz="UTC")
    # the date partitions too (YYYY-MM-DD compares as text): other days' files are not opened
    if since is not None:
        where = where & (ds.field("date") >= since.astimezone(UTC).strftime("%Y-%m-%d"))
        where = where & (ds.field(TS) >= pa.scalar(since, ts))
    if until is not None:
        last = (until - dt.timedelta(microseconds=1)).astimezone(UTC)
        where = where & (ds.field("date") <= last.strftime("%Y-%m-%d"))
        where = where & (ds.field(TS) < pa.scalar(until, ts))
    return where


def first_stamp(dataset: Any, version: str) -> dt.datetime | None:
    """The earliest ``_mlops_ts`` logged for this version, or None when it logged nothing."""
    import pyarrow.compute as pc

    from ...runtime.inference_log_files import TS

    if TS not in dataset.schema.names:
        return None
    table = dataset.to_table(columns=[TS], filter=version_filter(version, None, None))
    if table.num_rows == 0:
        return None
    low = pc.min(table.column(TS)).as_py()
    return low.astimezone(UTC) if low is not None else None


def read_rows(
    dataset: Any, version: str, since: dt.datetime, until: dt.datetime, columns: list[str]
) -> Any:
    """The logged rows of ``[since, until)`` as an Arrow table of the ``columns`` that exist in
    the log (the others are absent, and said so by the report). Kept in Arrow: only the rows
    drift compares become pandas (``monitor_report``). ``monitor`` reads one window at a time,
    so memory is bounded by the largest window, not the period."""
    from ...runtime.inference_log_files import TS

    present = [c for c in dict.fromkeys([TS, *columns]) if c in dataset.schema.names]
    return dataset.to_table(columns=present, filter=version_filter(version, since, until))


__all__ = [
    "MonitorError",
    "Window",
    "first_stamp",
    "iso",
    "log_dataset",
    "parse_time",
    "parse_window",
    "read_rows",
    "windows",
]

"""Faults lose nothing (issue 16), at small sizes: the crash matrix and the concurrent logging of
``benchmarks/bench_reliability.py``, run by the same code and asserted.

Every operation meets one fault and every fault kind lands at least once: SIGKILL of a kernel in
a tracked cell and of a ``jupyter mlops sweep`` with a point running, a kernel restart through
jupyter_client during ``data add``, Ctrl-C on ``jupyter mlops run`` and an interrupt during
promote's fresh-process verification. One project and one work kernel see every fault; that
kernel and two more log at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_reliability as rel

CELLS = [
    ("SIGKILL", "tracked cell"),
    ("restart", "data add"),
    ("SIGINT", "batch run"),
    ("SIGINT", "promote"),
    ("SIGKILL", "sweep child"),
]


def test_faults_lose_nothing_and_concurrent_kernels_lose_no_value(
    tmp_path: Path, mlflow_server: str
) -> None:
    assert {f for f, _ in CELLS} == set(rel.FAULTS)
    assert {o for _, o in CELLS} == set(rel.OPERATIONS)
    bench = rel.Bench(tmp_path, size_mb=16, warm_promote=False)
    try:
        for fault, operation in CELLS:
            cell = bench.one(fault, operation)
            where = f"{fault} x {operation} ({cell.moment})"
            assert "missed" not in cell.moment, where  # the fault hit the operation mid-way
            assert cell.running == 0, where
            assert (cell.lost, cell.changed) == ([], []), where
            assert cell.consistent, (where, cell.problems)
            assert cell.loaded == cell.versions, (where, cell.problems)
            assert cell.leftover == [], where  # no process of the killed one lives on
            if operation == "data add":
                assert cell.dvc_clean is True, (where, cell.dvc_note)
        kernels = [bench.kernel(), *rel.start_kernels(bench.root(), 2)]
        bench.kernels.update(enumerate(kernels[1:]))  # closed with the work kernel
        embedded = f"sqlite:///{(bench.root() / '.mlops' / 'mlflow.db').as_posix()}"
        for uri in (embedded, mlflow_server):
            result = rel.concurrency(kernels, 100, uri, "test")
            assert (result.found, result.expected) == (300, 300), uri
            assert result.errors == [], uri
    finally:
        bench.close()

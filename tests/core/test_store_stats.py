"""The project's sqlite store gets the table statistics SQLite needs to plan MLflow's searches:
without them a search ordered by a metric scans every run against every value (seconds at
10,000 runs). Real store, runs made by MLflow and copied in SQL to reach a realistic size."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

from jupyter_mlops.config import resolve_settings
from jupyter_mlops.core import store

# the shape of MLflow 3's query for `order_by=["metrics.auc DESC"]` (sqlalchemy_store)
ORDER_BY_METRIC = """
SELECT DISTINCT runs.run_uuid, anon_1.value FROM runs LEFT OUTER JOIN (
  SELECT latest_metrics.value AS value, latest_metrics.run_uuid AS run_uuid FROM latest_metrics
  WHERE latest_metrics."key" = 'auc') AS anon_1 ON runs.run_uuid = anon_1.run_uuid
WHERE runs.experiment_id IN (?) AND runs.lifecycle_stage IN ('active')
ORDER BY anon_1.value DESC, runs.start_time DESC, runs.run_uuid LIMIT 101
"""


def plan(db: Path, exp: str) -> str:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + ORDER_BY_METRIC, (exp,)).fetchall()
    return " | ".join(row[-1] for row in rows)


def test_a_grown_store_is_analyzed_and_its_metric_order_uses_an_index(project: Path) -> None:
    settings = resolve_settings(project)
    store.prepare(settings)
    db = settings.sqlite_path
    client = store.client(settings)
    exp = store.experiment_id(settings, "stats")
    for i in range(3):
        run = client.create_run(exp, run_name=f"seed-{i}")
        client.log_metric(run.info.run_id, "auc", i / 10)
    with sqlite3.connect(db) as conn:  # 3,000 runs: each seed copied under new ids
        columns = [row[1] for row in conn.execute("PRAGMA table_info(runs)")]
        picked = ", ".join(
            {"run_uuid": "?", "start_time": "start_time + ?"}.get(c, c) for c in columns
        )
        seeds = [row[0] for row in conn.execute("SELECT run_uuid FROM runs")]
        for copy in range(1000):
            for old in seeds:
                new = uuid.uuid4().hex
                conn.execute(
                    f"INSERT INTO runs ({', '.join(columns)}) SELECT {picked} FROM runs"
                    " WHERE run_uuid = ?",
                    (new, copy, old),
                )
                conn.execute(
                    "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid)"
                    " SELECT key, value + ?, timestamp, step, is_nan, ? FROM latest_metrics"
                    " WHERE run_uuid = ?",
                    (copy / 1000, new, old),
                )
        conn.execute("DROP TABLE IF EXISTS sqlite_stat1")
    assert "SCAN anon_1" in plan(db, exp)  # what MLflow's search costs without statistics

    assert store.refresh_planner_stats(db) is True
    with sqlite3.connect(db) as conn:
        (stat,) = conn.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = 'runs'").fetchone()
    assert int(stat.split()[0]) == 3003
    assert "SCAN anon_1" not in plan(db, exp) and "INDEX" in plan(db, exp).split("anon_1")[-1]
    assert store.refresh_planner_stats(db) is False  # fresh statistics are left alone

    # and MLflow's own search still answers in metric order
    best = client.search_runs([exp], order_by=["metrics.auc DESC"], max_results=3)
    values = [r.data.metrics["auc"] for r in best]
    assert values == sorted(values, reverse=True) and len(values) == 3

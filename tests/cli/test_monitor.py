"""``jupyter mlops monitor`` as cron or CI runs it: the console script in a real subprocess over a
real promoted model and its real inference log (built as in ``tests/core/test_monitor.py``)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import cli, client_for
from tests.core.test_monitor import monitoring_runs, project_at, shared_shop


@pytest.fixture(scope="module")
def shop(tmp_path_factory, _shell):
    built = shared_shop(tmp_path_factory, _shell)  # built once per session
    with project_at(built["root"]):
        yield built


def no_constant(name: str):
    raise ValueError(f"{name} in the JSON")


def test_a_drifted_day_exits_3_naming_its_columns_in_text_json_and_runs(shop):
    root = shop["root"]
    before = len(monitoring_runs(client_for(root)))
    done = cli("monitor", "shop@live", "--since", "2026-11-02", "--until", "2026-11-05", cwd=root)
    assert done.returncode == 3, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("models:/shop/1: 1d windows 2026-11-02T00:00:00Z")
    assert lines[1].split()[:4] == ["2026-11-02T00:00:00Z", "4,000", "rows", "stable"]
    assert lines[2].split()[:5] == ["2026-11-03T00:00:00Z", "4,000", "rows", "drifted:", "amount,"]
    assert "channel" in lines[2] and "predictions drifted" in lines[2]
    assert lines[3].split()[:4] == ["2026-11-04T00:00:00Z", "0", "rows", "empty"]
    assert lines[4].startswith("drifted: 2 input columns drifted (amount, channel)")

    done = cli(
        "monitor",
        "shop/1",
        "--since",
        "2026-11-02",
        "--until",
        "2026-11-05",
        "--json",
        cwd=root,
    )
    assert done.returncode == 3, done.stderr
    report = json.loads(done.stdout, parse_constant=no_constant)  # strict JSON: no NaN
    assert report["drifted"] == ["amount", "channel"]
    assert [w["verdict"] for w in report["windows"]] == ["stable", "drifted", "empty"]
    assert [w["drifted"] for w in report["windows"]] == [[], ["amount", "channel"], []]
    assert report["prediction_drifted"] is True and report["rows"] == 8000
    # both calls recorded their windows: 2 x 3 runs
    runs = monitoring_runs(client_for(root))
    assert len(runs) == before + 6 and {r.info.status for r in runs} == {"FINISHED"}
    assert {r.info.run_id for r in runs} >= {w["run_id"] for w in report["windows"]}


def test_a_stable_day_exits_0(shop):
    done = cli(
        "monitor",
        "shop",
        "--since",
        "2026-11-02",
        "--until",
        "2026-11-03",
        "--no-record",
        cwd=shop["root"],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("stable: no input column drifted")


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["nope"], {}, "no registered model"),
        (["shop", "--since", "last week"], {}, "--since 'last week' is not an ISO 8601"),
        (["shop", "--window", "90m"], {}, "window '90m' is not a number of hours or days"),
        (["shop@live"], {"MLOPS_INFERENCE_LOG": "{empty}"}, "no inference log of models:/shop/1"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(shop, tmp_path, args, env, needle):
    env = {k: v.format(empty=tmp_path) for k, v in env.items()}
    done = cli("monitor", *args, cwd=shop["root"], env=env)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("jupyter mlops monitor: ") and needle in line

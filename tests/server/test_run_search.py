"""``GET runs`` with ``filter`` and ``order_by`` through a real Jupyter server on the seeded
store: MLflow's syntax, run names in plain words, orders both ways, pages, and one 400 line
(``bad_filter``) for each search MLflow's parser refuses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import MANY_RUNS
from tests.server.test_api import assert_error, call

T0 = 1_700_000_000_000  # the seeded runs' start time (tests/server/conftest.py)


async def names(jp_fetch, experiment_id: str, **params: Any) -> list[str]:
    status, reply = await call(jp_fetch, "runs", params={"experiment_id": experiment_id, **params})
    assert status == 200, reply
    return [r["name"] for r in reply["runs"]]


async def test_a_filter_in_mlflows_syntax(jp_fetch, seeded) -> None:
    churn = seeded["experiments"]["churn"]
    assert await names(jp_fetch, churn, filter="metrics.auc > 0.9") == ["lr"]
    assert await names(jp_fetch, churn, filter="metrics.auc < 0.9") == ["rf"]
    both = "params.solver = 'lbfgs' and tags.dataset = 'churn_v3'"
    assert await names(jp_fetch, churn, filter=both) == ["lr"]
    assert await names(jp_fetch, churn, filter="params.solver = 'sgd'") == []
    assert await names(jp_fetch, churn, filter="attributes.status = 'FINISHED'") == ["rf", "lr"]
    assert await names(jp_fetch, churn, filter="  ") == ["rf", "lr"]  # no filter


async def test_plain_words_search_run_names(jp_fetch, seeded, mlflow_client) -> None:
    churn = seeded["experiments"]["churn"]
    for name in ("rf baseline", "o'brien's run", "50% sample", "back\\slash"):
        mlflow_client.create_run(churn, run_name=name, start_time=T0)
    assert await names(jp_fetch, churn, filter="RF") == ["rf", "rf baseline"]
    assert await names(jp_fetch, churn, filter="rf   baseline") == ["rf baseline"]
    assert await names(jp_fetch, churn, filter="o'brien's") == ["o'brien's run"]
    assert await names(jp_fetch, churn, filter="50%") == ["50% sample"]
    assert await names(jp_fetch, churn, filter="back\\slash") == ["back\\slash"]
    assert await names(jp_fetch, churn, filter="xgboost") == []
    # the rule, spelled out: an operator makes it MLflow's syntax
    explicit = "attributes.run_name ILIKE '%baseline%'"
    assert await names(jp_fetch, churn, filter=explicit) == ["rf baseline"]


async def test_order_by_both_ways_and_several_clauses(jp_fetch, seeded, mlflow_client) -> None:
    churn = seeded["experiments"]["churn"]
    assert await names(jp_fetch, churn, order_by="metrics.auc DESC") == ["lr", "rf"]
    assert await names(jp_fetch, churn, order_by="metrics.auc ASC") == ["rf", "lr"]
    assert await names(jp_fetch, churn, order_by="metrics.auc") == ["rf", "lr"]
    for name, alpha in (("b", "1"), ("a", "1"), ("c", "0")):
        run_id = mlflow_client.create_run(churn, run_name=name).info.run_id
        mlflow_client.log_param(run_id, "alpha", alpha)
    status, reply = await call(
        jp_fetch,
        "runs",
        params=[
            ("experiment_id", churn),
            ("filter", "params.alpha != '0.1'"),
            ("order_by", "params.alpha DESC"),
            ("order_by", "attributes.run_name ASC"),
        ],
    )
    assert status == 200, reply
    assert [r["name"] for r in reply["runs"]] == ["a", "b", "c"]


async def test_pages_keep_the_filter_and_the_order(jp_fetch, seeded) -> None:
    # start times are T0 + index % 7: 142 of the 250 runs start at T0 + 3 or later
    expected = sum(1 for index in range(MANY_RUNS) if index % 7 >= 3)
    params = {
        "experiment_id": seeded["experiments"]["many"],
        "filter": f"attributes.start_time >= {T0 + 3}",
        "order_by": "attributes.start_time ASC",
        "max_results": "50",
    }
    seen: list[str] = []
    starts: list[str] = []
    while True:
        status, reply = await call(jp_fetch, "runs", params=params)
        assert status == 200, reply
        seen += [r["run_id"] for r in reply["runs"]]
        starts += [r["start_time"] for r in reply["runs"]]
        if not reply["next_page_token"]:
            break
        params["page_token"] = reply["next_page_token"]
    assert len(seen) == expected == len(set(seen)) == 142
    assert starts == sorted(starts) and starts[0] != starts[-1]


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "metrics.auc >"},
        {"filter": "metrics.auc > 'high'"},
        {"filter": "metrics.auc LIKE 1"},
        {"filter": "params.solver = lbfgs"},
        {"filter": "params.solver > 'a'"},
        {"filter": "nothing.auc = 1"},
        {"filter": "attributes.nope = 'x'"},
        {"filter": "metrics.auc > 1 or metrics.auc < 0"},
        {"filter": "metrics.auc > 1; DROP TABLE runs"},
        {"filter": "rf in prod"},  # an operator word second: MLflow's syntax, and not valid
        {"filter": "metrics.auc"},  # a key still being typed is not a name
        {"filter": "(" * 400 + "metrics.auc > 1" + ")" * 400},
        {"filter": "metrics.auc > 1 and " * 200 + "metrics.auc > 1"},  # too long
        {"filter": " and ".join(f"params.p{i} = 'x'" for i in range(21))},  # 21 joins
        {"filter": f"attributes.start_time > {2**63}"},  # past a store's integers
        {"order_by": "metrics.auc SIDEWAYS"},
        {"order_by": "metrics.auc DESC, params.alpha"},
        {"order_by": "nothing.auc"},
        {"order_by": "attributes.nope"},
        {"order_by": "datasets.name"},
        {"order_by": ["metrics.auc", "metrics.auc DESC"]},
        {"order_by": ["attributes.start_time", "attributes.created DESC"]},  # one key, twice
        {"order_by": [f"params.p{i}" for i in range(11)]},
        {"order_by": "params." + "x" * 300},
    ],
)
async def test_a_bad_search_is_one_400_line(jp_fetch, seeded, params) -> None:
    query: list[tuple[str, str]] = [("experiment_id", seeded["experiments"]["churn"])]
    for key, value in params.items():
        query += [(key, v) for v in (value if isinstance(value, list) else [value])]
    status, reply = await call(jp_fetch, "runs", params=query)
    assert_error(status, reply, 400)
    assert reply["error"] == "bad_filter", reply
    assert len(reply["message"]) < 400


def test_the_notebooks_runs_search_the_same_way(module_project) -> None:
    """``mlops.runs(filter=...)`` shares the rule: plain words find names, a bad filter is one
    line naming it."""
    import jupyter_mlops as mlops
    from jupyter_mlops.config import resolve_settings
    from jupyter_mlops.core import run_search, store
    from jupyter_mlops.errors import MlopsError

    settings = resolve_settings(module_project, environ={})
    store.prepare(settings)
    client = store.client(settings)
    experiment = client.create_experiment("search-notebook")
    for name in ("rf baseline", "lr"):
        client.create_run(experiment, run_name=name)
    found = mlops.runs("search-notebook", filter="baseline")
    assert found["name"].tolist() == ["rf baseline"]
    with pytest.raises(MlopsError, match=r"^filter 'metrics.auc >' is not a search") as exc:
        mlops.runs("search-notebook", filter="metrics.auc >")
    assert isinstance(exc.value, run_search.BadSearch) and "\n" not in str(exc.value)

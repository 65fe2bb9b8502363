"""Property-based fuzzing of every REST route (issue 16): whatever the path parameters, query
string, method and body, the real Jupyter server answers JSON and never a 5xx.

The routes come from ``ROUTES`` (plus the catch-all), so a new route is fuzzed with no change
here. Hypothesis drives plain ``requests`` from a worker thread while the test's event loop
keeps serving. ``MLOPS_FUZZ_EXAMPLES`` sets the examples per route (default 60, 20 to 30 s
for the whole file on two busy cores); the run's figures are printed (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import time
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_mlops.server.handlers import ROUTES

EXAMPLES = int(os.environ.get("MLOPS_FUZZ_EXAMPLES", "60"))
VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TEMPLATES = [t for t, _ in ROUTES] + ["{anything}"]  # the catch-all under mlops/api/


def forged_token(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def texts(seeded: dict[str, Any]) -> st.SearchStrategy[str]:
    """Parameter values: valid ones, near misses, traversal, unicode, control chars, long."""
    valid = [
        seeded["run_id"],
        seeded["experiments"]["churn"],
        seeded["experiments"]["many"],
        "churn",
        "1",
        "2",
        "loss",
        "data.csv",
        "README.md",
        "staging",
        "notes",
        "notes/readme.txt",
        "summary.json",
        "metrics.auc > 0.5",
        "params.solver = 'lbfgs'",
        "metrics.auc DESC",
        "attributes.start_time",
        "rf",
    ]
    odd = ["..", "../..", "/", "./", "%2e%2e", "~", "\\", "C:\\x", "\x00", "\ud800", "", " "]
    return st.one_of(
        st.sampled_from(valid + odd),
        st.text(max_size=40),
        st.text(alphabet="./\\%:-_ab01", max_size=30),
        st.builds(lambda c, n: c * n, st.sampled_from("xa9/."), st.integers(200, 6_000)),
        st.integers(-(2**70), 2**70).map(str),
        st.builds(
            forged_token,
            st.one_of(
                st.fixed_dictionaries({"offset": st.one_of(st.integers(), st.text(max_size=5))}),
                st.lists(st.integers(), max_size=2),
                st.text(max_size=5),
            ),
        ),
    )


def json_values(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), leaf)
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )


def bodies(seeded: dict[str, Any]) -> st.SearchStrategy[bytes | None]:
    values = json_values(texts(seeded))
    keyed = st.fixed_dictionaries(
        {},
        optional={"path": values, "alias": values, "version": values, "extra": values},
    )
    return st.one_of(
        st.none(),
        st.binary(max_size=64),
        st.text(max_size=64).map(lambda t: t.encode("utf-8", "surrogatepass")),
        keyed.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass")),
        values.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass")),
        st.integers(1, 200_000).map(lambda n: ("[" * n + "]" * n).encode()),
    )


def segment(value: str, raw_slash: bool) -> str:
    """``value`` percent-encoded as a path segment (lone surrogates become invalid UTF-8)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="/" if raw_slash else "")


@pytest.mark.parametrize("template", TEMPLATES)
async def test_no_route_answers_5xx(
    jp_fetch, seeded, http_server_port, jp_auth_header, jp_base_url, template
) -> None:
    import requests

    base = f"http://127.0.0.1:{http_server_port[1]}{jp_base_url}mlops/api/"
    names = re.findall(r"\{(\w+)\}", template)
    session = requests.Session()
    session.headers.update(jp_auth_header)
    counts: Counter[str] = Counter()
    failures: list[str] = []
    queries = st.dictionaries(
        st.one_of(
            st.sampled_from(
                ["experiment_id", "max_results", "page_token", "filter", "order_by", "path"]
            ),
            st.text(),
        ),
        texts(seeded),
        max_size=3,
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        params=st.fixed_dictionaries({n: texts(seeded) for n in names}),
        raw_slash=st.booleans(),
        query=queries,
        method=st.sampled_from(VERBS),
        body=bodies(seeded),
    )
    def one_request(params, raw_slash, query, method, body) -> None:
        path = template
        for name, value in params.items():
            path = path.replace("{" + name + "}", segment(value, raw_slash))
        url = base + path
        encoded = urlencode(
            {
                k.encode("utf-8", "surrogatepass"): v.encode("utf-8", "surrogatepass")
                for k, v in query.items()
            }
        )
        if encoded:
            url += "?" + encoded
        response = session.request(method, url, data=body, timeout=120)
        counts["requests"] += 1
        counts[f"{response.status_code // 100}xx"] += 1
        where = f"{method} {url[:300]} body={str(body)[:100]}"
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {where}: {response.text[:300]}")
        assert response.status_code < 500, f"{where}: {response.text[:300]}"
        if not response.url.startswith(base):
            return  # a raw '..' took the request out of mlops/api/: Jupyter's to answer
        if response.status_code == 200 and template == "runs/{run_id}/artifacts/{path}":
            # an artifact's own bytes: never sniffed, never scripted (test_artifacts.py)
            assert response.headers["X-Content-Type-Options"] == "nosniff", where
            assert response.headers["Content-Security-Policy"].startswith("sandbox;"), where
            return
        assert response.headers["Content-Type"].startswith("application/json"), where
        reply = response.json()
        if response.status_code >= 300:
            assert isinstance(reply.get("error"), str) and reply["error"], where
            assert isinstance(reply.get("message"), str) and "\n" not in reply["message"], where

    started = time.monotonic()
    try:
        await asyncio.to_thread(one_request)
    finally:
        session.close()
        seconds = time.monotonic() - started
        print(f"\nfuzz {template}: {dict(counts)}, 5xx: {len(failures)}, {seconds:.1f} s")
    assert not failures, failures[:5]


def searches() -> st.SearchStrategy[str]:
    """Filters and order clauses near MLflow's grammar: real keys, every comparator, values
    of the wrong type or out of range, lists, nesting, and plain text."""
    keys = st.sampled_from(
        [
            "metrics.auc",
            "metrics.`loss`",
            "params.alpha",
            'params."solver"',
            "tags.dataset",
            "attributes.start_time",
            "attributes.run_id",
            "attributes.status",
            "run_name",
            "created",
            "datasets.name",
            "dataset.context",
            "nothing.x",
        ]
    )
    comparators = st.sampled_from(
        ["=", "!=", "<", ">=", "LIKE", "ilike", "IN", "NOT IN", "IS NULL", "IS NOT NULL", "~"]
    )
    values = st.one_of(
        st.sampled_from(["'x'", "'%'", "1", "-1.5", "1e400", str(2**70), "('a', 'b')", "()"]),
        st.sampled_from(["NULL", "lbfgs", "'unterminated", '"dq"', "'it''s'"]),
        st.integers(-(2**70), 2**70).map(str),
    )
    comparison = st.builds(lambda k, c, v: f"{k} {c} {v}", keys, comparators, values)
    joined = st.lists(comparison, min_size=1, max_size=4).flatmap(
        lambda parts: st.sampled_from([" and ", " AND ", " or ", ", "]).map(lambda j: j.join(parts))
    )
    return st.one_of(
        joined,
        joined.map(lambda f: f"({f})"),
        st.text(max_size=40),
        st.builds(lambda k, d: f"{k}{d}", keys, st.sampled_from(["", " DESC", " asc", " up"])),
    )


async def test_run_searches_never_answer_5xx(
    jp_fetch, seeded, http_server_port, jp_auth_header, jp_base_url
) -> None:
    """``GET runs`` on a real experiment with fuzzed ``filter`` and ``order_by``: 200 or a
    400 ``bad_filter`` line, never a 5xx."""
    import requests

    url = f"http://127.0.0.1:{http_server_port[1]}{jp_base_url}mlops/api/runs"
    session = requests.Session()
    session.headers.update(jp_auth_header)
    counts: Counter[str] = Counter()

    @settings(
        max_examples=EXAMPLES * 2,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(search=searches(), orders=st.lists(searches(), max_size=3))
    def one_request(search: str, orders: list[str]) -> None:
        params = [("experiment_id", seeded["experiments"]["churn"]), ("filter", search)]
        params += [("order_by", o) for o in orders]
        query = urlencode([(k, v.encode("utf-8", "surrogatepass")) for k, v in params])
        response = session.get(f"{url}?{query}", timeout=120)
        counts[str(response.status_code)] += 1
        where = f"filter={search!r} order_by={orders!r}"
        assert response.status_code in (200, 400), f"{where}: {response.text[:300]}"
        reply = response.json()
        if response.status_code == 400:
            assert reply["error"] in ("bad_filter", "bad_parameter"), where
            assert "\n" not in reply["message"], where
        else:
            assert isinstance(reply["runs"], list), where

    try:
        await asyncio.to_thread(one_request)
    finally:
        session.close()
        print(f"\nfuzz runs searches: {dict(counts)}")

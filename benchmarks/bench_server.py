"""First page of runs through the REST API of a real ``jupyter server``, on 10,000 runs.

Seeds an experiment (``--runs``, each with 3 metrics and 3 params, written with
``MlflowClient.create_run`` + ``log_batch`` in a few threads over one sqlite store in WAL mode),
starts ``jupyter server`` on 127.0.0.1 with a token, and times
``GET /mlops/api/runs?experiment_id=..&max_results=100`` (median of ``--repeats`` after
warm-up, one keep-alive connection), then the same first page with a filter and an order
(``filter=metrics.auc > 0.5&order_by=metrics.auc DESC``) and with a run name search
(``filter=run-99``), whose goal is 500 ms. Peers: ``MlflowClient.search_runs(max_results=100)``
in-process, and MLflow's own REST ``/api/2.0/mlflow/runs/search`` from a real ``mlflow server``
over the same store (``--no-mlflow-server`` skips it). Exits 1 when a page is wrong.
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _common import clean_env, forget_settings

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(root: Path, n: int, threads: int) -> tuple[str, float]:
    from mlflow.entities import Metric, Param

    from jupyter_mlops.config import resolve_settings
    from jupyter_mlops.core import store

    settings = resolve_settings(root)
    store.prepare(settings)
    client = store.client(settings)
    exp = store.experiment_id(settings, "bench-server")

    def one(i: int) -> None:
        run = client.create_run(exp, run_name=f"run-{i}")  # the client retries itself
        now = int(time.time() * 1000)
        metrics = [
            Metric(k, (i % 97) / 97 + j, now, 0) for j, k in enumerate(("auc", "f1", "loss"))
        ]
        params = [Param("alpha", str(i % 10)), Param("solver", "lbfgs"), Param("fold", str(i % 5))]
        client.log_batch(run.info.run_id, metrics=metrics, params=params)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(n)))
    return exp, time.perf_counter() - start


def wait_http(
    port: int, path: str, headers: dict[str, str], proc: subprocess.Popen, log: Path
) -> None:
    deadline = time.time() + 120
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", path, headers=headers)
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"server on port {port} did not start (see {log})")
        time.sleep(0.3)


def timed(fn: Any, repeats: int, warmup: int = 3) -> tuple[float, Any]:
    for _ in range(warmup):
        result = fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--no-mlflow-server", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    env = clean_env()

    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "proj"
        (root / ".mlops").mkdir(parents=True)
        forget_settings()
        exp, seconds = seed(root, args.runs, args.threads)
        print(f"seeded {args.runs} runs in {seconds:.1f} s ({args.runs / seconds:.0f} runs/s)")
        try:
            token = secrets.token_hex(16)
            port = free_port()
            log = (Path(tmp) / "jupyter.log").open("w")
            procs.append(
                subprocess.Popen(
                    [
                        str(BIN / "jupyter"),
                        "server",
                        "--no-browser",
                        "--allow-root",
                        "--ServerApp.ip=127.0.0.1",
                        f"--ServerApp.port={port}",
                        f"--ServerApp.root_dir={root}",
                        f"--IdentityProvider.token={token}",
                    ],
                    cwd=tmp,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            auth = {"Authorization": f"token {token}"}
            wait_http(port, "/mlops/api/status", auth, procs[-1], Path(log.name))
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            path = f"/mlops/api/runs?experiment_id={exp}&max_results=100"

            def get(url: str) -> dict:
                conn.request("GET", url, headers=auth)
                response = conn.getresponse()
                body = response.read()
                assert response.status == 200, body[:300]
                return json.loads(body)

            def ours() -> dict:
                return get(path)

            api, page = timed(ours, args.repeats)
            ok = len(page["runs"]) == 100 and page["next_page_token"]
            ok = ok and all(len(r["metrics"]) == 3 and len(r["params"]) == 3 for r in page["runs"])

            search = {"filter": "metrics.auc > 0.5", "order_by": "metrics.auc DESC"}
            by_auc, best = timed(lambda: get(f"{path}&{urlencode(search)}"), args.repeats)
            aucs = [r["metrics"]["auc"] for r in best["runs"]]
            ok = ok and len(aucs) == 100 and aucs == sorted(aucs, reverse=True) and min(aucs) > 0.5
            by_name, named = timed(lambda: get(f"{path}&filter=run-99"), args.repeats)
            matching = sum(1 for i in range(args.runs) if "run-99" in f"run-{i}")
            ok = ok and len(named["runs"]) == min(100, matching)
            ok = ok and all("run-99" in r["name"] for r in named["runs"])

            from jupyter_mlops.config import resolve_settings
            from jupyter_mlops.core import store

            client = store.client(resolve_settings(root))
            direct, found = timed(lambda: client.search_runs([exp], max_results=100), args.repeats)
            ok = ok and [r.info.run_id for r in found] == [r["run_id"] for r in page["runs"]]

            rest = None
            if not args.no_mlflow_server:
                mport = free_port()
                mlog = (Path(tmp) / "mlflow.log").open("w")
                procs.append(
                    subprocess.Popen(
                        [
                            str(BIN / "mlflow"),
                            "server",
                            "--backend-store-uri",
                            resolve_settings(root).tracking_uri,
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(mport),
                            "--workers",
                            "1",
                        ],
                        cwd=tmp,
                        env=env,
                        stdout=mlog,
                        stderr=subprocess.STDOUT,
                    )
                )
                wait_http(mport, "/health", {}, procs[-1], Path(mlog.name))
                mconn = http.client.HTTPConnection("127.0.0.1", mport, timeout=60)
                query = json.dumps({"experiment_ids": [exp], "max_results": 100})

                def theirs() -> dict:
                    mconn.request(
                        "POST",
                        "/api/2.0/mlflow/runs/search",
                        body=query,
                        headers={"Content-Type": "application/json"},
                    )
                    response = mconn.getresponse()
                    body = response.read()
                    assert response.status == 200, body[:300]
                    return json.loads(body)

                rest, their_page = timed(theirs, args.repeats)
                ok = ok and len(their_page["runs"]) == 100
        finally:
            for proc in procs:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()

    print(f"{'first page of 100 runs (of ' + str(args.runs) + ')':<52}{'median':>10}{'ratio':>8}")
    print(f"{'GET /mlops/api/runs (jupyter server, HTTP)':<52}{api * 1000:>8.1f} ms{'1.00':>8}")
    print(
        f"{'MlflowClient.search_runs (in-process)':<52}{direct * 1000:>8.1f} ms{direct / api:>8.2f}"
    )
    if rest is not None:
        print(
            f"{'mlflow server /api/2.0/mlflow/runs/search (HTTP)':<52}{rest * 1000:>8.1f} ms"
            f"{rest / api:>8.2f}"
        )
    for label, seconds in (
        ("GET runs, filter metrics.auc > 0.5, auc DESC", by_auc),
        ("GET runs, filter run-99 (a run name search)", by_name),
    ):
        print(f"{label:<52}{seconds * 1000:>8.1f} ms{seconds / api:>8.2f}")
    print(f"target: <= 300 ms -> {'met' if api <= 0.3 else 'NOT met'}")
    slowest = max(by_auc, by_name)
    print(f"target with a filter: <= 500 ms -> {'met' if slowest <= 0.5 else 'NOT met'}")
    if not ok:
        print("WRONG: a page did not hold the runs expected", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

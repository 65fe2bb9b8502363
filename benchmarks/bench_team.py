"""Team scale: kernels logging at once through a shared server, and the panel over many runs.

Starts ``scripts/team-stack.sh`` (PostgreSQL, moto's S3 server and ``mlflow server --app-name
basic-auth`` on 127.0.0.1) in a temporary folder, creates one user and, as that user:

a. ``--kernels`` real IPython kernels (jupyter_client) log ``--metrics`` values each, all at
   once, through the server: first with plain ``mlflow.log_metric``, then with ours
   (``%load_ext jupyter_mlops``, ``mlops.start_run``, ``mlops.log(loss=..., step=i)``,
   ``mlops.end_run``). Every value is counted back from the server (0 lost is required), with
   the values per second end to end and the seconds a cell spends in its logging loop.
b. ``--runs`` runs (3 metrics, one with 10 steps, 3 params, 6 tags each) are seeded straight into
   the server's PostgreSQL with COPY, in the tables MLflow created: going through the API would
   take over an hour for 100,000 runs and measure the seeding, not the reading. Then, through
   a real ``jupyter server`` with our extension pointed at the stack: the panel's first page
   (``GET /mlops/api/runs?experiment_id=..&max_results=50``) and a run's details
   (``GET /mlops/api/runs/<id>``), median and p95 of ``--repeats`` calls, beside MLflow's own
   REST (``runs/search``; ``runs/get`` + ``artifacts/list``, what MLflow's UI asks for a run);
   and ``mlops.runs(filter="metrics.auc > 0.995")`` beside ``mlflow.search_runs`` with the
   same filter.

Quick by default; the issue's size is ``--runs 100000 --kernels 16 --metrics 500``. Exits 1
when a value is lost, a cell showed an error, or a page holds other runs than the ones seeded.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import logging
import math
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import clean_env

REPO = Path(__file__).resolve().parents[1]
STACK = REPO / "scripts" / "team-stack.sh"
BIN = Path(sys.executable).parent
USER, PASSWORD = "bench", "bench-Pass-1234"
PAGE_SIZE = 50  # the panel's page (labextension/src/api.ts)
FILTER = "metrics.auc > 0.995"
FILTER_MAX = 1000
SEED_USERS = [f"user-{i}" for i in range(10)]


# -- the stack ----------------------------------------------------------------------------------
@dataclass
class Stack:
    """The services ``team-stack.sh`` started, and the environment of the benchmark's user."""

    folder: Path
    tracking_uri: str = ""
    pg_uri: str = ""
    s3: str = ""
    admin: tuple[str, str] = ("", "")

    def env(self) -> dict[str, str]:
        return {
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "MLFLOW_TRACKING_USERNAME": USER,
            "MLFLOW_TRACKING_PASSWORD": PASSWORD,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": self.s3,
        }


def stack_up(folder: Path, workers: int, auth_cache_ttl: int) -> Stack:
    """``team-stack.sh up`` and the user ``bench`` (who may create experiments, as any user)."""
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "MLFLOW_WORKERS": str(workers),
        "MLFLOW_AUTH_CACHE_TTL": str(auth_cache_ttl),
    }
    done = subprocess.run(
        ["bash", str(STACK), "up", str(folder)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"team-stack.sh up failed: {done.stderr.strip()}")
    values = dict(line.split("=", 1) for line in (folder / "stack.env").read_text().splitlines())
    stack = Stack(
        folder,
        values["MLFLOW_TRACKING_URI"],
        values["MLOPS_PG_URI"],
        values["MLOPS_S3_ENDPOINT"],
        (values["MLOPS_ADMIN_USER"], values["MLOPS_ADMIN_PASSWORD"]),
    )
    from mlflow.server.auth.client import AuthServiceClient

    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = stack.admin
    AuthServiceClient(stack.tracking_uri).create_user(USER, PASSWORD)
    os.environ.update(stack.env())  # from here on this process is the user, as its kernels
    return stack


def stack_down(folder: Path) -> None:
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["bash", str(STACK), "down", str(folder)], env=env, capture_output=True)


def make_project(root: Path) -> Path:
    """A git project with one commit: where the kernels and the Jupyter server work."""
    root.mkdir(parents=True)
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(
            ["git", "-c", "user.email=b@example.com", "-c", "user.name=b", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )
    return root


# -- a. kernels logging at once -----------------------------------------------------------------
PLAIN = """
import json as _j, time as _t, mlflow as _m
while _t.time() < {start_at}:
    _t.sleep(0.002)
_t0 = _t.perf_counter()
_r = _m.start_run(run_name={name!r}, experiment_id={exp_id!r})
_t1 = _t.perf_counter()
for _i in range({metrics}):
    _m.log_metric("loss", 1.0 / (_i + 1), step=_i)
_t2 = _t.perf_counter()
_m.end_run()
print(_j.dumps({{"run_id": _r.info.run_id, "loop": _t2 - _t1, "end": _t.perf_counter() - _t2,
                "done": _t.time()}}))
"""
OURS = """
import json as _j, time as _t
while _t.time() < {start_at}:
    _t.sleep(0.002)
_t0 = _t.perf_counter()
_r = mlops.start_run(experiment={experiment!r}, run_name={name!r}, autolog=False)
_t1 = _t.perf_counter()
for _i in range({metrics}):
    mlops.log(loss=1.0 / (_i + 1), step=_i)
_t2 = _t.perf_counter()
mlops.end_run()
print(_j.dumps({{"run_id": _r.run_id, "loop": _t2 - _t1, "end": _t.perf_counter() - _t2,
                "done": _t.time()}}))
"""


@dataclass
class Round:
    """One round: every kernel's run, what the server holds, and the times."""

    label: str
    kernels: int
    metrics: int
    found: int = 0
    users: set[str] = field(default_factory=set)
    loops: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    wall: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def expected(self) -> int:
        return self.kernels * self.metrics

    @property
    def per_second(self) -> float:
        return self.found / self.wall if self.wall else 0.0


def logging_round(
    kernels: list[Any], label: str, template: str, metrics: int, tracking_uri: str
) -> Round:
    """Every kernel logs ``metrics`` values of ``loss`` in its own run at once; count them back
    from the server at ``tracking_uri``, as the benchmark's user."""
    from mlflow import MlflowClient

    experiment = f"team-{label}"
    # named, never MLflow's process-wide default: a store set earlier in this process would win
    client = MlflowClient(tracking_uri, tracking_uri)
    if client.get_experiment_by_name(experiment) is None:  # not a race of 16 creations
        client.create_experiment(experiment)
    start_at = time.time() + 3.0
    names = [f"{label}-k{i}" for i in range(len(kernels))]
    exp_id = client.get_experiment_by_name(experiment).experiment_id
    fields = {"start_at": start_at, "experiment": experiment, "exp_id": exp_id, "metrics": metrics}
    sent = [
        (k, k.send(template.format(name=n, **fields))) for k, n in zip(kernels, names, strict=True)
    ]
    result = Round(label, len(kernels), metrics)
    done: list[float] = []
    for kernel, msg_id in sent:
        status = kernel.wait_reply(msg_id, 900)
        if status != "ok":
            result.errors.append(f"cell {status}")
    for kernel, msg_id in sent:
        shown = _stderr_of_and_out(kernel, msg_id)
        result.errors += shown["errors"]
        for line in shown["out"]:
            figures = json.loads(line)
            result.loops.append(figures["loop"])
            result.ends.append(figures["end"])
            done.append(figures["done"])
            run = client.get_run(figures["run_id"])
            result.users.add(run.info.user_id)
            steps = {m.step for m in client.get_metric_history(run.info.run_id, "loss")}
            result.found += len(steps & set(range(metrics)))
    result.wall = (max(done) - start_at) if done else 0.0
    return result


def _stderr_of_and_out(kernel: Any, msg_id: str) -> dict[str, list[str]]:
    """The JSON lines the cell ``msg_id`` printed, and its errors."""
    from queue import Empty

    shown: dict[str, list[str]] = {"out": [], "errors": []}
    while True:
        try:
            msg = kernel.kc.get_iopub_msg(timeout=0.5)
        except Empty:
            return shown
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        content = msg["content"]
        if msg["msg_type"] == "stream":
            for line in content["text"].splitlines():
                if content["name"] == "stdout" and line.startswith("{"):
                    shown["out"].append(line)
                elif line.strip() and not line.lstrip("🏃🧪 ").startswith("View "):  # MLflow's
                    shown["errors"].append(line)
        elif msg["msg_type"] == "error":
            shown["errors"].append(f"{content['ename']}: {content['evalue']}")


def print_round(r: Round) -> None:
    loop = f"{statistics.median(r.loops):.3f}/{max(r.loops):.3f}" if r.loops else "-"
    end = f"{statistics.median(r.ends):.3f}/{max(r.ends):.3f}" if r.ends else "-"
    print(
        f"{r.label:<22}{r.found:>7}/{r.expected:<7}{r.wall:>8.2f}{r.per_second:>10.0f}"
        f"{loop:>16}{end:>16}{len(r.errors):>7}   {','.join(sorted(r.users))}"
    )
    for line in r.errors[:5]:
        print(f"    ! {line}")


# -- b. many runs, seeded ----------------------------------------------------------------------
@dataclass
class Seeded:
    """What was written, to check what the API answers against it."""

    experiment_id: str
    ids: list[str]  # oldest first
    auc: dict[str, float]
    seconds: float
    sizes: dict[str, int]  # bytes on disk, indexes included


def seed(stack: Stack, experiment: str, n: int, seed_value: int = 22) -> Seeded:
    """``n`` runs in MLflow's tables with psycopg's COPY, as the server's schema has them: the
    experiment is created through the API (its artifact location and its owner's permission are
    the server's); runs, params, tags, metrics and latest_metrics are written here."""
    import psycopg
    from mlflow import MlflowClient

    client = MlflowClient(stack.tracking_uri, stack.tracking_uri)
    exp_id = client.create_experiment(experiment)
    location = client.get_experiment(exp_id).artifact_location
    rng = random.Random(seed_value)
    now = int(time.time() * 1000) - 1000
    ids = [uuid.UUID(int=rng.getrandbits(128), version=4).hex for _ in range(n)]
    auc = {run_id: round(rng.uniform(0.5, 1.0), 6) for run_id in ids}
    start = time.perf_counter()
    with psycopg.connect(f"{stack.pg_uri}/mlflow") as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY runs (run_uuid, name, source_type, source_name, entry_point_name, user_id,"
            " status, start_time, end_time, source_version, lifecycle_stage, artifact_uri,"
            " experiment_id, deleted_time) FROM STDIN"
        ) as copy:
            for i, run_id in enumerate(ids):
                begun = now - (n - i) * 1000
                copy.write_row(
                    (
                        run_id, f"run-{i}", "NOTEBOOK", "train.ipynb", "", SEED_USERS[i % 10],
                        "FAILED" if i % 50 == 0 else "FINISHED", begun, begun + 800,
                        f"{i:040x}", "active", f"{location}/{run_id}/artifacts", int(exp_id),
                        None,
                    )
                )  # fmt: skip
        with cur.copy("COPY params (key, value, run_uuid) FROM STDIN") as copy:
            for i, run_id in enumerate(ids):
                copy.write_row(("alpha", str((i % 10) / 10), run_id))
                copy.write_row(("solver", ("lbfgs", "saga")[i % 2], run_id))
                copy.write_row(("fold", str(i % 5), run_id))
        with cur.copy("COPY tags (key, value, run_uuid) FROM STDIN") as copy:
            for i, run_id in enumerate(ids):
                for key, value in (
                    ("mlflow.runName", f"run-{i}"),
                    ("mlflow.user", SEED_USERS[i % 10]),
                    ("mlflow.source.name", "train.ipynb"),
                    ("mlflow.source.type", "NOTEBOOK"),
                    ("mlflow.source.git.commit", f"{i:040x}"),
                    ("dataset", f"v{i % 7}"),
                ):
                    copy.write_row((key, value, run_id))
        metrics_sql = "(key, value, timestamp, step, is_nan, run_uuid) FROM STDIN"
        with cur.copy(f"COPY metrics {metrics_sql}") as copy:
            for i, run_id in enumerate(ids):
                begun = now - (n - i) * 1000
                for key, value, step in _metric_points(run_id, auc[run_id]):
                    copy.write_row((key, value, begun + 10 * step, step, False, run_id))
        with cur.copy(f"COPY latest_metrics {metrics_sql}") as copy:
            for i, run_id in enumerate(ids):
                begun = now - (n - i) * 1000
                latest = {k: (v, s) for k, v, s in _metric_points(run_id, auc[run_id])}
                for key, (value, step) in latest.items():
                    copy.write_row((key, value, begun + 10 * step, step, False, run_id))
        conn.commit()
        conn.autocommit = True
        sizes = {}
        for table in ("runs", "params", "tags", "metrics", "latest_metrics"):
            cur.execute(f"ANALYZE {table}")  # what autovacuum does soon after a bulk load
            cur.execute("SELECT pg_total_relation_size(%s)", (table,))
            sizes[table] = cur.fetchone()[0]
    return Seeded(exp_id, ids, auc, time.perf_counter() - start, sizes)


def _metric_points(run_id: str, auc: float) -> list[tuple[str, float, int]]:
    """auc and f1 once, loss over 10 steps (its last value is the latest)."""
    points = [("auc", auc, 0), ("f1", round(auc * 0.9, 6), 0)]
    return points + [("loss", round((1 - auc) + 1 / (s + 1), 6), s) for s in range(10)]


def check_cost(stack: Stack) -> str:
    """What one password check costs: the server's hash of the user's password, checked as the
    auth store checks it on every request when its cache is off (median of 5)."""
    import psycopg
    from werkzeug.security import check_password_hash

    with psycopg.connect(f"{stack.pg_uri}/mlflow_auth") as conn:
        (stored,) = conn.execute(
            "SELECT password_hash FROM users WHERE username = %s", (USER,)
        ).fetchone()
    samples = []
    for _ in range(5):
        begun = time.perf_counter()
        assert check_password_hash(stored, PASSWORD)
        samples.append(time.perf_counter() - begun)
    return f"{statistics.median(samples) * 1000:.0f} ms ({stored.split('$')[0]})"


# -- HTTP ---------------------------------------------------------------------------------------
def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_jupyter(root: Path, log: Path) -> tuple[subprocess.Popen, int, dict[str, str]]:
    """A real ``jupyter server`` with our extension, its environment pointed at the stack."""
    token, port = secrets.token_hex(16), free_port()
    proc = subprocess.Popen(
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
        cwd=root,
        env={**clean_env(), **os.environ},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    headers = {"Authorization": f"token {token}"}
    deadline = time.time() + 120
    while True:
        try:
            get_json(port, "/mlops/api/status", headers)
            return proc, port, headers
        except (OSError, AssertionError):
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()  # never left behind
                raise RuntimeError(f"jupyter server did not start (see {log})") from None
            time.sleep(0.3)


_connections: dict[int, http.client.HTTPConnection] = {}


def request(port: int, method: str, path: str, headers: dict[str, str], body: Any = None) -> Any:
    """One call on a keep-alive connection per port (as a browser or a client keeps one)."""
    conn = _connections.get(port)
    if conn is None:
        conn = _connections[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    data = None if body is None else json.dumps(body)
    headers = {**headers, "Content-Type": "application/json"} if data else headers
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    except OSError:
        _connections.pop(port).close()  # a server not up yet: a fresh connection next time
        raise
    assert response.status == 200, f"{method} {path}: {response.status} {raw[:300]!r}"
    return json.loads(raw)


def get_json(port: int, path: str, headers: dict[str, str]) -> Any:
    return request(port, "GET", path, headers)


def timed(fn: Callable[[int], Any], repeats: int, warmup: int = 3) -> tuple[list[float], Any]:
    """Seconds of ``repeats`` calls ``fn(i)`` after ``warmup`` ones, and the last answer."""
    for i in range(warmup):
        result = fn(i)
    samples = []
    for i in range(repeats):
        begun = time.perf_counter()
        result = fn(i)
        samples.append(time.perf_counter() - begun)
    return samples, result


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def row(label: str, samples: list[float], ref: float | None = None) -> str:
    median = statistics.median(samples)
    ratio = f"{median / ref:>8.2f}" if ref else f"{'1.00':>8}"
    return f"{label:<58}{median * 1000:>9.1f}{p95(samples) * 1000:>9.1f}{ratio}"


# -- main ---------------------------------------------------------------------------------------
def panel_and_search(stack: Stack, root: Path, seeded: Seeded, repeats: int) -> tuple[bool, bool]:
    """The panel's routes through a real jupyter server, MLflow's REST beside them, and the
    filtered search; True when every answer held the seeded runs, and when the goals were met."""
    import mlflow

    import jupyter_mlops as mlops

    ok = True
    exp, ids = seeded.experiment_id, seeded.ids
    newest = ids[::-1]
    proc, port, auth = start_jupyter(root, root.parent / "jupyter.log")
    mport = int(stack.tracking_uri.rsplit(":", 1)[1])
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    mauth = {"Authorization": f"Basic {basic}"}
    try:
        page_path = f"/mlops/api/runs?experiment_id={exp}&max_results={PAGE_SIZE}"
        page_s, page = timed(lambda i: get_json(port, page_path, auth), repeats)
        ok &= [r["run_id"] for r in page["runs"]] == newest[:PAGE_SIZE]
        ok &= bool(page["next_page_token"])
        picks = random.Random(7).sample(ids, min(len(ids), repeats + 3))

        def detail(i: int) -> Any:
            return get_json(port, f"/mlops/api/runs/{picks[i % len(picks)]}", auth)

        detail_s, run = timed(detail, repeats)
        want = picks[(repeats - 1) % len(picks)]
        ok &= run["run_id"] == want and run["metrics"]["auc"] == seeded.auc[want]
        ok &= len(run["params"]) == 3 and run["artifacts"] == [] and len(run["metrics"]) == 3

        search = {
            "experiment_ids": [exp],
            "max_results": PAGE_SIZE,
            "order_by": ["attributes.start_time DESC"],
        }
        rest_page_s, their = timed(
            lambda i: request(mport, "POST", "/api/2.0/mlflow/runs/search", mauth, search),
            repeats,
        )
        ok &= [r["info"]["run_id"] for r in their["runs"]] == newest[:PAGE_SIZE]

        def their_detail(i: int) -> Any:
            run_id = picks[i % len(picks)]
            got = get_json(mport, f"/api/2.0/mlflow/runs/get?run_id={run_id}", mauth)
            get_json(mport, f"/api/2.0/mlflow/artifacts/list?run_id={run_id}", mauth)
            return got

        rest_detail_s, _ = timed(their_detail, repeats)
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    name = mlflow.get_experiment(exp).name
    matching = [r for r in newest if seeded.auc[r] > 0.995][:FILTER_MAX]
    search_repeats = max(3, repeats // 4)
    ours_s, frame = timed(
        lambda i: mlops.runs(name, max_results=FILTER_MAX, filter=FILTER), search_repeats, 1
    )
    ok &= frame["run_id"].tolist() == matching
    theirs_s, their_frame = timed(
        lambda i: mlflow.search_runs(
            [exp], filter_string=FILTER, max_results=FILTER_MAX, order_by=search["order_by"]
        ),
        search_repeats,
        1,
    )
    ok &= their_frame["run_id"].tolist() == matching

    n = len(ids)
    print(
        f"\n{'over ' + f'{n:,}' + ' runs (one experiment)':<58}{'median':>9}{'p95':>9}{'ratio':>8}"
    )
    print(row(f"GET /mlops/api/runs first page of {PAGE_SIZE} (the panel)", page_s))
    ref = statistics.median(page_s)
    print(row(f"  MLflow REST runs/search, {PAGE_SIZE}, newest first", rest_page_s, ref))
    print(row("GET /mlops/api/runs/<id> (the panel's run details)", detail_s))
    ref = statistics.median(detail_s)
    print(row("  MLflow REST runs/get + artifacts/list", rest_detail_s, ref))
    print(row(f"mlops.runs(filter={FILTER!r}) ({len(matching)} runs)", ours_s))
    print(row("  mlflow.search_runs(filter_string=...)", theirs_s, statistics.median(ours_s)))
    goals = statistics.median(page_s) <= 0.3 and statistics.median(detail_s) <= 0.3
    print(f"goal: first page and details <= 300 ms (median) -> {'met' if goals else 'NOT met'}")
    return ok, goals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="runs seeded (issue: 100000)")
    parser.add_argument("--kernels", type=int, default=4, help="kernels at once (issue: 16)")
    parser.add_argument("--metrics", type=int, default=100, help="values per kernel (issue: 500)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per route")
    parser.add_argument("--workers", type=int, default=1, help="the server's uvicorn workers")
    parser.add_argument(
        "--auth-cache-ttl",
        type=int,
        default=300,
        help="seconds the server remembers a checked password (0: MLflow's default, off)",
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    from bench_reliability import Kernel

    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-team-") as tmp:
        base = Path(tmp)
        begun = time.perf_counter()
        kernels: list[Any] = []
        try:  # the stack comes down even when its start or the user's creation failed
            stack = stack_up(base / "stack", args.workers, args.auth_cache_ttl)
            print(
                f"stack up in {time.perf_counter() - begun:.1f} s: {args.workers} server "
                f"worker(s), password cache {args.auth_cache_ttl} s, load average "
                + " ".join(f"{x:.1f}" for x in os.getloadavg())
            )
            print(f"a password check (scrypt), as the server pays it uncached: {check_cost(stack)}")
            root = make_project(base / "proj")
            os.chdir(root)
            env = {**clean_env(), **stack.env()}
            kernels = [Kernel(root, env) for _ in range(args.kernels)]
            for kernel in kernels:  # imports paid before the start, as in a working kernel
                kernel.load()
                kernel.ok("import mlflow, jupyter_mlops.core.tracking")
            ours = logging_round(kernels, "mlops.log", OURS, args.metrics, stack.tracking_uri)
            plain = logging_round(
                kernels, "mlflow.log_metric", PLAIN, args.metrics, stack.tracking_uri
            )
            for kernel in kernels:
                kernel.close()
            kernels = []
            print(
                f"\n{args.kernels} kernels x {args.metrics} values at once, one user ({USER})"
                "\n(loop and end_run: median/max seconds per cell)"
            )
            print(
                f"{'':<22}{'found/expected':>14}{'wall s':>8}{'values/s':>10}"
                f"{'loop s':>16}{'end_run s':>16}{'errors':>7}   recorded user"
            )
            for r in (ours, plain):
                print_round(r)
                failed |= r.found != r.expected or bool(r.errors)
            failed |= ours.users != {USER}
            print(f"ours/plain values per second: {ours.per_second / plain.per_second:.2f}")

            seeded = seed(stack, "team-runs", args.runs)
            rows = args.runs * (1 + 3 + 6 + 12 + 3)
            print(
                f"\nseeded {args.runs:,} runs ({rows:,} rows) with COPY in {seeded.seconds:.1f} s"
            )
            mib = {t: f"{b / (1 << 20):.0f}" for t, b in seeded.sizes.items()}
            print("MiB on disk with indexes: " + ", ".join(f"{t} {v}" for t, v in mib.items()))
            ok, _ = panel_and_search(stack, root, seeded, args.repeats)
            failed |= not ok
        finally:
            for kernel in kernels:
                kernel.close()
            os.chdir(REPO)
            stack_down(base / "stack")
    print("\nRESULT: " + ("WRONG (see above)" if failed else "nothing lost, every answer right"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

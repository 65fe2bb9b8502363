"""Production verbs against what a user would run without them (issue 20): ``serve``,
``score`` (``bench_score_part.py``) and ``monitor`` (``bench_monitor_part.py``), all three by
default, one with ``--only``.

``bench_serve_requests``: requests per second of ``jupyter mlops serve`` (inference log on)
against plain ``mlflow models serve --env-manager local`` (no log) on the same promoted model
(a breast-cancer pipeline with a categorical column) and the same ``dataframe_split`` payloads,
1 row and 100 rows, each server with one worker; ``serve --no-log`` too, which says what the
log costs apart from the rest of ours. A client in this process sends a fixed number of
requests over ``--connections`` keep-alive connections (one thread each); the two servers are
measured alternately, best of ``--repeats``. The client shares the machine with the server, so
the figures are the pair's, and the ratio is what matters. Goal: ours at least 0.9x MLflow's. The
script exits 1 if the two servers answer differently or if a logged row is missing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from _common import clean_env

PROMOTE = """
import numpy as np, pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
import jupyter_mlops as mlops

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X = X.iloc[:, :8]
X["size"] = pd.Categorical(np.where(X["mean radius"] > 15, "large", "small"))
encode = ColumnTransformer(
    [("size", OneHotEncoder(handle_unknown="ignore"), ["size"])], remainder=StandardScaler()
)
model = make_pipeline(encode, LogisticRegression(max_iter=5000)).fit(X, y)
mlops.promote(model, "bench", X=X, alias="prod")
X.to_pickle("X.pkl")
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project(home: Path) -> Path:
    """A git project with ``models:/bench@prod``, promoted in a process of its own."""
    root = home / "proj"
    root.mkdir()
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(
            ["git", "-c", "user.email=b@example.com", "-c", "user.name=b", *args],
            cwd=root,
            check=True,
        )
    (root / "promote.py").write_text(PROMOTE)
    subprocess.run([sys.executable, "promote.py"], cwd=root, env=clean_env(), check=True)
    return root


def start(command: list[str], cwd: Path, env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit(f"the server {command[:4]} did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def hammer(port: int, body: bytes, requests: int, connections: int) -> tuple[float, bytes]:
    """Seconds for ``requests`` POSTs over ``connections`` keep-alive connections; one answer."""
    share = [requests // connections + (i < requests % connections) for i in range(connections)]
    answers: list[bytes] = []
    failures: list[str] = []
    headers = {"Content-Type": "application/json"}

    def client(count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(count):
            conn.request("POST", "/invocations", body, headers)
            answer = conn.getresponse()
            data = answer.read()
            if answer.status != 200:
                failures.append(f"{answer.status}: {data[:200]!r}")
        answers.append(data)
        conn.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in share]
    begin = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - begin
    if failures:
        raise SystemExit(f"a request failed: {failures[0]}")
    return seconds, answers[0]


def measure(X, ports: dict, args: argparse.Namespace) -> tuple[bool, int]:
    """The table; (whether every server answered the same, the rows the logging one served)."""
    ok, sent_rows, names = True, 0, list(ports)
    print(
        f"requests/s, {args.connections} connections, 1 worker each, best of {args.repeats}, "
        "servers alternating (a shared machine: compare the ratios)"
    )
    print(f"{'payload':<15}{'requests':>9}" + "".join(f"{n:>15}" for n in names) + f"{'ratio':>8}")
    for rows, requests in ((1, args.requests), (100, max(args.requests // 4, 1))):
        frame = X.head(rows).astype(object)
        body = json.dumps(
            {"dataframe_split": {"columns": list(frame.columns), "data": frame.values.tolist()}}
        ).encode()
        best, answers = dict.fromkeys(names, float("inf")), {}
        for name in names:
            hammer(ports[name], body, 20, args.connections)  # warm-up
        sent_rows += 20 * rows
        for _ in range(args.repeats):
            for name in names:
                seconds, answers[name] = hammer(ports[name], body, requests, args.connections)
                best[name] = min(best[name], seconds)
            sent_rows += requests * rows
        if len({json.dumps(json.loads(a)) for a in answers.values()}) != 1:
            print(f"  different answers on {rows} rows: {answers}")
            ok = False
        rates = {n: requests / best[n] for n in names}
        print(
            f"{f'{rows}-row split':<15}{requests:>9}"
            + "".join(f"{rates[n]:>15.0f}" for n in names)
            + f"{rates['ours'] / rates['mlflow']:>7.2f}x"
        )
    print("ratio: ours (inference log on) / mlflow")
    return ok, sent_rows


def bench_serve_requests(args: argparse.Namespace) -> bool:
    """Ours against plain ``mlflow models serve``; False when an answer or a logged row is wrong."""
    import pandas as pd

    from jupyter_mlops.config import resolve_settings
    from jupyter_mlops.core.production import target
    from jupyter_mlops.runtime import inference_log

    home = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    root = project(home)
    X = pd.read_pickle(root / "X.pkl")
    folder = target.resolve("models:/bench/1", resolve_settings(root)).folder
    env = clean_env()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # uvicorn
    env.pop("MLOPS_INFERENCE_LOG", None)
    log = home / "log"
    ports = {"mlflow": free_port(), "ours --no-log": free_port(), "ours": free_port()}
    exe = str(Path(sys.executable).parent / "jupyter-mlops")
    plain = ["models", "serve", "-m", str(folder), "--env-manager", "local"]
    commands = {
        "mlflow": [sys.executable, "-m", "mlflow", *plain],
        "ours --no-log": [exe, "serve", "models:/bench@prod", "--no-log"],
        "ours": [exe, "serve", "models:/bench@prod"],
    }
    servers = {}
    try:
        for name, command in commands.items():
            where = home if name == "mlflow" else root
            servers[name] = start(
                [*command, "--port", str(ports[name])],
                where,
                {**env, "MLOPS_INFERENCE_LOG": str(log)} if name == "ours" else env,
                ports[name],
            )
        ok, sent_rows = measure(X, ports, args)
    finally:
        for proc in servers.values():
            stop(proc)
    logged = inference_log.dataset(str(log), "bench").count_rows()
    print(f"inference log: {logged:,} rows written of {sent_rows:,} served")
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(next(p for p in folder.parents if p.name.startswith("mlops-model-")))
    return ok and logged == sent_rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="1-row requests (100-row: /4)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2_000_000, help="score: rows of the file")
    parser.add_argument("--chunksize", type=int, default=100_000, help="score: rows per chunk")
    parser.add_argument(
        "--only", choices=("serve", "score", "monitor"), help="one of the three (default: all)"
    )
    args = parser.parse_args()
    ok = True
    if args.only in (None, "serve"):
        ok &= bench_serve_requests(args)
    if args.only in (None, "score"):
        from bench_score_part import bench_score

        figures = bench_score(args.rows, args.chunksize, args.repeats)["rows_per_second"]
        ok &= figures["ours (log on)"] / figures["plain loop"] >= 0.9
    if args.only in (None, "monitor"):
        from bench_monitor_part import bench_monitor

        ok &= bench_monitor()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

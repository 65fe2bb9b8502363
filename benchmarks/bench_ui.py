"""``jupyter mlops ui`` against plain ``mlflow ui`` on the same project store (issue 23).

Ours: from launching the console script to its URL line (printed once ``/health`` answers),
``--repeats`` times (the first run also creates the store, so it is a warm-up and printed
apart); each time the processes under the command, whether the printed page answers, and how
long SIGTERM to the command takes until nothing of it is left and the port is free. Plain
``mlflow ui`` (the same store, the same artifact folder, its defaults otherwise): from launch to
``/health`` answering, ``--mlflow-repeats`` times (one by default: it is slow), with its
process count, and whether it still serves 5 s after a SIGTERM to the ``mlflow ui`` process
(then its process group is killed). Goal: ours under 8 s on this machine. The script exits 1
if ours prints a URL that does not answer or leaves a process or the port behind.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
from _common import clean_env

from jupyter_mlops.core import processes
from jupyter_mlops.errors import MlopsError

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def port_free(port: int) -> bool:
    """Whether the UI's port can be bound again, by the check ``ui`` itself makes first."""
    try:
        processes.check_port("127.0.0.1", port)
    except MlopsError:
        return False
    return True


def running(procs: list[psutil.Process]) -> list[psutil.Process]:
    left = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc)
        except psutil.NoSuchProcess:
            pass
    return left


def ours(root: Path) -> dict:
    port = free_port()
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(BIN / "jupyter-mlops"), "ui", "--port", str(port)],
        cwd=root,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = proc.stdout.readline()
    seconds = time.perf_counter() - start
    ok = bool(line) and answers(f"http://127.0.0.1:{port}/health")
    tree = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
    stop = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    while (running(tree) or not port_free(port)) and time.perf_counter() - stop < 30:
        time.sleep(0.02)
    stopped = time.perf_counter() - stop
    left = running(tree)
    for leftover in left:
        leftover.kill()
    return {
        "seconds": seconds,
        "ok": ok,
        "processes": len(tree),
        "stop": stopped,
        "code": code,
        "left": len(left) + (0 if port_free(port) else 1),
        "err": proc.stderr.read().strip(),
    }


def plain(root: Path) -> dict:
    port = free_port()
    db = root / ".mlops" / "mlflow.db"
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "ui",
            "--backend-store-uri",
            f"sqlite:///{db}",
            "--default-artifact-root",
            (root / ".mlops" / "artifacts").as_uri(),
            "--port",
            str(port),
        ],
        cwd=root,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    while not answers(f"http://127.0.0.1:{port}/health") and proc.poll() is None:
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    time.sleep(2)  # its job runner starts its consumers after the server answers
    processes = len(psutil.Process(proc.pid).children(recursive=True))
    proc.send_signal(signal.SIGTERM)  # to `mlflow ui` alone, as a service manager would
    time.sleep(5)
    serving = answers(f"http://127.0.0.1:{port}/health")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return {"seconds": seconds, "processes": processes, "serving_after_sigterm": serving}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of ours after the warm-up")
    parser.add_argument("--mlflow-repeats", type=int, default=1, help="runs of plain mlflow ui")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        root = Path(tmp)
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        load = os.getloadavg()[0]
        print(f"{os.cpu_count()} cores, load {load:.1f} at start")
        first = ours(root)  # creates the store
        print(f"ours, first run (creates the store): {first['seconds']:.1f} s to the URL")
        runs = [ours(root) for _ in range(args.repeats)]
        wrong = [r for r in [first, *runs] if not r["ok"] or r["left"] or r["code"] != 143]
        times = [r["seconds"] for r in runs]
        print(
            f"ours: launch to URL printed: median {statistics.median(times):.1f} s "
            f"(min {min(times):.1f}, max {max(times):.1f}; {len(times)} runs); "
            f"processes under the command: {sorted({r['processes'] for r in runs})}; "
            f"SIGTERM to nothing left and the port free: "
            f"median {statistics.median(r['stop'] for r in runs):.2f} s"
        )
        for run in (plain(root) for _ in range(args.mlflow_repeats)):
            print(
                f"plain mlflow ui: launch to /health answering: {run['seconds']:.1f} s; "
                f"processes under it: {run['processes']}; still serving 5 s after SIGTERM: "
                f"{'yes' if run['serving_after_sigterm'] else 'no'}"
            )
        print(f"load {os.getloadavg()[0]:.1f} at the end")
    for run in wrong:
        print(
            f"WRONG: answered={run['ok']} left={run['left']} exit={run['code']} {run['err']}",
            file=sys.stderr,
        )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

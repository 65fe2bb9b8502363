"""Faults lose nothing: a crash matrix, concurrent logging, and a soak of a long-lived kernel.

- **Crash matrix**: {SIGKILL, SIGINT, kernel restart} x {tracked cell, ``data add`` of a
  ``--size-mb`` file, batch run, promote, sweep child}. Each fault is real and lands while the
  operation is under way: SIGKILL/SIGINT to the real kernel (``%mlops`` operations) or to the
  ``jupyter mlops run``/``sweep`` process (SIGINT to its process group, as Ctrl-C in a terminal
  does), and a kernel restart through jupyter_client (``restart_kernel`` for our kernel; a
  ``shutdown_request(restart=True)`` on the batch kernel's own connection file for the
  commands). The moment: a marker file the cell writes, a new file in DVC's cache (``data
  add``), the verification process appearing (promote). Then the next tracking call
  (``mlops.runs()`` in a kernel; ``data add`` is retried too) and the checks: runs left
  RUNNING, the project's files (hashed before, compared after; ``.git``, ``.dvc``, ``.mlops``
  left out) lost or changed, ``dvc status`` clean, the store consistent (sqlite
  ``integrity_check``, no ended run without an end time, every model version READY), every
  registered version loads (``mlflow.pyfunc.load_model``), processes left behind by the
  killed one 10 s on (and the seconds until they had all gone), the seconds the next tracking
  call took (recovery), and the megabytes of DVC's
  temporary copies left in its cache by an add cut short (space, not data: reported, not
  counted as a loss).
- **Concurrency**: ``--kernels`` kernels log ``--metrics`` values each at once, into the
  embedded sqlite store and into a real ``mlflow server`` this script starts on 127.0.0.1;
  every value is read back; anything a kernel printed on stderr is counted as shown to the user.
- **Soak**: the sqlite concurrency round repeated on the same kernels for ``--soak-seconds``
  (tracking on, autologging on); the RSS of every kernel after the first round and at the end.

Not a test (nothing is timed against a goal); exit code 1 when a fault loses something or a
value is missing. ``tests/core/test_reliability.py`` runs the same code at small sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import clean_env

BIN = Path(sys.executable).parent
FAULTS = ("SIGKILL", "SIGINT", "restart")
OPERATIONS = ("tracked cell", "data add", "batch run", "promote", "sweep child")
SKIPPED = {".git", ".dvc", ".mlops"}  # ours, not the user's
# what `data add` itself writes (checked by `dvc status` instead)
WRITTEN = (".dvc", ".gitignore")
MARKER_ENV = "RELIABILITY_MARKER"

# -- a real kernel -----------------------------------------------------------------------------


class Kernel:
    """A real IPython kernel started by jupyter_client, as Jupyter starts one."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        from jupyter_client.manager import KernelManager

        self.cwd, self.env = cwd, env
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd), env=env)
        self._connect()

    def _connect(self) -> None:
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.loaded = False

    @property
    def pid(self) -> int:
        return self.km.provisioner.process.pid

    def run(self, code: str, timeout: float = 600) -> tuple[str, str, str]:
        """Run ``code``; return (status, stdout, stderr and errors)."""
        out: list[str] = []
        err: list[str] = []

        def keep(msg: dict) -> None:
            content = msg["content"]
            kind = msg["msg_type"]
            if kind == "stream":
                (err if content["name"] == "stderr" else out).append(content["text"])
            elif kind in {"execute_result", "display_data"}:
                out.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                err.append(f"{content['ename']}: {content['evalue']}")

        reply = self.kc.execute_interactive(code, timeout=timeout, output_hook=keep)
        return reply["content"]["status"], "".join(out), "".join(err)

    def ok(self, code: str, timeout: float = 600) -> str:
        status, out, err = self.run(code, timeout)
        if status == "aborted":
            # ipykernel aborts an execute request that arrives within its stop-on-error window
            # after a failed cell (ipykernel#609), even one sent after the error reply: the
            # cell never ran, so it is sent again, as a user would run it again
            time.sleep(0.5)
            status, out, err = self.run(code, timeout)
        if status != "ok":
            raise RuntimeError(f"cell {status}: {code[:80]!r}: {err[-2000:]}")
        return out

    def load(self) -> None:
        if not self.loaded:
            self.ok("%load_ext jupyter_mlops\nimport jupyter_mlops as mlops")
            self.loaded = True

    def send(self, code: str) -> str:
        """Send a cell that a fault will interrupt; the kernel does not then abort the cells
        sent after it (``stop_on_error=False``), as a user's next cell comes later."""
        return self.kc.execute(code, stop_on_error=False)

    def wait_reply(self, msg_id: str, timeout: float) -> str | None:
        """The status of the cell sent as ``msg_id``; None when no reply came (kernel gone)."""
        from queue import Empty

        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                msg = self.kc.get_shell_msg(timeout=0.5)
            except Empty:
                if not self.km.is_alive():
                    return None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]["status"]
        return None

    def restart(self, now: bool = False) -> None:
        """Restart through jupyter_client (graceful unless ``now``) and reconnect."""
        self.kc.stop_channels()
        self.km.restart_kernel(now=now)
        self._connect()

    def rss(self) -> int:
        import psutil

        return psutil.Process(self.pid).memory_info().rss

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kc.stop_channels()
        with contextlib.suppress(Exception):
            if self.km.is_alive():
                self.km.shutdown_kernel(now=True)


# -- a project ----------------------------------------------------------------------------------

WORK_NOTEBOOK_CELLS = [
    "x = 0",  # tagged parameters
    "import os, pathlib, time\nimport jupyter_mlops as mlops",
    "mlops.log(started=1.0, x=float(x))\n"
    f"marker = os.environ.get({MARKER_ENV!r})\n"
    "if marker and not pathlib.Path(marker).exists():  # the first point waits for the fault\n"
    "    pathlib.Path(marker).write_text('here')\n"
    "    for i in range(600):\n"
    "        mlops.log(step=i, waiting=float(i))\n"
    "        time.sleep(0.1)",
    "mlops.log(done=1.0)",
]


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=b@example.com", "-c", "user.name=b", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def make_project(root: Path) -> Path:
    """A git project with a notebook, a table and a script: the user's files to keep."""
    import nbformat

    root.mkdir(parents=True)
    git(root, "init", "-q")
    (root / "README.md").write_text("reliability\n")
    (root / "data").mkdir()
    rows = "\n".join(f"{i},{i * 0.5},{'ab'[i % 2]}" for i in range(2000))
    (root / "data" / "table.csv").write_text("a,b,c\n" + rows + "\n")
    (root / "train.py").write_text("print('user code')\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in WORK_NOTEBOOK_CELLS]
    nb.cells[0].metadata["tags"] = ["parameters"]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "work.ipynb")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "init")
    return root


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file of the project outside ``.git``, ``.dvc`` and ``.mlops``, but for
    the ``.dvc`` and ``.gitignore`` files ``data add`` writes."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIPPED]
        for name in filenames:
            if name.endswith(WRITTEN):
                continue
            path = Path(dirpath) / name
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda f=f: f.read(1 << 20), b""):
                    digest.update(block)
            found[path.relative_to(root).as_posix()] = digest.hexdigest()
    return found


def compare(before: dict[str, str], after: dict[str, str]) -> tuple[list[str], list[str]]:
    lost = sorted(set(before) - set(after))
    changed = sorted(p for p in before if p in after and before[p] != after[p])
    return lost, changed


def write_random(path: Path, size_mb: int) -> None:
    with open(path, "wb") as f:
        for _ in range(size_mb):
            f.write(os.urandom(1 << 20))


# -- the checks after a fault ---------------------------------------------------------------------

CHECK = textwrap.dedent(
    """
    def _reliability_check():
        import hashlib, json, sqlite3
        from pathlib import Path
        import mlflow.pyfunc, yaml
        from mlflow import MlflowClient
        from mlflow.entities import ViewType
        from jupyter_mlops.config import resolve_settings

        s = resolve_settings()
        c = MlflowClient(s.tracking_uri, s.registry_uri)
        problems = []
        if s.tracking_uri.startswith("sqlite:"):
            with sqlite3.connect(s.sqlite_path) as conn:
                (verdict,) = conn.execute("PRAGMA integrity_check").fetchone()
            if verdict != "ok":
                problems.append(f"sqlite: {verdict}")
        ids = [e.experiment_id for e in c.search_experiments(view_type=ViewType.ALL)]
        runs = c.search_runs(ids, max_results=50000, run_view_type=ViewType.ALL) if ids else []
        running = [r.info.run_id for r in runs if r.info.status == "RUNNING"]
        problems += [f"run {r.info.run_id} ended without end time" for r in runs
                     if r.info.status != "RUNNING" and not r.info.end_time]
        versions = loaded = 0
        for m in c.search_registered_models():
            for v in c.search_model_versions(f"name='{m.name}'"):
                versions += 1
                if v.status != "READY":
                    problems.append(f"{m.name} v{v.version} is {v.status}")
                try:
                    mlflow.pyfunc.load_model(f"models:/{m.name}/{v.version}")
                    loaded += 1
                except Exception as exc:
                    problems.append(f"{m.name} v{v.version} does not load: {exc}"[:300])
        dvc = None
        if (s.root / ".dvc").is_dir():
            import jupyter_mlops as mlops
            from jupyter_mlops.core.data.dvc_repo import cache_dir
            st = mlops.data.status(check_remote=False)
            dvc = {p: state for p, state in st.paths.items() if state not in ("in sync",
                   "not committed")}
            cache = cache_dir(s.root)
            for dvc_file in s.root.rglob("*.dvc"):
                parts = dvc_file.relative_to(s.root).parts
                if not dvc_file.is_file() or {".dvc", ".git", ".mlops"} & set(parts):
                    continue
                for out in yaml.safe_load(dvc_file.read_text()).get("outs", []):
                    md5 = out.get("md5", "")
                    obj = cache / md5[:2] / md5[2:]
                    if not obj.is_file():
                        problems.append(f"{out['path']}: not in the cache")
                        continue
                    h = hashlib.md5()
                    with open(obj, "rb") as f:
                        for block in iter(lambda: f.read(1 << 20), b""):
                            h.update(block)
                    if h.hexdigest() != md5:
                        problems.append(f"{out['path']}: cache object torn")
            # copies into the cache cut short: no object is torn, but the space stays taken
            partial = sum(p.stat().st_size for p in cache.rglob("*.tmp") if p.is_file())
        else:
            partial = 0
        return {"running": running, "problems": problems, "versions": versions,
                "loaded": loaded, "dvc": dvc, "partial": partial}
    """
)


@dataclass
class Cell:
    """One fault x operation: what the fault left behind."""

    fault: str
    operation: str
    moment: str = ""
    running: int = -1
    lost: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    dvc_clean: bool | None = None
    dvc_note: str = ""
    consistent: bool = False
    versions: int = 0
    loaded: int = 0
    leftover: list[str] = field(default_factory=list)
    gone_s: float = 0.0  # until every process the faulted one had started was gone
    seconds: float = 0.0  # the whole cell: operation, fault, recovery, checks
    partial_mb: float = 0.0  # DVC's temporary copies left in its cache (space, not data)
    recover_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.running == 0
            and not self.lost
            and not self.changed
            and self.dvc_clean is not False
            and self.consistent
            and self.loaded == self.versions
            and not self.leftover
        )


def alive(pids: list[int]) -> list[str]:
    """The command lines of the processes of ``pids`` still running."""
    import psutil

    left = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE:
                left.append(" ".join(proc.cmdline())[:120])
        except psutil.NoSuchProcess:
            pass
    return left


def descendants(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.002)
    raise RuntimeError(f"timed out waiting for {what}")


FIT = (
    "from sklearn.datasets import load_breast_cancer\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "X, y = load_breast_cancer(return_X_y=True, as_frame=True)\n"
    "model = LogisticRegression(max_iter=3000).fit(X, y)"
)

# -- the operations -----------------------------------------------------------------------------


class Bench:
    """One project and one work kernel, reused across the faults."""

    def __init__(self, base: Path, size_mb: int, *, warm_promote: bool = True) -> None:
        self.base = base
        self.size_mb = size_mb
        self.warm_promote = warm_promote  # a first version registered before the faults
        self.env = clean_env()
        self.kernels: dict[str, Kernel] = {}
        self.prepared: set[str] = set()

    def root(self, operation: str = "") -> Path:
        """The project (one for every operation: the same store sees every fault)."""
        root = self.base / "project"
        if not root.exists():
            make_project(root)
        return root

    def kernel(self, operation: str = "") -> Kernel:
        """The work kernel: it runs the %mlops operations and every next tracking call."""
        if "work" not in self.kernels:
            self.kernels["work"] = Kernel(self.root(), self.env)
        return self.kernels["work"]

    def close(self) -> None:
        for kernel in self.kernels.values():
            kernel.close()
        self.kernels.clear()

    def prepare(self, operation: str) -> None:
        """What the user did before the faulted operation (done once per project)."""
        kernel = self.kernel(operation)
        root = self.root(operation)
        kernel.load()
        if operation in self.prepared:
            return
        if operation == "data add":
            write_random(root / "data" / "small.bin", 1)
            kernel.ok("mlops.data.add('data/small.bin')")
            git(root, "commit", "-q", "-m", "table")
        elif operation == "promote" and self.warm_promote:
            kernel.ok(FIT + "\nmlops.promote(model, 'cancer', X=X, y=y, alias='staging')")
        self.prepared.add(operation)

    def one(self, fault: str, operation: str) -> Cell:
        """Run ``operation``, hit it with ``fault`` mid-way, recover, check."""
        began = time.perf_counter()
        self.prepare(operation)
        root = self.root(operation)
        cell = Cell(fault, operation)
        if operation == "data add":
            write_random(root / "big.bin", self.size_mb)  # new content: a full add each time
        before = snapshot(root)
        marker = Path(tempfile.mkdtemp(prefix="marker-", dir=self.base)) / "here"
        if operation in ("batch run", "sweep child"):
            leftover = self._command(fault, operation, root, marker, cell)
        else:
            leftover = self._in_kernel(fault, operation, root, marker, cell)
        # what the killed process had started ends on its own (kernels and sweep workers watch
        # their parent once a second): how long it takes, and what is still there after 10 s
        faulted = time.perf_counter()
        while alive(leftover) and time.perf_counter() - faulted < 10:
            time.sleep(0.05)
        cell.gone_s = time.perf_counter() - faulted
        cell.leftover = alive(leftover)
        kernel = self.kernel(operation)
        if not kernel.km.is_alive():
            kernel.restart(now=True)  # a new kernel, as the user would start
        kernel.load()
        started = time.perf_counter()
        if operation == "data add":  # the user tries again
            kernel.ok("mlops.data.add('big.bin')")
        kernel.ok("%mlops track start -e crash --no-autolog\n%mlops track stop")
        cell.recover_s = time.perf_counter() - started
        found = json.loads(
            kernel.ok(CHECK + "\nimport json\nprint(json.dumps(_reliability_check()))")
        )
        cell.running = len(found["running"])
        cell.lost, cell.changed = compare(before, snapshot(root))
        cell.versions, cell.loaded = found["versions"], found["loaded"]
        cell.problems = found["problems"]
        cell.partial_mb = found["partial"] / (1 << 20)
        cell.consistent = not found["problems"]
        if found["dvc"] is not None:
            cell.dvc_clean = not found["dvc"]
            cell.dvc_note = ", ".join(f"{p}: {s}" for p, s in found["dvc"].items())
        cell.seconds = time.perf_counter() - began
        return cell

    # -- %mlops in a kernel
    def _in_kernel(
        self, fault: str, operation: str, root: Path, marker: Path, cell: Cell
    ) -> list[int]:
        kernel = self.kernel(operation)
        if operation == "tracked cell":
            kernel.ok("%mlops track start -e crash --no-autolog")
            code = (
                "import pathlib, time\n"
                "for i in range(100000):\n"
                "    mlops.log(step=i, value=float(i))\n"
                f"    if i == 20: pathlib.Path({str(marker)!r}).write_text('here')\n"
                "    time.sleep(0.01)"
            )
            trigger: Callable[[], Any] = marker.exists
            cell.moment = "logging in a loop"
        elif operation == "data add":
            kernel.ok("%mlops track start -e crash --no-autolog")
            cache = root / ".dvc" / "cache"
            known = set(_files(cache))
            code = "mlops.data.add('big.bin')"

            def trigger() -> bool:
                return bool(set(_files(cache)) - known)

            cell.moment = "first write into DVC's cache"
        else:  # promote
            kernel.ok(FIT)
            kernel.ok("%mlops track start -e crash --no-autolog")
            code = "mlops.promote(model, 'cancer', X=X, y=y, alias='staging')"
            pid = kernel.pid

            def trigger() -> bool:  # "-I": the child has become the verification process
                return any("-I" in _cmdline(p) for p in descendants(pid))

            cell.moment = "fresh-process verification running"
        msg_id = kernel.send(code)
        try:
            wait_for(trigger, 300, cell.moment)
        except RuntimeError:
            cell.moment += " (missed: the operation ended first)"
        pid = kernel.pid
        children = descendants(pid)
        if fault == "SIGKILL":
            os.kill(pid, signal.SIGKILL)
            kernel.km.provisioner.process.wait(timeout=30)
        elif fault == "SIGINT":
            os.kill(pid, signal.SIGINT)
            status = kernel.wait_reply(msg_id, 120)
            cell.moment += f"; cell ended {status}"
        else:
            kernel.restart()
        return children + ([pid] if fault != "SIGINT" else [])

    # -- jupyter mlops run / sweep
    def _command(
        self, fault: str, operation: str, root: Path, marker: Path, cell: Cell
    ) -> list[int]:
        env = {**self.env, MARKER_ENV: str(marker), "PYTHONWARNINGS": "ignore"}
        if operation == "batch run":
            args = ["run", "work.ipynb", "-e", "crash", "-p", "x", "1"]
        else:
            args = ["sweep", "work.ipynb", "-e", "crash", "-p", "x", "1,2", "--workers", "1"]
        # output to a file: a process left behind would hold a pipe open
        output = (marker.parent / "output.txt").open("w")
        proc = subprocess.Popen(
            [str(BIN / "jupyter-mlops"), *args],
            cwd=root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a command in a terminal
        )
        output.close()
        try:
            wait_for(marker.exists, 300, "the notebook's marker")
            cell.moment = "a cell of the notebook running"
            tree = descendants(proc.pid)
            if fault == "SIGKILL":
                os.kill(proc.pid, signal.SIGKILL)
            elif fault == "SIGINT":
                os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
            else:
                _restart_batch_kernel(tree)
            faulted = time.perf_counter()
            proc.wait(timeout=180)
            cell.moment += (
                f"; command exit {proc.returncode} {time.perf_counter() - faulted:.1f}s later"
            )
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        return [*tree, proc.pid]


def _files(folder: Path) -> Iterator[str]:
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            yield os.path.join(dirpath, name)


def _cmdline(pid: int) -> list[str]:
    import psutil

    try:
        return psutil.Process(pid).cmdline()
    except psutil.Error:
        return []


def _restart_batch_kernel(tree: list[int]) -> None:
    """Restart the batch kernel as jupyter_client's ``restart_kernel`` does: a
    ``shutdown_request(restart=True)`` over the kernel's own connection file, then SIGKILL if
    it has not gone after ``shutdown_wait_time``. Nobody starts a new one: the command's
    kernel manager did not ask for the restart."""
    import psutil
    from jupyter_client import BlockingKernelClient
    from jupyter_client.manager import KernelManager

    for pid in tree:
        args = _cmdline(pid)
        if "ipykernel_launcher" in " ".join(args) and "-f" in args:
            client = BlockingKernelClient()
            client.load_connection_file(args[args.index("-f") + 1])
            client.start_channels()
            client.shutdown(restart=True)
            try:
                psutil.Process(pid).wait(timeout=KernelManager().shutdown_wait_time)
            except psutil.TimeoutExpired:
                os.kill(pid, signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
            client.stop_channels()
            return
    raise RuntimeError("no kernel found under the command")


def crash_matrix(
    base: Path, size_mb: int, cells: list[tuple[str, str]], log: Callable[[str], None] = print
) -> list[Cell]:
    bench = Bench(base, size_mb)
    results = []
    try:
        for fault, operation in cells:
            started = time.perf_counter()
            cell = bench.one(fault, operation)
            log(
                f"  {fault:<8} {operation:<13} {time.perf_counter() - started:6.1f}s  {cell.moment}"
            )
            results.append(cell)
    finally:
        bench.close()
    return results


def print_matrix(cells: list[Cell]) -> None:
    head = (
        f"  {'fault':<8} {'operation':<13} {'RUNNING':>7} {'lost':>4} {'changed':>7} "
        f"{'dvc status':>10} {'store':>5} {'versions load':>13} {'orphans':>7} {'gone in':>7} "
        f"{'recover':>8} "
        f"{'cache .tmp':>10}"
    )
    print(head)
    for c in cells:
        dvc = "-" if c.dvc_clean is None else ("clean" if c.dvc_clean else "DIRTY")
        store = "ok" if c.consistent else "BAD"
        print(
            f"  {c.fault:<8} {c.operation:<13} {c.running:>7} {len(c.lost):>4} "
            f"{len(c.changed):>7} {dvc:>10} {store:>5} {f'{c.loaded}/{c.versions}':>13} "
            f"{len(c.leftover):>7} {c.gone_s:6.1f}s {c.recover_s:7.2f}s {c.partial_mb:7.0f} MB"
        )
        for problem in c.problems + c.lost + c.changed + c.leftover:
            print(f"      ! {problem}")
        if c.dvc_note:
            print(f"      dvc: {c.dvc_note}")


# -- concurrency ----------------------------------------------------------------------------------

LOGGER = textwrap.dedent(
    """
    import time as _t
    while _t.time() < {start_at}:
        _t.sleep(0.002)
    _t0 = _t.perf_counter()
    with mlops.track(experiment={experiment!r}, run_name={name!r}, tracking_uri={uri!r}):
        for _i in range({metrics}):
            mlops.log(step=_i, value=float(_i))
    print(_t.perf_counter() - _t0)
    """
)


@dataclass
class Round:
    store: str
    kernels: int
    metrics: int
    expected: int
    found: int
    errors: list[str]
    wall_s: float


def concurrency(
    kernels: list[Kernel],
    metrics: int,
    uri: str | None,
    label: str,
    round_no: int = 0,
    experiment: str = "concurrent",
) -> Round:
    """Every kernel logs ``metrics`` values in its own run at once; read them all back."""
    from mlflow import MlflowClient

    for kernel in kernels:  # imports paid before the start, as in a kernel already tracking
        kernel.load()
        kernel.ok("import mlflow, jupyter_mlops.core.tracking")
    start_at = time.time() + 2.0
    names = [f"{label}-{round_no}-k{i}" for i in range(len(kernels))]
    ids = [
        kernel.send(
            LOGGER.format(
                start_at=start_at, name=name, uri=uri, metrics=metrics, experiment=experiment
            )
        )
        for kernel, name in zip(kernels, names, strict=True)
    ]
    errors: list[str] = []
    for kernel, msg_id in zip(kernels, ids, strict=True):
        status = kernel.wait_reply(msg_id, 600)
        if status != "ok":
            errors.append(f"cell {status}")
    wall = time.time() - start_at
    for kernel, msg_id in zip(kernels, ids, strict=True):
        errors += _stderr_of(kernel, msg_id)
    tracking = uri or f"sqlite:///{kernels[0].cwd / '.mlops' / 'mlflow.db'}"
    client = MlflowClient(tracking)
    exp = client.get_experiment_by_name(experiment)
    found = 0
    runs = client.search_runs([exp.experiment_id], max_results=10000) if exp else []
    for run in runs:
        if run.info.run_name in names:
            steps = {m.step for m in client.get_metric_history(run.info.run_id, "value")}
            found += len(steps & set(range(metrics)))
    return Round(label, len(kernels), metrics, len(kernels) * metrics, found, errors, wall)


def _stderr_of(kernel: Kernel, msg_id: str) -> list[str]:
    """What the cell ``msg_id`` showed on stderr or as an error."""
    from queue import Empty

    shown = []
    while True:
        try:
            msg = kernel.kc.get_iopub_msg(timeout=0.2)
        except Empty:
            return shown
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        content = msg["content"]
        if msg["msg_type"] == "stream" and content["name"] == "stderr":
            shown += [line for line in content["text"].splitlines() if line.strip()]
        elif msg["msg_type"] == "error":
            shown.append(f"{content['ename']}: {content['evalue']}")


def print_round(r: Round) -> None:
    print(
        f"  {r.store:<14} {r.kernels} kernels x {r.metrics} metrics: expected {r.expected}, "
        f"found {r.found}, errors shown {len(r.errors)}, wall {r.wall_s:.2f}s"
    )
    for line in r.errors[:5]:
        print(f"      ! {line}")


def start_mlflow_server(home: Path) -> tuple[subprocess.Popen, str]:
    """A real ``mlflow server`` on 127.0.0.1 over a sqlite store of its own."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home.mkdir(parents=True, exist_ok=True)
    log = (home / "server.log").open("w")
    proc = subprocess.Popen(
        [
            str(BIN / "mlflow"),
            "server",
            "--backend-store-uri",
            f"sqlite:///{home / 'server.db'}",
            "--artifacts-destination",
            str(home / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        cwd=home,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=clean_env(),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError(f"mlflow server did not start: {(home / 'server.log').read_text()}")
        time.sleep(0.3)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_kernels(root: Path, count: int) -> list[Kernel]:
    return [Kernel(root, clean_env()) for _ in range(count)]


# -- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="the file data add versions")
    parser.add_argument("--kernels", type=int, default=8)
    parser.add_argument("--metrics", type=int, default=500)
    parser.add_argument("--soak-seconds", type=float, default=600)
    parser.add_argument("--no-matrix", action="store_true")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-reliability-") as tmp:
        base = Path(tmp)
        if not args.no_matrix:
            print(f"Crash matrix ({args.size_mb} MB file for data add), as it ran:")
            cells = [(f, o) for o in OPERATIONS for f in FAULTS]
            results = crash_matrix(base / "matrix", args.size_mb, cells)
            print("\nCrash matrix, after the next tracking call:")
            print_matrix(results)
            failed |= not all(c.ok for c in results)

        root = make_project(base / "concurrency")
        kernels = start_kernels(root, args.kernels)
        server, url = start_mlflow_server(base / "server")
        try:
            print(f"\nConcurrency ({args.kernels} kernels at once, one run each):")
            rounds = [
                concurrency(kernels, args.metrics, None, "sqlite"),
                concurrency(kernels, args.metrics, url, "mlflow server"),
            ]
            for r in rounds:
                print_round(r)
                failed |= r.found != r.expected or bool(r.errors)
            stop(server)
            if args.soak_seconds > 0:
                print(f"\nSoak: the sqlite round repeated for {args.soak_seconds:.0f}s")
                for kernel in kernels:  # tracking and autologging on for the whole soak
                    kernel.ok("%mlops track start -e soak")
                start_rss = [k.rss() for k in kernels]
                started = time.time()
                count, lost, errors = 0, 0, 0
                while time.time() - started < args.soak_seconds:
                    count += 1
                    r = concurrency(kernels, args.metrics, None, "soak", count, "soak")
                    lost += r.expected - r.found
                    errors += len(r.errors)
                end_rss = [k.rss() for k in kernels]
                mb = 1 << 20
                print(
                    f"  {count} rounds in {time.time() - started:.0f}s, values lost {lost}, "
                    f"errors shown {errors}"
                )
                print(
                    f"  RSS of kernel 0: {start_rss[0] / mb:.1f} MB at start, "
                    f"{end_rss[0] / mb:.1f} MB at end ({(end_rss[0] - start_rss[0]) / mb:+.1f})"
                )
                growth = [(e - s) / mb for s, e in zip(start_rss, end_rss, strict=True)]
                print(
                    f"  RSS growth over all {len(kernels)} kernels: "
                    f"min {min(growth):+.1f} MB, max {max(growth):+.1f} MB"
                )
                failed |= lost > 0 or errors > 0
        finally:
            stop(server)
            for kernel in kernels:
                kernel.close()
    print("\nRESULT: " + ("something was lost (see above)" if failed else "nothing lost"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

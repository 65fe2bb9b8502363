"""A notebook run's record in MLflow, written off the notebook's critical path.

Importing MLflow and opening its store take longer than starting a kernel and running a short
notebook. The runner therefore hands the record to a writer that works while the kernel starts
and runs: a process of its own when MLflow is not loaded yet (a thread would share the
interpreter's lock with the runner, so the import would still be paid in line), a thread when
it is (a sweep's worker, a notebook calling the API: the import is already paid). Either way
the run exists before any cell can log to it (the kernel waits for its id), and the command
returns only once the record is complete: nothing is written after the caller is told.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ...errors import MlopsError

_clients: dict[str, Any] = {}  # run id -> its client, in whichever process writes the record
_later: list[Any] = []  # settings whose housekeeping waits until the record is complete


class Writer:
    """Where the record's calls run: ``open_run`` then ``close_run``, in order, in one place.

    A separate process is a plain ``python -m`` child talking pickles over its stdin/stdout
    (not ``multiprocessing``, whose spawn would re-run the caller's unguarded script); a thread
    of ours waits on it, so each call is a future like the thread's.
    """

    def __init__(self, tracking_uri: str) -> None:
        self.separate = "mlflow" not in sys.modules and not multiprocessing.current_process().daemon
        self._calls = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlops-run")
        self._child: subprocess.Popen[bytes] | None = None
        if self.separate:  # started first: it imports MLflow while the runner does the rest
            local = tracking_uri.startswith("sqlite:")
            self._child = subprocess.Popen(
                [sys.executable, "-m", "jupyter_mlops.core.batch.record_worker"]
                + (["--sqlite"] if local else []),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=_importable_env(),
            )

    def open(self, *args: Any) -> Future:
        """Create the run (``open_run``); the future holds its id. A writer process of its own
        leaves the store's housekeeping until after the record (see ``serve``)."""
        return self._calls.submit(self._call, "open_run", (*args, self.separate))

    def close(self, *args: Any) -> dict[str, Any]:
        """Complete the record (``close_run``) and wait for it: the caller reports it next."""
        return self._calls.submit(self._call, "close_run", args).result()

    def _call(self, name: str, args: tuple[Any, ...]) -> Any:
        if self._child is None:
            return CALLS[name](*args)
        assert self._child.stdin is not None and self._child.stdout is not None
        try:
            pickle.dump((name, args), self._child.stdin)
            self._child.stdin.flush()
            ok, value = pickle.load(self._child.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            code = self._child.wait()
            raise MlopsError(f"the process writing the run's record ended (exit {code})") from None
        if ok:
            return value
        raise value

    def shutdown(self) -> None:
        """Let the writer end: it exits when its input closes, after the housekeeping it was
        left (every record it was given is complete by then, so nobody waits for it)."""
        self._calls.shutdown(wait=True)
        if self._child is not None:
            assert self._child.stdin is not None
            self._child.stdin.close()

    def abandon(self) -> None:
        """Nothing to record (the notebook or kernel was refused before any run): stop it."""
        if self._child is not None:
            self._child.kill()
            self._child.wait()
        self.shutdown()


def _importable_env() -> dict[str, str]:
    """This environment, with the folder this package was imported from first on the path
    (the caller may have put it on ``sys.path`` by hand)."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    return env


def serve(requests: Any, replies: Any) -> None:
    """The writer process: run each pickled ``(name, args)`` call, reply ``(ok, value)``, until
    its input ends; then the housekeeping left for later (marking the runs of dead kernels
    KILLED), which no record of this run waits for."""
    while True:
        try:
            name, args = pickle.load(requests)
        except EOFError:
            from ..tracking import reap

            for settings in _later:
                reap(settings)
            return
        try:
            reply = (True, CALLS[name](*args))
        except Exception as exc:
            reply = (False, _picklable(exc))
        pickle.dump(reply, replies)
        replies.flush()


def _picklable(exc: Exception) -> Exception:
    """The error as itself when it crosses a pipe, else as one line of ours."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return MlopsError(f"{type(exc).__name__}: {exc}")


def open_run(
    settings: Any,
    notebook: Path,
    exp_name: str,
    run_name: str | None,
    run_tags: dict[str, str],
    extra_tags: dict[str, str] | None,
    parameters: dict[str, Any],
    housekeeping_later: bool = False,
) -> str:
    """Open the store and create the run with its provenance and parameters; its id. The
    store's housekeeping (``reap``) comes first, or after the record when ``housekeeping_later``
    (a writer process of its own: the command need not wait for it). Imported here, not at the
    top: the runner imports this module before it starts the writer, and waits for nothing."""
    from .. import provenance, store
    from ..tracking import reap

    store.prepare(settings)
    if housekeeping_later:
        _later.append(settings)
    else:
        reap(settings)
    exp_id = store.experiment_id(settings, exp_name)
    client = store.client(settings)
    tags = provenance.run_tags(notebook, settings)
    tags.update(run_tags)
    tags.update(extra_tags or {})
    created = client.create_run(exp_id, tags=tags, run_name=run_name or notebook.stem)
    run_id = created.info.run_id
    log_parameters(client, run_id, parameters)
    _clients[run_id] = client
    return run_id


def close_run(
    run_id: str, files: dict[str, str], tags: dict[str, str], status: str
) -> dict[str, Any]:
    """Log ``files`` (artifact path -> text) and ``tags``, end the run with ``status``, and
    return what the run holds now (status, metrics, params): the kernel logged to it too."""
    client = _clients.pop(run_id)
    for path, text in files.items():
        client.log_text(run_id, text, path)
    if tags:
        from mlflow.entities import RunTag

        client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    client.set_terminated(run_id, status)
    final = client.get_run(run_id)
    return {
        "status": final.info.status,
        "metrics": dict(final.data.metrics),
        "params": dict(final.data.params),
    }


def log_parameters(client: Any, run_id: str, parameters: dict[str, Any]) -> None:
    """The injected values as the run's params (``str`` of each value), as every run of a
    notebook records them."""
    if parameters:
        from mlflow.entities import Param

        params = [Param(k, str(v)) for k, v in parameters.items()]
        client.log_batch(run_id, params=params)


CALLS = {"open_run": open_run, "close_run": close_run}

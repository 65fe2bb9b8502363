"""Where a batch's independent tasks run: spawned local processes, or a Dask cluster.

Shared by ``sweep`` (one notebook run per grid point, in ``LocalPool`` or ``DaskCluster``) and
``fit_segments`` (which fits on a ``DaskCluster`` it reaches the same way). Each executor runs a
module-level function over plain-dict tasks and yields every task with its finished future, so
one failing task never stops the others.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from ...errors import MlopsError

DASK_CONNECT_TIMEOUT = 5  # seconds: an unreachable scheduler should fail fast, not hang

_in_pool_worker = False


def init_pool_worker() -> None:
    """Pool workers leave Ctrl-C to the parent (it stops them), so idle ones print nothing.

    A worker also ends as soon as the sweep's process is gone (SIGKILL, out of memory): left
    alone it would finish its point, then wait for work forever, and its kernel with it. Its
    child run is then ended by the next tracking call, like any run of a dead process.
    """
    import signal

    global _in_pool_worker
    _in_pool_worker = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.name == "posix":
        # ipykernel's own watcher (the one that ends an orphaned kernel): exits this process
        # at once when its parent changes
        from ipykernel.parentpoller import ParentPollerUnix

        ParentPollerUnix(parent_pid=os.getppid()).start()


def ignore_interrupts_again() -> None:
    """In a pool worker, ignore Ctrl-C again: nbclient restores Python's default SIGINT
    handler after each run, and the parent is the one that stops the workers."""
    if _in_pool_worker:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)


class LocalPool:
    """Spawned worker processes on this machine."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.executor: Any = None

    def describe(self) -> str:
        return f"{self.workers} local process{'es' if self.workers != 1 else ''}"

    def run(
        self,
        function: Callable[[dict[str, Any]], Any],
        tasks: list[dict[str, Any]],
        started: Callable[[], set[int]],
    ) -> Iterator[tuple[dict[str, Any], Any]]:
        """Yield each task with its finished future. A worker that dies breaks the whole pool
        (every pending future fails): the points that had not started go to a fresh pool."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        remaining = list(tasks)
        while remaining:
            self.executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=init_pool_worker,
            )
            futures = {self.executor.submit(function, task): task for task in remaining}
            broken = []
            for future in as_completed(futures):
                if isinstance(future.exception(), BrokenProcessPool):
                    broken.append((futures[future], future))
                else:
                    yield futures[future], future
            self.executor.shutdown(wait=True)
            self.executor = None
            begun = started() if broken else set()
            retry = [task for task, _ in broken if task["index"] not in begun]
            if len(retry) == len(remaining):  # nothing could start: a new pool would not help
                retry = []
            again = {task["index"] for task in retry}
            yield from ((task, f) for task, f in broken if task["index"] not in again)
            remaining = retry

    def abort(self) -> None:
        """Drop what has not started and stop the workers (and their kernels) now."""
        if self.executor is None:
            return
        import psutil

        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            try:
                tree = psutil.Process(process.pid)
                members = [*tree.children(recursive=True), tree]
            except psutil.NoSuchProcess:
                continue
            for member in members:
                with contextlib.suppress(psutil.NoSuchProcess):
                    member.kill()
        for process in processes:
            process.join(timeout=10)
        self.executor = None

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True)
            self.executor = None


class DaskCluster:
    """A Dask distributed cluster, reached through its scheduler (or a Client given to us)."""

    def __init__(self, address: Any) -> None:
        import gc

        try:
            from distributed import Client
        except ImportError:
            raise MlopsError(
                "running on Dask needs the 'distributed' package: pip install 'jupyter-mlops[dask]'"
            ) from None
        self.owned = not isinstance(address, Client)
        self.address = address if self.owned else getattr(address.scheduler, "address", "?")
        if not self.owned:
            self.client = address
            return
        probe_tcp(str(address))
        message = None
        try:
            self.client = Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, ValueError) as exc:  # no scheduler there, or not an address
            message = f"cannot reach the Dask scheduler at {address}: {error_text(exc)}"
        except Exception as exc:  # something else listens there
            message = f"{address} does not answer as a Dask scheduler ({error_text(exc)})"
        if message is not None:
            # the half-made Client must be collected while its event loop still runs, or it
            # prints a traceback when the interpreter exits
            gc.collect()
            raise MlopsError(message)

    def describe(self) -> str:
        return f"Dask cluster at {self.address}"

    def run(
        self,
        function: Callable[[dict[str, Any]], Any],
        tasks: list[dict[str, Any]],
        started: Callable[[], set[int]],
    ) -> Iterator[tuple[dict[str, Any], Any]]:
        """Yield each task with its finished future; ``task["key"]`` names it on the cluster."""
        from distributed import as_completed

        self.futures = {}
        for task in tasks:
            future = self.client.submit(function, task, pure=False, key=task["key"])
            self.futures[future] = task
        for future in as_completed(list(self.futures), loop=self.client.loop):
            yield self.futures[future], future

    def abort(self) -> None:
        """Cancel what has not started; a running task cannot be stopped and ends its own run."""
        futures = list(getattr(self, "futures", {}))
        if futures:
            self.client.cancel(futures)

    def close(self) -> None:
        if self.owned:
            self.client.close()


def probe_tcp(address: str) -> None:
    """Say at once when nothing listens at a tcp:// address (Dask would retry until its
    timeout); an address of another kind is left to Dask."""
    import socket

    from distributed.comm import parse_address, parse_host_port

    try:
        scheme, location = parse_address(address)
        if scheme != "tcp":
            return
        host, port = parse_host_port(location)
    except ValueError:
        return  # Dask's own message says what is wrong with it
    try:
        socket.create_connection((host, port), timeout=DASK_CONNECT_TIMEOUT).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise MlopsError(f"cannot reach the Dask scheduler at {address}: {reason}") from None


def error_text(exc: BaseException) -> str:
    """``Type: first line of the message``: an error in one line."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__

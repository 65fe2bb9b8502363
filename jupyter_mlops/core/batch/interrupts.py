"""Ctrl-C during a batch run: stop the kernel at once and let the run end KILLED.

The kernel runs in a session of its own (jupyter_client starts it so): the terminal's Ctrl-C
reaches only the runner. nbclient's own answer is to shut the kernel down while its cell still
runs, which leaves the kernel printing socket errors and the run ending as if the notebook had
failed. Ours, once the kernel is ready: the first Ctrl-C kills the kernel's process group (the
kernel and whatever its cells started) and is remembered; nbclient then ends as for a dead
kernel, and the runner records the run KILLED and raises ``KeyboardInterrupt`` itself. A second
Ctrl-C interrupts as usual.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any


def take_interrupts(km: Any, state: dict[str, Any]) -> None:
    """From now on (nbclient's ``on_notebook_start`` hook, inside its event loop), Ctrl-C
    kills ``km``'s kernel and sets ``state["interrupted"]``. Only possible in the main thread
    (signals go there); elsewhere, a sweep's worker thread, nothing changes."""
    import asyncio

    loop = asyncio.get_running_loop()
    with contextlib.suppress(RuntimeError, NotImplementedError, ValueError):
        loop.add_signal_handler(signal.SIGINT, _interrupted, loop, km, state)


def _interrupted(loop: Any, km: Any, state: dict[str, Any]) -> None:
    state["interrupted"] = True
    loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C raises KeyboardInterrupt
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is not None:
        _kill_group(process.pid)


def _kill_group(pid: int) -> None:
    """SIGKILL the kernel's process group when it leads one (its own session), else it alone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)

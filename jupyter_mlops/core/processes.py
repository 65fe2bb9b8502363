"""The servers we start as child processes (``serve``, ``ui``): their port is checked before
they start, and they stop when we do, however we end.

A child runs in a process group of its own (Ctrl-C in a terminal reaches it once, through us);
``stop_group`` ends that whole group, the child's own children too, and ``stop_with_parent``
has Linux send the child SIGTERM if we die without a word (SIGKILL).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import subprocess
import time

from ..errors import MlopsError

STOP_SECONDS = 10.0  # a graceful stop's allowance, then SIGKILL


def check_port(host: str, port: int) -> None:
    """Bind the address once, as uvicorn will: in use, or a host this machine is not, is one
    line now rather than a server's traceback after it has loaded everything."""
    if not 0 < port < 65536:
        raise MlopsError(f"--port must be between 1 and 65535, not {port}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise MlopsError(
            f"--host {host!r} is not an address of this machine ({exc.strerror})"
        ) from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise MlopsError(
                    f"port {port} on {host} is in use: stop what listens there or pick another "
                    "with --port"
                ) from None
            raise MlopsError(
                f"cannot listen on {host}:{port} ({exc.strerror}): pick another --host or --port"
            ) from None


def stop_with_parent() -> None:
    """In the child before exec (Linux, as ``preexec_fn``): SIGTERM when the parent dies, even
    by SIGKILL. The kernel keeps this across exec, not across the child's own forks: a child
    that starts others must pass the SIGTERM on (``mlflow server`` and uvicorn do)."""
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, int(signal.SIGTERM))


def group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    import psutil

    members = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, PermissionError):
            continue
    return members


def signal_group(pgid: int, signum: int) -> None:
    """``signum`` to every process of the group; a group already gone is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def stop_group(child: subprocess.Popen, timeout: float = STOP_SECONDS) -> None:
    """End ``child`` (started with ``start_new_session=True``) and every process of its group:
    SIGTERM, ``timeout`` seconds to finish, then SIGKILL. Returns once none serves."""
    pgid = child.pid
    deadline = time.monotonic() + timeout
    if child.poll() is None or group_members(pgid):
        signal_group(pgid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=max(deadline - time.monotonic(), 0.0))
    while group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if child.poll() is None or group_members(pgid):
        signal_group(pgid, signal.SIGKILL)
        child.wait()
        while group_members(pgid):  # SIGKILL cannot be refused: only the kernel's moment
            time.sleep(0.02)

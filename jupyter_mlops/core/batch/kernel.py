"""The kernel of a batch run: which one, where it works, and how it ended.

Small questions the runner asks before and after it runs the cells, kept apart so the runner
reads as the run's steps.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import MlopsError

STOPPED = "STOPPED"  # the runner's status for a clean early exit; the run ends FINISHED


def check_kernel(name: str) -> list[str]:
    """Refuse an unknown kernel; return the arguments that load our extension at its start
    (an IPython kernel only: the whole notebook is the run, so fits count from its first cell).
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        known = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
        raise MlopsError(f"no kernel named {name!r} (installed: {known})") from None
    if any("ipykernel" in part for part in spec.argv):
        return ["--IPKernelApp.extensions=jupyter_mlops"]
    return []


def kernel_cwd(cwd: str | os.PathLike[str] | None, notebook: Path) -> Path:
    """The kernel's working directory: ``cwd`` (papermill's ``--cwd``), else the notebook's
    folder, as Jupyter starts a notebook's kernel."""
    if cwd is None:
        return notebook.parent
    folder = Path(cwd).expanduser().resolve()
    if not folder.is_dir():
        raise MlopsError(f"no folder {cwd} to run the kernel in: give an existing directory")
    return folder


def killed_by(process: Any) -> str:
    """ ", killed by SIGKILL (signal 9)" when a signal ended the kernel (the out-of-memory
    killer sends SIGKILL), else nothing."""
    import signal

    code = process.poll() if process is not None else None
    if code is None or code >= 0:
        return ""
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = "a signal"
    return f", killed by {name} (signal {-code})"


def clean_exit(exc: Any) -> bool:
    """``sys.exit()``, ``sys.exit(0)`` or ``raise SystemExit``: a notebook stopping on purpose
    ("nothing new today"), which papermill counts as success; other exit codes fail."""
    return getattr(exc, "ename", None) == "SystemExit" and str(
        getattr(exc, "evalue", "")
    ).strip() in ("", "0", "None")

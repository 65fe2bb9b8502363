"""The kernel's tracking state: the run stack, the write buffer, the cells it ran, and which
project (and which batch run) it belongs to.

One ``Session`` per process. The IPython layer feeds it executed cells and the notebook's
namespace; ``tracking`` starts and ends the runs on its stack; every reader (runs, data, models)
asks ``project_settings`` which store this kernel writes to, so they all agree.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Settings, resolve_settings
from ..errors import MlopsError
from . import provenance
from .buffer import LogBuffer

if TYPE_CHECKING:
    from .tracking import Run

#: the batch runner sets this in the kernel's environment; tracking calls then attach to its run
ATTACH_ENV = "JUPYTER_MLOPS_RUN_ID"
#: ... or this, a file the runner writes the run id to once the run exists (the kernel starts
#: and runs its first cells while the runner is still opening the store)
ATTACH_FILE_ENV = "JUPYTER_MLOPS_RUN_ID_FILE"
#: ... and this ("1") in sweep points and reproductions: promotions register, aliases stay put
HOLD_ALIASES_ENV = "JUPYTER_MLOPS_HOLD_ALIASES"
ATTACH_WAIT = 600.0  # seconds a tracking call waits for the runner's run before giving up


class Session:
    """Process-wide tracking state: the run stack, the write buffer, the executed cells."""

    def __init__(self) -> None:
        self.stack: list[Run] = []
        self.buffer = LogBuffer()
        self.user_ns: dict | None = None  # the notebook's namespace, when a kernel gives one
        self.lock = threading.RLock()
        self.exit_hook = False  # tracking's atexit hook is registered
        self._current: list | None = None

    @property
    def autologging(self) -> bool:
        """Whether a fit now would be recorded (the active run autologs)."""
        from . import autolog

        return bool(self.active is not None and self.active.autolog and autolog.is_enabled())

    @property
    def active(self) -> Run | None:
        return self.stack[-1] if self.stack else None

    def cell_started(self, source: str) -> None:
        """A cell is about to run: runs active now record it (a cell ending a run included)."""
        self._current = None
        if self.stack:
            self._current = [None, source]
            for run in self.stack:
                run.cells.append(self._current)

    def cell_finished(self, source: str, execution_count: int | None) -> None:
        """A cell ran: give it its number, or record it if it started the active run."""
        current, self._current = self._current, None
        if current is not None:
            current[0] = execution_count
        elif self.stack:
            for run in self.stack:
                run.cells.append([execution_count, source])


session = Session()


def in_kernel() -> bool:
    """Whether this process is an IPython kernel (a run left open there was killed, not done)."""
    ipython = sys.modules.get("IPython")
    return bool(ipython is not None and ipython.get_ipython() is not None)


# -- this project ------------------------------------------------------------------------------
def notebook() -> Path | None:
    """The notebook this kernel runs, as far as it can know (``provenance.notebook_path``)."""
    return provenance.notebook_path(session.user_ns)


def project_settings(
    tracking_uri: str | None = None,
    *,
    notebook_path: Path | None = None,
    follow_run: bool = True,
) -> Settings:
    """This kernel's project: the active run's store when no URI is given (``follow_run``),
    else the settings of the notebook's (or the working dir's) project, ``tracking_uri``
    overriding its store.

    The one answer to "which store?" for tracking, runs, data and models alike.
    ``notebook_path`` spares a second look-up when the caller has found the notebook already.
    """
    run = session.active
    if follow_run and run is not None and tracking_uri is None:
        return run.settings
    found = notebook_path or notebook()
    return resolve_settings(found.parent if found else None, tracking_uri=tracking_uri)


def default_experiment(settings: Settings, notebook_path: Path | None) -> str:
    """The experiment a run goes to when none is named: configured, else the notebook's stem,
    else the project folder's name."""
    if settings.experiment:
        return settings.experiment
    if notebook_path is not None:
        return notebook_path.stem
    return settings.root.name or "default"


# -- the batch runner's run --------------------------------------------------------------------
def aliases_held() -> bool:
    """Whether promotions here must register without moving an alias (a sweep point, a
    reproduction or a retrain: ``sweep --best`` or the gate moves it once, deliberately)."""
    return os.environ.get(HOLD_ALIASES_ENV, "") not in ("", "0")


def alias_holder() -> str | None:
    """Who holds the aliases here: ``"retrain"`` when a retrain's re-run does (its gate moves
    the alias), else ``None`` (a sweep point or a reproduction; "1" in the environment)."""
    return "retrain" if os.environ.get(HOLD_ALIASES_ENV, "") == "retrain" else None


def in_batch_run() -> bool:
    """Whether this process is a kernel of ``jupyter mlops run`` (its run is the notebook's)."""
    return bool(os.environ.get(ATTACH_ENV) or os.environ.get(ATTACH_FILE_ENV))


def attach_target() -> str | None:
    """The batch runner's run id, when this kernel runs inside ``jupyter mlops run``.

    The runner may still be creating the run when the first tracking call comes: then this
    waits for the id in the file the runner names (only tracking calls get here, never a cell
    hook), and remembers it.
    """
    run_id = os.environ.get(ATTACH_ENV)
    if run_id:
        return run_id
    path = os.environ.get(ATTACH_FILE_ENV)
    if not path:
        return None
    deadline = time.monotonic() + ATTACH_WAIT
    while True:
        try:
            text = Path(path).read_text().strip()
        except OSError:
            text = ""
        if text.startswith("!"):  # the runner could not create the run
            raise MlopsError(f"the batch runner has no run to attach to: {text[1:]}")
        if text:
            os.environ[ATTACH_ENV] = text
            return text
        if time.monotonic() > deadline:
            raise MlopsError(f"the batch runner did not say its run id within {ATTACH_WAIT:.0f} s")
        time.sleep(0.02)

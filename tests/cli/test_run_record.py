"""The record of a ``jupyter mlops run`` is written by a process of its own (``record.Writer``),
off the notebook's critical path: what that must never cost a user. Ctrl-C still ends the run
KILLED, a store that cannot take the run is one line with the cells' outputs kept, and no
process outlives the command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil

from tests.conftest import all_runs, cli, kernel_env, start_cli, write_notebook


def _start(project: Path, *args: str) -> subprocess.Popen:
    return start_cli("run", *args, cwd=project)


def _wait_for_marker(marker: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the notebook never reached its slow cell"
        time.sleep(0.2)


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_ctrl_c_ends_the_run_killed_in_one_line_and_leaves_no_process(
    project: Path, client
) -> None:
    notebook = write_notebook(
        project / "slow.ipynb",
        [
            "print('before')",
            "import pathlib, time\npathlib.Path('reached').touch()\ntime.sleep(600)",
            "never = True",
        ],
    )
    proc = _start(project, str(notebook), "-o", "out.ipynb")
    try:
        _wait_for_marker(project / "reached", proc)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        writers = [p for p in descendants if "record_worker" in " ".join(p.cmdline())]
        assert len(writers) == 1  # the CLI hands its record to a process of its own
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "jupyter mlops run: interrupted; the run is KILLED"
    assert "Traceback" not in err
    (run,) = all_runs(client)
    assert run.info.status == "KILLED"  # the writer ignored Ctrl-C and recorded it
    assert run.data.tags["mlops.error"] == "interrupted"
    logged = nbformat.read(client.download_artifacts(run.info.run_id, "notebook/slow.ipynb"), 4)
    assert logged.cells[0].outputs[0]["text"] == "before\n"
    time.sleep(1)
    assert not _alive(descendants)  # kernel and writer gone with the command


def test_the_writer_does_not_outlive_a_killed_runner(project: Path) -> None:
    # SIGKILL to the command alone (no cleanup can run): its writer sees its input end and goes
    notebook = write_notebook(
        project / "slow.ipynb",
        ["import pathlib, time\npathlib.Path('reached').touch()\ntime.sleep(600)"],
    )
    proc = _start(project, str(notebook))
    try:
        _wait_for_marker(project / "reached", proc)
        children = psutil.Process(proc.pid).children(recursive=True)
        (writer,) = [p for p in children if "record_worker" in " ".join(p.cmdline())]
        proc.kill()
        proc.communicate(timeout=30)
        writer.wait(timeout=30)  # raises psutil.TimeoutExpired if it lingers
    finally:
        for child in _alive(psutil.Process(os.getpid()).children(recursive=True)):
            if child.pid != proc.pid and "ipykernel" in " ".join(child.cmdline()):
                child.kill()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert not writer.is_running()


def test_a_store_that_cannot_take_the_run_is_one_line_and_keeps_the_outputs(
    project: Path,
) -> None:
    (project / "taken.db").mkdir()  # a folder where the sqlite file should be
    (project / "pyproject.toml").write_text(
        f'[tool.jupyter-mlops]\ntracking_uri = "sqlite:///{(project / "taken.db").as_posix()}"\n'
    )
    notebook = write_notebook(project / "nb.ipynb", ["print('ran')"])
    out = cli("run", str(notebook), "-o", "out.ipynb", cwd=project)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("jupyter mlops run: the run could not be recorded in sqlite:///")
    assert "unable to open database file" in line
    written = nbformat.read(project / "out.ipynb", 4)  # the cells ran: their outputs are kept
    assert written.cells[0].outputs[0]["text"] == "ran\n"


def test_the_runner_process_never_imports_mlflow(project: Path, client) -> None:
    # the record's writer imports MLflow while the kernel starts; were the runner to import it
    # too, it would pay the import in line again (the cost bench_run.py measures)
    write_notebook(project / "nb.ipynb", ["x = 1"])
    probe = (
        "import sys\n"
        "from jupyter_mlops.cli import main\n"
        "code = main(['run', 'nb.ipynb'])\n"
        "print(code, sorted(m for m in ('mlflow', 'pandas', 'sqlalchemy') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=project, env=kernel_env(), capture_output=True, text=True
    )
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stderr
    (run,) = all_runs(client)
    assert run.info.status == "FINISHED"  # and the record was written all the same

"""What `jupyter mlops run` leaves in its output and shows while it runs (issue 19, points 3
and 6): papermill's failure banner, its progress bar, `--log-output` and `--cwd`, each against
a real kernel and the real store."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

import nbformat

from jupyter_mlops.core.batch.banner import add_banner
from jupyter_mlops.core.batch.reproduce_checks import snapshot_difference
from tests.conftest import all_runs, cli, kernel_env, write_notebook

HOSTILE = "<script>alert(1)</script> [x](javascript:alert(1)) $x$ *y* _z_ `c`"
CELLS = [
    "fail = True",
    "import os\nopen(os.environ['CWD_FILE'], 'w').write(os.getcwd())\nprint('first')",
    "import sys\nprint('second', file=sys.stderr)",
    "6 * 7",
    f"if fail:\n    raise ValueError({HOSTILE!r})",
    "print('never')",
]
FAILING = 4  # the run's numbering: the source's cells (no parameters given, nothing injected)


def markers(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if "mlops-error-cell" in c.metadata.get("tags", [])]


def assert_banner(nb, run_id: str) -> None:
    """The banner on top links to the anchor right before the failing cell, and says inertly
    what the run recorded."""
    assert markers(nb) == [0, FAILING + 1]  # banner, then the anchor: the failing cell follows
    banner, anchor = nb.cells[0], nb.cells[FAILING + 1]
    assert banner.cell_type == anchor.cell_type == "markdown"
    assert '<a href="#mlops-error-cell">cell 4 (In [5])</a>' in banner.source
    assert 'id="mlops-error-cell"' in anchor.source and anchor.id == "mlops-error-cell"
    assert nb.cells[FAILING + 2].source == CELLS[FAILING]
    assert run_id in banner.source and "ValueError" in banner.source
    for markup in ("<script", "](", "$", "*", "_z", "`"):
        assert markup not in banner.source
    assert "&#60;script&#62;alert&#40;1&#41;" in banner.source  # shown as text, escaped


def test_a_failed_run_shows_where_it_failed_and_a_rerun_replaces_the_banner(
    project: Path, client
) -> None:
    notebook = write_notebook(project / "train.ipynb", CELLS, tags={0: ["parameters"]})
    env = {"CWD_FILE": str(project / "cwd.txt")}
    out = cli("run", "train.ipynb", "-o", "out/train.ipynb", "--log-output", cwd=project, env=env)
    assert out.returncode == 1, out.stderr
    (run,) = all_runs(client)
    run_id = run.info.run_id
    error = run.data.tags["mlops.error"]
    assert run.data.tags["mlops.failed_cell"] == str(FAILING)  # the source's numbering
    assert error.startswith("failed at cell 4 ('if fail:'): ValueError: <script>")
    # the -o notebook, the logged one and its HTML all carry the banner
    written = nbformat.read(project / "out" / "train.ipynb", 4)
    assert_banner(written, run_id)
    logged = nbformat.read(client.download_artifacts(run_id, "notebook/train.ipynb"), 4)
    assert_banner(logged, run_id)
    html = Path(client.download_artifacts(run_id, "notebook/train.html")).read_text()
    assert 'href="#mlops-error-cell"' in html and 'id="mlops-error-cell"' in html
    assert html.index('href="#mlops-error-cell"') < html.index('id="mlops-error-cell"')
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the banner's text, as text
    assert "<script>alert" not in html and 'href="javascript' not in html
    # reproduce compares what runs: the banner is not a difference from the source
    assert snapshot_difference(nbformat.read(notebook, 4), logged) == ""
    # --log-output: each cell's outputs on stderr as the cells run, in order; no bar (a pipe)
    printed = out.stderr
    lines = ["Executing cell 1 ", "first\n", "second\n", "42\n", "Executing cell 4 ", "ValueError"]
    positions = [printed.find(line) for line in lines]
    assert -1 not in positions and positions == sorted(positions), printed
    assert "never" not in printed and "Executing:" not in printed and "\r" not in printed
    assert "mlops.cwd" not in run.data.tags  # the notebook's own folder: nothing to record
    assert (project / "cwd.txt").read_text() == str(project)

    # a re-run of the output notebook fails again: still exactly one banner, this run's id;
    # in another working directory, with the bar asked for on a pipe
    elsewhere = project / "elsewhere"
    elsewhere.mkdir()
    again = cli(
        "run",
        "out/train.ipynb",
        "-o",
        "out/again.ipynb",
        "--cwd",
        "elsewhere",
        "--progress-bar",
        cwd=project,
        env=env,
    )
    assert again.returncode == 1, again.stderr
    (second,) = [r for r in all_runs(client) if r.info.run_id != run_id]
    assert second.data.tags["mlops.error"] == error  # same cell, same numbering
    rerun = nbformat.read(project / "out" / "again.ipynb", 4)
    assert_banner(rerun, second.info.run_id)
    assert run_id not in rerun.cells[0].source
    assert (project / "cwd.txt").read_text() == str(elsewhere)
    assert second.data.tags["mlops.cwd"] == str(elsewhere)
    assert "Executing:  67%" in again.stderr and "4/6 [" in again.stderr  # stopped at cell 4
    assert "first" not in again.stderr  # no --log-output


def run_on_a_terminal(*args: str, cwd: Path) -> tuple[int, str]:
    """The console script with its stderr on a pseudo-terminal: what a user sees."""
    exe = Path(sys.executable).parent / "jupyter-mlops"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a real size
    proc = subprocess.Popen(
        [str(exe), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=slave, env=kernel_env()
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    stdout, _ = proc.communicate(timeout=600)
    reader.join(timeout=30)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode() + stdout.decode()


def test_finished_runs_and_clean_stops_have_no_banner_and_a_terminal_gets_the_bar(
    project: Path, client
) -> None:
    # an output notebook from an earlier failure, run again with the fix: the banner goes
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in ["x = 1", "y = x + 1", "print(y)"]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    add_banner(nb, 1, "failed at cell 1 ('y = x + 1'): NameError: x", "0" * 32)
    assert len(nb.cells) == 5
    nbformat.write(nb, project / "fixed.ipynb")
    code, shown = run_on_a_terminal("run", "fixed.ipynb", "-o", "fixed.out.ipynb", cwd=project)
    assert code == 0, shown
    finished = nbformat.read(project / "fixed.out.ipynb", 4)
    assert [c.source for c in finished.cells] == ["x = 1", "y = x + 1", "print(y)"]
    assert "Executing: 100%" in shown and "3/3" in shown and "cell/s" in shown
    logged = nbformat.read(
        client.download_artifacts(all_runs(client)[0].info.run_id, "notebook/fixed.ipynb"), 4
    )
    assert not markers(logged)

    stop = write_notebook(project / "stop.ipynb", ["a = 1", "import sys\nsys.exit(0)", "b = 2"])
    code, shown = run_on_a_terminal(
        "run", str(stop), "-o", "stop.out.ipynb", "--no-progress-bar", cwd=project
    )
    assert code == 0, shown
    assert "stopped on purpose at cell 1" in shown and "Executing" not in shown
    # --log-output turns the default bar off, as in papermill
    code, shown = run_on_a_terminal("run", str(stop), "--log-output", cwd=project)
    assert code == 0 and "Executing cell 1 ---" in shown and "Executing:" not in shown
    stopped = nbformat.read(project / "stop.out.ipynb", 4)
    assert not markers(stopped) and len(stopped.cells) == 3
    stops = [r for r in all_runs(client) if r.data.tags.get("mlops.stopped_cell")]
    assert len(stops) == 2
    assert all(
        r.info.status == "FINISHED" and r.data.tags["mlops.stopped_cell"] == "1" for r in stops
    )


def test_a_timeout_gets_the_banner_naming_the_cell(project: Path, client, capfd) -> None:
    # from Python: no bar and no outputs on stderr unless asked; cwd as on the command line
    from jupyter_mlops import run_notebook

    notebook = write_notebook(
        project / "slow.ipynb",
        ["import os\nprint(os.getcwd())", "import time\ntime.sleep(60)"],
    )
    (project / "data").mkdir()
    result = run_notebook(notebook, output=project / "slow.out.ipynb", timeout=2, cwd="data")
    assert result.status == "FAILED" and result.failed_cell == 1
    shown = capfd.readouterr()
    printed = shown.err + shown.out  # the kernel's own stderr warnings land here too
    assert "Executing:" not in printed and "Executing cell" not in printed
    assert str(project / "data") not in printed  # cell 0's output stayed in the notebook
    (run,) = all_runs(client)
    assert run.data.tags["mlops.cwd"] == str(project / "data")
    assert run.data.tags["mlops.failed_cell"] == "1" and "timed out" in run.data.tags["mlops.error"]
    written = nbformat.read(project / "slow.out.ipynb", 4)
    assert markers(written) == [0, 2] and written.cells[3].source.startswith("import time")
    assert written.cells[1].outputs[0]["text"] == f"{project / 'data'}\n"  # the kernel's cwd
    assert "timed out after 2 s &#40;--timeout&#41;" in written.cells[0].source
    assert '<a href="#mlops-error-cell">cell 1' in written.cells[0].source


def test_a_missing_working_directory_is_one_line_and_no_run(project: Path) -> None:
    notebook = write_notebook(project / "nb.ipynb", ["x = 1"])
    out = cli("run", str(notebook), "--cwd", "no/such/dir", cwd=project)
    assert out.returncode == 2
    assert out.stderr.startswith("jupyter mlops run: no folder no/such/dir to run the kernel in")
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not (project / ".mlops").exists()  # refused before the store is opened

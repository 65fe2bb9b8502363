"""What `jupyter mlops run` leaves in its output (issue 19, point 3): papermill's failure
banner, against a real kernel and the real store."""

from __future__ import annotations

from pathlib import Path

import nbformat

from jupyter_mlops.core.batch.banner import add_banner
from jupyter_mlops.core.batch.reproduce_checks import snapshot_difference
from tests.conftest import all_runs, cli, write_notebook

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
    out = cli("run", "train.ipynb", "-o", "out/train.ipynb", cwd=project, env=env)
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
    assert (project / "cwd.txt").read_text() == str(project)

    # a re-run of the output notebook fails again: still exactly one banner, this run's id
    again = cli("run", "out/train.ipynb", "-o", "out/again.ipynb", cwd=project, env=env)
    assert again.returncode == 1, again.stderr
    (second,) = [r for r in all_runs(client) if r.info.run_id != run_id]
    assert second.data.tags["mlops.error"] == error  # same cell, same numbering
    rerun = nbformat.read(project / "out" / "again.ipynb", 4)
    assert_banner(rerun, second.info.run_id)
    assert run_id not in rerun.cells[0].source


def test_finished_runs_and_clean_stops_have_no_banner(project: Path, client) -> None:
    # an output notebook from an earlier failure, run again with the fix: the banner goes
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in ["x = 1", "y = x + 1", "print(y)"]]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    add_banner(nb, 1, "failed at cell 1 ('y = x + 1'): NameError: x", "0" * 32)
    assert len(nb.cells) == 5
    nbformat.write(nb, project / "fixed.ipynb")
    out = cli("run", "fixed.ipynb", "-o", "fixed.out.ipynb", cwd=project)
    assert out.returncode == 0, out.stderr
    finished = nbformat.read(project / "fixed.out.ipynb", 4)
    assert [c.source for c in finished.cells] == ["x = 1", "y = x + 1", "print(y)"]
    logged = nbformat.read(
        client.download_artifacts(all_runs(client)[0].info.run_id, "notebook/fixed.ipynb"), 4
    )
    assert not markers(logged)

    stop = write_notebook(project / "stop.ipynb", ["a = 1", "import sys\nsys.exit(0)", "b = 2"])
    out = cli("run", str(stop), "-o", "stop.out.ipynb", cwd=project)
    assert out.returncode == 0 and "stopped on purpose at cell 1" in out.stdout
    stopped = nbformat.read(project / "stop.out.ipynb", 4)
    assert not markers(stopped) and len(stopped.cells) == 3
    stops = [r for r in all_runs(client) if r.data.tags.get("mlops.stopped_cell")]
    assert len(stops) == 1
    assert all(
        r.info.status == "FINISHED" and r.data.tags["mlops.stopped_cell"] == "1" for r in stops
    )


def test_a_timeout_gets_the_banner_naming_the_cell(project: Path, client) -> None:
    from jupyter_mlops import run_notebook

    notebook = write_notebook(
        project / "slow.ipynb",
        ["import os\nprint(os.getcwd())", "import time\ntime.sleep(60)"],
    )
    result = run_notebook(notebook, output=project / "slow.out.ipynb", timeout=2)
    assert result.status == "FAILED" and result.failed_cell == 1
    (run,) = all_runs(client)
    assert run.data.tags["mlops.failed_cell"] == "1" and "timed out" in run.data.tags["mlops.error"]
    written = nbformat.read(project / "slow.out.ipynb", 4)
    assert markers(written) == [0, 2] and written.cells[3].source.startswith("import time")
    assert "timed out after 2 s &#40;--timeout&#41;" in written.cells[0].source
    assert '<a href="#mlops-error-cell">cell 1' in written.cells[0].source

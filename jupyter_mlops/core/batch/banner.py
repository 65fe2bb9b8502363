"""Where a batch run ended, named once: the cell label of its error line, of the note of a
clean stop, and of the failure banner at the top of the executed notebook (papermill's banner).

Papermill puts a red markdown cell at the top of a failed notebook linking to an anchor cell it
inserts just before the failing cell, both tagged so that a later run removes them. We do the
same, with our tag, and say in the banner what the run recorded: the cell (the same words as
the run's ``mlops.error``), the error and the run id. The text comes from the notebook's own
exception, so it is shown as inert text: every character that markdown, HTML or MathJax could
read as markup is written as an HTML character reference inside ``<code>``.

Cells are counted as the run counts them (``mlops.failed_cell``): the index in the notebook as
executed, that is the source notebook's cells with the injected-parameters cell when parameters
were given (papermill's numbering of its output), and without the banner cells added here.
"""

from __future__ import annotations

from typing import Any

ERROR_CELL_TAG = "mlops-error-cell"  # on the banner and the anchor (papermill-error-cell-tag)
ANCHOR_ID = "mlops-error-cell"  # the anchor's HTML id and the anchor cell's id
BANNER_ID = "mlops-error-banner"

_STYLE = 'style="color:red; font-weight:bold; font-size:1.4em;"'
_SAFE = frozenset(" .,;-=+%?")


def first_line(text: str) -> str:
    """The first non-blank line, stripped: how a cell or an error is named in one line."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def cell_label(nb: Any, index: int) -> str:
    """``cell 3 ('frame = pd.read_csv(...)')``: how the error, the note of a clean stop and the
    banner name a cell (``index`` as the run counts cells, see the module's docstring)."""
    first = first_line(nb.cells[index].source)
    if len(first) > 80:
        first = first[:77] + "..."
    return f"cell {index} ({first!r})"


def stopped_note(nb: Any, index: int | None) -> str:
    """The note of a clean early stop: which cell, and that the rest did not run."""
    where = cell_label(nb, index) if index is not None else "an unknown cell"
    after = len(nb.cells) - (index or 0) - 1
    later = "1 later cell was" if after == 1 else f"{after} later cells were"
    return (
        f"stopped on purpose at {where}: SystemExit with exit status 0, "
        f"so the run is FINISHED; {later} not run"
    )


def failure_line(nb: Any, index: int | None, error: str) -> str:
    """One readable line: which cell (index and first line of source) and what went wrong."""
    if index is None:
        return f"failed before the first cell: {error}"
    return f"failed at {cell_label(nb, index)}: {error}"


def inert(text: str) -> str:
    """``text`` as literal characters in markdown and HTML: letters, digits and a few
    harmless signs as they are, every other character as ``&#N;`` (no tag, link, emphasis,
    code span or math delimiter survives, and a newline cannot end the block)."""
    return "".join(c if c.isalnum() or c in _SAFE else f"&#{ord(c)};" for c in text)


def is_marker(cell: Any) -> bool:
    """Whether ``cell`` is a banner or anchor this module inserted (markdown, tagged)."""
    tags = cell.get("metadata", {}).get("tags", [])
    return cell.get("cell_type") == "markdown" and ERROR_CELL_TAG in tags


def remove_banner(nb: Any) -> None:
    """Drop the banner and anchor of an earlier failed run (a re-run of an output notebook
    must not pile them up; papermill's ``remove_error_markers``)."""
    nb.cells = [cell for cell in nb.cells if not is_marker(cell)]


def add_banner(nb: Any, index: int, error: str, run_id: str) -> None:
    """Insert the anchor before cell ``index`` and, at the top, the banner linking to it.

    ``error`` is the run's ``mlops.error`` line; it is shown, never interpreted.
    """
    import nbformat

    anchor = nbformat.v4.new_markdown_cell(
        f'<span id="{ANCHOR_ID}" {_STYLE}>The batch run failed at the cell below:</span>',
        metadata={"tags": [ERROR_CELL_TAG]},
        id=ANCHOR_ID,
    )
    count = nb.cells[index].get("execution_count")
    prompt = f" (In [{count}])" if isinstance(count, int) else ""  # the prompt the reader sees
    banner = nbformat.v4.new_markdown_cell(
        f'<span {_STYLE}>This run failed at <a href="#{ANCHOR_ID}">cell {index}{prompt}</a>'
        f"</span>\n\n<code>{inert(error)}</code>\n\n"
        f"MLflow run <code>{inert(run_id)}</code>, recorded FAILED; the failing cell follows the "
        "red line further down.",
        metadata={"tags": [ERROR_CELL_TAG]},
        id=BANNER_ID,
    )
    taken = {cell.get("id") for cell in nb.cells}
    if nb.get("nbformat_minor", 0) < 5 or {ANCHOR_ID, BANNER_ID} & taken:  # ids from 4.5 on
        del anchor["id"], banner["id"]
    nb.cells.insert(index, anchor)
    nb.cells.insert(0, banner)

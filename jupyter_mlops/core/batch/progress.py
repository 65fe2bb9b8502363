"""What a batch run shows while its cells run: papermill's progress bar and ``--log-output``.

Papermill draws a tqdm bar over the notebook's cells (``unit="cell"``, ``desc="Executing"``)
and, with ``log_output``, writes each cell's stream output and plain-text results as they
arrive, on stderr through its logger. The reporter here does both on one text stream (stderr
by default), the bar stepped as each cell starts, the outputs taken from nbclient's ``output``
(the one place every iopub output passes) as the kernel sends them, not after the cell.
"""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class CellReporter:
    """Shows a run's cells on ``stream`` (``sys.stderr`` when ``None``) as they run."""

    def __init__(
        self, nb: Any, *, progress_bar: bool, log_output: bool, stream: TextIO | None = None
    ) -> None:
        self.log_output = log_output
        self.stream = stream if stream is not None else sys.stderr
        self.bar = None
        if progress_bar:
            from tqdm import tqdm

            self.bar = tqdm(total=len(nb.cells), unit="cell", desc="Executing", file=self.stream)

    def cell_started(self, cell: Any, index: int) -> None:
        """Step the bar to this cell; with ``log_output``, say which code cell runs now (by the
        index the run's error would name, see ``banner.cell_label``)."""
        if self.bar is not None:
            self.bar.update(index - self.bar.n)
        if self.log_output and cell.cell_type == "code" and cell.source.strip():
            self._write(f"Executing cell {index} {'-' * 40}\n")

    def output(self, out: Any) -> None:
        """With ``log_output``: one output as it arrives (streams, plain-text results, errors)."""
        if not self.log_output or out is None:
            return
        kind = out.get("output_type")
        if kind == "stream":
            text = out.get("text", "")
        elif kind == "error":
            text = "\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}"
        elif "text/plain" in out.get("data", {}):
            text = out["data"]["text/plain"]
        else:
            return
        text = "".join(text) if isinstance(text, list) else text
        if not self._terminal():
            text = _ANSI.sub("", text)
        self._write(text if text.endswith("\n") else text + "\n")

    def close(self, finished: bool) -> None:
        """Fill the bar when every cell ran, leave it where the run stopped otherwise."""
        if self.bar is not None:
            if finished:
                self.bar.update(self.bar.total - self.bar.n)
            self.bar.close()

    def _terminal(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def _write(self, text: str) -> None:
        if self.bar is not None:  # keep the bar on its own line, below the outputs
            with self.bar.external_write_mode(file=self.stream):
                self.stream.write(text)
        else:
            self.stream.write(text)
        self.stream.flush()


def notebook_client(nb: Any, reporter: CellReporter, **options: Any) -> Any:
    """An nbclient ``NotebookClient`` for ``nb`` that hands each output to ``reporter`` as the
    kernel sends it (a plain one when there is nothing to stream)."""
    from nbclient import NotebookClient

    if not reporter.log_output:
        return NotebookClient(nb, **options)

    class StreamingClient(NotebookClient):
        def output(self, outs: Any, msg: Any, display_id: Any, cell_index: int) -> Any:
            out = super().output(outs, msg, display_id, cell_index)
            reporter.output(out)
            return out

    return StreamingClient(nb, **options)

"""``jupyter nbconvert --to mlops NOTEBOOK``: ``jupyter mlops run``, reached through nbconvert.

Registered as the ``mlops`` exporter (entry point group ``nbconvert.exporters``). The notebook is
executed as one tracked run, exactly as ``jupyter mlops run`` does it, and nbconvert writes the
executed copy beside the source as ``NAME.mlops.ipynb``; the source is never written. Options::

    jupyter nbconvert --to mlops train.ipynb \\
        --MlopsExporter.parameters alpha=0.5 --MlopsExporter.experiment=nightly
"""

from __future__ import annotations

import os
from typing import Any

from nbconvert.exporters import NotebookExporter
from nbconvert.utils.exceptions import ConversionException
from traitlets import Dict, Int, Unicode

from .errors import MlopsError


class MlopsExporter(NotebookExporter):
    """Execute the notebook as one tracked MLflow run and export the executed notebook."""

    export_from_notebook = None  # not offered in JupyterLab's "Export Notebook As" menu

    parameters = Dict(
        help="Values injected after the cell tagged 'parameters' (NAME=VALUE on the command "
        "line; values are read as Python literals where they can be, else as strings)."
    ).tag(config=True)
    experiment = Unicode(
        None, allow_none=True, help="Experiment (default: the notebook's stem)."
    ).tag(config=True)
    kernel_name = Unicode(
        None, allow_none=True, help="Kernel (default: the notebook's kernelspec)."
    ).tag(config=True)
    timeout = Int(None, allow_none=True, help="Seconds a cell may take.").tag(config=True)

    def from_notebook_node(
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        from .core.batch.runner import run_notebook
        from .core.values import parse_value

        resources = self._init_resources(resources)
        meta = resources.get("metadata") or {}
        folder = meta.get("path") or os.getcwd()
        name = meta.get("name") or "notebook"
        parameters = {}
        for key, value in self.parameters.items():
            if not str(key).isidentifier():
                raise ConversionException(f"parameter name {key!r} is not a Python identifier")
            parameters[key] = parse_value(value) if isinstance(value, str) else value
        try:
            result = run_notebook(
                os.path.join(folder, f"{name}.ipynb"),
                parameters,
                experiment=self.experiment,
                kernel_name=self.kernel_name,
                timeout=self.timeout,
                nb=nb,
            )
        except MlopsError as exc:
            raise ConversionException(str(exc)) from None
        self.log.info("%s", result.summary())
        if not result.ok:
            self.log.error("%s", result.error or f"run {result.run_id} {result.status}")
            raise ConversionException(f"run {result.run_id} {result.status}: {result.error}")
        output, resources = super().from_notebook_node(result.notebook, resources, **kw)
        resources["output_suffix"] = ".mlops"
        resources["mlops_run_id"] = result.run_id
        return output, resources

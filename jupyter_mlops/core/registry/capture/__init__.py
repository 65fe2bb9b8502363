"""Capture the notebook-defined code a model needs, so the model loads outside the notebook.

A model pickled in a notebook refers to its custom classes and functions as ``__main__.Name``,
which no other process has. Here we find those objects with pickle's own traversal, recover their
source (IPython keeps every cell in ``linecache``; the cell history is the fallback), write it as
a plain module with the imports and constants it uses, and re-pickle the model against that
module. The source travels with the artifact, and a reviewer can read it.
"""

from .assemble import recover_source
from .find import CaptureError, find_notebook_objects, is_notebook_module, is_notebook_object
from .repickle import package

__all__: list[str] = [
    "CaptureError",
    "find_notebook_objects",
    "is_notebook_module",
    "is_notebook_object",
    "package",
    "recover_source",
]

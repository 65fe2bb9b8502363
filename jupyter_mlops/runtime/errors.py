"""The base of every error a user can fix, defined where the shipped runtime can reach it.

``jupyter_mlops.errors`` re-exports ``MlopsError`` from here, so ``except mlops.MlopsError``
catches the ``ContractError`` and ``SegmentError`` a loaded model raises; the warnings a loaded
model gives are defined here for the same reason. A copy of the contract
or the segment family shipped as a plain file (no package around it) looks this module up in the
installed jupyter-mlops, and defines its own base only where there is none.
"""


class MlopsError(Exception):
    """A mistake the user can fix: the message names the thing to change."""


class ContractWarning(UserWarning):
    """Values the training data never had: out of range, unseen levels, unexpected nulls.

    Defined here, not in the contract, so that a model's shipped copy of the contract warns with
    this very class wherever jupyter-mlops is installed: ``pytest.warns`` and warning filters
    naming it catch every model's warnings, and a process that never loaded the model (pytest-
    xdist's controller, say) can still import the class a warning names."""


class InferenceLogWarning(UserWarning):
    """Rows the inference log did not write: a failed write, or a writer that died."""


class SegmentWarning(UserWarning):
    """Rows of segments the family never saw were served by the fallback model."""

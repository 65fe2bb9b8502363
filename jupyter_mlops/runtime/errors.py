"""The base of every error a user can fix, defined where the shipped runtime can reach it.

``jupyter_mlops.errors`` re-exports ``MlopsError`` from here, so ``except mlops.MlopsError``
catches the ``ContractError`` and ``SegmentError`` a loaded model raises. A copy of the contract
or the segment family shipped as a plain file (no package around it) looks this module up in the
installed jupyter-mlops, and defines its own base only where there is none.
"""


class MlopsError(Exception):
    """A mistake the user can fix: the message names the thing to change."""

"""``%mlops status``."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "where runs go and what is active: store, experiment, run, DVC"


class StatusReport:
    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status

    def _repr_html_(self) -> str:
        from ..display.cards import status_html

        return status_html(self.status)

    def __repr__(self) -> str:
        from ..display.cards import status_text

        return status_text(self.status)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    return sub.add_parser("status", help=HELP, description=HELP)


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> None:
    from ..core import runs

    magics.show(StatusReport(runs.status(tracking_uri=magics.tracking_uri)))

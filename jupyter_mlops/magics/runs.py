"""``%mlops runs [-e EXPERIMENT] [--max N] [--filter EXPR]``."""

from __future__ import annotations

import argparse
from typing import Any

from ..core.runs import MAX_RUNS
from .parser import whole_number

HELP = "recent runs of an experiment as a DataFrame"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("runs", help=HELP, description=HELP)
    p.add_argument("-e", "--experiment", help="experiment name (default: the current one)")
    p.add_argument(
        "--max",
        type=whole_number(1, MAX_RUNS),
        default=20,
        dest="max_results",
        help="at most N runs",
    )
    p.add_argument(
        "--filter",
        help='MLflow\'s search syntax, quoted, e.g. "metrics.auc > 0.9" (run by the store), '
        "or words of a run's name",
    )
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core import runs

    return runs.runs(
        args.experiment, args.max_results, filter=args.filter, tracking_uri=magics.tracking_uri
    )

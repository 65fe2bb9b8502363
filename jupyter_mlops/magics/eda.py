"""``%mlops eda DF [--target COL] [--sample N] [--name NAME]``: an inline EDA report."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "profile a DataFrame: statistics, distributions, correlations, target, warnings"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("eda", help=HELP, description=HELP)
    p.add_argument("frame", metavar="DF", help="the DataFrame (a variable or expression)")
    p.add_argument("--target", metavar="COL", help="the column to predict")
    p.add_argument(
        "--sample",
        type=int,
        metavar="N",
        help="rows used for Spearman correlations on large frames (default 200000)",
    )
    p.add_argument("--name", help="report name for the eda/<name>.html artifact (default: DF)")
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core.stats.eda import eda

    frame = magics.evaluate(args.frame)
    name = args.name or (args.frame if args.frame.isidentifier() else None)
    report = eda(frame, target=args.target, sample=args.sample, name=name)
    magics.show(report)
    return None

"""``%mlops check DF --target COL [--task T] [--model VAR] [--alpha A] [--name NAME]``."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "statistical assumption checks for predicting a column, each with a verdict and meaning"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("check", help=HELP, description=HELP)
    p.add_argument("frame", metavar="DF", help="the DataFrame (a variable or expression)")
    p.add_argument("--target", metavar="COL", required=True, help="the column to predict")
    p.add_argument(
        "--task",
        choices=["classification", "regression"],
        help="inferred from the target when not given",
    )
    p.add_argument(
        "--model",
        metavar="VAR",
        help="a fitted model: residual checks use its predictions instead of an OLS fit",
    )
    p.add_argument(
        "--alpha", type=float, default=0.05, metavar="A", help="significance level (0.05)"
    )
    p.add_argument("--name", help="report name for the checks/<name>.json artifact (default: DF)")
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core.stats.checks import check

    frame = magics.evaluate(args.frame)
    model = magics.evaluate(args.model) if args.model else None
    name = args.name or (args.frame if args.frame.isidentifier() else None)
    report = check(
        frame, target=args.target, task=args.task, model=model, alpha=args.alpha, name=name
    )
    magics.show(report)
    return None

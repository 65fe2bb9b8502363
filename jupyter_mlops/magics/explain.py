"""``%mlops explain MODEL X [Y] [--repeats N] [--scoring S] [--sample N] [--name NAME]``."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "which features a model relies on: permutation importance, and SHAP when installed"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("explain", help=HELP, description=HELP)
    p.add_argument("model", metavar="MODEL", help="a fitted model (anything with predict)")
    p.add_argument("X", metavar="X", help="the features, as the model takes them")
    p.add_argument(
        "y",
        metavar="Y",
        nargs="?",
        help="the true targets; without them, importance is the change in the model's own "
        "predictions",
    )
    p.add_argument(
        "--repeats", type=int, default=5, metavar="N", help="shuffles per column (default 5)"
    )
    p.add_argument(
        "--scoring",
        metavar="S",
        help="a scikit-learn scorer name, e.g. roc_auc (default: the model's score)",
    )
    p.add_argument(
        "--sample", type=int, metavar="N", help="rows used on larger inputs (default 5000)"
    )
    p.add_argument(
        "--name", default="explain", help="report name for explain/<name>.json (default: explain)"
    )
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core.stats.explain import explain

    model = magics.evaluate(args.model)
    X = magics.evaluate(args.X)
    y = magics.evaluate(args.y) if args.y is not None else None
    report = explain(
        model,
        X,
        y,
        n_repeats=args.repeats,
        scoring=args.scoring,
        sample=args.sample,
        name=args.name,
    )
    magics.show(report)
    return None

"""``%mlops drift REF CUR [--target COL] [--alpha A] [--name NAME]``: per-column drift, inline."""

from __future__ import annotations

import argparse
from typing import Any

HELP = (
    "compare two DataFrames column by column: a Holm-adjusted test (KS and binned chi-square "
    "for numbers, chi-square for levels), PSI for the size, a verdict each"
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("drift", help=HELP, description=HELP)
    p.add_argument("reference", metavar="REF", help="the reference DataFrame (e.g. training data)")
    p.add_argument("current", metavar="CUR", help="the current DataFrame (e.g. recent data)")
    p.add_argument("--target", metavar="COL", help="the label column: its drift is shown apart")
    p.add_argument(
        "--alpha",
        type=float,
        default=0.05,
        metavar="A",
        help="significance level after Holm's correction (default 0.05)",
    )
    p.add_argument(
        "--name", default="drift", help="report name for drift/<name>.json (default: drift)"
    )
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core.stats.drift import drift

    reference = magics.evaluate(args.reference)
    current = magics.evaluate(args.current)
    report = drift(reference, current, target=args.target, alpha=args.alpha, name=args.name)
    magics.show(report)
    return None

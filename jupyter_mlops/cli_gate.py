"""``jupyter mlops gate CHALLENGER CHAMPION --eval PATH --target COL``: the challenger takes the
champion's alias only when it scores at least as well on the same evaluation data, its checks
held and its contract accepts the data; exit 0 when it passed (the alias moved), 3 when the
gate refused (the alias stays), 2 for a usage error (one line)."""

from __future__ import annotations

import argparse
import json
from typing import Any

HELP = "judge a challenger version against the champion and move the alias only if it passes"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "gate",
        help=HELP,
        description=f"{HELP}. Both are loaded as registered (contract included) and scored on "
        "the same evaluation data. Exit 0 when the challenger passed, 3 when the gate refused "
        "(the alias stays), 2 for a usage error.",
    )
    p.add_argument("challenger", metavar="CHALLENGER_URI", help="models:/NAME/VERSION")
    p.add_argument("champion", metavar="CHAMPION_URI", help="models:/NAME@ALIAS (the alias moves)")
    add_gate_options(p)
    p.add_argument("--json", action="store_true", help="print the decision as JSON")
    p.set_defaults(func=cmd_gate)
    return p


def add_gate_options(p: argparse.ArgumentParser) -> None:
    """The options ``gate`` and ``retrain`` share."""
    p.add_argument("--eval", metavar="PATH", help="evaluation data, CSV or Parquet")
    p.add_argument("--target", metavar="COL", help="the evaluation data's label column")
    p.add_argument(
        "--scoring",
        metavar="SCORER",
        help="a scikit-learn scorer name (default: accuracy for a classifier, r2 for a regressor)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        metavar="T",
        help="the challenger passes at the champion's score minus T (default 0)",
    )
    p.add_argument("--alias", help="the alias to move (default: the champion URI's)")
    p.add_argument(
        "--force",
        action="store_true",
        help="move the alias whatever the gate decides (needs --reason; recorded as forced)",
    )
    p.add_argument("--reason", metavar="TEXT", help="why, kept in the alias history")


def cmd_gate(args: argparse.Namespace) -> int:
    from .core.production.gate import gate
    from .errors import MlopsError

    if args.eval is None or args.target is None:
        raise MlopsError("the gate needs --eval PATH and --target COL: the data both are scored on")
    result = gate(
        args.challenger,
        args.champion,
        eval=args.eval,
        target=args.target,
        scoring=args.scoring,
        tolerance=args.tolerance,
        alias=args.alias,
        force=args.force,
        reason=args.reason,
        via="cli",
    )
    print(json.dumps(result.to_dict(), indent=1) if args.json else result.line())
    return result.exit_code

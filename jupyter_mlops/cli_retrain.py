"""``jupyter mlops retrain NAME@ALIAS``: re-run the champion's notebook at HEAD on the current
data, then gate the challenger against the champion; exit 0 when the alias moved (or, without
``--eval``, the challenger was registered), 3 when the gate refused, 1 when the re-run failed or
registered nothing, 2 for a usage error (one line), 130 on Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from typing import Any

HELP = "re-run a champion's notebook at HEAD on the current data; the gate moves the alias"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "retrain",
        help=HELP,
        description="Find the run that promoted the version behind NAME@ALIAS, re-run its "
        "notebook as committed at HEAD (never code from the store) in a scratch clone, with the "
        "DVC-tracked data it recorded as HEAD's .dvc files version it (or --data) and its "
        "recorded parameters overridden by -p. Aliases are held during the re-run: its "
        "promotion registers the challenger. With --eval, the gate scores both versions on the "
        "same data and moves the alias only when the challenger is at least as good. Exit 0 "
        "moved (or registered, without --eval), 3 the gate refused, 1 the re-run failed or "
        "registered no version, 2 usage, 130 interrupted.",
    )
    p.add_argument("model", metavar="NAME@ALIAS", help="the champion (or models:/NAME@ALIAS)")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="override a recorded parameter, VALUE read as a Python literal where it is one "
        "(as run -p; repeatable)",
    )
    p.add_argument(
        "--data",
        action="append",
        metavar="PATH",
        help="a DVC-tracked path to check out at HEAD instead of those the run recorded "
        "(repeatable)",
    )
    p.add_argument("--eval", metavar="PATH", help="evaluation data, CSV or Parquet")
    p.add_argument("--target", metavar="COL", help="the evaluation data's target column")
    p.add_argument("--scoring", help="a scikit-learn scorer (default: the model type's score)")
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="how far below the champion's score the challenger may be (default 0)",
    )
    p.add_argument("--alias", help="the alias to move (default: the one in NAME@ALIAS)")
    p.add_argument("--force", action="store_true", help="move even when the gate refuses")
    p.add_argument("--reason", help="why (needed with --force; kept in the alias history)")
    p.add_argument("--kernel", help="kernel name (default: the notebook's kernelspec)")
    p.add_argument("--timeout", type=int, help="seconds a cell may take")
    p.add_argument("--json", action="store_true", help="print the outcome as JSON")
    p.set_defaults(func=cmd_retrain)
    return p


def cmd_retrain(args: argparse.Namespace) -> int:
    from .core.batch.parameter_sources import merge_parameters
    from .core.production.retrain import retrain

    parameters = merge_parameters(typed=args.parameter)
    try:
        result = retrain(
            args.model,
            parameters=parameters,
            data=args.data,
            eval=args.eval,
            target=args.target,
            scoring=args.scoring,
            tolerance=args.tolerance,
            alias=args.alias,
            force=args.force,
            reason=args.reason,
            user=None,
            kernel_name=args.kernel,
            timeout=args.timeout,
        )
    except KeyboardInterrupt:  # a started re-run is already ended KILLED; nothing was moved
        message = "interrupted; nothing moved (a re-run that had started is KILLED)"
        print(f"jupyter mlops retrain: {message}", file=sys.stderr)
        return 130
    print(result.to_json() if args.json else result.summary())
    if result.exit_code == 1:
        print(f"jupyter mlops retrain: {result.line()}", file=sys.stderr)
    return result.exit_code

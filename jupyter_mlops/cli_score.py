"""``jupyter mlops score MODEL_URI INPUT -o OUTPUT``: thin over ``core.production.score``."""

from __future__ import annotations

import argparse
import sys

from .errors import MlopsError


def cmd_score(args: argparse.Namespace) -> int:
    """Score the file, print the summary; bad input is the usual one line and exit 2."""
    from .core.production.score import score

    if args.chunksize < 1:
        raise MlopsError(f"--chunksize must be 1 or more rows, not {args.chunksize}")
    try:
        result = score(
            args.model_uri,
            args.input,
            args.output,
            chunksize=args.chunksize,
            log=not args.no_log,
            dask=args.dask,
            progress=args.progress,
        )
    except KeyboardInterrupt:  # the output's temporary file is already removed
        print("jupyter mlops score: interrupted; no output written", file=sys.stderr)
        return 130
    print(result.summary())
    return 0


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``score`` sub-command on ``jupyter mlops``'s parser."""
    from .core.production.score import CHUNKSIZE

    parser = sub.add_parser(
        "score",
        help="score a CSV or Parquet file (or a folder of Parquet files) with a registered model",
        description="Stream INPUT through the registered model in chunks (bounded memory), the "
        "model's contract checked on every chunk, and write OUTPUT in the input's format: the "
        "input's columns plus 'prediction' (or 'prediction_<column>' per column of a 2-D "
        "output). Every row goes to the project's inference log unless --no-log. OUTPUT "
        "appears only when every chunk scored.",
    )
    parser.add_argument("model_uri", metavar="MODEL_URI", help="models:/NAME@ALIAS or /VERSION")
    parser.add_argument("input", metavar="INPUT", help="a .csv or .parquet file, or a folder")
    parser.add_argument("-o", "--output", required=True, metavar="OUTPUT")
    parser.add_argument(
        "--chunksize",
        type=int,
        default=CHUNKSIZE,
        metavar="N",
        help=f"rows per chunk (default: {CHUNKSIZE:,})",
    )
    parser.add_argument(
        "--dask", metavar="ADDRESS", help="score a folder's files on this Dask scheduler"
    )
    parser.add_argument("--no-log", action="store_true", help="do not write the inference log")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        help="a progress bar on stderr (default: when stderr is a terminal)",
    )
    parser.set_defaults(func=cmd_score)
    return parser

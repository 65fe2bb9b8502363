"""``%mlops segments DF --by COL --target COL --estimator VAR [--dask ADDRESS] [--min-rows N]
[--n-jobs N] [--cv N] [--name VAR]``."""

from __future__ import annotations

import argparse
import keyword
from typing import Any

from IPython.core.error import UsageError

HELP = (
    "fit one model per segment (in parallel, or on a Dask cluster) plus a fallback for the "
    "rest; each segment is a child run of the active run"
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("segments", help=HELP, description=HELP)
    p.add_argument("frame", metavar="DF", help="the DataFrame (a variable or expression)")
    p.add_argument("--by", metavar="COL", required=True, help="the column naming each segment")
    p.add_argument("--target", metavar="COL", required=True, help="the column to predict")
    p.add_argument(
        "--estimator",
        metavar="VAR",
        required=True,
        help="an unfitted scikit-learn estimator, e.g. ridge or 'Ridge(alpha=0.5)'",
    )
    p.add_argument(
        "--dask", metavar="ADDRESS", help="fit on the Dask cluster at this scheduler address"
    )
    p.add_argument(
        "--min-rows",
        type=int,
        default=20,
        metavar="N",
        help="segments with fewer rows are served by the fallback model (default 20)",
    )
    p.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        metavar="N",
        help="local worker processes (default -1: one per CPU; 1: this process)",
    )
    p.add_argument(
        "--cv", type=int, default=5, metavar="N", help="folds scoring each segment (0: none)"
    )
    p.add_argument(
        "--name", default="family", metavar="VAR", help="variable for the result (default family)"
    )
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core.batch.segments import fit_segments

    if not args.name.isidentifier() or keyword.iskeyword(args.name):
        raise UsageError(f"%mlops segments: --name {args.name!r} is not a Python variable name")
    frame = magics.evaluate(args.frame)
    estimator = magics.evaluate(args.estimator)
    family = fit_segments(
        frame,
        by=args.by,
        target=args.target,
        estimator=estimator,
        n_jobs=args.n_jobs,
        dask=args.dask,
        min_rows=args.min_rows,
        cv=args.cv,
    )
    magics.shell.user_ns[args.name] = family
    print(f"{args.name}: {family.describe()}")
    magics.show(family)
    return None

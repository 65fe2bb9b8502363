"""``%mlops log K=V [K=V ...] [--step N]``."""

from __future__ import annotations

import argparse
from typing import Any

from IPython.core.error import UsageError

from ..core.tracking import STEP_RANGE
from ..core.values import parse_value
from .parser import whole_number

HELP = "log values on the active run: numbers become metrics, anything else params"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("log", help=HELP, description=HELP)
    p.add_argument("values", nargs="+", metavar="K=V")
    p.add_argument("--step", type=whole_number(*STEP_RANGE), help="metric step")
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> None:
    from ..core import tracking

    values = {}
    for item in args.values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{item!r} must look like KEY=VALUE")
        values[key] = parse_value(raw)
    tracking.log(step=args.step, **values)

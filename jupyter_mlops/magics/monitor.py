"""``%mlops monitor NAME[@ALIAS|/VERSION] [--since ISO] [--until ISO] [--window 1d]``: a promoted
model's inference log, window by window, against its training reference, shown inline."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "judge a registered model's logged inputs and predictions against its training reference"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("monitor", help=HELP, description=HELP)
    p.add_argument("model", metavar="NAME[@ALIAS|/VERSION]", help="a registered model version")
    p.add_argument("--since", metavar="ISO", help="from this UTC date/time (default: first row)")
    p.add_argument("--until", metavar="ISO", help="to this UTC date/time, exclusive (default: now)")
    p.add_argument("--window", default="1d", help="window length: 1h, 6h, 1d, 7d... (default 1d)")
    p.add_argument("--no-record", action="store_true", help="do not record the windows as runs")
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core.production.monitor import monitor

    report = monitor(
        args.model,
        since=args.since,
        until=args.until,
        window=args.window,
        record=not args.no_record,
        tracking_uri=magics.tracking_uri,
    )
    magics.show(report)
    return None

"""``jupyter mlops monitor NAME[@ALIAS|/VERSION]``: a promoted model's inference log, window by
window, against its training reference; exit 0 when stable, 3 when an input column drifted,
2 for a usage error (one line)."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "judge a registered model's logged inputs and predictions against its training reference"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "monitor",
        help=HELP,
        description=f"{HELP}, one window at a time; each window is recorded as a run in the "
        "experiment monitoring/NAME. Exit 0 when no input column drifted, 3 when one did "
        "(cron and CI can act), 2 for a usage error.",
    )
    p.add_argument("model", metavar="NAME[@ALIAS|/VERSION]", help="a registered model version")
    p.add_argument("--since", metavar="ISO", help="from this UTC date/time (default: first row)")
    p.add_argument("--until", metavar="ISO", help="to this UTC date/time, exclusive (default: now)")
    p.add_argument("--window", default="1d", help="window length: 1h, 6h, 1d, 7d... (default 1d)")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument("--no-record", action="store_true", help="do not record the windows as runs")
    p.set_defaults(func=cmd_monitor)
    return p


def cmd_monitor(args: argparse.Namespace) -> int:
    from .core.production.monitor import monitor

    report = monitor(
        args.model,
        since=args.since,
        until=args.until,
        window=args.window,
        record=not args.no_record,
    )
    print(report.to_json() if args.json else repr(report))
    return report.exit_code

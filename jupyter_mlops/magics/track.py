"""``%mlops track [start|stop]`` and ``%%mlops track``."""

from __future__ import annotations

import argparse
from typing import Any

from IPython.core.error import UsageError

HELP = "start or stop a tracked MLflow run; as a cell magic, run the cell inside its own run"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("track", help=HELP, description=HELP)
    p.add_argument("action", nargs="?", choices=["start", "stop"], default="start")
    p.add_argument("-e", "--experiment", help="experiment name (default: the notebook's stem)")
    p.add_argument("-n", "--name", dest="run_name", help="run name")
    p.add_argument("--tag", action="append", default=[], metavar="K=V", help="tag (repeatable)")
    p.add_argument("--description", help="run description")
    p.add_argument(
        "--no-autolog", action="store_true", help="do not autolog scikit-learn fits in this run"
    )
    p.add_argument(
        "--status",
        type=str.upper,
        choices=["FINISHED", "FAILED", "KILLED"],
        help="with stop: the final status (default FINISHED)",
    )
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core import tracking

    if args.action == "stop":
        if cell is not None:
            raise UsageError(
                "%%mlops track runs the cell in a run of its own; 'stop' is for %mlops"
            )
        starting = [o for o in ("experiment", "run_name", "description") if getattr(args, o)]
        if starting or args.tag or args.no_autolog:
            raise UsageError("%mlops track stop takes only --status")
        ended = tracking.end_run(args.status or "FINISHED")
        if ended is None:
            raise UsageError("no active run to stop")
        if not ended.owned:
            print(f"Released run {ended.run_id}: the batch run that owns it ends it.")
        if ended.kept:  # its server is away: one line, and the cell returns at once
            print(ended.kept[0].upper() + ended.kept[1:] + ".")
            return None
        magics.show_run(ended)
        return None
    if args.status:
        raise UsageError("--status goes with 'stop'")
    options = dict(
        experiment=args.experiment,
        run_name=args.run_name,
        tags=tracking.tags_of(args.tag),
        autolog=False if args.no_autolog else magics.autolog,
        tracking_uri=magics.tracking_uri,
        description=args.description,
    )
    if cell is None:
        started = tracking.start_run(nested=False, **options)  # re-running the cell is safe
        if started.replaced:
            print(f"Ended the previous run {started.replaced} (FINISHED).")
        magics.show_run(started)
        return None
    cell_run = tracking.start_run(**options)  # inside an active (or batch) run: its child
    try:
        with cell_run:
            return magics.execute(cell)
    finally:
        magics.show_run(cell_run)

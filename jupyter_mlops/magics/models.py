"""``%mlops models [NAME] [--history]``: registered models, one model's versions and aliases, or
the history of its aliases."""

from __future__ import annotations

import argparse
from typing import Any

from IPython.core.error import UsageError

HELP = "registered models, or one model's versions and aliases"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("models", help=HELP, description=HELP)
    p.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help="a registered model: list its versions, newest first",
    )
    p.add_argument(
        "--history",
        action="store_true",
        help="every recorded move of NAME's aliases, oldest first (who, when, why, the gate)",
    )
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    if args.history:
        if args.name is None:
            raise UsageError("%mlops models --history needs NAME: %mlops models NAME --history")
        from ..core.registry.alias_history import history

        return history(args.name, tracking_uri=magics.tracking_uri)
    from ..core.registry.models import models

    return models(args.name, tracking_uri=magics.tracking_uri)

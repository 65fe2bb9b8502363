"""``%mlops models [NAME]``: registered models, or one model's versions and aliases."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "registered models, or one model's versions and aliases"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("models", help=HELP, description=HELP)
    p.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help="a registered model: list its versions, newest first",
    )
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core.registry.models import models

    return models(args.name, tracking_uri=magics.tracking_uri)

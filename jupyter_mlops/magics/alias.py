"""``%mlops alias NAME ALIAS VERSION [--reason TEXT]``: move an alias, recorded in the history."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "point a model's alias at a version, recorded in the alias history (see models --history)"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("alias", help=HELP, description=HELP)
    p.add_argument("name", metavar="NAME", help="a registered model")
    p.add_argument("alias", metavar="ALIAS", help="the alias, e.g. champion")
    p.add_argument("version", metavar="VERSION", help="the version it is to point at")
    p.add_argument("--reason", metavar="TEXT", help="why, kept in the alias history")
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core.registry.models import record_alias
    from ..core.session import project_settings
    from ..display.alias_history import moved_line

    move = record_alias(
        args.name,
        args.alias,
        args.version,
        reason=args.reason,
        user=None,
        via="magic",
        settings=project_settings(magics.tracking_uri),
    )
    print(moved_line(move.to_dict()))
    return None

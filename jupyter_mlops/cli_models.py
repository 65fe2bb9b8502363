"""``jupyter mlops models [NAME] [--history] [--json]`` and ``jupyter mlops alias NAME ALIAS
VERSION [--reason TEXT]``: the registry from a terminal, thin over ``core.registry``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .errors import MlopsError

MODELS_HELP = "registered models, one model's versions, or its alias history (--history)"
ALIAS_HELP = "point a model's alias at a version, recorded in the alias history"


def add_parser(sub: Any) -> None:
    """The ``models`` and ``alias`` sub-commands, on ``build_parser``'s sub-parsers."""
    p = sub.add_parser(
        "models",
        help=MODELS_HELP,
        description=f"{MODELS_HELP}. Without NAME, one line per registered model; with NAME, "
        "its versions, newest first; with --history, every recorded move of its aliases, "
        "oldest first (who, when, why, via what, the gate's decision), and any move made "
        "outside jupyter-mlops that the registry shows.",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="a registered model")
    p.add_argument("--history", action="store_true", help="the alias history of NAME, oldest first")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=cmd_models)

    a = sub.add_parser(
        "alias",
        help=ALIAS_HELP,
        description=f"{ALIAS_HELP} (who, when, the reason, via cli): see "
        "'jupyter mlops models NAME --history'.",
    )
    a.add_argument("name", metavar="NAME", help="a registered model")
    a.add_argument("alias", metavar="ALIAS", help="the alias, e.g. champion")
    a.add_argument("version", metavar="VERSION", help="the version it is to point at")
    a.add_argument("--reason", metavar="TEXT", help="why, kept in the alias history")
    a.set_defaults(func=cmd_alias)


def cmd_models(args: argparse.Namespace) -> int:
    """Print the models, the versions or the history; a mistake is one line and exit 2."""
    if args.history:
        if args.name is None:
            raise MlopsError("--history needs NAME: jupyter mlops models NAME --history")
        from .core.registry.alias_history import history

        found = history(args.name)
        print(json.dumps(found.to_dict(), indent=1) if args.json else repr(found))
        return 0
    from .core.registry.models import models

    table = models(args.name)
    print(json.dumps(table.to_dict(), indent=1) if args.json else repr(table))
    return 0


def cmd_alias(args: argparse.Namespace) -> int:
    """Move the alias and print the one line saying what was recorded."""
    from .core.registry.models import record_alias
    from .core.session import project_settings
    from .display.alias_history import moved_line

    move = record_alias(
        args.name,
        args.alias,
        args.version,
        reason=args.reason,
        user=None,
        via="cli",
        settings=project_settings(),
    )
    print(moved_line(move.to_dict()))
    return 0

"""``%mlops promote MODEL --name NAME [--X X] [--y Y] [--alias ALIAS] [--description TEXT]
[--on-violation warn|raise] [--no-reference]``."""

from __future__ import annotations

import argparse
from typing import Any

HELP = (
    "package a model (with the notebook code it needs and a data contract from X), check it "
    "in a fresh Python process, then log and register it"
)


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("promote", help=HELP, description=HELP)
    p.add_argument("model", metavar="MODEL", help="the fitted model (a variable or expression)")
    p.add_argument("--name", required=True, help="registered model name")
    p.add_argument(
        "--X",
        dest="X",
        metavar="X",
        help="training features: the contract, signature, input example and the rows compared "
        "in the fresh process come from them",
    )
    p.add_argument("--y", dest="y", metavar="Y", help="training targets (named in the card)")
    p.add_argument("--alias", help="alias to point at the new version, e.g. staging")
    p.add_argument("--description", metavar="TEXT", help="description of the version")
    p.add_argument(
        "--on-violation",
        choices=("warn", "raise"),
        default="warn",
        help="what the packaged model does with values outside the training data (default warn)",
    )
    p.add_argument(
        "--no-reference",
        dest="reference",
        action="store_false",
        help="keep no training reference (profile and sample of X) in the artifact",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="set a protected alias (protected_aliases: champion, production) even though "
        "the run's checks failed; needs --reason",
    )
    p.add_argument("--reason", metavar="TEXT", help="why, kept in the alias history")
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core.registry.promote import promote

    model = magics.evaluate(args.model)
    X = magics.evaluate(args.X) if args.X is not None else None
    y = magics.evaluate(args.y) if args.y is not None else None
    result = promote(
        model,
        args.name,
        X=X,
        y=y,
        alias=args.alias,
        description=args.description,
        on_violation=args.on_violation,
        reference=args.reference,
        force=args.force,
        reason=args.reason,
        user_ns=magics.shell.user_ns,
    )
    print(f"{result.uri} (version {result.version})")
    if result.held_note:  # in a sweep point or a reproduction: the alias asked for stays put
        print(result.held_note)
    magics.show(result)
    return None

"""``jupyter mlops serve MODEL_URI``: the CLI adapter over ``core/production/serve.py``."""

from __future__ import annotations

import argparse
from typing import Any

# serve.DEFAULT_HOST and DEFAULT_PORT, spelled here so that `jupyter mlops --help` imports no core
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 5001


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """The ``serve`` sub-command, on ``build_parser``'s sub-parsers."""
    serve = sub.add_parser(
        "serve",
        help="MLflow's scoring server for a registered model, its contract enforced and its "
        "requests logged",
    )
    serve.add_argument("model_uri", metavar="MODEL_URI", help="models:/NAME@ALIAS or /VERSION")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    serve.add_argument(
        "--workers", type=int, default=1, metavar="N", help="server processes (default 1)"
    )
    serve.add_argument(
        "--no-log", action="store_true", help="do not write the inference log for this server"
    )
    serve.set_defaults(func=cmd_serve)
    return serve


def cmd_serve(args: argparse.Namespace) -> int:
    """Check everything, then run the server until Ctrl-C or SIGTERM."""
    from .config import resolve_settings
    from .core.production import serve

    settings = resolve_settings()
    serving = serve.prepare(
        args.model_uri,
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log=not args.no_log,
    )
    return serve.run(serving, settings, on_ready=_say_ready)


def _say_ready(serving: Any) -> None:
    target = serving.target
    logged = serving.log_location or "off (--no-log)"
    shown = (
        target.pinned_uri
        if target.uri == target.pinned_uri
        else f"{target.uri} = {target.pinned_uri}"
    )
    print(
        f"Serving {shown} at {serving.url}/invocations (inference log: {logged}); Ctrl-C stops it",
        flush=True,
    )

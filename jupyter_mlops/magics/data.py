"""``%mlops data add|use|status|push|pull|checkout``: DVC versions linked to the active run."""

from __future__ import annotations

import argparse
from typing import Any

HELP = "version data with DVC and record which version each run used"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser("data", help=HELP, description=HELP)
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="dvc add the paths; with a run active, log them on it")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("-m", "--message", help="message for the git commit it suggests")
    use = actions.add_parser("use", help="record already-versioned data as inputs of the run")
    use.add_argument("paths", nargs="+", metavar="PATH")
    status = actions.add_parser("status", help="in sync / modified / not in cache / not pushed")
    status.add_argument("-r", "--remote", help="remote to compare with (default: DVC's default)")
    status.add_argument("--no-remote", action="store_true", help="do not ask the remote")
    push = actions.add_parser("push", help="upload tracked data to the remote")
    push.add_argument("paths", nargs="*", metavar="PATH")
    push.add_argument("-r", "--remote")
    pull = actions.add_parser("pull", help="download tracked data from the remote")
    pull.add_argument("paths", nargs="*", metavar="PATH")
    pull.add_argument("-r", "--remote")
    checkout = actions.add_parser("checkout", help="restore the tracked (or an older) version")
    checkout.add_argument("path", metavar="PATH")
    checkout.add_argument("--rev", help="the git revision whose data version to restore")
    return p


def run(magics: Any, args: argparse.Namespace, cell: str | None) -> Any:
    from ..core.data import operations as data

    if args.action == "add":
        result = data.add(*args.paths, message=args.message)
        print(repr(result))
        if result.run_id:
            print(f"Logged as inputs of run {result.run_id}.")
        return None
    if args.action == "use":
        versions = data.use(*args.paths)
        for v in versions:
            print(f"{v.path}: md5 {v.md5} recorded on the active run")
        return None
    if args.action == "status":
        magics.show(data.status(remote=args.remote, check_remote=not args.no_remote))
        return None
    if args.action == "push":
        sent = data.push(*args.paths, remote=args.remote)
        print(f"Pushed {sent} file(s)." if sent else "Everything is already on the remote.")
        return None
    if args.action == "pull":
        result = data.pull(*args.paths, remote=args.remote)
        result = result if isinstance(result, dict) else {}
        fetched = result.get("stats", {}).get("fetched", 0)
        restored = sorted(p for key in ("added", "modified") for p in result.get(key, []))
        if fetched or restored:
            print(f"Pulled {fetched} file(s); restored {', '.join(restored) or 'nothing'}.")
        else:
            print("Everything is already here.")
        return None
    version = data.checkout(args.path, rev=args.rev)
    print(
        f"{version.path} restored to md5 {version.md5}"
        + (f" (from {args.rev})" if args.rev else "")
    )
    return None

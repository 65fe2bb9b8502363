"""``jupyter mlops ...`` (the same as ``jupyter-mlops ...``): thin over ``jupyter_mlops.core``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import cli_gate, cli_models, cli_monitor, cli_retrain, cli_score, cli_serve
from .errors import MlopsError


def cmd_run(args: argparse.Namespace) -> int:
    from .core.batch.parameter_sources import merge_parameters
    from .core.batch.runner import run_notebook

    parameters = merge_parameters(
        files=args.parameters_file,
        yaml_texts=args.parameters_yaml,
        typed=args.parameter,
        raw=args.raw_parameter,
    )
    try:
        result = run_notebook(
            args.notebook,
            parameters,
            experiment=args.experiment,
            run_name=args.name,
            output=args.output,
            kernel_name=args.kernel,
            timeout=args.timeout,
            strict_parameters=args.strict_parameters,
            progress_bar=_progress_bar(args),
            log_output=args.log_output,
            cwd=args.cwd,
        )
    except KeyboardInterrupt:  # the run is already ended KILLED, its notebook so far logged
        print("jupyter mlops run: interrupted; the run is KILLED", file=sys.stderr)
        return 130
    print(result.summary())
    return 0 if result.ok else 1


def _progress_bar(args: argparse.Namespace) -> bool:
    """papermill's default (a bar unless --log-output), and only on a terminal unless asked:
    a CI log or a pipe gets no carriage-return redraws."""
    if args.progress_bar is not None:
        return args.progress_bar
    return not args.log_output and sys.stderr.isatty()


def cmd_reproduce(args: argparse.Namespace) -> int:
    from .core.batch.reproduce import UntrustedSnapshotError, reproduce

    try:
        result = reproduce(
            args.run_id,
            experiment=args.experiment,
            kernel_name=args.kernel,
            timeout=args.timeout,
            rtol=args.rtol,
            atol=args.atol,
            keep=args.keep,
            trust_snapshot=args.trust_snapshot,
        )
    except UntrustedSnapshotError as exc:  # the one line, then the difference below it
        print(f"jupyter mlops {args.command}: {exc}", file=sys.stderr)
        if exc.difference:
            print(exc.difference, file=sys.stderr)
        return 2
    print(result.summary())
    return 0 if result.ok else 1


def cmd_sweep(args: argparse.Namespace) -> int:
    from .core.batch.parameter_sources import merge_grid
    from .core.batch.sweep import sweep

    if not (args.parameter or args.parameters_file or args.parameters_yaml):
        raise MlopsError("give the grid: -p NAME V1,V2,... (repeatable), -f FILE.yaml or -y YAML")
    if args.maximize and args.minimize:
        raise MlopsError("--maximize and --minimize exclude each other: give one")
    direction = True if args.maximize else False if args.minimize else None
    if args.best is None and args.alias is not None:
        raise MlopsError(
            f"--alias needs --best METRIC: it moves {args.alias!r} to the best point's version"
        )
    if args.best is None and direction is not None:
        flag = "--maximize" if direction else "--minimize"
        raise MlopsError(f"{flag} needs --best METRIC: it says which way the best point is")
    grid = merge_grid(
        files=args.parameters_file,
        yaml_texts=args.parameters_yaml,
        axes=args.parameter,
        raw=args.raw_parameter,
    )
    try:
        result = sweep(
            args.notebook,
            grid,
            workers=args.workers,
            dask=args.dask,
            experiment=args.experiment,
            kernel_name=args.kernel,
            timeout=args.timeout,
            best=args.best,
            alias=args.alias,
            maximize=direction,
            strict_parameters=args.strict_parameters,
        )
    except KeyboardInterrupt:
        print("jupyter mlops sweep: interrupted", file=sys.stderr)
        return 130
    print(result.summary())
    return 0 if result.ok else 1


def cmd_status(args: argparse.Namespace) -> int:
    from .core.runs import status
    from .display.cards import status_text

    print(status_text(status()))
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    """The MLflow UI over the project's sqlite store: its URL once it answers, until a signal."""
    from .config import resolve_settings
    from .core import ui_server
    from .core.redact import redact_url

    settings = resolve_settings()
    if settings.sqlite_path is None:
        print(f"The tracking store is {redact_url(settings.tracking_uri)}: open its own UI there.")
        return 0
    try:
        ui = ui_server.prepare(settings, host=args.host, port=args.port)
    except KeyboardInterrupt:  # Ctrl-C while a new store is made: nothing started yet
        return 130

    def say_ready(ui: ui_server.UiServer) -> None:
        print(f"MLflow UI for {settings.root} at {ui.url} (Ctrl-C stops it)", flush=True)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    return ui_server.run(ui, on_ready=say_ready, on_output=say)


def _skip_iri_grammars() -> None:
    """Importing nbformat imports jsonschema, whose format checkers import ``rfc3987_syntax``
    when it is installed (JupyterLab's dependencies install it), and that compiles some forty
    Lark grammars at import: about a second, more than a short notebook takes to run. Nothing
    a command does checks IRIs (a notebook's schema has no such format), so this process does
    without them: jsonschema skips an optional checker it cannot import."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _parameter_sources(parser: argparse.ArgumentParser, raw_help: str) -> None:
    """papermill's other parameter options, and its long spellings of them."""
    parser.add_argument(
        "-r",
        "--raw-parameter",
        "--parameters_raw",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help=f"{raw_help}, VALUE the text exactly as typed (repeatable; beats -p)",
    )
    parser.add_argument(
        "-f",
        "--parameters-file",
        "--parameters_file",
        action="append",
        default=[],
        metavar="FILE.yaml",
        help="parameters from a YAML mapping (repeatable; -y, -p and -r beat it)",
    )
    parser.add_argument(
        "-y",
        "--parameters-yaml",
        "--parameters_yaml",
        action="append",
        default=[],
        metavar="YAML",
        help="parameters from a YAML mapping given inline (repeatable; beats -f)",
    )
    parser.add_argument(
        "--strict-parameters",
        action="store_true",
        help="refuse a parameter the notebook's 'parameters' cell does not define "
        "(default: run, with a note naming the closest defined name)",
    )


def _say_warnings(command: str) -> None:
    """What the core warns of before a long step (``jupyter_mlops.*`` loggers) is one line on
    stderr, named like the command's errors: ``jupyter mlops run: warning: ...``."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"jupyter mlops {command}: warning: %(message)s"))
    handler.setLevel(logging.WARNING)
    log = logging.getLogger("jupyter_mlops")
    log.handlers[:] = [handler]
    log.propagate = False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter mlops", description="Track, run and inspect notebooks with MLflow."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser("run", help="execute a notebook as one tracked run")
    run.add_argument("notebook")
    run.add_argument(
        "-p",
        "--parameter",
        "--parameters",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="inject NAME = VALUE after the cell tagged 'parameters', VALUE read as a Python "
        "literal where it is one, else as text (repeatable)",
    )
    _parameter_sources(run, "inject NAME = VALUE")
    run.add_argument("-e", "--experiment", help="experiment (default: the notebook's stem)")
    run.add_argument("-n", "--name", help="run name (default: the notebook's stem)")
    run.add_argument("-o", "--output", help="also write the executed notebook here")
    run.add_argument("--kernel", help="kernel name (default: the notebook's kernelspec)")
    run.add_argument("--timeout", type=int, help="seconds a cell may take")
    run.add_argument(
        "--cwd", metavar="DIR", help="the kernel's working directory (default: the notebook's)"
    )
    run.add_argument(
        "--progress-bar",
        action=argparse.BooleanOptionalAction,
        help="a bar over the cells on stderr (default: on when stderr is a terminal and "
        "--log-output is not given)",
    )
    run.add_argument(
        "--log-output",
        action="store_true",
        help="write each cell's outputs to stderr as they arrive",
    )
    run.set_defaults(func=cmd_run)

    rep = sub.add_parser(
        "reproduce",
        help="re-run a run's notebook on its recorded code, data and parameters; compare metrics",
        description="Re-run a tracked run in a scratch clone of your git repository at the "
        "run's commit, with its recorded data and parameters, and compare its metrics. What "
        "runs is the notebook your own git history holds at that commit, never code from the "
        "store: the run's notebook snapshot must match it (cell sources; outputs and metadata "
        "ignored). A run made with uncommitted changes to its notebook, a snapshot altered in "
        "the store, or a run with no git commit is refused before anything runs, naming who "
        "logged it and showing the difference; --trust-snapshot runs the snapshot instead. The "
        "commit must be in your local repository (git fetch the branch that has it).",
    )
    rep.add_argument("run_id", metavar="RUN_ID")
    rep.add_argument("-e", "--experiment", help="experiment (default: the original run's)")
    rep.add_argument("--kernel", help="kernel name (default: the notebook's kernelspec)")
    rep.add_argument("--timeout", type=int, help="seconds a cell may take")
    rep.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance (default: 1e-6)")
    rep.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (default: 0)")
    rep.add_argument("--keep", action="store_true", help="keep the scratch folder; print where")
    rep.add_argument(
        "--trust-snapshot",
        action="store_true",
        help="run the notebook snapshot stored with the run even when it differs from the "
        "committed notebook (or the run has no commit): code from the store, run as you; "
        "who logged the run and the difference are printed first",
    )
    rep.set_defaults(func=cmd_reproduce)

    swp = sub.add_parser("sweep", help="run a notebook over a parameter grid as child runs")
    swp.add_argument("notebook")
    swp.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "V1,V2,..."),
        help="a parameter and its values (repeatable: the grid is every combination)",
    )
    _parameter_sources(swp, "NAME = VALUE for every point")
    swp.add_argument(
        "--workers", type=int, metavar="N", help="local processes (default: one per CPU)"
    )
    swp.add_argument("--dask", metavar="ADDRESS", help="run on this Dask scheduler instead")
    swp.add_argument("-e", "--experiment", help="experiment (default: the notebook's stem)")
    swp.add_argument("--kernel", help="kernel name (default: the notebook's kernelspec)")
    swp.add_argument("--timeout", type=int, help="seconds a cell may take")
    swp.add_argument(
        "--best",
        metavar="METRIC",
        help="at the end, pick the finished child with the best METRIC (recorded on the parent)",
    )
    swp.add_argument(
        "--alias",
        metavar="ALIAS",
        help="with --best: move ALIAS to the version(s) the best child promoted (promotions "
        "inside the points never move an alias)",
    )
    swp.add_argument(
        "--maximize",
        action="store_true",
        help="with --best: highest wins (the default unless METRIC is named like a loss/error)",
    )
    swp.add_argument("--minimize", action="store_true", help="with --best: lowest wins")
    swp.set_defaults(func=cmd_sweep)

    status = sub.add_parser("status", help="store, experiment, active run, DVC state")
    status.set_defaults(func=cmd_status)

    ui = sub.add_parser(
        "ui", help="the MLflow UI over the project's store, on its experiments page"
    )
    ui.add_argument("--port", type=int, default=5000, help="default 5000")
    ui.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    ui.set_defaults(func=cmd_ui)
    cli_serve.add_parser(sub)
    cli_score.add_parser(sub)
    cli_monitor.add_parser(sub)
    cli_retrain.add_parser(sub)
    cli_gate.add_parser(sub)
    cli_models.add_parser(sub)
    return parser


# commands whose first act is to read the project's store: a server that is down is one line
# within seconds, before MLflow's HTTP layer retries for minutes
_READS_THE_STORE = {"status", "models", "alias", "gate", "monitor", "retrain", "reproduce"}


def _server_answers() -> None:
    from .config import resolve_settings
    from .core import reachability

    reachability.check(resolve_settings())


def main(argv: Sequence[str] | None = None) -> int:
    _skip_iri_grammars()
    args = build_parser().parse_args(argv)
    _say_warnings(args.command)
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    # a command's answer is its own lines: no "View run ... at: <server>" from MLflow in them
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    try:
        if args.command in _READS_THE_STORE:
            _server_answers()
        return args.func(args)
    except MlopsError as exc:
        print(f"jupyter mlops {args.command}: {exc}", file=sys.stderr)
        return 2


def console() -> None:
    """The ``jupyter-mlops`` command. After ``run``, whose record is complete and whose files
    are closed when ``main`` returns, the process ends at once: tearing down the interpreter's
    hundreds of modules (nbclient, nbconvert, zmq...) costs a tenth of a second, a few percent
    of a short notebook's run, for nothing. Every other command ends the usual way."""
    argv = sys.argv[1:]
    code = main(argv)
    if argv[:1] == ["run"]:
        import logging

        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()

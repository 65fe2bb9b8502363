"""``%mlops`` / ``%%mlops``: a router from sub-command to one small module each.

Parsing and display only; the work is done by ``jupyter_mlops.core``. Importing this module
must stay light (no mlflow, pandas or scikit-learn): it runs at ``%load_ext``.
"""

from __future__ import annotations

import ast
import contextlib
import shlex
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, needs_local_scope
from traitlets import Bool, Unicode, observe

from ..errors import MlopsError
from . import (
    alias,
    check,
    data,
    drift,
    eda,
    explain,
    live_charts,
    log,
    models,
    monitor,
    promote,
    runs,
    segments,
    status,
    track,
)
from .parser import HelpShown, MagicArgumentParser, one_line

COMMANDS = {
    "track": track,
    "log": log,
    "runs": runs,
    "data": data,
    "eda": eda,
    "check": check,
    "drift": drift,
    "explain": explain,
    "promote": promote,
    "segments": segments,
    "models": models,
    "alias": alias,
    "monitor": monitor,
    "status": status,
}


def build_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(
        prog="%mlops",
        description="Track experiments in MLflow from the notebook.",
        epilog="Run '%mlops COMMAND --help' for a command's options.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=MagicArgumentParser)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


@magics_class
class MLOpsMagics(Magics):
    """The ``%mlops`` magic. Settings are traits: ``%config MLOpsMagics.autolog = False``."""

    autolog = Bool(
        None, allow_none=True, help="Autolog scikit-learn fits (None: pyproject/default)."
    ).tag(config=True)
    tracking_uri = Unicode(
        None, allow_none=True, help="Tracking store for this kernel, above env and pyproject."
    ).tag(config=True)
    show_cards = Bool(True, help="Display a run card when a run starts or stops.").tag(config=True)
    live_charts = Bool(
        True, help="Draw logged metrics in the run card as a cell logs them (in a notebook)."
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.parser = build_parser()

    @needs_local_scope
    @line_cell_magic
    def mlops(self, line: str = "", cell: str | None = None, local_ns: Any = None) -> Any:
        """Track experiments in MLflow. ``%mlops --help`` lists the commands."""
        try:
            return self._run(line, cell)
        except UsageError as exc:  # one line, even when it quotes a user's line break
            message = one_line(str(exc))
            if message == str(exc):
                raise
            raise UsageError(message) from None

    def _run(self, line: str, cell: str | None) -> Any:
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise UsageError(f"%mlops: {exc}") from None
        if any("\x00" in arg for arg in argv):  # no name, path or expression holds one
            raise UsageError("%mlops: arguments cannot contain a NUL character (\\x00)")
        if not argv:
            self.parser.print_help()
            return None
        if not argv[0].startswith("-") and argv[0] not in COMMANDS:
            raise UsageError(
                f"%mlops: unknown command {argv[0]!r}; commands: {', '.join(COMMANDS)} "
                "(see %mlops --help)"
            )
        try:
            args = self.parser.parse_args(argv)
        except HelpShown:
            return None
        if args.command is None:
            self.parser.print_help()
            return None
        if cell is not None and args.command != "track":
            raise UsageError(f"%%mlops {args.command} is a line magic: use %mlops {args.command}")
        try:
            return COMMANDS[args.command].run(self, args, cell)
        except MlopsError as exc:
            raise UsageError(str(exc)) from None

    @observe("live_charts", "show_cards")
    def _live_changed(self, change: Any = None) -> None:
        """Live charts are drawn in a kernel's front end while cards are shown."""
        on = self.live_charts and self.show_cards and live_charts.in_front_end(self.shell)
        live_charts.turn(on)

    # -- helpers for the sub-command modules -------------------------------------------------
    def show(self, obj: Any) -> None:
        if not self.show_cards:
            return
        from IPython.display import display

        display(obj)

    def show_run(self, run: Any) -> None:
        """A run's card; with live charts, under its display id, so its metrics update it."""
        if live_charts.charts is not None:
            live_charts.charts.show(run)
        else:
            self.show(run)

    def evaluate(self, expression: str) -> Any:
        """The value of a name or expression in the user's namespace; a typo is one line."""
        try:
            return eval(expression, self.shell.user_ns)  # the user's own code, in their kernel
        except Exception as exc:
            raise UsageError(f"%mlops: cannot evaluate {expression!r}: {exc}") from None

    def execute(self, cell: str) -> Any:
        """Run a cell body in the user namespace; return its last expression like a cell."""
        shell = self.shell
        code = shell.transform_cell(cell)
        tree = ast.parse(code)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        filename = shell.compile.cache(code, shell.execution_count)
        exec(compile(tree, filename, "exec"), shell.user_ns)
        if last is not None:
            return eval(compile(last, filename, "eval"), shell.user_ns)
        return None


def _session() -> Any:
    # Only once tracking is in use: cell hooks must stay instant and import nothing.
    found = sys.modules.get("jupyter_mlops.core.session")
    return found.session if found is not None else None


def _pre(info: Any) -> None:
    session = _session()
    if session is not None:
        session.cell_started(info.raw_cell)
    live_charts.cell_started()


def _post(result: Any) -> None:
    session = _session()
    if session is not None:
        session.cell_finished(result.info.raw_cell, result.execution_count)
    live_charts.cell_finished(session.stack if session is not None else [])  # its last values


def load_ipython_extension(ipython: Any) -> None:
    from ..core.session import in_batch_run, session

    ipython.register_magics(MLOpsMagics)
    ipython.magics_manager.registry["MLOpsMagics"]._live_changed()
    ipython.events.register("pre_run_cell", _pre)
    ipython.events.register("post_run_cell", _post)
    session.user_ns = ipython.user_ns  # lets VS Code's __vsc_ipynb_file__ name the notebook
    if in_batch_run():  # the runner loads us at kernel start: fits count from the first cell
        from ..core import autolog

        autolog.enable_for_batch_run()


def unload_ipython_extension(ipython: Any) -> None:
    for name, hook in (("pre_run_cell", _pre), ("post_run_cell", _post)):
        with contextlib.suppress(ValueError):
            ipython.events.unregister(name, hook)
    live_charts.turn(False)

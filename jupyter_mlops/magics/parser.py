"""argparse that reports mistakes as IPython ``UsageError`` (one line, no traceback)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from IPython.core.error import UsageError

# what str.splitlines() breaks at: shown escaped, a message stays one line whatever it quotes
_BREAKS = {
    c: c.encode("unicode_escape").decode("ascii") for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
}


def one_line(message: str) -> str:
    """``message`` with the line breaks it quotes from the user escaped (``\\n``): applied once,
    to every usage error the ``%mlops`` magic raises (``MLOpsMagics.mlops``)."""
    return message.strip().translate(str.maketrans(_BREAKS))


def whole_number(low: int = 1, high: int | None = None) -> Callable[[str], int]:
    """An option's type: a whole number from ``low`` (to ``high``), else argparse's one line."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            bounds = f"from {low:,}" + (f" to {high:,}" if high is not None else "")
            raise argparse.ArgumentTypeError(f"expected a whole number {bounds}, not {text!r}")
        return value

    return parse


class HelpShown(Exception):
    """``--help`` was printed; nothing more to do."""


class MagicArgumentParser(argparse.ArgumentParser):
    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        namespace, extras = super().parse_known_args(args, namespace)
        # Python 3.11's argparse drops an explicit '--' value (`--max=--`, `-e--`) and stores
        # an empty list, past the option's type: the command would get [] for a name or a count
        for action in self._actions:
            value = getattr(namespace, action.dest, None)
            if action.nargs not in (None, "?") or not isinstance(value, list):
                continue
            if isinstance(action, argparse._StoreAction) or (
                isinstance(action, argparse._AppendAction)
                and any(isinstance(v, list) for v in value)
            ):
                name = "/".join(action.option_strings) or action.metavar or action.dest
                self.error(f"argument {name}: expected one argument, not '--'")
        return namespace, extras

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            raise UsageError(message.strip())
        raise HelpShown()

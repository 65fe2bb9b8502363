"""argparse that reports mistakes as IPython ``UsageError`` (one line, no traceback)."""

from __future__ import annotations

import argparse
from typing import NoReturn

from IPython.core.error import UsageError


class HelpShown(Exception):
    """``--help`` was printed; nothing more to do."""


class MagicArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            raise UsageError(message.strip())
        raise HelpShown()

"""Property-based fuzzing of ``%mlops``: lines built from the real parser's own table of
sub-commands and options, with random values, quotes and unicode, run through the magic in a
real IPython shell. Whatever the line, the only exception is IPython's ``UsageError``, whose
message is one line: a user mistake never shows a traceback.

``MLOPS_FUZZ_EXAMPLES`` sets the number of lines (CI's default 500 take about 25 s on two busy
cores, 2,000 about 35 s); they are the same lines each time unless ``MLOPS_FUZZ_RANDOM=1``.
The shell works in a fresh project in a temp dir, with the notebook's variables put aside, so
an expression argument names nothing that exists; values never hold ``(``, ``*``, ``<``, ``{``
or ``%``, so evaluating one cannot call, repeat, shift or format anything into a hang. Lines
that are valid still run: runs start and stop in the temp project, read the store, find no
data to version.
"""

from __future__ import annotations

import argparse
import os
import shlex
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from jupyter_mlops.magics import build_parser

EXAMPLES = int(os.environ.get("MLOPS_FUZZ_EXAMPLES", "500"))
RANDOM = os.environ.get("MLOPS_FUZZ_RANDOM") == "1"  # new lines each time, not CI's fixed ones
UNSAFE = "(*<{%"  # see the module docstring: no calls, repetition, shifts or formatting


def _table(parser: argparse.ArgumentParser) -> dict[str, Any]:
    """{sub-command: (its option strings, its own sub-commands' table)}, read from argparse."""
    found: dict[str, Any] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                options = [
                    o for a in sub._actions for o in a.option_strings if o not in ("-h", "--help")
                ]
                found[name] = (options, _table(sub))
    return found


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> dict:
    """{(sub-command, its action ...): the parser that takes its arguments}."""
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_leaves(sub, (*path, name)))
    return found or {path: parser}


PARSER = build_parser()
TABLE = _table(PARSER)
LEAVES = _leaves(PARSER)

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=UNSAFE),
    max_size=12,
)
number = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-1", "1e309", "nan", "-inf", "0x10", "1_000", "٣", "+5", "-0"]),
)
value = st.one_of(
    text, number, st.sampled_from(["", "=", "k=v", "=v", "k=", "-", "--", "a b", "\x00", "a/b"])
)


def argument(action: argparse.Action) -> st.SearchStrategy[str]:
    """A value for one argument: of its kind (a choice, a number, KEY=VALUE) or any other."""
    if action.choices:
        return st.one_of(st.sampled_from(sorted(action.choices)), value)
    if action.type is not None and action.type is not str:
        return st.one_of(number, value)
    if "=" in str(action.metavar):
        return st.one_of(st.builds(lambda k, v: f"{k}={v}", text, value), value)
    return value


@st.composite
def well_formed(draw: st.DrawFn) -> list[str]:
    """A sub-command with its positionals and some options, each given a value of its kind."""
    command = draw(st.sampled_from(sorted(TABLE)))  # each command as often: not data's six
    path = draw(st.sampled_from(sorted(p for p in LEAVES if p[0] == command)))
    tokens = list(path)
    for action in LEAVES[path]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if action.option_strings:
            if action.required or draw(st.integers(0, 2)) == 0:
                tokens.append(draw(st.sampled_from(action.option_strings)))
                if action.nargs != 0:
                    tokens.append(draw(argument(action)))
            continue
        count = {None: 1, "?": draw(st.integers(0, 1)), "+": draw(st.integers(1, 3))}.get(
            action.nargs, draw(st.integers(0, 2))
        )
        tokens += [draw(argument(action)) for _ in range(count)]
    return tokens


def quoted(token: str, how: int) -> str:
    """The token as a user might type it: bare, quoted properly, or with a stray quote."""
    if how == 0:
        return token
    if how == 1:
        return shlex.quote(token)
    if how == 2:
        return f'"{token}"'
    if how == 3:
        return f"'{token}'"
    return token + ("'" if how == 4 else '"')


@st.composite
def lines(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        tokens = draw(well_formed())
        return " ".join(
            quoted(t, draw(st.integers(0, 5 if len(tokens) < 3 else 3))) for t in tokens
        )
    known = draw(st.integers(0, 9)) > 0
    command = draw(st.sampled_from(sorted(TABLE)) if known else text)
    options, actions = TABLE.get(command, ([], {}))
    tokens = [command]
    if actions and draw(st.booleans()):
        action = draw(st.sampled_from(sorted(actions)))
        tokens.append(action)
        options = options + actions[action][0]
    option = st.sampled_from(options) if options else text.map(lambda t: "--" + t)
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 30))
        if kind == 0:
            tokens.append(draw(option))
        elif kind == 1:
            tokens.append(f"{draw(option)}={draw(value)}")
        elif kind == 2:
            tokens += [draw(option), draw(value)]
        elif kind == 3:
            tokens.append(draw(value))
        elif kind == 4:
            tokens.append("-" + draw(text))
        elif kind == 5:
            tokens.append(draw(st.sampled_from(["-h", "--help"])))
        else:  # mostly the command's own options, with values or without
            tokens += [draw(option)] + ([draw(value)] if kind % 2 else [])
    return " ".join(quoted(t, draw(st.integers(0, 5 if len(tokens) < 3 else 3))) for t in tokens)


@pytest.fixture
def bare_shell(ip):
    """The shell with the notebook's variables (other tests' models and frames) put aside, and
    neither autologging nor run cards: the magic's parsing and its one-line errors remain."""
    hidden = ip.user_ns_hidden
    saved = {k: v for k, v in ip.user_ns.items() if k not in hidden and not k.startswith("_")}
    for key in saved:
        del ip.user_ns[key]
    ip.run_line_magic("config", "MLOpsMagics.autolog = False")
    ip.run_line_magic("config", "MLOpsMagics.show_cards = False")
    yield ip
    ip.run_line_magic("config", "MLOpsMagics.show_cards = True")
    ip.user_ns.update(saved)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(line=lines())
# what it found once: a line break quoted back in a message, a count of 0 or past MLflow's
# limit, Python 3.11 storing [] for an explicit '--' value, a NUL in a path
@example(line=" '--\n'")
@example(line="runs --max=0")
@example(line="runs --max 50001")
@example(line="runs --max=--")
@example(line="track --tag=--")
@example(line="data use \x00")
def test_any_line_is_run_or_one_usage_line(bare_shell, line: str) -> None:
    try:
        bare_shell.run_line_magic("mlops", line)
    except UsageError as exc:
        message = str(exc)
        assert len(message.splitlines()) == 1, repr(message)

"""One reading of typed values: ``%mlops log K=V``, ``jupyter mlops run -p NAME VALUE`` and each
value of ``jupyter mlops sweep -p NAME V1,V2`` give the same value for the same text."""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops import cli
from jupyter_mlops.core import tracking
from jupyter_mlops.core.batch import runner, sweep
from jupyter_mlops.core.values import parse_value

# text -> the value every entry point reads (no commas: a comma separates a sweep's values)
TEXTS = {
    "3": 3,
    "-2": -2,
    "0.5": 0.5,
    "1e-3": 0.001,
    "1_000": 1000,
    "True": True,
    "None": None,
    "'7'": "7",
    "[1]": [1],
    "ridge": "ridge",
    "data/train.csv": "data/train.csv",
    "007": "007",  # not a Python literal: the text as typed
    "nan": "nan",
    "0x10": 16,
}


class Stop(Exception):
    """Raised by the stand-ins once they have seen the values."""


def through_the_magic(ip, monkeypatch, text: str) -> Any:
    seen = {}
    monkeypatch.setattr(tracking, "log", lambda step=None, **values: seen.update(values))
    # quoted as a shell would be: the magic splits its line like one (shlex), as the CLI's
    # shell does before argv, so both hand the parser the same text
    result = ip.run_cell(f"%mlops log {shlex.quote('x=' + text)}")
    result.raise_error()
    return seen["x"]


def through_run(monkeypatch, text: str) -> Any:
    seen = {}

    def run_notebook(path: Any, parameters: dict[str, Any], **kw: Any) -> Any:
        seen.update(parameters)
        raise Stop

    monkeypatch.setattr(runner, "run_notebook", run_notebook)
    with pytest.raises(Stop):
        cli.main(["run", "nb.ipynb", "-p", "x", text])
    return seen["x"]


def through_sweep(monkeypatch, text: str) -> Any:
    seen = {}

    def fake_sweep(path: Any, grid: dict[str, list[Any]], **kw: Any) -> Any:
        seen.update(grid)
        raise Stop

    monkeypatch.setattr(sweep, "sweep", fake_sweep)
    with pytest.raises(Stop):
        # a leading space: argparse would take "-2,-2" for an option
        cli.main(["sweep", "nb.ipynb", "-p", "x", f" {text},{text}"])
    return seen["x"]


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b and type(a) is type(b)


@pytest.mark.parametrize(("text", "value"), list(TEXTS.items()))
def test_the_same_text_is_the_same_value_everywhere(
    ip, monkeypatch, project: Path, text: str, value: Any
) -> None:
    assert same(parse_value(text), value)
    assert same(through_the_magic(ip, monkeypatch, text), value)
    assert same(through_run(monkeypatch, text), value)
    swept = through_sweep(monkeypatch, text)
    assert len(swept) == 2 and all(same(v, value) for v in swept)

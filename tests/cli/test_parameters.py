"""Parameters as papermill users give them: ``-f FILE.yaml``, ``-y YAML``, ``-p NAME VALUE`` and
``-r NAME VALUE`` on ``run`` and ``sweep``, papermill's precedence, exact values in the kernel,
and names the notebook's ``parameters`` cell does not define (a note, or ``--strict-parameters``
refusing before anything is recorded)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_mlops import cli as cli_module
from jupyter_mlops.core.batch import runner
from jupyter_mlops.core.batch.parameter_names import check_parameter_names, defined_names
from jupyter_mlops.core.batch.parameter_sources import merge_grid, merge_parameters
from jupyter_mlops.core.batch.parameters import plain_value, value_source
from jupyter_mlops.errors import MlopsError
from tests.conftest import all_runs, cli, write_notebook


class Stop(Exception):
    """Raised by the stand-in ``run_notebook`` once it has seen what the CLI passed."""


def through_run(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[dict[str, Any], dict]:
    """What ``jupyter mlops run nb.ipynb ARGS`` hands ``run_notebook`` (no kernel)."""
    seen: dict[str, Any] = {}

    def run_notebook(path: Any, parameters: dict[str, Any], **kw: Any) -> Any:
        seen.update(parameters=parameters, kw=kw)
        raise Stop

    monkeypatch.setattr(runner, "run_notebook", run_notebook)
    with pytest.raises(Stop):
        cli_module.main(["run", "nb.ipynb", *args])
    return seen["parameters"], seen["kw"]


# -- merging: papermill's order, per name -------------------------------------------------------
def test_each_source_wins_over_the_ones_before_it_per_name(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "a.yaml").write_text("f: a\nfy: a\nfyp: a\nfypr: a\ntwo_files: a\n")
    (project / "b.yaml").write_text("two_files: b\n")
    (project / "empty.yaml").write_text("# nothing\n")
    parameters, kw = through_run(
        monkeypatch,
        # options in the "wrong" order: the kind decides, not the position on the command line
        *["-r", "fypr", "r", "-p", "fypr", "p", "-p", "fyp", "p"],
        *["-y", "{fy: y, fyp: y, fypr: y, two_yamls: 1}", "-y", "two_yamls: 2"],
        *["-f", "a.yaml", "-f", "b.yaml", "-f", "empty.yaml"],
        *["-p", "twice", "1", "-p", "twice", "2"],
    )
    assert parameters == {
        "f": "a",
        "fy": "y",
        "fyp": "p",
        "fypr": "r",
        "two_files": "b",  # -f is repeatable, as in papermill 2.x: later files win
        "two_yamls": 2,
        "twice": 2,
    }
    assert kw["strict_parameters"] is False
    assert through_run(monkeypatch, "--strict-parameters")[1]["strict_parameters"] is True
    # papermill's long spellings work too
    long = ["--parameters", "a", "1", "--parameters_raw", "b", "1", "--parameters_yaml", "c: 1"]
    assert through_run(monkeypatch, *long, "--parameters_file", "b.yaml")[0] == {
        "two_files": "b",
        "c": 1,
        "a": 1,
        "b": "1",
    }


def test_raw_values_are_the_text_exactly_as_typed() -> None:
    texts = ["'quoted'", "C:\\new\\table\\", "{x}", "line one\nline two", " 1 ", "None", "1e-3"]
    raw = merge_parameters(raw=[(f"r{i}", t) for i, t in enumerate(texts)])
    assert list(raw.values()) == texts


# what papermill's `-p` gives (papermill/cli.py `_resolve_type`) and what ours gives: the same
# for bools, None, decimal numbers and plain text; our `-p` also reads Python literals, which
# papermill leaves as text (the README lists these differences; -r gives papermill's text)
SAME_AS_PAPERMILL = {
    "3": 3,
    "-2": -2,
    "0.5": 0.5,
    "1e-3": 0.001,
    "1_000": 1000,
    "True": True,
    "False": False,
    "None": None,
    "ridge": "ridge",
    "true": "true",
    "C:\\new\\table": "C:\\new\\table",
    "data/train.csv": "data/train.csv",
    "a b": "a b",
}
DIFFERENT_FROM_PAPERMILL = {  # text: (papermill's value, ours)
    "'7'": ("'7'", "7"),
    "[1, 2]": ("[1, 2]", [1, 2]),
    "{'a': 1}": ("{'a': 1}", {"a": 1}),
    "1,2": ("1,2", (1, 2)),
    "0x10": ("0x10", 16),
    "1j": ("1j", 1j),
    "007": (7, "007"),
    "nan": (math.nan, "nan"),
    "inf": (math.inf, "inf"),
}


def test_typed_values_are_papermills_for_numbers_bools_none_and_text() -> None:
    typed = {**SAME_AS_PAPERMILL, **{k: ours for k, (_, ours) in DIFFERENT_FROM_PAPERMILL.items()}}
    merged = merge_parameters(typed=[(f"p{i}", text) for i, text in enumerate(typed)])
    for (text, expected), value in zip(typed.items(), merged.values(), strict=True):
        assert value == expected and type(value) is type(expected), text


def test_yaml_keeps_yamls_types_and_leaves_dates_as_text() -> None:
    values = merge_parameters(
        yaml_texts=[
            "nested: {a: [1, {b: null}], 'c d': true}\n"
            "day: 2024-01-31\n"  # papermill reads YAML without dates: the text
            "stamp: 2024-01-31 10:00:00\n"
            "sci: 1e-3\n"  # PyYAML (YAML 1.1): a float needs a dot, so this is text
            "dotted: 1.0e-3\n"
            "yes_: yes\n"  # YAML 1.1: a bool
            "big: 123456789012345678901234567890\n"
            "empty:\n"
            "nan_: .nan\n"
        ]
    )
    assert values["nested"] == {"a": [1, {"b": None}], "c d": True}
    assert values["day"] == "2024-01-31" and values["stamp"] == "2024-01-31 10:00:00"
    assert (values["sci"], values["dotted"], values["yes_"]) == ("1e-3", 0.001, True)
    assert values["big"] == 123456789012345678901234567890 and values["empty"] is None
    assert math.isnan(values["nan_"])
    assert merge_parameters(yaml_texts=[""], files=[]) == {}  # empty YAML: nothing, as papermill


@pytest.mark.parametrize(
    "value",
    [
        'it\'s "quoted"',
        "C:\\new\\table",
        "line\nbreak\ttab\x00nul",
        "αβγ ünï 😀",
        {"a": [1, (2,), {3}, frozenset({4})], 5: None, (6, 7): b"bytes"},
        [],
        (),
        set(),
        frozenset(),
        True,
        None,
        2**100,
        -0.0,
        1e-3,
        1.5e300,
        complex(1, -2),
    ],
)
def test_injected_source_gives_back_the_same_value(value: Any) -> None:
    back = eval(value_source(plain_value(value)))  # the injected cell's right-hand side
    assert back == value and type(back) is type(value) and repr(back) == repr(value)


def test_nan_and_infinities_are_injected_as_expressions() -> None:
    for value in (math.nan, math.inf, -math.inf, [math.inf], complex(math.nan, 1)):
        assert repr(eval(value_source(value))) == repr(value)


def test_a_date_or_an_object_is_refused_in_one_line() -> None:
    import datetime

    with pytest.raises(MlopsError, match=r"give it as the string '2024-01-31'"):
        plain_value(datetime.date(2024, 1, 31), "day")
    with pytest.raises(MlopsError, match=r"parameter 'x' holds a builtins.object"):
        plain_value({"a": [object()]}, "x")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-f", "missing.yaml"], "-f missing.yaml: no such file"),
        (
            ["-f", "bad.yaml"],
            "-f bad.yaml: not valid YAML (line 2, column 5: mapping values are not allowed here)",
        ),
        (["-f", "list.yaml"], "-f list.yaml: holds a list, not a mapping of NAME: VALUE"),
        (["-f", "latin.yaml"], "-f latin.yaml: cannot read it as UTF-8 text"),
        (["-y", "just text"], "-y 'just text': holds a string, not a mapping of NAME: VALUE"),
        (["-y", "{a: [1}"], "-y '{a: [1}': not valid YAML ("),
        (["-y", "my-name: 1"], "parameter name 'my-name' is not a Python identifier"),
        (["-y", "1: one"], "parameter name 1 is not a Python identifier"),
        (["-p", "class", "1"], "-p class: parameter name 'class' is not a Python identifier"),
        (["-r", "a.b", "1"], "-r a.b: parameter name 'a.b' is not a Python identifier"),
        (["-y", "day: !!timestamp 2024-01-31"], "give it as the string '2024-01-31'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    project: Path, capsys: pytest.CaptureFixture, args: list[str], message: str
) -> None:
    write_notebook(project / "nb.ipynb", ["a = 1"], tags={0: ["parameters"]})
    (project / "bad.yaml").write_text("a: 1\nb: c: d\n")
    (project / "list.yaml").write_text("- 1\n- 2\n")
    (project / "latin.yaml").write_bytes(b"name: caf\xe9\n")
    for command in (["run", "nb.ipynb"], ["sweep", "nb.ipynb", "-p", "a", "1,2"]):
        assert cli_module.main([*command, *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"jupyter mlops {command[0]}: ") and err.count("\n") == 1, err
        assert message in err


# -- the sweep's grid from the same sources -----------------------------------------------------
def test_sweep_yaml_lists_are_axes_and_everything_else_is_fixed(project: Path) -> None:
    (project / "grid.yaml").write_text("alpha: [0.1, 1]\nmodel: ridge\nweights: [[1, 2]]\n")
    grid = merge_grid(
        files=["grid.yaml"],
        yaml_texts=["{model: lasso, cv: {folds: 5}}"],
        axes=[("alpha", "1,10"), ("seed", "0,1")],
        raw=[("label", "a\\b 'c'"), ("seed", "7")],
    )
    assert grid == {
        "alpha": [1, 10],  # -p beats YAML
        "model": ["lasso"],  # -y beats -f
        "weights": [[1, 2]],  # one list, for every point
        "cv": [{"folds": 5}],
        "seed": ["7"],  # -r beats -p: one raw string for every point
        "label": ["a\\b 'c'"],
    }
    with pytest.raises(MlopsError, match="'alpha' is given twice"):
        merge_grid(axes=[("alpha", "1"), ("alpha", "2")])


# -- names the parameters cell does not define --------------------------------------------------
def test_the_names_a_parameters_cell_defines() -> None:
    source = (
        "%matplotlib inline\n"
        "alpha = 0.1  # help\n"
        "beta: float = 2\n"
        "gamma: int\n"
        "a, (b, *rest) = 1, (2, 3)\n"
        "x = y = 0\n"
        "if True:\n    in_if = 1\n"
        "config['key'] = 1\n"
        "def helper():\n    local = 1\n"
        "!echo hi\n"
    )
    assert defined_names(source) == [
        *["alpha", "beta", "gamma", "a", "b", "rest", "x", "y", "in_if"],
    ]
    assert defined_names("alpha = (") is None


def test_an_unknown_name_is_a_note_naming_the_closest_defined_name() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("alpha = 0.1\nbeta = 1", metadata={"tags": ["parameters"]})
    nb.cells = [cell]
    checked = check_parameter_names(nb, ["alpah", "beta", "zzz"], "nb.ipynb")
    assert checked.unknown == ["alpah", "zzz"]
    assert checked.notes == [
        "parameter 'alpah' is not defined in the notebook's parameters cell (did you mean "
        "'alpha'?); it is injected anyway",
        "parameter 'zzz' is not defined in the notebook's parameters cell; it is injected anyway",
    ]
    assert checked.tags == {"mlops.unknown_parameters": '["alpah", "zzz"]'}
    with pytest.raises(MlopsError) as refused:
        check_parameter_names(nb, ["alpah", "beta"], "nb.ipynb", strict=True)
    assert str(refused.value) == (
        "strict parameters: 'alpah' (did you mean 'alpha'?) is not defined in the 'parameters' "
        "cell of nb.ipynb; fix the name or define it there"
    )
    assert check_parameter_names(nb, ["alpha", "beta"], "nb.ipynb", strict=True).notes == []
    # no parameters cell: the runner's note says where the values went, no note per name
    nb.cells[0].metadata["tags"] = []
    assert check_parameter_names(nb, ["alpah"], "nb.ipynb").notes == []
    with pytest.raises(MlopsError, match=r"nb\.ipynb has no cell tagged 'parameters'"):
        check_parameter_names(nb, ["alpah"], "nb.ipynb", strict=True)


# -- real kernels ---------------------------------------------------------------------------------
NAMES = [
    "winner",
    "second",
    "nested",
    "items",
    "nothing",
    "flag",
    "big",
    "small",
    "day",
    "sci",
    "not_a_number",
    "greek",
    "text",
    "path",
    "ratio",
    "typed_list",
    "typed_str",
    "raw_quote",
    "raw_path",
    "raw_multi",
    "raw_brace",
    "alpha",
]
PARAMS_FILE = """\
winner: file
second: file
nested: {a: [1, 2, {b: null}], "c d": true}
items: [1, two, 3.5]
nothing: null
flag: yes
big: 123456789012345678901234567890
small: 1.0e-3
day: 2024-01-31
sci: 1e-3
not_a_number: .nan
"""
EXPECTED = {
    "winner": "raw",
    "second": "typed",
    "nested": {"a": [1, 2, {"b": None}], "c d": True},
    "items": [1, "two", 3.5],
    "nothing": None,
    "flag": True,
    "big": 123456789012345678901234567890,
    "small": 0.001,
    "day": "2024-01-31",
    "sci": "1e-3",
    "not_a_number": math.nan,
    "greek": "αβγ ünï",
    "text": 'it\'s "quoted"\nline two',
    "path": "C:\\new\\table",
    "ratio": 0.001,
    "typed_list": [1, "a", None],
    "typed_str": "007",
    "raw_quote": 'He said "hi" & it\'s {x}',
    "raw_path": "C:\\new\\table\\",
    "raw_multi": "line one\nline two",
    "raw_brace": "{not: yaml}",
    "alpha": 0.1,  # the default: the typo below does not set it
}


def test_every_option_at_once_gives_the_kernel_exactly_these_values(project: Path, client) -> None:
    defaults = "".join(f"{name} = 'default'\n" for name in NAMES).replace(
        "alpha = 'default'", "alpha = 0.1"
    )
    values = f"{{k: repr(globals()[k]) for k in {NAMES!r}}}"
    dump = f"import json\njson.dump({values}, open('v.json', 'w'))"
    write_notebook(project / "kinds.ipynb", [defaults, dump], tags={0: ["parameters"]})
    (project / "params.yaml").write_text(PARAMS_FILE, encoding="utf-8")
    yaml_text = (
        '{winner: yaml, second: yaml, greek: \'αβγ ünï\', text: "it\'s \\"quoted\\"\\nline two"}'
    )
    out = cli(
        "run",
        "kinds.ipynb",
        *["-r", "winner", "raw", "-p", "winner", "typed", "-y", yaml_text, "-f", "params.yaml"],
        *["-p", "second", "typed", "-p", "path", "C:\\new\\table", "-p", "ratio", "1e-3"],
        *["-p", "typed_list", "[1, 'a', None]", "-p", "typed_str", "'007'"],
        *["-r", "raw_quote", 'He said "hi" & it\'s {x}', "-r", "raw_path", "C:\\new\\table\\"],
        *["-r", "raw_multi", "line one\nline two", "-r", "raw_brace", "{not: yaml}"],
        *["-p", "alpah", "3"],  # a typo for alpha
        cwd=project,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads((project / "v.json").read_text(encoding="utf-8"))
    assert seen == {name: repr(value) for name, value in EXPECTED.items()}
    note = (
        "note: parameter 'alpah' is not defined in the notebook's parameters cell (did you mean "
        "'alpha'?); it is injected anyway"
    )
    assert out.stdout.count(note) == 1
    # and at once, before the cells run, as papermill warns (the summary comes at the end)
    warning = note.replace("note: ", "jupyter mlops run: warning: ")
    assert out.stderr.count(warning) == 1
    (run,) = all_runs(client)
    given = {k: v for k, v in EXPECTED.items() if k != "alpha"} | {"alpah": 3}
    assert run.data.params == {name: str(value) for name, value in given.items()}
    recorded = json.loads(run.data.tags["mlops.parameters"])
    assert recorded == {name: repr(value) for name, value in given.items()}
    assert run.data.tags["mlops.unknown_parameters"] == '["alpah"]'


def test_strict_parameters_refuse_before_anything_is_recorded(project: Path, client) -> None:
    cells = ["alpha = 0.1", "print(alpha)"]
    write_notebook(project / "train.ipynb", cells, tags={0: ["parameters"]})
    for command in (["run"], ["sweep", "-p", "alpha", "1,2"]):
        out = cli(*command, "train.ipynb", "-p", "alpah", "2", "--strict-parameters", cwd=project)
        assert out.returncode == 2 and out.stdout == ""
        assert out.stderr == (
            f"jupyter mlops {command[0]}: strict parameters: 'alpah' (did you mean 'alpha'?) is "
            "not defined in the 'parameters' cell of train.ipynb; fix the name or define it there\n"
        )
    assert all_runs(client) == []
    # the names it defines run as usual, with no note
    out = cli("run", "train.ipynb", "-p", "alpha", "2", "--strict-parameters", cwd=project)
    assert out.returncode == 0, out.stderr
    assert "note:" not in out.stdout and "warning:" not in out.stderr
    (run,) = all_runs(client)
    assert run.info.status == "FINISHED" and run.data.params == {"alpha": "2"}
    assert "mlops.unknown_parameters" not in run.data.tags


def test_a_sweep_grid_from_yaml_with_fixed_and_raw_values(project: Path, client) -> None:
    cells = [
        "alpha = 0.1\nmodel = 'x'\nweights = []\nlabel = ''",
        "import jupyter_mlops as mlops\n"
        "mlops.log(score=alpha * 10, seen=repr((model, weights, label)))",
    ]
    write_notebook(project / "train.ipynb", cells, tags={0: ["parameters"]})
    (project / "grid.yaml").write_text("alpha: [0.1, 1]\nmodel: ridge\nweights: [[1, 2]]\n")
    out = cli(
        "sweep",
        "train.ipynb",
        *["-f", "grid.yaml", "-y", "{model: lasso, alpah: 2}", "-r", "label", 'a\\b "c"'],
        *["--workers", "1"],
        cwd=project,
    )
    assert out.returncode == 0, out.stderr
    note = (
        "note: parameter 'alpah' is not defined in the notebook's parameters cell (did you mean "
        "'alpha'?); it is injected anyway"
    )
    assert out.stdout.count(note) == 1  # once for the sweep, not once per point
    assert out.stderr.count(note.replace("note: ", "jupyter mlops sweep: warning: ")) == 1
    runs = all_runs(client)
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = sorted(
        (r for r in runs if r is not parent), key=lambda r: float(r.data.params["alpha"])
    )
    assert parent.data.params == {
        "sweep.alpha": "[0.1, 1]",
        "sweep.model": "['lasso']",
        "sweep.weights": "[[1, 2]]",
        "sweep.alpah": "[2]",
        "sweep.label": "['a\\\\b \"c\"']",
    }
    assert [c.data.params["alpha"] for c in children] == ["0.1", "1"]
    for child in children:
        assert child.info.status == "FINISHED"
        assert "model=lasso" in child.info.run_name  # a fixed value names the point too
        assert child.data.params["seen"] == repr(("lasso", [1, 2], 'a\\b "c"'))
        assert child.data.tags["mlops.unknown_parameters"] == '["alpah"]'

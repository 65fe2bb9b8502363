"""%mlops alias and %mlops models NAME --history in a real IPython shell over a real sqlite
store: the history shown is alias_history's, moves are recorded via magic, mistakes are one line
and record nothing."""

from __future__ import annotations

from pathlib import Path

from IPython.core.error import UsageError

from jupyter_mlops.core import tags
from jupyter_mlops.core.registry.alias_history import AliasHistory, alias_history, history_rows
from jupyter_mlops.core.session import project_settings
from jupyter_mlops.display.alias_history import history_text
from tests.core.test_models import log_model, register

HOSTILE = "<img src=x onerror=alert(1)> \x1b[31mred"


def run_cell(ip, source: str, capfd):
    result = ip.run_cell(source)
    out, err = capfd.readouterr()
    return result, out + err


def audit_count(client, name: str) -> int:
    experiment = client.get_experiment_by_name(tags.audit_experiment(name))
    if experiment is None:
        return 0
    return len(client.search_runs([experiment.experiment_id], max_results=1000))


def test_alias_is_recorded_via_magic_and_history_shows_alias_history(
    ip, capfd, project: Path, client
) -> None:
    _, info = log_model()
    register(info, "iris", 2)
    ip.user_ns["why"] = HOSTILE
    capfd.readouterr()

    result, output = run_cell(ip, "%mlops alias iris champion 1 --reason 'first one'", capfd)
    assert result.success and result.result is None
    assert output == "alias 'champion' of iris: none -> version 1 (recorded)\n"
    result, output = run_cell(ip, '%mlops alias iris champion 2 --reason "$why"', capfd)
    assert result.success, output
    assert output == "alias 'champion' of iris: version 1 -> 2 (recorded)\n"

    frame = alias_history("iris")
    assert frame["via"].tolist() == ["magic", "magic"]
    assert frame["reason"].tolist() == ["first one", HOSTILE]
    assert frame["version"].tolist() == [1, 2]

    result, output = run_cell(ip, "%mlops models iris --history", capfd)
    shown = result.result
    assert isinstance(shown, AliasHistory)
    rows, _ = history_rows(project_settings(), "iris")
    assert shown.rows == rows and [r["run_id"] for r in rows] == frame["run_id"].tolist()
    formats = ip.display_formatter.format(shown)[0]
    assert formats["text/plain"] == history_text(shown.to_dict())  # the CLI's table
    assert formats["text/plain"] in output  # the cell's Out
    assert "\x1b" not in formats["text/plain"] and "\\x1b[31mred" in formats["text/plain"]
    html = formats["text/html"]
    assert "mlops-alias-history" in html and "<img" not in html and "\x1b" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; \\x1b[31mred" in html
    assert "v1 -&gt; v2" in html and "magic" in html
    assert shown.to_frame().equals(frame)  # the Python API's DataFrame


def test_mistakes_are_one_line_and_record_nothing(ip, capfd, project: Path, client) -> None:
    _, info = log_model()
    register(info, "iris", 2)
    ip.run_cell("%mlops alias iris champion 1")
    capfd.readouterr()
    for line, message in [
        ("%mlops alias iris champion 9", "model 'iris' has no version 9; versions: 1, 2"),
        ("%mlops alias irsi champion 2", "no registered model named 'irsi' (did you mean"),
        ("%mlops alias iris latest 2", "alias 'latest' is reserved by MLflow"),
        ("%mlops alias iris champion 2 --reason ''", "a reason cannot be empty"),
        ("%mlops alias iris champion", "the following arguments are required: VERSION"),
        ("%mlops models --history", "%mlops models --history needs NAME"),
        ("%mlops models nope --history", "no registered model named 'nope'"),
    ]:
        result, output = run_cell(ip, line, capfd)
        assert isinstance(result.error_in_exec, UsageError), line
        assert message in output and "Traceback" not in output, (line, output)
        assert len([x for x in output.splitlines() if x.strip()]) == 1, output
    assert audit_count(client, "iris") == 1  # only the first, good move
    assert client.get_model_version_by_alias("iris", "champion").version in (1, "1")

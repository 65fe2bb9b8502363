"""``monitor`` of a version promoted before references were kept: the reference is rebuilt from
the training data its run recorded (DVC md5, the object in the project's real DVC cache), or one
line says why it cannot be. The old version is a real promotion with the reference switched off
(``promote(..., reference=False)``), as every promotion was before issue 20."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.core import tags
from jupyter_mlops.errors import MlopsError
from tests.core.test_monitor import NOTEBOOK, SINCE, UNTIL, log_two_days


def test_an_old_version_is_judged_against_a_reference_rebuilt_from_its_dvc_data(
    ip, project: Path, client
):
    ip.run_cell(textwrap.dedent(NOTEBOOK)).raise_error()
    X, model = ip.user_ns["X"], ip.user_ns["model"]
    X.to_csv(project / "train.csv", index=False)
    ip.run_line_magic("mlops", "track start -e training --no-autolog")
    mlops.data.add("train.csv")
    mlops.promote(model, "old", X=X, reference=False)  # as every promotion before issue 20
    ip.run_line_magic("mlops", "track stop")
    stored = client.get_model_version("old", "1")
    md5 = stored.tags[tags.data_tag("train.csv")]
    log_two_days("models:/old/1", ip.user_ns["shop_rows"])

    report = mlops.monitor("old", since=SINCE, until=UNTIL, record=False)
    assert report.data["reference"] == {
        "kind": "rebuilt",
        "rows": 4000,
        "sampled": 4000,
        "path": "train.csv",
        "md5": md5,
    }
    assert [w["verdict"] for w in report.windows] == ["stable", "drifted", "empty"]
    assert report.drifted == ["amount", "channel"] and report.windows[1]["prediction_drifted"]
    assert "against its rebuilt training reference" in repr(report).splitlines()[0]

    # the cached object gone: one line naming what is missing and how to get it back
    cached = next((project / ".dvc" / "cache").rglob(md5[2:]))
    cached.unlink()
    with pytest.raises(MlopsError) as caught:
        mlops.monitor("old", since=SINCE, until=UNTIL, record=False)
    message = str(caught.value)
    assert message.startswith("models:/old/1 has no training reference") and "\n" not in message
    assert f"it cannot be rebuilt: train.csv (md5 {md5}) is not in the DVC cache" in message

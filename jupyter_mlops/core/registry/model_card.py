"""The model card's facts: what the store says about the run a promoted model came from.

``promote`` writes ``MODEL_CARD.md`` into the packaged model so that whoever loads
``models:/NAME@ALIAS`` months later can tell which run, notebook, commit and data version made it,
how it scored, what the assumption checks, drift and explanations said, and what it needs to run.

``card_facts`` reads all of that from the run once (tags, dataset inputs, and only the report
JSONs that the run's summary tags name), as a JSON-able dict. Turning the facts into Markdown
(``render_model_card``) and any card's Markdown into inert HTML (``card_html``) is rendering:
``display/model_card.py`` and ``display/markdown.py``; both are re-exported here, where
``promote`` and the server look for the card.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ...display.markdown import card_html
from ...display.model_card import render_model_card
from .. import tags

__all__ = ["card_facts", "card_html", "reference_line", "render_model_card"]

TOP_FEATURES = 10  # features of an explanation listed with their importance

MAX_ROWS_NAMED = 5  # rows a check names (outliers, influential points) listed in the card
# summary tags the report loggers write (core/stats/: checks, drift, explain, eda):
# tags.report_tag(kind, name, suffix); the card reads them back by these suffixes
_SUMMARY_SUFFIXES = {
    "checks": ("failed", "warned", "passed", "ok"),
    "drift": ("drifted",),
    "explain": ("top",),
    "eda": ("warnings",),
}
_VERDICT_ORDER = {"fail": 0, "warn": 1}


# -- facts ------------------------------------------------------------------------------------
def card_facts(client: Any, run_id: str) -> dict[str, Any]:
    """Everything the card says about the run, read from the store once (JSON-able dict).

    Reads the run, its experiment, and the ``checks/``, ``drift/`` and ``explain/`` JSONs named
    by the run's summary tags. A missing piece is left out (or None); an unreadable report is
    kept with an ``error`` saying why, so the card can say so instead of failing.
    """
    from .. import store

    client = store.retrying(client)
    run = client.get_run(run_id)
    info, data = run.info, run.data
    run_tags = dict(data.tags)
    experiment = _experiment_name(client, info.experiment_id)
    with tempfile.TemporaryDirectory(prefix="mlops-card-") as tmp, store.no_progress_bars():
        reports = _report_facts(run_tags, _ArtifactReader(client, info.run_id, Path(tmp)))
    return {
        "run": _run_facts(info, run_tags, experiment),
        "source": {
            "type": run_tags.get(tags.MLFLOW_SOURCE_TYPE),
            "name": run_tags.get(tags.MLFLOW_SOURCE_NAME),
            "notebook": run_tags.get(tags.NOTEBOOK_PATH),
        },
        "git": _git_facts(run_tags),
        "environment": {
            "python": run_tags.get(tags.PYTHON_VERSION),
            "platform": run_tags.get(tags.PLATFORM),
            "packages": _packages(run_tags.get(tags.PACKAGES)),
        },
        "data": _data_versions(run, run_tags),
        "metrics": {k: _number(v) for k, v in sorted(data.metrics.items())},
        "params": dict(sorted(data.params.items())),
        "tags": {k: v for k, v in sorted(run_tags.items()) if not tags.is_ours_or_mlflows(k)},
        **reports,
    }


def reference_line(summary: dict[str, Any] | None, reason: str | None = None) -> str:
    """The card's one line on the training reference ``monitor`` compares production with."""
    if summary is None:
        return (
            f"No training reference is kept with this version ({reason or 'not recorded'}): "
            "monitor cannot compare production inputs with its training data."
        )
    return (
        f"Training reference ({tags.REFERENCE_FOLDER}/): {summary['columns']:,} columns "
        f"profiled over {summary['rows']:,} rows, {summary['sampled']:,} rows sampled with "
        "their predictions, for monitor to compare production inputs with."
    )


def _experiment_name(client: Any, experiment_id: str) -> str | None:
    try:
        return client.get_experiment(experiment_id).name
    except Exception:  # a deleted or unreadable experiment still has an id worth showing
        return None


def _run_facts(info: Any, run_tags: dict[str, str], experiment: str | None) -> dict[str, Any]:
    return {
        "id": info.run_id,
        "name": info.run_name,
        "status": info.status,
        "user": run_tags.get(tags.MLFLOW_USER),
        "start_time": _iso(info.start_time),
        "end_time": _iso(info.end_time),
        "duration_seconds": _duration(info.start_time, info.end_time),
        "experiment_id": info.experiment_id,
        "experiment": experiment,
        "parent_run_id": run_tags.get(tags.MLFLOW_PARENT_RUN_ID),
        "description": run_tags.get(tags.MLFLOW_RUN_NOTE),
        "error": run_tags.get(tags.ERROR),
        "runner": run_tags.get(tags.RUNNER),
    }


def _git_facts(run_tags: dict[str, str]) -> dict[str, Any]:
    return _drop_none(
        {
            "commit": run_tags.get(tags.MLFLOW_GIT_COMMIT) or run_tags.get(tags.GIT_COMMIT),
            "branch": run_tags.get(tags.MLFLOW_GIT_BRANCH),
            "repo_url": run_tags.get(tags.MLFLOW_GIT_REPO_URL),
            "dirty": _bool(run_tags.get(tags.GIT_DIRTY)),
        }
    )


def _report_facts(run_tags: dict[str, str], reader: _ArtifactReader) -> dict[str, Any]:
    """The reports the run's summary tags name, by kind; only checks, drift and explanations
    are read (an EDA report is HTML: its tag says enough)."""
    return {
        "checks": [_check_facts(n, found, reader) for n, found in _reports(run_tags, "checks")],
        "drift": [_drift_facts(n, found, reader) for n, found in _reports(run_tags, "drift")],
        "explain": [_explain_facts(n, found, reader) for n, found in _reports(run_tags, "explain")],
        "eda": [
            {"name": name, "warnings": _int(found.get("warnings"))}
            for name, found in _reports(run_tags, "eda")
        ],
    }


class _ArtifactReader:
    """Reads a run's small JSON reports into one temporary folder; failures become a reason."""

    def __init__(self, client: Any, run_id: str, folder: Path) -> None:
        self.client, self.run_id, self.folder = client, run_id, folder

    def json(self, path: str) -> tuple[dict[str, Any] | None, str | None]:
        try:
            local = self.client.download_artifacts(self.run_id, path, str(self.folder))
            value = json.loads(Path(local).read_text(encoding="utf-8"))
        except Exception as exc:  # a card with a note beats no card (and no promotion)
            return None, f"{path} could not be read ({_one_line(exc)})"
        if not isinstance(value, dict):
            return None, f"{path} is not a JSON object"
        return value, None


def _reports(run_tags: dict[str, str], kind: str) -> list[tuple[str, dict[str, str]]]:
    """``[(name, {suffix: value})]`` of one kind of report, from its summary tags, by name."""
    prefix, suffixes = tags.report_prefix(kind), _SUMMARY_SUFFIXES[kind]
    found: dict[str, dict[str, str]] = {}
    for key, value in run_tags.items():
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        for suffix in suffixes:
            if rest.endswith(f".{suffix}") and len(rest) > len(suffix) + 1:
                found.setdefault(rest[: -len(suffix) - 1], {})[suffix] = value
                break
    return sorted(found.items())


def _check_facts(name: str, summary: dict[str, str], reader: _ArtifactReader) -> dict[str, Any]:
    artifact = f"checks/{name}.json"
    report, error = reader.json(artifact)
    counts = (report or {}).get("counts") or {}
    facts: dict[str, Any] = {
        "name": name,
        "artifact": artifact,
        "failed": _int(summary.get("failed"), counts.get("fail")),
        "warned": _int(summary.get("warned"), counts.get("warn")),
        "passed": _int(summary.get("passed"), counts.get("pass")),
        "ok": _bool(summary.get("ok")) if "ok" in summary else (report or {}).get("ok"),
        "task": None,
        "target": None,
        "issues": [],
        "error": error,
    }
    if report is not None:
        facts["task"], facts["target"] = report.get("task"), report.get("target")
        issues = [
            {
                "id": str(c.get("id")),
                "verdict": str(c.get("verdict")),
                "columns": [str(col) for col in c.get("columns") or []],
                "message": str(c.get("message") or ""),
                "rows": [str(r) for r in (c.get("rows") or [])[:MAX_ROWS_NAMED]]
                if isinstance(c.get("rows"), list)
                else [],
            }
            for c in report.get("checks") or []
            if isinstance(c, dict) and c.get("verdict") in _VERDICT_ORDER
        ]
        facts["issues"] = sorted(issues, key=lambda c: _VERDICT_ORDER[c["verdict"]])  # stable
    return facts


def _drift_facts(name: str, summary: dict[str, str], reader: _ArtifactReader) -> dict[str, Any]:
    artifact = f"drift/{name}.json"
    report, error = reader.json(artifact)
    report = report or {}
    drifted = [str(c) for c in report.get("drifted") or []]
    columns = report.get("columns") if isinstance(report.get("columns"), dict) else {}
    inconclusive = [
        str(c)
        for c, r in columns.items()
        if isinstance(r, dict) and r.get("verdict") == "inconclusive"
    ]
    target = report.get("target") if isinstance(report.get("target"), dict) else None
    return {
        "name": name,
        "artifact": artifact,
        "drifted_count": _int(summary.get("drifted"), len(drifted) if report else None),
        "drifted": drifted,
        "inconclusive": inconclusive,  # too few rows to tell drift from chance (drift_verdict)
        "compared": len(report["columns"]) if isinstance(report.get("columns"), dict) else None,
        "n_reference": report.get("n_reference"),
        "n_current": report.get("n_current"),
        "target": None
        if target is None
        else {k: target.get(k) for k in ("column", "verdict", "drifted")},
        "error": error,
    }


def _explain_facts(name: str, summary: dict[str, str], reader: _ArtifactReader) -> dict[str, Any]:
    artifact = f"explain/{name}.json"
    report, error = reader.json(artifact)
    report = report or {}
    permutation = report.get("permutation") if isinstance(report.get("permutation"), dict) else {}
    importance = [
        [str(f), _number(v.get("mean")) if isinstance(v, dict) else None]
        for f, v in list(permutation.items())[:TOP_FEATURES]
    ]
    top = [f for f, _ in importance] or [t.strip() for t in summary.get("top", "").split(",") if t]
    return {
        "name": name,
        "artifact": artifact,
        "top": top,
        "importance": importance,
        "model": report.get("model"),
        "scoring": report.get("scoring"),
        "baseline_score": _number(report.get("baseline_score")),
        "shap": bool(report.get("shap")),
        "error": error,
    }


def _data_versions(run: Any, run_tags: dict[str, str]) -> list[dict[str, Any]]:
    """Dataset inputs (digest, source, profile) merged with the ``mlops.data.<path>`` tags."""
    versions: dict[tuple[str, str], dict[str, Any]] = {}
    inputs = getattr(run, "inputs", None)
    for item in getattr(inputs, "dataset_inputs", None) or []:
        ds = item.dataset
        source = _json_or(ds.source)
        profile = _json_or(ds.profile)
        schema = _json_or(ds.schema)
        colspec = schema.get("mlflow_colspec") if isinstance(schema, dict) else None
        entry = {
            "path": str(ds.name),
            "md5": str(ds.digest),
            "source_type": ds.source_type,
            "context": next(
                (t.value for t in item.tags or [] if t.key == tags.MLFLOW_DATASET_CONTEXT), None
            ),
            "git_rev": source.get("git_rev") if isinstance(source, dict) else None,
            "remote": source.get("remote") if isinstance(source, dict) else None,
            "source": None if isinstance(source, dict) else source,
            "rows": profile.get("num_rows") if isinstance(profile, dict) else None,
            "columns": profile.get("num_columns") if isinstance(profile, dict) else None,
            "files": profile.get("num_files") if isinstance(profile, dict) else None,
            "size": profile.get("size") if isinstance(profile, dict) else None,
        }
        if entry["columns"] is None and isinstance(colspec, list):
            entry["columns"] = len(colspec)
        versions[(entry["path"], entry["md5"])] = entry
    for key, md5 in run_tags.items():
        if not key.startswith(tags.DATA_PREFIX):
            continue
        path = key[len(tags.DATA_PREFIX) :]
        # the tag key is cut at 250 characters: a long path matches its input by prefix
        known = any(p == path or (p.startswith(path) and m == md5) for p, m in versions)
        if not known:
            versions[(path, md5)] = {"path": path, "md5": md5, "source_type": "dvc"}
    return [versions[k] for k in sorted(versions)]


def _iso(ms: int | None) -> str | None:
    if not ms:
        return None
    stamp = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(start: int | None, end: int | None) -> float | None:
    return round((end - start) / 1000, 3) if start and end and end >= start else None


def _bool(value: str | None) -> bool | None:
    if value is None:
        return None
    return {"true": True, "false": False}.get(str(value).strip().lower())


def _int(*candidates: Any) -> int | None:
    for value in candidates:
        try:
            return int(value)
        except (TypeError, ValueError):
            continue
    return None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _packages(text: str | None) -> dict[str, str]:
    value = _json_or(text)
    return {str(k): str(v) for k, v in sorted(value.items())} if isinstance(value, dict) else {}


def _json_or(text: str | None) -> Any:
    """Parsed JSON, or the text itself when it is not JSON (None stays None)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(error).__name__}: {first[:200]}" if first else type(error).__name__

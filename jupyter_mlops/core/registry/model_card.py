"""The model card: what a promoted model is, where it came from, and what was checked about it.

``promote`` writes ``MODEL_CARD.md`` into the packaged model so that whoever loads
``models:/NAME@ALIAS`` months later can tell which run, notebook, commit and data version made it,
how it scored, what the assumption checks, drift and explanations said, and what it needs to run.

``card_facts`` reads all of that from the run once (tags, dataset inputs, and only the report
JSONs that the run's summary tags name); ``render_model_card`` turns the facts into Markdown and
never touches the store, so the card is deterministic for given facts. Anything the run did not
record is written as "not recorded"; a report that cannot be read is named as unreadable.

A card is read by people who never saw the store it came from (a shared store is untrusted
input, issue 16): every value from the store is escaped as text (a run named
``<img src=http://x>`` or ``[a](javascript:...)`` reads as just that), every URL in it loses its
credentials, and ``card_html`` renders any card's Markdown to HTML that loads nothing from
elsewhere, for the panel.
"""

from __future__ import annotations

import html
import json
import numbers
import re
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..redact import redact_text, redact_url

__all__ = ["card_facts", "card_html", "render_model_card"]

NOT_RECORDED = "not recorded"
MAX_ROWS = 50  # metrics, params, data versions, requirements listed before "and N more"
MAX_COLUMNS = 50  # training columns named
MAX_TAGS = 20  # free-form run tags listed
MAX_CELL = 200  # characters of one table cell (a param may hold 6,000)
TOP_FEATURES = 10  # features of an explanation listed with their importance
MAX_SEGMENTS = 1000  # segments of a family listed, worst score first

# summary tags the report loggers write (core/checks.py, drift.py, explain.py, eda.py)
_CHECK_SUFFIXES = ("failed", "warned", "passed", "ok")
_REPORT_TAGS = {
    "checks": ("mlops.checks.", _CHECK_SUFFIXES),
    "drift": ("mlops.drift.", ("drifted",)),
    "explain": ("mlops.explain.", ("top",)),
    "eda": ("mlops.eda.", ("warnings",)),
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

    run = store.with_retry(lambda: client.get_run(run_id))
    info, data = run.info, run.data
    tags = dict(data.tags)
    try:
        experiment = store.with_retry(lambda: client.get_experiment(info.experiment_id)).name
    except Exception:  # a deleted or unreadable experiment still has an id worth showing
        experiment = None
    with tempfile.TemporaryDirectory(prefix="mlops-card-") as tmp, store.no_progress_bars():
        reader = _ArtifactReader(client, info.run_id, Path(tmp))
        checks = [_check_facts(name, found, reader) for name, found in _reports(tags, "checks")]
        drift = [_drift_facts(name, found, reader) for name, found in _reports(tags, "drift")]
        explain = [_explain_facts(name, found, reader) for name, found in _reports(tags, "explain")]
    return {
        "run": {
            "id": info.run_id,
            "name": info.run_name,
            "status": info.status,
            "user": tags.get("mlflow.user"),
            "start_time": _iso(info.start_time),
            "end_time": _iso(info.end_time),
            "duration_seconds": _duration(info.start_time, info.end_time),
            "experiment_id": info.experiment_id,
            "experiment": experiment,
            "parent_run_id": tags.get("mlflow.parentRunId"),
            "description": tags.get("mlflow.note.content"),
            "error": tags.get("mlops.error"),
            "runner": tags.get("mlops.runner"),
        },
        "source": {
            "type": tags.get("mlflow.source.type"),
            "name": tags.get("mlflow.source.name"),
            "notebook": tags.get("mlops.notebook.path"),
        },
        "git": _drop_none(
            {
                "commit": tags.get("mlflow.source.git.commit") or tags.get("mlops.git.commit"),
                "branch": tags.get("mlflow.source.git.branch"),
                "repo_url": tags.get("mlflow.source.git.repoURL"),
                "dirty": _bool(tags.get("mlops.git.dirty")),
            }
        ),
        "environment": {
            "python": tags.get("mlops.python.version"),
            "platform": tags.get("mlops.platform"),
            "packages": _packages(tags.get("mlops.packages")),
        },
        "data": _data_versions(run, tags),
        "metrics": {k: _number(v) for k, v in sorted(data.metrics.items())},
        "params": dict(sorted(data.params.items())),
        "tags": {k: v for k, v in sorted(tags.items()) if not k.startswith(("mlflow.", "mlops."))},
        "checks": checks,
        "drift": drift,
        "explain": explain,
        "eda": [
            {"name": name, "warnings": _int(found.get("warnings"))}
            for name, found in _reports(tags, "eda")
        ],
    }


class _ArtifactReader:
    """Reads a run's small JSON reports into one temporary folder; failures become a reason."""

    def __init__(self, client: Any, run_id: str, folder: Path) -> None:
        self.client, self.run_id, self.folder = client, run_id, folder

    def json(self, path: str) -> tuple[dict[str, Any] | None, str | None]:
        from .. import store

        try:
            local = store.with_retry(
                lambda: self.client.download_artifacts(self.run_id, path, str(self.folder))
            )
            value = json.loads(Path(local).read_text(encoding="utf-8"))
        except Exception as exc:  # a card with a note beats no card (and no promotion)
            return None, f"{path} could not be read ({_one_line(exc)})"
        if not isinstance(value, dict):
            return None, f"{path} is not a JSON object"
        return value, None


def _reports(tags: dict[str, str], kind: str) -> list[tuple[str, dict[str, str]]]:
    """``[(name, {suffix: value})]`` of one kind of report, from its summary tags, by name."""
    prefix, suffixes = _REPORT_TAGS[kind]
    found: dict[str, dict[str, str]] = {}
    for key, value in tags.items():
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        for suffix in suffixes:
            if rest.endswith(f".{suffix}") and len(rest) > len(suffix) + 1:
                found.setdefault(rest[: -len(suffix) - 1], {})[suffix] = value
                break
    return sorted(found.items())


def _check_facts(name: str, tags: dict[str, str], reader: _ArtifactReader) -> dict[str, Any]:
    artifact = f"checks/{name}.json"
    report, error = reader.json(artifact)
    counts = (report or {}).get("counts") or {}
    facts: dict[str, Any] = {
        "name": name,
        "artifact": artifact,
        "failed": _int(tags.get("failed"), counts.get("fail")),
        "warned": _int(tags.get("warned"), counts.get("warn")),
        "passed": _int(tags.get("passed"), counts.get("pass")),
        "ok": _bool(tags.get("ok")) if "ok" in tags else (report or {}).get("ok"),
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
            }
            for c in report.get("checks") or []
            if isinstance(c, dict) and c.get("verdict") in _VERDICT_ORDER
        ]
        facts["issues"] = sorted(issues, key=lambda c: _VERDICT_ORDER[c["verdict"]])  # stable
    return facts


def _drift_facts(name: str, tags: dict[str, str], reader: _ArtifactReader) -> dict[str, Any]:
    artifact = f"drift/{name}.json"
    report, error = reader.json(artifact)
    report = report or {}
    drifted = [str(c) for c in report.get("drifted") or []]
    target = report.get("target") if isinstance(report.get("target"), dict) else None
    return {
        "name": name,
        "artifact": artifact,
        "drifted_count": _int(tags.get("drifted"), len(drifted) if report else None),
        "drifted": drifted,
        "compared": len(report["columns"]) if isinstance(report.get("columns"), dict) else None,
        "n_reference": report.get("n_reference"),
        "n_current": report.get("n_current"),
        "target": None
        if target is None
        else {k: target.get(k) for k in ("column", "verdict", "drifted")},
        "error": error,
    }


def _explain_facts(name: str, tags: dict[str, str], reader: _ArtifactReader) -> dict[str, Any]:
    artifact = f"explain/{name}.json"
    report, error = reader.json(artifact)
    report = report or {}
    permutation = report.get("permutation") if isinstance(report.get("permutation"), dict) else {}
    importance = [
        [str(f), _number(v.get("mean")) if isinstance(v, dict) else None]
        for f, v in list(permutation.items())[:TOP_FEATURES]
    ]
    top = [f for f, _ in importance] or [t.strip() for t in tags.get("top", "").split(",") if t]
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


def _data_versions(run: Any, tags: dict[str, str]) -> list[dict[str, Any]]:
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
                (t.value for t in item.tags or [] if t.key == "mlflow.data.context"), None
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
    for key, md5 in tags.items():
        if not key.startswith("mlops.data."):
            continue
        path = key[len("mlops.data.") :]
        # the tag key is cut at 250 characters: a long path matches its input by prefix
        known = any(p == path or (p.startswith(path) and m == md5) for p, m in versions)
        if not known:
            versions[(path, md5)] = {"path": path, "md5": md5, "source_type": "dvc"}
    return [versions[k] for k in sorted(versions)]


# -- Markdown ---------------------------------------------------------------------------------
def render_model_card(
    facts: dict[str, Any],
    *,
    name: str,
    version: int | str | None,
    alias: str | None,
    model_uri: str | None,
    description: str | None = None,
    training: dict[str, Any] | None = None,
    requirements: list[str] | None = None,
    contract_summary: str | None = None,
    segments: dict[str, Any] | None = None,
    model: dict[str, Any] | None = None,
) -> str:
    """Markdown text of MODEL_CARD.md.

    ``facts`` comes from ``card_facts`` (``{}`` when the model has no run); ``training`` says
    what it was fitted on (``rows``, ``columns``, ``target``, ``task``); ``requirements`` are
    the model's pip requirements; ``segments`` is a segment family's ``to_dict()``, listed in
    a section of its own; ``model`` is what the promoted object itself is (``class``, its own
    ``params``, and the ``candidate`` run that recorded its fit). Pure: the same arguments
    always give the same text.
    """
    facts = facts or {}
    run = facts.get("run") or {}
    text = _block(description or run.get("description") or "")
    sections = [
        ("Description", [text or f"{NOT_RECORDED.capitalize()}."]),
        ("Model", _model(model)),
        ("Training data", _training(training, facts.get("eda") or [])),
        *([("Segments", _segments(segments))] if segments else []),
        ("Data versions", _data(facts.get("data") or [])),
        ("Run metrics", _run_values(facts, "metrics", "metric", _fmt)),
        ("Run parameters", _run_values(facts, "params", "param", str)),
        ("Assumption checks", _checks(facts.get("checks") or [])),
        ("Drift", _drift(facts.get("drift") or [])),
        ("Explanations", _explain(facts.get("explain") or [])),
        ("Input contract", [_block(contract_summary or "") or f"{NOT_RECORDED.capitalize()}."]),
        ("Environment", _environment(facts, requirements)),
    ]
    if facts.get("tags"):
        sections.append(("Run tags", _mapping(facts["tags"], "tag", str, MAX_TAGS)))
    lines = [
        f"# Model card: {_inline(name)}",
        "",
        *_identity(facts, name, version, alias, model_uri),
    ]
    for title, body in sections:
        lines += ["", f"## {title}", "", *body]
    return "\n".join(lines).rstrip() + "\n"


def _identity(
    facts: dict[str, Any], name: str, version: Any, alias: str | None, uri: str | None
) -> list[str]:
    run, source, git = facts.get("run") or {}, facts.get("source") or {}, facts.get("git") or {}
    rows = [
        ("Model", _inline(name)),
        ("Version", _inline(version) if version not in (None, "") else NOT_RECORDED),
        ("Alias", _code(alias) if alias else NOT_RECORDED),
        ("Model URI", _code(uri) if uri else NOT_RECORDED),
        ("Run", _run_text(run)),
        ("Experiment", _experiment_text(run)),
        ("Run started", _time_text(run)),
        ("Notebook", _notebook_text(source, run)),
        ("Git commit", _code(git["commit"]) if git.get("commit") else NOT_RECORDED),
    ]
    if git.get("commit"):
        dirty = git.get("dirty")
        state = NOT_RECORDED if dirty is None else ("dirty" if dirty else "clean")
        note = " (uncommitted changes when the run started)" if dirty else ""
        rows.append(("Working tree", state + note))
        rows.append(("Branch", _code(git["branch"]) if git.get("branch") else NOT_RECORDED))
        rows.append(
            ("Repository", _inline(git["repo_url"]) if git.get("repo_url") else NOT_RECORDED)
        )
    if run.get("parent_run_id"):
        rows.append(("Parent run", _code(run["parent_run_id"])))
    if run.get("error"):
        rows.append(("Run error", _inline(run["error"])))
    return _table(("", ""), rows)


def _run_text(run: dict[str, Any]) -> str:
    if not run.get("id"):
        return NOT_RECORDED
    parts = [_code(run["id"])]
    if run.get("name"):
        parts.append(f"({_inline(run['name'])})")
    if run.get("status"):
        return " ".join(parts) + f", {_inline(run['status']).lower()}"
    return " ".join(parts)


def _experiment_text(run: dict[str, Any]) -> str:
    if run.get("experiment"):
        return f"{_inline(run['experiment'])} (id {_inline(run.get('experiment_id'))})"
    if run.get("experiment_id"):
        return f"id {_inline(run['experiment_id'])}"
    return NOT_RECORDED


def _time_text(run: dict[str, Any]) -> str:
    if not run.get("start_time"):
        return NOT_RECORDED
    text = run["start_time"]
    if run.get("duration_seconds") is not None:
        text += f" (ran {run['duration_seconds']:,.1f} s)"
    return text


def _notebook_text(source: dict[str, Any], run: dict[str, Any]) -> str:
    if source.get("type") == "NOTEBOOK" and source.get("name"):
        text = _code(source["name"])
    elif source.get("notebook"):
        text = _code(source["notebook"])
    elif source.get("name"):
        kind = _inline(source.get("type") or "").lower() or "source"
        return f"{NOT_RECORDED} ({kind}: {_code(source['name'])})"
    else:
        return NOT_RECORDED
    if run.get("runner"):
        text += f", executed by {_inline(run['runner'])}"
    return text


def _training(training: dict[str, Any] | None, eda: list[dict[str, Any]]) -> list[str]:
    lines = []
    if not training:
        lines.append(f"Shape and columns: {NOT_RECORDED}.")
    else:
        given = training.get("columns")  # a list, or an Index (no truth value)
        columns = [str(c) for c in given] if given is not None else []
        rows = training.get("rows")
        count = training.get("n_columns", len(columns) if columns else None)
        shown = [
            ("Rows", _whole(rows) if rows is not None else NOT_RECORDED),
            ("Columns", str(count) if count is not None else NOT_RECORDED),
            ("Target", _code(training["target"]) if training.get("target") else NOT_RECORDED),
            ("Task", _inline(training.get("task") or NOT_RECORDED)),
        ]
        lines += _table(("", ""), shown)
        if columns:
            names = ", ".join(_code(c) for c in columns[:MAX_COLUMNS])
            lines += ["", f"Columns: {names}{_more(len(columns), MAX_COLUMNS)}."]
    if eda:
        reports = ", ".join(
            f"{_inline(e['name'])} ({_count(e.get('warnings'), 'warning')})" for e in eda
        )
        lines += ["", f"Exploratory reports on the run: {reports} (`eda/<name>.html`)."]
    return lines


def _data(data: list[dict[str, Any]]) -> list[str]:
    if not data:
        return [f"{NOT_RECORDED.capitalize()}: the run has no dataset inputs or DVC versions."]
    rows = []
    for d in data[:MAX_ROWS]:
        if d.get("rows") is not None or d.get("columns") is not None:
            rows_, cols = (d.get(k) if d.get(k) is not None else "?" for k in ("rows", "columns"))
            shape = f"{_inline(rows_)} rows x {_inline(cols)} cols"
        elif d.get("files") is not None:
            shape = f"{_whole(d['files'])} files"
        else:
            shape = ""
        where = []
        if d.get("git_rev"):
            where.append(f"git {_code(str(d['git_rev'])[:12])}")
        if d.get("remote"):
            where.append(f"remote {_inline(d['remote'])}")
        if d.get("source"):
            where.append(_inline(d["source"]))
        kind = d.get("source_type") or ""
        label = kind if kind != "dvc" else "DVC md5"
        rows.append(
            (
                _code(d["path"]),
                f"{_code(d['md5'])} ({_inline(label)})" if label else _code(d["md5"]),
                shape,
                _inline(d.get("context") or ""),
                ", ".join(where),
            )
        )
    lines = _table(("path", "digest", "shape", "context", "source"), rows)
    return lines + _more_line(len(data), MAX_ROWS, "data versions")


def _model(model: dict[str, Any] | None) -> list[str]:
    """The promoted object: its class, its own params, the run that recorded its fit."""
    if not model:
        return [f"{NOT_RECORDED.capitalize()}."]
    lines = [f"Class: {_code(model.get('class') or NOT_RECORDED)}."]
    candidate = model.get("candidate") or {}
    if candidate.get("run_id"):
        lines.append(
            f"Its fit is recorded in run {_code(candidate['run_id'])} "
            f"({_inline(candidate.get('name') or '')}), a child of the run below."
        )
    else:
        lines.append(
            "Its fit was not autologged (fitted outside a tracked run, or with autolog off): "
            "the parameters below are read from the object itself."
        )
    metrics = candidate.get("metrics") or {}
    if metrics:
        lines += ["", "Training metrics of this fit:", ""]
        lines += _mapping(dict(sorted(metrics.items())), "metric", _fmt)
    lines += ["", "Parameters of the promoted object (`get_params`):", ""]
    lines += _mapping(model.get("params") or {}, "param", str)
    return lines


def _run_values(facts: dict[str, Any], key: str, what: str, fmt: Any) -> list[str]:
    """Values logged on the run itself: they describe the run, which may have tried several
    models, not necessarily the promoted one."""
    values = facts.get(key) or {}
    if not values:
        return _mapping(values, what, fmt)
    note = "Logged on the run by the notebook (the run may have tried other models too)."
    return [note, "", *_mapping(values, what, fmt)]


def _mapping(values: dict[str, Any], what: str, fmt: Any, limit: int = MAX_ROWS) -> list[str]:
    if not values:
        return [f"{NOT_RECORDED.capitalize()}: the run has no {what}s."]
    rows = [(_code(k), _inline(fmt(v))) for k, v in list(values.items())[:limit]]
    return _table((what, "value"), rows) + _more_line(len(values), limit, f"{what}s")


def _checks(checks: list[dict[str, Any]]) -> list[str]:
    if not checks:
        return [f"{NOT_RECORDED.capitalize()}: no assumption checks were run (`mlops.check`)."]
    lines = []
    for c in checks:
        counts = ", ".join(
            f"{c[key]} {word}"
            for key, word in (("failed", "failed"), ("warned", "warned"), ("passed", "passed"))
            if c.get(key) is not None
        )
        about = [
            f"{label} {_code(c[key]) if key == 'target' else _inline(c[key])}"
            for key, label in (("task", "task"), ("target", "target"))
            if c.get(key)
        ]
        counts = counts or f"counts {NOT_RECORDED}"
        head = f"**{_inline(c['name'])}** ({_code(c['artifact'])}): {counts}"
        lines.append(head + (f"; {', '.join(about)}." if about else "."))
        if c.get("error"):
            lines.append(f"The report is unreadable: {_inline(c['error'])}.")
        elif c.get("issues"):
            rows = [
                (
                    _code(i["id"]),
                    i["verdict"],
                    ", ".join(_code(col) for col in i["columns"][:5]) + _more(len(i["columns"]), 5),
                    _inline(i["message"], limit=400),
                )
                for i in c["issues"]
            ]
            lines += ["", *_table(("check", "verdict", "columns", "message"), rows)]
        else:
            lines.append("No check failed or warned.")
        lines.append("")
    return lines[:-1]


def _drift(drift: list[dict[str, Any]]) -> list[str]:
    if not drift:
        return [f"{NOT_RECORDED.capitalize()}: no drift report on the run (`mlops.drift`)."]
    lines = []
    for d in drift:
        count = d.get("drifted_count")
        text = f"- **{_inline(d['name'])}** ({_code(d['artifact'])}): "
        text += f"{count} drifted column(s)" if count is not None else f"drift {NOT_RECORDED}"
        if d.get("compared") is not None:
            text += f" of {_whole(d['compared'])} compared"
        if d.get("n_reference") is not None and d.get("n_current") is not None:
            text += (
                f" ({_whole(d['n_reference'])} reference vs {_whole(d['n_current'])} current rows)"
            )
        if d.get("drifted"):
            names = ", ".join(_code(c) for c in d["drifted"][:MAX_COLUMNS])
            text += f": {names}{_more(len(d['drifted']), MAX_COLUMNS)}"
        target = d.get("target")
        if target and target.get("column"):
            text += f"; target {_code(target['column'])}: {_inline(target.get('verdict'))}"
        if d.get("error"):
            text += f". The report is unreadable: {_inline(d['error'])}"
        lines.append(text + ".")
    return lines


def _explain(explain: list[dict[str, Any]]) -> list[str]:
    if not explain:
        return [f"{NOT_RECORDED.capitalize()}: no explanation on the run (`mlops.explain`)."]
    lines = []
    for e in explain:
        about = [_inline(e["model"])] if e.get("model") else []
        if e.get("scoring"):
            about.append(f"scored by {_inline(e['scoring'])}")
        if e.get("baseline_score") is not None:
            about.append(f"baseline {_fmt(e['baseline_score'])}")
        head = f"**{_inline(e['name'])}** ({_code(e['artifact'])})"
        head += f", {', '.join(about)}" if about else ""
        if e.get("importance"):
            lines += [head + ": permutation importance, most important first.", ""]
            rows = [(_code(f), _fmt(v)) for f, v in e["importance"]]
            lines += _table(("feature", "mean importance"), rows)
        elif e.get("top"):
            names = ", ".join(_code(f) for f in e["top"])
            lines.append(f"{head}: top features {names}.")
        else:
            lines.append(f"{head}: features {NOT_RECORDED}.")
        if e.get("error"):
            lines.append(f"The report is unreadable: {_inline(e['error'])}.")
        lines.append("")
    return lines[:-1]


def _segments(family: dict[str, Any]) -> list[str]:
    """A segment family: how rows are routed, then every segment, the worst score first."""
    fallback = family.get("fallback") or {}
    n, own = family.get("n_segments", 0), family.get("n_models", 0)
    scoring = family.get("scoring") or "score"
    lines = [
        f"One model per value of {_code(family.get('by'))} ({_inline(family.get('estimator'))}): "
        f"{_count(n, 'segment')}, {own} with a model of their own. Segments with fewer than "
        f"{family.get('min_rows')} rows, segments whose fit failed and segments never seen in "
        f"training are served by the fallback model, fitted on all {_whole(fallback.get('rows'))} "
        f"rows (cv {_inline(scoring)} {_fmt(fallback.get('cv_score'))}); unseen segments warn.",
        "",
    ]
    rows = [
        (
            _code(s.get("segment")),
            _whole(s.get("rows")),
            _inline(s.get("model")),
            _fmt(s.get("cv_score")),
            _fmt(s.get("cv_std")),
            _inline(s.get("note") or ""),
        )
        for s in (family.get("segments") or [])[:MAX_SEGMENTS]
    ]
    header = ("segment", "rows", "model", f"cv {_inline(scoring)}", "± std", "note")
    lines += _table(header, rows)
    return lines + _more_line(len(family.get("segments") or []), MAX_SEGMENTS, "segments")


def _environment(facts: dict[str, Any], requirements: list[str] | None) -> list[str]:
    env = facts.get("environment") or {}
    python = env.get("python")
    lines = [
        f"- Python: {_inline(python) if python else NOT_RECORDED}",
        f"- Platform: {_inline(env.get('platform')) if env.get('platform') else NOT_RECORDED}",
    ]
    packages = env.get("packages") or {}
    if packages:
        listed = ", ".join(f"{_inline(k)} {_inline(v)}" for k, v in sorted(packages.items()))
        lines.append(f"- Packages at training time: {listed}")
    else:
        lines.append(f"- Packages at training time: {NOT_RECORDED}")
    lines += ["", "Model requirements:", ""]
    if requirements:
        shown = [_line(r, 1000) for r in requirements][:MAX_ROWS]
        fence = _fence("\n".join(shown), minimum=3)
        lines += [f"{fence}text", *shown, fence]
        lines += _more_line(len(requirements), MAX_ROWS, "requirements")
    else:
        lines.append(f"{NOT_RECORDED.capitalize()}.")
    return lines


# -- HTML -------------------------------------------------------------------------------------
_LINK_SCHEMES = ("http://", "https://", "mailto:")
# the only attributes a rendered card keeps; every other one (style, class, id, src) is dropped
_KEPT_ATTRS = {"a": {"href", "title"}, "ol": {"start"}}


def card_html(markdown: str) -> str:
    """Any card's Markdown as HTML that loads nothing and overlays nothing, whoever wrote it.

    A card comes from the store, where anyone with access can write one. Raw HTML is shown as
    text; an image becomes its alt text and address as text; a link stays a link only to
    http(s) or mailto, opened in a new tab with ``rel="noopener noreferrer"``; no element keeps
    a ``style``, ``class`` or ``id``. Rendered by markdown-it-py (CommonMark and GFM tables).
    """
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: url.strip().lower().startswith(_LINK_SCHEMES)  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_text)
    tokens = md.parse(markdown)
    _keep_safe_attrs(tokens)
    return md.renderer.render(tokens, md.options, {})


def _keep_safe_attrs(tokens: list[Any]) -> None:
    for token in tokens:
        if token.type == "image":
            continue  # rendered as text by _image_as_text
        if token.type == "fence":
            token.info = ""  # its info string would become a class
        kept = _KEPT_ATTRS.get(token.tag, set())
        token.attrs = {k: v for k, v in token.attrs.items() if k in kept}
        if token.type == "link_open":
            token.attrs["href"] = redact_url(str(token.attrs.get("href", ""))) or ""
            token.attrs["target"] = "_blank"
            token.attrs["rel"] = "noopener noreferrer"
        if token.children:
            _keep_safe_attrs(token.children)


def _image_as_text(renderer: Any, tokens: list[Any], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    src = redact_url(str(token.attrs.get("src", ""))) or ""
    return html.escape(f"[image: {alt}] ({src})" if alt else f"[image] ({src})")


# -- helpers ----------------------------------------------------------------------------------
def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A GitHub-flavoured table; cells are already inline text (pipes escaped by _inline)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# Markdown's inline punctuation, HTML's "<" and "&", math's "$": a backslash makes each literal
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>!&|~#$])")
# what starts a block (list, setext heading, rule) at the beginning of a line once the inline
# characters are escaped: "-", "+", "=" or "1." / "1)"
_LINE_START = re.compile(r"^(\d*)([-+=.)])")


def _line(value: Any, limit: int = MAX_CELL) -> str:
    """``value`` as one line of at most ``limit`` characters, any URL in it without credentials
    (redacted before the cut, so a cut cannot leave half a token)."""
    text = redact_text(" ".join(str(value).split())) or ""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _inline(value: Any, limit: int = MAX_CELL) -> str:
    """One line of literal text: no Markdown, HTML or link in it takes effect, and it cannot
    break a table (pipes escaped too)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _line(value, limit))


def _block(value: Any) -> str:
    """Free text (a description) as literal text, its lines kept: each line escaped as
    ``_inline`` does, and a line that would start a list, heading or rule escaped too."""
    lines = []
    for line in str(value).strip().splitlines():
        lines.append(_LINE_START.sub(r"\1\\\2", _inline(line, limit=10_000)))
    return "\n".join(lines).strip()


def _fence(text: str, minimum: int = 1) -> str:
    """Backticks enough to fence ``text``: one more than its longest run of backticks."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(minimum, longest + 1)


def _code(value: Any, limit: int = MAX_CELL) -> str:
    """``value`` as inline code, literal whatever it holds (safe in tables: GFM unescapes
    ``\\|`` inside code spans)."""
    text = _line(value, limit).replace("|", "\\|")
    fence = _fence(text)
    pad = " " if fence != "`" or text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _more(total: int, shown: int) -> str:
    return f" and {total - shown} more" if total > shown else ""


def _more_line(total: int, shown: int, what: str) -> list[str]:
    return ["", f"... and {total - shown} more {what}."] if total > shown else []


def _whole(n: Any) -> str:
    """569 -> "569", 1234567 -> "1,234,567" (numpy integers too); anything else as text."""
    if isinstance(n, numbers.Integral) and not isinstance(n, bool):
        return f"{int(n):,}"
    return _inline(n)


def _count(n: Any, word: str) -> str:
    if n is None:
        return f"{word}s {NOT_RECORDED}"
    return f"{n} {word}" + ("" if n == 1 else "s")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "n/a" if value is None else str(value)


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

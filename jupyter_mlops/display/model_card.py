"""MODEL_CARD.md: the Markdown of a promoted model's card, from facts computed elsewhere.

``render_model_card`` never touches the store: the same facts (``core/registry/model_card.py``'s
``card_facts``) always give the same text. Anything the run did not record is written as "not
recorded"; a report that cannot be read is named as unreadable. A card is read by people who
never saw the store it came from (a shared store is untrusted input, issue 16): every value from
the store goes through ``display/markdown.py``, so it reads as literal text, its URLs without
credentials.
"""

from __future__ import annotations

from typing import Any

from .markdown import (
    block,
    code_fence,
    code_span,
    inline,
    more,
    more_line,
    one_line,
    table,
    whole,
)

NOT_RECORDED = "not recorded"
ENDED = frozenset({"FINISHED", "FAILED", "KILLED"})  # a run's statuses that do not change
MAX_ROWS = 50  # metrics, params, data versions, requirements listed before "and N more"
MAX_COLUMNS = 50  # training columns named
MAX_TAGS = 20  # free-form run tags listed
MAX_SEGMENTS = 1000  # segments of a family listed, worst score first


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
    reference: str | None = None,
    segments: dict[str, Any] | None = None,
    model: dict[str, Any] | None = None,
    promoted_by: str | None = None,
) -> str:
    """Markdown text of MODEL_CARD.md.

    ``facts`` comes from ``card_facts`` (``{}`` when the model has no run); ``training`` says
    what it was fitted on (``rows``, ``columns``, ``target``, ``task``); ``requirements`` are
    the model's pip requirements; ``segments`` is a segment family's ``to_dict()``, listed in
    a section of its own; ``model`` is what the promoted object itself is (``class``, its own
    ``params``, and the ``candidate`` run that recorded its fit); ``promoted_by`` is the user
    the store authenticated for the promotion. Pure: the same arguments
    always give the same text.
    """
    facts = facts or {}
    run = facts.get("run") or {}
    text = block(description or run.get("description") or "")
    sections = [
        ("Description", [text or f"{NOT_RECORDED.capitalize()}."]),
        ("Model", _model(model)),
        ("Training data", _training(training, facts.get("eda") or [], reference)),
        *([("Segments", _segments(segments))] if segments else []),
        ("Data versions", _data(facts.get("data") or [])),
        ("Run metrics", _run_values(facts, "metrics", "metric", _fmt)),
        ("Run parameters", _run_values(facts, "params", "param", str)),
        ("Assumption checks", _checks(facts.get("checks") or [])),
        ("Drift", _drift(facts.get("drift") or [])),
        ("Explanations", _explain(facts.get("explain") or [])),
        ("Input contract", [block(contract_summary or "") or f"{NOT_RECORDED.capitalize()}."]),
        ("Environment", _environment(facts, requirements)),
    ]
    if facts.get("tags"):
        sections.append(("Run tags", _mapping(facts["tags"], "tag", str, MAX_TAGS)))
    lines = [
        f"# Model card: {inline(name)}",
        "",
        *_identity(facts, name, version, alias, model_uri, promoted_by),
    ]
    for title, body in sections:
        lines += ["", f"## {title}", "", *body]
    return "\n".join(lines).rstrip() + "\n"


def _identity(
    facts: dict[str, Any],
    name: str,
    version: Any,
    alias: str | None,
    uri: str | None,
    promoted_by: str | None,
) -> list[str]:
    run, source, git = facts.get("run") or {}, facts.get("source") or {}, facts.get("git") or {}
    rows = [
        ("Model", inline(name)),
        ("Version", inline(version) if version not in (None, "") else NOT_RECORDED),
        ("Alias", code_span(alias) if alias else NOT_RECORDED),
        ("Model URI", code_span(uri) if uri else NOT_RECORDED),
        ("Promoted by", inline(promoted_by) if promoted_by else NOT_RECORDED),
        ("Run", _run_text(run)),
        ("Experiment", _experiment_text(run)),
        ("Run started", _time_text(run)),
        ("Notebook", _notebook_text(source, run)),
        ("Git commit", code_span(git["commit"]) if git.get("commit") else NOT_RECORDED),
    ]
    if git.get("commit"):
        dirty = git.get("dirty")
        state = NOT_RECORDED if dirty is None else ("dirty" if dirty else "clean")
        note = " (uncommitted changes when the run started)" if dirty else ""
        rows.append(("Working tree", state + note))
        rows.append(("Branch", code_span(git["branch"]) if git.get("branch") else NOT_RECORDED))
        rows.append(
            ("Repository", inline(git["repo_url"]) if git.get("repo_url") else NOT_RECORDED)
        )
    if run.get("parent_run_id"):
        rows.append(("Parent run", code_span(run["parent_run_id"])))
    if run.get("error"):
        rows.append(("Run error", inline(run["error"])))
    return table(("", ""), rows)


def _run_text(run: dict[str, Any]) -> str:
    if not run.get("id"):
        return NOT_RECORDED
    parts = [code_span(run["id"])]
    if run.get("name"):
        parts.append(f"({inline(run['name'])})")
    # the card outlives the moment it is written: a run still going then (promote inside
    # `track`, or promote's own run) is not written as running, which would soon be untrue
    if str(run.get("status") or "").upper() in ENDED:
        return " ".join(parts) + f", {inline(run['status']).lower()}"
    return " ".join(parts)


def _experiment_text(run: dict[str, Any]) -> str:
    if run.get("experiment"):
        return f"{inline(run['experiment'])} (id {inline(run.get('experiment_id'))})"
    if run.get("experiment_id"):
        return f"id {inline(run['experiment_id'])}"
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
        text = code_span(source["name"])
    elif source.get("notebook"):
        text = code_span(source["notebook"])
    elif source.get("name"):
        kind = inline(source.get("type") or "").lower() or "source"
        return f"{NOT_RECORDED} ({kind}: {code_span(source['name'])})"
    else:
        return NOT_RECORDED
    if run.get("runner"):
        text += f", executed by {inline(run['runner'])}"
    return text


def _training(
    training: dict[str, Any] | None, eda: list[dict[str, Any]], reference: str | None = None
) -> list[str]:
    lines = []
    if not training:
        lines.append(f"Shape and columns: {NOT_RECORDED}.")
    else:
        given = training.get("columns")  # a list, or an Index (no truth value)
        columns = [str(c) for c in given] if given is not None else []
        rows = training.get("rows")
        count = training.get("n_columns", len(columns) if columns else None)
        shown = [
            ("Rows", whole(rows) if rows is not None else NOT_RECORDED),
            ("Columns", str(count) if count is not None else NOT_RECORDED),
            ("Target", code_span(training["target"]) if training.get("target") else NOT_RECORDED),
            ("Task", inline(training.get("task") or NOT_RECORDED)),
        ]
        lines += table(("", ""), shown)
        if columns:
            names = ", ".join(code_span(c) for c in columns[:MAX_COLUMNS])
            lines += ["", f"Columns: {names}{more(len(columns), MAX_COLUMNS)}."]
    if eda:
        reports = ", ".join(
            f"{inline(e['name'])} ({_count(e.get('warnings'), 'warning')})" for e in eda
        )
        lines += ["", f"Exploratory reports on the run: {reports} (`eda/<name>.html`)."]
    if reference:
        lines += ["", block(reference)]
    return lines


def _data(data: list[dict[str, Any]]) -> list[str]:
    if not data:
        return [f"{NOT_RECORDED.capitalize()}: the run has no dataset inputs or DVC versions."]
    rows = []
    for d in data[:MAX_ROWS]:
        if d.get("rows") is not None or d.get("columns") is not None:
            rows_, cols = (d.get(k) if d.get(k) is not None else "?" for k in ("rows", "columns"))
            shape = f"{inline(rows_)} rows x {inline(cols)} cols"
        elif d.get("files") is not None:
            shape = f"{whole(d['files'])} files"
        else:
            shape = ""
        where = []
        if d.get("git_rev"):
            where.append(f"git {code_span(str(d['git_rev'])[:12])}")
        if d.get("remote"):
            where.append(f"remote {inline(d['remote'])}")
        if d.get("source"):
            where.append(inline(d["source"]))
        kind = d.get("source_type") or ""
        label = kind if kind != "dvc" else "DVC md5"
        rows.append(
            (
                code_span(d["path"]),
                f"{code_span(d['md5'])} ({inline(label)})" if label else code_span(d["md5"]),
                shape,
                inline(d.get("context") or ""),
                ", ".join(where),
            )
        )
    lines = table(("path", "digest", "shape", "context", "source"), rows)
    return lines + more_line(len(data), MAX_ROWS, "data versions")


def _model(model: dict[str, Any] | None) -> list[str]:
    """The promoted object: its class, its own params, the run that recorded its fit."""
    if not model:
        return [f"{NOT_RECORDED.capitalize()}."]
    lines = [f"Class: {code_span(model.get('class') or NOT_RECORDED)}."]
    candidate = model.get("candidate") or {}
    if candidate.get("run_id"):
        lines.append(
            f"Its fit is recorded in run {code_span(candidate['run_id'])} "
            f"({inline(candidate.get('name') or '')}), a child of the run below."
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
    rows = [(code_span(k), inline(fmt(v))) for k, v in list(values.items())[:limit]]
    return table((what, "value"), rows) + more_line(len(values), limit, f"{what}s")


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
            f"{label} {code_span(c[key]) if key == 'target' else inline(c[key])}"
            for key, label in (("task", "task"), ("target", "target"))
            if c.get(key)
        ]
        counts = counts or f"counts {NOT_RECORDED}"
        head = f"**{inline(c['name'])}** ({code_span(c['artifact'])}): {counts}"
        lines.append(head + (f"; {', '.join(about)}." if about else "."))
        if c.get("error"):
            lines.append(f"The report is unreadable: {inline(c['error'])}.")
        elif c.get("issues"):
            rows = [
                (
                    code_span(i["id"]),
                    i["verdict"],
                    ", ".join(code_span(col) for col in i["columns"][:5])
                    + more(len(i["columns"]), 5),
                    inline(i["message"], limit=400) + _rows_named(i.get("rows") or []),
                )
                for i in c["issues"]
            ]
            lines += ["", *table(("check", "verdict", "columns", "message"), rows)]
        else:
            lines.append("No check failed or warned.")
        lines.append("")
    return lines[:-1]


def _rows_named(rows: list[str]) -> str:
    """The rows a check names (by the frame's index), so a reader can look them up."""
    if not rows:
        return ""
    return " Rows: " + ", ".join(code_span(r) for r in rows) + "."


def _drift(drift: list[dict[str, Any]]) -> list[str]:
    if not drift:
        return [f"{NOT_RECORDED.capitalize()}: no drift report on the run (`mlops.drift`)."]
    lines = []
    for d in drift:
        count = d.get("drifted_count")
        text = f"- **{inline(d['name'])}** ({code_span(d['artifact'])}): "
        text += f"{count} drifted column(s)" if count is not None else f"drift {NOT_RECORDED}"
        if d.get("compared") is not None:
            text += f" of {whole(d['compared'])} compared"
        if d.get("n_reference") is not None and d.get("n_current") is not None:
            text += (
                f" ({whole(d['n_reference'])} reference vs {whole(d['n_current'])} current rows)"
            )
        if d.get("drifted"):
            names = ", ".join(code_span(c) for c in d["drifted"][:MAX_COLUMNS])
            text += f": {names}{more(len(d['drifted']), MAX_COLUMNS)}"
        if d.get("inconclusive"):
            names = ", ".join(code_span(c) for c in d["inconclusive"][:MAX_COLUMNS])
            text += (
                f"; too few rows to tell drift from chance in {names}"
                f"{more(len(d['inconclusive']), MAX_COLUMNS)} (inconclusive)"
            )
        target = d.get("target")
        if target and target.get("column"):
            text += f"; target {code_span(target['column'])}: {inline(target.get('verdict'))}"
        if d.get("error"):
            text += f". The report is unreadable: {inline(d['error'])}"
        lines.append(text + ".")
    return lines


def _explain(explain: list[dict[str, Any]]) -> list[str]:
    if not explain:
        return [f"{NOT_RECORDED.capitalize()}: no explanation on the run (`mlops.explain`)."]
    lines = []
    for e in explain:
        about = [inline(e["model"])] if e.get("model") else []
        if e.get("scoring"):
            about.append(f"scored by {inline(e['scoring'])}")
        if e.get("baseline_score") is not None:
            about.append(f"baseline {_fmt(e['baseline_score'])}")
        head = f"**{inline(e['name'])}** ({code_span(e['artifact'])})"
        head += f", {', '.join(about)}" if about else ""
        if e.get("importance"):
            lines += [head + ": permutation importance, most important first.", ""]
            rows = [(code_span(f), _fmt(v)) for f, v in e["importance"]]
            lines += table(("feature", "mean importance"), rows)
        elif e.get("top"):
            names = ", ".join(code_span(f) for f in e["top"])
            lines.append(f"{head}: top features {names}.")
        else:
            lines.append(f"{head}: features {NOT_RECORDED}.")
        if e.get("error"):
            lines.append(f"The report is unreadable: {inline(e['error'])}.")
        lines.append("")
    return lines[:-1]


def _segments(family: dict[str, Any]) -> list[str]:
    """A segment family: how rows are routed, then every segment, the worst score first."""
    fallback = family.get("fallback") or {}
    n, own = family.get("n_segments", 0), family.get("n_models", 0)
    scoring = family.get("scoring") or "score"
    by, estimator = code_span(family.get("by")), inline(family.get("estimator"))
    lines = [
        f"One model per value of {by} ({estimator}): "
        f"{_count(n, 'segment')}, {own} with a model of their own. Segments with fewer than "
        f"{family.get('min_rows')} rows, segments whose fit failed and segments never seen in "
        f"training are served by the fallback model, fitted on all {whole(fallback.get('rows'))} "
        f"rows (cv {inline(scoring)} {_fmt(fallback.get('cv_score'))}); unseen segments warn.",
        "",
    ]
    rows = [
        (
            code_span(s.get("segment")),
            whole(s.get("rows")),
            inline(s.get("model")),
            _fmt(s.get("cv_score")),
            _fmt(s.get("cv_std")),
            inline(s.get("note") or ""),
        )
        for s in (family.get("segments") or [])[:MAX_SEGMENTS]
    ]
    header = ("segment", "rows", "model", f"cv {inline(scoring)}", "± std", "note")
    lines += table(header, rows)
    return lines + more_line(len(family.get("segments") or []), MAX_SEGMENTS, "segments")


def _environment(facts: dict[str, Any], requirements: list[str] | None) -> list[str]:
    env = facts.get("environment") or {}
    python = env.get("python")
    lines = [
        f"- Python: {inline(python) if python else NOT_RECORDED}",
        f"- Platform: {inline(env.get('platform')) if env.get('platform') else NOT_RECORDED}",
    ]
    packages = env.get("packages") or {}
    if packages:
        listed = ", ".join(f"{inline(k)} {inline(v)}" for k, v in sorted(packages.items()))
        lines.append(f"- Packages at training time: {listed}")
    else:
        lines.append(f"- Packages at training time: {NOT_RECORDED}")
    lines += ["", "Model requirements:", ""]
    if requirements:
        shown = [one_line(r, 1000) for r in requirements][:MAX_ROWS]
        fence = code_fence("\n".join(shown), minimum=3)
        lines += [f"{fence}text", *shown, fence]
        lines += more_line(len(requirements), MAX_ROWS, "requirements")
    else:
        lines.append(f"{NOT_RECORDED.capitalize()}.")
    return lines


def _count(n: Any, word: str) -> str:
    if n is None:
        return f"{word}s {NOT_RECORDED}"
    return f"{n} {word}" + ("" if n == 1 else "s")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "n/a" if value is None else str(value)

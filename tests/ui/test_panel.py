"""The MLOps side panel in a real JupyterLab, in a real browser, over a seeded project."""

from __future__ import annotations

import json
from typing import Any

from tests.ui.conftest import SCREENSHOTS, UI
from tests.ui.panel import (
    PANEL,
    TAB,
    assert_no_injected_html,
    open_details,
    painted_background,
    run_row,
    screenshot,
    set_theme,
    show_runs,
    show_section,
)
from tests.ui.seed_project import XSS_NAME


def test_lab_loads_the_extension(ui: UI) -> None:
    page = ui.page
    config = json.loads(page.locator("#jupyter-config-data").text_content() or "{}")
    names = [ext.get("name") for ext in config.get("federated_extensions", [])]
    assert "jupyter-mlops" in names, f"JupyterLab did not load the extension: {names}"
    tab = page.locator(TAB)
    tab.wait_for()
    assert "MLOps" in (tab.get_attribute("title") or tab.inner_text())


def test_runs_table_lists_seeded_runs_with_metrics(ui: UI) -> None:
    panel = show_runs(ui)
    assert panel.locator("table.jp-mlops-runs").is_visible()
    row = run_row(panel, ui.lab.facts["baseline"])
    assert row.locator("td.jp-mlops-run-name").inner_text().strip() == "baseline"
    assert row.locator("td.jp-mlops-run-status").inner_text().strip().upper() == "FINISHED"
    acc = row.locator('td.jp-mlops-metric[data-key="acc"]').inner_text().strip()
    assert float(acc) == 0.75, f"metric cell shows {acc!r}"
    # seen without scrolling at the sidebar's default width, not just present in the DOM
    cell = row.locator('td.jp-mlops-metric[data-key="acc"]').bounding_box()
    box = ui.page.locator(PANEL).bounding_box()
    assert cell and box and cell["x"] + cell["width"] <= box["x"] + box["width"], (cell, box)


def test_run_name_is_shown_as_text_never_as_html(ui: UI) -> None:
    panel = show_runs(ui)
    name = run_row(panel, ui.lab.facts["xss"]).locator("td.jp-mlops-run-name")
    assert name.inner_text().strip() == XSS_NAME
    screenshot(ui, "runs-light.png")
    details = open_details(ui, ui.lab.facts["xss"])  # the name is shown there too
    assert XSS_NAME in details.inner_text()
    ui.page.wait_for_timeout(500)  # a broken image would fire its onerror by now
    assert_no_injected_html(ui)


def test_run_details_show_params_and_metric_charts(ui: UI) -> None:
    details = open_details(ui, ui.lab.facts["baseline"])
    params = details.locator("table.jp-mlops-params")
    text = params.inner_text()
    for expected in ("penalty", "l2", "solver", "lbfgs"):
        assert expected in text, f"{expected!r} not in the params table: {text!r}"
    loss = details.locator('svg.jp-mlops-chart[data-metric="loss"]')
    loss.wait_for()
    assert loss.locator("path").count() >= 1, "the loss history (4 steps) is not drawn as a line"
    # logged once: a number in a row, not a chart with one dot
    acc = details.locator('table.jp-mlops-single-metrics tr[data-key="acc"] td')
    acc.wait_for()
    assert acc.inner_text().strip() == "0.75"
    assert details.locator('svg.jp-mlops-chart[data-metric="acc"]').count() == 0


def test_panel_screenshots_in_light_and_dark_themes(ui: UI) -> None:
    open_details(ui, ui.lab.facts["baseline"])
    light = painted_background(ui)
    screenshot(ui, "panel-light.png")
    try:
        set_theme(ui, "JupyterLab Dark")
        open_details(ui, ui.lab.facts["baseline"])
        dark = painted_background(ui)
        screenshot(ui, "panel-dark.png")
    finally:
        set_theme(ui, "JupyterLab Light")
    assert light and dark and light != dark, f"panel background: light {light}, dark {dark}"


def test_data_section_lists_versioned_files(ui: UI) -> None:
    panel = show_section(ui, "data")
    row = panel.locator('table.jp-mlops-data tr.jp-mlops-data-row[data-path="data.csv"]')
    row.wait_for()
    assert "data.csv" in row.inner_text()


def test_models_section_lists_registered_model(ui: UI) -> None:
    name = ui.lab.facts["model"]
    panel = show_section(ui, "models")
    models = panel.locator(".jp-mlops-models")
    models.wait_for()
    model = models.locator(f'[data-model-name="{name}"]').first
    model.wait_for()
    assert name in model.inner_text()


def test_compare_two_selected_runs(ui: UI) -> None:
    facts = ui.lab.facts
    panel = show_runs(ui)
    for run_id in (facts["baseline"], facts["xss"]):
        run_row(panel, run_id).locator("input.jp-mlops-select").check()
    panel.locator("button.jp-mlops-compare-button").click()
    compare = panel.locator(".jp-mlops-compare")
    compare.wait_for()
    text = compare.inner_text()
    for name in ("baseline", XSS_NAME):
        assert name in text, f"{name!r} missing from the comparison: {text!r}"
    assert_no_injected_html(ui)


def test_model_card_and_setting_an_alias_from_the_panel(ui: UI) -> None:
    name = ui.lab.facts["model"]
    panel = show_section(ui, "models")
    model = panel.locator(f'.jp-mlops-models [data-model-name="{name}"]').first
    model.locator("button.jp-mlops-model-toggle").click()
    model.locator('[data-model-version="1"] button').click()
    card = model.locator(".jp-mlops-model-card")
    card.wait_for()
    card.get_by_text("Version", exact=False).first.wait_for()  # the card's facts table
    assert name in card.inner_text()
    form = model.locator("form.jp-mlops-alias-form")
    form.locator("input.jp-mlops-alias-input").fill("champion")
    form.locator("select.jp-mlops-alias-version").select_option("1")
    form.locator('button[type="submit"]').click()
    form.locator('[role="status"]').wait_for()
    versions = ui.lab.api("GET", f"mlops/api/models/{name}")["rows"]
    assert "champion" in next(v for v in versions if v["version"] == 1)["aliases"], versions
    model.locator('[data-model-version="1"]').get_by_text("champion").wait_for()
    assert ui.page_errors == [], f"uncaught errors in the page: {ui.page_errors}"


def test_version_with_dvc_from_the_file_browser_context_menu(ui: UI) -> None:
    page, root = ui.page, ui.lab.root
    (root / "extra.csv").write_text("a,b\n1,2\n3,4\n")
    if not page.locator("#filebrowser").is_visible():
        page.locator('.jp-SideBar [data-id="filebrowser"]').click()
    page.locator('.jp-DirListing-item[data-isdir="false"]').first.wait_for()
    item = page.locator(".jp-DirListing-item", has_text="extra.csv")
    for _ in range(10):  # the file browser lists a new file at its next poll or refresh
        if item.count():
            break
        page.locator('[data-command="filebrowser:refresh"]').first.click()
        page.wait_for_timeout(500)
    item.click()
    item.click(button="right")
    page.locator('.lm-Menu-item[data-command="jupyter-mlops:version-with-dvc"]').click()
    page.locator(".Toastify__toast", has_text="extra.csv").first.wait_for()
    for _ in range(40):
        listed = ui.lab.api("GET", "mlops/api/data")["paths"]
        if "extra.csv" in listed:
            break
        page.wait_for_timeout(250)
    assert "extra.csv" in listed, listed
    assert (root / "extra.csv.dvc").is_file()
    panel = show_section(ui, "data")
    panel.locator('tr.jp-mlops-data-row[data-path="extra.csv"]').wait_for()
    assert ui.page_errors == [], f"uncaught errors in the page: {ui.page_errors}"


HOSTILE_CARD = """# Model card: hostile <img src="{url}/a">

![chart]({url}/b)

<form action="{url}/f" method="post"><input name="q" value="x"></form>

<div style="position:fixed;inset:0;z-index:9999;background:red">overlay</div>

<iframe src="{url}/i"></iframe>

<link rel="stylesheet" href="{url}/s.css">

| | |
|---|---|
| Run | `abc` (<img src={url}/c>) |
| Repository | [repo](https://example.com/org/repo) |
"""


def test_a_hostile_model_card_loads_nothing_and_overlays_nothing(ui: UI) -> None:
    # a card anyone with store access could write, and a real listener it tries to reach
    import http.server
    import threading

    from tests.conftest import client_for

    hits: list[str] = []

    class Listener(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        name = ui.lab.facts["model"]
        client = client_for(ui.lab.root)
        run = client.create_run(ui.lab.facts["experiment_id"], run_name="hostile card")
        client.log_text(run.info.run_id, HOSTILE_CARD.format(url=url), "model/MODEL_CARD.md")
        version = client.create_model_version(
            name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
        ).version
        panel = show_section(ui, "models")
        model = panel.locator(f'.jp-mlops-models [data-model-name="{name}"]').first
        toggle = model.locator("button.jp-mlops-model-toggle")
        button = model.locator(f'[data-model-version="{version}"] button')
        for _ in range(3):  # collapse and expand until the new version is listed
            toggle.click()
            try:
                button.wait_for(timeout=3_000)
                break
            except Exception:
                continue
        button.click()
        card = model.locator(".jp-mlops-model-card")
        card.get_by_text("overlay").wait_for()
        ui.page.wait_for_timeout(1_500)  # time for any request the card would make
        text = card.inner_text()
        assert f'<img src="{url}/a">' in text and f"[image: chart] ({url}/b)" in text
        assert "<form action=" in text  # shown as text, not as a form
        live = card.locator("form, input, iframe, img, link, object, embed, video, audio, style")
        assert live.count() == 0
        positioned = card.evaluate(
            "(node) => [...node.querySelectorAll('*')]"
            ".filter((e) => ['fixed', 'absolute', 'sticky'].includes(getComputedStyle(e).position))"
            ".map((e) => e.outerHTML.slice(0, 80))"
        )
        assert positioned == []
        links = card.locator("a").evaluate_all("(as) => as.map((a) => [a.href, a.rel])")
        assert [href for href, _ in links] == ["https://example.com/org/repo"]
        assert all("noopener" in rel for _, rel in links), links
        card.scroll_into_view_if_needed()
        box = card.bounding_box()
        assert box and box["height"] > 0
        path = SCREENSHOTS / "hostile-model-card.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        ui.page.screenshot(path=path, clip=box)
        assert hits == [], f"opening the card made requests: {hits}"
        assert_no_injected_html(ui)
        # the card promote wrote, as the panel shows it now (for a look at how it reads)
        model.locator('[data-model-version="1"] button').click()
        card.get_by_text("Run parameters").wait_for()
        card.screenshot(path=SCREENSHOTS / "model-card.png")
    finally:
        server.shutdown()
        server.server_close()


# -- a version's health (issue 20): what monitor recorded, under each version ----------------
def open_model(ui: UI, name: str) -> Any:
    """The model's entry in the Models section with its versions shown, re-read (Refresh)."""
    panel = show_section(ui, "models")
    panel.locator("button.jp-mlops-refresh").click()
    model = panel.locator(f'.jp-mlops-models [data-model-name="{name}"]').first
    if model.locator("ul.jp-mlops-versions").count() == 0:
        model.locator("button.jp-mlops-model-toggle").click()
    model.locator('[data-model-version="1"]').wait_for()
    return model


def health_of(model: Any, version: int | str) -> Any:
    """The health line of a version, once read (the route answered)."""
    from playwright.sync_api import expect

    health = model.locator(f'[data-model-version="{version}"] .jp-mlops-health')
    expect(health).not_to_contain_text("reading health")
    return health


def test_model_health_shows_the_last_windows_drifted_columns(ui: UI) -> None:
    from tests.ui.seed_project import DRIFTED

    name = ui.lab.facts["health_model"]  # monitored by a real mlops.monitor in the seed
    assert ui.lab.facts["monitoring"]["drifted"] == DRIFTED
    assert ui.lab.facts["monitoring"]["violation_rate"] == 50 / 1200  # the 50 planted rows
    model = open_model(ui, name)
    health = health_of(model, 1)
    assert health.get_attribute("data-verdict") == "drifted"
    verdict = health.locator(".jp-mlops-health-verdict").inner_text()
    assert "drifted" in verdict and "▲" in verdict  # words and an icon, not colour alone
    columns = health.locator(".jp-mlops-health-column").all_inner_texts()
    assert columns == DRIFTED, columns  # exactly the two of the last window
    assert health.locator(".jp-mlops-health-rate").inner_text() == "4.2% out of contract"
    assert health.locator(".jp-mlops-health-rows").inner_text() == "1,200 rows"
    assert "2026-03-02 → 2026-03-03 UTC" in health.inner_text()
    chart = health.locator("svg.jp-mlops-health-chart")
    assert chart.get_attribute("data-windows") == "2"
    bars = chart.locator("rect.jp-mlops-health-bar")
    assert [bars.nth(i).get_attribute("data-verdict") for i in range(2)] == ["stable", "drifted"]
    assert bars.nth(1).locator("title").text_content() == (
        "2026-03-02 → 2026-03-03 UTC: drifted, 2 drifted columns, 1,200 rows"
    )
    box, stable = bars.nth(1).bounding_box(), bars.nth(0).bounding_box()
    assert box and stable and box["height"] > stable["height"] > 0  # drawn, drift taller
    api = ui.lab.api("GET", f"mlops/api/models/{name}/versions/1/monitoring")
    assert api["last"]["drifted"] == DRIFTED and len(api["windows"]) == 2


def test_model_health_shows_a_hostile_column_name_as_text(ui: UI) -> None:
    from tests.conftest import client_for
    from tests.monitoring_runs import write_window

    name = ui.lab.facts["model"]
    client = client_for(ui.lab.root)
    run = client.create_run(ui.lab.facts["experiment_id"], run_name="hostile health")
    version = client.create_model_version(
        name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id
    ).version
    assert health_of(open_model(ui, name), version).inner_text() == "not monitored yet"
    write_window(
        client,
        name,
        version,
        "2026-03-05T00:00:00+00:00",
        verdict="drifted",
        drifted=[XSS_NAME],
        violation_rate=None,
    )
    from playwright.sync_api import expect

    model = open_model(ui, name)  # the refresh re-reads it; the old line shows until then
    health = health_of(model, version)
    expect(health).to_have_attribute("data-verdict", "drifted")
    assert health.locator(".jp-mlops-health-column").all_inner_texts() == [XSS_NAME]
    assert health.locator(".jp-mlops-health-rate").count() == 0  # no rate recorded: none shown
    assert "1 value unreadable" in health.inner_text()
    ui.page.wait_for_timeout(500)  # a broken image would fire its onerror by now
    assert_no_injected_html(ui)
    assert "not monitored yet" not in health.inner_text()


def test_model_health_screenshots_in_light_and_dark_themes(ui: UI) -> None:
    name = ui.lab.facts["health_model"]

    def shot(file: str) -> None:
        model = open_model(ui, name)
        health = health_of(model, 1)
        health.scroll_into_view_if_needed()
        model.screenshot(path=SCREENSHOTS / file)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot("model-health-light.png")
    try:
        set_theme(ui, "JupyterLab Dark")
        shot("model-health-dark.png")
    finally:
        set_theme(ui, "JupyterLab Light")
    assert ui.page_errors == [], f"uncaught errors in the page: {ui.page_errors}"


# -- the alias history (issue 21): every recorded move, newest first, under the versions -----
# the colour an element is painted in, and the theme's warning colour
WARN_COLOUR = """(element) => {
  const probe = document.createElement('span');
  probe.style.color = 'var(--jp-warn-color0)';
  element.appendChild(probe);
  const warning = getComputedStyle(probe).color;
  probe.remove();
  return [getComputedStyle(element).color, warning];
}"""


def history_rows_shown(model: Any, count: int) -> list[dict[str, str]]:
    """The history rows the panel shows, once it shows ``count`` of them."""
    from playwright.sync_api import expect

    rows = model.locator(".jp-mlops-history li.jp-mlops-history-row")
    expect(rows).to_have_count(count)

    def text(row: Any, selector: str) -> str:
        found = row.locator(selector)
        return found.inner_text() if found.count() else ""

    shown = []
    for index in range(count):
        row = rows.nth(index)
        shown.append(
            {
                "run_id": row.get_attribute("data-run-id") or "",
                "move": text(row, ".jp-mlops-history-move"),
                "user": text(row, ".jp-mlops-history-user"),
                "via": text(row, ".jp-mlops-history-via"),
                "reason": text(row, ".jp-mlops-history-reason"),
                "utc": row.locator(".jp-mlops-history-time").get_attribute("title") or "",
                "gate": text(row, ".jp-mlops-history-gate-result")
                + text(row, ".jp-mlops-history-scores"),
                "reasons": text(row, ".jp-mlops-history-gate-reasons"),
                "badges": " ".join(row.locator(".jp-mlops-history-badge").all_inner_texts()),
            }
        )
    return shown


def expected_rows(api_rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """What the panel should show for the rows the REST route answered: newest first."""

    def version(v: int | None) -> str:
        return "none" if v is None else f"v{v}"

    def move(r: dict[str, Any]) -> str:
        if not r["moved"]:
            return f"{r['alias']}: stays {version(r['previous'])}"
        return f"{r['alias']}: {version(r['previous'])} → {version(r['version'])}"

    def gate(g: dict[str, Any] | None) -> str:
        if not g:
            return ""
        return (
            f"gate {g['result']} · {g['scoring']}: challenger v{g['challenger']} "
            f"{g['challenger_score']:.4f}, champion v{g['champion']} {g['champion_score']:.4f}"
        )

    return [
        {
            "run_id": r["run_id"] or "",
            "move": move(r),
            "user": r["user"],
            "via": r["via"],
            "reason": r["reason"],
            "utc": f"{r['time']} (UTC)" if r["time"] else "",
            "gate": gate(r["gate"]),
            "reasons": "; ".join((r["gate"] or {}).get("reasons", [])),
            "badges": " ".join(
                b for b, on in (("forced", r["forced"]), ("not moved", not r["moved"])) if on
            ),
        }
        for r in reversed(api_rows)
    ]


def browser_user(ui: UI) -> str:
    """The Jupyter user the page is logged in as (its cookie, as the panel's requests are)."""
    return ui.page.evaluate(
        "async (base) => (await (await fetch(base + 'api/me')).json()).identity.username",
        ui.lab.url,
    )


def test_alias_history_shows_the_recorded_moves_as_the_api_answers(ui: UI) -> None:
    from tests.ui.seed_project import SEED_ALIAS, SEED_REASON

    name = ui.lab.facts["model"]
    answer = ui.lab.api("GET", f"mlops/api/models/{name}/history")
    seeded = [r for r in answer["rows"] if r["via"] in ("promote", "api")]
    assert [(r["alias"], r["via"], r["reason"], r["moved"]) for r in seeded] == [
        ("staging", "promote", "", True),
        (SEED_ALIAS, "api", SEED_REASON, True),
        (SEED_ALIAS, "api", "", False),  # the gate refused the reversed-label challenger
    ], answer
    assert all(r["user"] and r["time"] for r in seeded), seeded
    gate = ui.lab.facts["gate"]
    assert seeded[2]["gate"]["result"] == gate["result"] == "refused"
    assert seeded[2]["gate"]["challenger_score"] == gate["challenger_score"]
    model = open_model(ui, name)
    heading = model.locator(".jp-mlops-history h3").inner_text()
    assert "newest first" in heading, heading
    shown = history_rows_shown(model, len(answer["rows"]))
    assert shown == expected_rows(answer["rows"])
    refused = next(r for r in shown if r["run_id"] == seeded[2]["run_id"])
    assert refused["move"] == f"{SEED_ALIAS}: stays v1" and refused["badges"] == "not moved"
    assert refused["gate"] == "gate refused · r2: challenger v2 -3.0000, champion v1 1.0000"
    assert refused["reasons"] == "its r2 is below the champion's"
    # the seeded reason looks like HTML: text in the page, no element made of it
    assert model.locator(".jp-mlops-history b").count() == 0
    assert_no_injected_html(ui)


def test_setting_an_alias_with_a_reason_adds_a_history_row(ui: UI) -> None:
    from playwright.sync_api import expect

    from tests.conftest import client_for

    name = ui.lab.facts["model"]
    reason = f"{XSS_NAME} retrained on the March data, gate passed by hand"
    # a move made outside jupyter-mlops (a plain MLflow client): a note row, time unknown
    client_for(ui.lab.root).set_registered_model_alias(name, "legacy", "1")
    model = open_model(ui, name)
    before = ui.lab.api("GET", f"mlops/api/models/{name}/history")["rows"]
    assert before[-1]["alias"] == "legacy" and before[-1]["time"] is None, before
    history_rows_shown(model, len(before))
    note = model.locator(".jp-mlops-history-note")
    assert "outside jupyter-mlops" in note.inner_text()
    colour, warning = note.evaluate(WARN_COLOUR)
    assert colour == warning, (colour, warning)
    form = model.locator("form.jp-mlops-alias-form")
    form.locator("input.jp-mlops-alias-input").fill("shadow")
    form.locator("select.jp-mlops-alias-version").select_option("1")
    form.locator("textarea.jp-mlops-alias-reason").fill(reason)
    form.locator('button[type="submit"]').click()
    expect(form.locator('[role="status"]')).to_have_text("shadow → version 1")
    after = ui.lab.api("GET", f"mlops/api/models/{name}/history")["rows"]
    assert len(after) == len(before) + 1, after
    new = after[-2]  # the note row on legacy stays last: it is about the registry now
    user = browser_user(ui)
    assert user
    assert (new["alias"], new["version"], new["via"], new["user"], new["reason"]) == (
        "shadow",
        1,
        "rest",
        user,
        reason,
    )
    shown = history_rows_shown(model, len(after))  # refreshed after the move
    assert shown == expected_rows(after)
    assert shown[1]["via"] == "rest" and shown[1]["user"] == user
    assert shown[1]["reason"] == reason and shown[1]["move"] == "shadow: none → v1"
    assert form.locator("textarea.jp-mlops-alias-reason").input_value() == ""
    ui.page.wait_for_timeout(500)  # a broken image would fire its onerror by now
    assert_no_injected_html(ui)
    # readable at the sidebar's default width: every row's text inside the panel, none clipped
    panel = ui.page.locator(PANEL).bounding_box()
    rows = model.locator(".jp-mlops-history li.jp-mlops-history-row")
    for index in range(rows.count()):
        box = rows.nth(index).bounding_box()
        assert box and panel and box["x"] + box["width"] <= panel["x"] + panel["width"] + 1
        clipped = rows.nth(index).evaluate(
            "(row) => [...row.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1)"
        )
        assert not clipped, f"row {index} has clipped text: {rows.nth(index).inner_text()!r}"
    history = model.locator(".jp-mlops-history")
    history.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    history.screenshot(path=SCREENSHOTS / "alias-history-light.png")
    screenshot(ui, "alias-history-panel-light.png")

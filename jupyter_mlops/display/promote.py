"""The card shown after ``%mlops promote``: where the model is and how it was checked."""

from __future__ import annotations

from typing import Any

from .cards import CARD_STYLE, card_table


def promotion_rows(p: Any) -> list[tuple[str, Any]]:
    v = p.verification
    if v.get("rows"):
        verified = f"{v['rows']} rows predicted identically in a fresh process ({v['seconds']} s)"
    else:
        verified = f"loaded in a fresh process ({v.get('seconds', 0)} s); no X: not compared"
    if v.get("warnings"):
        verified += f"; contract warnings on the sample: {len(v['warnings'])}"
    return [
        ("model", p.uri),
        ("version", p.version),
        ("alias", p.held_note),  # shown only when an alias was held
        ("run", p.run_id),
        ("its fit", p.candidate_run_id and f"child run {p.candidate_run_id}"),
        ("logged model", p.model_id),
        ("verified", verified),
        ("notebook code", ", ".join(p.code_files[:-2]) or "none needed"),
        ("load with", f'mlops.load_model("{p.uri}")'),
        ("elsewhere", p.load_elsewhere),
    ]


def promotion_html(p: Any) -> str:
    return (
        f"<div style='{CARD_STYLE}'><div style='font-weight:600;margin-bottom:4px'>"
        f"Registered {p.name} version {p.version}</div>{card_table(promotion_rows(p))}</div>"
    )

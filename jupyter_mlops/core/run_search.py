"""What a search for runs may say: a filter and an order, checked by MLflow's own parser first.

``mlops.runs(filter=...)`` and the REST API's ``GET runs?filter=&order_by=`` read a search here,
so a search means the same wherever it is typed. A filter is MLflow's search syntax
(``metrics.auc > 0.9 and params.solver = 'lbfgs'``); text that is not (``rf baseline``)
searches run names (``name_filter``). Both are parsed by ``mlflow.utils.search_utils`` before
they reach a store, so a mistake is one line (``BadSearch``) and never a store's error.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from ..errors import MlopsError

MAX_FILTER = 2000  # characters of a filter; the parser's time grows with them
MAX_COMPARISONS = 20  # of a filter: each may be a join, and SQLite joins at most 64 tables
MAX_ORDER_BY = 10  # clauses of an order
MAX_CLAUSE = 250  # characters of one order_by clause
NEWEST_FIRST = ("attributes.start_time DESC",)  # the store breaks ties by run id
_SHOWN = 80  # characters of what a user typed that an error line repeats
# MLflow's syntax has a comparison symbol, or a key followed by LIKE, ILIKE, IN, IS (or NOT ...)
_OPERATOR = re.compile(r"!=|[=<>]|^\s*\S+\s+(?:not\s+)?(?:i?like|in|is)\b", re.IGNORECASE)
# ... or starts with an entity's prefix (a filter still being typed is a filter, not a name)
_ENTITY = re.compile(
    r"^\s*`?(?:metrics?|params?|parameters?|tags?|attributes?|datasets?)`?\.", re.IGNORECASE
)


class BadSearch(MlopsError):
    """A filter or an order MLflow's parser refuses, or a limit of ours exceeded."""


def is_filter_syntax(text: str) -> bool:
    """Whether ``text`` is meant as MLflow's search syntax rather than words of a run's name:
    it holds a comparison symbol (``= != < > <= >=``), its second word is ``LIKE``, ``ILIKE``,
    ``IN``, ``IS`` or ``NOT`` (any case), or it starts with ``metrics.``, ``params.``,
    ``tags.``, ``attributes.`` or ``datasets.`` (singular forms too)."""
    return bool(_OPERATOR.search(text) or _ENTITY.match(text))


def name_filter(text: str) -> str:
    """The filter for runs whose name contains ``text``, ignoring case: quotes and backslashes
    in it match any one character (they cannot be written inside MLflow's quoted strings), as
    ``_`` and ``%`` do in any LIKE pattern."""
    pattern = re.sub(r"['\\]", "_", " ".join(text.split()))
    return f"attributes.run_name ILIKE '%{pattern}%'"


def search_filter(text: Any) -> str:
    """``text`` as a filter a store may run ("" for none): MLflow's syntax checked by MLflow's
    parser (each comparison against its key's comparators too), or plain words made a run name
    search (``name_filter``). Anything else is a ``BadSearch`` naming what was typed."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise BadSearch(f"filter is a search string, not {type(text).__name__}")
    _check_text(text, "filter", MAX_FILTER)
    if not text.strip():
        return ""
    found = text.strip() if is_filter_syntax(text) else name_filter(text)
    _parse(found, text)
    return found


def order_by(values: Iterable[Any] | None) -> list[str]:
    """The order of a search: each clause MLflow's (``metrics.auc DESC``,
    ``attributes.start_time``, ``params.alpha ASC``), at most ``MAX_ORDER_BY`` of them and no
    key twice; newest first when none is given (the store then breaks ties by run id)."""
    from mlflow.utils.search_utils import SearchUtils

    if isinstance(values, str):  # one clause
        values = [values]
    clauses = [v for v in values or () if not (isinstance(v, str) and not v.strip())]
    if len(clauses) > MAX_ORDER_BY:
        raise BadSearch(f"order_by takes at most {MAX_ORDER_BY} clauses ({len(clauses)} given)")
    seen: set[tuple[str, str]] = set()
    for clause in clauses:
        if not isinstance(clause, str):
            raise BadSearch(f"order_by is a clause such as 'metrics.auc DESC', not {clause!r}")
        _check_text(clause, "order_by", MAX_CLAUSE)
        try:
            key_type, key, _ = SearchUtils.parse_order_by_for_search_runs(clause.strip())
        except Exception as exc:  # MlflowException, or sqlparse's own error
            raise BadSearch(_line("order_by", clause, exc)) from None
        if key_type not in ("metric", "parameter", "tag", "attribute"):
            raise BadSearch(
                f"order_by {_shown(clause)}: runs are ordered by metrics, params, "
                "tags or attributes"
            )
        entry = (key_type, SearchUtils.translate_key_alias(key))
        if entry in seen:
            raise BadSearch(f"order_by names {key_type} {key!r} twice")
        seen.add(entry)
    return [c.strip() for c in clauses] or list(NEWEST_FIRST)


def store_refusal(exc: BaseException, filter_string: str, order: list[str]) -> BadSearch | None:
    """A store's refusal of a search our checks let through, as a ``BadSearch`` (``None`` for
    any other error: not found, unreachable, ...)."""
    if getattr(exc, "error_code", None) != "INVALID_PARAMETER_VALUE":
        return None
    if filter_string:
        return BadSearch(_line("filter", filter_string, exc))
    if order != list(NEWEST_FIRST):
        return BadSearch(_line("order_by", ", ".join(order), exc))
    return None


def _check_text(text: str, what: str, limit: int) -> None:
    if len(text) > limit:
        raise BadSearch(f"{what} is at most {limit} characters ({len(text)} given)")
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r" for c in text):
        raise BadSearch(f"{what} contains a control character or a lone surrogate")


def _parse(found: str, typed: str) -> None:
    """MLflow's parser on ``found``, then each comparison against its key's comparators."""
    from mlflow.utils.search_utils import SearchUtils

    try:
        clauses = SearchUtils.parse_search_filter(found)
        for clause in clauses:
            _check_comparator(clause["type"], clause["key"], clause["comparator"].upper())
    except Exception as exc:  # MlflowException, or sqlparse's own (nesting too deep)
        raise BadSearch(_line("filter", typed, exc)) from None
    if len(clauses) > MAX_COMPARISONS:
        count = len(clauses)
        raise BadSearch(f"filter joins at most {MAX_COMPARISONS} comparisons ({count} given)")
    for clause in clauses:  # a store's integers are 64-bit (start_time, end_time)
        value = clause["value"]
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            raise BadSearch(f"filter {_shown(typed)}: {clause['key']} is out of range")


def _check_comparator(kind: str, key: str, comparator: str) -> None:
    """MLflow's own check of a comparator against its kind of key (each ``is_*`` raises its
    error for a comparator its kind does not take, as the stores do when they search)."""
    from mlflow.utils.search_utils import SearchUtils as S

    key = S.translate_key_alias(key)
    if S.is_metric(kind, comparator) or S.is_param(kind, comparator):
        return
    if S.is_tag(kind, comparator) or S.is_attribute(kind, key, comparator):
        return
    S.is_dataset(kind, comparator)


def _line(what: str, typed: str, exc: BaseException) -> str:
    reason = str(getattr(exc, "message", None) or exc).strip().splitlines()
    text = reason[0] if reason else type(exc).__name__
    text = text if len(text) <= 200 else text[:199] + "…"
    return f"{what} {_shown(typed)} is not a search MLflow can run: {text}"


def _shown(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…")

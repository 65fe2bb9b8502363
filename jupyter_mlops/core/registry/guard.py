"""Protected aliases: a version whose run's checks failed does not take ``champion`` quietly.

``protected_aliases`` in ``[tool.jupyter-mlops]`` (default ``["champion", "production"]``)
names the aliases that serve. ``promote`` refuses to point one of them at a model whose run
recorded failed assumption checks (``mlops.checks.<name>.failed`` above 0, the summary tags
``mlops.check`` writes), unless forced with a reason, which the alias history keeps. The gate
reads the same tags for its own "the challenger's checks did not fail".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import tags
from .promotion import PromoteError

if TYPE_CHECKING:
    from ...config import Settings

_FAILED = ".failed"


def failed_checks(run_tags: dict[str, str]) -> dict[str, int]:
    """``{report name: failed checks}`` for each checks report of a run that failed any."""
    prefix = tags.report_prefix("checks")
    found = {}
    for key, value in run_tags.items():
        if key.startswith(prefix) and key.endswith(_FAILED) and len(key) > len(prefix) + 7:
            try:
                count = int(str(value).strip())
            except ValueError:  # unreadable: a failure cannot be ruled out
                count = 1
            if count > 0:
                found[key[len(prefix) : -len(_FAILED)]] = count
    return dict(sorted(found.items()))


def failed_line(failed: dict[str, int]) -> str:
    """``checks 'fit' (2 failed), 'data' (1 failed)``."""
    return ", ".join(f"{name!r} ({n} failed)" for name, n in failed.items())


def check_force(force: bool, reason: str | None) -> None:
    """``force`` needs a reason: the history says why a guard or a gate was overridden."""
    if force and not (reason or "").strip():
        raise PromoteError("--force needs --reason TEXT: the alias history records why")


def guard_alias(
    settings: Settings, alias: str | None, run_id: str, run_tags: dict[str, str], force: bool
) -> bool:
    """Refuse a protected ``alias`` for a run whose checks failed (a one-line
    ``PromoteError``), unless ``force``; returns whether the guard was overridden."""
    if not alias or alias not in settings.protected_aliases:
        return False
    failed = failed_checks(run_tags)
    if not failed:
        return False
    if force:
        return True
    raise PromoteError(
        f"not registered: alias {alias!r} is protected and run {run_id} recorded failed checks "
        f"{failed_line(failed)}; fix them, promote without --alias, or give --force --reason TEXT"
    )


def run_tags_now(client: Any, run_id: str) -> dict[str, str]:
    """The run's tags as the store has them once the kernel's buffered tags are written."""
    from .. import tracking

    tracking.flush()
    return dict(client.get_run(run_id).data.tags)

"""What a promoted model needs: installed modules map to pinned distributions on every Python.

These run against the distributions really installed in the running environment, so on the
oldest supported Python (``scripts/test-pythons.sh``) they check what that Python's
``importlib.metadata`` gives, not a stand-in for it.
"""

from __future__ import annotations

import collections
import importlib
import importlib.metadata
import sys
from pathlib import Path

import pytest

from jupyter_mlops.core.registry import requirements
from jupyter_mlops.core.registry.promote import PromoteError


def python310_packages_distributions() -> dict[str, list[str]]:
    """Python 3.10's ``importlib.metadata.packages_distributions``, as the stdlib has it: it
    reads ``top_level.txt`` and nothing else (3.11 added RECORD's ``.py`` files)."""
    pkg_to_dist: dict[str, list[str]] = collections.defaultdict(list)
    for dist in importlib.metadata.distributions():
        for pkg in (dist.read_text("top_level.txt") or "").split():
            pkg_to_dist[pkg].append(dist.metadata["Name"])
    return dict(pkg_to_dist)


@pytest.fixture
def unconsulted(monkeypatch: pytest.MonkeyPatch) -> None:
    """``packages_distributions()`` behaves as on Python 3.10, whatever Python runs the test."""
    monkeypatch.setattr(
        importlib.metadata, "packages_distributions", python310_packages_distributions
    )


def test_numpy_wheel_has_no_top_level_txt_so_python310_cannot_map_it() -> None:
    # the root cause, on the real wheel: meson-python writes no top_level.txt
    numpy = importlib.metadata.distribution("numpy")
    assert numpy.read_text("top_level.txt") is None, "numpy's wheel now ships top_level.txt"
    assert "numpy" not in python310_packages_distributions()
    assert requirements.module_distributions()["numpy"] == ["numpy"]


def test_installed_and_project_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unconsulted: None
) -> None:
    for name in ("numpy", "sklearn", "pandas"):
        importlib.import_module(name)  # as in the notebook that trained the model
    root = tmp_path / "proj"
    (root / "helpers_for_promotion").mkdir(parents=True)
    (root / "helpers_for_promotion" / "__init__.py").write_text("SCALE = 2\n")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.delitem(sys.modules, "helpers_for_promotion", raising=False)
    __import__("helpers_for_promotion")

    found = requirements.module_distributions()
    assert found["numpy"] == ["numpy"]
    assert found["sklearn"] == ["scikit-learn"]
    assert found["pandas"] == ["pandas"]
    assert "helpers_for_promotion" not in found

    pins, local = requirements.requirements_and_local_code(
        {"numpy", "sklearn", "pandas", "helpers_for_promotion", "json"}, root, skip=set()
    )
    version = importlib.metadata.version
    for dist in ("numpy", "scikit-learn", "pandas"):
        assert f"{dist}=={version(dist)}" in pins
    assert f"mlflow=={version('mlflow')}" in pins  # always required, though not asked for
    assert not any(pin.startswith(("json", "helpers")) for pin in pins)
    assert local == [(root / "helpers_for_promotion").resolve()]


def test_a_module_from_outside_the_project_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "stray_for_promotion.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(elsewhere))
    monkeypatch.delitem(sys.modules, "stray_for_promotion", raising=False)
    __import__("stray_for_promotion")
    (tmp_path / "proj").mkdir()

    with pytest.raises(PromoteError, match=r"'stray_for_promotion'.*neither an installed") as err:
        requirements.requirements_and_local_code({"stray_for_promotion"}, tmp_path / "proj", set())
    assert "\n" not in str(err.value)


def test_a_package_installed_after_the_first_lookup_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the map is kept for the process; a %pip install between two promotions must show up
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    assert "late_pkg_for_promotion" not in requirements.module_distributions()

    (site / "late_pkg_for_promotion").mkdir()
    (site / "late_pkg_for_promotion" / "__init__.py").write_text("")
    info = site / "late_dist_for_promotion-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: late-dist-for-promotion\nVersion: 1.2\n"
    )
    (info / "RECORD").write_text(
        "late_pkg_for_promotion/__init__.py,,\nlate_dist_for_promotion-1.2.dist-info/RECORD,,\n"
    )
    assert requirements.module_distributions()["late_pkg_for_promotion"] == [
        "late-dist-for-promotion"
    ]

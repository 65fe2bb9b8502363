#!/usr/bin/env bash
# The oldest and the newest Python the project supports, beyond the default one the whole suite
# runs on: for each, a fresh .venv-pyX.Y with what the project's own files install (the `compat`
# extra), then the quick start notebook through `jupyter mlops run` and the promotion tests.
# Older Pythons get older pandas, scikit-learn and numpy from pip, and a different
# importlib.metadata: what passes on one Python can fail on another.
#
# Both Pythons run at once, each logging to build/test-pythonX.Y.log (a failure prints its end).
# Run from anywhere, after the Quick start's second line (its install builds the side panel's
# assets, so the installs here do not run Node again). Finds python3.X on PATH or under pyenv's
# versions folder; a missing one is an error, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."

OLDEST=3.10
NEWEST=3.13
# promotion: capturing the notebook code (bytecode differs between Pythons), the requirements
# (importlib.metadata differs), the package verified in a fresh process, registered and loaded
# by alias, with the column types whose handling moved between pandas versions; and the records
# of the fits promoted (autologging wraps scikit-learn's classes, whose versions differ between
# Pythons). The rest of test_promote.py (arguments, aliases held, a server) is the same code on
# any Python and runs in the main suite; here it cost 100 s on each.
PROMOTION_TESTS=(
    tests/core/test_capture.py
    tests/core/test_requirements.py
    tests/core/test_promote.py::test_promoted_pipeline_with_notebook_code_loads_by_alias_elsewhere
    tests/core/test_promote.py::test_categorical_nullable_int_datetime_and_bool_columns_promote_and_serve
    tests/core/test_autolog.py
)

fail() {
    echo "test-pythons: $*" >&2
    exit 1
}

# the oldest tested must be the oldest declared: requires-python is what pip lets users install on
declared=$(sed -n 's/^requires-python = ">=\([0-9.]*\)"$/\1/p' pyproject.toml)
[ "$declared" = "$OLDEST" ] ||
    fail "pyproject.toml declares requires-python >=${declared:-?} but this script tests $OLDEST as the oldest: update OLDEST"

# python3.X on PATH (a pyenv shim that is not activated fails the check), then pyenv's builds
find_python() {
    local version=$1 candidate
    local home=~  # from the password database when HOME is unset
    local roots=("${PYENV_ROOT:-$home/.pyenv}" "$home/.pyenv")
    local candidates=("$(command -v "python$version" 2>/dev/null || true)")
    for root in "${roots[@]}"; do
        while IFS= read -r candidate; do
            candidates+=("$candidate/bin/python$version")
        done < <(ls -d "$root/versions/$version".* 2>/dev/null | sort -rV)
    done
    for candidate in "${candidates[@]}"; do
        [ -n "$candidate" ] && [ -x "$candidate" ] || continue
        if "$candidate" -c "import sys, venv; sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" \
            >/dev/null 2>&1; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# which Python the quick start's kernel promoted its model from, as the model records it (a
# kernelspec elsewhere on the machine could start another Python, and this would test nothing)
KERNEL_PYTHON='
from mlflow.models import get_model_info
print(get_model_info("models:/breast_cancer@staging").flavors["python_function"]["python_version"])
'

IMPORT_ALL='
import importlib, pkgutil, jupyter_mlops
for module in pkgutil.walk_packages(jupyter_mlops.__path__, "jupyter_mlops."):
    importlib.import_module(module.name)
'

run_on() {
    local version=$1 python=$2 venv=".venv-py$1" started=$SECONDS recorded reason
    local log="$venv/setup.log" store="sqlite:///$PWD/.venv-py$1/store/mlflow.db"
    echo "test-pythons: Python $version ($python): a fresh $venv"
    rm -rf "$venv"
    mkdir -p "$venv"
    "$python" -m venv "$venv" >"$log" 2>&1 || fail "could not create $venv with $python (see $log)"
    # the pip a venv starts with is as old as its Python (23.0 on 3.10.13): it resolves and
    # installs these packages in about 100 s where a current pip takes about 60 s
    "$venv/bin/python" -m pip install -q --upgrade pip >>"$log" 2>&1 ||
        fail "could not upgrade pip in $venv (see $log)"
    # not --no-compile: it saves 40 s of install, but the promotion's check runs `python -B`,
    # which writes no bytecode, so each check would compile MLflow and scikit-learn afresh
    if ! "$venv/bin/python" -m pip install -q -e ".[compat]" >>"$log" 2>&1; then
        reason=$(grep -E '^ERROR:' "$log" | tail -n 1 || true)
        fail "installing the project on Python $version failed: ${reason:-see $log}"
    fi
    echo "test-pythons: Python $version: installed in $((SECONDS - started)) s; every module imports"
    # a name the standard library gained later (datetime.UTC, tomllib) fails here at once, in
    # modules the quick start and the promotion tests never reach
    "$venv/bin/python" -c "$IMPORT_ALL" || fail "a module of the package does not import on Python $version"
    echo "test-pythons: Python $version: the quick start"
    # a store of this Python's own, in its venv: one Python's MLflow never migrates another's
    MLFLOW_TRACKING_URI=$store "$venv/bin/jupyter" mlops run example_notebooks/quickstart.ipynb ||
        fail "the quick start failed on Python $version"
    recorded=$(MLFLOW_TRACKING_URI=$store "$venv/bin/python" -c "$KERNEL_PYTHON" 2>>"$log" || true)
    case "$recorded" in
    "$version".*) ;;
    *) fail "the quick start's kernel ran on Python ${recorded:-?}, not $version: check 'jupyter kernelspec list' there" ;;
    esac
    echo "test-pythons: Python $version: the promotion tests"
    "$venv/bin/python" -m pytest -q -p no:cacheprovider "${PROMOTION_TESTS[@]}" ||
        fail "the promotion tests failed on Python $version"
    echo "test-pythons: Python $version passed in $((SECONDS - started)) s"
}

# both interpreters first: a missing one fails before minutes go into the other
pythons=()
for version in "$OLDEST" "$NEWEST"; do
    pythons+=("$(find_python "$version")") ||
        fail "no Python $version (python$version on PATH or \$PYENV_ROOT/versions/$version.*): install it, e.g. pyenv install $version"
done
# both at once, each in its own process and log: each is mostly one busy core (pip, a kernel,
# pytest), so on two cores this takes about the time of the slower one, not the sum
mkdir -p build
status=0
pids=()
for i in 0 1; do
    version=$([ "$i" = 0 ] && echo "$OLDEST" || echo "$NEWEST")
    run_on "$version" "${pythons[$i]}" >"build/test-python$version.log" 2>&1 &
    pids+=($!)
done
for i in 0 1; do
    version=$([ "$i" = 0 ] && echo "$OLDEST" || echo "$NEWEST")
    if wait "${pids[$i]}"; then
        grep '^test-pythons:' "build/test-python$version.log" || true
    else
        status=1
        echo "test-pythons: Python $version failed; the end of build/test-python$version.log:" >&2
        tail -n 40 "build/test-python$version.log" >&2
    fi
done
exit "$status"

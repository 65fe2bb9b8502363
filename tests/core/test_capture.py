"""Capturing notebook code: models built in real IPython cells load in a fresh process."""

from __future__ import annotations

import functools
import pickle
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from jupyter_mlops.core.registry.capture import (
    CaptureError,
    find_notebook_objects,
    package,
    recover_source,
)
from jupyter_mlops.core.registry.capture.source import same_code as _same_code
from tests.conftest import execute_notebook, kernel_env, write_notebook

IMPORTS = """
import functools
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
"""

TRANSFORMER = """
class {p}Clip(BaseEstimator, TransformerMixin):
    \"\"\"Clip each column to quantiles learned in fit.\"\"\"

    def __init__(self, low=0.02, high=0.98):
        self.low = low
        self.high = high

    def fit(self, X, y=None):
        self.lo_ = X.quantile(self.low)
        self.hi_ = X.quantile(self.high)
        return self

    def transform(self, X):
        return X.clip(self.lo_, self.hi_, axis=1)
"""

FUNCTIONS = """
{p}OFFSET = 1.0

def {p}shift(X):
    return X + {p}OFFSET

def {p}log(X):
    return np.log1p({p}shift(X))
"""

FIT = """
{p}model = make_pipeline(
    {p}Clip(), FunctionTransformer({p}log), StandardScaler(), LogisticRegression(max_iter=5000)
).fit(X, y)
"""

# the default is built when the class is: the module must define Quantiles first
KERNEL_TRANSFORMER = """
class k_Clip(BaseEstimator, TransformerMixin):
    def __init__(self, q=Quantiles()):
        self.q = q

    def fit(self, X, y=None):
        self.lo_, self.hi_ = X.quantile(self.q.low), X.quantile(self.q.high)
        return self

    def transform(self, X):
        return X.clip(self.lo_, self.hi_, axis=1)
"""

# a fresh interpreter (-I: no PYTHONPATH, no user site, no script folder) in another folder
LOAD = """
import pickle, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
with open(sys.argv[2], "rb") as f:
    model = pickle.load(f)
with open(sys.argv[3], "rb") as f:
    X = pickle.load(f)
np.save(sys.argv[4], getattr(model, sys.argv[5])(X))
assert "__main__" not in {type(v).__module__ for v in vars(sys.modules["__main__"]).values()}
print("jupyter_mlops" in sys.modules)
"""


def run(ip, code: str) -> None:
    ip.run_cell(textwrap.dedent(code), store_history=True).raise_error()


def in_fresh_process(
    tmp_path: Path, module_name: str, source: str, data: bytes, X, method: str = "predict_proba"
) -> np.ndarray:
    """``method(X)`` of the packaged model, loaded with only its module on ``sys.path``."""
    artifact = tmp_path / "artifact"
    elsewhere = tmp_path / "elsewhere"
    artifact.mkdir()
    elsewhere.mkdir()
    (artifact / f"{module_name}.py").write_text(source)
    (artifact / "model.pkl").write_bytes(data)
    (tmp_path / "X.pkl").write_bytes(pickle.dumps(X))
    env = {k: v for k, v in kernel_env().items() if k != "PYTHONPATH"}
    files = [artifact, artifact / "model.pkl", tmp_path / "X.pkl", tmp_path / "out.npy"]
    done = subprocess.run(
        [sys.executable, "-I", "-c", LOAD, *map(str, files), method],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"  # loading needed nothing of ours
    return np.load(tmp_path / "out.npy")


def build(ip, p: str):
    run(ip, IMPORTS)
    run(ip, TRANSFORMER.format(p=p))
    run(ip, FUNCTIONS.format(p=p))
    run(ip, FIT.format(p=p))
    return ip.user_ns[f"{p}model"], ip.user_ns["X"]


def test_pipeline_with_notebook_code_predicts_the_same_in_a_fresh_process(ip, tmp_path):
    model, X = build(ip, "pp_")
    found = find_notebook_objects(model)
    # the helper is reached through the source, not through the pickle
    assert {obj.__qualname__ for obj in found} == {"pp_Clip", "pp_log"}

    source, data = package(model, "mlops_notebook_code_pp")

    assert b"__main__" not in data
    assert b"mlops_notebook_code_pp" in data
    assert "import numpy as np" in source
    assert "from sklearn.base import BaseEstimator, TransformerMixin" in source
    assert "pp_OFFSET = 1.0" in source
    assert "class pp_Clip(BaseEstimator, TransformerMixin):" in source
    assert "def pp_shift(X):" in source and "def pp_log(X):" in source
    compile(source, "mlops_notebook_code_pp.py", "exec")
    fresh = in_fresh_process(tmp_path, "mlops_notebook_code_pp", source, data, X)
    assert np.array_equal(fresh, model.predict_proba(X))


def test_live_objects_are_unchanged_by_package(ip):
    model, X = build(ip, "lv_")
    before = model.predict_proba(X)
    path = list(sys.path)

    package(model, "mlops_notebook_code_lv")

    clip, log = model.steps[0][1], model.steps[1][1].func
    assert type(clip) is ip.user_ns["lv_Clip"]
    assert type(clip).__module__ == "__main__" and log.__module__ == "__main__"
    assert log is ip.user_ns["lv_log"]
    assert np.array_equal(model.predict_proba(X), before)
    assert "mlops_notebook_code_lv" not in sys.modules
    assert sys.path == path
    # pickling the live model by reference still works, as before
    assert pickle.loads(pickle.dumps(model)).steps[1][1].func is log


def test_in_a_real_kernel(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    notebook = write_notebook(
        tmp_path / "train.ipynb",
        [
            IMPORTS,
            # a class with no methods of its own: its source comes from the cell history
            "@dataclass\nclass Quantiles:\n    low: float = 0.02\n    high: float = 0.98\n",
            KERNEL_TRANSFORMER,
            FUNCTIONS.format(p="k_"),
            "k_model = make_pipeline(k_Clip(), FunctionTransformer(k_log),"
            " FunctionTransformer(lambda X: X * 2.5), StandardScaler(),"
            " LogisticRegression(max_iter=5000)).fit(X, y)",
            "from jupyter_mlops.core.registry.capture import package\n"
            "source, data = package(k_model, 'mlops_notebook_code_k')\n"
            f"out = {str(out)!r}\n"
            "open(out + '/mlops_notebook_code_k.py', 'w').write(source)\n"
            "open(out + '/model.pkl', 'wb').write(data)\n"
            "np.save(out + '/expected.npy', k_model.predict_proba(X))\n"
            "X.to_pickle(out + '/X.pkl')",
        ],
    )
    execute_notebook(notebook)

    source = (out / "mlops_notebook_code_k.py").read_text()
    assert "@dataclass\nclass Quantiles:" in source
    assert source.index("class Quantiles:") < source.index("class k_Clip(")
    assert "def _lambda_1(X):\n    return X * 2.5" in source
    X = pickle.loads((out / "X.pkl").read_bytes())
    data = (out / "model.pkl").read_bytes()
    fresh = in_fresh_process(tmp_path, "mlops_notebook_code_k", source, data, X)
    assert np.array_equal(fresh, np.load(out / "expected.npy"))


def test_model_without_notebook_code_is_a_plain_pickle(tmp_path):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, y)

    assert find_notebook_objects(model) == []
    assert recover_source([]) == ""
    source, data = package(model, "mlops_notebook_code_plain")

    assert source == ""
    fresh = in_fresh_process(tmp_path, "mlops_notebook_code_plain", source, data, X)
    assert np.array_equal(fresh, model.predict_proba(X))


def test_a_clean_lambda_is_recovered_as_a_def(ip, tmp_path):
    run(ip, IMPORTS)
    run(ip, "LAM_SCALE = 0.5")
    run(
        ip,
        "lam_model = make_pipeline(FunctionTransformer(func=lambda X: np.log1p(X) * LAM_SCALE),"
        " LogisticRegression(max_iter=5000)).fit(X, y)",
    )
    model, X = ip.user_ns["lam_model"], ip.user_ns["X"]

    source, data = package(model, "mlops_notebook_code_lam")

    assert "def _lambda_1(X):\n    return np.log1p(X) * LAM_SCALE" in source
    assert "LAM_SCALE = 0.5" in source
    fresh = in_fresh_process(tmp_path, "mlops_notebook_code_lam", source, data, X)
    assert np.array_equal(fresh, model.predict_proba(X))


def test_a_function_made_with_exec_is_refused_by_name(ip):
    run(ip, IMPORTS)
    run(ip, 'exec("def scale_up(X):\\n    return X * 2", globals())')
    run(ip, "ex_model = FunctionTransformer(scale_up).fit(np.ones((3, 2)))")

    with pytest.raises(CaptureError) as caught:
        package(ip.user_ns["ex_model"], "mlops_notebook_code_ex")

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("cannot recover the source of 'scale_up' (defined in __main__)")
    assert "<string>" in message


def test_lambdas_that_look_alike_are_refused(ip):
    run(ip, IMPORTS)
    run(ip, "lam_a, lam_b = (lambda X, k=2: X * k), (lambda X, k=3: X * k)")
    run(ip, "la_model = FunctionTransformer(lam_b)")

    with pytest.raises(CaptureError, match=r"'<lambda>' .*several lambdas on line 1 .*look alike"):
        package(ip.user_ns["la_model"], "mlops_notebook_code_la")


def test_a_lambda_from_eval_is_refused(ip):
    run(ip, "ev_model = {'f': eval('lambda x: x + 1')}")

    with pytest.raises(CaptureError, match=r"source of '<lambda>' .*no source for <string>"):
        package(ip.user_ns["ev_model"], "mlops_notebook_code_ev")


def test_a_helper_function_a_constant_and_a_module_import_come_along(ip):
    run(ip, "import numpy as np\nfrom math import sqrt as msqrt")
    run(ip, "H_K = (3, 4.5)\ndef h_helper(x):\n    return np.sqrt(x) + H_K[0] + msqrt(H_K[1])")
    run(ip, "def h_main(x):\n    return h_helper(x) * 2")
    h_main = ip.user_ns["h_main"]

    source = recover_source([h_main])

    assert "import numpy as np" in source
    assert "from math import sqrt as msqrt" in source
    assert "H_K = (3, 4.5)" in source
    module = types.ModuleType("standalone")
    exec(compile(source, "standalone.py", "exec"), module.__dict__)
    x = np.array([4.0, 9.0])
    assert np.array_equal(module.h_main(x), h_main(x))
    assert module.h_main is not h_main


def test_an_object_that_is_not_code_or_a_constant_is_refused(ip):
    run(ip, IMPORTS)
    run(ip, "G_SCALER = StandardScaler().fit(np.ones((3, 2)))")
    run(ip, "def g_use(X):\n    return G_SCALER.transform(X)")
    run(ip, "g_model = FunctionTransformer(g_use)")

    refused = r"cannot capture 'G_SCALER' \(a StandardScaler\), used by 'g_use'"
    with pytest.raises(CaptureError, match=refused):
        package(ip.user_ns["g_model"], "mlops_notebook_code_g")


def test_a_redefined_function_keeps_the_version_the_model_uses(ip, tmp_path):
    run(ip, IMPORTS)
    run(ip, "def r_step(X):\n    return X + 1")
    run(ip, "r_model = FunctionTransformer(r_step)")
    run(ip, "def r_step(X):\n    return X + 100")
    model = ip.user_ns["r_model"]
    X = np.arange(6.0).reshape(3, 2)

    source, data = package(model, "mlops_notebook_code_r")

    assert "def r_step_1(X):\n    return X + 1" in source
    assert "X + 100" not in source
    fresh = in_fresh_process(tmp_path, "mlops_notebook_code_r", source, data, X, "transform")
    assert np.array_equal(fresh, X + 1)


def test_find_notebook_objects_follows_everything_pickle_follows(ip):
    run(ip, IMPORTS)
    run(
        ip,
        """
        class FHolder:
            pass

        class FKind:
            pass

        def f_plain(x):
            return x

        def f_partial(x, k):
            return x * k

        def f_unused(x):
            return x
        """,
    )
    run(
        ip,
        """
        f_obj = FHolder()
        f_obj.steps = {"a": [f_plain, (FKind,)]}
        f_obj.later = functools.partial(f_partial, k=2)
        f_obj.lam = lambda x: x
        f_obj.arrays = [np.zeros(3), StandardScaler()]
        """,
    )
    ns = ip.user_ns

    found = find_notebook_objects(ns["f_obj"])

    expected = [ns["FHolder"], ns["f_plain"], ns["FKind"], ns["f_partial"], ns["f_obj"].lam]
    assert {id(o) for o in found} == {id(o) for o in expected}
    assert len(found) == len(expected)


def test_module_names_that_cannot_hold_the_code_are_refused():
    model = functools.partial(int)
    with pytest.raises(CaptureError, match="invalid module name 'not valid'"):
        package(model, "not valid")
    with pytest.raises(CaptureError, match="'json' is taken by an importable module"):
        package(model, "json")


def test_a_class_changed_after_its_cell_ran_is_refused(ip):
    run(ip, IMPORTS)
    run(ip, TRANSFORMER.format(p="mp_"))
    run(ip, "mp_model = mp_Clip().fit(X)")
    run(ip, "mp_Clip.transform = lambda self, X: X")

    with pytest.raises(CaptureError, match=r"'mp_Clip' .*had 'transform' replaced after its cell"):
        package(ip.user_ns["mp_model"], "mlops_notebook_code_mp")

    run(ip, TRANSFORMER.format(p="mp_"))  # the cell again: a fresh class
    run(ip, "mp_model = mp_Clip().fit(X)\nmp_Clip.limit = 3")
    with pytest.raises(CaptureError, match=r"'mp_Clip' .*got 'limit' after its cell ran"):
        package(ip.user_ns["mp_model"], "mlops_notebook_code_mp")


def test_defaults_taken_from_a_global_that_changed_are_refused(ip):
    run(ip, IMPORTS)
    run(ip, "DF_K = 2\ndef df_scale(X, k=DF_K):\n    return X * k")
    run(ip, "df_model = FunctionTransformer(df_scale)\nDF_K = 5")

    with pytest.raises(CaptureError, match=r"default values of 'df_scale' .*\(2,\), now \(5,\)"):
        package(ip.user_ns["df_model"], "mlops_notebook_code_df")


def test_nested_classes_static_methods_and_decorated_functions(ip, tmp_path):
    run(ip, IMPORTS)
    run(
        ip,
        """
        class NsOuter:
            class Inner(BaseEstimator, TransformerMixin):
                def fit(self, X, y=None):
                    return self

                def transform(self, X):
                    return X * 2

            @staticmethod
            def helper(X):
                return X + 1

        @functools.lru_cache
        def ns_cached(n):
            return n * 3

        def ns_uses_cached(X):
            return X * ns_cached(2)
        """,
    )
    run(
        ip,
        "ns_model = make_pipeline(NsOuter.Inner(), FunctionTransformer(NsOuter.helper),"
        " FunctionTransformer(ns_uses_cached)).fit(np.ones((2, 2)))",
    )
    model = ip.user_ns["ns_model"]
    X = np.arange(4.0).reshape(2, 2)

    source, data = package(model, "mlops_notebook_code_ns")

    assert "@functools.lru_cache\ndef ns_cached(n):" in source
    assert "import functools" in source
    fresh = in_fresh_process(tmp_path, "mlops_notebook_code_ns", source, data, X, "transform")
    assert np.array_equal(fresh, (X * 2 + 1) * 6)


def test_history_is_the_fallback_when_no_cell_source_is_kept(ip):
    run(ip, 'exec("class HiOnly:\\n    scale = 2\\n", globals())')  # no linecache entry
    cls = ip.user_ns["HiOnly"]

    with pytest.raises(CaptureError, match="cannot recover the source of 'HiOnly'"):
        recover_source([cls], history=[])
    source = recover_source([cls], history=["x = 1", "class HiOnly:\n    scale = 2\n", "y = 2"])

    assert "class HiOnly:\n    scale = 2\n" in source


def test_imports_in_the_cell_that_defines_the_code_are_fine(ip, tmp_path):
    # CPython compiles ``np.log1p(X)`` differently when ``np`` is imported in the same cell: the
    # recovered source and the captured module must still count as the same code
    run(ip, IMPORTS)
    run(
        ip,
        """
        import math
        import numpy as np

        class sc_Scale(BaseEstimator, TransformerMixin):
            def fit(self, X, y=None):
                self.k_ = math.sqrt(2.0)
                return self

            def transform(self, X):
                return np.log1p(X) * self.k_

        def sc_square(X):
            return np.square(X)

        sc_model = make_pipeline(
            sc_Scale(), FunctionTransformer(sc_square), LogisticRegression(max_iter=5000)
        ).fit(X, y)
        """,
    )
    model, X = ip.user_ns["sc_model"], ip.user_ns["X"]
    source, data = package(model, "mlops_notebook_code_sc")
    assert "class sc_Scale" in source and "def sc_square(X):" in source
    fresh = in_fresh_process(tmp_path, "mlops_notebook_code_sc", source, data, X)
    assert np.array_equal(fresh, model.predict_proba(X))


def _method_code(source: str) -> types.CodeType:
    unit = compile(textwrap.dedent(source), "<cell>", "exec")
    cls = next(c for c in unit.co_consts if isinstance(c, types.CodeType))
    return next(c for c in cls.co_consts if isinstance(c, types.CodeType))


@pytest.mark.parametrize("call", ["np.log(X)", "np.full(len(X), os.getpid())"])
def test_a_module_imported_in_another_cell_compiles_to_the_same_code(call):
    # CPython 3.13 compiles ``np.log(X)`` to LOAD_ATTR + PUSH_NULL when ``np`` is imported in
    # the same unit and to a method load otherwise; 3.11 and 3.12 flip a bit of the argument
    def method(call: str, imports: str) -> types.CodeType:
        source = f"{imports}class Scale:\n    def transform(self, X):\n        return {call}\n"
        return _method_code(source)

    elsewhere = method(call, "import os\n")
    assert _same_code(elsewhere, method(call, "import os\nimport numpy as np\n"))
    assert not _same_code(elsewhere, method(call.replace("X)", "X + 1)", 1), "import os\n"))

"""Start-up cost: ``import jupyter_mlops`` and ``%load_ext jupyter_mlops`` against bare Python.

Peer: ``import mlflow``, what a notebook pays before its first ``mlflow`` call. Each figure is the
median wall time of fresh interpreter processes, so nothing is warm in ``sys.modules``; the
``%load_ext`` figure is measured inside a running IPython shell, the way a user meets it. The
script also checks that loading the extension imports none of the heavy libraries.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

HEAVY = ("mlflow", "dvc", "sklearn", "scipy", "statsmodels", "pandas", "shap")

LOAD_EXT = """
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
start = time.perf_counter()
ip.run_line_magic("load_ext", "jupyter_mlops")
elapsed = time.perf_counter() - start
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print(json.dumps({{"load_ext": elapsed, "heavy": heavy}}))
"""


def _wall(code: str, cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def _median(code: str, repeat: int, cwd: str) -> float:
    _wall(code, cwd)  # warm the OS file cache; not a start-up cost a user pays twice
    return statistics.median(_wall(code, cwd) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="processes per figure")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as cwd:  # no project here: nothing to discover
        bare = _median("pass", args.repeat, cwd)
        ours = _median("import jupyter_mlops", args.repeat, cwd)
        ipython = _median(
            "from IPython.core.interactiveshell import InteractiveShell as S; S.instance()",
            args.repeat,
            cwd,
        )
        mlflow = _median("import mlflow", max(3, args.repeat // 3), cwd)
        in_shell = []
        heavy: set[str] = set()
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, "-c", LOAD_EXT.format(heavy=HEAVY)],
                cwd=cwd,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            in_shell.append(result["load_ext"])
            heavy.update(result["heavy"])
        load_ext = statistics.median(in_shell)

    print(f"{'what':<48}{'median':>10}{'over bare':>12}")
    rows = [
        ("python -c pass (bare Python)", bare, None),
        ("python -c 'import jupyter_mlops'", ours, ours - bare),
        ("IPython shell start (paid by every kernel)", ipython, ipython - bare),
        ("%load_ext jupyter_mlops in a running shell", load_ext, load_ext),
        ("python -c 'import mlflow' (peer)", mlflow, mlflow - bare),
    ]
    for name, value, over in rows:
        extra = f"{over * 1000:>9.0f} ms" if over is not None else ""
        print(f"{name:<48}{value * 1000:>7.0f} ms{extra}")
    worst = max(ours - bare, load_ext)
    print(
        f"\nstart-up over bare Python: {worst * 1000:.0f} ms (target <= 150 ms: "
        f"{'met' if worst <= 0.150 else 'MISSED'}); "
        f"{(mlflow - bare) / max(worst, 1e-9):.0f}x less than importing mlflow"
    )
    print(f"heavy modules imported by %load_ext: {', '.join(sorted(heavy)) or 'none'}")
    if heavy:
        sys.exit(1)  # a correctness failure, not a slow machine


if __name__ == "__main__":
    main()

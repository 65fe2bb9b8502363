"""What keeping the training reference costs a promotion, and how large it is.

Model: a scikit-learn pipeline (one-hot encoding of 2 categorical columns, 18 numeric columns
passed through, ``LogisticRegression``) on a seeded frame of ``--rows`` rows (1,000,000 by
default) x 20 columns. In one process and one fresh git project, ``mlops.promote(model, X=X)``
is timed alternately with the reference switched off (``mlops.promote(..., reference=False)``: a
promotion as before issue 20, the peer) and on (ours), ``--repeats`` times each; medians printed
side by side with the reference's files' sizes. ``build_reference`` alone is timed too, on the
same frame and on a wide one (20,000 rows x 3,000 columns) and a long-text one (200,000 rows,
1,000-character cells), with the bytes each writes.

Goal: the reference adds at most 10% to promote at 1M x 20, and stays under 8 MB in every case.
Exit code 1 when a size bound is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import forget_settings

BOUND = 8 * 2**20


def frame(rows: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = pd.DataFrame({f"x{i}": rng.normal(i, 1 + i / 10, rows) for i in range(18)})
    X["region"] = rng.choice(["north", "south", "east", "west"], rows)
    X["plan"] = rng.choice(["basic", "plus", "pro"], rows, p=[0.6, 0.3, 0.1])
    y = (X["x0"] + (X["plan"] == "pro") + rng.normal(0, 1, rows) > 0.5).astype(int)
    return X, y


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    forget_settings()
    import numpy as np
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    import jupyter_mlops as mlops
    from jupyter_mlops.core.registry.reference import build_reference

    X, y = frame(args.rows)
    encode = ColumnTransformer(
        [("cat", OneHotEncoder(), ["region", "plan"])], remainder="passthrough"
    )
    model = make_pipeline(encode, LogisticRegression(max_iter=200)).fit(X, y)
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-reference-") as tmp:
        os.chdir(tmp)
        subprocess.run(["git", "init", "-q"], check=True)
        Path("README.md").write_text("bench\n")
        subprocess.run(["git", "add", "README.md"], check=True)
        subprocess.run(
            ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "init"],
            check=True,
        )
        mlops.promote(model, "warmup", X=X.head(1000))  # the store's creation, imports
        times: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeats):
            for keep in (False, True):
                started = time.perf_counter()
                mlops.promote(model, f"bench_{keep}", X=X, reference=keep)
                times[keep].append(time.perf_counter() - started)
        before, after = statistics.median(times[False]), statistics.median(times[True])
        stored = Path(tmp) / ".mlops"
        sizes = [(p.name, p.stat().st_size) for p in stored.rglob("reference/*") if p.is_file()]
    print(f"promote of {args.rows:,} x 20, median of {args.repeats}:")
    print(f"  without reference (as before)  {before:7.2f} s")
    print(
        f"  with reference (ours)          {after:7.2f} s  ({after / before:.2f}x, "
        f"+{after - before:.2f} s)"
    )
    print(f"  reference files: {sorted(set(sizes))}")
    cases = [("1M x 20" if args.rows == 1_000_000 else f"{args.rows:,} x 20", X)]
    rng = np.random.default_rng(1)
    cases.append(("20,000 x 3,000 floats", pd.DataFrame(rng.normal(size=(20_000, 3_000)))))
    notes = np.array(["x" * 1000 + str(i) for i in range(5000)], dtype=object)
    cases.append(
        (
            "200,000 x 2, 1,000-char text",
            pd.DataFrame(
                {"n": rng.normal(size=200_000), "t": notes[rng.integers(0, 5000, 200_000)]}
            ),
        )
    )
    print("build_reference alone:")
    for label, data in cases:
        started = time.perf_counter()
        files = build_reference(data, np.zeros(len(data)))
        seconds = time.perf_counter() - started
        total = sum(len(v) for v in files.values())
        ok &= total < BOUND
        sizes = ", ".join(f"{k} {len(v) / 2**20:.2f} MB" for k, v in files.items())
        print(f"  {label:32s} {seconds:6.2f} s  {sizes}  (bound {BOUND / 2**20:.0f} MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

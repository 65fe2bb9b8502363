"""Cost of ``mlops.data.add`` against plain ``dvc add`` and against ``md5sum`` (the hashing floor).

Peers: ``dvc add`` (the command line a user would type, and DVC's ``Repo.add`` in-process, to
separate start-up from work) and ``md5sum``, which reads and hashes the bytes and nothing else.
Data, generated: one large binary file, the same size as a CSV table (our add also profiles
tables, streaming a line count next to DVC's hashing), and a folder of many 1 KiB files. Each
measurement starts from a fresh git + DVC project holding a plain copy of the data, so no cache
carries over; the copy is made just before, so every tool reads from a warm page cache alike.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

DVC = str(Path(sys.executable).parent / "dvc")
ADD = "import sys, jupyter_mlops as m; m.data.add(sys.argv[1])"


def make_binary(path: Path, size_mb: int) -> None:
    block = os.urandom(1 << 20)
    with path.open("wb") as handle:
        for i in range(size_mb):
            handle.write(i.to_bytes(8, "little") + block[8:])  # no two MiB alike


def make_csv(path: Path, size_mb: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    rows = "\n".join(",".join(f"{x:.6f}" for x in row) for row in rng.normal(size=(2000, 8)))
    with path.open("w") as handle:
        handle.write(",".join(f"x{i}" for i in range(8)) + "\n")
        written = 0
        while written < size_mb << 20:
            written += handle.write(rows + "\n")


def make_folder(path: Path, files: int) -> None:
    path.mkdir()
    for i in range(files):
        (path / f"part-{i:05d}.bin").write_bytes(i.to_bytes(8, "little") + os.urandom(1016))


def fresh_project(base: Path, source: Path) -> Path:
    root = Path(tempfile.mkdtemp(dir=base))
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([DVC, "init", "-q"], cwd=root, check=True)
    if source.is_dir():
        shutil.copytree(source, root / source.name)
    else:
        shutil.copyfile(source, root / source.name)
    return root


def check(root: Path, name: str) -> None:
    """The add really happened: the .dvc file names an md5 (``.dir`` for a folder)."""
    out = yaml.safe_load((root / f"{name}.dvc").read_text())["outs"][0]
    if not out.get("md5") or ((root / name).is_dir() != out["md5"].endswith(".dir")):
        raise SystemExit(f"{name} was not added correctly: {out}")


def timed(base: Path, source: Path, run: Callable[[Path], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        root = fresh_project(base, source)
        start = time.perf_counter()
        run(root)
        times.append(time.perf_counter() - start)
        check(root, source.name) if run.__name__ != "md5sum" else None
        shutil.rmtree(root)
    return statistics.median(times)


def tools(name: str, is_dir: bool) -> dict[str, Callable[[Path], None]]:
    def md5sum(root: Path) -> None:
        if is_dir:
            cmd = f"find {name} -type f -print0 | xargs -0 md5sum > /dev/null"
            subprocess.run(cmd, shell=True, cwd=root, check=True)
        else:
            subprocess.run(["md5sum", name], cwd=root, check=True, capture_output=True)

    def dvc_cli(root: Path) -> None:
        subprocess.run([DVC, "add", "-q", name], cwd=root, check=True, capture_output=True)

    def mlops_cli(root: Path) -> None:
        cmd = [sys.executable, "-c", ADD, name]
        subprocess.run(cmd, cwd=root, check=True, capture_output=True)

    def dvc_inprocess(root: Path) -> None:
        from dvc.repo import Repo

        from jupyter_mlops.core.store import quiet_logs

        with quiet_logs("dvc"), Repo(str(root)) as repo:  # no "to track the changes" hints
            repo.add([str(root / name)])

    def mlops_inprocess(root: Path) -> None:
        import jupyter_mlops as mlops

        os.chdir(root)  # the project is found from the working directory
        mlops.data.add(name)

    return {
        "md5sum (hashing floor)": md5sum,
        "dvc add (command line)": dvc_cli,
        "mlops.data.add (python -c)": mlops_cli,
        "dvc Repo.add (in-process)": dvc_inprocess,
        "mlops.data.add (in-process)": mlops_inprocess,
    }


def report(title: str, figures: dict[str, float]) -> None:
    floor = figures["md5sum (hashing floor)"]
    print(f"\n{title}")
    print(f"{'tool':<32}{'median':>10}{'x md5sum':>10}")
    for tool, seconds in figures.items():
        print(f"{tool:<32}{seconds:>9.2f}s{seconds / floor:>10.2f}")
    for ours, peer in (
        ("mlops.data.add (python -c)", "dvc add (command line)"),
        ("mlops.data.add (in-process)", "dvc Repo.add (in-process)"),
    ):
        overhead = (figures[ours] / figures[peer] - 1) * 100
        print(f"  {ours} vs {peer}: {overhead:+.1f}% (target <= +5%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of the large file")
    parser.add_argument("--files", type=int, default=10_000, help="1 KiB files in the folder")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per tool (median)")
    parser.add_argument("--tmp", default=None, help="where to work (default: the temp dir)")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-data-", dir=args.tmp))
    need = 4 * args.size_mb << 20
    if shutil.disk_usage(base).free < need:
        raise SystemExit(f"need {need >> 30} GiB free in {base}")
    here = os.getcwd()
    try:
        data = base / "data"
        data.mkdir()
        cases = [
            (f"{args.size_mb} MiB binary file", data / "big.bin", make_binary, args.size_mb),
            (f"{args.size_mb} MiB CSV table", data / "big.csv", make_csv, args.size_mb),
            (f"folder of {args.files:,} x 1 KiB files", data / "parts", make_folder, args.files),
        ]
        for title, path, make, size in cases:
            make(path, size)
            figures = {
                tool: timed(base, path, run, args.repeat)
                for tool, run in tools(path.name, path.is_dir()).items()
            }
            os.chdir(here)
            report(title, figures)
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    finally:
        os.chdir(here)
        shutil.rmtree(base, ignore_errors=True)
    print(
        "\nmlops.data.add keeps the workspace file and writes the cache copy beside it; plain "
        "dvc add (default link types reflink, copy) deletes the file and copies it back from "
        "the cache, so on a filesystem without reflinks it writes the data twice."
    )


if __name__ == "__main__":
    main()

"""Peak memory of reading a large expression file (issue 14: memory within ~3x the file size).

Usage: ``python -m benchmarks.bench_read_memory [tidy|phoenix] [n_genes] [n_rows]`` writes a seeded file of
``n_genes`` genes x ``n_rows`` observations (default 2,000 x 2,500, about 42 MB as tidy CSV) to a temporary
folder, reads it with :func:`dash_core.io.read_expression` and prints the file size, the tracemalloc peak of the
read and the max RSS growth over the import baseline.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np


def _write(path: Path, fmt: str, n_genes: int, n_rows: int) -> None:
    rng = np.random.default_rng(0)
    n_traj = 10
    per = n_rows // n_traj
    with open(path, "w") as fh:
        if fmt == "tidy":
            fh.write("trajectory,time," + ",".join(f"G{i}" for i in range(n_genes)) + "\n")
            for k in range(n_traj):
                vals = rng.random((per, n_genes))
                for t in range(per):
                    fh.write(f"T{k},{t}," + ",".join(f"{v:.6f}" for v in vals[t]) + "\n")
        else:
            fh.write(f"{n_genes},{n_traj}\n")
            for _ in range(n_traj):
                vals = rng.random((n_genes, per))
                for g in range(n_genes):
                    fh.write(",".join(f"{v:.6f}" for v in vals[g]) + "\n")
                fh.write(",".join(str(t) for t in range(per)) + "\n")


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--rss"]
    fmt = args[0] if args else "tidy"
    n_genes = int(args[1]) if len(args) > 1 else 2000
    n_rows = int(args[2]) if len(args) > 2 else 2500
    from dash_core.io import read_expression

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"big_{fmt}.csv"
        _write(path, fmt, n_genes, n_rows)
        size = path.stat().st_size
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        trace = "--rss" not in sys.argv  # tracemalloc's own bookkeeping inflates the RSS
        if trace:
            tracemalloc.start()
        t0 = time.perf_counter()
        expr, _ = read_expression(path)
        dt = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        tracemalloc.stop()
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    mb = size / 2**20
    print(f"{fmt}: {mb:.1f} MB file, {expr.n_genes} genes x {expr.n_observations} rows; read {dt:.1f} s; "
          f"tracemalloc peak {peak / 2**20:.0f} MB ({peak / size:.1f}x); max RSS +{rss1 - rss0:.0f} MB "
          f"({(rss1 - rss0) / mb:.1f}x); load {open('/proc/loadavg').read().split()[0]}")


if __name__ == "__main__":
    main()

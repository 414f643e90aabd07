"""Seconds per epoch and per run of every pruning strategy on a small simulated benchmark.

Usage::

    python benchmarks/bench_strategies.py [--genes 60] [--epochs 20] [--seeds 1] [--strategies dash,imp]
                                          [--workers 1] [--threads 1] [--device cpu] [--out DIR]

Simulates SIM350-style data scaled to ``--genes`` genes (5 % noise, matching
prior corruption), runs :func:`dash_core.studies.paper_benchmark.run_benchmark` with every
registered strategy (or ``--strategies``) for at most ``--epochs`` epochs
(early stopping off, so every strategy trains the same number of epochs
unless it stops itself) and prints, per strategy, the epochs trained, the
wall seconds per run and per epoch, and the sparsity and balanced accuracy
reached. Use ``--workers 1`` (default) for clean timings: parallel runs
compete for the same cores. Without ``--out`` the runs go to a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dash_core.experiment import RunConfig  # noqa: E402
from dash_core.runs.executors import ExecutorConfig  # noqa: E402
from dash_core.studies.inputs import parse_seeds  # noqa: E402
from dash_core.studies.paper_benchmark import run_benchmark  # noqa: E402


def _cell(row, col: str, fmt: str) -> str:
    v = row.get(col)
    return "n/a".rjust(len(format(0.0, fmt))) if v is None or v != v else format(v, fmt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genes", type=int, default=60, help="simulated genes (default 60; SIM350 is 350)")
    parser.add_argument("--epochs", type=int, default=20, help="maximum epochs per run (default 20)")
    parser.add_argument("--seeds", default="1", help="number of seeds K or a list such as 0,1 (default 1)")
    parser.add_argument("--strategies", default=None, help="comma-separated strategy names (default: all)")
    parser.add_argument("--workers", type=int, default=1, help="parallel runs (default 1: clean timings)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu")
    parser.add_argument("--out", default=None, help="study folder (default: a temporary folder)")
    args = parser.parse_args(argv)

    base = RunConfig()
    base = replace(base, train=replace(base.train, max_epochs=args.epochs, patience=0, device=args.device))
    strategies = None if args.strategies is None else [s.strip() for s in args.strategies.split(",")]
    executor = ExecutorConfig(workers=args.workers, threads_per_job=args.threads)
    seeds = parse_seeds(args.seeds, count_form=True)
    with tempfile.TemporaryDirectory(prefix="bench_strategies_") as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        t0 = time.perf_counter()
        tables = run_benchmark("sim350", seeds, out, strategies, executor, base_config=base, n_genes=args.genes)
        total = time.perf_counter() - t0
    s = tables.summary
    print(f"{args.genes} genes, <= {args.epochs} epochs, seeds {','.join(map(str, seeds))}, {args.workers} "
          f"worker(s) x {args.threads} thread(s), device {args.device}")
    print(f"{'strategy':12s} {'runs':>4s} {'epochs':>7s} {'s/run':>8s} {'s/epoch':>8s} {'sparsity':>9s} {'BA':>6s}")
    for _, r in s.iterrows():
        print(f"{r['strategy']:12s} {int(r['n_runs']):4d} {_cell(r, 'epochs_mean', '7.1f')} "
              f"{_cell(r, 'wall_seconds_mean', '8.2f')} {_cell(r, 'seconds_per_epoch_mean', '8.3f')} "
              f"{_cell(r, 'sparsity_mean', '9.3f')} {_cell(r, 'balanced_accuracy_mean', '6.3f')}")
        if r.get("n_failed"):
            print(f"{'':12s} {int(r['n_failed'])} run(s) failed; see benchmark.csv")
    print(f"total wall time {total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

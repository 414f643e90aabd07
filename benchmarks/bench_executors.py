"""Scale-out benchmark: local process pool vs Ray, wall-time estimates, ASHA vs grid.

Usage (from the repository root; heavy, so queue it on a shared machine)::

    flock /tmp/heavy.lock python benchmarks/bench_executors.py                  # executors + estimates
    python benchmarks/bench_executors.py --part executors --genes 60 --epochs 20 --workers 2
    python benchmarks/bench_executors.py --part estimates
    python benchmarks/bench_executors.py --part asha --asha-trajectories 150 --asha-epochs 60

Parts
-----
executors
    A 4 x 4 lambda sweep (16 DASH runs) on small simulated data with the local
    executor (process pool) and with Ray (a local Ray started here), both with
    ``--workers`` workers. Prints wall time, seconds per job and Ray's overhead
    in % of the local wall time (target <= 15 %), with and without Ray's start-up.
estimates
    Measured per-epoch times, turned into wall-time estimates on N workers for
    (a) the 450-model LEMBAS self-pruning study (methods I.2: 3 datasets x 3 L2
    levels x 50 seeds; 5,000 epochs on LC and synthetic data, 16,000 on HC) and
    (b) a 7 x 7 DASH lambda sweep on 10,000 genes (one 186-point trajectory in
    pairs mode, batch 16, as the breast-cancer data; 200 epochs per run).
asha
    Grid (3 x 3 of the paper's values) vs ASHA (9 sampled trials) on SIM350-style
    350-gene data with a reduced number of trajectories and epochs: epochs spent
    and best validation MSE.

Numbers are printed; nothing is asserted (speed targets are not tests). Every
run is seeded; one torch thread per job.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dash_core.experiment import RunConfig  # noqa: E402
from dash_core.models import ModelConfig  # noqa: E402
from dash_core.runs.executors import ExecutorConfig  # noqa: E402
from dash_core.simulate import SimulationConfig, simulate, write_simulation  # noqa: E402
from dash_core.studies.datasets import DatasetSpec  # noqa: E402
from dash_core.studies.sweeps import run_sweep  # noqa: E402
from dash_core.train import TrainConfig  # noqa: E402

SWEEP_GRID = (0.0, 0.05, 0.5, 0.95)
PAPER_GRID_3 = (0.05, 0.5, 0.95)
WORKER_COUNTS = (1, 2, 8, 16, 64)
#: Self-pruning study (methods H.11, I.2): name -> (nodes, edges, ligands, TFs, conditions, epochs, models).
SELF_PRUNING = {
    "LC (macrophage)": (1128, 5732, 12, 58, 23, 5000, 150),
    "synthetic (KEGG)": (409, 832, 101, 55, 100, 5000, 150),
    "HC (ligand screen)": (1262, 6597, 60, 74, 103, 16000, 150),
}


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"


def _driver_pythonpath() -> str:
    return os.pathsep.join(dict.fromkeys(os.path.abspath(p or os.curdir) for p in sys.path if os.path.isdir(p or ".")))


# ---------------------------------------------------------------------------------------------- executors
def part_executors(genes: int, epochs: int, workers: int, repeats: int) -> dict[str, float]:
    """16-point sweep on the local pool and on Ray; returns the measured numbers."""
    import ray

    print(f"## 4 x 4 DASH lambda sweep, {genes} simulated genes (150 trajectories), {epochs} epochs, "
          f"{workers} workers, {os.cpu_count()} CPU cores")
    cfg = RunConfig(train=TrainConfig(max_epochs=epochs, patience=0, device="cpu", threads=1))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        write_simulation(simulate(SimulationConfig.scaled(genes, seed=0)), Path(tmp) / "data")
        spec = DatasetSpec.from_simulation_dir(Path(tmp) / "data")
        for rep in range(repeats):
            order = ("local", "ray") if rep % 2 == 0 else ("ray", "local")
            for kind in order:
                out = Path(tmp) / f"{kind}{rep}"
                start_s = 0.0
                if kind == "ray":
                    t0 = time.perf_counter()
                    ray.init(address="local", num_cpus=workers, include_dashboard=False, log_to_driver=False,
                             runtime_env={"env_vars": {"PYTHONPATH": _driver_pythonpath()}})
                    start_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                df = run_sweep(spec, cfg, SWEEP_GRID, SWEEP_GRID, strategy="dash", out_dir=out,
                               executor=ExecutorConfig(kind=kind, workers=workers, threads_per_job=1))
                wall = time.perf_counter() - t0
                if kind == "ray":
                    ray.shutdown()
                ok = df[df["status"] == "ok"]
                if len(ok) != len(df):
                    raise RuntimeError(f"{len(df) - len(ok)} runs failed: {df['error'].dropna().tolist()[:1]}")
                rows.append({"kind": kind, "rep": rep, "wall": wall, "start": start_s,
                             "job_s": float(ok["job_seconds"].mean()), "train_s": float(ok["wall_seconds"].mean()),
                             "sum_job_s": float(ok["job_seconds"].sum())})
                print(f"  {kind:5s} run {rep + 1}: wall {wall:6.1f} s (+ Ray start {start_s:4.1f} s)"
                      if kind == "ray" else f"  {kind:5s} run {rep + 1}: wall {wall:6.1f} s", flush=True)
    res = pd.DataFrame(rows).groupby("kind").median(numeric_only=True)
    loc, ray_ = res.loc["local"], res.loc["ray"]
    overhead = 100.0 * (ray_["wall"] - loc["wall"]) / loc["wall"]
    overhead_start = 100.0 * (ray_["wall"] + ray_["start"] - loc["wall"]) / loc["wall"]
    n_jobs = len(SWEEP_GRID) ** 2
    print(f"{'executor':10s} {'wall s':>8s} {'s/job (in job)':>15s} {'training s/job':>15s} "
          f"{'ideal wall s':>13s} {'efficiency':>10s}")
    for kind, r in (("local", loc), ("ray", ray_)):
        ideal = r["sum_job_s"] / workers
        print(f"{kind:10s} {r['wall']:8.1f} {r['job_s']:15.2f} {r['train_s']:15.2f} {ideal:13.1f} "
              f"{100 * ideal / r['wall']:9.0f}%")
    print(f"Ray overhead vs local pool: {overhead:+.1f} % of the wall time (target <= 15 %); "
          f"{overhead_start:+.1f} % including Ray's start-up ({ray_['start']:.1f} s). Median of {repeats} run(s).")
    per_job_overhead = max(0.0, (ray_["wall"] - loc["wall"]) / (n_jobs / workers))
    return {"local_wall": float(loc["wall"]), "ray_wall": float(ray_["wall"]), "ray_start": float(ray_["start"]),
            "overhead_pct": float(overhead), "job_s": float(loc["job_s"]), "ray_job_overhead_s": per_job_overhead}


# ---------------------------------------------------------------------------------------------- estimates
def _self_pruning_epoch_seconds(name: str, spec: tuple, epochs: int) -> float:
    """Seconds per epoch of the self-pruning preset on data of the study's shape (real LC data when present)."""
    from benchmarks.bench_signaling import macrophage_or_generated, time_epochs
    from dash_core.signaling.synthetic import random_ground_truth, random_signed_network, synthetic_data

    nodes, edges, ligands, tfs, conditions, _, _ = spec
    if name.startswith("LC"):
        data, label = macrophage_or_generated(ROOT.parent / "shared" / "data" / "lembas" / "macrophage")
    else:
        pkn, ligs, tf_names, signs = random_signed_network(nodes, ligands, tfs, edges, seed=0)
        truth = random_ground_truth(pkn, ligs, tf_names, signs, seed=0)
        data, label = synthetic_data(truth, conditions, seed=0), "generated"
    seconds, steps = time_epochs(data, epochs)
    print(f"  {name:20s} ({label}: {data.pkn.n_nodes} nodes, {data.pkn.n_edges} edges, {data.n_conditions} "
          f"conditions): {seconds:.4f} s/epoch (mean {steps:.0f} recurrence steps)", flush=True)
    return seconds


def _genome_scale_run(n_genes: int, epochs: int, lambda_data: float) -> dict[str, float]:
    """Time a DASH run on ``n_genes`` genes: one 186-point trajectory, pairs mode, batch 16 (breast-like)."""
    import torch

    from dash_core.data import Dataset, ExpressionData, Trajectory
    from dash_core.experiment import run_experiment
    from dash_core.network import matrix_to_edges

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    genes = [f"g{i}" for i in range(n_genes)]
    times = np.arange(186, dtype=float)
    expr = ExpressionData(genes, [Trajectory("pseudotime", times, rng.random((186, n_genes)))])
    prior = np.zeros((n_genes, n_genes))
    k = 5 * n_genes  # about 5 prior targets per gene, signed
    prior[rng.integers(0, n_genes, k), rng.integers(0, n_genes, k)] = rng.choice([-1.0, 1.0], k)
    dataset = Dataset(expr, prior=matrix_to_edges(prior, genes))
    cfg = RunConfig(model=ModelConfig(hidden=40), strategy="dash",
                    train=TrainConfig(max_epochs=epochs, patience=0, batching="pairs", batch_size=16,
                                      lambda_data=lambda_data, device="cpu", threads=1))
    t0 = time.perf_counter()
    res = run_experiment(dataset, cfg)
    wall = time.perf_counter() - t0
    h = res.history
    event_epochs = {3}
    plain = h.loc[~h["epoch"].isin(event_epochs), "seconds"]
    epoch_s = float(plain.median())
    event_s = float(h.loc[h["epoch"].isin(event_epochs), "seconds"].sum()) - epoch_s * len(event_epochs)
    setup_s = wall - float(h["seconds"].sum())
    return {"wall": wall, "setup_s": setup_s, "epoch_s": epoch_s, "event_s": max(0.0, event_s),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def part_estimates(job_overhead_s: float, probe_epochs: int, sweep_genes: int) -> None:
    print("## wall-time estimates from measured per-epoch times (1 CPU thread per job)")
    print(f"Ray overhead added per job: {job_overhead_s:.2f} s (from the executors part; 0 if not measured)")

    print("### LEMBAS self-pruning study: 3 datasets x 3 L2 levels x 50 seeds = 450 models (methods I.2)")
    total = 0.0
    longest = 0.0
    for name, spec in SELF_PRUNING.items():
        s = _self_pruning_epoch_seconds(name, spec, probe_epochs)
        per_model = s * spec[5] + job_overhead_s
        total += per_model * spec[6]
        longest = max(longest, per_model)
        print(f"    {spec[6]} models x {spec[5]} epochs: {_duration(per_model)} per model, "
              f"{_duration(per_model * spec[6])} in all", flush=True)
    print(f"  total {_duration(total)} of CPU time; longest model {_duration(longest)}")
    for n in WORKER_COUNTS:
        print(f"    {n:3d} workers: ~{_duration(max(total / n, longest))}")

    n_points = 49
    print(f"### DASH lambda sweep on {sweep_genes:,} genes: 7 x 7 = {n_points} runs of 200 epochs "
          "(one 186-point trajectory, pairs mode, batch 16, h = 40)")
    event_s = 0.0
    for lam in (1.0, 0.999):
        # each run in a fresh process, so that its peak memory is its own
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            epochs = max(probe_epochs + 1, 4) if lam == 1.0 else 2  # lambda_data = 1 includes the event at epoch 3
            r = pool.submit(_genome_scale_run, sweep_genes, epochs, lam).result()
        event_s = r["event_s"] if lam == 1.0 else event_s  # the pruning event does not depend on lambda_data
        n_events = 1 + 200 // 10  # epoch 3, then every 10 epochs (B.6 SIM schedule)
        per_run = r["setup_s"] + 200 * r["epoch_s"] + n_events * event_s + job_overhead_s
        print(f"  lambda_data = {lam}: setup + scoring {r['setup_s']:.1f} s, {r['epoch_s']:.2f} s/epoch, pruning "
              f"event {event_s:.2f} s, peak memory {r['peak_mb']:.0f} MB -> {_duration(per_run)} per run", flush=True)
        for n in WORKER_COUNTS:
            waves = math.ceil(n_points / n)
            print(f"    {n:3d} workers: ~{_duration(waves * per_run)} ({waves} wave(s))")


# ---------------------------------------------------------------------------------------------- ASHA vs grid
def part_asha(trajectories: int, epochs: int, workers: int, trials: int) -> None:
    from dash_core.studies.asha import run_asha_search

    print(f"## ASHA vs grid: DASH on SIM350-style data (350 genes, {trajectories} trajectories, 5 % noise), "
          f"{epochs} epochs, patience 40, {workers} workers")
    cfg = RunConfig(train=TrainConfig(max_epochs=epochs, device="cpu", threads=1))
    with tempfile.TemporaryDirectory() as tmp:
        write_simulation(simulate(SimulationConfig.sim350(seed=0, n_trajectories=trajectories)), Path(tmp) / "data")
        spec = DatasetSpec.from_simulation_dir(Path(tmp) / "data")
        t0 = time.perf_counter()
        grid = run_sweep(spec, cfg, PAPER_GRID_3, PAPER_GRID_3, strategy="dash", out_dir=Path(tmp) / "grid",
                         executor=ExecutorConfig(kind="local", workers=workers, threads_per_job=1))
        grid_wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        asha = run_asha_search(spec, cfg, trials=trials, out_dir=Path(tmp) / "asha", reduction_factor=3.0,
                               seed=0, max_concurrent=workers)
        asha_wall = time.perf_counter() - t0
    # the lowest validation MSE among the finished runs (the quantity ASHA optimises)
    grid_best = grid[grid["status"] == "ok"].sort_values("val_mse").iloc[0]
    asha_best = asha[asha["status"] == "ok"].sort_values("val_mse").iloc[0]
    grid_epochs = int(grid["epochs"].sum())
    asha_epochs = int(asha["epochs_spent"].sum())
    grace = cfg.pruning.first_epoch + cfg.pruning.interval
    print(f"grid {len(PAPER_GRID_3)}x{len(PAPER_GRID_3)} of {PAPER_GRID_3}: {grid_epochs} epochs, wall "
          f"{_duration(grid_wall)}; best val_mse {grid_best['val_mse']:.5g} at ({grid_best['lambda_ppi']:g}, "
          f"{grid_best['lambda_motif']:g}), sparsity {grid_best['sparsity']:.3f}")
    print(f"ASHA {trials} trials (logit space, grace {grace}, eta 3): {asha_epochs} epochs "
          f"({int((asha['status'] == 'stopped').sum())} stopped early), wall {_duration(asha_wall)}; best val_mse "
          f"{asha_best['val_mse']:.5g} at ({asha_best['lambda_ppi']:g}, {asha_best['lambda_motif']:g}), "
          f"sparsity {asha_best['sparsity']:.3f}")
    ratio = asha_best["val_mse"] / grid_best["val_mse"]
    print(f"ASHA's best / grid's best val_mse = {ratio:.3f}; epochs ASHA / grid = {asha_epochs / grid_epochs:.2f}")
    print(asha[["lambda_ppi", "lambda_motif", "status", "epochs_spent", "val_mse", "sparsity"]].to_string(index=False))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["executors", "estimates", "asha", "all"], default="all",
                    help="all = executors + estimates (asha is separate: it is the longest)")
    ap.add_argument("--genes", type=int, default=60, help="executors: simulated genes (default 60)")
    ap.add_argument("--epochs", type=int, default=20, help="executors: epochs per run (default 20)")
    ap.add_argument("--workers", type=int, default=2, help="workers of both executors (default 2)")
    ap.add_argument("--repeats", type=int, default=1, help="executors: repetitions, alternating the order")
    ap.add_argument("--probe-epochs", type=int, default=3, help="estimates: epochs timed per setting (default 3)")
    ap.add_argument("--sweep-genes", type=int, default=10_000, help="estimates: genes of the large sweep")
    ap.add_argument("--asha-trajectories", type=int, default=150)
    ap.add_argument("--asha-epochs", type=int, default=60)
    ap.add_argument("--asha-trials", type=int, default=9)
    args = ap.parse_args(argv)
    overhead = 0.0
    if args.part in ("executors", "all"):
        overhead = part_executors(args.genes, args.epochs, args.workers, args.repeats)["ray_job_overhead_s"]
        print(flush=True)
    if args.part in ("estimates", "all"):
        part_estimates(overhead, args.probe_epochs, args.sweep_genes)
        print(flush=True)
    if args.part == "asha":
        part_asha(args.asha_trajectories, args.asha_epochs, args.workers, args.asha_trials)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

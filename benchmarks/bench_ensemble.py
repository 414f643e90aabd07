"""Stacked training benchmark: many models of one architecture trained as one stacked model.

Usage (from the repository root)::

    python benchmarks/bench_ensemble.py --part epoch                  # s per model-epoch, K = 1, 7, 49; 1 and 2 threads
    python benchmarks/bench_ensemble.py --part epoch --ks 1,7 --threads 1 --epochs 2
    python benchmarks/bench_ensemble.py --part sweep --grid 3 --epochs 60   # 3 x 3 DASH sweep: stacked vs 9 single runs
    python benchmarks/bench_ensemble.py --part sweep --grid 7 --epochs 200 --singles 2   # 7 x 7; singles extrapolated
    python benchmarks/bench_ensemble.py --part sweep --grid 7 --seeds 3 --epochs 200 --singles 1 --device cuda --threads 1
    python benchmarks/bench_ensemble.py --part single                 # one whole DASH run (train + prune + score)
    python benchmarks/bench_ensemble.py --part epoch --ks 1 --threads 1 --unfused   # fused RK4 node vs autograd loop
    python benchmarks/bench_ensemble.py --part parallel --ks 16 --threads 2   # 2 cores: 1 stack x 2 threads or 2 x 1

Data: SIM350-sized simulation (350 genes, 150 trajectories, seed 0; cached in the system's temp folder).
Every measurement runs in a fresh subprocess (its own thread count and peak memory) and prints one JSON
line with the 1-minute load average at its start and end: the machine may be shared, and timings under load
are pessimistic. ``--device cuda`` measures on a GPU when one is present. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = Path(tempfile.gettempdir()) / "dash_bench_sim350_seed0.pkl"
LAMBDA_GRID = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 0.995]


def _load() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0]) if Path("/proc/loadavg").exists() else float("nan")


def dataset():
    """The SIM350-sized benchmark dataset (simulated once, then read from the cache)."""
    if CACHE.exists():
        return pickle.loads(CACHE.read_bytes())
    from dash_core.simulate import SimulationConfig, simulate

    ds = simulate(SimulationConfig.sim350(seed=0)).dataset
    CACHE.write_bytes(pickle.dumps(ds))
    return ds


def _grid(n: int) -> list[float]:
    """n λ values spread over the 7-point grid (3 -> 0, 0.5, 0.995)."""
    if n >= len(LAMBDA_GRID):
        return LAMBDA_GRID
    idx = [round(i * (len(LAMBDA_GRID) - 1) / (n - 1)) for i in range(n)] if n > 1 else [3]
    return [LAMBDA_GRID[i] for i in idx]


def _configs(spec: dict):
    from dash_core.experiment import RunConfig
    from dash_core.pruning import PruningConfig
    from dash_core.train import TrainConfig

    train = TrainConfig(max_epochs=spec["epochs"], patience=spec.get("patience", 40), device=spec.get("device", "cpu"),
                        threads=spec["threads"])
    base = spec.get("seed", 0)
    if "grid" in spec:  # the n x n grid for each of ``seeds`` seeds (seed-major, as a sweep lists them)
        points = [(base + s, a, b) for s in range(spec.get("seeds", 1))
                  for a in _grid(spec["grid"]) for b in _grid(spec["grid"])]
    else:  # K copies of (0.5, 0.05) with seeds base, base + 1, ...
        points = [(base + i, 0.5, 0.05) for i in range(spec["k"])]
    return [RunConfig(strategy=spec.get("strategy", "dash"), train=train, seed=seed,
                      pruning=PruningConfig(lambda_ppi=a, lambda_motif=b)) for seed, a, b in points]


def _set_fused(spec: dict) -> None:
    """``--unfused``: the generic RK4 step loop under autograd instead of the fused PHOENIX node (before/after)."""
    from dash_core import integrate

    integrate.FUSED_RK4 = spec.get("fused", True)


def measure_epoch(spec: dict) -> dict:
    """Child: time ``epochs`` epochs of K stacked DASH models (different seeds), without pruning's scoring."""
    import torch

    from dash_core.experiment import split_dataset
    from dash_core.models import build_model
    from dash_core.stacking import memory_probe
    from dash_core.train import Trainer, resolve_device, train_stack

    torch.set_num_threads(spec["threads"])
    _set_fused(spec)
    ds = dataset()
    load0 = _load()
    configs = _configs(spec)
    probe = memory_probe(resolve_device(spec.get("device", "cpu")))
    shared: dict = {}
    trainers = []
    for c in configs:
        tr, va = split_dataset(ds.expression, c.train, c.seed)
        trainers.append(Trainer(build_model(ds.n_genes, c.model, seed=c.seed), tr, va, c.train, seed=c.seed,
                                shared=shared))
    train_stack(trainers, [lambda t=t: t.train_loop(max_epochs=1, patience=0) for t in trainers])  # warm-up epoch
    t0, c0 = time.perf_counter(), time.process_time()
    train_stack(trainers, [lambda t=t: t.train_loop(max_epochs=1 + spec["epochs"], patience=0) for t in trainers])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    k = len(trainers)
    # CPU seconds of this process: less sensitive than wall time to other work on a shared machine
    return {"part": "epoch", "k": k, "threads": spec["threads"], "device": spec.get("device", "cpu"),
            "fused": spec.get("fused", True),
            "s_per_stack_epoch": round(wall / spec["epochs"], 3), "s_per_model_epoch": round(wall / spec["epochs"] / k, 4),
            "cpu_s_per_model_epoch": round(cpu / spec["epochs"] / k, 4),
            "peak_mb": probe.peak_mb(), "load_start": load0, "load_end": _load()}


def measure_runs(spec: dict) -> dict:
    """Child: whole runs (train, prune, score): stacked (``run_experiments``) or one after the other."""
    import torch

    from dash_core.experiment import run_experiment, run_experiments

    torch.set_num_threads(spec["threads"])
    _set_fused(spec)
    ds = dataset()
    configs = _configs(spec)
    if spec.get("singles"):
        configs = configs[: spec["singles"]]
    load0 = _load()
    t0, c0 = time.perf_counter(), time.process_time()
    if spec["mode"] == "stacked":
        results = run_experiments(ds, configs, stack_size=spec.get("stack_size"))
    else:
        results = [run_experiment(ds, c) for c in configs]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = [{"lambda": [r.config.pruning.lambda_ppi, r.config.pruning.lambda_motif],
             "ba": round(r.metrics["balanced_accuracy"], 4), "sparsity": round(r.metrics["sparsity"], 4),
             "epochs": r.metrics["epochs"], "stack": r.details.get("stack_size"),
             "peak_mb": r.details.get("stack_peak_memory_mb")} for r in results]
    return {"part": spec["mode"], "runs": len(results), "threads": spec["threads"], "fused": spec.get("fused", True),
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "load_start": load0, "load_end": _load(), "results": rows}


def _start_child(fn: str, spec: dict) -> subprocess.Popen:
    code = (f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.bench_ensemble import {fn}; "
            "print(json.dumps(" + fn + "(json.loads(sys.argv[1]))))")
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(spec)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, "OMP_NUM_THREADS": str(spec.get("threads", 1))})


def _result(proc: subprocess.Popen) -> dict:
    stdout, stderr = proc.communicate()
    if proc.returncode:
        raise RuntimeError(stderr[-3000:])
    return json.loads(stdout.strip().splitlines()[-1])


def _child(fn: str, spec: dict) -> dict:
    return _result(_start_child(fn, spec))


def measure_parallel(k: int, epochs: int, processes: int) -> list[dict]:
    """How to use ``processes`` cores for K stacked runs: one stack of K with that many threads, or that many
    stacks of K / processes with one thread each, running at the same time (the sweep executor's choice)."""
    one = _child("measure_epoch", {"k": k, "threads": processes, "epochs": epochs})
    one["layout"] = f"1 stack x K={k}, {processes} threads"
    load0 = _load()
    t0 = time.perf_counter()
    procs = [_start_child("measure_epoch", {"k": k // processes, "threads": 1, "epochs": epochs, "seed": 100 * i})
             for i in range(processes)]
    parts = [_result(p) for p in procs]
    wall = time.perf_counter() - t0
    # throughput: model-epochs per second of all processes together, from each one's timed epochs
    par = {"part": "parallel", "layout": f"{processes} stacks x K={k // processes}, 1 thread each",
           "k": k // processes * processes, "model_epochs_per_s": round(sum(1 / p["s_per_model_epoch"] for p in parts), 2),
           "cpu_s_per_model_epoch": round(sum(p["cpu_s_per_model_epoch"] for p in parts) / len(parts), 4),
           "wall_s_all": round(wall, 1), "load_start": load0, "load_end": _load()}
    one["model_epochs_per_s"] = round(1 / one["s_per_model_epoch"], 2)
    return [one, par]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["epoch", "sweep", "single", "parallel"], default="epoch")
    ap.add_argument("--ks", default="1,7,49", help="stack sizes for --part epoch")
    ap.add_argument("--threads", default="1,2", help="CPU thread counts")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per measurement (epoch part) or per run")
    ap.add_argument("--grid", type=int, default=3, help="sweep part: an n x n λ grid")
    ap.add_argument("--seeds", type=int, default=1, help="sweep part: seeds per λ point (7 x 7 x 3 = 147 runs)")
    ap.add_argument("--singles", type=int, default=0,
                    help="sweep part: time only this many single runs and extrapolate to n x n (0 = all)")
    ap.add_argument("--stack-size", type=int, default=None, help="sweep part: K (default: from memory)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--unfused", action="store_true",
                    help="also time the generic RK4 loop under autograd (the engine before the fused PHOENIX node)")
    args = ap.parse_args(argv)
    variants = [True, False] if args.unfused else [True]
    dataset()  # simulate once, outside the timings
    threads = [int(t) for t in args.threads.split(",")]
    if args.part == "epoch":
        for th in threads:
            for k in (int(x) for x in args.ks.split(",")):
                for fused in variants:  # back to back, so that both see the same load
                    print(json.dumps(_child("measure_epoch", {"k": k, "threads": th, "epochs": args.epochs,
                                                              "device": args.device, "fused": fused})), flush=True)
    elif args.part == "parallel":
        for k in (int(x) for x in args.ks.split(",")):
            for row in measure_parallel(k, args.epochs, max(threads)):
                print(json.dumps(row), flush=True)
    elif args.part == "single":
        for th in threads:
            for fused in variants:
                print(json.dumps(_child("measure_runs", {"k": 1, "threads": th, "epochs": args.epochs, "mode": "single",
                                                         "device": args.device, "fused": fused})), flush=True)
    else:
        n_runs = args.grid * args.grid * args.seeds
        for th in threads:
            spec = {"grid": args.grid, "seeds": args.seeds, "threads": th, "epochs": args.epochs,
                    "device": args.device, "stack_size": args.stack_size}
            stacked = _child("measure_runs", {**spec, "mode": "stacked"})
            print(json.dumps(stacked), flush=True)
            single = _child("measure_runs", {**spec, "mode": "single", "singles": args.singles})
            scale = n_runs / single["runs"]
            single["singles_wall_s_for_all"] = round(single["wall_s"] * scale, 1)
            single["singles_cpu_s_for_all"] = round(single["cpu_s"] * scale, 1)
            single["extrapolated"] = single["runs"] < n_runs
            print(json.dumps(single), flush=True)
            print(json.dumps({"grid": f"{args.grid}x{args.grid}", "seeds": args.seeds, "threads": th, "stacked_wall_s": stacked["wall_s"],
                              "singles_wall_s": single["singles_wall_s_for_all"],
                              "ratio_wall": round(stacked["wall_s"] / single["singles_wall_s_for_all"], 3),
                              "ratio_cpu": round(stacked["cpu_s"] / single["singles_cpu_s_for_all"], 3),
                              "singles_extrapolated_from": single["runs"]}), flush=True)


if __name__ == "__main__":
    main()

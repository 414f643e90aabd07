"""Speed, memory, solver-accuracy and structure-recovery benchmark of the PHOENIX core.

Usage (from the repository root)::

    python benchmarks/bench_phoenix.py                 # everything
    python benchmarks/bench_phoenix.py --part speed    # 350 genes x 150 trajectories, h = 40
    python benchmarks/bench_phoenix.py --part scale    # 2,000- and 11,000-gene synthetic models
    python benchmarks/bench_phoenix.py --part solver   # rk4 vs dopri5: time and agreement
    python benchmarks/bench_phoenix.py --part recovery # unpruned PHOENIX AUROC on SIM350-style data

Each measurement runs in a fresh subprocess so that peak memory (ru_maxrss) is its own.
Numbers are printed; nothing is asserted (speed targets are not tests).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _synthetic_expression(n_genes: int, n_traj: int, n_times: int, seed: int = 0):
    import numpy as np

    from dash_core.data import ExpressionData, Trajectory

    rng = np.random.default_rng(seed)
    times = np.arange(n_times, dtype=float) if n_times != 5 else np.array([0, 2, 3, 7, 9], dtype=float)
    trs = [Trajectory(str(i), times, rng.random((n_times, n_genes))) for i in range(n_traj)]
    return ExpressionData([f"g{i}" for i in range(n_genes)], trs)


def measure_epochs(spec: dict) -> dict:
    """Child-process worker: time a few epochs of the Trainer on the described problem."""
    import numpy as np
    import torch

    from dash_core.experiment import split_dataset
    from dash_core.integrate import SolverConfig
    from dash_core.models import ModelConfig, build_model
    from dash_core.train import TrainConfig, Trainer, cpu_threads_for

    threads = spec.get("threads") or cpu_threads_for(TrainConfig(), 4 * spec.get("genes", 350) * spec.get("hidden", 40))
    torch.set_num_threads(int(threads))
    if spec["data"] == "sim350":
        from dash_core.simulate import SimulationConfig, simulate

        ds = simulate(SimulationConfig.sim350(seed=0)).dataset
        expr, prior = ds.expression, ds.prior_matrix()
    else:
        expr = _synthetic_expression(spec["genes"], spec["trajectories"], spec["times"])
        rng = np.random.default_rng(1)
        n = spec["genes"]
        prior = np.zeros((n, n), dtype=np.float32)
        k = min(n * 5, n * n)
        prior[rng.integers(0, n, k), rng.integers(0, n, k)] = 1.0
    solver = SolverConfig(**spec.get("solver", {}))
    cfg = TrainConfig(max_epochs=spec["epochs"], patience=0, lambda_data=spec.get("lambda_data", 1.0),
                      batching=spec.get("batching", "trajectory"), batch_size=spec.get("batch_size", 16),
                      solver=solver, device="cpu")
    tr, va = split_dataset(expr, cfg, 0)
    model = build_model(expr.n_genes, ModelConfig(hidden=spec.get("hidden", 40)), seed=0)
    t0 = time.perf_counter()
    trainer = Trainer(model, tr, va, cfg, prior=prior if cfg.lambda_data < 1 else None, seed=0)
    setup = time.perf_counter() - t0
    trainer.train_loop()
    secs = [h["seconds"] for h in trainer.history]
    return {"setup_s": round(setup, 2), "epoch_s": [round(s, 3) for s in secs],
            "median_epoch_s": round(float(np.median(secs[1:] if len(secs) > 1 else secs)), 3),
            "peak_mb": round(_peak_mb(), 1), "threads": torch.get_num_threads()}


def _child(spec: dict) -> dict:
    code = (f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.bench_phoenix import measure_epochs; "
            "print(json.dumps(measure_epochs(json.loads(sys.argv[1]))))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def part_speed() -> None:
    print("## 350 genes x 150 trajectories (SIM350-style), h = 40, trajectory mode, rk4 (default)")
    for lam in (1.0, 0.99):
        r = _child({"data": "sim350", "epochs": 6, "threads": 1, "lambda_data": lam})
        print(f"threads=1 lambda_data={lam}: {r}")
    # Two threads on tiny matrix products: fine on an idle machine, many-fold slower when the cores are shared.
    r = _child({"data": "sim350", "epochs": 3, "threads": 2, "lambda_data": 1.0})
    print(f"threads=2 lambda_data=1.0: {r}")


def part_scale() -> None:
    print("## genome-scale synthetic models, h = 40, one 186-point trajectory, pairs mode (batch 16) as breast")
    for n in (2000, 11000):
        for lam in (1.0, 0.999):
            r = _child({"data": "synthetic", "genes": n, "trajectories": 1, "times": 186, "epochs": 3,
                        "batching": "pairs", "batch_size": 16, "lambda_data": lam})
            print(f"genes={n} lambda_data={lam}: {r}")


def part_solver() -> None:
    """Accuracy of the fixed-step default against the faithful adaptive solver, and their cost."""
    import torch

    from dash_core.experiment import RunConfig, run_experiment, split_dataset
    from dash_core.integrate import SolverConfig, integrate_pairs
    from dash_core.models import ModelConfig
    from dash_core.simulate import SimulationConfig, simulate
    from dash_core.train import TrainConfig

    print("## solver choice: train 20 epochs (rk4), then compare one-step predictions of each solver")
    ds = simulate(SimulationConfig.sim350(seed=0)).dataset
    res = run_experiment(ds, RunConfig(model=ModelConfig(hidden=40), train=TrainConfig(max_epochs=20, lambda_data=1.0)))
    model = res.model
    _, va = split_dataset(ds.expression, TrainConfig(), 0)
    from dash_core.data import make_pairs

    p = make_pairs(ds.expression.trajectories)
    x0, x1, dt = (torch.as_tensor(a, dtype=torch.float32) for a in (p.x0, p.x1, p.dt))
    with torch.no_grad():
        ref = integrate_pairs(model, x0, dt, SolverConfig.profile("faithful"))
    rows = []
    for name, cfg in [("dopri5 faithful (1e-7/1e-9)", SolverConfig.profile("faithful")),
                      ("dopri5 fast (1e-5/1e-7)", SolverConfig.profile("fast")),
                      ("rk4, 1 step / time unit", SolverConfig(method="rk4", steps_per_unit=1)),
                      ("rk4, 2 steps / time unit", SolverConfig(method="rk4", steps_per_unit=2))]:
        with torch.no_grad():
            pred = integrate_pairs(model, x0, dt, cfg)
        dev = float((pred - ref).abs().max())
        mse = float(((pred - x1) ** 2).mean())
        r = _child({"data": "sim350", "epochs": 3, "solver": dataclasses.asdict(cfg)})
        rows.append((name, dev, mse, r.get("median_epoch_s")))
    print(f"{'solver':32s} {'max|pred - faithful|':>22s} {'one-step MSE':>14s} {'s/epoch':>9s}")
    for name, dev, mse, s in rows:
        print(f"{name:32s} {dev:22.2e} {mse:14.6e} {s!s:>9s}")


def part_recovery() -> None:
    """Unpruned PHOENIX with the prior (lambda_data = 0.99) on 350-gene, 5 %-noise data: AUROC of |E| vs truth."""
    import numpy as np

    from dash_core import metrics as M
    from dash_core.experiment import RunConfig, run_experiment
    from dash_core.simulate import SimulationConfig, simulate

    print("## structure recovery: unpruned PHOENIX, lambda_data = 0.99, SIM350-style data, 5 % noise")
    sim = simulate(SimulationConfig.sim350(seed=0))
    ds = sim.dataset
    prior_auroc = M.auroc(ds.prior_matrix(), ds.truth_matrix())
    t0 = time.perf_counter()
    res = run_experiment(ds, RunConfig(strategy="none", seed=0))
    wall = time.perf_counter() - t0
    m = res.metrics
    d = res.details
    print(f"prior alone: AUROC {prior_auroc:.4f}")
    print(f"PHOENIX: AUROC {m['auroc']:.4f}, AUPRC {m['auprc']:.4f}, EPR {m['early_precision_ratio']:.2f}, "
          f"BA {m['balanced_accuracy']:.3f}, sparsity {m['sparsity']:.3f}, test MSE {m['test_mse']:.3e}, "
          f"epochs {m['epochs']} (best {m['best_epoch']}), wall {wall:.1f} s")
    print(f"column-normalised score (PHOENIX's ranking): AUROC {d['auroc_colnorm']:.4f}, AUPRC {d['auprc_colnorm']:.4f}")
    print(f"rows restricted to the prior's regulators (tf_only): AUROC {d['auroc_tf_only']:.4f}, "
          f"AUPRC {d['auprc_tf_only']:.4f}")
    truth = ds.truth_matrix()
    regulated = np.any(truth != 0, axis=0)
    frozen = ~np.any(res.effect != 0, axis=0)
    print(f"frozen genes (ReLU(g) = 0): {int(frozen.sum())} of {len(frozen)}, of which {int((frozen & regulated).sum())} "
          f"have true regulators ({int(np.abs(truth[:, frozen & regulated]).astype(bool).sum())} true edges lost); "
          f"multiplier gradient: {res.config.model.multiplier_grad}")


PARTS = {"speed": part_speed, "scale": part_scale, "solver": part_solver, "recovery": part_recovery}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=[*PARTS, "all"], default="all")
    a = ap.parse_args()
    for name, fn in PARTS.items():
        if a.part in (name, "all"):
            fn()
            print(flush=True)

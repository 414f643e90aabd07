"""Seconds per training epoch of the LEMBAS signaling model on the macrophage network.

Usage::

    python benchmarks/bench_signaling.py [--preset package] [--epochs 20] [--threads 1] [--stack 1,23] [--data DIR]
    python benchmarks/bench_signaling.py --network ligand-screen --preset self_prune_hc --epochs 10
    python benchmarks/bench_signaling.py --preset lembas_cv --at-cap --gradient bptt

Uses ``../shared/data/lembas/macrophage`` next to the repository when present (or
``--data``), else a generated random network of the same size (1,128 nodes, 5,732
edges, 12 ligands, 58 TFs, 23 conditions). For each stack size K (models trained in one
pass, as cross-validation does) it times a short run of the preset on the CPU (sparse
backend, BPTT; the spectral gradient of the preset) and prints seconds per epoch per
stack, per model, and the extrapolation to the preset's full epoch count; ``--compare``
adds the spec's gradient through the power iterations and the dense backend (K = 1).
Every line carries the 1-minute load average (the machine may be shared). CUDA
settings are added when a GPU is present.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dash_core.signaling.config import preset  # noqa: E402
from dash_core.signaling.data import SignalingData, load_signaling_data  # noqa: E402
from dash_core.signaling.stack import ModelStack, train_stack  # noqa: E402
from dash_core.signaling.synthetic import random_ground_truth, random_signed_network, synthetic_data  # noqa: E402
from dash_core.signaling.train import build_model, data_tensors, resolve_device  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "lembas" / "macrophage"


def ligand_screen_sized() -> tuple[SignalingData, str]:
    """A generated network of the high-coverage ligand screen's size (H.11): 1,262 nodes, 6,597 edges,
    60 ligands, 74 TFs, 103 conditions, plus 100 spurious edges' worth of extra edges (6,697 in all)."""
    pkn, ligs, tfs, signs = random_signed_network(1262, 60, 74, 6597 + 100, seed=0)
    truth = random_ground_truth(pkn, ligs, tfs, signs, seed=0)
    return synthetic_data(truth, 103, seed=0), "generated (ligand-screen-sized, + 100 edges for the spurious ones)"


def macrophage_or_generated(folder: Path) -> tuple[SignalingData, str]:
    """The macrophage data when the files exist, else a generated network of the same size."""
    files = [folder / f"macrophage-{k}.tsv" for k in ("Model", "Ligands", "TFs")]
    if all(f.exists() for f in files):
        return load_signaling_data(*files), "macrophage"
    pkn, ligs, tfs, signs = random_signed_network(1128, 12, 58, 5732, seed=0)
    truth = random_ground_truth(pkn, ligs, tfs, signs, seed=0)
    return synthetic_data(truth, 23, seed=0), "generated (macrophage-sized)"


def time_stack(data: SignalingData, config, k: int, epochs: int) -> tuple[float, float, float]:
    """(wall seconds and CPU seconds of this process per epoch of a stack of K models, each holding out
    ``test_size`` conditions (1 if a fraction), mean recurrence steps). CPU time is less sensitive than wall time to other jobs on the machine."""
    device = resolve_device(config.device)
    x, y = data_tensors(data, device)
    c = data.n_conditions
    n_test = max(1, int(config.test_size)) if config.test_size >= 1 else 1
    tests = [[(i * n_test + j) % c for j in range(n_test)] for i in range(k)]
    folds = [np.setdiff1d(np.arange(c), t) for t in tests]

    def run(n_epochs: int):
        cfg = replace(config, epochs=n_epochs, eval_every=n_epochs)
        stack = ModelStack([build_model(data, replace(cfg, seed=i), device=device) for i in range(k)], cfg)
        return train_stack(stack, x, y, train_sets=folds, test_sets=tests, seeds=list(range(k)))

    run(1)  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    histories, _ = run(epochs)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall / epochs, cpu / epochs, float(histories[0]["steps"].mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="package", help="package, lembas_cv, self_prune or self_prune_hc")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--stack", default="1", help="comma-separated stack sizes K (e.g. 1,23)")
    parser.add_argument("--compare", action="store_true", help="also time the spec's power-iteration gradient and the dense backend")
    parser.add_argument("--gradient", choices=["bptt", "implicit"], help="override the preset's gradient")
    parser.add_argument("--at-cap", action="store_true", dest="at_cap",
                        help="time epochs whose recurrence runs all T_max steps (as late in training), not the start of "
                             "training: the convergence tolerance is set unreachably small, rho* kept")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--network", choices=["macrophage", "ligand-screen"], default="macrophage",
                        help="macrophage data (or a generated one of its size), or a generated ligand-screen-sized network")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data, label = macrophage_or_generated(args.data) if args.network == "macrophage" else ligand_screen_sized()
    base = preset(args.preset, device="cpu")
    if args.gradient:
        base = replace(base, gradient=args.gradient)
    if args.at_cap:
        # rho* = tol**(1/target_steps) is kept by scaling target_steps (a preset's spectral_target wins anyway)
        base = replace(base, tol=1e-30, target_steps=max(1, round(math.log(1e-30) / math.log(base.rho_star))))
    print(
        f"data: {label}; {data.pkn.n_nodes} nodes, {data.pkn.n_edges} edges, {data.n_conditions} conditions; "
        f"preset {args.preset} ({base.epochs} epochs, {base.gradient} gradient{', recurrence at its T_max cap' if args.at_cap else ''}); "
        f"torch {torch.__version__}, {args.threads} CPU thread(s)"
    )
    settings = [(f"cpu sparse {base.gradient} {base.spectral_gradient}", base, int(k)) for k in args.stack.split(",")]
    if args.compare:
        settings += [
            (f"cpu sparse {base.gradient} iterations", replace(base, spectral_gradient="iterations"), 1),
            (f"cpu dense  {base.gradient} eigenvector", replace(base, backend="dense"), 1),
        ]
    if torch.cuda.is_available():
        settings += [(f"cuda dense {base.gradient} {base.spectral_gradient}", replace(base, device="cuda"), int(k)) for k in args.stack.split(",")]
    for name, cfg, k in settings:
        sec, cpu, steps = time_stack(data, cfg, k, args.epochs)
        load = os.getloadavg()[0]
        print(
            f"{name:30s} K={k:3d}: {sec:.4f} s/epoch wall ({cpu:.4f} CPU) per stack, {sec / k:.4f} wall / {cpu / k:.4f} CPU "
            f"per model (mean {steps:.0f} recurrence steps); {cfg.epochs:,} epochs = {sec * cfg.epochs / 60:.1f} min wall, "
            f"{cpu * cfg.epochs / 60:.1f} min CPU per stack; load {load:.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

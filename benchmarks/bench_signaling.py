"""Seconds per training epoch of the LEMBAS signaling model on the macrophage network.

Usage::

    python benchmarks/bench_signaling.py [--epochs 20] [--threads 1] [--data DIR]

Uses ``../shared/data/lembas/macrophage`` next to the repository when present (or
``--data``), else a generated random network of the same size (1,128 nodes, 5,732
edges, 12 ligands, 58 TFs, 23 conditions). Times the self-pruning settings (full batch,
T_max 150) on the CPU with the sparse (edge-list) and dense backends, BPTT and implicit
gradients, and on CUDA when available. Prints one line per setting.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dash_core.signaling.config import self_prune_config  # noqa: E402
from dash_core.signaling.data import SignalingData, load_signaling_data  # noqa: E402
from dash_core.signaling.synthetic import random_ground_truth, random_signed_network, synthetic_data  # noqa: E402
from dash_core.signaling.train import fit  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "lembas" / "macrophage"


def macrophage_or_generated(folder: Path) -> tuple[SignalingData, str]:
    """The macrophage data when the files exist, else a generated network of the same size."""
    files = [folder / f"macrophage-{k}.tsv" for k in ("Model", "Ligands", "TFs")]
    if all(f.exists() for f in files):
        return load_signaling_data(*files), "macrophage"
    pkn, ligs, tfs, signs = random_signed_network(1128, 12, 58, 5732, seed=0)
    truth = random_ground_truth(pkn, ligs, tfs, signs, seed=0)
    return synthetic_data(truth, 23, seed=0), "generated (macrophage-sized)"


def time_epochs(data: SignalingData, epochs: int, **overrides) -> tuple[float, float]:
    """(seconds per epoch, mean recurrence steps) for a short self-pruning-preset run."""
    cfg = self_prune_config(epochs=epochs, eval_every=max(epochs, 1), **overrides)
    warm = replace(cfg, epochs=2)
    fit(data, warm)
    t0 = time.perf_counter()
    res = fit(data, cfg)
    seconds = (time.perf_counter() - t0) / epochs
    return seconds, float(res.history["steps"].mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data, label = macrophage_or_generated(args.data)
    print(
        f"data: {label}; {data.pkn.n_nodes} nodes, {data.pkn.n_edges} edges, {data.n_conditions} conditions; "
        f"torch {torch.__version__}, {args.threads} CPU thread(s)"
    )
    settings = [
        ("cpu", "sparse", "bptt"),
        ("cpu", "sparse", "implicit"),
        ("cpu", "dense", "bptt"),
    ]
    if torch.cuda.is_available():
        settings += [("cuda", "dense", "bptt"), ("cuda", "sparse", "bptt")]
    for device, backend, gradient in settings:
        sec, steps = time_epochs(data, args.epochs, device=device, backend=backend, gradient=gradient)
        print(
            f"{device:4s} {backend:6s} {gradient:8s}: {sec:.4f} s/epoch (mean {steps:.0f} recurrence steps); "
            f"5,000 epochs = {sec * 5000 / 60:.1f} min"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Real data: unpruned PHOENIX, DASH and BioPrune on the yeast and B-cell sets, against "no change" and the prior.

Usage::

    python benchmarks/bench_realdata.py [--sets yeast,hema] [--strategies none,dash,bioprune] [--seeds 1]
                                        [--max-epochs N] [--workers 2] [--out DIR]

For each set the files of ``../shared/data/real`` are read as published and
trained with the set's preset (``python -m dash_core presets``):

* **yeast** (500 genes, one 24-point series; the second series is the
  validation series): preset ``yeast``;
* **hema** (B-cell lineage, 529 genes, 2 training pseudotime trajectories,
  validation = blocks of time; 3 test trajectories): preset ``hema``.

Unpruned PHOENIX uses λ_data = 0.99 (the prior soft loss), DASH and BioPrune
the preset's λ and schedule. The table gives, per set and strategy: the
persistence ("no change") MSE and the model's MSE on the validation and the
test data with their ratio, the best epoch, the sparsity and average
out-degree of the network, agreement with the prior (AUROC of |E| against the
prior's edges) and the wall time; a "prior alone" row gives the prior's own
sparsity and out-degree (there is no gold standard for these sets).
``--max-epochs`` caps every run for a quick look (default: the presets',
200 / 240). Runs go to ``--out`` (default a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REAL = ROOT.parent / "shared" / "data" / "real"
SETS = {
    "yeast": {"preset": "yeast", "dir": "yeast_cellcycle_500", "expression": "pramila_500genes_1sample_24T.csv",
              "validation": "pramila_500genes_1VALsample_24T.csv", "test": None,
              "prior": "edge_prior_matrix_pramila_500.csv", "genes": "pramila500_gene_names.csv"},
    "hema": {"preset": "hema", "dir": "hematopoiesis_B_529", "expression": "hema_B_529genes_2samples.csv",
             "validation": None, "test": "hema_B_529genes_3testsamples.csv",
             "prior": "edge_prior_matrix_hema_529.csv", "genes": "hema_gene_names_529.csv"},
}


def load(name: str):
    """The published files of set ``name`` as a :class:`dash_core.data.Dataset`."""
    from dash_core.io import load_dataset

    s = SETS[name]
    d = REAL / s["dir"]
    ds, _ = load_dataset(d / s["expression"], d / s["prior"], genes=d / s["genes"],
                         test_expression=d / s["test"] if s["test"] else None,
                         validation_expression=d / s["validation"] if s["validation"] else None, name=name)
    return ds


def config(name: str, strategy: str, seed: int, max_epochs: int | None):
    from dash_core.experiment import RunConfig
    from dash_core.presets import apply_preset

    cfg = apply_preset(RunConfig(strategy=strategy, seed=seed), SETS[name]["preset"])
    train = replace(cfg.train, device="cpu", threads=1)
    if strategy == "none":
        train = replace(train, lambda_data=0.99)
    if max_epochs:
        train = replace(train, max_epochs=max_epochs)
    return replace(cfg, train=train)


def run_one(job: tuple[str, str, int, int | None, str]) -> dict:
    """Train one (set, strategy, seed) and return its table row."""
    import numpy as np

    from dash_core import metrics as M
    from dash_core.experiment import run_experiment, save_run

    name, strategy, seed, max_epochs, out = job
    ds = load(name)
    t0 = time.perf_counter()
    res = run_experiment(ds, config(name, strategy, seed, max_epochs))
    wall = time.perf_counter() - t0
    save_run(res, Path(out) / f"{name}_{strategy}_seed{seed}")
    m, d = res.metrics, res.details
    prior = (ds.prior_matrix() != 0).astype(float)
    return {"set": name, "strategy": strategy, "seed": seed,
            "val_persistence": m["val_mse_persistence"], "val_mse": m["val_mse"],
            "val_ratio": d["val_ratio_persistence"], "test_persistence": m["test_mse_persistence"],
            "test_mse": m["test_mse"], "test_ratio": d["test_ratio_persistence"],
            "best_epoch": m["best_epoch"], "epochs": m["epochs"], "sparsity": m["sparsity"],
            "out_degree": d["out_degree"], "auroc_vs_prior": M.auroc(np.abs(res.effect), prior),
            "did_not_learn": m["did_not_learn"], "wall_s": round(wall, 1)}


def prior_row(name: str) -> dict:
    """The prior as a network: its sparsity (share of zero entries) and average out-degree."""
    import numpy as np

    from dash_core import metrics as M

    p = load(name).prior_matrix()
    return {"set": name, "strategy": "prior alone", "sparsity": float(np.mean(p == 0)), "out_degree": M.out_degree(p)}


def _fmt(v, spec: str) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return format(v, spec)


def table(rows: list[dict]) -> str:
    cols = [("set", "s"), ("strategy", "s"), ("val_persistence", ".3g"), ("val_mse", ".3g"), ("val_ratio", ".2f"),
            ("test_persistence", ".3g"), ("test_mse", ".3g"), ("test_ratio", ".2f"), ("best_epoch", "d"),
            ("epochs", "d"), ("sparsity", ".3f"), ("out_degree", ".1f"), ("auroc_vs_prior", ".3f"),
            ("did_not_learn", "s"), ("wall_s", ".0f")]
    lines = ["| " + " | ".join(c for c, _ in cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c), f) for c, f in cols) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="yeast,hema")
    parser.add_argument("--strategies", default="none,dash,bioprune")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..K-1 (default 1)")
    parser.add_argument("--max-epochs", type=int, default=None, help="cap on epochs (default: the presets')")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if not REAL.exists():
        print(f"error: the real data are not at {REAL}", file=sys.stderr)
        return 2
    sets = [s.strip() for s in args.sets.split(",")]
    strategies = [s.strip() for s in args.strategies.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench_realdata_") as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        jobs = [(n, s, k, args.max_epochs, str(out)) for n in sets for s in strategies for k in range(args.seeds)]
        t0 = time.perf_counter()
        with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
            rows = list(pool.map(run_one, jobs))
        total = time.perf_counter() - t0
    ordered = []
    for n in sets:
        ordered += [r for r in rows if r["set"] == n] + [prior_row(n)]
    print(table(ordered))
    print(f"\n{len(jobs)} runs in {total:.0f} s with {args.workers} worker(s)")
    if args.out:
        Path(args.out, "bench_realdata.json").write_text(json.dumps(ordered, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

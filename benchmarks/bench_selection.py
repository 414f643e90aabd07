"""The recommended model of a sweep vs the paper's fixed λ and the gold-standard oracle (issue 13, item 7).

Usage::

    python -m dash_core simulate --preset sim350 --seed 0 --out D
    python -m dash_core sweep --expression D/expression.csv --prior D/prior.csv --ppi D/ppi.csv --truth D/truth.csv \\
        --test-expression D/test_expression.csv --lambda-ppi-grid 0.05,0.5,0.95 --lambda-motif-grid 0.05,0.5,0.95 \\
        --seeds 0,1 --patience 0 --workers 1 --out SWEEP
    python benchmarks/bench_selection.py --sweep SWEEP [--tolerance 0.05 0.1]

Reads every finished run's pruning path (``path.csv``; works on a sweep that is
still running or was interrupted) and prints, per seed and as the mean:

* **recommended**: :func:`dash_core.studies.selection.recommend` (validation MSE only) at each tolerance;
* **paper λ**: the run at (0.5, 0.05) as reported by its own best-validation checkpoint;
* **oracle**: the (λ, level) with the best balanced accuracy over the grid (uses the gold standard:
  a ceiling, never a way to choose);

with λ, pruning level, sparsity and balanced accuracy (scored afterwards). Also prints the validation
statistics behind the default tolerance: level-to-level relative changes of the seed-averaged
validation MSE and the seed-to-seed spread.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dash_core.studies.selection import aggregate_points, path_table, recommend  # noqa: E402

PAPER_LAMBDA = (0.5, 0.05)


def _at(table: pd.DataFrame, lp: float, lm: float, level: int) -> pd.DataFrame:
    return table[(table["lambda_ppi"] == lp) & (table["lambda_motif"] == lm) & (table["level"] == level)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", required=True, help="sweep folder (sweep.csv, runs/<key>/path.csv)")
    ap.add_argument("--tolerance", type=float, nargs="+", default=[0.05])
    ap.add_argument("--scan", action="store_true",
                    help="held-out calibration: recommended sparsity and BA for every tolerance 0-30 %% (run this on "
                         "a simulation other than the benchmark's, then use the chosen default unchanged)")
    args = ap.parse_args(argv)
    root = Path(args.sweep)
    runs = pd.read_csv(root / "sweep.csv")
    table = path_table(runs, root=root)
    if args.scan:
        return _scan(table)
    ok = runs[runs["status"] == "ok"]
    print(f"{len(ok)} finished runs: " + ", ".join(f"({r.lambda_ppi:g}, {r.lambda_motif:g}) s{int(r.seed)}"
                                                  for r in ok.itertuples()))
    rows = []
    for tol in args.tolerance:
        rec = recommend(table, tol)
        at = _at(table, rec.lambda_ppi, rec.lambda_motif, rec.level)
        rows.append({"model": f"recommended (tol {tol:.0%})", "lambda": f"({rec.lambda_ppi:g}, {rec.lambda_motif:g})",
                     "level": rec.level, "seeds": rec.seeds, "sparsity": at["sparsity"].mean(),
                     "sparsity_per_seed": " / ".join(f"{v:.3f}" for v in at["sparsity"]),
                     "ba": at["balanced_accuracy"].mean(),
                     "ba_per_seed": " / ".join(f"{v:.3f}" for v in at["balanced_accuracy"]),
                     "val_mse": at["val_mse"].mean()})
    paper = table[(table["lambda_ppi"] == PAPER_LAMBDA[0]) & (table["lambda_motif"] == PAPER_LAMBDA[1])
                  & table["reported"].astype(bool)]
    if len(paper):
        rows.append({"model": "paper λ, own best-val checkpoint", "lambda": f"{PAPER_LAMBDA}",
                     "level": " / ".join(str(int(v)) for v in paper["level"]),
                     "seeds": ",".join(str(int(s)) for s in paper["seed"]), "sparsity": paper["sparsity"].mean(),
                     "sparsity_per_seed": " / ".join(f"{v:.3f}" for v in paper["sparsity"]),
                     "ba": paper["balanced_accuracy"].mean(),
                     "ba_per_seed": " / ".join(f"{v:.3f}" for v in paper["balanced_accuracy"]),
                     "val_mse": paper["val_mse"].mean()})
    pts = aggregate_points(table)
    full = pts[pts["n_seeds"] == pts["n_seeds"].max()]  # points with every seed, like the recommendation
    if full["balanced_accuracy"].notna().any():
        best = full.loc[full["balanced_accuracy"].idxmax()]
        at = _at(table, best["lambda_ppi"], best["lambda_motif"], int(best["level"]))
        rows.append({"model": "oracle (best BA over grid x levels)",
                     "lambda": f"({best['lambda_ppi']:g}, {best['lambda_motif']:g})", "level": int(best["level"]),
                     "seeds": best["seeds"], "sparsity": best["sparsity"],
                     "sparsity_per_seed": " / ".join(f"{v:.3f}" for v in at["sparsity"]),
                     "ba": best["balanced_accuracy"],
                     "ba_per_seed": " / ".join(f"{v:.3f}" for v in at["balanced_accuracy"]),
                     "val_mse": best["val_mse"]})
    out = pd.DataFrame(rows)
    print(out.to_string(index=False, float_format=lambda v: f"{v:.4g}"))

    # validation statistics behind the default tolerance (no gold standard)
    steps, spreads = [], []
    for _, sub in pts.groupby(["lambda_ppi", "lambda_motif"]):
        sub = sub.sort_values("level")
        v = sub["val_mse"].to_numpy()
        steps += list(v[1:] / v[:-1] - 1)
    for _, sub in table.groupby(["lambda_ppi", "lambda_motif", "level"]):
        if sub["seed"].nunique() >= 2:
            spreads.append(sub["val_mse"].max() / sub["val_mse"].min() - 1)
    steps = np.asarray(steps)
    hi = pts["sparsity"] >= 0.85
    print(f"\nvalidation MSE, level to level (seed means, all levels): median {np.median(steps):+.1%}, "
          f"90th percentile {np.quantile(steps, 0.9):+.1%}, max {steps.max():+.1%}")
    if spreads:
        print(f"seed-to-seed spread at one (lambda, level): median {np.median(spreads):.1%}, "
              f"90th percentile {np.quantile(spreads, 0.9):.1%}")
    print(f"points with sparsity >= 0.85: {int(hi.sum())}; their val MSE relative to the best: "
          + ", ".join(f"{v / pts['val_mse'].min() - 1:+.1%}" for v in pts.loc[hi].sort_values('sparsity')['val_mse']))
    return 0


def _scan(table: pd.DataFrame) -> int:
    """Recommended point, sparsity and balanced accuracy (scored afterwards) for tolerances 0, 1, ..., 30 %."""
    rows = []
    for tol in np.round(np.arange(0.0, 0.305, 0.01), 2):
        rec = recommend(table, float(tol))
        at = _at(table, rec.lambda_ppi, rec.lambda_motif, rec.level)
        rows.append({"tolerance": f"{tol:.0%}", "lambda": f"({rec.lambda_ppi:g}, {rec.lambda_motif:g})",
                     "level": rec.level, "sparsity": at["sparsity"].mean(), "ba": at["balanced_accuracy"].mean(),
                     "ba_per_seed": " / ".join(f"{v:.3f}" for v in at["balanced_accuracy"]),
                     "val_mse_vs_best": f"{rec.val_mse / rec.best_val_mse - 1:+.1%}"})
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    # the one-standard-error rule is this rule with tolerance = SE of the best point's seed mean / its mean
    pts = aggregate_points(table.drop(columns=["balanced_accuracy", "auroc", "auprc"], errors="ignore"))
    pts = pts[pts["n_seeds"] == pts["n_seeds"].max()]
    best = pts.loc[pts["val_mse"].idxmin()]
    se = float(best["val_mse_sd"]) / np.sqrt(best["n_seeds"])
    print(f"one-standard-error rule: best point's SE = {se:.3g} = {se / best['val_mse']:.1%} of its mean "
          f"({int(best['n_seeds'])} seeds) -> same as tolerance {se / best['val_mse']:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CLI command ``pathways`` (methods A.6, G).

Reads a run folder written by ``python -m dash_core train`` (``model.pt``) and a
local GMT file, computes influence scores, the permutation and module tests and
(unless ``--no-gsea``) the gseapy analyses, and writes the CSV files of
:func:`dash_core.pathways.write_pathway_results`.
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from dash_core.cli.args import existing_file, positive_int
from dash_core.device import DEVICES
from dash_core.integrate import SolverConfig
from dash_core.io.errors import DashInputError
from dash_core.io.gmt import read_gmt
from dash_core.pathways import GseaConfig, InfluenceConfig, PathwayConfig, analyze_run, write_pathway_results


def register(subparsers) -> None:
    """Add the ``pathways`` subcommand."""
    p = subparsers.add_parser(
        "pathways", help="pathway analysis of a trained model: influence scores, permutation test, gseapy",
        description="Gene influence scores of a trained model (methods A.6), the influence-based permutation "
                    "test of each gene set (G.1), a module-coherence test on the influence matrix, and "
                    "gseapy preranked GSEA / over-representation with local gene sets only (G.2).")
    p.add_argument("--run", required=True, help="run folder written by `python -m dash_core train` (has model.pt)")
    p.add_argument("--gene-sets", required=True, type=existing_file, dest="gene_sets",
                   help="local gene sets in GMT format (name<TAB>description<TAB>genes...)")
    p.add_argument("--out", required=True, help="output folder")
    g = p.add_argument_group("influence scores (A.6)")
    g.add_argument("--samples", type=positive_int, default=200, help="random starts N_s (default 200, as in DASH)")
    g.add_argument("--start", choices=["centered", "unit"], default="centered",
                   help="start distribution: centered = U(-1/2, 1/2) (reference, default), unit = U(0, 1)")
    g.add_argument("--solver", choices=["run", "rk4", "dopri5", "euler", "faithful", "fast"], default="run",
                   help="ODE solver (default: the one the run was trained with)")
    g.add_argument("--batch-rows", type=positive_int, dest="batch_rows",
                   help="starts stacked per solver call (default 8192 on CPU, 65536 on CUDA)")
    g.add_argument("--device", choices=DEVICES, default="auto", help="default auto")
    g = p.add_argument_group("tests (G.1)")
    g.add_argument("--permutations", type=positive_int, default=500, help="permutations B (default 500)")
    g.add_argument("--alpha", type=float, default=0.05, help="level of the Bonferroni-corrected test (default 0.05)")
    g.add_argument("--min-set-size", type=positive_int, default=1, dest="min_set_size",
                   help="skip sets with fewer modelled genes (default 1; the module test needs 2)")
    g.add_argument("--seed", type=int, default=0, help="seed of starts and permutations (default 0)")
    g = p.add_argument_group("gseapy (G.2, offline)")
    g.add_argument("--no-gsea", action="store_true", dest="no_gsea", help="skip the gseapy analyses")
    g.add_argument("--gsea-permutations", type=positive_int, default=1000, dest="gsea_permutations",
                   help="preranked GSEA permutations (default 1000)")
    g.add_argument("--gsea-min-size", type=positive_int, dest="gsea_min_size",
                   help="gseapy min_size (default: 10, lowered to the smallest set's overlap for small collections)")
    g.add_argument("--gsea-max-size", type=positive_int, default=500, dest="gsea_max_size", help="default 500")
    g.add_argument("--ranking", choices=["log", "rank"], default="log",
                   help="GSEA ranking metric: log(influence) (default) or ranks")
    g.add_argument("--top-k", type=positive_int, default=10, dest="top_k",
                   help="top-k regulators / targets for over-representation (default 10)")
    g.add_argument("--threads", type=positive_int, default=1, help="gseapy threads (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_pathways)


def config_from_args(args: argparse.Namespace):
    """:class:`dash_core.pathways.PathwayConfig` from the parsed options (solver ``run`` -> None)."""
    if not 0 < args.alpha < 1:
        raise DashInputError(f"--alpha must lie between 0 and 1 (got {args.alpha}).")
    solver = None
    if args.solver in ("faithful", "fast"):
        solver = SolverConfig.profile(args.solver)
    elif args.solver != "run":
        solver = SolverConfig(method=args.solver)
    influence = InfluenceConfig(n_samples=args.samples, start=args.start, solver=solver,
                                max_batch_rows=args.batch_rows, seed=args.seed, device=args.device)
    gsea = GseaConfig(permutation_num=args.gsea_permutations, min_size=args.gsea_min_size,
                      max_size=args.gsea_max_size, ranking=args.ranking, threads=args.threads, seed=args.seed)
    return PathwayConfig(influence=influence, n_permutations=args.permutations, alpha=args.alpha,
                         min_set_size=args.min_set_size, top_k=args.top_k, run_gsea=not args.no_gsea, gsea=gsea,
                         seed=args.seed)


def _cmd_pathways(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    sets, report = read_gmt(args.gene_sets)
    for issue in report.issues:
        if issue.level != "info":
            print(str(issue), file=sys.stderr)
    bar = tqdm(total=100, desc="pathways", file=sys.stderr, disable=args.quiet, dynamic_ncols=True,
               bar_format="{l_bar}{bar}| {n:.0f}% [{elapsed}<{remaining}] {postfix}")

    def progress(fraction: float, message: str) -> None:
        bar.n = round(100 * fraction, 1)
        bar.set_postfix_str(message, refresh=False)
        bar.refresh()

    try:
        result = analyze_run(args.run, sets, config, progress=progress)
    finally:
        bar.close()
    result.report.extend(report)
    paths = write_pathway_results(result, args.out)
    for issue in result.report.issues:
        if issue.level != "info":
            print(str(issue), file=sys.stderr)
    t = result.pathways
    sig = int(t["significant"].sum())
    head = ", ".join(f"{r.pathway} (z={r.z:.2f}{'*' if r.significant else ''})" for r in t.head(3).itertuples())
    mods = result.modules
    mhead = ", ".join(f"{r.pathway} (z={r.z:.2f}{'*' if r.significant else ''})" for r in mods.head(3).itertuples())
    print(f"influence: {len(result.influence.scores)} genes in {result.influence.seconds:.1f} s on "
          f"{result.influence.device} (N_s = {config.influence.n_samples})\n"
          f"permutation test: {len(t)} pathways, {sig} Bonferroni-significant (normal approximation, "
          f"alpha {config.alpha}); top: {head}\n"
          f"module test: {int(mods['significant'].sum())} significant; top: {mhead}\n"
          f"wrote {', '.join(p.name for p in paths.values())} to {args.out}", file=sys.stderr)
    return 0


__all__ = ["register", "config_from_args"]

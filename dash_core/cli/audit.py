"""CLI command ``audit``: the prior audit of a run folder (which prior edges the data supports)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dash_core.audit import CATEGORIES, audit_run
from dash_core.cli.args import existing_dir, existing_file, fraction, nonneg_float, positive_int
from dash_core.io import read_network
from dash_core.io.errors import DashInputError
from dash_core.network import edges_to_matrix


def _cmd_audit(args: argparse.Namespace) -> int:
    prior = None
    if args.prior is not None:
        folder = Path(args.run)
        genes_file = folder / "genes.txt"
        if not genes_file.is_file():
            raise DashInputError("this run folder has no genes.txt.", source=str(folder))
        genes = [g for g in genes_file.read_text().splitlines() if g]
        edges, _ = read_network(args.prior, kind="prior")
        prior = edges_to_matrix(edges[edges["source"].isin(genes) & edges["target"].isin(genes)], genes)
    table, info = audit_run(args.run, prior=prior, keep=args.keep, high=args.high, min_support=args.min_support,
                            referee=not args.self_referee)
    counts = table["category"].value_counts()
    print(f"Prior audit of {args.run}: " + ", ".join(f"{int(counts.get(c, 0))} {c}" for c in CATEGORIES)
          + f" -> {Path(args.run) / 'prior_audit.csv'}")
    print(info["note"])
    if info.get("min_support") is not None:
        print(f"New edges listed: kept by the referee(s) at confidence >= {args.high:g} with support >= "
              f"{info['min_support']:.3g} (|E| relative to the average kept edge"
              + ("; the confirmed prior edges' 10th percentile)" if args.min_support is None else ")"))
    shown = table[table["category"] == CATEGORIES[0]].head(args.show)
    if len(shown):
        who = "referee runs" if info["referee"] == "unpruned" else "seeds"
        print(f"Least supported prior edges (dropped by most {who}; first {len(shown)}):")
        print(shown[["source", "target", "prior_weight", "confidence", "support"]].to_string(index=False))
    return 0


def register(subparsers) -> None:
    """Add the ``audit`` subcommand to the CLI."""
    p = subparsers.add_parser(
        "audit", help="prior audit of a run: unsupported prior edges, new data-supported edges, confirmed ones",
        description="Sort the prior's edges by how much the data supports them, for a run folder: a sweep's "
                    "OUT/recommended (all seeds at the recommended lambda and pruning level; confidence = fraction "
                    "of seeds keeping an edge) or any single run (confidence 0 or 1). A sweep's audit is refereed by "
                    "its unpruned baseline runs (strategy none, same seeds) when the sweep has them: they judge "
                    "edges by the data alone, keeping an edge when it is among their N strongest (N = the "
                    "recommended model's edge count). Writes RUN/prior_audit.csv. The prior is the one recorded "
                    "with the sweep, or --prior FILE.")
    p.add_argument("--run", required=True, type=existing_dir, help="run folder (model.pt; members.json for seeds)")
    p.add_argument("--prior", type=existing_file, default=None, help="prior network (default: the sweep's prior)")
    p.add_argument("--keep", type=fraction, default=0.5,
                   help="a prior edge kept by fewer than this fraction of seeds is 'unsupported' (default 0.5)")
    p.add_argument("--high", type=fraction, default=1.0,
                   help="a non-prior edge needs at least this confidence to be 'new, data-supported' (default 1)")
    p.add_argument("--min-support", type=nonneg_float, default=None, dest="min_support",
                   help="... and at least this |E| relative to the average kept edge (default: as strong as the "
                        "confirmed prior edges, i.e. their support's 10th percentile)")
    p.add_argument("--self-referee", action="store_true", dest="self_referee",
                   help="audit with the run's own seeds even when unpruned referee runs are recorded")
    p.add_argument("--show", type=positive_int, default=15, help="unsupported prior edges printed (default 15)")
    p.set_defaults(func=_cmd_audit)

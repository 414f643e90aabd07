"""CLI command ``simulate``: SIM350-style expression data with prior and ground truth (methods E)."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from dash_core.cli.args import eprint, fraction, nonneg_float, positive_int
from dash_core.simulate import SimulationConfig, simulate, write_simulation


def _cmd_simulate(args: argparse.Namespace) -> int:
    base = SimulationConfig.demo() if args.preset == "demo" else SimulationConfig.sim350()
    overrides: dict[str, Any] = {"seed": args.seed}
    if args.trajectories is not None:
        overrides["n_trajectories"] = args.trajectories
    if args.noise is not None:
        overrides["noise_sigma"] = args.noise
    if args.prior_corruption is not None:
        overrides["prior_corruption"] = args.prior_corruption
    if args.genes is not None and args.genes != base.n_genes:
        cfg = base.scaled(args.genes, **overrides)
    else:
        cfg = dataclasses.replace(base, **overrides)
    result = simulate(cfg)
    paths = write_simulation(result, args.out)
    eprint(f"Simulated {cfg.n_genes} genes x {cfg.n_trajectories} trajectories "
           f"(noise sigma {cfg.noise_sigma}); wrote {len(paths)} files to {args.out}")
    return 0


def register(sub) -> None:
    """Add the ``simulate`` subcommand."""
    p = sub.add_parser("simulate", help="simulate SIM350-style expression data with prior and ground truth")
    p.add_argument("--preset", choices=["sim350", "demo"], default="sim350", help="starting configuration")
    p.add_argument("--genes", type=positive_int, help="number of genes (counts scale with the SIM350 ratios)")
    p.add_argument("--trajectories", type=positive_int, help="training + validation trajectories (default 150)")
    p.add_argument("--noise", type=nonneg_float, help="observation noise sigma (default 0.025 = 5%% noise)")
    p.add_argument("--prior-corruption", type=fraction, dest="prior_corruption",
                   help="fraction of prior edges moved at random (default: tied to noise, sigma / 0.5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=_cmd_simulate)

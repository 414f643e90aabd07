"""CLI commands ``sweep`` (lambda grid or ASHA search, then selection) and ``benchmark`` (the paper's comparison)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from dash_core.audit import CATEGORIES, REFEREE_STRATEGY
from dash_core.cli.args import (
    add_data_arguments,
    add_executor_arguments,
    add_run_arguments,
    dataset_spec_from_args,
    duration,
    eprint,
    executor_config_from_args,
    existing_file,
    fraction,
    positive_int,
    progress_printer,
    run_config_from_args,
)
from dash_core.experiment import RunConfig
from dash_core.io.errors import DashInputError
from dash_core.presets import PRESETS
from dash_core.pruning import STRATEGIES
from dash_core.studies.asha import LAMBDA_SPACES, run_asha_search, run_halving_search
from dash_core.studies.datasets import DatasetSpec
from dash_core.studies.inputs import parse_grid, parse_percents, parse_seeds, parse_strategies
from dash_core.studies.paper_benchmark import BENCHMARK_PRESETS, run_benchmark
from dash_core.studies.selection import DEFAULT_TOLERANCE, REFEREE_DIR, finalize_sweep
from dash_core.studies.sweeps import run_sweep
from dash_core.studies.table import is_missing

#: Local worker processes of sweep, benchmark and tune when ``--workers`` is not given: one per CPU core, each with
#: one torch thread. Measured on 2 cores (``benchmarks/bench_ensemble.py --part parallel``): two single-threaded
#: stacks train more model-epochs per second than one stack with two threads (README, "Many models in one pass").
STUDY_WORKERS = os.cpu_count() or 1

def _seeds_option(args: argparse.Namespace, default: str) -> str | tuple[int, ...]:
    """The ``--seeds`` text, where ``--seed S`` (the option of ``train``) means ``--seeds S``: that one seed."""
    if args.seed is not None:
        if args.seeds is not None and parse_seeds(args.seeds, "--seeds") != (int(args.seed),):
            raise DashInputError(f"--seed {args.seed} and --seeds {args.seeds} disagree; give one of them.",
                                 source="--seed")
        if args.seed < 0:
            raise DashInputError(f"seed {args.seed} is negative; seeds are whole numbers >= 0.", source="--seed")
        return (int(args.seed),)  # a one-item list, never the count form
    return default if args.seeds is None else args.seeds


def _cmd_sweep(args: argparse.Namespace) -> int:
    args.seeds = _seeds_option(args, "0")
    if getattr(args, "search", "grid") in ("asha", "halving"):
        spec = dataset_spec_from_args(args)
        _, messages = spec.load()
        for m in messages:
            eprint(m)
        return run_search_from_args(args, spec, run_config_from_args(args))
    if args.lambda_ppi_grid is None or args.lambda_motif_grid is None:
        raise DashInputError("give --lambda-ppi-grid and --lambda-motif-grid (or use --search asha --trials N).",
                             source="--lambda-ppi-grid")
    ppi = parse_grid(args.lambda_ppi_grid, "--lambda-ppi-grid")
    motif = parse_grid(args.lambda_motif_grid, "--lambda-motif-grid")
    seeds = parse_seeds(args.seeds, "--seeds")
    strategy = args.strategy or "dash"
    STRATEGIES.get(strategy)
    cfg = run_config_from_args(args)
    executor = executor_config_from_args(args, local_workers=STUDY_WORKERS)
    spec = dataset_spec_from_args(args)
    dataset, messages = spec.load()  # validate once here, with the warnings shown to the user
    for m in messages:
        eprint(m)
    total = len(ppi) * len(motif) * len(seeds)
    eprint(f"[sweep] {strategy}: {len(ppi)} x {len(motif)} lambda points x {len(seeds)} seed(s) = {total} runs "
           f"-> {args.out}/sweep.csv ({executor.kind}, {executor.workers or 'auto'} worker(s))")
    df = run_sweep(spec, cfg, ppi, motif, strategy=strategy, seeds=seeds, out_dir=args.out, executor=executor,
                   on_point=progress_printer("sweep"))
    n_ok = int((df["status"] == "ok").sum()) if len(df) else 0
    n_failed = int((df["status"] == "failed").sum()) if len(df) else 0
    eprint(f"[sweep] finished: {n_ok} ok, {n_failed} failed" + (" (run the same command again to retry them)"
                                                                  if n_failed else ""))
    if n_ok == 0:
        raise DashInputError("no sweep point finished; see the error column of sweep.csv.", source=args.out)
    referee_dir = None
    if args.audit_referee == "unpruned" and strategy != REFEREE_STRATEGY and np.any(dataset.prior_matrix()):
        # the prior audit's referee: unpruned PHOENIX runs of the same seeds (resumable like the sweep)
        referee_dir = Path(args.out) / REFEREE_DIR
        eprint(f"[sweep] prior audit referee: unpruned PHOENIX (strategy none), seeds "
               f"{', '.join(str(s) for s in seeds)} -> {referee_dir}/sweep.csv (--audit-referee self skips it)")
        run_sweep(spec, cfg, [cfg.pruning.lambda_ppi], [cfg.pruning.lambda_motif], strategy=REFEREE_STRATEGY,
                  seeds=seeds, out_dir=referee_dir, executor=executor, on_point=progress_printer("referee"))
    selection = finalize_sweep(args.out, df, dataset, dataset_spec=spec.to_dict(), tolerance=args.tolerance,
                               strategy=strategy, referee_dir=referee_dir)
    print_selection(selection, args.out)
    return 0


def print_selection(sel: dict[str, Any], out_dir) -> None:
    """Print the recommended model of ``selection.json`` (:func:`dash_core.studies.selection.finalize_sweep`)."""
    print(f"Recommended lambda_ppi = {sel['lambda_ppi']:g}, lambda_motif = {sel['lambda_motif']:g}, pruning level "
          f"{sel['level']} (sparsity {sel['sparsity']:.3f}, validation MSE {sel['val_mse']:.4g}; {sel['rule']})")
    m = sel.get("metrics") or {}
    gold = [c for c in ("balanced_accuracy", "auroc", "auprc") if not is_missing(m.get(c))]
    if gold:
        print("  scored afterwards against the gold standard (not used to choose): "
              + ", ".join(f"{c} = {m[c]:.4g}" for c in gold))
    print(f"  model: {Path(out_dir) / sel['run_dir']} (seed {sel['seed']}; edges.csv has a confidence column over "
          f"seeds {sel['seeds']}); selection: {Path(out_dir) / 'selection.json'}")
    if sel.get("audit_referee"):
        counts = sel.get("audit") or {}
        print(f"  prior audit ({Path(out_dir) / sel['run_dir'] / 'prior_audit.csv'}: "
              + ", ".join(f"{int(counts.get(c, 0))} {c}" for c in CATEGORIES) + f"): {sel['audit_referee']}")


def _cmd_benchmark(args: argparse.Namespace) -> int:
    if args.strategy is not None:
        raise DashInputError("benchmark runs several strategies; use --strategies a,b,... instead of --strategy.",
                             source="--strategy")
    if args.preset in PRESETS and args.preset not in BENCHMARK_PRESETS and args.expression is None:
        raise DashInputError(f"--preset {args.preset} sets the training for real data; give your files "
                             "(--expression ...).", source="--preset")
    if args.expression is not None and args.preset in BENCHMARK_PRESETS and args.preset not in PRESETS:
        raise DashInputError(f"--preset {args.preset} simulates its data; leave out --expression or choose a run "
                             f"preset ({', '.join(PRESETS.names())}).", source="--preset")
    args.run_preset = args.preset if args.preset in PRESETS else None  # the training settings of the preset
    if args.expression is None and any(getattr(args, k) for k in ("prior", "truth", "ppi", "test_expression")):
        raise DashInputError("--prior/--truth/--ppi/--test-expression need --expression.", source="--expression")
    if args.expression is not None and args.genes is not None:
        raise DashInputError("--genes N sets the size of simulated data; with your own data leave it out "
                             "(use --gene-names for a gene-name file).", source="--genes")
    seeds = parse_seeds(_seeds_option(args, "3"), "--seeds", count_form=True)
    strategies = None if args.strategies is None else parse_strategies(args.strategies)
    noise = None if args.noise_levels is None else parse_percents(args.noise_levels)
    if noise is not None and (args.preset or "sim350") != "noise":
        raise DashInputError("--noise-levels is used with --preset noise only.", source="--noise-levels")
    cfg = run_config_from_args(args)
    executor = executor_config_from_args(args, local_workers=STUDY_WORKERS)
    data = None
    preset = None
    if args.expression is not None:
        data = dataset_spec_from_args(args, genes_attr="gene_names")
        _, messages = data.load()
        for m in messages:
            eprint(m)
    else:
        preset = args.preset or "sim350"
    eprint(f"[benchmark] {preset or 'your data'}{' with preset ' + args.preset if data is not None and args.preset else ''}: seeds {','.join(map(str, seeds))}, strategies "
           f"{', '.join(strategies) if strategies else 'all registered'} -> {args.out} "
           f"({executor.kind}, {executor.workers or 'auto'} worker(s))")
    tables = run_benchmark(preset, seeds, args.out, strategies, executor, data, base_config=cfg, n_genes=args.genes,
                           noise_percents=noise, strategy_settings=not args.shared_settings,
                           keep=_explicit_settings(args), on_point=progress_printer("benchmark"))
    print(tables.markdown)
    n_failed = int((tables.results["status"] == "failed").sum()) if len(tables.results) else 0
    eprint(f"[benchmark] wrote {tables.paths['benchmark']}, {tables.paths['summary']}, {tables.paths['summary_md']} "
           f"in {duration(tables.wall_seconds)}" + (f"; {n_failed} run(s) failed (run again to retry)"
                                                     if n_failed else ""))
    return 0


def _explicit_settings(args: argparse.Namespace) -> list[str]:
    """Strategy settings (:data:`~dash_core.studies.paper_benchmark.STRATEGY_SETTING_NAMES`) set on the command line."""
    keep = []
    if any(getattr(args, k, None) not in (None, False) for k in ("solver", "steps_per_unit", "adjoint",
                                                                  "max_step_rate")):
        keep.append("solver")
    if getattr(args, "multiplier_grad", None) is not None:
        keep.append("multiplier_grad")
    if any(getattr(args, k, None) is not None for k in ("first_epoch", "first_amount", "interval", "amount")):
        keep.append("schedule")
    return keep


def register(subparsers) -> None:
    """Add the ``sweep`` and ``benchmark`` subcommands to the CLI."""
    p = subparsers.add_parser(
        "sweep", help="train one model per (lambda_PPI, lambda_motif) grid point and recommend one by validation",
        description="Lambda sweep (methods B.8): one run per grid point and seed, written to OUT/sweep.csv as "
                    "they finish (rerun the same command to resume or retry failed points). Every run records its "
                    "pruning path (path.csv: one checkpoint per pruning level). The recommended model is the "
                    "sparsest (lambda, level) point whose validation MSE, averaged over seeds, is within "
                    "--tolerance of the best; it is written to OUT/recommended/ (edges.csv with a per-edge "
                    "confidence over seeds, prior_audit.csv) and described in OUT/selection.json. A gold standard "
                    "(--truth) is only scored, never used to choose. Use --patience 0 to follow the whole pruning "
                    "schedule. --strategy defaults to dash here; --seed S is the same as --seeds S.")
    add_data_arguments(p)
    g = p.add_argument_group("sweep")
    g.add_argument("--lambda-ppi-grid", default=None, metavar="LIST",
                   help="comma-separated lambda_PPI values in [0, 1], e.g. 0,0.05,0.25,0.5,0.75,0.95,0.995")
    g.add_argument("--lambda-motif-grid", default=None, metavar="LIST",
                   help="comma-separated lambda_motif values in [0, 1]")
    g.add_argument("--seeds", default=None, metavar="LIST",
                   help="comma-separated seeds per point (default 0; --seed S is the same as --seeds S)")
    g.add_argument("--tolerance", type=fraction, default=DEFAULT_TOLERANCE,
                   help="recommend the sparsest (lambda, pruning level) whose validation MSE, averaged over seeds, is "
                        f"within this fraction of the best (default {DEFAULT_TOLERANCE:g} = "
                        f"{DEFAULT_TOLERANCE * 100:g}%%); no gold standard is used")
    g.add_argument("--audit-referee", choices=("unpruned", "self"), default="unpruned", dest="audit_referee",
                   help="models that referee the recommended model's prior audit: 'unpruned' (default) also trains "
                        f"unpruned PHOENIX runs (strategy none) of the same seeds into OUT/{REFEREE_DIR}/, which judge "
                        "edges by the data alone; 'self' audits with the recommended DASH seeds, which favour their "
                        "prior")
    g.add_argument("--out", required=True, help="study folder (sweep.csv, runs/<point>/)")
    add_run_arguments(p)
    add_executor_arguments(p)
    register_search_arguments(p)
    p.set_defaults(func=_cmd_sweep)

    p = subparsers.add_parser(
        "benchmark", help="run every pruning strategy on simulated or your data; mean ± sd vs the paper",
        description="Benchmark (methods F.1): every registered strategy (or --strategies) x seeds on a preset's "
                    "simulated data or on your files. Writes OUT/benchmark.csv (one row per run, resumable), "
                    "OUT/summary.csv and OUT/summary.md (mean ± sd over seeds, the paper's values, wall time per "
                    "strategy). Presets: sim350 = 350 genes, 5% noise with the matching 5% corrupted prior; "
                    "noise = 0/5/10/20% noise (sigma 0, 0.025, 0.05, 0.1), prior corruption tied; "
                    "prior-corruption = 0/20/40% corrupted prior with noise-free expression (paper Table 6). "
                    "Every strategy runs with the settings the spec gives it (methods C: e.g. L0, C-NODE and "
                    "PathReg with dopri5 rtol = atol = 1e-3 and the reference ReLU gradient on g, unpruned PHOENIX "
                    "with the ReLU gradient; see `python -m dash_core strategies`); model, training and pruning "
                    "options you give apply to every strategy and override those settings.")
    g = p.add_argument_group("benchmark")
    g.add_argument("--preset", choices=list(dict.fromkeys([*BENCHMARK_PRESETS, *PRESETS.names()])), default=None,
                   help="simulated benchmark (sim350, noise, prior-corruption; default sim350 when no --expression "
                        "is given) or, with your files, the training settings of a run preset (breast, yeast, hema; "
                        "`python -m dash_core presets`)")
    g.add_argument("--seeds", default=None, metavar="K|LIST",
                   help="number of seeds K (seeds 0..K-1) or a list such as 0,1,2 (default 3). Each seed is one "
                        "simulation (network, noise, prior corruption) and the training seed; --seed S runs "
                        "seed S only")
    g.add_argument("--strategies", default=None, metavar="LIST",
                   help="comma-separated strategy names (default: all registered; see `python -m dash_core "
                        "strategies`)")
    g.add_argument("--genes", type=positive_int, default=None, metavar="N",
                   help="simulate N genes instead of 350 (counts scaled; a quicker, smaller benchmark)")
    g.add_argument("--noise-levels", default=None, metavar="LIST", dest="noise_levels",
                   help="--preset noise: paper noise levels in percent (default 0,5,10,20; 2.5 is also in E.4)")
    g.add_argument("--shared-settings", action="store_true", dest="shared_settings",
                   help="run every strategy with the same (shared) settings instead of the spec's per-strategy "
                        "solver and gene-multiplier gradient")
    g.add_argument("--out", required=True, help="study folder")
    d = p.add_argument_group("your data (instead of a preset)")
    d.add_argument("--expression", type=existing_file, help="expression time series (tidy or PHOENIX format)")
    d.add_argument("--prior", type=existing_file, help="prior TF->target network (needed by prior-based strategies)")
    d.add_argument("--truth", type=existing_file, help="gold-standard network for BA / AUROC / AUPRC")
    d.add_argument("--ppi", type=existing_file, help="optional PPI network")
    d.add_argument("--test-expression", type=existing_file, help="held-out test trajectories")
    d.add_argument("--val-expression", type=existing_file, dest="val_expression",
                   help="a separate validation series (same genes) that chooses every run's checkpoint")
    d.add_argument("--gene-names", type=existing_file, dest="gene_names",
                   help="gene-name file for PHOENIX-format expression / unlabelled matrices")
    d.add_argument("--minmax-scale", action="store_true", help="min-max scale expression to [0, 1]")
    add_run_arguments(p)
    add_executor_arguments(p)
    p.set_defaults(func=_cmd_benchmark)


# -- adaptive search (sweep --search asha) ---------------------------------------------
def register_search_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--search {grid,asha}``, ``--trials``, ``--grace-period``, ``--reduction-factor``, ``--lambda-space``.

    Meant for the ``sweep`` subcommand, whose ``--executor/--workers/--ray-address/--gpus-per-job``,
    ``--seeds``, ``--tolerance``, ``--out`` and run options
    :func:`run_search_from_args` also reads.
    """
    g = parser.add_argument_group("adaptive search (--search asha; needs Ray Tune)")
    g.add_argument("--search", choices=("grid", "asha", "halving"), default="grid",
                   help="grid: every point of --lambda-ppi-grid x --lambda-motif-grid (default); asha: sample "
                        "--trials points and stop the worse ones early with Ray Tune's ASHA scheduler on the "
                        "validation MSE; halving: the same points and rungs as successive halving on one stacked "
                        "model (no Ray, reproducible; --stack-size caps the trials per stack)")
    g.add_argument("--trials", type=positive_int, default=16, metavar="N",
                   help="asha: number of sampled (lambda_PPI, lambda_motif) points (default 16)")
    g.add_argument("--grace-period", type=positive_int, default=None, dest="grace_period", metavar="E",
                   help="asha: epochs before a trial can be stopped (default: pruning first epoch + interval)")
    g.add_argument("--reduction-factor", type=float, default=3.0, dest="reduction_factor", metavar="ETA",
                   help="asha: keep the best 1/ETA of the trials at each rung (default 3)")
    g.add_argument("--lambda-space", choices=LAMBDA_SPACES, default="logit", dest="lambda_space",
                   help="asha: sample lambdas uniformly in logit space (dense near 0 and 1; default) or uniformly")


def run_search_from_args(args: argparse.Namespace, dataset_spec: DatasetSpec, base_config: RunConfig) -> int:
    """Run ``sweep --search asha|halving`` from parsed arguments; print the selected point; return the exit code.

    Reads ``--trials``, ``--grace-period``, ``--reduction-factor``, ``--lambda-space``,
    ``--strategy`` (default dash), ``--seeds`` (one seed), ``--tolerance``,
    ``--out`` and the executor options: ``--executor ray``
    with ``--ray-address`` uses that cluster, otherwise a local Ray is started;
    ``--workers`` caps the concurrent trials and ``--gpus-per-job`` is reserved per trial.

    Raises
    ------
    DashInputError
        Grids given with ``--search asha``, several seeds, or bad ASHA settings.
    """
    if getattr(args, "lambda_ppi_grid", None) or getattr(args, "lambda_motif_grid", None):
        raise DashInputError("--search asha samples the lambdas itself (--trials points in [0, 1]); drop "
                             "--lambda-ppi-grid/--lambda-motif-grid or use --search grid.", source="--search")
    seeds = parse_seeds(getattr(args, "seeds", None) or "0", "--seeds")
    if len(seeds) != 1:
        raise DashInputError("--search asha trains one seed per point; give a single seed (--seeds 0).",
                             source="--seeds")
    executor = executor_config_from_args(args, local_workers=STUDY_WORKERS)
    strategy = getattr(args, "strategy", None) or "dash"
    tolerance = getattr(args, "tolerance", None)

    def show(row: dict[str, Any]) -> None:
        if row["status"] == "ok":
            what = f"val_mse {row.get('val_mse', float('nan')):.4g}, sparsity {row.get('sparsity', float('nan')):.3f}"
        elif row["status"] == "stopped":
            who = "successive halving" if row.get("condition") == "halving" else "ASHA"
            what = f"stopped by {who} after {row['epochs_spent']} epoch(s) (val_mse {row.get('val_mse') or 0:.4g})"
        else:
            lines = str(row.get("error") or "").strip().splitlines()
            what = "FAILED: " + (lines[-1] if lines else "no error message")
        print(f"[asha] {row['key']}: {what}", file=sys.stderr, flush=True)

    if getattr(args, "search", "asha") == "halving":
        print(f"[halving] {strategy}: {args.trials} trials as stacked models -> {args.out}/sweep.csv",
              file=sys.stderr, flush=True)
        df = run_halving_search(dataset_spec, base_config, trials=int(args.trials), strategy=strategy,
                                out_dir=args.out, grace_period=getattr(args, "grace_period", None),
                                reduction_factor=float(getattr(args, "reduction_factor", 3.0)), seed=seeds[0],
                                space=getattr(args, "lambda_space", "logit"), stack_size=executor.stack_size,
                                tolerance=tolerance, on_trial=show)
        return _report_search(df, args)
    print(f"[asha] {strategy}: {args.trials} trials -> {args.out}/sweep.csv (Ray "
          f"{executor.ray_address or 'local'}, {executor.workers or 'auto'} concurrent)", file=sys.stderr, flush=True)
    df = run_asha_search(dataset_spec, base_config, trials=int(args.trials), strategy=strategy, out_dir=args.out,
                         grace_period=getattr(args, "grace_period", None),
                         reduction_factor=float(getattr(args, "reduction_factor", 3.0)), seed=seeds[0],
                         space=getattr(args, "lambda_space", "logit"), ray_address=executor.ray_address,
                         cpus_per_trial=executor.cpus_per_job, gpus_per_trial=executor.gpus_per_job,
                         max_concurrent=executor.workers or None, max_retries=executor.max_retries,
                         tolerance=tolerance, on_trial=show)
    return _report_search(df, args)


def _report_search(df, args: argparse.Namespace) -> int:
    """Print the outcome of an adaptive search and the selected point; the exit code."""
    best = df.attrs.get("selection")
    counts = df["status"].value_counts().to_dict() if len(df) else {}
    print(f"[asha] finished: {counts.get('ok', 0)} trained to the end, {counts.get('stopped', 0)} stopped early, "
          f"{counts.get('failed', 0)} failed; {df.attrs.get('epochs_spent', 0)} epochs in all",
          file=sys.stderr, flush=True)
    if best is None:
        raise DashInputError("no trial finished; see the error column of sweep.csv.", source=str(args.out))
    print_selection(best, args.out)
    return 0

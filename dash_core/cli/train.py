"""CLI commands ``train`` (one model, pruned by a strategy) and ``strategies`` / ``models`` / ``presets``
(the registries)."""

from __future__ import annotations

import argparse

from dash_core.cli.args import (
    ProgressBar,
    add_data_arguments,
    add_run_arguments,
    eprint,
    load_data_from_args,
    run_config_from_args,
    run_summary_lines,
)
from dash_core.experiment import run_experiment, save_run
from dash_core.models import MODELS
from dash_core.presets import describe_presets
from dash_core.pruning import STRATEGIES


def _cmd_train(args: argparse.Namespace) -> int:
    dataset = load_data_from_args(args)
    cfg = run_config_from_args(args)
    bar = ProgressBar(cfg.train.max_epochs, desc=f"{cfg.model.model}/{cfg.strategy}", disable=args.quiet)
    try:
        result = run_experiment(dataset, cfg, progress=bar)
    finally:
        bar.close()
    save_run(result, args.out)
    m = result.metrics
    summary = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items()
                        if v is not None)
    eprint(f"done ({result.stop_reason}): {summary}\nwrote {args.out}/metrics.json, edges.csv, history.csv, "
           "config.json, model.pt")
    for line in run_summary_lines(result):
        eprint(line)
    if not result.details.get("min_sparsity_reached", True):
        eprint(f"warning: the run never reached --checkpoint-min-sparsity {cfg.train.checkpoint_min_sparsity:g}; "
               "the reported model is the best validation epoch overall. Train longer or prune more per event.")
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    for p in describe_presets():
        print(f"{p['name']}: {p['description']}\n    source: {p['citation']}")
        changes = ", ".join(f"{k}={v}" for k, v in p["settings"].items()) or "none (the defaults)"
        print(f"    changes: {changes}")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    reg = STRATEGIES if args.command == "strategies" else MODELS
    for e in reg.entries():
        prior = "" if "uses_prior" not in e.extra else ("  [uses prior]" if e.extra["uses_prior"] else "  [data only]")
        print(f"{e.name:12s} {e.description}{prior}\n{'':12s} {e.citation}")
        settings = e.extra.get("settings")
        if settings is not None and settings.describe() != "shared defaults":
            print(f"{'':12s} benchmark settings: {settings.describe()} ({settings.note})")
    return 0


def register(sub) -> None:
    """Add the ``train``, ``strategies`` and ``models`` subcommands."""
    p = sub.add_parser("train", help="train (and prune) one model; writes metrics, edges, history, config, checkpoint")
    add_data_arguments(p)
    add_run_arguments(p)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="also print informational validation notes")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("presets", help="list the run presets (the papers' settings per kind of data)")
    p.set_defaults(func=_cmd_presets)

    for name, what in (("strategies", "pruning strategies"), ("models", "base models")):
        p = sub.add_parser(name, help=f"list the {what}")
        p.set_defaults(func=_cmd_list)

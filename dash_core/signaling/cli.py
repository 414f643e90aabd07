"""``signaling`` command: train LEMBAS-style models, run the self-pruning study, simulate, demo.

Registered by the main CLI (``python -m dash_core signaling ...``) through :func:`register`.
Every handler is ``handler(args) -> int``; bad input raises
:class:`dash_core.io.errors.DashInputError`. Only the handlers that need plotly or scipy.stats import them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from dash_core.cli.args import add_executor_arguments, executor_config_from_args, number, positive_int
from dash_core.device import DEVICES
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.signaling.config import HELD_OUT_SIZE_TEXT, PRESETS, SignalingConfig, is_held_out_size, preset
from dash_core.signaling.cv import CVConfig, folds_to_run, make_folds, parse_folds, run_cv
from dash_core.signaling.data import load_signaling_data, write_table
from dash_core.signaling.synthetic import (
    random_ground_truth,
    random_signed_network,
    read_ground_truth,
    synthetic_data,
    write_demo,
    write_ground_truth,
)
from dash_core.signaling.train import fit, save_checkpoint


def _eprint(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


def _report_failed(failed: list, what: str, note: str = "") -> bool:
    """Print each failed ``(key, error)`` and how to retry; True if any failed."""
    if not failed:
        return False
    for key, error in failed:
        _eprint(f"[error] {key}: {error.splitlines()[0]}")
    _eprint(f"{len(failed)} {what} failed; run the same command again to retry them{note}.")
    return True


def _print_report(report: ValidationReport, verbose: bool = False) -> None:
    for issue in report.issues:
        if issue.level != "info" or verbose:
            _eprint(str(issue))


def _float_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 1e-6,1e-5,1e-4, got {text!r}") from None
    if not values or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected one or more numbers >= 0, got {text!r}")
    return values


def _seed_list(text: str) -> list[int]:
    """``K`` -> 0..K-1; otherwise comma-separated numbers and ranges: ``0,3,7``, ``12-22``, ``0,2-6,9-22``."""
    t = text.strip()
    usage = f"expected a count K (0..K-1), a list 0,3,7, a range 0-4 or both (0,2-6,9-22), got {text!r}"
    try:
        if "," not in t and ("-" not in t or t.startswith("-")):
            k = int(t)
            if k < 1:
                raise argparse.ArgumentTypeError("the count must be at least 1")
            return list(range(k))
        out: list[int] = []
        for item in (v.strip() for v in t.split(",")):
            if not item:
                continue
            if "-" in item and not item.startswith("-"):
                a, b = (int(v) for v in item.split("-", 1))
                if b < a:
                    raise argparse.ArgumentTypeError(f"range {item!r} runs backwards; write it as {b}-{a}")
                out.extend(range(a, b + 1))
            else:
                out.append(int(item))
    except ValueError:
        raise argparse.ArgumentTypeError(usage) from None
    if not out or any(v < 0 for v in out):
        raise argparse.ArgumentTypeError(usage)
    return sorted(set(out), key=out.index)


def _add_data_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("input data")
    g.add_argument("--pkn", required=True, help="prior knowledge network TSV: source, target, stimulation, inhibition")
    g.add_argument("--ligands", required=True, help="ligand table: rows = conditions, columns = ligand node IDs")
    g.add_argument("--tfs", required=True, help="TF activity table: rows = conditions, columns = TF node IDs, values in [0, 1]")


def _held_out_size(text: str) -> float:
    """``--test-size``: a fraction in [0, 1) or a whole number of conditions (:func:`is_held_out_size`; the shared
    ``test_size`` range of the PHOENIX commands is a fraction only, so this option names its own parser)."""
    value = number(float, what=HELD_OUT_SIZE_TEXT)(text)
    if not is_held_out_size(value):
        raise argparse.ArgumentTypeError(f"must be {HELD_OUT_SIZE_TEXT}, got {text}")
    return value


#: What ``signaling cv --test-size`` says: the folds are the held-out sets there.
CV_TEST_SIZE_TEXT = ("not used by cv: each fold's held-out conditions are its test set (choose them with --folds loo|K); "
                     "--validation-size holds out training conditions for validation")


def _add_training_arguments(p: argparse.ArgumentParser, *, default_preset: str, seed: bool = True,
                            folds: bool = False) -> None:
    g = p.add_argument_group("model and training")
    g.add_argument("--preset", choices=list(PRESETS), default=default_preset,
                   help="starting settings: " + "; ".join(f"{e.name}: {e.description}" for e in PRESETS.entries())
                        + f" (default: {default_preset})")
    g.add_argument("--config", help="a config.json of an earlier run to start from (overrides --preset)")
    g.add_argument("--epochs", type=positive_int, help="training epochs (default 5000)")
    if seed:
        g.add_argument("--seed", type=int, help="seed (default 0)")
    g.add_argument("--device", choices=DEVICES, help="default auto (CUDA when available)")
    g.add_argument("--test-size", type=_held_out_size, dest="test_size",
                   help=CV_TEST_SIZE_TEXT if folds else
                   "held-out conditions: fraction in (0, 1) or a count (package default 0.2, self_prune 0.05)")
    g.add_argument("--lr-max", type=float, dest="lr_max", help="peak learning rate of the cosine schedule")
    g.add_argument("--batch-size", type=int, dest="batch_size", help="conditions per step; 0 = full batch")
    g.add_argument("--gradient", choices=["bptt", "implicit"], help="back-propagation through time (default) or implicit adjoint")
    g.add_argument("--backend", choices=["auto", "dense", "sparse"], help="auto: sparse edge list on CPU, dense on CUDA")
    g.add_argument("--max-steps", type=positive_int, dest="max_steps", help="recurrence steps T_max (default 150)")
    g.add_argument("--eval-every", type=positive_int, dest="eval_every", help="test evaluation interval in epochs (default 50)")
    g.add_argument("--validation-size", type=int, dest="validation_size",
                   help="training conditions held out for validation (monitored every --eval-every epochs; default 0)")
    g.add_argument("--checkpoint", choices=["last", "best_validation"],
                   help="keep the last epoch (default) or the epoch with the best validation r (needs --validation-size)")
    g.add_argument("--threads", type=positive_int,
                   help="torch CPU threads (per job for selfprune; default: torch's, or CPUs / workers in worker processes)")


def _training_config(args: argparse.Namespace, *, l2: float | None = None):
    if getattr(args, "config", None):
        path = Path(args.config)
        try:
            meta = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DashInputError(f"cannot read the settings ({exc}).", source=str(path)) from None
        base = SignalingConfig.from_dict(meta.get("config", meta))
    else:
        base = preset(args.preset)
    overrides: dict[str, Any] = {}
    for name in ("epochs", "seed", "device", "test_size", "lr_max", "gradient", "backend", "max_steps", "eval_every", "validation_size", "checkpoint"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    if getattr(args, "batch_size", None) is not None:
        overrides["batch_size"] = None if args.batch_size <= 0 else args.batch_size
    if l2 is not None:
        overrides["lambda_l2"] = l2
    return replace(base, **overrides)


def _load(args: argparse.Namespace):
    data = load_signaling_data(args.pkn, args.ligands, args.tfs)
    _print_report(data.report, getattr(args, "verbose", False))
    return data


def _write_figure(fig, path: Path) -> list[Path]:
    """Write ``path`` (.html, with plotly.min.js once in the same folder, so it works offline); also a .png when kaleido is installed."""
    fig.write_html(path, include_plotlyjs="directory")
    written = [path]
    if importlib.util.find_spec("kaleido") is not None:
        png = path.with_suffix(".png")
        try:
            fig.write_image(png)
            written.append(png)
        except Exception as exc:  # noqa: BLE001 - a PNG export problem must not fail the run
            _eprint(f"[warning] PNG export failed ({exc}); the HTML figure was written.")
    return written


# --------------------------------------------------------------------------- train


def _cmd_train(args: argparse.Namespace) -> int:
    from dash_core.signaling import plots  # lazy: plotly (~2 s at every CLI start on a busy machine)

    if args.threads:
        torch.set_num_threads(args.threads)
    data = _load(args)
    cfg = _training_config(args, l2=args.l2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=cfg.epochs, desc="signaling", unit="epoch", file=sys.stderr, disable=args.quiet, dynamic_ncols=True)

    def progress(info) -> None:
        bar.n = info.epoch
        bar.set_postfix(loss=f"{info.loss:.3e}", test_mse=f"{info.test_mse:.3e}", test_r=f"{info.test_pearson:.3f}", refresh=False)
        bar.refresh()

    try:
        result = fit(data, cfg, progress=progress)
    finally:
        bar.close()
    save_checkpoint(out, result.model, cfg, extra={"pkn": str(args.pkn), "ligands": str(args.ligands), "tfs": str(args.tfs)})
    result.history.to_csv(out / "history.csv", index=False)
    result.predictions.to_csv(out / "predictions.csv", index_label="condition")
    result.model.edge_table().to_csv(out / "edges.csv", index=False)
    metrics = {k: (None if isinstance(v, float) and v != v else v) for k, v in result.metrics.items()}
    metrics["test_conditions"] = [data.conditions[i] for i in result.test_index]
    metrics["validation_conditions"] = [str(c) for c in result.predictions.index[result.predictions["split"] == "validation"]]
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    _write_figure(plots.training_curve_figure(result.history), out / "training_curves.html")
    _eprint(
        f"done: test Pearson r = {result.metrics['test_pearson']:.4f}, test MSE = {result.metrics['test_mse']:.4g} "
        f"({result.metrics['n_test']} test conditions), {result.metrics['seconds']:.1f} s\n"
        f"wrote {out}/model.pt, config.json, history.csv, metrics.json, predictions.csv, edges.csv, training_curves.html"
    )
    return 0


# --------------------------------------------------------------------------- selfprune


def _cmd_selfprune(args: argparse.Namespace) -> int:
    # lazy: plotly and scipy.stats (~2 s at every CLI start on a busy machine); only this command needs both
    from dash_core.signaling import plots
    from dash_core.signaling.selfprune import SelfPruneConfig, load_model_tables, run_selfprune

    data = _load(args)
    train_cfg = _training_config(args)
    study = SelfPruneConfig(
        n_spurious=args.spurious,
        l2_levels=tuple(args.l2),
        seeds=tuple(args.seeds),
        n_checkpoints=args.checkpoints,
        readout_every=args.readout_every,
        prune_block=args.prune_block,
        train=train_cfg,
    )
    executor = executor_config_from_args(args)
    if args.threads:
        executor = replace(executor, threads_per_job=args.threads)
    out = Path(args.out)
    total = len(study.l2_levels) * len(study.seeds)
    bar = tqdm(total=total, desc="self-pruning models", unit="model", file=sys.stderr, disable=args.quiet, dynamic_ncols=True)

    def on_model(done: int, _n: int, row, error) -> None:
        bar.update(1)
        if row is not None:
            bar.set_postfix(
                l2=f"{row['l2']:g}", seed=row["seed"], spur=f"{row['share_spurious_below_median']:.0f}%",
                pkn=f"{row['share_pkn_below_median']:.0f}%", refresh=False,
            )
        else:
            bar.write(f"[error] a model failed: {error.splitlines()[0] if error else ''}", file=sys.stderr)

    _eprint(
        f"{total} models ({len(study.l2_levels)} L2 levels x {len(study.seeds)} seeds), {study.n_spurious} spurious edges, "
        f"{train_cfg.epochs} epochs each; executor {executor.kind} with {executor.workers} worker(s)"
    )
    try:
        result = run_selfprune(data, study, out, executor=executor, on_model=on_model)
    finally:
        bar.close()
    if result.skipped:
        _eprint(f"[info] {result.skipped} model(s) were already in {out}/selfprune.csv and were not redone.")
    written = []
    if not result.table.empty:
        written += _write_figure(plots.readout_heatmap(result.table), out / "readout_heatmap.html")
        written += _write_figure(plots.weight_ecdf_figure(load_model_tables(out, "edges")), out / "weight_ecdf.html")
        written += _write_figure(plots.pruning_curve_figure(load_model_tables(out, "pruning")), out / "pruning_curves.html")
        written += _write_figure(plots.checkpoint_share_figure(load_model_tables(out, "trace")), out / "checkpoint_shares.html")
        cols = ["share_spurious_below_median", "share_pkn_below_median", "share_pkn_unknown_below_median", "ks_statistic", "test_pearson"]
        means = result.table.groupby("l2")[cols].mean()
        _eprint("mean over seeds per L2:\n" + means.to_string(float_format=lambda v: f"{v:.3f}"))
    _eprint(f"wrote {out}/selfprune.csv, selfprune_summary.csv and {len(written)} figure file(s)")
    if _report_failed(result.failed, "model(s)"):
        return 1
    return 0


# --------------------------------------------------------------------------- cv


def _cmd_cv(args: argparse.Namespace) -> int:
    if args.test_size is not None:  # before reading the data: the message is about the command line
        raise DashInputError(f"--test-size is {CV_TEST_SIZE_TEXT}.")
    data = _load(args)
    train_cfg = _training_config(args, l2=args.l2)
    cv = CVConfig(folds=parse_folds(args.folds), stack_size=args.stack, split_seed=args.split_seed, train=train_cfg)
    executor = executor_config_from_args(args)
    if args.threads:
        executor = replace(executor, threads_per_job=args.threads)
    out = Path(args.out)
    n_folds = len(make_folds(data.n_conditions, cv.folds, cv.split_seed))
    pending = folds_to_run(n_folds, out, args.only)
    finished = n_folds - len(folds_to_run(n_folds, out))
    _eprint(
        f"{n_folds} folds ({'leave one condition out' if cv.folds == 'loo' else f'{cv.folds}-fold'}), preset {args.preset}, "
        f"{train_cfg.epochs} epochs, seed {train_cfg.seed}; training {len(pending)} now"
        + (f" ({finished} already finished in {out})" if finished else "")
        + f"; executor {executor.kind} with {executor.workers} worker(s), stacks of {cv.stack_size or 'all'} fold(s)"
    )
    bar = tqdm(total=len(pending), desc="folds", unit="fold", file=sys.stderr, disable=args.quiet, dynamic_ncols=True)

    def on_fold(done: int, _n: int, row, error) -> None:
        if row is not None:
            bar.update(1)
            bar.set_postfix(fold=row["fold"], r=f"{row['test_pearson']:.3f}", refresh=False)
        else:
            bar.write(f"[error] a fold failed: {error.splitlines()[0] if error else ''}", file=sys.stderr)

    try:
        result = run_cv(data, cv, out, executor=executor, on_fold=on_fold, only=args.only)
    finally:
        bar.close()
    s = result.summary
    if s.get("pooled_pearson") is not None:
        _eprint(
            f"{s['folds']} of {s['folds_total']} folds: pooled Pearson r = {s['pooled_pearson']:.4f} over {s['held_out_values']} "
            f"held-out values (training-mean baseline {s['baseline_pooled_pearson']:.4f}); mean per-fold r = "
            f"{s['mean_fold_pearson']:.4f}; {s['wall_seconds'] / 60:.1f} min of training"
        )
        if s.get("ridge_pooled_pearson") is not None:
            _eprint(
                f"  linear baselines of the ligand inputs (ridge, penalty by leave-one-out on each fold's training "
                f"conditions): additive r = {s['ridge_pooled_pearson']:.4f}, with ligand pairs r = "
                f"{s['ridge_pairwise_pooled_pearson']:.4f}"
            )
        if s.get("pooled_pearson_seen_ligands") is not None and s["folds_seen_ligands"] < s["folds"]:
            _eprint(
                f"  without the {s['folds'] - s['folds_seen_ligands']} fold(s) whose held-out ligands occur in no training "
                f"condition (LEMBAS leaves them out): pooled r = {s['pooled_pearson_seen_ligands']:.4f} over "
                f"{s['folds_seen_ligands']} folds"
            )
    _eprint(f"wrote {out}/cv.csv, summary.json, predictions.csv, per_tf.csv, predicted_vs_measured.html")
    if _report_failed(result.failed, "job(s)", " (finished folds are kept)"):
        return 1
    if not s.get("complete"):
        _eprint("not all folds are finished; run the same command again to complete them.")
    return 0


# --------------------------------------------------------------------------- simulate, demo


def _ligand_counts(text: str) -> tuple[int, ...]:
    """``--ligands-per-condition``: comma-separated positive counts, e.g. ``5`` or ``2,3,5``."""
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        counts = ()
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"expected positive whole numbers separated by commas (e.g. 5 or 2,3,5), got {text!r}")
    return counts


def _cmd_simulate(args: argparse.Namespace) -> int:
    if args.pkn and args.params:
        truth = read_ground_truth(args.pkn, args.params)
    elif args.pkn or args.params:
        raise DashInputError("Give both --pkn and --params (a network with its true parameters), or neither for a random network.")
    else:
        pkn, ligs, tfs, signs = random_signed_network(
            args.nodes, args.n_ligands, args.n_tfs, args.edges, seed=args.seed
        )
        truth = random_ground_truth(pkn, ligs, tfs, signs, seed=args.seed)
    data = synthetic_data(truth, args.samples, k_choices=args.ligands_per_condition, noise_sd=args.noise, seed=args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    truth.pkn.to_table().to_csv(out / "pkn.tsv", sep="\t", index=False)
    write_table(data.ligands, out / "ligands.tsv")
    write_table(data.tfs, out / "tfs.tsv")
    write_ground_truth(truth, out / "true_parameters.tsv")
    _eprint(
        f"simulated {args.samples} conditions: {truth.pkn.n_nodes} nodes, {truth.pkn.n_edges} edges, "
        f"{len(truth.ligands)} ligands, {len(truth.tfs)} TFs; wrote {out}/pkn.tsv, ligands.tsv, tfs.tsv, true_parameters.tsv"
    )
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    paths = write_demo(args.out)
    _eprint("wrote the signaling demo: " + ", ".join(str(p) for p in paths.values()))
    _eprint(
        f"try: python -m dash_core signaling train --pkn {paths['pkn']} --ligands {paths['ligands']} "
        f"--tfs {paths['tfs']} --preset self_prune --epochs 400 --test-size 5 --out {Path(args.out) / 'run'}"
    )
    return 0


# --------------------------------------------------------------------------- registration


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``signaling`` command and its subcommands ``train``, ``selfprune``, ``cv``, ``simulate``, ``demo``."""
    parser = subparsers.add_parser(
        "signaling",
        help="LEMBAS-style signaling models: train, self-pruning study, cross-validation, simulate, demo",
        description="Biology-informed recurrent signaling networks (LEMBAS) and the self-pruning study.",
    )
    sub = parser.add_subparsers(dest="signaling_command", metavar="SUBCOMMAND")
    sub.required = True

    p = sub.add_parser("train", help="train one model; writes checkpoint, config, history, metrics, predictions")
    _add_data_arguments(p)
    _add_training_arguments(p, default_preset="package")
    p.add_argument("--l2", type=float, help="L2 weight lambda_L2 (default 1e-6)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="also print informational validation notes")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("selfprune", help="self-pruning study: inject spurious edges, train over L2 levels and seeds")
    _add_data_arguments(p)
    _add_training_arguments(p, default_preset="self_prune", seed=False)
    g = p.add_argument_group("study")
    g.add_argument("--spurious", type=int, default=100, help="spurious edges injected per model (default 100)")
    g.add_argument("--l2", type=_float_list, default=[1e-6, 1e-5, 1e-4], help="comma-separated L2 levels (default 1e-6,1e-5,1e-4)")
    g.add_argument("--seeds", type=_seed_list, default=list(range(5)), help="K (seeds 0..K-1), a list 0,3,7 or a range 0-4 (default 5)")
    g.add_argument("--checkpoints", type=positive_int, default=20, help="checkpoint intervals (default 20: 21 checkpoints)")
    g.add_argument("--readout-every", type=positive_int, default=5, dest="readout_every", help="R1/R2 trace interval (default 5)")
    g.add_argument("--prune-block", type=positive_int, dest="prune_block", help="R4 block size (default 500, or 10 below 2,000 edges)")
    p.add_argument("--out", required=True, help="output folder (re-running resumes: finished models are kept)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="also print informational validation notes")
    add_executor_arguments(p)
    p.set_defaults(func=_cmd_selfprune)

    p = sub.add_parser(
        "cv",
        help="cross-validation: leave one condition out (default) or K-fold; pooled, per-fold and per-TF Pearson r",
        description="Train one model per fold on the other conditions and predict the held-out ones (LEMBAS's protocol). "
        "Writes cv.csv (one row per fold), summary.json (pooled_pearson, mean_fold_pearson, folds, wall_seconds, the "
        "training-mean baseline), predictions.csv, per_tf.csv and predicted_vs_measured.html. Re-running resumes.",
    )
    _add_data_arguments(p)
    _add_training_arguments(p, default_preset="package", folds=True)
    p.add_argument("--l2", type=float, help="L2 weight lambda_L2 (default: the preset's)")
    g = p.add_argument_group("cross-validation")
    g.add_argument("--folds", default="loo", help="'loo' (one fold per condition, default) or a number K >= 2 of folds")
    g.add_argument("--split-seed", type=int, default=0, dest="split_seed", help="seed of the K-fold partition (default 0)")
    g.add_argument("--stack", type=int, default=1,
                   help="folds trained together in one pass (default 1; 0 = all folds of a worker, best on a GPU)")
    g.add_argument("--only", type=_seed_list, metavar="FOLDS",
                   help="run only these fold numbers (0-based: a list 0,3,7, a range 12-22 or both, 0,2-6,9-22), "
                        "e.g. to share one run "
                        "folder between machines or processes; the summary covers every finished fold")
    p.add_argument("--out", required=True, help="output folder (re-running resumes: finished folds are kept)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--verbose", action="store_true", help="also print informational validation notes")
    add_executor_arguments(p)
    p.set_defaults(func=_cmd_cv)

    p = sub.add_parser("simulate", help="synthetic data from a network with known parameters (or a random network)")
    p.add_argument("--pkn", help="network TSV (with --params); omit both for a random network")
    p.add_argument("--params", help="true parameters: Source, Target, Type (Weight/Bias/Input/Projection), Value")
    p.add_argument("--samples", type=positive_int, default=100, help="conditions to simulate (default 100)")
    p.add_argument(
        "--ligands-per-condition", type=_ligand_counts, default=(2, 3, 5), dest="ligands_per_condition", metavar="K[,K...]",
        help="ligands set per condition, drawn uniformly from these counts (default 2,3,5 as in the self-pruning study; "
        "5 = LEMBAS's synthetic data-size screen)",
    )
    p.add_argument("--noise", type=float, default=0.0, help="Gaussian noise s.d. on TF activities (default 0)")
    p.add_argument("--nodes", type=positive_int, default=40, help="random network: nodes (default 40)")
    p.add_argument("--edges", type=positive_int, default=90, help="random network: edges (default 90)")
    p.add_argument("--n-ligands", type=positive_int, default=6, dest="n_ligands", help="random network: ligands (default 6)")
    p.add_argument("--n-tfs", type=positive_int, default=8, dest="n_tfs", help="random network: TFs (default 8)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("demo", help="write the small demo network, ligand and TF tables to a folder")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=_cmd_demo)
    return parser

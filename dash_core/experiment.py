"""One experiment: dataset + :class:`RunConfig` -> trained, pruned, scored model.

This is what the CLI's ``train`` command, the app's background jobs, sweeps and
benchmarks all call (:func:`run_experiment`), and how their outputs are written
and read back (:func:`save_run`, :func:`load_checkpoint`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from dash_core import metrics as M
from dash_core.config import config_from_dict, config_to_dict
from dash_core.data import Dataset, ExpressionData, make_pairs
from dash_core.device import resolve_device
from dash_core.integrate import integrate_pairs
from dash_core.io.errors import DashInputError
from dash_core.models import GRNModel, ModelConfig, build_model
from dash_core.network import matrix_to_edges
from dash_core.pruning import PriorKnowledge, PruningConfig, build_strategy
from dash_core.pruning.base import STRATEGIES
from dash_core.split import SplitConfig, resolve_batching, split_expression
from dash_core.stacking import memory_probe, plan_stacks, stack_key
from dash_core.timescale import TimeScale, scale_time
from dash_core.train import (
    PathRecorder,
    ProgressCallback,
    TrainConfig,
    Trainer,
    cpu_threads_for,
    train_stack,
)

CHECKPOINT_FORMAT = "dash-studio/grn-checkpoint-v1"
#: Format tag of ``path.pt`` (the best-validation state of every pruning level).
PATH_FORMAT = "dash-studio/grn-path-v1"
#: Columns of ``path.csv``: one row per pruning level (see :func:`score_path`).
PATH_COLUMNS = ["level", "first_epoch", "last_epoch", "best_epoch", "sparsity", "val_mse", "n_edges", "test_mse",
                "balanced_accuracy", "auroc", "auprc", "reported"]
#: From this many genes the path is scored without AUROC / AUPRC (one sort of n^2 pairs per level is then slow).
PATH_RANKING_MAX_GENES = 2000
#: Keys of ``metrics.json`` (a metric whose input is missing is null).
#: Every model metric that has a prior-alone counterpart (``prior_<key>``) is written beside it, and
#: ``val_mse`` / ``test_mse`` beside their persistence ("no change") baselines.
METRIC_KEYS = ["sparsity", "balanced_accuracy", "prior_balanced_accuracy", "auroc", "prior_auroc", "auprc",
               "prior_auprc", "auprc_ratio", "early_precision_ratio", "val_mse", "val_mse_persistence", "test_mse",
               "test_mse_persistence", "epochs", "best_epoch", "did_not_learn", "wall_seconds"]

#: ``edges.csv`` keeps at most this many edges (the largest |E|); ``details["edges_in_table"]`` says how many
#: it holds and ``n_edges`` how many non-zero entries E has. Only dense genome-scale networks reach it.
EDGE_TABLE_LIMIT = 1_000_000


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; saved as ``config.json`` and enough to re-create it.

    Attributes
    ----------
    model
        Architecture (:class:`dash_core.models.ModelConfig`).
    train
        Optimisation (:class:`dash_core.train.TrainConfig`).
    strategy
        Name of the pruning strategy in :data:`dash_core.pruning.STRATEGIES`.
    pruning
        Strategy options (:class:`dash_core.pruning.PruningConfig`).
    seed
        The one seed of the run: split, initialisation, probes, order, pruning.
    split
        How validation data are chosen without a separate validation series (:class:`dash_core.split.SplitConfig`).
    time_scale
        The time unit the ODE sees (:mod:`dash_core.timescale`): ``auto`` (default: pseudotime-like series are
        read by their order, others as given), ``none``, ``minmax``, ``gap`` or ``index``.
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    strategy: str = "none"
    pruning: PruningConfig = field(default_factory=PruningConfig)
    seed: int = 0
    split: SplitConfig = field(default_factory=SplitConfig)
    time_scale: TimeScale = "auto"

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        return config_from_dict(cls, data)

    def effective_lambda_data(self) -> float:
        """``train.lambda_data`` or, if unset, the strategy's default (A.3 table)."""
        if self.train.lambda_data is not None:
            return float(self.train.lambda_data)
        return float(STRATEGIES.get(self.strategy).obj.default_lambda_data)


@dataclass
class RunResult:
    """Outputs of :func:`run_experiment`.

    Attributes
    ----------
    metrics
        The ``metrics.json`` dict (keys :data:`METRIC_KEYS`).
    details
        All other measurements (validation MSE, true test MSE, off-diagonal BA, ...).
    effect
        ``(n, n)`` effect matrix E of the reported checkpoint, row = regulator, column = target (None for a run
        left unscored, see :func:`run_stack`).
    edges
        Non-zero entries of E as a ``source, target, weight`` table, by decreasing |weight|.
    history
        One row per epoch: ``epoch, phase, train_mse, val_mse, best_val_mse, sparsity, lr, seconds, ...``.
    model
        The trained model holding the reported (best-validation) checkpoint.
    config
        The run's configuration.
    genes
        Gene order of the model.
    stop_reason
        Why training ended.
    path
        The pruning path: one row per level, columns :data:`PATH_COLUMNS` (:func:`score_path`).
    path_states
        ``level -> state dict`` of each level's best-validation checkpoint (saved as ``path.pt``).
    """

    metrics: dict[str, Any]
    details: dict[str, Any]
    effect: np.ndarray | None
    edges: pd.DataFrame
    history: pd.DataFrame
    model: GRNModel
    config: RunConfig
    genes: list[str]
    stop_reason: str = ""
    path: pd.DataFrame | None = None
    path_states: dict[int, dict[str, torch.Tensor]] | None = None


def split_dataset(expr: ExpressionData, cfg: TrainConfig, seed: int, split: SplitConfig | None = None, *,
                  validation: ExpressionData | None = None) -> tuple[ExpressionData, ExpressionData | None]:
    """Training / validation trajectories by the rules of :mod:`dash_core.split` (seeded).

    ``cfg.val_fraction`` is the share of whole trajectories (or, with ``split.rule == "pairs"``, of pairs)
    held out; ``validation`` is a separate validation series, used whole.
    """
    s = split_expression(expr, val_fraction=cfg.val_fraction, seed=seed, config=split, validation=validation)
    return s.train, s.validation


@torch.no_grad()
def one_step_mse(model: GRNModel, expr: ExpressionData, cfg: TrainConfig, *, targets: ExpressionData | None = None) -> float:
    """One-step-ahead MSE (methods D.3): integrate from each observed point to the next.

    ``targets`` (same shape as ``expr``) replaces the comparison values, e.g. the
    noise-free test set for the "true" MSE.
    """
    p = make_pairs(expr.trajectories)
    q = make_pairs(targets.trajectories) if targets is not None else p
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    model.eval()
    pred = integrate_pairs(model, torch.as_tensor(p.x0, device=device, dtype=dtype),
                           torch.as_tensor(p.dt, device=device, dtype=dtype), cfg.solver)
    return float(M.mse(pred.cpu().numpy(), q.x1))


def run_experiment(dataset: Dataset, config: RunConfig, *, progress: ProgressCallback | None = None,
                   should_stop: Callable[[], bool] | None = None,
                   live_path: tuple[Any, dict[str, Any]] | None = None) -> RunResult:
    """Train, prune and score one model (a stack of one, see :func:`run_stack`).

    Parameters
    ----------
    dataset
        Expression, prior (and optional PPI, truth, test set) aligned to one gene index.
    config
        The run's :class:`RunConfig`.
    progress
        Per-epoch callback (CLI progress bar, app live panel).
    should_stop
        Cancellation poll; a cancelled run still returns its best checkpoint so far.
    live_path
        ``(csv_file, labels)``: write the pruning path so far there while training (see :func:`run_stack`).

    Returns
    -------
    RunResult
        Metrics of the best-validation checkpoint (methods D).
    """
    result = run_stack(dataset, [config], progress=progress, should_stop=should_stop,
                       live_paths=None if live_path is None else [live_path])[0]
    if isinstance(result, BaseException):
        raise result
    return result


def run_stack(dataset: Dataset, configs: list[RunConfig], *,
              progress: ProgressCallback | list[ProgressCallback | None] | None = None,
              should_stop: Callable[[], bool] | list[Callable[[], bool] | None] | None = None,
              score: Callable[[int], bool] | None = None,
              live_paths: list[tuple[Any, dict[str, Any]] | None] | None = None
              ) -> list[RunResult | BaseException]:
    """Train, prune and score K runs on one dataset as one stacked model (methods as in :func:`run_experiment`).

    The runs share the architecture, data, device and a fixed-step solver (:func:`dash_core.stacking.stack_key`)
    and may differ in seed (split, initialisation, probes, order), strategy, strategy options (λ), learning rate,
    epochs and early stopping. Every run gets what it would get alone (its own masks, optimiser, schedule,
    checkpoint and history), computed with batched kernels.

    Parameters
    ----------
    dataset
        The shared dataset.
    configs
        One :class:`RunConfig` per run (all with the same :func:`~dash_core.stacking.stack_key`).
    progress
        One callback for all runs or one per run.
    should_stop
        Cancellation poll: one for all runs or one per run (a cancelled run keeps its best checkpoint so far
        and leaves the stack; the others go on).
    score
        Asked after training, per run index: False returns the run unscored (its history, model and best
        validation MSE only; ``effect`` None), e.g. the trials a successive-halving search stopped. Default: all.
    live_paths
        Per run None or ``(csv_file, labels)``: the run's pruning path so far is written there while it
        trains (:class:`~dash_core.train.PathRecorder` ``live_file``), for live sweep curves.

    Returns
    -------
    list
        Per run its :class:`RunResult`, or the exception that ended it (the other runs go on).
    """
    if not configs:
        return []
    keys = {stack_key(c) for c in configs}
    if len(keys) > 1:
        raise ValueError("these runs cannot share a stack (different architecture, data handling, device or an "
                         "adaptive solver); group them with dash_core.stacking.plan_stacks")
    first = configs[0]
    threads = cpu_threads_for(first.train, 4 * dataset.n_genes * first.model.hidden)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _run_stack(dataset, configs, progress=progress, should_stop=should_stop, score=score,
                          live_paths=live_paths)
    finally:
        torch.set_num_threads(previous_threads)


def run_experiments(dataset: Dataset, configs: list[RunConfig], *, stack_size: int | None = None,
                    should_stop: Callable[[], bool] | None = None,
                    live_paths: list[tuple[Any, dict[str, Any]] | None] | None = None
                    ) -> list[RunResult | BaseException]:
    """Many runs on one dataset, trained in as few stacks as possible (one after the other), in input order.

    ``stack_size`` caps K (None = chosen from the available memory, :func:`dash_core.stacking.auto_stack_size`);
    ``live_paths``: per run, see :func:`run_stack`.
    """
    out: list[RunResult | BaseException | None] = [None] * len(configs)
    for group in plan_stacks(dataset, configs, stack_size=stack_size):
        live = None if live_paths is None else [live_paths[i] for i in group]
        for i, res in zip(group, run_stack(dataset, [configs[i] for i in group], should_stop=should_stop,
                                           live_paths=live)):
            out[i] = res
    return out


def _run_stack(dataset: Dataset, configs: list[RunConfig], *, progress, should_stop,
               score=None, live_paths=None) -> list[RunResult | BaseException]:
    t0 = time.perf_counter()
    prior = dataset.prior_matrix()
    ppi = dataset.ppi_matrix()
    for config in configs:
        if STRATEGIES.get(config.strategy).extra.get("uses_prior") and not np.any(prior):
            raise DashInputError(f"Strategy {config.strategy!r} uses prior knowledge, but the prior network is empty "
                                 "or none of its genes are in the expression data.")
    # members of a stack share the time unit (stack_key), so the data are rescaled once
    dataset, time_scale, time_note = scale_time(dataset, configs[0].time_scale)
    callbacks = progress if isinstance(progress, list) else [progress] * len(configs)
    stops = should_stop if isinstance(should_stop, list) else [should_stop] * len(configs)
    probe = memory_probe(resolve_device(configs[0].train.device))
    shared: dict = {}
    members = []
    lives = live_paths if live_paths is not None else [None] * len(configs)
    for config, callback, stop, live in zip(configs, callbacks, stops, lives):
        lam = config.effective_lambda_data()
        train_cfg = replace(config.train, lambda_data=lam,
                            batching=resolve_batching(dataset.expression, config.train.batching))
        split = split_expression(dataset.expression, val_fraction=train_cfg.val_fraction, seed=config.seed,
                                 config=config.split, validation=dataset.validation_expression)
        model = build_model(dataset.n_genes, config.model, seed=config.seed)
        strategy = build_strategy(config.strategy, config.pruning, PriorKnowledge(prior, ppi), config.seed)
        strategy.prepare_model(model)
        trainer = Trainer(model, split.train, split.validation, train_cfg, prior=prior if lam < 1 else None,
                          seed=config.seed, hooks=strategy, progress=callback, should_stop=stop, shared=shared,
                          path=PathRecorder() if live is None else PathRecorder(live_file=live[0], live_labels=live[1]))
        strategy.setup(trainer)
        members.append((config, train_cfg, split, strategy, trainer))
    outcomes = train_stack([m[4] for m in members], [lambda s=m[3], t=m[4]: s.fit(t) for m in members])
    peak_mb = probe.peak_mb()
    train_wall = time.perf_counter() - t0
    results: list[RunResult | BaseException] = []
    reference = None  # the dataset-only numbers, computed once for the whole stack
    for i, ((config, train_cfg, split, _, trainer), (stop_reason, error)) in enumerate(zip(members, outcomes)):
        if error is not None:
            results.append(error)
            continue
        stack = {"stack_size": len(configs), "stack_train_seconds": round(train_wall, 3), "stack_peak_memory_mb": peak_mb}
        if score is not None and not score(i):
            trainer.load_best()
            metrics = {**dict.fromkeys(METRIC_KEYS), "val_mse": trainer.best_val, "epochs": int(trainer.epoch),
                       "best_epoch": int(trainer.best_epoch)}
            results.append(RunResult(metrics, {"scored": False, "stop_reason": stop_reason, **stack}, None,
                                     pd.DataFrame(columns=["source", "target", "weight"]),
                                     pd.DataFrame(trainer.history), trainer.model, replace(config, train=train_cfg),
                                     list(dataset.genes), stop_reason))
            continue
        reference = reference or dataset_scores(dataset)
        results.append(_finish_run(dataset, config, train_cfg, split, trainer, stop_reason, (time_scale, time_note),
                                   train_seconds=train_wall / len(configs), stack_size=len(configs),
                                   stack_train_seconds=train_wall, peak_mb=peak_mb, reference=reference))
    return results


def _finish_run(dataset: Dataset, config: RunConfig, train_cfg: TrainConfig, split, trainer: Trainer,
                stop_reason: str, timing: tuple[str, str], *, train_seconds: float, stack_size: int, stack_train_seconds: float,
                peak_mb: float, reference: DatasetScores | None = None) -> RunResult:
    """Score one trained member of a stack; its wall time is its share of the stack's training plus its scoring."""
    t1 = time.perf_counter()
    time_scale, time_note = timing
    model = trainer.model
    levels = trainer.path.levels if trainer.path is not None else []
    trainer.load_best()
    model.eval()
    val_data, train_data = split.validation, split.train
    # Without held-out data the trainer monitors the training fit; val_mse and its baseline are then on those pairs.
    result = score_model(model, dataset, train_cfg, val_mse=trainer.best_val,
                         validation=val_data if val_data is not None else train_data, reference=reference)
    path = score_path(model, levels, dataset, train_cfg, reported_epoch=trainer.best_epoch,
                      reported=(trainer.best_state, result))
    trainer.load_best()
    model.eval()
    wall = train_seconds + (time.perf_counter() - t1)
    verdict = M.training_verdict(best_epoch=int(trainer.best_epoch), val_mse=result["metrics"]["val_mse"],
                                 val_mse_persistence=result["metrics"]["val_mse_persistence"],
                                 test_mse=result["metrics"]["test_mse"],
                                 test_mse_persistence=result["metrics"]["test_mse_persistence"],
                                 validation_rule=split.rule)
    result["metrics"].update(epochs=int(trainer.epoch), best_epoch=int(trainer.best_epoch), wall_seconds=round(wall, 3),
                             did_not_learn=verdict["did_not_learn"])
    result["details"].update(validation_rule=split.rule, validation_split=split.description, time_scale=time_scale,
                             time_note=time_note, batching=train_cfg.batching,
                             train_mse_at_best=_history_value(trainer.history, trainer.best_epoch, "train_mse"),
                             verdict_reasons=verdict["reasons"], verdict_advice=verdict["advice"],
                             val_ratio_persistence=verdict["val_ratio_persistence"],
                             test_ratio_persistence=verdict["test_ratio_persistence"])
    edges = matrix_to_edges(result["effect"], dataset.genes, max_edges=EDGE_TABLE_LIMIT)
    result["details"].update(stop_reason=stop_reason, lambda_data=train_cfg.lambda_data,
                             edges_in_table=int(len(edges)),
                             min_sparsity_reached=bool(trainer.min_sparsity_reached),
                             seconds_per_epoch=(wall / trainer.epoch if trainer.epoch else None),
                             stack_size=stack_size, stack_train_seconds=round(stack_train_seconds, 3),
                             stack_peak_memory_mb=peak_mb)
    return RunResult(result["metrics"], result["details"], result["effect"],
                     edges, pd.DataFrame(trainer.history), model,
                     replace(config, train=train_cfg), list(dataset.genes), stop_reason,
                     path=path, path_states={int(lv["level"]): lv["state"] for lv in levels
                                             if lv["state"] is not None})


def score_path(model: GRNModel, levels: list[dict[str, Any]], dataset: Dataset, cfg: TrainConfig, *,
               reported_epoch: int | None = None, reported: tuple[dict | None, dict] | None = None) -> pd.DataFrame:
    """Score the best-validation checkpoint of every pruning level (the pruning path).

    Parameters
    ----------
    model
        The run's model; its state is overwritten level by level (reload the reported
        checkpoint afterwards).
    levels
        :attr:`dash_core.train.PathRecorder.levels`.
    dataset
        The run's data: the truth (if any) gives BA / AUROC / AUPRC of each level (shown,
        never used to choose), the test set the test MSE.
    cfg
        Training settings (solver of the test MSE).
    reported_epoch
        The run's reported (best-validation) epoch; its level gets ``reported = True``.
    reported
        ``(state, score_model result)`` of the reported checkpoint when the caller scored it already: a level
        whose state is that very state dict takes its numbers instead of being scored again.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PATH_COLUMNS`, one row per level in order. ``n_edges`` counts the
        non-zero entries of E (row = regulator, column = target). AUROC / AUPRC are left
        empty from :data:`PATH_RANKING_MAX_GENES` genes on.
    """
    truth = dataset.truth_matrix()
    rows = []
    for lv in levels:
        if lv["state"] is None:
            continue
        row = {k: lv[k] for k in ("level", "first_epoch", "last_epoch", "best_epoch", "sparsity", "val_mse")}
        row.update(test_mse=None, balanced_accuracy=None, auroc=None, auprc=None,
                   reported=reported_epoch is not None and lv["first_epoch"] <= reported_epoch <= lv["last_epoch"])
        if reported is not None and lv["state"] is reported[0]:  # scored already (score_model)
            done = reported[1]
            row.update(n_edges=M.n_edges(done["effect"]), test_mse=done["metrics"]["test_mse"])
            if truth is not None:
                row.update(balanced_accuracy=done["metrics"]["balanced_accuracy"])
                if dataset.n_genes < PATH_RANKING_MAX_GENES:
                    row.update(auroc=done["metrics"]["auroc"], auprc=done["metrics"]["auprc"])
            rows.append(row)
            continue
        model.load_state_dict(lv["state"])
        model.eval()
        effect = model.effect_array()
        row["n_edges"] = M.n_edges(effect)
        if dataset.test_expression is not None:
            row["test_mse"] = one_step_mse(model, dataset.test_expression, cfg)
        if truth is not None:
            row["balanced_accuracy"] = M.balanced_accuracy(effect, truth)
            if dataset.n_genes < PATH_RANKING_MAX_GENES:
                row.update({k: v for k, v in M.ranking_metrics(effect, truth, epr=False).items()
                            if k in ("auroc", "auprc")})
        rows.append(row)
    return pd.DataFrame(rows, columns=PATH_COLUMNS)


def _history_value(history: list[dict[str, Any]], epoch: int, key: str) -> float | None:
    return next((float(r[key]) for r in history if r.get("epoch") == epoch), None)


def pairs_persistence_mse(expr: ExpressionData | None) -> float | None:
    """The "no change" baseline (:func:`dash_core.metrics.persistence_mse`) on all consecutive pairs of ``expr``."""
    if expr is None or not any(len(t.times) >= 2 for t in expr.trajectories):
        return None
    p = make_pairs(expr.trajectories)
    return M.persistence_mse(p.x0, p.x1)


@dataclass
class DatasetScores:
    """What scoring needs from the dataset alone, computed once and shared by every run of a stack or sweep.

    Attributes
    ----------
    truth, prior
        The gold standard (None without one) and the signed prior, ``(n, n)``, row = regulator, column = target.
    prior_metrics, prior_details
        The prior alone (``|P|`` as the score) scored like a model: ``prior_*`` entries of the metrics and details.
    gs_regulators
        Rows (regulators) the gold standard covers (None without one).
    test_persistence
        The test set's persistence ("no change") MSE, None without a test set.
    """

    truth: np.ndarray | None
    prior: np.ndarray
    prior_metrics: dict[str, Any]
    prior_details: dict[str, Any]
    gs_regulators: np.ndarray | None
    test_persistence: float | None


def dataset_scores(dataset: Dataset) -> DatasetScores:
    """The dataset-only numbers of :func:`score_model` (see :class:`DatasetScores`)."""
    truth = dataset.truth_matrix()
    prior = dataset.prior_matrix()
    prior_metrics: dict[str, Any] = {}
    prior_details: dict[str, Any] = {}
    gs = M.gold_standard_regulators(truth) if truth is not None else None
    if truth is not None and np.any(prior):
        prior_net = M.score_network(np.abs(prior), truth)
        prior_metrics.update(prior_balanced_accuracy=prior_net["balanced_accuracy"], prior_auroc=prior_net["auroc"],
                             prior_auprc=prior_net["auprc"])
        prior_details.update(prior_auprc_ratio=prior_net["auprc_ratio"],
                             prior_early_precision_ratio=prior_net["early_precision_ratio"])
        if 0 < gs.sum() < len(gs):
            r = M.score_network(np.abs(prior), truth, regulators=gs)
            prior_details.update(prior_balanced_accuracy_gs_regulators=r["balanced_accuracy"],
                                 prior_auroc_gs_regulators=r["auroc"], prior_auprc_gs_regulators=r["auprc"])
    return DatasetScores(truth, prior, prior_metrics, prior_details, gs,
                         pairs_persistence_mse(dataset.test_expression))


def score_model(model: GRNModel, dataset: Dataset, cfg: TrainConfig, *, val_mse: float | None = None,
                validation: ExpressionData | None = None, reference: DatasetScores | None = None) -> dict[str, Any]:
    """Metrics of a trained model (methods D): sparsity, network recovery, test MSE, and their baselines.

    Beside every network metric the prior alone (``|P|`` as the score, row = regulator, column = target)
    is scored the same way (``prior_*``); beside the validation / test MSE the persistence baseline.
    With a gold standard that covers only some regulators (ChIP-seq of a few TFs), the D.2 variant
    restricted to those regulators is in ``details`` (``*_gs_regulators``, for the model and the prior).
    ``reference``: the dataset's :func:`dataset_scores` when the caller scores many runs (computed here if None).
    """
    ref = dataset_scores(dataset) if reference is None else reference
    with torch.no_grad():
        model.eval()
        effect = model.effect_array()
        blocks = [b.detach().cpu().numpy() for b in model.sparsity_blocks()]
    truth, prior = ref.truth, ref.prior
    net = M.score_network(effect, truth)
    test_mse = test_true = None
    if dataset.test_expression is not None:
        test_mse = one_step_mse(model, dataset.test_expression, cfg)
        if dataset.test_expression_clean is not None:
            test_true = one_step_mse(model, dataset.test_expression, cfg, targets=dataset.test_expression_clean)
    metrics = {k: None for k in METRIC_KEYS}
    metrics.update(sparsity=M.sparsity(blocks), balanced_accuracy=net.get("balanced_accuracy"),
                   auroc=net.get("auroc"), auprc=net.get("auprc"), auprc_ratio=net.get("auprc_ratio"),
                   early_precision_ratio=net.get("early_precision_ratio"), test_mse=test_mse, val_mse=val_mse,
                   val_mse_persistence=pairs_persistence_mse(validation) if val_mse is not None else None,
                   test_mse_persistence=ref.test_persistence)
    details = {k: v for k, v in net.items() if k not in metrics}
    metrics.update(ref.prior_metrics)
    details.update(ref.prior_details)
    if truth is not None and np.any(prior):
        # D.5 ``tf_only``: candidate rows restricted to the prior's regulators.
        regulators = np.any(prior != 0, axis=1)
        tf_only = M.ranking_metrics(effect, truth, regulators=regulators, epr=False)
        details.update(auroc_tf_only=tf_only["auroc"], auprc_tf_only=tf_only["auprc"])
    if truth is not None:
        # D.2 for real data: rows restricted to the regulators the gold standard covers.
        gs = ref.gs_regulators
        details["gs_regulators"] = int(gs.sum())
        if 0 < gs.sum() < len(gs):
            r = M.score_network(effect, truth, regulators=gs)
            details.update({"balanced_accuracy_gs_regulators": r["balanced_accuracy"],
                            "auroc_gs_regulators": r["auroc"], "auprc_gs_regulators": r["auprc"]})
    details.update(val_mse=val_mse, test_mse_true=test_true)
    return {"metrics": metrics, "details": details, "effect": effect}


# -- persistence --------------------------------------------------------------------
def checkpoint_dict(model: GRNModel, config: RunConfig, genes: list[str]) -> dict[str, Any]:
    """A checkpoint made only of tensors and plain types (loads with ``weights_only=True``)."""
    return {"format": CHECKPOINT_FORMAT, "model": config.model.model, "n_genes": int(model.n_genes),
            "genes": list(genes), "config_json": json.dumps(config.to_dict()),
            "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}


def load_checkpoint(path, device: str = "cpu") -> tuple[GRNModel, RunConfig, list[str]]:
    """Load a checkpoint written by :func:`save_run` (``torch.load(weights_only=True)``).

    Returns the model (eval mode, masks and gates restored), its :class:`RunConfig` and gene order.
    """
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise DashInputError(f"Could not read the checkpoint: {exc}", source=str(path)) from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise DashInputError("This file is not a DASH Studio model checkpoint.", source=str(path))
    config = RunConfig.from_dict(json.loads(ck["config_json"]))
    model = build_model(int(ck["n_genes"]), config.model, seed=config.seed)
    strategy = build_strategy(config.strategy, config.pruning, PriorKnowledge(np.zeros((1, 1))), config.seed)
    strategy.prepare_model(model)
    model.load_state_dict(ck["state_dict"])
    model.to(resolve_device(device))
    model.eval()
    return model, config, list(ck["genes"])


def save_run(result: RunResult, out_dir) -> dict[str, Path]:
    """Write ``metrics.json``, ``metrics_detail.json``, ``edges.csv``, ``history.csv``, ``config.json``, ``model.pt``.

    With a pruning path also ``path.csv`` (one row per level) and ``path.pt`` (each level's
    best-validation state; :func:`load_level`).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ["metrics.json", "metrics_detail.json", "edges.csv", "history.csv",
                                            "config.json", "model.pt", "genes.txt"]}
    paths["metrics.json"].write_text(json.dumps({k: _plain(result.metrics.get(k)) for k in METRIC_KEYS}, indent=2))
    detail = {**{k: _plain(v) for k, v in result.metrics.items()}, **{k: _plain(v) for k, v in result.details.items()}}
    paths["metrics_detail.json"].write_text(json.dumps(detail, indent=2))
    result.edges.to_csv(paths["edges.csv"], index=False)
    result.history.to_csv(paths["history.csv"], index=False)
    paths["config.json"].write_text(json.dumps(result.config.to_dict(), indent=2))
    paths["genes.txt"].write_text("\n".join(result.genes) + "\n")
    torch.save(checkpoint_dict(result.model, result.config, result.genes), paths["model.pt"])
    if result.path is not None:
        paths["path.csv"] = out / "path.csv"
        result.path.to_csv(paths["path.csv"], index=False)
    if result.path_states:
        paths["path.pt"] = out / "path.pt"
        torch.save({"format": PATH_FORMAT, "levels": {str(k): {n: t.detach().cpu() for n, t in st.items()}
                                                      for k, st in result.path_states.items()}}, paths["path.pt"])
    return paths


def load_level(run_dir, level: int, device: str = "cpu") -> tuple[GRNModel, RunConfig, list[str]]:
    """The best-validation checkpoint of pruning level ``level`` of a saved run.

    Parameters
    ----------
    run_dir
        A folder written by :func:`save_run` (``model.pt`` and ``path.pt``).
    level
        A ``level`` of the run's ``path.csv``.

    Returns
    -------
    (model, config, genes)
        As :func:`load_checkpoint`, with that level's weights and masks.
    """
    run_dir = Path(run_dir)
    model, config, genes = load_checkpoint(run_dir / "model.pt", device=device)
    ppath = run_dir / "path.pt"
    try:
        data = torch.load(ppath, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise DashInputError(f"Could not read the pruning path: {exc}. Runs saved before path.pt existed have "
                             "only their reported checkpoint.", source=str(ppath)) from None
    if not isinstance(data, dict) or data.get("format") != PATH_FORMAT:
        raise DashInputError("This file is not a DASH Studio pruning path.", source=str(ppath))
    state = data["levels"].get(str(int(level)))
    if state is None:
        raise DashInputError(f"level {level} is not in this run's path (levels: {', '.join(data['levels'])}).",
                             source=str(ppath))
    model.load_state_dict(state)
    model.to(resolve_device(device))
    model.eval()
    return model, config, genes


def export_level(run_dir, level: int, dataset: Dataset, out_dir) -> Path:
    """Write pruning level ``level`` of a saved run as a run folder of its own (no retraining).

    The folder gets what :func:`save_run` writes for a run (``metrics.json``, ``edges.csv``,
    ``model.pt``, ...), scored on ``dataset`` (the run's data), with that level's checkpoint as the
    reported model; ``history.csv`` and ``path.csv`` are copied from the run.

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    run_dir = Path(run_dir)
    model, config, genes = load_level(run_dir, level)
    if list(genes) != list(dataset.genes):
        raise DashInputError("the dataset's genes differ from the run's; give the data the run was trained on.",
                             source=str(run_dir))
    path = pd.read_csv(run_dir / "path.csv")
    row = path[path["level"] == int(level)].iloc[0]
    scored = score_model(model, dataset, config.train, val_mse=float(row["val_mse"]))
    old = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").is_file() else {}
    scored["metrics"].update(epochs=old.get("epochs"), best_epoch=int(row["best_epoch"]),
                             wall_seconds=old.get("wall_seconds"))
    edges = matrix_to_edges(scored["effect"], genes, max_edges=EDGE_TABLE_LIMIT)
    scored["details"].update(level=int(level), source_run=str(run_dir), edges_in_table=int(len(edges)))
    history = pd.read_csv(run_dir / "history.csv") if (run_dir / "history.csv").is_file() else pd.DataFrame()
    result = RunResult(scored["metrics"], scored["details"], scored["effect"], edges, history, model, config,
                       list(genes), "level", path=path)
    save_run(result, out_dir)
    return Path(out_dir)


def _plain(v: Any) -> Any:
    if isinstance(v, (np.floating, np.integer)):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v

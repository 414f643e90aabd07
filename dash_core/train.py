"""The training loop (methods A.3-A.4, B.6): one-step-ahead fitting of a GRN model.

:class:`Trainer` owns the model, optimiser, plateau scheduler, early stopping
and best-validation checkpoint of one model; the stack engine (:class:`TrainingStack`,
:func:`train_stack`) runs the epochs of K >= 1 trainers together, with batched matrix
products over a :class:`~dash_core.models.stack.ModelStack` (a lone trainer is a stack
of one: one code path). Pruning strategies (``dash_core.pruning``) drive
it through a small API: :meth:`Trainer.train_loop`, :meth:`Trainer.reset_learning_rates`,
:meth:`Trainer.new_optimizer`, :meth:`Trainer.reset_best_tracking`,
:meth:`Trainer.load_best` and the hooks ``on_epoch_start`` / ``penalty`` /
``after_step`` of the strategy.

Why this module is long (about 1,100 lines): the single-run API and the stacked engine are one
code path (a lone trainer is a stack of one); splitting them would split that path.
"""

from __future__ import annotations

import copy
import csv
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch
from scipy import sparse

from dash_core.data import ExpressionData, make_pairs
from dash_core.device import resolve_device
from dash_core.integrate import (
    SolverConfig,
    fused_rk4_applies,
    integrate_pairs,
    is_fixed_step,
    model_rate,
    n_fixed_steps,
)
from dash_core.io.errors import DashInputError
from dash_core.metrics import sparsity as sparsity_of_blocks
from dash_core.models.base import GRNModel, stack_tensors
from dash_core.models.stack import ModelStack
from dash_core.optimizers import adam_step, zero_grads
from dash_core.pruning.base import Strategy
from dash_core.pruning.masks import total_unmasked
from dash_core.split import resolve_batching

Tensor = torch.Tensor


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (defaults: SIM350, methods A.4 and J).

    Attributes
    ----------
    lr
        Initial learning rate of every parameter group.
    g_lr_factor
        The gene-multiplier group ``g`` uses ``g_lr_factor * lr`` (5x, A.4).
    max_epochs
        Upper bound on epochs (E_max).
    patience
        Early stopping: stop after this many consecutive epochs without a strict
        improvement of the validation MSE (40 for SIM). 0 disables early stopping.
    checkpoint_min_sparsity
        Only checkpoints at least this sparse (methods D.1) are eligible as the reported
        best-validation model. 0 (default) = the spec's rule: every epoch is eligible. With
        s > 0, early stopping cannot fire before the model first reaches sparsity s; from then
        on the best validation MSE is tracked among eligible epochs only (patience counts from
        the first eligible epoch). If the run never gets that sparse, the best epoch overall is
        reported and the run's ``min_sparsity_reached`` is False. Use it to ask for "the best
        network that is at least s sparse", e.g. to compare strategies at a fixed sparsity.
    val_fraction
        Fraction of trajectories held out for validation (10 of 150 for SIM350),
        chosen at random with the run's seed (trajectory mode), or of pairs (pairs mode).
    batching
        ``"trajectory"``: one optimiser step per training trajectory with all its
        pairs (SIM, hema); ``"pairs"``: random mini-batches of ``batch_size`` pairs;
        ``"auto"`` (default): pairs for a single time course, else trajectory (resolved by
        :func:`dash_core.split.resolve_batching` before training).
    lambda_data
        Weight of the data term; ``1 - lambda_data`` weights the prior soft loss
        (A.3). None = the strategy's default (0.99 for unpruned PHOENIX and PINN+MP,
        1 for the pruning strategies on SIM).
    prior_probes
        Number K of fixed probe states for the prior loss (10,000 in A.3).
    prior_probe_batch
        Probes used per optimisation step, drawn at random from the K fixed ones
        (an unbiased estimate of the prior loss that is ~40x cheaper; None = all K,
        the reference behaviour).
    prior_abs
        Use |P| instead of the signed prior in the prior loss (DASH real data).
    scheduler_factor, scheduler_patience, scheduler_threshold, min_lr, scheduler_eps
        ``ReduceLROnPlateau`` on validation MSE (absolute threshold).
    solver
        ODE solver settings, see :class:`dash_core.integrate.SolverConfig`.
    device
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
    dtype
        ``"float32"`` (default) or ``"float64"``.
    threads
        CPU threads for PyTorch during the run. None = automatic: 1 for models
        with fewer than ``THREADED_MODEL_SIZE`` weights (their matrix products are
        too small to gain from threads, and a second busy thread on a shared
        machine slows them down many-fold), otherwise all cores.
    cuda_graph
        On CUDA, replay the training step from a captured CUDA graph (one launch instead of
        hundreds of tiny kernels; same arithmetic). Ignored on the CPU.
    """

    lr: float = 1e-3
    g_lr_factor: float = 5.0
    max_epochs: int = 200
    patience: int = 40
    checkpoint_min_sparsity: float = 0.0
    val_fraction: float = 10 / 150
    batching: Literal["auto", "trajectory", "pairs"] = "auto"
    batch_size: int = 16
    lambda_data: float | None = None
    prior_probes: int = 10_000
    prior_probe_batch: int | None = 256
    prior_abs: bool = False
    scheduler_factor: float = 0.9
    scheduler_patience: int = 3
    scheduler_threshold: float = 1e-6
    min_lr: float = 4e-5
    scheduler_eps: float = 1e-9
    solver: SolverConfig = field(default_factory=SolverConfig)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    dtype: Literal["float32", "float64"] = "float32"
    threads: int | None = None
    cuda_graph: bool = True

    def validate(self) -> None:
        """Raise :class:`DashInputError` for settings that cannot work."""
        if self.lr <= 0:
            raise DashInputError(f"Learning rate must be positive (got {self.lr}).")
        if self.max_epochs < 1:
            raise DashInputError(f"max_epochs must be at least 1 (got {self.max_epochs}).")
        if self.patience < 0:
            raise DashInputError(f"patience must be >= 0 (got {self.patience}); 0 disables early stopping.")
        if not 0 <= self.checkpoint_min_sparsity < 1:
            raise DashInputError("checkpoint_min_sparsity must be in [0, 1) (got "
                                 f"{self.checkpoint_min_sparsity}); 0 makes every epoch eligible.")
        if not 0 <= self.val_fraction < 1:
            raise DashInputError(f"val_fraction must be in [0, 1) (got {self.val_fraction}).")
        if self.lambda_data is not None and not 0 <= self.lambda_data <= 1:
            raise DashInputError(f"lambda_data must be in [0, 1] (got {self.lambda_data}).")
        if self.batch_size < 1:
            raise DashInputError(f"batch_size must be >= 1 (got {self.batch_size}).")


#: Number of prunable weights (4 n h for PHOENIX) from which training uses all CPU cores.
THREADED_MODEL_SIZE = 1_000_000


def cpu_threads_for(config: TrainConfig, n_weights: int) -> int:
    """CPU threads a run should use (see :attr:`TrainConfig.threads`)."""
    if config.threads is not None:
        return max(1, int(config.threads))
    return 1 if n_weights < THREADED_MODEL_SIZE else max(1, os.cpu_count() or 1)


@dataclass
class ProgressEvent:
    """What the trainer reports after every epoch (CLI progress bar, app live panel)."""

    epoch: int
    max_epochs: int
    train_loss: float
    val_mse: float
    best_val_mse: float
    best_epoch: int
    sparsity: float
    lr: float
    epoch_seconds: float
    elapsed_seconds: float
    eta_seconds: float
    phase: str = "train"
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


ProgressCallback = Callable[[ProgressEvent], None]


class PathRecorder:
    """The pruning path of a run: the best-validation checkpoint of every pruning level.

    A *level* is a stretch of consecutive epochs trained with the same mask, identified by
    the number of unmasked prunable entries; level 0 is the model before the first pruning
    event and level k the model after the k-th event that masked anything. The trainer calls
    :meth:`observe` after every epoch; the recorder keeps, per level, the epoch with the
    lowest validation MSE (strict improvement, as the run's own checkpoint) together with a
    CPU copy of its state (weights and masks), so that any sparsity along the path can be
    scored and reported without retraining (:func:`dash_core.experiment.score_path`).

    Attributes
    ----------
    levels
        One dict per level, in order: ``level``, ``first_epoch``, ``last_epoch``,
        ``best_epoch``, ``val_mse`` (best within the level), ``sparsity`` (methods D.1, at
        the best epoch), ``n_unmasked`` and ``state`` (the best epoch's state dict).
    live_file
        When set, the levels so far (without their states) plus ``live_labels`` as columns are
        written to this CSV while training, whenever a level opens or improves (a write of a few
        rows, ~4 ms on a loaded machine), so that a running sweep can draw its curves per epoch.
    """

    def __init__(self, live_file=None, live_labels: dict[str, Any] | None = None) -> None:
        self.levels: list[dict[str, Any]] = []
        self.live_file = live_file
        self.live_labels = dict(live_labels or {})

    def observe(self, trainer: Trainer, epoch: int, val_mse: float, sparsity: float) -> None:
        """Record epoch ``epoch``; opens a new level when the mask changed since the last call."""
        n = total_unmasked(trainer.model.prunable_layers())
        if not self.levels or self.levels[-1]["n_unmasked"] != n:
            self.levels.append({"level": len(self.levels), "first_epoch": epoch, "last_epoch": epoch,
                                "best_epoch": epoch, "val_mse": math.inf, "sparsity": sparsity,
                                "n_unmasked": n, "state": None})
        level = self.levels[-1]
        level["last_epoch"] = epoch
        if val_mse < level["val_mse"]:
            state = trainer.best_state if trainer.best_epoch == epoch else None
            if state is None or any(v.device.type != "cpu" for v in state.values()):
                state = {k: v.detach().to("cpu", copy=True) for k, v in trainer.model.state_dict().items()}
            # else: the trainer's own best checkpoint of this epoch, already a CPU copy (states are replaced,
            # never changed in place, so both may hold the same tensors)
            level.update(best_epoch=epoch, val_mse=float(val_mse), sparsity=float(sparsity), state=state)
            if self.live_file is not None:
                self.write_live()

    def write_live(self) -> None:
        """Write the levels so far to :attr:`live_file` (replaced atomically; a write error is ignored)."""
        rows = [{**self.live_labels, **{k: v for k, v in lv.items() if k != "state"}} for lv in self.levels
                if math.isfinite(lv["val_mse"])]
        path = Path(self.live_file)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else [])
                writer.writeheader()
                writer.writerows(rows)
            os.replace(tmp, path)
        except OSError:
            pass  # live curves are a convenience; training goes on


class StrategyHooks(Protocol):
    """What the trainer calls on a pruning strategy (see :mod:`dash_core.pruning`)."""

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None: ...

    def penalty(self, trainer: Trainer) -> Tensor | None: ...

    def after_step(self, trainer: Trainer) -> None: ...


class _NoHooks:
    def on_epoch_start(self, trainer, epoch):
        return None

    def penalty(self, trainer):
        return None

    def after_step(self, trainer):
        return None


def _probe_drive(probes: Tensor, prior: np.ndarray, dtype: torch.dtype) -> Tensor:
    """``probes @ P`` (K x n times n x n); a sparse product when the prior is sparse (genome-scale priors)."""
    density = np.count_nonzero(prior) / max(1, prior.size)
    if density > 0.05:
        return probes @ torch.as_tensor(prior, dtype=dtype, device=probes.device)

    out = sparse.csr_matrix(prior).T.dot(probes.detach().cpu().double().numpy().T).T  # (P^T probes^T)^T
    return torch.as_tensor(np.ascontiguousarray(out), dtype=dtype, device=probes.device)


@dataclass
class _Batch:
    x0: Tensor
    x1: Tensor
    dt: Tensor
    #: Largest gap of the batch, on the host (fixed-step solvers need it without a device synchronisation).
    max_dt: float = 0.0


class Trainer:
    """Fit a :class:`GRNModel` by one-step-ahead integration.

    A ``Trainer`` holds everything that belongs to *one* model: its data split, optimiser, plateau
    scheduler, early stopping, best checkpoint, history and random generator. The epochs themselves
    are run by the stack engine (:func:`train_stack`, :class:`TrainingStack`), which trains K ≥ 1
    trainers together with batched matrix products; a ``Trainer`` used on its own is a stack of one,
    through the same code.

    Parameters
    ----------
    model
        The model (moved to the configured device and dtype).
    train_data, val_data
        Training and validation trajectories (same gene order as the model).
    config
        :class:`TrainConfig`.
    prior
        ``(n, n)`` signed prior, row = regulator, column = target, for the prior
        soft loss; None disables it.
    seed
        Seeds probe states, trajectory order and mini-batches.
    hooks
        Strategy hooks (default: none).
    progress
        Called with a :class:`ProgressEvent` after every epoch.
    should_stop
        Polled every epoch; returning True cancels training (``stop_reason = "cancelled"``).
    path
        Optional :class:`PathRecorder`, told about every epoch (the pruning path).
    shared
        A dict shared by the trainers of one stack: trainers with the same seed and prior then share
        one copy of the prior-loss probe states (10,000 x n each).
    """

    def __init__(
        self,
        model: GRNModel,
        train_data: ExpressionData,
        val_data: ExpressionData | None,
        config: TrainConfig,
        *,
        prior: np.ndarray | None = None,
        seed: int = 0,
        hooks: StrategyHooks | None = None,
        progress: ProgressCallback | None = None,
        should_stop: Callable[[], bool] | None = None,
        path: PathRecorder | None = None,
        shared: dict | None = None,
    ) -> None:
        config.validate()
        if config.batching == "auto":  # normally resolved by run_experiment on the unsplit data

            config = replace(config, batching=resolve_batching(train_data, "auto"))
        self.config = config
        self.device = resolve_device(config.device)
        self.dtype = torch.float64 if config.dtype == "float64" else torch.float32
        self.model = model.to(device=self.device, dtype=self.dtype)
        self.hooks: StrategyHooks = hooks or _NoHooks()
        self.progress = progress
        self.should_stop = should_stop
        self.path = path
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(self.seed + 1)
        #: The model's largest rate as last read (sizes fixed-step solves, :func:`_refresh_rates`).
        self.step_rate: float | None = None
        self.lambda_data = 1.0 if config.lambda_data is None else float(config.lambda_data)

        self._train_batches = self._make_batches(train_data, per_trajectory=config.batching == "trajectory")
        self._train_pairs = self._cat(self._train_batches)
        self._val = self._cat(self._make_batches(val_data, per_trajectory=False)) if val_data is not None else None
        if self._val is None or self._val.x0.shape[0] == 0:
            self._val = self._train_pairs  # no held-out data: monitor the training fit
        if config.batching == "pairs" and self._train_pairs is not None:
            self._train_dt_host = self._train_pairs.dt.detach().cpu().numpy()

        self.prior: Tensor | None = None
        self.probes: Tensor | None = None
        self.probe_targets: Tensor | None = None
        if prior is not None and np.any(prior):
            p = np.abs(prior) if config.prior_abs else prior
            key = (id(prior), self.seed, bool(config.prior_abs), int(config.prior_probes), model.n_genes,
                   str(self.device), str(self.dtype))
            cached = shared.get(key) if shared is not None else None
            if cached is None:
                g = torch.Generator().manual_seed(self.seed + 2)
                probes = (torch.rand(config.prior_probes, model.n_genes, generator=g) - 0.5).to(self.device, self.dtype)
                cached = (torch.as_tensor(p, dtype=self.dtype, device=self.device), probes,
                          _probe_drive(probes, p, self.dtype))
                if shared is not None:
                    shared[key] = cached
            self.prior, self.probes, self.probe_targets = cached

        self.epoch = 0  # epochs completed (global across phases)
        self.history: list[dict[str, Any]] = []
        self.optimizer = self.new_optimizer()
        self.scheduler = self.new_scheduler()
        self.reset_best_tracking()
        self.initial_state = self.snapshot()
        self.initial_optimizer_state = copy.deepcopy(self.optimizer.state_dict())
        self.stop_reason = ""
        self.phase = "train"
        self._t_start = time.perf_counter()
        #: Set while the trainer is a member of a :class:`TrainingStack` (its loops then run in the stack).
        self._stack: TrainingStack | None = None

    # -- data -----------------------------------------------------------------
    def _make_batches(self, data: ExpressionData | None, per_trajectory: bool) -> list[_Batch]:
        if data is None or data.n_trajectories == 0:
            return []
        usable = [t for t in data.trajectories if len(t.times) >= 2]
        if not usable:
            return []
        pairs = make_pairs(usable)
        np_dtype = np.float64 if self.dtype == torch.float64 else np.float32

        def tens(a):
            return torch.as_tensor(a, dtype=self.dtype, device=self.device)

        def batch(sel) -> _Batch:
            dt = pairs.dt[sel]
            return _Batch(tens(pairs.x0[sel]), tens(pairs.x1[sel]), tens(dt), float(np.max(dt.astype(np_dtype))))

        if not per_trajectory:
            return [batch(slice(None))]
        return [batch(pairs.trajectory == i) for i in np.unique(pairs.trajectory)]

    @staticmethod
    def _cat(batches: list[_Batch]) -> _Batch | None:
        if not batches:
            return None
        return _Batch(torch.cat([b.x0 for b in batches]), torch.cat([b.x1 for b in batches]),
                      torch.cat([b.dt for b in batches]), max(b.max_dt for b in batches))

    def _epoch_batches(self) -> list[_Batch]:
        if self.config.batching == "trajectory":
            order = torch.randperm(len(self._train_batches), generator=self.generator).tolist()
            return [self._train_batches[i] for i in order]
        tp = self._train_pairs
        perm = torch.randperm(tp.x0.shape[0], generator=self.generator)
        dev = perm.to(self.device)
        bs = self.config.batch_size
        return [_Batch(tp.x0[idx], tp.x1[idx], tp.dt[idx], float(self._train_dt_host[host].max()))
                for idx, host in zip(dev.split(bs), perm.split(bs))]

    # -- optimisation -----------------------------------------------------------
    def _group_lrs(self, reference_bug: bool = False) -> dict[str, float]:
        lr = self.config.lr
        groups = self.model.parameter_groups()
        lrs = {name: lr for name in groups}
        if reference_bug and "prods_out.weight" in lrs:
            lrs["prods_out.weight"] = self.config.g_lr_factor * lr  # reference's LR-reset bug (methods B.6)
        elif "g" in lrs:
            lrs["g"] = self.config.g_lr_factor * lr
        return lrs

    def new_optimizer(self) -> torch.optim.Optimizer:
        """A fresh Adam with the parameter groups of the model (5x learning rate on ``g``)."""
        lrs = self._group_lrs()
        groups = [{"params": ps, "lr": lrs[name], "name": name} for name, ps in self.model.parameter_groups().items()]
        # fused: one kernel per parameter update instead of ~10 (same maths); plain Adam where unsupported.
        try:
            return torch.optim.Adam(groups, lr=self.config.lr, fused=True)
        except (RuntimeError, TypeError):
            return torch.optim.Adam(groups, lr=self.config.lr)

    def new_scheduler(self):
        c = self.config
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="min", factor=c.scheduler_factor, patience=c.scheduler_patience,
            threshold=c.scheduler_threshold, threshold_mode="abs", cooldown=0, min_lr=c.min_lr, eps=c.scheduler_eps)

    def reset_learning_rates(self, reference_bug: bool = False) -> None:
        """After a pruning event (B.6): groups back to the initial rates (5x on g), new scheduler, Adam moments kept."""
        lrs = self._group_lrs(reference_bug)
        for grp in self.optimizer.param_groups:
            grp["lr"] = lrs.get(grp.get("name", ""), self.config.lr)
        self.scheduler = self.new_scheduler()

    def reset_optimizer(self, initial_state: bool = False) -> None:
        """A fresh optimiser and scheduler; with ``initial_state`` reload the optimiser state saved at start."""
        self.optimizer = self.new_optimizer()
        if initial_state:
            self.optimizer.load_state_dict(copy.deepcopy(self.initial_optimizer_state))
        self.scheduler = self.new_scheduler()

    def refresh_optimizer_params(self) -> None:
        """Rebuild the optimiser after a strategy added parameters (e.g. gates), keeping nothing."""
        self.reset_optimizer()

    # -- losses (a stack of one; the stack engine computes the same for K models at once) ---------------------
    def predict(self, x0: Tensor, dt: Tensor) -> Tensor:
        """``(B, n)`` one-step-ahead predictions of the model."""
        b = _Batch(x0, x0, dt, float(dt.max()))
        _refresh_rates([self])
        return _predict([self], [b])[0]

    def prior_loss(self) -> Tensor:
        """Mean squared mismatch between ``u(probe)`` and the prior's linear drive ``probe @ P`` (A.3)."""
        assert self.probes is not None and self.probe_targets is not None
        return _prior_losses([self])[0]

    def loss(self, batch: _Batch) -> tuple[Tensor, float]:
        """Training loss of one batch (data term, prior term, strategy penalty) and its data MSE."""
        total, data = _stack_loss([self], [batch])
        return total, float(data[0])

    @torch.no_grad()
    def evaluate_mse(self, x0: Tensor, x1: Tensor, dt: Tensor) -> float:
        """MSE of the one-step-ahead predictions from ``x0`` against ``x1`` (eval mode)."""
        return _evaluate([self], [_Batch(x0, x1, dt, float(dt.max()))])[0]

    def validate(self) -> float:
        return _evaluate([self], [self._val])[0]

    def train_epoch(self) -> float:
        """One epoch over the training batches (a stack of one)."""
        return _train_epoch([self])[0]

    # -- checkpoints --------------------------------------------------------------
    def snapshot(self) -> dict[str, Tensor]:
        """Deep copy of the model state (weights, masks, gates)."""
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def reset_best_tracking(self) -> None:
        self.best_val = math.inf
        self.best_epoch = 0
        self.best_state: dict[str, Tensor] | None = None
        self.bad_epochs = 0
        self.min_sparsity_reached = self.config.checkpoint_min_sparsity <= 0

    def load_best(self) -> None:
        """Load the best-validation weights and masks into the model."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)

    def current_sparsity(self) -> float:
        with torch.no_grad():
            self.model.eval()
            blocks = [b.detach().cpu().numpy() for b in self.model.sparsity_blocks()]
            self.model.train()
        return sparsity_of_blocks(blocks)

    # -- the loop -------------------------------------------------------------------
    def train_loop(self, max_epochs: int | None = None, *, patience: int | None = None,
                   phase: str = "train", call_hooks: bool = True) -> str:
        """Train until early stopping, ``max_epochs`` (global epoch count) or cancellation.

        Returns the stop reason: ``"early_stopping"``, ``"max_epochs"`` or ``"cancelled"``.
        Every strict improvement of the validation MSE saves the best state (epoch 1 always).
        Inside a :class:`TrainingStack` the loop's epochs run together with the other members'.
        """
        loop = _Loop(self, self.config.max_epochs if max_epochs is None else int(max_epochs),
                     self.config.patience if patience is None else int(patience), phase, call_hooks)
        self.phase = phase
        if self._stack is not None:
            return self._stack._submit(loop)
        while not loop.reason:
            _run_epoch([loop])
        return loop.result()

    def _finish_epoch(self, loop: _Loop, train_loss: float, val: float, epoch_seconds: float) -> None:
        """Per-model bookkeeping after an epoch: scheduler, best checkpoint, history, early stopping."""
        e = self.epoch + 1
        if not math.isfinite(val):
            raise FloatingPointError(
                f"validation MSE became {val} at epoch {e}; lower the learning rate or check the data scaling")
        self.scheduler.step(val)
        self.epoch = e
        sparsity = self.current_sparsity()
        if not self.min_sparsity_reached and sparsity >= self.config.checkpoint_min_sparsity:
            # First eligible epoch: forget the denser checkpoints (see TrainConfig.checkpoint_min_sparsity).
            self.min_sparsity_reached = True
            self.best_val, self.bad_epochs = math.inf, 0
        if val < self.best_val:
            self.best_val, self.best_epoch, self.bad_epochs = val, e, 0
            self.best_state = self.snapshot()
        else:
            self.bad_epochs += 1
        if self.path is not None:
            self.path.observe(self, e, val, sparsity)
        self._record(train_loss, val, epoch_seconds, loop.max_epochs, sparsity)
        if loop.patience and self.bad_epochs >= loop.patience and self.min_sparsity_reached:
            loop.reason = "early_stopping"

    def _record(self, train_loss: float, val: float, epoch_seconds: float, max_epochs: int, sp: float) -> None:
        elapsed = time.perf_counter() - self._t_start
        lr = float(self.optimizer.param_groups[0]["lr"])
        row = {"epoch": self.epoch, "phase": self.phase, "train_mse": train_loss, "val_mse": val,
               "best_val_mse": self.best_val, "sparsity": sp, "lr": lr, "seconds": epoch_seconds,
               "elapsed_seconds": elapsed}
        self.history.append(row)
        if self.progress is not None:
            mean_epoch = elapsed / max(1, len(self.history))
            # An upper bound: early stopping may end the run sooner.
            eta = mean_epoch * max(0, max_epochs - self.epoch)
            self.progress(ProgressEvent(self.epoch, max_epochs, train_loss, val, self.best_val, self.best_epoch, sp,
                                        lr, epoch_seconds, elapsed, eta, self.phase))


# ---------------------------------------------------------------------------------------------------------------
# The stack engine: one epoch / step / validation for K >= 1 trainers at once. Every model's arithmetic is the
# arithmetic of its own run (its batches, probes, penalty, optimiser); only the kernels are shared.
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class _Loop:
    """One ``train_loop`` call of one trainer, while it runs."""

    trainer: Trainer
    max_epochs: int
    patience: int
    phase: str
    call_hooks: bool
    reason: str = ""
    error: BaseException | None = None

    def result(self) -> str:
        if self.error is not None:
            raise self.error
        self.trainer.stop_reason = self.reason
        return self.reason


def _stack_of(trainers: list[Trainer]) -> ModelStack:
    """The :class:`ModelStack` of the trainers' models, kept on the first trainer between steps (building an
    ``nn.Module`` at every step cost ~2 % of a SIM350-sized step); a few entries, as members stop or change.
    Keyed by the models' ids: a cached stack holds its models, so their ids cannot be reused by other objects."""
    models = [t.model for t in trainers]
    cache = trainers[0].__dict__.setdefault("_model_stacks", {})
    key = tuple(id(m) for m in models)
    stack = cache.get(key)
    if stack is None:
        if len(cache) >= 8:
            cache.clear()
        stack = cache[key] = ModelStack(models)
    return stack


def _pack(trainers: list[Trainer], batches: list[_Batch]) -> tuple[Tensor, Tensor, Tensor, list[int] | None]:
    """Stack the K batches to ``(K, B, n)`` (zero-padded to the longest; then also their row counts)."""
    rows = [b.x0.shape[0] for b in batches]
    if len(set(rows)) == 1:
        return (stack_tensors([b.x0 for b in batches]), stack_tensors([b.x1 for b in batches]),
                stack_tensors([b.dt for b in batches]), None)
    k, n, r = len(batches), batches[0].x0.shape[1], max(rows)
    x0 = batches[0].x0.new_zeros(k, r, n)
    x1 = batches[0].x0.new_zeros(k, r, n)
    dt = batches[0].dt.new_zeros(k, r)
    for i, b in enumerate(batches):
        x0[i, : rows[i]], x1[i, : rows[i]], dt[i, : rows[i]] = b.x0, b.x1, b.dt
    return x0, x1, dt, rows


def _refresh_rates(trainers: list[Trainer]) -> None:
    """Read each model's largest rate (one device synchronisation per model; fixed-step solvers size their steps
    by it, :func:`dash_core.integrate.n_fixed_steps`). Called once per training epoch and per evaluation."""
    for t in trainers:
        t.step_rate = model_rate(t.model)


def _step_counts(trainers: list[Trainer], batches: list[_Batch]) -> list[int]:
    """Each member's fixed-step count for its batch: its own gaps and rate, as in its single run."""
    solver = trainers[0].config.solver
    return [n_fixed_steps(b.max_dt, solver, t.step_rate) for t, b in zip(trainers, batches)]


def _predict(trainers: list[Trainer], batches: list[_Batch], packed=None) -> Tensor:
    """``(K, B, n)`` predictions, batch k through model k.

    Fixed-step solvers take ``ceil(max dt * steps per unit)`` steps per batch (steps per unit grow with the
    model's largest rate, :func:`dash_core.integrate.steps_per_unit`); models whose batches need
    different step counts are solved in separate groups so that each gets exactly its own run's steps.
    """
    x0, _, dt, _ = packed if packed is not None else _pack(trainers, batches)
    solver = trainers[0].config.solver
    if len(trainers) > 1 and not is_fixed_step(solver):
        raise ValueError("adaptive solvers cannot integrate a stack of models (see dash_core.stacking.stack_key)")
    counts = _step_counts(trainers, batches) if is_fixed_step(solver) else [None]
    if len(set(counts)) == 1:
        return integrate_pairs(_stack_of(trainers), x0, dt, solver, max_dt=max(b.max_dt for b in batches),
                               n_steps=counts[0])

    def solve(idx: list[int], c: int) -> Tensor:
        sel = torch.as_tensor(idx, device=x0.device)
        return integrate_pairs(_stack_of([trainers[i] for i in idx]), x0.index_select(0, sel), dt.index_select(0, sel),
                               solver, max_dt=max(batches[i].max_dt for i in idx), n_steps=c)

    return _by_step_count(counts, solve)


def _by_step_count(counts: list[int], solve: Callable[[list[int], int], Tensor]) -> Tensor:
    """``solve(members, count)`` for each group of members that share a step count, the results stacked back in
    member order (members whose batches need different step counts get exactly their own run's steps)."""
    out: list[Tensor | None] = [None] * len(counts)
    for c in sorted(set(counts)):
        idx = [i for i, ci in enumerate(counts) if ci == c]
        res = solve(idx, c)
        for j, i in enumerate(idx):
            out[i] = res[j]
    return torch.stack(out)


def _row_mse(err: Tensor, rows: list[int] | None) -> Tensor:
    """``(K,)`` mean of ``(K, B, n)`` squared errors over each model's own rows."""
    if rows is None:
        return err.mean(dim=(1, 2))
    sums = torch.stack([err[i, :r].sum() for i, r in enumerate(rows)])
    return sums / torch.as_tensor([r * err.shape[2] for r in rows], dtype=err.dtype, device=err.device)


def _draw_probes(t: Trainer) -> Tensor | None:
    """Rows of the probe states for one prior-loss estimate, drawn with the trainer's generator (None: all)."""
    k = t.config.prior_probe_batch
    if k is None or k >= t.probes.shape[0]:
        return None
    return torch.randint(0, t.probes.shape[0], (k,), generator=t.generator).to(t.device)


def _prior_losses(trainers: list[Trainer], probe_rows: list[Tensor | None] | None = None) -> Tensor:
    """``(K,)`` prior soft losses (A.3), each on probes drawn with its trainer's generator (or on ``probe_rows``)."""
    rows = [_draw_probes(t) for t in trainers] if probe_rows is None else probe_rows
    # index_select, not advanced indexing: the same rows at a quarter of the cost (256 of 10,000 x 350 probes:
    # 12.6 vs 56.6 us alone, ~170 us inside a training step)
    xs = [t.probes if i is None else t.probes.index_select(0, i) for t, i in zip(trainers, rows)]
    ts = [t.probe_targets if i is None else t.probe_targets.index_select(0, i) for t, i in zip(trainers, rows)]
    drive = type(trainers[0].model).stacked_drive([t.model for t in trainers], stack_tensors(xs))
    return torch.mean((drive - stack_tensors(ts)) ** 2, dim=(1, 2))


_NO_PENALTY = (_NoHooks.penalty, Strategy.penalty)


def _has_penalty(t: Trainer) -> bool:
    """Whether the trainer's strategy adds a loss term of its own (hooks that override ``penalty``)."""
    return getattr(type(t.hooks), "penalty", None) not in _NO_PENALTY


def _has_prior_term(t: Trainer) -> bool:
    """Whether the trainer's loss has the prior soft term (A.3): a prior and ``lambda_data < 1``."""
    return t.prior is not None and t.lambda_data < 1.0


@dataclass
class _LossWeights:
    """The data and prior weights of K trainers' losses (A.3), as tensors on their device."""

    data: Tensor | None  # (K,) lambda_data; None when every member has lambda_data = 1
    with_prior: list[Trainer]  # the members with a prior term
    prior: Tensor | None  # (len(with_prior),) 1 - lambda_data

    @classmethod
    def of(cls, trainers: list[Trainer], like: Tensor) -> _LossWeights:
        lams = [t.lambda_data for t in trainers]
        if all(lam >= 1.0 for lam in lams):
            return cls(None, [], None)
        with_prior = [t for t in trainers if _has_prior_term(t)]
        return cls(torch.as_tensor(lams, dtype=like.dtype, device=like.device), with_prior,
                   torch.as_tensor([1.0 - t.lambda_data for t in with_prior], dtype=like.dtype, device=like.device)
                   if with_prior else None)


def _stack_loss(trainers: list[Trainer], batches: list[_Batch], *, probe_rows: list[Tensor | None] | None = None,
                weights: _LossWeights | None = None) -> tuple[Tensor, Tensor]:
    """Sum over the K models of their training losses, and their ``(K,)`` data MSEs (detached).

    The sum's gradient with respect to model k's parameters is model k's own loss gradient. ``probe_rows`` (the
    prior-loss probes of the members with a prior term) and ``weights`` are given by the CUDA-graph step, whose
    captured code may neither draw on the host nor copy host values to the device.
    """
    packed = _pack(trainers, batches)
    pred = _predict(trainers, batches, packed)
    data = _row_mse((pred - packed[1]) ** 2, packed[3])
    w = _LossWeights.of(trainers, data) if weights is None else weights
    total = data.sum() if w.data is None else (data * w.data).sum()
    if w.with_prior:
        total = total + (w.prior * _prior_losses(w.with_prior, probe_rows)).sum()
    for t in trainers:
        pen = t.hooks.penalty(t)
        if pen is not None:
            total = total + pen
    return total, data.detach()


def _train_epoch(trainers: list[Trainer]) -> list[float]:
    """One training epoch of K models; returns each model's mean data MSE over its batches."""
    _refresh_rates(trainers)
    for t in trainers:
        t.model.train()
    # Masks change only between epochs (pruning events), so check once whether any entry is masked.
    masked = [any(bool((p.layer.mask == 0).any()) for p in t.model.prunable_layers()) for t in trainers]
    # after every step the masked members' stored weights are re-zeroed (Adam's moments move them) in one
    # multi-tensor product: one call per layer and model cost ~5 % of a SIM350-sized stacked step
    layers = [p.layer for t, m in zip(trainers, masked) if m for p in t.model.prunable_layers()]
    mask_lists = ([lin.weight for lin in layers], [lin.mask for lin in layers])
    plans = [t._epoch_batches() for t in trainers]
    steps = max(len(p) for p in plans)
    records: list[tuple[list[int], Tensor, list[int]]] = []
    runner = _step_runner(trainers)
    for j in range(steps):
        idx = [i for i, p in enumerate(plans) if j < len(p)]
        sub = [trainers[i] for i in idx]
        batches = [plans[i][j] for i in idx]
        for t in sub:
            zero_grads(t.optimizer)
        data = runner(sub, batches)
        adam_step([t.optimizer for t in sub])
        if layers:
            with torch.no_grad():
                torch._foreach_mul_(*mask_lists)
        for t in sub:
            t.hooks.after_step(t)
        records.append((idx, data, [b.x0.shape[0] for b in batches]))
    if not records:
        return [float("nan")] * len(trainers)
    values = torch.cat([r[1] for r in records]).tolist()  # one synchronisation per epoch
    sums, weights = [0.0] * len(trainers), [0.0] * len(trainers)
    pos = 0
    for idx, _, rows in records:
        for i, r in zip(idx, rows):
            sums[i] += values[pos] * r
            weights[i] += r
            pos += 1
    return [s / w if w else float("nan") for s, w in zip(sums, weights)]


def _eager_step(trainers: list[Trainer], batches: list[_Batch]) -> Tensor:
    data = _direct_step(trainers, batches)
    if data is not None:
        return data
    total, data = _stack_loss(trainers, batches)
    total.backward()
    return data


#: Train with :func:`_direct_step` where it applies (False: always through autograd; the tests compare the two).
DIRECT_STEP = True


def _direct_step(trainers: list[Trainer], batches: list[_Batch]) -> Tensor | None:
    """The forward and backward pass of a training step without autograd, or None where it does not apply.

    Applies when each model's loss is its (weighted) data MSE alone, i.e. no prior term and no strategy penalty,
    and the models solve with a fused RK4 node (:attr:`~dash_core.models.base.GRNModel.stacked_rk4`, not gated):
    the MSE's gradient ``dL/dz = 2 w (z - x1) / (rows * n)`` goes straight into the node's adjoint. Same gradients
    as :func:`_stack_loss` + ``backward`` (tested); ~15 % of a SIM350-sized stacked step was autograd's bookkeeping.
    Returns the ``(K,)`` data MSEs.
    """
    t0 = trainers[0]
    solver = t0.config.solver
    fn = type(t0.model).stacked_rk4
    if (not DIRECT_STEP or fn is None or not fused_rk4_applies(solver)
            or any(_has_prior_term(t) or _has_penalty(t) for t in trainers)):
        return None
    counts = _step_counts(trainers, batches)
    if len(set(counts)) == 1:
        return _direct_solve(fn, trainers, batches, counts[0])
    return _by_step_count(counts, lambda idx, c: _direct_solve(fn, [trainers[i] for i in idx],
                                                              [batches[i] for i in idx], c))


def _direct_solve(fn, trainers: list[Trainer], batches: list[_Batch], n_steps: int) -> Tensor:
    """:func:`_direct_step` of members that share a step count: ``(K,)`` data MSEs, gradients added."""
    x0, x1, dt, rows = _pack(trainers, batches)
    n = x0.shape[2]
    n_rows = [x0.shape[1]] * len(trainers) if rows is None else rows
    scale = torch.as_tensor([2.0 * t.lambda_data / (r * n) for t, r in zip(trainers, n_rows)], dtype=x0.dtype,
                            device=x0.device)[:, None, None]

    def loss_grad(z: Tensor) -> tuple[Tensor, Tensor]:
        err = z - x1  # padded rows: x0 = x1 = 0 and dt = 0, so z = 0 and err = 0
        return _row_mse(err * err, rows), err * scale

    return fn([t.model for t in trainers], x0, dt, n_steps, loss_grad=loss_grad)


#: Run the static-buffer step of :class:`CudaGraphStep` eagerly on the CPU too (tests: same code path as CUDA).
STATIC_STEP_ON_CPU = False


def _step_runner(trainers: list[Trainer]):
    """The forward-backward pass of a training step: eager, or replayed from a CUDA graph (see :class:`CudaGraphStep`)."""
    t0 = trainers[0]
    on_cuda = t0.device.type == "cuda"
    if t0.config.cuda_graph and (on_cuda or STATIC_STEP_ON_CPU) and CudaGraphStep.supported(trainers):
        cache = t0.__dict__.setdefault("_graphs", {})
        return lambda sub, batches: CudaGraphStep.run(cache, sub, batches, capture=on_cuda)
    return _eager_step


@torch.no_grad()
def _evaluate(trainers: list[Trainer], batches: list[_Batch]) -> list[float]:
    """Each model's MSE on its own batch, in eval mode (deterministic gates)."""
    modes = [t.model.training for t in trainers]
    _refresh_rates(trainers)
    for t in trainers:
        t.model.eval()
    try:
        packed = _pack(trainers, batches)
        pred = _predict(trainers, batches, packed)
        return _row_mse((pred - packed[1]) ** 2, packed[3]).tolist()
    finally:
        for t, was in zip(trainers, modes):
            t.model.train(was)


def _run_epoch(loops: list[_Loop]) -> None:
    """One epoch of every unfinished loop, trained together; sets ``reason`` (and ``error``) of loops that end."""
    running = []
    for lp in loops:
        t = lp.trainer
        if lp.reason:
            continue
        if t.epoch >= lp.max_epochs:
            lp.reason = "max_epochs"
        elif t.should_stop is not None and t.should_stop():
            lp.reason = "cancelled"
        else:
            running.append(lp)
    if not running:
        return
    t0 = time.perf_counter()
    ok = []
    for lp in running:
        try:
            if lp.call_hooks:
                lp.trainer.hooks.on_epoch_start(lp.trainer, lp.trainer.epoch + 1)
            ok.append(lp)
        except Exception as exc:  # noqa: BLE001 - one model's failure ends that model's run only
            lp.reason, lp.error = "error", exc
    if not ok:
        return
    trainers = [lp.trainer for lp in ok]
    try:
        train_losses = _train_epoch(trainers)
        vals = _evaluate(trainers, [t._val for t in trainers])
    except Exception as exc:  # noqa: BLE001 - shared step failed: every model of the stack reports it
        for lp in ok:
            lp.reason, lp.error = "error", exc
        return
    seconds = time.perf_counter() - t0
    for lp, tl, val in zip(ok, train_losses, vals):
        try:
            lp.trainer._finish_epoch(lp, tl, val, seconds)
        except Exception as exc:  # noqa: BLE001
            lp.reason, lp.error = "error", exc


class TrainingStack:
    """Train K ≥ 1 models together: every member runs its own strategy (``fit``), and whenever members
    are in a training loop their epochs run as one stacked epoch.

    Each member's ``fit`` (e.g. :meth:`dash_core.pruning.Strategy.fit`) runs in its own thread, but only one
    thread runs at a time: a member's ``train_loop`` hands control to the stack, which trains all waiting
    members one epoch at a time and hands control back to a member when its loop ends (early stopping,
    ``max_epochs``, cancellation). Multi-phase strategies (PINN+MP, SynFlow, SparseFlow) therefore stack too;
    a member that stopped leaves the stacked computation (it costs nothing more).

    Parameters
    ----------
    trainers
        The members (same device, dtype, model class and shape, fixed-step solver; see
        :func:`dash_core.stacking.stack_key`).
    """

    def __init__(self, trainers: list[Trainer]) -> None:
        if not trainers:
            raise ValueError("a training stack needs at least one trainer")
        self.trainers = list(trainers)
        self._cv = threading.Condition()
        self._state: dict[int, str] = {}
        self._loops: dict[int, _Loop] = {}
        self._resume: dict[int, threading.Event] = {}

    def _submit(self, loop: _Loop) -> str:
        """Called in a member's thread by ``train_loop``: wait until the stack has finished this loop."""
        key = id(loop.trainer)
        with self._cv:
            self._loops[key] = loop
            self._state[key] = "waiting"
            self._cv.notify_all()
        self._resume[key].wait()
        self._resume[key].clear()
        return loop.result()

    def _wait_idle(self, key: int) -> None:
        with self._cv:
            self._cv.wait_for(lambda: self._state[key] != "running")

    def run(self, fits: list[Callable[[], Any]]) -> list[tuple[Any, BaseException | None]]:
        """Run ``fits[k]`` (the training of member k) for every member; returns ``(result, error)`` per member.

        A member whose fit raises gets its exception back; the others go on.
        """
        if len(fits) != len(self.trainers):
            raise ValueError("one fit per trainer is needed")
        results: dict[int, tuple[Any, BaseException | None]] = {}
        keys = [id(t) for t in self.trainers]

        def body(key: int, fit: Callable[[], Any]) -> None:
            try:
                results[key] = (fit(), None)
            except BaseException as exc:  # noqa: BLE001 - handed back to the caller
                results[key] = (None, exc)
            finally:
                with self._cv:
                    self._state[key] = "done"
                    self._cv.notify_all()

        threads = []
        for t, key, fit in zip(self.trainers, keys, fits):
            t._stack = self
            self._resume[key] = threading.Event()
            self._state[key] = "running"
            th = threading.Thread(target=body, args=(key, fit), daemon=True, name=f"stack-member-{len(threads)}")
            threads.append(th)
            th.start()
            self._wait_idle(key)
        try:
            while True:
                waiting = [k for k in keys if self._state[k] == "waiting"]
                if not waiting:
                    break
                _run_epoch([self._loops[k] for k in waiting])
                for k in waiting:
                    if self._loops[k].reason:
                        self._state[k] = "running"
                        self._resume[k].set()
                        self._wait_idle(k)
        finally:
            for t in self.trainers:
                t._stack = None
        for th in threads:
            th.join()
        return [results[k] for k in keys]


def train_stack(trainers: list[Trainer], fits: list[Callable[[], Any]] | None = None
                ) -> list[tuple[Any, BaseException | None]]:
    """Train K trainers together; ``fits[k]`` defaults to ``trainers[k].train_loop``. See :class:`TrainingStack`."""
    fits = fits or [t.train_loop for t in trainers]
    if len(trainers) == 1:  # no thread needed for a stack of one
        try:
            return [(fits[0](), None)]
        except Exception as exc:  # noqa: BLE001
            return [(None, exc)]
    return TrainingStack(trainers).run(fits)


class CudaGraphStep:
    """The forward-backward pass of a stacked training step captured in a CUDA graph (CUDA only).

    On a GPU the step of a small model is hundreds of tiny kernel launches; replaying a captured graph
    costs one launch. A graph is captured per set of members and batch shape: the step's inputs (batches,
    probe indices) are copied into static tensors, the graph is replayed, and the gradients it leaves in
    the parameters' ``.grad`` go to the (eager) Adam update. Masks, weights and optimiser state are updated
    in place, so the graph stays valid across pruning events. Not used for strategies with a penalty or gates
    (their terms may synchronise or sample inside the step), for padded batches, nor for stacks whose batches
    need different solver step counts: those run eagerly, with the same arithmetic.
    """

    #: Graphs kept per trainer (one per member set and batch shape).
    MAX_GRAPHS = 8

    @staticmethod
    def supported(trainers: list[Trainer]) -> bool:
        for t in trainers:
            if _has_penalty(t):
                return False
            if any(getattr(p.layer, "gate", None) is not None for p in t.model.prunable_layers()):
                return False
        return is_fixed_step(trainers[0].config.solver)

    @staticmethod
    def run(cache: dict, trainers: list[Trainer], batches: list[_Batch], *, capture: bool = True) -> Tensor:
        rows = {b.x0.shape[0] for b in batches}
        counts = set(_step_counts(trainers, batches))
        if len(rows) != 1 or len(counts) != 1:
            return _eager_step(trainers, batches)
        if cache.get("failed"):
            return _eager_step(trainers, batches)
        key = (tuple(id(t) for t in trainers), next(iter(rows)), next(iter(counts)))
        entry = cache.get(key)
        if entry is None:
            if len(cache) >= CudaGraphStep.MAX_GRAPHS:
                cache.clear()
            try:
                entry = cache[key] = _CapturedStep(trainers, batches, capture=capture)
            except RuntimeError:  # capture not possible here (driver, memory): the same step, eagerly
                cache["failed"] = True
                for t in trainers:
                    t.optimizer.zero_grad(set_to_none=True)
                return _eager_step(trainers, batches)
        return entry.replay(batches)


class _CapturedStep:
    """Static inputs and the captured graph of one stacked step (see :class:`CudaGraphStep`).

    With ``capture=False`` the same static-buffer step runs eagerly (no graph): the CPU tests use it to check
    that the CUDA path's arithmetic, random draws and gradient hand-over equal the ordinary step's.
    """

    def __init__(self, trainers: list[Trainer], batches: list[_Batch], *, capture: bool = True) -> None:
        self.trainers = trainers
        self.x0 = stack_tensors([b.x0 for b in batches]).clone()
        self.x1 = stack_tensors([b.x1 for b in batches]).clone()
        self.dt = stack_tensors([b.dt for b in batches]).clone()
        # the step's batches as views of the static inputs (every replay copies the new batches into them)
        self.batches = [_Batch(self.x0[k], self.x1[k], self.dt[k], b.max_dt) for k, b in enumerate(batches)]
        self.weights = _LossWeights.of(trainers, self.x0)
        # Static probe rows: redrawn from each member's generator before every replay (as its own run draws).
        self.probe_rows = [self._static_rows(t) for t in self.weights.with_prior]
        self.graph = None
        self.grads: list[tuple[Tensor, Tensor]] = []
        if capture:
            self._capture()

    def _capture(self) -> None:
        trainers = self.trainers
        # Warm up on a side stream (cuBLAS handles, autograd buffers) before capturing, as PyTorch requires.
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                self._zero_grads()
                self._forward_backward()
        torch.cuda.current_stream().wait_stream(stream)
        self._zero_grads()
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.data = self._forward_backward()
        # The captured backward wrote the gradients into tensors of the graph's memory pool; every replay
        # rewrites them, and they are handed to the parameters' ``.grad`` after each replay.
        self.grads = [(p, p.grad) for t in trainers for p in t.model.parameters() if p.grad is not None]

    def _zero_grads(self) -> None:
        for t in self.trainers:
            t.optimizer.zero_grad(set_to_none=True)

    @staticmethod
    def _static_rows(t: Trainer) -> Tensor | None:
        k = t.config.prior_probe_batch
        if k is None or k >= t.probes.shape[0]:
            return None
        return torch.zeros(k, dtype=torch.long, device=t.device)

    def _forward_backward(self) -> Tensor:
        total, data = _stack_loss(self.trainers, self.batches, probe_rows=self.probe_rows, weights=self.weights)
        total.backward()
        return data

    def replay(self, batches: list[_Batch]) -> Tensor:
        self.x0.copy_(stack_tensors([b.x0 for b in batches]))
        self.x1.copy_(stack_tensors([b.x1 for b in batches]))
        self.dt.copy_(stack_tensors([b.dt for b in batches]))
        for static, b in zip(self.batches, batches):  # the step count (part of the graph's key) follows from these
            static.max_dt = b.max_dt
        for t, static in zip(self.weights.with_prior, self.probe_rows):
            if static is not None:
                static.copy_(torch.randint(0, t.probes.shape[0], (static.shape[0],), generator=t.generator),
                             non_blocking=True)
        if self.graph is None:
            return self._forward_backward()
        self.graph.replay()
        for p, g in self.grads:
            p.grad = g
        return self.data.clone()

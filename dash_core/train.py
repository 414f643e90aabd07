"""The training loop (methods A.3-A.4, B.6): one-step-ahead fitting of a GRN model.

:class:`Trainer` owns the model, optimiser, plateau scheduler, early stopping
and best-validation checkpoint. Pruning strategies (``dash_core.pruning``) drive
it through a small API: :meth:`Trainer.train_loop`, :meth:`Trainer.reset_learning_rates`,
:meth:`Trainer.new_optimizer`, :meth:`Trainer.reset_best_tracking`,
:meth:`Trainer.load_best` and the hooks ``on_epoch_start`` / ``penalty`` /
``after_step`` of the strategy.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import torch

from dash_core.data import ExpressionData, make_pairs
from dash_core.device import resolve_device
from dash_core.integrate import SolverConfig, integrate_pairs
from dash_core.io.errors import DashInputError
from dash_core.metrics import sparsity as sparsity_of_blocks
from dash_core.models.base import GRNModel

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
        pairs (SIM, hema); ``"pairs"``: random mini-batches of ``batch_size`` pairs.
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
    """

    lr: float = 1e-3
    g_lr_factor: float = 5.0
    max_epochs: int = 200
    patience: int = 40
    checkpoint_min_sparsity: float = 0.0
    val_fraction: float = 10 / 150
    batching: Literal["trajectory", "pairs"] = "trajectory"
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
    from scipy import sparse

    out = sparse.csr_matrix(prior).T.dot(probes.detach().cpu().double().numpy().T).T  # (P^T probes^T)^T
    return torch.as_tensor(np.ascontiguousarray(out), dtype=dtype, device=probes.device)


@dataclass
class _Batch:
    x0: Tensor
    x1: Tensor
    dt: Tensor


class Trainer:
    """Fit a :class:`GRNModel` by one-step-ahead integration.

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
    ) -> None:
        config.validate()
        self.config = config
        self.device = resolve_device(config.device)
        self.dtype = torch.float64 if config.dtype == "float64" else torch.float32
        self.model = model.to(device=self.device, dtype=self.dtype)
        self.hooks: StrategyHooks = hooks or _NoHooks()
        self.progress = progress
        self.should_stop = should_stop
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(self.seed + 1)
        self.lambda_data = 1.0 if config.lambda_data is None else float(config.lambda_data)

        self._train_batches = self._make_batches(train_data, per_trajectory=config.batching == "trajectory")
        self._train_pairs = self._cat(self._train_batches)
        self._val = self._cat(self._make_batches(val_data, per_trajectory=False)) if val_data is not None else None
        if self._val is None or self._val.x0.shape[0] == 0:
            self._val = self._train_pairs  # no held-out data: monitor the training fit

        self.prior: Tensor | None = None
        self.probes: Tensor | None = None
        self.probe_targets: Tensor | None = None
        if prior is not None and np.any(prior):
            p = np.abs(prior) if config.prior_abs else prior
            self.prior = torch.as_tensor(p, dtype=self.dtype, device=self.device)
            g = torch.Generator().manual_seed(self.seed + 2)
            self.probes = (torch.rand(config.prior_probes, model.n_genes, generator=g) - 0.5).to(self.device, self.dtype)
            self.probe_targets = _probe_drive(self.probes, p, self.dtype)

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

    # -- data -----------------------------------------------------------------
    def _make_batches(self, data: ExpressionData | None, per_trajectory: bool) -> list[_Batch]:
        if data is None or data.n_trajectories == 0:
            return []
        usable = [t for t in data.trajectories if len(t.times) >= 2]
        if not usable:
            return []
        pairs = make_pairs(usable)

        def tens(a):
            return torch.as_tensor(a, dtype=self.dtype, device=self.device)

        if not per_trajectory:
            return [_Batch(tens(pairs.x0), tens(pairs.x1), tens(pairs.dt))]
        out = []
        for i in np.unique(pairs.trajectory):
            sel = pairs.trajectory == i
            out.append(_Batch(tens(pairs.x0[sel]), tens(pairs.x1[sel]), tens(pairs.dt[sel])))
        return out

    @staticmethod
    def _cat(batches: list[_Batch]) -> _Batch | None:
        if not batches:
            return None
        return _Batch(torch.cat([b.x0 for b in batches]), torch.cat([b.x1 for b in batches]),
                      torch.cat([b.dt for b in batches]))

    def _epoch_batches(self) -> list[_Batch]:
        if self.config.batching == "trajectory":
            order = torch.randperm(len(self._train_batches), generator=self.generator).tolist()
            return [self._train_batches[i] for i in order]
        tp = self._train_pairs
        perm = torch.randperm(tp.x0.shape[0], generator=self.generator).to(self.device)
        bs = self.config.batch_size
        return [_Batch(tp.x0[idx], tp.x1[idx], tp.dt[idx]) for idx in perm.split(bs)]

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

    # -- losses -----------------------------------------------------------------
    def predict(self, x0: Tensor, dt: Tensor) -> Tensor:
        return integrate_pairs(self.model, x0, dt, self.config.solver)

    def prior_loss(self) -> Tensor:
        """Mean squared mismatch between ``u(probe)`` and the prior's linear drive ``probe @ P`` (A.3)."""
        assert self.probes is not None and self.probe_targets is not None
        k = self.config.prior_probe_batch
        if k is None or k >= self.probes.shape[0]:
            xs, ts = self.probes, self.probe_targets
        else:
            idx = torch.randint(0, self.probes.shape[0], (k,), generator=self.generator).to(self.device)
            xs, ts = self.probes[idx], self.probe_targets[idx]
        return torch.mean((self.model.drive(xs) - ts) ** 2)

    def loss(self, batch: _Batch) -> tuple[Tensor, float]:
        pred = self.predict(batch.x0, batch.dt)
        data = torch.mean((pred - batch.x1) ** 2)
        total = data * self.lambda_data if self.lambda_data < 1.0 else data
        if self.prior is not None and self.lambda_data < 1.0:
            total = total + (1.0 - self.lambda_data) * self.prior_loss()
        pen = self.hooks.penalty(self)
        if pen is not None:
            total = total + pen
        return total, float(data.detach())

    @torch.no_grad()
    def evaluate_mse(self, x0: Tensor, x1: Tensor, dt: Tensor) -> float:
        was = self.model.training
        self.model.eval()
        pred = self.predict(x0, dt)
        self.model.train(was)
        return float(torch.mean((pred - x1) ** 2))

    def validate(self) -> float:
        v = self._val
        return self.evaluate_mse(v.x0, v.x1, v.dt)

    def train_epoch(self) -> float:
        self.model.train()
        losses, weights = [], []
        # Masks change only between epochs (pruning events), so check once whether any entry is masked.
        masked = any(bool((p.layer.mask == 0).any()) for p in self.model.prunable_layers())
        for batch in self._epoch_batches():
            self.optimizer.zero_grad(set_to_none=True)
            loss, data_mse = self.loss(batch)
            loss.backward()
            self.optimizer.step()
            if masked:
                self.model.apply_masks_()
            self.hooks.after_step(self)
            losses.append(data_mse)
            weights.append(batch.x0.shape[0])
        return float(np.average(losses, weights=weights)) if losses else float("nan")

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
        """
        max_epochs = self.config.max_epochs if max_epochs is None else int(max_epochs)
        patience = self.config.patience if patience is None else int(patience)
        self.phase = phase
        while self.epoch < max_epochs:
            if self.should_stop is not None and self.should_stop():
                self.stop_reason = "cancelled"
                return self.stop_reason
            e = self.epoch + 1
            t0 = time.perf_counter()
            if call_hooks:
                self.hooks.on_epoch_start(self, e)
            train_loss = self.train_epoch()
            val = self.validate()
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
            dt = time.perf_counter() - t0
            self._record(train_loss, val, dt, max_epochs, sparsity)
            if patience and self.bad_epochs >= patience and self.min_sparsity_reached:
                self.stop_reason = "early_stopping"
                return self.stop_reason
        self.stop_reason = "max_epochs"
        return self.stop_reason

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

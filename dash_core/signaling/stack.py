"""Train K signaling models on one network in one pass (cross-validation folds, seeds).

All K models share the node and edge set; their parameters are stacked along a
leading dimension: edge values ``values[k, e] = W_k[target_e, source_e]`` (row of
``W`` = target, column = source, edge order of the model's edge table), biases
``(K, N)``, input projections ``(K, L)``, output projections ``(K, T)``. One
recurrence step of all K models is one product with a block-diagonal sparse
``W`` of size ``K N x K N`` (CPU) or one batched matmul of the masked ``(K, N, N)``
weights (dense backend, CUDA). The loss is the sum of the K models' losses, so
each model's gradient, and Adam's element-wise update, are those of the model
trained alone; every model keeps its own training set, batch order, spectral
subset and noise (its own generator, seeded ``seed_k + 1``), so a model's result does
not depend on which other models share its stack.

This is the training engine of :func:`dash_core.signaling.train.train_model`
(a stack of one) and of cross-validation (:mod:`dash_core.signaling.cv`).
"""

from __future__ import annotations

import ctypes
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from dash_core.io.errors import DashInputError
from dash_core.signaling.config import SignalingConfig
from dash_core.signaling.model import (
    SignalingModel,
    _CSRMatmul,
    _CSRPlan,
    batched_power_iteration,
    mml_derivative,
    solve_steady_state,
)


class ModelStack(nn.Module):
    """K models of one network with stacked parameters (see the module docstring).

    Parameters
    ----------
    models
        Initialised (usually prescaled) models with identical nodes, edges, ligands,
        TFs and output-bias setting; their current parameters are copied.
    config
        Settings shared by the stack (recurrence, loss, schedule); the models' own seeds
        are given to :func:`train_stack`.
    """

    def __init__(self, models: Sequence[SignalingModel], config: SignalingConfig | None = None) -> None:
        super().__init__()
        if not models:
            raise ValueError("a model stack needs at least one model")
        ref = models[0]
        for m in models[1:]:
            same = (
                m.nodes == ref.nodes
                and m.ligands == ref.ligands
                and m.tfs == ref.tfs
                and torch.equal(m.edge_target.cpu(), ref.edge_target.cpu())
                and torch.equal(m.edge_source.cpu(), ref.edge_source.cpu())
                and (m.output_bias is None) == (ref.output_bias is None)
            )
            if not same:
                raise ValueError("all models of a stack must share nodes, edges, ligands, TFs and the output-bias setting")
        self.config = config or ref.config
        self.n_models = len(models)
        self.n_nodes = ref.n_nodes
        for name in ("edge_target", "edge_source", "edge_sign", "ligand_index", "tf_index"):
            self.register_buffer(name, getattr(ref, name).detach().clone())
        with torch.no_grad():
            self.values = nn.Parameter(torch.stack([m.edge_weights().detach() for m in models]).contiguous())
            self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in models]).clone())
            self.input_weight = nn.Parameter(
                torch.stack([m.input_weight.detach() for m in models]).clone(), requires_grad=self.config.train_input_weights
            )
            self.output_weight = nn.Parameter(torch.stack([m.output_weight.detach() for m in models]).clone())
            self.output_bias = (
                nn.Parameter(torch.stack([m.output_bias.detach() for m in models]).clone()) if ref.output_bias is not None else None
            )

    # ----------------------------------------------------------------- operators

    @property
    def n_edges(self) -> int:
        return int(self.edge_target.numel())

    def uses_sparse(self) -> bool:
        b = self.config.backend
        return b == "sparse" or (b == "auto" and self.values.device.type != "cuda")

    def _block_plan(self) -> _CSRPlan:
        """CSR plan of the block-diagonal ``K N x K N`` matrix (cached per device)."""
        key = (self.values.device, self.n_models)
        cache = self.__dict__.setdefault("_plan_cache", {})
        if key not in cache:
            cache.clear()
            offset = (torch.arange(self.n_models, device=self.values.device) * self.n_nodes).unsqueeze(1)
            tgt = (self.edge_target.unsqueeze(0) + offset).reshape(-1)
            src = (self.edge_source.unsqueeze(0) + offset).reshape(-1)
            cache[key] = _CSRPlan.build(tgt, src, self.n_models * self.n_nodes)
        return cache[key]

    def _dense(self, values: Tensor) -> Tensor:
        """``(K, N, N)`` weights ``W_k[target, source]`` (zero off the edges), differentiable in ``values``."""
        k, n = self.n_models, self.n_nodes
        kk = torch.arange(k, device=values.device).repeat_interleave(self.n_edges)
        tt = self.edge_target.repeat(k)
        ss = self.edge_source.repeat(k)
        return values.new_zeros(k, n, n).index_put((kk, tt, ss), values.reshape(-1))

    def operators(self, values: Tensor | None = None) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
        """``(V -> W V, V -> W^T V)`` of the block-diagonal weights for ``(K N, M)`` blocks."""
        vals = self.values if values is None else values
        if self.uses_sparse():
            plan = self._block_plan()
            flat = vals.reshape(-1)[plan.order]
            cache: dict[bool, Tensor] = {}

            def product(transpose: bool) -> Callable[[Tensor], Tensor]:
                def run(v: Tensor) -> Tensor:
                    if flat.requires_grad and torch.is_grad_enabled():
                        return _CSRMatmul.apply(flat, v, plan, transpose)
                    if transpose not in cache:
                        cache[transpose] = plan.matrix(flat.detach(), transpose)
                    return cache[transpose] @ v

                return run

            return product(False), product(True)
        w = self._dense(vals)
        k, n = self.n_models, self.n_nodes

        def fwd(v: Tensor) -> Tensor:
            return torch.bmm(w, v.reshape(k, n, -1)).reshape(k * n, -1)

        def bwd(v: Tensor) -> Tensor:
            return torch.bmm(w.transpose(1, 2), v.reshape(k, n, -1)).reshape(k * n, -1)

        return fwd, bwd

    # ----------------------------------------------------------------- forward

    def input_projection(self, x_in: Tensor) -> Tensor:
        """``(K, B, L)`` ligand amounts -> ``(K, B, N)`` node inputs ``U`` (H.2)."""
        k, b, _ = x_in.shape
        u = x_in.new_zeros(k, b, self.n_nodes)
        u.index_add_(2, self.ligand_index, x_in * self.input_weight.unsqueeze(1))
        return u + self.bias.unsqueeze(1)

    def forward(self, x_in: Tensor, input_noise: Tensor | None = None) -> tuple[Tensor, Tensor, int]:
        """``(K, B, L)`` ligand inputs -> ``(K, B, T)`` TF predictions, ``(K, B, N)`` steady states, steps."""
        k, b, _ = x_in.shape
        u = self.input_projection(x_in)
        if input_noise is not None:
            u = u + input_noise
        u_cols = u.permute(0, 2, 1).reshape(k * self.n_nodes, b)
        sparse = None
        if self.uses_sparse():
            plan = self._block_plan()
            sparse = (self.values.reshape(-1)[plan.order], plan)
        fwd, _ = self.operators()
        x, steps = solve_steady_state(u_cols, self.config, fwd, lambda: self.operators(self.values.detach())[1], sparse=sparse)
        states = x.reshape(k, self.n_nodes, b).permute(0, 2, 1)
        pred = states[:, :, self.tf_index] * self.output_weight.unsqueeze(1)
        if self.output_bias is not None:
            pred = pred + self.output_bias.unsqueeze(1)
        return pred, states, steps

    def spectral_radius_estimate(
        self,
        states: Tensor,
        probes: Tensor,
        *,
        left_probes: Tensor | None = None,
        n_steps: int | Tensor | None = None,
        return_vectors: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor, Tensor]:
        """``(K, S)`` spectral radii of ``diag(phi'(y_ks)) W_k`` (H.7) from ``(K, S, N)`` states and
        ``(K, N, S, P)`` start vectors; differentiable in the edge values (see
        :func:`batched_power_iteration` for ``left_probes``, ``n_steps`` and ``return_vectors``)."""
        k, s, n = states.shape
        p = probes.shape[-1]
        fwd, _ = self.operators()
        bwd = self.operators(self.values.detach())[1] if self.config.spectral_gradient == "eigenvector" else None

        def apply(op: Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
            # (K, N, S, P') blocks are (K N, S P') column blocks of the block-diagonal W (free views)
            return lambda v: op(v.reshape(k * n, -1)).reshape(k, n, s, v.shape[-1])

        d = mml_derivative(states.detach(), self.config.leak).permute(0, 2, 1).contiguous()
        return batched_power_iteration(
            apply(fwd),
            d,
            n_probes=p,
            n_steps=self.config.spectral_power_steps if n_steps is None else n_steps,
            probes=probes,
            rmatvec=apply(bwd) if bwd is not None else None,
            node_dim=1,
            left_probes=left_probes,
            return_vectors=return_vectors,
        )

    def reset_spectral_memory(self, n_conditions: int) -> None:
        """Forget the warm-start vectors of the spectral estimate (``spectral_warm_steps``)."""
        k, n, p = self.n_models, self.n_nodes, self.config.spectral_probes
        dev = self.values.device
        self._spectral_memory = {
            "right": torch.zeros(k, n_conditions, n, p, device=dev),
            "left": torch.zeros(k, n_conditions, n, p, device=dev),
            "seen": torch.zeros(k, n_conditions, dtype=torch.bool, device=dev),
        }

    def spectral_memory(self) -> dict[str, Tensor] | None:
        """The warm-start vectors (``right``/``left``: ``(K, C, N, P)``, ``seen``: ``(K, C)``), if enabled."""
        cfg = self.config
        if cfg.spectral_warm_steps <= 0 or cfg.spectral_gradient != "eigenvector":
            return None
        return self.__dict__.get("_spectral_memory")

    # ----------------------------------------------------------------- copies

    @torch.no_grad()
    def write_back(self, models: Sequence[SignalingModel], which: Sequence[int] | None = None) -> None:
        """Copy the stacked parameters of models ``which`` (default all) into ``models`` (same order)."""
        for k in which if which is not None else range(self.n_models):
            m = models[k]
            m.set_parameters(self.values[k], self.bias[k], self.input_weight[k], self.output_weight[k])
            if m.output_bias is not None and self.output_bias is not None:
                m.output_bias.copy_(self.output_bias[k].to(m.output_bias.device))


# --------------------------------------------------------------------------- loss (H.7)


def stack_loss(
    stack: ModelStack,
    prediction: Tensor,
    target: Tensor,
    states: Tensor,
    valid: Tensor,
    lr: float,
    generators: Sequence[torch.Generator],
    conditions: Tensor | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Sum over the K models of the H.7 loss (``loss_variant`` of the stack's config).

    Parameters
    ----------
    prediction, target
        ``(K, B, T)`` TF predictions and data.
    states
        ``(K, B, N)`` steady states.
    valid
        ``(K, B)`` bool: which batch rows belong to each model (rows are padded when the
        models' training sets differ in size); padded rows count nowhere.
    lr
        Current learning rate (scales the uniformity term of the package variant).
    generators
        One per model: spectral subset and probe vectors.
    conditions
        ``(K, B)`` condition index of each batch row; enables the warm-started spectral
        estimate (``spectral_warm_steps``) after :meth:`ModelStack.reset_spectral_memory`.

    Returns
    -------
    (Tensor, dict)
        The summed loss and each unweighted part per model (``(K,)`` tensors, detached).
    """
    cfg = stack.config
    k, b, t = prediction.shape
    validf = valid.to(prediction.dtype)
    n_valid = validf.sum(1).clamp_min(1.0)
    mse = ((prediction - target).square() * validf.unsqueeze(-1)).sum((1, 2)) / (n_valid * t)
    sign = torch.relu(-stack.edge_sign * stack.values).sum(1)
    lig = stack.bias[:, stack.ligand_index].square().sum(1)
    l2 = stack.values.square().sum(1) + stack.bias.square().sum(1)
    projection = (stack.input_weight - cfg.input_weight_init).square().sum(1)
    projection = projection + (stack.output_weight - cfg.output_weight_init).square().sum(1)
    if stack.output_bias is not None:
        projection = projection + stack.output_bias.square().sum(1)
    lambda_projection = cfg.lambda_l2 if cfg.lambda_l2_projection is None else cfg.lambda_l2_projection
    # spectral radius on a per-model random subset of its own batch rows (padded to the largest subset)
    counts = valid.sum(1).tolist()
    sizes = [max(1, min(cfg.spectral_subset, int(c))) for c in counts]
    n_sub = max(sizes)
    dev = states.device
    memory = stack.spectral_memory() if conditions is not None else None
    pick = torch.zeros(k, n_sub, dtype=torch.long, device=dev)
    sub_valid = torch.zeros(k, n_sub, dtype=states.dtype, device=dev)
    probes = torch.zeros(k, stack.n_nodes, n_sub, cfg.spectral_probes, device=dev, dtype=states.dtype)
    left = probes.clone() if memory is not None else None
    steps = torch.full((k, 1, 1, 1), cfg.spectral_power_steps, device=dev)
    for i in range(k):
        rows = torch.nonzero(valid[i]).reshape(-1)
        chosen = rows[torch.randperm(rows.numel(), generator=generators[i], device=dev)[: sizes[i]]]
        pick[i, : sizes[i]] = chosen
        sub_valid[i, : sizes[i]] = 1.0
        if memory is not None and bool(memory["seen"][i, conditions[i, chosen]].all()):
            cond = conditions[i, chosen]
            probes[i, :, : sizes[i]] = memory["right"][i, cond].permute(1, 0, 2)
            left[i, :, : sizes[i]] = memory["left"][i, cond].permute(1, 0, 2)
            steps[i] = cfg.spectral_warm_steps
            continue
        probes[i, :, : sizes[i]] = torch.randn(
            stack.n_nodes, sizes[i], cfg.spectral_probes, generator=generators[i], device=dev, dtype=states.dtype
        )
        if left is not None:
            left[i, :, : sizes[i]] = probes[i, :, : sizes[i]]
    sub = states[torch.arange(k, device=dev).unsqueeze(1), pick]
    if memory is None:
        rho = stack.spectral_radius_estimate(sub, probes)
    else:
        rho, right_v, left_v = stack.spectral_radius_estimate(
            sub,
            probes,
            left_probes=left,
            # one count for all models: plain iterations (the per-block masked form costs 2-3x per iteration)
            n_steps=int(steps.reshape(-1)[0]) if bool((steps == steps.reshape(-1)[0]).all()) else steps,
            return_vectors=True,
        )
        for i in range(k):
            cond = conditions[i, pick[i, : sizes[i]]]
            memory["right"][i, cond] = right_v[i, :, : sizes[i]].permute(1, 0, 2)
            memory["left"][i, cond] = left_v[i, :, : sizes[i]].permute(1, 0, 2)
            memory["seen"][i, cond] = True
    rho = rho * sub_valid
    rho_sum = rho.sum(1)
    if cfg.loss_variant == "self_prune":
        spectral = cfg.lambda_spectral * rho_sum / rho_sum.detach().clamp_min(1e-12)
        uniform = torch.zeros(k, device=dev, dtype=states.dtype)
    else:
        factor = torch.exp(cfg.spectral_kappa * (rho_sum / sub_valid.sum(1) - cfg.rho_star))
        spectral = cfg.lambda_spectral * factor * rho_sum
        uniform = lr * cfg.lambda_uniform * uniform_penalty(states, valid, cfg.output_weight_init)
    per_model = mse + cfg.lambda_sign * sign + cfg.lambda_ligand * lig + cfg.lambda_l2 * l2 + lambda_projection * projection
    per_model = per_model + spectral + uniform
    l2 = l2 + projection
    parts = {
        "mse": mse,
        "sign_penalty": sign,
        "ligand_penalty": lig,
        "l2_penalty": l2,
        "spectral_radius": rho_sum / sub_valid.sum(1),
        "spectral_term": spectral,
        "uniform_term": uniform,
        "loss": per_model,
    }
    return per_model.sum(), {name: v.detach() for name, v in parts.items()}


def uniform_penalty(states: Tensor, valid: Tensor, output_weight_init: float) -> Tensor:
    """``L_unif`` of H.7 per model: each node's states sorted across the model's batch rows versus an
    even spread on ``[0, 1/A_out]``, plus squared excursions below 0 and above ``1/A_out``.

    Parameters
    ----------
    states
        ``(K, B, N)``.
    valid
        ``(K, B)`` bool; padded rows are sorted last and ignored.

    Returns
    -------
    Tensor
        ``(K,)``.
    """
    m = 1.0 / output_weight_init
    k, b, _ = states.shape
    validf = valid.to(states.dtype)
    n_valid = validf.sum(1, keepdim=True)
    pos = torch.arange(b, device=states.device, dtype=states.dtype).unsqueeze(0)
    q = m * pos / (n_valid - 1).clamp_min(1.0)
    q_mask = (pos < n_valid).to(states.dtype)
    big = torch.finfo(states.dtype).max / 4
    sorted_states = torch.sort(torch.where(valid.unsqueeze(-1), states, torch.full_like(states, big)), dim=1).values
    sorted_states = torch.where(q_mask.unsqueeze(-1) > 0, sorted_states, torch.zeros_like(sorted_states))
    total = ((sorted_states - q.unsqueeze(-1)).square() * q_mask.unsqueeze(-1)).sum((1, 2))
    w = validf.unsqueeze(-1)
    total = total + (torch.where(states < 0, states.square(), torch.zeros_like(states)) * w).sum((1, 2))
    total = total + (torch.where(states > m, (states - m).square(), torch.zeros_like(states)) * w).sum((1, 2))
    return total


# --------------------------------------------------------------------------- training (H.8)


@dataclass(frozen=True)
class ProgressInfo:
    """What :func:`train_stack` reports every ``eval_every`` epochs and at the end (means over models)."""

    epoch: int
    epochs: int
    loss: float
    train_mse: float
    test_mse: float
    test_pearson: float
    seconds: float
    eta_seconds: float


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r over all entries (NaN when either side is constant)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


@torch.no_grad()
def predict_stack(stack: ModelStack, x_in: Tensor) -> Tensor:
    """``(C, L)`` ligand inputs -> ``(K, C, T)`` predictions of every model (no noise)."""
    pred, _, _ = stack(x_in.unsqueeze(0).expand(stack.n_models, -1, -1).contiguous())
    return pred


def _evaluate(
    stack: ModelStack, x_in: Tensor, y: Tensor, index_sets: Sequence[np.ndarray], pred: np.ndarray | None = None
) -> list[dict[str, float]]:
    pred = predict_stack(stack, x_in).cpu().numpy() if pred is None else pred
    truth = y.cpu().numpy()
    out = []
    for k, idx in enumerate(index_sets):
        if len(idx) == 0:
            out.append({"mse": float("nan"), "pearson": float("nan")})
            continue
        p, t = pred[k][idx], truth[idx]
        out.append({"mse": float(np.mean((p - t) ** 2)), "pearson": pearson(p, t)})
    return out


def learning_rate(epoch: int, config: SignalingConfig) -> float:
    """Cosine warm-up / decay schedule of H.8 at 0-indexed ``epoch``.

    ``lr_start -> lr_max`` over ``[0, e_pk]``, ``lr_max -> lr_end`` over
    ``(e_pk, 0.95 E_tot]``, then ``lr_end``; ``e_pk = peak_fraction * E_tot``.
    """
    e_tot = config.epochs
    e_pk = config.peak_fraction * e_tot
    e_end = 0.95 * e_tot
    if epoch <= e_pk:
        if e_pk <= 0:
            return float(config.lr_max)
        return float((config.lr_max - config.lr_start) * 0.5 * (math.cos(math.pi * (epoch / e_pk + 1)) + 1) + config.lr_start)
    if epoch <= e_end:
        frac = (epoch - e_pk) / max(e_end - e_pk, 1e-12)
        return float((config.lr_max - config.lr_end) * 0.5 * (math.cos(math.pi * (frac + 2)) + 1) + config.lr_end)
    return float(config.lr_end)


def keep_freed_memory() -> bool:
    """Let the C allocator keep freed blocks of up to 64 MiB for reuse instead of returning each to the OS (glibc only).

    The recurrence allocates a few ``T x N x B`` arrays (about 5 MB each on the macrophage network) per
    training step. With glibc's default thresholds each is a fresh ``mmap``, so every step pays page
    faults: measured on the macrophage network at the 150-step cap, 1 thread, 0.097 vs 0.064 CPU s per
    epoch (0.32 vs 0.04 s of system time over 10 epochs, 10x the minor page faults). Process-wide;
    called by :func:`train_stack`. Returns whether the setting was applied.
    """
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 64 * 2**20) == 1
        return bool(libc.mallopt(m_trim_threshold, 128 * 2**20) == 1 and ok)
    except (OSError, AttributeError):
        return False


def _noise_like(shape: Sequence[int], generators: Sequence[torch.Generator], device: torch.device) -> Tensor:
    """``(K, *shape)`` standard normal noise, row k from generator k."""
    return torch.stack([torch.randn(*shape, generator=g, device=device) for g in generators])


def train_stack(
    stack: ModelStack,
    x_in: Tensor,
    y: Tensor,
    *,
    train_sets: Sequence[Sequence[int]],
    test_sets: Sequence[Sequence[int]],
    seeds: Sequence[int],
    progress: Callable[[ProgressInfo], None] | None = None,
    on_epoch_end: Callable[[int, list[dict]], None] | None = None,
    val_sets: Sequence[Sequence[int]] | None = None,
) -> tuple[list[pd.DataFrame], list[dict[str, float]]]:
    """Train all models of ``stack`` in place with Adam and the H.8 schedule.

    Each step: forward of every model on its own batch, loss (H.7, summed over models),
    backward, Gaussian gradient noise, optional per-model gradient-norm clipping, Adam
    step. The Adam state is reset every ``adam_reset_every`` epochs; optional input noise
    is added to ``U``.

    Parameters
    ----------
    stack
        The models (initialised and prescaled), on their device.
    x_in, y
        ``(C, L)`` ligand inputs and ``(C, T)`` TF data for all conditions, on the stack's device.
    train_sets, test_sets
        Per model, the row indices of its training and test conditions.
    seeds
        Per model, the seed of its batch order, spectral subsets and noise (generator ``seed + 1``).
    progress
        Called with a :class:`ProgressInfo` every ``eval_every`` epochs and after the last.
    on_epoch_end
        Called as ``on_epoch_end(completed_epochs, records)`` after every epoch, one history
        row per model (raise to stop training).
    val_sets
        Per model, validation condition indices (not in its training set). Each model is
        evaluated on them every ``eval_every`` epochs and at the end; with the config's
        ``checkpoint="best_validation"`` its parameters with the best validation Pearson r (ties:
        the earlier epoch) are restored after training.

    Returns
    -------
    (list of DataFrame, list of dict)
        Per model: its history (one row per epoch: ``epoch, lr, loss, mse, sign_penalty,
        ligand_penalty, l2_penalty, spectral_radius, spectral_term, uniform_term, steps,
        test_mse, test_pearson, seconds``; penalties unweighted, test columns NaN where not
        evaluated) and its final metrics ``train_mse, train_pearson, test_mse, test_pearson,
        seconds, seconds_per_epoch, n_train, n_test, stack_size``.
    """
    cfg = stack.config
    k = stack.n_models
    if not (len(train_sets) == len(test_sets) == len(seeds) == k):
        raise ValueError("train_sets, test_sets and seeds need one entry per model of the stack")
    device = stack.values.device
    if device.type == "cpu":
        keep_freed_memory()
    trains = [torch.as_tensor(np.asarray(s, dtype=np.int64), device=device) for s in train_sets]
    tests = [np.asarray(s, dtype=np.int64) for s in test_sets]
    if min(int(t.numel()) for t in trains) == 0:
        raise DashInputError("No training conditions.")
    gens = []
    for s in seeds:
        g = torch.Generator(device=device)
        g.manual_seed(int(s) + 1)
        gens.append(g)
    stack.reset_spectral_memory(int(x_in.shape[0]))
    params = [p for p in stack.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.lr_start, weight_decay=0.0)
    n_train = [int(t.numel()) for t in trains]
    batch = min(cfg.batch_size or max(n_train), max(n_train))
    n_steps = math.ceil(max(n_train) / batch)
    histories: list[list[dict]] = [[] for _ in range(k)]
    start = time.perf_counter()
    test_now = [{"mse": float("nan"), "pearson": float("nan")}] * k
    vals = [np.asarray(s, dtype=np.int64) for s in (val_sets or [[]] * k)]
    if len(vals) != k:
        raise ValueError("val_sets needs one entry per model of the stack")
    use_val = any(len(v) for v in vals)
    val_now = [{"mse": float("nan"), "pearson": float("nan")}] * k
    best_r = [-math.inf] * k
    best_epoch = [0] * k
    best_state: list[dict[str, Tensor] | None] = [None] * k
    names = ("loss", "mse", "sign_penalty", "ligand_penalty", "l2_penalty", "spectral_radius", "spectral_term", "uniform_term")
    stack.train()
    for epoch in range(cfg.epochs):
        lr = learning_rate(epoch, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        if cfg.adam_reset_every and epoch > 0 and epoch % cfg.adam_reset_every == 0:
            optimizer.state.clear()
        orders = [
            t[torch.randperm(t.numel(), generator=g, device=device)] if batch < t.numel() else t for t, g in zip(trains, gens)
        ]
        sums = torch.zeros(len(names), k, dtype=torch.float64)
        steps = 0
        for j in range(n_steps):
            chunks = [o[j * batch : (j + 1) * batch] for o in orders]
            width = max(int(c.numel()) for c in chunks)
            idx = torch.zeros(k, width, dtype=torch.long, device=device)
            valid = torch.zeros(k, width, dtype=torch.bool, device=device)
            for i, c in enumerate(chunks):
                idx[i, : c.numel()] = c
                valid[i, : c.numel()] = True
            xb, yb = x_in[idx], y[idx]
            noise = None
            if cfg.input_noise > 0:
                sd = cfg.input_noise * (lr if cfg.input_noise_lr_scaled else 1.0)
                noise = torch.zeros(k, width, stack.n_nodes, device=device)
                for i, (c, g) in enumerate(zip(chunks, gens)):  # each model draws for its own rows only
                    noise[i, : c.numel()] = torch.randn(c.numel(), stack.n_nodes, generator=g, device=device) * sd
            optimizer.zero_grad(set_to_none=True)
            pred, states, n_it = stack(xb, noise)
            steps = max(steps, n_it)
            loss, parts = stack_loss(stack, pred, yb, states, valid, lr, gens, idx)
            loss.backward()
            sd = cfg.grad_noise * (lr if cfg.grad_noise_lr_scaled else 1.0)
            if sd > 0:
                for p in params:
                    if p.grad is not None:
                        p.grad.add_(_noise_like(p.shape[1:], gens, device) * sd)
            if cfg.grad_clip is not None:
                sq = sum(p.grad.reshape(k, -1).square().sum(1) for p in params if p.grad is not None)
                scale = (cfg.grad_clip / (sq.sqrt() + 1e-6)).clamp(max=1.0)
                for p in params:
                    if p.grad is not None:
                        p.grad.mul_(scale.reshape(k, *([1] * (p.dim() - 1))))
            optimizer.step()
            sums += torch.stack([parts[n] for n in names]).double().cpu()  # one device-to-host copy
            if not math.isfinite(float(loss.detach())):
                raise FloatingPointError(f"The training loss became {float(loss.detach())} at epoch {epoch + 1}; lower the learning rate.")
        last = epoch + 1 == cfg.epochs
        evaluated = (epoch + 1) % cfg.eval_every == 0 or last
        if evaluated and (use_val or any(len(t) for t in tests)):
            pred_all = predict_stack(stack, x_in).cpu().numpy()
            test_now = _evaluate(stack, x_in, y, tests, pred_all)
            if use_val:
                val_now = _evaluate(stack, x_in, y, vals, pred_all)
                for i in range(k):
                    r = val_now[i]["pearson"]
                    if len(vals[i]) and math.isfinite(r) and r > best_r[i]:
                        best_r[i], best_epoch[i] = r, epoch + 1
                        best_state[i] = {n: p.detach()[i].clone() for n, p in stack.named_parameters()}
            stack.train()
        elapsed = time.perf_counter() - start
        means = (sums / n_steps).numpy()
        records = []
        for i in range(k):
            rec = {"epoch": epoch + 1, "lr": lr, **{n: float(means[r, i]) for r, n in enumerate(names)}, "steps": steps}
            rec["test_mse"] = test_now[i]["mse"] if evaluated else float("nan")
            rec["test_pearson"] = test_now[i]["pearson"] if evaluated else float("nan")
            if use_val:
                rec["val_mse"] = val_now[i]["mse"] if evaluated else float("nan")
                rec["val_pearson"] = val_now[i]["pearson"] if evaluated else float("nan")
            rec["seconds"] = elapsed
            histories[i].append(rec)
            records.append(rec)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, records)
        if progress is not None and evaluated:
            eta = elapsed / (epoch + 1) * (cfg.epochs - epoch - 1)
            progress(
                ProgressInfo(
                    epoch + 1,
                    cfg.epochs,
                    float(np.mean([r["loss"] for r in records])),
                    float(np.mean([r["mse"] for r in records])),
                    float(np.nanmean([t["mse"] for t in test_now])) if any(len(t) for t in tests) else float("nan"),
                    float(np.nanmean([t["pearson"] for t in test_now])) if any(len(t) for t in tests) else float("nan"),
                    elapsed,
                    eta,
                )
            )
    stack.eval()
    val_last = [v["pearson"] for v in val_now]
    if use_val and cfg.checkpoint == "best_validation":  # restore each model's best-validation parameters
        with torch.no_grad():
            params_by_name = dict(stack.named_parameters())
            for i, state in enumerate(best_state):
                if state is not None:
                    for name, value in state.items():
                        params_by_name[name][i] = value
    seconds = time.perf_counter() - start
    train_m = _evaluate(stack, x_in, y, [t.cpu().numpy() for t in trains])
    test_m = _evaluate(stack, x_in, y, tests)
    metrics = [
        {
            "train_mse": train_m[i]["mse"],
            "train_pearson": train_m[i]["pearson"],
            "test_mse": test_m[i]["mse"],
            "test_pearson": test_m[i]["pearson"],
            "seconds": seconds,
            "seconds_per_epoch": seconds / cfg.epochs,
            "n_train": n_train[i],
            "n_test": int(len(tests[i])),
            "stack_size": k,
            **(
                {
                    "val_pearson_best": best_r[i] if best_state[i] is not None else float("nan"),
                    "best_epoch": best_epoch[i],
                    "val_pearson_last": val_last[i],
                }
                if use_val
                else {}
            ),
        }
        for i in range(k)
    ]
    return [pd.DataFrame(h) for h in histories], metrics

"""Training of signaling models: loss (H.7), optimiser and schedule (H.8), evaluation, checkpoints.

Matrices: ligand inputs ``X_in`` are ``(B, L)`` (row = condition, column = ligand),
TF targets ``Y`` are ``(B, K)`` (row = condition, column = TF); model weights are
``W[target, source]`` (row = target, column = source).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from dash_core.device import resolve_device
from dash_core.io.errors import DashInputError
from dash_core.signaling.config import SignalingConfig
from dash_core.signaling.data import SignalingData
from dash_core.signaling.model import SignalingModel, edges_from_state

CHECKPOINT_FILE = "model.pt"
CONFIG_FILE = "config.json"


# --------------------------------------------------------------------------- helpers


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


def split_conditions(n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train/test split of ``n`` conditions.

    ``test_size`` in (0, 1) is a fraction (rounded, at least 1 when > 0); a whole number
    >= 1 is a count; 0 means no test set. At least one condition stays in training.
    """
    if n < 1:
        raise DashInputError("No conditions to train on.")
    if test_size <= 0:
        n_test = 0
    elif test_size < 1:
        n_test = max(1, int(round(test_size * n)))
    else:
        n_test = int(test_size)
    if n_test >= n:
        raise DashInputError(f"test_size {test_size} leaves no training condition out of {n}; use a smaller test set.")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r over all entries (NaN when either side is constant)."""
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


# --------------------------------------------------------------------------- loss (H.7)


def sign_penalty(model: SignalingModel) -> Tensor:
    """``sum_{mu != 0} |W_ts| * 1[sign(W_ts) != mu_ts]``: only known-sign edges are penalised."""
    w = model.edge_weights()
    return torch.relu(-model.edge_sign * w).sum()


def l2_penalty(model: SignalingModel, config: SignalingConfig) -> Tensor:
    """``||W||^2 + ||b||^2 + ||w_in - A_in||^2 + ||w_out - A_out||^2 (+ ||b_out||^2)``."""
    total = model.masked_weight().square().sum() + model.bias.square().sum()
    total = total + (model.input_weight - config.input_weight_init).square().sum()
    total = total + (model.output_weight - config.output_weight_init).square().sum()
    if model.output_bias is not None:
        total = total + model.output_bias.square().sum()
    return total


def uniform_penalty(states: Tensor, output_weight_init: float) -> Tensor:
    """``L_unif`` of H.7: sorted node states across the batch versus an even spread on ``[0, 1/A_out]``."""
    m = 1.0 / output_weight_init
    b = states.shape[0]
    q = torch.linspace(0, m, b, device=states.device, dtype=states.dtype).unsqueeze(1)
    sorted_states = torch.sort(states, dim=0).values
    total = (sorted_states - q).square().sum()
    total = total + torch.where(states < 0, states.square(), torch.zeros_like(states)).sum()
    total = total + torch.where(states > m, (states - m).square(), torch.zeros_like(states)).sum()
    return total


def loss_terms(
    model: SignalingModel,
    prediction: Tensor,
    target: Tensor,
    states: Tensor,
    config: SignalingConfig,
    lr: float,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """Total loss of H.7 for the chosen ``loss_variant`` and its parts (as floats).

    Parameters
    ----------
    prediction, target
        ``(B, K)`` TF predictions and data.
    states
        ``(B, N)`` steady states of the batch.
    lr
        Current learning rate (scales the uniformity term of the package variant).
    """
    mse = torch.mean((prediction - target) ** 2)
    sign = sign_penalty(model)
    lig = model.bias[model.ligand_index].square().sum()
    l2 = l2_penalty(model, config)
    b = states.shape[0]
    n_sub = min(config.spectral_subset, b)
    dev = states.device
    pick = torch.randperm(b, generator=generator, device=dev)[:n_sub] if generator is not None else torch.arange(n_sub, device=dev)
    rho = model.spectral_radius_estimate(
        states[pick], n_probes=config.spectral_probes, n_steps=config.spectral_power_steps, generator=generator
    )
    if config.loss_variant == "self_prune":
        spectral = config.lambda_spectral * rho.sum() / rho.sum().detach().clamp_min(1e-12)
        uniform = torch.zeros((), device=dev)
    else:
        factor = torch.exp(config.spectral_kappa * (rho.mean() - config.rho_star))
        spectral = config.lambda_spectral * (factor * rho).sum()
        uniform = lr * config.lambda_uniform * uniform_penalty(states, config.output_weight_init)
    total = mse + config.lambda_sign * sign + config.lambda_ligand * lig + config.lambda_l2 * l2 + spectral + uniform
    parts = {
        "mse": float(mse.detach()),
        "sign_penalty": float(sign.detach()),
        "ligand_penalty": float(lig.detach()),
        "l2_penalty": float(l2.detach()),
        "spectral_radius": float(rho.detach().mean()),
        "spectral_term": float(spectral.detach()),
        "uniform_term": float(uniform.detach()),
    }
    return total, parts


# --------------------------------------------------------------------------- training loop (H.8)


@dataclass(frozen=True)
class ProgressInfo:
    """What a progress callback receives (every ``eval_every`` epochs and at the end)."""

    epoch: int
    epochs: int
    loss: float
    train_mse: float
    test_mse: float
    test_pearson: float
    seconds: float
    eta_seconds: float


@dataclass
class TrainResult:
    """Outcome of :func:`train_model`.

    Attributes
    ----------
    history
        One row per epoch: ``epoch, lr, loss, mse, sign_penalty, ligand_penalty, l2_penalty,
        spectral_radius, spectral_term, uniform_term, steps, test_mse, test_pearson, seconds``
        (penalties unweighted) (test columns NaN
        where not evaluated).
    metrics
        Final ``train_mse, train_pearson, test_mse, test_pearson, seconds, seconds_per_epoch``.
    """

    history: pd.DataFrame
    metrics: dict[str, float]


@torch.no_grad()
def predict(model: SignalingModel, x_in: Tensor | np.ndarray) -> np.ndarray:
    """``(B, L)`` ligand inputs -> ``(B, K)`` TF predictions (numpy, eval mode, no noise)."""
    x = torch.as_tensor(np.asarray(x_in) if not isinstance(x_in, Tensor) else x_in, dtype=torch.float32)
    x = x.to(model.weight.device)
    pred, _ = model(x)
    return pred.cpu().numpy()


def evaluate(model: SignalingModel, x_in: Tensor, y: Tensor) -> dict[str, float]:
    """MSE and Pearson r (over all entries) of predictions against ``y``."""
    if x_in.shape[0] == 0:
        return {"mse": float("nan"), "pearson": float("nan")}
    pred = predict(model, x_in)
    truth = y.detach().cpu().numpy()
    return {"mse": float(np.mean((pred - truth) ** 2)), "pearson": pearson(pred, truth)}


def _gradient_noise(model: SignalingModel, sd: float, generator: torch.Generator) -> None:
    if sd <= 0:
        return
    for p in model.parameters():
        if p.grad is not None:
            p.grad.add_(torch.randn(p.grad.shape, generator=generator, device=p.grad.device, dtype=p.grad.dtype) * sd)


def train_model(
    model: SignalingModel,
    x_in: Tensor,
    y: Tensor,
    config: SignalingConfig,
    *,
    train_index: Sequence[int],
    test_index: Sequence[int] = (),
    progress: Callable[[ProgressInfo], None] | None = None,
    on_epoch_end: Callable[[int, SignalingModel, dict], None] | None = None,
) -> TrainResult:
    """Train ``model`` in place with Adam and the H.8 schedule.

    Each step: forward, loss (H.7), backward, Gaussian gradient noise, optional clipping,
    Adam step, re-zeroing of non-edges. The Adam state is reset every
    ``adam_reset_every`` epochs; optional input noise is added to ``U``.

    Parameters
    ----------
    model
        An initialised (and usually prescaled) model on its device.
    x_in, y
        ``(C, L)`` ligand inputs and ``(C, K)`` TF data for all conditions, on the model's device.
    train_index, test_index
        Row indices of the training and test conditions.
    progress
        Called with a :class:`ProgressInfo` every ``eval_every`` epochs and after the last.
    on_epoch_end
        Called as ``on_epoch_end(completed_epochs, model, record)`` after every epoch
        (``record`` = the history row so far).
    """
    device = model.weight.device
    train_idx = torch.as_tensor(np.asarray(train_index, dtype=np.int64), device=device)
    test_idx = torch.as_tensor(np.asarray(test_index, dtype=np.int64), device=device)
    if train_idx.numel() == 0:
        raise DashInputError("No training conditions.")
    gen = torch.Generator(device=device)
    gen.manual_seed(int(config.seed) + 1)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=config.lr_start, weight_decay=0.0)
    batch = config.batch_size or train_idx.numel()
    rows: list[dict] = []
    start = time.perf_counter()
    test_mse = test_r = float("nan")
    model.train()
    for epoch in range(config.epochs):
        lr = learning_rate(epoch, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        if config.adam_reset_every and epoch > 0 and epoch % config.adam_reset_every == 0:
            optimizer.state.clear()
        order = train_idx[torch.randperm(train_idx.numel(), generator=gen, device=device)] if batch < train_idx.numel() else train_idx
        sums: dict[str, float] = {}
        n_batches = 0
        steps = 0
        for start_i in range(0, order.numel(), batch):
            idx = order[start_i : start_i + batch]
            xb, yb = x_in[idx], y[idx]
            noise = None
            if config.input_noise > 0:
                sd = config.input_noise * (lr if config.input_noise_lr_scaled else 1.0)
                noise = torch.randn(idx.numel(), model.n_nodes, generator=gen, device=device) * sd
            optimizer.zero_grad(set_to_none=True)
            pred, states = model(xb, noise)
            steps = max(steps, model.last_steps)
            loss, parts = loss_terms(model, pred, yb, states, config, lr, gen)
            loss.backward()
            _gradient_noise(model, config.grad_noise * (lr if config.grad_noise_lr_scaled else 1.0), gen)
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            model.rezero_()
            parts["loss"] = float(loss.detach())
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            n_batches += 1
        record = {"epoch": epoch + 1, "lr": lr, **{k: v / n_batches for k, v in sums.items()}, "steps": steps}
        last = epoch + 1 == config.epochs
        evaluated = (epoch + 1) % config.eval_every == 0 or last
        if evaluated and test_idx.numel() > 0:
            m = evaluate(model, x_in[test_idx], y[test_idx])
            model.train()
            test_mse, test_r = m["mse"], m["pearson"]
        record["test_mse"] = test_mse if evaluated else float("nan")
        record["test_pearson"] = test_r if evaluated else float("nan")
        elapsed = time.perf_counter() - start
        record["seconds"] = elapsed
        rows.append(record)
        if not math.isfinite(record["loss"]):
            raise FloatingPointError(f"The training loss became {record['loss']} at epoch {epoch + 1}; lower the learning rate.")
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, model, record)
        if progress is not None and evaluated:
            eta = elapsed / (epoch + 1) * (config.epochs - epoch - 1)
            progress(ProgressInfo(epoch + 1, config.epochs, record["loss"], record["mse"], test_mse, test_r, elapsed, eta))
    model.eval()
    seconds = time.perf_counter() - start
    train_m = evaluate(model, x_in[train_idx], y[train_idx])
    test_m = evaluate(model, x_in[test_idx], y[test_idx])
    metrics = {
        "train_mse": train_m["mse"],
        "train_pearson": train_m["pearson"],
        "test_mse": test_m["mse"],
        "test_pearson": test_m["pearson"],
        "seconds": seconds,
        "seconds_per_epoch": seconds / config.epochs,
        "n_train": int(train_idx.numel()),
        "n_test": int(test_idx.numel()),
    }
    return TrainResult(history=pd.DataFrame(rows), metrics=metrics)


# --------------------------------------------------------------------------- high level


def build_model(
    data: SignalingData,
    config: SignalingConfig,
    *,
    extra_edges: pd.DataFrame | None = None,
    device: torch.device | None = None,
) -> SignalingModel:
    """Model on the PKN (plus ``extra_edges``, sign 0 unless given), initialised and prescaled (H.6).

    Initial weights come from a CPU generator seeded with ``config.seed``.
    """
    edges = data.pkn.edges[["source", "target", "sign"]]
    if extra_edges is not None and len(extra_edges):
        extra = extra_edges.copy()
        if "sign" not in extra:
            extra["sign"] = 0
        edges = pd.concat([edges, extra[["source", "target", "sign"]]], ignore_index=True)
    model = SignalingModel(data.pkn.nodes, edges, list(data.ligands.columns), list(data.tfs.columns), config)
    gen = torch.Generator().manual_seed(int(config.seed))
    model.initialise(gen)
    if config.prescale_rho is not None:
        model.prescale(config.prescale_rho)
    return model.to(device or resolve_device(config.device))


def data_tensors(data: SignalingData, device: torch.device) -> tuple[Tensor, Tensor]:
    """``(C, L)`` ligand and ``(C, K)`` TF float32 tensors on ``device``."""
    x = torch.as_tensor(np.array(data.ligands.to_numpy(), dtype=np.float32), device=device)
    y = torch.as_tensor(np.array(data.tfs.to_numpy(), dtype=np.float32), device=device)
    return x, y


@dataclass
class FitResult:
    """A trained model with its split, history, metrics and predictions.

    Attributes
    ----------
    predictions
        ``(C, K)`` table of TF predictions for all conditions (index = conditions, columns = TFs)
        with an extra ``split`` column (train/test).
    """

    model: SignalingModel
    config: SignalingConfig
    history: pd.DataFrame
    metrics: dict[str, float]
    train_index: np.ndarray
    test_index: np.ndarray
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)


def fit(
    data: SignalingData,
    config: SignalingConfig,
    *,
    extra_edges: pd.DataFrame | None = None,
    progress: Callable[[ProgressInfo], None] | None = None,
    on_epoch_end: Callable[[int, SignalingModel, dict], None] | None = None,
    model: SignalingModel | None = None,
) -> FitResult:
    """Seeded end-to-end training: split, build (or take) a model, train, predict.

    Parameters
    ----------
    data
        Validated inputs.
    config
        Settings; ``seed`` fixes the split, initialisation and all noise (explicit generators;
        the global random state is not touched).
    extra_edges
        Additional ``source, target`` edges (unknown sign) added to the PKN.
    model
        An already built model to train instead of a fresh one.
    """
    device = resolve_device(config.device)
    if model is None:
        model = build_model(data, config, extra_edges=extra_edges, device=device)
    else:
        model = model.to(device)
    x, y = data_tensors(data, device)
    train_idx, test_idx = split_conditions(data.n_conditions, config.test_size, config.seed)
    result = train_model(model, x, y, config, train_index=train_idx, test_index=test_idx, progress=progress, on_epoch_end=on_epoch_end)
    pred = pd.DataFrame(predict(model, x), index=data.ligands.index, columns=data.tfs.columns)
    split = np.array(["train"] * data.n_conditions, dtype=object)
    split[test_idx] = "test"
    pred.insert(0, "split", split)
    return FitResult(model, config, result.history, result.metrics, train_idx, test_idx, pred)


# --------------------------------------------------------------------------- checkpoints


def save_checkpoint(directory: str | os.PathLike, model: SignalingModel, config: SignalingConfig, extra: dict | None = None) -> Path:
    """Write ``model.pt`` (a plain state_dict of CPU tensors) and ``config.json`` (settings + node lists).

    The state_dict loads with ``torch.load(path, weights_only=True)``; the edge set is in its
    buffers (``edge_source``, ``edge_target``, ``edge_sign``), the node/ligand/TF names in the JSON.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save(state, out / CHECKPOINT_FILE)
    meta = {"config": config.to_dict(), "network": model.network_spec(), "format": "dash_core.signaling/1"}
    if extra:
        meta["extra"] = extra
    (out / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
    return out / CHECKPOINT_FILE


def load_checkpoint(directory: str | os.PathLike, device: str = "cpu") -> tuple[SignalingModel, SignalingConfig]:
    """Rebuild a model saved by :func:`save_checkpoint` (``torch.load(weights_only=True)``)."""
    d = Path(directory)
    if not (d / CHECKPOINT_FILE).exists() or not (d / CONFIG_FILE).exists():
        raise DashInputError(f"No signaling checkpoint here (needs {CHECKPOINT_FILE} and {CONFIG_FILE}).", source=str(d))
    meta = json.loads((d / CONFIG_FILE).read_text())
    config = SignalingConfig.from_dict(meta["config"])
    state = torch.load(d / CHECKPOINT_FILE, map_location="cpu", weights_only=True)
    net = meta["network"]
    edges = edges_from_state(net["nodes"], state)
    model = SignalingModel(net["nodes"], edges, net["ligands"], net["tfs"], config)
    model.load_state_dict(state)
    return model.to(resolve_device(device)), config

"""Training one signaling model end to end (split, build, train, predict), evaluation, checkpoints.

The loss (H.7), optimiser, schedule and loop (H.8) are in :mod:`dash_core.signaling.stack`: one model
is trained as a stack of one.

Matrices: ligand inputs ``X_in`` are ``(B, L)`` (row = condition, column = ligand),
TF targets ``Y`` are ``(B, K)`` (row = condition, column = TF); model weights are
``W[target, source]`` (row = target, column = source).
"""

from __future__ import annotations

import json
import os
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
from dash_core.signaling.stack import ModelStack, ProgressInfo, learning_rate, pearson, train_stack

__all__ = [
    "FitResult",
    "ProgressInfo",
    "TrainResult",
    "build_model",
    "data_tensors",
    "evaluate",
    "fit",
    "learning_rate",
    "load_checkpoint",
    "pearson",
    "predict",
    "resolve_device",
    "save_checkpoint",
    "split_conditions",
    "train_model",
]

CHECKPOINT_FILE = "model.pt"
CONFIG_FILE = "config.json"


# --------------------------------------------------------------------------- helpers


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


def train_model(
    model: SignalingModel,
    x_in: Tensor,
    y: Tensor,
    config: SignalingConfig,
    *,
    train_index: Sequence[int],
    test_index: Sequence[int] = (),
    val_index: Sequence[int] = (),
    progress: Callable[[ProgressInfo], None] | None = None,
    on_epoch_end: Callable[[int, SignalingModel, dict], None] | None = None,
) -> TrainResult:
    """Train ``model`` in place with Adam and the H.8 schedule (a stack of one, :func:`train_stack`).

    Each step: forward, loss (H.7), backward, Gaussian gradient noise, optional clipping,
    Adam step; non-edges of ``W`` are never parameters, so they stay exactly 0. The Adam
    state is reset every ``adam_reset_every`` epochs; optional input noise is added to ``U``.

    Parameters
    ----------
    model
        An initialised (and usually prescaled) model on its device.
    x_in, y
        ``(C, L)`` ligand inputs and ``(C, K)`` TF data for all conditions, on the model's device.
    train_index, test_index, val_index
        Row indices of the training, test and validation conditions (validation: monitored every ``eval_every``
        epochs; with ``config.checkpoint == "best_validation"`` the best-validation parameters are kept).
    progress
        Called with a :class:`ProgressInfo` every ``eval_every`` epochs and after the last.
    on_epoch_end
        Called as ``on_epoch_end(completed_epochs, model, record)`` after every epoch
        (``record`` = the history row so far; the model holds the current parameters).
    """
    if len(train_index) == 0:
        raise DashInputError("No training conditions.")
    stack = ModelStack([model], config).to(model.weight.device)

    def after_epoch(epoch: int, records: list[dict]) -> None:
        stack.write_back([model])
        on_epoch_end(epoch, model, records[0])  # type: ignore[misc]

    histories, metrics = train_stack(
        stack,
        x_in,
        y,
        train_sets=[list(train_index)],
        test_sets=[list(test_index)],
        seeds=[int(config.seed)],
        val_sets=[list(val_index)],
        progress=progress,
        on_epoch_end=after_epoch if on_epoch_end is not None else None,
    )
    stack.write_back([model])
    model.eval()
    return TrainResult(history=histories[0], metrics=metrics[0])


# --------------------------------------------------------------------------- high level


def validation_split(train: np.ndarray, size: int, seed: int, fold: int) -> np.ndarray:
    """``size`` validation conditions drawn from a fold's training conditions (seeded by ``seed`` and the fold
    number, so every setting compared on a fold validates on the same conditions); empty when ``size`` is 0.
    ``signaling train`` and the self-pruning study use fold 0."""
    if size <= 0:
        return np.zeros(0, dtype=np.int64)
    if size >= len(train):
        raise DashInputError(f"validation_size {size} leaves no training condition out of {len(train)}; use a smaller one.")
    rng = np.random.default_rng([int(seed), int(fold)])
    return np.sort(rng.choice(np.asarray(train, dtype=np.int64), size=int(size), replace=False))


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
    val_idx = validation_split(np.asarray(train_idx, dtype=np.int64), config.validation_size, config.seed, 0)
    train_idx = np.setdiff1d(np.asarray(train_idx, dtype=np.int64), val_idx)
    result = train_model(model, x, y, config, train_index=train_idx, test_index=test_idx, val_index=val_idx,
                         progress=progress, on_epoch_end=on_epoch_end)
    pred = pd.DataFrame(predict(model, x), index=data.ligands.index, columns=data.tfs.columns)
    split = np.array(["train"] * data.n_conditions, dtype=object)
    split[val_idx] = "validation"
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

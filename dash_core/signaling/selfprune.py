"""Self-pruning study: are spurious edges shrunk away by training? (methods.md I.1-I.3, J.11)

Protocol
--------
For every (L2 level, seed): inject ``K`` random spurious edges into the PKN (I.1),
train the model with the self-pruning settings (I.2) and read out (I.3):

* **R1** share (%) of spurious edges 𝒮 and of PKN edges 𝒫 whose |W| lies below the
  median of all non-zero |W| (null 50 %); the signed variant (W below the signed
  median) for compatibility with the reference.
* **R2** share (%) of 𝒮 and 𝒫 with |W| below the 5th percentile of |W| over 𝒫 ∪ 𝒮
  (null 5 %), plus mean |W| per set.
* **R3** two-sample Kolmogorov-Smirnov test of |W| of 𝒮 against 𝒫 at the middle
  checkpoint (per model and pooled over seeds per L2).
* **R4** MAE of predictions against the unpruned predictions as the smallest weights are
  zeroed cumulatively in blocks (middle checkpoint).

Every share is also given for 𝒫 split into known-sign and unknown-sign edges (the fair
contrast for 𝒮, which has unknown sign). Shares are percentages.

Where each readout is taken (columns of ``selfprune.csv``): R1/R2 columns
(``share_*``, ``mean_abs_w_*``) on the final weights; ``*_ckpt_mean`` averaged over all
checkpoints (the I.3 summary); ``ks_*`` and ``r4_*`` at the middle checkpoint
(``ks_epoch``), as in I.3, with ``ks_*_final`` on the final weights; ``trace.csv`` has
R1/R2 every ``readout_every`` epochs.

Weights are ``W[target, source]`` (row = target, column = source); edge tables are
``source, target`` (edge ``source -> target``).

Outputs (``out_dir``): ``selfprune.csv`` (one row per model, written as models finish, so a
re-run skips finished (l2, seed) pairs), ``selfprune_summary.csv`` (per L2), the settings in
``selfprune_config.json`` and per model ``models/l2_<l2>_seed_<seed>/`` with ``edges.csv``
(PKN and spurious edges with middle and final weights), ``trace.csv`` (R1/R2 during
training), ``pruning.csv`` (R4) and ``history.csv``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import stats

from dash_core.config import guard_settings_file
from dash_core.io.errors import DashInputError
from dash_core.runs.executors import ExecutorConfig, Job, run_jobs
from dash_core.signaling.config import SignalingConfig, self_prune_config
from dash_core.signaling.data import PKN, SignalingData
from dash_core.signaling.model import SignalingModel
from dash_core.signaling.train import build_model, data_tensors, evaluate, fit, predict, split_conditions

RESULTS_FILE = "selfprune.csv"
SUMMARY_FILE = "selfprune_summary.csv"
CONFIG_FILE = "selfprune_config.json"
MODELS_DIR = "models"


@dataclass(frozen=True)
class SelfPruneConfig:
    """Settings of the self-pruning study (I.1-I.3).

    Attributes
    ----------
    n_spurious
        Spurious edges injected per model (K = 100).
    l2_levels
        L2 weights lambda_L2 (low 1e-6, medium 1e-5, high 1e-4).
    seeds
        Replicate seeds; seed s fixes the injection and the training.
    n_checkpoints
        Checkpoints are epoch 0 and every ``epochs / n_checkpoints`` epochs (21 in all by default).
    readout_every
        R1/R2 are traced every this many epochs.
    prune_block
        R4 block size; None = 500 when the model has >= 2,000 edges, else 10.
    train
        Training settings (the self-pruning preset); ``lambda_l2`` and ``seed`` are set per model.
    """

    n_spurious: int = 100
    l2_levels: tuple[float, ...] = (1e-6, 1e-5, 1e-4)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    n_checkpoints: int = 20
    readout_every: int = 5
    prune_block: int | None = None
    train: SignalingConfig = field(default_factory=self_prune_config)

    def __post_init__(self) -> None:
        if self.n_spurious < 0:
            raise DashInputError("The number of spurious edges must be >= 0.")
        if not self.l2_levels or any(v < 0 for v in self.l2_levels):
            raise DashInputError("Give at least one L2 level, all >= 0.")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise DashInputError("Give at least one seed, without repeats.")
        if self.n_checkpoints < 1 or self.readout_every < 1:
            raise DashInputError("n_checkpoints and readout_every must be >= 1.")
        if self.prune_block is not None and self.prune_block < 1:
            raise DashInputError("prune_block must be >= 1.")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["l2_levels"] = list(self.l2_levels)
        d["seeds"] = list(self.seeds)
        return d

    def identity(self) -> dict[str, Any]:
        """Settings that must match for results to be combined in one output folder (not L2 levels or seeds)."""
        d = self.to_dict()
        d.pop("l2_levels")
        d.pop("seeds")
        d["train"] = {k: v for k, v in d["train"].items() if k not in ("lambda_l2", "seed", "device", "eval_every")}
        return d


# --------------------------------------------------------------------------- I.1 injection


def inject_spurious_edges(pkn: PKN, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Draw ``n`` spurious edges uniformly over ordered (target, source) pairs not in the PKN (I.1).

    Rejection sampling: a pair is drawn uniformly from all ``N^2`` ordered pairs (self-loops
    included) and kept if it is neither a PKN edge nor already drawn.

    Returns
    -------
    pandas.DataFrame
        ``source, target, sign`` (sign 0 = unknown), in the order drawn.
    """
    nodes = pkn.nodes
    n_nodes = len(nodes)
    index = pkn.node_index()
    taken = {index[t] * n_nodes + index[s] for s, t in zip(pkn.edges["source"], pkn.edges["target"])}
    free = n_nodes * n_nodes - len(taken)
    if n > free:
        raise DashInputError(f"Cannot inject {n} spurious edges: only {free} node pairs are not already edges.")
    chosen: list[int] = []
    seen: set[int] = set()
    while len(chosen) < n:
        t, s = (int(v) for v in rng.integers(0, n_nodes, size=2))
        key = t * n_nodes + s
        if key in taken or key in seen:
            continue
        seen.add(key)
        chosen.append(key)
    return pd.DataFrame(
        {
            "source": [nodes[k % n_nodes] for k in chosen],
            "target": [nodes[k // n_nodes] for k in chosen],
            "sign": np.zeros(len(chosen), dtype=int),
        }
    )


# --------------------------------------------------------------------------- I.3 readouts


def _share(mask: np.ndarray, below: np.ndarray) -> float:
    return float(100.0 * below[mask].mean()) if mask.any() else float("nan")


def _mean(values: np.ndarray, mask: np.ndarray) -> float:
    return float(values[mask].mean()) if mask.any() else float("nan")


def weight_readouts(weights: np.ndarray, spurious: np.ndarray, sign: np.ndarray) -> dict[str, float]:
    """R1 and R2 of one weight vector (I.3).

    Parameters
    ----------
    weights
        ``(E,)`` edge weights ``W[target_e, source_e]`` of all PKN and spurious edges.
    spurious
        ``(E,)`` bool, True for injected edges.
    sign
        ``(E,)`` PKN mode of action (+1, -1, 0); spurious edges have 0.

    Returns
    -------
    dict
        ``share_<set>_below_median`` (|W| below the median of non-zero |W|), the ``_signed``
        variant (W below the median of non-zero W), ``share_<set>_below_p5`` (|W| below the
        5th percentile of |W|), ``mean_abs_w_<set>`` for set in spurious, pkn, pkn_known,
        pkn_unknown; and the thresholds ``median_abs_w``, ``median_w_signed``, ``p5_abs_w``.
        Shares are percentages; NaN for an empty set.
    """
    w = np.asarray(weights, dtype=np.float64)
    spur = np.asarray(spurious, dtype=bool)
    sgn = np.asarray(sign)
    a = np.abs(w)
    nz = a > 0
    m_abs = float(np.median(a[nz])) if nz.any() else 0.0
    m_signed = float(np.median(w[nz])) if nz.any() else 0.0
    p5 = float(np.percentile(a, 5)) if a.size else 0.0
    sets = {
        "spurious": spur,
        "pkn": ~spur,
        "pkn_known": (~spur) & (sgn != 0),
        "pkn_unknown": (~spur) & (sgn == 0),
    }
    out: dict[str, float] = {"median_abs_w": m_abs, "median_w_signed": m_signed, "p5_abs_w": p5}
    for name, mask in sets.items():
        out[f"share_{name}_below_median"] = _share(mask, a < m_abs)
        out[f"share_{name}_below_median_signed"] = _share(mask, w < m_signed)
        out[f"share_{name}_below_p5"] = _share(mask, a < p5)
        out[f"mean_abs_w_{name}"] = _mean(a, mask)
    return out


def ks_readout(abs_spurious: np.ndarray, abs_pkn: np.ndarray) -> tuple[float, float]:
    """R3: two-sample KS statistic D and p-value of |W| of spurious against PKN edges (NaN if a set is empty)."""
    x = np.asarray(abs_spurious, dtype=np.float64)
    y = np.asarray(abs_pkn, dtype=np.float64)
    if x.size == 0 or y.size == 0:
        return float("nan"), float("nan")
    res = stats.ks_2samp(x, y)
    return float(res.statistic), float(res.pvalue)


def magnitude_pruning_curve(model: SignalingModel, x_in: torch.Tensor, block: int) -> pd.DataFrame:
    """R4: zero the non-zero edge weights smallest-|W|-first in blocks and track the prediction change.

    Parameters
    ----------
    model
        Trained model (not modified; a copy is pruned).
    x_in
        ``(C, L)`` ligand inputs of all conditions.
    block
        Weights zeroed per step.

    Returns
    -------
    pandas.DataFrame
        ``n_zeroed, fraction_zeroed, max_abs_removed, mae`` (first row: nothing zeroed, MAE 0).
    """
    pruned = copy.deepcopy(model).eval()
    base = predict(pruned, x_in)
    w = pruned.edge_weights().detach().cpu().numpy()
    order = np.argsort(np.abs(w), kind="stable")
    order = order[np.abs(w[order]) > 0]
    total = len(order)
    tgt = pruned.edge_target.cpu().numpy()
    src = pruned.edge_source.cpu().numpy()
    rows = [{"n_zeroed": 0, "fraction_zeroed": 0.0, "max_abs_removed": 0.0, "mae": 0.0}]
    for stop in range(block, total + block, block):
        stop = min(stop, total)
        idx = order[:stop]
        with torch.no_grad():
            pruned.weight[torch.as_tensor(tgt[idx]), torch.as_tensor(src[idx])] = 0.0
        pred = predict(pruned, x_in)
        rows.append(
            {
                "n_zeroed": int(stop),
                "fraction_zeroed": stop / total if total else 0.0,
                "max_abs_removed": float(np.abs(w[idx]).max()),
                "mae": float(np.mean(np.abs(pred - base))),
            }
        )
        if stop == total:
            break
    return pd.DataFrame(rows)


def _mae_at(curve: pd.DataFrame, fraction: float) -> float:
    if len(curve) < 2:
        return float("nan")
    return float(np.interp(fraction, curve["fraction_zeroed"], curve["mae"]))


def checkpoint_epochs(epochs: int, n_checkpoints: int) -> list[int]:
    """Epoch 0 and every ``epochs / n_checkpoints`` completed epochs (rounded, deduplicated)."""
    return sorted({int(round(i * epochs / n_checkpoints)) for i in range(n_checkpoints + 1)})


def model_folder(out_dir: str | os.PathLike, l2: float, seed: int) -> Path:
    """``out_dir/models/l2_<l2>_seed_<seed>``."""
    return Path(out_dir) / MODELS_DIR / f"l2_{l2:g}_seed_{seed}"


# --------------------------------------------------------------------------- one model (a job)


def run_selfprune_model(
    data: SignalingData,
    l2: float,
    seed: int,
    config: SelfPruneConfig,
    out_dir: str | None = None,
) -> dict[str, Any]:
    """Inject, train and read out one model (one job of the study; runs in a worker process).

    Parameters
    ----------
    data
        Validated PKN, ligand and TF tables.
    l2
        lambda_L2 of this model.
    seed
        Seeds numpy (injection) and torch (initialisation, split, noise).
    config
        Study settings.
    out_dir
        Where to write the model's folder (None: nothing is written).

    Returns
    -------
    dict
        ``row`` (flat dict of the model's readouts), ``trace``, ``edges``, ``pruning`` and
        ``history`` tables.
    """
    rng = np.random.default_rng(seed)
    spurious = inject_spurious_edges(data.pkn, config.n_spurious, rng)
    train_cfg = replace(config.train, lambda_l2=float(l2), seed=int(seed))
    model = build_model(data, train_cfg, extra_edges=spurious)
    n_pkn = data.pkn.n_edges
    is_spur = np.arange(model.n_edges) >= n_pkn
    sign = model.edge_sign.cpu().numpy().astype(int)
    device = model.weight.device
    x, y = data_tensors(data, device)
    _, test_idx = split_conditions(data.n_conditions, train_cfg.test_size, train_cfg.seed)
    ckpts = checkpoint_epochs(train_cfg.epochs, config.n_checkpoints)
    middle = min(ckpts, key=lambda c: (abs(c - train_cfg.epochs / 2), c))
    block = config.prune_block or (500 if model.n_edges >= 2000 else 10)
    trace: list[dict[str, Any]] = []
    state: dict[str, Any] = {}

    def weights_now(m: SignalingModel) -> np.ndarray:
        return m.edge_weights().detach().cpu().numpy().astype(np.float64)

    def observe(epoch: int, m: SignalingModel, record: dict | None) -> None:
        is_ckpt = epoch in ckpts
        if not is_ckpt and epoch % config.readout_every != 0:
            return
        w = weights_now(m)
        row = {"epoch": epoch, "checkpoint": is_ckpt, "train_mse": record["mse"] if record else float("nan")}
        row["test_mse"] = evaluate(m, x[test_idx], y[test_idx])["mse"] if is_ckpt and len(test_idx) else float("nan")
        if is_ckpt:
            m.train()
        row.update(weight_readouts(w, is_spur, sign))
        trace.append(row)
        if epoch == middle:
            state["w_mid"] = w
            state["pruning"] = magnitude_pruning_curve(m, x, block)

    observe(0, model, None)
    result = fit(data, train_cfg, model=model, on_epoch_end=observe)
    w_final = weights_now(result.model)
    trace_df = pd.DataFrame(trace)
    w_mid = state.get("w_mid", w_final)
    pruning = state.get("pruning")
    if pruning is None:
        pruning = magnitude_pruning_curve(result.model, x, block)
    final = weight_readouts(w_final, is_spur, sign)
    ks_d, ks_p = ks_readout(np.abs(w_mid[is_spur]), np.abs(w_mid[~is_spur]))
    ks_du, ks_pu = ks_readout(np.abs(w_mid[is_spur]), np.abs(w_mid[(~is_spur) & (sign == 0)]))
    ks_df, ks_pf = ks_readout(np.abs(w_final[is_spur]), np.abs(w_final[~is_spur]))
    ck = trace_df[trace_df["checkpoint"]]
    row: dict[str, Any] = {
        "l2": float(l2),
        "seed": int(seed),
        "epochs": int(train_cfg.epochs),
        "n_pkn_edges": int(n_pkn),
        "n_spurious": int(is_spur.sum()),
        **final,
        "share_spurious_below_median_ckpt_mean": float(ck["share_spurious_below_median"].mean()),
        "share_pkn_below_median_ckpt_mean": float(ck["share_pkn_below_median"].mean()),
        "share_pkn_unknown_below_median_ckpt_mean": float(ck["share_pkn_unknown_below_median"].mean()),
        "share_spurious_below_median_signed_ckpt_mean": float(ck["share_spurious_below_median_signed"].mean()),
        "share_pkn_below_median_signed_ckpt_mean": float(ck["share_pkn_below_median_signed"].mean()),
        "ks_epoch": int(middle),
        "ks_statistic": ks_d,
        "ks_pvalue": ks_p,
        "ks_statistic_unknown": ks_du,
        "ks_pvalue_unknown": ks_pu,
        "ks_statistic_final": ks_df,
        "ks_pvalue_final": ks_pf,
        "r4_block": int(block),
        "r4_mae_at_25pct": _mae_at(pruning, 0.25),
        "r4_mae_at_50pct": _mae_at(pruning, 0.50),
        "r4_mae_at_75pct": _mae_at(pruning, 0.75),
        "test_pearson": result.metrics["test_pearson"],
        "test_mse": result.metrics["test_mse"],
        "train_pearson": result.metrics["train_pearson"],
        "train_mse": result.metrics["train_mse"],
        "seconds": result.metrics["seconds"],
        "seconds_per_epoch": result.metrics["seconds_per_epoch"],
    }
    table = result.model.edge_table()
    edges = pd.DataFrame(
        {
            "source": table["source"],
            "target": table["target"],
            "sign": table["sign"],
            "spurious": is_spur,
            "weight_mid": w_mid,
            "weight_final": w_final,
        }
    )
    out = {"row": row, "trace": trace_df, "edges": edges, "pruning": pruning, "history": result.history}
    if out_dir is not None:
        folder = model_folder(out_dir, l2, seed)
        folder.mkdir(parents=True, exist_ok=True)
        edges.to_csv(folder / "edges.csv", index=False)
        trace_df.to_csv(folder / "trace.csv", index=False)
        pruning.to_csv(folder / "pruning.csv", index=False)
        result.history.to_csv(folder / "history.csv", index=False)
    return out


# --------------------------------------------------------------------------- the study


@dataclass
class SelfPruneResult:
    """Outcome of :func:`run_selfprune`.

    Attributes
    ----------
    table
        One row per finished model (all of ``selfprune.csv``, sorted by l2, seed).
    summary
        Per L2 level: mean and s.d. over seeds of the main readouts plus pooled KS tests.
    failed
        ``(key, error)`` of models that failed.
    skipped
        Number of (l2, seed) models found already finished and not redone.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    failed: list[tuple[str, str]]
    skipped: int
    out_dir: Path


def _read_results(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame()
    try:
        return pd.read_csv(path, float_precision="round_trip")  # rewriting a resumed table keeps every digit
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DashInputError(f"Cannot read the existing results ({exc}); move the file away to start afresh.", source=str(path)) from None


def _is_done(done: pd.DataFrame, l2: float, seed: int) -> bool:
    if done.empty or "l2" not in done or "seed" not in done:
        return False
    hit = np.isclose(done["l2"].to_numpy(dtype=float), l2, rtol=1e-9, atol=0) & (done["seed"].to_numpy() == seed)
    return bool(hit.any())


def _write_results(rows: list[dict[str, Any]], path: Path) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    if not df.empty:
        df = df.sort_values(["l2", "seed"]).reset_index(drop=True)
    tmp = path.with_suffix(".csv.tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return df


def run_selfprune(
    data: SignalingData,
    config: SelfPruneConfig,
    out_dir: str | os.PathLike,
    *,
    executor: Any = None,
    on_model: Callable[[int, int, dict[str, Any] | None, str | None], None] | None = None,
) -> SelfPruneResult:
    """Run the self-pruning study over ``config.l2_levels x config.seeds`` (I.1-I.3).

    Parameters
    ----------
    data
        Validated PKN, ligand and TF tables.
    config
        Study settings.
    out_dir
        Output folder (created). Models already in its ``selfprune.csv`` are not redone.
    executor
        :class:`dash_core.runs.executors.ExecutorConfig` (default: local, 1 worker = in process).
    on_model
        Called after each model as ``on_model(done, total, row_or_None, error_or_None)``.

    Returns
    -------
    SelfPruneResult
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    guard_settings_file(out / CONFIG_FILE, config.identity(), config.to_dict(), what="self-pruning results")
    results_path = out / RESULTS_FILE
    existing = _read_results(results_path)
    rows: list[dict[str, Any]] = existing.to_dict("records") if not existing.empty else []
    jobs = []
    skipped = 0
    for l2 in config.l2_levels:
        for seed in config.seeds:
            if _is_done(existing, l2, seed):
                skipped += 1
                continue
            jobs.append(
                Job(
                    key=f"l2={l2:g},seed={seed}",
                    func=run_selfprune_model,
                    kwargs={"data": data, "l2": float(l2), "seed": int(seed), "config": config, "out_dir": str(out)},
                )
            )
    failed: list[tuple[str, str]] = []
    total = len(jobs)
    counter = {"done": 0}

    def on_result(res) -> None:
        counter["done"] += 1
        if res.ok:
            rows.append(res.value["row"])
            _write_results(rows, results_path)
            if on_model is not None:
                on_model(counter["done"], total, res.value["row"], None)
        else:
            failed.append((res.key, str(res.error)))
            if on_model is not None:
                on_model(counter["done"], total, None, str(res.error))

    if jobs:
        run_jobs(jobs, executor or ExecutorConfig(), on_result=on_result)
    table = _write_results(rows, results_path) if rows else pd.DataFrame()
    summary = summarise(table, out) if not table.empty else pd.DataFrame()
    if not summary.empty:
        summary.to_csv(out / SUMMARY_FILE, index=False)
    return SelfPruneResult(table=table, summary=summary, failed=failed, skipped=skipped, out_dir=out)


# --------------------------------------------------------------------------- aggregation


MAIN_READOUTS = (
    "share_spurious_below_median",
    "share_pkn_below_median",
    "share_pkn_known_below_median",
    "share_pkn_unknown_below_median",
    "share_spurious_below_median_signed",
    "share_pkn_below_median_signed",
    "share_spurious_below_p5",
    "share_pkn_below_p5",
    "share_pkn_unknown_below_p5",
    "share_spurious_below_median_ckpt_mean",
    "share_pkn_below_median_ckpt_mean",
    "mean_abs_w_spurious",
    "mean_abs_w_pkn",
    "ks_statistic",
    "test_pearson",
    "test_mse",
    "r4_mae_at_50pct",
)


def load_model_tables(out_dir: str | os.PathLike, name: str) -> pd.DataFrame:
    """Concatenate ``models/*/<name>.csv`` (edges, trace, pruning, history) with ``l2`` and ``seed`` columns."""
    frames = []
    root = Path(out_dir) / MODELS_DIR
    if not root.exists():
        return pd.DataFrame()
    for folder in sorted(root.iterdir()):
        f = folder / f"{name}.csv"
        if not f.exists():
            continue
        parts = folder.name.split("_")
        try:
            l2, seed = float(parts[1]), int(parts[3])
        except (IndexError, ValueError):
            continue
        df = pd.read_csv(f)
        df.insert(0, "seed", seed)
        df.insert(0, "l2", l2)
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def pooled_abs_weights(edges: pd.DataFrame, column: str = "weight_mid") -> pd.DataFrame:
    """Long table ``l2, seed, set, abs_weight`` (set = spurious, pkn_known, pkn_unknown) for R3 plots."""
    if edges.empty:
        return pd.DataFrame(columns=["l2", "seed", "set", "abs_weight"])
    spur = edges["spurious"].astype(bool).to_numpy()
    known = edges["sign"].to_numpy() != 0
    kind = np.where(spur, "spurious", np.where(known, "pkn_known", "pkn_unknown"))
    return pd.DataFrame({"l2": edges["l2"], "seed": edges["seed"], "set": kind, "abs_weight": edges[column].abs()})


def summarise(table: pd.DataFrame, out_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Per-L2 summary: number of models, mean and s.d. over seeds of :data:`MAIN_READOUTS`, and the
    KS test on |W| pooled over seeds at the middle checkpoint (spurious vs all PKN edges and vs
    unknown-sign PKN edges; needs the model folders in ``out_dir``)."""
    rows = []
    weights = pooled_abs_weights(load_model_tables(out_dir, "edges")) if out_dir is not None else pd.DataFrame()
    for l2, grp in table.groupby("l2"):
        row: dict[str, Any] = {"l2": l2, "n_models": int(len(grp))}
        for col in MAIN_READOUTS:
            if col in grp:
                row[f"{col}_mean"] = float(grp[col].mean())
                row[f"{col}_sd"] = float(grp[col].std(ddof=1)) if len(grp) > 1 else float("nan")
        if not weights.empty:
            w = weights[np.isclose(weights["l2"], l2) & weights["seed"].isin(grp["seed"])]
            spur = w.loc[w["set"] == "spurious", "abs_weight"].to_numpy()
            pkn = w.loc[w["set"] != "spurious", "abs_weight"].to_numpy()
            unk = w.loc[w["set"] == "pkn_unknown", "abs_weight"].to_numpy()
            row["pooled_ks_statistic"], row["pooled_ks_pvalue"] = ks_readout(spur, pkn)
            row["pooled_ks_statistic_unknown"], row["pooled_ks_pvalue_unknown"] = ks_readout(spur, unk)
        rows.append(row)
    return pd.DataFrame(rows)


def selfprune_readout_table(table: pd.DataFrame, readouts: Sequence[str] = MAIN_READOUTS[:9]) -> pd.DataFrame:
    """Mean over seeds of ``readouts`` per L2 level: index = l2, columns = readouts."""
    cols = [c for c in readouts if c in table]
    return table.groupby("l2")[cols].mean()

"""Background job kinds of the signaling package: ``signaling_train``, ``selfprune`` and ``signaling_cv``.

They are declared in :data:`dash_core.runs.jobs.BUILTIN_JOB_KINDS` (registered at start-up,
this module imported only then) and follow its contract ``fn(params, run_dir, reporter) -> summary``:
inputs come from ``params`` (JSON values), artifacts go into ``run_dir``, progress goes
through ``reporter.progress(fraction, message, **values)`` and ``reporter.should_stop()``
is honoured.

Parameters shared by both kinds
-------------------------------
``data``
    ``{"pkn": path, "ligands": path, "tfs": path, "name": str}``: the PKN TSV
    (``source, target, stimulation, inhibition``; edge ``source -> target``), the ligand
    table and the TF table (rows = conditions, columns = node IDs). The three files are
    copied into ``run_dir/inputs`` so that the run stays reproducible.
``preset``
    ``"self_prune"`` (default) or ``"package"``: starting settings
    (:func:`dash_core.signaling.config.preset`).
``config``
    :class:`~dash_core.signaling.config.SignalingConfig` fields overriding the preset
    (e.g. ``epochs``, ``lambda_l2``, ``lr_max``, ``seed``, ``device``, ``test_size``).
``threads``
    Optional torch CPU threads of the job process.

Model weights are ``W[target, source]`` (row = target, column = source); every edge table
written here is ``source, target, ...`` (edge ``source -> target``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from dash_core.io.errors import DashInputError
from dash_core.runs.executors import ExecutorConfig
from dash_core.runs.jobs import Reporter
from dash_core.signaling.config import SignalingConfig, preset
from dash_core.signaling.cv import SUMMARY_FILE as CV_SUMMARY_FILE
from dash_core.signaling.cv import CVConfig, make_folds, parse_folds, run_cv
from dash_core.signaling.data import load_signaling_data
from dash_core.signaling.train import (
    build_model,
    data_tensors,
    evaluate,
    fit,
    predict,
    resolve_device,
    save_checkpoint,
    split_conditions,
)

__all__ = [
    "INPUT_DIR",
    "INPUT_FILES",
    "TRAIN_FILES",
    "copy_inputs",
    "load_job_data",
    "selfprune_job",
    "signaling_cv_job",
    "signaling_train_job",
    "study_config",
    "training_config",
]

#: Folder (inside the run folder) holding the copies of the three input files.
INPUT_DIR = "inputs"
#: Role -> file name of the copied inputs.
INPUT_FILES = {"pkn": "pkn.tsv", "ligands": "ligands.tsv", "tfs": "tfs.tsv"}
#: Artifacts of a ``signaling_train`` run (besides ``inputs/``).
TRAIN_FILES = ("model.pt", "config.json", "history.csv", "predictions.csv", "edges.csv", "metrics.json")
#: Seconds between two per-epoch progress entries (evaluation epochs are always reported).
PROGRESS_EVERY_S = 0.5


class _Stopped(Exception):
    """Raised from a training / study callback when the user asked the job to stop."""


def _finite(value: Any) -> Any:
    """``value`` as a plain float, None when missing or not finite (JSON-friendly)."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


# ----------------------------------------------------------------------------- inputs and settings
def copy_inputs(params: Mapping[str, Any], run_dir: Path) -> dict[str, Path]:
    """Copy the PKN, ligand and TF files named in ``params["data"]`` into ``run_dir/inputs``.

    Returns
    -------
    dict
        Role (``pkn``, ``ligands``, ``tfs``) -> path of the copy.

    Raises
    ------
    DashInputError
        ``data`` is missing a role, or a file does not exist.
    """
    spec = params.get("data")
    if not isinstance(spec, Mapping):
        raise DashInputError("The job was started without input data (params['data'] with pkn, ligands and tfs).")
    missing = [role for role in INPUT_FILES if not spec.get(role)]
    if missing:
        raise DashInputError(f"The job's input data lacks the {', '.join(missing)} file(s); load the data again.")
    folder = Path(run_dir) / INPUT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    for role, name in INPUT_FILES.items():
        src = Path(str(spec[role]))
        dest = folder / name
        if not src.is_file():
            if dest.is_file():  # a resumed run keeps its own copy
                out[role] = dest
                continue
            raise DashInputError(f"The {role} file {src.name} no longer exists; load the data again.")
        if src.resolve() != dest.resolve():
            shutil.copyfile(src, dest)
        out[role] = dest
    return out


def load_job_data(params: Mapping[str, Any], run_dir: Path, reporter: Reporter | None = None):
    """Copy the inputs into the run folder, read and validate them.

    Warnings of the validation report are written to the run's log.

    Returns
    -------
    SignalingData
        The validated PKN (edges ``source -> target``), ligand table and TF table
        (``conditions x nodes``).
    """
    paths = copy_inputs(params, run_dir)
    prefix = str(Path(run_dir) / INPUT_DIR) + "/"
    try:
        data = load_signaling_data(paths["pkn"], paths["ligands"], paths["tfs"])
    except DashInputError as exc:
        raise DashInputError(str(exc).replace(prefix, "")) from None
    if reporter is not None:
        for issue in data.report.issues:
            if issue.level != "info":
                reporter.log(str(issue).replace(prefix, ""))
    return data


def training_config(params: Mapping[str, Any]) -> SignalingConfig:
    """The run's :class:`SignalingConfig`: ``params["preset"]`` plus ``params["config"]`` overrides.

    Raises
    ------
    DashInputError
        Unknown preset, unknown setting or an invalid value.
    """
    name = str(params.get("preset") or "self_prune")
    overrides = dict(params.get("config") or {})
    return SignalingConfig.from_dict({**preset(name).to_dict(), **overrides})


def study_config(params: Mapping[str, Any]):
    """The :class:`~dash_core.signaling.selfprune.SelfPruneConfig` of a ``selfprune`` job.

    ``params["study"]`` holds ``n_spurious``, ``l2_levels``, ``seeds`` and optionally
    ``n_checkpoints``, ``readout_every``, ``prune_block``; the training settings come from
    :func:`training_config` (``lambda_l2`` and ``seed`` are set per model by the study).
    """
    # lazy: selfprune imports scipy.stats (~2 s on a busy machine), which the other signaling jobs do not need
    from dash_core.signaling.selfprune import SelfPruneConfig

    spec = dict(params.get("study") or {})
    known = {"n_spurious", "l2_levels", "seeds", "n_checkpoints", "readout_every", "prune_block"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise DashInputError(f"Unknown self-pruning setting(s): {', '.join(unknown)}.")
    values: dict[str, Any] = {"train": training_config(params)}
    if "n_spurious" in spec:
        values["n_spurious"] = int(spec["n_spurious"])
    if "l2_levels" in spec:
        values["l2_levels"] = tuple(float(v) for v in spec["l2_levels"])
    if "seeds" in spec:
        values["seeds"] = tuple(int(v) for v in spec["seeds"])
    for name in ("n_checkpoints", "readout_every"):
        if name in spec:
            values[name] = int(spec[name])
    if spec.get("prune_block") is not None:
        values["prune_block"] = int(spec["prune_block"])
    return SelfPruneConfig(**values)


def _set_threads(params: Mapping[str, Any]) -> None:
    if params.get("threads"):
        torch.set_num_threads(int(params["threads"]))


# ----------------------------------------------------------------------------- signaling_train
def _stopped_metrics(model, data, train_idx: np.ndarray, test_idx: np.ndarray, seconds: float, epochs_done: int):
    """Metrics of a model whose training was stopped early (same keys as ``TrainResult.metrics``)."""
    model.eval()
    x, y = data_tensors(data, model.weight.device)
    tr = evaluate(model, x[train_idx], y[train_idx])
    te = evaluate(model, x[test_idx], y[test_idx]) if len(test_idx) else {"mse": float("nan"), "pearson": float("nan")}
    return {
        "train_mse": tr["mse"], "train_pearson": tr["pearson"], "test_mse": te["mse"], "test_pearson": te["pearson"],
        "seconds": seconds, "seconds_per_epoch": seconds / max(1, epochs_done),
        "n_train": int(len(train_idx)), "n_test": int(len(test_idx)),
    }


def signaling_train_job(params: dict, run_dir: Path, reporter: Reporter) -> dict:
    """Job kind ``signaling_train``: train one signaling model (methods.md H).

    Parameters
    ----------
    params
        ``data``, ``preset``, ``config`` and ``threads`` (see the module docstring).
    run_dir
        Receives ``inputs/`` (copies of the three files), ``model.pt`` and ``config.json``
        (:func:`dash_core.signaling.train.save_checkpoint`), ``history.csv`` (one row per
        epoch), ``predictions.csv`` (``conditions x TFs`` plus a ``split`` column, first
        column ``condition``), ``edges.csv`` (``source, target, sign, weight``) and
        ``metrics.json``.
    reporter
        Progress every evaluation epoch and at most every 0.5 s otherwise, with values
        ``epoch, max_epochs, loss, train_mse, test_mse, test_pearson, lr, eta_seconds``.
        A stop request ends training after the current epoch; the model as trained so far
        is saved and evaluated.

    Returns
    -------
    dict
        ``metrics`` (``train_mse, train_pearson, test_mse, test_pearson, seconds, ...``),
        ``epochs``, ``epochs_done``, ``stopped``, network sizes, ``dataset``, ``lambda_l2``,
        ``seed`` and ``device``.
    """
    _set_threads(params)
    config = training_config(params)
    name = str((params.get("data") or {}).get("name") or "data")
    reporter.progress(0.0, "loading data")
    data = load_job_data(params, run_dir, reporter)
    device = resolve_device(config.device)
    model = build_model(data, config, device=device)
    reporter.log(f"{name}: {data.pkn.n_nodes} nodes, {data.pkn.n_edges} edges, {data.ligands.shape[1]} ligands, "
                 f"{data.tfs.shape[1]} TFs, {data.n_conditions} conditions; {config.epochs} epochs on {device}")
    rows: list[dict[str, Any]] = []
    start = time.perf_counter()
    last = {"t": -math.inf}

    def on_epoch(epoch: int, _model, record: dict) -> None:
        rows.append(dict(record))
        now = time.perf_counter()
        evaluated = _finite(record.get("test_mse")) is not None
        if evaluated or epoch in (1, config.epochs) or now - last["t"] >= PROGRESS_EVERY_S:
            last["t"] = now
            elapsed = now - start
            eta = elapsed / epoch * (config.epochs - epoch)
            reporter.progress(
                epoch / config.epochs, f"epoch {epoch}/{config.epochs}", epoch=epoch, max_epochs=config.epochs,
                loss=_finite(record.get("loss")), train_mse=_finite(record.get("mse")),
                test_mse=_finite(record.get("test_mse")), test_pearson=_finite(record.get("test_pearson")),
                lr=_finite(record.get("lr")), spectral_radius=_finite(record.get("spectral_radius")),
                eta_seconds=eta,
            )
        if reporter.should_stop():
            raise _Stopped

    stopped = False
    if reporter.should_stop():
        raise DashInputError("Stopped before training started.")
    try:
        result = fit(data, config, model=model, on_epoch_end=on_epoch)
        history, metrics, predictions = result.history, dict(result.metrics), result.predictions
        test_index = result.test_index
    except _Stopped:
        stopped = True
        history = pd.DataFrame(rows)
        train_idx, test_index = split_conditions(data.n_conditions, config.test_size, config.seed)
        metrics = _stopped_metrics(model, data, train_idx, test_index, time.perf_counter() - start, len(rows))
        x, _ = data_tensors(data, model.weight.device)
        predictions = pd.DataFrame(predict(model, x), index=data.ligands.index, columns=data.tfs.columns)
        split = np.array(["train"] * data.n_conditions, dtype=object)
        split[test_index] = "test"
        predictions.insert(0, "split", split)
        reporter.log(f"stopped by the user after {len(rows)} of {config.epochs} epochs; the model so far is saved")
    run_dir = Path(run_dir)
    save_checkpoint(run_dir, model, config, extra={"dataset": name, "stopped": stopped, "epochs_done": len(history)})
    history.to_csv(run_dir / "history.csv", index=False)
    predictions.to_csv(run_dir / "predictions.csv", index_label="condition")
    model.edge_table().to_csv(run_dir / "edges.csv", index=False)
    metrics_json = {k: _finite(v) if isinstance(v, float) else v for k, v in metrics.items()}
    metrics_json["test_conditions"] = [data.conditions[i] for i in test_index]
    metrics_json["epochs_done"] = int(len(history))
    (run_dir / "metrics.json").write_text(json.dumps(metrics_json, indent=2))
    r = _finite(metrics.get("test_pearson"))
    reporter.progress(1.0, ("stopped" if stopped else "done")
                      + (f": test Pearson r = {r:.3f}" if r is not None else ""))
    return {
        "metrics": {k: v for k, v in metrics_json.items() if not isinstance(v, list)},
        "epochs": int(config.epochs),
        "epochs_done": int(len(history)),
        "stopped": stopped,
        "n_nodes": int(data.pkn.n_nodes),
        "n_edges": int(data.pkn.n_edges),
        "n_ligands": int(data.ligands.shape[1]),
        "n_tfs": int(data.tfs.shape[1]),
        "n_conditions": int(data.n_conditions),
        "dataset": name,
        "preset": str(params.get("preset") or "self_prune"),
        "lambda_l2": float(config.lambda_l2),
        "seed": int(config.seed),
        "device": str(device),
    }


# ----------------------------------------------------------------------------- selfprune
def _executor(spec: Mapping[str, Any] | None) -> ExecutorConfig:
    spec = dict(spec or {})
    names = {f.name for f in dataclasses.fields(ExecutorConfig)}
    unknown = sorted(set(spec) - names)
    if unknown:
        raise DashInputError(f"Unknown executor setting(s): {', '.join(unknown)}.")
    return ExecutorConfig(**spec)


def selfprune_job(params: dict, run_dir: Path, reporter: Reporter) -> dict:
    """Job kind ``selfprune``: the self-pruning study (methods.md I.1-I.3).

    Parameters
    ----------
    params
        ``data``, ``preset`` (default ``self_prune``), ``config`` (training overrides such as
        ``epochs``, ``device``, ``test_size``), ``study`` (``n_spurious``, ``l2_levels``,
        ``seeds``, optional ``n_checkpoints``, ``readout_every``, ``prune_block``) and
        ``executor`` (:class:`~dash_core.runs.executors.ExecutorConfig` fields, e.g.
        ``{"workers": 2}``).
    run_dir
        The study's output folder (:func:`dash_core.signaling.selfprune.run_selfprune`):
        ``selfprune.csv`` (one row per model), ``selfprune_summary.csv`` (per L2),
        ``selfprune_config.json`` and ``models/l2_<l2>_seed_<seed>/`` with ``edges.csv``,
        ``trace.csv``, ``pruning.csv`` and ``history.csv``; plus ``inputs/``.
    reporter
        One progress entry per finished model (``l2, seed``, its main readouts,
        ``models_done, models_total, eta_seconds``). A stop request is honoured when the next
        model finishes (running workers are then terminated); finished models are kept.

    Returns
    -------
    dict
        ``n_models``, ``n_failed``, ``failed`` (keys), ``skipped``, ``stopped``, the study
        settings, ``per_l2`` (mean readouts per L2 level) and ``metrics`` (means over all models).
    """
    # lazy: scipy.stats (see study_config)
    from dash_core.signaling.selfprune import RESULTS_FILE, SUMMARY_FILE, run_selfprune, summarise

    _set_threads(params)
    study = study_config(params)
    executor = _executor(params.get("executor"))
    reporter.progress(0.0, "loading data")
    data = load_job_data(params, run_dir, reporter)
    total = len(study.l2_levels) * len(study.seeds)
    reporter.log(f"{total} models ({len(study.l2_levels)} L2 levels x {len(study.seeds)} seeds), "
                 f"{study.n_spurious} spurious edges, {study.train.epochs} epochs each, {executor.workers} worker(s)")
    reporter.progress(0.0, f"0/{total} models")
    if reporter.should_stop():
        raise DashInputError("Stopped before the study started.")
    start = time.perf_counter()
    state = {"base": None}

    def on_model(done: int, n_jobs: int, row: dict | None, error: str | None) -> None:
        if state["base"] is None:
            state["base"] = total - n_jobs  # models found already finished in the folder
        finished = state["base"] + done
        elapsed = time.perf_counter() - start
        eta = elapsed / done * (n_jobs - done) if done else None
        if row is not None:
            reporter.progress(
                finished / total, f"{finished}/{total} models (λ_L2 = {row['l2']:g}, seed {row['seed']})",
                l2=float(row["l2"]), seed=int(row["seed"]), models_done=finished, models_total=total,
                share_spurious_below_median=_finite(row.get("share_spurious_below_median")),
                share_pkn_below_median=_finite(row.get("share_pkn_below_median")),
                ks_statistic=_finite(row.get("ks_statistic")), test_pearson=_finite(row.get("test_pearson")),
                eta_seconds=eta,
            )
        else:
            first = (error or "").splitlines()[0] if error else ""
            reporter.log(f"a model failed: {first}")
            reporter.progress(finished / total, f"{finished}/{total} models (one failed)", models_done=finished,
                              models_total=total, eta_seconds=eta)
        if reporter.should_stop() and done < n_jobs:
            raise _Stopped

    run_dir = Path(run_dir)
    stopped = False
    failed: list[tuple[str, str]] = []
    skipped = 0
    try:
        result = run_selfprune(data, study, run_dir, executor=executor, on_model=on_model)
        table, failed, skipped = result.table, result.failed, result.skipped
    except _Stopped:
        stopped = True
        path = run_dir / RESULTS_FILE
        table = pd.read_csv(path) if path.is_file() else pd.DataFrame()
        if not table.empty:
            summarise(table, run_dir).to_csv(run_dir / SUMMARY_FILE, index=False)
        reporter.log(f"stopped by the user after {len(table)} of {total} models; finished models are kept")
    for key, error in failed:
        reporter.log(f"[error] {key}: {error.splitlines()[0] if error else ''}")
    per_l2: list[dict[str, Any]] = []
    metrics: dict[str, Any] = {}
    cols = ["share_spurious_below_median", "share_pkn_below_median", "share_pkn_unknown_below_median",
            "share_spurious_below_p5", "share_pkn_below_p5", "ks_statistic", "test_pearson", "test_mse"]
    if not table.empty:
        present = [c for c in cols if c in table]
        for l2, grp in table.groupby("l2"):
            per_l2.append({"l2": float(l2), "n_models": int(len(grp)),
                           **{c: _finite(grp[c].mean()) for c in present}})
        metrics = {f"mean_{c}": _finite(table[c].mean()) for c in present}
    reporter.progress(1.0, f"{len(table)}/{total} models" + (" (stopped)" if stopped else "")
                      + (f", {len(failed)} failed" if failed else ""))
    return {
        "metrics": metrics,
        "n_models": int(len(table)),
        "models_total": int(total),
        "n_failed": len(failed),
        "failed": [k for k, _ in failed],
        "skipped": int(skipped),
        "stopped": stopped,
        "n_spurious": int(study.n_spurious),
        "l2_levels": [float(v) for v in study.l2_levels],
        "seeds": [int(s) for s in study.seeds],
        "epochs": int(study.train.epochs),
        "workers": int(executor.workers),
        "per_l2": per_l2,
        "dataset": str((params.get("data") or {}).get("name") or "data"),
        "n_pkn_edges": int(data.pkn.n_edges),
    }


# ----------------------------------------------------------------------------- signaling_cv
def signaling_cv_job(params: dict, run_dir: Path, reporter: Reporter) -> dict:
    """Job kind ``signaling_cv``: leave-one-condition-out or K-fold cross-validation.

    Parameters
    ----------
    params
        ``data``, ``preset`` (default ``package``), ``config`` (training overrides such as
        ``epochs``, ``seed``, ``device``), ``cv`` (``folds``: ``"loo"`` or K >= 2; optional
        ``stack_size``, ``split_seed``) and ``executor`` (:class:`~dash_core.runs.executors.ExecutorConfig`
        fields, e.g. ``{"workers": 2}``).
    run_dir
        The run folder (:func:`dash_core.signaling.cv.run_cv`): ``cv.csv``, ``summary.json``,
        ``predictions.csv`` (held-out condition x TF), ``per_tf.csv``, ``predicted_vs_measured.html``,
        ``folds/fold_NNN/``; plus ``inputs/``.
    reporter
        One progress entry per finished fold (``fold``, its ``test_pearson``, ``folds_done``,
        ``folds_total``, ``eta_seconds``). A stop request is honoured when the next fold
        finishes; finished folds are kept (running the job again in the same folder resumes).

    Returns
    -------
    dict
        ``summary.json`` (``pooled_pearson``, ``mean_fold_pearson``, ``baseline_pooled_pearson``,
        ``folds``, ``folds_total``, ``wall_seconds``, ...) plus ``stopped``, ``n_failed``.
    """
    _set_threads(params)
    spec = dict(params.get("cv") or {})
    unknown = sorted(set(spec) - {"folds", "stack_size", "split_seed"})
    if unknown:
        raise DashInputError(f"Unknown cross-validation setting(s): {', '.join(unknown)}.")
    train = training_config({**params, "preset": params.get("preset") or "package"})
    cv = CVConfig(
        folds=parse_folds(spec.get("folds", "loo")),
        stack_size=int(spec.get("stack_size", 1)),
        split_seed=int(spec.get("split_seed", 0)),
        train=train,
    )
    executor = _executor(params.get("executor"))
    reporter.progress(0.0, "loading data")
    data = load_job_data(params, run_dir, reporter)
    total = len(make_folds(data.n_conditions, cv.folds, cv.split_seed))
    reporter.log(f"{total} folds, {train.epochs} epochs each, {executor.workers} worker(s)")
    start = time.perf_counter()
    state = {"base": None}

    def on_fold(done: int, n_jobs: int, row: dict | None, error: str | None) -> None:
        if state["base"] is None:
            state["base"] = total - n_jobs
        finished = state["base"] + done
        eta = (time.perf_counter() - start) / done * (n_jobs - done) if done else None
        if row is not None:
            reporter.progress(finished / total, f"{finished}/{total} folds (fold {row['fold']}: r = {row['test_pearson']:.3f})",
                              fold=int(row["fold"]), test_pearson=_finite(row["test_pearson"]), folds_done=finished,
                              folds_total=total, eta_seconds=eta)
        else:
            reporter.log(f"a fold failed: {(error or '').splitlines()[0] if error else ''}")
        if reporter.should_stop() and done < n_jobs:
            raise _Stopped

    stopped = False
    failed: list = []
    try:
        result = run_cv(data, cv, run_dir, executor=executor, on_fold=on_fold)
        failed, summary = result.failed, result.summary
    except _Stopped:
        stopped = True
        reporter.log("stopped by the user; finished folds are kept (run again in the same folder to resume)")
        path = Path(run_dir) / CV_SUMMARY_FILE
        summary = json.loads(path.read_text()) if path.is_file() else {}
    reporter.progress(1.0, f"{summary.get('folds', 0)}/{total} folds" + (" (stopped)" if stopped else ""))
    return {**summary, "metrics": {k: summary.get(k) for k in ("pooled_pearson", "mean_fold_pearson", "baseline_pooled_pearson",
                                                                     "ridge_pooled_pearson", "ridge_pairwise_pooled_pearson")},
            "stopped": stopped, "n_failed": len(failed), "dataset": str((params.get("data") or {}).get("name") or "data")}

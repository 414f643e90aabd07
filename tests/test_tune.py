"""Adaptive lambda search (dash_core.studies.asha): sampling, input checks and one ASHA search on a local Ray.

The ASHA search runs 4 trials x 3 epochs of DASH (pruned at every epoch, so the
lambdas act from epoch 1 on) on a 16-gene simulated network, one trial at a
time so that which trials ASHA stops is reproducible.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import pandas as pd
import pytest

from dash_core.cli.args import add_executor_arguments
from dash_core.cli.studies import register_search_arguments, run_search_from_args
from dash_core.experiment import METRIC_KEYS, RunConfig
from dash_core.integrate import SolverConfig
from dash_core.io.errors import DashInputError
from dash_core.pruning import PruningConfig
from dash_core.runs.executors import ExecutorConfig
from dash_core.simulate import SimulationConfig, simulate, write_simulation
from dash_core.studies.asha import run_asha_search, sample_lambdas
from dash_core.studies.datasets import DatasetSpec
from dash_core.studies.selection import path_table, recommend
from dash_core.studies.sweeps import run_sweep
from dash_core.train import TrainConfig

TINY = RunConfig(
    train=TrainConfig(max_epochs=3, patience=0, device="cpu", prior_probes=64, prior_probe_batch=32,
                      solver=SolverConfig(method="euler", steps_per_unit=1.0)),
    pruning=PruningConfig(first_epoch=1, interval=1),
)


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sim")
    write_simulation(simulate(SimulationConfig.scaled(16, n_trajectories=6, n_test_trajectories=3, seed=1)), folder)
    return DatasetSpec.from_simulation_dir(folder)


def _parser() -> argparse.ArgumentParser:
    """The options ``sweep`` has that run_search_from_args reads."""
    p = argparse.ArgumentParser()
    p.add_argument("--lambda-ppi-grid", default=None)
    p.add_argument("--lambda-motif-grid", default=None)
    p.add_argument("--seeds", default="0")
    p.add_argument("--tolerance", type=float, default=None)
    p.add_argument("--strategy", default=None)
    p.add_argument("--out", required=True)
    add_executor_arguments(p)
    register_search_arguments(p)
    return p


# ------------------------------------------------------------------ without Ray
def test_sample_lambdas_is_seeded_distinct_and_dense_near_the_ends():
    a = sample_lambdas(50, seed=3)
    assert a == sample_lambdas(50, seed=3) and a != sample_lambdas(50, seed=4)
    assert len(set(a)) == 50
    values = np.array(a).ravel()
    assert values.min() >= 0.001 and values.max() <= 0.999
    many_logit = np.array(sample_lambdas(1000, seed=0, space="logit")).ravel()
    many_uniform = np.array(sample_lambdas(1000, seed=0, space="uniform")).ravel()
    near_ends = lambda v: np.mean((v < 0.1) | (v > 0.9))  # noqa: E731
    assert 0.6 < near_ends(many_logit) < 0.72  # a third below 0.1, a third above 0.9
    assert 0.15 < near_ends(many_uniform) < 0.25
    with pytest.raises(DashInputError, match="--trials"):
        sample_lambdas(0)
    with pytest.raises(DashInputError, match="unknown lambda space"):
        sample_lambdas(3, space="log")


def test_asha_input_errors(spec, tmp_path, monkeypatch):
    with pytest.raises(DashInputError, match="grace_period"):
        run_asha_search(spec, TINY, trials=2, out_dir=tmp_path, grace_period=0)
    with pytest.raises(DashInputError, match="reduction_factor"):
        run_asha_search(spec, TINY, trials=2, out_dir=tmp_path, reduction_factor=1.0)
    with pytest.raises(DashInputError, match="tolerance"):
        run_asha_search(spec, TINY, trials=2, out_dir=tmp_path, tolerance=-1)
    # a grid sweep's folder is not overwritten
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "study.json").write_text(json.dumps({"kind": "sweep"}))
    pytest.importorskip("ray")
    with pytest.raises(DashInputError, match="another study"):
        run_asha_search(spec, TINY, trials=2, out_dir=tmp_path / "grid", grace_period=1)
    # Ray stays optional: a clear message instead of an ImportError
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(DashInputError, match=r"pip install 'ray\[tune\]'"):
        run_asha_search(spec, TINY, trials=2, out_dir=tmp_path / "new", grace_period=1)


def test_search_arguments_and_their_errors(spec, tmp_path):
    args = _parser().parse_args(["--out", str(tmp_path), "--search", "asha", "--trials", "5", "--grace-period", "2",
                                 "--reduction-factor", "4", "--lambda-space", "uniform"])
    assert (args.search, args.trials, args.grace_period, args.reduction_factor, args.lambda_space) == (
        "asha", 5, 2, 4.0, "uniform")
    assert _parser().parse_args(["--out", "x"]).search == "grid"
    with pytest.raises(SystemExit):
        _parser().parse_args(["--out", "x", "--trials", "0"])
    grids = _parser().parse_args(["--out", str(tmp_path), "--search", "asha", "--lambda-ppi-grid", "0,0.5"])
    with pytest.raises(DashInputError, match="drop --lambda-ppi-grid"):
        run_search_from_args(grids, spec, TINY)
    seeds = _parser().parse_args(["--out", str(tmp_path), "--search", "asha", "--seeds", "0,1"])
    with pytest.raises(DashInputError, match="single seed"):
        run_search_from_args(seeds, spec, TINY)


def test_halving_search_on_one_stack_selects_among_survivors(spec, tmp_path, capsys):
    """``--search halving``: the ASHA table and rungs, trained as one stacked model (no Ray, reproducible)."""
    out = tmp_path / "halving"
    args = _parser().parse_args(["--out", str(out), "--search", "halving", "--trials", "6", "--grace-period", "1",
                                 "--reduction-factor", "3"])
    assert run_search_from_args(args, spec, TINY) == 0
    printed = capsys.readouterr()
    df = pd.read_csv(out / "sweep.csv")
    assert list(zip(df["lambda_ppi"], df["lambda_motif"], strict=True)) == sample_lambdas(6, seed=0)
    # rung at epoch 1 keeps 2 of 6, the next rung (epoch 3 = max_epochs) is the end
    assert (df["status"] == "stopped").sum() == 4 and (df["status"] == "ok").sum() == 2
    assert (df.loc[df["status"] == "stopped", "epochs_spent"] == 1).all()
    assert (df.loc[df["status"] == "ok", "epochs_spent"] == 3).all()
    for key in df.loc[df["status"] == "stopped", "key"]:
        assert not (out / "runs" / key).exists()
    ok = df[df["status"] == "ok"]
    assert "stopped by successive halving" in printed.err and "Recommended lambda_ppi" in printed.out
    summary = json.loads((out / "selection.json").read_text())
    assert summary["search"]["epochs_spent"] == 4 * 1 + 2 * 3
    # the recommendation rule over the survivors' pruning paths
    assert (summary["lambda_ppi"], summary["level"]) == (recommend(path_table(ok)).lambda_ppi,
                                                         recommend(path_table(ok)).level)
    # a survivor trains exactly like the grid point with the same lambdas and seed (a stack of one)
    best = ok.sort_values("val_mse").iloc[0]
    grid = run_sweep(spec, TINY, (float(best["lambda_ppi"]),), (float(best["lambda_motif"]),), strategy="dash",
                     out_dir=tmp_path / "grid", executor=ExecutorConfig())
    for col in ("val_mse", "sparsity", "balanced_accuracy"):
        assert float(grid[col].iloc[0]) == pytest.approx(float(best[col]), rel=1e-3), col


# ------------------------------------------------------------------ on Ray
@pytest.mark.timeout(180)
def test_asha_search_stops_trials_early_and_selects_the_best(spec, tmp_path, capsys):
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'ray[tune]'")
    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    paths = os.pathsep.join(dict.fromkeys(os.path.abspath(p or os.curdir) for p in sys.path if os.path.isdir(p or ".")))
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": paths}})
    try:
        out = tmp_path / "asha"
        args = _parser().parse_args(["--out", str(out), "--search", "asha", "--trials", "4", "--grace-period", "1",
                                     "--reduction-factor", "2", "--workers", "1",
                                     "--executor", "ray"])
        assert run_search_from_args(args, spec, TINY) == 0
        assert ray.is_initialized()  # the search used this Ray and left it running
    finally:
        ray.shutdown()
    printed = capsys.readouterr()
    df = pd.read_csv(out / "sweep.csv")
    summary = json.loads((out / "selection.json").read_text())

    # the table: one row per trial, the grid sweep's columns plus epochs_spent
    expected = sample_lambdas(4, seed=0)
    assert list(zip(df["lambda_ppi"], df["lambda_motif"], strict=True)) == expected
    for col in ["key", "status", "strategy", "seed", "lambda_ppi", "lambda_motif", *METRIC_KEYS, "val_mse",
                "epochs_spent", "run_dir", "job_seconds", "attempts", "error"]:
        assert col in df.columns, col
    assert set(df["status"]) <= {"ok", "stopped"} and (df["status"] == "ok").any()

    # the tiny grace period makes ASHA stop trials early: they train fewer epochs and save nothing
    stopped = df[df["status"] == "stopped"]
    assert len(stopped) >= 1 and (stopped["epochs_spent"] < 3).all()
    assert df["epochs_spent"].nunique() > 1
    for key in stopped["key"]:
        assert not (out / "runs" / key).exists()
    ok = df[df["status"] == "ok"]
    assert (ok["epochs_spent"] == 3).all() and ok["balanced_accuracy"].notna().all()
    assert summary["search"]["epochs_spent"] == int(df["epochs_spent"].sum()) < 4 * 3

    # the recommendation rule over the pruning paths of the trials that trained to the end
    rec = recommend(path_table(ok))
    assert (summary["lambda_ppi"], summary["lambda_motif"], summary["level"]) == (
        rec.lambda_ppi, rec.lambda_motif, rec.level)
    assert f"Recommended lambda_ppi = {rec.lambda_ppi:g}, lambda_motif = {rec.lambda_motif:g}" in printed.out
    assert (out / summary["run_dir"] / "edges.csv").is_file()
    best = ok.sort_values("val_mse").iloc[0]
    assert "stopped by ASHA" in printed.err

    # a trial trains exactly like the grid point with the same lambdas and seed
    grid = run_sweep(spec, TINY, (float(best["lambda_ppi"]),), (float(best["lambda_motif"]),), strategy="dash",
                     out_dir=tmp_path / "grid", executor=ExecutorConfig())
    for col in ("val_mse", "sparsity", "balanced_accuracy", "test_mse"):
        assert float(grid[col].iloc[0]) == pytest.approx(float(best[col]), rel=1e-12, abs=0), col

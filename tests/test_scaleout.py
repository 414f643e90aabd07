"""Scale-out: the same lambda sweep on the local process pool and on Ray.

A tiny simulated network (16 genes, 6 trajectories), a 2 x 2 lambda grid of
DASH pruned at every epoch (so the lambdas change the result from epoch 1 on)
and 3 epochs per run. One local Ray (2 CPUs) is shared by the module and shut
down at its end.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dash_core.experiment import RunConfig
from dash_core.integrate import SolverConfig
from dash_core.pruning import PruningConfig
from dash_core.runs.executors import ExecutorConfig, run_jobs
from dash_core.simulate import SimulationConfig, simulate, write_simulation
from dash_core.studies.datasets import DatasetSpec
from dash_core.studies.sweeps import run_sweep, sweep_jobs
from dash_core.train import TrainConfig

ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'ray[default]'")

TINY = RunConfig(
    train=TrainConfig(max_epochs=3, patience=0, device="cpu", prior_probes=64, prior_probe_batch=32,
                      solver=SolverConfig(method="euler", steps_per_unit=1.0)),
    pruning=PruningConfig(first_epoch=1, interval=1),
)
PPI_GRID = (0.0, 0.95)
MOTIF_GRID = (0.05, 0.9)
METRICS = ["sparsity", "val_mse", "test_mse", "test_mse_true", "balanced_accuracy", "auroc", "auprc", "epochs",
           "best_epoch"]

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray with 2 CPUs for the module; run_jobs uses it and leaves it running."""
    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    paths = os.pathsep.join(dict.fromkeys(os.path.abspath(p or os.curdir) for p in sys.path if os.path.isdir(p or ".")))
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": paths}})
    yield ray
    ray.shutdown()
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sim")
    write_simulation(simulate(SimulationConfig.scaled(16, n_trajectories=6, n_test_trajectories=3, seed=1)), folder)
    return DatasetSpec.from_simulation_dir(folder)


def _metrics(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("key").set_index("key")[METRICS].astype(float)


def test_local_pool_and_ray_give_identical_metrics(spec, tmp_path, ray_local):
    local = run_sweep(spec, TINY, PPI_GRID, MOTIF_GRID, strategy="dash", seeds=(0,), out_dir=tmp_path / "local",
                      executor=ExecutorConfig(kind="local", workers=2))
    remote = run_sweep(spec, TINY, PPI_GRID, MOTIF_GRID, strategy="dash", seeds=(0,), out_dir=tmp_path / "ray",
                       executor=ExecutorConfig(kind="ray", workers=2))
    assert ray_local.is_initialized()  # run_jobs used the module's Ray and left it running
    for df in (local, remote):
        assert len(df) == 4 and (df["status"] == "ok").all(), df.get("error")
    a, b = _metrics(local), _metrics(remote)
    assert list(a.index) == list(b.index)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())  # bit-identical, seed for seed
    assert a["epochs"].eq(3).all()
    # the lambdas matter (otherwise equality would say little): the points differ from each other
    assert a["val_mse"].nunique() > 1 and a["sparsity"].nunique() > 1
    key = a.index[0]
    edges_local = pd.read_csv(tmp_path / "local" / "runs" / key / "edges.csv")
    edges_ray = pd.read_csv(tmp_path / "ray" / "runs" / key / "edges.csv")
    pd.testing.assert_frame_equal(edges_local, edges_ray)


@pytest.mark.parametrize("kind", ["local", "ray"])
def test_interrupted_sweep_resumes_only_missing_points(spec, tmp_path, ray_local, kind):
    # one run per job, so that the interruption falls between runs (a stacked job finishes its whole stack)
    executor = ExecutorConfig(kind=kind, workers=1 if kind == "local" else 2, stack_size=1)
    finished: list[str] = []

    first = run_sweep(spec, TINY, PPI_GRID, MOTIF_GRID, strategy="dash", seeds=(0,), out_dir=tmp_path,
                      executor=executor, on_point=lambda row, p: finished.append(row["key"]),
                      should_stop=lambda: len(finished) >= 1)
    done_first = set(first.loc[first["status"] == "ok", "key"])
    assert 1 <= len(done_first) < 4 and done_first == set(finished)
    assert set(first["status"]) <= {"ok", "cancelled"}
    stored = pd.read_csv(tmp_path / "sweep.csv")
    assert set(stored["key"]) == done_first  # cancelled points are not stored
    before = {k: (tmp_path / "runs" / k / "metrics.json").stat().st_mtime_ns for k in done_first}
    seconds_before = stored.set_index("key")["job_seconds"].to_dict()

    rerun: list[str] = []
    progress = []
    second = run_sweep(spec, TINY, PPI_GRID, MOTIF_GRID, strategy="dash", seeds=(0,), out_dir=tmp_path,
                       executor=executor, on_point=lambda row, p: (rerun.append(row["key"]), progress.append(p)))
    assert len(second) == 4 and (second["status"] == "ok").all()
    assert set(rerun) == set(second["key"]) - done_first  # only the missing points ran
    assert progress[-1].resumed == len(done_first) and progress[-1].done == 4
    for k in done_first:  # finished points were not touched
        assert (tmp_path / "runs" / k / "metrics.json").stat().st_mtime_ns == before[k]
        assert second.set_index("key").loc[k, "job_seconds"] == seconds_before[k]


def test_failing_point_is_retried_once_and_reported_on_ray(spec, tmp_path, ray_local):
    bad = tmp_path / "corrupted_expression.csv"
    bad.write_text("gene,time\nthis is not an expression table\n", encoding="utf-8")
    jobs = sweep_jobs(spec, TINY, PPI_GRID, MOTIF_GRID, strategy="dash", out_dir=tmp_path / "jobs")
    broken = dataclasses.replace(spec, expression=str(bad)).to_dict()
    jobs[1] = dataclasses.replace(jobs[1], kwargs={**jobs[1].kwargs, "dataset": broken})
    results = run_jobs(jobs, ExecutorConfig(kind="ray", workers=2, max_retries=1))
    assert [r.key for r in results] == [j.key for j in jobs]  # nothing dropped, order kept
    assert [r.ok for r in results] == [True, False, True, True]
    failed = results[1]
    assert failed.attempts == 2  # tried, then retried once
    assert failed.error.startswith("DashInputError") and "corrupted_expression.csv" in failed.error
    assert all(r.attempts == 1 for r in results if r.ok)

    # Through run_sweep the failure is a row of sweep.csv (with its error) and is retried on the next invocation.
    out = tmp_path / "sweep"
    broken_spec = dataclasses.replace(spec, expression=str(bad))
    df = run_sweep(broken_spec, TINY, (0.5,), (0.05,), strategy="dash", out_dir=out,
                   executor=ExecutorConfig(kind="ray", workers=2))
    row = pd.read_csv(out / "sweep.csv").iloc[0]
    assert df["status"].tolist() == ["failed"] and row["status"] == "failed"
    assert int(row["attempts"]) == 2 and "Missing required column" in row["error"]
    bad.write_text(Path(spec.expression).read_text(encoding="utf-8"), encoding="utf-8")  # repaired
    df = run_sweep(broken_spec, TINY, (0.5,), (0.05,), strategy="dash", out_dir=out,
                   executor=ExecutorConfig(kind="ray", workers=2))
    assert df["status"].tolist() == ["ok"] and int(df["attempts"].iloc[0]) == 1

"""Background jobs: a separate process per run, progress, cancel, crash -> failed, built-in kinds.

The small job kinds below are registered when this module is imported; the job
process imports it too (``DASH_STUDIO_JOB_MODULES=tests.test_jobs``).
"""

from __future__ import annotations

import os
import time
import types
from pathlib import Path

import pandas as pd
import pytest

from dash_core.io.errors import DashInputError
from dash_core.runs import jobs
from dash_core.runs.jobs import JOB_KINDS, Reporter, cancel_job, load_job_kinds, register_job_kind, run_job, start_job
from dash_core.runs.store import CANCELLED, COMPLETED, FAILED, RUNNING, RunStore, pid_alive, save_dataset_dir

if "test_steps" not in JOB_KINDS:

    @register_job_kind("test_steps", "test: report n steps, stop when asked")
    def _steps(params: dict, run_dir: Path, reporter: Reporter) -> dict:
        n = int(params["steps"])
        for i in range(1, n + 1):
            if reporter.should_stop():
                return {"stopped_at": i}
            reporter.progress(i / n, f"step {i}", step=i, square=i * i)
            time.sleep(float(params.get("sleep", 0.0)))
        (run_dir / "out.txt").write_text("done")
        reporter.log("finished")
        return {"steps": n}

    @register_job_kind("test_crash", "test: the process dies without reporting")
    def _crash(params: dict, run_dir: Path, reporter: Reporter) -> dict:
        reporter.progress(0.1, "about to crash")
        print("fatal: simulated segfault", flush=True)
        os._exit(3)

    @register_job_kind("test_error", "test: raises")
    def _error(params: dict, run_dir: Path, reporter: Reporter) -> dict:
        if params.get("input"):
            raise DashInputError("The prior file has no edges.", source="prior.csv")
        raise RuntimeError("boom")


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("DASH_STUDIO_JOB_MODULES", "tests.test_jobs")
    monkeypatch.setenv("DASH_STUDIO_HOME", str(tmp_path / "home"))
    return RunStore(tmp_path / "home")


def _wait(store: RunStore, run_id: str, timeout: float = 60.0, until=lambda r: not r.active):
    t0 = time.time()
    while time.time() - t0 < timeout:
        rec = store.get(run_id)
        if until(rec):
            return rec
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still {store.get(run_id).status} after {timeout} s")


def test_job_runs_in_separate_process_and_reports_progress(store):
    t0 = time.perf_counter()
    run_id = start_job(store, "test_steps", {"steps": 3}, label="three steps")
    assert time.perf_counter() - t0 < 2.0  # never blocks the caller
    rec = store.get(run_id)
    assert rec.pid is not None and rec.pid != os.getpid() and rec.label == "three steps"
    rec = _wait(store, run_id)
    assert rec.status == COMPLETED, rec.error
    assert rec.summary == {"steps": 3} and rec.fraction == 1.0
    prog = store.progress(run_id)
    assert list(prog["step"]) == [1, 2, 3] and list(prog["square"]) == [1, 4, 9]
    assert (rec.path / "out.txt").read_text() == "done"
    assert store.logs(run_id) == ["finished"]
    assert "finished" in (rec.path / "job.log").read_text()


def test_cancel_stops_a_running_job(store):
    run_id = start_job(store, "test_steps", {"steps": 400, "sleep": 0.05})
    _wait(store, run_id, until=lambda r: r.status == RUNNING and r.fraction)
    assert cancel_job(store, run_id)
    rec = _wait(store, run_id, timeout=30)
    assert rec.status == CANCELLED
    assert 1 < rec.summary["stopped_at"] < 400
    assert not cancel_job(store, run_id)  # already ended


def test_force_cancel_terminates_the_process(store):
    run_id = start_job(store, "test_steps", {"steps": 4000, "sleep": 0.05})
    rec = _wait(store, run_id, until=lambda r: r.status == RUNNING and r.fraction)
    assert cancel_job(store, run_id, force=True)
    assert store.get(run_id).status == CANCELLED  # immediately
    t0 = time.time()
    while pid_alive(rec.pid) and time.time() - t0 < 15:
        time.sleep(0.1)
    assert not pid_alive(rec.pid)
    assert store.get(run_id).status == CANCELLED  # the dying process did not overwrite it


def test_crashed_process_shows_as_failed(store):
    run_id = start_job(store, "test_crash", {})
    rec = _wait(store, run_id)
    assert rec.status == FAILED
    assert "ended without reporting" in rec.error and "simulated segfault" in rec.error


@pytest.mark.parametrize("user_error, expected", [(False, "RuntimeError: boom"),
                                                   (True, "prior.csv: The prior file has no edges.")])
def test_exceptions_become_failed_runs(store, user_error, expected):
    rec = store.create_run("test_error", {"input": user_error})
    assert run_job(store, rec.run_id) == FAILED  # in-process, as the job process does it
    assert store.get(rec.run_id).error == expected


def test_unknown_kind_and_broken_plugin(store, monkeypatch):
    with pytest.raises(DashInputError, match="Unknown job kind 'nope'"):
        start_job(store, "nope", {})
    monkeypatch.setenv("DASH_STUDIO_JOB_MODULES", "tests.test_jobs,tests._no_such_module_x,json.tool.broken")
    errors = load_job_kinds()
    assert "json.tool.broken" in errors and "tests._no_such_module_x" not in errors  # missing = silently absent
    assert {"train", "sweep", "test_steps"} <= set(JOB_KINDS.names())


def test_start_job_copies_the_dataset(store, tiny_sim, tmp_path):
    folder = save_dataset_dir(tiny_sim.dataset, tmp_path / "ds")
    run_id = start_job(store, "test_steps", {"steps": 1}, dataset_dir=folder)
    rec = store.get(run_id)
    copy = Path(rec.params["dataset_dir"])
    assert copy.parent == rec.path and (copy / "expression.csv").is_file() and rec.dataset_dir == str(copy)
    _wait(store, run_id)
    with pytest.raises(DashInputError, match="does not exist"):
        start_job(store, "test_steps", {"steps": 1}, dataset_dir=tmp_path / "missing")


def test_train_kind_in_process(store, tiny_sim, tmp_path):
    from dash_core.experiment import RunConfig
    from dash_core.models import ModelConfig
    from dash_core.train import TrainConfig

    folder = save_dataset_dir(tiny_sim.dataset, tmp_path / "ds")
    cfg = RunConfig(model=ModelConfig(hidden=4), train=TrainConfig(max_epochs=2, prior_probes=200), strategy="none")
    rec = store.create_run("train", {"config": cfg.to_dict(), "dataset_dir": str(folder), "threads": 1})
    assert run_job(store, rec.run_id) == COMPLETED, store.get(rec.run_id).error
    done = store.get(rec.run_id)
    for name in ("metrics.json", "edges.csv", "history.csv", "config.json", "model.pt", "genes.txt"):
        assert (done.path / name).is_file(), name
    assert done.summary["metrics"]["epochs"] == 2 and done.summary["strategy"] == "none"
    assert 0.0 <= done.summary["metrics"]["sparsity"] <= 1.0
    prog = store.progress(rec.run_id)
    assert list(prog["epoch"].dropna().astype(int)) == [1, 2]
    assert {"val_mse", "sparsity", "eta_seconds"} <= set(prog.columns)


def test_sweep_kind_with_fake_run_sweep(store, tiny_sim, tmp_path, monkeypatch):
    from dash_core.experiment import RunConfig

    calls = []

    def run_sweep(spec, base, ppi_grid, motif_grid, *, strategy, seeds, out_dir, executor, on_point, should_stop,
                  tolerance=None):
        calls.append((strategy, list(ppi_grid), list(motif_grid), list(seeds), executor.workers,
                      sorted(k for k, v in spec.to_dict().items() if v), tolerance))
        rows = []
        for lp in ppi_grid:
            for lm in motif_grid:
                for s in seeds:
                    folder = Path(out_dir) / f"{strategy}_{lp}_{lm}_{s}"
                    folder.mkdir(parents=True)
                    m = {"sparsity": 0.9 * lp, "balanced_accuracy": 0.5 + 0.4 * lm}
                    (folder / "metrics.json").write_text(pd.Series(m).to_json())
                    row = {"key": folder.name, "status": "ok", "strategy": strategy, "seed": s, "lambda_ppi": lp,
                           "lambda_motif": lm, **m, "run_dir": str(folder)}
                    rows.append(row)
                    on_point(row, types.SimpleNamespace(eta_s=1.0))
                    assert should_stop() is False
        return pd.DataFrame(rows)

    from dash_core.studies import selection, sweeps

    finalized = []

    def finalize_sweep(out_dir, runs, dataset, *, dataset_spec, tolerance, strategy, referee_dir):
        finalized.append((Path(out_dir), len(runs), tolerance, strategy, Path(referee_dir)))

    monkeypatch.setattr(sweeps, "run_sweep", run_sweep)
    monkeypatch.setattr(selection, "finalize_sweep", finalize_sweep)
    folder = save_dataset_dir(tiny_sim.dataset, tmp_path / "ds")
    params = {"config": RunConfig().to_dict(), "dataset_dir": str(folder), "strategy": "dash",
              "lambda_ppi_grid": [0.0, 0.5], "lambda_motif_grid": [0.05, 1.0], "seeds": [0],
              "baselines": ["none", "dash"], "executor": {"kind": "local", "workers": 2}}
    rec = store.create_run("sweep", params)
    assert run_job(store, rec.run_id) == COMPLETED, store.get(rec.run_id).error
    assert calls[0][:5] == ("dash", [0.0, 0.5], [0.05, 1.0], [0], 2)
    assert calls[1][:3] == ("none", [0.5], [0.05])  # baseline at the base lambdas; "dash" not repeated
    assert "expression" in calls[0][5] and "truth" in calls[0][5]
    done = store.get(rec.run_id)
    assert done.summary["n_points"] == 5 and done.summary["n_registered"] == 5
    # the swept strategy is recommended by validation (default tolerance) once the baselines are done, with the
    # unpruned baseline's folder as the prior audit's referee; baselines are not; no gold-standard "best"
    assert calls[0][6] is None and calls[1][6] is None
    assert finalized == [(done.path / "points" / "dash", 4, pytest.approx(0.05), "dash",
                          done.path / "points" / "none")]
    assert "best" not in done.summary
    assert len(pd.read_csv(done.path / "paths.csv")) == 5  # one path row per finished run, appended live
    points = pd.read_csv(done.path / "points.csv")
    assert points["run_id"].notna().all()
    children = store.list_runs(parent_id=rec.run_id)
    assert len(children) == 5 and all(c.kind == "train" and c.status == COMPLETED for c in children)
    prog = store.progress(rec.run_id)
    assert prog["fraction"].iloc[-1] == 1.0 and (prog["message"] == "5/5 points").any()


def test_module_exports():
    assert jobs.HEARTBEAT_SECONDS > 0 and {"train", "sweep"} <= set(JOB_KINDS.names())
    from dash_core.runs import RunStore as RS
    from dash_core.runs import start_job as sj

    assert RS is RunStore and sj is start_job

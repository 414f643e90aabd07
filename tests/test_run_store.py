"""The SQLite run store: records, progress, cancel flag, liveness checks, dataset folders."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from dash_core.io.errors import DashInputError
from dash_core.runs.store import (
    CANCELLED,
    COMPLETED,
    FAILED,
    QUEUED,
    RUNNING,
    RunStore,
    dataset_files,
    default_home,
    folder_digest,
    load_dataset_dir,
    pid_alive,
    save_dataset_dir,
)


@pytest.fixture()
def store(tmp_path):
    return RunStore(tmp_path / "home")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_home_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DASH_STUDIO_HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h"
    s = RunStore()
    assert s.db_path == tmp_path / "h" / "runs.sqlite" and s.db_path.is_file()
    monkeypatch.delenv("DASH_STUDIO_HOME")
    assert default_home().name == ".dash_studio"


def test_create_get_list_and_persistence(store):
    a = store.create_run("train", {"config": {"seed": 1}, "x": np.float64(2.5)}, label="first")
    time.sleep(0.01)
    b = store.create_run("sweep", {}, label="second")
    assert a.status == QUEUED and a.path.is_dir() and a.path.parent == store.runs_dir
    assert store.get(a.run_id).params == {"config": {"seed": 1}, "x": 2.5}
    assert [r.run_id for r in store.list_runs()] == [b.run_id, a.run_id]  # newest first
    assert [r.run_id for r in store.list_runs(kind="train")] == [a.run_id]
    # a second store object on the same home (another tab / an app restart) sees the same runs
    again = RunStore(store.home)
    assert again.get(b.run_id).label == "second"
    with pytest.raises(DashInputError, match="no run"):
        store.get("nope")


def test_progress_log_and_latest_values(store):
    rec = store.create_run("train", {})
    assert store.mark_running(rec.run_id, pid=None)
    store.append_progress(rec.run_id, 0.25, "epoch 1", {"epoch": 1, "val_mse": 0.5})
    store.append_progress(rec.run_id, 0.5, "epoch 2", {"epoch": 2, "val_mse": float("nan")})
    store.append_log(rec.run_id, "hello")
    prog = store.progress(rec.run_id)
    assert list(prog["epoch"]) == [1, 2]
    assert prog["val_mse"].iloc[0] == 0.5 and np.isnan(prog["val_mse"].iloc[1])  # nan stored as null
    assert list(store.progress(rec.run_id, since=int(prog["seq"].iloc[0]))["epoch"]) == [2]
    r = store.get(rec.run_id)
    assert r.status == RUNNING and r.fraction == 0.5 and r.message == "epoch 2" and r.heartbeat is not None
    assert store.logs(rec.run_id) == ["hello"]


def test_final_status_is_written_once(store):
    rec = store.create_run("train", {})
    store.mark_running(rec.run_id)
    assert store.finish(rec.run_id, {"metrics": {"sparsity": 0.9}})
    assert not store.fail(rec.run_id, "late error")  # an ended run is never overwritten
    r = store.get(rec.run_id)
    assert r.status == COMPLETED and r.error is None and r.metrics == {"sparsity": 0.9} and r.fraction == 1.0
    assert not store.request_cancel(rec.run_id)


def test_cancel_flag(store):
    rec = store.create_run("train", {})
    assert not store.cancel_requested(rec.run_id)
    assert store.request_cancel(rec.run_id)
    assert store.cancel_requested(rec.run_id) and store.get(rec.run_id).cancel_requested


def test_dead_process_turns_running_run_into_failed(store):
    rec = store.create_run("train", {})
    store.mark_running(rec.run_id, pid=_dead_pid())
    (rec.path / "job.log").write_text("Traceback ...\nMemoryError: out of memory\n")
    r = store.get(rec.run_id)
    assert r.status == FAILED
    assert "ended without reporting" in r.error and "MemoryError" in r.error
    assert store.active_runs() == []


def test_live_process_stays_running(store):
    rec = store.create_run("train", {})
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        store.mark_running(rec.run_id, pid=proc.pid)
        assert store.get(rec.run_id).status == RUNNING
        assert [r.run_id for r in store.active_runs()] == [rec.run_id]
    finally:
        proc.kill()
        proc.wait()
    assert not pid_alive(proc.pid)
    assert store.get(rec.run_id).status == FAILED


def test_stale_heartbeat_and_never_started(tmp_path):
    store = RunStore(tmp_path / "h", stale_after=0.2)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        a = store.create_run("train", {})
        store.mark_running(a.run_id, pid=proc.pid)  # alive, but never sends another heartbeat
        b = store.create_run("train", {})  # queued, no process ever attached
        assert store.get(a.run_id).status == RUNNING
        time.sleep(0.4)
        ra, rb = store.get(a.run_id), store.get(b.run_id)
        assert ra.status == FAILED and "heartbeat" in ra.error
        assert rb.status == FAILED and "never started" in rb.error
    finally:
        proc.kill()
        proc.wait()


def test_workspace_dirs_are_isolated_and_validated(store):
    from dash_core.runs.workspaces import issue_workspace

    (w1, t1), (w2, t2) = issue_workspace(store), issue_workspace(store)
    assert w1 != w2 and t1 != t2 and store.valid_workspace_id(w1)
    d1, d2 = store.workspace_dir(w1), store.workspace_dir(w2)
    assert d1 != d2 and d1.is_dir() and d1.parent == store.workspaces_dir
    for bad in ("../etc", "abc", "", "a/b" * 8):
        with pytest.raises(DashInputError):
            store.workspace_dir(bad)


def test_delete_run_removes_children_and_folder(store):
    parent = store.create_run("sweep", {})
    store.mark_running(parent.run_id)
    store.finish(parent.run_id, {})
    child = store.create_run("train", {}, parent_id=parent.run_id, status=COMPLETED,
                             artifact_dir=parent.path / "points" / "p1")
    assert [c.run_id for c in store.list_runs(parent_id=parent.run_id)] == [child.run_id]
    assert [r.run_id for r in store.list_runs(top_level=True)] == [parent.run_id]
    store.delete_run(parent.run_id)
    assert store.find(parent.run_id) is None and store.find(child.run_id) is None
    assert not parent.path.exists()


def test_active_run_cannot_be_deleted(store):
    rec = store.create_run("train", {})
    store.mark_running(rec.run_id)
    with pytest.raises(DashInputError, match="cancel it"):
        store.delete_run(rec.run_id)
    store.finish(rec.run_id, None, status=CANCELLED)
    store.delete_run(rec.run_id)


def test_dataset_folder_round_trip(tiny_sim, tmp_path):
    ds = tiny_sim.dataset
    a = save_dataset_dir(ds, tmp_path / "a", gene_sets=tiny_sim.gene_sets, source="simulation")
    b = save_dataset_dir(ds, tmp_path / "b", gene_sets=tiny_sim.gene_sets, source="simulation")
    assert folder_digest(a) == folder_digest(b)  # same data -> same files
    files = dataset_files(a)
    assert set(files) == {"expression", "test_expression", "test_expression_clean", "prior", "ppi", "truth",
                          "gene_sets"}
    back, report = load_dataset_dir(a)
    assert back.genes == ds.genes
    assert np.allclose(back.expression.trajectories[0].values, ds.expression.trajectories[0].values)
    assert np.array_equal(back.truth_matrix(), ds.truth_matrix())
    assert np.array_equal(back.prior_matrix(), ds.prior_matrix())
    assert back.test_expression_clean is not None
    assert np.allclose(back.test_expression_clean.trajectories[0].values,
                       ds.test_expression_clean.trajectories[0].values)
    assert report.ok


def test_load_dataset_dir_needs_manifest(tmp_path):
    with pytest.raises(DashInputError, match="not a dataset folder"):
        load_dataset_dir(tmp_path)

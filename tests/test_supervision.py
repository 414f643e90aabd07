"""Job supervision: kill -9 and SIGSTOP of real train and sweep jobs, stale runs that come back, store faults."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dash_core.runs.jobs import cancel_job, start_job
from dash_core.runs.schema import StoreError, store_fault
from dash_core.runs.store import COMPLETED, FAILED, RUNNING, RunStore, pid_alive, save_dataset_dir


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                out.append(int(entry.name))
    return out


def _until(cond, timeout: float = 90.0, what: str = "condition"):
    t0 = time.time()
    while time.time() - t0 < timeout:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("DASH_STUDIO_HOME", str(tmp_path / "home"))
    return RunStore(tmp_path / "home", stale_after=1.0)


@pytest.fixture()
def dataset_dir(tiny_sim, tmp_path):
    return save_dataset_dir(tiny_sim.dataset, tmp_path / "ds")


def _train_params(epochs: int = 2000) -> dict:
    from dash_core.experiment import RunConfig
    from dash_core.models import ModelConfig
    from dash_core.train import TrainConfig

    cfg = RunConfig(model=ModelConfig(hidden=4), train=TrainConfig(max_epochs=epochs, patience=epochs,
                                                                   prior_probes=50), strategy="none")
    return {"config": cfg.to_dict(), "threads": 1}


def _sweep_params(epochs: int = 2000) -> dict:
    return {**_train_params(epochs), "strategy": "dash", "lambda_ppi_grid": [0.1, 0.9], "lambda_motif_grid": [0.5],
            "seeds": [0], "executor": {"kind": "local", "workers": 2, "max_retries": 0}}


def _running(store, run_id):
    return _until(lambda: store.get(run_id).status == RUNNING and store.progress(run_id)["fraction"].notna().any(),
                  what="the job to run")


def test_kill_9_of_a_train_job_fails_it(store, dataset_dir):
    rid = start_job(store, "train", _train_params(), dataset_dir=dataset_dir)
    _running(store, rid)
    pid = store.get(rid).pid
    os.kill(pid, signal.SIGKILL)
    rec = _until(lambda: (r := store.get(rid)).status == FAILED and r, 20, "failed status")
    assert "ended without reporting" in rec.error and not rec.stale


def test_kill_9_of_a_sweep_job_stops_its_workers(store, dataset_dir):
    rid = start_job(store, "sweep", _sweep_params(), dataset_dir=dataset_dir)
    pid = _until(lambda: store.get(rid).pid, what="the job pid")
    workers = _until(lambda: (w := _children(pid)) and len(w) >= 2 and w, 120, "two pool workers")
    assert store.get(rid).pgid == pid and all(os.getpgid(w) == pid for w in workers)  # one process group
    os.kill(pid, signal.SIGKILL)
    # no store read in between (it would stop the group itself): the workers' own watchdog must end them; under a
    # heavy load a worker may still be importing torch before its watchdog starts, hence the generous timeout
    _until(lambda: not any(pid_alive(w) for w in workers), 90, "the workers to die with their parent")
    assert store.get(rid).status == FAILED


def test_sigstop_pauses_a_train_job_and_sigcont_resumes_it(store, dataset_dir):
    rid = start_job(store, "train", _train_params(epochs=60), dataset_dir=dataset_dir)
    _running(store, rid)
    pid = store.get(rid).pid
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(2.5)  # longer than stale_after = 1 s
        rec = store.get(rid)
        # paused, not failed ("paused" is noted unless the job was stopped while it held the write lock)
        assert rec.status == RUNNING and not rec.stale
    finally:
        os.kill(pid, signal.SIGCONT)
    rec = _until(lambda: (r := store.get(rid)).status == COMPLETED and r, 120, "completion")
    assert rec.summary["metrics"]["epochs"] == 60


def test_sigstop_of_a_sweep_job_then_cancel_stops_the_whole_group(store, dataset_dir):
    rid = start_job(store, "sweep", _sweep_params(), dataset_dir=dataset_dir)
    pid = _until(lambda: store.get(rid).pid, what="the job pid")
    workers = _until(lambda: (w := _children(pid)) and len(w) >= 2 and w, 120, "two pool workers")
    os.kill(pid, signal.SIGSTOP)
    time.sleep(2.5)
    assert store.get(rid).status == RUNNING  # paused, not lost
    assert cancel_job(store, rid, force=True)
    os.kill(pid, signal.SIGCONT)
    _until(lambda: not pid_alive(pid) and not any(pid_alive(w) for w in workers), 15, "the group to stop")
    assert store.get(rid).status == "cancelled"


def test_a_stale_run_that_reports_again_or_finishes_is_not_lost(tmp_path):
    store = RunStore(tmp_path / "h", stale_after=0.2)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        a = store.create_run("train", {})
        store.mark_running(a.run_id, pid=proc.pid)
        time.sleep(0.4)
        rec = store.get(a.run_id)
        assert rec.status == FAILED and rec.stale and "continues" in rec.error
        store.heartbeat(a.run_id)  # the job wakes up (laptop resumed)
        rec = store.get(a.run_id)
        assert rec.status == RUNNING and rec.error is None and not rec.stale
        time.sleep(0.4)
        assert store.get(a.run_id).status == FAILED
        assert store.finish(a.run_id, {"metrics": {"sparsity": 0.5}})  # ...and then finishes
        rec = store.get(a.run_id)
        assert rec.status == COMPLETED and rec.metrics == {"sparsity": 0.5} and not rec.stale
        assert not store.finish(a.run_id, None, status=FAILED)  # a real final status stays
    finally:
        proc.kill()
        proc.wait()


# ----------------------------------------------------------------------------- store faults
def test_corrupt_store_gives_a_clear_error_and_a_recovery_path(tmp_path):
    home = tmp_path / "h"
    store = RunStore(home)
    rec = store.create_run("train", {}, status=COMPLETED)
    del store
    (home / "runs.sqlite").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        (home / f"runs.sqlite{suffix}").unlink(missing_ok=True)
    with pytest.raises(StoreError) as err:
        RunStore(home)
    assert err.value.kind == "corrupt" and "Back it up" in str(err.value) and "Traceback" not in str(err.value)
    backup = RunStore.backup_damaged(home)
    assert backup.is_file() and not (home / "runs.sqlite").exists()
    fresh = RunStore(home)
    assert fresh.list_runs() == [] and (home / "runs" / rec.run_id).is_dir()  # results kept on disk


def test_read_only_store_opens_read_only(tmp_path):
    home = tmp_path / "h"
    store = RunStore(home)
    rec = store.create_run("train", {}, status=COMPLETED, label="kept")
    del store
    as_root = os.geteuid() == 0  # root ignores permissions: the read-only opening is still checked
    for path in [home, *home.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        if not as_root:
            with pytest.raises(StoreError) as err:
                RunStore(home).create_run("train", {})
            assert err.value.kind == "read_only" and "read-only" in str(err.value)
        fault = store_fault(sqlite3.OperationalError("attempt to write a readonly database"), home)
        assert fault.kind == "read_only" and "open it read-only" in str(fault)
        ro = RunStore(home, read_only=True)
        assert [r.label for r in ro.list_runs()] == ["kept"] and ro.get(rec.run_id).status == COMPLETED
        with pytest.raises(StoreError, match="read-only"):
            ro.create_run("train", {})
    finally:
        for path in [home, *home.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


def test_full_disk_and_busy_messages(tmp_path):
    full = store_fault(sqlite3.OperationalError("database or disk is full"), tmp_path)
    assert full.kind == "full" and "Free some space" in str(full)
    assert store_fault(sqlite3.OperationalError("database is locked"), tmp_path).kind == "busy"
    # a real full database: cap its pages, then write
    store = RunStore(tmp_path / "h")
    with sqlite3.connect(store.db_path) as con:
        pages = con.execute("PRAGMA page_count").fetchone()[0]
    orig = store._connect

    def capped():
        from contextlib import contextmanager

        @contextmanager
        def cm():
            with orig() as con:
                con.execute(f"PRAGMA max_page_count = {pages}")
                yield con
        return cm()

    store._connect = capped
    with pytest.raises(StoreError) as err:
        store.create_run("train", {"blob": "x" * 200_000})
    assert err.value.kind == "full"

"""Tests of dash_core.runs.executors: in-process, process pool and Ray backends.

The job functions live at module level so that spawned worker processes and
Ray workers can import them; torch is imported only inside the torch job so
that worker start-up stays fast.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dash_core.io.errors import DashInputError
from dash_core.runs.executors import (
    CANCELLED,
    ExecutorConfig,
    Job,
    JobResult,
    describe_executors,
    run_jobs,
)

# ---------------------------------------------------------------------------
# Job functions (module level: picklable by reference)
# ---------------------------------------------------------------------------


def square_with_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def always_fails(message: str) -> None:
    raise ValueError(message)


def fails_first_time(marker: str, value: int) -> int:
    path = Path(marker)
    if not path.exists():
        path.write_text("attempted")
        raise RuntimeError("first attempt fails on purpose")
    return value


def dies_first_time(marker: str, value: int) -> int:
    path = Path(marker)
    if not path.exists():
        path.write_text("attempted")
        os.kill(os.getpid(), signal.SIGKILL)
    return value


def always_dies() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def sleep_then(seconds: float, value: int) -> int:
    time.sleep(seconds)
    return value


def seeded_torch(seed: int, n: int) -> list[float]:
    import torch

    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=generator, dtype=torch.float64)
    b = torch.tanh(a @ a.T)
    return [float(b.sum()), float(b.abs().max()), float(b[0, 1])]


# ---------------------------------------------------------------------------
# local backend
# ---------------------------------------------------------------------------


def test_in_process_and_pool_give_same_values_in_order():
    jobs = [Job(key=f"job{i}", func=square_with_pid, kwargs={"x": x}) for i, x in enumerate((3, 1, 4, 1, 5))]
    seen: dict[int, list[str]] = {1: [], 2: []}
    results: dict[int, list[JobResult]] = {}
    for workers in (1, 2):
        results[workers] = run_jobs(
            jobs, ExecutorConfig(workers=workers), on_result=lambda r, w=workers: seen[w].append(r.key)
        )
    for workers in (1, 2):
        assert [r.key for r in results[workers]] == [j.key for j in jobs]
        assert [r.value[0] for r in results[workers]] == [9, 1, 16, 1, 25]
        assert all(r.ok and r.attempts == 1 and r.error is None for r in results[workers])
        assert sorted(seen[workers]) == sorted(j.key for j in jobs)  # once per job
    assert {r.value[1] for r in results[1]} == {os.getpid()}
    assert os.getpid() not in {r.value[1] for r in results[2]}


def test_failing_job_is_retried_then_reported(tmp_path):
    jobs = [
        Job("bad", always_fails, {"message": "no convergence for lambda=0.1"}),
        Job("flaky", fails_first_time, {"marker": str(tmp_path / "flaky"), "value": 7}),
        Job("good", square_with_pid, {"x": 2}),
    ]
    reported: list[JobResult] = []
    bad, flaky, good = run_jobs(jobs, ExecutorConfig(workers=1), on_result=reported.append)
    assert not bad.ok and bad.attempts == 2 and bad.value is None
    assert bad.error.startswith("ValueError: no convergence for lambda=0.1")
    assert "always_fails" in bad.error  # traceback lines name the failing function
    assert flaky.ok and flaky.attempts == 2 and flaky.value == 7 and flaky.error is None
    assert good.ok and good.attempts == 1 and good.value[0] == 4
    assert [r.key for r in reported] == ["bad", "flaky", "good"]


def test_no_retry_when_max_retries_is_zero():
    (result,) = run_jobs([Job("bad", always_fails, {"message": "x"})], ExecutorConfig(max_retries=0))
    assert not result.ok and result.attempts == 1


def test_pool_retries_failed_jobs(tmp_path):
    jobs = [
        Job("a", square_with_pid, {"x": 2}),
        Job("flaky", fails_first_time, {"marker": str(tmp_path / "flaky"), "value": 5}),
        Job("bad", always_fails, {"message": "boom"}),
        Job("b", square_with_pid, {"x": 3}),
    ]
    calls: list[str] = []
    results = run_jobs(jobs, ExecutorConfig(workers=2), on_result=lambda r: calls.append(r.key))
    assert [r.key for r in results] == ["a", "flaky", "bad", "b"]
    assert sorted(calls) == sorted(j.key for j in jobs)
    assert [r.attempts for r in results] == [1, 2, 2, 1]
    assert [r.ok for r in results] == [True, True, False, True]
    assert results[1].value == 5 and results[3].value[0] == 9
    assert results[2].error.startswith("ValueError: boom") and "always_fails" in results[2].error


@pytest.mark.timeout(60)
def test_pool_survives_killed_workers(tmp_path):
    # alone in the pool: the crash is charged to the job, which succeeds on its retry in a fresh pool
    (alone,) = run_jobs([Job("dies_once", dies_first_time, {"marker": str(tmp_path / "m1"), "value": 11})],
                        ExecutorConfig(workers=2))
    assert alone.ok and alone.value == 11 and alone.attempts == 2

    jobs = [
        Job("a", square_with_pid, {"x": 2}),
        Job("dies_once", dies_first_time, {"marker": str(tmp_path / "m2"), "value": 12}),
        Job("b", square_with_pid, {"x": 3}),
        Job("dies_always", always_dies, {}),
        Job("c", square_with_pid, {"x": 4}),
    ]
    calls: list[str] = []
    results = {r.key: r for r in run_jobs(jobs, ExecutorConfig(workers=2), on_result=lambda r: calls.append(r.key))}
    assert sorted(calls) == sorted(j.key for j in jobs)
    # bystanders of a crash may be restarted, but never fail because of it
    assert [(results[k].ok, results[k].value[0]) for k in ("a", "b", "c")] == [(True, 4), (True, 9), (True, 16)]
    assert results["dies_once"].ok and results["dies_once"].value == 12 and results["dies_once"].attempts >= 2
    assert not results["dies_always"].ok and results["dies_always"].attempts >= 2
    assert results["dies_always"].error.startswith("BrokenProcessPool")


def test_should_stop_in_process_cancels_the_rest():
    jobs = [Job(f"j{i}", square_with_pid, {"x": i}) for i in range(5)]
    finished: list[str] = []
    results = run_jobs(jobs, ExecutorConfig(workers=1), on_result=lambda r: finished.append(r.key),
                       should_stop=lambda: len(finished) >= 2)
    assert [r.ok for r in results] == [True, True, False, False, False]
    assert [r.error for r in results[2:]] == [CANCELLED] * 3
    assert [r.attempts for r in results[2:]] == [0, 0, 0]
    assert finished == ["j0", "j1"]  # on_result is not called for cancelled jobs


@pytest.mark.timeout(60)
def test_should_stop_terminates_running_pool_jobs():
    jobs = [
        Job("quick", sleep_then, {"seconds": 0.0, "value": 1}),
        Job("long", sleep_then, {"seconds": 60.0, "value": 2}),
        Job("later1", sleep_then, {"seconds": 0.0, "value": 3}),
        Job("later2", sleep_then, {"seconds": 0.0, "value": 4}),
    ]
    finished: list[str] = []

    def stop() -> bool:
        return "quick" in finished

    start = time.perf_counter()
    # threads_per_job fixed so that the pool never waits on a slow job to hand out work
    results = run_jobs(jobs, ExecutorConfig(workers=2, threads_per_job=1), on_result=lambda r: finished.append(r.key),
                       should_stop=stop)
    elapsed = time.perf_counter() - start
    assert elapsed < 30, f"the 60 s job was not terminated ({elapsed:.1f} s)"
    by_key = {r.key: r for r in results}
    assert by_key["quick"].ok and by_key["quick"].value == 1
    assert not by_key["long"].ok and by_key["long"].error == CANCELLED and by_key["long"].attempts == 1
    # later jobs may have started while "quick" was being reported; none ran to the end of a 60 s sleep
    assert finished[0] == "quick" and "long" not in finished


# ---------------------------------------------------------------------------
# configuration, CLI, availability
# ---------------------------------------------------------------------------


def test_bad_inputs_raise_dash_input_error():
    with pytest.raises(DashInputError, match="more than one job"):
        run_jobs([Job("k", square_with_pid, {"x": 1}), Job("k", square_with_pid, {"x": 2})])
    with pytest.raises(DashInputError, match="max_retries"):
        ExecutorConfig(max_retries=-1)
    with pytest.raises(DashInputError, match="workers"):
        ExecutorConfig(workers=-2)
    with pytest.raises(DashInputError, match="executor ray"):
        ExecutorConfig(ray_address="auto")
    with pytest.raises(DashInputError, match="Unknown executor"):
        ExecutorConfig(kind="slurm")  # type: ignore[arg-type]
    assert run_jobs([]) == []


def test_cli_arguments_round_trip_and_validation():
    parser = argparse.ArgumentParser()
    # imported here, not at module top: spawned pool workers import this module to find the job
    # functions, and the CLI pulls in torch (seconds per worker on a loaded machine)
    from dash_core.cli.args import add_executor_arguments, executor_config_from_args

    add_executor_arguments(parser)
    assert executor_config_from_args(parser.parse_args([])) == ExecutorConfig()
    config = executor_config_from_args(parser.parse_args(["--workers", "3"]))
    assert config.kind == "local" and config.workers == 3
    with pytest.raises(DashInputError, match="--workers must be at least 1"):
        executor_config_from_args(parser.parse_args(["--workers", "0"]))
    with pytest.raises(DashInputError, match="only used with --executor ray"):
        executor_config_from_args(parser.parse_args(["--ray-address", "auto"]))
    with pytest.raises(DashInputError, match="gpus-per-job"):
        executor_config_from_args(parser.parse_args(["--executor", "ray", "--gpus-per-job", "-1"]))
    if any(d["name"] == "ray" and d["available"] for d in describe_executors()):
        config = executor_config_from_args(
            parser.parse_args(["--executor", "ray", "--ray-address", "auto", "--gpus-per-job", "0.5"])
        )
        assert (config.kind, config.workers, config.ray_address, config.gpus_per_job) == ("ray", 0, "auto", 0.5)


def test_describe_executors_and_ray_stays_optional(monkeypatch):
    described = {d["name"]: d for d in describe_executors()}
    assert set(described) == {"local", "ray"}
    assert described["local"]["available"] is True
    assert all(d["description"] for d in described.values())
    # importing the module must not import ray (checked in a fresh interpreter)
    code = "import sys, dash_core.runs.executors; assert 'ray' not in sys.modules, 'ray was imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
    # without ray, kind="ray" fails with an install hint instead of an ImportError
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(DashInputError, match=r"pip install 'ray\[default\]'"):
        run_jobs([Job("a", square_with_pid, {"x": 1})], ExecutorConfig(kind="ray"))


# ---------------------------------------------------------------------------
# Ray backend
# ---------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_ray_matches_local_for_seeded_torch_jobs(tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed: pip install 'ray[default]'")
    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    jobs = [Job(f"seed{s}", seeded_torch, {"seed": s, "n": 24}) for s in range(4)]
    local = run_jobs(jobs, ExecutorConfig(workers=1))
    flaky = Job("flaky", fails_first_time, {"marker": str(tmp_path / "flaky"), "value": 3})
    reported: list[str] = []
    remote = run_jobs([*jobs, flaky], ExecutorConfig(kind="ray", workers=2), on_result=lambda r: reported.append(r.key))
    assert [r.key for r in remote] == [j.key for j in jobs] + ["flaky"]
    assert all(r.ok for r in remote), [r.error for r in remote if not r.ok]
    assert [r.value for r in remote[:4]] == [r.value for r in local]  # bit-identical floats
    assert len({tuple(r.value) for r in local}) == 4  # different seeds, different values
    assert remote[4].value == 3 and remote[4].attempts == 2
    assert sorted(reported) == sorted(r.key for r in remote)
    assert not ray.is_initialized()  # the local Ray started by run_jobs was shut down

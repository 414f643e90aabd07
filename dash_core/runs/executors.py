"""Run many independent jobs: in this process, on a local process pool, or on Ray.

Sweeps, benchmarks, the signaling self-pruning study and the app's lambda
explorer all hand a list of :class:`Job` objects to :func:`run_jobs`. Every
backend runs each job through the same per-job runner (:func:`_execute`), so a
seeded job returns the same value whichever backend runs it.

Backends
--------
``local``, ``workers == 1``
    Jobs run one after another in the calling process (simple to debug).
``local``, ``workers > 1``
    A :class:`concurrent.futures.ProcessPoolExecutor` with the ``spawn``
    context (safe with torch). A worker process that dies (killed, out of
    memory, segfault) surfaces as a failed attempt and is retried in a fresh
    pool; it never hangs the run.
``ray``
    Ray tasks (``num_cpus=cpus_per_job``, ``num_gpus=gpus``) on a local Ray
    started for the call, or on the cluster at ``ray_address``. Ray is
    optional: this module never imports it unless ``kind="ray"`` is used.

Retries are done by this module (never by Ray or the pool): a job is attempted
at most ``1 + max_retries`` times and :attr:`JobResult.attempts` says how many
attempts it took.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Literal

from dash_core.io.errors import DashInputError
from dash_core.registry import Registry

__all__ = [
    "CANCELLED",
    "EXECUTORS",
    "ExecutorConfig",
    "Job",
    "JobResult",
    "describe_executors",
    "checked_executor_config",
    "run_jobs",
]

#: ``JobResult.error`` of a job that was stopped by ``should_stop`` before it finished.
CANCELLED = "cancelled"

#: How often (seconds) ``should_stop`` is polled while jobs run on a pool or on Ray.
_POLL_SECONDS = 0.1

#: Number of traceback lines kept in ``JobResult.error``.
_TRACEBACK_LINES = 12

_RAY_INSTALL_HINT = "Install it with: pip install 'ray[default]' (or choose the 'local' executor)."

ExecutorKind = Literal["local", "ray"]


@dataclass(frozen=True)
class Job:
    """One independent unit of work.

    Attributes
    ----------
    key
        Unique, stable identifier of the job. Studies use it to resume: jobs
        whose key already has a stored result are not run again.
    func
        Module-level (hence picklable) function; ``func(**kwargs)`` is the job.
    kwargs
        Picklable keyword arguments of ``func``; its return value must be
        picklable too (it travels back from a worker process or Ray task).
    gpus
        GPUs this job needs on Ray (overrides ``ExecutorConfig.gpus_per_job``);
        ignored by the local executor.
    """

    key: str
    func: Callable[..., Any]
    kwargs: dict[str, Any]
    gpus: float | None = None


@dataclass
class JobResult:
    """The outcome of one job.

    Attributes
    ----------
    key
        ``Job.key`` of the job.
    ok
        True when an attempt returned a value.
    value
        What ``func(**kwargs)`` returned (None when not ok).
    error
        ``"ExceptionType: message"`` followed by the last traceback lines of
        the last failed attempt, or :data:`CANCELLED`; None when ok.
    attempts
        Times the job was started (0 for a job cancelled before it started).
        A job whose run was lost because another job's worker crashed and
        broke the local pool is restarted without using up a retry, so this
        can exceed ``1 + max_retries``.
    seconds
        Wall-clock seconds spent running the job, summed over its attempts.
    """

    key: str
    ok: bool
    value: Any = None
    error: str | None = None
    attempts: int = 1
    seconds: float = 0.0


@dataclass(frozen=True)
class ExecutorConfig:
    """How :func:`run_jobs` runs jobs.

    Attributes
    ----------
    kind
        ``"local"`` (this machine's processes) or ``"ray"``.
    workers
        local: process-pool size (1 runs jobs in the calling process).
        ray: maximum jobs in flight; with a local Ray started by
        :func:`run_jobs` also its ``num_cpus``. 0 means automatic:
        ``os.cpu_count()`` for local, cluster CPUs / ``cpus_per_job`` for Ray.
    ray_address
        Address of a running Ray cluster (``"auto"``, ``"ray://host:10001"``).
        None starts a local Ray for the call and shuts it down afterwards.
    cpus_per_job
        Ray: CPUs reserved per job (``num_cpus`` of the task).
    gpus_per_job
        Ray: GPUs reserved per job unless ``Job.gpus`` overrides it.
    max_retries
        A failed attempt is retried this many times before the job is reported
        as failed with its error.
    threads_per_job
        torch threads per job in worker processes / Ray tasks. Default: local
        pool ``max(1, os.cpu_count() // workers)``; Ray
        ``max(1, int(cpus_per_job))``; in-process runs leave torch's setting
        alone unless this is given.
    stack_size
        Studies: training runs per job, trained together as one stacked model
        (:mod:`dash_core.stacking`). None (default): automatic, as many as the memory
        allows while every worker still gets a job; 1: one run per job.
    """

    kind: ExecutorKind = "local"
    workers: int = 1
    ray_address: str | None = None
    cpus_per_job: float = 1.0
    gpus_per_job: float = 0.0
    max_retries: int = 1
    threads_per_job: int | None = None
    stack_size: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise DashInputError(
                f"Unknown executor {self.kind!r} (--executor). Choose one of: {', '.join(EXECUTORS.names())}."
            )
        if not isinstance(self.workers, int) or self.workers < 0:
            raise DashInputError(
                f"workers (--workers) must be a whole number >= 1 (or 0 for automatic), got {self.workers!r}."
            )
        if not self.cpus_per_job > 0:
            raise DashInputError(f"cpus_per_job must be > 0, got {self.cpus_per_job!r}.")
        if not self.gpus_per_job >= 0:
            raise DashInputError(f"gpus_per_job (--gpus-per-job) must be >= 0, got {self.gpus_per_job!r}.")
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise DashInputError(f"max_retries must be a whole number >= 0, got {self.max_retries!r}.")
        if self.threads_per_job is not None and (
            not isinstance(self.threads_per_job, int) or self.threads_per_job < 1
        ):
            raise DashInputError(f"threads_per_job must be a whole number >= 1, got {self.threads_per_job!r}.")
        if self.stack_size is not None and (not isinstance(self.stack_size, int) or self.stack_size < 1):
            raise DashInputError(f"stack_size (--stack-size) must be a whole number >= 1 (or None for automatic), got "
                                 f"{self.stack_size!r}.")
        if self.ray_address is not None and self.kind != "ray":
            raise DashInputError(
                f"ray_address (--ray-address) {self.ray_address!r} is only used with --executor ray "
                "(kind='ray'); add it or drop the address."
            )


# ---------------------------------------------------------------------------
# The per-job runner (identical in every backend)
# ---------------------------------------------------------------------------


def _format_error(exc: BaseException) -> str:
    """``"Type: message"`` plus the last lines of the exception's traceback."""
    head = f"{type(exc).__name__}: {exc}"
    lines = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip().splitlines()
    tail = lines[-_TRACEBACK_LINES:]
    return head + "\n" + "\n".join(tail) if tail else head


def _set_torch_threads(threads: int | None) -> None:
    """Set torch's intra-op threads if torch is already imported (never imports it)."""
    torch = sys.modules.get("torch")
    if threads is not None and torch is not None:
        torch.set_num_threads(threads)


def _execute(func: Callable[..., Any], kwargs: dict[str, Any], threads: int | None) -> tuple[bool, Any, str | None, float]:
    """Run one attempt of one job and capture its outcome.

    Returns
    -------
    tuple
        ``(ok, value, error, seconds)``; exceptions raised by ``func`` are
        caught and formatted, never propagated.
    """
    _set_torch_threads(threads)
    start = time.perf_counter()
    try:
        value = func(**kwargs)
    except Exception as exc:  # noqa: BLE001 - a job's failure is data, reported in its JobResult
        return False, None, _format_error(exc), time.perf_counter() - start
    return True, value, None, time.perf_counter() - start


def _init_worker(threads: int, parent_pid: int | None = None) -> None:
    """Process-pool initializer: limit BLAS/OpenMP/torch threads; die with the parent process.

    A worker must never outlive the process that started it (a sweep job killed
    with ``kill -9`` would otherwise leave its workers training, unreachable):
    a watchdog thread checks every half second that the parent is still the
    parent (``PR_SET_PDEATHSIG`` is not used: it fires when the *thread* that
    started the worker ends, which need not be the main thread).
    """
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    _set_torch_threads(threads)
    if parent_pid is not None:
        die_with_parent(parent_pid)


def die_with_parent(parent_pid: int, *, poll_seconds: float = 0.5) -> None:
    """Make this process exit as soon as process ``parent_pid`` (its parent) is gone."""
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


# ---------------------------------------------------------------------------
# Book-keeping shared by the backends
# ---------------------------------------------------------------------------


@dataclass
class _Book:
    """Attempts, timings and final results of a batch of jobs."""

    jobs: Sequence[Job]
    max_retries: int
    on_result: Callable[[JobResult], None] | None
    results: list[JobResult | None] = field(init=False)
    attempts: list[int] = field(init=False)
    failures: list[int] = field(init=False)
    seconds: list[float] = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.jobs)
        self.results = [None] * n
        self.attempts = [0] * n
        self.failures = [0] * n
        self.seconds = [0.0] * n

    def start(self, i: int) -> None:
        self.attempts[i] += 1

    def lost(self, i: int, seconds: float) -> None:
        """An attempt lost through no fault of the job (another job's crash broke the pool): no retry is used."""
        self.seconds[i] += seconds

    def record(self, i: int, ok: bool, value: Any, error: str | None, seconds: float) -> bool:
        """Record one finished attempt; return True when the job is final (ok or out of retries)."""
        self.seconds[i] += seconds
        if not ok:
            self.failures[i] += 1
            if self.failures[i] <= self.max_retries:
                return False
        result = JobResult(
            key=self.jobs[i].key,
            ok=ok,
            value=value if ok else None,
            error=None if ok else error,
            attempts=self.attempts[i],
            seconds=self.seconds[i],
        )
        self.results[i] = result
        if self.on_result is not None:
            self.on_result(result)
        return True

    def cancel_rest(self) -> None:
        """Mark every job without a final result as cancelled (``on_result`` is not called)."""
        for i, job in enumerate(self.jobs):
            if self.results[i] is None:
                self.results[i] = JobResult(
                    key=job.key, ok=False, error=CANCELLED, attempts=self.attempts[i], seconds=self.seconds[i]
                )

    def final(self) -> list[JobResult]:
        out = [r for r in self.results if r is not None]
        if len(out) != len(self.jobs):  # pragma: no cover - guarded by the backends' loops
            raise RuntimeError("run_jobs finished with jobs that have no result")
        return out


def _stop_requested(should_stop: Callable[[], bool] | None) -> bool:
    return should_stop is not None and bool(should_stop())


# ---------------------------------------------------------------------------
# local backend
# ---------------------------------------------------------------------------


def _run_in_process(
    jobs: Sequence[Job], config: ExecutorConfig, book: _Book, should_stop: Callable[[], bool] | None
) -> None:
    torch = sys.modules.get("torch")
    restore = torch.get_num_threads() if (torch is not None and config.threads_per_job is not None) else None
    try:
        for i, job in enumerate(jobs):
            while True:
                if _stop_requested(should_stop):
                    book.cancel_rest()
                    return
                book.start(i)
                if book.record(i, *_execute(job.func, job.kwargs, config.threads_per_job)):
                    break
    finally:
        if restore is not None:
            torch.set_num_threads(restore)


def _terminate_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: drop queued work and terminate its worker processes."""
    # ``_processes`` is CPython's map pid -> Process; without it running jobs
    # finish in the background and their results are discarded.
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


def _run_process_pool(
    jobs: Sequence[Job],
    config: ExecutorConfig,
    book: _Book,
    should_stop: Callable[[], bool] | None,
    workers: int,
) -> None:
    """Run jobs on a spawn process pool, at most ``workers`` in flight.

    Only as many jobs as there are workers are submitted, so every job in
    flight is running. When a worker dies the pool breaks and every job in
    flight fails with ``BrokenProcessPool``: with one job in flight that job
    uses up a retry; with several, none does and the jobs are re-run one at a
    time ("suspects") in a fresh pool, which finds the culprit.
    """
    threads = config.threads_per_job or max(1, (os.cpu_count() or 1) // workers)
    pool_size = min(workers, len(jobs))
    context = multiprocessing.get_context("spawn")
    queue: deque[int] = deque(range(len(jobs)))
    suspects: set[int] = set()
    in_flight: dict[Future, tuple[int, float]] = {}
    pool: ProcessPoolExecutor | None = None
    clean_exit = False

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=pool_size, mp_context=context, initializer=_init_worker, initargs=(threads, os.getpid())
        )

    def handle_broken(lost: list[tuple[int, float]]) -> None:
        now = time.perf_counter()
        if len(lost) == 1:
            i, t0 = lost[0]
            error = (
                "BrokenProcessPool: the worker process running this job died "
                "(killed, out of memory or crashed) before returning a result."
            )
            if not book.record(i, False, None, error, now - t0):
                queue.appendleft(i)
            return
        for i, t0 in sorted(lost, reverse=True):
            book.lost(i, now - t0)
            suspects.add(i)
            queue.appendleft(i)

    try:
        while queue or in_flight:
            if _stop_requested(should_stop):
                if pool is not None:
                    _terminate_pool(pool)
                    pool = None
                book.cancel_rest()
                clean_exit = True
                return
            if pool is None:
                pool = new_pool()

            # Submit: suspects run alone; other jobs fill the free workers.
            broken_on_submit = False
            while queue and len(in_flight) < pool_size:
                i = queue[0]
                running_suspect = any(j in suspects for j, _ in in_flight.values())
                if running_suspect or (i in suspects and in_flight):
                    break
                try:
                    future = pool.submit(_execute, jobs[i].func, jobs[i].kwargs, threads)
                except BrokenProcessPool:
                    broken_on_submit = True
                    break
                queue.popleft()
                book.start(i)
                in_flight[future] = (i, time.perf_counter())
                if i in suspects:
                    break

            if in_flight:
                done, _ = wait(list(in_flight), timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
            else:
                done = set()
            lost: list[tuple[int, float]] = []
            for future in done:
                i, t0 = in_flight.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    lost.append((i, t0))
                    continue
                except Exception as exc:  # noqa: BLE001 - e.g. arguments or result not picklable
                    outcome = (False, None, _format_error(exc), time.perf_counter() - t0)
                if not book.record(i, *outcome):
                    queue.appendleft(i)

            if lost or broken_on_submit:
                # The pool is unusable: collect what the other jobs in flight returned.
                if in_flight:
                    wait(list(in_flight), timeout=5)
                for future, (i, t0) in list(in_flight.items()):
                    del in_flight[future]
                    if future.done() and not future.cancelled() and future.exception() is None:
                        if not book.record(i, *future.result()):
                            queue.appendleft(i)
                    else:
                        lost.append((i, t0))
                _terminate_pool(pool)
                pool = None
                if lost:
                    handle_broken(lost)
        clean_exit = True
    finally:
        if pool is not None:
            if clean_exit:
                pool.shutdown(wait=True)
            else:
                _terminate_pool(pool)


def _run_local(
    jobs: Sequence[Job], config: ExecutorConfig, book: _Book, should_stop: Callable[[], bool] | None
) -> None:
    workers = config.workers or (os.cpu_count() or 1)
    if workers == 1:
        _run_in_process(jobs, config, book, should_stop)
    else:
        _run_process_pool(jobs, config, book, should_stop, workers)


# ---------------------------------------------------------------------------
# Ray backend
# ---------------------------------------------------------------------------


def _import_ray() -> Any:
    """Import ray or raise a :class:`DashInputError` telling how to install it."""
    try:
        import ray  # lazy: Ray is optional and slow to import
    except ImportError as exc:
        raise DashInputError(f"The 'ray' executor needs the ray package, which is not installed ({exc}). "
                             + _RAY_INSTALL_HINT) from None
    return ray


def _driver_pythonpath() -> str:
    """This process's ``sys.path`` as a PYTHONPATH, so local Ray workers import what the driver imports."""
    paths = [os.path.abspath(p or os.curdir) for p in sys.path]
    return os.pathsep.join(dict.fromkeys(p for p in paths if os.path.isdir(p)))


def _run_ray(
    jobs: Sequence[Job], config: ExecutorConfig, book: _Book, should_stop: Callable[[], bool] | None
) -> None:
    ray = _import_ray()
    started_here = False
    if not ray.is_initialized():
        if config.ray_address is None:
            ray.init(
                address="local",
                num_cpus=config.workers or (os.cpu_count() or 1),
                include_dashboard=False,
                runtime_env={"env_vars": {"PYTHONPATH": _driver_pythonpath()}},
            )
        else:
            try:
                ray.init(address=config.ray_address)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise DashInputError(
                    f"Could not connect to the Ray cluster at {config.ray_address!r}: {exc}. "
                    "Check that it is running ('ray status' on the head node) and the address is right.",
                    source="--ray-address",
                ) from None
        started_here = True
    # ray.shutdown() below only ends what this call started: a local Ray is
    # stopped; a connection to an existing cluster is closed, the cluster runs on.
    try:
        if config.workers:
            max_in_flight = config.workers
        else:
            cluster_cpus = float(ray.cluster_resources().get("CPU", 1.0))
            max_in_flight = max(1, int(cluster_cpus // config.cpus_per_job))
        threads = config.threads_per_job or max(1, int(config.cpus_per_job))
        remote_execute = ray.remote(max_retries=0)(_execute)
        queue: deque[int] = deque(range(len(jobs)))
        in_flight: dict[Any, tuple[int, float]] = {}
        while queue or in_flight:
            if _stop_requested(should_stop):
                for ref in in_flight:
                    ray.cancel(ref, force=True)
                book.cancel_rest()
                return
            while queue and len(in_flight) < max_in_flight:
                i = queue.popleft()
                job = jobs[i]
                gpus = config.gpus_per_job if job.gpus is None else job.gpus
                ref = remote_execute.options(num_cpus=config.cpus_per_job, num_gpus=gpus).remote(
                    job.func, job.kwargs, threads
                )
                book.start(i)
                in_flight[ref] = (i, time.perf_counter())
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=_POLL_SECONDS)
            for ref in ready:
                i, t0 = in_flight.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - worker crash, unpicklable arguments, ...
                    outcome = (False, None, _format_error(exc), time.perf_counter() - t0)
                if not book.record(i, *outcome):
                    queue.appendleft(i)
    finally:
        if started_here:
            ray.shutdown()


# ---------------------------------------------------------------------------
# Registry and public entry points
# ---------------------------------------------------------------------------

_Backend = Callable[..., None]

EXECUTORS: Registry[_Backend] = Registry("executor")
EXECUTORS.register(
    "local",
    "This machine: in this process (1 worker) or a pool of worker processes.",
    requires=None,
)(_run_local)
EXECUTORS.register(
    "ray",
    "Ray: a local Ray started for the run, or a running Ray cluster (--ray-address); jobs may reserve GPUs.",
    requires="ray",
)(_run_ray)


def run_jobs(
    jobs: Sequence[Job],
    config: ExecutorConfig = ExecutorConfig(),
    *,
    on_result: Callable[[JobResult], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[JobResult]:
    """Run independent jobs and return their results in the order of ``jobs``.

    Parameters
    ----------
    jobs
        Jobs with unique keys; ``func`` and ``kwargs`` must be picklable
        unless ``config`` runs them in-process (local, ``workers == 1``).
        Worker processes are spawned, so a script calling this with
        ``workers > 1`` needs the ``if __name__ == "__main__":`` guard.
    config
        Backend, parallelism, resources and retries.
    on_result
        Called in the calling process as soon as a job has its final result
        (ok, or failed after its retries), once per job, so the caller can
        persist it immediately. Not called for cancelled jobs. An exception
        raised by ``on_result`` stops the run (workers are terminated) and
        propagates.
    should_stop
        Polled between jobs (in-process) or every 0.1 s (pool, Ray). Once it
        returns True no job starts, running jobs are terminated (a job running
        in-process finishes first), and every job without a final result is
        returned with ``ok=False, error="cancelled"``.

    Returns
    -------
    list of JobResult
        One per job, same order as ``jobs``. A job's own exception never
        propagates: it is in ``JobResult.error``.

    Raises
    ------
    DashInputError
        Duplicate job keys, a bad job, or ``kind="ray"`` without ray installed.
    """
    jobs = list(jobs)
    seen: set[str] = set()
    for job in jobs:
        if not isinstance(job, Job):
            raise DashInputError(f"run_jobs expects Job objects, got {type(job).__name__}.")
        if job.key in seen:
            raise DashInputError(f"Job key {job.key!r} is used by more than one job; keys must be unique.")
        seen.add(job.key)
        if not callable(job.func):
            raise DashInputError(f"Job {job.key!r}: func must be callable, got {type(job.func).__name__}.")
        if job.gpus is not None and not job.gpus >= 0:
            raise DashInputError(f"Job {job.key!r}: gpus must be >= 0, got {job.gpus!r}.")
    if not jobs:
        return []
    book = _Book(jobs, config.max_retries, on_result)
    EXECUTORS.get(config.kind).obj(jobs, config, book, should_stop)
    return book.final()


def describe_executors() -> list[dict[str, Any]]:
    """List the executors for the app and the CLI.

    Returns
    -------
    list of dict
        One dict per executor with ``name``, ``description``, ``available``
        (its optional package can be imported; checked without importing it)
        and ``install_hint`` (what to do when it is not available, else "").
    """
    out = []
    for entry in EXECUTORS.entries():
        requires = entry.extra.get("requires")
        available = requires is None or importlib.util.find_spec(requires) is not None
        out.append(
            {
                "name": entry.name,
                "description": entry.description,
                "available": available,
                "install_hint": "" if available else "pip install 'ray[default]'",
            }
        )
    return out


def checked_executor_config(*, kind: str = "local", workers: int | None = None, ray_address: str | None = None,
                            gpus_per_job: float | None = 0.0, stack_size: int | None = None) -> ExecutorConfig:
    """Validate user-given executor settings and build the :class:`ExecutorConfig`.

    Parameters
    ----------
    kind
        ``"local"`` or ``"ray"``.
    workers
        local: worker processes (None: 1, run in this process); ray: jobs in flight (None: 0 = cluster CPUs).
    ray_address
        A running Ray cluster (``--executor ray`` only).
    gpus_per_job
        GPUs reserved per Ray job (may be fractional).
    stack_size
        Runs per stacked training job (None: automatic; 1: one run per job).

    Raises
    ------
    DashInputError
        ``workers`` below 1, negative ``gpus_per_job``, ``ray_address`` without
        ``kind="ray"``, or ``kind="ray"`` without ray installed (messages name the CLI options).
    """
    # the field checks live in ExecutorConfig.__post_init__; these are the command line's own rules
    if workers is not None and workers < 1:
        raise DashInputError(f"--workers must be at least 1, got {workers}.", source="--workers")
    config = ExecutorConfig(kind=kind, workers=(1 if kind == "local" else 0) if workers is None else workers,
                            ray_address=ray_address, gpus_per_job=0.0 if gpus_per_job is None else gpus_per_job,
                            stack_size=stack_size)
    if config.kind == "local" and config.gpus_per_job > 0:
        raise DashInputError("--gpus-per-job is only used with --executor ray; the local executor does not "
                             "assign GPUs.", source="--gpus-per-job")
    if config.kind == "ray" and importlib.util.find_spec("ray") is None:
        raise DashInputError("The ray package is not installed. " + _RAY_INSTALL_HINT, source="--executor")
    return config

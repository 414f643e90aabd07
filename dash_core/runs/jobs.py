"""Background jobs: long work in a separate process that reports to the run store.

A *job kind* is a function ``fn(params: dict, run_dir: Path, reporter: Reporter) -> dict``
registered in :data:`JOB_KINDS` with :func:`register_job_kind`. It reads its
inputs from ``params`` (JSON values), writes its artifacts into ``run_dir``,
reports progress through the :class:`Reporter` and returns the run's summary
(metrics), which the store keeps.

:func:`start_job` records a run and spawns ``python -m dash_core.runs.jobs RUN_ID``
in its own session (detached, so the app never blocks and a job survives an app
restart). That process (:func:`run_job`) marks the run running, sends heartbeats
from a thread, calls the job function and records the outcome:

* the function returns -> ``completed`` (``cancelled`` if a stop was requested);
* it raises :class:`~dash_core.io.errors.DashInputError` -> ``failed`` with that message;
* it raises anything else -> ``failed`` with ``Type: message`` (traceback in ``job.log``);
* the process dies -> the store fails the run on its next read (PID / heartbeat check).

Job kinds are registered explicitly, never as a side effect of importing a
library module: :data:`BUILTIN_JOB_KINDS` declares the built-in kinds
(``train``, ``sweep``, ``pathways``, ``signaling_train``, ``selfprune``, ``signaling_cv``)
and :func:`register_job_kinds` registers them, importing a kind's module only then
(the job process imports only its own kind's module, for start-up speed);
:func:`load_job_kinds` registers all of them and imports the plugin modules named in
``$DASH_STUDIO_JOB_MODULES`` (comma separated, e.g. tests), which register their own
kinds with :func:`register_job_kind`.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from dash_core.estimate import run_epoch_cost
from dash_core.io.errors import DashInputError
from dash_core.registry import Registry
from dash_core.runs.datasets import dataset_files, load_dataset_dir
from dash_core.runs.executors import ExecutorConfig
from dash_core.runs.records import ACTIVE_STATUSES, CANCELLED, COMPLETED
from dash_core.runs.store import RunStore, kill_group

# The job kinds import the training stack (torch, experiment, studies) inside their functions, on purpose:
# the job process runs this module as ``__main__``, and the process-pool workers of a sweep job (spawned)
# re-import it as ``__mp_main__`` before they can install their die-with-parent watchdog; a light module
# lets them start in a fraction of a second and never outlive a job killed with ``kill -9``.

__all__ = [
    "BUILTIN_JOB_KINDS",
    "HEARTBEAT_SECONDS",
    "JOB_KINDS",
    "JobFunction",
    "Reporter",
    "active_duplicate",
    "cancel_job",
    "job_fingerprint",
    "load_job_kinds",
    "register_job_kind",
    "register_job_kinds",
    "run_job",
    "start_job",
    "sweep_job",
    "train_job",
]

JobFunction = Callable[[dict, Path, "Reporter"], dict]

#: Registry of job kinds: ``name -> fn(params, run_dir, reporter) -> summary dict``.
JOB_KINDS: Registry[JobFunction] = Registry("job kind")

#: The built-in job kinds: name -> (``"module:function"``, one-line description). Registered by
#: :func:`register_job_kinds`; the module is imported only then (pathways pulls in gseapy and plotting).
BUILTIN_JOB_KINDS: dict[str, tuple[str, str]] = {
    "train": ("dash_core.runs.jobs:train_job",
              "Train and prune one model on a dataset (run_experiment + save_run), progress per epoch."),
    "sweep": ("dash_core.runs.jobs:sweep_job",
              "Grid of lambda_PPI x lambda_motif values (and baselines) via dash_core.studies.sweeps.run_sweep."),
    "pathways": ("dash_core.pathways.analysis:run_pathways_job",
                 "Pathway analysis: influence scores, permutation test and gseapy (methods A.6, G)"),
    "signaling_train": ("dash_core.signaling.jobs:signaling_train_job",
                        "Train one LEMBAS-style signaling model on a PKN, ligand and TF table (progress per epoch)."),
    "selfprune": ("dash_core.signaling.jobs:selfprune_job",
                  "Self-pruning study: inject spurious edges, train over L2 levels x seeds, read out R1-R4."),
    "signaling_cv": ("dash_core.signaling.jobs:signaling_cv_job",
                     "Cross-validation of a signaling model: leave one condition out or K-fold; pooled, per-fold, "
                     "per-TF r."),
}
#: Environment variable with extra comma-separated modules registering job kinds.
JOB_MODULES_ENV = "DASH_STUDIO_JOB_MODULES"
#: Seconds between heartbeats of a job process.
HEARTBEAT_SECONDS = 2.0


def register_job_kind(name: str, description: str) -> Callable[[JobFunction], JobFunction]:
    """Decorator registering ``fn(params, run_dir, reporter) -> dict`` as job kind ``name``."""
    return JOB_KINDS.register(name, description)


def register_job_kinds(names: Iterable[str] | None = None) -> dict[str, str]:
    """Register the kinds of :data:`BUILTIN_JOB_KINDS` (or only those in ``names``) that are not registered
    yet (idempotent).

    Returns
    -------
    dict
        ``module -> error message`` for built-in kinds whose module failed to import.
    """
    errors: dict[str, str] = {}
    for name, (target, description) in BUILTIN_JOB_KINDS.items():
        if name in JOB_KINDS or (names is not None and name not in names):
            continue
        module, attr = target.split(":")
        try:
            fn = getattr(importlib.import_module(module), attr)
        except Exception as exc:  # noqa: BLE001 - one broken feature must not break the others
            errors[module] = f"{type(exc).__name__}: {exc}"
            continue
        JOB_KINDS.register(name, description)(fn)
    return errors


def load_job_kinds() -> dict[str, str]:
    """Register the built-in job kinds and import the plugin modules that register theirs (idempotent).

    Returns
    -------
    dict
        ``module -> error message`` for modules that exist but failed to import
        (empty when all is well); such kinds are simply unavailable.
    """
    return {**register_job_kinds(), **_import_modules(_env_modules())}


def _env_modules() -> list[str]:
    return [m.strip() for m in os.environ.get(JOB_MODULES_ENV, "").split(",") if m.strip()]


def _import_modules(modules) -> dict[str, str]:
    errors: dict[str, str] = {}
    for mod in modules:
        try:
            if mod in sys.modules or importlib.util.find_spec(mod) is not None:
                importlib.import_module(mod)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the app
            errors[mod] = f"{type(exc).__name__}: {exc}"
    return errors


def _ensure_kind(kind: str) -> None:
    """Make ``kind`` available, importing only its own module when it is built in (modules can be slow to import)."""
    if kind not in JOB_KINDS:
        register_job_kinds([kind])
    if kind not in JOB_KINDS:
        _import_modules(_env_modules())
    if kind not in JOB_KINDS:
        load_job_kinds()
    JOB_KINDS.get(kind)  # unknown kind -> DashInputError listing the choices


class Reporter:
    """What a job function uses to talk to the store.

    Parameters
    ----------
    store
        The run store.
    run_id
        The run being executed.
    cancel_poll_seconds
        :meth:`should_stop` reads the store at most this often (cached in between).
    """

    def __init__(self, store: RunStore, run_id: str, *, cancel_poll_seconds: float = 0.5) -> None:
        self.store = store
        self.run_id = run_id
        self.cancel_poll_seconds = float(cancel_poll_seconds)
        self._stop = False
        self._last_poll = 0.0

    def progress(self, fraction: float | None, message: str = "", **values: Any) -> None:
        """Append a progress entry (``fraction`` in [0, 1] or None) with any JSON-able ``values``."""
        self.store.append_progress(self.run_id, fraction, message, values)

    def should_stop(self) -> bool:
        """True once the user asked the run to stop (cancel flag in the store)."""
        if self._stop:
            return True
        now = time.monotonic()
        if now - self._last_poll >= self.cancel_poll_seconds:
            self._last_poll = now
            self._stop = self.store.cancel_requested(self.run_id)
        return self._stop

    def log(self, text: str) -> None:
        """Append a line to the run's log (shown in the app) and to ``job.log``."""
        self.store.append_log(self.run_id, text)
        print(text, flush=True)


# ----------------------------------------------------------------------------- launching
def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def job_fingerprint(kind: str, params: Mapping[str, Any], dataset_dir: str | os.PathLike | None = None) -> str:
    """Digest of a job: its kind, its parameters and the name of its dataset folder (content-addressed in the app).

    Two launches with equal fingerprints would compute the same thing.
    """
    blob = json.dumps({"kind": kind, "params": params, "dataset": Path(dataset_dir).name if dataset_dir else None},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def active_duplicate(store: RunStore, fingerprint: str):
    """The queued or running run (seen through ``store``) with this fingerprint, or None."""
    return next((r for r in store.active_runs() if r.fingerprint == fingerprint), None)


def start_job(store: RunStore, kind: str, params: Mapping[str, Any], *, label: str = "",
              dataset_dir: str | os.PathLike | None = None, allow_duplicate: bool = False) -> str:
    """Record a run and start its job in a separate, detached process.

    Parameters
    ----------
    store
        The run store (its home is handed to the job process).
    kind
        A name in :data:`JOB_KINDS`.
    params
        JSON-serialisable parameters of the job.
    label
        Short user-facing name of the run.
    dataset_dir
        Optional dataset folder (:func:`dash_core.runs.store.save_dataset_dir`).
        It is copied to ``<run_dir>/dataset`` so that the run stays reproducible,
        and ``params["dataset_dir"]`` is set to the copy.
    allow_duplicate
        Start even if the same job (same :func:`job_fingerprint`) is queued or
        running in ``store``; by default that raises :class:`DashInputError`.

    Returns
    -------
    str
        The new run's id. The call returns at once; the run is ``queued`` until
        its process starts.
    """
    _ensure_kind(kind)
    params = dict(params)
    fingerprint = job_fingerprint(kind, params, dataset_dir)
    if not allow_duplicate:
        same = active_duplicate(store, fingerprint)
        if same is not None:
            raise DashInputError(f"The same job is already {same.status} ({same.display_name}); wait for it or "
                                 "cancel it before launching it again.")
    rec = store.create_run(kind, {}, label=label, fingerprint=fingerprint)
    run_dir = rec.path
    if dataset_dir is not None:
        src = Path(dataset_dir)
        if not src.is_dir():
            store.fail(rec.run_id, f"The dataset folder {src} does not exist.")
            raise DashInputError(f"The dataset folder {src} does not exist; load the data again.")
        copy = run_dir / "dataset"
        shutil.copytree(src, copy, dirs_exist_ok=True)
        params["dataset_dir"] = str(copy)
    store.set_params(rec.run_id, params, dataset_dir=params.get("dataset_dir"))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_package_root(), env.get("PYTHONPATH", "")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    log = open(run_dir / "job.log", "ab")  # handed to the child, closed below
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dash_core.runs.jobs", rec.run_id, "--home", str(store.home)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=_package_root(),
            start_new_session=True, close_fds=True,
        )
    except OSError as exc:
        store.fail(rec.run_id, f"Could not start the job process: {exc}")
        raise DashInputError(f"Could not start the background job: {exc}") from None
    finally:
        log.close()
    store.set_pid(rec.run_id, proc.pid, pgid=proc.pid)  # start_new_session: the job leads its own process group
    return rec.run_id


def cancel_job(store: RunStore, run_id: str, *, force: bool = False) -> bool:
    """Ask a run to stop.

    Without ``force`` the job stops at its next :meth:`Reporter.should_stop`
    check (a training run keeps its best checkpoint so far) and ends as
    ``cancelled``. With ``force`` (or for a run whose process never started)
    its process group (the job and all its worker processes) is terminated at once and the run is marked cancelled.

    Returns
    -------
    bool
        False if the run had already ended.
    """
    rec = store.get(run_id)
    if not rec.active:
        return False
    if force or rec.pid is None:
        group = rec.pgid or rec.pid
        kill_group(group, signal.SIGCONT)  # a paused (SIGSTOP) job may hold the database's write lock: resume it
        store.request_cancel(run_id)  # first, so that the dying job records "cancelled", not "failed"
        kill_group(group, signal.SIGTERM)
        store.finish(run_id, rec.summary, status=CANCELLED, error="Stopped by the user.")
    else:
        store.request_cancel(run_id)
    return True


# ----------------------------------------------------------------------------- running (job process)
def _heartbeat_loop(store: RunStore, run_id: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            store.heartbeat(run_id)
        except Exception:  # noqa: BLE001 - a busy database must not kill the job
            pass


def _format_exception(exc: BaseException) -> str:
    if isinstance(exc, DashInputError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def run_job(store: RunStore, run_id: str) -> str:
    """Execute run ``run_id`` in this process and record its outcome (what the job process does).

    Returns
    -------
    str
        The final status (``completed``, ``cancelled`` or ``failed``).
    """
    rec = store.get(run_id)
    if rec.status not in ACTIVE_STATUSES:
        return rec.status
    if not store.mark_running(run_id, os.getpid()):
        return store.get(run_id).status
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat_loop, args=(store, run_id, stop), daemon=True)
    beat.start()
    reporter = Reporter(store, run_id)
    try:
        _ensure_kind(rec.kind)
        fn = JOB_KINDS.get(rec.kind).obj
        summary = fn(dict(rec.params), rec.path, reporter)
        summary = dict(summary) if isinstance(summary, Mapping) else {"result": summary}
        status = CANCELLED if store.cancel_requested(run_id) else COMPLETED
        store.finish(run_id, summary, status=status, error="Stopped by the user." if status == CANCELLED else None)
    except BaseException as exc:  # noqa: BLE001 - every outcome is recorded
        if not isinstance(exc, DashInputError):
            traceback.print_exc()
        if store.cancel_requested(run_id):
            store.finish(run_id, None, status=CANCELLED, error="Stopped by the user.")
        else:
            store.fail(run_id, _format_exception(exc))
        if isinstance(exc, KeyboardInterrupt):
            raise
    finally:
        stop.set()
    return store.get(run_id).status


def _on_sigterm(signum, frame) -> None:  # pragma: no cover - exercised in a subprocess
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the job process: ``python -m dash_core.runs.jobs RUN_ID [--home HOME]``."""
    parser = argparse.ArgumentParser(prog="python -m dash_core.runs.jobs", description=main.__doc__)
    parser.add_argument("run_id")
    parser.add_argument("--home", help="run-store folder (default: $DASH_STUDIO_HOME or ~/.dash_studio)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    store = RunStore(args.home)
    status = run_job(store, args.run_id)
    return 0 if status in (COMPLETED, CANCELLED) else 1


# ----------------------------------------------------------------------------- built-in job kinds
def _load_job_dataset(params: Mapping[str, Any], reporter: Reporter):
    """The dataset of a job: ``params["dataset_dir"]`` (dataset folder) or ``params["dataset"]`` (file paths)."""
    from dash_core.io import load_dataset  # lazy: see the note on imports at the top

    if params.get("dataset_dir"):
        dataset, report = load_dataset_dir(params["dataset_dir"])
    elif params.get("dataset"):
        paths = dict(params["dataset"])
        expression = paths.pop("expression", None)
        if expression is None:
            raise DashInputError("The job's dataset lists no expression file.")
        allowed = {"prior", "genes", "ppi", "truth", "test_expression", "name"}
        dataset, report = load_dataset(expression, **{k: v for k, v in paths.items() if k in allowed and v})
    else:
        raise DashInputError("The job was started without a dataset (dataset_dir or dataset paths).")
    for issue in report.issues:
        if issue.level != "info":
            reporter.log(str(issue))
    return dataset


def _dataset_paths(params: Mapping[str, Any]) -> dict[str, str]:
    """File paths of the job's dataset, keyed like :func:`dash_core.io.load_dataset`'s arguments."""
    if params.get("dataset_dir"):
        return {k: str(v) for k, v in dataset_files(params["dataset_dir"]).items()}
    return {k: str(v) for k, v in dict(params.get("dataset") or {}).items() if v}


def train_job(params: dict, run_dir: Path, reporter: Reporter) -> dict:
    """Job kind ``train``.

    Parameters
    ----------
    params
        ``config``: a :class:`dash_core.experiment.RunConfig` dict; ``dataset_dir``
        (dataset folder) or ``dataset`` (``load_dataset`` file paths); optional
        ``threads`` (torch threads).
    run_dir
        Receives ``metrics.json, metrics_detail.json, edges.csv, history.csv,
        config.json, model.pt, genes.txt`` (:func:`dash_core.experiment.save_run`).

    Returns
    -------
    dict
        ``metrics`` (``metrics.json``), ``details`` and ``stop_reason``.
    """
    import torch  # lazy: see the note on imports at the top

    from dash_core.experiment import METRIC_KEYS, RunConfig, run_experiment, save_run

    if params.get("threads"):
        torch.set_num_threads(int(params["threads"]))
    config = RunConfig.from_dict(params.get("config") or {})
    config.train.validate()
    reporter.progress(0.0, "loading data")
    dataset = _load_job_dataset(params, reporter)
    reporter.log(f"dataset {dataset.name}: {dataset.n_genes} genes, {dataset.expression.n_trajectories} trajectories; "
                 f"model {config.model.model}, strategy {config.strategy}, up to {config.train.max_epochs} epochs")

    def on_epoch(ev) -> None:
        values = ev.as_dict()
        note = values.pop("message", "")
        frac = ev.epoch / ev.max_epochs if ev.max_epochs else None
        text = f"epoch {ev.epoch}/{ev.max_epochs} ({ev.phase})" + (f": {note}" if note else "")
        reporter.progress(frac, text, **values)

    t0 = time.perf_counter()
    result = run_experiment(dataset, config, progress=on_epoch, should_stop=reporter.should_stop)
    train_seconds = time.perf_counter() - t0
    save_run(result, run_dir)
    metrics = {k: result.metrics.get(k) for k in METRIC_KEYS}
    details = {k: v for k, v in result.details.items() if isinstance(v, (int, float, str, bool)) or v is None}
    reporter.progress(1.0, f"done ({result.stop_reason})")
    return {"metrics": metrics, "details": details, "stop_reason": result.stop_reason,
            "strategy": config.strategy, "model": config.model.model,
            "lambda_ppi": config.pruning.lambda_ppi, "lambda_motif": config.pruning.lambda_motif,
            "seed": config.seed, "n_edges": int(len(result.edges)), "dataset": dataset.name,
            "n_genes": int(dataset.n_genes), "n_trajectories": int(dataset.expression.n_trajectories),
            "n_observations": int(dataset.expression.n_observations), "hidden": int(config.model.hidden),
            "train_seconds": round(train_seconds, 3), "reference_epoch_seconds": run_epoch_cost(config, dataset)}


#: Columns of a sweep result that may name a point's artifact folder.
_POINT_DIR_COLUMNS = ("run_dir", "out_dir", "dir", "path", "artifact_dir")


def _scalars(obj: Any) -> dict[str, Any]:
    """Flat JSON-able scalar fields of a sweep point (dict, pandas Series, dataclass or object)."""
    if obj is None:
        return {}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    elif hasattr(obj, "to_dict") and not isinstance(obj, Mapping):
        obj = obj.to_dict()
    elif not isinstance(obj, Mapping):
        obj = getattr(obj, "__dict__", {})
    out: dict[str, Any] = {}
    for k, v in dict(obj).items():
        if isinstance(v, Mapping):
            for k2, v2 in v.items():
                if isinstance(v2, (int, float, str, bool)) or v2 is None:
                    out.setdefault(str(k2), v2)
        elif isinstance(v, (int, float, str, bool)) or v is None:
            out[str(k)] = v
        elif hasattr(v, "item"):
            try:
                out[str(k)] = v.item()
            except (ValueError, AttributeError):
                pass
        elif isinstance(v, Path):
            out[str(k)] = str(v)
    return out


def _executor_config(spec: Mapping[str, Any] | None) -> ExecutorConfig:
    spec = dict(spec or {})
    names = {f.name for f in dataclasses.fields(ExecutorConfig)}
    return ExecutorConfig(**{k: v for k, v in spec.items() if k in names})


def _register_points(store: RunStore, parent_id: str, frame, default_strategy: str) -> int:
    """Register each sweep point that has an artifact folder with ``metrics.json`` as a completed child run."""
    col = next((c for c in _POINT_DIR_COLUMNS if c in frame.columns), None)
    if col is None:
        return 0
    frame["run_id"] = None
    n = 0
    for i, row in frame.iterrows():
        folder = row.get(col)
        if not isinstance(folder, str) or not (Path(folder) / "metrics.json").is_file():
            continue
        metrics = json.loads((Path(folder) / "metrics.json").read_text())
        point = _scalars(row.to_dict())
        strategy = point.get("strategy", default_strategy)
        label = (f"{strategy} λ=({point.get('lambda_ppi', '?')}, {point.get('lambda_motif', '?')}) seed "
                 f"{point.get('seed', 0)}" if strategy == default_strategy else f"{strategy} seed {point.get('seed', 0)}")
        rec = store.create_run("train", {"sweep_point": point}, label=label, parent_id=parent_id,
                               status=COMPLETED, artifact_dir=folder,
                               summary={"metrics": metrics, **{k: v for k, v in point.items() if k not in metrics}})
        frame.at[i, "run_id"] = rec.run_id
        n += 1
    return n


def sweep_job(params: dict, run_dir: Path, reporter: Reporter) -> dict:
    """Job kind ``sweep``: a λ grid for one strategy plus optional baseline strategies.

    Parameters
    ----------
    params
        ``config`` (base :class:`~dash_core.experiment.RunConfig` dict), ``dataset_dir``
        or ``dataset``, ``lambda_ppi_grid`` and ``lambda_motif_grid`` (lists of
        floats), ``strategy`` (the strategy whose λ are swept), ``seeds`` (list of
        ints), ``baselines`` (strategies run once per seed at the base λ),
        ``executor`` (:class:`~dash_core.runs.executors.ExecutorConfig` fields),
        ``tolerance`` (of the recommendation rule, :func:`dash_core.studies.selection.recommend`).
    run_dir
        Receives ``points.csv`` (one row per run), ``paths.csv`` (the pruning path of
        every finished run, appended as each run finishes, for live curves) and each
        point's artifacts under ``points/<strategy>/``; the recommended model of the
        swept strategy in ``points/<strategy>/recommended/`` (registered as a child run), its
        prior audit refereed by the baseline ``none`` runs (unpruned, same seeds) when they were
        trained (:func:`dash_core.audit.audit_models`).

    Returns
    -------
    dict
        ``n_points``, ``n_failed`` and ``recommended``: the point chosen by validation
        alone (``selection.json`` plus the ``run_id`` of the registered model). Gold-standard
        metrics are never used to choose.
    """
    import pandas as pd  # lazy: see the note on imports at the top

    from dash_core.audit import REFEREE_STRATEGY
    from dash_core.experiment import RunConfig
    from dash_core.studies import sweeps
    from dash_core.studies.datasets import DatasetSpec
    from dash_core.studies.selection import DEFAULT_TOLERANCE, path_table

    base = RunConfig.from_dict(params.get("config") or {})
    strategy = str(params.get("strategy") or base.strategy)
    grid_ppi = [float(v) for v in params.get("lambda_ppi_grid") or [base.pruning.lambda_ppi]]
    grid_motif = [float(v) for v in params.get("lambda_motif_grid") or [base.pruning.lambda_motif]]
    seeds = [int(s) for s in params.get("seeds") or [base.seed]]
    baselines = [str(b) for b in params.get("baselines") or [] if str(b) != strategy]
    executor = _executor_config(params.get("executor"))
    tolerance = float(params.get("tolerance", DEFAULT_TOLERANCE))
    paths = _dataset_paths(params)
    names = {f.name for f in dataclasses.fields(DatasetSpec)}
    spec = DatasetSpec(**{k: v for k, v in paths.items() if k in names})

    plan = [(strategy, grid_ppi, grid_motif)] + [(b, [base.pruning.lambda_ppi], [base.pruning.lambda_motif])
                                                 for b in baselines]
    total = sum(len(p) * len(m) * len(seeds) for _, p, m in plan)
    done = 0
    frames = []
    selection = None
    reporter.progress(0.0, f"0/{total} points")
    for strat, ppi, motif in plan:
        if reporter.should_stop():
            break

        def on_point(point: Any, progress: Any = None, _strat: str = strat) -> None:
            nonlocal done
            done += 1
            values = {k: v for k, v in _scalars(point).items() if k not in ("fraction", "message")}
            values.setdefault("strategy", _strat)
            _append_path(run_dir / "paths.csv", path_table(pd.DataFrame([values])))
            eta = getattr(progress, "eta_s", None)
            if eta is not None:
                values["eta_seconds"] = eta
            reporter.progress(done / total if total else None, f"{done}/{total} points", **values)

        frame = sweeps.run_sweep(spec, base, ppi, motif, strategy=strat, seeds=seeds,
                                  out_dir=run_dir / "points" / strat, executor=executor, on_point=on_point,
                                  should_stop=reporter.should_stop)
        frame = pd.DataFrame(frame).copy()
        if "strategy" not in frame.columns:
            frame["strategy"] = strat
        frames.append(frame)
    swept = frames[0] if frames else pd.DataFrame()
    if len(swept) and (swept["status"] == "ok").any():
        # after the baselines: their unpruned runs (strategy none, same seeds) referee the prior audit
        from dash_core.studies.selection import finalize_sweep  # lazy: see the note on imports at the top

        dataset, _ = spec.load()
        selection = finalize_sweep(run_dir / "points" / strategy, swept, dataset, dataset_spec=spec.to_dict(),
                                   tolerance=tolerance, strategy=strategy,
                                   referee_dir=run_dir / "points" / REFEREE_STRATEGY)
    points = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    n_registered = _register_points(reporter.store, reporter.run_id, points, strategy) if len(points) else 0
    points.to_csv(run_dir / "points.csv", index=False)
    summary: dict[str, Any] = {"n_points": int(len(points)), "n_registered": n_registered, "strategy": strategy,
                               "baselines": baselines, "lambda_ppi_grid": grid_ppi, "lambda_motif_grid": grid_motif,
                               "seeds": seeds}
    if "ok" in points.columns:
        summary["n_failed"] = int((~points["ok"].astype(bool)).sum())
    if selection is not None:
        summary["recommended"] = {**_scalars(selection), "run_id": register_recommended(
            reporter.store, reporter.run_id, run_dir / "points" / strategy, selection)}
    reporter.progress(1.0, f"{len(points)} points done")
    return summary


def _append_path(path: Path, rows) -> None:
    """Append pruning-path rows to a sweep's live ``paths.csv`` (header written once)."""
    if rows is None or len(rows) == 0:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    if not new:
        import pandas as pd  # lazy: see the note on imports at the top

        rows = rows.reindex(columns=list(pd.read_csv(path, nrows=0).columns))
    with path.open("a", encoding="utf-8") as fh:
        rows.to_csv(fh, header=new, index=False)


def register_recommended(store: RunStore, parent_id: str, sweep_dir: Path, selection: Mapping[str, Any]) -> str:
    """Register ``sweep_dir/<selection run_dir>`` (the recommended model) as a completed child run; its run id.

    A run already registered for that folder under the same parent is updated instead, so a
    re-recommendation (another tolerance) keeps one entry.
    """
    folder = Path(sweep_dir) / str(selection["run_dir"])
    metrics = json.loads((folder / "metrics.json").read_text())
    sel = _scalars(selection)
    label = (f"recommended {sel.get('strategy') or ''} λ=({sel['lambda_ppi']:g}, {sel['lambda_motif']:g}) "
             f"level {sel['level']} seed {sel['seed']} (tolerance {sel['tolerance']:.0%})")
    params = {"recommended": True, "selection": sel}
    for old in store.list_runs(parent_id=parent_id):
        if old.params.get("recommended") and Path(old.artifact_dir).resolve() == folder.resolve():
            store.set_params(old.run_id, params)
            store.set_label(old.run_id, label)
            store.update_summary(old.run_id, {"metrics": metrics, "selection": sel})
            return old.run_id
    rec = store.create_run("train", params, label=label, parent_id=parent_id, status=COMPLETED,
                           artifact_dir=str(folder), summary={"metrics": metrics, "selection": sel})
    return rec.run_id


def register_level(store: RunStore, run_id: str, level: int, dataset) -> str:
    """The run to open for pruning level ``level`` of run ``run_id``: the run itself or an exported level.

    When ``level`` is the run's reported checkpoint, that is ``run_id``. Otherwise the level's
    best-validation checkpoint (``path.pt``) is written once as a run folder of its own,
    ``<run folder>/levels/level_NNN/`` (:func:`dash_core.experiment.export_level`, scored on
    ``dataset``, the run's data; None: raise when it is needed), and registered as a completed run next
    to ``run_id`` (same parent); a level already registered is reused.

    Returns
    -------
    str
        The run id to open.
    """
    import pandas as pd  # lazy: see the note on imports at the top

    from dash_core.experiment import export_level  # lazy: see the note on imports at the top

    rec = store.get(run_id)
    source = rec.path
    path_file = source / "path.csv"
    if not path_file.is_file():
        return run_id  # saved before pruning paths existed: only the reported checkpoint
    path = pd.read_csv(path_file)
    row = path[path["level"] == int(level)]
    if row.empty:
        raise DashInputError(f"level {level} is not in this run's pruning path.", source=str(path_file))
    if "reported" in path.columns and bool(row["reported"].iloc[0]):
        return run_id
    folder = source / "levels" / f"level_{int(level):03d}"
    for old in store.list_runs(parent_id=rec.parent_id) if rec.parent_id else []:
        if old.params.get("level_of") == run_id and int(old.params.get("level", -1)) == int(level) \
                and (old.path / "metrics.json").is_file():
            return old.run_id
    if not (folder / "metrics.json").is_file():
        if dataset is None:
            raise DashInputError("the run's data is missing, so pruning level "
                                 f"{level} cannot be scored; only the reported checkpoint can be opened.",
                                 source=str(source))
        export_level(source, int(level), dataset, folder)
    metrics = json.loads((folder / "metrics.json").read_text())
    params = {"level_of": run_id, "level": int(level), "sweep_point": rec.params.get("sweep_point")}
    new = store.create_run("train", params, label=f"{rec.label} · pruning level {int(level)}",
                           parent_id=rec.parent_id, status=COMPLETED, artifact_dir=str(folder),
                           summary={"metrics": metrics, "level": int(level), "level_of": run_id})
    return new.run_id


if __name__ == "__main__":  # pragma: no cover - the job process
    # Run through the importable module so that job kinds registered by plugins
    # (which import ``dash_core.runs.jobs``) land in the registry that is used.
    from dash_core.runs.jobs import main as _main

    sys.exit(_main())

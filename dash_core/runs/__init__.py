"""Running work: executors for many independent jobs (local processes or Ray), the run
store (SQLite + artifact folders) and background jobs.

:mod:`dash_core.runs.executors` is importable without Ray; only the ``"ray"``
executor imports it. The store and job APIs (:mod:`dash_core.runs.store`,
:mod:`dash_core.runs.jobs`) are imported lazily on first attribute access, so
that ``python -m dash_core.runs.jobs`` does not import its own module twice.
"""

from __future__ import annotations

import importlib
from typing import Any

from dash_core.runs.executors import (
    CANCELLED,
    ExecutorConfig,
    Job,
    JobResult,
    checked_executor_config,
    describe_executors,
    run_jobs,
)

_LAZY = {
    "RunStore": "store",
    "RunRecord": "store",
    "save_dataset_dir": "store",
    "load_dataset_dir": "store",
    "dataset_files": "store",
    "default_home": "store",
    "JOB_KINDS": "jobs",
    "Reporter": "jobs",
    "register_job_kind": "jobs",
    "load_job_kinds": "jobs",
    "start_job": "jobs",
    "cancel_job": "jobs",
    "run_job": "jobs",
}

__all__ = [
    "CANCELLED",
    "ExecutorConfig",
    "Job",
    "JobResult",
    "checked_executor_config",
    "describe_executors",
    "run_jobs",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dash_core.runs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dash_core.runs.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

"""Running work: executors for many independent jobs (local processes or Ray).

:mod:`dash_core.runs.executors` is importable without Ray; only the ``"ray"``
executor imports it.
"""

from dash_core.runs.executors import (
    CANCELLED,
    ExecutorConfig,
    Job,
    JobResult,
    add_executor_arguments,
    describe_executors,
    executor_config_from_args,
    run_jobs,
)

__all__ = [
    "CANCELLED",
    "ExecutorConfig",
    "Job",
    "JobResult",
    "add_executor_arguments",
    "describe_executors",
    "executor_config_from_args",
    "run_jobs",
]

"""Which runs share a stack, how many per stack, and how much memory a stack takes.

The training engine (:mod:`dash_core.train`) trains K ≥ 1 runs of one architecture on one dataset as one
stacked model. This module decides the grouping for sweeps, benchmarks and searches:

* :func:`stack_key` - runs with equal keys can share a stack (same model, data handling, device, fixed-step
  solver; seeds, λ, strategies, learning rates and epochs may differ);
* :func:`auto_stack_size` - K chosen from the available memory (CPU RAM or GPU memory) when the user does not;
* :func:`plan_stacks` - the runs of a study grouped into stacks, in input order;
* :func:`memory_probe` - the peak memory a stack added (reported with every run as ``stack_peak_memory_mb``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from dash_core.device import resolve_device
from dash_core.integrate import is_fixed_step, n_fixed_steps
from dash_core.pruning.base import STRATEGIES
from dash_core.split import resolve_batching

if TYPE_CHECKING:
    from dash_core.data import Dataset
    from dash_core.experiment import RunConfig

#: Upper bound on an automatic stack size, by device. CPU: measured on SIM350-sized data (1 thread, CPU seconds
#: per model-epoch) 0.83 alone, 0.39 at K = 5, 0.34 at K = 9 but 0.43 at K = 49 (the stacked weights and their
#: gradients outgrow the caches), so CPU stacks stop at 16. CUDA: a stack fills the device, so larger.
MAX_AUTO_STACK = {"cpu": 16, "cuda": 64}


def max_auto_stack(device: torch.device | str) -> int:
    """:data:`MAX_AUTO_STACK` of a device (``"auto"`` is resolved)."""
    return MAX_AUTO_STACK.get(resolve_device(str(device)).type, MAX_AUTO_STACK["cpu"])
#: Share of the available memory that automatic stacks may plan to use.
MEMORY_SHARE = 0.5
#: TrainConfig fields that must be equal within a stack (the others may differ per run).
SHARED_TRAIN_FIELDS = ("device", "dtype", "batching", "batch_size", "solver", "val_fraction", "prior_probes",
                       "prior_probe_batch", "prior_abs", "threads", "cuda_graph")

_solo = itertools.count()


def stack_key(config: RunConfig) -> tuple:
    """Runs with equal keys can be trained in one stack.

    A run whose strategy is registered with ``stackable=False``, or that uses an adaptive solver (dopri5
    chooses its steps from the error of the whole batch, so stacked models would change each other's steps),
    gets a key of its own: it trains alone, through the same engine.
    """
    stackable = STRATEGIES.get(config.strategy).extra.get("stackable", True) and is_fixed_step(config.train.solver)
    if not stackable:
        return ("alone", next(_solo))
    return (config.model, config.time_scale, *(getattr(config.train, f) for f in SHARED_TRAIN_FIELDS))


def estimate_member_bytes(dataset: Dataset, config: RunConfig) -> int:
    """Rough upper estimate of the memory one run adds to a stack (bytes).

    Counts parameters with their gradients, Adam moments, masks and checkpoints; the autograd activations of
    one step (``4 x steps`` RK4 stages of a batch); the run's copy of the data split; its prior-loss probes;
    and the validation pass. On SIM350-sized data (350 genes, h = 40, no prior loss) it gives 9 MB per run;
    measured: 8 MB per added run (peak resident memory of stacks of 1, 5 and 49 runs).
    """
    n, h = dataset.n_genes, config.model.hidden
    itemsize = 8 if config.train.dtype == "float64" else 4
    n_params = 4 * n * h + 2 * h + n
    trajectories = [t for t in dataset.expression.trajectories if len(t.times) >= 2]
    gaps = [float(max(t.times[1:] - t.times[:-1])) for t in trajectories] or [1.0]
    pairs = sum(len(t.times) - 1 for t in trajectories)

    per_trajectory = resolve_batching(dataset.expression, config.train.batching) == "trajectory"
    batch = (max(len(t.times) - 1 for t in trajectories) if per_trajectory and trajectories
             else config.train.batch_size)
    steps = n_fixed_steps(max(gaps), config.train.solver) if is_fixed_step(config.train.solver) else 20
    activations = 4 * steps * batch * (8 * n + 6 * h)
    probes = 0  # the prior soft loss: probe states and their targets (shared by runs of one seed; counted per run)
    if config.effective_lambda_data() < 1:
        probes = 2 * config.train.prior_probes * n + 3 * (config.train.prior_probe_batch or config.train.prior_probes) * n
    val_pairs = max(1, int(math.ceil(config.train.val_fraction * pairs)))
    evaluation = val_pairs * (6 * n + 4 * h)
    floats = 10 * n_params + activations + probes + 3 * pairs * n + evaluation
    return int(1.5 * floats * itemsize)


def available_memory_bytes(device: torch.device | str) -> int:
    """Free memory for new stacks: GPU memory on CUDA, otherwise the system's available RAM."""
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 1024**3  # unknown platform: assume 4 GB


def auto_stack_size(dataset: Dataset, config: RunConfig, n_runs: int, *, workers: int = 1) -> int:
    """K for ``n_runs`` runs like ``config`` from the available memory (split between ``workers`` processes)."""
    per_run = max(1, estimate_member_bytes(dataset, config))
    budget = MEMORY_SHARE * available_memory_bytes(resolve_device(config.train.device)) / max(1, workers)
    return int(max(1, min(n_runs, max_auto_stack(config.train.device), budget // per_run)))


def plan_stacks(dataset: Dataset, configs: list[RunConfig], *, stack_size: int | None = None,
                workers: int = 1) -> list[list[int]]:
    """Group run indices into stacks: compatible runs together, at most ``stack_size`` per stack.

    ``stack_size`` None chooses K from memory (:func:`auto_stack_size`). With ``workers`` > 1 a group is split
    into at least that many stacks (when it has enough runs) so that every worker gets one; stacks of a group
    are balanced (9 runs, K = 4 -> 3 + 3 + 3). Indices keep their input order.
    """
    groups: dict[tuple, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(stack_key(cfg), []).append(i)
    plan: list[list[int]] = []
    for members in groups.values():
        k = stack_size or auto_stack_size(dataset, configs[members[0]], len(members), workers=workers)
        plan.extend(split_group(members, k, workers))
    return sorted(plan, key=lambda g: g[0])


def split_group(members: list, cap: int, workers: int = 1) -> list[list]:
    """Cut one group of compatible runs into balanced stacks, in order: at most ``cap`` runs per stack and, when
    the group has enough runs, at least ``workers`` stacks (9 runs, cap 4 -> 3 + 3 + 3; 4 runs, 2 workers -> 2 + 2)."""
    if not members:
        return []
    n_stacks = max(math.ceil(len(members) / max(1, int(cap))), min(max(1, workers), len(members)))
    size = math.ceil(len(members) / n_stacks)
    return [members[j: j + size] for j in range(0, len(members), size)]


@dataclass
class _MemoryProbe:
    device: torch.device
    baseline: int

    def peak_mb(self) -> float:
        """Peak memory added since the probe started, in MB (GPU: allocated tensors; CPU: resident set)."""
        if self.device.type == "cuda":
            return round((torch.cuda.max_memory_allocated(self.device) - self.baseline) / 2**20, 1)
        peak = _proc_status_kb("VmHWM")
        return round(max(0, peak - self.baseline) / 1024, 1) if peak is not None and self.baseline >= 0 else float("nan")


def _proc_status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def memory_probe(device: torch.device) -> _MemoryProbe:
    """Start measuring the peak memory of a stack (CUDA peak allocator stats, or the process's resident-set
    high-water mark, reset through ``/proc/self/clear_refs`` on Linux)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return _MemoryProbe(device, torch.cuda.memory_allocated(device))
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current resident set
        baseline = _proc_status_kb("VmRSS")
    except OSError:
        baseline = None
    return _MemoryProbe(device, -1 if baseline is None else baseline)


def successive_halving(dataset: Dataset, configs: list[RunConfig], *, grace_period: int, reduction_factor: float = 3.0,
                       should_stop=None) -> list[dict]:
    """Successive halving of K runs trained as one stack (the stacked form of an ASHA search).

    All runs train together; at every rung (epochs ``grace_period * reduction_factor**k``) the runs that reached
    it are ranked by their best validation MSE so far and only the best ``ceil(m / reduction_factor)`` of the m go
    on; the others stop at once and leave the stack (they cost nothing more). A run that stops on its own
    (early stopping) before a rung is not ranked there. Everything is synchronous, so the outcome is reproducible.

    Parameters
    ----------
    dataset
        The shared dataset.
    configs
        The runs (one stack: equal :func:`stack_key`).
    grace_period
        First rung (epochs every run trains).
    reduction_factor
        eta > 1.
    should_stop
        Cancellation poll for the whole search.

    Returns
    -------
    list of dict
        Per run ``{"result": RunResult | BaseException, "stopped_at": epoch or None, "best_val_at_stop": float}``;
        ``stopped_at`` is set for runs halving stopped (their result holds the best checkpoint reached and the
        history, unscored: see ``score`` of :func:`dash_core.experiment.run_stack`).
    """
    from dash_core.experiment import run_stack  # lazy: dash_core.experiment imports this module

    if grace_period < 1 or not reduction_factor > 1:
        raise ValueError("grace_period must be >= 1 and reduction_factor > 1")
    k = len(configs)
    alive = [True] * k
    best: list[dict[int, float]] = [{} for _ in range(k)]
    stopped_at: list[int | None] = [None] * k
    decided: set[int] = set()
    trainers_epoch = [0] * k

    def progress_for(i: int):
        def progress(event) -> None:
            best[i][int(event.epoch)] = float(event.best_val_mse)
            trainers_epoch[i] = int(event.epoch)
        return progress

    rungs: set[int] = set()
    r = float(grace_period)
    while r < max(c.train.max_epochs for c in configs):
        rungs.add(int(math.ceil(r - 1e-9)))
        r *= reduction_factor

    def decide(epoch: int) -> None:
        decided.add(epoch)
        at_rung = [i for i in range(k) if alive[i] and epoch in best[i]]
        keep = max(1, math.ceil(len(at_rung) / reduction_factor))
        ranked = sorted(at_rung, key=lambda i: (best[i][epoch], i))
        for i in ranked[keep:]:
            alive[i] = False
            stopped_at[i] = epoch

    def stop_for(i: int):
        def stop() -> bool:
            if should_stop is not None and should_stop():
                return True
            e = trainers_epoch[i]
            if e in rungs and e not in decided:
                decide(e)
            return not alive[i]
        return stop

    # the trials halving stopped are not scored: the search keeps only their history and best validation MSE
    results = run_stack(dataset, configs, progress=[progress_for(i) for i in range(k)],
                        should_stop=[stop_for(i) for i in range(k)], score=lambda i: stopped_at[i] is None)
    return [{"result": r, "stopped_at": stopped_at[i],
             "best_val_at_stop": best[i].get(stopped_at[i]) if stopped_at[i] else None}
            for i, r in enumerate(results)]

"""The unit of time the ODE sees (applied to training, validation and test series alike).

The model's rates are per unit of time and the fixed-step solver takes
``steps_per_unit`` steps per unit, so the time axis decides what a model can
learn. Modes (:data:`TIME_SCALES`):

* ``"none"``: the times as given (SIM350's 0-9, minutes, hours);
* ``"minmax"``: one global range of the training series mapped to [0, 1];
* ``"gap"``: divided by the median gap between consecutive training time
  points, so the typical step is one unit (relative spacing kept);
* ``"index"``: each trajectory's points are numbered 0, 1, 2, ... (only the
  order is kept). For pseudotime this is the honest reading: a diffusion
  pseudotime orders cells but its gaps are not durations, and they span orders
  of magnitude (B-cell set: 4e-7 to 0.08 within one trajectory), which leaves
  an ODE almost no time to move between most neighbours;
* ``"auto"`` (default): ``"index"`` for pseudotime-like series (some trajectory
  with at least ``PSEUDOTIME_MIN_POINTS`` points whose largest gap is more than
  ``PSEUDOTIME_GAP_RATIO`` times its median gap), otherwise ``"none"``.

Measured on the real sets (unpruned PHOENIX, λ_data 0.99, seed 0): B-cell
(2 trajectories, 482 and 168 points) with the times as given: validation MSE
0.999x and test MSE 0.998x the persistence baseline, best epoch 5 of 40 (did
not learn); with ``"index"``: 0.72x / 0.80x, best epoch 21 of 30. Yeast (24
points every 5 min, one 10-min gap) is not pseudotime-like and keeps its
minutes: pairs mode, 100 epochs: 0.55x with minutes, 0.77x with ``"minmax"``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

import numpy as np

from dash_core.data import Dataset, ExpressionData, Trajectory
from dash_core.io.errors import DashInputError

TimeScale = Literal["auto", "none", "minmax", "gap", "index"]
TIME_SCALES: dict[str, str] = {
    "auto": "index for pseudotime-like series (many points, gaps spanning orders of magnitude), else none",
    "none": "the time points as given",
    "minmax": "one global range of the training series mapped to [0, 1]",
    "gap": "divided by the median gap of the training series (typical step = 1)",
    "index": "each trajectory's points numbered 0, 1, 2, ... (order only; for pseudotime)",
}
#: ``auto`` reads a trajectory as pseudotime when it has at least this many points ...
PSEUDOTIME_MIN_POINTS = 20
#: ... and its largest gap exceeds this many median gaps.
PSEUDOTIME_GAP_RATIO = 20.0


def resolve_time_scale(expr: ExpressionData, mode: str) -> str:
    """The concrete mode ``"auto"`` stands for on ``expr`` (other modes are returned unchanged)."""
    if mode not in TIME_SCALES:
        raise DashInputError(f"Unknown time scale {mode!r}; choose one of {', '.join(TIME_SCALES)}.")
    if mode != "auto":
        return mode
    for t in expr.trajectories:
        if len(t.times) >= PSEUDOTIME_MIN_POINTS:
            gaps = np.diff(t.times)
            if gaps.max() > PSEUDOTIME_GAP_RATIO * np.median(gaps):
                return "index"
    return "none"


def _apply(expr: ExpressionData | None, mode: str, lo: float, unit: float) -> ExpressionData | None:
    if expr is None or mode == "none":
        return expr
    if mode == "index":
        trs = [Trajectory(t.name, np.arange(len(t.times), dtype=float), t.values) for t in expr.trajectories]
    else:
        trs = [Trajectory(t.name, (t.times - lo) / unit, t.values) for t in expr.trajectories]
    return ExpressionData(list(expr.genes), trs)


def scale_time(dataset: Dataset, mode: str) -> tuple[Dataset, str, str]:
    """A copy of ``dataset`` whose training, validation and test series use the time unit ``mode``.

    Parameters
    ----------
    dataset
        The dataset; ranges and gaps come from its training ``expression``.
    mode
        One of :data:`TIME_SCALES`.

    Returns
    -------
    (Dataset, str, str)
        The rescaled copy (values unchanged; the original is not modified), the concrete mode applied
        and a sentence for the run's report.
    """
    concrete = resolve_time_scale(dataset.expression, mode)
    if concrete == "none":
        return dataset, "none", "time points used as given"
    times = np.concatenate([t.times for t in dataset.expression.trajectories])
    lo, unit = 0.0, 1.0
    if concrete == "minmax":
        lo, unit = float(times.min()), float(times.max() - times.min())
        what = f"time scaled from [{lo:.4g}, {times.max():.4g}] to [0, 1]"
    elif concrete == "gap":
        gaps = np.concatenate([np.diff(t.times) for t in dataset.expression.trajectories if len(t.times) > 1])
        lo, unit = 0.0, float(np.median(gaps))
        what = f"time divided by the median gap {unit:.4g} (typical step = 1)"
    else:
        what = "time points replaced by their order 0, 1, 2, ... in each trajectory (pseudotime-like gaps)"
    if not unit > 0:
        raise DashInputError("Cannot rescale time: all time points are equal.")
    if mode == "auto":
        what += " (time scale auto)"
    out = replace(dataset, expression=_apply(dataset.expression, concrete, lo, unit))
    out = out.map_extra_series(lambda series: _apply(series, concrete, lo, unit))
    return out, concrete, what


__all__ = ["TIME_SCALES", "TimeScale", "resolve_time_scale", "scale_time"]

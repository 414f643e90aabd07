"""Checks shared by every expression format: time points, short trajectories, value range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dash_core.data import ExpressionData, Trajectory
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.text import _fmt, _preview, _quoted

#: Values further than this below 0 or above 1 trigger the min-max scaling hint.
RANGE_MARGIN = 0.5


@dataclass
class _RawTrajectory:
    name: str
    times: np.ndarray  # (T,)
    values: np.ndarray  # (T, n)
    lines: list[int]  # line number of each time point (for messages)


def _finalise(raw: list[_RawTrajectory], genes: list[str], name: str, report: ValidationReport) -> ExpressionData:
    """Check time points, sort, drop short trajectories and check the value range."""
    dup_msgs = []
    unsorted = []
    for tr in raw:
        uniq, counts = np.unique(tr.times, return_counts=True)
        if (counts > 1).any():
            dt = uniq[counts > 1]
            lines = [tr.lines[i] for i in range(len(tr.times)) if tr.times[i] in set(dt.tolist())]
            dup_msgs.append(
                f"trajectory '{tr.name}': time {_preview([_fmt(t) for t in dt], 3)} (lines {_preview(lines, 4)})"
            )
        elif len(tr.times) > 1 and (np.diff(tr.times) < 0).any():
            unsorted.append(tr.name)
            order = np.argsort(tr.times, kind="stable")
            tr.times, tr.values = tr.times[order], tr.values[order]
            tr.lines = [tr.lines[i] for i in order]
    if dup_msgs:
        raise DashInputError(
            f"Duplicate time points within a trajectory: {_preview(dup_msgs, 3)}. Each time point may occur once per "
            "trajectory; average or relabel the repeated measurements.",
            source=name,
        )
    if unsorted:
        report.warning(
            f"Time points of trajectory {_quoted(unsorted)} were not in increasing order; they have been sorted.",
            source=name,
        )
    short = [tr.name for tr in raw if len(tr.times) < 2]
    kept = [tr for tr in raw if len(tr.times) >= 2]
    if not kept:
        raise DashInputError(
            f"No trajectory has two or more time points (found {len(raw)} trajector{'y' if len(raw) == 1 else 'ies'}), "
            "so there is nothing to learn from. Each trajectory needs at least two observations.",
            source=name,
        )
    if short:
        report.warning(
            f"{len(short)} trajector{'y has' if len(short) == 1 else 'ies have'} fewer than 2 time points and "
            f"{'was' if len(short) == 1 else 'were'} dropped: {_quoted(short)}.",
            source=name,
        )
    expr = ExpressionData(list(genes), [Trajectory(tr.name, tr.times, tr.values) for tr in kept])
    _check_range(expr, name, report)
    return expr


def _check_range(expr: ExpressionData, name: str, report: ValidationReport) -> None:
    lo, hi = expr.value_range()
    if lo < -RANGE_MARGIN or hi > 1.0 + RANGE_MARGIN:
        report.warning(
            f"Expression values range from {lo:.4g} to {hi:.4g}, far outside [0, 1], the scale the models expect. "
            "Consider min-max scaling the data to [0, 1] (minmax_scale / the 'scale to [0, 1]' option).",
            source=name,
        )



"""Tidy (wide) expression tables: header ``trajectory,time,<gene1>,<gene2>,...``, one row per observation.

In memory one trajectory's values are a ``(T, n)`` array: row = time point, column = gene.
"""

from __future__ import annotations

import csv
from typing import Any

from dash_core.data import ExpressionData
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.gene_names import _resolve_genes
from dash_core.io.text import (
    MAX_LISTED,
    _check_gene_list,
    _float_cells,
    _norm,
    _open_text_out,
    _preview,
    _quoted,
    _strip_trailing,
    _Table,
)
from dash_core.io.timeseries import _finalise, _RawTrajectory

TRAJECTORY_ALIASES = (
    "trajectory",
    "traj",
    "trajectory_id",
    "trajectory_name",
    "series",
    "experiment",
    "sample",
    "replicate",
)
TIME_ALIASES = ("time", "t", "times", "timepoint", "time_point", "timepoints", "time_h", "hours")


def _parse_tidy(table: _Table, genes: Any, report: ValidationReport) -> ExpressionData:
    name = table.name
    header_line, header = table.rows[0]
    header = _strip_trailing(header)
    normed = [_norm(h) for h in header]
    traj_col = next((i for i, h in enumerate(normed) if h in TRAJECTORY_ALIASES), None)
    time_col = next((i for i, h in enumerate(normed) if h in TIME_ALIASES and i != traj_col), None)
    missing = [c for c, i in (("trajectory", traj_col), ("time", time_col)) if i is None]
    if missing:
        found = _quoted(header, 8)
        msg = (
            f"Missing required column(s) {_quoted(missing)} in the header (line {header_line}); found "
            f"{len(header)} column(s): {found}. A tidy expression table needs the header "
            "`trajectory,time,<gene1>,<gene2>,...` (detected delimiter: "
            f"{table.delimiter_name})."
        )
        if missing == ["trajectory"]:
            msg += (
                " If the file holds a single time course, add a column 'trajectory' with the same label on every row."
            )
        if len(header) == 1:
            msg += " Only one column was found: the file probably uses a delimiter other than comma, tab, semicolon or whitespace."
        raise DashInputError(msg, source=name)
    skip = {traj_col, time_col}
    if 0 not in skip and (header[0] == "" or normed[0].startswith("unnamed") or normed[0] == "index"):
        skip.add(0)  # a row-index column written by e.g. pandas
        report.info(
            f"The first column ({'unnamed' if not header[0] else repr(header[0])}) was taken as a row index "
            "and ignored.",
            source=name,
        )
    gene_idx = [i for i in range(len(header)) if i not in skip]
    if not gene_idx:
        raise DashInputError(
            f"The header (line {header_line}) has no gene columns after 'trajectory' and 'time'.", source=name
        )
    unnamed = [i + 1 for i in gene_idx if not header[i]]
    if unnamed:
        raise DashInputError(
            f"Column(s) {_preview(unnamed)} of the header (line {header_line}) have no gene name.", source=name
        )
    file_genes = _check_gene_list([header[i] for i in gene_idx], name, what="gene columns of the header")
    width = len(header)
    body = table.rows[1:]
    if not body:
        raise DashInputError("The table has a header but no data rows.", source=name)
    bad_width = []
    for ln, f in body:
        if len(f) < width or any(x for x in f[width:]):
            bad_width.append((ln, len(_strip_trailing(f)) if len(f) > width else len(f)))
    if bad_width:
        lst = "; ".join(f"line {ln} has {k}" for ln, k in bad_width[:MAX_LISTED])
        more = f" and {len(bad_width) - MAX_LISTED} more" if len(bad_width) > MAX_LISTED else ""
        raise DashInputError(
            f"{len(bad_width)} row(s) do not have the {width} fields of the header: {lst}{more}. Check the delimiter "
            f"(detected: {table.delimiter_name}) and that every row has a trajectory, a time and one value per gene.",
            source=name,
        )
    lines = [ln for ln, _ in body]
    labels = [f[traj_col] for _, f in body]
    no_label = [ln for ln, lab in zip(lines, labels) if not lab]
    if no_label:
        raise DashInputError(f"Missing trajectory label on line(s) {_preview(no_label)}.", source=name)
    times = _float_cells(
        [[f[time_col]] for _, f in body],
        lines,
        ["time"],
        what="time column",
        name=name,
        delimiter=table.delimiter,
        report=report,
    )[:, 0]
    values = _float_cells(
        [[f[i] for i in gene_idx] for _, f in body],
        lines,
        [f"gene {g}" for g in file_genes],
        what="expression values",
        name=name,
        delimiter=table.delimiter,
        report=report,
    )
    if genes is not None:
        wanted, label = _resolve_genes(genes)
        pos = {g: i for i, g in enumerate(file_genes)}
        absent = [g for g in wanted if g not in pos]
        if absent:
            raise DashInputError(
                f"{len(absent)} gene(s) of {label} are not columns of the table: {_quoted(absent)}.", source=name
            )
        extra = [g for g in file_genes if g not in set(wanted)]
        if extra:
            report.warning(f"{len(extra)} gene column(s) not in {label} were dropped: {_quoted(extra)}.", source=name)
        if extra or wanted != file_genes:
            values = values[:, [pos[g] for g in wanted]]
        file_genes = wanted
    groups: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        groups.setdefault(lab, []).append(i)
    raw = [_RawTrajectory(lab, times[idx], values[idx], [lines[i] for i in idx]) for lab, idx in groups.items()]
    return _finalise(raw, file_genes, name, report)



def write_expression_tidy(expr: ExpressionData, path: Any) -> None:
    """Write the tidy CSV ``trajectory,time,<gene1>,...``, one row per observation.

    Numbers are written with the shortest exact representation, so reading
    the file back gives identical arrays.
    """
    fh, close = _open_text_out(path)
    try:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["trajectory", "time", *expr.genes])
        for tr in expr.trajectories:
            for t, row in zip(tr.times.tolist(), tr.values.tolist()):
                w.writerow([tr.name, repr(t), *map(repr, row)])
    finally:
        if close:
            fh.close()



"""Tidy (wide) expression tables: header ``trajectory,time,<gene1>,<gene2>,...``, one row per observation.

In memory one trajectory's values are a ``(T, n)`` array: row = time point, column = gene.
"""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
import pandas as pd

from dash_core.data import ExpressionData
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.gene_names import _resolve_genes
from dash_core.io.text import (
    _DELIMITER_NAMES,
    _QUOTES,
    MAX_LISTED,
    _check_gene_list,
    _fast_source,
    _fill_from_chunks,
    _float_cells,
    _max_rows,
    _norm,
    _open_text_out,
    _preview,
    _quoted,
    _strip_trailing,
    _Table,
    _unquote,
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


def _tidy_columns(
    header: list[str], header_line: int, name: str, delimiter_name: str, report: ValidationReport
) -> tuple[int, int, list[int], list[str]]:
    """``(trajectory column, time column, gene columns, gene names)`` of a tidy header, or a precise error."""
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
            f"{delimiter_name})."
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
    return traj_col, time_col, gene_idx, file_genes  # type: ignore[return-value]


def _parse_tidy(table: _Table, genes: Any, report: ValidationReport) -> ExpressionData:
    name = table.name
    header_line, header = table.rows[0]
    traj_col, time_col, gene_idx, file_genes = _tidy_columns(header, header_line, name, table.delimiter_name, report)
    width = len(_strip_trailing(header))
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
    return _assemble(labels, times, values, lines, file_genes, genes, name, report)


def _assemble(
    labels: list[str],
    times: np.ndarray,
    values: np.ndarray,
    lines: list[int],
    file_genes: list[str],
    genes: Any,
    name: str,
    report: ValidationReport,
) -> ExpressionData:
    """Select the wanted genes and group the rows (``values``: row = observation, column = gene) by trajectory."""
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
    raw = []
    for lab, idx in groups.items():
        rows: Any = idx
        if idx[-1] - idx[0] == len(idx) - 1:  # consecutive rows: a view, no copy
            rows = slice(idx[0], idx[-1] + 1)
        raw.append(_RawTrajectory(lab, times[rows], values[rows], [lines[i] for i in idx]))
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




def _read_tidy_fast(src: Any, genes: Any, report: ValidationReport, *,
                    view: tuple[bytes, str, str, str] | None = None) -> tuple[ExpressionData, str] | None:
    """Read a plain numeric tidy file straight into float arrays with pandas' C parser.

    The general reader keeps every cell as a Python string (about ten times
    the file size in memory); this path parses the body in chunks into one
    preallocated ``(rows, columns)`` float64 array, so a file needs about twice
    its size. It only takes files it can read exactly like the general reader:
    UTF-8 text delimited by comma, tab or semicolon, header on the first line,
    no comment lines, every value a finite number, no repeated time point.
    Anything else returns None and the caller uses the general reader, which
    gives the precise message (file, line, gene) for bad input.

    ``view``: the source's :func:`~dash_core.io.text._fast_source` when the caller already has it.

    Returns
    -------
    (ExpressionData, delimiter name) or None
    """
    got = _fast_source(src) if view is None else view
    if got is None:
        return None
    data, name, delim, first = got
    header = [_unquote(f) if f[:1] in _QUOTES or f[-1:] in _QUOTES else f.strip()
              for f in next(csv.reader([first], delimiter=delim, skipinitialspace=True))]
    if len(_strip_trailing(header)) != len(header):
        return None
    fast_report = ValidationReport()
    try:
        traj_col, time_col, gene_idx, file_genes = _tidy_columns(header, 1, name, _DELIMITER_NAMES[delim],
                                                                 fast_report)
    except DashInputError:
        return None
    width = len(header)
    text_cols = [i for i in range(width) if i == traj_col or (i not in gene_idx and i != time_col)]
    n_max = _max_rows(data)
    values = np.empty((n_max, len(gene_idx)), dtype=np.float64)
    times = np.empty(n_max, dtype=np.float64)
    labels: list[str] = []

    def store(chunk: pd.DataFrame, n: int) -> None:
        k = len(chunk)
        values[n : n + k] = chunk.iloc[:, gene_idx].to_numpy(dtype=np.float64)
        times[n : n + k] = chunk.iloc[:, time_col].to_numpy(dtype=np.float64)
        labels.extend(chunk.iloc[:, traj_col].tolist())

    n = _fill_from_chunks(data, delim, {i: (str if i in text_cols else np.float64) for i in range(width)},
                          na_filter=False, n_max=n_max, store=store)
    if not n or not (np.isfinite(values[:n]).all() and np.isfinite(times[:n]).all()):
        return None
    labels = [_unquote(lab) if lab[:1] in _QUOTES or lab[-1:] in _QUOTES else lab.strip() for lab in labels]
    if not all(labels):
        return None
    order = sorted(range(n), key=lambda i: (labels[i], times[i]))
    if any(labels[a] == labels[b] and times[a] == times[b] for a, b in zip(order, order[1:])):
        return None  # repeated time points: the general reader names their lines
    lines = list(range(2, n + 2))
    expr = _assemble(labels, times[:n], values[:n], lines, file_genes, genes, name, fast_report)
    report.extend(fast_report)
    return expr, _DELIMITER_NAMES[delim]

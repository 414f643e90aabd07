"""PHOENIX / DASH expression CSV (methods E.6).

First line ``n_genes,n_trajectories``; then, per trajectory, ``n_genes`` rows
(one per gene, one column per time point) followed by one row of time points.
Trajectories may have different numbers of time points (shorter rows end in
empty cells). Gene names come from a separate gene-name file
(:mod:`dash_core.io.gene_names`), or default to ``G1..Gn`` with a warning.
"""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
import pandas as pd

from dash_core.data import ExpressionData
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.gene_names import _resolve_genes, default_gene_names, write_gene_names
from dash_core.io.text import (
    _DELIMITER_NAMES,
    MAX_LISTED,
    _fast_source,
    _fill_from_chunks,
    _float_cells,
    _max_rows,
    _open_text_out,
    _quoted,
    _strip_trailing,
    _Table,
)
from dash_core.io.timeseries import _finalise, _RawTrajectory


def _phoenix_header(fields: list[str]) -> tuple[int, int] | None:
    f = _strip_trailing(fields)
    if len(f) != 2:
        return None
    try:
        a, b = float(f[0]), float(f[1])
    except ValueError:
        return None
    if not (a.is_integer() and b.is_integer()):
        return None
    return int(a), int(b)


def _check_counts(n_genes: int, n_traj: int, n_rows: int, line: int, name: str, n_names: int | None) -> None:
    """Raise a message naming the count that is off when the first line does not match the rows that follow."""
    expected = n_traj * (n_genes + 1)
    if n_rows == expected:
        return
    msg = (
        f"Line {line} announces {n_genes} genes and {n_traj} trajectories (`n_genes,n_trajectories`), so "
        f"{expected} rows should follow ({n_traj} x ({n_genes} gene rows + 1 row of time points)), but {n_rows} "
        "non-empty rows follow."
    )
    if n_rows == n_genes * (n_traj + 1) and n_genes != n_traj:
        msg += (f" The two counts look swapped: {n_rows} rows are {n_genes} trajectory block(s) of {n_traj} genes + "
                f"1 time row; if the file holds {n_traj} genes and {n_genes} trajectories, the first line should be "
                f"`{n_traj},{n_genes}`, else it should read `{n_genes},{n_traj}` with the rows to match.")
    elif n_rows % (n_genes + 1) == 0:
        msg += (f" The number of trajectories is off: the rows make {n_rows // (n_genes + 1)} complete block(s) of "
                f"{n_genes} gene rows + 1 time row, not {n_traj}; the first line should probably be "
                f"`{n_genes},{n_rows // (n_genes + 1)}`.")
    elif n_rows % n_traj == 0 and n_rows // n_traj >= 2:
        msg += (f" The number of genes is off: that is {n_rows // n_traj} rows per trajectory, i.e. "
                f"{n_rows // n_traj - 1} genes, not {n_genes}; the first line should probably be "
                f"`{n_rows // n_traj - 1},{n_traj}`.")
    elif n_names is not None and n_rows % (n_names + 1) == 0:
        msg += (f" The gene-name file lists {n_names} genes, and the rows make {n_rows // (n_names + 1)} block(s) of "
                f"{n_names} gene rows + 1 time row: both counts of the first line look off.")
    else:
        msg += " Check both counts of the first line and that every trajectory ends with a row of time points."
    msg += " The file is not re-parsed with guessed counts: correct the first line."
    raise DashInputError(msg, source=name)


def _phoenix_prelude(
    first_line: int, first: list[str], n_body: int, genes: Any, name: str, report: ValidationReport
) -> tuple[int, int, list[str]]:
    """``(n_genes, n_trajectories, gene names)`` from the first line and the number of rows after it."""
    head = _phoenix_header(first)
    if head is None:
        raise DashInputError(
            f"Line {first_line} should be `n_genes,n_trajectories` (two integers) in the PHOENIX format; found "
            f"{_quoted(_strip_trailing(first), 4)}.",
            source=name,
        )
    n_genes, n_traj = head
    if n_genes < 1 or n_traj < 1:
        raise DashInputError(
            f"Line {first_line} announces {n_genes} genes and {n_traj} trajectories; both must be at least 1.",
            source=name,
        )
    gene_names: list[str] | None = None
    label = ""
    if genes is not None:
        gene_names, label = _resolve_genes(genes)
    _check_counts(n_genes, n_traj, n_body, first_line, name, None if gene_names is None else len(gene_names))
    if gene_names is None:
        gene_names = default_gene_names(n_genes)
        report.warning(
            f"No gene-name file was given; the {n_genes} genes are named G1..G{n_genes} in file order.", source=name
        )
    elif len(gene_names) != n_genes:
        raise DashInputError(
            f"{label[0].upper()}{label[1:]} lists {len(gene_names)} names but the expression file has "
            f"{n_genes} genes (line {first_line}). Use the gene-name file that belongs to this expression file.",
            source=name,
        )
    return n_genes, n_traj, gene_names


def _parse_phoenix(table: _Table, genes: Any, report: ValidationReport) -> ExpressionData:
    name = table.name
    first_line, first = table.rows[0]
    body = table.rows[1:]
    n_genes, n_traj, gene_names = _phoenix_prelude(first_line, first, len(body), genes, name, report)
    block = n_genes + 1
    raw = []
    problems: list[str] = []
    n_problems = 0
    for k in range(n_traj):
        rows = body[k * block : (k + 1) * block]
        tname = str(k + 1)
        t_line, t_fields = rows[-1]
        t_fields = _strip_trailing(t_fields)
        n_t = len(t_fields)
        times = _float_cells(
            [t_fields],
            [t_line],
            [f"time point {j + 1}" for j in range(n_t)],
            what=f"time points of trajectory {tname}",
            name=name,
            delimiter=table.delimiter,
            report=report,
        )[0]
        cells = []
        for g, (ln, f) in enumerate(rows[:-1]):
            f = _strip_trailing(f)
            if len(f) != n_t:
                n_problems += 1
                if len(problems) < MAX_LISTED:
                    problems.append(
                        f"line {ln} (trajectory {tname}, gene {gene_names[g]}) has {len(f)} value(s) but the time "
                        f"row (line {t_line}) has {n_t}"
                    )
                continue
            cells.append(f)
        if n_problems:
            continue
        vals = _float_cells(
            cells,
            [ln for ln, _ in rows[:-1]],
            [f"time point {j + 1}" for j in range(n_t)],
            what=f"expression values of trajectory {tname}",
            name=name,
            delimiter=table.delimiter,
            report=report,
            row_labels=[f"gene {g}" for g in gene_names],
        )
        raw.append(_RawTrajectory(tname, times, vals.T.copy(), [t_line] * n_t))
    if n_problems:
        more = f" and {n_problems - len(problems)} more" if n_problems > len(problems) else ""
        raise DashInputError(
            f"{n_problems} gene row(s) do not match their trajectory's time row: {'; '.join(problems)}{more}. "
            "Every gene row needs one value per time point (missing values are not allowed).",
            source=name,
        )
    return _finalise(raw, gene_names, name, report)


#: Bytes a plain numeric PHOENIX file is made of (anything else goes to the general reader).
_NUMERIC_BYTES = b"0123456789.+-eE,;\t \r\n"


def _read_phoenix_fast(src: Any, genes: Any, report: ValidationReport, *,
                       view: tuple[bytes, str, str, str] | None = None) -> tuple[ExpressionData, str] | None:
    """Read a plain numeric PHOENIX file straight into one float array with pandas' C parser.

    Like :func:`dash_core.io.tidy._read_tidy_fast`: only files made of numbers
    and delimiters (empty cells only as the padding after a trajectory's last
    time point), with consistent counts and no repeated time point; anything
    else returns None and the general reader gives the precise message.

    ``view``: the source's :func:`~dash_core.io.text._fast_source` when the caller already has it.

    Returns
    -------
    (ExpressionData, delimiter name) or None
    """
    got = _fast_source(src) if view is None else view
    if got is None:
        return None
    data, name, delim, first = got
    if data.translate(None, _NUMERIC_BYTES):
        return None
    first_fields = [f.strip() for f in first.split(delim)]
    head = _phoenix_header(first_fields)
    if head is None or head[0] < 1 or head[1] < 1:
        return None
    n_max = _max_rows(data)
    start = data.find(b"\n") + 1
    stop = data.find(b"\n", start)
    width = data[start : stop if stop >= 0 else len(data)].count(delim.encode()) + 1
    if start <= 0 or width < 1:
        return None
    arr = np.empty((n_max, width), dtype=np.float64)

    def store(chunk: pd.DataFrame, n: int, out: np.ndarray = arr) -> None:
        out[n : n + len(chunk)] = chunk.to_numpy(dtype=np.float64)

    n = _fill_from_chunks(data, delim, dict.fromkeys(range(width), np.float64), na_filter=True, n_max=n_max,
                          store=store)
    if n is None:
        return None
    n_genes, n_traj = head
    block = n_genes + 1
    if n != n_traj * block:
        return None
    fast_report = ValidationReport()
    try:
        n_genes, n_traj, gene_names = _phoenix_prelude(1, first_fields, n, genes, name, fast_report)
    except DashInputError:
        return None
    raw = []
    for k in range(n_traj):
        rows = arr[k * block : (k + 1) * block]
        present = np.flatnonzero(~np.isnan(rows[-1]))
        n_t = int(present[-1]) + 1 if present.size else 0
        times = rows[-1, :n_t]
        if (n_t == 0 or not np.isfinite(rows[:, :n_t]).all() or not np.isnan(rows[:, n_t:]).all()
                or np.unique(times).size != n_t):
            return None
        raw.append(_RawTrajectory(str(k + 1), times.copy(), rows[:-1, :n_t].T.copy(), [k * block + block + 1] * n_t))
    del arr, store
    expr = _finalise(raw, gene_names, name, fast_report)
    report.extend(fast_report)
    return expr, _DELIMITER_NAMES[delim]


def write_expression_phoenix(expr: ExpressionData, path: Any, genes_path: Any = None) -> None:
    """Write the PHOENIX CSV (methods E.6) and optionally the gene-name file.

    Layout: ``n_genes,n_trajectories``; per trajectory ``n_genes`` rows
    (gene i's values over time) then one row of time points. Rows of
    trajectories with fewer time points than the longest are padded with
    empty cells. Trajectory names are not stored (reading gives ``1..N``).
    """
    width = max((len(t.times) for t in expr.trajectories), default=0)
    fh, close = _open_text_out(path)
    try:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([expr.n_genes, expr.n_trajectories])
        for tr in expr.trajectories:
            pad = [""] * (width - len(tr.times))
            for row in tr.values.T.tolist():
                w.writerow([*map(repr, row), *pad])
            w.writerow([*map(repr, tr.times.tolist()), *pad])
    finally:
        if close:
            fh.close()
    if genes_path is not None:
        write_gene_names(expr.genes, genes_path)

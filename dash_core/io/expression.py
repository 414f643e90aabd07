"""Expression time series: one entry point over the readers of each format, and scaling.

Formats (one reader module each):

* **tidy** (wide) table ``trajectory,time,<gene1>,...`` (:mod:`dash_core.io.tidy`);
* **PHOENIX** CSV ``n_genes,n_trajectories`` + per-trajectory blocks, with a
  gene-name file (:mod:`dash_core.io.phoenix`, :mod:`dash_core.io.gene_names`);
* **AnnData** ``.h5ad`` single-cell files, binned along a time column
  (:mod:`dash_core.io.h5ad`).

The format and the delimiter are detected automatically. A source is a path or
a file-like object such as a Streamlit ``UploadedFile``; its name is used in
every message. In memory, one trajectory's values are a ``(T, n)`` array:
row = time point, column = gene, in the order of :attr:`ExpressionData.genes`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from dash_core.data import ExpressionData, Trajectory
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.gene_names import default_gene_names, read_gene_names, write_gene_names
from dash_core.io.h5ad import H5adOptions, is_h5ad, read_h5ad
from dash_core.io.phoenix import _parse_phoenix, _phoenix_header, _read_phoenix_fast, write_expression_phoenix
from dash_core.io.text import _fast_source, _Loaded, _read_raw, _read_table, _source_name, _Table, _table_from_frame
from dash_core.io.tidy import _parse_tidy, _read_tidy_fast, write_expression_tidy

EXPRESSION_FORMATS = {"auto": "auto", "tidy": "tidy", "wide": "tidy", "phoenix": "phoenix", "dash": "phoenix",
                      "h5ad": "h5ad", "anndata": "h5ad"}


def detect_expression_format(src: Any) -> str:
    """``'phoenix'`` if the first non-empty line is two integers, else ``'tidy'``."""
    table = src if isinstance(src, _Table) else _read_table(src)
    return "phoenix" if _phoenix_header(table.rows[0][1]) is not None else "tidy"


def read_expression(src: Any, *, genes: Any = None, fmt: str = "auto",
                    h5ad: H5adOptions | None = None) -> tuple[ExpressionData, ValidationReport]:
    """Read and validate an expression time-series file.

    Parameters
    ----------
    src
        Path, file-like object (e.g. Streamlit ``UploadedFile`` or
        ``io.BytesIO`` with a ``.name``), or a tidy ``pandas.DataFrame``.
    genes
        Gene names: path / file-like of a one-column file, or a sequence. For
        the PHOENIX format they name the gene rows (default ``G1..Gn`` with a
        warning). For the tidy format they select and order the gene columns
        (missing genes are an error, extra columns are dropped with a warning).
    fmt
        ``'auto'`` (default), ``'tidy'``, ``'phoenix'`` or ``'h5ad'`` (AnnData;
        detected from the ``.h5ad`` suffix or the HDF5 signature).
    h5ad
        How to turn cells of an ``.h5ad`` file into time series (time column,
        trajectory column, number of bins, layer); see :class:`H5adOptions`.

    Returns
    -------
    (ExpressionData, ValidationReport)
        Trajectories with strictly increasing times; each ``values`` array is
        ``(T, n)``: row = time point, column = gene in ``genes`` order. The
        report holds warnings (sorted times, dropped short trajectories,
        values far outside [0, 1], default gene names) and notes.

    Raises
    ------
    DashInputError
        Unreadable file, missing columns, wrong row lengths, non-numeric or
        missing values, duplicate genes or time points, no usable trajectory,
        gene-name file of the wrong length.
    """
    report = ValidationReport()
    key = EXPRESSION_FORMATS.get(str(fmt).lower())
    if key is None:
        raise DashInputError(f"Unknown expression format '{fmt}'; use one of: auto, tidy, phoenix, h5ad.")
    if isinstance(src, ExpressionData):
        return ExpressionData(list(src.genes), list(src.trajectories)), report
    if key == "h5ad" or (key == "auto" and not isinstance(src, pd.DataFrame) and is_h5ad(src)):
        return read_h5ad(src, h5ad or H5adOptions(), genes=genes)
    if not isinstance(src, pd.DataFrame):
        src = _Loaded(*_read_raw(src))  # read once: the fast reader and the general reader below share it
        view = _fast_source(src)
        if view is not None:  # plain numeric files: straight into float arrays (issue 14)
            _, _, delim, first = view
            fast_key = key if key != "auto" else (
                "phoenix" if _phoenix_header([f.strip() for f in first.split(delim)]) is not None else "tidy")
            fast_reader = _read_phoenix_fast if fast_key == "phoenix" else _read_tidy_fast
            fast = fast_reader(src, genes, report, view=view)
            if fast is not None:
                expr, delimiter_name = fast
                report.info(
                    f"Read {expr.n_genes} genes, {expr.n_trajectories} trajectories, {expr.n_observations} "
                    f"observations ({fast_key} format, {delimiter_name}-delimited).",
                    source=_source_name(src),
                )
                return expr, report
            del view
    table = _table_from_frame(src, "expression table") if isinstance(src, pd.DataFrame) else _read_table(src)
    if key == "auto":
        key = detect_expression_format(table)
    if key == "phoenix":
        expr = _parse_phoenix(table, genes, report)
    else:
        expr = _parse_tidy(table, genes, report)
    report.info(
        f"Read {expr.n_genes} genes, {expr.n_trajectories} trajectories, {expr.n_observations} observations "
        f"({key} format, {table.delimiter_name}-delimited).",
        source=table.name,
    )
    return expr, report


def minmax_scale(
    expr: ExpressionData, *, value_range: tuple[float, float] | None = None
) -> tuple[ExpressionData, tuple[float, float]]:
    """Scale all values to [0, 1] with the global minimum and maximum.

    Parameters
    ----------
    expr
        Expression data; every trajectory's ``(T, n)`` values (row = time
        point, column = gene) are mapped by ``(x - min) / (max - min)`` with one
        ``min``/``max`` over all values of all genes and trajectories.
    value_range
        Use this ``(min, max)`` instead of ``expr``'s own (e.g. to scale a test
        set exactly like the training set).

    Returns
    -------
    (ExpressionData, (float, float))
        The scaled copy (same genes, trajectory names and times) and the
        ``(min, max)`` used.

    Raises
    ------
    DashInputError
        If ``max <= min`` (e.g. all values equal: nothing to scale).
    """
    lo, hi = expr.value_range() if value_range is None else (float(value_range[0]), float(value_range[1]))
    if not hi > lo:
        raise DashInputError(f"Min-max scaling needs max > min, but min = {lo:g} and max = {hi:g} (all values equal?).")
    scaled = ExpressionData(
        list(expr.genes),
        [Trajectory(t.name, t.times.copy(), (t.values - lo) / (hi - lo)) for t in expr.trajectories],
    )
    return scaled, (lo, hi)




__all__ = [
    "EXPRESSION_FORMATS",
    "H5adOptions",
    "default_gene_names",
    "detect_expression_format",
    "minmax_scale",
    "read_expression",
    "read_gene_names",
    "read_h5ad",
    "write_expression_phoenix",
    "write_expression_tidy",
    "write_gene_names",
]

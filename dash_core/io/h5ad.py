"""AnnData ``.h5ad`` files (single-cell expression) turned into time series.

A cell is one observation; it has a time (an ``obs`` column such as a
pseudotime) and optionally a trajectory / lineage / donor (another ``obs``
column). Cells of each trajectory are ordered by time and grouped into
``bins`` time points; a time point's expression is the mean over its cells and
its time is the mean time of those cells. Genes are ``var_names``; values come
from ``X`` or a named layer.

Binning (:attr:`H5adOptions.binning`):

* ``"quantile"`` (default): bins hold equal numbers of cells (pseudotime is
  dense in some stretches and sparse in others; equal counts give every time
  point a mean over the same number of cells, i.e. the same noise level);
* ``"width"``: bins of equal time width; empty bins are dropped.

The ``anndata`` package is imported only when such a file is read.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from dash_core.data import ExpressionData, Trajectory
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.gene_names import _resolve_genes
from dash_core.io.text import _check_gene_list, _quoted, _source_name
from dash_core.io.timeseries import _check_range

#: The first bytes of every HDF5 file (``.h5ad`` files are HDF5).
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


@dataclass(frozen=True)
class H5adOptions:
    """How cells of an AnnData file become time series.

    Attributes
    ----------
    time_key
        ``obs`` column holding each cell's time (e.g. ``dpt_pseudotime``). Required.
    trajectory_key
        Optional ``obs`` column splitting cells into trajectories (lineage, donor, sample).
        None = all cells form one trajectory.
    bins
        Time points per trajectory (cells are grouped into this many bins along time).
    layer
        Name of a layer to read instead of ``X`` (e.g. ``"normalized"``); None = ``X``.
    binning
        ``"quantile"`` (equal numbers of cells per bin) or ``"width"`` (equal time width).
    """

    time_key: str | None = None
    trajectory_key: str | None = None
    bins: int = 20
    layer: str | None = None
    binning: str = "quantile"


def is_h5ad(src: Any) -> bool:
    """True when ``src`` is named ``*.h5ad`` or starts with the HDF5 signature."""
    name = _source_name(src, "")
    if name.lower().endswith(".h5ad"):
        return True
    head = b""
    if isinstance(src, (str, os.PathLike)):
        p = Path(src)
        if p.is_file():
            with open(p, "rb") as fh:
                head = fh.read(8)
    elif hasattr(src, "getvalue"):
        data = src.getvalue()
        head = bytes(data[:8]) if isinstance(data, (bytes, bytearray, memoryview)) else b""
    return head == HDF5_SIGNATURE


def _open(src: Any, name: str):
    try:
        import anndata  # lazy: ~1-3 s to import, only .h5ad input needs it
    except ImportError:  # pragma: no cover - anndata is in requirements.txt
        raise DashInputError("Reading .h5ad files needs the 'anndata' package: pip install anndata.",
                             source=name) from None
    try:
        if isinstance(src, (str, os.PathLike)):
            if not Path(src).is_file():
                raise DashInputError("File not found. Check the path.", source=name)
            return anndata.read_h5ad(src)
        data = src.getvalue() if hasattr(src, "getvalue") else src.read()
        return anndata.read_h5ad(io.BytesIO(bytes(data)))
    except DashInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise DashInputError(f"This is not a readable AnnData (.h5ad) file ({type(exc).__name__}: {exc}).",
                             source=name) from None


def _column(adata, key: str | None, what: str, name: str, flag: str):
    cols = list(map(str, adata.obs.columns))
    if key is None:
        raise DashInputError(f"Say which obs column holds the {what} ({flag} ...). The file's obs columns: "
                             f"{_quoted(cols, 12) or 'none'}.", source=name)
    if key not in adata.obs.columns:
        raise DashInputError(f"There is no obs column {key!r} for the {what}; the file's obs columns are: "
                             f"{_quoted(cols, 12) or 'none'}.", source=name)
    return adata.obs[key]


def _bin_index(times: np.ndarray, bins: int, binning: str) -> np.ndarray:
    """Bin index (0..bins-1) of every cell, from its time (cells need not be sorted)."""
    if binning == "width":
        lo, hi = float(times.min()), float(times.max())
        if hi <= lo:
            return np.zeros(len(times), dtype=int)
        return np.minimum(((times - lo) / (hi - lo) * bins).astype(int), bins - 1)
    order = np.argsort(times, kind="stable")
    idx = np.empty(len(times), dtype=int)
    idx[order] = (np.arange(len(times)) * bins) // len(times)
    return idx


def read_h5ad(src: Any, options: H5adOptions, *, genes: Any = None) -> tuple[ExpressionData, ValidationReport]:
    """Read an AnnData file into binned expression time series.

    Parameters
    ----------
    src
        Path or file-like (uploaded file) of an ``.h5ad`` file.
    options
        Time / trajectory columns, number of bins, layer (:class:`H5adOptions`).
    genes
        Optional gene names (file or sequence) selecting and ordering ``var_names``.

    Returns
    -------
    (ExpressionData, ValidationReport)
        One trajectory per value of ``trajectory_key`` (or one in all); each
        has ``(bins, n)`` values (row = time point = mean over a bin's cells,
        column = gene in ``var_names`` order) and bin times = mean cell time.

    Raises
    ------
    DashInputError
        Unreadable file, missing or non-numeric time column, unknown layer,
        too few cells for the bins, non-finite values, duplicate gene names.
    """
    name = _source_name(src, "expression.h5ad")
    report = ValidationReport()
    if options.bins < 2:
        raise DashInputError(f"--bins must be at least 2 (got {options.bins}): a time series needs two time points.",
                             source=name)
    if options.binning not in ("quantile", "width"):
        raise DashInputError(f"Unknown binning {options.binning!r}; choose quantile or width.", source=name)
    adata = _open(src, name)
    var = _check_gene_list([str(v) for v in adata.var_names], name, what="gene names (var_names)")
    time_col = _column(adata, options.time_key, "time (e.g. pseudotime)", name, "--time-key")
    try:
        times = np.asarray(time_col, dtype=np.float64)
    except (TypeError, ValueError):
        raise DashInputError(f"The time column {options.time_key!r} is not numeric (e.g. "
                             f"{_quoted(list(map(str, time_col[:3])))}).", source=name) from None
    if options.layer is None:
        matrix = adata.X
    elif options.layer in adata.layers:
        matrix = adata.layers[options.layer]
    else:
        raise DashInputError(f"There is no layer {options.layer!r}; the file's layers are: "
                             f"{_quoted(list(adata.layers.keys())) or 'none (use X)'}.", source=name)
    if matrix is None:
        raise DashInputError("The file has no expression matrix X; name a layer (--layer).", source=name)
    if options.trajectory_key is None:
        labels = np.full(adata.n_obs, "1", dtype=object)
    else:
        labels = np.asarray(_column(adata, options.trajectory_key, "trajectories", name, "--trajectory-key"),
                            dtype=object).astype(str)
    keep = np.isfinite(times)
    if not keep.all():
        report.warning(f"{int((~keep).sum())} cell(s) without a finite time ({options.time_key!r}) were left out "
                       "(e.g. cells outside the lineage of the pseudotime).", source=name)

    col_idx = np.arange(len(var))
    if genes is not None:
        wanted, label = _resolve_genes(genes)
        pos = {g: i for i, g in enumerate(var)}
        absent = [g for g in wanted if g not in pos]
        if absent:
            raise DashInputError(f"{len(absent)} gene(s) of {label} are not in var_names: {_quoted(absent)}.",
                                 source=name)
        col_idx = np.array([pos[g] for g in wanted])
        var = wanted
    trajectories = []
    small = []
    for lab in dict.fromkeys(labels[keep].tolist()):
        cells = np.flatnonzero(keep & (labels == lab))
        if len(cells) < options.bins:
            small.append(f"{lab} ({len(cells)} cells)")
            continue
        t = times[cells]
        b = _bin_index(t, options.bins, options.binning)
        used = np.unique(b)
        onehot = sparse.csr_matrix((np.ones(len(cells)), (b, np.arange(len(cells)))), shape=(options.bins, len(cells)))
        onehot = onehot[used]
        counts = np.asarray(onehot.sum(axis=1)).ravel()
        sub = matrix[cells][:, col_idx]
        sums = onehot @ sub
        sums = sums.toarray() if sparse.issparse(sums) else np.asarray(sums)
        values = sums / counts[:, None]
        bin_times = (onehot @ t) / counts
        if not np.isfinite(values).all():
            raise DashInputError(f"Trajectory {lab!r} has missing or non-finite expression values.", source=name)
        if len(np.unique(bin_times)) < len(bin_times):
            raise DashInputError(f"Trajectory {lab!r}: several bins have the same mean time (ties in "
                                 f"{options.time_key!r}); use fewer --bins.", source=name)
        trajectories.append(Trajectory(str(lab), bin_times, values))
    if small:
        report.warning(f"{len(small)} trajector{'y has' if len(small) == 1 else 'ies have'} fewer cells than "
                       f"--bins {options.bins} and {'was' if len(small) == 1 else 'were'} left out: "
                       f"{_quoted(small)}.", source=name)
    if not trajectories:
        raise DashInputError(f"No trajectory has at least {options.bins} cells with a time; use fewer --bins.",
                             source=name)
    expr = ExpressionData(list(var), trajectories)
    report.info(f"Read {adata.n_obs} cells x {adata.n_vars} genes; binned into {expr.n_trajectories} "
                f"trajector{'y' if expr.n_trajectories == 1 else 'ies'} of {options.bins} time points "
                f"({options.binning} bins along {options.time_key!r}"
                f"{', one per ' + repr(options.trajectory_key) if options.trajectory_key else ''}; "
                f"values from {'X' if options.layer is None else 'layer ' + repr(options.layer)}).", source=name)
    _check_range(expr, name, report)
    return expr, report


__all__ = ["H5adOptions", "is_h5ad", "read_h5ad"]

"""Network representations: long edge tables <-> aligned matrices, and exports.

The one network format is a long table with columns ``source, target, weight``
(source = regulator, target = regulated gene). Matrices are ``(n, n)`` with
row = regulator (source) and column = target, indexed by an explicit gene list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

EDGE_COLUMNS = ["source", "target", "weight"]


def edges_to_matrix(edges: pd.DataFrame, genes: list[str], *, sum_duplicates: bool = False) -> np.ndarray:
    """Dense ``(n, n)`` matrix from an edge table; row = source, column = target.

    Edges whose source or target is not in ``genes`` are ignored. A missing
    ``weight`` column means weight 1. Duplicate edges keep the last weight
    unless ``sum_duplicates``.
    """
    index = {g: i for i, g in enumerate(genes)}
    m = np.zeros((len(genes), len(genes)), dtype=np.float64)
    if edges is None or len(edges) == 0:
        return m
    src = edges["source"].astype(str).map(index)
    tgt = edges["target"].astype(str).map(index)
    w = edges["weight"].to_numpy(dtype=np.float64) if "weight" in edges else np.ones(len(edges))
    ok = src.notna().to_numpy() & tgt.notna().to_numpy()
    si = src[ok].astype(int).to_numpy()
    ti = tgt[ok].astype(int).to_numpy()
    if sum_duplicates:
        np.add.at(m, (si, ti), w[ok])
    else:
        m[si, ti] = w[ok]
    return m


def matrix_to_edges(matrix: np.ndarray, genes: list[str], *, drop_zeros: bool = True, sort: bool = True) -> pd.DataFrame:
    """Long ``source, target, weight`` table from an ``(n, n)`` regulator x target matrix.

    Parameters
    ----------
    matrix
        ``(n, n)``; entry ``[i, j]`` = effect of regulator ``genes[i]`` on target ``genes[j]``.
    genes
        Gene names for rows and columns.
    drop_zeros
        Leave out exact zeros (pruned / absent edges).
    sort
        Sort by decreasing ``|weight|``.
    """
    matrix = np.asarray(matrix)
    n = len(genes)
    if matrix.shape != (n, n):
        raise ValueError(f"matrix has shape {matrix.shape}, expected ({n}, {n})")
    ii, jj = np.nonzero(matrix) if drop_zeros else np.indices((n, n)).reshape(2, -1)
    g = np.asarray(genes, dtype=object)
    df = pd.DataFrame({"source": g[ii], "target": g[jj], "weight": matrix[ii, jj].astype(float)})
    if sort and len(df):
        df = df.iloc[np.argsort(-np.abs(df["weight"].to_numpy()), kind="stable")].reset_index(drop=True)
    return df

"""Network representations: long edge tables <-> aligned matrices, and exports.

The one network format is a long table with columns ``source, target, weight``
(source = regulator, target = regulated gene). Matrices are ``(n, n)`` with
row = regulator (source) and column = target, indexed by an explicit gene list.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from typing import IO

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


def matrix_to_edges(matrix: np.ndarray, genes: list[str], *, drop_zeros: bool = True, sort: bool = True,
                    max_edges: int | None = None) -> pd.DataFrame:
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
    max_edges
        Keep at most this many edges: the largest ``|weight|`` ones, sorted by decreasing
        ``|weight|`` (ties by row-major position, as in the full table). None keeps all. A dense
        genome-scale E (11,000 genes: 121 million entries) would otherwise make a table of
        several GB that no one reads; the model checkpoint still holds the whole network.
    """
    matrix = np.asarray(matrix)
    n = len(genes)
    if matrix.shape != (n, n):
        raise ValueError(f"matrix has shape {matrix.shape}, expected ({n}, {n})")
    g = np.asarray(genes, dtype=object)
    capped = max_edges is not None and drop_zeros and np.count_nonzero(matrix) > max_edges
    if capped:
        ii, jj = np.divmod(_largest_flat(np.abs(matrix).ravel(), max(0, int(max_edges))), n)
    else:
        ii, jj = np.nonzero(matrix) if drop_zeros else np.indices((n, n)).reshape(2, -1)
    df = pd.DataFrame({"source": g[ii], "target": g[jj], "weight": matrix[ii, jj].astype(float)})
    if sort and not capped and len(df):
        df = df.iloc[np.argsort(-np.abs(df["weight"].to_numpy()), kind="stable")].reset_index(drop=True)
    return df


def _largest_flat(mag: np.ndarray, k: int) -> np.ndarray:
    """Flat indices of the ``k`` largest entries of ``mag`` (all > 0 here), by decreasing value, ties by index."""
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    kth = np.partition(mag, mag.size - k)[mag.size - k]  # the k-th largest value
    above = np.flatnonzero(mag > kth)
    idx = np.concatenate([above, np.flatnonzero(mag == kth)[: k - above.size]])
    return idx[np.lexsort((idx, -mag[idx]))]


# --------------------------------------------------------------------------- edge tables vs a truth


def _check_edges(edges: pd.DataFrame, name: str = "edges") -> None:
    missing = [c for c in ("source", "target") if c not in edges.columns]
    if missing:
        raise ValueError(f"{name} table lacks column(s) {missing}; expected columns {EDGE_COLUMNS}")


def _truth_table(truth_edges: pd.DataFrame) -> pd.DataFrame:
    """Normalised truth: string gene names, a weight (1 if absent), non-zero rows, one row per pair (last kept)."""
    _check_edges(truth_edges, "truth")
    t = pd.DataFrame(
        {
            "source": truth_edges["source"].astype(str).to_numpy(),
            "target": truth_edges["target"].astype(str).to_numpy(),
            "weight": truth_edges["weight"].to_numpy(dtype=np.float64) if "weight" in truth_edges else 1.0,
        }
    )
    t = t[t["weight"] != 0]
    return t.drop_duplicates(subset=["source", "target"], keep="last").reset_index(drop=True)


def top_edges(edges: pd.DataFrame, k: int) -> pd.DataFrame:
    """The ``k`` edges with the largest ``|weight|`` (ties keep table order), index reset.

    ``edges`` is a ``source, target, weight`` table (source = regulator).
    ``k <= 0`` gives an empty table with the same columns.
    """
    _check_edges(edges)
    if k <= 0 or len(edges) == 0:
        return edges.iloc[0:0].reset_index(drop=True)
    order = np.argsort(-np.abs(edges["weight"].to_numpy(dtype=np.float64)), kind="stable")[: int(k)]
    return edges.iloc[order].reset_index(drop=True)


def classify_edges(edges: pd.DataFrame, truth_edges: pd.DataFrame) -> pd.DataFrame:
    """Mark each predicted edge as true positive (``TP``) or false positive (``FP``).

    Parameters
    ----------
    edges
        Predicted ``source, target, weight`` table (source = regulator).
    truth_edges
        Ground-truth / gold-standard table with the same columns; a missing
        ``weight`` means +1 and rows with weight 0 are ignored.

    Returns
    -------
    pandas.DataFrame
        A copy of ``edges`` (same row order) with ``status`` in ``{"TP", "FP"}`` and
        ``true_sign`` (nullable ``Int64``: sign of the true weight, ``<NA>`` for FP).
    """
    _check_edges(edges)
    truth = _truth_table(truth_edges)
    signs = {(s, t): int(np.sign(w)) for s, t, w in truth.itertuples(index=False, name=None)}
    keys = list(zip(edges["source"].astype(str), edges["target"].astype(str)))
    out = edges.copy().reset_index(drop=True)
    out["status"] = ["TP" if key in signs else "FP" for key in keys]
    out["true_sign"] = pd.array([signs.get(key) for key in keys], dtype="Int64")
    return out


def missed_edges(edges: pd.DataFrame, truth_edges: pd.DataFrame) -> pd.DataFrame:
    """False negatives: true edges absent from ``edges`` (or present there with weight 0).

    Returns a ``source, target, weight, status`` table with the **true** weight,
    ``status = "FN"``, sorted by decreasing ``|weight|`` (source = regulator).
    """
    _check_edges(edges)
    truth = _truth_table(truth_edges)
    pred = edges
    if "weight" in edges:
        pred = edges[edges["weight"].to_numpy(dtype=np.float64) != 0]
    found = set(zip(pred["source"].astype(str), pred["target"].astype(str)))
    keep = [(s, t) not in found for s, t in zip(truth["source"], truth["target"])]
    fn = truth[keep].copy()
    fn = fn.iloc[np.argsort(-np.abs(fn["weight"].to_numpy()), kind="stable")].reset_index(drop=True)
    fn["status"] = "FN"
    return fn


_STATUS_WORDS = {"TP": "true positive", "FP": "false positive", "FN": "missed (false negative)"}


def edge_status_table(edges: pd.DataFrame, truth_edges: pd.DataFrame | None = None) -> pd.DataFrame:
    """The learned edges as a readable table, with their gold-standard status when a gold standard is given.

    Parameters
    ----------
    edges
        Learned ``source, target, weight`` table (source = regulator).
    truth_edges
        Optional gold standard (same columns).

    Returns
    -------
    pandas.DataFrame
        Columns ``regulator, target, effect, strength rank`` (1 = largest ``|effect|``)
        and, with a gold standard, ``status`` (``true positive``, ``false positive``,
        ``missed (false negative)``); missed edges come last, with effect 0 and no rank.
    """
    _check_edges(edges)
    ranked = top_edges(edges, len(edges))
    out = pd.DataFrame({"regulator": ranked["source"].astype(str), "target": ranked["target"].astype(str),
                        "effect": ranked["weight"].to_numpy(dtype=np.float64) if "weight" in ranked else 1.0,
                        "strength rank": pd.array(np.arange(1, len(ranked) + 1), dtype="Int64")})
    if truth_edges is None:
        return out
    out["status"] = classify_edges(ranked, truth_edges)["status"].map(_STATUS_WORDS).to_numpy()
    fn = missed_edges(edges, truth_edges)
    missed = pd.DataFrame({"regulator": fn["source"], "target": fn["target"], "effect": 0.0,
                           "strength rank": pd.array([pd.NA] * len(fn), dtype="Int64"),
                           "status": _STATUS_WORDS["FN"]})
    return pd.concat([out, missed], ignore_index=True)


def top_regulators(edges: pd.DataFrame, truth_edges: pd.DataFrame | None = None, k: int = 15) -> pd.DataFrame:
    """The ``k`` regulators with the largest summed ``|effect|`` over their learned targets.

    Returns columns ``regulator, targets, activating, repressing, total |effect|`` and, with a
    gold standard, ``true targets found`` and ``true targets`` (source = regulator).
    """
    _check_edges(edges)
    cols = ["regulator", "targets", "activating", "repressing", "total |effect|"]
    if len(edges) == 0:
        return pd.DataFrame(columns=cols)
    w = edges["weight"].to_numpy(dtype=np.float64)
    df = pd.DataFrame({"regulator": edges["source"].astype(str).to_numpy(), "abs": np.abs(w),
                       "act": w > 0, "rep": w < 0})
    g = df.groupby("regulator", sort=False).agg(targets=("abs", "size"), activating=("act", "sum"),
                                                repressing=("rep", "sum"), total=("abs", "sum"))
    g = g.sort_values("total", ascending=False, kind="stable").head(int(k)).reset_index()
    g = g.rename(columns={"total": "total |effect|"})
    g["total |effect|"] = g["total |effect|"].round(4)
    if truth_edges is not None:
        truth = _truth_table(truth_edges)
        status = classify_edges(edges, truth_edges)
        tp = status[status["status"] == "TP"].groupby(status["source"].astype(str)).size()
        n_true = truth.groupby("source").size()
        g["true targets found"] = g["regulator"].map(tp).fillna(0).astype(int)
        g["true targets"] = g["regulator"].map(n_true).fillna(0).astype(int)
    return g


# --------------------------------------------------------------------------- GraphML export


def _graphml_value(v: object) -> object | None:
    """A GraphML-friendly Python scalar, or ``None`` to skip a missing value."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def _edges_graph(
    edges: pd.DataFrame,
    truth: pd.DataFrame | None,
    node_attrs: Mapping[str, Mapping[str, object]] | pd.DataFrame | None,
):
    import networkx as nx  # lazy: only the GraphML export needs it; keeps dash_core.data light for job workers

    _check_edges(edges)
    table = classify_edges(edges, truth) if truth is not None else edges.reset_index(drop=True)
    g = nx.DiGraph()
    if isinstance(node_attrs, pd.DataFrame):
        node_attrs = {str(idx): row.to_dict() for idx, row in node_attrs.iterrows()}
    for gene, attrs in (node_attrs or {}).items():
        clean = {str(k): _graphml_value(v) for k, v in attrs.items()}
        g.add_node(str(gene), **{k: v for k, v in clean.items() if v is not None})
    weights = table["weight"].to_numpy(dtype=np.float64) if "weight" in table else np.ones(len(table))
    extra = [c for c in table.columns if c not in ("source", "target", "weight")]
    for r, (s, t) in enumerate(zip(table["source"].astype(str), table["target"].astype(str))):
        w = float(weights[r])
        attrs: dict[str, object] = {"weight": w, "abs_weight": abs(w), "sign": int(np.sign(w))}
        for c in extra:
            v = _graphml_value(table[c].iloc[r])
            if v is not None:
                attrs[str(c)] = v
        g.add_edge(s, t, **attrs)
    for node in g.nodes:
        g.nodes[node].setdefault("name", node)
    return g


def to_graphml_string(
    edges: pd.DataFrame,
    *,
    truth: pd.DataFrame | None = None,
    node_attrs: Mapping[str, Mapping[str, object]] | pd.DataFrame | None = None,
) -> str:
    """Directed GraphML document (UTF-8 text) of an edge table, readable by Cytoscape.

    See :func:`to_graphml` for the parameters and attributes.
    """
    import networkx as nx  # lazy: only the GraphML export needs it; keeps dash_core.data light for job workers

    buf = io.BytesIO()
    nx.write_graphml(_edges_graph(edges, truth, node_attrs), buf, encoding="utf-8")
    return buf.getvalue().decode("utf-8")


def to_graphml(
    edges: pd.DataFrame,
    path_or_buffer: str | os.PathLike | IO,
    *,
    truth: pd.DataFrame | None = None,
    node_attrs: Mapping[str, Mapping[str, object]] | pd.DataFrame | None = None,
) -> None:
    """Write an edge table as a directed GraphML graph (Cytoscape: File > Import > Network from File).

    Parameters
    ----------
    edges
        ``source, target, weight`` table; an edge points from regulator (source) to target.
        Extra scalar columns become edge attributes too.
    path_or_buffer
        File path, or an open text or binary file object.
    truth
        Optional ground-truth edge table; adds ``status`` (``TP``/``FP``) and ``true_sign``.
    node_attrs
        Optional per-gene attributes: a mapping ``gene -> {attribute: value}`` or a
        DataFrame indexed by gene. Genes listed here but without edges are kept as
        isolated nodes.

    Notes
    -----
    Edge attributes: ``weight`` (signed effect), ``abs_weight``, ``sign`` (+1/-1/0),
    plus ``status``/``true_sign`` with ``truth``. Every node has ``name`` = gene.
    Missing values (NA, nan) are left out rather than written.
    """
    text = to_graphml_string(edges, truth=truth, node_attrs=node_attrs)
    if hasattr(path_or_buffer, "write"):
        if isinstance(path_or_buffer, io.TextIOBase):
            path_or_buffer.write(text)
        else:
            path_or_buffer.write(text.encode("utf-8"))
        return
    with open(path_or_buffer, "w", encoding="utf-8") as fh:
        fh.write(text)


# --------------------------------------------------------------------------- matrix comparisons


def reconstruction_error(E: np.ndarray, truth_or_prior: np.ndarray) -> dict[str, float | int]:
    """How far the learned network is from a reference network (ground truth or prior).

    Both are ``(n, n)`` regulator x target matrices over the same genes; all
    ``n^2`` pairs count, self-loops included.

    Returns
    -------
    dict
        ``n_mismatch`` (pairs whose support differs: ``1[E != 0] != 1[R != 0]``),
        ``mismatch_fraction`` (``n_mismatch / n^2``), ``n_extra`` (edges in ``E`` only),
        ``n_missing`` (edges in the reference only), ``support_frobenius``
        (``||1[E != 0] - 1[R != 0]||_F = sqrt(n_mismatch)``) and ``sign_frobenius``
        (``||sign(E) - sign(R)||_F``; a sign flip contributes 4 to the squared norm).
    """
    e = np.asarray(E, dtype=np.float64)
    r = np.asarray(truth_or_prior, dtype=np.float64)
    if e.ndim != 2 or e.shape[0] != e.shape[1] or e.shape != r.shape:
        raise ValueError(f"E {e.shape} and reference {r.shape} must be square matrices of the same shape")
    se, sr = e != 0, r != 0
    n_mismatch = int(np.sum(se != sr))
    return {
        "n_mismatch": n_mismatch,
        "mismatch_fraction": n_mismatch / e.size if e.size else 0.0,
        "n_extra": int(np.sum(se & ~sr)),
        "n_missing": int(np.sum(~se & sr)),
        "support_frobenius": float(np.sqrt(n_mismatch)),
        "sign_frobenius": float(np.linalg.norm(np.sign(e) - np.sign(r))),
    }


def gene_order(truth_or_prior: np.ndarray | pd.DataFrame, genes: list[str]) -> list[int]:
    """Display order for heatmaps: regulators first, by decreasing out-degree, then the other genes.

    Parameters
    ----------
    truth_or_prior
        ``(n, n)`` regulator x target matrix, or an edge table (aligned to ``genes``
        with :func:`edges_to_matrix`).
    genes
        Gene names of the rows/columns.

    Returns
    -------
    list of int
        Indices into ``genes``; ties (and all non-regulators) keep the original order.
        Reorder a matrix with ``M[np.ix_(order, order)]``.
    """
    if isinstance(truth_or_prior, pd.DataFrame):
        m = edges_to_matrix(truth_or_prior, genes)
    else:
        m = np.asarray(truth_or_prior)
    if m.shape != (len(genes), len(genes)):
        raise ValueError(f"matrix has shape {m.shape}, expected ({len(genes)}, {len(genes)})")
    degree = np.count_nonzero(m, axis=1)
    return [int(i) for i in np.argsort(-degree, kind="stable")]

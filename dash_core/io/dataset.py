"""Load a complete :class:`~dash_core.data.Dataset` from user files.

:func:`load_dataset` reads the expression time series, the optional networks
(prior, PPI, gold standard) and an optional test set, aligns every network to
the expression gene index (edges touching genes absent from the data are
dropped, with a coverage report) and returns the dataset together with all
validation findings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dash_core.data import Dataset, ExpressionData, Trajectory
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.expression import minmax_scale, read_expression
from dash_core.io.gene_names import _resolve_genes
from dash_core.io.networks import kind_label, read_network
from dash_core.io.text import _quoted, _source_name
from dash_core.network import edges_to_matrix


def prior_coverage(edges: pd.DataFrame, genes: Sequence[str]) -> dict:
    """How well a network's genes and edges match the data's gene index.

    Parameters
    ----------
    edges
        Edge table ``source, target[, weight]``.
    genes
        The expression gene index.

    Returns
    -------
    dict
        ``n_prior_genes`` (distinct genes in the edge table), ``n_in_data`` (of
        those, genes in ``genes``), ``n_edges``, ``n_edges_kept`` (edges whose
        source and target are both in ``genes``), ``fraction_genes_covered``
        (``n_in_data / n_prior_genes``) and ``fraction_data_genes_in_prior``
        (``n_in_data / len(genes)``).
    """
    gene_set = set(map(str, genes))
    src = edges["source"].astype(str).to_numpy() if len(edges) else np.array([], dtype=object)
    tgt = edges["target"].astype(str).to_numpy() if len(edges) else np.array([], dtype=object)
    net_genes = set(src.tolist()) | set(tgt.tolist())
    in_data = net_genes & gene_set
    kept = int(sum(s in gene_set and t in gene_set for s, t in zip(src, tgt)))
    return {
        "n_prior_genes": len(net_genes),
        "n_in_data": len(in_data),
        "n_edges": int(len(edges)),
        "n_edges_kept": kept,
        "fraction_genes_covered": len(in_data) / len(net_genes) if net_genes else 0.0,
        "fraction_data_genes_in_prior": len(in_data) / len(gene_set) if gene_set else 0.0,
    }


def align_network(
    edges: pd.DataFrame, genes: Sequence[str], *, kind: str = "prior", source: str | None = None
) -> tuple[pd.DataFrame, ValidationReport, dict]:
    """Keep the edges whose source and target are both in ``genes``; report coverage.

    Parameters
    ----------
    edges
        Edge table ``source, target, weight`` (source = regulator).
    genes
        Expression gene index.
    kind
        ``'prior'``, ``'ppi'`` or ``'truth'`` (for messages).
    source
        File name for messages.

    Returns
    -------
    (pandas.DataFrame, ValidationReport, dict)
        The kept edges (same columns, file order), the report (an info line
        when everything is covered, a warning naming absent genes otherwise)
        and the :func:`prior_coverage` dict.

    Raises
    ------
    DashInputError
        If no edge remains (no overlap between the network's and the data's genes).
    """
    report = ValidationReport()
    label = kind_label(kind)
    cov = prior_coverage(edges, genes)
    gene_set = set(map(str, genes))
    src = edges["source"].astype(str)
    tgt = edges["target"].astype(str)
    keep = (src.isin(gene_set) & tgt.isin(gene_set)).to_numpy()
    summary = (
        f"{label}: {cov['n_in_data']} of {cov['n_prior_genes']} genes are in the expression data "
        f"({100 * cov['fraction_genes_covered']:.0f}%), {cov['n_edges_kept']} of {cov['n_edges']} edges kept; "
        f"the network touches {cov['n_in_data']} of the {len(gene_set)} data genes "
        f"({100 * cov['fraction_data_genes_in_prior']:.0f}%)."
    )
    if cov["n_edges_kept"] == 0:
        net_genes = sorted(set(src) | set(tgt))
        raise DashInputError(
            f"None of the {cov['n_edges']} edges of the {label} connects two genes of the expression data "
            f"({cov['n_in_data']} of its {cov['n_prior_genes']} genes are in the data). Network genes look like "
            f"{_quoted(net_genes, 4)}; data genes look like {_quoted(list(genes), 4)}. Check that both use the same "
            "gene identifiers (and, for an unlabelled matrix or PHOENIX file, the same gene-name file).",
            source=source,
        )
    if keep.all():
        report.info(summary, source=source)
    else:
        absent = sorted((set(src) | set(tgt)) - gene_set)
        report.warning(
            f"{summary} {int((~keep).sum())} edge(s) involving {len(absent)} gene(s) absent from the expression data "
            f"were dropped (e.g. {_quoted(absent, 5)}).",
            source=source,
        )
    return edges.loc[keep].reset_index(drop=True), report, cov


def orientation_preview(edges: pd.DataFrame, genes: Sequence[str], k: int = 8) -> pd.DataFrame:
    """The first ``k x k`` block of the regulator x target matrix, for checking orientation.

    Parameters
    ----------
    edges
        Edge table ``source, target[, weight]``.
    genes
        Gene index; the block covers ``genes[:k]``.
    k
        Block size (capped at ``len(genes)``).

    Returns
    -------
    pandas.DataFrame
        ``(k, k)``; entry ``[i, j]`` = weight of edge ``genes[i] -> genes[j]``
        (row = regulator, column = target; 0 = no edge); index named
        ``"regulator"``, columns named ``"target"``.
    """
    genes = [str(g) for g in genes]
    k = max(0, min(int(k), len(genes)))
    block = edges_to_matrix(edges, genes)[:k, :k] if k else np.zeros((0, 0))
    return pd.DataFrame(block, index=pd.Index(genes[:k], name="regulator"), columns=pd.Index(genes[:k], name="target"))


def _align_test(test: ExpressionData, genes: list[str], name: str, report: ValidationReport,
                label: str = "test") -> ExpressionData:
    if test.genes == genes:
        return test
    pos = {g: i for i, g in enumerate(test.genes)}
    missing = [g for g in genes if g not in pos]
    if missing:
        raise DashInputError(
            f"The {label} expression lacks {len(missing)} gene(s) of the training data: {_quoted(missing)}. The "
            f"{label} set must measure the same genes as the training set.",
            source=name,
        )
    extra = [g for g in test.genes if g not in set(genes)]
    if extra:
        report.warning(
            f"{len(extra)} gene(s) of the {label} expression are not in the training data and were dropped: "
            f"{_quoted(extra)}.",
            source=name,
        )
    else:
        report.info(f"The genes of the {label} expression were reordered to match the training data.", source=name)
    idx = [pos[g] for g in genes]
    return ExpressionData(list(genes), [Trajectory(t.name, t.times, t.values[:, idx]) for t in test.trajectories])


def load_dataset(
    expression: Any,
    prior: Any = None,
    *,
    genes: Any = None,
    ppi: Any = None,
    truth: Any = None,
    test_expression: Any = None,
    name: str | None = None,
    validation_expression: Any = None,
    h5ad: Any = None,
) -> tuple[Dataset, ValidationReport]:
    """Read, validate and align everything a run needs.

    Parameters
    ----------
    expression
        Training expression (tidy or PHOENIX file, path or file-like; or an
        :class:`~dash_core.data.ExpressionData`).
    prior, ppi, truth
        Optional networks (edge table or matrix files, or edge-table
        DataFrames), see :func:`~dash_core.io.networks.read_network`.
    genes
        Gene names (one-column file or sequence): names the rows of PHOENIX
        expression files and of unlabelled network matrices. Without it,
        PHOENIX genes are ``G1..Gn`` and unlabelled matrices take the
        expression gene names.
    test_expression
        Optional held-out test trajectories; must contain every training gene
        (reordered to the training order, extra genes dropped).
    validation_expression
        Optional separate validation series (e.g. a second replicate), aligned
        like the test set; it then chooses the reported checkpoint.
    h5ad
        :class:`~dash_core.io.h5ad.H5adOptions` for ``.h5ad`` expression files
        (time / trajectory columns, bins, layer); the same options apply to
        ``.h5ad`` test and validation files.
    name
        Dataset label; default: the expression file's name without suffix.

    Returns
    -------
    (Dataset, ValidationReport)
        Networks are edge tables ``source, target, weight`` restricted to the
        expression genes (row = regulator when turned into matrices);
        ``metadata`` holds the source names and the coverage dicts.

    Raises
    ------
    DashInputError
        Any fatal problem of any input (the message names the file).
    """
    report = ValidationReport()
    gene_list = None
    if genes is not None:
        gene_list, _ = _resolve_genes(genes)
    expr_name = _source_name(expression, "expression")
    expr, rep = read_expression(expression, genes=gene_list, h5ad=h5ad)
    report.extend(rep)
    metadata: dict = {"sources": {"expression": expr_name}, "coverage": {}}
    nets: dict[str, pd.DataFrame | None] = {}
    for kind, src in (("prior", prior), ("ppi", ppi), ("truth", truth)):
        if src is None:
            nets[kind] = None
            continue
        src_name = _source_name(src, kind_label(kind))
        try:
            edges, rep = read_network(src, genes=gene_list if gene_list is not None else expr.genes, kind=kind)
        except DashInputError as exc:
            if gene_list is None and "unlabelled" in exc.plain_message and "names but" in exc.plain_message:
                raise DashInputError(
                    f"{exc.plain_message} (Without a gene-name file, an unlabelled matrix is named with the "
                    f"{expr.n_genes} genes of the expression data.)",
                    source=exc.source,
                ) from None
            raise
        report.extend(rep)
        edges, rep, cov = align_network(edges, expr.genes, kind=kind, source=src_name)
        report.extend(rep)
        nets[kind] = edges
        metadata["sources"][kind] = src_name
        metadata["coverage"][kind] = cov
    held_out: dict[str, ExpressionData | None] = {}
    for key, src, label in (("test_expression", test_expression, "test"),
                            ("validation_expression", validation_expression, "validation")):
        held_out[key] = None
        if src is None:
            continue
        src_name = _source_name(src, f"{label} expression")
        data, rep = read_expression(src, genes=gene_list, h5ad=h5ad)
        report.extend(rep)
        held_out[key] = _align_test(data, expr.genes, src_name, report, label)
        metadata["sources"][key] = src_name
    metadata["value_range"] = expr.value_range()
    if name is None:
        name = Path(expr_name).stem if expr_name != "expression" else "dataset"
    dataset = Dataset(
        expression=expr,
        prior=nets["prior"],
        ppi=nets["ppi"],
        truth=nets["truth"],
        test_expression=held_out["test_expression"],
        validation_expression=held_out["validation_expression"],
        name=name,
        metadata=metadata,
    )
    return dataset, report


def minmax_scale_dataset(dataset: Dataset) -> tuple[Dataset, tuple[float, float]]:
    """Min-max scale a dataset's expression to [0, 1] with the training range.

    The training (+ validation) expression defines ``(min, max)``; the test
    sets (noisy and clean) and a separate validation series are scaled with the same range, so a test MSE stays
    comparable with the training loss (their values may fall slightly outside
    [0, 1]). Networks are unchanged.

    Returns
    -------
    (Dataset, (float, float))
        A scaled copy (the input is not modified) and the ``(min, max)`` used.

    Raises
    ------
    DashInputError
        If all training values are equal (nothing to scale).
    """
    expr, value_range = minmax_scale(dataset.expression)
    scaled = dataclasses.replace(dataset, expression=expr)
    return scaled.map_extra_series(lambda series: minmax_scale(series, value_range=value_range)[0]), value_range


__all__ = ["align_network", "load_dataset", "minmax_scale_dataset", "orientation_preview", "prior_coverage"]

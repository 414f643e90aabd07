"""Readers, writers and validation of user input (expression, networks, datasets).

Public API (imported lazily, so that :mod:`dash_core.data`, which imports
:mod:`dash_core.io.errors`, can be imported first without a cycle):

* :func:`read_expression` (every format), :func:`minmax_scale`
  (:mod:`dash_core.io.expression`); one reader module per format:
  :mod:`~dash_core.io.tidy` (:func:`write_expression_tidy`),
  :mod:`~dash_core.io.phoenix` (:func:`write_expression_phoenix`),
  :mod:`~dash_core.io.h5ad` (:func:`read_h5ad`, :class:`H5adOptions`) and
  :mod:`~dash_core.io.gene_names` (:func:`read_gene_names`,
  :func:`write_gene_names`); shared tokenising in :mod:`~dash_core.io.text`;
* :func:`read_network`, :func:`write_edges` (:mod:`dash_core.io.networks`);
* :func:`load_dataset`, :func:`minmax_scale_dataset`, :func:`orientation_preview`, :func:`prior_coverage`,
  :func:`align_network` (:mod:`dash_core.io.dataset`);
* :class:`DashInputError`, :class:`ValidationReport`,
  :class:`ValidationIssue` (:mod:`dash_core.io.errors`).
"""

from __future__ import annotations

import importlib
from typing import Any

from dash_core.io.errors import DashInputError, ValidationIssue, ValidationReport

_LAZY = {
    "read_expression": "expression",
    "read_gene_names": "gene_names",
    "minmax_scale": "expression",
    "write_expression_tidy": "tidy",
    "write_expression_phoenix": "phoenix",
    "write_gene_names": "gene_names",
    "default_gene_names": "gene_names",
    "read_h5ad": "h5ad",
    "H5adOptions": "h5ad",
    "detect_expression_format": "expression",
    "read_network": "networks",
    "write_edges": "networks",
    "empty_edges": "networks",
    "kind_label": "networks",
    "load_dataset": "dataset",
    "minmax_scale_dataset": "dataset",
    "orientation_preview": "dataset",
    "prior_coverage": "dataset",
    "align_network": "dataset",
}

__all__ = ["DashInputError", "ValidationIssue", "ValidationReport", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dash_core.io' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dash_core.io.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

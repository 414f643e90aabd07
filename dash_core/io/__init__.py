"""Readers, writers and validation of user input (expression, networks, datasets).

Public API (imported lazily, so that :mod:`dash_core.data`, which imports
:mod:`dash_core.io.errors`, can be imported first without a cycle):

* :func:`read_expression`, :func:`read_gene_names`, :func:`minmax_scale`,
  :func:`write_expression_tidy`, :func:`write_expression_phoenix`,
  :func:`write_gene_names` (:mod:`dash_core.io.expression`);
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
    "read_gene_names": "expression",
    "minmax_scale": "expression",
    "write_expression_tidy": "expression",
    "write_expression_phoenix": "expression",
    "write_gene_names": "expression",
    "default_gene_names": "expression",
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

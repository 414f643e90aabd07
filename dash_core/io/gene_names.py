"""Gene-name files: one name per line, as written by hand, R (``write.csv``) or Excel.

Understood quirks: a first line that is a column title (``gene``, ``name``,
``"x"`` - R's title of an unnamed vector - ...), quoted names, a BOM, and R's
two-column files (``"x","name"``: an identifier column and a symbol column),
from which the column that holds one valid, unique name per gene is taken.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dash_core.io.errors import DashInputError
from dash_core.io.text import (
    _check_gene_list,
    _open_text_out,
    _quoted,
    _read_table,
    _read_text,
    _source_name,
    _strip_trailing,
)

GENE_FILE_HEADERS = (
    "gene",
    "genes",
    "gene_name",
    "gene_names",
    "name",
    "names",
    "symbol",
    "gene_symbol",
    "gene_id",
    "id",
)


def read_gene_names(src: Any) -> list[str]:
    """Read a gene-name file: one name per line (or all names on one delimited line).

    Parameters
    ----------
    src
        Path, file-like object, or an in-memory sequence of names. A first line
        that is a column title such as ``gene`` or ``gene_name`` is skipped.

    Returns
    -------
    list of str
        The gene names in file order (unique, non-empty).

    Raises
    ------
    DashInputError
        Empty file, several fields on a line, empty or duplicate names.
    """
    if not isinstance(src, (str, os.PathLike)) and isinstance(src, (Sequence, np.ndarray, pd.Index, pd.Series)):
        return _check_gene_list(list(src), "gene list")
    table = _read_table(src)
    rows = table.rows
    if table.delimiter == "ws" and len(rows) > 1:
        # one name per line; a name may not be split at inner spaces
        text, _ = _read_text(src)
        rows = [
            (i, [ln.strip()])
            for i, ln in enumerate(text.splitlines(), start=1)
            if ln.strip() and not ln.lstrip().startswith("#")
        ]
    if len(rows) == 1:
        names = [f for f in rows[0][1] if f]
    else:
        multi = [(ln, f) for ln, f in rows if len(_strip_trailing(f)) > 1]
        if multi:
            ln, f = multi[0]
            raise DashInputError(
                f"A gene-name file must list one name per line, but line {ln} has {len(_strip_trailing(f))} fields "
                f"({_quoted(_strip_trailing(f), 3)}).",
                source=table.name,
            )
        names = [f[0] for _, f in rows]
    if len(names) > 1 and names[0].strip().lower().replace(" ", "_") in GENE_FILE_HEADERS:
        names = names[1:]
    return _check_gene_list(names, table.name)


def _resolve_genes(genes: Any) -> tuple[list[str], str]:
    """Gene names and a label for messages from a path, file-like or sequence."""
    if not isinstance(genes, (str, os.PathLike)) and isinstance(genes, (Sequence, np.ndarray, pd.Index, pd.Series)):
        return _check_gene_list(list(genes), "gene list"), "the gene list"
    return read_gene_names(genes), f"the gene-name file '{_source_name(genes)}'"


def default_gene_names(n: int) -> list[str]:
    """``['G1', ..., 'Gn']``."""
    return [f"G{i}" for i in range(1, n + 1)]



def write_gene_names(genes: Sequence[str], path: Any) -> None:
    """Write one gene name per line."""
    fh, close = _open_text_out(path)
    try:
        fh.write("".join(f"{g}\n" for g in genes))
    finally:
        if close:
            fh.close()



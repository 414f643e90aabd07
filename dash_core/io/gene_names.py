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
    MISSING_TOKENS,
    _check_gene_list,
    _is_number,
    _open_text_out,
    _quoted,
    _read_table,
    _read_text,
    _source_name,
    _strip_trailing,
    _unquote,
)

#: Column titles of the gene-name columns that are preferred in a several-column gene file.
NAME_COLUMNS = ("gene", "genes", "gene_name", "gene_names", "name", "names", "symbol", "gene_symbol")
#: First lines taken as a column title, not a gene; ``x`` is R's title of an unnamed vector (``write.csv(v)``).
GENE_FILE_HEADERS = (
    "x",
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
        Path, file-like object, or an in-memory sequence of names. Files written
        by R or Excel are read as published: a first line that is a column
        title (``gene``, ``gene_name``, ``name``, ``"x"``, ...) is skipped,
        quotes and a BOM are removed, and from a table of several columns with
        a title line (R's ``"x","name"``) the column that holds one valid,
        unique name per gene is taken (a titled ``name``/``gene``/``symbol``
        column first; one with missing entries such as ``None`` or ``NA``, or
        with repeated names, is passed over for the next).

    Returns
    -------
    list of str
        The gene names in file order (unique, non-empty).

    Raises
    ------
    DashInputError
        Empty file, rows of different widths, no column of unique names,
        empty or duplicate names.
    """
    if not isinstance(src, (str, os.PathLike)) and isinstance(src, (Sequence, np.ndarray, pd.Index, pd.Series)):
        return _check_gene_list(list(src), "gene list")
    table = _read_table(src)
    rows = table.rows
    if table.delimiter == "ws" and len(rows) > 1:
        # one name per line; a name may not be split at inner spaces
        text, _ = _read_text(src)
        rows = [
            (i, [_unquote(ln)])
            for i, ln in enumerate(text.splitlines(), start=1)
            if ln.strip() and not ln.lstrip().startswith("#")
        ]
    if len(rows) == 1:
        names = [f for f in rows[0][1] if f]
        if len(names) > 1 and _is_title(names[0]):
            names = names[1:]
        return _check_gene_list(names, table.name)
    widths = {len(_strip_trailing(f)) for _, f in rows}
    if widths == {1}:
        names = [f[0] for _, f in rows]
        if _is_title(names[0]):
            names = names[1:]
        return _check_gene_list(names, table.name)
    return _names_from_columns(rows, table.name)


def _is_title(cell: str) -> bool:
    return cell.strip().lower().replace(" ", "_") in GENE_FILE_HEADERS


def _names_from_columns(rows: list[tuple[int, list[str]]], name: str) -> list[str]:
    """The gene names of a several-column gene file with a title line (R's ``"x","name"``)."""
    header_line, header = rows[0]
    header = _strip_trailing(header)
    width = len(header)
    bad = [(ln, len(_strip_trailing(f))) for ln, f in rows[1:] if len(_strip_trailing(f)) != width]
    titled = all(not h or not _is_number(h) for h in header) and any(_is_title(h) for h in header)
    if bad or not titled:
        ln, k = bad[0] if bad else (header_line, width)
        raise DashInputError(
            f"A gene-name file must list one name per line (or be a table with a title line such as "
            f"\"x\",\"name\"), but line {ln} has {k} fields ({_quoted(_strip_trailing(dict(rows)[ln]), 3)}).",
            source=name,
        )
    preferred = sorted(range(width), key=lambda j: (header[j].strip().lower() not in NAME_COLUMNS, j))
    problems = []
    for j in preferred:
        col = [f[j] if j < len(f) else "" for _, f in rows[1:]]
        missing = [g for g in col if g.strip().lower() in MISSING_TOKENS]
        dups = len(col) - len(set(col))
        if not missing and not dups:
            return _check_gene_list(col, name)
        what = []
        if missing:
            what.append(f"{len(missing)} missing ({_quoted(sorted(set(missing)), 2)})")
        if dups:
            what.append(f"{dups} repeated")
        problems.append(f"column '{header[j] or j + 1}' has {' and '.join(what)} name(s)")
    raise DashInputError(
        f"No column of the gene-name table (line {header_line}: {_quoted(header, 4)}) holds one unique name per "
        f"gene: {'; '.join(problems)}. Give a one-column file with one unique name per gene.",
        source=name,
    )


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



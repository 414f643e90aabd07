"""Gene-set files in GMT format (reader, writer, coverage report).

A GMT file has one gene set per line, tab-separated::

    NAME <TAB> DESCRIPTION <TAB> GENE1 <TAB> GENE2 ...

Blank lines and lines starting with ``#`` are skipped. Empty gene fields
(trailing tabs) are ignored. A set named twice is merged (warning); a gene
listed twice in one set is kept once (note). Used by the pathway analysis
(methods G) and by gseapy, which receives the parsed ``dict`` (never a library name).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Union

import pandas as pd

from dash_core.io.errors import DashInputError, ValidationReport

GmtSource = Union[str, os.PathLike, bytes, IO[str], IO[bytes]]

#: Separator of multi-symbol probe names such as ``"A /// B"`` (methods G.1).
MULTI_SYMBOL_SEPARATOR = re.compile(r"\s*///\s*")


def _read_text(src: GmtSource) -> tuple[str, str]:
    """Return ``(text, display name)`` for a path, raw bytes or an (uploaded) file object."""
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if not path.exists():
            raise DashInputError("Gene-set file not found; check the path.", source=str(path))
        if path.is_dir():
            raise DashInputError("This is a folder; give the path of a .gmt file.", source=str(path))
        raw = path.read_bytes()
        name = str(path)
    elif isinstance(src, (bytes, bytearray)):
        raw, name = bytes(src), "gene-set file"
    elif hasattr(src, "read"):
        name = str(getattr(src, "name", "uploaded gene-set file"))
        if hasattr(src, "seek"):
            try:
                src.seek(0)
            except (OSError, io.UnsupportedOperation):
                pass
        data = src.read()
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    else:
        raise DashInputError(f"Cannot read gene sets from a {type(src).__name__}; give a .gmt path or file.")
    try:
        return raw.decode("utf-8-sig"), name
    except UnicodeDecodeError as exc:
        raise DashInputError(f"The file is not UTF-8 text (byte {exc.start}); save the GMT file as UTF-8 text.",
                             source=name) from None


def read_gmt(src: GmtSource) -> tuple[dict[str, list[str]], ValidationReport]:
    """Read gene sets from a GMT file.

    Parameters
    ----------
    src
        A path, raw bytes, or a text/binary file object (e.g. a Streamlit upload).

    Returns
    -------
    sets
        Set name -> member genes (file order, duplicates removed).
    report
        Warnings (merged duplicate set names) and notes (duplicate genes, skipped fields).

    Raises
    ------
    DashInputError
        On a line with fewer than 3 tab-separated fields, an empty set name, or a
        file without any gene set; the message names the line number.
    """
    text, name = _read_text(src)
    report = ValidationReport()
    sets: dict[str, list[str]] = {}
    seen_lines: dict[str, int] = {}
    dup_genes = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) < 3:
            hint = " GMT fields must be separated by tabs, not spaces." if " " in line.strip() else ""
            raise DashInputError(
                f"line {lineno}: expected at least 3 tab-separated fields (name, description, genes...), "
                f"found {len(fields)}.{hint}", source=name)
        set_name = fields[0].strip()
        if not set_name:
            raise DashInputError(f"line {lineno}: the gene-set name (first field) is empty.", source=name)
        genes = [g.strip() for g in fields[2:] if g.strip()]
        if not genes:
            raise DashInputError(f"line {lineno}: gene set {set_name!r} lists no genes (fields 3 and later are empty).",
                                 source=name)
        unique = list(dict.fromkeys(genes))
        dup_genes += len(genes) - len(unique)
        if set_name in sets:
            report.warning(f"line {lineno}: gene set {set_name!r} was already defined on line "
                           f"{seen_lines[set_name]}; the two are merged.", source=name)
            sets[set_name] = list(dict.fromkeys(sets[set_name] + unique))
        else:
            sets[set_name] = unique
            seen_lines[set_name] = lineno
    if not sets:
        raise DashInputError("The file contains no gene sets (expected lines NAME<TAB>DESCRIPTION<TAB>GENE...).",
                             source=name)
    if dup_genes:
        report.info(f"{dup_genes} repeated gene entries within sets were kept once.", source=name)
    report.info(f"{len(sets)} gene sets read.", source=name)
    return sets, report


def write_gmt(sets: Mapping[str, Iterable[str]], path, descriptions: Mapping[str, str] | None = None) -> Path:
    """Write gene sets as GMT (``name<TAB>description<TAB>genes...``); the description defaults to the name."""
    path = Path(path)
    descriptions = descriptions or {}
    with path.open("w", encoding="utf-8") as fh:
        for set_name, members in sets.items():
            fh.write("\t".join([set_name, descriptions.get(set_name, set_name), *members]) + "\n")
    return path


def split_symbols(name: str) -> list[str]:
    """Split a multi-symbol name (``"A /// B"``) into its symbols (methods G.1)."""
    parts = [p.strip() for p in MULTI_SYMBOL_SEPARATOR.split(str(name))]
    return [p for p in parts if p] or [str(name).strip()]


def gene_set_coverage(sets: Mapping[str, Iterable[str]], genes: Iterable[str]) -> pd.DataFrame:
    """How much of each gene set the data (or model) covers.

    Parameters
    ----------
    sets
        Set name -> member genes.
    genes
        Modelled gene names; multi-symbol names (``"A /// B"``) count for each symbol.

    Returns
    -------
    pandas.DataFrame
        Columns ``set, size, n_in_data, fraction`` (one row per set, file order);
        ``fraction = n_in_data / size``.
    """
    present = {s for g in genes for s in split_symbols(g)}
    rows = []
    for set_name, members in sets.items():
        uniq = list(dict.fromkeys(members))
        n_in = sum(1 for g in uniq if g in present)
        rows.append({"set": set_name, "size": len(uniq), "n_in_data": n_in,
                     "fraction": n_in / len(uniq) if uniq else 0.0})
    return pd.DataFrame(rows, columns=["set", "size", "n_in_data", "fraction"])

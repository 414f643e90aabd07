"""Network files (prior, PPI, gold standard): reading, validation and writing.

Three input forms are understood, all returned in the project's one network
format, a long ``pandas.DataFrame`` with columns ``source, target, weight``
(str, str, float; source = regulator, target = regulated gene), without zero
entries:

* **edge table** with a header: ``source,target[,weight|sign]`` (aliases such
  as ``regulator``/``tf``/``from`` and ``to``/``gene`` are accepted). Signs may
  be ``+ - 1 -1 activation repression activating repressing ...``. Without a
  weight or sign column every edge has weight 1.
* **labelled square matrix**: first column = row labels = regulators, header =
  targets (row = regulator, column = target).
* **unlabelled square numeric matrix** (row = regulator, column = target) plus
  gene names (a one-column file or a list; ``G1..Gn`` with a warning if absent).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.gene_names import _resolve_genes, default_gene_names
from dash_core.io.text import (
    MAX_LISTED,
    _float_cells,
    _is_number,
    _norm,
    _open_text_out,
    _preview,
    _quoted,
    _read_table,
    _strip_trailing,
    _Table,
    _table_from_frame,
)
from dash_core.network import EDGE_COLUMNS

SOURCE_ALIASES = ("source", "regulator", "tf", "from", "src", "regulator_gene", "tf_gene", "parent", "source_gene")
TARGET_ALIASES = ("target", "to", "gene", "tgt", "target_gene", "regulated_gene", "child", "regulated")
WEIGHT_ALIASES = ("weight", "w", "value", "score", "strength", "coefficient", "effect")
SIGN_ALIASES = ("sign", "mode", "mor", "type", "interaction", "regulation", "direction", "edge_type")

#: Accepted sign words (lower case) and their value.
SIGN_WORDS = {
    "+": 1.0, "+1": 1.0, "1": 1.0, "activation": 1.0, "activating": 1.0, "activates": 1.0, "activator": 1.0,
    "activate": 1.0, "act": 1.0, "positive": 1.0, "pos": 1.0, "up": 1.0, "stimulation": 1.0, "stimulating": 1.0,
    "-": -1.0, "-1": -1.0, "repression": -1.0, "repressing": -1.0, "represses": -1.0, "repressor": -1.0,
    "repress": -1.0, "rep": -1.0, "inhibition": -1.0, "inhibiting": -1.0, "inhibits": -1.0, "inhibitor": -1.0,
    "negative": -1.0, "neg": -1.0, "down": -1.0,
}  # fmt: skip

NETWORK_FORMATS = {
    "auto": "auto", "edges": "edges", "edge_table": "edges", "long": "edges", "matrix": "matrix",
    "labelled_matrix": "matrix", "labeled_matrix": "matrix", "unlabelled_matrix": "unlabelled_matrix",
    "unlabeled_matrix": "unlabelled_matrix",
}  # fmt: skip

KIND_LABELS = {"prior": "prior network", "ppi": "PPI network", "truth": "gold-standard network"}


def kind_label(kind: str) -> str:
    """User-facing name of a network kind (``prior``, ``ppi``, ``truth``)."""
    return KIND_LABELS.get(kind, f"{kind} network")


def empty_edges() -> pd.DataFrame:
    """An empty ``source, target, weight`` table with the right dtypes."""
    return pd.DataFrame(
        {
            "source": pd.Series([], dtype=str),
            "target": pd.Series([], dtype=str),
            "weight": pd.Series([], dtype=np.float64),
        }
    )


def _edges_frame(src: Sequence[str], tgt: Sequence[str], w: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"source": [str(s) for s in src], "target": [str(t) for t in tgt], "weight": np.asarray(w, dtype=np.float64)}
    )


# ----------------------------------------------------------------------------------------------------------------------
# Edge table
# ----------------------------------------------------------------------------------------------------------------------


def _find_column(normed: list[str], aliases: Sequence[str], taken: set[int]) -> int | None:
    for alias in aliases:  # alias order = priority ("source" before "tf")
        for i, h in enumerate(normed):
            if h == alias and i not in taken:
                return i
    return None


def _edge_columns(header: list[str]) -> dict[str, int | None]:
    normed = [_norm(h) for h in header]
    taken: set[int] = set()
    cols: dict[str, int | None] = {}
    for role, aliases in (
        ("source", SOURCE_ALIASES),
        ("target", TARGET_ALIASES),
        ("weight", WEIGHT_ALIASES),
        ("sign", SIGN_ALIASES),
    ):
        i = _find_column(normed, aliases, taken)
        cols[role] = i
        if i is not None:
            taken.add(i)
    return cols


def _parse_value(cell: str, *, sign_only: bool) -> float | None:
    """A number or a sign word; None if neither. With ``sign_only`` numbers map to their sign."""
    c = cell.strip().lower()
    if c in SIGN_WORDS:
        return SIGN_WORDS[c]
    try:
        v = float(c)
    except ValueError:
        return None
    if not np.isfinite(v):
        return None
    return float(np.sign(v)) if sign_only else v


def _parse_edge_table(table: _Table, report: ValidationReport, label: str) -> pd.DataFrame:
    name = table.name
    header_line, header = table.rows[0]
    header = _strip_trailing(header)
    cols = _edge_columns(header)
    if cols["source"] is None or cols["target"] is None:
        missing = [r for r in ("source", "target") if cols[r] is None]
        raise DashInputError(
            f"The {label} edge table lacks the required column(s) {_quoted(missing)} in its header (line "
            f"{header_line}); found {len(header)} column(s): {_quoted(header, 8)} (detected delimiter: "
            f"{table.delimiter_name}). Use a header `source,target[,weight]` (also accepted: regulator/tf/from and "
            "target/to/gene; a sign column with +/- or activation/repression).",
            source=name,
        )
    si, ti, wi, gi = cols["source"], cols["target"], cols["weight"], cols["sign"]
    used = [i for i in (si, ti, wi, gi) if i is not None]
    ignored = [header[i] for i in range(len(header)) if i not in used]
    if ignored:
        report.info(f"Column(s) {_quoted(ignored)} of the {label} are not used.", source=name)
    body = table.rows[1:]
    if not body:
        raise DashInputError(
            f"The {label} is empty: the header (line {header_line}) is followed by no edges.", source=name
        )
    need = max(used) + 1
    sources, targets, weights, lines = [], [], [], []
    short, blank, bad = [], [], []
    n_short = n_blank = n_bad = 0
    for ln, f in body:
        if len(f) < need and any(i >= len(f) for i in (si, ti)):
            n_short += 1
            if len(short) < MAX_LISTED:
                short.append(f"line {ln} ({len(f)} field(s))")
            continue
        s = f[si]
        t = f[ti]
        if not s or not t:
            n_blank += 1
            if len(blank) < MAX_LISTED:
                blank.append(f"line {ln}")
            continue
        w = 1.0
        if wi is not None:
            cell = f[wi] if wi < len(f) else ""
            v = _parse_value(cell, sign_only=False)
            if v is None:
                n_bad += 1
                if len(bad) < MAX_LISTED:
                    bad.append(f"line {ln} ({header[wi]}): '{cell}'")
                continue
            w = v
        if gi is not None:
            cell = f[gi] if gi < len(f) else ""
            v = _parse_value(cell, sign_only=True)
            if v is None:
                n_bad += 1
                if len(bad) < MAX_LISTED:
                    bad.append(f"line {ln} ({header[gi]}): '{cell}'")
                continue
            w = abs(w) * v if wi is not None else v
        sources.append(s)
        targets.append(t)
        weights.append(w)
        lines.append(ln)
    msgs = []
    if n_short:
        msgs.append(
            f"{n_short} row(s) have too few fields: {'; '.join(short)}"
            f"{f' and {n_short - len(short)} more' if n_short > len(short) else ''} (check the delimiter, "
            f"detected: {table.delimiter_name})"
        )
    if n_blank:
        msgs.append(f"{n_blank} row(s) have an empty source or target: {_preview(blank)}")
    if n_bad:
        msgs.append(
            f"{n_bad} weight/sign value(s) are missing or not understood: {'; '.join(bad)}"
            f"{f' and {n_bad - len(bad)} more' if n_bad > len(bad) else ''} (use numbers, or signs +, -, 1, "
            "-1, activation, repression)"
        )
    if msgs:
        raise DashInputError(f"The {label} has invalid rows. " + ". ".join(msgs) + ".", source=name)
    edges = _edges_frame(sources, targets, np.array(weights))
    dup = edges.duplicated(["source", "target"], keep="last")
    if dup.any():
        pairs = edges.loc[dup, ["source", "target"]].drop_duplicates()
        dup_lines = [lines[i] for i in np.flatnonzero(dup.to_numpy())]
        report.warning(
            f"{int(dup.sum())} duplicate edge row(s) in the {label} (e.g. "
            f"{_preview([f'{s}->{t}' for s, t in pairs.itertuples(index=False)], 3)}, lines {_preview(dup_lines, 3)}); "
            "the last occurrence of each edge is kept.",
            source=name,
        )
        edges = edges.loc[~dup].reset_index(drop=True)
    return edges


# ----------------------------------------------------------------------------------------------------------------------
# Matrices
# ----------------------------------------------------------------------------------------------------------------------


def _check_labels(labels: list[str], what: str, name: str, label: str) -> None:
    empty = [i + 1 for i, g in enumerate(labels) if not g]
    if empty:
        raise DashInputError(f"The {label} matrix has empty {what} (position(s) {_preview(empty)}).", source=name)
    seen: set[str] = set()
    dups = []
    for g in labels:
        if g in seen and g not in dups:
            dups.append(g)
        seen.add(g)
    if dups:
        raise DashInputError(f"The {label} matrix has duplicate {what}: {_quoted(dups)}.", source=name)


def _parse_labelled_matrix(table: _Table, report: ValidationReport, label: str) -> tuple[np.ndarray, list[str]]:
    name = table.name
    header_line, header = table.rows[0]
    body = table.rows[1:]
    if not body:
        raise DashInputError(f"The {label} matrix has a header (line {header_line}) but no rows.", source=name)
    widths = {len(f) for _, f in body}
    h = _strip_trailing(header) if len(header) > max(widths) else header
    if len(widths) != 1:
        counts = sorted(widths)
        bad = [f"line {ln} has {len(f)}" for ln, f in body if len(f) != len(body[0][1])]
        raise DashInputError(
            f"The rows of the {label} matrix have different numbers of fields ({_preview(counts)}); line "
            f"{body[0][0]} has {len(body[0][1])}, {_preview(bad, 3)}. Check the delimiter (detected: "
            f"{table.delimiter_name}).",
            source=name,
        )
    width = widths.pop()
    if width == len(h):
        targets = h[1:]  # the first header cell is the corner label
    elif width == len(h) + 1:
        targets = list(h)
    else:
        raise DashInputError(
            f"The header (line {header_line}) of the {label} matrix has {len(h)} fields but the rows have {width}; "
            "a labelled matrix has one header cell per target column (optionally after a corner cell) and rows "
            "`regulator,value,value,...`.",
            source=name,
        )
    regulators = [f[0] for _, f in body]
    n_rows, n_cols = len(regulators), len(targets)
    if n_rows != n_cols:
        raise DashInputError(
            f"The {label} matrix is not square: {n_rows} rows (regulators) x {n_cols} columns (targets). A network "
            "matrix must have the same genes as rows (regulators, first column) and columns (targets, header).",
            source=name,
        )
    _check_labels(regulators, "row labels (regulators)", name, label)
    _check_labels(targets, "column labels (targets)", name, label)
    if set(regulators) != set(targets):
        only_r = [g for g in regulators if g not in set(targets)]
        only_c = [g for g in targets if g not in set(regulators)]
        raise DashInputError(
            f"The row and column labels of the {label} matrix differ: only in rows {_quoted(only_r) or 'none'}; only "
            f"in columns {_quoted(only_c) or 'none'}. The first column must list the regulators and the header the "
            "same genes as targets.",
            source=name,
        )
    values = _float_cells(
        [f[1:] for _, f in body],
        [ln for ln, _ in body],
        [f"target {t}" for t in targets],
        what=f"{label} matrix",
        name=name,
        delimiter=table.delimiter,
        report=report,
        row_labels=[f"regulator {r}" for r in regulators],
    )
    if targets != regulators:
        pos = {g: j for j, g in enumerate(targets)}
        values = values[:, [pos[g] for g in regulators]]
        report.info(f"The columns of the {label} matrix were reordered to match its rows.", source=name)
    return values, regulators


def _parse_unlabelled_matrix(
    table: _Table, genes: Any, report: ValidationReport, label: str
) -> tuple[np.ndarray, list[str]]:
    name = table.name
    rows = table.rows
    n = len(rows)
    bad = [(ln, len(f)) for ln, f in rows if len(f) != n]
    if bad:
        raise DashInputError(
            f"The {label} matrix is not square: it has {n} rows but {_preview([f'line {ln} has {k} values' for ln, k in bad], 3)}. "
            "An unlabelled matrix must be n x n (rows = regulators, columns = targets).",
            source=name,
        )
    values = _float_cells(
        [f for _, f in rows],
        [ln for ln, _ in rows],
        [f"column {j + 1}" for j in range(n)],
        what=f"{label} matrix",
        name=name,
        delimiter=table.delimiter,
        report=report,
    )
    if genes is None:
        names = default_gene_names(n)
        report.warning(
            f"No gene names were given for the unlabelled {label} matrix; its {n} rows/columns are named G1..G{n}.",
            source=name,
        )
    else:
        names, glabel = _resolve_genes(genes)
        if len(names) != n:
            raise DashInputError(
                f"{glabel[0].upper()}{glabel[1:]} lists {len(names)} names but the unlabelled {label} matrix is "
                f"{n} x {n}. Use the gene-name file that belongs to this matrix.",
                source=name,
            )
    return values, names


# ----------------------------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------------------------


def _detect_network_format(table: _Table, label: str) -> str:
    header_line, header = table.rows[0]
    h = _strip_trailing(header)
    if h and all(_is_number(c) for c in h):
        return "unlabelled_matrix"
    cols = _edge_columns(h)
    if cols["source"] is not None and cols["target"] is not None:
        return "edges"
    body = table.rows[1:]
    if len(h) >= 2 and body:
        widths = {len(f) for _, f in body}
        first = body[0][1]
        if (
            widths <= {len(h), len(h) + 1}
            and len(first) >= 2
            and (first[1] == "" or _is_number(first[1]))
            and not _is_number(first[0])
        ):
            return "matrix"
    hint = ""
    if 2 <= len(h) <= 4 and (len(h) == 2 or _parse_value(h[2], sign_only=False) is not None):
        hint = (
            " The first line looks like an edge, not a header: add the header line `source,target,weight` at the top."
        )
    raise DashInputError(
        f"Cannot recognise the {label} file. Its first line (line {header_line}) is {_quoted(h, 6)} (detected "
        f"delimiter: {table.delimiter_name}). Expected either an edge table with a header `source,target[,weight]` "
        "(also accepted: regulator/tf/from, target/to/gene, sign), a labelled square matrix (first column = "
        "regulators, header = targets), or an unlabelled square numeric matrix with a gene-name file." + hint,
        source=table.name,
    )


def _finish(
    edges: pd.DataFrame, report: ValidationReport, label: str, name: str, drop_self_loops: bool,
    loops_expected: bool = False,
) -> pd.DataFrame:
    zero = edges["weight"].to_numpy() == 0
    if zero.any():
        report.info(
            f"{int(zero.sum())} zero-weight entr{'y' if zero.sum() == 1 else 'ies'} of the {label} dropped.",
            source=name,
        )
        edges = edges.loc[~zero]
    loops = (edges["source"] == edges["target"]).to_numpy()
    if loops.any():
        genes = edges.loc[loops, "source"].tolist()
        action = "dropped" if drop_self_loops else "kept"
        report.add("info" if loops_expected and not drop_self_loops else "warning",
            f"The {label} has {int(loops.sum())} self-loop(s) ({_preview([f'{g}->{g}' for g in genes], 3)}); "
            f"they were {action}.",
            source=name,
        )
        if drop_self_loops:
            edges = edges.loc[~loops]
    if len(edges) == 0:
        raise DashInputError(
            f"The {label} has no edges (no non-zero entries"
            f"{' besides self-loops' if loops.any() and drop_self_loops else ''}).",
            source=name,
        )
    return edges.reset_index(drop=True)


def read_network(
    src: Any,
    *,
    genes: Any = None,
    fmt: str = "auto",
    kind: str = "prior",
    drop_self_loops: bool | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read and validate a network file (prior, PPI or gold standard).

    Parameters
    ----------
    src
        Path, file-like object (``.name`` + ``getvalue()``/``read()``), or a
        ``pandas.DataFrame`` edge table.
    genes
        Names of the rows/columns of an **unlabelled** matrix (path / file-like
        of a one-column file, or a sequence); ignored by the labelled forms.
    fmt
        ``'auto'`` (default), ``'edges'``, ``'matrix'`` (labelled) or
        ``'unlabelled_matrix'``.
    kind
        ``'prior'``, ``'ppi'`` or ``'truth'``; used in messages.
    drop_self_loops
        Drop ``g -> g`` entries (reported as a warning). None (default): drop them
        from priors and gold standards, keep them in a PPI network, where
        self-interaction is part of the format (methods B.1: diagonal included).

    Returns
    -------
    (pandas.DataFrame, ValidationReport)
        Edge table ``source, target, weight`` (str, str, float64), source =
        regulator (matrix row), target = regulated gene (matrix column), no
        zero weights. Edge tables keep file order (last of duplicate rows);
        matrices give row-major order.

    Raises
    ------
    DashInputError
        Unrecognised layout, missing columns, invalid weights/signs, non-square
        or mislabelled matrices, gene-name list of the wrong length, no edges.
    """
    report = ValidationReport()
    label = kind_label(kind)
    key = NETWORK_FORMATS.get(str(fmt).lower())
    if key is None:
        raise DashInputError(f"Unknown network format '{fmt}'; use one of: auto, edges, matrix, unlabelled_matrix.")
    if isinstance(src, pd.DataFrame):
        table = _table_from_frame(src, f"{label} table")
    else:
        table = _read_table(src)
    if key == "auto":
        key = _detect_network_format(table, label)
    if key == "edges":
        edges = _parse_edge_table(table, report, label)
    else:
        if key == "matrix":
            mat, names = _parse_labelled_matrix(table, report, label)
        else:
            mat, names = _parse_unlabelled_matrix(table, genes, report, label)
        ii, jj = np.nonzero(mat)
        edges = _edges_frame([names[i] for i in ii], [names[j] for j in jj], mat[ii, jj])
    if drop_self_loops is None:
        drop_self_loops = kind != "ppi"
    edges = _finish(edges, report, label, table.name, drop_self_loops, loops_expected=kind == "ppi")
    report.info(f"Read {len(edges)} edges of the {label} ({key.replace('_', ' ')} form).", source=table.name)
    return edges, report


def write_edges(edges: pd.DataFrame, path: Any) -> None:
    """Write an edge table as CSV ``source,target,weight`` (exact float round trip).

    A missing ``weight`` column is written as 1.
    """
    missing = [c for c in ("source", "target") if c not in edges.columns]
    if missing:
        raise DashInputError(
            f"Cannot write edges: column(s) {_quoted(missing)} missing; found {_quoted(list(edges.columns))}."
        )
    w = edges["weight"].to_numpy(dtype=np.float64) if "weight" in edges.columns else np.ones(len(edges))
    fh, close = _open_text_out(path)
    try:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(EDGE_COLUMNS)
        for s, t, x in zip(edges["source"].astype(str), edges["target"].astype(str), w):
            out.writerow([s, t, repr(float(x))])
    finally:
        if close:
            fh.close()


__all__ = [
    "SIGN_WORDS",
    "empty_edges",
    "kind_label",
    "read_network",
    "write_edges",
]

"""Expression time series: reading, validation, scaling and writing.

Two file formats are understood (methods E.6):

* **tidy** (wide) table: a header ``trajectory,time,<gene1>,<gene2>,...`` and
  one row per observation;
* **PHOENIX** CSV: a first line ``n_genes,n_trajectories``; then, per
  trajectory, ``n_genes`` rows (one per gene, one column per time point)
  followed by one row of time points. Trajectories may have different numbers
  of time points (shorter rows end in empty cells). Gene names come from a
  separate one-column file, or default to ``G1..Gn`` with a warning.

The format and the delimiter (comma, tab, semicolon or whitespace) are
detected automatically. A source is a path or a file-like object such as a
Streamlit ``UploadedFile`` (``.name`` plus ``.getvalue()`` or ``.read()``);
its name is used in every message.

In memory, one trajectory's values are a ``(T, n)`` array: row = time point,
column = gene, in the order of :attr:`ExpressionData.genes`.

The low-level helpers at the top (source reading, delimiter detection,
tokenising with 1-based line numbers, number parsing) are shared with
:mod:`dash_core.io.networks`.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dash_core.data import ExpressionData, Trajectory
from dash_core.io.errors import DashInputError, ValidationReport

#: Values further than this below 0 or above 1 trigger the min-max scaling hint.
RANGE_MARGIN = 0.5
#: How many offending rows / genes a message names before summarising.
MAX_LISTED = 5

TRAJECTORY_ALIASES = (
    "trajectory",
    "traj",
    "trajectory_id",
    "trajectory_name",
    "series",
    "experiment",
    "sample",
    "replicate",
)
TIME_ALIASES = ("time", "t", "times", "timepoint", "time_point", "timepoints", "time_h", "hours")
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
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "?", "#n/a"})
EXPRESSION_FORMATS = {"auto": "auto", "tidy": "tidy", "wide": "tidy", "phoenix": "phoenix", "dash": "phoenix"}

_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "ws": "whitespace", None: "none (one column)"}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$")


# ----------------------------------------------------------------------------------------------------------------------
# Shared low-level helpers
# ----------------------------------------------------------------------------------------------------------------------


def _source_name(src: Any, default: str = "input") -> str:
    """A short, user-facing name of a path or file-like source."""
    if isinstance(src, (str, os.PathLike)):
        return str(src)
    name = getattr(src, "name", None)
    if isinstance(name, (str, os.PathLike)) and str(name):
        return str(name)
    return default


def _preview(items: Sequence[Any], k: int = MAX_LISTED) -> str:
    """``'a', 'b', 'c' and 4 more`` style listing of the first ``k`` items."""
    items = list(items)
    shown = ", ".join(str(i) for i in items[:k])
    return shown + (f" and {len(items) - k} more" if len(items) > k else "")


def _quoted(items: Sequence[Any], k: int = MAX_LISTED) -> str:
    return _preview([f"'{i}'" for i in items], k)


def _decode(data: bytes, name: str) -> str:
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DashInputError(
                f"The file looks gzip-compressed but cannot be decompressed ({exc}).", source=name
            ) from None
    if data[:4] == b"PK\x03\x04":
        raise DashInputError(
            "This is a zip or Excel (.xlsx) file, not a text table. Export it as CSV or TSV and load that file.",
            source=name,
        )
    if b"\x00" in data[:4096]:
        raise DashInputError("This is a binary file, not a text table. Provide a CSV or TSV text file.", source=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_text(src: Any) -> tuple[str, str]:
    """Return ``(text, name)`` of a path or file-like source.

    File-like objects may provide ``getvalue()`` (Streamlit ``UploadedFile``,
    ``io.BytesIO``) or ``read()``; a seekable stream is rewound before reading
    and left where it was.
    """
    name = _source_name(src)
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if not path.exists():
            raise DashInputError("File not found. Check the path.", source=name)
        if path.is_dir():
            raise DashInputError("This is a folder, not a file.", source=name)
        try:
            data: Any = path.read_bytes()
        except OSError as exc:
            raise DashInputError(f"The file cannot be read ({exc.strerror or exc}).", source=name) from None
    elif hasattr(src, "getvalue"):
        data = src.getvalue()
    elif hasattr(src, "read"):
        pos = None
        if hasattr(src, "seek") and hasattr(src, "tell"):
            try:
                pos = src.tell()
                src.seek(0)
            except (OSError, ValueError):
                pos = None
        data = src.read()
        if pos is not None:
            src.seek(pos)
    else:
        raise DashInputError(f"Cannot read a {type(src).__name__}: pass a file path or an uploaded file.", source=name)
    if isinstance(data, str):
        return data.lstrip("\ufeff"), name
    if isinstance(data, (bytes, bytearray, memoryview)):
        return _decode(bytes(data), name), name
    raise DashInputError(f"Reading the input gave a {type(data).__name__}, not text.", source=name)


def _detect_delimiter(lines: Sequence[str]) -> str | None:
    """Guess the delimiter of ``lines``: ``','``, ``'\\t'``, ``';'``, ``'ws'`` or None.

    A delimiter present on every line wins (tab before semicolon before
    comma); otherwise the one present on most lines; otherwise whitespace if
    any line has several whitespace-separated fields; otherwise None (a single
    column).
    """
    sample = [ln for ln in lines[:500] if ln.strip()]
    if not sample:
        return None
    candidates = ("\t", ";", ",")
    for d in candidates:
        if all(d in ln for ln in sample):
            return d
    counts = {d: sum(d in ln for ln in sample) for d in candidates}
    best = max(candidates, key=lambda d: counts[d])
    if counts[best] > 0:
        return best
    if any(len(ln.split()) > 1 for ln in sample):
        return "ws"
    return None


@dataclass(frozen=True)
class _Table:
    """Tokenised non-empty lines of a text source.

    Attributes
    ----------
    rows
        ``(line_number, fields)`` with 1-based line numbers; fields stripped.
    delimiter
        Detected delimiter (``','``, ``'\\t'``, ``';'``, ``'ws'`` or None).
    name
        Source name for messages.
    """

    rows: list[tuple[int, list[str]]]
    delimiter: str | None
    name: str

    @property
    def delimiter_name(self) -> str:
        return _DELIMITER_NAMES[self.delimiter]


def _read_table(src: Any) -> _Table:
    """Read and tokenise ``src``; blank lines and lines starting with ``#`` are skipped."""
    text, name = _read_text(src)
    lines = text.splitlines()
    content = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not content:
        raise DashInputError("The file is empty.", source=name)
    delim = _detect_delimiter(content)
    rows: list[tuple[int, list[str]]] = []
    if delim in (",", "\t", ";"):
        csv.field_size_limit(2**31 - 1)
        try:
            reader = csv.reader(lines, delimiter=delim, skipinitialspace=True)
            for fields in reader:
                if not fields or all(not f.strip() for f in fields):
                    continue
                if fields[0].lstrip().startswith("#"):
                    continue
                rows.append((reader.line_num, [f.strip() for f in fields]))
        except csv.Error as exc:
            raise DashInputError(
                f"The file cannot be parsed as a table near line {reader.line_num}: {exc}.", source=name
            ) from None
    else:
        for i, ln in enumerate(lines, start=1):
            if not ln.strip() or ln.lstrip().startswith("#"):
                continue
            rows.append((i, ln.split() if delim == "ws" else [ln.strip()]))
    if not rows:
        raise DashInputError("The file has no content besides delimiters and comments.", source=name)
    return _Table(rows, delim, name)


def _table_from_frame(df: pd.DataFrame, name: str) -> _Table:
    """A :class:`_Table` view of an in-memory DataFrame (line 1 = header)."""
    header = [str(c).strip() for c in df.columns]
    rows = [(1, header)]
    for i, rec in enumerate(df.itertuples(index=False, name=None), start=2):
        rows.append((i, ["" if (isinstance(v, float) and np.isnan(v)) or v is None else str(v).strip() for v in rec]))
    return _Table(rows, ",", name)


def _strip_trailing(fields: list[str]) -> list[str]:
    end = len(fields)
    while end and fields[end - 1] == "":
        end -= 1
    return fields[:end]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _float_cells(
    cells: list[list[str]],
    lines: Sequence[int],
    columns: Sequence[str],
    *,
    what: str,
    name: str,
    delimiter: str | None,
    report: ValidationReport | None = None,
    row_labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Convert a rectangular block of strings to floats, or raise a precise error.

    Parameters
    ----------
    cells
        ``R`` rows of ``C`` strings.
    lines
        1-based line number of each row (for messages).
    columns
        Label of each column (gene name, time point, ...) for messages.
    what
        What the block holds ("expression values", "time points", ...).
    delimiter
        With ``';'``, decimal commas (``0,5``) are accepted.
    row_labels
        Optional label of each row (e.g. the gene of a PHOENIX row).

    Returns
    -------
    numpy.ndarray
        ``(R, C)`` float64, all finite.
    """
    arr = np.array(cells, dtype=object).reshape(len(cells), len(columns))
    try:
        out = arr.astype(np.float64)
        if np.isfinite(out).all():
            return out
    except (ValueError, TypeError):
        pass
    if delimiter == ";":
        flat = arr.ravel()
        comma = np.array([isinstance(c, str) and bool(_DECIMAL_COMMA.match(c)) for c in flat])
        if comma.any():
            arr = np.where(comma, np.array([c.replace(",", ".") for c in flat], dtype=object), flat).reshape(arr.shape)
            if report is not None:
                report.info("Decimal commas (e.g. 0,5) were read as decimal points.", source=name)
            try:
                out = arr.astype(np.float64)
                if np.isfinite(out).all():
                    return out
            except (ValueError, TypeError):
                pass
    missing: list[str] = []
    bad: list[str] = []
    n_missing = n_bad = 0
    for r in range(arr.shape[0]):
        for c in range(arr.shape[1]):
            cell = str(arr[r, c]).strip()
            where = f"line {lines[r]} ({row_labels[r] + ', ' if row_labels else ''}{columns[c]})"
            if cell.lower() in MISSING_TOKENS:
                n_missing += 1
                if len(missing) < MAX_LISTED:
                    missing.append(where)
                continue
            try:
                v = float(cell)
            except ValueError:
                n_bad += 1
                if len(bad) < MAX_LISTED:
                    bad.append(f"{where}: '{cell}'")
                continue
            if not np.isfinite(v):
                n_bad += 1
                if len(bad) < MAX_LISTED:
                    bad.append(f"{where}: '{cell}' is not finite")
    parts = []
    if n_bad:
        more = f" and {n_bad - len(bad)} more" if n_bad > len(bad) else ""
        parts.append(f"{n_bad} non-numeric value(s) in the {what}: {'; '.join(bad)}{more}.")
    if n_missing:
        more = f" and {n_missing - len(missing)} more" if n_missing > len(missing) else ""
        parts.append(f"{n_missing} missing value(s) in the {what}: {'; '.join(missing)}{more}.")
    hint = " Every entry must be a number; fill in or remove the rows concerned."
    if n_bad and delimiter not in (";",) and any("," in b for b in bad):
        hint += " (Decimal commas are only understood in semicolon-separated files.)"
    raise DashInputError(" ".join(parts) + hint, source=name)


# ----------------------------------------------------------------------------------------------------------------------
# Gene names
# ----------------------------------------------------------------------------------------------------------------------


def _check_gene_list(names: Sequence[Any], name: str, *, what: str = "gene names") -> list[str]:
    genes = [str(g).strip() for g in names]
    empty = [i + 1 for i, g in enumerate(genes) if not g]
    if empty:
        raise DashInputError(f"The {what} contain empty entries (positions {_preview(empty)}).", source=name)
    seen: dict[str, int] = {}
    dups = []
    for g in genes:
        seen[g] = seen.get(g, 0) + 1
        if seen[g] == 2:
            dups.append(g)
    if dups:
        raise DashInputError(
            f"Duplicate gene name(s) in the {what}: {_quoted(dups)}. Every gene must appear once.", source=name
        )
    if not genes:
        raise DashInputError(f"The {what} are empty.", source=name)
    return genes


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


# ----------------------------------------------------------------------------------------------------------------------
# Trajectory checks shared by both formats
# ----------------------------------------------------------------------------------------------------------------------


@dataclass
class _RawTrajectory:
    name: str
    times: np.ndarray  # (T,)
    values: np.ndarray  # (T, n)
    lines: list[int]  # line number of each time point (for messages)


def _finalise(raw: list[_RawTrajectory], genes: list[str], name: str, report: ValidationReport) -> ExpressionData:
    """Check time points, sort, drop short trajectories and check the value range."""
    dup_msgs = []
    unsorted = []
    for tr in raw:
        uniq, counts = np.unique(tr.times, return_counts=True)
        if (counts > 1).any():
            dt = uniq[counts > 1]
            lines = [tr.lines[i] for i in range(len(tr.times)) if tr.times[i] in set(dt.tolist())]
            dup_msgs.append(
                f"trajectory '{tr.name}': time {_preview([_fmt(t) for t in dt], 3)} (lines {_preview(lines, 4)})"
            )
        elif len(tr.times) > 1 and (np.diff(tr.times) < 0).any():
            unsorted.append(tr.name)
            order = np.argsort(tr.times, kind="stable")
            tr.times, tr.values = tr.times[order], tr.values[order]
            tr.lines = [tr.lines[i] for i in order]
    if dup_msgs:
        raise DashInputError(
            f"Duplicate time points within a trajectory: {_preview(dup_msgs, 3)}. Each time point may occur once per "
            "trajectory; average or relabel the repeated measurements.",
            source=name,
        )
    if unsorted:
        report.warning(
            f"Time points of trajectory {_quoted(unsorted)} were not in increasing order; they have been sorted.",
            source=name,
        )
    short = [tr.name for tr in raw if len(tr.times) < 2]
    kept = [tr for tr in raw if len(tr.times) >= 2]
    if not kept:
        raise DashInputError(
            f"No trajectory has two or more time points (found {len(raw)} trajector{'y' if len(raw) == 1 else 'ies'}), "
            "so there is nothing to learn from. Each trajectory needs at least two observations.",
            source=name,
        )
    if short:
        report.warning(
            f"{len(short)} trajector{'y has' if len(short) == 1 else 'ies have'} fewer than 2 time points and "
            f"{'was' if len(short) == 1 else 'were'} dropped: {_quoted(short)}.",
            source=name,
        )
    expr = ExpressionData(list(genes), [Trajectory(tr.name, tr.times, tr.values) for tr in kept])
    _check_range(expr, name, report)
    return expr


def _check_range(expr: ExpressionData, name: str, report: ValidationReport) -> None:
    lo, hi = expr.value_range()
    if lo < -RANGE_MARGIN or hi > 1.0 + RANGE_MARGIN:
        report.warning(
            f"Expression values range from {lo:.4g} to {hi:.4g}, far outside [0, 1], the scale the models expect. "
            "Consider min-max scaling the data to [0, 1] (minmax_scale / the 'scale to [0, 1]' option).",
            source=name,
        )


def _fmt(x: float) -> str:
    return f"{x:g}"


# ----------------------------------------------------------------------------------------------------------------------
# Tidy format
# ----------------------------------------------------------------------------------------------------------------------


def _norm(label: str) -> str:
    return re.sub(r"[\s\-]+", "_", label.strip().lower())


def _parse_tidy(table: _Table, genes: Any, report: ValidationReport) -> ExpressionData:
    name = table.name
    header_line, header = table.rows[0]
    header = _strip_trailing(header)
    normed = [_norm(h) for h in header]
    traj_col = next((i for i, h in enumerate(normed) if h in TRAJECTORY_ALIASES), None)
    time_col = next((i for i, h in enumerate(normed) if h in TIME_ALIASES and i != traj_col), None)
    missing = [c for c, i in (("trajectory", traj_col), ("time", time_col)) if i is None]
    if missing:
        found = _quoted(header, 8)
        msg = (
            f"Missing required column(s) {_quoted(missing)} in the header (line {header_line}); found "
            f"{len(header)} column(s): {found}. A tidy expression table needs the header "
            "`trajectory,time,<gene1>,<gene2>,...` (detected delimiter: "
            f"{table.delimiter_name})."
        )
        if missing == ["trajectory"]:
            msg += (
                " If the file holds a single time course, add a column 'trajectory' with the same label on every row."
            )
        if len(header) == 1:
            msg += " Only one column was found: the file probably uses a delimiter other than comma, tab, semicolon or whitespace."
        raise DashInputError(msg, source=name)
    skip = {traj_col, time_col}
    if 0 not in skip and (header[0] == "" or normed[0].startswith("unnamed") or normed[0] == "index"):
        skip.add(0)  # a row-index column written by e.g. pandas
        report.info(
            f"The first column ({'unnamed' if not header[0] else repr(header[0])}) was taken as a row index "
            "and ignored.",
            source=name,
        )
    gene_idx = [i for i in range(len(header)) if i not in skip]
    if not gene_idx:
        raise DashInputError(
            f"The header (line {header_line}) has no gene columns after 'trajectory' and 'time'.", source=name
        )
    unnamed = [i + 1 for i in gene_idx if not header[i]]
    if unnamed:
        raise DashInputError(
            f"Column(s) {_preview(unnamed)} of the header (line {header_line}) have no gene name.", source=name
        )
    file_genes = _check_gene_list([header[i] for i in gene_idx], name, what="gene columns of the header")
    width = len(header)
    body = table.rows[1:]
    if not body:
        raise DashInputError("The table has a header but no data rows.", source=name)
    bad_width = []
    for ln, f in body:
        if len(f) < width or any(x for x in f[width:]):
            bad_width.append((ln, len(_strip_trailing(f)) if len(f) > width else len(f)))
    if bad_width:
        lst = "; ".join(f"line {ln} has {k}" for ln, k in bad_width[:MAX_LISTED])
        more = f" and {len(bad_width) - MAX_LISTED} more" if len(bad_width) > MAX_LISTED else ""
        raise DashInputError(
            f"{len(bad_width)} row(s) do not have the {width} fields of the header: {lst}{more}. Check the delimiter "
            f"(detected: {table.delimiter_name}) and that every row has a trajectory, a time and one value per gene.",
            source=name,
        )
    lines = [ln for ln, _ in body]
    labels = [f[traj_col] for _, f in body]
    no_label = [ln for ln, lab in zip(lines, labels) if not lab]
    if no_label:
        raise DashInputError(f"Missing trajectory label on line(s) {_preview(no_label)}.", source=name)
    times = _float_cells(
        [[f[time_col]] for _, f in body],
        lines,
        ["time"],
        what="time column",
        name=name,
        delimiter=table.delimiter,
        report=report,
    )[:, 0]
    values = _float_cells(
        [[f[i] for i in gene_idx] for _, f in body],
        lines,
        [f"gene {g}" for g in file_genes],
        what="expression values",
        name=name,
        delimiter=table.delimiter,
        report=report,
    )
    if genes is not None:
        wanted, label = _resolve_genes(genes)
        pos = {g: i for i, g in enumerate(file_genes)}
        absent = [g for g in wanted if g not in pos]
        if absent:
            raise DashInputError(
                f"{len(absent)} gene(s) of {label} are not columns of the table: {_quoted(absent)}.", source=name
            )
        extra = [g for g in file_genes if g not in set(wanted)]
        if extra:
            report.warning(f"{len(extra)} gene column(s) not in {label} were dropped: {_quoted(extra)}.", source=name)
        if extra or wanted != file_genes:
            values = values[:, [pos[g] for g in wanted]]
        file_genes = wanted
    groups: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        groups.setdefault(lab, []).append(i)
    raw = [_RawTrajectory(lab, times[idx], values[idx], [lines[i] for i in idx]) for lab, idx in groups.items()]
    return _finalise(raw, file_genes, name, report)


# ----------------------------------------------------------------------------------------------------------------------
# PHOENIX format
# ----------------------------------------------------------------------------------------------------------------------


def _phoenix_header(fields: list[str]) -> tuple[int, int] | None:
    f = _strip_trailing(fields)
    if len(f) != 2:
        return None
    try:
        a, b = float(f[0]), float(f[1])
    except ValueError:
        return None
    if not (a.is_integer() and b.is_integer()):
        return None
    return int(a), int(b)


def _parse_phoenix(table: _Table, genes: Any, report: ValidationReport) -> ExpressionData:
    name = table.name
    first_line, first = table.rows[0]
    head = _phoenix_header(first)
    if head is None:
        raise DashInputError(
            f"Line {first_line} should be `n_genes,n_trajectories` (two integers) in the PHOENIX format; found "
            f"{_quoted(_strip_trailing(first), 4)}.",
            source=name,
        )
    n_genes, n_traj = head
    if n_genes < 1 or n_traj < 1:
        raise DashInputError(
            f"Line {first_line} announces {n_genes} genes and {n_traj} trajectories; both must be at least 1.",
            source=name,
        )
    body = table.rows[1:]
    block = n_genes + 1
    expected = n_traj * block
    if len(body) != expected:
        msg = (
            f"Line {first_line} announces {n_genes} genes and {n_traj} trajectories, so {expected} rows should follow "
            f"({n_traj} x ({n_genes} gene rows + 1 row of time points)), but {len(body)} non-empty rows follow."
        )
        if len(body) % block == 0 and len(body):
            msg += f" That is {len(body) // block} complete trajectory block(s): is the number of trajectories right?"
        elif len(body) % n_traj == 0 and len(body) // n_traj >= 2:
            msg += f" That is {len(body) // n_traj} rows per trajectory, i.e. {len(body) // n_traj - 1} genes: is the number of genes right?"
        else:
            msg += " Check the first line and that every trajectory ends with a row of time points."
        raise DashInputError(msg, source=name)
    if genes is None:
        gene_names = default_gene_names(n_genes)
        report.warning(
            f"No gene-name file was given; the {n_genes} genes are named G1..G{n_genes} in file order.", source=name
        )
    else:
        gene_names, label = _resolve_genes(genes)
        if len(gene_names) != n_genes:
            raise DashInputError(
                f"{label[0].upper()}{label[1:]} lists {len(gene_names)} names but the expression file has "
                f"{n_genes} genes (line {first_line}). Use the gene-name file that belongs to this expression file.",
                source=name,
            )
    raw = []
    problems: list[str] = []
    n_problems = 0
    for k in range(n_traj):
        rows = body[k * block : (k + 1) * block]
        tname = str(k + 1)
        t_line, t_fields = rows[-1]
        t_fields = _strip_trailing(t_fields)
        n_t = len(t_fields)
        times = _float_cells(
            [t_fields],
            [t_line],
            [f"time point {j + 1}" for j in range(n_t)],
            what=f"time points of trajectory {tname}",
            name=name,
            delimiter=table.delimiter,
            report=report,
        )[0]
        cells = []
        for g, (ln, f) in enumerate(rows[:-1]):
            f = _strip_trailing(f)
            if len(f) != n_t:
                n_problems += 1
                if len(problems) < MAX_LISTED:
                    problems.append(
                        f"line {ln} (trajectory {tname}, gene {gene_names[g]}) has {len(f)} value(s) but the time "
                        f"row (line {t_line}) has {n_t}"
                    )
                continue
            cells.append(f)
        if n_problems:
            continue
        vals = _float_cells(
            cells,
            [ln for ln, _ in rows[:-1]],
            [f"time point {j + 1}" for j in range(n_t)],
            what=f"expression values of trajectory {tname}",
            name=name,
            delimiter=table.delimiter,
            report=report,
            row_labels=[f"gene {g}" for g in gene_names],
        )
        raw.append(_RawTrajectory(tname, times, vals.T.copy(), [t_line] * n_t))
    if n_problems:
        more = f" and {n_problems - len(problems)} more" if n_problems > len(problems) else ""
        raise DashInputError(
            f"{n_problems} gene row(s) do not match their trajectory's time row: {'; '.join(problems)}{more}. "
            "Every gene row needs one value per time point (missing values are not allowed).",
            source=name,
        )
    return _finalise(raw, gene_names, name, report)


# ----------------------------------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------------------------------


def detect_expression_format(src: Any) -> str:
    """``'phoenix'`` if the first non-empty line is two integers, else ``'tidy'``."""
    table = src if isinstance(src, _Table) else _read_table(src)
    return "phoenix" if _phoenix_header(table.rows[0][1]) is not None else "tidy"


def read_expression(src: Any, *, genes: Any = None, fmt: str = "auto") -> tuple[ExpressionData, ValidationReport]:
    """Read and validate an expression time-series file.

    Parameters
    ----------
    src
        Path, file-like object (e.g. Streamlit ``UploadedFile`` or
        ``io.BytesIO`` with a ``.name``), or a tidy ``pandas.DataFrame``.
    genes
        Gene names: path / file-like of a one-column file, or a sequence. For
        the PHOENIX format they name the gene rows (default ``G1..Gn`` with a
        warning). For the tidy format they select and order the gene columns
        (missing genes are an error, extra columns are dropped with a warning).
    fmt
        ``'auto'`` (default), ``'tidy'`` or ``'phoenix'``.

    Returns
    -------
    (ExpressionData, ValidationReport)
        Trajectories with strictly increasing times; each ``values`` array is
        ``(T, n)``: row = time point, column = gene in ``genes`` order. The
        report holds warnings (sorted times, dropped short trajectories,
        values far outside [0, 1], default gene names) and notes.

    Raises
    ------
    DashInputError
        Unreadable file, missing columns, wrong row lengths, non-numeric or
        missing values, duplicate genes or time points, no usable trajectory,
        gene-name file of the wrong length.
    """
    report = ValidationReport()
    key = EXPRESSION_FORMATS.get(str(fmt).lower())
    if key is None:
        raise DashInputError(f"Unknown expression format '{fmt}'; use one of: auto, tidy, phoenix.")
    if isinstance(src, ExpressionData):
        return ExpressionData(list(src.genes), list(src.trajectories)), report
    table = _table_from_frame(src, "expression table") if isinstance(src, pd.DataFrame) else _read_table(src)
    if key == "auto":
        key = detect_expression_format(table)
    if key == "phoenix":
        expr = _parse_phoenix(table, genes, report)
    else:
        expr = _parse_tidy(table, genes, report)
    report.info(
        f"Read {expr.n_genes} genes, {expr.n_trajectories} trajectories, {expr.n_observations} observations "
        f"({key} format, {table.delimiter_name}-delimited).",
        source=table.name,
    )
    return expr, report


def minmax_scale(
    expr: ExpressionData, *, value_range: tuple[float, float] | None = None
) -> tuple[ExpressionData, tuple[float, float]]:
    """Scale all values to [0, 1] with the global minimum and maximum.

    Parameters
    ----------
    expr
        Expression data; every trajectory's ``(T, n)`` values (row = time
        point, column = gene) are mapped by ``(x - min) / (max - min)`` with one
        ``min``/``max`` over all values of all genes and trajectories.
    value_range
        Use this ``(min, max)`` instead of ``expr``'s own (e.g. to scale a test
        set exactly like the training set).

    Returns
    -------
    (ExpressionData, (float, float))
        The scaled copy (same genes, trajectory names and times) and the
        ``(min, max)`` used.

    Raises
    ------
    DashInputError
        If ``max <= min`` (e.g. all values equal: nothing to scale).
    """
    lo, hi = expr.value_range() if value_range is None else (float(value_range[0]), float(value_range[1]))
    if not hi > lo:
        raise DashInputError(f"Min-max scaling needs max > min, but min = {lo:g} and max = {hi:g} (all values equal?).")
    scaled = ExpressionData(
        list(expr.genes),
        [Trajectory(t.name, t.times.copy(), (t.values - lo) / (hi - lo)) for t in expr.trajectories],
    )
    return scaled, (lo, hi)


def _open_text_out(path: Any):
    if hasattr(path, "write"):
        return path, False
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    return open(p, "w", newline="", encoding="utf-8"), True


def write_expression_tidy(expr: ExpressionData, path: Any) -> None:
    """Write the tidy CSV ``trajectory,time,<gene1>,...``, one row per observation.

    Numbers are written with the shortest exact representation, so reading
    the file back gives identical arrays.
    """
    fh, close = _open_text_out(path)
    try:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["trajectory", "time", *expr.genes])
        for tr in expr.trajectories:
            for t, row in zip(tr.times.tolist(), tr.values.tolist()):
                w.writerow([tr.name, repr(t), *map(repr, row)])
    finally:
        if close:
            fh.close()


def write_gene_names(genes: Sequence[str], path: Any) -> None:
    """Write one gene name per line."""
    fh, close = _open_text_out(path)
    try:
        fh.write("".join(f"{g}\n" for g in genes))
    finally:
        if close:
            fh.close()


def write_expression_phoenix(expr: ExpressionData, path: Any, genes_path: Any = None) -> None:
    """Write the PHOENIX CSV (methods E.6) and optionally the gene-name file.

    Layout: ``n_genes,n_trajectories``; per trajectory ``n_genes`` rows
    (gene i's values over time) then one row of time points. Rows of
    trajectories with fewer time points than the longest are padded with
    empty cells. Trajectory names are not stored (reading gives ``1..N``).
    """
    width = max((len(t.times) for t in expr.trajectories), default=0)
    fh, close = _open_text_out(path)
    try:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([expr.n_genes, expr.n_trajectories])
        for tr in expr.trajectories:
            pad = [""] * (width - len(tr.times))
            for row in tr.values.T.tolist():
                w.writerow([*map(repr, row), *pad])
            w.writerow([*map(repr, tr.times.tolist()), *pad])
    finally:
        if close:
            fh.close()
    if genes_path is not None:
        write_gene_names(expr.genes, genes_path)


__all__ = [
    "default_gene_names",
    "detect_expression_format",
    "minmax_scale",
    "read_expression",
    "read_gene_names",
    "write_expression_phoenix",
    "write_expression_tidy",
    "write_gene_names",
]

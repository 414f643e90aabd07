"""Low-level text-table reading shared by every reader of :mod:`dash_core.io`.

Sources are paths or file-like objects (a Streamlit ``UploadedFile``: ``.name``
plus ``.getvalue()`` or ``.read()``); their name appears in every message.
Encodings: UTF-8 with or without BOM, UTF-16 with BOM (Excel "Unicode text"),
Latin-1 as a fallback, gzip. Delimiters (comma, tab, semicolon, whitespace)
are detected. Quotes written by R or Excel (``"gene"``, ``'gene'``) are
stripped from every field, so a quoted name reads as the name itself.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from dash_core.io.errors import DashInputError, ValidationReport

#: How many offending rows / genes a message names before summarising.
MAX_LISTED = 5

MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "?", "#n/a"})

_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "ws": "whitespace", None: "none (one column)"}
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$")


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
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data[:2] == bom:  # Excel's "Unicode text" (UTF-16 with a byte-order mark)
            try:
                return data[2:].decode(codec).lstrip("\ufeff")
            except UnicodeDecodeError:
                break
    head = data[:4096]
    if head.count(b"\x00") * 3 >= len(head) and (head[1::2].count(0) > len(head) // 3 or head[0::2].count(0) > len(head) // 3):
        raise DashInputError(  # UTF-16 without a byte-order mark: every other byte is zero
            "This file is UTF-16 text (Excel's 'Unicode text' without a byte-order mark), which cannot be read "
            "reliably. Re-save it as UTF-8 (in Excel: 'CSV UTF-8'; in R: write.csv(..., fileEncoding = 'UTF-8')).",
            source=name)
    if b"\x00" in data[:4096]:
        raise DashInputError("This is a binary file, not a text table. Provide a CSV or TSV text file.", source=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


#: Environment variable with the largest input file accepted, in MB (default :data:`DEFAULT_MAX_FILE_MB`).
MAX_FILE_ENV = "DASH_STUDIO_MAX_FILE_MB"
#: Default size limit of one input file, in MB: reading a text table needs several times its size in memory.
DEFAULT_MAX_FILE_MB = 500.0


def max_file_bytes() -> int:
    """The size limit of one input file in bytes (``$DASH_STUDIO_MAX_FILE_MB``, default 500 MB)."""
    raw = os.environ.get(MAX_FILE_ENV, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_MAX_FILE_MB
    except ValueError:
        mb = DEFAULT_MAX_FILE_MB
    return int(max(1.0, mb if mb == mb else DEFAULT_MAX_FILE_MB) * 1024 * 1024)


def check_size(n_bytes: int, name: str) -> None:
    """:class:`DashInputError` when an input of ``n_bytes`` is over :func:`max_file_bytes`."""
    limit = max_file_bytes()
    if n_bytes > limit:
        raise DashInputError(
            f"The file is {n_bytes / 2**20:,.0f} MB, over the {limit / 2**20:,.0f} MB limit for one input file "
            "(reading a text table needs several times its size in memory). Keep fewer genes or time points, or "
            f"raise the limit with the environment variable {MAX_FILE_ENV} on a machine with enough memory.",
            source=name)


class _Loaded(NamedTuple):
    """A source already read into memory (:func:`_read_raw`'s ``(data, name)``): the readers that try one
    source after another (fast path, general reader) read the file once and pass this along."""

    data: Any
    name: str


def _read_raw(src: Any) -> tuple[Any, str]:
    """Return ``(data, name)`` of a path or file-like source; ``data`` as the source gives it (bytes or str).

    File-like objects may provide ``getvalue()`` (Streamlit ``UploadedFile``,
    ``io.BytesIO``) or ``read()``; a seekable stream is rewound before reading
    and left where it was. The size limit (:func:`check_size`) is checked first.
    A :class:`_Loaded` source is returned as it is.
    """
    if isinstance(src, _Loaded):
        return src.data, src.name
    name = _source_name(src)
    if isinstance(src, (str, os.PathLike)):
        path = Path(src)
        if not path.exists():
            raise DashInputError("File not found. Check the path.", source=name)
        if path.is_dir():
            raise DashInputError("This is a folder, not a file.", source=name)
        try:
            check_size(path.stat().st_size, name)
            data: Any = path.read_bytes()
        except OSError as exc:
            raise DashInputError(f"The file cannot be read ({exc.strerror or exc}).", source=name) from None
    elif hasattr(src, "getvalue"):
        size = getattr(src, "size", None)
        if isinstance(size, int):
            check_size(size, name)
        data = src.getvalue()
        check_size(len(data), name)
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
    return data, name


def _read_text(src: Any) -> tuple[str, str]:
    """Return ``(text, name)`` of a path or file-like source, decoded (see :func:`_read_raw`)."""
    data, name = _read_raw(src)
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


_QUOTES = ("\"", "'")


def _unquote(cell: str) -> str:
    """``cell`` stripped of surrounding whitespace and of one pair of matching quotes (R / Excel style).

    ``"gene"`` and ``'gene'`` become ``gene``; a doubled quote inside (``"a""b"``) becomes one.
    """
    c = cell.strip()
    if len(c) >= 2 and c[0] in _QUOTES and c[-1] == c[0]:
        q = c[0]
        c = c[1:-1].replace(q + q, q).strip()
    return c


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
                rows.append((reader.line_num, [_unquote(f) if f[:1] in _QUOTES or f[-1:] in _QUOTES else f.strip()
                                               for f in fields]))
        except csv.Error as exc:
            raise DashInputError(
                f"The file cannot be parsed as a table near line {reader.line_num}: {exc}.", source=name
            ) from None
    else:
        for i, ln in enumerate(lines, start=1):
            if not ln.strip() or ln.lstrip().startswith("#"):
                continue
            rows.append((i, [_unquote(f) for f in ln.split()] if delim == "ws" else [_unquote(ln)]))
    if not rows:
        raise DashInputError("The file has no content besides delimiters and comments.", source=name)
    return _Table(rows, delim, name)


#: Cells converted per chunk by the fast numeric readers (bounded so a chunk's parsed cells stay small).
_CHUNK_CELLS = 250_000


def _fast_source(src: Any) -> tuple[bytes, str, str, str] | None:
    """``(bytes, name, delimiter, first line)`` of a source the fast numeric readers may parse, else None.

    The fast readers (pandas' C parser straight into float arrays) take only
    UTF-8 text without comment or blank lines in the first 500 lines, delimited
    by comma, tab or semicolon; the delimiter is detected from the same lines
    as :func:`_read_table` does, so both readers split the file alike.
    """
    data, name = _read_raw(src)
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        return None
    data = data[3:] if data[:3] == b"\xef\xbb\xbf" else data
    if data[:2] in (b"\x1f\x8b", b"PK", b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4096] or b"#" in data:
        return None
    end = 0
    for _ in range(500):
        nl = data.find(b"\n", end)
        if nl < 0:
            end = len(data)
            break
        end = nl + 1
    try:
        lines = data[:end].decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return None
    if not lines or any(not ln.strip() for ln in lines):
        return None  # blank lines shift line numbers: leave them to the general reader
    delim = _detect_delimiter(lines)
    if delim not in (",", "\t", ";"):
        return None
    return data, name, delim, lines[0]


def _max_rows(data: bytes) -> int:
    """An upper bound on the number of rows of ``data`` (for preallocating the fast readers' arrays)."""
    return max(data.count(b"\n"), data.count(b"\r")) + 1


def _c_chunks(data: bytes, delim: str, dtype: dict[int, Any], *, na_filter: bool) -> Any:
    """pandas' C parser over the rows of ``data`` after the first, in chunks of about :data:`_CHUNK_CELLS` cells.

    ``dtype`` maps every column position (``0 .. width - 1``) to its type; a row
    with more fields raises :class:`pandas.errors.ParserError`, a shorter one is
    padded with NaN (numbers) or empty text.

    Numbers are parsed exactly (``float_precision='round_trip'``), like :func:`float`.
    """
    return pd.read_csv(
        io.BytesIO(data), sep=delim, header=None, skiprows=1, engine="c", encoding="utf-8",
        skipinitialspace=True, na_filter=na_filter, keep_default_na=False, na_values=[""] if na_filter else None,
        float_precision="round_trip", dtype=dtype, chunksize=max(1, _CHUNK_CELLS // max(1, len(dtype))))


def _fill_from_chunks(data: bytes, delim: str, dtype: dict[int, Any], *, na_filter: bool, n_max: int,
                      store: Any) -> int | None:
    """Feed the rows of ``data`` after the first, chunk by chunk (:func:`_c_chunks`), to ``store(chunk, n)``.

    ``n`` is the number of rows stored before the chunk; ``store`` copies the
    chunk into the caller's preallocated arrays (``n_max`` rows, from
    :func:`_max_rows`). Returns the number of rows read, or None when the file
    is not one the fast readers take as it is: a row with another number of
    fields than ``len(dtype)``, more than ``n_max`` rows, or a cell that does
    not parse.
    """
    width = len(dtype)
    n = 0
    try:
        with _c_chunks(data, delim, dtype, na_filter=na_filter) as reader:
            for chunk in reader:
                k = len(chunk)
                if chunk.shape[1] != width or n + k > n_max:
                    return None
                store(chunk, n)
                n += k
    except (ValueError, TypeError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    return n


def _table_from_frame(df: pd.DataFrame, name: str) -> _Table:
    """A :class:`_Table` view of an in-memory DataFrame (line 1 = header)."""
    header = [_unquote(str(c)) for c in df.columns]
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


def _all_finite(arr: np.ndarray) -> np.ndarray | None:
    """``arr`` as float64 if every cell parses and is finite, else None."""
    try:
        out = arr.astype(np.float64)
    except (ValueError, TypeError):
        return None
    return out if np.isfinite(out).all() else None


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
    out = _all_finite(arr)
    if out is not None:
        return out
    if delimiter == ";":
        flat = arr.ravel()
        comma = np.array([isinstance(c, str) and bool(_DECIMAL_COMMA.match(c)) for c in flat])
        if comma.any():
            arr = np.where(comma, np.array([c.replace(",", ".") for c in flat], dtype=object), flat).reshape(arr.shape)
            if report is not None:
                report.info("Decimal commas (e.g. 0,5) were read as decimal points.", source=name)
            out = _all_finite(arr)
            if out is not None:
                return out
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


def _check_gene_list(names: Sequence[Any], name: str, *, what: str = "gene names") -> list[str]:
    genes = [_unquote(str(g)) for g in names]
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


def _fmt(x: float) -> str:
    return f"{x:g}"


def _norm(label: str) -> str:
    return re.sub(r"[\s\-]+", "_", label.strip().lower())



def _open_text_out(path: Any):
    if hasattr(path, "write"):
        return path, False
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    return open(p, "w", newline="", encoding="utf-8"), True



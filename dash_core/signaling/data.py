"""Readers and validation for LEMBAS-style signaling data (methods.md H.1, H.9).

Three inputs describe a signaling experiment:

* a **prior knowledge network** (PKN) TSV with columns ``source, target,
  stimulation, inhibition`` (other columns such as ``direction``, ``sources``,
  ``references`` are ignored). An edge is ``source -> target``.
* a **ligand table**: rows = conditions, columns = ligand node IDs, values =
  ligand amounts (0/1 in the published data).
* a **TF table**: rows = conditions, columns = transcription-factor node IDs,
  values = TF activities in (0, 1).

Edge tables in this package are long ``source, target, sign`` tables (one row
per directed edge; ``sign`` = mode of action, +1 stimulation, -1 inhibition,
0 unknown). Inside the model, weights are stored as ``W[target, source]``
(row = target, column = source), the LEMBAS convention, which is the transpose
of the project's gene-level regulator x target matrices.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dash_core.io.errors import DashInputError, ValidationReport

PKN_REQUIRED = ("source", "target", "stimulation", "inhibition")
EDGE_COLUMNS = ["source", "target", "sign"]


@dataclass(frozen=True)
class PKNStats:
    """Counts from parsing and deduplicating a PKN.

    Attributes
    ----------
    rows_read
        Data rows in the file.
    duplicate_pairs
        (source, target) pairs that occurred on more than one row (merged into one edge).
    duplicate_rows_merged
        Rows removed by merging duplicates.
    sign_conflicts
        Merged pairs whose rows disagreed on the sign (or mixed a known and an
        unknown sign); their sign is set to 0 (unknown).
    both_signs_rows
        Rows with stimulation = inhibition = 1, read as unknown sign.
    """

    rows_read: int = 0
    duplicate_pairs: int = 0
    duplicate_rows_merged: int = 0
    sign_conflicts: int = 0
    both_signs_rows: int = 0


@dataclass(frozen=True)
class PKN:
    """A deduplicated prior knowledge network.

    Attributes
    ----------
    edges
        Long table ``source, target, sign`` (one row per distinct directed edge
        ``source -> target``; sign +1 stimulation, -1 inhibition, 0 unknown),
        sorted by (target, source).
    nodes
        All sources and targets, sorted; this is the node index of the model
        (``W[target, source]`` uses these positions).
    stats
        Parsing counts (duplicates, conflicts, (1,1) rows).
    """

    edges: pd.DataFrame
    nodes: tuple[str, ...]
    stats: PKNStats = field(default_factory=PKNStats)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        return len(self.edges)

    def node_index(self) -> dict[str, int]:
        """Map node ID -> position in :attr:`nodes`."""
        return {n: i for i, n in enumerate(self.nodes)}

    def sign_counts(self) -> dict[str, int]:
        """Number of stimulating, inhibiting and unknown-sign edges."""
        s = self.edges["sign"].to_numpy()
        return {"stimulation": int((s == 1).sum()), "inhibition": int((s == -1).sum()), "unknown": int((s == 0).sum())}

    def to_table(self) -> pd.DataFrame:
        """File form ``source, target, stimulation, inhibition`` ((0,0) = unknown sign)."""
        s = self.edges["sign"].to_numpy()
        return pd.DataFrame(
            {
                "source": self.edges["source"].to_numpy(),
                "target": self.edges["target"].to_numpy(),
                "stimulation": (s == 1).astype(int),
                "inhibition": (s == -1).astype(int),
            }
        )

    def network_table(self) -> pd.DataFrame:
        """The project's network format ``source, target, weight`` with weight = sign."""
        return self.edges.rename(columns={"sign": "weight"})[["source", "target", "weight"]].copy()


@dataclass
class SignalingData:
    """Validated inputs of a signaling model.

    Attributes
    ----------
    pkn
        The deduplicated network.
    ligands
        ``(conditions, L)`` ligand amounts; columns are ligand node IDs, all in ``pkn.nodes``.
    tfs
        ``(conditions, K)`` TF activities; same row order as ``ligands``; columns are
        TF node IDs, all in ``pkn.nodes``.
    report
        Warnings and notes collected while reading and aligning the inputs.
    """

    pkn: PKN
    ligands: pd.DataFrame
    tfs: pd.DataFrame
    report: ValidationReport = field(default_factory=ValidationReport)

    @property
    def conditions(self) -> list[str]:
        return [str(c) for c in self.ligands.index]

    @property
    def n_conditions(self) -> int:
        return len(self.ligands)


# --------------------------------------------------------------------------- file helpers


def _sorted_by_target(edges: pd.DataFrame, nodes: tuple[str, ...]) -> pd.DataFrame:
    """Edges ordered by (target, source) position in ``nodes``, the row order every PKN uses."""
    order = {n: i for i, n in enumerate(nodes)}
    return (
        edges.assign(_t=edges["target"].map(order), _s=edges["source"].map(order))
        .sort_values(["_t", "_s"])
        .drop(columns=["_t", "_s"])
        .reset_index(drop=True)
    )


def _read_delimited(path: str | os.PathLike, *, what: str) -> pd.DataFrame:
    """Read a TSV/CSV with a header; the separator is chosen from the file (tab, comma or semicolon)."""
    p = Path(path)
    if not p.exists():
        raise DashInputError(f"The {what} file does not exist. Check the path.", source=str(p))
    if p.is_dir():
        raise DashInputError(f"Expected a {what} file but got a folder.", source=str(p))
    try:
        with open(p, encoding="utf-8-sig") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise DashInputError(f"The {what} file is not UTF-8 text (is it a spreadsheet? save it as TSV).", source=str(p)) from None
    if not first.strip():
        raise DashInputError(f"The {what} file is empty (no header line).", source=str(p))
    counts = {sep: first.count(sep) for sep in ("\t", ",", ";")}
    sep = max(counts, key=counts.get)
    if counts[sep] == 0:
        sep = "\t"
    try:
        return pd.read_csv(p, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.ParserError as exc:
        raise DashInputError(f"Could not parse the {what} file as a table: {exc}", source=str(p)) from None


def _parse_flag(values: pd.Series, column: str, source: str) -> np.ndarray:
    """0/1 (also true/false, 0.0/1.0) -> int array; anything else is a DashInputError naming the row."""
    mapping = {"0": 0, "1": 1, "0.0": 0, "1.0": 1, "false": 0, "true": 1}
    low = values.astype(str).str.strip().str.lower()
    out = low.map(mapping)
    bad = out.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DashInputError(
            f"Column {column!r}, data row {i + 1}: value {values.iloc[i]!r} is not 0 or 1 "
            f"({int(bad.sum())} such rows). Use 1 for present and 0 for absent.",
            source=source,
        )
    return out.to_numpy(dtype=int)


# --------------------------------------------------------------------------- PKN


def _sign_from_flags(stim: np.ndarray, inhib: np.ndarray) -> np.ndarray:
    """(1,0) -> +1, (0,1) -> -1, (0,0) and (1,1) -> 0."""
    return np.where((stim == 1) & (inhib == 0), 1, np.where((stim == 0) & (inhib == 1), -1, 0)).astype(int)


def build_pkn(
    table: pd.DataFrame,
    *,
    source: str = "PKN",
    report: ValidationReport | None = None,
) -> PKN:
    """Parse and deduplicate a PKN table (methods.md H.1, intended behaviour).

    Parameters
    ----------
    table
        Columns ``source, target, stimulation, inhibition`` (case-insensitive;
        other columns are ignored). One row per directed edge ``source -> target``.
    source
        Name of the input used in messages (file name).
    report
        Findings are appended here (a new report is made if None).

    Returns
    -------
    PKN
        Sign rules: (1,0) -> +1, (0,1) -> -1, (0,0) -> 0; a (1,1) row is read
        as unknown (0) with a warning. Duplicate (source, target) rows are
        merged into one edge, which keeps the sign only if all rows agree on a
        known sign and becomes 0 (unknown) otherwise; merges and conflicts are
        counted and reported.

    Raises
    ------
    DashInputError
        Missing columns, non-0/1 flags, empty IDs, or no edges at all.
    """
    report = report if report is not None else ValidationReport()
    cols = {str(c).strip().lower(): c for c in table.columns}
    missing = [c for c in PKN_REQUIRED if c not in cols]
    if missing:
        raise DashInputError(
            f"The network table lacks the column(s) {', '.join(missing)}. Required columns: "
            f"{', '.join(PKN_REQUIRED)} (found: {', '.join(map(str, table.columns))}).",
            source=source,
        )
    if len(table) == 0:
        raise DashInputError("The network table has no rows (no edges).", source=source)
    src = table[cols["source"]].astype(str).str.strip()
    tgt = table[cols["target"]].astype(str).str.strip()
    empty = ((src == "") | (tgt == "")).to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise DashInputError(
            f"Data row {i + 1} has an empty source or target ({int(empty.sum())} such rows). Every edge needs both IDs.",
            source=source,
        )
    stim = _parse_flag(table[cols["stimulation"]], "stimulation", source)
    inhib = _parse_flag(table[cols["inhibition"]], "inhibition", source)
    both = (stim == 1) & (inhib == 1)
    if both.any():
        first = [f"{s}->{t}" for s, t in zip(src[both].head(5), tgt[both].head(5))]
        report.warning(
            f"{int(both.sum())} edge row(s) have stimulation = inhibition = 1 (e.g. {', '.join(first)}); "
            "their sign is treated as unknown.",
            source,
        )
    sign = _sign_from_flags(stim, inhib)
    raw = pd.DataFrame({"source": src.to_numpy(), "target": tgt.to_numpy(), "sign": sign})
    grouped = raw.groupby(["source", "target"], sort=False)["sign"]
    n_rows = grouped.size()
    n_distinct = grouped.nunique()
    first_sign = grouped.first()
    merged_sign = np.where(n_distinct.to_numpy() == 1, first_sign.to_numpy(), 0).astype(int)
    edges = pd.DataFrame(
        {
            "source": [k[0] for k in n_rows.index],
            "target": [k[1] for k in n_rows.index],
            "sign": merged_sign,
        }
    )
    dup_pairs = int((n_rows > 1).sum())
    conflicts = int((n_distinct > 1).sum())
    if dup_pairs:
        msg = f"{dup_pairs} (source, target) pair(s) occur on several rows and were merged into one edge each"
        if conflicts:
            msg += f"; {conflicts} of them had conflicting signs and are treated as unknown sign"
        report.warning(msg + ".", source)
    nodes = tuple(sorted(set(edges["source"]) | set(edges["target"])))
    edges = _sorted_by_target(edges, nodes)
    stats = PKNStats(
        rows_read=int(len(table)),
        duplicate_pairs=dup_pairs,
        duplicate_rows_merged=int(len(raw) - len(edges)),
        sign_conflicts=conflicts,
        both_signs_rows=int(both.sum()),
    )
    counts = PKN(edges, nodes, stats).sign_counts()
    report.info(
        f"Network: {len(nodes)} nodes, {len(edges)} edges ({counts['stimulation']} stimulating, "
        f"{counts['inhibition']} inhibiting, {counts['unknown']} unknown sign).",
        source,
    )
    return PKN(edges=edges, nodes=nodes, stats=stats)


def read_pkn(path: str | os.PathLike, report: ValidationReport | None = None) -> tuple[PKN, ValidationReport]:
    """Read a PKN TSV/CSV file; see :func:`build_pkn` for the rules.

    Returns
    -------
    (PKN, ValidationReport)
    """
    report = report if report is not None else ValidationReport()
    table = _read_delimited(path, what="network (PKN)")
    return build_pkn(table, source=str(path), report=report), report


def pkn_from_edges(edges: pd.DataFrame, nodes: Sequence[str] | None = None) -> PKN:
    """Build a :class:`PKN` from an in-memory ``source, target, sign`` table (already deduplicated).

    Parameters
    ----------
    edges
        One row per directed edge ``source -> target``; ``sign`` in {-1, 0, 1}.
    nodes
        Optional node list (sorted on use); defaults to all sources and targets.
    """
    e = edges[EDGE_COLUMNS].copy()
    e["source"] = e["source"].astype(str)
    e["target"] = e["target"].astype(str)
    e["sign"] = e["sign"].astype(int)
    if e.duplicated(["source", "target"]).any():
        raise ValueError("pkn_from_edges: duplicate (source, target) pairs")
    if not e["sign"].isin([-1, 0, 1]).all():
        raise ValueError("pkn_from_edges: sign must be -1, 0 or 1")
    all_nodes = set(e["source"]) | set(e["target"]) | set(nodes or [])
    node_tuple = tuple(sorted(all_nodes))
    e = _sorted_by_target(e, node_tuple)
    return PKN(edges=e, nodes=node_tuple, stats=PKNStats(rows_read=len(e)))


# --------------------------------------------------------------------------- condition tables


def condition_table(table: pd.DataFrame, *, what: str, source: str) -> pd.DataFrame:
    """Validate a wide ``conditions x nodes`` table: first column = condition names, rest numeric.

    Parameters
    ----------
    table
        As read with all values as strings (first column holds the condition names),
        or already numeric with the condition names as index.
    what
        "ligand" or "TF" (used in messages).
    source
        File name used in messages.

    Returns
    -------
    pandas.DataFrame
        float64 values, index = condition names (str), columns = node IDs (str).
    """
    if table.shape[1] == 0:
        raise DashInputError(f"The {what} table has no columns.", source=source)
    if isinstance(table.index, pd.RangeIndex) and table.shape[1] >= 2:
        index = table.iloc[:, 0].astype(str).str.strip()
        body = table.iloc[:, 1:]
    else:
        index = pd.Index(table.index).astype(str)
        body = table
    if body.shape[1] == 0:
        raise DashInputError(
            f"The {what} table has only one column. Expected the condition names in the first column "
            f"and one column per {what} node.",
            source=source,
        )
    if len(body) == 0:
        raise DashInputError(f"The {what} table has no rows (no conditions).", source=source)
    columns = [str(c).strip() for c in body.columns]
    dup_cols = sorted({c for c in columns if columns.count(c) > 1})
    if dup_cols:
        raise DashInputError(f"The {what} table has duplicate column(s): {', '.join(dup_cols[:10])}.", source=source)
    idx = list(index)
    dup_rows = sorted({c for c in idx if idx.count(c) > 1})
    if dup_rows:
        raise DashInputError(
            f"The {what} table has duplicate condition name(s): {', '.join(dup_rows[:10])}. Condition names must be unique.",
            source=source,
        )
    numeric = body.apply(lambda s: pd.to_numeric(s.astype(str).str.strip(), errors="coerce")).astype(float)
    bad = ~np.isfinite(numeric.to_numpy())
    if bad.any():
        r, c = (int(v[0]) for v in np.nonzero(bad))
        raise DashInputError(
            f"The {what} table has a missing or non-numeric value at condition {idx[r]!r}, column {columns[c]!r} "
            f"(value {body.iloc[r, c]!r}; {int(bad.sum())} such cells). Fill in a number.",
            source=source,
        )
    return pd.DataFrame(numeric.to_numpy(dtype=float), index=pd.Index(idx, name="condition"), columns=columns)


def read_condition_table(path: str | os.PathLike, *, what: str) -> pd.DataFrame:
    """Read a ligand or TF table file (rows = conditions, columns = node IDs; TSV or CSV)."""
    raw = _read_delimited(path, what=what)
    return condition_table(raw, what=what, source=str(path))


def prepare_data(
    pkn: PKN,
    ligands: pd.DataFrame,
    tfs: pd.DataFrame,
    *,
    report: ValidationReport | None = None,
    ligand_source: str = "ligand table",
    tf_source: str = "TF table",
) -> SignalingData:
    """Align ligand and TF tables with the network and with each other.

    Parameters
    ----------
    pkn
        The network.
    ligands, tfs
        ``conditions x nodes`` numeric tables (index = condition names).
    report
        Findings are appended here.

    Returns
    -------
    SignalingData
        Ligand and TF columns not in the PKN are dropped with a warning that
        lists them; conditions present in only one table are dropped with a
        warning; the TF table is put in the ligand table's row order.

    Raises
    ------
    DashInputError
        No ligand or no TF column in the network, or no common condition.
        (TF values far outside [0, 1] only give a warning.)
    """
    report = report if report is not None else ValidationReport()
    nodes = set(pkn.nodes)
    for table, what, src in ((ligands, "ligand", ligand_source), (tfs, "TF", tf_source)):
        absent = [c for c in table.columns if c not in nodes]
        if absent and len(absent) == table.shape[1]:
            raise DashInputError(
                f"None of the {table.shape[1]} {what} columns is a node of the network (e.g. {', '.join(absent[:5])}). "
                "Check that the table and the network use the same IDs (e.g. UniProt).",
                source=src,
            )
        if absent:
            shown = ", ".join(absent[:20]) + (" ..." if len(absent) > 20 else "")
            report.warning(f"{len(absent)} {what}(s) are not in the network and are dropped: {shown}.", src)
    lig = ligands.loc[:, [c for c in ligands.columns if c in nodes]]
    tf = tfs.loc[:, [c for c in tfs.columns if c in nodes]]
    lig_rows = [str(i) for i in lig.index]
    tf_rows = [str(i) for i in tf.index]
    common = [c for c in lig_rows if c in set(tf_rows)]
    if not common:
        raise DashInputError(
            f"The ligand and TF tables share no condition name (ligand rows e.g. {', '.join(lig_rows[:3])}; "
            f"TF rows e.g. {', '.join(tf_rows[:3])}). The first column of both tables must name the same conditions.",
            source=tf_source,
        )
    only_lig = [c for c in lig_rows if c not in set(common)]
    only_tf = [c for c in tf_rows if c not in set(common)]
    if only_lig or only_tf:
        parts = []
        if only_lig:
            parts.append(f"only in the ligand table: {', '.join(only_lig[:10])}")
        if only_tf:
            parts.append(f"only in the TF table: {', '.join(only_tf[:10])}")
        report.warning("Condition names do not match between the tables (" + "; ".join(parts) + "); those conditions are dropped.", tf_source)
    elif lig_rows != tf_rows:
        report.info("The TF table lists the conditions in another order; it was reordered to match the ligand table.", tf_source)
    lig = lig.copy()
    lig.index = pd.Index(lig_rows, name="condition")
    tf = tf.copy()
    tf.index = pd.Index(tf_rows, name="condition")
    lig = lig.loc[common]
    tf = tf.loc[common]
    values = tf.to_numpy()
    far = (values < -0.05) | (values > 1.2)
    if far.any():
        r, c = (int(v[0]) for v in np.nonzero(far))
        report.warning(
            f"{int(far.sum())} TF activities lie outside [0, 1] (e.g. condition {common[r]!r}, TF {tf.columns[c]!r}: "
            f"{values[r, c]:.4g}); the model's outputs range over about [0, 1.2], so such values cannot be fitted. "
            "Rescale the activities (e.g. a logistic transform of DoRothEA scores).",
            tf_source,
        )
    elif ((values < 0) | (values > 1)).any():
        report.info(f"{int(((values < 0) | (values > 1)).sum())} TF activities lie slightly outside [0, 1].", tf_source)
    zero_cols = [c for c in lig.columns if not np.any(lig[c].to_numpy() != 0)]
    if zero_cols:
        report.info(f"{len(zero_cols)} ligand(s) are 0 in every condition: {', '.join(zero_cols[:10])}.", ligand_source)
    targets = set(pkn.edges["target"])
    unreachable = [c for c in tf.columns if c not in targets]
    if unreachable:
        report.warning(
            f"{len(unreachable)} TF(s) have no incoming edge in the network, so only their bias can be fitted: "
            f"{', '.join(unreachable[:10])}.",
            tf_source,
        )
    report.info(f"{len(common)} conditions, {lig.shape[1]} ligands and {tf.shape[1]} TFs in the network.")
    return SignalingData(pkn=pkn, ligands=lig, tfs=tf, report=report)


def load_signaling_data(
    pkn_path: str | os.PathLike,
    ligand_path: str | os.PathLike,
    tf_path: str | os.PathLike,
) -> SignalingData:
    """Read and validate a PKN, a ligand table and a TF table (see :func:`prepare_data`)."""
    report = ValidationReport()
    pkn, _ = read_pkn(pkn_path, report)
    ligands = read_condition_table(ligand_path, what="ligand")
    tfs = read_condition_table(tf_path, what="TF")
    return prepare_data(pkn, ligands, tfs, report=report, ligand_source=str(ligand_path), tf_source=str(tf_path))


def read_annotation(path: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Read an annotation TSV ``code, name, TF, ligand`` and return (ligand IDs, TF IDs)."""
    table = _read_delimited(path, what="annotation")
    cols = {str(c).strip().lower(): c for c in table.columns}
    for need in ("code", "tf", "ligand"):
        if need not in cols:
            raise DashInputError(f"The annotation table lacks the column {need!r} (needs code, TF, ligand).", source=str(path))
    code = table[cols["code"]].astype(str).str.strip()
    is_tf = _parse_flag(table[cols["tf"]], "TF", str(path)).astype(bool)
    is_lig = _parse_flag(table[cols["ligand"]], "ligand", str(path)).astype(bool)
    return list(code[is_lig]), list(code[is_tf])


def write_table(df: pd.DataFrame, path: str | os.PathLike, *, index: bool = True) -> None:
    """Write a table as TSV (condition tables keep their index as the first, unnamed column)."""
    out = df.copy()
    if index:
        out.index.name = None
    out.to_csv(path, sep="\t", index=index, float_format="%.6g")

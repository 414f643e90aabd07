"""Signaling inputs: PKN parsing and deduplication (H.1), ligand/TF tables and their validation (H.9)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.signaling.data import (
    build_pkn,
    condition_table,
    load_signaling_data,
    prepare_data,
    read_condition_table,
    read_pkn,
)

LEMBAS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lembas"
MACROPHAGE = LEMBAS / "macrophage"


def _pkn_table(rows):
    return pd.DataFrame(rows, columns=["source", "target", "stimulation", "inhibition"])


def test_pkn_sign_parsing_and_dedup_rules():
    table = _pkn_table(
        [
            ("A", "B", 1, 0),  # activating
            ("A", "B", 1, 0),  # duplicate, same sign -> stays +1
            ("B", "C", 0, 1),  # inhibiting
            ("C", "D", 1, 0),
            ("C", "D", 0, 1),  # conflicting duplicate -> 0
            ("D", "A", 1, 0),
            ("D", "A", 0, 0),  # known + unknown -> 0
            ("A", "C", 0, 0),  # unknown
            ("B", "D", 1, 1),  # both flags -> unknown, warning
        ]
    )
    report = ValidationReport()
    pkn = build_pkn(table, source="net.tsv", report=report)
    signs = {(s, t): v for s, t, v in zip(pkn.edges["source"], pkn.edges["target"], pkn.edges["sign"])}
    assert signs == {("A", "B"): 1, ("B", "C"): -1, ("C", "D"): 0, ("D", "A"): 0, ("A", "C"): 0, ("B", "D"): 0}
    assert pkn.nodes == ("A", "B", "C", "D")
    assert pkn.stats.rows_read == 9
    assert pkn.stats.duplicate_pairs == 3
    assert pkn.stats.duplicate_rows_merged == 3
    assert pkn.stats.sign_conflicts == 2
    assert pkn.stats.both_signs_rows == 1
    assert pkn.sign_counts() == {"stimulation": 1, "inhibition": 1, "unknown": 4}
    texts = " ".join(w.message for w in report.warnings)
    assert "stimulation = inhibition = 1" in texts and "B->D" in texts
    assert "3 (source, target) pair(s)" in texts and "2 of them had conflicting signs" in texts
    # edges sorted by target, then source (node order)
    order = {n: i for i, n in enumerate(pkn.nodes)}
    keys = [(order[t], order[s]) for s, t in zip(pkn.edges["source"], pkn.edges["target"])]
    assert keys == sorted(keys)


def test_pkn_round_trip_and_extra_columns(tmp_path):
    table = _pkn_table([("X", "Y", 1, 0), ("Y", "Z", 0, 1), ("Z", "X", 0, 0)])
    table["references"] = "PMID:1"
    path = tmp_path / "pkn.tsv"
    table.to_csv(path, sep="\t", index=False)
    pkn, report = read_pkn(path)
    assert pkn.n_edges == 3 and report.ok
    back = pkn.to_table()
    assert list(back.columns) == ["source", "target", "stimulation", "inhibition"]
    assert set(map(tuple, back.to_numpy().tolist())) == {("X", "Y", 1, 0), ("Y", "Z", 0, 1), ("Z", "X", 0, 0)}
    # comma-separated files work too
    csv = tmp_path / "pkn.csv"
    table.to_csv(csv, index=False)
    assert read_pkn(csv)[0].n_edges == 3


@pytest.mark.parametrize(
    "rows, columns, match",
    [
        ([("A", "B", 1)], ["source", "target", "stimulation"], "lacks the column"),
        ([("A", "B", 2, 0)], None, "row 1: value '2' is not 0 or 1"),
        ([("A", "B", 1, 0), ("", "B", 1, 0)], None, "row 2 has an empty source or target"),
        ([], None, "no rows"),
    ],
)
def test_pkn_errors(tmp_path, rows, columns, match):
    cols = columns or ["source", "target", "stimulation", "inhibition"]
    path = tmp_path / "bad.tsv"
    pd.DataFrame(rows, columns=cols).to_csv(path, sep="\t", index=False)
    with pytest.raises(DashInputError, match=match):
        read_pkn(path)


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(DashInputError, match="does not exist"):
        read_pkn(tmp_path / "nope.tsv")


def _pkn():
    return build_pkn(_pkn_table([("L1", "P", 1, 0), ("L2", "P", 0, 1), ("P", "T1", 1, 0), ("P", "T2", 0, 0)]))


def test_prepare_data_drops_unknown_nodes_and_conditions():
    lig = pd.DataFrame({"L1": [0, 1, 0], "L2": [0, 0, 1], "Lx": [1, 1, 1]}, index=["c0", "c1", "c2"])
    tf = pd.DataFrame({"T1": [0.1, 0.5, 0.2, 0.3], "T2": [0.4, 0.4, 0.6, 0.1], "Tx": [0, 0, 0, 0]}, index=["c2", "c1", "c0", "c9"])
    data = prepare_data(_pkn(), lig, tf)
    assert list(data.ligands.columns) == ["L1", "L2"]
    assert list(data.tfs.columns) == ["T1", "T2"]
    assert data.conditions == ["c0", "c1", "c2"]
    # the TF table follows the ligand table's order
    assert data.tfs.loc["c0", "T1"] == 0.2 and data.tfs.loc["c2", "T1"] == 0.1
    warnings = " ".join(w.message for w in data.report.warnings)
    assert "ligand(s) are not in the network and are dropped: Lx" in warnings
    assert "TF(s) are not in the network and are dropped: Tx" in warnings
    assert "only in the TF table: c9" in warnings


def test_prepare_data_fatal_cases():
    lig = pd.DataFrame({"L1": [0, 1]}, index=["a", "b"])
    tf = pd.DataFrame({"T1": [0.1, 0.2]}, index=["a", "b"])
    with pytest.raises(DashInputError, match="None of the 1 ligand columns"):
        prepare_data(_pkn(), lig.rename(columns={"L1": "Q"}), tf)
    with pytest.raises(DashInputError, match="None of the 1 TF columns"):
        prepare_data(_pkn(), lig, tf.rename(columns={"T1": "Q"}))
    with pytest.raises(DashInputError, match="share no condition"):
        prepare_data(_pkn(), lig, tf.set_axis(["x", "y"]))
    far = tf.copy()
    far.iloc[0, 0] = 3.0
    data = prepare_data(_pkn(), lig, far)  # far out of range: warning, not fatal
    assert any("outside [0, 1]" in w.message for w in data.report.warnings)


def test_condition_table_validation(tmp_path):
    path = tmp_path / "lig.tsv"
    path.write_text("\tL1\tL2\nc0\t0\t1\nc1\t1\tx\n")
    with pytest.raises(DashInputError, match="condition 'c1', column 'L2'"):
        read_condition_table(path, what="ligand")
    path.write_text("\tL1\nc0\t0\nc0\t1\n")
    with pytest.raises(DashInputError, match="duplicate condition"):
        read_condition_table(path, what="ligand")
    ok = condition_table(pd.DataFrame({"": ["c0", "c1"], "L1": ["0", "1"]}), what="ligand", source="x")
    assert ok.index.tolist() == ["c0", "c1"] and ok["L1"].tolist() == [0.0, 1.0]


def test_load_signaling_data_from_files(tmp_path):
    _pkn().to_table().to_csv(tmp_path / "pkn.tsv", sep="\t", index=False)
    (tmp_path / "lig.tsv").write_text("\tL1\tL2\nc0\t0\t0\nc1\t1\t0\n")
    (tmp_path / "tf.csv").write_text(",T1,T2\nc0,0.1,0.2\nc1,0.3,0.4\n")
    data = load_signaling_data(tmp_path / "pkn.tsv", tmp_path / "lig.tsv", tmp_path / "tf.csv")
    assert data.n_conditions == 2 and data.tfs.shape == (2, 2)
    assert data.report.ok


@pytest.mark.skipif(not MACROPHAGE.exists(), reason="LEMBAS data not available")
def test_macrophage_files_load():
    data = load_signaling_data(
        MACROPHAGE / "macrophage-Model.tsv", MACROPHAGE / "macrophage-Ligands.tsv", MACROPHAGE / "macrophage-TFs.tsv"
    )
    assert data.pkn.n_nodes == 1128 and data.pkn.n_edges == 5732
    assert data.pkn.sign_counts() == {"stimulation": 1470, "inhibition": 536, "unknown": 3726}
    assert data.ligands.shape == (23, 12) and data.tfs.shape == (23, 58)
    assert any("30 TF(s) are not in the network" in w.message for w in data.report.warnings)

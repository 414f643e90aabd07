"""Files as published by R, Excel and the PHOENIX / DASH authors read unchanged (issue 11, item 1)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from dash_core.io import load_dataset, read_expression, read_gene_names, read_network
from dash_core.io.errors import DashInputError

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"
YEAST = REAL / "yeast_cellcycle_500"
HEMA = REAL / "hematopoiesis_B_529"


def _file(tmp_path, name, content, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return p


@pytest.mark.parametrize("text, expected", [
    ('"x"\n"A"\n"B"\n', ["A", "B"]),                                # R write.csv of a vector
    ('"gene"\n"A"\n"B"\n', ["A", "B"]),
    ('"name"\n"A"\n"B"\n', ["A", "B"]),
    ("gene\nA\nB\n", ["A", "B"]),
    ('"A"\n"B"\n', ["A", "B"]),                                     # quoted, no title
    ("'A'\n'B'\n", ["A", "B"]),                                     # single quotes
    ('"x","name"\n"Y1","CLN3"\n"Y2","SWI4"\n', ["CLN3", "SWI4"]),  # R two columns: the name column when valid
    ('"x","name"\n"Y1","CLN3"\n"Y2","None"\n', ["Y1", "Y2"]),      # ... else the column of unique names
    ('"x","name"\n"Y1","HTA"\n"Y2","HTA"\n', ["Y1", "Y2"]),        # repeated symbols
    ("\ufeffgene\nA\nB\n", ["A", "B"]),                             # UTF-8 BOM
])
def test_gene_name_quirks(tmp_path, text, expected):
    assert read_gene_names(_file(tmp_path, "genes.csv", text)) == expected


def test_gene_names_utf16_bom_from_excel(tmp_path):
    p = _file(tmp_path, "genes.txt", b"\xff\xfe" + "gene\r\nA\r\nB\r\n".encode("utf-16-le"))
    assert read_gene_names(p) == ["A", "B"]


def test_two_column_gene_file_without_valid_column_names_the_problem(tmp_path):
    p = _file(tmp_path, "genes.csv", '"x","name"\n"Y1","None"\n"Y1","None"\n')
    with pytest.raises(DashInputError, match="No column .* holds one unique name"):
        read_gene_names(p)


def test_quoted_names_in_expression_header_and_network(tmp_path):
    expr = _file(tmp_path, "e.csv", '"trajectory","time","A","B"\n1,0,0.1,0.2\n1,1,0.2,0.3\n')
    data, _ = read_expression(expr)
    assert data.genes == ["A", "B"]
    ws = _file(tmp_path, "e.txt", "trajectory time 'A' 'B'\n1 0 0.1 0.2\n1 1 0.2 0.3\n")
    assert read_expression(ws)[0].genes == ["A", "B"]
    net = _file(tmp_path, "p.csv", '"source","target","weight"\n"A","B",1\n')
    edges, _ = read_network(net)
    assert edges[["source", "target"]].values.tolist() == [["A", "B"]]
    mat = _file(tmp_path, "m.csv", '"","A","B"\n"A",0,1\n"B",0,0\n')
    edges, _ = read_network(mat)
    assert edges[["source", "target"]].values.tolist() == [["A", "B"]]


def _phoenix(n_genes, n_traj, header):
    rows = [header]
    for _ in range(n_traj):
        rows += [",".join(["0.5"] * 3)] * n_genes + ["0,1,2"]
    return "\n".join(rows) + "\n"


def test_phoenix_swapped_counts_are_an_error_naming_them():
    src = io.BytesIO(_phoenix(4, 2, "2,4").encode())
    src.name = "swapped.csv"
    with pytest.raises(DashInputError, match="look swapped.*`4,2`"):
        read_expression(src)


def test_phoenix_wrong_trajectory_count_named():
    src = io.BytesIO(_phoenix(4, 2, "4,3").encode())
    with pytest.raises(DashInputError, match="number of trajectories is off.*`4,2`"):
        read_expression(src)


def test_phoenix_wrong_gene_count_named():
    src = io.BytesIO(_phoenix(4, 2, "3,2").encode())
    with pytest.raises(DashInputError, match="number of genes is off.*`4,2`"):
        read_expression(src)


@pytest.mark.skipif(not REAL.exists(), reason="../shared/data/real is not available")
def test_every_published_real_file_loads_unchanged():
    yeast, rep = load_dataset(YEAST / "pramila_500genes_1sample_24T.csv", YEAST / "edge_prior_matrix_pramila_500.csv",
                              genes=YEAST / "pramila500_gene_names.csv",
                              test_expression=YEAST / "pramila_500genes_1VALsample_24T.csv")
    assert yeast.n_genes == 500 and yeast.genes[:3] == ["YAL004W", "YAL037W", "YAL040C"]
    assert len(yeast.expression.trajectories[0].times) == 24 and yeast.test_expression.n_trajectories == 1
    assert len(yeast.prior) == 1143  # 1146 non-zeros, 3 self-loops dropped with a warning
    assert any("self-loop" in str(i) for i in rep.issues)
    hema, _ = load_dataset(HEMA / "hema_B_529genes_2samples.csv", HEMA / "edge_prior_matrix_hema_529.csv",
                           genes=HEMA / "hema_gene_names_529.csv",
                           test_expression=HEMA / "hema_B_529genes_3testsamples.csv")
    assert hema.n_genes == 529 and hema.genes[0] == "ABCB6" and '"' not in "".join(hema.genes)
    assert [len(t.times) for t in hema.expression.trajectories] == [482, 168]
    assert hema.test_expression.n_trajectories == 3
    assert np.isfinite(hema.prior_matrix()).all() and len(hema.prior) == 30945

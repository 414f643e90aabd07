"""Tests of dash_core.io: expression / network readers, validation messages, writers, load_dataset."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from dash_core.data import ExpressionData, Trajectory
from dash_core.io import (
    DashInputError,
    load_dataset,
    minmax_scale,
    orientation_preview,
    prior_coverage,
    read_expression,
    read_gene_names,
    read_network,
    write_edges,
    write_expression_phoenix,
    write_expression_tidy,
)

TIDY = """trajectory,time,A,B,C
r1,0,0.1,0.2,0.3
r1,1,0.4,0.5,0.6
r1,2.5,0.7,0.8,0.9
r2,0,1.0,0.0,0.5
r2,3,0.25,0.75,0.125
"""

# 3 genes, 2 trajectories; trajectory 2 has only 2 time points (ragged rows end in empty cells)
PHOENIX = """3,2
0.1,0.4,0.7
0.2,0.5,0.8
0.3,0.6,0.9
0,1,2.5
1.0,0.25,
0.0,0.75,
0.5,0.125,
0,3,
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def named_bytes(text: str, name: str) -> io.BytesIO:
    b = io.BytesIO(text.encode())
    b.name = name
    return b


def messages(report) -> str:
    return "\n".join(i.message for i in report.issues)


def check_known(expr: ExpressionData, names=("r1", "r2")):
    assert expr.genes == ["A", "B", "C"]
    assert [t.name for t in expr.trajectories] == list(names)
    t1, t2 = expr.trajectories
    np.testing.assert_array_equal(t1.times, [0, 1, 2.5])
    np.testing.assert_array_equal(t1.values, [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]])
    np.testing.assert_array_equal(t2.times, [0, 3])
    np.testing.assert_array_equal(t2.values, [[1.0, 0.0, 0.5], [0.25, 0.75, 0.125]])


# ----------------------------------------------------------------------------------------------- expression reading


@pytest.mark.parametrize("delim", [",", "\t", ";", " "])
def test_tidy_known_values_any_delimiter(tmp_path, delim):
    path = write(tmp_path, "expr.txt", TIDY.replace(",", delim))
    expr, report = read_expression(path)
    check_known(expr)
    assert report.ok and not report.warnings


def test_tidy_noncontiguous_rows_are_grouped_and_aliases(tmp_path):
    text = "Sample;Timepoint;A;B\nx;0;0,5;1\ny;0;0;0\nx;1;0,25;0\ny;2;1;1\n"  # decimal commas, aliases
    expr, report = read_expression(write(tmp_path, "e.csv", text))
    assert [t.name for t in expr.trajectories] == ["x", "y"]
    np.testing.assert_array_equal(expr.trajectories[0].values, [[0.5, 1.0], [0.25, 0.0]])
    assert "Decimal commas" in messages(report)


def test_phoenix_with_gene_file_and_ragged_rows(tmp_path):
    genes = write(tmp_path, "genes.txt", "A\nB\nC\n")
    expr, report = read_expression(write(tmp_path, "p.csv", PHOENIX), genes=genes)
    check_known(expr, names=("1", "2"))
    assert report.ok and not report.warnings


def test_phoenix_default_gene_names_warn(tmp_path):
    expr, report = read_expression(write(tmp_path, "p.csv", PHOENIX))
    assert expr.genes == ["G1", "G2", "G3"]
    assert any("G1..G3" in w.message for w in report.warnings)


def test_phoenix_tab_delimited_and_gene_list(tmp_path):
    expr, _ = read_expression(write(tmp_path, "p.tsv", PHOENIX.replace(",", "\t")), genes=["A", "B", "C"])
    check_known(expr, names=("1", "2"))


def test_uploaded_file_like_objects():
    expr, report = read_expression(named_bytes(TIDY, "upload.csv"))
    check_known(expr)
    assert "upload.csv" in str(report)

    class Uploaded:  # Streamlit UploadedFile: .name and .getvalue()
        name = "streamlit.tsv"

        def getvalue(self):
            return TIDY.replace(",", "\t").encode()

    expr2, _ = read_expression(Uploaded())
    check_known(expr2)
    b = named_bytes("trajectory,time\n", "bad.csv")
    with pytest.raises(DashInputError, match="bad.csv"):
        read_expression(b)


def test_tidy_genes_argument_orders_and_subsets(tmp_path):
    expr, report = read_expression(write(tmp_path, "e.csv", TIDY), genes=["C", "A"])
    assert expr.genes == ["C", "A"]
    np.testing.assert_array_equal(expr.trajectories[0].values[0], [0.3, 0.1])
    assert "'B'" in messages(report)
    with pytest.raises(DashInputError, match="'Z'"):
        read_expression(write(tmp_path, "e2.csv", TIDY), genes=["A", "Z"])


# ----------------------------------------------------------------------------------------------- expression validation


def test_wrong_delimiter_reports_found_columns(tmp_path):
    with pytest.raises(DashInputError) as e:
        read_expression(write(tmp_path, "pipe.csv", TIDY.replace(",", "|")))
    msg = str(e.value)
    assert "pipe.csv" in msg and "trajectory|time|A|B|C" in msg and "delimiter" in msg


def test_missing_required_column_names_found_columns(tmp_path):
    with pytest.raises(DashInputError) as e:
        read_expression(write(tmp_path, "e.csv", "trajectory,hour_x,A\nr,0,1\nr,1,2\n"))
    msg = str(e.value)
    assert "'time'" in msg and "'hour_x'" in msg and "'trajectory'" in msg


def test_non_numeric_and_missing_values_give_line_and_gene(tmp_path):
    text = TIDY.replace("r1,1,0.4,0.5,0.6", "r1,1,0.4,abc,0.6").replace("r2,3,0.25,0.75,0.125", "r2,3,0.25,,NA")
    with pytest.raises(DashInputError) as e:
        read_expression(write(tmp_path, "e.csv", text))
    msg = str(e.value)
    assert "line 3 (gene B): 'abc'" in msg
    assert "missing" in msg and "line 6 (gene B)" in msg and "line 6 (gene C)" in msg


def test_non_numeric_time(tmp_path):
    with pytest.raises(DashInputError, match=r"line 2 \(time\): 'zero'"):
        read_expression(write(tmp_path, "e.csv", TIDY.replace("r1,0,", "r1,zero,")))


def test_row_with_wrong_field_count(tmp_path):
    with pytest.raises(DashInputError, match="line 4 has 4"):
        read_expression(write(tmp_path, "e.csv", TIDY.replace("r1,2.5,0.7,0.8,0.9", "r1,2.5,0.7,0.8")))


def test_duplicate_genes(tmp_path):
    with pytest.raises(DashInputError, match="Duplicate gene.*'A'"):
        read_expression(write(tmp_path, "e.csv", TIDY.replace("A,B,C", "A,B,A")))
    with pytest.raises(DashInputError, match="Duplicate gene.*'B'"):
        read_gene_names(named_bytes("A\nB\nB\n", "g.txt"))


def test_duplicate_time_points_error_names_trajectory(tmp_path):
    text = TIDY.replace("r2,3,", "r2,0,")
    with pytest.raises(DashInputError) as e:
        read_expression(write(tmp_path, "e.csv", text))
    msg = str(e.value)
    assert "trajectory 'r2'" in msg and "time 0" in msg and "lines 5, 6" in msg


def test_unsorted_time_points_are_sorted_with_warning(tmp_path):
    text = "trajectory,time,A\nq,2,0.2\nq,0,0.0\nq,1,0.1\nz,0,1\nz,1,1\n"
    expr, report = read_expression(write(tmp_path, "e.csv", text))
    np.testing.assert_array_equal(expr.trajectories[0].times, [0, 1, 2])
    np.testing.assert_array_equal(expr.trajectories[0].values[:, 0], [0.0, 0.1, 0.2])
    assert len(report.warnings) == 1 and "'q'" in report.warnings[0].message and "sorted" in report.warnings[0].message


def test_short_trajectories_dropped_or_error(tmp_path):
    text = TIDY + "r3,0,0.1,0.1,0.1\n"
    expr, report = read_expression(write(tmp_path, "e.csv", text))
    assert [t.name for t in expr.trajectories] == ["r1", "r2"]
    assert any("'r3'" in w.message and "dropped" in w.message for w in report.warnings)
    with pytest.raises(DashInputError, match="two or more time points"):
        read_expression(write(tmp_path, "e2.csv", "trajectory,time,A\na,0,1\nb,0,1\n"))


def test_values_far_outside_unit_interval_warn_and_minmax(tmp_path):
    text = "trajectory,time,A,B\na,0,2,10\na,1,4,6\nb,0,3,8\nb,1,5,7\n"
    expr, report = read_expression(write(tmp_path, "e.csv", text))
    assert any("min-max" in w.message and "10" in w.message for w in report.warnings)
    scaled, (lo, hi) = minmax_scale(expr)
    assert (lo, hi) == (2.0, 10.0)
    np.testing.assert_allclose(scaled.trajectories[0].values, [[0.0, 1.0], [0.25, 0.5]])
    assert scaled.value_range() == (0.0, 1.0)
    same, rng = minmax_scale(expr.subset([1]), value_range=(lo, hi))
    assert rng == (2.0, 10.0)
    np.testing.assert_allclose(same.trajectories[0].values, scaled.trajectories[1].values)
    _, rep2 = read_expression(write(tmp_path, "ok.csv", TIDY))
    assert not rep2.warnings
    const = ExpressionData(["A"], [Trajectory("t", [0, 1], [[1.0], [1.0]])])
    with pytest.raises(DashInputError, match="max > min"):
        minmax_scale(const)


def test_phoenix_gene_file_length_mismatch(tmp_path):
    with pytest.raises(DashInputError) as e:
        read_expression(write(tmp_path, "p.csv", PHOENIX), genes=write(tmp_path, "g.txt", "A\nB\n"))
    msg = str(e.value)
    assert "2 names" in msg and "3 genes" in msg and "g.txt" in msg


def test_phoenix_row_count_mismatch(tmp_path):
    text = "\n".join(PHOENIX.splitlines()[:-1]) + "\n"  # last time row missing
    with pytest.raises(DashInputError, match="8 rows should follow.*7"):
        read_expression(write(tmp_path, "p.csv", text))
    with pytest.raises(DashInputError, match="number of trajectories"):
        read_expression(write(tmp_path, "p2.csv", PHOENIX.replace("3,2", "3,3", 1)))


def test_phoenix_gene_row_shorter_than_time_row(tmp_path):
    text = PHOENIX.replace("0.2,0.5,0.8", "0.2,0.5,")
    with pytest.raises(DashInputError) as e:
        read_expression(write(tmp_path, "p.csv", text), genes=["A", "B", "C"])
    msg = str(e.value)
    assert "line 3 (trajectory 1, gene B) has 2 value(s)" in msg and "line 5" in msg


def test_phoenix_missing_value_inside_row(tmp_path):
    with pytest.raises(DashInputError, match=r"missing.*line 4 \(gene G3, time point 2\)"):
        read_expression(write(tmp_path, "p.csv", PHOENIX.replace("0.3,0.6,0.9", "0.3,,0.9")))


@pytest.mark.parametrize(
    "content, key",
    [
        (b"", "empty"),
        (b"PK\x03\x04rest-of-zip", "Excel"),
        (b"\x00\x01\x02binary", "binary"),
        (b"trajectory,time,A\n", "no data rows"),
    ],
)
def test_unreadable_inputs(content, key):
    b = io.BytesIO(content)
    b.name = "x.csv"
    with pytest.raises(DashInputError, match=key):
        read_expression(b)


def test_missing_file(tmp_path):
    with pytest.raises(DashInputError, match="not found"):
        read_expression(tmp_path / "nope.csv")


def test_garbage_never_crashes():
    rng = np.random.default_rng(0)
    alphabet = list('0123456789,;\t .-+eE\nabAB#"') + ["NA", "nan", "inf"]
    for _ in range(200):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(1, 80))))
        for reader in (read_expression, read_network, read_gene_names):
            try:
                reader(named_bytes(text, "fuzz.csv"))
            except DashInputError:
                pass


# ----------------------------------------------------------------------------------------------- writers, round trips


def random_expression(seed=0, ragged=True) -> ExpressionData:
    rng = np.random.default_rng(seed)
    trs = []
    for k, n_t in enumerate([5, 3 if ragged else 5, 4 if ragged else 5]):
        times = np.sort(rng.uniform(0, 10, n_t))
        trs.append(Trajectory(f"traj{k}", times, rng.uniform(-0.1, 1.1, (n_t, 4)) / 3))
    return ExpressionData(["g1", "Gene two", "g-3", "g4"], trs)


def assert_same(a: ExpressionData, b: ExpressionData, names=True):
    assert a.genes == b.genes
    assert len(a.trajectories) == len(b.trajectories)
    for x, y in zip(a.trajectories, b.trajectories):
        if names:
            assert x.name == y.name
        np.testing.assert_array_equal(x.times, y.times)
        np.testing.assert_array_equal(x.values, y.values)


def test_round_trip_tidy(tmp_path):
    expr = random_expression()
    write_expression_tidy(expr, tmp_path / "t.csv")
    back, report = read_expression(tmp_path / "t.csv")
    assert_same(expr, back)
    assert not report.warnings


def test_round_trip_phoenix(tmp_path):
    expr = random_expression()
    write_expression_phoenix(expr, tmp_path / "p.csv", genes_path=tmp_path / "genes.txt")
    back, report = read_expression(tmp_path / "p.csv", genes=tmp_path / "genes.txt")
    assert_same(expr, back, names=False)
    assert [t.name for t in back.trajectories] == ["1", "2", "3"]
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == "4,3"


def test_round_trip_edges(tmp_path):
    edges = pd.DataFrame({"source": ["a", "b", "c"], "target": ["b", "c", "a"], "weight": [0.1, -1 / 3, 2e-7]})
    write_edges(edges, tmp_path / "e.csv")
    back, _ = read_network(tmp_path / "e.csv")
    pd.testing.assert_frame_equal(back, edges, check_dtype=False)
    assert back["weight"].dtype == np.float64
    assert (tmp_path / "e.csv").read_text().splitlines()[0] == "source,target,weight"


# ----------------------------------------------------------------------------------------------- networks

LONG = "source,target,weight\nA,B,1\nA,C,-1\nC,B,0.5\n"
LABELLED = ",A,B,C\nA,0,1,-1\nB,0,0,0\nC,0,0.5,0\n"
UNLABELLED = "0,1,-1\n0,0,0\n0,0.5,0\n"


def canon(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(["source", "target"]).reset_index(drop=True)


def test_matrix_forms_equal_long_form(tmp_path):
    long, r1 = read_network(write(tmp_path, "long.csv", LONG))
    lab, r2 = read_network(write(tmp_path, "lab.csv", LABELLED))
    lab_nocorner, _ = read_network(write(tmp_path, "lab2.tsv", LABELLED.replace(",", "\t").lstrip("\t")))
    unl, r3 = read_network(write(tmp_path, "unl.csv", UNLABELLED), genes=["A", "B", "C"])
    expected = pd.DataFrame({"source": ["A", "A", "C"], "target": ["B", "C", "B"], "weight": [1.0, -1.0, 0.5]})
    for df in (long, lab, lab_nocorner, unl):
        assert list(df.columns) == ["source", "target", "weight"]
        pd.testing.assert_frame_equal(canon(df), expected, check_dtype=False)
    assert not r1.warnings and not r2.warnings and not r3.warnings
    assert long["weight"].dtype == np.float64 and isinstance(long["source"].iloc[0], str)


def test_labelled_matrix_columns_in_other_order(tmp_path):
    text = ",C,A,B\nA,-1,0,1\nB,0,0,0\nC,0,0,0.5\n"
    df, _ = read_network(write(tmp_path, "m.csv", text))
    assert set(zip(df.source, df.target, df.weight)) == {("A", "B", 1.0), ("A", "C", -1.0), ("C", "B", 0.5)}


def test_edge_aliases_and_signs(tmp_path):
    text = "TF\tGene\tMode\tcomment\nA\tB\tactivation\tx\nA\tC\trepressing\ty\nC\tB\t-\tz\nB\tA\t+\tw\n"
    df, report = read_network(write(tmp_path, "e.tsv", text))
    assert list(df.weight) == [1.0, -1.0, -1.0, 1.0]
    assert list(df.source) == ["A", "A", "C", "B"]
    assert "'comment'" in messages(report)
    df2, _ = read_network(named_bytes("regulator,to,weight,sign\nA,B,0.5,-1\nA,C,2,activating\n", "w.csv"))
    assert list(df2.weight) == [-0.5, 2.0]
    df3, _ = read_network(named_bytes("from,to\nA,B\nB,C\n", "nw.csv"))  # no weight column -> 1
    assert list(df3.weight) == [1.0, 1.0]


def test_bad_sign_value_names_line(tmp_path):
    with pytest.raises(DashInputError, match=r"line 3 \(sign\): 'maybe'"):
        read_network(named_bytes("source,target,sign\nA,B,+\nA,C,maybe\n", "s.csv"))


def test_edge_table_without_header_is_rejected():
    with pytest.raises(DashInputError, match="source,target"):
        read_network(named_bytes("A,B,1\nA,C,-1\nC,B,1\nB,A,1\n", "nohead.csv"))


def test_empty_prior_errors():
    with pytest.raises(DashInputError, match="prior network is empty"):
        read_network(named_bytes("source,target,weight\n", "p.csv"))
    with pytest.raises(DashInputError, match="no edges"):
        read_network(named_bytes("source,target,weight\nA,B,0\n", "p.csv"))
    with pytest.raises(DashInputError, match="gold-standard network has no edges"):
        read_network(named_bytes(",A,B\nA,0,0\nB,0,0\n", "t.csv"), kind="truth")


def test_self_loops_warned_and_dropped():
    text = "source,target,weight\nA,A,1\nA,B,1\n"
    df, report = read_network(named_bytes(text, "p.csv"))
    assert list(zip(df.source, df.target)) == [("A", "B")]
    assert any("self-loop" in w.message and "A->A" in w.message for w in report.warnings)
    kept, _ = read_network(named_bytes(text, "p.csv"), drop_self_loops=False)
    assert len(kept) == 2


def test_duplicate_edges_keep_last():
    df, report = read_network(named_bytes("source,target,weight\nA,B,1\nA,B,-2\n", "p.csv"))
    assert list(df.weight) == [-2.0]
    assert any("duplicate" in w.message and "A->B" in w.message for w in report.warnings)


def test_non_square_matrices(tmp_path):
    with pytest.raises(DashInputError, match="not square: 2 rows .* 3 columns"):
        read_network(write(tmp_path, "m.csv", ",A,B,C\nA,0,1,0\nB,0,0,1\n"))
    with pytest.raises(DashInputError, match="not square"):
        read_network(write(tmp_path, "u.csv", "0,1,0\n1,0,0\n"), genes=["A", "B", "C"])


def test_mislabelled_matrix_lists_labels(tmp_path):
    with pytest.raises(DashInputError) as e:
        read_network(write(tmp_path, "m.csv", ",A,B,C\nA,0,1,0\nB,0,0,1\nD,1,0,0\n"))
    msg = str(e.value)
    assert "only in rows 'D'" in msg and "only in columns 'C'" in msg


def test_unlabelled_matrix_gene_file_length(tmp_path):
    with pytest.raises(DashInputError, match="4 names.*3 x 3"):
        read_network(write(tmp_path, "u.csv", UNLABELLED), genes=write(tmp_path, "g.txt", "gene\nA\nB\nC\nD\n"))
    df, report = read_network(write(tmp_path, "u2.csv", UNLABELLED))
    assert set(df.source) == {"G1", "G3"} and any("G1..G3" in w.message for w in report.warnings)


def test_matrix_non_numeric_entry(tmp_path):
    with pytest.raises(DashInputError, match=r"line 3 \(regulator B, target C\): 'x'"):
        read_network(write(tmp_path, "m.csv", ",A,B,C\nA,0,1,0\nB,0,0,x\nC,1,0,0\n"))


def test_gene_names_file_forms():
    assert read_gene_names(named_bytes("gene_name\nA\nB C\n", "g.txt")) == ["A", "B C"]
    assert read_gene_names(named_bytes("A,B,C\n", "g.csv")) == ["A", "B", "C"]
    with pytest.raises(DashInputError, match="line 2 has 2 fields"):
        read_gene_names(named_bytes("A\nB,C\n", "g.csv"))


# ----------------------------------------------------------------------------------------------- datasets


def test_load_dataset_alignment_and_coverage(tmp_path):
    expr = write(tmp_path, "mydata.csv", TIDY)
    prior = write(tmp_path, "prior.csv", "source,target,weight\nA,B,1\nA,C,-1\nX,B,1\nC,Y,1\nB,B,1\n")
    truth = write(tmp_path, "truth.csv", LABELLED)
    test = write(tmp_path, "test.csv", "trajectory,time,C,B,A,Z\nt,0,0.3,0.2,0.1,9\nt,1,0.6,0.5,0.4,9\n")
    ds, report = load_dataset(expr, prior, truth=truth, test_expression=test)
    assert ds.name == "mydata" and ds.genes == ["A", "B", "C"]
    assert list(zip(ds.prior.source, ds.prior.target)) == [("A", "B"), ("A", "C")]
    text = messages(report)
    assert "3 of 5 genes" in text and "2 of 4 edges kept" in text and "'X'" in text and "'Y'" in text
    assert "self-loop" in text
    cov = ds.metadata["coverage"]["prior"]
    assert cov == {
        "n_prior_genes": 5,
        "n_in_data": 3,
        "n_edges": 4,
        "n_edges_kept": 2,
        "fraction_genes_covered": 0.6,
        "fraction_data_genes_in_prior": 1.0,
    }
    assert ds.truth_matrix()[0, 2] == -1 and ds.prior_matrix()[0, 1] == 1
    assert ds.test_expression.genes == ["A", "B", "C"]
    np.testing.assert_array_equal(ds.test_expression.trajectories[0].values, [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    assert "'Z'" in text


def test_load_dataset_errors(tmp_path):
    expr = write(tmp_path, "e.csv", TIDY)
    with pytest.raises(DashInputError, match="lacks 1 gene.*'C'"):
        load_dataset(expr, test_expression=write(tmp_path, "t.csv", "trajectory,time,A,B\nt,0,1,1\nt,1,1,1\n"))
    with pytest.raises(DashInputError, match="None of the 1 edges") as e:
        load_dataset(expr, write(tmp_path, "p.csv", "source,target\nX,Y\n"))
    assert "p.csv" in str(e.value)


def test_load_dataset_phoenix_with_unlabelled_prior(tmp_path):
    genes = write(tmp_path, "genes.txt", "A\nB\nC\n")
    ds, _ = load_dataset(
        named_bytes(PHOENIX, "sim.csv"),
        named_bytes(UNLABELLED, "prior.csv"),
        genes=genes,
        ppi=pd.DataFrame({"source": ["A"], "target": ["C"], "weight": [0.5]}),
    )
    assert ds.genes == ["A", "B", "C"] and ds.name == "sim"
    assert canon(ds.prior).equals(
        canon(pd.DataFrame({"source": ["A", "A", "C"], "target": ["B", "C", "B"], "weight": [1.0, -1.0, 0.5]}))
    )
    assert ds.ppi_matrix()[2, 0] == 0.5


def test_prior_coverage_and_orientation_preview():
    edges = pd.DataFrame({"source": ["A", "A", "Q"], "target": ["B", "C", "A"], "weight": [2.0, -1.0, 1.0]})
    cov = prior_coverage(edges, ["A", "B", "C", "D"])
    assert cov["n_prior_genes"] == 4 and cov["n_in_data"] == 3 and cov["n_edges_kept"] == 2
    assert cov["fraction_genes_covered"] == 0.75 and cov["fraction_data_genes_in_prior"] == 0.75
    prev = orientation_preview(edges, ["A", "B", "C", "D"], k=3)
    assert prev.shape == (3, 3) and prev.index.name == "regulator" and prev.columns.name == "target"
    assert prev.loc["A", "B"] == 2.0 and prev.loc["B", "A"] == 0.0 and prev.loc["A", "C"] == -1.0
    assert orientation_preview(edges, ["A", "B"], k=8).shape == (2, 2)


def test_messages_hint_at_fixes(tmp_path):
    with pytest.raises(DashInputError, match="looks like an edge, not a header"):
        read_network(named_bytes("A,B,1\nA,C,-1\n", "p.csv"))
    with pytest.raises(DashInputError, match="single time course"):
        read_expression(named_bytes("time,A\n0,1\n1,2\n", "e.csv"))
    with pytest.raises(DashInputError, match="genes of the expression data"):
        load_dataset(named_bytes(TIDY, "e.csv"), named_bytes("0,1\n1,0\n", "u.csv"))


def test_in_memory_frames_and_index_column(tmp_path):
    expr = random_expression(3)
    back, _ = read_expression(expr.to_tidy())
    assert_same(expr, back)
    expr.to_tidy().to_csv(tmp_path / "pd.csv")  # pandas writes an unnamed index column
    back2, report = read_expression(tmp_path / "pd.csv")
    assert back2.genes == expr.genes and "row index" in messages(report)
    edges = pd.DataFrame({"source": ["A", "B"], "target": ["B", "A"], "weight": [1, -2]})
    df, _ = read_network(edges, kind="ppi")
    assert list(df.weight) == [1.0, -2.0]


def test_ppi_keeps_self_interactions_priors_drop_self_loops():
    import io as _io

    from dash_core.io import read_network

    text = b"source,target,weight\nA,A,1\nA,B,1\n"
    ppi, rep = read_network(_io.BytesIO(text), kind="ppi")
    assert len(ppi) == 2 and not rep.warnings  # diagonal kept (methods B.1), only an info note
    prior, rep = read_network(_io.BytesIO(text), kind="prior")
    assert list(prior["source"] + prior["target"]) == ["AB"]
    assert any("self-loop" in w.message for w in rep.warnings)

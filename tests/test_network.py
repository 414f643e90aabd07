"""Edge tables, truth comparison and GraphML export (dash_core.network).

Matrices are regulator (row) x target (column); edge tables are source -> target.
"""

from __future__ import annotations

import io

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from dash_core.network import (
    classify_edges,
    edges_to_matrix,
    gene_order,
    matrix_to_edges,
    missed_edges,
    reconstruction_error,
    to_graphml,
    to_graphml_string,
    top_edges,
)

GENES = ["a", "b", "c"]
# Predicted E (row = source):       truth:
#  a: [0.5, 1,  0 ]                 a -> b (+1), a -> c (+1)
#  b: [0,   0, -2 ]                 c -> a (-1)
#  c: [3,   0,  0.5]
E = np.array([[0.5, 1.0, 0.0], [0.0, 0.0, -2.0], [3.0, 0.0, 0.5]])
T = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])


def _pred() -> pd.DataFrame:
    # sorted by |weight|: c->a 3, b->c -2, a->b 1, a->a .5, c->c .5
    return matrix_to_edges(E, GENES)


def _truth() -> pd.DataFrame:
    return matrix_to_edges(T, GENES)


def test_roundtrip_existing_helpers_unchanged():
    edges = _pred()
    assert list(edges.columns) == ["source", "target", "weight"]
    assert edges["weight"].tolist() == [3.0, -2.0, 1.0, 0.5, 0.5]
    np.testing.assert_array_equal(edges_to_matrix(edges, GENES), E)


def test_matrix_to_edges_max_edges_keeps_the_largest_in_order():
    full = _pred()
    for k in range(0, 6):
        capped = matrix_to_edges(E, GENES, max_edges=k)
        pd.testing.assert_frame_equal(capped.reset_index(drop=True), full.head(k).reset_index(drop=True),
                                      check_dtype=False)
    assert len(matrix_to_edges(E, GENES, max_edges=99)) == 5


def test_top_edges():
    top = top_edges(_pred(), 2)
    assert list(zip(top["source"], top["target"])) == [("c", "a"), ("b", "c")]
    assert len(top_edges(_pred(), 0)) == 0
    assert len(top_edges(_pred(), 99)) == 5
    # unsorted input is ranked by |weight|
    shuffled = _pred().iloc[::-1]
    assert top_edges(shuffled, 1)["weight"].tolist() == [3.0]


def test_classify_edges_counts_and_true_sign():
    # TP: a->b, c->a (2); FP: b->c, a->a, c->c (3)
    out = classify_edges(_pred(), _truth())
    assert len(out) == 5
    assert (out["status"] == "TP").sum() == 2
    assert (out["status"] == "FP").sum() == 3
    by_pair = {(s, t): (st, sg) for s, t, st, sg in zip(out["source"], out["target"], out["status"], out["true_sign"])}
    assert by_pair[("c", "a")] == ("TP", -1)
    assert by_pair[("a", "b")] == ("TP", 1)
    assert by_pair[("b", "c")][0] == "FP" and pd.isna(by_pair[("b", "c")][1])


def test_classify_edges_truth_without_weight_and_zero_rows():
    truth = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"]})
    out = classify_edges(_pred(), truth)
    assert sorted(out.loc[out["status"] == "TP", "target"]) == ["b", "c"]
    assert set(out.loc[out["status"] == "TP", "true_sign"]) == {1}
    zero = pd.DataFrame({"source": ["b"], "target": ["c"], "weight": [0.0]})
    assert (classify_edges(_pred(), zero)["status"] == "FP").all()


def test_missed_edges():
    fn = missed_edges(_pred(), _truth())
    assert list(zip(fn["source"], fn["target"])) == [("a", "c")]
    assert fn["weight"].tolist() == [1.0]
    assert fn["status"].tolist() == ["FN"]
    # an edge present with weight 0 still counts as missed
    pred = pd.concat([_pred(), pd.DataFrame({"source": ["a"], "target": ["c"], "weight": [0.0]})])
    assert len(missed_edges(pred, _truth())) == 1
    assert len(missed_edges(_truth(), _truth())) == 0


def test_graphml_roundtrip_with_truth_and_node_attrs(tmp_path):
    path = tmp_path / "net.graphml"
    nodes = pd.DataFrame(
        {"role": ["TF", "target", "TF", "target"], "influence": [0.3, 0.1, 0.2, 0.0]}, index=[*GENES, "d"]
    )
    to_graphml(_pred(), path, truth=_truth(), node_attrs=nodes)
    g = nx.read_graphml(path)
    assert g.is_directed()
    assert set(g.nodes) == {"a", "b", "c", "d"}  # isolated "d" kept
    assert g.number_of_edges() == 5
    ca = g.edges["c", "a"]
    assert ca["weight"] == pytest.approx(3.0)
    assert ca["abs_weight"] == pytest.approx(3.0)
    assert ca["sign"] == 1
    assert ca["status"] == "TP" and ca["true_sign"] == -1
    bc = g.edges["b", "c"]
    assert bc["sign"] == -1 and bc["abs_weight"] == pytest.approx(2.0)
    assert bc["status"] == "FP" and "true_sign" not in bc  # NA left out
    assert g.nodes["a"]["role"] == "TF"
    assert g.nodes["b"]["influence"] == pytest.approx(0.1)
    assert g.nodes["d"]["name"] == "d"
    # matrix recovered from the GraphML edges
    back = pd.DataFrame([(s, t, d["weight"]) for s, t, d in g.edges(data=True)], columns=["source", "target", "weight"])
    np.testing.assert_allclose(edges_to_matrix(back, GENES), E)


def test_graphml_string_and_buffers():
    text = to_graphml_string(_pred())
    assert text.startswith("<?xml")
    g = nx.read_graphml(io.BytesIO(text.encode("utf-8")))
    assert g.number_of_edges() == 5
    assert "status" not in g.edges["c", "a"]
    bio, sio = io.BytesIO(), io.StringIO()
    to_graphml(_pred(), bio, node_attrs={"a": {"role": "TF"}})
    to_graphml(_pred(), sio)
    assert nx.read_graphml(io.BytesIO(bio.getvalue())).nodes["a"]["role"] == "TF"
    assert sio.getvalue() == text


def test_reconstruction_error():
    # support mismatch: FP (0,0),(1,2),(2,2) + FN (0,2) = 4 of 9
    # sign(E) - sign(T): (0,0) 1, (0,1) 0, (0,2) -1, (1,2) -1, (2,0) 1-(-1)=2, (2,2) 1
    #   squared sum = 1 + 1 + 1 + 4 + 1 = 8
    r = reconstruction_error(E, T)
    assert r["n_mismatch"] == 4
    assert r["mismatch_fraction"] == pytest.approx(4 / 9)
    assert r["n_extra"] == 3 and r["n_missing"] == 1
    assert r["support_frobenius"] == pytest.approx(2.0)
    assert r["sign_frobenius"] == pytest.approx(np.sqrt(8))
    assert reconstruction_error(T, T)["sign_frobenius"] == 0.0
    with pytest.raises(ValueError):
        reconstruction_error(E, np.zeros((2, 2)))


def test_gene_order_regulators_first_by_out_degree():
    genes = ["g0", "g1", "g2", "g3"]
    prior = np.zeros((4, 4))
    prior[0, 1] = 1  # g0: out-degree 1
    prior[2, [0, 1]] = 1  # g2: out-degree 2
    assert gene_order(prior, genes) == [2, 0, 1, 3]
    edges = pd.DataFrame({"source": ["g3", "g2", "g2"], "target": ["g0", "g0", "g1"], "weight": [1.0, 1.0, -1.0]})
    assert gene_order(edges, genes) == [2, 3, 0, 1]
    with pytest.raises(ValueError):
        gene_order(prior, genes[:3])

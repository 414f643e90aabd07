"""Figure builders: pure functions with checkable contents (no Streamlit)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from dash_core.data import ExpressionData, Trajectory
from dash_core.plots import (
    ACTIVATION_COLOR,
    FP_COLOR,
    REPRESSION_COLOR,
    TP_COLOR,
    compare_curves_figure,
    fitted_trajectories_figure,
    lambda_heatmap_figure,
    lambda_mixing_figure,
    network_heatmaps_figure,
    network_html,
    plane_metric,
    sparsity_accuracy_figure,
    strip_remote_resources,
    training_curves_figure,
    trajectories_figure,
)

GENES = ["A", "B", "C"]
# regulator x target: A -> B (+2), C -> A (-1), C -> B (+0.5)
E = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [-1.0, 0.5, 0.0]])


def test_heatmaps_share_gene_order_and_keep_raw_values():
    truth = (E != 0).astype(float)
    order = [2, 0, 1]  # C has 2 targets, A has 1
    fig = network_heatmaps_figure({"Ground truth": truth, "Inferred E": E}, GENES, order)
    assert [a.text for a in fig.layout.annotations] == ["Ground truth", "Inferred E"]
    h_truth, h_e = fig.data
    assert list(h_e.x) == ["C", "A", "B"] and list(h_e.y) == ["C", "A", "B"]
    raw = np.asarray(h_e.customdata, dtype=float)
    assert np.array_equal(raw, E[np.ix_(order, order)])
    assert np.allclose(np.asarray(h_e.z, dtype=float), raw / 2.0)  # scaled by max |E| = 2
    assert raw[0, 2] == 0.5  # row C (regulator), column B (target)
    assert fig.layout.xaxis2.matches == "x" and fig.layout.yaxis.autorange == "reversed"
    assert fig.layout.yaxis.title.text == "regulator" and fig.layout.xaxis.title.text == "target"


def _points():
    return pd.DataFrame({
        "strategy": ["dash", "dash", "none", "imp"],
        "sparsity": [0.9, 0.95, 0.1, 0.96],
        "balanced_accuracy": [0.88, 0.91, 0.58, 0.71],
        "val_mse": [1e-3, 2e-3, 5e-4, 3e-3],
        "lambda_ppi": [0.5, 0.95, 0.5, 0.0],
        "lambda_motif": [0.05, 0.05, 0.05, 0.0],
        "run_id": ["r1", "r2", "r3", None],
    })


def test_sparsity_accuracy_plane():
    fig = sparsity_accuracy_figure(_points())
    assert [t.name for t in fig.data] == ["dash", "imp", "none"]
    dash = fig.data[0]
    assert list(dash.x) == [0.9, 0.95] and list(dash.y) == [0.88, 0.91]
    assert [c[0] for c in dash.customdata] == ["r1", "r2"]  # run ids for click-to-open
    assert fig.data[1].customdata[0][0] == ""  # a point without a run
    assert "λ_ppi" in dash.hovertemplate
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 2  # quadrant guides: sparsity 0.5, chance 0.5
    assert {lines[0].x0, lines[1].y0} == {0.5}
    assert "Balanced accuracy" in fig.layout.yaxis.title.text
    assert fig.layout.xaxis.tickformat == ".0%"


def test_plane_falls_back_to_validation_mse_without_gold_standard():
    pts = _points().drop(columns=["balanced_accuracy"])
    assert plane_metric(pts) == ("val_mse", "Validation MSE", False)
    fig = sparsity_accuracy_figure(pts)
    assert fig.layout.yaxis.autorange == "reversed"  # lower MSE is up
    assert "lower is better" in fig.layout.yaxis.title.text
    assert plane_metric(_points(), "auprc")[0] == "balanced_accuracy"  # preferred column absent


def test_lambda_heatmap_means_over_seeds():
    pts = pd.DataFrame({"lambda_ppi": [0.0, 0.0, 0.5, 0.5, 0.5], "lambda_motif": [0.05, 0.05, 0.05, 1.0, 1.0],
                        "balanced_accuracy": [0.6, 0.8, 0.9, 0.5, 0.7]})
    fig = lambda_heatmap_figure(pts)
    hm = fig.data[0]
    assert list(hm.y) == ["0", "0.5"] and list(hm.x) == ["0.05", "1"]
    z = np.asarray(hm.z, dtype=float)
    assert np.isclose(z[0, 0], 0.7) and np.isclose(z[1, 0], 0.9) and np.isclose(z[1, 1], 0.6)
    assert np.isnan(z[0, 1])
    assert "λ_PPI" in fig.layout.yaxis.title.text


def test_network_html_is_offline_and_coloured():
    edges = pd.DataFrame({"source": ["A", "C", "C"], "target": ["B", "A", "B"], "weight": [2.0, -1.0, 0.5]})
    truth = pd.DataFrame({"source": ["A"], "target": ["B"], "weight": [1.0]})
    page = network_html(edges, truth=truth, top_k=2, color_by="sign")
    assert not re.search(r"<script[^>]*\bsrc=", page) and not re.search(r"<link[^>]*\bhref=", page)
    assert "bootstrap.min" not in page and "node_modules" not in page
    assert "vis.Network" in page  # vis-network is inlined
    drawn = json.loads(re.search(r"edges = new vis.DataSet\((.*?)\);", page).group(1))
    assert [(e["from"], e["to"]) for e in drawn] == [("A", "B"), ("C", "A")]  # the top 2 by |weight|
    assert [e["color"] for e in drawn] == [ACTIVATION_COLOR, REPRESSION_COLOR]
    assert [e["dashes"] for e in drawn] == [False, True]  # C -> A is not in the gold standard
    assert "TP" in drawn[0]["title"] and "FP" in drawn[1]["title"]
    status = network_html(edges, truth=truth, top_k=3, color_by="status")
    assert TP_COLOR in status and FP_COLOR in status and "true positive" in status
    no_truth = network_html(edges, top_k=3, color_by="status")  # falls back to sign colours
    assert ACTIVATION_COLOR in no_truth and "true positive" not in no_truth


def test_strip_remote_resources():
    page = ('<head><link rel="stylesheet" href="https://cdn/x.css"/><script src="https://cdn/x.js"></script>'
            '<script type="text/javascript">var a = 1;</script></head>')
    out = strip_remote_resources(page)
    assert out == '<head><script type="text/javascript">var a = 1;</script></head>'


def test_training_curves_and_compare():
    hist = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.2], "val_mse": [1.1, 0.6, 0.3],
                         "sparsity": [0.0, 0.7, 0.73]})
    fig = training_curves_figure(hist)
    assert [t.name for t in fig.data] == ["training loss", "validation MSE", "sparsity"]
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis2.tickformat == ".0%"
    cmp = compare_curves_figure({"run 1": hist, "run 2": hist.assign(val_mse=hist["val_mse"] * 2)})
    assert [t.name for t in cmp.data] == ["run 1", "run 2"] and list(cmp.data[1].y) == [2.2, 1.2, 0.6]


def test_trajectory_figures():
    tr = [Trajectory(f"t{i}", np.array([0.0, 1.0, 2.0]), np.arange(9, dtype=float).reshape(3, 3) + i)
          for i in range(3)]
    ex = ExpressionData(GENES, tr)
    fig = trajectories_figure(ex, [0, 2], ["B", "C", "Z"])  # unknown genes are skipped
    assert len(fig.data) == 4 and [a.text for a in fig.layout.annotations] == ["t0", "t2"]
    assert list(fig.data[2].y) == [3.0, 6.0, 9.0]  # t2, gene B (column 1) + 2
    fit = fitted_trajectories_figure(np.array([0.0, 1.0]), np.ones((2, 2)), np.linspace(0, 1, 5), np.zeros((5, 2)),
                                     ["A", "B"], title="x")
    assert [t.mode for t in fit.data] == ["lines", "markers", "lines", "markers"]


def test_lambda_mixing_marks_pruned_entries():
    mag = np.array([[1.0, 0.1, 5.0, 4.0], [2.0, 0.2, 6.0, 3.0]])
    prior = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    fig = lambda_mixing_figure(mag, prior, lam=1.0, amount=0.5)
    marks = fig.data[-1]
    assert len(marks.x) == 4 and set(marks.x) == {2, 3}  # prior only: unsupported genes 2, 3 go
    fig0 = lambda_mixing_figure(mag, prior, lam=0.0, amount=0.5)
    assert set(zip(fig0.data[-1].x, fig0.data[-1].y)) == {(1, 0), (1, 1), (0, 0), (0, 1)}  # smallest |W|

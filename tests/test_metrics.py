"""Hand-computed checks of dash_core.metrics (methods.md part D).

All matrices are regulator (row) x target (column).
"""

from __future__ import annotations

import numpy as np
import pytest

from dash_core import metrics as M

# --------------------------------------------------------------------------- 3x3 support example
#
# E3 (predicted)            T3 (truth)
#  [0.5, 1,  0 ]             [0, 1,  1]
#  [0,   0, -2 ]             [0, 0,  0]
#  [3,   0,  0.5]            [-1, 0, 0]
#
# E3 != 0: (0,0) (0,1) (1,2) (2,0) (2,2)        truth: (0,1) (0,2) (2,0)
# all 9 pairs: TP = (0,1),(2,0) = 2; FN = (0,2) = 1; FP = (0,0),(1,2),(2,2) = 3;
#              TN = (1,0),(1,1),(2,1) = 3
#   BA = 1/2 (2/3 + 3/6) = 7/12
# off-diagonal 6 pairs: TP 2, FN 1, FP (1,2) = 1, TN (1,0),(2,1) = 2
#   BA = 1/2 (2/3 + 2/3) = 2/3
E3 = np.array([[0.5, 1.0, 0.0], [0.0, 0.0, -2.0], [3.0, 0.0, 0.5]])
T3 = np.array([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])


def test_confusion_counts_all_pairs_and_offdiag():
    assert M.confusion_counts(E3, T3) == {"tp": 2, "fp": 3, "tn": 3, "fn": 1}
    assert M.confusion_counts(E3, T3, False) == {"tp": 2, "fp": 1, "tn": 2, "fn": 1}


def test_balanced_accuracy_diagonal_include_exclude():
    assert M.balanced_accuracy(E3, T3) == pytest.approx(7 / 12)
    assert M.balanced_accuracy(E3, T3, include_diagonal=False) == pytest.approx(2 / 3)


def test_balanced_accuracy_regulator_rows():
    # rows {0, 2}, all pairs: (0,0)FP (0,1)TP (0,2)FN (2,0)TP (2,1)TN (2,2)FP
    # TPR = 2/3, TNR = 1/3 -> BA = 1/2
    assert M.balanced_accuracy(E3, T3, regulators=[0, 2]) == pytest.approx(0.5)


def test_balanced_accuracy_none_when_single_class():
    assert M.balanced_accuracy(E3, np.zeros((3, 3))) is None
    assert M.balanced_accuracy(E3, np.ones((3, 3))) is None


def test_sign_agreement_out_degree_n_edges():
    # TPs: (0,1) E=+1 vs +1 agree; (2,0) E=+3 vs -1 disagree -> 1/2
    assert M.sign_agreement(E3, T3) == pytest.approx(0.5)
    assert M.sign_agreement(np.zeros((3, 3)), T3) is None
    # non-zeros per row: 2, 1, 2 -> mean 5/3; total 5
    assert M.out_degree(E3) == pytest.approx(5 / 3)
    assert M.n_edges(E3) == 5


def test_sparsity():
    # zeros: 2 of 4 in the first block, 2 of 3 in the second -> 4/7
    blocks = [np.array([[0.0, 1.0], [2.0, 0.0]]), np.array([[0.0, 0.0, 3.0]])]
    assert M.sparsity(blocks) == pytest.approx(4 / 7)
    assert M.sparsity([np.zeros((2, 2))]) == 1.0
    with pytest.raises(ValueError):
        M.sparsity([])


def test_torch_inputs_are_accepted():
    torch = pytest.importorskip("torch")
    assert M.sparsity([torch.tensor([[0.0, 1.0], [2.0, 0.0]], requires_grad=True)]) == pytest.approx(0.5)
    assert M.balanced_accuracy(torch.tensor(E3), torch.tensor(T3)) == pytest.approx(7 / 12)


def test_mse_pooled():
    # squared errors 0, 4, 0, 16 -> 20 / 4 = 5
    assert M.mse([[1.0, 2.0], [3.0, 4.0]], [[1.0, 0.0], [3.0, 8.0]]) == pytest.approx(5.0)
    with pytest.raises(ValueError):
        M.mse(np.zeros((2, 2)), np.zeros((2, 3)))


# --------------------------------------------------------------------------- 4x4 ranking example
#
# True edges: (0,1), (0,2), (1,3)   -> k = 3, 12 off-diagonal candidates, density 1/4.
# |E| on candidates: (0,1)=0.9 T, (0,2)=0 T (pruned), (0,3)=0.5 F, (1,3)=0.5 T, (2,0)=0.2 F,
#                    the 7 other off-diagonal pairs are 0 (F). E[1,1] = 5 must be ignored.
# Positives {0.9, 0.5, 0}; negatives {0.5, 0.2, 0 x7} (9).
# AUROC = (9 + (8 + 0.5) + 7*0.5) / 27 = 21/27 = 7/9
# AP: thresholds 0.9 -> P 1,   R 1/3
#                0.5 -> P 2/3, R 2/3
#                0.2 -> P 1/2, R 2/3
#                0   -> P 3/12, R 1
#     AP = 1/3*1 + 1/3*2/3 + 0 + 1/3*1/4 = 23/36;  ratio = (23/36)/(1/4) = 23/9
# EPR: sorted 0.9, 0.5, 0.5, ... -> tau = 0.5 -> selected {(0,1),(0,3),(1,3)}, 2 hits
#      EP = 2/3, EPR = (2/3)/(1/4) = 8/3
T4 = np.zeros((4, 4))
T4[0, 1] = T4[0, 2] = T4[1, 3] = 1.0


def _e4() -> np.ndarray:
    e = np.zeros((4, 4))
    e[0, 1] = 0.9
    e[0, 3] = -0.5
    e[1, 3] = 0.5
    e[2, 0] = -0.2
    e[1, 1] = 5.0
    return e


def test_ranking_with_ties_at_zero():
    e = _e4()
    assert M.density(T4) == pytest.approx(1 / 4)
    assert M.auroc(e, T4) == pytest.approx(7 / 9)
    assert M.auprc(e, T4) == pytest.approx(23 / 36)
    assert M.auprc_ratio(e, T4) == pytest.approx(23 / 9)
    assert M.early_precision_ratio(e, T4) == pytest.approx(8 / 3)


def test_epr_ties_included_beyond_k():
    # (2,0) raised to 0.5: sorted 0.9, 0.5, 0.5, 0.5 -> tau = 0.5, 4 selected, 2 hits
    # EP = 1/2, EPR = 2
    e = _e4()
    e[2, 0] = 0.5
    assert M.early_precision_ratio(e, T4) == pytest.approx(2.0)


def test_epr_tau_zero_uses_smallest_nonzero():
    # only (0,1)=0.9 T and (2,0)=0.2 F are non-zero; k = 3 -> 3rd largest is 0
    # tau = 0.2 -> selected {(0,1),(2,0)}, 1 hit -> EP = 1/2, EPR = 2 (not 1, as selecting all would give)
    e = np.zeros((4, 4))
    e[0, 1] = 0.9
    e[2, 0] = 0.2
    assert M.early_precision_ratio(e, T4) == pytest.approx(2.0)


def test_epr_rounds_to_six_decimals():
    # truth (0,1),(1,3): k = 2, density 2/12 = 1/6
    # scores 0.9 T, 0.5 T, 0.4999999 F -> rounded 0.9, 0.5, 0.5 -> tau = 0.5, 3 selected, 2 hits
    # EP = 2/3, EPR = 4 (without rounding it would be EP = 1, EPR = 6)
    t = np.zeros((4, 4))
    t[0, 1] = t[1, 3] = 1.0
    e = np.zeros((4, 4))
    e[0, 1], e[1, 3], e[0, 3] = 0.9, 0.5, 0.4999999
    assert M.early_precision_ratio(e, t) == pytest.approx(4.0)


def test_tf_only_regulator_mask():
    # rows {0, 1}: candidates (0,1)T .9, (0,2)T 0, (0,3)F .5, (1,0)F 0, (1,2)F 0, (1,3)T .5
    # density 3/6 = 1/2; positives {.9, .5, 0}, negatives {.5, 0, 0}
    # AUROC = (3 + 2.5 + 1) / 9 = 13/18
    # AP = 1/3*1 + 1/3*2/3 + 1/3*1/2 = 13/18; ratio = 13/9
    # EPR: sorted .9, .5, .5 -> tau .5, 3 selected, 2 hits -> EP 2/3, EPR 4/3
    e = _e4()
    for regs in (np.array([True, True, False, False]), [0, 1]):
        assert M.density(T4, regulators=regs) == pytest.approx(0.5)
        assert M.auroc(e, T4, regulators=regs) == pytest.approx(13 / 18)
        assert M.auprc(e, T4, regulators=regs) == pytest.approx(13 / 18)
        assert M.auprc_ratio(e, T4, regulators=regs) == pytest.approx(13 / 9)
        assert M.early_precision_ratio(e, T4, regulators=regs) == pytest.approx(4 / 3)
    with pytest.raises(ValueError):
        M.auroc(e, T4, regulators=np.array([True, False]))


def test_ranking_none_cases():
    e = _e4()
    empty = np.zeros((4, 4))
    full = np.ones((4, 4)) - np.eye(4)
    for fn in (M.auroc, M.auprc, M.auprc_ratio, M.early_precision_ratio):
        assert fn(e, empty) is None  # no true edges
        assert fn(e, full) is None  # all candidates true
    # all scores zero: EPR undefined, AUROC = 1/2 (all tied), AP = density
    assert M.early_precision_ratio(np.zeros((4, 4)), T4) is None
    assert M.early_precision_ratio(np.full((4, 4), 1e-8), T4) is None  # rounds to 0
    assert M.auroc(np.zeros((4, 4)), T4) == pytest.approx(0.5)
    assert M.auprc(np.zeros((4, 4)), T4) == pytest.approx(0.25)


def test_nonfinite_scores_raise():
    e = _e4()
    e[0, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        M.auroc(e, T4)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape"):
        M.balanced_accuracy(np.zeros((3, 3)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="square"):
        M.n_edges(np.zeros((2, 3)))


def test_score_network_with_and_without_truth():
    e = _e4()
    s = M.score_network(e, T4)
    assert set(s) == set(M.NETWORK_METRIC_KEYS)
    assert s["auroc"] == pytest.approx(7 / 9)
    assert s["early_precision_ratio"] == pytest.approx(8 / 3)
    # all 16 pairs: pred (0,1),(0,3),(1,1),(1,3),(2,0); TP (0,1),(1,3)=2, FN 1, FP 3, TN 10
    # BA = 1/2 (2/3 + 10/13); off-diag: FP (0,3),(2,0)=2, TN 7 -> 1/2 (2/3 + 7/9)
    assert s["balanced_accuracy"] == pytest.approx(0.5 * (2 / 3 + 10 / 13))
    assert s["balanced_accuracy_offdiag"] == pytest.approx(0.5 * (2 / 3 + 7 / 9))
    assert s["sign_agreement"] == pytest.approx(1.0)
    assert s["n_edges"] == 5
    assert s["out_degree"] == pytest.approx(5 / 4)
    bare = M.score_network(e)
    assert set(bare) == set(M.NETWORK_METRIC_KEYS)
    assert bare["n_edges"] == 5
    assert all(bare[k] is None for k in M.NETWORK_METRIC_KEYS if k not in ("n_edges", "out_degree"))


def test_metric_info_complete():
    needed = set(M.NETWORK_METRIC_KEYS) | {
        "sparsity",
        "test_mse",
        "test_mse_true",
        "epochs",
        "best_epoch",
        "wall_seconds",
        "val_mse",
    }
    assert needed <= set(M.METRIC_INFO)
    for key, info in M.METRIC_INFO.items():
        assert info["label"] and info["help"].endswith("."), key
        assert info["higher_is_better"] in (True, False, None), key
        format(1.0 if info["fmt"] != "d" else 1, info["fmt"])
    assert M.METRIC_INFO["test_mse"]["higher_is_better"] is False
    assert M.METRIC_INFO["auroc"]["higher_is_better"] is True


def test_column_normalized_score_by_hand():
    from dash_core.metrics import column_normalized

    E = np.array([[1.0, 0.0, -2.0], [3.0, 0.0, 2.0], [0.0, 0.0, 0.0]])
    # column 0: |1|,|3| / 4; column 1: all zero stays zero; column 2: 2/4, 2/4
    expected = np.array([[0.25, 0.0, 0.5], [0.75, 0.0, 0.5], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(column_normalized(E), expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranking_metrics_equal_scikit_learn_with_heavy_ties(seed):
    """The sort-based AUROC / average precision equal sklearn's, including many tied (pruned, zero) scores."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(seed)
    n = 40
    E = rng.normal(size=(n, n)) * (rng.random((n, n)) < 0.3)  # 70 % exact zeros
    E[rng.random((n, n)) < 0.1] = 0.5  # a block of tied non-zero scores
    truth = (rng.random((n, n)) < 0.05).astype(float)
    truth[np.abs(E) > 1.5] = 1.0  # make the scores informative
    off = ~np.eye(n, dtype=bool)
    got = M.ranking_metrics(E, truth)
    assert got["auroc"] == pytest.approx(roc_auc_score(truth[off] != 0, np.abs(E[off])), abs=1e-12)
    assert got["auprc"] == pytest.approx(average_precision_score(truth[off] != 0, np.abs(E[off])), abs=1e-12)
    assert got["early_precision_ratio"] == pytest.approx(M.early_precision_ratio(E, truth))
    assert got["auroc"] == M.auroc(E, truth) and got["auprc"] == M.auprc(E, truth)

"""Mask and score utilities (methods B.2, B.5, B.6): magnitude scores, stable pruning, the schedule."""

from __future__ import annotations

import math

import pytest
import torch

from dash_core.io.errors import DashInputError
from dash_core.models import ModelConfig, PhoenixODE, build_model
from dash_core.pruning import PruningConfig
from dash_core.pruning.masks import (
    PruningSchedule,
    load_masks_,
    magnitude_score,
    mask_fraction,
    n_to_prune,
    normalize,
    prune_global_,
    prune_smallest_,
    rewind_unmasked_,
    smallest_unmasked,
    target_prune_count,
)


def _t(rows):
    return torch.tensor(rows, dtype=torch.float64)


def _layers(model):
    return {pl.name: pl for pl in model.prunable_layers()}


def test_normalize_sums_to_one_and_keeps_zero():
    a = torch.tensor([[1.0, 3.0], [0.0, 4.0]], dtype=torch.float64)
    assert torch.allclose(normalize(a), a / 8.0)
    assert torch.equal(normalize(torch.zeros(2, 2)), torch.zeros(2, 2))


def test_magnitude_scores_by_hand():
    """B.2: |W_s|; exp(W_p) with masked entries adding exp(0) = 1 to the normaliser; |C| * ReLU(g) rows."""
    m = PhoenixODE(2, ModelConfig(hidden=2)).double()
    with torch.no_grad():
        m.sums_in.weight.copy_(torch.tensor([[1.0, -2.0], [0.0, 3.0]]))
        m.prods_in.weight.copy_(torch.tensor([[0.5, -1.0], [2.0, 7.0]]))
        m.prods_in.mask[1, 1] = 0.0
        m.prods_in.apply_mask_()
        m.sums_out.weight.copy_(torch.tensor([[1.0, -1.0], [2.0, 4.0]]))
        m.g.copy_(torch.tensor([0.5, -0.2]))
    lay = _layers(m)
    assert torch.allclose(magnitude_score(lay["sums_in"]), _t([[1.0, 2.0], [0.0, 3.0]]) / 6.0)
    e = torch.exp(torch.tensor([[0.5, -1.0], [2.0, 0.0]], dtype=torch.float64))  # masked 7.0 -> exp(0) = 1
    assert torch.allclose(magnitude_score(lay["prods_in"]), e / e.sum())
    assert torch.allclose(magnitude_score(lay["prods_in"], "abs"), _t([[0.5, 1.0], [2.0, 0.0]]) / 3.5)
    # row j scaled by ReLU(g_j): gene 1 has g <= 0 so its row scores 0
    assert torch.allclose(magnitude_score(lay["sums_out"]), _t([[0.5, 0.5], [0.0, 0.0]]))
    raw = magnitude_score(lay["sums_out"], normalized=False)
    assert torch.allclose(raw, _t([[0.5, 0.5], [0.0, 0.0]]))


def test_smallest_unmasked_stable_tie_break_and_skips_masked():
    scores = torch.tensor([[0.2, 0.1, 0.1], [0.0, 0.1, 0.5]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])  # flat 3 (score 0.0) is already masked
    chosen = smallest_unmasked(scores, mask, 3)
    # ties at 0.1 (flat 1, 2, 4) resolved by flat index; the masked 0.0 is never selected
    assert chosen.tolist() == [1, 2, 4]
    assert smallest_unmasked(scores, mask, 99).numel() == 5


def test_prune_smallest_counts_and_never_unprunes():
    m = build_model(5, ModelConfig(hidden=4), seed=0)
    lay = m.sums_in
    lay.mask[0, :] = 0.0
    lay.apply_mask_()
    before = lay.mask.clone()
    scores = torch.rand(lay.weight.shape, generator=torch.Generator().manual_seed(0))
    mcount = lay.n_unmasked
    k = n_to_prune(mcount, 0.3)
    pruned = prune_smallest_(lay, scores, k)
    assert pruned.numel() == k == round(0.3 * 15)
    assert lay.n_unmasked == mcount - k
    assert torch.all(lay.mask <= before)  # nothing un-pruned
    assert torch.all(lay.weight[lay.mask == 0] == 0)


def test_n_to_prune_rounds():
    assert n_to_prune(14000, 0.7) == 9800
    assert n_to_prune(4200, 0.1) == 420
    assert n_to_prune(5, 0.5) == 2  # Python round: half to even, as torch.nn.utils.prune
    assert n_to_prune(0, 0.3) == 0


def test_prune_global_ranks_across_layers():
    a = build_model(3, ModelConfig(hidden=2), seed=0)
    la, lb = a.sums_in, a.prods_in
    sa = torch.tensor([[0.1, 0.9, 0.5], [0.3, 0.3, 0.8]])
    sb = torch.tensor([[0.2, 0.05, 0.7], [0.6, 0.3, 0.4]])
    counts = prune_global_([la, lb], [sa, sb], 5)
    # five smallest: 0.05 (b), 0.1 (a), 0.2 (b), 0.3 (a flat 3), 0.3 (a flat 4) - ties: layer a first
    assert counts == [3, 2]
    assert la.mask.flatten().tolist() == [0, 1, 1, 0, 0, 1]
    assert lb.mask.flatten().tolist() == [0, 0, 1, 1, 1, 1]


def test_schedule_events_sim_defaults():
    s = PruningSchedule.from_config(PruningConfig(), max_epochs=200)
    ev = s.events()
    assert ev[0] == (3, 0.70)
    assert [e for e, _ in ev[1:]] == list(range(10, 200, 10))  # e < E_max: no event at 200
    assert all(a == 0.10 for _, a in ev[1:])
    assert s.amount_at(1) is None and s.amount_at(2) is None and s.amount_at(15) is None


@pytest.mark.parametrize("epoch, pruned", [(3, 0.70), (9, 0.70), (10, 0.73), (50, 0.823), (100, 0.895),
                                           (150, 0.938), (160, 0.944), (170, 0.950), (190, 0.9595)])
def test_schedule_reproduces_sim_table(epoch, pruned):
    """B.6 table: pruned fraction (mask only) = 1 - 0.3 * 0.9**floor(e/10) from epoch 10 on."""
    s = PruningSchedule.from_config(PruningConfig(), max_epochs=200)
    r = s.remaining_fraction(epoch)
    assert abs((1 - r) - pruned) < 5e-4
    if epoch >= 10:
        assert math.isclose(r, 0.3 * 0.9 ** (epoch // 10))
    # the realised fraction on a SIM350 input layer (40 x 350), with round(a * m) per event
    m = 14000
    for e, a in s.events():
        if e > epoch:
            break
        m -= n_to_prune(m, a)
    assert abs((1 - m / 14000) - pruned) < 5e-4


def test_schedule_nothing_before_first_epoch_and_late_amount():
    s = PruningSchedule(first_epoch=10, first_amount=0.9, interval=20, amount=0.1, max_epochs=300,
                        late_epoch=220, late_amount=0.05)
    assert s.remaining_fraction(9) == 1.0
    assert s.amount_at(10) == 0.9 and s.amount_at(20) == 0.1 and s.amount_at(220) == 0.1
    assert s.amount_at(240) == 0.05 and s.amount_at(300) is None


@pytest.mark.parametrize("kw", [{"first_amount": 1.0}, {"amount": -0.1}, {"interval": 0}, {"first_epoch": 0}])
def test_schedule_rejects_bad_values(kw):
    with pytest.raises(DashInputError):
        PruningSchedule(**kw)


def test_rewind_and_load_masks_keep_masks():
    m = build_model(4, ModelConfig(hidden=3), seed=1)
    init = {k: v.clone() for k, v in m.state_dict().items()}
    best = {k: v.clone() for k, v in m.state_dict().items()}
    best["sums_in.mask"][0, 0] = 0.0
    with torch.no_grad():
        for p in m.parameters():
            p.add_(1.0)
    load_masks_(m, best)
    assert m.sums_in.mask[0, 0] == 0 and m.sums_in.weight[0, 0] == 0
    rewind_unmasked_(m, init)
    expect = init["sums_in.weight"].clone()
    expect[0, 0] = 0.0
    assert torch.equal(m.sums_in.weight, expect)
    assert torch.equal(m.g, init["g"])
    assert math.isclose(mask_fraction(m), 1 / (4 * 3 * 4))


def test_target_prune_count():
    m = build_model(5, ModelConfig(hidden=2), seed=0)  # 4 layers x 10 entries
    layers = m.prunable_layers()
    assert target_prune_count(layers, 0.5) == 20
    m.sums_in.mask[:] = 0.0
    assert target_prune_count(layers, 0.5) == 10

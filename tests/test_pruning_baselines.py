"""Mask-based baselines (methods C.6-C.9): SynFlow, SparseFlow, PINN+MP, and every strategy end to end."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from dash_core.experiment import RunConfig, run_experiment
from dash_core.models import ModelConfig, PhoenixODE, build_model
from dash_core.pruning import PriorKnowledge, PruningConfig, build_strategy
from dash_core.pruning import synflow as synflow_mod
from dash_core.pruning.masks import mask_fraction
from dash_core.pruning.pinn_mp import one_shot_magnitude_prune_
from dash_core.pruning.sparseflow import sparseflow_prune_
from dash_core.pruning.synflow import synflow_scores
from dash_core.train import TrainConfig, Trainer

MINE = ["dash", "imp", "bioprune", "synflow", "sparseflow", "pinn_mp"]


def _cfg(strategy, model="phoenix", epochs=6, patience=0, lr=1e-3, **pruning):
    pr = {"first_epoch": 2, "interval": 2, "sparseflow_cycle_epochs": 2, "sparseflow_max_cycles": 2,
          "pinn_mp_finetune_epochs": 2, **pruning}
    return RunConfig(model=ModelConfig(model=model, hidden=8), strategy=strategy, pruning=PruningConfig(**pr),
                     train=TrainConfig(max_epochs=epochs, patience=patience, lr=lr, device="cpu"), seed=0)


def _trainer(ds, cfg):
    model = build_model(ds.n_genes, cfg.model, seed=0)
    strat = build_strategy(cfg.strategy, cfg.pruning, PriorKnowledge(ds.prior_matrix(), ds.ppi_matrix()), seed=0)
    from dash_core.experiment import split_dataset

    tr, va = split_dataset(ds.expression, cfg.train, 0)
    trainer = Trainer(model, tr, va, cfg.train, hooks=strat, seed=0,
                      prior=ds.prior_matrix() if cfg.effective_lambda_data() < 1 else None)
    strat.setup(trainer)
    return trainer, strat


# -- SynFlow --------------------------------------------------------------------------------------------
def test_synflow_scores_mlp_by_hand():
    """R = sum_j f_j(1) with |theta|: z = |W1| 1 + |b1| >= 0, so ELU is the identity and
    dR/dW1[k,i] = sum_j |W2[j,k]|, dR/dW2[j,k] = z_k."""
    m = build_model(3, ModelConfig(model="mlp", hidden=2), seed=0).double()
    with torch.no_grad():
        m.layer1.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [-0.5, 0.0, 1.0]]))
        m.layer1.bias.copy_(torch.tensor([-0.3, 0.2]))
        m.layer2.weight.copy_(torch.tensor([[2.0, -1.0], [0.0, 3.0], [-1.0, 1.0]]))
        m.layer2.bias.copy_(torch.tensor([0.1, -0.1, 0.0]))
    before = copy.deepcopy(m.state_dict())
    s = synflow_scores(m)
    w1, w2 = m.layer1.weight.abs(), m.layer2.weight.abs()
    z = w1.sum(1) + m.layer1.bias.abs()  # (2,) = [3.8, 1.7]
    expect1 = w1 * w2.sum(0)[:, None]
    expect2 = w2 * z[None, :]
    assert torch.allclose(s["layer1"], expect1.double())
    assert torch.allclose(s["layer2"], expect2.double())
    for k, v in m.state_dict().items():  # signs restored: the model is unchanged
        assert torch.equal(v, before[k])


def test_synflow_scores_phoenix_match_autograd_and_respect_masks():
    m = PhoenixODE(4, ModelConfig(hidden=3), generator=torch.Generator().manual_seed(0)).double()
    with torch.no_grad():
        m.g.copy_(torch.tensor([0.5, -0.3, 1.0, 0.2]))
        m.sums_in.mask[0, 1] = 0.0
        m.apply_masks_()
    s = synflow_scores(m)
    ref = copy.deepcopy(m)
    with torch.no_grad():
        for p in ref.parameters():
            p.abs_()
    r = ref(torch.ones(1, 4, dtype=torch.float64)).sum()
    r.backward()
    for pl in ref.prunable_layers():
        w = pl.layer.weight
        assert torch.allclose(s[pl.name], (w * pl.layer.mask * w.grad).abs())
    assert s["sums_in"][0, 1] == 0
    assert all(float(v.sum()) > 0 for v in s.values())


def test_synflow_recomputes_scores_at_every_event(tiny_sim, monkeypatch):
    calls = []
    orig = synflow_mod.synflow_scores

    def counting(model):
        out = orig(model)
        calls.append({k: v.clone() for k, v in out.items()})
        return out

    monkeypatch.setattr(synflow_mod, "synflow_scores", counting)
    trainer, strat = _trainer(tiny_sim.dataset, _cfg("synflow", epochs=5))
    strat.fit(trainer)
    assert [e["epoch"] for e in strat.events] == [2, 4]
    assert len(calls) == 2
    assert not torch.allclose(calls[0]["sums_in"], calls[1]["sums_in"])  # fresh scores (bug fixed)


def test_synflow_rewinds_and_finetunes_after_early_stopping(tiny_sim, monkeypatch):
    cfg = _cfg("synflow", epochs=30, patience=2, lr=0.05)
    trainer, strat = _trainer(tiny_sim.dataset, cfg)
    captured = {}
    orig = trainer.train_loop

    def wrapped(*args, **kwargs):
        if kwargs.get("phase") == "finetune":
            captured["masks"] = trainer.model.masks()
            captured["state"] = trainer.snapshot()
            captured["opt_state"] = len(trainer.optimizer.state)
            captured["best_val"] = trainer.best_val
        return orig(*args, **kwargs)

    trainer.train_loop = wrapped
    best_masks_before = None
    orig_load = synflow_mod.load_masks_

    def spy_load(model, state):
        nonlocal best_masks_before
        best_masks_before = {k: v.clone() for k, v in state.items() if k.endswith(".mask")}
        orig_load(model, state)

    monkeypatch.setattr(synflow_mod, "load_masks_", spy_load)
    strat.fit(trainer)
    phases = [row["phase"] for row in trainer.history]
    assert "prune" in phases and "finetune" in phases, phases
    assert "masks" in captured
    for name, mask in captured["masks"].items():
        assert torch.equal(mask, best_masks_before[f"{name}.mask"])  # the best-validation mask is kept
        w = captured["state"][f"{name}.weight"]
        assert torch.equal(w, trainer.initial_state[f"{name}.weight"] * mask)  # rewound to init
    assert torch.equal(captured["state"]["g"], trainer.initial_state["g"])
    assert captured["opt_state"] == 0 and captured["best_val"] == float("inf")
    n_events = len(strat.events)
    ft_rows = [r for r in trainer.history if r["phase"] == "finetune"]
    assert ft_rows and trainer.best_epoch >= ft_rows[0]["epoch"]  # reported: the fine-tuning best
    assert len(strat.events) == n_events  # no pruning during fine-tuning


# -- SparseFlow ---------------------------------------------------------------------------------------------
def test_sparseflow_prune_global_and_layerwise():
    m = build_model(3, ModelConfig(hidden=2), seed=0)
    with torch.no_grad():
        m.sums_in.weight.copy_(torch.tensor([[0.1, -5.0, 3.0], [0.2, 0.3, 4.0]]))
        m.prods_in.weight.copy_(torch.tensor([[-6.0, 7.0, 8.0], [9.0, -0.05, 10.0]]))
        m.sums_out.weight.copy_(torch.tensor([[11.0, 12.0], [13.0, 14.0], [15.0, 16.0]]))
        m.prods_out.weight.copy_(torch.tensor([[17.0, 18.0], [19.0, 20.0], [21.0, 22.0]]))
        m.g.copy_(torch.tensor([-1.0, -1.0, -1.0]))  # no g scaling in SparseFlow
    layers = m.prunable_layers()
    assert sparseflow_prune_(layers, 4 / 24) == 4  # global: the 4 smallest |w| over all 24 entries
    assert int((m.sums_in.mask == 0).sum()) == 3 and int((m.prods_in.mask == 0).sum()) == 1
    assert m.prods_in.mask[1, 1] == 0 and m.sums_in.mask[0, 1] == 1
    m2 = build_model(3, ModelConfig(hidden=2), seed=0)
    assert sparseflow_prune_(m2.prunable_layers(), 0.5, scope="layerwise") == 12
    assert all(pl.layer.n_unmasked == 3 for pl in m2.prunable_layers())
    m3 = build_model(3, ModelConfig(hidden=2), seed=0)
    sparseflow_prune_(m3.prunable_layers(), 0.9, target=0.25)
    assert mask_fraction(m3) == pytest.approx(0.25)


def test_sparseflow_cycles_follow_the_stop_rule(tiny_sim):
    trainer, strat = _trainer(tiny_sim.dataset, _cfg("sparseflow", epochs=4, sparseflow_max_cycles=3,
                                                     sparseflow_tolerance=1.0))
    reason = strat.fit(trainer)
    assert np.isfinite(strat.dense_val) and strat.cycles
    for c in strat.cycles:
        assert c["accepted"] == (c["best_val"] <= strat.dense_val)
    accepted = [c for c in strat.cycles if c["accepted"]]
    assert all(c["accepted"] for c in strat.cycles[:-1])  # stops at the first failing cycle
    if not strat.cycles[-1]["accepted"]:
        assert reason == "tolerance_exceeded"
    expected = accepted[-1]["masked_fraction"] if accepted else 0.0
    trainer.load_best()
    assert mask_fraction(trainer.model) == pytest.approx(expected)  # the previous (accepted) cycle is reported
    if accepted:
        assert trainer.best_val == pytest.approx(accepted[-1]["best_val"])
    else:
        assert trainer.best_val == pytest.approx(strat.dense_val)


def test_sparseflow_target_sparsity(tiny_sim):
    trainer, strat = _trainer(tiny_sim.dataset, _cfg("sparseflow", epochs=2, sparseflow_q=0.5,
                                                     sparseflow_target_sparsity=0.7, sparseflow_max_cycles=10,
                                                     sparseflow_cycle_epochs=1))
    reason = strat.fit(trainer)
    assert reason == "target_sparsity"
    fracs = [c["masked_fraction"] for c in strat.cycles]
    assert len(fracs) == 2 and fracs[0] == pytest.approx(0.5, abs=1e-3) and fracs[1] == pytest.approx(0.7, abs=1e-3)
    trainer.load_best()
    assert mask_fraction(trainer.model) == pytest.approx(0.7, abs=1e-3)


# -- PINN+MP ---------------------------------------------------------------------------------------------------
def test_pinn_mp_one_shot_uses_abs_and_row_scale():
    m = PhoenixODE(2, ModelConfig(hidden=2))
    with torch.no_grad():
        m.prods_in.weight.copy_(torch.tensor([[-3.0, 0.1], [0.2, 0.3]]))  # exp would rank -3.0 lowest
        m.sums_out.weight.copy_(torch.tensor([[5.0, 6.0], [0.1, 0.2]]))
        m.g.copy_(torch.tensor([-1.0, 1.0]))  # row 0 (big |C|) has ReLU(g) = 0 -> pruned first
    done = one_shot_magnitude_prune_(m, 0.5)
    assert done == {"prods_in": 2, "sums_in": 2, "sums_out": 2, "prods_out": 2}
    assert m.prods_in.mask.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert m.sums_out.mask.tolist() == [[0.0, 0.0], [1.0, 1.0]]


def test_pinn_mp_prunes_87_percent_and_finetunes(tiny_sim):
    res = run_experiment(tiny_sim.dataset, _cfg("pinn_mp", epochs=3))
    assert res.details["lambda_data"] == 0.99
    phases = list(res.history["phase"])
    assert phases.count("prior_training") == 3 and phases.count("finetune") == 2
    assert res.metrics["best_epoch"] > 3  # the fine-tuning phase's best checkpoint
    for pl in res.model.prunable_layers():
        total = pl.layer.mask.numel()
        assert int((pl.layer.mask == 0).sum()) == round(0.87 * total)
        assert torch.all(pl.layer.weight[pl.layer.mask == 0] == 0)


# -- every strategy end to end -------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["phoenix", "mlp"])
@pytest.mark.parametrize("strategy", MINE)
def test_every_strategy_runs_end_to_end(tiny_sim, strategy, model):
    res = run_experiment(tiny_sim.dataset, _cfg(strategy, model=model, epochs=5))
    m = res.metrics
    assert 0.3 < m["sparsity"] < 1.0
    assert m["balanced_accuracy"] is not None and np.isfinite(m["test_mse"])
    assert res.effect.shape == (tiny_sim.dataset.n_genes,) * 2
    for pl in res.model.prunable_layers():
        assert 0 < pl.layer.n_unmasked < pl.layer.mask.numel()
        assert torch.all(pl.layer.weight[pl.layer.mask == 0] == 0)

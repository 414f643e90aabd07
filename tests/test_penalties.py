"""Tests of the regularisation baselines L0, C-NODE and PathReg (methods C.2-C.5).

Hand values use (gamma, zeta) = (-0.1, 1.1). Weights are (out, in); gene-level
matrices are regulator (row) x target (column).
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from dash_core.experiment import RunConfig, load_checkpoint, run_experiment, save_run, split_dataset
from dash_core.integrate import SolverConfig, integrate_pairs
from dash_core.io.errors import DashInputError
from dash_core.models import ModelConfig, build_model
from dash_core.pruning import STRATEGIES, PriorKnowledge, PruningConfig, build_strategy
from dash_core.pruning.base import BASELINE_SOLVER
from dash_core.pruning.gates import (
    HardConcreteGate,
    attach_gates,
    deterministic_gate,
    gated_init_,
    gated_layers,
    prob_nonzero,
)
from dash_core.pruning.penalties import (
    expected_l0,
    gate_path_count,
    path_l1,
    threshold_weights_,
)
from dash_core.simulate import SimulationConfig, simulate
from dash_core.train import TrainConfig, Trainer

N_GENES = 20


@pytest.fixture(scope="module")
def tiny():
    torch.set_num_threads(1)
    return simulate(SimulationConfig.scaled(N_GENES, n_trajectories=8, seed=3)).dataset


def _strategy(name: str, **cfg) -> object:
    return build_strategy(name, PruningConfig(**cfg), PriorKnowledge(np.zeros((N_GENES, N_GENES))), seed=0)


def _gated_model(name: str = "pathreg", model: str = "phoenix", n: int = N_GENES, hidden: int = 4, **cfg):
    m = build_model(n, ModelConfig(model=model, hidden=hidden), seed=0)
    s = build_strategy(name, PruningConfig(**cfg), PriorKnowledge(np.zeros((n, n))), seed=0)
    s.prepare_model(m)
    return m, s


def _run_cfg(strategy: str, model: str = "phoenix", epochs: int = 3, **pruning) -> RunConfig:
    hidden = 6
    return RunConfig(model=ModelConfig(model=model, hidden=hidden),
                     train=TrainConfig(max_epochs=epochs, solver=BASELINE_SOLVER, device="cpu"),
                     strategy=strategy, pruning=PruningConfig(**pruning), seed=0)


# -- hard-concrete formulas ----------------------------------------------------------------
def test_deterministic_gate_hand_values():
    la = torch.tensor([0.0, 2.0, math.log(11.0), -math.log(11.0), 5.0, -5.0], dtype=torch.float64)
    # sigmoid(la) * 1.2 - 0.1, clipped to [0, 1]
    expected = [0.5, 1.2 / (1 + math.exp(-2.0)) - 0.1, 1.0, 0.0, 1.0, 0.0]
    np.testing.assert_allclose(deterministic_gate(la).numpy(), expected, atol=1e-12)


def test_prob_nonzero_hand_values():
    la = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64)
    for beta in (2 / 3, 1 / 50):
        shift = beta * math.log(0.1 / 1.1)
        expected = [1 / (1 + math.exp(-(a - shift))) for a in (0.0, 1.0, -2.0)]
        np.testing.assert_allclose(prob_nonzero(la, beta).numpy(), expected, atol=1e-12)
    # beta = 2/3, log alpha = 0: sigmoid((2/3) log 11) = 0.8318...
    assert float(prob_nonzero(torch.tensor(0.0), 2 / 3)) == pytest.approx(0.83183, abs=1e-4)


def test_sampled_gates_in_unit_interval_with_exact_zeros_and_ones():
    gen = torch.Generator().manual_seed(0)
    gate = HardConcreteGate(50, beta=2 / 3, drop_rate=0.5, generator=gen)
    with torch.no_grad():
        gate.log_alpha.zero_()
    draws = []
    for _ in range(400):
        gate.resample_(gen)
        draws.append(gate.sample().detach())
    z = torch.stack(draws)
    assert float(z.min()) >= 0.0 and float(z.max()) <= 1.0
    assert (z == 0).float().mean() > 0.05
    assert (z == 1).float().mean() > 0.05
    assert ((z > 0) & (z < 1)).any()
    # Monte-Carlo P(z != 0) agrees with the closed form (20,000 draws, sd ~ 0.003)
    assert float((z != 0).float().mean()) == pytest.approx(float(gate.prob_nonzero()[0].detach()), abs=0.015)


def test_gate_modes_and_initialisation():
    gen = torch.Generator().manual_seed(1)
    gate = HardConcreteGate(4000, beta=1 / 50, drop_rate=0.2, generator=gen)
    assert float(gate.log_alpha.mean().detach()) == pytest.approx(math.log(4.0), abs=1e-3)
    assert float(gate.log_alpha.std().detach()) == pytest.approx(0.01, rel=0.1)
    gate.train()
    assert torch.equal(gate(), gate.sample())
    gate.eval()
    assert torch.equal(gate(), gate.deterministic())
    gate.eval_mode = "sample"
    assert torch.equal(gate(), gate.sample())
    with pytest.raises(ValueError):
        HardConcreteGate(3, beta=0.5, drop_rate=1.0)


def test_gated_init_and_attach():
    m = build_model(300, ModelConfig(hidden=40), seed=0)
    gen = torch.Generator().manual_seed(0)
    gated_init_(m, gen)
    gates = attach_gates(m, beta=2 / 3, drop_in=0.2, drop_out=0.5, generator=gen)
    # std sqrt(2 / d_in): genes -> hidden layers d_in = 300, hidden -> genes d_in = 40
    assert float(m.sums_in.weight.std().detach()) == pytest.approx(math.sqrt(2 / 300), rel=0.05)
    assert float(m.prods_out.weight.std().detach()) == pytest.approx(math.sqrt(2 / 40), rel=0.05)
    assert float(m.sums_in.bias.abs().max().detach()) == 0.0 and float(m.prods_in.bias.abs().max().detach()) == 0.0
    assert [g.d_in for g in gates] == [300, 300, 40, 40]
    assert float(m.prods_in.gate.log_alpha.mean().detach()) == pytest.approx(math.log(4.0), abs=0.01)
    assert float(m.sums_out.gate.log_alpha.mean().detach()) == pytest.approx(0.0, abs=0.01)
    keys = set(m.state_dict())
    assert {"sums_in.gate.log_alpha", "sums_in.gate.noise", "prods_out.gate.log_alpha"} <= keys


def test_prepare_model_is_reproducible():
    a, _ = _gated_model("l0")
    b, _ = _gated_model("l0")
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k


# -- one sample per training step -------------------------------------------------------------
def test_gate_sample_fixed_within_step_and_resampled_after(tiny):
    model, strategy = _gated_model("pathreg", hidden=4)
    solver = SolverConfig(method="dopri5", rtol=1e-3, atol=1e-3, adjoint=True)  # RHS rebuilt per evaluation
    cfg = TrainConfig(max_epochs=1, solver=solver, device="cpu", lambda_data=1.0)
    tr, va = split_dataset(tiny.expression, cfg, 0)
    trainer = Trainer(model, tr, va, cfg, seed=0, hooks=strategy)
    strategy.setup(trainer)

    seen: list[torch.Tensor] = []
    gate = trainer.model.prods_in.gate
    handle = gate.register_forward_hook(lambda mod, inp, out: seen.append(out.detach().clone()))
    calls = {"rhs": 0}
    original = trainer.model.vector_field

    def counting_vector_field():
        f = original()

        def g(x, scale=None):
            calls["rhs"] += 1
            return f(x, scale)

        return g

    trainer.model.vector_field = counting_vector_field
    trainer.model.train()
    batch = trainer._train_batches[0]
    pred = integrate_pairs(trainer.model, batch.x0, batch.dt, solver)
    torch.mean((pred - batch.x1) ** 2).backward()
    handle.remove()
    del trainer.model.vector_field

    assert calls["rhs"] > 6  # several dopri5 stages, forward and adjoint pass
    assert len(seen) > 2
    assert all(torch.equal(s, seen[0]) for s in seen)
    assert torch.equal(seen[0], gate.sample().detach())  # the penalty of this step sees the same sample
    before = gate.noise.clone()
    strategy.after_step(trainer)
    assert not torch.equal(before, gate.noise)


# -- penalty values -----------------------------------------------------------------------------
def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def test_path_l1_matches_numpy_phoenix_and_mlp():
    m = build_model(5, ModelConfig(hidden=3), seed=2)
    with torch.no_grad():
        for lin in (m.sums_in, m.prods_in, m.sums_out, m.prods_out):
            lin.weight.normal_(generator=torch.Generator().manual_seed(lin.in_features * 7 + lin.out_features))
        m.sums_in.mask[0, 1] = 0.0  # a masked weight does not count
    ws, wp = np.abs(_np(m.sums_in.masked_weight())), np.abs(_np(m.prods_in.masked_weight()))
    cs, cp = np.abs(_np(m.sums_out.weight)), np.abs(_np(m.prods_out.weight))
    expected = np.mean(ws.T @ cs.T + wp.T @ cp.T)
    assert float(path_l1(m).detach()) == pytest.approx(expected, rel=1e-6)

    mlp = build_model(4, ModelConfig(model="mlp", hidden=3), seed=1)
    w1, w2 = np.abs(_np(mlp.layer1.weight)), np.abs(_np(mlp.layer2.weight))
    assert float(path_l1(mlp).detach()) == pytest.approx(np.mean(w1.T @ w2.T), rel=1e-6)


def test_gate_path_count_and_expected_l0_match_numpy():
    n, h = 5, 3
    m, _ = _gated_model("pathreg", n=n, hidden=h)
    with torch.no_grad():
        for i, (_, _, g) in enumerate(gated_layers(m)):
            g.log_alpha.copy_(torch.linspace(-3.0, 3.0, g.d_in) + 0.3 * i)
    m.train()
    total_sampled, total_expected = 0.0, 0.0
    for a, b in (("sums_in", "sums_out"), ("prods_in", "prods_out")):
        gin, gout = getattr(m, a).gate, getattr(m, b).gate
        for values, is_expected in ((lambda g: _np(g.sample()), False), (lambda g: _np(g.prob_nonzero()), True)):
            z1 = np.repeat(values(gin)[:, None], h, axis=1)  # (n, h): Z1[i, k] = z_in_i
            z2 = np.repeat(values(gout)[:, None], n, axis=1)  # (h, n): Z2[k, j] = z_out_k
            term = np.mean(z1 @ z2)
            if is_expected:
                total_expected += term
            else:
                total_sampled += term
    assert float(gate_path_count(m).detach()) == pytest.approx(total_sampled, rel=1e-6)
    assert float(gate_path_count(m, expected=True).detach()) == pytest.approx(total_expected, rel=1e-6)

    beta = 1 / 50
    ml0, _ = _gated_model("l0", n=n, hidden=h)
    hand = 0.0
    for _, layer, g in gated_layers(ml0):
        la = _np(g.log_alpha)
        hand += layer.out_features * np.sum(1 / (1 + np.exp(-(la - beta * math.log(0.1 / 1.1)))))
    assert float(expected_l0(ml0).detach()) == pytest.approx(hand, rel=1e-6)


def test_strategy_penalties_are_weighted_sums():
    m, s = _gated_model("pathreg", lambda_l1=0.3, lambda_pathreg=0.7)
    fake = SimpleNamespace(model=m)
    expect = 0.3 * float(path_l1(m).detach()) + 0.7 * float(gate_path_count(m).detach())
    assert float(s.penalty(fake).detach()) == pytest.approx(expect, rel=1e-6)
    m2, s2 = _gated_model("pathreg", expected_gates=True)
    expect2 = 1e-3 * float(path_l1(m2).detach()) + 1e-4 * float(gate_path_count(m2, expected=True).detach())
    assert float(s2.penalty(SimpleNamespace(model=m2)).detach()) == pytest.approx(expect2, rel=1e-6)

    ml0, sl0 = _gated_model("l0", kappa_l0=2e-5)
    assert float(sl0.penalty(SimpleNamespace(model=ml0)).detach()) == pytest.approx(2e-5 * float(expected_l0(ml0).detach()), rel=1e-6)
    ml0b, sl0b = _gated_model("l0", kappa_l0=0.0)  # reference mode: no penalty
    assert sl0b.penalty(SimpleNamespace(model=ml0b)) is None

    mc = build_model(N_GENES, ModelConfig(hidden=4), seed=0)
    sc = _strategy("cnode")
    sc.prepare_model(mc)
    assert all(p.layer.gate is None for p in mc.prunable_layers())  # C-NODE is ungated
    assert float(sc.penalty(SimpleNamespace(model=mc)).detach()) == pytest.approx(1e-3 * float(path_l1(mc).detach()), rel=1e-6)


def test_gradients_flow_to_log_alpha(tiny):
    for name in ("l0", "pathreg"):
        m, s = _gated_model(name, kappa_l0=1e-3)
        m.train()
        s.penalty(SimpleNamespace(model=m)).backward()
        grads = [g.log_alpha.grad for _, _, g in gated_layers(m)]
        assert all(gr is not None for gr in grads)
        assert sum(float(gr.abs().sum()) for gr in grads) > 0
    # and through the data loss (reparametrised sample used by the solver)
    m, _ = _gated_model("pathreg")
    m.train()
    x0 = torch.rand(4, N_GENES, generator=torch.Generator().manual_seed(0))
    integrate_pairs(m, x0, torch.ones(4), BASELINE_SOLVER).pow(2).mean().backward()
    assert float(m.sums_in.gate.log_alpha.grad.abs().sum()) > 0


def test_single_learning_rate_and_gates_optimised(tiny):
    model, strategy = _gated_model("l0")
    cfg = TrainConfig(max_epochs=1, device="cpu", lambda_data=1.0)
    tr, va = split_dataset(tiny.expression, cfg, 0)
    trainer = Trainer(model, tr, va, cfg, seed=0, hooks=strategy)
    assert {g["lr"] for g in trainer.optimizer.param_groups} == {1e-3, 5e-3}  # the trainer's default: 5x on g
    strategy.setup(trainer)
    assert {g["lr"] for g in trainer.optimizer.param_groups} == {1e-3}
    params = {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}
    assert all(id(g.log_alpha) in params for _, _, g in gated_layers(trainer.model))


def test_eval_uses_deterministic_gates_and_exact_zero_columns():
    m, _ = _gated_model("l0", hidden=4)
    with torch.no_grad():
        m.sums_in.gate.log_alpha[[0, 3]] = -5.0  # z_hat = 0 exactly
        m.prods_in.gate.log_alpha[[0, 3]] = -5.0
    m.eval()
    e = m.effect_matrix().detach().numpy()
    assert np.all(e[[0, 3], :] == 0.0)  # regulators 0 and 3 switched off (rows of E)
    blocks = [b.detach().numpy() for b in m.sparsity_blocks()]
    assert np.all(blocks[0][:, [0, 3]] == 0.0) and np.all(blocks[1][:, [0, 3]] == 0.0)


def test_cnode_threshold_masks_small_weights():
    m = build_model(6, ModelConfig(hidden=3), seed=0)
    _strategy("cnode").prepare_model(m)
    with torch.no_grad():
        m.sums_in.weight[0, 0] = 1e-6
        m.prods_out.weight[2, 1] = -5e-6
    assert threshold_weights_(m, 1e-5) == 2
    assert m.sums_in.mask[0, 0] == 0 and m.prods_out.mask[2, 1] == 0
    assert m.sums_in.weight[0, 0] == 0 and m.prods_out.weight[2, 1] == 0
    assert threshold_weights_(m, 1e-5) == 0


def test_bad_options_raise_input_errors():
    with pytest.raises(DashInputError, match="gate_drop_in"):
        _strategy("l0", gate_drop_in=1.5)
    with pytest.raises(DashInputError, match="kappa_l0"):
        _strategy("l0", kappa_l0=-1.0)
    with pytest.raises(DashInputError, match="lambda_pathreg"):
        _strategy("pathreg", lambda_pathreg=-1.0)
    with pytest.raises(DashInputError, match="path penalty"):
        gate_path_count(build_model(4, ModelConfig(hidden=2), seed=0))


def test_registry_entries():
    for name in ("l0", "cnode", "pathreg"):
        entry = STRATEGIES.get(name)
        assert entry.extra["uses_prior"] is False
        assert entry.citation and entry.description
        assert entry.obj.default_lambda_data == 1.0
        settings = entry.extra["settings"]
        assert settings.solver == SolverConfig(method="dopri5", rtol=1e-3, atol=1e-3)
        assert settings.multiplier_grad == "relu"


# -- end to end ---------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["phoenix", "mlp"])
@pytest.mark.parametrize("strategy", ["l0", "cnode", "pathreg"])
def test_end_to_end_tiny(tiny, strategy, model):
    res = run_experiment(tiny, _run_cfg(strategy, model, epochs=3))
    assert len(res.history) == 3 and res.metrics["epochs"] == 3
    assert np.isfinite(res.history["val_mse"]).all()
    assert 0.0 <= res.metrics["sparsity"] <= 1.0
    assert res.effect.shape == (N_GENES, N_GENES) and np.isfinite(res.effect).all()
    assert res.metrics["balanced_accuracy"] is not None
    gated = any(p.layer.gate is not None for p in res.model.prunable_layers())
    assert gated == (strategy != "cnode")
    assert res.details["lambda_data"] == 1.0


def test_checkpoint_round_trip_reproduces_effect(tiny, tmp_path):
    for i, (strategy, extra) in enumerate((("pathreg", {}), ("l0", {"eval_gates": "sample"}))):
        res = run_experiment(tiny, _run_cfg(strategy, epochs=2, **extra))
        save_run(res, tmp_path / str(i))
        model, cfg, genes = load_checkpoint(tmp_path / str(i) / "model.pt")
        assert cfg.strategy == strategy and genes == res.genes
        assert isinstance(model.sums_in.gate, HardConcreteGate)
        with torch.no_grad():
            e = model.effect_matrix().double().numpy()
        assert np.array_equal(e, res.effect)


def test_cnode_threshold_end_to_end(tiny):
    base = run_experiment(tiny, _run_cfg("cnode", epochs=2))
    thr = run_experiment(tiny, _run_cfg("cnode", epochs=2, cnode_threshold=0.05))
    assert thr.metrics["sparsity"] > base.metrics["sparsity"]
    for p in thr.model.prunable_layers():
        w = p.layer.weight.detach()
        assert float(w[w != 0].abs().min()) >= 0.05
    assert thr.details["val_mse"] is not None and np.isfinite(thr.details["val_mse"])


def test_kappa_zero_is_reference_mode(tiny):
    res = run_experiment(tiny, replace(_run_cfg("l0", epochs=2), pruning=PruningConfig(kappa_l0=0.0)))
    assert res.config.pruning.kappa_l0 == 0.0 and len(res.history) == 2

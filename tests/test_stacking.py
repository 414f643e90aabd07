"""The stack engine: K runs trained as one stacked model give what each run gives alone."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from dash_core.experiment import RunConfig, run_experiment, run_experiments, run_stack
from dash_core.integrate import SolverConfig
from dash_core.models import ModelConfig
from dash_core.pruning import PruningConfig
from dash_core.stacking import auto_stack_size, estimate_member_bytes, plan_stacks, stack_key
from dash_core.train import TrainConfig

LAMBDAS = [(0.0, 0.0), (0.5, 0.05), (0.9, 0.5), (1.0, 1.0)]


def _cfg(lam, seed, **train):
    t = {"max_epochs": 5, "patience": 3, "device": "cpu", **train}
    return RunConfig(model=ModelConfig(hidden=8), strategy="dash", seed=seed, train=TrainConfig(**t),
                     pruning=PruningConfig(lambda_ppi=lam[0], lambda_motif=lam[1], first_epoch=2, interval=3))


def _assert_same(stacked, alone, *, tol=1e-3):
    assert stacked.metrics["epochs"] == alone.metrics["epochs"]
    assert stacked.metrics["best_epoch"] == alone.metrics["best_epoch"]
    assert stacked.stop_reason == alone.stop_reason
    for pl_s, pl_a in zip(stacked.model.prunable_layers(), alone.model.prunable_layers()):
        assert torch.equal(pl_s.layer.mask, pl_a.layer.mask), pl_s.name
    for k in ("sparsity", "balanced_accuracy", "auroc", "auprc"):
        assert stacked.metrics[k] == pytest.approx(alone.metrics[k], abs=tol), k
    assert stacked.metrics["test_mse"] == pytest.approx(alone.metrics["test_mse"], rel=tol)
    np.testing.assert_allclose(stacked.history["val_mse"], alone.history["val_mse"], rtol=tol)
    np.testing.assert_allclose(stacked.effect, alone.effect, atol=tol * np.abs(alone.effect).max())


def test_four_lambdas_two_seeds_match_their_single_runs(demo_sim):
    """K = 8 (4 λ points x 2 seeds) on the demo: same masks at every event, metrics within 1e-3.

    Stacked and single runs differ only in the order of floating-point sums inside batched matrix products
    (~1e-7 relative per step); with a few epochs that stays far below the tolerance and never flips a mask.
    """
    ds = demo_sim.dataset
    configs = [_cfg(lam, seed) for seed in (0, 1) for lam in LAMBDAS]
    assert len({stack_key(c) for c in configs}) == 1
    stacked = run_stack(ds, configs)
    for cfg, res in zip(configs, stacked):
        assert not isinstance(res, BaseException), res
        alone = run_experiment(ds, cfg)
        _assert_same(res, alone)
        assert res.details["stack_size"] == 8
    # the runs really differ from each other (different λ, different seeds)
    assert len({round(r.metrics["balanced_accuracy"], 6) for r in stacked}) > 2


@pytest.mark.parametrize("strategy", ["pinn_mp", "synflow", "l0"])
def test_multi_phase_and_gated_strategies_stack(tiny_sim, strategy):
    """Strategies with their own fit (phases) or gates stack too; runs with different patience stop apart."""
    ds = tiny_sim.dataset
    pr = PruningConfig(first_epoch=2, interval=2, pinn_mp_finetune_epochs=3)
    configs = [RunConfig(model=ModelConfig(hidden=6), strategy=strategy, seed=s, pruning=pr,
                         train=TrainConfig(max_epochs=7, patience=p, lr=2e-2, val_fraction=0.25, device="cpu"))
               for s, p in ((0, 2), (1, 0), (2, 1))]
    for cfg, res in zip(configs, run_stack(ds, configs)):
        assert not isinstance(res, BaseException), res
        _assert_same(res, run_experiment(ds, cfg))


def test_unequal_trajectory_lengths_and_step_counts_are_exact(tiny_sim):
    """Padded batches (trajectories of different lengths) and per-model RK4 step counts give the single runs."""
    ds = tiny_sim.dataset
    expr = ds.expression
    trs = [dataclasses.replace(t, times=t.times[: 3 + i % 3] * (1.0 + 0.5 * (i % 2)), values=t.values[: 3 + i % 3])
           for i, t in enumerate(expr.trajectories)]
    ds2 = dataclasses.replace(ds, expression=dataclasses.replace(expr, trajectories=trs))
    configs = [RunConfig(model=ModelConfig(hidden=6), strategy="imp", seed=s,
                         pruning=PruningConfig(first_epoch=2, interval=2),
                         train=TrainConfig(max_epochs=4, patience=0, val_fraction=0.25, device="cpu",
                                           solver=SolverConfig(steps_per_unit=0.5)))
               for s in (0, 1, 2)]
    for cfg, res in zip(configs, run_stack(ds2, configs)):
        _assert_same(res, run_experiment(ds2, cfg), tol=1e-4)


def test_pairs_mode_stacks(tiny_sim):
    ds = tiny_sim.dataset
    configs = [RunConfig(model=ModelConfig(hidden=6), strategy="none", seed=s,
                         train=TrainConfig(max_epochs=3, batching="pairs", batch_size=7, device="cpu"))
               for s in (0, 1)]
    for cfg, res in zip(configs, run_stack(ds, configs)):
        _assert_same(res, run_experiment(ds, cfg), tol=1e-4)


def test_adaptive_solver_and_grouping(tiny_sim):
    ds = tiny_sim.dataset
    base = _cfg((0.5, 0.05), 0)
    dopri = dataclasses.replace(base, train=dataclasses.replace(base.train, solver=SolverConfig(method="dopri5")))
    assert stack_key(dopri) != stack_key(dopri)  # an adaptive solver always trains alone
    other_model = dataclasses.replace(base, model=ModelConfig(hidden=5))
    configs = [base, dataclasses.replace(base, seed=3), dopri, other_model,
               dataclasses.replace(base, pruning=PruningConfig(lambda_ppi=0.9))]
    plan = plan_stacks(ds, configs, stack_size=8)
    assert sorted(map(sorted, plan)) == [[0, 1, 4], [2], [3]]
    sizes = [len(g) for g in plan_stacks(ds, [base] * 9, stack_size=4)]
    assert sizes == [3, 3, 3]
    assert [len(g) for g in plan_stacks(ds, [base] * 9, stack_size=16, workers=2)] == [5, 4]
    with pytest.raises(ValueError, match="cannot share a stack"):
        run_stack(ds, [base, other_model])


def test_auto_stack_size_follows_memory(tiny_sim, monkeypatch):
    import dash_core.stacking as S

    ds = tiny_sim.dataset
    cfg = _cfg((0.5, 0.05), 0)
    per_run = estimate_member_bytes(ds, cfg)
    assert per_run > 4 * 4 * ds.n_genes * 8
    monkeypatch.setattr(S, "available_memory_bytes", lambda device: int(10.5 * per_run / S.MEMORY_SHARE))
    assert auto_stack_size(ds, cfg, 100) == 10
    assert auto_stack_size(ds, cfg, 3) == 3
    assert auto_stack_size(ds, cfg, 100, workers=2) == 5
    monkeypatch.setattr(S, "available_memory_bytes", lambda device: 1)
    assert auto_stack_size(ds, cfg, 100) == 1
    monkeypatch.setattr(S, "available_memory_bytes", lambda device: 10**15)
    assert auto_stack_size(ds, cfg, 100) == S.MAX_AUTO_STACK["cpu"] == 16  # measured optimum on the CPU


def test_run_experiments_keeps_order_and_reports_stack_memory(tiny_sim):
    ds = tiny_sim.dataset
    configs = [_cfg(lam, 0, max_epochs=2) for lam in LAMBDAS[:3]]
    out = run_experiments(ds, configs, stack_size=2)
    assert [r.config.pruning.lambda_ppi for r in out] == [lam[0] for lam in LAMBDAS[:3]]
    assert [r.details["stack_size"] for r in out] == [2, 2, 1]
    assert all(r.details["stack_peak_memory_mb"] >= 0 or np.isnan(r.details["stack_peak_memory_mb"]) for r in out)


def test_one_failing_run_does_not_stop_the_stack(tiny_sim):
    ds = tiny_sim.dataset
    good = _cfg((0.5, 0.05), 0, max_epochs=3)
    bad = dataclasses.replace(good, seed=1, train=dataclasses.replace(good.train, lr=1e6))
    out = run_stack(ds, [bad, good])
    assert isinstance(out[0], FloatingPointError)
    assert not isinstance(out[1], BaseException) and out[1].metrics["epochs"] == 3


@pytest.mark.parametrize("strategy,numpy_node", [("none", True), ("dash", True), ("dash", False)])
def test_cuda_graph_step_path_equals_the_eager_step_on_cpu(tiny_sim, monkeypatch, strategy, numpy_node):
    """The CUDA-graph step (static input buffers, probe indices redrawn into static tensors, gradients handed
    back after the replay) runs eagerly on the CPU here and must give exactly the ordinary step's training; also
    with the fused node's PyTorch arithmetic (what CUDA runs) instead of NumPy."""
    import dash_core.train as T
    from dash_core.models import fused_rk4

    monkeypatch.setattr(fused_rk4, "NUMPY_ON_CPU", numpy_node)
    ds = tiny_sim.dataset
    configs = [RunConfig(model=ModelConfig(hidden=6), strategy=strategy, seed=s,
                         pruning=PruningConfig(first_epoch=2, interval=2),
                         train=TrainConfig(max_epochs=4, patience=0, val_fraction=0.25, device="cpu",
                                           prior_probe_batch=32))
               for s in (0, 1, 2)]
    eager = run_stack(ds, configs)
    calls = {"n": 0}
    original = T._CapturedStep.replay

    def counting(self, batches):
        calls["n"] += 1
        return original(self, batches)

    monkeypatch.setattr(T, "STATIC_STEP_ON_CPU", True)
    monkeypatch.setattr(T._CapturedStep, "replay", counting)
    static = run_stack(ds, configs)
    assert calls["n"] > 0
    for a, b in zip(eager, static):
        np.testing.assert_array_equal(a.effect, b.effect)
        np.testing.assert_array_equal(a.history["val_mse"], b.history["val_mse"])
    # a strategy with a penalty (here C-NODE's L1) keeps the eager step
    assert not T.CudaGraphStep.supported([_trainer_with("cnode", ds)])
    assert T.CudaGraphStep.supported([_trainer_with("dash", ds)])


def _trainer_with(strategy, ds, seed=0, multiplier_grad="straight_through"):
    from dash_core.experiment import split_dataset
    from dash_core.models import build_model
    from dash_core.pruning import PriorKnowledge, build_strategy
    from dash_core.train import Trainer

    cfg = TrainConfig(max_epochs=1, device="cpu")
    tr, va = split_dataset(ds.expression, cfg, seed)
    model = build_model(ds.n_genes, ModelConfig(hidden=4, multiplier_grad=multiplier_grad), seed=seed)
    strat = build_strategy(strategy, PruningConfig(), PriorKnowledge(ds.prior_matrix()), seed)
    strat.prepare_model(model)
    return Trainer(model, tr, va, cfg, hooks=strat)


@pytest.mark.parametrize("numpy_node,grouped", [(True, False), (False, False), (True, True)])
def test_direct_step_gives_autograds_gradients(tiny_sim, monkeypatch, numpy_node, grouped):
    """The training step without autograd (data MSE gradient straight into the fused node's adjoint) gives the
    gradients of the autograd step: 3 models, one with half its rows (padding), masked entries, a data weight
    below 1 without a prior term, both gene-rate rules, both arithmetic backends. Where it does not apply (a
    penalty, a prior term) it declines."""
    import dash_core.train as T
    from dash_core.models import fused_rk4

    monkeypatch.setattr(fused_rk4, "NUMPY_ON_CPU", numpy_node)
    ds = tiny_sim.dataset
    trainers = [_trainer_with("dash", ds, seed=s, multiplier_grad=rule)
                for s, rule in ((0, "straight_through"), (1, "relu"), (2, "straight_through"))]
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        trainers[1].model.g.sub_(0.5)  # some rates at 0: the relu rule's zero gradients are exercised
        lin = trainers[2].model.sums_in
        lin.mask.copy_((torch.rand(lin.mask.shape, generator=gen) > 0.4).to(lin.mask.dtype))
        lin.apply_mask_()
    trainers[2].lambda_data = 0.7
    batches = [t._epoch_batches()[0] for t in trainers]
    b = batches[1]
    half = b.x0.shape[0] // 2
    # the same step count as the others, or (grouped) more steps: members solved in two groups
    batches[1] = T._Batch(b.x0[:half], b.x1[:half], b.dt[:half], b.max_dt * (3.0 if grouped else 1.0))
    T._refresh_rates(trainers)
    assert len(set(T._step_counts(trainers, batches))) == (2 if grouped else 1)

    def grads(direct):
        for t in trainers:
            t.model.zero_grad(set_to_none=True)
        if direct:
            data = T._direct_step(trainers, batches)
        else:
            total, data = T._stack_loss(trainers, batches)
            total.backward()
        return data, [[p.grad.clone() for p in t.model.parameters()] for t in trainers]

    d_ref, g_ref = grads(False)
    d_dir, g_dir = grads(True)
    torch.testing.assert_close(d_dir, d_ref, rtol=1e-6, atol=0)
    for gs_ref, gs_dir in zip(g_ref, g_dir):
        for a, b in zip(gs_dir, gs_ref):
            scale = b.abs().max()
            assert scale > 0
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5 * scale)
    masked = trainers[2].model.sums_in.mask == 0
    assert masked.any() and (trainers[2].model.sums_in.weight.grad[masked] == 0).all()
    # it declines a penalty (C-NODE's L1) and a prior term
    assert T._direct_step([_trainer_with("cnode", ds)], batches[:1]) is None
    trainers[0].prior, trainers[0].lambda_data = torch.zeros(ds.n_genes, ds.n_genes), 0.9
    assert T._direct_step(trainers, batches) is None


def test_successive_halving_on_one_stack(tiny_sim):
    """9 runs, grace 2, eta 3: 3 go on after epoch 2, 1 after epoch 6; the survivors equal their single runs."""
    from dash_core.stacking import successive_halving

    ds = tiny_sim.dataset
    configs = [_cfg(lam, 0, max_epochs=8, patience=0, val_fraction=0.25)
               for lam in [(a, b) for a in (0.0, 0.5, 1.0) for b in (0.0, 0.5, 1.0)]]
    out = successive_halving(ds, configs, grace_period=2, reduction_factor=3)
    stopped = [o["stopped_at"] for o in out]
    assert sorted(s for s in stopped if s) == [2] * 6 + [6] * 2
    survivor = next(i for i, o in enumerate(out) if o["stopped_at"] is None)
    assert out[survivor]["result"].metrics["epochs"] == 8
    for o in out:
        if o["stopped_at"]:
            assert o["result"].metrics["epochs"] == o["stopped_at"] and o["result"].stop_reason == "cancelled"
            # stopped trials are not scored (the search keeps their history and best validation MSE only)
            assert o["result"].effect is None and o["result"].details["scored"] is False
            assert o["result"].metrics["val_mse"] == o["result"].history["best_val_mse"].iloc[-1]
    # the ranking at epoch 2 used the best validation MSE: every run kept beats every run stopped there
    at2 = {i: o["result"].history.loc[1, "best_val_mse"] for i, o in enumerate(out)}
    kept = [at2[i] for i, o in enumerate(out) if o["stopped_at"] != 2]
    dropped = [at2[i] for i, o in enumerate(out) if o["stopped_at"] == 2]
    assert max(kept) <= min(dropped)
    _assert_same(out[survivor]["result"], run_experiment(ds, configs[survivor]))

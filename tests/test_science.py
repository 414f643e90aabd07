"""The project's central claims on a small simulated network (seconds, seeded).

1. DASH (prior-informed pruning) recovers the true network better than magnitude pruning (IMP) at the
   same sparsity: both follow the same schedule, so their sparsities match and the balanced accuracy
   (methods D.2) compares what each kept.
2. Unpruned PHOENIX trained with the prior as a soft loss ranks the true edges better (AUROC, D.5) than
   the same model without it.

Measured margins (30 genes, 12 trajectories; C drawn by ``torch.nn.init.orthogonal_``): DASH - IMP balanced
accuracy +0.17 / +0.29 on seeds 0 / 1 (0.748 vs 0.579 on seed 0, sparsity 0.886 vs 0.877); PHOENIX AUROC with vs
without the prior +0.13 / +0.07 / +0.06 on seeds 0 / 1 / 2 (the project's earlier QR draw: +0.23 / +0.24 and
+0.17 / +0.06 / +0.08). The prior weight here is 1 - lambda_data = 0.1: at the spec's 0.01 (lambda_data =
0.99) the soft loss needs the full 200 epochs of SIM350 to act, longer than a unit test.
"""

from __future__ import annotations

import pytest
import torch

from dash_core.experiment import RunConfig, run_experiment
from dash_core.models import ModelConfig
from dash_core.pruning import PruningConfig
from dash_core.simulate import SimulationConfig, simulate
from dash_core.train import TrainConfig

SMALL = ModelConfig(hidden=10)


@pytest.fixture(scope="module")
def network():
    torch.set_num_threads(1)
    return simulate(SimulationConfig.scaled(30, n_trajectories=12, n_test_trajectories=2, seed=0)).dataset


def test_dash_recovers_the_network_better_than_magnitude_pruning_at_equal_sparsity(network):
    train = TrainConfig(max_epochs=15, patience=0, device="cpu", prior_probes=256, prior_probe_batch=64)
    schedule = PruningConfig(first_epoch=2, first_amount=0.7, interval=3, amount=0.2)
    runs = {s: run_experiment(network, RunConfig(model=SMALL, train=train, strategy=s, pruning=schedule, seed=0))
            for s in ("dash", "imp")}
    dash, imp = (runs[s].metrics for s in ("dash", "imp"))
    assert dash["sparsity"] > 0.8 and abs(dash["sparsity"] - imp["sparsity"]) < 0.03
    assert dash["balanced_accuracy"] > imp["balanced_accuracy"] + 0.1, (dash, imp)


def test_the_prior_soft_loss_improves_the_edge_ranking_of_unpruned_phoenix(network):
    def auroc(lambda_data: float) -> float:
        train = TrainConfig(max_epochs=30, patience=0, device="cpu", lambda_data=lambda_data, prior_probes=256,
                            prior_probe_batch=64)
        return run_experiment(network, RunConfig(model=SMALL, train=train, strategy="none", seed=0)).metrics["auroc"]

    with_prior, without = auroc(0.9), auroc(1.0)
    assert with_prior > without + 0.05, (with_prior, without)

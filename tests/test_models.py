"""PHOENIX / MLP right-hand sides, effect matrices and initialisation against hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dash_core.models import MODELS, ModelConfig, PhoenixODE, build_model, squash


def _set_phoenix(model: PhoenixODE, ws, bs, wp, bp, cs, cp, g):
    with torch.no_grad():
        model.sums_in.weight.copy_(torch.tensor(ws, dtype=torch.float64))
        model.sums_in.bias.copy_(torch.tensor(bs, dtype=torch.float64))
        model.prods_in.weight.copy_(torch.tensor(wp, dtype=torch.float64))
        model.prods_in.bias.copy_(torch.tensor(bp, dtype=torch.float64))
        model.sums_out.weight.copy_(torch.tensor(cs, dtype=torch.float64))
        model.prods_out.weight.copy_(torch.tensor(cp, dtype=torch.float64))
        model.g.copy_(torch.tensor(g, dtype=torch.float64))


def test_registry_lists_models_with_descriptions():
    assert MODELS.names() == ["phoenix", "mlp"]
    assert all(e.description and e.citation for e in MODELS.entries())


def test_squash_values():
    x = torch.tensor([0.5, 1.5, -0.5])
    # sigma(x) = (x - 1/2) / (1 + |x - 1/2|): 0, 1/2, -1/2
    assert torch.allclose(squash(x), torch.tensor([0.0, 0.5, -0.5]))


def test_phoenix_rhs_by_hand():
    """n = 2 genes, h = 1: every term of A.1 computed by hand."""
    m = PhoenixODE(2, ModelConfig(hidden=1)).double()
    _set_phoenix(m, ws=[[1.0, 0.0]], bs=[0.1], wp=[[0.0, 2.0]], bp=[0.0], cs=[[1.0], [0.5]], cp=[[0.0], [1.0]],
                 g=[1.0, -0.3])
    x = torch.tensor([[1.5, 0.5]], dtype=torch.float64)
    # sigma(x) = [0.5, 0.0]; s = 0.5*1 + 0.1 = 0.6; p = exp(log(1+0)*2 + 0) = 1
    # u = [0.6*1 + 1*0, 0.6*0.5 + 1*1] = [0.6, 1.3]; f = relu(g) * (u - x) = [1*(0.6-1.5), 0*(...)] = [-0.9, 0]
    f = m(x)
    assert torch.allclose(f, torch.tensor([[-0.9, 0.0]], dtype=torch.float64))
    assert torch.allclose(m.drive(x), torch.tensor([[0.6, 1.3]], dtype=torch.float64))


@pytest.mark.parametrize("mode,expected_grad", [("relu", 0.0), ("straight_through", 1.0)])
def test_multiplier_gradient_modes(mode, expected_grad):
    """Same forward value (gene 2 frozen exactly); only straight-through lets a frozen gene get a gradient."""
    m = PhoenixODE(2, ModelConfig(hidden=1, multiplier_grad=mode)).double()
    _set_phoenix(m, ws=[[1.0, 0.0]], bs=[0.1], wp=[[0.0, 2.0]], bp=[0.0], cs=[[1.0], [0.5]], cp=[[0.0], [1.0]],
                 g=[1.0, -0.3])
    x = torch.tensor([[1.5, 0.5]], dtype=torch.float64)
    f = m(x)
    assert torch.allclose(f, torch.tensor([[-0.9, 0.0]], dtype=torch.float64))
    f[0, 1].backward()
    # d f_2 / d g_2 = u_2 - x_2 = 1.3 - 0.5 = 0.8 under straight-through, 0 through ReLU at g < 0
    assert m.g.grad[1].item() == pytest.approx(0.8 * expected_grad)
    assert m.effect_matrix()[:, 1].abs().sum().item() == 0.0


def test_effect_matrix_by_hand():
    """E = (Ws^T Cs^T + Wp^T Cp^T) diag(relu g), regulator x target."""
    m = PhoenixODE(3, ModelConfig(hidden=2)).double()
    ws = [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    wp = [[0.0, 0.0, 3.0], [0.0, 0.0, 0.0]]
    cs = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    cp = [[1.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    _set_phoenix(m, ws, [0, 0], wp, [0, 0], cs, cp, g=[1.0, 0.5, -1.0])
    e = m.effect_matrix().detach().numpy()
    # gene0 -> hidden0 (sums) -> gene1 (C_s[1,0]=1): E[0,1] = 1*1*relu(0.5) = 0.5
    # gene1 -> hidden1 (sums) -> gene2: 2*1*relu(-1) = 0 (gene 2 frozen)
    # gene2 -> hidden0 (prods) -> gene0: 3*1*relu(1) = 3
    expected = np.zeros((3, 3))
    expected[0, 1] = 0.5
    expected[2, 0] = 3.0
    np.testing.assert_allclose(e, expected)


def test_sparsity_blocks_scale_output_rows_by_relu_g():
    m = build_model(4, ModelConfig(hidden=3), seed=0)
    with torch.no_grad():
        m.g.copy_(torch.tensor([1.0, -1.0, 0.5, 0.0]))
    blocks = m.sparsity_blocks()
    assert torch.all(blocks[2][1] == 0) and torch.all(blocks[3][3] == 0)
    assert torch.all(blocks[2][0] != 0)


def test_sparse_initialisation_counts():
    m = build_model(60, ModelConfig(hidden=40), seed=1)
    for lin in (m.sums_in, m.prods_in):
        zeros_per_column = (lin.weight == 0).sum(dim=0)
        assert torch.all(zeros_per_column == 38)  # ceil(0.95 * 40) zeros, 2 non-zeros per column (A.2)
    # orthogonal output layers: orthonormal columns
    c = m.sums_out.weight.detach().double()
    assert torch.allclose(c.T @ c, torch.eye(40, dtype=torch.float64), atol=1e-5)
    assert 0 <= float(m.g.min()) and float(m.g.max()) <= 1


def test_seeded_initialisation_is_reproducible():
    a = build_model(10, ModelConfig(hidden=5), seed=7).state_dict()
    b = build_model(10, ModelConfig(hidden=5), seed=7).state_dict()
    c = build_model(10, ModelConfig(hidden=5), seed=8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["sums_in.weight"], c["sums_in.weight"])


@pytest.mark.parametrize("name", ["phoenix", "mlp"])
def test_gradcheck_vector_field(name):
    torch.manual_seed(0)
    m = build_model(4, ModelConfig(model=name, hidden=3, sparse_fraction=0.0), seed=0).double()
    x = torch.rand(2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda y: m(y), (x,))


def test_masked_entries_have_zero_gradient_and_stay_zero():
    m = build_model(5, ModelConfig(hidden=4, sparse_fraction=0.0), seed=0)
    m.sums_in.mask[0, 0] = 0
    m.apply_masks_()
    loss = m(torch.rand(3, 5)).pow(2).sum()
    loss.backward()
    assert m.sums_in.weight.grad[0, 0] == 0
    assert m.sums_in.weight[0, 0] == 0
    assert m.effect_matrix().shape == (5, 5)


def test_mlp_effect_matrix_and_rhs():
    m = build_model(3, ModelConfig(model="mlp", hidden=2), seed=0).double()
    w1, w2 = m.layer1.weight.detach(), m.layer2.weight.detach()
    np.testing.assert_allclose(m.effect_matrix().detach().numpy(), (w1.T @ w2.T).numpy())
    x = torch.rand(1, 3, dtype=torch.float64)
    expected = torch.nn.functional.elu(x @ w1.T + m.layer1.bias) @ w2.T + m.layer2.bias
    assert torch.allclose(m(x), expected)
    assert len(m.sparsity_blocks()) == 2 and math.prod(m.sparsity_blocks()[0].shape) == 6

"""Tests of the SIM350-style simulator (methods E.1-E.6)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dash_core.io.errors import DashInputError
from dash_core.network import edges_to_matrix
from dash_core.simulate import (
    GRNDynamics,
    SimulationConfig,
    assign_logic,
    coregulation_matrix,
    coregulation_table,
    corrupt_prior,
    generate_network,
    hill_activation,
    integrate,
    module_gene_sets,
    network_statistics,
    simulate,
    write_simulation,
)


@pytest.fixture(scope="module")
def sim350():
    return simulate(SimulationConfig.sim350(seed=0))


@pytest.fixture(scope="module")
def demo():
    return simulate(SimulationConfig.demo(seed=1))


def _stack(expr):
    return np.stack([t.values for t in expr.trajectories])


# --------------------------------------------------------------------------- network
def test_sim350_network_has_sim350_counts(sim350):
    net = sim350.network
    genes = sim350.genes
    roles = sim350.gene_table["role"].value_counts().to_dict()
    assert len(genes) == 350 and len(set(genes)) == 350
    assert roles == {"input": 74, "internal": 23, "target": 253}
    assert len(net) == 550
    assert (net["weight"] == 1).sum() == 374 and (net["weight"] == -1).sum() == 176
    assert not (net["source"] == net["target"]).any()
    assert not net.duplicated(["source", "target"]).any()
    is_reg = sim350.gene_table.set_index("gene")["role"]
    regulators = set(is_reg.index[is_reg != "target"])
    regulated = set(is_reg.index[is_reg != "input"])
    assert set(net["source"]) == regulators  # every regulator has >= 1 target, only regulators regulate
    assert set(net["target"]) == regulated  # in-degree >= 1 for every regulated gene, inputs unregulated
    stats = sim350.statistics()
    assert stats["regulators"] == 97 and stats["regulated"] == 276 and stats["self_loops"] == 0
    assert 1.9 < stats["mean_in_degree"] < 2.1


def test_gene_naming_scheme(sim350):
    g = sim350.genes
    assert g[0] == "IN01" and g[73] == "IN74" and g[74] == "TF01" and g[96] == "TF23"
    assert g[97] == "G001" and g[-1] == "G253"


@pytest.mark.parametrize("n", [3, 5, 12, 30, 48, 100])
def test_scaled_configs_are_valid_for_small_n(n):
    cfg = SimulationConfig.scaled(n, n_trajectories=3, n_test_trajectories=1)
    net = generate_network(cfg)
    stats = network_statistics(net.truth, net.genes, net.input_genes)
    assert stats["genes"] == n and stats["edges"] == cfg.n_edges and stats["self_loops"] == 0
    assert stats["regulators"] == cfg.n_regulators and stats["regulated"] == cfg.n_regulated
    assert stats["activating"] == cfg.n_activating


def test_demo_preset_counts():
    cfg = SimulationConfig.demo()
    assert (cfg.n_genes, cfg.n_inputs, cfg.n_internal, cfg.n_edges, cfg.n_activating) == (48, 10, 3, 75, 51)
    assert cfg.n_trajectories == 40


def test_invalid_config_raises_user_error():
    with pytest.raises(DashInputError, match="n_edges"):
        SimulationConfig(n_edges=10)
    with pytest.raises(DashInputError, match="p_swap"):
        SimulationConfig(p_swap=1.5)
    with pytest.raises(DashInputError, match="time_points"):
        SimulationConfig(time_points=(0.0, 2.0, 2.0))
    with pytest.raises(DashInputError, match="Unknown simulation setting"):
        SimulationConfig.from_dict({"n_genez": 3})


def test_config_roundtrip_and_tied_corruption():
    cfg = SimulationConfig.sim350(noise_sigma=0.05)
    assert SimulationConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.corruption_fraction == pytest.approx(0.1) and cfg.n_moved_edges == 55
    assert SimulationConfig.sim350().n_moved_edges == 27
    assert SimulationConfig.sim350(noise_sigma=0.1).n_moved_edges == 110
    assert SimulationConfig.sim350(prior_corruption=0.2, noise_sigma=0.0).n_moved_edges == 110


# --------------------------------------------------------------------------- dynamics
def test_hill_identities():
    for ec50, n in [(0.4, 1.01), (0.5, 1.0), (0.6, 1.01), (0.55, 1.7), (0.45, 1.39)]:
        assert hill_activation(0.0, ec50, n) == pytest.approx(0.0, abs=1e-15)
        assert hill_activation(ec50, ec50, n) == pytest.approx(0.5, abs=1e-12)
        assert hill_activation(1.0, ec50, n) == pytest.approx(1.0, abs=1e-12)
    # equals the B form of methods E.2 away from EC50^n = 1/2, and is increasing
    x = np.linspace(0, 1, 11)
    ec50, n = 0.45, 1.5
    b = (ec50**n - 1) / (2 * ec50**n - 1)
    np.testing.assert_allclose(hill_activation(x, ec50, n), b * x**n / (b - 1 + x**n), rtol=1e-12, atol=1e-15)
    assert np.all(np.diff(hill_activation(x, 0.58, 1.05)) > 0)


def _toy(edges, genes, p_swap=0.0):
    df = pd.DataFrame(edges, columns=["source", "target", "weight", "ec50", "hill_n"])
    df = assign_logic(df, genes, p_swap, np.random.default_rng(0))
    return df, GRNDynamics.from_edges(df, genes)


def test_three_gene_and_or_logic_by_hand():
    genes = ["A", "B", "C"]
    xa, xb = 0.7, 0.3
    fa, fb = hill_activation(xa, 0.5, 1.2), hill_activation(xb, 0.4, 1.5)
    state = np.array([[xa, xb, 0.2]])

    # A activates, B represses; tie in out-degree -> A (first) is main: act = fA AND (not fB)
    df, dyn = _toy([("A", "C", 1, 0.5, 1.2), ("B", "C", -1, 0.4, 1.5)], genes)
    assert df.set_index("source").loc["A", "logic_role"] == "main"
    assert df.set_index("source").loc["B", "logic_role"] == "corepressor"
    np.testing.assert_allclose(dyn.rhs(state), [[0.0, 0.0, fa * (1 - fb) - 0.2]], atol=1e-14)

    # A represses (main), B activates: act = (not fA) OR fB
    _, dyn = _toy([("A", "C", -1, 0.5, 1.2), ("B", "C", 1, 0.4, 1.5)], genes)
    na = 1 - fa
    np.testing.assert_allclose(dyn.activation(state), [[na + fb - na * fb]], atol=1e-14)

    # B has the larger out-degree -> B is main even though A comes first
    genes4 = ["A", "B", "C", "D"]
    df, dyn = _toy([("A", "C", 1, 0.5, 1.2), ("B", "C", -1, 0.4, 1.5), ("B", "D", 1, 0.5, 1.0)], genes4)
    main_c = df[(df["target"] == "C") & (df["logic_role"] == "main")]["source"].tolist()
    assert main_c == ["B"]
    act = dyn.activation(np.array([[xa, xb, 0.2, 0.1]]))
    # act_C = not fB OR fA ; act_D = fB(n=1, ec50=0.5)
    fb1 = hill_activation(xb, 0.5, 1.0)
    np.testing.assert_allclose(act, [[(1 - fb) + fa - (1 - fb) * fa, fb1]], atol=1e-14)


def test_p_swap_flips_group_connective():
    genes = ["M", "A1", "A2", "T", "X"]
    edges = [("M", "T", 1, 0.5, 1.0), ("A1", "T", 1, 0.5, 1.0), ("A2", "T", 1, 0.5, 1.0), ("M", "X", 1, 0.5, 1.0)]
    x = np.array([[0.8, 0.6, 0.3, 0.0, 0.0]])
    fm, f1, f2 = (hill_activation(v, 0.5, 1.0) for v in (0.8, 0.6, 0.3))
    df0, dyn0 = _toy(edges, genes, p_swap=0.0)
    assert df0.loc[df0["source"] == "A2", "connective"].item() == "AND"
    np.testing.assert_allclose(dyn0.activation(x)[0, 0], fm * f1 * f2, atol=1e-14)
    df1, dyn1 = _toy(edges, genes, p_swap=1.0)
    assert df1.loc[df1["source"] == "A2", "connective"].item() == "OR"
    np.testing.assert_allclose(dyn1.activation(x)[0, 0], fm * (f1 + f2 - f1 * f2), atol=1e-14)


def _naive_activation(edges, genes, x):
    """Reference: evaluate every gene's logic with plain Python loops."""
    idx = {g: i for i, g in enumerate(genes)}
    out = {}
    for tgt, grp in edges.groupby("target", sort=False):

        def term(row):
            f = hill_activation(x[idx[row.source]], row.ec50, row.hill_n)
            return f if row.weight > 0 else 1 - f

        main = grp[grp["logic_role"] == "main"].iloc[0]
        val = term(main)
        outer_and = main.weight > 0
        for role in ("coactivator", "corepressor"):
            members = grp[grp["logic_role"] == role]
            if len(members) == 0:
                continue
            g = None
            for row in members.itertuples():
                t = term(row)
                g = t if g is None else (g * t if row.connective == "AND" else g + t - g * t)
            val = val * g if outer_and else val + g - val * g
        out[tgt] = val
    return out


def test_vectorised_rhs_matches_naive_logic():
    cfg = SimulationConfig.scaled(60, p_swap=0.5, seed=3)
    net = generate_network(cfg)
    dyn = GRNDynamics.from_edges(net.edges, net.genes)
    rng = np.random.default_rng(0)
    x = rng.random((4, len(net.genes)))
    act = dyn.activation(x)
    for r in range(4):
        ref = _naive_activation(net.edges, net.genes, x[r])
        got = {net.genes[j]: act[r, k] for k, j in enumerate(dyn.regulated)}
        assert set(ref) == set(got)
        for g in ref:
            assert got[g] == pytest.approx(ref[g], abs=1e-12)
    assert (net.edges["connective"] == "OR").any() and (net.edges["connective"] == "AND").any()


def test_integrate_matches_closed_form():
    # input I held constant drives G: dx/dt = a - x with a = fAct(x_I), x(t) = a + (x0 - a) e^{-t}
    genes = ["I", "G"]
    _, dyn = _toy([("I", "G", 1, 0.45, 1.3)], genes)
    x0 = np.array([[0.6, 0.1], [0.2, 0.9]])
    t = np.array([0.0, 0.5, 2.0, 9.0])
    out = integrate(dyn, x0, t, rtol=1e-10, atol=1e-12)
    a = hill_activation(x0[:, 0], 0.45, 1.3)
    expected = a[:, None] + (x0[:, 1] - a)[:, None] * np.exp(-t)[None, :]
    np.testing.assert_allclose(out[:, :, 1], expected, atol=1e-8)
    np.testing.assert_array_equal(out[:, :, 0], np.repeat(x0[:, :1], 4, axis=1))


# --------------------------------------------------------------------------- sampling, noise
def test_clean_data_inputs_constant_and_in_range(sim350):
    clean = _stack(sim350.expression_clean)
    assert clean.shape == (150, 5, 350)
    n_in = 74
    np.testing.assert_array_equal(clean[:, :, :n_in], np.repeat(clean[:, :1, :n_in], 5, axis=1))
    assert clean.min() >= 0.0 and clean.max() <= 1.0
    # regulated genes actually move
    assert np.abs(clean[:, -1, n_in:] - clean[:, 0, n_in:]).mean() > 0.05
    tc = _stack(sim350.dataset.test_expression_clean)
    assert tc.shape == (10, 5, 350)
    np.testing.assert_array_equal(sim350.dataset.expression.trajectories[0].times, [0, 2, 3, 7, 9])


def test_noise_sd_close_to_sigma(sim350):
    resid = _stack(sim350.dataset.expression) - _stack(sim350.expression_clean)
    assert resid.std() == pytest.approx(0.025, rel=0.02)
    assert abs(resid.mean()) < 1e-3
    tresid = _stack(sim350.dataset.test_expression) - _stack(sim350.dataset.test_expression_clean)
    assert tresid.std() == pytest.approx(0.025, rel=0.05)
    assert np.all(resid[:, 0] != 0)  # inputs and t = 0 are noisy too


def test_determinism_and_seed_sensitivity(demo):
    again = simulate(SimulationConfig.demo(seed=1))
    np.testing.assert_array_equal(_stack(again.dataset.expression), _stack(demo.dataset.expression))
    np.testing.assert_array_equal(_stack(again.dataset.test_expression), _stack(demo.dataset.test_expression))
    pd.testing.assert_frame_equal(again.network, demo.network)
    pd.testing.assert_frame_equal(again.dataset.prior, demo.dataset.prior)
    other = simulate(SimulationConfig.demo(seed=2))
    assert not np.array_equal(_stack(other.dataset.expression), _stack(demo.dataset.expression))
    assert not other.network[["source", "target"]].equals(demo.network[["source", "target"]])
    # a different noise seed changes only the noise
    renoised = simulate(SimulationConfig.demo(seed=1, noise_seed=7))
    np.testing.assert_array_equal(_stack(renoised.expression_clean), _stack(demo.expression_clean))
    assert not np.array_equal(_stack(renoised.dataset.expression), _stack(demo.dataset.expression))


def test_demo_generates(demo):
    ds = demo.dataset
    assert ds.n_genes == 48 and ds.expression.n_trajectories == 40 and ds.test_expression.n_trajectories == 10
    assert demo.timings["total"] > 0
    assert len(ds.truth) == 75 and len(demo.prior_moves) == 3  # floor(75 * 0.05)


# --------------------------------------------------------------------------- prior corruption and Pi
def test_corruption_moves_exact_count_and_keeps_signs(sim350):
    truth, genes = sim350.dataset.truth, sim350.genes
    prior, moves = corrupt_prior(truth, genes, 0.05, np.random.default_rng(11))
    assert len(moves) == 27
    t = edges_to_matrix(truth, genes)
    p = edges_to_matrix(prior, genes)
    idx = {g: i for i, g in enumerate(genes)}
    si, ti = moves["source"].map(idx).to_numpy(), moves["target"].map(idx).to_numpy()
    ns, nt = moves["new_source"].map(idx).to_numpy(), moves["new_target"].map(idx).to_numpy()
    np.testing.assert_array_equal(moves["weight"].to_numpy(), t[si, ti])  # signs kept
    assert np.all(ns != nt)
    # last writer wins at every new position
    last = {}
    for a, b, w in zip(ns, nt, moves["weight"]):
        last[(a, b)] = w
    for (a, b), w in last.items():
        assert p[a, b] == w
    # every other true edge is untouched, and only moved edges went missing
    moved_from = set(zip(si, ti))
    for a, b in zip(*np.nonzero(t)):
        if (a, b) not in moved_from and (a, b) not in last:
            assert p[a, b] == t[a, b]
    missing = {(a, b) for a, b in zip(*np.nonzero(t)) if p[a, b] == 0}
    assert missing <= moved_from
    assert len(sim350.prior_moves) == 27  # default sigma 0.025 -> nu 0.05


def test_flip_fraction_flips_signs(demo):
    truth, genes = demo.dataset.truth, demo.genes
    prior, moves = corrupt_prior(truth, genes, 0.0, np.random.default_rng(0), flip_fraction=0.5)
    assert len(moves) == 0
    t, p = edges_to_matrix(truth, genes), edges_to_matrix(prior, genes)
    assert np.array_equal(t != 0, p != 0)
    assert int((t * p < 0).sum()) == 37  # floor(75 * 0.5)


def test_coregulation_symmetric_and_normalised(sim350):
    ds = sim350.dataset
    pi = edges_to_matrix(ds.ppi, ds.genes)
    np.testing.assert_allclose(pi, pi.T, atol=1e-15)
    assert pi.sum() == pytest.approx(1.0)
    assert (pi >= 0).all()
    absp = np.abs(edges_to_matrix(ds.prior, ds.genes))
    np.testing.assert_allclose(pi, coregulation_matrix(absp), atol=1e-15)
    regs = set(ds.prior["source"])
    assert set(ds.ppi["source"]) == regs and set(ds.ppi["target"]) == regs
    # a hand example: R1 -> {a, b}, R2 -> {b}: |P||P|^T = [[2, 1], [1, 1]] / 5
    table = coregulation_table(
        pd.DataFrame({"source": ["R1", "R1", "R2"], "target": ["a", "b", "b"], "weight": [1.0, -1.0, 1.0]}),
        ["R1", "R2", "a", "b"],
    )
    got = {(s, t): w for s, t, w in table.itertuples(index=False)}
    assert got == pytest.approx({("R1", "R1"): 0.4, ("R1", "R2"): 0.2, ("R2", "R1"): 0.2, ("R2", "R2"): 0.2})


# --------------------------------------------------------------------------- gene sets, writing
def test_module_gene_sets():
    net = pd.DataFrame(
        {
            "source": ["R1", "R1", "R1", "R2", "R2", "R3", "R3", "R3", "R3"],
            "target": ["a", "b", "c", "a", "d", "b", "c", "d", "e"],
            "weight": 1.0,
        }
    )
    genes = ["R1", "R2", "R3", "a", "b", "c", "d", "e", "f", "g"]
    sets = module_gene_sets(net, min_size=3, n_random=3, genes=genes, seed=4)
    assert sets["REGULON_R1"] == ["R1", "a", "b", "c"]
    assert sets["REGULON_R3"] == ["R3", "b", "c", "d", "e"]
    assert "REGULON_R2" not in sets
    # programs: R1 shares a with R2 and b, c with R3; R2 shares a with R1 and d with R3
    assert sets["PROGRAM_R1"] == ["R1", "R2", "R3"] and sets["PROGRAM_R2"] == ["R2", "R1", "R3"]
    assert list(sets)[:5] == ["REGULON_R1", "REGULON_R3", "PROGRAM_R1", "PROGRAM_R2", "PROGRAM_R3"]
    decoys = [k for k in sets if k.startswith("RANDOM_")]
    assert decoys == ["RANDOM_1", "RANDOM_2", "RANDOM_3"]
    assert all(len(sets[k]) in (3, 4, 5) for k in decoys)
    assert not any(k.startswith("PROGRAM_") for k in module_gene_sets(net, 3, programs=False, genes=genes))
    assert all(set(sets[k]) <= set(genes) and len(set(sets[k])) == len(sets[k]) for k in decoys)
    assert module_gene_sets(net, 3, n_random=3, genes=genes, seed=4) == sets


def test_write_simulation_roundtrip(demo, tmp_path):
    paths = write_simulation(demo, tmp_path, reference_format=True)
    for key in (
        "expression",
        "test_expression",
        "test_expression_clean",
        "prior",
        "truth",
        "ppi",
        "network_parameters",
        "gene_sets",
        "simulation_config",
    ):
        assert paths[key].exists(), key
    tidy = pd.read_csv(paths["expression"])
    assert list(tidy.columns[:2]) == ["trajectory", "time"] and list(tidy.columns[2:]) == demo.genes
    assert len(tidy) == 40 * 5
    np.testing.assert_allclose(tidy[demo.genes].to_numpy()[:5], demo.dataset.expression.trajectories[0].values)
    truth = pd.read_csv(paths["truth"])
    assert list(truth.columns) == ["source", "target", "weight"] and len(truth) == 75
    lines = paths["gene_sets"].read_text().splitlines()
    assert len(lines) == len(demo.gene_sets)
    first = lines[0].split("\t")
    assert demo.gene_sets[first[0]] == first[2:]
    cfg = SimulationConfig.from_dict(json.loads(paths["simulation_config"].read_text()))
    assert cfg == demo.config
    again = simulate(cfg)
    np.testing.assert_array_equal(_stack(again.dataset.expression), _stack(demo.dataset.expression))
    ref = paths["expression_reference"].read_text().splitlines()
    assert ref[0].split(",")[:2] == ["48", "40"] and len(ref) == 1 + 40 * 49

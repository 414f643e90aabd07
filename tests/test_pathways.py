"""Pathway analysis (methods A.6, G): influence scores, permutation and module tests, gseapy, CLI, job."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dash_core.io.errors import DashInputError
from dash_core.pathways import (
    ENRICH_COLUMNS,
    GSEA_COLUMNS,
    AnalysisCancelled,
    GseaConfig,
    InfluenceConfig,
    PathwayConfig,
    benjamini_hochberg,
    bonferroni,
    enrich_genes,
    expand_gene_scores,
    gsea_prerank,
    influence_scores,
    module_test,
    permutation_statistics,
    permutation_test,
    read_pathway_results,
    run_pathways_job,
    top_regulators,
    top_targets,
)

SPEC_COLUMNS = ["pathway", "size", "n_in_data", "score", "z", "p_perm", "p_corrected", "p_norm", "p_bonferroni",
                "q_bh", "significant", "genes"]


# ----------------------------------------------------------------------------- a tiny network with a known answer
def _hub_model(n: int = 6, hidden: int = 8):
    """PHOENIX model where gene 0 is a hub, gene 1 a weak regulator and all other genes have no outgoing effect.

    Gene n-1 has large input weights, but its input columns are masked to zero.
    """
    from dash_core.models import ModelConfig, build_model

    m = build_model(n, ModelConfig(hidden=hidden), seed=0)
    with torch.no_grad():
        for lin in (m.sums_in, m.prods_in):
            lin.weight.zero_()
        m.sums_in.weight[:, 0] = 2.0
        m.sums_in.weight[0, 1] = 0.3
        m.sums_in.weight[:, n - 1] = 3.0
        m.prods_in.weight[:, n - 1] = 3.0
        m.sums_in.mask[:, n - 1] = 0.0
        m.prods_in.mask[:, n - 1] = 0.0
        m.sums_out.weight.fill_(0.25)  # every hidden unit feeds every gene: the answer does not hang on a random C
        m.g.fill_(1.0)
    return m.eval()


@pytest.fixture(scope="module")
def hub_influence():
    return influence_scores(_hub_model(), [f"G{i}" for i in range(6)],
                            InfluenceConfig(n_samples=64, seed=1, device="cpu"))


def test_hub_is_influential_and_masked_gene_is_not(hub_influence):
    s = hub_influence.scores
    assert list(s.index) == [f"G{i}" for i in range(6)] and s.name == "influence"
    assert s["G0"] > 1e-2  # hub
    assert s["G1"] > 1e-4 and s["G0"] > 10 * s["G1"]  # weak regulator
    assert s["G5"] < 1e-6  # masked input columns: no outgoing effect despite large stored weights
    assert all(s[f"G{i}"] < 1e-6 for i in (2, 3, 4))
    assert s.idxmax() == "G0"
    # matrix: regulator x target, zero diagonal, rows average to the scores
    m = hub_influence.matrix
    assert m.shape == (6, 6) and np.all(np.diag(m) == 0)
    np.testing.assert_allclose(m.sum(1) / 5, s.to_numpy())


def test_influence_is_seeded_and_independent_of_batching(hub_influence):
    model = _hub_model()
    genes = [f"G{i}" for i in range(6)]
    one_per_batch = influence_scores(model, genes, InfluenceConfig(n_samples=64, seed=1, device="cpu",
                                                                   max_batch_rows=64))
    np.testing.assert_allclose(one_per_batch.scores.to_numpy(), hub_influence.scores.to_numpy(), rtol=1e-4,
                               atol=1e-7)
    other_seed = influence_scores(model, genes, InfluenceConfig(n_samples=64, seed=2, device="cpu"))
    assert not np.allclose(other_seed.scores.to_numpy(), hub_influence.scores.to_numpy())
    unit = influence_scores(model, genes, InfluenceConfig(n_samples=64, seed=1, start="unit", device="cpu"))
    assert unit.scores.idxmax() == "G0" and unit.scores["G5"] < 1e-6
    assert not np.isclose(unit.scores["G0"], hub_influence.scores["G0"])


def test_influence_progress_cancel_and_bad_config():
    model = _hub_model()
    seen = []
    influence_scores(model, None, InfluenceConfig(n_samples=8, max_batch_rows=16, device="cpu"),
                     progress=lambda f, msg: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 3  # 2 genes per batch, 6 genes
    with pytest.raises(AnalysisCancelled):
        influence_scores(model, None, InfluenceConfig(n_samples=8, device="cpu"), should_stop=lambda: True)
    with pytest.raises(DashInputError):
        influence_scores(model, None, InfluenceConfig(n_samples=0))
    with pytest.raises(DashInputError):
        influence_scores(model, ["a", "b"], InfluenceConfig(n_samples=4))


# ----------------------------------------------------------------------------- statistics by hand
def test_permutation_statistics_hand_case():
    from scipy.stats import norm

    observed = np.array([3.0, 1.0, 2.0])
    null = np.array([[1.0, 1.0, 2.0], [2.0, 1.0, 2.0], [3.0, 0.0, 2.0], [4.0, 2.0, 2.0]])  # (B=4, m=3)
    st = permutation_statistics(observed, null)
    # pathway 0: null 1,2,3,4 -> mean 2.5, population sd sqrt(1.25)
    assert st["null_mean"][0] == pytest.approx(2.5)
    assert st["z"][0] == pytest.approx(0.5 / np.sqrt(1.25))
    assert st["p_perm"][0] == pytest.approx(1 / 4)  # only 4 > 3
    assert st["p_corrected"][0] == pytest.approx((1 + 2) / (1 + 4))  # 3 and 4 >= 3
    assert st["p_norm"][0] == pytest.approx(norm.sf(0.5 / np.sqrt(1.25)))
    # pathway 1: null 1,1,0,2 -> mean 1 = observed: z = 0, p_norm = 1/2
    assert st["z"][1] == pytest.approx(0.0) and st["p_norm"][1] == pytest.approx(0.5)
    assert st["p_perm"][1] == pytest.approx(1 / 4) and st["p_corrected"][1] == pytest.approx(4 / 5)
    # pathway 2: constant null -> sd 0 -> z = 0 by definition
    assert st["z"][2] == 0.0 and st["p_perm"][2] == 0.0 and st["p_corrected"][2] == 1.0


def test_bonferroni_and_benjamini_hochberg_hand_values():
    p = np.array([0.01, 0.04, 0.03, 0.2])
    np.testing.assert_allclose(bonferroni(p), [0.04, 0.16, 0.12, 0.8])
    np.testing.assert_allclose(bonferroni([0.3, 0.5]), [0.6, 1.0])  # capped at 1
    np.testing.assert_allclose(bonferroni([0.01], m=10), [0.1])
    # sorted 0.01, 0.03, 0.04, 0.2 -> *4/rank = 0.04, 0.06, 0.0533, 0.2 -> running min from the top
    np.testing.assert_allclose(benjamini_hochberg(p), [0.04, 0.16 / 3, 0.16 / 3, 0.2])
    np.testing.assert_allclose(benjamini_hochberg([0.5, 0.5]), [0.5, 0.5])
    assert benjamini_hochberg([]).size == 0


def test_permutation_test_small_case_against_the_exact_null():
    # universe U = A, B, C, D (E is in no set and must not enter the null)
    infl = pd.Series({"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0, "E": 100.0})
    sets = {"ONE": ["A"], "ALL": ["A", "B", "C", "D"], "NONE": ["X", "Y"]}
    t = permutation_test(infl, sets, n_permutations=4000, seed=0).set_index("pathway")
    assert "NONE" not in t.index  # no modelled gene
    one = t.loc["ONE"]
    # the null of a one-gene set is one of 4, 3, 2, 1 uniformly: mean 2.5, sd sqrt(1.25)
    assert one["null_mean"] == pytest.approx(2.5, abs=0.06)
    assert one["z"] == pytest.approx(1.5 / np.sqrt(1.25), abs=0.06)
    assert one["p_perm"] == 0.0  # nothing exceeds the maximum
    assert one["p_corrected"] == pytest.approx(0.25, abs=0.03)
    assert one["p_bonferroni"] == pytest.approx(min(1.0, 2 * one["p_norm"]))  # m = 2 tested pathways
    # a set covering the whole universe has a constant null
    assert t.loc["ALL", "z"] == 0.0 and t.loc["ALL", "score"] == pytest.approx(10.0)
    assert t.loc["ALL", "p_corrected"] == 1.0 and t.loc["ALL", "genes"] == "A;B;C;D"
    # seeded
    t2 = permutation_test(infl, sets, n_permutations=4000, seed=0).set_index("pathway")
    pd.testing.assert_frame_equal(t, t2)


def test_multi_symbol_names_are_split_and_averaged():
    s = expand_gene_scores(pd.Series({"A /// B": 2.0, "A": 4.0, "C": 1.0}))
    assert s.to_dict() == {"A": 3.0, "B": 2.0, "C": 1.0}
    t = permutation_test(pd.Series({"A /// B": 2.0, "A": 4.0, "C": 1.0}), {"S": ["A", "B"], "T": ["C"]},
                         n_permutations=20)
    assert t.set_index("pathway").loc["S", "score"] == pytest.approx(5.0)


def test_planted_module_comes_first_and_is_significant():
    rng = np.random.default_rng(0)
    genes = [f"g{i}" for i in range(60)]
    infl = pd.Series(rng.exponential(0.1, size=60), index=genes)
    module = genes[:6]
    infl[module] = 3.0 + rng.random(6)
    others = genes[6:]
    sets = {"MODULE": module}
    for k in range(8):
        sets[f"DECOY_{k}"] = list(rng.choice(others, size=6, replace=False))
    sets["HALF"] = module[:2] + others[:4]
    t = permutation_test(infl, sets, n_permutations=500, seed=1)
    assert list(t.columns[:12]) == SPEC_COLUMNS
    assert t.iloc[0]["pathway"] == "MODULE"
    assert bool(t.iloc[0]["significant"]) and t.iloc[0]["p_bonferroni"] < 0.05
    assert t.iloc[0]["p_perm"] == 0.0 and t.iloc[0]["q_bh"] < 0.05
    decoys = t[t["pathway"].str.startswith("DECOY")]
    assert not decoys["significant"].any()
    assert t["z"].is_monotonic_decreasing
    assert t.iloc[0]["genes"].split(";")[0] == infl[module].idxmax()


def test_permutation_test_input_errors():
    infl = pd.Series({"A": 1.0, "B": 2.0})
    with pytest.raises(DashInputError, match="same symbols"):
        permutation_test(infl, {"S": ["x", "y"]})
    with pytest.raises(DashInputError, match="at least 1"):
        permutation_test(infl, {"S": ["A"]}, n_permutations=0)
    with pytest.raises(DashInputError, match="NaN"):
        permutation_test(pd.Series({"A": np.nan, "B": 1.0}), {"S": ["A"]})


def test_module_test_finds_a_planted_regulon():
    rng = np.random.default_rng(3)
    n = 30
    genes = [f"g{i}" for i in range(n)]
    m = rng.random((n, n)) * 0.01
    m[0, 1:5] = 1.0  # g0 drives g1..g4
    np.fill_diagonal(m, 0.0)
    sets = {"REGULON_g0": genes[:5]}
    for k in range(6):
        sets[f"RANDOM_{k}"] = list(rng.choice(genes[5:], size=5, replace=False))
    t = module_test(m, genes, sets, n_permutations=300, seed=0)
    assert t.iloc[0]["pathway"] == "REGULON_g0" and bool(t.iloc[0]["significant"])
    within = m[:5, :5].sum()  # g0 -> g1..g4 (4.0) plus the small entries among the five
    assert t.iloc[0]["coherence"] == pytest.approx(within / m[:5].sum(), rel=1e-9)
    assert t.iloc[0]["within"] == pytest.approx(within) and t.iloc[0]["outgoing"] == pytest.approx(m[:5].sum())
    assert not t[t["pathway"].str.startswith("RANDOM")]["significant"].any()
    with pytest.raises(DashInputError):
        module_test(m, genes, {"S": ["g1"]})  # a one-gene set cannot be tested


def test_top_regulators_and_targets():
    infl = pd.Series({"a": 0.5, "b": 0.0, "c": 2.0})
    assert top_regulators(infl, 5) == ["c", "a"]  # zero scores are never chosen
    e = np.array([[0.0, 5.0, 1.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]])  # 9 is the diagonal: ignored
    assert top_targets(e, ["a", "b", "c"], 2) == ["b", "c"]
    assert top_targets(e, ["a", "b", "c"], 1) == ["b"]


# ----------------------------------------------------------------------------- gseapy, offline
@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(5)
    genes = [f"G{i:02d}" for i in range(40)]
    infl = pd.Series(rng.exponential(0.05, size=40), index=genes)
    infl[genes[:5]] = 2.0 + rng.random(5)
    sets = {"MODULE": genes[:5], "LOW_A": genes[20:25], "LOW_B": genes[30:36], "TINY": genes[10:11]}
    return infl, sets, genes


def test_gsea_prerank_offline_small_sets(planted):
    pytest.importorskip("gseapy")
    infl, sets, _ = planted
    t = gsea_prerank(infl, sets, GseaConfig(permutation_num=200, seed=1))
    assert list(t.columns) == GSEA_COLUMNS
    assert t.iloc[0]["pathway"] == "MODULE" and t.iloc[0]["nes"] > 0 and bool(t.iloc[0]["positive"])
    assert "TINY" not in set(t["pathway"])  # below the automatic min_size (2)
    assert set(t["pathway"]) == {"MODULE", "LOW_A", "LOW_B"}
    # explicit min_size larger than every set: empty result and a warning, no gseapy error
    from dash_core.io.errors import ValidationReport

    rep = ValidationReport()
    empty = gsea_prerank(infl, sets, GseaConfig(min_size=50, permutation_num=20), report=rep)
    assert empty.empty and list(empty.columns) == GSEA_COLUMNS and rep.warnings
    ranks = gsea_prerank(infl, sets, GseaConfig(permutation_num=100, ranking="rank"))
    assert ranks.iloc[0]["pathway"] == "MODULE"


def test_enrich_offline_with_background(planted):
    pytest.importorskip("gseapy")
    infl, sets, genes = planted
    t = enrich_genes(top_regulators(infl, 5), sets, genes)
    assert list(t.columns) == ENRICH_COLUMNS
    assert t.iloc[0]["pathway"] == "MODULE" and t.iloc[0]["n_overlap"] == 5 and t.iloc[0]["p"] < 1e-4
    none = enrich_genes(["not-a-gene"], sets, genes)
    assert none.empty and list(none.columns) == ENRICH_COLUMNS


def test_gseapy_never_gets_a_library_name(planted):
    infl, _, genes = planted
    with pytest.raises(DashInputError, match="offline"):
        gsea_prerank(infl, "KEGG_2021_Human")
    with pytest.raises(DashInputError, match="offline"):
        enrich_genes(genes[:3], "GO_Biological_Process_2023", genes)


# ----------------------------------------------------------------------------- a tiny trained run: CLI and job
@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_sim):
    from dash_core.experiment import RunConfig, run_experiment, save_run
    from dash_core.io.gmt import write_gmt
    from dash_core.train import TrainConfig

    base = tmp_path_factory.mktemp("pw")
    cfg = RunConfig(train=TrainConfig(max_epochs=2, device="cpu"), seed=0)
    result = run_experiment(tiny_sim.dataset, cfg)
    run = base / "run"
    save_run(result, run)
    gmt = write_gmt(tiny_sim.gene_sets, base / "sets.gmt")
    return run, gmt, list(tiny_sim.dataset.genes)


def test_cli_pathways_on_a_trained_run(tiny_run, tmp_path, capsys):
    from dash_core.cli import main

    run, gmt, genes = tiny_run
    out = tmp_path / "out"
    rc = main(["pathways", "--run", str(run), "--gene-sets", str(gmt), "--samples", "8", "--permutations", "60",
               "--gsea-permutations", "20", "--top-k", "4", "--seed", "3", "--out", str(out), "--quiet"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "permutation test" in err and "wrote" in err
    t = pd.read_csv(out / "pathways.csv")
    assert list(t.columns[:12]) == SPEC_COLUMNS and len(t) > 0
    infl = pd.read_csv(out / "influence.csv")
    assert list(infl.columns) == ["gene", "influence"] and list(infl["gene"]) == genes
    assert (infl["influence"] >= 0).all()
    for name in ("gsea_prerank", "enrich_regulators", "enrich_targets", "modules", "gene_set_coverage"):
        assert (out / f"{name}.csv").is_file(), name
    back = read_pathway_results(out)
    assert set(back) >= {"pathways", "modules", "influence", "gsea_prerank"}
    pd.testing.assert_frame_equal(back["pathways"][SPEC_COLUMNS[:11]], t[SPEC_COLUMNS[:11]])
    meta = json.loads((out / "pathway_config.json").read_text())
    assert meta["config"]["influence"]["n_samples"] == 8 and meta["config"]["n_permutations"] == 60
    assert meta["config"]["influence"]["solver"]["method"] == "rk4"  # the run's training solver

    rc = main(["pathways", "--run", str(tmp_path), "--gene-sets", str(gmt), "--out", str(tmp_path / "x"),
               "--no-gsea", "--quiet"])
    assert rc == 2 and "model.pt" in capsys.readouterr().err


class _Reporter:
    def __init__(self, stop_after: int | None = None):
        self.events: list[tuple[float, str]] = []
        self.stop_after = stop_after

    def progress(self, fraction, message="", **values):
        self.events.append((fraction, message))

    def should_stop(self):
        return self.stop_after is not None and len(self.events) >= self.stop_after


def test_job_kind_runs_and_cancels(tiny_run, tmp_path):
    run, gmt, _ = tiny_run
    params = {"runs": [{"run_id": "r1", "label": "first", "path": str(run)},
                       {"run_id": "r/2", "label": "second", "path": str(run)}],
              "gene_sets": str(gmt),
              "config": PathwayConfig(influence=InfluenceConfig(n_samples=6), n_permutations=40,
                                      run_gsea=False).to_dict()}
    rep = _Reporter()
    summary = run_pathways_job(params, tmp_path / "job", rep)
    assert summary["n_runs"] == 2 and set(summary["runs"]) == {"r1", "r/2"}
    listing = json.loads((tmp_path / "job" / "pathway_runs.json").read_text())
    assert [e["label"] for e in listing] == ["first", "second"]
    assert all((Path(e["folder"]) / "pathways.csv").is_file() for e in listing)
    assert Path(listing[1]["folder"]).name == "r_2"  # unsafe characters replaced
    assert (tmp_path / "job" / "gene_sets.gmt").is_file()
    fr = [f for f, _ in rep.events]
    assert fr == sorted(fr) and fr[-1] == 1.0
    stopped = run_pathways_job(params, tmp_path / "job2", _Reporter(stop_after=1))  # during the first run
    assert stopped.get("cancelled") and stopped["n_runs"] == 0
    assert json.loads((tmp_path / "job2" / "pathway_runs.json").read_text()) == []
    partial = run_pathways_job(params, tmp_path / "job4", _Reporter(stop_after=2))  # after the first run
    assert partial.get("cancelled") and partial["n_runs"] == 1 and list(partial["runs"]) == ["r1"]
    with pytest.raises(DashInputError):
        run_pathways_job({"gene_sets": str(gmt)}, tmp_path / "job3", _Reporter())


def test_job_kind_is_registered():
    jobs = pytest.importorskip("dash_core.runs.jobs")
    jobs.load_job_kinds()
    assert "pathways" in jobs.JOB_KINDS
    assert jobs.JOB_KINDS.get("pathways").obj is run_pathways_job


# ----------------------------------------------------------------------------- figures
def test_pathway_figures():
    from dash_core.plots.pathways import (
        gene_influence_figure,
        gsea_figure,
        influence_rank_figure,
        pathway_bar_figure,
        pathway_comparison_figure,
    )

    t = pd.DataFrame({"pathway": [f"P{i}" for i in range(30)], "z": np.linspace(5, -2, 30),
                      "significant": [True, True] + [False] * 28, "p_norm": 0.5, "n_in_data": 4})
    fig = pathway_bar_figure(t, top=20)
    bar = fig.data[0]
    assert len(bar.y) == 20 and bar.y[-1] == "P0"  # largest at the top
    assert list(bar.text[-2:]) == ["*", "*"] and set(bar.text[:-2]) == {""}
    cmp = pathway_comparison_figure({"run A": t, "run B": t.iloc[::-1]}, top=5)
    assert len(cmp.data) == 2 and all(len(d.y) == 5 for d in cmp.data)
    infl = pd.Series({"a": 3.0, "b": 1.0, "c": 0.0, "d": 2.0})
    gfig = gene_influence_figure(infl, ["b", "a", "zz"])
    assert list(gfig.data[0].y) == ["b", "a"]
    rfig = influence_rank_figure(infl, ["a"])
    assert len(rfig.data) == 2 and list(rfig.data[1].text) == ["a"]
    g = pd.DataFrame({"pathway": ["X", "Y"], "nes": [1.5, -1.0], "q_fdr": [0.1, 0.5]})
    assert list(gsea_figure(g).data[0].y) == ["X"]
    assert pathway_bar_figure(t.iloc[:0]).layout.annotations


def test_demo_gene_sets_are_found_by_the_matching_test(demo_sim):
    """Known answer on the simulated demo: influence finds co-regulation programs, the module test finds
    regulons, and neither finds a random decoy (Bonferroni, normal approximation)."""
    from dash_core.experiment import RunConfig, run_experiment
    from dash_core.pathways import PathwayConfig, analyze_model
    from dash_core.train import TrainConfig

    torch.manual_seed(0)
    res = run_experiment(demo_sim.dataset, RunConfig(strategy="dash", train=TrainConfig(max_epochs=40, device="cpu")))
    out = analyze_model(res.model, list(demo_sim.dataset.genes), demo_sim.gene_sets, PathwayConfig(run_gsea=False))
    by_influence = out.pathways.loc[out.pathways["significant"], "pathway"].tolist()
    by_module = out.modules.loc[out.modules["significant"], "pathway"].tolist()
    assert len(by_influence) >= 4 and all(p.startswith("PROGRAM_") for p in by_influence), by_influence
    assert by_module and all(p.startswith("REGULON_") for p in by_module), by_module

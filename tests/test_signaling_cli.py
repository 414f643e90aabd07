"""The ``signaling`` command: demo, simulate, train, selfprune, and bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from dash_core.io.errors import DashInputError
from dash_core.signaling.cli import register
from dash_core.signaling.data import load_signaling_data
from dash_core.signaling.synthetic import DEMO_FILES, write_demo

ROOT = Path(__file__).resolve().parents[1]
ASSET = ROOT / "assets" / "signaling_demo"
LEMBAS = ROOT.parent / "shared" / "data" / "lembas"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_bundled_demo_matches_generator(tmp_path):
    paths = write_demo(tmp_path)
    for role, name in DEMO_FILES.items():
        shipped = ASSET / name
        assert shipped.exists(), f"assets/signaling_demo/{name} is missing; regenerate with `signaling demo`"
        assert shipped.stat().st_size < 20_000
        if role in ("pkn", "annotation"):
            assert shipped.read_text() == paths[role].read_text(), name
        else:  # simulated numbers: equal up to float32 round-off across CPUs
            a = pd.read_csv(shipped, sep="\t")
            b = pd.read_csv(paths[role], sep="\t")
            assert a.shape == b.shape and list(a.columns) == list(b.columns)
            num = a.select_dtypes("number").columns
            assert np.allclose(a[num].to_numpy(), b[num].to_numpy(), rtol=1e-4, atol=1e-6), name
    data = load_signaling_data(ASSET / "pkn.tsv", ASSET / "ligands.tsv", ASSET / "tfs.tsv")
    assert data.report.ok and not data.report.warnings
    assert data.pkn.n_nodes == 40 and data.ligands.shape == (60, 6) and data.tfs.shape == (60, 8)


def test_demo_simulate_and_train(tmp_path):
    assert _run(["signaling", "demo", "--out", str(tmp_path / "demo")]) == 0
    d = tmp_path / "demo"
    out = tmp_path / "run"
    rc = _run(["signaling", "train", "--pkn", str(d / "pkn.tsv"), "--ligands", str(d / "ligands.tsv"),
               "--tfs", str(d / "tfs.tsv"), "--preset", "self_prune", "--epochs", "3", "--test-size", "5",
               "--device", "cpu", "--quiet", "--out", str(out)])
    assert rc == 0
    for name in ("model.pt", "config.json", "history.csv", "metrics.json", "predictions.csv", "edges.csv"):
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_test"] == 5 and len(metrics["test_conditions"]) == 5 and -1 <= metrics["test_pearson"] <= 1
    assert len(pd.read_csv(out / "history.csv")) == 3
    state = torch.load(out / "model.pt", weights_only=True)
    assert state["weight"].shape == (40, 40)
    cfg = json.loads((out / "config.json").read_text())["config"]
    assert cfg["epochs"] == 3 and cfg["loss_variant"] == "self_prune"
    # start from the saved settings
    rc = _run(["signaling", "train", "--pkn", str(d / "pkn.tsv"), "--ligands", str(d / "ligands.tsv"),
               "--tfs", str(d / "tfs.tsv"), "--config", str(out / "config.json"), "--epochs", "2", "--quiet",
               "--out", str(tmp_path / "run2")])
    assert rc == 0 and json.loads((tmp_path / "run2" / "config.json").read_text())["config"]["test_size"] == 5

    sim = tmp_path / "sim"
    assert _run(["signaling", "simulate", "--pkn", str(d / "pkn.tsv"), "--params", str(d / "true_parameters.tsv"),
                 "--samples", "12", "--out", str(sim)]) == 0
    tfs = pd.read_csv(sim / "tfs.tsv", sep="\t", index_col=0)
    assert tfs.shape == (12, 8)
    assert _run(["signaling", "simulate", "--nodes", "20", "--edges", "40", "--n-ligands", "3", "--n-tfs", "4",
                 "--samples", "5", "--out", str(tmp_path / "rand")]) == 0
    assert pd.read_csv(tmp_path / "rand" / "ligands.tsv", sep="\t", index_col=0).shape == (5, 3)


def test_selfprune_command(tmp_path):
    paths = write_demo(tmp_path / "demo")
    out = tmp_path / "sp"
    argv = ["signaling", "selfprune", "--pkn", str(paths["pkn"]), "--ligands", str(paths["ligands"]),
            "--tfs", str(paths["tfs"]), "--spurious", "5", "--l2", "1e-6,1e-4", "--seeds", "1", "--epochs", "2",
            "--checkpoints", "2", "--device", "cpu", "--quiet", "--out", str(out)]
    assert _run(argv) == 0
    table = pd.read_csv(out / "selfprune.csv")
    assert table["l2"].tolist() == [1e-6, 1e-4] and table["seed"].tolist() == [0, 0]
    for col in ("share_spurious_below_median", "share_pkn_below_median", "ks_statistic", "ks_pvalue", "test_pearson"):
        assert col in table
    for fig in ("readout_heatmap.html", "weight_ecdf.html", "pruning_curves.html", "checkpoint_shares.html"):
        assert (out / fig).exists(), fig
    before = (out / "selfprune.csv").read_text()
    assert _run(argv) == 0  # resume: nothing to do, same results
    assert (out / "selfprune.csv").read_text() == before


def test_bad_input_raises_dash_input_error(tmp_path):
    paths = write_demo(tmp_path / "demo")
    with pytest.raises(DashInputError, match="does not exist"):
        _run(["signaling", "train", "--pkn", str(tmp_path / "missing.tsv"), "--ligands", str(paths["ligands"]),
              "--tfs", str(paths["tfs"]), "--out", str(tmp_path / "x")])
    with pytest.raises(DashInputError, match="Give both --pkn and --params"):
        _run(["signaling", "simulate", "--pkn", str(paths["pkn"]), "--out", str(tmp_path / "y")])
    with pytest.raises(SystemExit):
        _run(["signaling", "selfprune", "--pkn", "a", "--ligands", "b", "--tfs", "c", "--l2", "x", "--out", "z"])


@pytest.mark.skipif(not (LEMBAS / "synthetic").exists(), reason="LEMBAS data not available")
def test_simulate_from_kegg_files(tmp_path):
    d = LEMBAS / "synthetic"
    assert _run(["signaling", "simulate", "--pkn", str(d / "KEGGnet-Model.tsv"), "--params", str(d / "equationParams.txt"),
                 "--samples", "4", "--out", str(tmp_path)]) == 0
    assert pd.read_csv(tmp_path / "tfs.tsv", sep="\t", index_col=0).shape == (4, 55)


def test_cv_command(tmp_path, capsys):
    paths = write_demo(tmp_path / "demo", n_samples=8)
    out = tmp_path / "cv"

    def argv(folds: str) -> list[str]:
        return ["signaling", "cv", "--pkn", str(paths["pkn"]), "--ligands", str(paths["ligands"]), "--tfs", str(paths["tfs"]),
                "--preset", "self_prune", "--folds", folds, "--epochs", "2", "--max-steps", "30", "--device", "cpu",
                "--quiet", "--out", str(out)]

    assert _run(argv("4")) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["folds"] == 4 and summary["complete"] and -1 <= summary["pooled_pearson"] <= 1
    assert len(pd.read_csv(out / "cv.csv")) == 4
    err = capsys.readouterr().err
    assert "pooled Pearson r" in err and "training 4 now;" in err
    # resumed in the same folder: nothing left to train, and the message says why
    assert _run(argv("4")) == 0
    assert "training 0 now (4 already finished in" in capsys.readouterr().err
    with pytest.raises(DashInputError, match="folds"):
        _run(argv("1"))
    # --test-size has no meaning in cv (the folds are the held-out sets): refused with what to use instead
    with pytest.raises(DashInputError, match="not used by cv.*--folds loo"):
        _run(argv("4") + ["--test-size", "2"])


def test_fold_and_seed_lists_mix_numbers_and_ranges():
    """``--only``/``--seeds``: a count, a list, a range, or lists with ranges (LEMBAS's 20 seen-ligand folds of the
    macrophage data are ``0,2-6,9-22``); wrong forms get a message that says what to write."""
    from dash_core.signaling.cli import _seed_list

    assert _seed_list("3") == [0, 1, 2]
    assert _seed_list("0,2-4,9") == [0, 2, 3, 4, 9]
    assert _seed_list("12-14") == [12, 13, 14]
    assert _seed_list("1,1,2") == [1, 2]
    for bad, says in (("0", "at least 1"), ("x", "0,2-6,9-22"), ("5-2", "2-5"), ("1,-3", "0,2-6,9-22")):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            _seed_list(bad)


def test_test_size_count_and_ligands_per_condition_through_the_full_cli(tmp_path, capsys):
    """``--test-size 5`` is a count (the shared PHOENIX range is a fraction only, so the signaling option keeps its
    own parser through ``harden_numeric_options``); ``--ligands-per-condition 5`` sets exactly 5 ligands per condition."""
    from dash_core.cli import build_parser
    from dash_core.cli.args import harden_numeric_options

    parser = build_parser()
    harden_numeric_options(parser)
    base = ["signaling", "train", "--pkn", "p", "--ligands", "l", "--tfs", "t", "--out", str(tmp_path / "o")]
    assert parser.parse_args([*base, "--test-size", "5"]).test_size == 5
    assert parser.parse_args([*base, "--test-size", "0.2"]).test_size == 0.2
    for bad in ("2.5", "-1", "nan"):
        with pytest.raises(SystemExit):
            parser.parse_args([*base, "--test-size", bad])
        assert "--test-size" in capsys.readouterr().err

    d = LEMBAS / "synthetic"
    out = tmp_path / "k5"
    args = parser.parse_args(["signaling", "simulate", "--pkn", str(d / "KEGGnet-Model.tsv"), "--params",
                              str(d / "equationParams.txt"), "--samples", "30", "--ligands-per-condition", "5",
                              "--out", str(out)])
    assert args.func(args) == 0
    lig = pd.read_csv(out / "ligands.tsv", sep="\t", index_col=0)
    per_row = (lig.to_numpy() > 0).sum(axis=1)
    assert per_row[0] == 0 and (per_row[1:] == 5).all()
    with pytest.raises(SystemExit):
        parser.parse_args(["signaling", "simulate", "--ligands-per-condition", "0,2", "--out", str(out)])


def test_signaling_presets_are_a_described_registry():
    """Every signaling preset has a description and a citation (the CLI help lists them); the minibatch preset
    differs from the self-pruning study only in batch, peak learning rate and epochs."""
    from dash_core.signaling.config import PRESETS, preset

    assert {"package", "lembas_cv", "self_prune", "self_prune_hc", "lembas_synthetic"} <= set(PRESETS)
    for entry in PRESETS.entries():
        assert entry.description and entry.citation
    fast, study = preset("lembas_synthetic").to_dict(), preset("self_prune").to_dict()
    changed = {k for k in study if fast[k] != study[k]}
    assert changed == {"batch_size", "lr_max", "epochs"}
    assert (fast["batch_size"], fast["lr_max"], fast["epochs"]) == (25, 2e-3, 1000)
    assert preset("lembas_synthetic", epochs=3).epochs == 3
    with pytest.raises(DashInputError, match="Unknown preset"):
        preset("nope")

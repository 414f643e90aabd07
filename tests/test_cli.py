"""Command line: simulate -> train end to end, outputs and error messages."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from dash_core.cli import main


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim")
    assert main(["simulate", "--genes", "20", "--trajectories", "8", "--noise", "0.025", "--seed", "1",
                 "--out", str(out)]) == 0
    return out


def test_simulate_writes_files(sim_dir):
    for name in ["expression.csv", "test_expression.csv", "prior.csv", "truth.csv", "ppi.csv"]:
        assert (sim_dir / name).exists(), name
    expr = pd.read_csv(sim_dir / "expression.csv")
    assert list(expr.columns[:2]) == ["trajectory", "time"] and expr["trajectory"].nunique() == 8


def test_train_writes_outputs(sim_dir, tmp_path):
    out = tmp_path / "run"
    rc = main(["train", "--expression", str(sim_dir / "expression.csv"), "--prior", str(sim_dir / "prior.csv"),
               "--truth", str(sim_dir / "truth.csv"), "--test-expression", str(sim_dir / "test_expression.csv"),
               "--model", "phoenix", "--strategy", "none", "--lambda-data", "0.99", "--hidden", "6",
               "--max-epochs", "3", "--seed", "0", "--device", "auto", "--out", str(out), "--quiet"])
    assert rc == 0
    metrics = json.loads((out / "metrics.json").read_text())
    from dash_core.experiment import METRIC_KEYS

    assert list(metrics) == METRIC_KEYS
    assert metrics["epochs"] == 3 and metrics["auroc"] is not None and metrics["prior_auroc"] is not None
    assert metrics["test_mse_persistence"] > 0 and metrics["did_not_learn"] is True
    edges = pd.read_csv(out / "edges.csv")
    assert list(edges.columns) == ["source", "target", "weight"]
    assert len(pd.read_csv(out / "history.csv")) == 3
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["train"]["lambda_data"] == 0.99 and cfg["model"]["hidden"] == 6
    assert (out / "model.pt").exists()


def test_train_new_model_options_reach_the_config_and_warn(sim_dir, tmp_path, capsys):
    out = tmp_path / "run3"
    assert main(["train", "--expression", str(sim_dir / "expression.csv"), "--prior", str(sim_dir / "prior.csv"),
                 "--strategy", "dash", "--hidden", "4", "--max-epochs", "4", "--multiplier-grad", "relu",
                 "--checkpoint-min-sparsity", "0.99", "--out", str(out), "--quiet"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["multiplier_grad"] == "relu" and cfg["train"]["checkpoint_min_sparsity"] == 0.99
    assert cfg["pruning"]["normalize_prior_term"] is False  # the released code's DASH variant is the default
    assert "never reached --checkpoint-min-sparsity 0.99" in capsys.readouterr().err


def test_train_without_truth_or_test_gives_null_metrics(sim_dir, tmp_path):
    out = tmp_path / "run2"
    assert main(["train", "--expression", str(sim_dir / "expression.csv"), "--prior", str(sim_dir / "prior.csv"),
                 "--hidden", "4", "--max-epochs", "1", "--out", str(out), "--quiet"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["auroc"] is None and m["balanced_accuracy"] is None and m["test_mse"] is None
    assert m["sparsity"] is not None


def test_bad_input_gives_message_not_traceback(tmp_path, sim_dir):
    bad = tmp_path / "bad.csv"
    bad.write_text("trajectory;time;a\n1;0;x\n")
    proc = subprocess.run([sys.executable, "-m", "dash_core", "train", "--expression", str(bad), "--prior",
                           str(sim_dir / "prior.csv"), "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr


def test_missing_file_and_bad_numbers_are_argument_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--expression", str(tmp_path / "nope.csv"), "--prior", "x", "--out", "o"])
    assert exc.value.code == 2
    assert "file not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["simulate", "--noise", "-1", "--out", str(tmp_path)])
    assert "must be a number >= 0" in capsys.readouterr().err


def test_lists_strategies_and_models(capsys):
    assert main(["strategies"]) == 0
    assert "none" in capsys.readouterr().out
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "phoenix" in out and "mlp" in out


def test_minmax_scale_uses_training_range_for_test_set(tmp_path):
    import argparse

    import numpy as np

    from dash_core.cli.args import load_data_from_args
    from dash_core.data import ExpressionData, Trajectory
    from dash_core.io import write_edges, write_expression_tidy

    train = ExpressionData(["a", "b"], [Trajectory("1", np.array([0, 1.0]), np.array([[0, 10.0], [5, 20]]))])
    test = ExpressionData(["a", "b"], [Trajectory("1", np.array([0, 1.0]), np.array([[10, 20.0], [0, 0]]))])
    write_expression_tidy(train, tmp_path / "e.csv")
    write_expression_tidy(test, tmp_path / "t.csv")
    write_edges(pd.DataFrame({"source": ["a"], "target": ["b"], "weight": [1.0]}), tmp_path / "p.csv")
    args = argparse.Namespace(expression=str(tmp_path / "e.csv"), prior=str(tmp_path / "p.csv"), genes=None, ppi=None,
                              truth=None, test_expression=str(tmp_path / "t.csv"), minmax_scale=True)
    ds = load_data_from_args(args)
    # training range is [0, 20]: train 5 -> 0.25, test 10 -> 0.5
    np.testing.assert_allclose(ds.expression.trajectories[0].values, [[0, 0.5], [0.25, 1.0]])
    np.testing.assert_allclose(ds.test_expression.trajectories[0].values, [[0.5, 1.0], [0, 0]])


def test_dataclass_options_explain_themselves():
    """`--help` of generated options carries the field's documentation, not only its default."""
    from dash_core.cli.args import field_docs
    from dash_core.pruning import PruningConfig

    docs = field_docs(PruningConfig)
    assert docs["lambda_ppi"] == docs["lambda_motif"] and "prior term" in docs["lambda_ppi"]
    assert "released code" in docs["normalize_prior_term"]
    assert docs["late_amount"].startswith("Amount pruned") and "``" not in docs["late_amount"]
    out = subprocess.run([sys.executable, "-m", "dash_core", "train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "Normalise the prior term" in " ".join(out.stdout.split())

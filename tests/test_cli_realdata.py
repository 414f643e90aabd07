"""CLI on real data: presets with explicit overrides, a validation series, AnnData, the did-not-learn warning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dash_core.cli import build_parser, main
from dash_core.cli.args import run_config_from_args

YEAST = Path(__file__).resolve().parents[1] / "assets" / "yeast_demo"


def test_preset_then_explicit_flags_override():
    args = build_parser().parse_args(["train", "--expression", str(YEAST / "pramila_500genes_1sample_24T.csv"),
                                      "--prior", str(YEAST / "edge_prior_matrix_pramila_500.csv"), "--out", "x",
                                      "--preset", "yeast", "--strategy", "dash", "--lambda-ppi", "0.3", "--lr", "0.01"])
    cfg = run_config_from_args(args)
    assert cfg.model.hidden == 120 and cfg.train.batch_size == 4                  # from the preset
    assert cfg.pruning.lambda_ppi == 0.3 and cfg.pruning.lambda_motif == 0.75      # flag wins, preset stays
    assert cfg.train.lr == 0.01


def test_presets_command_lists_citations(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in ("sim350", "breast", "yeast", "hema"):
        assert f"{name}:" in out
    assert "pruning.late_epoch=220" in out and "NeurIPS 2024" in out


def test_train_real_yeast_with_validation_series_warns_when_it_did_not_learn(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["train", "--expression", str(YEAST / "pramila_500genes_1sample_24T.csv"),
               "--val-expression", str(YEAST / "pramila_500genes_1VALsample_24T.csv"),
               "--prior", str(YEAST / "edge_prior_matrix_pramila_500.csv"),
               "--genes", str(YEAST / "pramila500_gene_names.csv"), "--preset", "yeast", "--hidden", "8",
               "--max-epochs", "2", "--out", str(out), "--quiet"])
    assert rc == 0
    err = capsys.readouterr().err
    m = json.loads((out / "metrics.json").read_text())
    assert m["val_mse_persistence"] > 0 and m["did_not_learn"] is True
    assert 'validation MSE: model' in err and '"no change"' in err
    assert "WARNING: this model did not learn" in err and "validation on the separate series" in err
    detail = json.loads((out / "metrics_detail.json").read_text())
    assert detail["validation_rule"] == "validation_series" and detail["batching"] == "pairs"


def test_train_from_h5ad(tmp_path):
    anndata = pytest.importorskip("anndata")
    import pandas as pd

    rng = np.random.default_rng(1)
    n = 200
    t = rng.random(n)
    X = np.c_[t, 1 - t, 0.5 + 0.1 * np.sin(6 * t)] + 0.01 * rng.standard_normal((n, 3))
    ad = anndata.AnnData(X=X, obs=pd.DataFrame({"pt": t}, index=[f"c{i}" for i in range(n)]),
                         var=pd.DataFrame(index=["A", "B", "C"]))
    ad.write_h5ad(tmp_path / "cells.h5ad")
    (tmp_path / "prior.csv").write_text("source,target\nA,B\nB,C\n")
    out = tmp_path / "run"
    rc = main(["train", "--expression", str(tmp_path / "cells.h5ad"), "--time-key", "pt", "--bins", "12",
               "--prior", str(tmp_path / "prior.csv"), "--hidden", "4", "--max-epochs", "2", "--out", str(out),
               "--quiet"])
    assert rc == 0
    assert (out / "genes.txt").read_text().split() == ["A", "B", "C"]
    assert main(["train", "--expression", str(tmp_path / "cells.h5ad"), "--prior", str(tmp_path / "prior.csv"),
                 "--out", str(out), "--quiet"]) == 2                    # no --time-key: a message, not a traceback

"""Job kinds ``signaling_train`` and ``selfprune`` called directly on the bundled demo (few epochs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dash_core.io.errors import DashInputError
from dash_core.signaling.jobs import (
    INPUT_DIR,
    TRAIN_FILES,
    selfprune_job,
    signaling_cv_job,
    signaling_train_job,
    study_config,
    training_config,
)

DEMO = Path(__file__).resolve().parents[1] / "assets" / "signaling_demo"


class FakeReporter:
    """Records progress and logs; asks to stop once ``should_stop`` has been called more than ``stop_after`` times."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.entries: list[tuple[float | None, str, dict]] = []
        self.logs: list[str] = []
        self.calls = 0
        self.stop_after = stop_after

    def progress(self, fraction, message="", **values):
        json.dumps(values)  # every value must be JSON-able
        self.entries.append((fraction, message, values))

    def should_stop(self) -> bool:
        self.calls += 1
        return self.stop_after is not None and self.calls > self.stop_after

    def log(self, text: str) -> None:
        self.logs.append(text)


def _params(epochs: int = 4, **config) -> dict:
    return {"data": {"pkn": str(DEMO / "pkn.tsv"), "ligands": str(DEMO / "ligands.tsv"), "tfs": str(DEMO / "tfs.tsv"),
                     "name": "demo"},
            "config": {"epochs": epochs, "device": "cpu", "test_size": 5, "eval_every": 2, **config}}


def test_kinds_are_registered():
    from dash_core.runs.jobs import JOB_KINDS, load_job_kinds

    assert load_job_kinds().get("dash_core.signaling.jobs") is None
    assert "signaling_train" in JOB_KINDS and "selfprune" in JOB_KINDS and "signaling_cv" in JOB_KINDS


def test_config_from_params():
    cfg = training_config({"preset": "self_prune", "config": {"epochs": 7, "lambda_l2": 1e-5}})
    assert (cfg.epochs, cfg.lambda_l2, cfg.loss_variant, cfg.output_bias) == (7, 1e-5, "self_prune", False)
    assert training_config({"preset": "package"}).loss_variant == "package"
    with pytest.raises(DashInputError, match="Unknown signaling setting"):
        training_config({"config": {"epoch": 3}})
    with pytest.raises(DashInputError, match="Unknown preset"):
        training_config({"preset": "fast"})
    study = study_config({"config": {"epochs": 3}, "study": {"n_spurious": 5, "l2_levels": [1e-4], "seeds": [2, 3]}})
    assert (study.n_spurious, study.l2_levels, study.seeds, study.train.epochs) == (5, (1e-4,), (2, 3), 3)
    with pytest.raises(DashInputError, match="Unknown self-pruning setting"):
        study_config({"study": {"spurious": 5}})


def test_train_job_writes_artifacts_and_reloads(tmp_path):
    from dash_core.signaling.train import load_checkpoint, predict

    rep = FakeReporter()
    summary = signaling_train_job(_params(6), tmp_path, rep)
    for name in TRAIN_FILES:
        assert (tmp_path / name).is_file(), name
    assert sorted(p.name for p in (tmp_path / INPUT_DIR).iterdir()) == ["ligands.tsv", "pkn.tsv", "tfs.tsv"]
    assert summary["epochs_done"] == 6 and summary["stopped"] is False
    assert (summary["n_nodes"], summary["n_edges"], summary["n_ligands"], summary["n_tfs"]) == (40, 91, 6, 8)
    m = summary["metrics"]
    assert m["n_test"] == 5 and m["n_train"] == 55
    assert 0.0 < m["test_mse"] < 1.0 and -1.0 <= m["test_pearson"] <= 1.0
    history = pd.read_csv(tmp_path / "history.csv")
    assert list(history["epoch"]) == list(range(1, 7))
    # progress: increasing fractions, epoch values, an ETA, ending at 1
    fractions = [f for f, _, _ in rep.entries if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    epochs = [v["epoch"] for _, _, v in rep.entries if "epoch" in v]
    assert epochs[0] == 1 and epochs[-1] == 6 and all("eta_seconds" in v for _, _, v in rep.entries if "epoch" in v)
    # the checkpoint reproduces the saved predictions
    pred = pd.read_csv(tmp_path / "predictions.csv", dtype={"condition": str}).set_index("condition")
    assert pred.shape == (60, 9) and (pred["split"] == "test").sum() == 5
    model, cfg = load_checkpoint(tmp_path)
    lig = pd.read_csv(DEMO / "ligands.tsv", sep="\t", index_col=0)
    again = predict(model, lig.to_numpy(dtype=np.float32))
    np.testing.assert_allclose(again, pred.drop(columns="split").to_numpy(), atol=1e-5)
    assert cfg.epochs == 6 and json.loads((tmp_path / "metrics.json").read_text())["test_conditions"]


def test_train_job_is_seeded(tmp_path):
    a = signaling_train_job(_params(3), tmp_path / "a", FakeReporter())
    b = signaling_train_job(_params(3), tmp_path / "b", FakeReporter())
    c = signaling_train_job(_params(3, seed=1), tmp_path / "c", FakeReporter())
    assert a["metrics"]["test_mse"] == pytest.approx(b["metrics"]["test_mse"], rel=1e-6)
    assert a["metrics"]["test_mse"] != pytest.approx(c["metrics"]["test_mse"], rel=1e-6)


def test_train_job_stops_and_keeps_model(tmp_path):
    rep = FakeReporter(stop_after=3)  # 1 check before training, then one per epoch
    summary = signaling_train_job(_params(40), tmp_path, rep)
    assert summary["stopped"] is True and summary["epochs_done"] == 3
    assert len(pd.read_csv(tmp_path / "history.csv")) == 3
    assert (tmp_path / "model.pt").is_file() and np.isfinite(summary["metrics"]["test_mse"])
    assert any("stopped by the user" in line for line in rep.logs)


def test_train_job_bad_input_is_a_user_error(tmp_path):
    params = _params(2)
    params["data"]["pkn"] = str(tmp_path / "missing.tsv")
    with pytest.raises(DashInputError, match="no longer exists"):
        signaling_train_job(params, tmp_path / "run", FakeReporter())
    bad = tmp_path / "bad.tsv"
    bad.write_text("source\ttarget\tstimulation\tinhibition\nL01\tP01\t2\t0\n")
    params["data"]["pkn"] = str(bad)
    with pytest.raises(DashInputError, match="not 0 or 1") as info:
        signaling_train_job(params, tmp_path / "run2", FakeReporter())
    assert str(tmp_path) not in str(info.value)  # the run folder is not in the message


def test_selfprune_job(tmp_path):
    rep = FakeReporter()
    params = {**_params(3), "study": {"n_spurious": 10, "l2_levels": [1e-6, 1e-4], "seeds": [0]}}
    summary = selfprune_job(params, tmp_path, rep)
    assert summary["n_models"] == 2 and summary["n_failed"] == 0 and summary["stopped"] is False
    assert [row["l2"] for row in summary["per_l2"]] == [1e-6, 1e-4]
    table = pd.read_csv(tmp_path / "selfprune.csv")
    assert set(table["n_spurious"]) == {10} and set(table["n_pkn_edges"]) == {91}
    assert (tmp_path / "selfprune_summary.csv").is_file()
    for l2 in ("1e-06", "0.0001"):
        edges = pd.read_csv(tmp_path / "models" / f"l2_{l2}_seed_0" / "edges.csv")
        assert int(edges["spurious"].sum()) == 10 and len(edges) == 101
    done = [v for _, _, v in rep.entries if "models_done" in v and "l2" in v]
    assert [v["models_done"] for v in done] == [1, 2] and all(0 <= v["share_spurious_below_median"] <= 100 for v in done)
    assert rep.entries[-1][0] == 1.0


def test_selfprune_job_stops_between_models(tmp_path):
    rep = FakeReporter(stop_after=1)  # allowed to start; the check after the first model asks to stop
    params = {**_params(2), "study": {"n_spurious": 5, "l2_levels": [1e-5], "seeds": [0, 1, 2]}}
    summary = selfprune_job(params, tmp_path, rep)
    assert summary["stopped"] is True and summary["n_models"] == 1 and summary["models_total"] == 3
    assert len(pd.read_csv(tmp_path / "selfprune.csv")) == 1
    assert (tmp_path / "selfprune_summary.csv").is_file()


def test_jobs_through_the_runner(tmp_path):
    from dash_core.runs.jobs import run_job
    from dash_core.runs.store import COMPLETED, RunStore

    store = RunStore(tmp_path / "home")
    rec = store.create_run("signaling_train", _params(2), label="tiny")
    assert run_job(store, rec.run_id) == COMPLETED
    done = store.get(rec.run_id)
    assert done.summary["epochs_done"] == 2 and (done.path / "model.pt").is_file()
    prog = store.progress(rec.run_id)
    assert {"epoch", "loss", "eta_seconds"} <= set(prog.columns)


def test_cv_job_reports_folds_and_stops_between_them(tmp_path):
    rep = FakeReporter()
    params = {**_params(2, max_steps=30), "preset": "self_prune", "cv": {"folds": 3}}
    summary = signaling_cv_job(params, tmp_path / "a", rep)
    assert summary["folds"] == 3 and summary["complete"] and summary["stopped"] is False
    assert summary["metrics"]["pooled_pearson"] == summary["pooled_pearson"]
    done = [v for _, _, v in rep.entries if "folds_done" in v]
    assert [v["folds_done"] for v in done] == [1, 2, 3]
    stopper = FakeReporter(stop_after=1)
    summary = signaling_cv_job(params, tmp_path / "b", stopper)
    assert summary["stopped"] is True and summary["folds"] == 1 and len(pd.read_csv(tmp_path / "b" / "cv.csv")) == 1
    with pytest.raises(DashInputError, match="cross-validation setting"):
        signaling_cv_job({**params, "cv": {"folds": 3, "bogus": 1}}, tmp_path / "c", FakeReporter())

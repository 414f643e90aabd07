"""Tests of dash_core.studies (datasets, inputs, table, sweeps, selection, paper_benchmark): lambda sweeps, point selection and the benchmark.

Runs use a tiny simulated network (16 genes, 6 trajectories), 2 epochs and the
always-registered strategy ``none`` (plus ``dash`` when it is registered), so
that the whole file stays well under a minute.
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from dash_core.experiment import METRIC_KEYS, RunConfig
from dash_core.integrate import SolverConfig
from dash_core.io.errors import DashInputError
from dash_core.pruning import STRATEGIES
from dash_core.runs.executors import ExecutorConfig
from dash_core.simulate import SimulationConfig, simulate, write_simulation
from dash_core.studies.datasets import DatasetSpec
from dash_core.studies.inputs import parse_grid, parse_seeds
from dash_core.studies.paper_benchmark import (
    PAPER_SIM350,
    Condition,
    benchmark_conditions,
    prepare_benchmark_data,
    run_benchmark,
    summarize_benchmark,
    summary_markdown,
)
from dash_core.studies.sweeps import pivot_sweep, run_sweep, sweep_jobs
from dash_core.studies.table import point_key
from dash_core.train import TrainConfig

TINY_TRAIN = TrainConfig(max_epochs=2, patience=0, device="cpu", prior_probes=64, prior_probe_batch=32,
                         solver=SolverConfig(method="euler", steps_per_unit=1.0))
TINY = RunConfig(train=TINY_TRAIN)


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sim")
    write_simulation(simulate(SimulationConfig.scaled(16, n_trajectories=6, n_test_trajectories=3, seed=1)), folder)
    return folder


@pytest.fixture
def spec(sim_dir):
    return DatasetSpec.from_simulation_dir(sim_dir)


def test_dataset_spec_files_and_simulation(sim_dir):
    cfg = SimulationConfig.scaled(16, n_trajectories=6, n_test_trajectories=3, seed=1)
    from_files, _ = DatasetSpec.from_simulation_dir(sim_dir).load()
    from_sim, _ = DatasetSpec(simulation=cfg.to_dict()).load()
    assert from_files.genes == from_sim.genes
    assert np.allclose(from_files.expression.trajectories[2].values, from_sim.expression.trajectories[2].values)
    assert np.allclose(from_files.truth_matrix(), from_sim.truth_matrix())
    assert np.allclose(from_files.test_expression_clean.trajectories[0].values,
                       from_sim.test_expression_clean.trajectories[0].values)
    with pytest.raises(DashInputError, match="expression file"):
        DatasetSpec()


# ------------------------------------------------------------------ parsing
def test_parse_grid_values_and_errors():
    assert parse_grid("0, 0.05,0.5,0.5") == (0.0, 0.05, 0.5)
    assert parse_grid("1") == (1.0,)
    for bad, words in [("", "empty"), ("0,,0.5", "item 2"), ("0.1,", "item 2"), ("0,abc", "not a number"),
                       ("0,1.5", "outside [0, 1]"), ("-0.1", "outside"), ("nan", "outside")]:
        with pytest.raises(DashInputError, match="--lambda-ppi-grid") as info:
            parse_grid(bad)
        assert words in str(info.value), (bad, str(info.value))


def test_parse_seeds_list_and_count():
    assert parse_seeds("0,1,1,4") == (0, 1, 4)
    assert parse_seeds("3", count_form=True) == (0, 1, 2)
    assert parse_seeds("3,5", count_form=True) == (3, 5)
    with pytest.raises(DashInputError, match="negative"):
        parse_seeds("-1")
    with pytest.raises(DashInputError, match="whole number"):
        parse_seeds("0,x")
    with pytest.raises(DashInputError, match="at least 1"):
        parse_seeds("0", count_form=True)


# ------------------------------------------------------------------ sweeps
def test_sweep_jobs_are_picklable_and_keyed(spec, tmp_path):
    import pickle

    jobs = sweep_jobs(spec, TINY, [0, 0.5], [0.05], strategy="none", seeds=(0, 1), out_dir=tmp_path)
    assert [j.key for j in jobs] == [point_key("none", lp, 0.05, s) for lp in (0, 0.5) for s in (0, 1)]
    assert jobs[0].key == "none_ppi0_motif0.05_seed0"
    back = pickle.loads(pickle.dumps(jobs[-1]))
    assert back.kwargs["config"]["pruning"]["lambda_ppi"] == 0.5 and back.kwargs["config"]["seed"] == 1
    with pytest.raises(DashInputError, match="Unknown strategy"):
        sweep_jobs(spec, TINY, [0], [0], strategy="no-such-strategy", out_dir=tmp_path)


def test_sweep_rows_interrupt_and_resume(spec, tmp_path):
    strategy = "dash" if "dash" in STRATEGIES else "none"
    seen = []
    stop_after = {"n": 2}

    def on_point(row, progress):
        seen.append((row["key"], progress.done, progress.total))

    # one run per job, so that the interruption falls between runs (a stacked job finishes its whole stack)
    df = run_sweep(spec, TINY, [0.0, 0.5], [0.05, 1.0], strategy=strategy, out_dir=tmp_path,
                   on_point=on_point, should_stop=lambda: len(seen) >= stop_after["n"],
                   executor=ExecutorConfig(stack_size=1))
    stored = pd.read_csv(tmp_path / "sweep.csv")
    assert len(stored) == 2 and set(stored["status"]) == {"ok"}
    assert (df["status"] == "cancelled").sum() == 2
    assert [s[1:] for s in seen] == [(1, 4), (2, 4)]

    seen.clear()
    stop_after["n"] = 99
    df = run_sweep(spec, TINY, [0.0, 0.5], [0.05, 1.0], strategy=strategy, out_dir=tmp_path, on_point=on_point)
    assert len(seen) == 2, "only the two missing points may run again"
    assert seen[0][1:] == (3, 4)
    stored = pd.read_csv(tmp_path / "sweep.csv")
    assert len(stored) == 4 and set(stored["status"]) == {"ok"} and len(df) == 4
    for col in [*METRIC_KEYS, "val_mse", "lambda_ppi", "lambda_motif", "seed", "strategy", "run_dir",
                "job_seconds", "test_mse_true"]:
        assert col in stored.columns, col
    assert stored["balanced_accuracy"].notna().all() and stored["val_mse"].gt(0).all()
    assert sorted(zip(stored["lambda_ppi"], stored["lambda_motif"], strict=True)) == [
        (0.0, 0.05), (0.0, 1.0), (0.5, 0.05), (0.5, 1.0)]
    run = tmp_path / "runs" / point_key(strategy, 0.5, 1.0, 0)
    assert (run / "metrics.json").exists() and (run / "model.pt").exists()
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["pruning"]["lambda_ppi"] == 0.5 and cfg["pruning"]["lambda_motif"] == 1.0

    # rows deleted from the table are run again, the others are not
    stored.iloc[1:].to_csv(tmp_path / "sweep.csv", index=False)
    seen.clear()
    run_sweep(spec, TINY, [0.0, 0.5], [0.05, 1.0], strategy=strategy, out_dir=tmp_path, on_point=on_point)
    assert [s[0] for s in seen] == [stored["key"].iloc[0]]

    # a different training setup may not resume into this folder
    other = dataclasses.replace(TINY, train=dataclasses.replace(TINY_TRAIN, lr=0.01))
    with pytest.raises(DashInputError, match="train.lr"):
        run_sweep(spec, other, [0.0], [0.05], strategy=strategy, out_dir=tmp_path)


def test_sweep_two_workers_same_numbers_as_in_process(spec, tmp_path):
    a = run_sweep(spec, TINY, [0.0, 0.5], [0.05], strategy="none", out_dir=tmp_path / "a",
                  executor=ExecutorConfig(workers=2, threads_per_job=1))
    b = run_sweep(spec, TINY, [0.0, 0.5], [0.05], strategy="none", out_dir=tmp_path / "b")
    assert list(a["status"]) == ["ok", "ok"]
    assert np.allclose(a["val_mse"].to_numpy(float), b["val_mse"].to_numpy(float), rtol=1e-4)


def test_failed_point_is_recorded_then_retried(sim_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(sim_dir, data)
    spec = DatasetSpec.from_simulation_dir(data)
    moved = tmp_path / "expression.moved"
    shutil.move(data / "expression.csv", moved)
    df = run_sweep(spec, TINY, [0.0], [0.05], strategy="none", out_dir=tmp_path / "out",
                   executor=ExecutorConfig(max_retries=0))
    stored = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert list(stored["status"]) == ["failed"] and list(df["status"]) == ["failed"]
    assert "expression.csv" in stored["error"].iloc[0]
    shutil.move(moved, data / "expression.csv")
    df = run_sweep(spec, TINY, [0.0], [0.05], strategy="none", out_dir=tmp_path / "out",
                   executor=ExecutorConfig(max_retries=0))
    stored = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert list(stored["status"]) == ["ok"] and stored["error"].isna().all()
    assert list(df["status"]) == ["ok"]


# ------------------------------------------------------------------ grid view
def test_pivot_sweep_averages_seeds():
    df = pd.DataFrame({"key": list("abcd"), "status": "ok", "strategy": "dash", "seed": [0, 1, 0, 1],
                       "lambda_ppi": [0.5, 0.5, 0.05, 0.05], "lambda_motif": 0.05,
                       "sparsity": [0.95, 0.93, 0.96, 0.94], "val_mse": [1.0, 5.0, 2.0, 2.5]})
    grid = pivot_sweep(df, "val_mse")
    assert grid.loc[0.5, 0.05] == pytest.approx(3.0) and grid.loc[0.05, 0.05] == pytest.approx(2.25)


# ------------------------------------------------------------------ benchmark
def test_paper_table_present():
    assert PAPER_SIM350["dash"] == (0.946, 0.906)
    assert PAPER_SIM350["none"] == (0.099, 0.587)
    for name in ("none", "cnode", "l0", "pathreg", "imp", "pinn_mp", "bioprune", "dash"):
        sparsity, ba = PAPER_SIM350[name]
        assert 0 < sparsity < 1 and 0.5 < ba < 1


def test_summary_mean_sd_and_markdown():
    df = pd.DataFrame({
        "key": [f"k{i}" for i in range(5)], "status": ["ok", "ok", "ok", "ok", "failed"],
        "condition": "noise5", "strategy": ["dash", "dash", "dash", "imp", "imp"], "seed": [0, 1, 2, 0, 1],
        "sparsity": [0.94, 0.95, 0.96, 0.97, np.nan], "balanced_accuracy": [0.90, 0.92, 0.88, 0.70, np.nan],
        "wall_seconds": [10.0, 12.0, 14.0, 5.0, np.nan], "seconds_per_epoch": [0.1, 0.1, 0.1, 0.05, np.nan],
        "epochs": [100, 110, 120, 80, np.nan],
    })
    summary = summarize_benchmark(df, conditions=benchmark_conditions("sim350"))
    dash = summary.set_index("strategy").loc["dash"]
    assert dash["n_runs"] == 3 and dash["n_failed"] == 0
    assert dash["sparsity_mean"] == pytest.approx(0.95) and dash["sparsity_sd"] == pytest.approx(0.01)
    assert dash["balanced_accuracy_sd"] == pytest.approx(0.02)
    assert dash["total_wall_seconds"] == pytest.approx(36.0)
    assert dash["paper_sparsity"] == 0.946 and dash["paper_balanced_accuracy"] == 0.906
    imp = summary.set_index("strategy").loc["imp"]
    assert imp["n_runs"] == 1 and imp["n_failed"] == 1 and np.isnan(imp["sparsity_sd"])
    md = summary_markdown(summary, conditions=benchmark_conditions("sim350"))
    assert "95.0 ± 1.0" in md and "90.0 ± 2.0" in md  # dash sparsity / BA in percent
    assert "| 94.6 | 90.6 |" in md and "Wall time per strategy" in md
    assert "1 (1 failed)" in md
    # the paper's values are shown only for the comparable condition
    other = summarize_benchmark(df.assign(condition="prior20"),
                                conditions=[Condition("prior20", 0.0, 0.2)])
    assert other["paper_sparsity"].isna().all()


def test_benchmark_conditions():
    assert [c.noise_sigma for c in benchmark_conditions("noise")] == [0.0, 0.025, 0.05, 0.1]
    assert [c.name for c in benchmark_conditions("noise", noise_percents=[2.5])] == ["noise2.5"]
    pc = benchmark_conditions("prior-corruption")
    assert [(c.noise_sigma, c.prior_corruption) for c in pc] == [(0.0, 0.0), (0.0, 0.2), (0.0, 0.4)]
    assert [c.paper_comparable for c in benchmark_conditions("noise")] == [False, True, False, False]
    with pytest.raises(DashInputError, match="preset"):
        benchmark_conditions("sim999")


def test_prepare_benchmark_data_once_per_seed(tmp_path):
    conds = benchmark_conditions("prior-corruption")[1:2]
    specs = prepare_benchmark_data(conds, [0, 1], tmp_path, n_genes=12)
    assert sorted(specs) == [("prior20", 0), ("prior20", 1)]
    folder = tmp_path / "data" / "prior20" / "seed1"
    cfg = json.loads((folder / "simulation_config.json").read_text())
    assert cfg["seed"] == 1 and cfg["noise_sigma"] == 0.0 and cfg["prior_corruption"] == 0.2 and cfg["n_genes"] == 12
    stamp = (folder / "expression.csv").stat().st_mtime_ns
    prepare_benchmark_data(conds, [1], tmp_path, n_genes=12)
    assert (folder / "expression.csv").stat().st_mtime_ns == stamp, "existing data must be reused"
    ds, _ = specs[("prior20", 1)].load()
    assert ds.test_expression_clean is not None and ds.truth is not None


def test_run_benchmark_user_data(spec, tmp_path):
    names = ["none"] + (["dash"] if "dash" in STRATEGIES else [])
    tables = run_benchmark(None, [0, 1], tmp_path, names, data=spec, base_config=TINY)
    res = pd.read_csv(tmp_path / "benchmark.csv")
    assert len(res) == 2 * len(names) and set(res["status"]) == {"ok"} and set(res["condition"]) == {"data"}
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert list(summary["strategy"]) == names and (summary["n_runs"] == 2).all()
    assert summary["sparsity_sd"].notna().all()
    assert (tmp_path / "summary.md").read_text() == tables.markdown
    with pytest.raises(DashInputError, match="not both"):
        run_benchmark("sim350", [0], tmp_path / "x", data=spec)


# ------------------------------------------------------------------ CLI
def test_cli_sweep_and_benchmark(sim_dir, tmp_path, capsys):
    from dash_core.cli import main

    common = ["--max-epochs", "2", "--patience", "0", "--device", "cpu", "--solver", "euler"]
    rc = main(["sweep", "--expression", str(sim_dir / "expression.csv"), "--prior", str(sim_dir / "prior.csv"),
               "--truth", str(sim_dir / "truth.csv"), "--lambda-ppi-grid", "0,0.5", "--lambda-motif-grid", "0.05",
               "--strategy", "none", "--tolerance", "0.1", *common,
               "--out", str(tmp_path / "sw")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Recommended lambda_ppi" in out and "[sweep] 2/2 done" in err and "ETA" in err
    assert "not used to choose" in out and "within 10%" in out
    assert len(pd.read_csv(tmp_path / "sw" / "sweep.csv")) == 2
    sel = json.loads((tmp_path / "sw" / "selection.json").read_text())
    assert sel["run_dir"] == "recommended" and (tmp_path / "sw" / "recommended" / "model.pt").is_file()

    rc = main(["sweep", "--expression", str(sim_dir / "expression.csv"), "--prior", str(sim_dir / "prior.csv"),
               "--lambda-ppi-grid", "0,2", "--lambda-motif-grid", "0.05", "--out", str(tmp_path / "bad")])
    assert rc == 2 and "--lambda-ppi-grid" in capsys.readouterr().err

    rc = main(["benchmark", "--preset", "sim350", "--genes", "12", "--seeds", "1", "--strategies", "none",
               "--max-epochs", "1", "--patience", "0", "--device", "cpu", "--solver", "euler",
               "--out", str(tmp_path / "bm")])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "## noise5" in out and "PHOENIX (unpruned)" in out and "| 9.9 | 58.7 |" in out
    assert (tmp_path / "bm" / "data" / "noise5" / "seed0" / "expression.csv").exists()
    rc = main(["benchmark", "--strategies", "nonexistent", "--out", str(tmp_path / "bm2")])
    assert rc == 2 and "unknown strategy" in capsys.readouterr().err


def test_sweep_trains_stacks_with_the_rows_of_single_runs(spec, tmp_path):
    """A 2 x 2 sweep x 2 seeds in stacked jobs (2 workers' worth) gives the rows of one-run-per-job jobs."""
    from dash_core.studies.table import stack_jobs

    jobs = sweep_jobs(spec, TINY, [0.0, 0.5], [0.05, 1.0], strategy="dash", seeds=(0, 1), out_dir=tmp_path / "a")
    planned, members = stack_jobs(jobs, ExecutorConfig(workers=2))
    assert sorted(len(m) for m in members.values()) == [4, 4] and len(planned) == 2
    assert stack_jobs(jobs, ExecutorConfig(stack_size=1))[0] == jobs
    assert [len(m) for m in stack_jobs(jobs, ExecutorConfig(stack_size=3))[1].values()] == [3, 3, 2]
    stacked = run_sweep(spec, TINY, [0.0, 0.5], [0.05, 1.0], strategy="dash", seeds=(0, 1), out_dir=tmp_path / "a",
                        executor=ExecutorConfig(stack_size=8))
    single = run_sweep(spec, TINY, [0.0, 0.5], [0.05, 1.0], strategy="dash", seeds=(0, 1), out_dir=tmp_path / "b",
                       executor=ExecutorConfig(stack_size=1))
    assert list(stacked["key"]) == list(single["key"]) and set(stacked["status"]) == {"ok"}
    assert set(stacked["stack_size"]) == {8} and set(single["stack_size"]) == {1}
    for col in ("sparsity", "balanced_accuracy", "val_mse", "epochs", "best_epoch"):
        np.testing.assert_allclose(stacked[col].astype(float), single[col].astype(float), rtol=1e-3, atol=1e-6,
                                   err_msg=col)
    assert (tmp_path / "a" / "runs" / point_key("dash", 0.5, 1.0, 1) / "model.pt").exists()


# ------------------------------------------------------------------ per-strategy settings (methods C)
def test_benchmark_runs_each_strategy_with_its_spec_settings_unless_overridden(spec, tmp_path):
    from dash_core.pruning.base import BASELINE_SOLVER
    from dash_core.studies.paper_benchmark import strategy_config

    base = dataclasses.replace(TINY, model=dataclasses.replace(TINY.model, multiplier_grad="straight_through"))
    l0 = strategy_config(base, "l0")
    assert l0.strategy == "l0" and l0.train.solver == BASELINE_SOLVER and l0.model.multiplier_grad == "relu"
    none = strategy_config(base, "none")
    assert none.model.multiplier_grad == "relu" and none.train.solver == base.train.solver
    dash = strategy_config(base, "dash")
    assert dash.train.solver == base.train.solver and dash.model.multiplier_grad == "straight_through"
    kept = strategy_config(base, "pathreg", keep=("solver",))
    assert kept.train.solver == base.train.solver and kept.model.multiplier_grad == "relu"
    with pytest.raises(DashInputError, match="unknown strategy setting"):
        strategy_config(base, "l0", keep=("lr",))

    tables = run_benchmark(None, [0], tmp_path, ["cnode", "imp"], data=spec, base_config=base, keep=("solver",))
    rows = tables.results.set_index("strategy")
    assert rows.loc["cnode", "multiplier_grad"] == "relu" and rows.loc["imp", "multiplier_grad"] == "straight_through"
    assert set(rows["solver"]) == {"euler"}  # --solver given: kept for every strategy
    saved = json.loads((tmp_path / "runs" / "data_cnode_seed0" / "config.json").read_text())
    assert saved["model"]["multiplier_grad"] == "relu"
    assert "Per-strategy run settings" in tables.markdown and "methods C.2" in tables.markdown


def test_cli_sweep_seed_means_seeds(sim_dir, tmp_path, capsys):
    from dash_core.cli import main

    args = ["sweep", "--expression", str(sim_dir / "expression.csv"), "--prior", str(sim_dir / "prior.csv"),
            "--lambda-ppi-grid", "0.5", "--lambda-motif-grid", "0.05", "--max-epochs", "1",
            "--patience", "0", "--device", "cpu", "--solver", "euler"]
    assert main([*args, "--seed", "3", "--out", str(tmp_path / "a")]) == 0, capsys.readouterr().err
    assert list(pd.read_csv(tmp_path / "a" / "sweep.csv")["seed"]) == [3]
    assert main([*args, "--seed", "3", "--seeds", "1", "--out", str(tmp_path / "b")]) == 2
    assert "disagree" in capsys.readouterr().err


def test_cli_benchmark_keeps_the_settings_given_on_the_command_line():
    from dash_core.cli import build_parser
    from dash_core.cli.studies import _explicit_settings

    parse = build_parser().parse_args
    assert _explicit_settings(parse(["benchmark", "--out", "x"])) == []
    args = parse(["benchmark", "--out", "x", "--solver", "rk4", "--multiplier-grad", "straight_through",
                  "--interval", "5"])
    assert _explicit_settings(args) == ["solver", "multiplier_grad", "schedule"]
    assert parse(["benchmark", "--out", "x", "--shared-settings"]).shared_settings is True

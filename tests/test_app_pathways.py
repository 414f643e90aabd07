"""The Pathways page (AppTest): empty store, finished analyses with drill-down, launching a background job."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
pytest.importorskip("dash_core.runs.jobs", reason="the run store / job modules of the app are not available")
from apptest_support import errors, open_app, widgets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/pathways.py"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_sim):
    """A finished 2-epoch training run folder and a GMT of the tiny simulation's gene sets."""
    from dash_core.experiment import RunConfig, run_experiment, save_run
    from dash_core.io.gmt import write_gmt
    from dash_core.train import TrainConfig

    base = tmp_path_factory.mktemp("app_pw")
    result = run_experiment(tiny_sim.dataset, RunConfig(train=TrainConfig(max_epochs=2, device="cpu"), seed=0))
    save_run(result, base / "run")
    gmt = write_gmt(tiny_sim.gene_sets, base / "sets.gmt")
    return base / "run", gmt


def _register_train_run(home, folder: Path) -> str:
    import json

    from dash_core.runs.store import COMPLETED, RunStore

    store = RunStore(home)
    rec = store.create_run("train", {}, label="tiny run", status=COMPLETED, artifact_dir=folder,
                           summary={"metrics": json.loads((folder / "metrics.json").read_text())})
    return rec.run_id


def test_page_without_runs(home):
    at = open_app(PAGE)
    assert at.title[0].value == "Pathways"
    texts = " ".join(i.value for i in at.info)
    assert "No finished training run" in texts and "No pathway analysis" in texts


def test_page_shows_finished_analysis_with_drill_down(home, trained, tmp_path):
    from dash_core.pathways import GseaConfig, InfluenceConfig, PathwayConfig, run_pathways_job
    from dash_core.runs.store import COMPLETED, RunStore

    run_folder, gmt = trained
    train_id = _register_train_run(home, run_folder)
    job_dir = tmp_path / "job"

    class _Rep:
        def progress(self, *a, **k):
            pass

        def should_stop(self):
            return False

    cfg = PathwayConfig(influence=InfluenceConfig(n_samples=8), n_permutations=50,
                        gsea=GseaConfig(permutation_num=50))
    run_pathways_job({"runs": [{"run_id": train_id, "label": "tiny run", "path": str(run_folder)}],
                      "gene_sets": str(gmt), "config": cfg.to_dict()}, job_dir, _Rep())
    RunStore(home).create_run("pathways", {}, label="pathways · tiny run", status=COMPLETED, artifact_dir=job_dir)

    at = open_app(PAGE)
    assert at.multiselect(key="pw_runs").value == [train_id]
    assert at.selectbox(key="pw_result").value is not None
    assert any(c.proto.spec for c in at.get("plotly_chart"))  # the comparison chart is drawn
    for kind, w in widgets(at):
        assert w.help, f"{kind} {w.label!r} has no tooltip"
    # switch test and drill into another pathway
    at.radio(key="pw_test").set_value("Module coherence (influence within the set)").run()
    assert not errors(at)
    options = at.selectbox(key="pw_dd_pathway").options
    at.selectbox(key="pw_dd_pathway").set_value(options[-1]).run()
    assert not errors(at)
    assert any("Bonferroni p" in c.value for c in at.caption)
    # the upload source shows its uploader; without a file nothing can be launched
    at.radio(key="pw_source").set_value("Upload a GMT file").run()
    assert not errors(at)
    assert at.button(key="pw_launch").disabled  # nothing uploaded yet
    assert at.get("file_uploader")


def test_launch_runs_a_background_job(home, trained):
    from dash_core.runs.store import COMPLETED, RunStore

    run_folder, _ = trained
    _register_train_run(home, run_folder)
    at = open_app(PAGE)
    at.number_input(key="pw_samples").set_value(10)
    at.number_input(key="pw_perm").set_value(50)
    at.checkbox(key="pw_gsea").set_value(False)
    at.button(key="pw_launch").click().run()
    assert not errors(at)
    store = RunStore(home)
    jobs = store.list_runs(kind="pathways")
    assert len(jobs) == 1
    deadline = time.time() + 90
    while store.get(jobs[0].run_id).active and time.time() < deadline:
        time.sleep(0.5)
    rec = store.get(jobs[0].run_id)
    assert rec.status == COMPLETED, rec.error
    assert rec.summary["n_runs"] == 1 and (rec.path / "pathway_runs.json").is_file()
    at.run()
    assert not errors(at)
    assert at.selectbox(key="pw_result").value == rec.run_id

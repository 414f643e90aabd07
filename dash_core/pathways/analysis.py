"""The whole analysis of a model or run folder (influence, tests, gseapy), its files and its background job."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from dash_core.experiment import load_checkpoint
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.io.gmt import gene_set_coverage, read_gmt
from dash_core.models.base import GRNModel
from dash_core.pathways.config import ENRICH_COLUMNS, GSEA_COLUMNS, AnalysisCancelled, PathwayConfig, ProgressFn
from dash_core.pathways.gsea import enrich_genes, gsea_prerank, local_gene_sets, top_regulators, top_targets
from dash_core.pathways.influence import InfluenceResult, influence_scores
from dash_core.pathways.set_tests import module_test, permutation_test


# ----------------------------------------------------------------------------- pipeline
@dataclass
class PathwayResult:
    """Everything :func:`analyze_model` produces.

    Attributes
    ----------
    influence
        :class:`InfluenceResult`.
    pathways
        Permutation-test table (:data:`PATHWAY_COLUMNS`).
    modules
        Module-coherence table (:func:`module_test`).
    gsea_prerank, enrich_regulators, enrich_targets
        gseapy tables (empty when gseapy was not run).
    coverage
        :func:`dash_core.io.gmt.gene_set_coverage` of the gene sets on the model's genes.
    regulators, targets
        The top-k lists used for over-representation.
    config
        The settings used.
    report
        Notes and warnings.
    timings
        Seconds per stage.
    """

    influence: InfluenceResult
    pathways: pd.DataFrame
    modules: pd.DataFrame
    gsea_prerank: pd.DataFrame
    enrich_regulators: pd.DataFrame
    enrich_targets: pd.DataFrame
    coverage: pd.DataFrame
    regulators: list[str]
    targets: list[str]
    config: PathwayConfig
    report: ValidationReport = field(default_factory=ValidationReport)
    timings: dict[str, float] = field(default_factory=dict)


def analyze_model(model: GRNModel, genes: list[str], gene_sets: Mapping[str, Iterable[str]],
                  config: PathwayConfig = PathwayConfig(), *, progress: ProgressFn | None = None,
                  should_stop: Callable[[], bool] | None = None) -> PathwayResult:
    """Influence scores, permutation test and (optionally) gseapy for one trained model.

    Progress: influence 0-85 %, permutation test 90 %, gseapy 95 %, done 100 %.
    """
    report = ValidationReport()
    timings: dict[str, float] = {}

    def emit(f: float, msg: str) -> None:
        if progress is not None:
            progress(min(1.0, max(0.0, f)), msg)

    coverage = gene_set_coverage(gene_sets, genes)
    n_covered = int((coverage["n_in_data"] > 0).sum())
    if n_covered < len(coverage):
        report.info(f"{len(coverage) - n_covered} of {len(coverage)} gene sets share no gene with the model.")
    infl = influence_scores(model, genes, config.influence, progress=lambda f, m: emit(0.85 * f, m),
                            should_stop=should_stop)
    timings["influence"] = infl.seconds
    if should_stop is not None and should_stop():
        raise AnalysisCancelled("pathway analysis cancelled")
    emit(0.87, "permutation test")
    t = time.perf_counter()
    table = permutation_test(infl.scores, gene_sets, n_permutations=config.n_permutations, seed=config.seed,
                             alpha=config.alpha, min_set_size=config.min_set_size, report=report)
    timings["permutation_test"] = time.perf_counter() - t
    t = time.perf_counter()
    modules = module_test(infl.matrix, genes, gene_sets, n_permutations=config.n_permutations, seed=config.seed,
                          alpha=config.alpha, min_set_size=config.min_set_size, report=report)
    timings["module_test"] = time.perf_counter() - t
    m = len(table)
    if config.n_permutations < 20 * m:
        report.info(f"B = {config.n_permutations} permutations for m = {m} pathways: empirical p-values cannot "
                    f"pass Bonferroni; the headline uses the normal approximation (use B >= {20 * m} for exact "
                    "empirical tests).")
    effect = model.effect_array()
    regulators = top_regulators(infl.scores, config.top_k)
    targets = top_targets(effect, genes, config.top_k)
    empty = pd.DataFrame(columns=GSEA_COLUMNS)
    gsea = empty
    enr_reg = enr_tgt = pd.DataFrame(columns=ENRICH_COLUMNS)
    if config.run_gsea:
        if should_stop is not None and should_stop():
            raise AnalysisCancelled("pathway analysis cancelled")
        emit(0.92, "gseapy: preranked GSEA")
        t = time.perf_counter()
        gsea = gsea_prerank(infl.scores, gene_sets, config.gsea, report=report)
        emit(0.96, "gseapy: over-representation")
        enr_reg = enrich_genes(regulators, gene_sets, genes, report=report)
        enr_tgt = enrich_genes(targets, gene_sets, genes, report=report)
        timings["gseapy"] = time.perf_counter() - t
    emit(1.0, "done")
    return PathwayResult(infl, table, modules, gsea, enr_reg, enr_tgt, coverage, regulators, targets, config, report, timings)


def load_run_model(run_dir, device: str = "cpu"):
    """Load ``model.pt`` of a run folder written by ``python -m dash_core train`` (or :func:`save_run`).

    Returns ``(model, run_config, genes)``.
    """
    run = Path(run_dir)
    ckpt = run / "model.pt" if run.is_dir() else run
    if not ckpt.exists():
        raise DashInputError("No model checkpoint (model.pt) found; give the output folder of "
                             "`python -m dash_core train`.", source=str(run_dir))
    return load_checkpoint(ckpt, device=device)


def analyze_run(run_dir, gene_sets: Mapping[str, Iterable[str]] | str | Path, config: PathwayConfig = PathwayConfig(),
                *, progress: ProgressFn | None = None,
                should_stop: Callable[[], bool] | None = None) -> PathwayResult:
    """:func:`analyze_model` on a saved run folder; the solver defaults to the run's training solver."""
    model, run_cfg, genes = load_run_model(run_dir)
    sets = local_gene_sets(gene_sets) if isinstance(gene_sets, (str, Path)) else dict(gene_sets)
    if config.influence.solver is None:
        config = replace(config, influence=replace(config.influence, solver=run_cfg.train.solver))
    return analyze_model(model, genes, sets, config, progress=progress, should_stop=should_stop)


def write_pathway_results(result: PathwayResult, out_dir) -> dict[str, Path]:
    """Write ``pathways.csv``, ``modules.csv``, ``influence.csv``, ``gsea_prerank.csv``, ``enrich_regulators.csv``,
    ``enrich_targets.csv``, ``gene_set_coverage.csv`` and ``pathway_config.json`` to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / f"{k}.csv" for k in ("pathways", "modules", "influence", "gsea_prerank",
                                           "enrich_regulators", "enrich_targets", "gene_set_coverage")}
    result.pathways.to_csv(paths["pathways"], index=False)
    result.modules.to_csv(paths["modules"], index=False)
    result.influence.scores.rename("influence").rename_axis("gene").reset_index().to_csv(paths["influence"],
                                                                                        index=False)
    result.gsea_prerank.to_csv(paths["gsea_prerank"], index=False)
    result.enrich_regulators.to_csv(paths["enrich_regulators"], index=False)
    result.enrich_targets.to_csv(paths["enrich_targets"], index=False)
    result.coverage.to_csv(paths["gene_set_coverage"], index=False)
    paths["pathway_config"] = out / "pathway_config.json"
    meta = {"config": result.config.to_dict(), "timings": result.timings, "device": result.influence.device,
            "regulators": result.regulators, "targets": result.targets,
            "report": [str(i) for i in result.report.issues]}
    paths["pathway_config"].write_text(json.dumps(meta, indent=2))
    return paths


def read_pathway_results(out_dir) -> dict[str, pd.DataFrame]:
    """Read the CSV files of :func:`write_pathway_results` back (missing files are skipped)."""
    out = Path(out_dir)
    tables: dict[str, pd.DataFrame] = {}
    for key in ("pathways", "modules", "influence", "gsea_prerank", "enrich_regulators", "enrich_targets", "gene_set_coverage"):
        p = out / f"{key}.csv"
        if p.exists():
            try:
                tables[key] = pd.read_csv(p, keep_default_na=False, na_values=[""])
            except pd.errors.EmptyDataError:
                tables[key] = pd.DataFrame()
    return tables


# ----------------------------------------------------------------------------- background job
def run_pathways_job(params: dict[str, Any], run_dir: Path, reporter) -> dict[str, Any]:
    """Background-job entry point (job kind ``pathways``): one analysis of one or more trained runs.

    Parameters
    ----------
    params
        ``runs``: list of ``{"run_id", "label", "path"}`` (``path`` = a folder with
        ``model.pt``), or ``source_run`` (one folder); ``gene_sets``: path of a local
        .gmt file (copied to ``run_dir/gene_sets.gmt``); ``config``: a
        :meth:`PathwayConfig.to_dict` (optional).
    run_dir
        The job's folder. Each analysed run's files
        (:func:`write_pathway_results`) go to ``run_dir/<run_id>/``;
        ``run_dir/pathway_runs.json`` lists ``run_id, label, folder`` per run.
    reporter
        Has ``progress(fraction, message="", **values)`` and ``should_stop()``.

    Returns
    -------
    dict
        Per run: number of pathways, Bonferroni-significant ones, the top pathway of
        each test and the influence time; ``cancelled`` when stopped early.
    """
    run_dir = Path(run_dir)
    entries = [dict(e) for e in params.get("runs") or []]
    if not entries and params.get("source_run"):
        src = Path(params["source_run"])
        entries = [{"run_id": src.name, "label": src.name, "path": str(src)}]
    if not entries:
        raise DashInputError("The pathway job names no trained run (params['runs'] or params['source_run']).")
    gmt = params.get("gene_sets")
    if not gmt:
        raise DashInputError("The pathway job needs a gene-set file (params['gene_sets']).")
    config = PathwayConfig.from_dict(params.get("config") or {})
    sets, gmt_report = read_gmt(gmt)
    run_dir.mkdir(parents=True, exist_ok=True)
    local_gmt = run_dir / "gene_sets.gmt"
    if Path(gmt).resolve() != local_gmt.resolve():
        shutil.copyfile(gmt, local_gmt)
    done: list[dict[str, Any]] = []
    summary: dict[str, Any] = {"n_gene_sets": len(sets), "runs": {}}
    k = len(entries)
    for i, e in enumerate(entries):
        if reporter.should_stop():
            summary["cancelled"] = True
            break
        run_id = str(e.get("run_id") or Path(e["path"]).name)
        label = str(e.get("label") or run_id)
        safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in run_id) or f"run{i}"
        out_dir = run_dir / safe

        def progress(f: float, msg: str, _i: int = i, _label: str = label) -> None:
            reporter.progress((_i + f) / k, f"{_label}: {msg}" if k > 1 else msg)

        try:
            result = analyze_run(e["path"], sets, config, progress=progress, should_stop=reporter.should_stop)
        except AnalysisCancelled:
            summary["cancelled"] = True
            break
        result.report.extend(gmt_report)
        write_pathway_results(result, out_dir)
        done.append({"run_id": run_id, "label": label, "folder": str(out_dir)})
        (run_dir / "pathway_runs.json").write_text(json.dumps(done, indent=2))
        t, mods = result.pathways, result.modules
        summary["runs"][run_id] = {
            "label": label, "n_pathways": int(len(t)), "n_significant": int(t["significant"].sum()),
            "top_pathway": str(t.iloc[0]["pathway"]) if len(t) else None,
            "top_z": float(t.iloc[0]["z"]) if len(t) else None,
            "n_significant_modules": int(mods["significant"].sum()),
            "top_module": str(mods.iloc[0]["pathway"]) if len(mods) else None,
            "influence_seconds": round(result.influence.seconds, 3), "device": result.influence.device}
    if not (run_dir / "pathway_runs.json").exists():
        (run_dir / "pathway_runs.json").write_text(json.dumps(done, indent=2))
    summary["n_runs"] = len(done)
    reporter.progress(1.0, "done" if not summary.get("cancelled") else "stopped")
    return summary

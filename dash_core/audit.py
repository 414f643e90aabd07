"""Prior audit: which prior edges the data supports, which it does not, and what it adds.

For a recommended model and its sibling models (the other seeds at the same lambda
and pruning level), every edge gets a **confidence** (fraction of the seeds whose
model keeps it, :func:`dash_core.studies.selection.edge_confidence`) and a **support**
(its |E| relative to a typical kept edge, averaged over seeds). The audit sorts
them into three groups:

``unsupported prior``
    In the prior, but pruned in most seeds (confidence < ``keep``): the data does
    not need this edge to explain the dynamics. These come first, the least
    supported first (lowest confidence, then lowest support).
``new, data-supported``
    Absent from the prior (or with a low prior score, below the 10th percentile of
    the prior's non-zero |weights|) but kept with high confidence (>= ``high``) and
    as strongly supported by the data as the prior edges it confirms: support at least
    the 10th percentile of the confirmed prior edges' support (``min_support`` None, the
    default; a number sets the threshold). Measured on SIM350-style data (5 % noise, 3 x 3
    sweep x 2 seeds, unpruned referee): the former threshold (support >= 1, "as strong as
    the average kept edge") listed 4,470 new edges of which 17 are true (0.4 %); the default
    lists the few that reach the confirmed edges' strength (see the README's audit section).
    Chosen as a data-internal rule, not by the gold standard.
``confirmed prior``
    In the prior and kept in most seeds.

The ``doubt`` column, ``1 / (1 + support)``, orders prior edges from least to most
supported (1 = pruned in every seed; support averages zeros for the seeds that
pruned the edge, so it also reflects confidence). On simulated data with a
corrupted prior (noise-free expression as in the paper's prior-robustness table,
30 % of the prior edges moved), corrupted edges get higher doubt than true prior
edges when the audited models judge edges by the data: unpruned PHOENIX models give AUROC 0.93
(demo network, 80 trajectories, 50 epochs, seeds 0-2, 0-4 or 2-4 alike; ``tests/test_selection.py``).

The audit is only as data-driven as the models it is given. DASH models at the default lambdas
are a poor referee of their own prior, because DASH's pruning score keeps prior edges first: the
same test with DASH models gives 0.79 (seeds 0-2), 0.72 (0-4) and 0.57 (2-4). Audit a prior with
models that give it little weight (the unpruned baseline, or low lambdas) when the question is
"which prior edges does the data reject".

**Referee.** A sweep's audit is therefore refereed by the sweep's unpruned baseline runs
(strategy ``none``, :data:`REFEREE_STRATEGY`) of the recommended model's seeds when they exist
(:func:`referee_runs`; the lambda explorer trains them by default, ``sweep --audit-referee
unpruned`` in the CLI). An unpruned model keeps every edge, so it "keeps" an edge when the edge is
among its ``n_keep`` strongest, ``n_keep`` being the recommended model's edge count (the same
density); support and doubt use its full |E|. Without such runs the audit falls back to the
recommended model's own seeds and says so (``members.json`` -> ``audit``, :func:`referee_note`).

Orientation: matrices are ``(n, n)``, row = regulator (source), column = target.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dash_core.experiment import load_checkpoint
from dash_core.io.errors import DashInputError
from dash_core.studies.datasets import DatasetSpec

__all__ = ["AUDIT_COLUMNS", "CATEGORIES", "REFEREE_STRATEGY", "audit_models", "audit_run", "prior_audit", "referee_note",
           "referee_runs"]

#: Audit categories, in table order.
CATEGORIES: tuple[str, ...] = ("unsupported prior", "new, data-supported", "confirmed prior")
#: Columns of the audit table.
AUDIT_COLUMNS: list[str] = ["category", "source", "target", "prior_weight", "confidence", "support", "mean_effect",
                            "doubt"]
#: Quantile of the prior's non-zero |weights| below which a prior score counts as low.
LOW_PRIOR_QUANTILE = 0.10
#: Quantile of the confirmed prior edges' support a new edge must reach (``min_support`` None).
NEW_SUPPORT_QUANTILE = 0.10
#: Strategy whose runs referee a sweep's prior audit when the sweep has them (unpruned PHOENIX).
REFEREE_STRATEGY = "none"


def prior_audit(prior: np.ndarray, effects: Sequence[np.ndarray], genes: Sequence[str], *, keep: float = 0.5,
                high: float = 1.0, min_support: float | None = None, n_keep: int | None = None) -> pd.DataFrame:
    """The prior audit table of a set of models (seeds) at one lambda and level.

    Parameters
    ----------
    prior
        ``(n, n)`` prior, row = regulator, column = target (signed or weighted).
    effects
        ``(n, n)`` effect matrices E of the models, same orientation and gene order.
    genes
        Gene names of the rows/columns.
    keep
        A prior edge with confidence below ``keep`` is "unsupported" (pruned in most seeds).
    high
        A non-prior edge needs at least this confidence to be listed as "new, data-supported".
    min_support
        ... and at least this support (1 = as strong as the average kept edge). None: the
        :data:`NEW_SUPPORT_QUANTILE` quantile of the confirmed prior edges' support (1 when no
        prior edge is confirmed). The threshold used is in ``table.attrs["min_support"]``.
    n_keep
        None: a model keeps an edge when it is non-zero (pruned models). A number: when it is
        among the model's ``n_keep`` strongest edges (dense referee models compared at the
        audited model's density, :func:`dash_core.studies.selection.edge_confidence`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`AUDIT_COLUMNS`, grouped by :data:`CATEGORIES` in that order;
        within "unsupported prior" and "confirmed prior" by decreasing ``doubt``, within
        "new" by decreasing confidence, then support. ``mean_effect`` is the mean signed
        E over the seeds.
    """
    from dash_core.studies.selection import edge_confidence  # lazy: studies.selection imports this module

    p = np.asarray(prior, dtype=float)
    n = len(genes)
    if p.shape != (n, n) or any(np.shape(e) != (n, n) for e in effects):
        raise DashInputError(f"the prior and the effect matrices must all be {n} x {n} (one row and column per gene).")
    if not 0 < keep <= 1 or not 0 < high <= 1:
        raise DashInputError(f"keep and high are fractions of seeds in (0, 1] (got {keep}, {high}).")
    conf, support = edge_confidence(effects, n_keep=n_keep)
    mean_e = np.mean(effects, axis=0)
    mag = np.abs(p)
    nz = mag[mag > 0]
    low = np.quantile(nz, LOW_PRIOR_QUANTILE) if nz.size else 0.0
    off = ~np.eye(n, dtype=bool)
    in_prior = (mag > 0) & off
    low_prior = (mag < low) | (mag == 0)
    confirmed = in_prior & (conf >= keep)
    if min_support is None:
        min_support = float(np.quantile(support[confirmed], NEW_SUPPORT_QUANTILE)) if confirmed.any() else 1.0
    new = off & low_prior & (conf >= high - 1e-12) & (support >= min_support) & ~in_prior
    frames = []
    for name, sel in (("unsupported prior", in_prior & (conf < keep)), ("new, data-supported", new),
                      ("confirmed prior", confirmed)):
        i, j = np.nonzero(sel)
        df = pd.DataFrame({"category": name, "source": np.asarray(genes, dtype=object)[i],
                           "target": np.asarray(genes, dtype=object)[j], "prior_weight": p[i, j],
                           "confidence": conf[i, j], "support": support[i, j], "mean_effect": mean_e[i, j]})
        # doubt in (0, 1]: 1 for an edge pruned in every seed, falling as the edge is kept and strong
        df["doubt"] = 1.0 / (1.0 + df["support"])
        if name == "new, data-supported":
            df = df.sort_values(["confidence", "support"], ascending=False, kind="stable")
        else:
            df = df.sort_values(["doubt", "source", "target"], ascending=[False, True, True], kind="stable")
        frames.append(df)
    table = pd.concat(frames, ignore_index=True)[AUDIT_COLUMNS]
    table.attrs["min_support"] = float(min_support)
    return table


def referee_runs(study_dir, seeds: Sequence[int], strategy: str = REFEREE_STRATEGY) -> dict[int, Path]:
    """Run folders of a study's finished ``strategy`` runs with the given seeds (the audit's referee).

    Parameters
    ----------
    study_dir
        A study folder with ``sweep.csv`` (e.g. the lambda explorer's ``points/none`` or the CLI
        sweep's ``OUT/baseline_none``); a missing folder gives no runs.
    seeds
        The recommended model's seeds; runs of other seeds are left out.

    Returns
    -------
    dict
        Seed -> absolute run folder (with ``model.pt``), in seed order; empty when there are none.
    """
    table = Path(study_dir) / "sweep.csv"
    if not table.is_file():
        return {}
    df = pd.read_csv(table)
    if df.empty or not {"status", "strategy", "seed", "run_dir"} <= set(df.columns):
        return {}
    wanted = {int(s) for s in seeds}
    ok = df[(df["status"] == "ok") & (df["strategy"] == strategy)
            & pd.to_numeric(df["seed"], errors="coerce").isin(wanted)].sort_values("seed")
    out = {}
    for seed, run_dir in zip(ok["seed"], ok["run_dir"], strict=True):
        folder = Path(str(run_dir))
        folder = folder if folder.is_absolute() else Path(study_dir) / folder
        if int(seed) not in out and (folder / "model.pt").is_file():
            out[int(seed)] = folder.resolve()
    return out


def _reported_effects(run_dirs: Sequence, genes: Sequence[str]) -> list[np.ndarray]:
    """Effect matrices of the reported checkpoints (``model.pt``) of runs on the same genes."""
    effects = []
    for d in run_dirs:
        model, _, g = load_checkpoint(Path(d) / "model.pt")
        if list(g) != list(genes):
            raise DashInputError("the referee run's genes differ from the audited model's.", source=str(d))
        effects.append(model.effect_array())
    return effects


def audit_models(prior: np.ndarray, effects: Sequence[np.ndarray], genes: Sequence[str], *,
                 referee: Sequence = (), referee_seeds: Sequence[int] = (), base=None, keep: float = 0.5,
                 high: float = 1.0, min_support: float | None = None) -> tuple[pd.DataFrame, dict]:
    """The prior audit of a model's seeds, refereed by unpruned runs when there are any.

    Parameters
    ----------
    prior
        ``(n, n)`` prior, row = regulator, column = target.
    effects
        ``(n, n)`` effect matrices of the audited (pruned) model's seeds.
    genes
        Gene order of the matrices.
    referee
        Folders of unpruned runs (:func:`referee_runs`) on the same data; empty: the audited seeds
        referee themselves.
    referee_seeds
        Their seeds (for the note).
    base
        Folder the recorded referee paths are written relative to (None: absolute).
    keep, high, min_support
        See :func:`prior_audit`.

    Returns
    -------
    (table, info)
        The :func:`prior_audit` table and what refereed it: ``referee`` (``"unpruned"`` or ``"self"``),
        ``strategy``, ``seeds``, ``runs``, ``n_keep`` (the audited model's mean edge count),
        ``min_support`` (the support a new edge needed) and ``note`` (a sentence for the user).
    """
    off = ~np.eye(len(genes), dtype=bool)
    n_keep = int(round(float(np.mean([np.count_nonzero(np.asarray(e)[off]) for e in effects])))) if effects else 0
    if referee:
        ref_effects = _reported_effects(referee, genes)
        table = prior_audit(prior, ref_effects, genes, keep=keep, high=high, min_support=min_support, n_keep=n_keep)
        runs = [str(r) if base is None else os.path.relpath(r, base) for r in referee]
        seeds = [int(s) for s in referee_seeds]
        info = {"referee": "unpruned", "strategy": REFEREE_STRATEGY, "seeds": seeds, "runs": runs, "n_keep": n_keep}
    else:
        table = prior_audit(prior, effects, genes, keep=keep, high=high, min_support=min_support)
        info = {"referee": "self", "strategy": None, "seeds": [], "runs": [], "n_keep": n_keep}
    info["min_support"] = table.attrs.get("min_support")
    info["note"] = referee_note(info)
    return table, info


def referee_note(info: dict | None) -> str:
    """One sentence saying which models refereed a prior audit (``info`` from :func:`audit_models`)."""
    if not info:
        return "Refereed by the audited model's own seeds."
    if info.get("referee") == "unpruned":
        seeds = ", ".join(str(s) for s in info.get("seeds") or [])
        return (f"Refereed by {len(info.get('runs') or [])} unpruned PHOENIX run(s) of the same sweep "
                f"(strategy none, seed(s) {seeds}), which weigh the data without pruning by the prior: a referee "
                f"keeps an edge when it is among its {info.get('n_keep')} strongest (the recommended model's edge "
                "count).")
    return ("Refereed by the audited model's own seed(s): no unpruned baseline runs (strategy none) of these "
            "seeds were found. DASH's pruning score keeps prior edges first, so these models favour "
            "their prior; train the unpruned baseline (lambda explorer: baseline 'none'; CLI: sweep "
            "--audit-referee unpruned) for an audit by the data.")


def audit_run(run_dir, *, prior: np.ndarray | None = None, keep: float = 0.5, high: float = 1.0,
              min_support: float | None = None, referee: bool = True) -> tuple[pd.DataFrame, dict]:
    """The prior audit of a saved run folder; writes ``run_dir/prior_audit.csv``.

    A folder written by a sweep's recommendation (``members.json``: the seeds' runs and the
    level) is audited over all its seeds, refereed by the unpruned runs recorded there
    (``members.json`` -> ``audit`` -> ``runs``) when there are any and ``referee`` is True; any
    other run folder over its own reported checkpoint (confidence 0 or 1).

    Parameters
    ----------
    run_dir
        The run folder.
    prior
        ``(n, n)`` prior in the run's gene order; default: read from the dataset recorded in
        ``members.json`` or in the ``study.json`` of the sweep the run belongs to.
    referee
        Use the recorded unpruned referee runs (False: the audited seeds referee themselves).

    Returns
    -------
    (table, info)
        As :func:`audit_models`.

    Raises
    ------
    DashInputError
        No prior can be found (give one), or the run folder is incomplete.
    """
    from dash_core.studies.selection import level_effects  # lazy: studies.selection imports this module


    folder = Path(run_dir)
    if not (folder / "model.pt").is_file():
        raise DashInputError("this folder has no model.pt; give a run folder (e.g. OUT/recommended of a sweep).",
                             source=str(folder))
    members_file = folder / "members.json"
    dataset_spec = None
    recorded: dict = {}
    if members_file.is_file():
        members = json.loads(members_file.read_text(encoding="utf-8"))
        runs = [Path(r) if Path(r).is_absolute() else folder / r for r in members["runs"]]
        effects, genes = level_effects(runs, int(members["level"]))
        dataset_spec = members.get("dataset")
        recorded = members.get("audit") or {}
    else:
        model, _, genes = load_checkpoint(folder / "model.pt")
        effects = [model.effect_array()]
        for up in (folder.parent, folder.parent.parent):
            if (up / "study.json").is_file():
                dataset_spec = json.loads((up / "study.json").read_text(encoding="utf-8")).get("dataset")
                break
    if prior is None:
        if not dataset_spec:
            raise DashInputError("no prior network is recorded for this run; give one with --prior FILE.",
                                 source=str(folder))
        ds, _ = DatasetSpec(**dataset_spec).load()
        if list(ds.genes) != list(genes):
            raise DashInputError("the recorded dataset's genes differ from the run's.", source=str(folder))
        prior = ds.prior_matrix()
    ref = [Path(r) if Path(r).is_absolute() else folder / r for r in recorded.get("runs") or []] if referee else []
    missing = [str(r) for r in ref if not (r / "model.pt").is_file()]
    if missing:
        raise DashInputError(f"the audit's referee run {missing[0]} is missing (moved or deleted); audit without it "
                             "(--self-referee) or restore it.", source=str(folder))
    table, info = audit_models(prior, effects, genes, referee=ref, referee_seeds=recorded.get("seeds") or [],
                               base=folder, keep=keep, high=high, min_support=min_support)
    table.to_csv(folder / "prior_audit.csv", index=False)
    return table, info

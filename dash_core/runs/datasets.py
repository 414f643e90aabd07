"""Dataset folders: a dataset written as plain files with a ``dataset.json`` manifest.

This is how the app hands data to background jobs (a run keeps its own copy):
tidy expression CSVs, ``source,target,weight`` networks (source = regulator),
GMT gene sets and the manifest (:func:`save_dataset_dir`, :func:`load_dataset_dir`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dash_core.data import EXTRA_SERIES, ExpressionData, Trajectory
from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.runs.records import _json_default, _plain

__all__ = [
    "DATASET_MANIFEST",
    "dataset_files",
    "folder_digest",
    "load_dataset_dir",
    "read_manifest",
    "save_dataset_dir",
    "validation_lines",
]

#: Name of the manifest file of a dataset folder.
DATASET_MANIFEST = "dataset.json"
_NETWORK_KEYS = ("prior", "ppi", "truth")


def save_dataset_dir(dataset, folder: str | os.PathLike, *, gene_sets: Mapping[str, list[str]] | None = None,
                     gene_sets_file: str | os.PathLike | None = None, source: str = "",
                     description: str = "", report: ValidationReport | None = None,
                     preset: str | None = None) -> Path:
    """Write ``dataset`` as a dataset folder readable by :func:`load_dataset_dir`.

    Files: ``expression.csv``, ``test_expression.csv``, ``test_expression_clean.csv`` and
    ``validation_expression.csv``
    (tidy ``trajectory, time, <genes...>``), ``prior.csv``, ``ppi.csv``, ``truth.csv``
    (``source, target, weight``, source = regulator), ``gene_sets.gmt`` and the
    manifest ``dataset.json`` (name, source, sizes, file names). The folder's
    content depends only on the data (no time stamps), so equal data give equal
    files (see :func:`folder_digest`).

    Parameters
    ----------
    dataset
        A :class:`dash_core.data.Dataset`.
    folder
        Target folder (created).
    gene_sets
        Optional gene sets ``name -> genes`` (e.g. the simulator's modules).
    gene_sets_file
        Optional GMT file copied as ``gene_sets.gmt`` (instead of ``gene_sets``).
    source
        Where the data came from (``"demo"``, ``"upload"``, ``"simulation"``).
    description
        One line for the user.
    report
        Validation findings of the original files (kept in the manifest as
        ``validation``, since the written files are already aligned).
    preset
        Name of the run preset (:mod:`dash_core.presets`) that suits these data, if any; the app
        proposes it on the Train page.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    from dash_core.io.gmt import write_gmt  # lazy: dash_core.io pulls in scipy; see dash_core.runs.jobs's import note

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    dataset.expression.to_tidy().to_csv(out / "expression.csv", index=False)
    files["expression"] = "expression.csv"
    for key in EXTRA_SERIES:
        expr = getattr(dataset, key, None)
        if expr is not None:
            expr.to_tidy().to_csv(out / f"{key}.csv", index=False)
            files[key] = f"{key}.csv"
    for key in _NETWORK_KEYS:
        table = getattr(dataset, key)
        if table is not None:
            table[["source", "target", "weight"]].to_csv(out / f"{key}.csv", index=False)
            files[key] = f"{key}.csv"
    if gene_sets_file is not None:
        shutil.copyfile(gene_sets_file, out / "gene_sets.gmt")
        files["gene_sets"] = "gene_sets.gmt"
    elif gene_sets:
        write_gmt(dict(gene_sets), out / "gene_sets.gmt")
        files["gene_sets"] = "gene_sets.gmt"
    lo, hi = dataset.expression.value_range()
    manifest = {
        "name": dataset.name,
        "source": source,
        "description": description,
        "n_genes": dataset.expression.n_genes,
        "n_trajectories": dataset.expression.n_trajectories,
        "n_observations": dataset.expression.n_observations,
        "value_range": [lo, hi],
        "files": files,
        "coverage": _plain(dataset.metadata.get("coverage", {})),
        "original_sources": _plain(dataset.metadata.get("sources", {})),
        "validation": validation_lines(report) if report is not None else [],
    }
    if preset:
        manifest["preset"] = preset
    (out / DATASET_MANIFEST).write_text(json.dumps(_plain(manifest), indent=2, default=_json_default))
    return out


def read_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """The ``dataset.json`` manifest of a dataset folder."""
    path = Path(folder) / DATASET_MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DashInputError(f"{folder} is not a dataset folder (no {DATASET_MANIFEST}).") from None
    except json.JSONDecodeError as exc:
        raise DashInputError(f"The dataset manifest is not valid JSON ({exc}).", source=str(path)) from None


def dataset_files(folder: str | os.PathLike) -> dict[str, Path]:
    """Paths of a dataset folder's files, keyed ``expression, test_expression, test_expression_clean,
    validation_expression, prior, ppi, truth, gene_sets`` (only those present)."""
    folder = Path(folder)
    return {k: folder / v for k, v in read_manifest(folder).get("files", {}).items()}


def load_dataset_dir(folder: str | os.PathLike):
    """Read a dataset folder with :func:`dash_core.io.load_dataset`.

    Returns
    -------
    (dash_core.data.Dataset, ValidationReport)
        Networks are ``source, target, weight`` tables aligned to the expression genes.
    """
    from dash_core.io import load_dataset  # lazy: see write_gmt above

    manifest = read_manifest(folder)
    files = dataset_files(folder)
    if "expression" not in files:
        raise DashInputError(f"The dataset folder {folder} lists no expression file.")
    dataset, report = load_dataset(
        files["expression"],
        files.get("prior"),
        ppi=files.get("ppi"),
        truth=files.get("truth"),
        test_expression=files.get("test_expression"),
        validation_expression=files.get("validation_expression"),
        name=manifest.get("name") or None,
    )
    if "test_expression_clean" in files and dataset.test_expression is not None:
        from dash_core.io import read_expression  # lazy: see write_gmt above

        clean, _ = read_expression(files["test_expression_clean"])
        pos = {g: i for i, g in enumerate(clean.genes)}
        if all(g in pos for g in dataset.genes):
            idx = [pos[g] for g in dataset.genes]
            dataset.test_expression_clean = ExpressionData(
                list(dataset.genes), [Trajectory(t.name, t.times, t.values[:, idx]) for t in clean.trajectories])
    dataset.metadata["dataset_dir"] = str(Path(folder))
    dataset.metadata["source"] = manifest.get("source", "")
    return dataset, report


def folder_digest(folder: str | os.PathLike) -> str:
    """Short SHA-256 digest of the files in ``folder`` (names and contents), for content-addressed copies."""
    h = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            h.update(path.relative_to(folder).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def validation_lines(report: ValidationReport) -> list[tuple[str, str]]:
    """``(level, text)`` pairs of a report, errors first, for display."""
    order = {"error": 0, "warning": 1, "info": 2}
    return [(i.level, (f"{i.source}: " if i.source else "") + i.message)
            for i in sorted(report.issues, key=lambda i: order.get(i.level, 3))]

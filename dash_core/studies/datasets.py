"""Where a study's data comes from: :class:`DatasetSpec` (file paths, or a simulation to regenerate)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dash_core.data import Dataset, ExpressionData, Trajectory
from dash_core.io import load_dataset, minmax_scale_dataset, read_expression
from dash_core.io.errors import DashInputError
from dash_core.io.h5ad import H5adOptions
from dash_core.simulate import SimulationConfig, simulate

__all__ = ["DatasetSpec"]


@dataclass(frozen=True)
class DatasetSpec:
    """Where a study's data comes from: file paths, or a simulation to regenerate.

    A spec is small and picklable, so it travels to worker processes and Ray
    tasks, which load the data themselves (:meth:`load`).

    Attributes
    ----------
    expression
        Training (+ validation) expression file (tidy CSV/TSV or PHOENIX format).
    prior, ppi, truth
        Network files (``source,target[,weight]`` tables or square matrices);
        prior and truth are regulator x target, ppi is symmetric.
    genes
        Gene-name file for PHOENIX-format expression / unlabelled matrices.
    test_expression
        Held-out test trajectories (noisy, as observed).
    test_expression_clean
        Noise-free version of ``test_expression`` (simulations) for the "true" MSE.
    simulation
        Instead of files: a :meth:`dash_core.simulate.SimulationConfig.to_dict`
        dict; :meth:`load` re-simulates it (deterministic for a fixed seed).
    minmax_scale
        Min-max scale expression to [0, 1] with the training range (test sets too).
    name
        Dataset label.
    validation_expression
        A separate validation series (same genes) that chooses the checkpoint.
    h5ad
        :class:`dash_core.io.H5adOptions` fields for ``.h5ad`` expression files (time column, bins, ...).
    """

    expression: str | None = None
    prior: str | None = None
    ppi: str | None = None
    truth: str | None = None
    genes: str | None = None
    test_expression: str | None = None
    test_expression_clean: str | None = None
    simulation: dict | None = None
    minmax_scale: bool = False
    name: str | None = None
    validation_expression: str | None = None
    h5ad: dict | None = None

    def __post_init__(self) -> None:
        if self.simulation is None and self.expression is None:
            raise DashInputError("A dataset needs an expression file (or a simulation config).")
        if self.simulation is not None and self.expression is not None:
            raise DashInputError("A dataset is either files or a simulation config, not both.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (inverse: ``DatasetSpec(**d)``)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_files(cls, expression: str, *, prior: str | None = None, ppi: str | None = None,
                   truth: str | None = None, genes: str | None = None, test_expression: str | None = None,
                   minmax_scale: bool = False, name: str | None = None,
                   validation_expression: str | None = None, h5ad: dict | None = None) -> DatasetSpec:
        """Spec of user files, with every path made absolute (so worker processes find them)."""

        def absolute(v: str | None) -> str | None:
            return None if v is None else str(Path(v).resolve())

        return cls(expression=absolute(expression), prior=absolute(prior), ppi=absolute(ppi), truth=absolute(truth),
                   genes=absolute(genes), test_expression=absolute(test_expression),
                   minmax_scale=bool(minmax_scale), name=name,
                   validation_expression=absolute(validation_expression), h5ad=h5ad)

    @classmethod
    def from_simulation_dir(cls, folder, *, name: str | None = None) -> DatasetSpec:
        """Spec of a folder written by :func:`dash_core.simulate.write_simulation` (absolute paths)."""
        root = Path(folder).resolve()

        def opt(fname: str) -> str | None:
            p = root / fname
            return str(p) if p.exists() else None

        if opt("expression.csv") is None:
            raise DashInputError(f"{root} holds no expression.csv; is it a folder written by `simulate`?")
        return cls(expression=opt("expression.csv"), prior=opt("prior.csv"), ppi=opt("ppi.csv"),
                   truth=opt("truth.csv"), test_expression=opt("test_expression.csv"),
                   test_expression_clean=opt("test_expression_clean.csv"), name=name or root.name)

    def load(self) -> tuple[Dataset, list[str]]:
        """Read (or simulate) the dataset.

        Returns
        -------
        (Dataset, list of str)
            The aligned dataset and the validation messages (warnings and
            notes) worth showing to the user.
        """
        if self.simulation is not None:
            return simulate(SimulationConfig.from_dict(dict(self.simulation))).dataset, []

        dataset, report = load_dataset(self.expression, self.prior, genes=self.genes, ppi=self.ppi,
                                       truth=self.truth, test_expression=self.test_expression, name=self.name,
                                       validation_expression=self.validation_expression,
                                       h5ad=H5adOptions(**self.h5ad) if self.h5ad else None)
        messages = [str(i) for i in report.issues if i.level != "info"]
        if self.test_expression_clean is not None:
            clean, _ = read_expression(self.test_expression_clean, genes=self.genes)
            dataset.test_expression_clean = _reorder_genes(clean, dataset.genes, self.test_expression_clean)
        if self.minmax_scale:
            dataset, (lo, hi) = minmax_scale_dataset(dataset)
            messages.append(f"[info] expression min-max scaled from [{lo:.4g}, {hi:.4g}] to [0, 1]")
        return dataset, messages


def _reorder_genes(expr: ExpressionData, genes: list[str], source: str) -> ExpressionData:
    index = {g: i for i, g in enumerate(expr.genes)}
    missing = [g for g in genes if g not in index]
    if missing:
        raise DashInputError(f"{len(missing)} training gene(s) are missing, e.g. {missing[:3]}; the file must "
                             "hold every gene of the training expression.", source=source)
    cols = np.array([index[g] for g in genes])
    return ExpressionData(list(genes), [Trajectory(t.name, t.times, t.values[:, cols]) for t in expr.trajectories])

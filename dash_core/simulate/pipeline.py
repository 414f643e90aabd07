"""The whole simulation (:func:`simulate`: network, dynamics, sampling, noise, prior) and writing its files."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dash_core.data import Dataset, ExpressionData
from dash_core.io.gmt import write_gmt
from dash_core.simulate.config import ROLE_INPUT, SimulationConfig, random_streams
from dash_core.simulate.dynamics import GRNDynamics, integrate
from dash_core.simulate.gene_sets import module_gene_sets
from dash_core.simulate.network import generate_network, network_statistics
from dash_core.simulate.prior import coregulation_table, corrupt_prior
from dash_core.simulate.sampling import add_noise, sample_initial_states, to_expression


# --------------------------------------------------------------------------- top level
@dataclass
class SimulationResult:
    """Everything a simulation produces.

    Attributes
    ----------
    dataset
        :class:`~dash_core.data.Dataset`: noisy train+validation ``expression``,
        corrupted signed ``prior``, co-regulation ``ppi`` (Pi), uncorrupted
        ``truth``, noisy ``test_expression`` and ``test_expression_clean``.
    expression_clean
        Noise-free version of ``dataset.expression``.
    network
        Full edge parameter table (see :class:`SimNetwork`).
    gene_table
        Gene roles and input / initial-condition parameters.
    prior_moves
        The edges moved by the prior corruption.
    gene_sets
        :func:`module_gene_sets` of the true network.
    config
        The settings that re-create this result exactly.
    timings
        Seconds spent per stage (``network``, ``integrate``, ``total``).
    """

    dataset: Dataset
    expression_clean: ExpressionData
    network: pd.DataFrame
    gene_table: pd.DataFrame
    prior_moves: pd.DataFrame
    gene_sets: dict[str, list[str]]
    config: SimulationConfig
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def genes(self) -> list[str]:
        return self.dataset.genes

    def statistics(self) -> dict:
        """:func:`network_statistics` of the true network."""
        return network_statistics(
            self.dataset.truth, self.genes, self.gene_table.loc[self.gene_table["role"] == ROLE_INPUT, "gene"].tolist()
        )


def simulate(config: SimulationConfig | None = None) -> SimulationResult:
    """Simulate a SIM350-style dataset (methods E.1-E.6).

    Train and test trajectories are integrated together in one vectorised
    system; the test set uses independent condition draws and its own noise stream.

    Parameters
    ----------
    config
        Settings; default :meth:`SimulationConfig.sim350`.

    Returns
    -------
    SimulationResult
        Expression arrays are ``(T, n)`` per trajectory (row = time, column = gene);
        prior / truth / ppi are long ``source, target, weight`` tables.
    """
    config = config or SimulationConfig.sim350()
    t0 = time.perf_counter()
    net = generate_network(config)
    t_net = time.perf_counter() - t0
    rngs = random_streams(config.seed, config.noise_seed, config.prior_seed)
    dyn = GRNDynamics.from_edges(net.edges, net.genes)
    x0_train = sample_initial_states(net, config.n_trajectories, rngs["train_conditions"])
    x0_test = sample_initial_states(net, config.n_test_trajectories, rngs["test_conditions"])
    t1 = time.perf_counter()
    clean = integrate(
        dyn,
        np.vstack([x0_train, x0_test]),
        config.time_points,
        method=config.solver,
        rtol=config.rtol,
        atol=config.atol,
    )
    t_int = time.perf_counter() - t1
    clean_train, clean_test = clean[: config.n_trajectories], clean[config.n_trajectories :]
    noisy_train = add_noise(clean_train, config.noise_sigma, rngs["train_noise"])
    noisy_test = add_noise(clean_test, config.noise_sigma, rngs["test_noise"])

    truth = net.truth
    prior, moves = corrupt_prior(
        truth, net.genes, config.corruption_fraction, rngs["corruption"], flip_fraction=config.flip_fraction
    )
    ppi = coregulation_table(prior, net.genes)
    gene_sets = module_gene_sets(truth, genes=net.genes, seed=int(rngs["gene_sets"].integers(2**31)))

    tp = config.time_points
    has_test = config.n_test_trajectories > 0
    dataset = Dataset(
        expression=to_expression(noisy_train, tp, net.genes, "traj"),
        prior=prior,
        ppi=ppi,
        truth=truth,
        test_expression=to_expression(noisy_test, tp, net.genes, "test") if has_test else None,
        test_expression_clean=to_expression(clean_test, tp, net.genes, "test") if has_test else None,
        name=config.name,
        metadata={
            "source": "simulation",
            "roles": net.roles,
            "input_genes": net.input_genes,
            "noise_sigma": config.noise_sigma,
            "prior_corruption": config.corruption_fraction,
            "moved_edges": int(len(moves)),
            "config": config.to_dict(),
        },
    )
    return SimulationResult(
        dataset=dataset,
        expression_clean=to_expression(clean_train, tp, net.genes, "traj"),
        network=net.edges,
        gene_table=net.gene_table,
        prior_moves=moves,
        gene_sets=gene_sets,
        config=config,
        timings={"network": t_net, "integrate": t_int, "total": time.perf_counter() - t0},
    )


# --------------------------------------------------------------------------- writing
def write_reference_csv(expression: ExpressionData, path: Path) -> Path:
    """Reference-compatible CSV (methods E.6).

    First row ``n, N_traj``; then per trajectory ``n`` gene rows (the gene's
    values over time) followed by one row of time points. Gene names are not stored.
    """
    path = Path(path)
    n, n_traj = expression.n_genes, expression.n_trajectories
    lines = [f"{n},{n_traj}"]
    for tr in expression.trajectories:
        lines.extend(",".join(repr(float(v)) for v in row) for row in tr.values.T)
        lines.append(",".join(repr(float(v)) for v in tr.times))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _gene_set_descriptions(gene_sets: dict[str, list[str]]) -> dict[str, str]:
    out = {}
    for name, members in gene_sets.items():
        if name.startswith("REGULON_"):
            out[name] = f"{members[0]} and its {len(members) - 1} simulated targets"
        elif name.startswith("PROGRAM_"):
            out[name] = f"{members[0]} and the {len(members) - 1} regulators that share targets with it"
        else:
            out[name] = f"random decoy set of {len(members)} genes"
    return out


def write_simulation(result: SimulationResult, out_dir, *, reference_format: bool = False) -> dict[str, Path]:
    """Write a simulation to ``out_dir`` (created if needed).

    Files: ``expression.csv``, ``expression_clean.csv``, ``test_expression.csv``,
    ``test_expression_clean.csv`` (tidy ``trajectory, time, <genes...>``),
    ``prior.csv``, ``truth.csv``, ``ppi.csv`` (``source, target, weight``),
    ``network_parameters.csv`` (edge parameters and logic), ``gene_parameters.csv``
    (roles, input models), ``prior_moves.csv``, ``gene_sets.gmt``,
    ``simulation_config.json`` (loadable with :meth:`SimulationConfig.from_dict`)
    and, with ``reference_format``, ``expression_reference.csv`` (methods E.6).

    Returns
    -------
    dict[str, pathlib.Path]
        File key (name without extension) -> path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ds = result.dataset
    paths: dict[str, Path] = {}

    def tidy(key: str, expr: ExpressionData | None) -> None:
        if expr is not None:
            paths[key] = out / f"{key}.csv"
            expr.to_tidy().to_csv(paths[key], index=False)

    tidy("expression", ds.expression)
    tidy("expression_clean", result.expression_clean)
    tidy("test_expression", ds.test_expression)
    tidy("test_expression_clean", ds.test_expression_clean)
    for key, table in (
        ("prior", ds.prior),
        ("truth", ds.truth),
        ("ppi", ds.ppi),
        ("network_parameters", result.network),
        ("gene_parameters", result.gene_table),
        ("prior_moves", result.prior_moves),
    ):
        paths[key] = out / f"{key}.csv"
        table.to_csv(paths[key], index=False)
    paths["gene_sets"] = write_gmt(result.gene_sets, out / "gene_sets.gmt", _gene_set_descriptions(result.gene_sets))
    paths["simulation_config"] = out / "simulation_config.json"
    paths["simulation_config"].write_text(json.dumps(result.config.to_dict(), indent=2), encoding="utf-8")
    if reference_format:
        paths["expression_reference"] = write_reference_csv(ds.expression, out / "expression_reference.csv")
    return paths

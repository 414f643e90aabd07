"""SIM350-style simulated gene regulatory networks and trajectories (methods E.1-E.6).

The simulator draws a random regulator/target network tuned to the statistics of
the SIM350 benchmark, turns it into SimulatorGRN-style ODE dynamics (Hill
activation, AND/OR logic around a main regulator), integrates many trajectories
at once, adds observation noise and builds a corrupted prior plus its
co-regulation matrix.

Gene names
----------
One scheme, fixed by the role of the gene; zero-padded numbers, genes ordered
inputs, internal regulators, pure targets (this is the gene index of every
matrix and of every trajectory's columns):

* ``IN01, IN02, ...`` input genes: constant in time, regulators only;
* ``TF01, TF02, ...`` internal regulators: regulated and regulating;
* ``G001, G002, ...`` pure targets: regulated only.

Orientation
-----------
Gene-level matrices are ``(n, n)`` with row = regulator (source) and column =
target; networks leave this module as long ``source, target, weight`` tables.
Expression arrays are ``(N, T, n)``: trajectory x time point x gene.

Random streams
--------------
``SimulationConfig.seed`` feeds a :class:`numpy.random.SeedSequence` that is
split into independent child streams (structure, signs, kinetics, logic, input
models, train conditions, test conditions, train noise, test noise, prior
corruption, gene sets), so that e.g. changing the noise level does not change
the network. ``noise_seed`` and ``prior_seed`` optionally replace the streams of
the noise draws and of the prior corruption.

Modules
-------
=============  ==========================================================================
``config``     :class:`SimulationConfig` (presets ``sim350``, ``demo``, ``scaled``) and the
               random streams (E.1-E.5 settings)
``network``    the random network and its SIM350 statistics (E.1)
``dynamics``   Hill activation, AND/OR logic, vectorised integration (E.2)
``sampling``   initial states, the 0/2/3/7/9 design (E.3) and observation noise (E.4)
``prior``      the corrupted prior (E.5) and the co-regulation matrix Pi (E.6)
``gene_sets``  regulons, co-regulation programs and decoy gene sets
``pipeline``   :func:`simulate` (all of the above) and :func:`write_simulation`
=============  ==========================================================================

The public names of all modules are importable from ``dash_core.simulate``.
"""

from __future__ import annotations

from dash_core.simulate.config import (
    EDGE_PARAMETER_COLUMNS,
    EXPLICIT_SOLVERS,
    ROLE_INPUT,
    ROLE_INTERNAL,
    ROLE_TARGET,
    SIM350_IN_DEGREE_COUNTS,
    SimulationConfig,
)
from dash_core.simulate.dynamics import GRNDynamics, hill_activation, integrate
from dash_core.simulate.gene_sets import module_gene_sets
from dash_core.simulate.network import SimNetwork, assign_logic, gene_names, generate_network, network_statistics
from dash_core.simulate.pipeline import SimulationResult, simulate, write_reference_csv, write_simulation
from dash_core.simulate.prior import coregulation_matrix, coregulation_table, corrupt_prior
from dash_core.simulate.sampling import add_noise, sample_initial_states, to_expression

__all__ = [
    "EDGE_PARAMETER_COLUMNS",
    "EXPLICIT_SOLVERS",
    "ROLE_INPUT",
    "ROLE_INTERNAL",
    "ROLE_TARGET",
    "SIM350_IN_DEGREE_COUNTS",
    "GRNDynamics",
    "SimNetwork",
    "SimulationConfig",
    "SimulationResult",
    "add_noise",
    "assign_logic",
    "coregulation_matrix",
    "coregulation_table",
    "corrupt_prior",
    "gene_names",
    "generate_network",
    "hill_activation",
    "integrate",
    "module_gene_sets",
    "network_statistics",
    "sample_initial_states",
    "simulate",
    "to_expression",
    "write_reference_csv",
    "write_simulation",
]

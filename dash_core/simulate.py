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
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from dash_core.data import Dataset, ExpressionData, Trajectory
from dash_core.io.errors import DashInputError
from dash_core.io.gmt import write_gmt
from dash_core.network import edges_to_matrix, matrix_to_edges

#: In-degree counts of SIM350's regulated genes, as ``(k, number of genes)`` (methods E.1).
SIM350_IN_DEGREE_COUNTS: tuple[tuple[int, float], ...] = (
    (1, 143.0),
    (2, 65.0),
    (3, 39.0),
    (4, 15.0),
    (5, 6.0),
    (6, 4.0),
    (7, 1.0),
    (8, 2.0),
    (10, 1.0),
    (13, 1.0),
)

_SIM350 = {"n_genes": 350, "n_inputs": 74, "n_internal": 23, "n_edges": 550, "n_activating": 374}

_STREAMS = (
    "structure",
    "signs",
    "kinetics",
    "logic",
    "design",
    "train_conditions",
    "test_conditions",
    "train_noise",
    "test_noise",
    "corruption",
    "gene_sets",
)

#: Explicit Runge-Kutta methods of :func:`scipy.integrate.solve_ivp` accepted as ``solver``.
EXPLICIT_SOLVERS = ("RK45", "DOP853", "RK23")

ROLE_INPUT = "input"
ROLE_INTERNAL = "internal"
ROLE_TARGET = "target"

EDGE_PARAMETER_COLUMNS = ["source", "target", "weight", "ec50", "hill_n", "logic_role", "connective"]


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class SimulationConfig:
    """All parameters of the SIM350-style simulator (methods E.1-E.5).

    The defaults reproduce SIM350's statistics (350 genes: 74 inputs, 23
    internal regulators, 253 targets; 550 edges, 374 activating). Use
    :meth:`scaled` for other network sizes and :meth:`demo` for the app's small
    built-in example.

    Attributes
    ----------
    n_genes, n_inputs, n_internal
        Gene counts; pure targets are ``n_genes - n_inputs - n_internal``.
    n_edges
        Number of regulatory edges (no self-loops).
    in_degree_pmf
        ``(k, weight)`` pairs; in-degrees of regulated genes are drawn with
        probability proportional to ``weight`` (SIM350's in-degree counts).
    s_w
        Spread of the log-normal regulator propensity ``exp(s_w * xi)``.
    internal_propensity
        Extra factor on the propensity of internal regulators (1 = methods E.1;
        about 1.3 moves the share of edges leaving inputs towards SIM350's 397/550
        and adds a few more feedback cycles).
    n_activating
        Exact number of activating (+1) edges; the rest repress (-1).
    sign_bias
        If True, each regulator gets a dominant sign (``+`` with probability
        ``sign_bias_p_plus``) kept per edge with probability ``sign_bias_keep``;
        random edges are then flipped to reach exactly ``n_activating``.
    ec50_range, hill_range
        Uniform ranges of the per-edge EC50 and Hill coefficient n (E.1 step 7;
        the Hill default U(1.01, 1.7) matches SIM350's published dynamics).
    p_swap
        Probability that a connective inside a logic group flips AND <-> OR.
    time_points
        Observation times (strictly increasing; the first is the initial state).
    n_trajectories, n_test_trajectories
        Train+validation trajectories and the separate test set.
    noise_sigma
        Standard deviation of the i.i.d. Gaussian observation noise (E.4).
    prior_corruption
        Fraction nu of true edges moved in the prior (E.5); None ties it to the
        noise: ``nu = noise_sigma / 0.5``.
    flip_fraction
        Fraction of the corrupted prior's edges whose sign is flipped (default 0).
    seed
        Master seed of every random stream.
    noise_seed, prior_seed
        Optional separate seeds for the noise draws and the prior corruption.
    solver, rtol, atol
        :func:`scipy.integrate.solve_ivp` explicit method (RK45, DOP853, RK23)
        and tolerances; the system is non-stiff (unit degradation).
    name
        Dataset label.
    """

    n_genes: int = 350
    n_inputs: int = 74
    n_internal: int = 23
    n_edges: int = 550
    in_degree_pmf: tuple[tuple[int, float], ...] = SIM350_IN_DEGREE_COUNTS
    s_w: float = 0.9
    internal_propensity: float = 1.0
    n_activating: int = 374
    sign_bias: bool = False
    sign_bias_p_plus: float = 0.68
    sign_bias_keep: float = 0.9
    ec50_range: tuple[float, float] = (0.4, 0.6)
    hill_range: tuple[float, float] = (1.01, 1.7)
    p_swap: float = 0.1
    time_points: tuple[float, ...] = (0.0, 2.0, 3.0, 7.0, 9.0)
    n_trajectories: int = 150
    n_test_trajectories: int = 10
    noise_sigma: float = 0.025
    prior_corruption: float | None = None
    flip_fraction: float = 0.0
    seed: int = 0
    noise_seed: int | None = None
    prior_seed: int | None = None
    solver: str = "RK45"
    rtol: float = 1e-8
    atol: float = 1e-10
    name: str = "SIM350-like"

    def __post_init__(self) -> None:
        # normalise list inputs (e.g. from JSON) to tuples so the config stays hashable
        object.__setattr__(self, "in_degree_pmf", tuple((int(k), float(w)) for k, w in self.in_degree_pmf))
        object.__setattr__(self, "ec50_range", tuple(float(v) for v in self.ec50_range))
        object.__setattr__(self, "hill_range", tuple(float(v) for v in self.hill_range))
        object.__setattr__(self, "time_points", tuple(float(v) for v in self.time_points))
        self._validate()

    # ------------------------------------------------------------------ derived
    @property
    def n_targets(self) -> int:
        """Number of pure targets."""
        return self.n_genes - self.n_inputs - self.n_internal

    @property
    def n_regulators(self) -> int:
        """Number of regulators (inputs + internal regulators)."""
        return self.n_inputs + self.n_internal

    @property
    def n_regulated(self) -> int:
        """Number of regulated genes (internal regulators + pure targets)."""
        return self.n_internal + self.n_targets

    @property
    def max_edges(self) -> int:
        """Largest edge count possible without self-loops and duplicates."""
        return self.n_internal * (self.n_regulators - 1) + self.n_targets * self.n_regulators

    @property
    def corruption_fraction(self) -> float:
        """Effective prior corruption nu (``noise_sigma / 0.5`` when tied)."""
        return self.noise_sigma / 0.5 if self.prior_corruption is None else float(self.prior_corruption)

    @property
    def n_moved_edges(self) -> int:
        """``floor(n_edges * nu)``: number of prior edges moved by the corruption."""
        return int(math.floor(self.n_edges * self.corruption_fraction + 1e-9))

    # ------------------------------------------------------------------ presets
    @classmethod
    def sim350(cls, **overrides) -> SimulationConfig:
        """SIM350's statistics: 350 genes, 74 inputs, 23 internal, 550 edges (374 + / 176 -)."""
        return cls(**overrides)

    @classmethod
    def demo(cls, **overrides) -> SimulationConfig:
        """The app's built-in demo: 48 genes (10 inputs, 3 internal, 35 targets, 75 edges), 40 trajectories."""
        base = {"n_trajectories": 40, "n_test_trajectories": 10, "name": "demo"}
        base.update(overrides)
        return cls.scaled(48, **base)

    @classmethod
    def scaled(cls, n_genes: int, **overrides) -> SimulationConfig:
        """A config with counts scaled from the SIM350 ratios to ``n_genes``.

        Inputs, internal regulators, edges and activating edges keep SIM350's
        proportions (74/350, 23/350, 550/350, 374/550), rounded and then clipped
        so that the network stays valid for small ``n`` (at least one input and
        one regulated gene, every regulated gene has a regulator, every
        regulator has a target). ``overrides`` replace any field afterwards.
        """
        n = int(n_genes)
        if n < 2:
            raise DashInputError(f"n_genes = {n}: a simulated network needs at least 2 genes (one input, one target).")
        n_in = min(max(1, round(n * _SIM350["n_inputs"] / _SIM350["n_genes"])), n - 1)
        n_int = min(max(0, round(n * _SIM350["n_internal"] / _SIM350["n_genes"])), n - 1 - n_in)
        n_reg, n_tgt = n_in + n_int, n - n_in - n_int
        max_e = n_int * (n_reg - 1) + n_tgt * n_reg
        min_e = max(n_int + n_tgt, n_reg)
        n_e = round(n * _SIM350["n_edges"] / _SIM350["n_genes"])
        n_e = int(min(max(n_e, min_e), max_e))
        n_act = int(round(n_e * _SIM350["n_activating"] / _SIM350["n_edges"]))
        values = {
            "n_genes": n,
            "n_inputs": n_in,
            "n_internal": n_int,
            "n_edges": n_e,
            "n_activating": n_act,
            "name": f"SIM{n}-like",
        }
        # counts that depend on an overridden count are re-derived from it
        if "n_edges" in overrides and "n_activating" not in overrides:
            values["n_activating"] = int(
                round(int(overrides["n_edges"]) * _SIM350["n_activating"] / _SIM350["n_edges"])
            )
        values.update(overrides)
        return cls(**values)

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        """JSON-ready dict of all fields (tuples become lists)."""
        return json.loads(json.dumps(asdict(self)))

    @classmethod
    def from_dict(cls, values: dict) -> SimulationConfig:
        """Re-create a config from :meth:`to_dict` output; unknown keys raise DashInputError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DashInputError(
                f"Unknown simulation setting(s) {unknown}. Known settings are: {sorted(known)}.",
                source="simulation config",
            )
        return cls(**values)

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        def bad(msg: str) -> None:
            raise DashInputError(msg, source="simulation config")

        if self.n_genes < 2:
            bad(f"n_genes = {self.n_genes}: at least 2 genes are needed.")
        if self.n_inputs < 1:
            bad(f"n_inputs = {self.n_inputs}: at least one input gene is needed (inputs drive the dynamics).")
        if self.n_internal < 0:
            bad(f"n_internal = {self.n_internal} must be >= 0.")
        if self.n_targets < 0:
            bad(
                f"n_inputs + n_internal = {self.n_inputs + self.n_internal} exceeds n_genes = {self.n_genes}; "
                "lower the regulator counts."
            )
        if self.n_regulated < 1:
            bad("No regulated gene: make n_genes larger than n_inputs.")
        if self.n_internal > 0 and self.n_regulators < 2:
            bad("An internal regulator needs another regulator; use at least 2 regulators.")
        lo = max(self.n_regulated, self.n_regulators)
        if not lo <= self.n_edges <= self.max_edges:
            bad(
                f"n_edges = {self.n_edges} is impossible for {self.n_regulators} regulators and "
                f"{self.n_regulated} regulated genes: it must lie in [{lo}, {self.max_edges}] (every regulated gene "
                "needs a regulator, every regulator a target, no self-loops or duplicates). "
                "SimulationConfig.scaled(n_genes) picks a valid value."
            )
        if not 0 <= self.n_activating <= self.n_edges:
            bad(f"n_activating = {self.n_activating} must lie in [0, n_edges = {self.n_edges}].")
        if not self.in_degree_pmf or any(k < 1 or w < 0 for k, w in self.in_degree_pmf):
            bad("in_degree_pmf must be non-empty (k, weight) pairs with k >= 1 and weight >= 0.")
        if sum(w for _, w in self.in_degree_pmf) <= 0:
            bad("in_degree_pmf weights sum to 0.")
        if self.s_w < 0:
            bad(f"s_w = {self.s_w} must be >= 0.")
        if self.internal_propensity <= 0:
            bad(f"internal_propensity = {self.internal_propensity} must be > 0.")
        for nm in ("sign_bias_p_plus", "sign_bias_keep", "p_swap", "flip_fraction"):
            v = getattr(self, nm)
            if not 0.0 <= v <= 1.0:
                bad(f"{nm} = {v} must be a probability in [0, 1].")
        e_lo, e_hi = self.ec50_range
        if len(self.ec50_range) != 2 or not 0.0 < e_lo <= e_hi < 1.0:
            bad(f"ec50_range = {self.ec50_range} must be (low, high) with 0 < low <= high < 1.")
        h_lo, h_hi = self.hill_range
        if len(self.hill_range) != 2 or not 0.0 < h_lo <= h_hi:
            bad(f"hill_range = {self.hill_range} must be (low, high) with 0 < low <= high.")
        tp = np.asarray(self.time_points)
        if tp.size < 1 or np.any(np.diff(tp) <= 0) or not np.all(np.isfinite(tp)):
            bad(f"time_points = {self.time_points} must be finite and strictly increasing.")
        if self.n_trajectories < 1 or self.n_test_trajectories < 0:
            bad("n_trajectories must be >= 1 and n_test_trajectories >= 0.")
        if self.noise_sigma < 0:
            bad(f"noise_sigma = {self.noise_sigma} must be >= 0.")
        if not 0.0 <= self.corruption_fraction <= 1.0:
            bad(f"prior corruption nu = {self.corruption_fraction} must lie in [0, 1] (nu = noise_sigma/0.5 if tied).")
        if self.solver not in EXPLICIT_SOLVERS:
            bad(
                f"solver = {self.solver!r}: use one of {', '.join(EXPLICIT_SOLVERS)} (all trajectories form one large "
                "system, for which implicit solvers such as LSODA would need an impractical dense Jacobian)."
            )
        if self.rtol <= 0 or self.atol <= 0:
            bad("rtol and atol must be > 0.")


def _streams(seed: int, noise_seed: int | None = None, prior_seed: int | None = None) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(int(seed)).spawn(len(_STREAMS))
    rngs = {name: np.random.default_rng(ss) for name, ss in zip(_STREAMS, children)}
    if noise_seed is not None:
        tr, te = np.random.SeedSequence(int(noise_seed)).spawn(2)
        rngs["train_noise"], rngs["test_noise"] = np.random.default_rng(tr), np.random.default_rng(te)
    if prior_seed is not None:
        rngs["corruption"] = np.random.default_rng(int(prior_seed))
    return rngs


# --------------------------------------------------------------------------- network (E.1)
@dataclass
class SimNetwork:
    """A simulated ground-truth network with all its parameters.

    Attributes
    ----------
    genes
        Gene index (inputs, internal regulators, targets; see module docstring).
    gene_table
        One row per gene: ``gene, role, input_mean, input_sd, init_shift``
        (input model of E.3 for inputs, fixed initial-condition shift for the rest).
    edges
        One row per edge: ``source, target, weight (+1/-1), ec50, hill_n,
        logic_role (main / coactivator / corepressor), connective`` where
        ``connective`` (``AND``/``OR``) joins the edge's term to the previous
        member of its logic group (empty for the main regulator and for the
        first member of a group).
    """

    genes: list[str]
    gene_table: pd.DataFrame
    edges: pd.DataFrame

    @property
    def input_genes(self) -> list[str]:
        return self.gene_table.loc[self.gene_table["role"] == ROLE_INPUT, "gene"].tolist()

    @property
    def roles(self) -> dict[str, str]:
        return dict(zip(self.gene_table["gene"], self.gene_table["role"]))

    @property
    def truth(self) -> pd.DataFrame:
        """Signed ground truth ``source, target, weight``."""
        return self.edges[["source", "target", "weight"]].reset_index(drop=True)

    def matrix(self) -> np.ndarray:
        """``(n, n)`` signed adjacency; row = regulator, column = target."""
        return edges_to_matrix(self.truth, self.genes)


def gene_names(n_inputs: int, n_internal: int, n_targets: int) -> tuple[list[str], list[str], list[str]]:
    """Names of inputs (``IN01``..), internal regulators (``TF01``..) and pure targets (``G001``..)."""

    def make(prefix: str, count: int, width: int) -> list[str]:
        w = max(width, len(str(count)))
        return [f"{prefix}{i:0{w}d}" for i in range(1, count + 1)]

    return make("IN", n_inputs, 2), make("TF", n_internal, 2), make("G", n_targets, 3)


def _draw_in_degrees(config: SimulationConfig, caps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ks = np.array([k for k, _ in config.in_degree_pmf], dtype=int)
    ws = np.array([w for _, w in config.in_degree_pmf], dtype=float)
    deg = rng.choice(ks, size=caps.size, p=ws / ws.sum())
    deg = np.minimum(deg, caps)
    total = int(deg.sum())
    # nudge random genes by +-1 until the total matches (E.1 step 2)
    while total != config.n_edges:
        if total < config.n_edges:
            cand = np.flatnonzero(deg < caps)
            deg[rng.choice(cand)] += 1
            total += 1
        else:
            cand = np.flatnonzero(deg > 1)
            deg[rng.choice(cand)] -= 1
            total -= 1
    return deg


def generate_network(config: SimulationConfig) -> SimNetwork:
    """Draw a ground-truth network (methods E.1 steps 1-7), its logic (E.2) and input models (E.3).

    Parameters
    ----------
    config
        Simulation settings; only ``config.seed`` drives the randomness.

    Returns
    -------
    SimNetwork
        Gene roles and the edge parameter table (see :class:`SimNetwork`).
    """
    rngs = _streams(config.seed)
    ins, mids, tgts = gene_names(config.n_inputs, config.n_internal, config.n_targets)
    genes = ins + mids + tgts
    n_in, n_reg = config.n_inputs, config.n_regulators
    regulated = np.arange(n_in, config.n_genes)  # internal + targets
    regulators = np.arange(n_reg)  # inputs + internal

    # steps 2-4: in-degrees, propensities, weighted choice of distinct regulators
    rng = rngs["structure"]
    caps = np.where(regulated < n_reg, n_reg - 1, n_reg)
    deg = _draw_in_degrees(config, caps, rng)
    propensity = np.exp(config.s_w * rng.standard_normal(n_reg))
    propensity[n_in:] *= config.internal_propensity
    src_list, tgt_list = [], []
    for j, k in zip(regulated, deg):
        cand = regulators[regulators != j]
        p = propensity[cand] / propensity[cand].sum()
        chosen = rng.choice(cand, size=int(k), replace=False, p=p)
        src_list.append(np.sort(chosen))
        tgt_list.append(np.full(int(k), j))
    src = np.concatenate(src_list)
    tgt = np.concatenate(tgt_list)

    # step 5: every regulator without a target takes over an edge from a regulator with >= 2 targets
    outdeg = np.bincount(src, minlength=n_reg)
    for r in rng.permutation(np.flatnonzero(outdeg == 0)):
        ok = np.flatnonzero((outdeg[src] >= 2) & (tgt != r))
        e = int(rng.choice(ok))  # never empty: E >= n_regulators (validated) and a donor has >= 2 distinct targets
        outdeg[src[e]] -= 1
        src[e] = r
        outdeg[r] += 1
    order = np.lexsort((src, tgt))
    src, tgt = src[order], tgt[order]
    n_e = src.size

    # step 6: exactly n_activating activating edges
    rng = rngs["signs"]
    if config.sign_bias:
        dominant = np.where(rng.random(n_reg) < config.sign_bias_p_plus, 1, -1)
        keep = rng.random(n_e) < config.sign_bias_keep
        sign = np.where(keep, dominant[src], -dominant[src])
        excess = int((sign > 0).sum()) - config.n_activating
        if excess > 0:
            sign[rng.choice(np.flatnonzero(sign > 0), size=excess, replace=False)] = -1
        elif excess < 0:
            sign[rng.choice(np.flatnonzero(sign < 0), size=-excess, replace=False)] = 1
    else:
        sign = -np.ones(n_e, dtype=int)
        sign[rng.choice(n_e, size=config.n_activating, replace=False)] = 1

    # step 7: kinetic parameters
    rng = rngs["kinetics"]
    ec50 = rng.uniform(*config.ec50_range, size=n_e)
    hill_n = rng.uniform(*config.hill_range, size=n_e)

    g = np.asarray(genes, dtype=object)
    edges = pd.DataFrame(
        {"source": g[src], "target": g[tgt], "weight": sign.astype(float), "ec50": ec50, "hill_n": hill_n}
    )
    edges = assign_logic(edges, genes, config.p_swap, rngs["logic"])

    # input models and initial-condition shifts (E.3), fixed properties of the genes
    rng = rngs["design"]
    mu = rng.beta(10, 10, size=n_in)
    sd = np.maximum(rng.beta(15, 15, size=n_in) * np.minimum(mu, 1 - mu) / 3, 0.01)
    shift = rng.uniform(-0.25, 0.25, size=config.n_genes - n_in)
    roles = [ROLE_INPUT] * n_in + [ROLE_INTERNAL] * config.n_internal + [ROLE_TARGET] * config.n_targets
    gene_table = pd.DataFrame(
        {
            "gene": genes,
            "role": roles,
            "input_mean": np.concatenate([mu, np.full(config.n_genes - n_in, np.nan)]),
            "input_sd": np.concatenate([sd, np.full(config.n_genes - n_in, np.nan)]),
            "init_shift": np.concatenate([np.full(n_in, np.nan), shift]),
        }
    )
    return SimNetwork(genes=genes, gene_table=gene_table, edges=edges)


def assign_logic(edges: pd.DataFrame, genes: list[str], p_swap: float, rng: np.random.Generator) -> pd.DataFrame:
    """Add the SimulatorGRN logic of every regulated gene to an edge table (methods E.2).

    For each target j the main regulator m is the regulator of j with the largest
    out-degree in the whole network (ties: first in ``genes``); the other
    activators form the co-activator group A_j, the other repressors the
    co-repressor group R_j, each ordered by gene index. A connective inside a
    group starts as AND for A_j (if m activates) / OR for R_j and flips with
    probability ``p_swap``:

    * m activates: ``act_j = m AND (A_j joined by AND) AND (not R_j joined by OR)``
    * m represses: ``act_j = not m OR (A_j joined by AND) OR (not R_j joined by OR)``

    Parameters
    ----------
    edges
        ``source, target, weight`` (+ any other columns); weight sign = activation (+) / repression (-).
    genes
        Gene index (tie-breaking order).
    p_swap
        Flip probability of each connective inside a group.
    rng
        Random generator for the flips.

    Returns
    -------
    pandas.DataFrame
        A copy sorted by (target, logic role, source) with columns ``logic_role``
        and ``connective`` (``AND``/``OR``, empty for the first member of a group).
    """
    index = {gname: i for i, gname in enumerate(genes)}
    df = edges.copy().reset_index(drop=True)
    si = df["source"].map(index).to_numpy()
    ti = df["target"].map(index).to_numpy()
    if np.isnan(si.astype(float)).any() or np.isnan(ti.astype(float)).any():
        raise DashInputError("Edge table names a gene that is not in the gene list.", source="simulated network")
    si, ti = si.astype(int), ti.astype(int)
    outdeg = np.bincount(si, minlength=len(genes))
    sign = np.sign(df["weight"].to_numpy(dtype=float))
    role = np.empty(len(df), dtype=object)
    conn = np.full(len(df), "", dtype=object)
    rank = np.zeros(len(df), dtype=int)
    for j in np.unique(ti):
        e = np.flatnonzero(ti == j)
        e = e[np.argsort(si[e], kind="stable")]
        m = e[np.lexsort((si[e], -outdeg[si[e]]))[0]]
        role[m] = "main"
        for gname, members, rk in (
            ("coactivator", [x for x in e if x != m and sign[x] > 0], 1),
            ("corepressor", [x for x in e if x != m and sign[x] <= 0], 2),
        ):
            default = "AND" if gname == "coactivator" else "OR"
            other = "OR" if default == "AND" else "AND"
            for pos, x in enumerate(members):
                role[x] = gname
                rank[x] = rk
                if pos > 0:
                    conn[x] = other if rng.random() < p_swap else default
    df["logic_role"] = role
    df["connective"] = conn
    df["_t"], df["_r"], df["_s"] = ti, rank, si
    df = df.sort_values(["_t", "_r", "_s"], kind="stable").drop(columns=["_t", "_r", "_s"]).reset_index(drop=True)
    return df


# --------------------------------------------------------------------------- dynamics (E.2)
def hill_activation(x, ec50, hill_n):
    """Normalised Hill activation fAct of SimulatorGRN (methods E.2).

    ``fAct(x) = B x^n / (B - 1 + x^n)`` with ``B = (EC50^n - 1) / (2 EC50^n - 1)``,
    evaluated in the algebraically identical form
    ``(1 - K) x^n / (K + (1 - 2K) x^n)``, ``K = EC50^n``, which has no
    singularity at ``K = 1/2`` and is finite for ``x`` in [0, 1]. Satisfies
    fAct(0) = 0, fAct(EC50) = 1/2, fAct(1) = 1.

    Parameters
    ----------
    x
        Regulator level(s) in [0, 1]; broadcast against ``ec50`` and ``hill_n``.
    ec50, hill_n
        Half-activation level in (0, 1) and Hill coefficient > 0.
    """
    x = np.asarray(x, dtype=float)
    k = np.power(np.asarray(ec50, dtype=float), hill_n)
    xn = np.power(x, hill_n)
    return (1.0 - k) * xn / (k + (1.0 - 2.0 * k) * xn)


@dataclass
class GRNDynamics:
    """Compiled, vectorised right-hand side ``dx/dt = act(x) - x`` (methods E.2).

    Built from an edge table with logic (:func:`assign_logic`) by
    :meth:`from_edges`. All logic is stored as index arrays, so :meth:`rhs`
    evaluates any number of trajectories with numpy operations and a loop over
    at most ``max in-degree`` group positions.

    Attributes
    ----------
    n_genes
        Size of the gene index.
    regulated
        ``(K,)`` indices of regulated genes; every other gene is constant.
    edge_src, edge_k, edge_n, edge_act
        ``(E,)`` per-edge source index, ``EC50^n``, Hill n and activation flag.
    main_edge, main_act
        ``(K,)`` edge of each regulated gene's main regulator; True if it activates.
    group_edges, group_and, group_len
        ``(G, L)`` padded member edges of every co-activator / co-repressor group,
        connective flags (True = AND, at position p joins member p to the fold of
        members ``< p``) and ``(G,)`` group sizes.
    gene_group_a, gene_group_r
        ``(K,)`` index of each gene's co-activator / co-repressor group, -1 if none.
    """

    n_genes: int
    regulated: np.ndarray
    edge_src: np.ndarray
    edge_k: np.ndarray
    edge_n: np.ndarray
    edge_act: np.ndarray
    main_edge: np.ndarray
    main_act: np.ndarray
    group_edges: np.ndarray
    group_and: np.ndarray
    group_len: np.ndarray
    gene_group_a: np.ndarray
    gene_group_r: np.ndarray
    _pos_groups: list[np.ndarray] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._pos_groups = [np.flatnonzero(self.group_len > p) for p in range(int(self.group_edges.shape[1]))]

    @classmethod
    def from_edges(cls, edges: pd.DataFrame, genes: list[str]) -> GRNDynamics:
        """Compile an edge table with ``ec50, hill_n, logic_role, connective`` columns.

        Parameters
        ----------
        edges
            Output of :func:`assign_logic` (row = edge, source = regulator).
        genes
            Gene index; the state vector's column order.
        """
        required = set(EDGE_PARAMETER_COLUMNS)
        missing = sorted(required - set(edges.columns))
        if missing:
            raise DashInputError(f"Network parameter table lacks column(s) {missing}.", source="simulated network")
        index = {gname: i for i, gname in enumerate(genes)}
        df = edges.reset_index(drop=True)
        si = df["source"].map(index).to_numpy(dtype=int)
        ti = df["target"].map(index).to_numpy(dtype=int)
        ec50 = df["ec50"].to_numpy(dtype=float)
        hill_n = df["hill_n"].to_numpy(dtype=float)
        act = df["weight"].to_numpy(dtype=float) > 0
        roles = df["logic_role"].to_numpy()
        conns = df["connective"].to_numpy()

        regulated = np.unique(ti)
        main_edge = np.full(regulated.size, -1, dtype=int)
        ga = np.full(regulated.size, -1, dtype=int)
        gr = np.full(regulated.size, -1, dtype=int)
        groups: list[list[int]] = []
        group_conn: list[list[bool]] = []
        for k, j in enumerate(regulated):
            e = np.flatnonzero(ti == j)  # table order = group order
            mains = e[roles[e] == "main"]
            if mains.size != 1:
                raise DashInputError(
                    f"Gene {genes[j]} must have exactly one main regulator, found {mains.size}.",
                    source="simulated network",
                )
            main_edge[k] = mains[0]
            for role_name, target_arr in (("coactivator", ga), ("corepressor", gr)):
                members = e[roles[e] == role_name]
                if members.size:
                    target_arr[k] = len(groups)
                    groups.append(members.tolist())
                    group_conn.append([False] + [conns[x] == "AND" for x in members[1:]])
        n_groups = len(groups)
        width = max((len(gm) for gm in groups), default=0)
        group_edges = np.zeros((n_groups, width), dtype=int)
        group_and = np.zeros((n_groups, width), dtype=bool)
        group_len = np.zeros(n_groups, dtype=int)
        for gi, (members, cf) in enumerate(zip(groups, group_conn)):
            group_edges[gi, : len(members)] = members
            group_and[gi, : len(members)] = cf
            group_len[gi] = len(members)
        return cls(
            n_genes=len(genes),
            regulated=regulated,
            edge_src=si,
            edge_k=np.power(ec50, hill_n),
            edge_n=hill_n,
            edge_act=act,
            main_edge=main_edge,
            main_act=act[main_edge],
            group_edges=group_edges,
            group_and=group_and,
            group_len=group_len,
            gene_group_a=ga,
            gene_group_r=gr,
        )

    def activation(self, x: np.ndarray) -> np.ndarray:
        """Logic output ``act_j`` of every regulated gene.

        Parameters
        ----------
        x
            ``(N, n)`` states (row = trajectory, column = gene); clipped to [0, 1].

        Returns
        -------
        numpy.ndarray
            ``(N, K)`` activations of ``self.regulated`` genes, in [0, 1].
        """
        xs = np.clip(x[:, self.edge_src], 0.0, 1.0)
        xn = np.power(xs, self.edge_n)
        k = self.edge_k
        f = (1.0 - k) * xn / (k + (1.0 - 2.0 * k) * xn)
        term = np.where(self.edge_act, f, 1.0 - f)  # (N, E): a_r or (not a_r)

        v = np.empty((x.shape[0], 0))
        if self.group_edges.shape[0]:
            v = term[:, self.group_edges[:, 0]]
            for p in range(1, self.group_edges.shape[1]):
                gi = self._pos_groups[p]
                t = term[:, self.group_edges[gi, p]]
                cur = v[:, gi]
                v[:, gi] = np.where(self.group_and[gi, p], cur * t, cur + t - cur * t)
        act = term[:, self.main_edge]
        for gidx in (self.gene_group_a, self.gene_group_r):
            ks = np.flatnonzero(gidx >= 0)
            if ks.size:
                a, b = act[:, ks], v[:, gidx[ks]]
                act[:, ks] = np.where(self.main_act[ks], a * b, a + b - a * b)
        return act

    def rhs(self, x: np.ndarray) -> np.ndarray:
        """``dx/dt`` for ``(N, n)`` states; zero for input (unregulated) genes."""
        dx = np.zeros_like(x)
        dx[:, self.regulated] = self.activation(x) - x[:, self.regulated]
        return dx


def integrate(
    dynamics: GRNDynamics,
    x0: np.ndarray,
    times,
    *,
    method: str = "RK45",
    rtol: float = 1e-8,
    atol: float = 1e-10,
) -> np.ndarray:
    """Integrate all trajectories at once as one system.

    Parameters
    ----------
    dynamics
        Compiled right-hand side.
    x0
        ``(N, n)`` initial states at ``times[0]`` (row = trajectory, column = gene).
    times
        ``(T,)`` strictly increasing observation times.
    method, rtol, atol
        Passed to :func:`scipy.integrate.solve_ivp`.

    Returns
    -------
    numpy.ndarray
        ``(N, T, n)`` states at ``times``; ``[:, 0]`` equals ``x0``.
    """
    x0 = np.asarray(x0, dtype=float)
    times = np.asarray(times, dtype=float)
    n_traj, n = x0.shape
    out = np.empty((n_traj, times.size, n))
    out[:, 0] = x0
    if times.size == 1:
        return out

    def fun(_t, y):
        return dynamics.rhs(y.reshape(n_traj, n)).ravel()

    sol = solve_ivp(fun, (times[0], times[-1]), x0.ravel(), method=method, t_eval=times, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"ODE integration failed: {sol.message}")
    out[:] = sol.y.reshape(n_traj, n, times.size).transpose(0, 2, 1)
    out[:, 0] = x0
    return out


# --------------------------------------------------------------------------- sampling (E.3) and noise (E.4)
def sample_initial_states(network: SimNetwork, n_trajectories: int, rng: np.random.Generator) -> np.ndarray:
    """Initial states of ``n_trajectories`` trajectories (methods E.3).

    Inputs: constant value ~ N(mu_i, s_i^2) truncated to [0, 1] by resampling.
    Other genes: Beta(2, 2) + the gene's fixed shift, clipped to [0, 1].

    Returns
    -------
    numpy.ndarray
        ``(N, n)``; row = trajectory, column = gene.
    """
    gt = network.gene_table
    is_in = (gt["role"] == ROLE_INPUT).to_numpy()
    mu = gt.loc[is_in, "input_mean"].to_numpy(dtype=float)
    sd = gt.loc[is_in, "input_sd"].to_numpy(dtype=float)
    shift = gt.loc[~is_in, "init_shift"].to_numpy(dtype=float)
    x0 = np.empty((int(n_trajectories), len(network.genes)))
    vals = rng.normal(mu, sd, size=(int(n_trajectories), mu.size))
    bad = (vals < 0) | (vals > 1)
    while bad.any():
        r, c = np.nonzero(bad)
        vals[r, c] = rng.normal(mu[c], sd[c])
        bad = (vals < 0) | (vals > 1)
    x0[:, is_in] = vals
    x0[:, ~is_in] = np.clip(rng.beta(2, 2, size=(int(n_trajectories), shift.size)) + shift, 0.0, 1.0)
    return x0


def add_noise(values: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``values + N(0, sigma^2)`` i.i.d. on every entry (inputs and t = 0 included; methods E.4)."""
    values = np.asarray(values, dtype=float)
    if sigma == 0:
        return values.copy()
    return values + rng.normal(0.0, sigma, size=values.shape)


def to_expression(values: np.ndarray, times, genes: list[str], prefix: str) -> ExpressionData:
    """Wrap ``(N, T, n)`` values into :class:`ExpressionData` with trajectories ``<prefix>001``..."""
    w = max(3, len(str(values.shape[0])))
    times = np.asarray(times, dtype=float)
    trajs = [Trajectory(f"{prefix}{i + 1:0{w}d}", times.copy(), values[i].copy()) for i in range(values.shape[0])]
    return ExpressionData(list(genes), trajs)


# --------------------------------------------------------------------------- prior corruption (E.5), Pi (E.6)
def corrupt_prior(
    truth: pd.DataFrame,
    genes: list[str],
    fraction: float,
    rng: np.random.Generator,
    *,
    flip_fraction: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Move ``floor(|truth| * fraction)`` true edges to random new pairs, keeping signs (methods E.5).

    The moved edges are chosen uniformly without replacement and removed; each
    is then placed, in order, on a uniformly drawn ordered pair of two distinct
    genes with its original sign (a collision overwrites the entry already
    there). Finally ``floor(flip_fraction * |prior|)`` prior edges, chosen
    uniformly, change sign.

    Parameters
    ----------
    truth
        Signed true edges ``source, target, weight``.
    genes
        Gene index (candidate sources and targets of moved edges).
    fraction
        nu in [0, 1].
    rng
        Random generator (the corruption stream).
    flip_fraction
        Fraction of prior edges whose sign flips.

    Returns
    -------
    prior
        Corrupted signed prior ``source, target, weight`` (row order: regulator, target by gene index).
    moves
        One row per moved edge: ``source, target, new_source, new_target, weight``.
    """
    n = len(genes)
    p = edges_to_matrix(truth, genes)
    si, ti = np.nonzero(p)
    n_move = int(math.floor(len(si) * fraction + 1e-9))
    pick = rng.choice(len(si), size=n_move, replace=False) if n_move else np.zeros(0, dtype=int)
    signs = p[si[pick], ti[pick]].copy()
    p[si[pick], ti[pick]] = 0.0
    new_s = rng.integers(0, n, size=n_move)
    new_t = (new_s + rng.integers(1, n, size=n_move)) % n  # uniform over genes != new_s
    for a, b, w in zip(new_s, new_t, signs):
        p[a, b] = w
    if flip_fraction > 0:
        ps, pt = np.nonzero(p)
        n_flip = int(math.floor(len(ps) * flip_fraction + 1e-9))
        f = rng.choice(len(ps), size=n_flip, replace=False)
        p[ps[f], pt[f]] *= -1.0
    g = np.asarray(genes, dtype=object)
    moves = pd.DataFrame(
        {
            "source": g[si[pick]],
            "target": g[ti[pick]],
            "new_source": g[new_s],
            "new_target": g[new_t],
            "weight": signs,
        }
    )
    return matrix_to_edges(p, genes, sort=False), moves


def coregulation_matrix(prior_matrix: np.ndarray) -> np.ndarray:
    """``Pi = N(|P| |P|^T)`` (methods B.1 / E.6): shared-target counts normalised to sum 1.

    Parameters
    ----------
    prior_matrix
        ``(n, n)`` prior, row = regulator, column = target.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` symmetric, regulator x regulator; zero rows for genes that
        regulate nothing; all zeros if the prior is empty.
    """
    a = np.abs(np.asarray(prior_matrix, dtype=float))
    pi = a @ a.T
    total = pi.sum()
    return pi / total if total > 0 else pi


def coregulation_table(prior: pd.DataFrame, genes: list[str]) -> pd.DataFrame:
    """Pi of :func:`coregulation_matrix` as a long symmetric table ``source, target, weight``.

    Both directions and the diagonal are listed; genes that regulate nothing do not appear.
    """
    return matrix_to_edges(coregulation_matrix(edges_to_matrix(prior, genes)), genes, sort=False)


# --------------------------------------------------------------------------- gene sets
def module_gene_sets(
    network: pd.DataFrame,
    min_size: int = 3,
    *,
    n_random: int = 5,
    programs: bool = True,
    genes: list[str] | None = None,
    seed: int = 0,
) -> dict[str, list[str]]:
    """Regulon and co-regulation program gene sets of a network plus size-matched random decoys.

    The two kinds of true sets suit the two pathway tests (methods G.1): a regulon is
    one regulator and its targets, whose *connections* the module test finds; a program
    is a regulator and its co-regulators, all of them influential genes, which the
    influence-sum permutation test finds (a regulon's targets regulate nothing, so
    its influence sum is no larger than a random set's).

    Parameters
    ----------
    network
        Edge table ``source, target[, weight]`` (source = regulator).
    min_size
        A regulator with at least ``min_size`` distinct targets gets a set
        ``REGULON_<regulator>`` = the regulator followed by its targets; one
        with at least ``min_size - 1`` co-regulators gets ``PROGRAM_<regulator>``.
    n_random
        Number of decoy sets ``RANDOM_<k>`` (k = 1..n_random), each drawn
        uniformly without replacement from ``genes`` with the size of a true set
        (sizes taken in turn from the true sets in random order). No decoys
        when no true set qualifies.
    programs
        Add ``PROGRAM_<regulator>`` sets: the regulator followed by every other
        regulator that shares at least one target with it.
    genes
        Universe for decoys and ordering; default: every gene named in ``network``
        in order of first appearance.
    seed
        Seed of the decoy draws.

    Returns
    -------
    dict[str, list[str]]
        Set name -> member genes (regulons, then programs, each sorted by regulator, then decoys).
    """
    if genes is None:
        genes = list(dict.fromkeys(list(network["source"].astype(str)) + list(network["target"].astype(str))))
    order = {g: i for i, g in enumerate(genes)}
    sets: dict[str, list[str]] = {}
    src = network["source"].astype(str).to_numpy()
    tgt = network["target"].astype(str).to_numpy()
    def rank(g: str) -> int:
        return order.get(g, len(order))

    regulators = sorted(set(src), key=rank)
    targets_of = {reg: {t for s, t in zip(src, tgt) if s == reg and t != reg} for reg in regulators}
    for reg in regulators:
        if len(targets_of[reg]) >= min_size:
            sets[f"REGULON_{reg}"] = [reg, *sorted(targets_of[reg], key=rank)]
    if programs:
        for reg in regulators:
            partners = [r for r in regulators if r != reg and targets_of[r] & targets_of[reg]]
            if len(partners) >= min_size - 1:
                sets[f"PROGRAM_{reg}"] = [reg, *partners]
    if not sets or n_random <= 0:
        return sets
    rng = np.random.default_rng(seed)
    sizes = [len(v) for v in sets.values()]
    sizes = [sizes[i] for i in rng.permutation(len(sizes))]
    universe = np.asarray(genes, dtype=object)
    for k in range(n_random):
        size = min(sizes[k % len(sizes)], universe.size)
        pick = np.sort(rng.choice(universe.size, size=size, replace=False))
        sets[f"RANDOM_{k + 1}"] = universe[pick].tolist()
    return sets


# --------------------------------------------------------------------------- statistics
def network_statistics(edges: pd.DataFrame, genes: list[str], input_genes: list[str]) -> dict:
    """Summary statistics of a signed network, comparable with the SIM350 table of methods E.1.

    Parameters
    ----------
    edges
        ``source, target, weight`` (source = regulator).
    genes
        Gene index.
    input_genes
        Genes that are inputs (constant in time).

    Returns
    -------
    dict
        Counts of genes by role, regulators / regulated, edges and signs, edges
        leaving inputs, in-degree counts, out-degree max / median / 75th
        percentile, single-target and mixed-sign regulators, self-loops and the
        number of genes on or downstream of a directed cycle.
    """
    index = {g: i for i, g in enumerate(genes)}
    si = edges["source"].map(index).to_numpy(dtype=int)
    ti = edges["target"].map(index).to_numpy(dtype=int)
    w = edges["weight"].to_numpy(dtype=float)
    n = len(genes)
    is_input = np.isin(np.arange(n), [index[g] for g in input_genes])
    outdeg = np.bincount(si, minlength=n)
    indeg = np.bincount(ti, minlength=n)
    reg = outdeg > 0
    internal = reg & (indeg > 0) & ~is_input
    mixed = sum(1 for r in np.flatnonzero(reg) if len(np.unique(np.sign(w[si == r]))) > 1)
    adj = csr_matrix((np.ones(si.size), (si, ti)), shape=(n, n))
    _, labels = connected_components(adj, directed=True, connection="strong")
    comp_size = np.bincount(labels)
    on_cycle = np.flatnonzero(comp_size[labels] > 1)
    downstream = set(on_cycle.tolist())
    for g in on_cycle:
        downstream.update(breadth_first_order(adj, g, directed=True, return_predecessors=False).tolist())
    od = outdeg[reg]
    ks, counts = np.unique(indeg[indeg > 0], return_counts=True)
    return {
        "genes": n,
        "input_genes": int(is_input.sum()),
        "internal_regulators": int(internal.sum()),
        "pure_targets": int(((indeg > 0) & ~reg).sum()),
        "regulators": int(reg.sum()),
        "regulated": int((indeg > 0).sum()),
        "edges": int(si.size),
        "activating": int((w > 0).sum()),
        "repressing": int((w < 0).sum()),
        "edges_from_inputs": int(is_input[si].sum()),
        "self_loops": int((si == ti).sum()),
        "in_degree_counts": {int(k): int(c) for k, c in zip(ks, counts)},
        "mean_in_degree": float(indeg[indeg > 0].mean()) if (indeg > 0).any() else 0.0,
        "out_degree_max": int(od.max()) if od.size else 0,
        "out_degree_median": float(np.median(od)) if od.size else 0.0,
        "out_degree_p75": float(np.percentile(od, 75)) if od.size else 0.0,
        "single_target_regulators": int((od == 1).sum()),
        "mixed_sign_regulators": int(mixed),
        "genes_on_or_downstream_of_cycle": len(downstream),
    }


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
    rngs = _streams(config.seed, config.noise_seed, config.prior_seed)
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

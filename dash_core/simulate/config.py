"""Settings of a simulation (:class:`SimulationConfig`, methods E.1-E.5) and its independent random streams."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from dash_core.io.errors import DashInputError

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


def random_streams(seed: int, noise_seed: int | None = None, prior_seed: int | None = None) -> dict[str, np.random.Generator]:
    children = np.random.SeedSequence(int(seed)).spawn(len(_STREAMS))
    rngs = {name: np.random.default_rng(ss) for name, ss in zip(_STREAMS, children)}
    if noise_seed is not None:
        tr, te = np.random.SeedSequence(int(noise_seed)).spawn(2)
        rngs["train_noise"], rngs["test_noise"] = np.random.default_rng(tr), np.random.default_rng(te)
    if prior_seed is not None:
        rngs["corruption"] = np.random.default_rng(int(prior_seed))
    return rngs

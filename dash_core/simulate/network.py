"""The random regulator/target network (methods E.1) and its SIM350 statistics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from dash_core.io.errors import DashInputError
from dash_core.network import edges_to_matrix
from dash_core.simulate.config import ROLE_INPUT, ROLE_INTERNAL, ROLE_TARGET, SimulationConfig, random_streams


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
    rngs = random_streams(config.seed)
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

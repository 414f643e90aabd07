"""Synthetic signaling data with a known ground truth (methods.md H.11 "Synthetic data").

A :class:`GroundTruth` fixes a full parameterisation of the recurrent model
(``W``, ``b``, ``w_in``, ``w_out``). Inputs follow H.11: sample 0 is all-zero;
sample ``i >= 1`` sets ligand ``(i - 1) mod L`` plus ``k - 1`` further random
ligands (``k`` drawn from {2, 3, 5}) to ``U(0, 1)`` amounts. TF activities are the
ground-truth model's steady-state outputs.

The ground truth comes either from the KEGG-derived synthetic network of the
self-pruning study (``KEGGnet-Model.tsv`` + ``equationParams.txt`` with rows
``Source, Target, Type, Value``; Type = Weight, Bias, Input or Projection), or
from :func:`random_signed_network` + :func:`random_ground_truth` (a small
layered network with heterogeneous in- and out-degrees, used for the app's demo).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dash_core.io.errors import DashInputError, ValidationReport
from dash_core.signaling.config import SignalingConfig, self_prune_config
from dash_core.signaling.data import (
    PKN,
    SignalingData,
    _read_delimited,
    pkn_from_edges,
    prepare_data,
    read_pkn,
    write_table,
)
from dash_core.signaling.model import SignalingModel, spectral_radius

# In-degree pmf of E.1 (SIM350), reused for degree heterogeneity: k -> count.
IN_DEGREE_PMF = {1: 143, 2: 65, 3: 39, 4: 15, 5: 6, 6: 4, 7: 1, 8: 2, 10: 1, 13: 1}


@dataclass
class GroundTruth:
    """A fully parameterised signaling model.

    Attributes
    ----------
    pkn
        The network (edges ``source -> target`` with their signs).
    edge_weights
        ``(E,)`` true weights in the order of ``pkn.edges`` (``W[target, source]`` entries).
    bias
        ``(N,)`` node biases in the order of ``pkn.nodes``.
    ligands, input_weights
        Ligand node IDs and their input weights ``w_in``.
    tfs, output_weights
        TF node IDs and their output weights ``w_out``.
    """

    pkn: PKN
    edge_weights: np.ndarray
    bias: np.ndarray
    ligands: list[str]
    input_weights: np.ndarray
    tfs: list[str]
    output_weights: np.ndarray

    def model(self, *, max_steps: int = 1000, tol: float = 1e-7, leak: float = 0.01) -> SignalingModel:
        """The ground-truth :class:`SignalingModel` (CPU, float32, no output bias)."""
        cfg = SignalingConfig(max_steps=max_steps, tol=tol, leak=leak, output_bias=False, device="cpu")
        m = SignalingModel(self.pkn.nodes, self.pkn.edges, self.ligands, self.tfs, cfg)
        m.set_parameters(self.edge_weights, self.bias, self.input_weights, self.output_weights)
        return m.eval()

    def weight_table(self) -> pd.DataFrame:
        """``source, target, sign, weight`` of the true edge weights."""
        return self.pkn.edges.assign(weight=self.edge_weights)

    def spectral_radius(self) -> float:
        """Spectral radius of the true ``W``."""
        return spectral_radius(self.model().weight_sparse())


def read_ground_truth(pkn_path: str | os.PathLike, params_path: str | os.PathLike) -> GroundTruth:
    """Ground truth from a PKN file and an ``equationParams`` file (``Source, Target, Type, Value``).

    ``Type = Weight`` rows give ``W[Target, Source]``; ``Bias`` rows (Source = node) the biases;
    ``Input`` rows (Source = ligand node) the input weights; ``Projection`` rows (Source = TF node)
    the output weights. PKN edges without a Weight row, or Weight rows that are not PKN edges,
    are a :class:`DashInputError`; nodes without a Bias row get bias 0.
    """
    pkn, _ = read_pkn(pkn_path)
    params = _read_delimited(params_path, what="ground-truth parameter")
    cols = {str(c).strip().lower(): c for c in params.columns}
    for need in ("source", "target", "type", "value"):
        if need not in cols:
            raise DashInputError(f"Missing column {need!r} (needs Source, Target, Type, Value).", source=str(params_path))
    p = pd.DataFrame(
        {
            "source": params[cols["source"]].astype(str).str.strip(),
            "target": params[cols["target"]].astype(str).str.strip(),
            "type": params[cols["type"]].astype(str).str.strip().str.lower(),
            "value": pd.to_numeric(params[cols["value"]], errors="coerce"),
        }
    )
    if p["value"].isna().any():
        i = int(np.flatnonzero(p["value"].isna().to_numpy())[0])
        raise DashInputError(f"Data row {i + 1}: Value is not a number.", source=str(params_path))
    w = p[p["type"] == "weight"]
    lookup = {(s, t): v for s, t, v in zip(w["source"], w["target"], w["value"])}
    edge_keys = list(zip(pkn.edges["source"], pkn.edges["target"]))
    absent = [f"{s}->{t}" for s, t in edge_keys if (s, t) not in lookup]
    if absent:
        raise DashInputError(f"{len(absent)} network edge(s) have no Weight row, e.g. {', '.join(absent[:5])}.", source=str(params_path))
    extra = set(lookup) - set(edge_keys)
    if extra:
        s, t = next(iter(extra))
        raise DashInputError(f"{len(extra)} Weight row(s) are not network edges, e.g. {s}->{t}.", source=str(params_path))
    index = pkn.node_index()
    bias = np.zeros(pkn.n_nodes)
    for node, v in zip(p.loc[p["type"] == "bias", "source"], p.loc[p["type"] == "bias", "value"]):
        if node in index:
            bias[index[node]] = v
    inp = p[p["type"] == "input"]
    proj = p[p["type"] == "projection"]
    for frame, what in ((inp, "Input"), (proj, "Projection")):
        if len(frame) == 0:
            raise DashInputError(f"No {what} rows: the file must list the {what.lower()} nodes.", source=str(params_path))
        bad = [x for x in frame["source"] if x not in index]
        if bad:
            raise DashInputError(f"{what} node(s) not in the network: {', '.join(bad[:5])}.", source=str(params_path))
    return GroundTruth(
        pkn=pkn,
        edge_weights=np.array([lookup[k] for k in edge_keys], dtype=np.float64),
        bias=bias,
        ligands=list(inp["source"]),
        input_weights=inp["value"].to_numpy(dtype=np.float64),
        tfs=list(proj["source"]),
        output_weights=proj["value"].to_numpy(dtype=np.float64),
    )


def write_ground_truth(truth: GroundTruth, path: str | os.PathLike) -> None:
    """Write ``truth`` in the ``equationParams`` format (``Source, Target, Type, Value``)."""
    rows = [
        (s, t, "Weight", w) for s, t, w in zip(truth.pkn.edges["source"], truth.pkn.edges["target"], truth.edge_weights)
    ]
    rows += [(n, "", "Bias", b) for n, b in zip(truth.pkn.nodes, truth.bias)]
    rows += [(n, "", "Input", v) for n, v in zip(truth.ligands, truth.input_weights)]
    rows += [(n, "", "Projection", v) for n, v in zip(truth.tfs, truth.output_weights)]
    pd.DataFrame(rows, columns=["Source", "Target", "Type", "Value"]).to_csv(path, sep="\t", index=False, float_format="%.6g")


def _in_degrees(n_targets: int, n_edges: int, rng: np.random.Generator, max_in: int) -> np.ndarray:
    ks = np.array(list(IN_DEGREE_PMF))
    pk = np.array(list(IN_DEGREE_PMF.values()), dtype=float)
    deg = np.minimum(rng.choice(ks, size=n_targets, p=pk / pk.sum()), max_in)
    for _ in range(100 * n_edges):
        diff = int(deg.sum()) - n_edges
        if diff == 0:
            break
        j = int(rng.integers(n_targets))
        if diff > 0 and deg[j] > 1:
            deg[j] -= 1
        elif diff < 0 and deg[j] < max_in:
            deg[j] += 1
    return deg


def random_signed_network(
    n_nodes: int = 40,
    n_ligands: int = 6,
    n_tfs: int = 8,
    n_edges: int = 90,
    *,
    frac_inhibitory: float = 0.2,
    frac_unknown: float = 0.2,
    n_feedback: int = 6,
    s_w: float = 0.9,
    seed: int = 0,
) -> tuple[PKN, list[str], list[str], np.ndarray]:
    """Random layered signed network with heterogeneous degrees (E.1 style).

    Nodes are ligands ``L01..`` (no inputs), intermediates ``P01..`` and TFs ``T01..``.
    Each non-ligand node draws an in-degree from the E.1 pmf (nudged to a total of
    ``n_edges - n_feedback``) and picks its regulators among the ligands and earlier
    intermediates with propensity ``exp(s_w * xi)`` (hubs). ``n_feedback`` extra edges go
    lead from an intermediate back to one of its upstream intermediates (closing cycles). Every
    ligand has at least one target and every node is reachable from a ligand.

    Returns
    -------
    (PKN, ligands, tfs, true_signs)
        The PKN lists a fraction ``frac_unknown`` of the edges with unknown sign (0);
        ``true_signs`` (+1/-1, PKN edge order) are the signs used by the ground truth.
    """
    if n_ligands < 1 or n_tfs < 1 or n_nodes < n_ligands + n_tfs + 1:
        raise DashInputError("random network: need >= 1 ligand, >= 1 TF and at least one intermediate node.")
    rng = np.random.default_rng(seed)
    n_mid = n_nodes - n_ligands - n_tfs
    ligs = [f"L{i + 1:02d}" for i in range(n_ligands)]
    mids = [f"P{i + 1:02d}" for i in range(n_mid)]
    tfs = [f"T{i + 1:02d}" for i in range(n_tfs)]
    order = ligs + mids + tfs
    propensity = np.exp(s_w * rng.standard_normal(len(order)))
    targets = mids + tfs
    n_forward = max(len(targets), n_edges - n_feedback)
    deg = _in_degrees(len(targets), n_forward, rng, max_in=max(13, 3 * -(-n_forward // len(targets))))
    edges: set[tuple[str, str]] = set()
    for j, tgt in enumerate(targets):
        pos = order.index(tgt)
        pool = [r for r in order[: min(pos, n_ligands + n_mid)] if r != tgt]
        k = min(int(deg[j]), len(pool))
        prob = propensity[[order.index(r) for r in pool]]
        chosen = rng.choice(len(pool), size=k, replace=False, p=prob / prob.sum())
        edges.update((pool[c], tgt) for c in chosen)
    for lig in ligs:
        if not any(e[0] == lig for e in edges):
            edges.add((lig, mids[int(rng.integers(n_mid))] if n_mid else tfs[int(rng.integers(n_tfs))]))
    children: dict[str, set[str]] = {}
    for src_node, tgt_node in edges:
        children.setdefault(src_node, set()).add(tgt_node)
    added = tries = 0
    while n_mid >= 2 and added < n_feedback and tries < 100 * (n_feedback + 1):
        tries += 1
        start = mids[int(rng.integers(n_mid))]
        reach, stack = set(), [start]
        while stack:
            for nxt in children.get(stack.pop(), ()):
                if nxt not in reach:
                    reach.add(nxt)
                    stack.append(nxt)
        downstream = sorted(r for r in reach if r in set(mids) and r != start and (r, start) not in edges)
        if not downstream:
            continue
        back = downstream[int(rng.integers(len(downstream)))]
        edges.add((back, start))
        children.setdefault(back, set()).add(start)
        added += 1
    edge_list = sorted(edges, key=lambda e: (order.index(e[1]), order.index(e[0])))
    true_sign = np.where(rng.random(len(edge_list)) < frac_inhibitory, -1, 1)
    listed = np.where(rng.random(len(edge_list)) < frac_unknown, 0, true_sign)
    table = pd.DataFrame({"source": [e[0] for e in edge_list], "target": [e[1] for e in edge_list], "sign": listed})
    pkn = pkn_from_edges(table)
    pos = {(s, t): i for i, (s, t) in enumerate(edge_list)}
    signs = np.array([true_sign[pos[(s, t)]] for s, t in zip(pkn.edges["source"], pkn.edges["target"])])
    return pkn, ligs, tfs, signs


def random_ground_truth(
    pkn: PKN,
    ligands: Sequence[str],
    tfs: Sequence[str],
    true_signs: np.ndarray,
    *,
    weight_range: tuple[float, float] = (0.5, 1.5),
    bias_sd: float = 0.1,
    max_radius: float = 0.9,
    seed: int = 0,
) -> GroundTruth:
    """Random parameters on a network: ``|w| ~ U(weight_range)`` with the true signs, biases
    ``N(0, bias_sd)``, ``w_in = 3``, ``w_out = 1.2``; ``W`` is scaled down if its spectral radius
    exceeds ``max_radius`` so that the steady state exists and is reached.
    """
    rng = np.random.default_rng(seed)
    mag = rng.uniform(*weight_range, size=pkn.n_edges)
    w = mag * np.asarray(true_signs, dtype=float)
    truth = GroundTruth(
        pkn=pkn,
        edge_weights=w,
        bias=rng.normal(0, bias_sd, size=pkn.n_nodes),
        ligands=list(ligands),
        input_weights=np.full(len(ligands), 3.0),
        tfs=list(tfs),
        output_weights=np.full(len(tfs), 1.2),
    )
    rho = spectral_radius(truth.model().weight_sparse())
    if rho > max_radius:
        truth.edge_weights = truth.edge_weights * (max_radius / rho)
    return truth


def ligand_inputs(n_samples: int, ligands: Sequence[str], *, k_choices: Sequence[int] = (2, 3, 5), seed: int = 0) -> pd.DataFrame:
    """Ligand design of H.11: ``(n_samples, L)`` table, index ``S000..``.

    Sample 0 is all-zero; sample ``i >= 1`` sets ligand ``(i - 1) mod L`` and ``k - 1`` other
    random ligands (``k`` uniform from ``k_choices``, capped at L) to ``U(0, 1)`` amounts.
    """
    rng = np.random.default_rng(seed)
    n_lig = len(ligands)
    x = np.zeros((n_samples, n_lig))
    for i in range(1, n_samples):
        first = (i - 1) % n_lig
        k = min(int(rng.choice(list(k_choices))), n_lig)
        others = rng.choice([j for j in range(n_lig) if j != first], size=k - 1, replace=False) if k > 1 else []
        chosen = [first, *list(others)]
        x[i, chosen] = rng.uniform(0, 1, size=len(chosen))
    width = max(3, len(str(n_samples - 1)))
    return pd.DataFrame(x, index=[f"S{i:0{width}d}" for i in range(n_samples)], columns=list(ligands))


def simulate(truth: GroundTruth, ligands: pd.DataFrame, *, noise_sd: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """TF activities of the ground-truth model for the given ligand table (``conditions x TFs``).

    Without noise the values are the exact model outputs (which can stray slightly outside
    [0, 1]: the output weight is 1.2 and the activation leaks below 0). With Gaussian noise
    (s.d. ``noise_sd``) the noisy values are clipped to [0, 1].
    """
    model = truth.model()
    with torch.no_grad():
        pred, _ = model(torch.as_tensor(np.array(ligands[truth.ligands].to_numpy(), dtype=np.float32)))
    y = pred.numpy().astype(np.float64)
    if noise_sd > 0:
        y = np.clip(y + np.random.default_rng(seed).normal(0, noise_sd, size=y.shape), 0.0, 1.0)
    return pd.DataFrame(y, index=ligands.index, columns=truth.tfs)


def synthetic_data(
    truth: GroundTruth, n_samples: int = 100, *, k_choices: Sequence[int] = (2, 3, 5), noise_sd: float = 0.0, seed: int = 0
) -> SignalingData:
    """Ligand design + simulated TF activities, validated against the network as :class:`SignalingData`."""
    lig = ligand_inputs(n_samples, truth.ligands, k_choices=k_choices, seed=seed)
    tf = simulate(truth, lig, noise_sd=noise_sd, seed=seed + 1)
    return prepare_data(truth.pkn, lig, tf, report=ValidationReport())


def demo_ground_truth(seed: int = 3) -> GroundTruth:
    """The ground truth of the bundled demo: 40 nodes, 90 edges, 6 ligands, 8 TFs."""
    pkn, ligs, tfs, signs = random_signed_network(40, 6, 8, 90, seed=seed)
    return random_ground_truth(pkn, ligs, tfs, signs, seed=seed)


DEMO_FILES = {
    "pkn": "pkn.tsv",
    "ligands": "ligands.tsv",
    "tfs": "tfs.tsv",
    "params": "true_parameters.tsv",
    "annotation": "annotation.tsv",
}


def write_demo(folder: str | os.PathLike, *, n_samples: int = 60, seed: int = 3) -> dict[str, Path]:
    """Write the demo network and data (a few KB) to ``folder``.

    Files: ``pkn.tsv`` (``source, target, stimulation, inhibition``), ``ligands.tsv`` and
    ``tfs.tsv`` (conditions x nodes), ``true_parameters.tsv`` (the ground truth, equationParams
    format) and ``annotation.tsv`` (``code, name, TF, ligand``).

    Returns
    -------
    dict
        Role -> written path.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    truth = demo_ground_truth(seed)
    data = synthetic_data(truth, n_samples, seed=seed)
    paths = {k: out / v for k, v in DEMO_FILES.items()}
    truth.pkn.to_table().to_csv(paths["pkn"], sep="\t", index=False)
    write_table(data.ligands, paths["ligands"])
    write_table(data.tfs, paths["tfs"])
    write_ground_truth(truth, paths["params"])
    ann = pd.DataFrame(
        {
            "code": list(truth.pkn.nodes),
            "name": list(truth.pkn.nodes),
            "TF": [n in set(truth.tfs) for n in truth.pkn.nodes],
            "ligand": [n in set(truth.ligands) for n in truth.pkn.nodes],
        }
    )
    ann.to_csv(paths["annotation"], sep="\t", index=False)
    return paths


def demo_config(**overrides) -> SignalingConfig:
    """Training settings suited to the demo (self-pruning preset, 400 epochs, 5 test conditions)."""
    base = self_prune_config(epochs=400, test_size=5, eval_every=20)
    return replace(base, **overrides)

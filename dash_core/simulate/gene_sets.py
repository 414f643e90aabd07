"""Gene sets of a simulated network: regulons, co-regulation programs and decoys (pathway tests, methods G)."""

from __future__ import annotations

import numpy as np
import pandas as pd


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

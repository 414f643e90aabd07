"""SimulatorGRN-style dynamics (methods E.2): Hill activation, AND/OR logic, vectorised integration."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dash_core.io.errors import DashInputError
from dash_core.simulate.config import EDGE_PARAMETER_COLUMNS


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

    from scipy.integrate import solve_ivp  # lazy: 0.3-0.6 s that every CLI call paid at import

    sol = solve_ivp(fun, (times[0], times[-1]), x0.ravel(), method=method, t_eval=times, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"ODE integration failed: {sol.message}")
    out[:] = sol.y.reshape(n_traj, n, times.size).transpose(0, 2, 1)
    out[:, 0] = x0
    return out

"""LEMBAS-style biology-informed recurrent signaling network (methods.md H.2-H.6, H.10).

Orientation
-----------
The weight matrix is ``W[target, source]``: **row = target node, column = source
node**, so entry ``W[t, s]`` is the weight of the edge ``s -> t``. This is the
LEMBAS convention and the transpose of the project's gene-level
regulator x target matrices (use :meth:`SignalingModel.edge_table` to get the
project's long ``source, target, weight`` format). Node states are row vectors:
``X`` has shape ``(B, N)`` (row = condition, column = node) and one recurrence
step computes ``X W^T + U``.

Non-edges of ``W`` are held at exactly 0: the forward pass uses ``W * mask`` (or
gathers only the edge entries), so they receive no data gradient, and
:meth:`SignalingModel.rezero_` clears them after every optimiser step.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
from torch import Tensor, nn

from dash_core.signaling.config import SignalingConfig

# --------------------------------------------------------------------------- activation (H.3)


def _mml_values(z: Tensor, leak: float) -> Tensor:
    # min(leaky(z), 1 - 1/(4 max(z, 0.5))) equals the three-piece MML: below 0.5 the second term is 0.5 >= leaky(z),
    # above it 1 - 1/(4z) <= z. Safe denominator (max(z, 0.5)); in-place steps on temporaries only: half the
    # kernel launches of the masked form, which dominate the recurrence on CPU. Not for use under autograd.
    saturating = z.clamp_min(0.5).reciprocal_().mul_(-0.25).add_(1.0)
    return torch.minimum(torch.nn.functional.leaky_relu(z, leak), saturating)


def mml_derivative(y: Tensor, leak: float = 0.01) -> Tensor:
    """Derivative of the MML activation expressed in its output ``y = phi(z)``.

    ``phi'(z) = leak`` for ``y <= 0``, ``1`` for ``0 < y <= 0.5`` and ``4 (1 - y)^2``
    for ``y > 0.5`` (equal to ``1 / (4 z^2)``; continuous at ``z = 0.5``).
    """
    # (2 - 2y)^2 = 4 (1 - y)^2 is 1 at y = 0.5 and above 1 below it, so min(., 1) covers both positive pieces
    positive = torch.rsub(y, 2.0, alpha=2.0).square_().clamp_max_(1.0)
    return positive.masked_fill_(y <= 0, float(leak))


class _MML(torch.autograd.Function):
    """Michaelis-Menten-like activation with its derivative taken from the saved output."""

    @staticmethod
    def forward(ctx, z: Tensor, leak: float) -> Tensor:  # type: ignore[override]
        y = _mml_values(z, leak)
        ctx.save_for_backward(y)
        ctx.leak = leak
        return y

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        (y,) = ctx.saved_tensors
        return grad * mml_derivative(y, ctx.leak), None


def mml_activation(z: Tensor, leak: float = 0.01) -> Tensor:
    """MML activation (H.3), element-wise.

    ``phi(z) = leak * z`` (z < 0), ``z`` (0 <= z < 0.5), ``1 - 1/(4 z)`` (z >= 0.5):
    continuous with a continuous first derivative at 0.5, saturating at 1. Computed
    with masks and a safe denominator (no division by 0, no NaN gradients).

    Parameters
    ----------
    z
        Any shape.
    leak
        Slope for negative inputs.
    """
    return _MML.apply(z, float(leak))


# --------------------------------------------------------------------------- spectral radius (H.6, H.7)


def spectral_radius(weights: np.ndarray | sp.spmatrix) -> float:
    """Largest eigenvalue modulus of a square matrix (ARPACK ``eigs``; dense ``eigvals`` as fallback).

    Parameters
    ----------
    weights
        ``(N, N)`` matrix (any orientation: the spectrum of ``W`` and ``W^T`` is the same).
    """
    n = weights.shape[0]
    if n == 0:
        return 0.0
    if sp.issparse(weights):
        if weights.nnz == 0:
            return 0.0
        mat = weights.tocsr().astype(np.float64)
    else:
        dense = np.asarray(weights, dtype=np.float64)
        if not np.any(dense):
            return 0.0
        mat = sp.csr_matrix(dense)
    if n > 64:
        try:
            vals = spla.eigs(mat, k=1, which="LM", return_eigenvectors=False, maxiter=50 * n, tol=1e-8)
            return float(np.abs(vals).max())
        except (spla.ArpackNoConvergence, spla.ArpackError):
            pass
    return float(np.abs(np.linalg.eigvals(mat.toarray())).max())


def batched_power_iteration(
    matvec: Callable[[Tensor], Tensor],
    derivative: Tensor,
    *,
    n_probes: int,
    n_steps: int | Tensor,
    generator: torch.Generator | None = None,
    probes: Tensor | None = None,
    rmatvec: Callable[[Tensor], Tensor] | None = None,
    node_dim: int = -1,
    left_probes: Tensor | None = None,
    return_vectors: bool = False,
) -> Tensor | tuple[Tensor, Tensor, Tensor]:
    """Spectral-radius estimate of ``J_b = diag(d_b) W`` for a batch of ``b``, matrix-free (H.7, H.10).

    The value is the spec's estimate: ``n_steps`` power iterations ``V <- J (V / ||V||_col)``
    from Gaussian probes, then ``max_p |<J v_p, v_p>| / <v_p, v_p>``. Its gradient comes in
    one of two ways:

    * ``rmatvec`` not given: back-propagation through all power iterations (H.7 as written);
    * ``rmatvec`` given (``V -> W^T V``): the iterations run without a graph, the same number
      of iterations with ``J^T`` gives the left vector ``u`` of the best probe's right vector
      ``v``, and the gradient is the eigenvalue derivative ``d|lambda|/dW_ts =
      sign(lambda) u_t d_t v_s / <u, v>`` (the CPU original's form; the Rayleigh quotient
      ``u = v`` is used where ``|<u, v>| < 0.1``): one differentiable product instead of
      ``n_steps``.

    Parameters
    ----------
    matvec
        ``V -> W V`` for probe blocks ``V``: the shape of ``derivative`` plus a trailing probe
        axis P (``W`` acts along the node axis).
    derivative
        Activation derivatives ``d_b`` (pass detached steady states' derivatives), with the
        node axis at ``node_dim``: e.g. ``(S, N)`` for S samples, or ``(K, N, S)`` for a stack.
    n_probes
        Gaussian probe vectors P per sample.
    n_steps
        Power iterations; with ``rmatvec`` also a tensor of counts broadcastable to the probes
        (blocks stop iterating after their own count).
    generator
        Random generator for the probes (on the device of ``derivative``).
    probes
        Start vectors (``derivative``'s shape plus P) instead of drawing them.
    rmatvec
        ``V -> W^T V`` on detached weights; selects the eigenvalue-derivative gradient.
    node_dim
        The node axis of ``derivative``.
    left_probes
        Start vectors of the left iteration (default: ``probes``); only with ``rmatvec``.
    return_vectors
        Also return the final (unit) right and left vectors, e.g. to warm-start the next
        estimate; only with ``rmatvec``.

    Returns
    -------
    Tensor or (Tensor, Tensor, Tensor)
        ``derivative``'s shape without the node axis: spectral-radius estimates, differentiable
        with respect to the weights used by ``matvec``; no ``N x N`` Jacobian is formed. With
        ``return_vectors``, also the right and left vectors (shape of the probes, detached).
    """
    nd = node_dim % derivative.dim()
    if probes is None:
        probes = torch.randn(
            *derivative.shape, n_probes, generator=generator, device=derivative.device, dtype=derivative.dtype
        )

    def unit(x: Tensor) -> Tensor:
        return x / x.square().sum(dim=nd, keepdim=True).sqrt().clamp_min(1e-30)

    d = derivative.unsqueeze(-1)
    if rmatvec is None:
        v = probes
        for _ in range(n_steps):
            v = d * matvec(unit(v))
        v = unit(v)
        ratio = (d * matvec(v) * v).sum(dim=nd).abs()
        return ratio.max(dim=-1).values
    with torch.no_grad():
        v, u = probes, (probes if left_probes is None else left_probes)
        if isinstance(n_steps, Tensor):  # per-block iteration counts (broadcastable to the probes)
            for t in range(int(n_steps.max())):
                going = t < n_steps
                v = torch.where(going, d * matvec(unit(v)), v)
                u = torch.where(going, rmatvec(d * unit(u)), u)
        else:
            for _ in range(n_steps):
                v = d * matvec(unit(v))
                u = rmatvec(d * unit(u))
        v, u = unit(v), unit(u)
        ratio = (d * matvec(v) * v).sum(dim=nd).abs()
        value, best = ratio.max(dim=-1)
        right, left = v, u
        pick = best.unsqueeze(nd).unsqueeze(-1).expand(*v.shape[:-1], 1)
        vb, ub = v.gather(-1, pick), u.gather(-1, pick)
        overlap = (ub * vb).sum(dim=nd, keepdim=True)
        usable = overlap.abs() >= 0.1
        ub = torch.where(usable, ub, vb)
        overlap = torch.where(usable, overlap, torch.ones_like(overlap))
    surrogate = ((ub * d * matvec(vb)) / overlap).sum(dim=nd).squeeze(-1)
    surrogate = surrogate * torch.sign(surrogate.detach())
    estimate = value + surrogate - surrogate.detach()
    return (estimate, right, left) if return_vectors else estimate


# --------------------------------------------------------------------------- sparse product (H.10 on CPU)


@dataclass(frozen=True)
class _CSRPlan:
    """CSR index arrays of ``W[target, source]`` (edges sorted by target, then source) and of ``W^T``."""

    n: int
    rows: Tensor
    cols: Tensor
    crow: Tensor
    perm_t: Tensor
    crow_t: Tensor
    cols_t: Tensor
    order: Tensor  #: plan position -> position in the edge list that was passed to :meth:`build`

    @staticmethod
    def build(target: Tensor, source: Tensor, n: int) -> _CSRPlan:
        order = torch.argsort(target * n + source)
        rows, cols = target[order], source[order]
        crow = torch.zeros(n + 1, dtype=torch.long, device=target.device)
        crow[1:] = torch.cumsum(torch.bincount(rows, minlength=n), 0)
        perm_t = torch.argsort(cols * n + rows)
        crow_t = torch.zeros(n + 1, dtype=torch.long, device=target.device)
        crow_t[1:] = torch.cumsum(torch.bincount(cols, minlength=n), 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "sparse CSR support is in beta" (emitted once per process)
            torch.sparse_csr_tensor(crow, cols, torch.zeros(len(cols), device=target.device), (n, n))
        return _CSRPlan(n, rows, cols, crow, perm_t, crow_t, rows[perm_t], order)

    def matrix(self, values: Tensor, transpose: bool) -> Tensor:
        # 32-bit index arrays: the CPU kernel would otherwise convert the 64-bit ones at every product (~17 %)
        key = "_idx32_t" if transpose else "_idx32"
        idx = self.__dict__.get(key)
        if idx is None:
            crow, cols = (self.crow_t, self.cols_t) if transpose else (self.crow, self.cols)
            if self.n * 2 < 2**31 and len(cols) < 2**31:
                crow, cols = crow.to(torch.int32), cols.to(torch.int32)
            idx = (crow, cols)
            object.__setattr__(self, key, idx)
        vals = values[self.perm_t] if transpose else values
        return torch.sparse_csr_tensor(idx[0], idx[1], vals, (self.n, self.n))


class _CSRMatmul(torch.autograd.Function):
    """``A V`` with ``A = W`` (or ``W^T``) built from sorted edge values; differentiable in both."""

    @staticmethod
    def forward(ctx, values: Tensor, v: Tensor, plan: _CSRPlan, transpose: bool) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(values, v)
        ctx.plan = plan
        ctx.transpose = transpose
        return plan.matrix(values, transpose) @ v

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        values, v = ctx.saved_tensors
        plan: _CSRPlan = ctx.plan
        g_values = g_v = None
        if ctx.needs_input_grad[1]:
            g_v = plan.matrix(values, not ctx.transpose) @ grad
        if ctx.needs_input_grad[0]:
            r, c = (plan.cols, plan.rows) if ctx.transpose else (plan.rows, plan.cols)
            g_values = (grad.index_select(0, r) * v.index_select(0, c)).sum(1)
        return g_values, g_v, None, None


def _edge_outer(plan: _CSRPlan, values: Tensor, left: Tensor, right: Tensor) -> Tensor:
    """Per-edge ``sum_m left[target_e, m] * right[source_e, m]`` in plan order (``left right^T`` sampled on the edges)."""
    try:
        return torch.sparse.sampled_addmm(plan.matrix(values, False), left, right.T, beta=0.0).values()
    except RuntimeError:  # includes the not-implemented error of backends without sampled_addmm
        return (left.index_select(0, plan.rows) * right.index_select(0, plan.cols)).sum(1)


class _SparseRecurrence(torch.autograd.Function):
    """The whole recurrence ``X <- phi(W X + U)`` (column layout) with hand-written back-propagation
    through time: the same gradients as autograd through every unrolled step, but the weight
    gradient ``sum_t G_t X_{t-1}^T`` (sampled on the edges) is formed once, not per step.
    Why hand-written rather than autograd: measured 3.8x faster per training step."""

    @staticmethod
    def forward(ctx, values: Tensor, u: Tensor, plan: _CSRPlan, leak: float, max_steps: int, tol: float):  # type: ignore[override]
        a = plan.matrix(values, False)
        x = torch.zeros_like(u)
        states = [x]
        for t in range(max_steps):
            x_new = _mml_values(torch.sparse.addmm(u, a, x), leak)
            states.append(x_new)
            done = t > 20 and t % 10 == 0 and float((x_new - x).abs().max()) < tol
            x = x_new
            if done:
                break
        ctx.save_for_backward(values, torch.stack(states))
        ctx.plan = plan
        ctx.leak = leak
        steps = torch.tensor(len(states) - 1)
        ctx.mark_non_differentiable(steps)
        return x, steps

    @staticmethod
    def backward(ctx, grad: Tensor, _grad_steps: Tensor | None = None):  # type: ignore[override]
        values, states = ctx.saved_tensors  # states: (T + 1, N, B), states[0] = 0
        plan: _CSRPlan = ctx.plan
        t_plus, n, b = states.shape
        steps = t_plus - 1
        a_t = plan.matrix(values, True)
        g_z = torch.empty(steps, n, b, dtype=grad.dtype, device=grad.device)
        g_x = grad
        slopes = mml_derivative(states[1:], ctx.leak)  # one pass over all steps instead of one per step
        for t in range(steps, 0, -1):
            gz = torch.mul(g_x, slopes[t - 1], out=g_z[t - 1])
            if t > 1:
                g_x = a_t @ gz
        g_u = g_z.sum(dim=0) if ctx.needs_input_grad[1] else None
        g_values = None
        if ctx.needs_input_grad[0]:
            left = g_z.permute(1, 0, 2).reshape(n, steps * b)
            right = states[:-1].permute(1, 0, 2).reshape(n, steps * b)
            g_values = _edge_outer(plan, values, left, right)
        return g_values, g_u, None, None, None, None


# --------------------------------------------------------------------------- steady state (H.4)


def solve_steady_state(
    u_cols: Tensor,
    config: SignalingConfig,
    fwd: Callable[[Tensor], Tensor],
    detached_bwd: Callable[[], Callable[[Tensor], Tensor]],
    *,
    sparse: tuple[Tensor, _CSRPlan] | None = None,
) -> tuple[Tensor, int]:
    """Iterate ``X <- phi(W X + U)`` (column layout) from ``X = 0`` to the steady state (H.4).

    Stops after computing step t+1 if t > 20, t % 10 == 0 and ``max|X(t+1) - X(t)| < tol``,
    or after ``max_steps``. With ``gradient='bptt'`` gradients flow through all unrolled
    steps (when ``sparse`` is given, by the hand-written backward pass of :class:`_SparseRecurrence`,
    which gives the same gradients as autograd through each step); with ``'implicit'`` the fixed
    point is found without a graph and the gradient is obtained from the adjoint iteration
    ``g <- g0 + W^T (phi' * g)``.

    Parameters
    ----------
    u_cols
        ``(R, B)`` node inputs, one column per condition (``R = N`` for one model, ``K N`` for a
        stack of K models with a block-diagonal ``W``).
    fwd
        ``V -> W V`` for ``(R, M)`` blocks (differentiable in the weights).
    detached_bwd
        Returns ``V -> W^T V`` on detached weights (only called for the implicit gradient).
    sparse
        ``(values, plan)``: edge values in plan order and the CSR plan, for the sparse BPTT path.

    Returns
    -------
    (Tensor, int)
        ``(R, B)`` steady states and the number of steps taken.
    """
    cfg = config
    leak = float(cfg.leak)
    implicit = cfg.gradient == "implicit" and torch.is_grad_enabled()
    if torch.is_grad_enabled() and not implicit:
        if sparse is not None:
            values, plan = sparse
            x, steps = _SparseRecurrence.apply(values, u_cols, plan, leak, int(cfg.max_steps), float(cfg.tol))
            return x, int(steps)
        x = torch.zeros_like(u_cols)
        steps = 0
        for t in range(cfg.max_steps):
            x_new = mml_activation(fwd(x) + u_cols, leak)
            steps = t + 1
            done = t > 20 and t % 10 == 0 and float((x_new - x).detach().abs().max()) < cfg.tol
            x = x_new
            if done:
                break
        return x, steps
    # no graph through the iterations (inference, or the implicit gradient's forward pass)
    with torch.no_grad():
        if sparse is not None:
            a = sparse[1].matrix(sparse[0].detach(), False)
            u_det = u_cols.detach()

            def step(x: Tensor) -> Tensor:
                return _mml_values(torch.sparse.addmm(u_det, a, x), leak)
        else:

            def step(x: Tensor) -> Tensor:
                return _mml_values(fwd(x) + u_cols, leak)

        x, steps = _fixed_point(step, torch.zeros_like(u_cols), cfg.max_steps, cfg.tol)
    if not implicit:
        return x, steps
    y = mml_activation(fwd(x) + u_cols, leak)
    if y.requires_grad:
        d = mml_derivative(y.detach(), leak)
        if sparse is not None:
            a_t = sparse[1].matrix(sparse[0].detach(), True)

            def adjoint_step(g: Tensor, g0: Tensor) -> Tensor:
                return torch.sparse.addmm(g0, a_t, d * g)
        else:
            bwd_det = detached_bwd()

            def adjoint_step(g: Tensor, g0: Tensor) -> Tensor:
                return g0 + bwd_det(d * g)

        def adjoint(g0: Tensor) -> Tensor:
            # g = g0 + W^T (phi' * g): the adjoint of the fixed point, iterated to the same tolerance (relative
            # to max|g0|) and step cap as the forward pass; convergence checked every 5 steps (one host sync each)
            g0 = g0.detach()
            scale = max(1.0, float(g0.abs().max()))
            g = g0
            for t in range(cfg.max_steps):
                g_new = adjoint_step(g, g0)
                done = t % 5 == 4 and float((g_new - g).abs().max()) < cfg.tol * scale
                g = g_new
                if done:
                    break
            return g

        y.register_hook(adjoint)
    return y, steps


def _fixed_point(step: Callable[[Tensor], Tensor], x: Tensor, max_steps: int, tol: float) -> tuple[Tensor, int]:
    """``x <- step(x)`` until ``max|dx| < tol`` (checked after step t+1 for t > 20, t % 10 == 0) or ``max_steps``."""
    steps = 0
    for t in range(max_steps):
        x_new = step(x)
        steps = t + 1
        done = t > 20 and t % 10 == 0 and float((x_new - x).abs().max()) < tol
        x = x_new
        if done:
            break
    return x, steps


# --------------------------------------------------------------------------- model


class SignalingModel(nn.Module):
    """Recurrent signaling network on a fixed node/edge set (H.2-H.6).

    Parameters
    ----------
    nodes
        Node IDs; the model's node index (positions used by ``W``).
    edges
        Table ``source, target, sign`` of the allowed edges ``source -> target``
        (PKN edges plus any injected ones); sign +1 / -1 / 0 (unknown).
    ligands
        Ligand node IDs, in the column order of the ligand input matrix.
    tfs
        TF node IDs, in the column order of the TF output matrix.
    config
        Settings (leak, T_max, tol, output bias, initial projection weights, backend).

    Attributes
    ----------
    weight
        ``(N, N)`` parameter ``W[target, source]`` (row = target, column = source);
        non-edges are exactly 0.
    bias
        ``(N,)`` node biases ``b``.
    input_weight
        ``(L,)`` ligand projection ``w_in`` (A_in = 3; frozen unless ``train_input_weights``).
    output_weight
        ``(K,)`` TF projection ``w_out`` (A_out = 1.2).
    output_bias
        ``(K,)`` (only when ``config.output_bias``), else None.
    """

    def __init__(
        self,
        nodes: Sequence[str],
        edges: pd.DataFrame,
        ligands: Sequence[str],
        tfs: Sequence[str],
        config: SignalingConfig,
    ) -> None:
        super().__init__()
        self.nodes = [str(n) for n in nodes]
        self.ligands = [str(x) for x in ligands]
        self.tfs = [str(x) for x in tfs]
        self.config = config
        index = {n: i for i, n in enumerate(self.nodes)}
        n = len(self.nodes)
        missing = [x for x in list(edges["source"]) + list(edges["target"]) + self.ligands + self.tfs if str(x) not in index]
        if missing:
            raise ValueError(f"IDs not in the node list: {sorted(set(map(str, missing)))[:10]}")
        tgt = torch.as_tensor([index[str(t)] for t in edges["target"]], dtype=torch.long)
        src = torch.as_tensor([index[str(s)] for s in edges["source"]], dtype=torch.long)
        if len(set(zip(tgt.tolist(), src.tolist()))) != len(tgt):
            raise ValueError("duplicate edges passed to SignalingModel")
        mask = torch.zeros(n, n, dtype=torch.bool)
        mask[tgt, src] = True
        self.register_buffer("mask", mask)
        self.register_buffer("edge_target", tgt)
        self.register_buffer("edge_source", src)
        self.register_buffer("edge_sign", torch.as_tensor(np.asarray(edges["sign"], dtype=np.float32)))
        self.register_buffer("ligand_index", torch.as_tensor([index[x] for x in self.ligands], dtype=torch.long))
        self.register_buffer("tf_index", torch.as_tensor([index[x] for x in self.tfs], dtype=torch.long))
        self.weight = nn.Parameter(torch.zeros(n, n))
        self.bias = nn.Parameter(torch.zeros(n))
        self.input_weight = nn.Parameter(
            torch.full((len(self.ligands),), float(config.input_weight_init)), requires_grad=config.train_input_weights
        )
        self.output_weight = nn.Parameter(torch.full((len(self.tfs),), float(config.output_weight_init)))
        self.output_bias = nn.Parameter(torch.zeros(len(self.tfs))) if config.output_bias else None

    # ----------------------------------------------------------------- sizes and views

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_edges(self) -> int:
        return int(self.edge_target.numel())

    def uses_sparse(self) -> bool:
        """Whether the sparse (CSR over the edge list) formulation is used on the current device."""
        b = self.config.backend
        return b == "sparse" or (b == "auto" and self.weight.device.type != "cuda")

    def masked_weight(self) -> Tensor:
        """``W * mask``: ``(N, N)``, row = target, column = source."""
        return self.weight * self.mask

    def edge_weights(self) -> Tensor:
        """``(E,)`` edge weights ``W[target_e, source_e]`` in the order of the edge table."""
        return self.weight[self.edge_target, self.edge_source]

    def edge_table(self) -> pd.DataFrame:
        """Long table ``source, target, sign, weight`` of the current edge weights (``source -> target``)."""
        w = self.edge_weights().detach().cpu().numpy().astype(np.float64)
        names = np.asarray(self.nodes, dtype=object)
        return pd.DataFrame(
            {
                "source": names[self.edge_source.cpu().numpy()],
                "target": names[self.edge_target.cpu().numpy()],
                "sign": self.edge_sign.cpu().numpy().astype(int),
                "weight": w,
            }
        )

    # ----------------------------------------------------------------- linear maps

    def _csr_plan(self) -> _CSRPlan:
        """Index arrays of ``W`` in CSR form on the current device (cached; not part of the state_dict)."""
        key = (self.weight.device, self.n_edges)
        cache = self.__dict__.setdefault("_plan_cache", {})
        if key not in cache:
            cache.clear()
            cache[key] = _CSRPlan.build(self.edge_target, self.edge_source, self.n_nodes)
        return cache[key]

    def _operators(self, weight: Tensor | None = None) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor]]:
        """``(V -> W V, V -> W^T V)`` for column blocks ``V`` of shape ``(N, M)``.

        The sparse backend gathers the ``E`` edge weights from ``W`` and multiplies with a
        CSR matrix (gradients: ``W^T g`` for ``V`` and ``sum_b g[t_e] V[s_e]`` per edge), so no
        ``N x N`` product is formed; the dense backend multiplies by ``W * mask``.
        """
        w_full = self.weight if weight is None else weight
        if self.uses_sparse():
            plan = self._csr_plan()
            w = w_full[plan.rows, plan.cols]

            def fwd(v: Tensor) -> Tensor:
                return _CSRMatmul.apply(w, v, plan, False)

            def bwd(v: Tensor) -> Tensor:
                return _CSRMatmul.apply(w, v, plan, True)

            return fwd, bwd
        wm = w_full * self.mask
        return (lambda v: wm @ v), (lambda v: wm.T @ v)

    def input_projection(self, x_in: Tensor) -> Tensor:
        """``U = b^T + sum_j w_in,j X_in[:, j] e_{ligand(j)}``: ``(B, L) -> (B, N)`` (H.2)."""
        u = x_in.new_zeros(x_in.shape[0], self.n_nodes).index_add_(1, self.ligand_index, x_in * self.input_weight)
        return u + self.bias

    def steady_state(self, u: Tensor) -> tuple[Tensor, int]:
        """Iterate ``X <- phi(X W^T + U)`` from ``X = 0`` to the steady state (H.4); see :func:`solve_steady_state`.

        Returns
        -------
        (Tensor, int)
            ``(B, N)`` steady states and the number of steps taken.
        """
        sparse = None
        if self.uses_sparse():
            plan = self._csr_plan()
            sparse = (self.weight[plan.rows, plan.cols], plan)
        fwd, _ = self._operators()
        x, steps = solve_steady_state(
            u.T.contiguous(), self.config, fwd, lambda: self._operators(self.weight.detach())[1], sparse=sparse
        )
        return x.T, steps

    def output(self, states: Tensor) -> Tensor:
        """TF predictions ``y_hat[b, k] = w_out,k * Y[b, tf(k)] (+ b_out,k)``: ``(B, N) -> (B, K)`` (H.5)."""
        out = states[:, self.tf_index] * self.output_weight
        if self.output_bias is not None:
            out = out + self.output_bias
        return out

    def forward(self, x_in: Tensor, input_noise: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Predict TF activities from ligand inputs.

        Parameters
        ----------
        x_in
            ``(B, L)`` ligand amounts, columns in the order of :attr:`ligands`.
        input_noise
            Optional ``(B, N)`` noise added to the node inputs ``U`` (training only).

        Returns
        -------
        (Tensor, Tensor)
            ``(B, K)`` TF predictions (columns = :attr:`tfs`) and ``(B, N)`` steady states.
        """
        u = self.input_projection(x_in)
        if input_noise is not None:
            u = u + input_noise
        states, steps = self.steady_state(u)
        self.last_steps = steps
        return self.output(states), states

    # ----------------------------------------------------------------- initialisation (H.6)

    @torch.no_grad()
    def initialise(self, generator: torch.Generator | None = None) -> None:
        """Edge weights ``0.1 + 0.1 U(0,1)`` (negated for inhibitory edges), biases 1e-3 (1 when all
        incoming edges are inhibitory), ``w_in = A_in``, ``w_out = A_out``, output bias 0.

        Random numbers are drawn on the CPU from ``generator`` so that results do not depend
        on the device.
        """
        e = self.n_edges
        mag = 0.1 + 0.1 * torch.rand(e, generator=generator, dtype=torch.float32)
        sign = self.edge_sign.detach().cpu()
        values = torch.where(sign < 0, -mag, mag).to(self.weight.device)
        self.weight.zero_()
        self.weight[self.edge_target, self.edge_source] = values
        n = self.n_nodes
        tgt = self.edge_target.cpu()
        n_in = torch.zeros(n).index_add_(0, tgt, torch.ones(e))
        n_inhib = torch.zeros(n).index_add_(0, tgt, (sign < 0).float())
        all_inhib = (n_in > 0) & (n_inhib == n_in)
        self.bias.copy_(torch.where(all_inhib, torch.ones(n), torch.full((n,), 1e-3)).to(self.bias.device))
        self.input_weight.fill_(float(self.config.input_weight_init))
        self.output_weight.fill_(float(self.config.output_weight_init))
        if self.output_bias is not None:
            self.output_bias.zero_()

    def weight_sparse(self) -> sp.csr_matrix:
        """``W`` as a scipy CSR matrix (float64; row = target, column = source)."""
        w = self.edge_weights().detach().cpu().numpy().astype(np.float64)
        return sp.csr_matrix(
            (w, (self.edge_target.cpu().numpy(), self.edge_source.cpu().numpy())), shape=(self.n_nodes, self.n_nodes)
        )

    @torch.no_grad()
    def prescale(self, rho_target: float) -> float:
        """Scale ``W`` so that its spectral radius is ``rho_target`` (H.6).

        Returns
        -------
        float
            The spectral radius before scaling (0 for an acyclic network, which is left unscaled).
        """
        rho = spectral_radius(self.weight_sparse())
        if rho > 1e-12:
            self.weight.mul_(float(rho_target) / rho)
        return rho

    @torch.no_grad()
    def rezero_(self) -> None:
        """Set every non-edge entry of ``W`` to exactly 0."""
        self.weight.mul_(self.mask)

    @torch.no_grad()
    def set_parameters(
        self,
        edge_weights: np.ndarray | Tensor,
        bias: np.ndarray | Tensor | None = None,
        input_weight: np.ndarray | Tensor | None = None,
        output_weight: np.ndarray | Tensor | None = None,
    ) -> None:
        """Set ``W`` from per-edge values (edge-table order) and optionally the other parameters."""
        dev = self.weight.device

        def as_tensor(value: np.ndarray | Tensor) -> Tensor:
            if isinstance(value, Tensor):
                return value.detach().to(device=dev, dtype=torch.float32)
            return torch.as_tensor(np.array(value, dtype=np.float32)).to(dev)

        self.weight.zero_()
        self.weight[self.edge_target, self.edge_source] = as_tensor(edge_weights)
        for param, value in ((self.bias, bias), (self.input_weight, input_weight), (self.output_weight, output_weight)):
            if value is not None:
                param.copy_(as_tensor(value))

    def network_spec(self) -> dict:
        """JSON-ready description of the node and edge sets (to rebuild the model from a checkpoint)."""
        return {"nodes": list(self.nodes), "ligands": list(self.ligands), "tfs": list(self.tfs)}


def edges_from_state(nodes: Sequence[str], state: dict[str, Tensor]) -> pd.DataFrame:
    """Rebuild the ``source, target, sign`` edge table from a model state_dict (its edge buffers)."""
    names = np.asarray(list(nodes), dtype=object)
    return pd.DataFrame(
        {
            "source": names[state["edge_source"].cpu().numpy()],
            "target": names[state["edge_target"].cpu().numpy()],
            "sign": state["edge_sign"].cpu().numpy().astype(int),
        }
    )

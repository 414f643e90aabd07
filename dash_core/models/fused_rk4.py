"""A fused RK4 solve of the PHOENIX field: forward and hand-written backward as one autograd node.

Training integrates every pair batch with a few RK4 steps (four field evaluations each). Left to autograd, each
evaluation records about fifteen operations and its backward runs about thirty, three of them weight-gradient
products; on SIM350-sized batches (4 pairs x 350 genes) these kernels are tiny, so their launch and
bookkeeping cost dominates a CPU training step. :class:`FusedPhoenixRK4` computes the same numbers with far
fewer kernels:

* the forward pass runs without autograd recording and keeps only what the backward pass needs;
* the backward pass is the exact adjoint of the discrete RK4 steps (reverse-mode differentiation of the same
  arithmetic, not the continuous adjoint method), evaluation by evaluation;
* the weight gradients of all ``E = 4 x steps`` evaluations are summed by one matrix product per weight over
  the evaluations' stacked rows (``sum_e X_e^T G_e = [X_1; ...; X_E]^T [G_1; ...; G_E]``) instead of one product
  per evaluation;
* the node takes every model's raw parameters and masks and assembles the stacked effective weights itself, so
  masking, stacking, transposing and the gene rates cost no autograd nodes of their own (about twenty per training
  step before; SIM350-sized epoch on 1 CPU thread 0.353 -> 0.310 s);
* on the CPU the arithmetic runs in NumPy (:func:`_solve_np`, :func:`_adjoint_np`): the operations are tiny, and a
  NumPy call costs about half a PyTorch operator call (epoch 0.292 -> 0.202 s; a whole SIM350 DASH run 81.6 ->
  46.9 s with the changes above, README "CPU speed now"); CUDA runs the PyTorch version (capturable in a CUDA
  graph). NumPy uses another BLAS than PyTorch, so float32 results agree with the PyTorch arithmetic to rounding,
  not bit for bit; stacked and single runs share the node and agree exactly.

The field (methods A.1), per stacked model k and state ``x`` (``(K, B, n)``)::

    sx = softsign(x - 1/2),  s = sx W_s^T + b_s,  p = exp(log(1 + sx) W_p^T + b_p),
    f  = a * ([s, p] C^T - x),    a = dt * ReLU(g)   (time rescaling, methods A.7)

Masks and the gene-rate gradient rule (:func:`dash_core.models.phoenix.gene_rate`) are applied inside the node
(the gradient of a masked weight is zero, as with ``weight * mask`` under autograd); gated layers (L0, PathReg)
do not use the node. Gradients agree with autograd's to
rounding (``tests/test_fused_rk4.py``: float64, 1e-6 relative); the summation order differs, so float32 results
differ from the unfused solve in the last bits.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

Tensor = torch.Tensor


def _field(x: Tensor, a: Tensor, wst: Tensor, wpt: Tensor, ct: Tensor, bs: Tensor, bp: Tensor,
           saved: list | None) -> Tensor:
    """``f(x)`` of K models on ``(K, B, n)`` states; appends what the backward pass needs to ``saved``.

    Scalars stay Python floats: this PyTorch version runs on CUDA (the CPU runs :func:`_field_np`), where a
    0-dimensional tensor constant would be a host-to-device copy inside the captured CUDA graph."""
    y = x - 0.5
    d = y.abs().add_(1.0)
    sx = y.div_(d)  # softsign(x - 1/2), written over y
    t = sx + 1.0
    lg = torch.log1p(sx)
    sp = torch.cat([torch.baddbmm(bs, sx, wst), torch.baddbmm(bp, lg, wpt).exp_()], dim=2)  # [s, p]
    r = torch.baddbmm(x, sp, ct, beta=-1.0)  # u - x
    if saved is not None:
        saved.append((sx, t, d, lg, sp, r))
    return r.mul(a)


def _solve(x0: Tensor, a: Tensor, wst: Tensor, wpt: Tensor, ct: Tensor, bs: Tensor, bp: Tensor, n_steps: int,
           saved: list | None) -> Tensor:
    """``n_steps`` classical RK4 steps of size ``1 / n_steps`` (the fixed grid of :mod:`dash_core.integrate`)."""
    h_rk = 1.0 / n_steps
    z = x0
    for _ in range(n_steps):
        k1 = _field(z, a, wst, wpt, ct, bs, bp, saved)
        k2 = _field(torch.add(z, k1, alpha=0.5 * h_rk), a, wst, wpt, ct, bs, bp, saved)
        k3 = _field(torch.add(z, k2, alpha=0.5 * h_rk), a, wst, wpt, ct, bs, bp, saved)
        k4 = _field(torch.add(z, k3, alpha=h_rk), a, wst, wpt, ct, bs, bp, saved)
        # the same operation order as dash_core.integrate._rk4_step
        z = torch.add(z, torch.add(torch.add(k1, k2 + k3, alpha=2.0), k4), alpha=h_rk / 6.0)
    return z


def _adjoint(saved: list, gz: Tensor, a: Tensor, wst: Tensor, wpt: Tensor, ct: Tensor, n_steps: int):
    """Reverse pass of :func:`_solve`: ``dL/dx0``, ``dL/da`` and the weight gradients ``dL/dW_s``, ``dL/dW_p``
    ``(K, h, n)``, ``dL/dC`` ``(K, n, 2h)`` and ``dL/d[b_s, b_p]`` ``(K, 1, 2h)``, from ``dL/dz(1)``."""
    h_rk = 1.0 / n_steps
    hid = wst.shape[2]
    wsT, wpT, cT = wst.transpose(1, 2), wpt.transpose(1, 2), ct.transpose(1, 2)
    g_a = torch.zeros_like(a)
    # per evaluation, for the weight gradients: dL/dr (times a) and dL/d[s, q] (q = pre-exp of p)
    g_r_all: list[Tensor] = [None] * len(saved)  # type: ignore[list-item]
    g_sq_all: list[Tensor] = [None] * len(saved)  # type: ignore[list-item]

    def vjp(e: int, gf: Tensor) -> Tensor:
        """dL/dx of evaluation ``e`` given dL/df; stores its weight-gradient factors."""
        sx, t, d, lg, sp, r = saved[e]
        g_a.addcmul_(gf, r)
        g_r = gf * a
        g_r_all[e] = g_r
        g_sq = torch.bmm(g_r, cT)  # dL/d[s, p]
        g_sq[..., hid:].mul_(sp[..., hid:])  # dL/dq = dL/dp * p
        g_sq_all[e] = g_sq
        g_sx = torch.bmm(g_sq[..., :hid], wsT)
        g_sx.addcdiv_(torch.bmm(g_sq[..., hid:], wpT), t)  # d log(1 + sx) / d sx = 1 / (1 + sx)
        # d softsign(y) / dy = 1 / (1 + |y|)^2 ; and d(u - x)/dx contributes -g_r
        return g_sx.div_(d).div_(d).sub_(g_r)

    c = h_rk / 6.0
    g_z = gz
    for step in reversed(range(n_steps)):
        e0 = 4 * step
        g_in4 = vjp(e0 + 3, g_z * c)  # k4 = F(z + h k3)
        g_k3 = torch.add(g_in4, g_z, alpha=2.0 * c / h_rk).mul_(h_rk)  # h * (g_in4 + (2c/h) g_z): dL/dk3
        g_in3 = vjp(e0 + 2, g_k3)
        g_k2 = torch.add(g_in3, g_z, alpha=2.0 * c / (0.5 * h_rk)).mul_(0.5 * h_rk)
        g_in2 = vjp(e0 + 1, g_k2)
        g_k1 = torch.add(g_in2, g_z, alpha=c / (0.5 * h_rk)).mul_(0.5 * h_rk)
        g_in1 = vjp(e0, g_k1)
        g_z = g_z + g_in4 + g_in3 + g_in2 + g_in1
    # weight gradients: one product per weight over the stacked rows of all evaluations, in the weights' own
    # orientation ((h, n) inputs, (n, 2h) outputs) so that no transposed copy is needed
    sx_all = torch.cat([s[0] for s in saved], dim=1)
    lg_all = torch.cat([s[3] for s in saved], dim=1)
    sp_all = torch.cat([s[4] for s in saved], dim=1)
    g_r = torch.cat(g_r_all, dim=1)
    g_sq = torch.cat(g_sq_all, dim=1)
    g_sqT = g_sq.transpose(1, 2)
    g_ws = torch.bmm(g_sqT[:, :hid], sx_all)
    g_wp = torch.bmm(g_sqT[:, hid:], lg_all)
    g_c = torch.bmm(g_r.transpose(1, 2), sp_all)
    g_b = g_sq.sum(dim=1, keepdim=True)
    return g_z, g_a, g_ws, g_wp, g_c, g_b


# -- the same solve and adjoint on NumPy arrays (CPU) ---------------------------------------------------------------
# On the CPU the node's operations are tiny (a SIM350-sized batch is 4 x 350), so the cost of each call dominates:
# a NumPy ufunc or matmul call costs about half a PyTorch operator call. Measured (1 CPU thread, 4 x 350 states,
# h = 40): one field evaluation 21 us in NumPy vs 37 us in PyTorch; see the README's speed table for a whole run.
# The arithmetic is the PyTorch version's, operation for operation; results agree to rounding (different BLAS).

def _field_np(x: np.ndarray, a: np.ndarray, wst, wpt, ct, bs, bp, saved: list | None) -> np.ndarray:
    """:func:`_field` on NumPy arrays."""
    one = x.dtype.type(1.0)
    y = x - x.dtype.type(0.5)
    d = np.abs(y)
    d += one
    sx = np.divide(y, d, out=y)
    t = sx + one
    lg = np.log1p(sx)
    hid = wst.shape[2]
    sp = np.empty(x.shape[:-1] + (2 * hid,), dtype=x.dtype)
    s, p = sp[..., :hid], sp[..., hid:]
    np.matmul(sx, wst, out=s)
    s += bs
    np.matmul(lg, wpt, out=p)
    p += bp
    np.exp(p, out=p)
    r = np.matmul(sp, ct)
    r -= x  # u - x
    if saved is not None:
        saved.append((sx, t, d, lg, sp, r))
    return r * a


def _solve_np(x0: np.ndarray, a, wst, wpt, ct, bs, bp, n_steps: int, saved: list | None) -> np.ndarray:
    """:func:`_solve` on NumPy arrays."""
    f = x0.dtype.type
    h_rk = 1.0 / n_steps
    half, full, sixth = f(0.5 * h_rk), f(h_rk), f(h_rk / 6.0)
    # NumPy's stacked matmul is ~5x slower with a transposed (K, 2h, n) right operand (17 vs 3.3 us): copy it once
    ct = np.ascontiguousarray(ct)
    z = x0
    for _ in range(n_steps):
        k1 = _field_np(z, a, wst, wpt, ct, bs, bp, saved)
        k2 = _field_np(z + k1 * half, a, wst, wpt, ct, bs, bp, saved)
        k3 = _field_np(z + k2 * half, a, wst, wpt, ct, bs, bp, saved)
        k4 = _field_np(z + k3 * full, a, wst, wpt, ct, bs, bp, saved)
        k2 += k3
        k2 *= f(2.0)
        k2 += k1
        k2 += k4
        k2 *= sixth
        z = z + k2
    return z


def _adjoint_np(saved: list, gz: np.ndarray, a: np.ndarray, wst, wpt, ct, n_steps: int):
    """:func:`_adjoint` on NumPy arrays."""
    f = gz.dtype.type
    h_rk = 1.0 / n_steps
    hid = wst.shape[2]
    wsT, wpT, cT = wst.transpose(0, 2, 1), wpt.transpose(0, 2, 1), ct.transpose(0, 2, 1)
    g_a = np.zeros_like(a)
    g_r_all: list = [None] * len(saved)
    g_sq_all: list = [None] * len(saved)

    def vjp(e: int, gf: np.ndarray) -> np.ndarray:
        sx, t, d, lg, sp, r = saved[e]
        g_a.__iadd__(gf * r)
        g_r = gf * a
        g_r_all[e] = g_r
        g_sq = np.matmul(g_r, cT)
        g_sq[..., hid:] *= sp[..., hid:]
        g_sq_all[e] = g_sq
        g_sx = np.matmul(g_sq[..., :hid], wsT)
        g_p = np.matmul(g_sq[..., hid:], wpT)
        g_p /= t
        g_sx += g_p
        g_sx /= d
        g_sx /= d
        g_sx -= g_r
        return g_sx

    c = h_rk / 6.0
    cz, c3, c2, c1 = f(c), f(2.0 * c / h_rk), f(2.0 * c / (0.5 * h_rk)), f(c / (0.5 * h_rk))
    full, half = f(h_rk), f(0.5 * h_rk)
    g_z = gz
    for step in reversed(range(n_steps)):
        e0 = 4 * step
        g_in4 = vjp(e0 + 3, g_z * cz)
        g_k3 = g_z * c3
        g_k3 += g_in4
        g_k3 *= full
        g_in3 = vjp(e0 + 2, g_k3)
        g_k2 = g_z * c2
        g_k2 += g_in3
        g_k2 *= half
        g_in2 = vjp(e0 + 1, g_k2)
        g_k1 = g_z * c1
        g_k1 += g_in2
        g_k1 *= half
        g_in1 = vjp(e0, g_k1)
        g_z = g_z + g_in4
        g_z += g_in3
        g_z += g_in2
        g_z += g_in1
    sx_all = np.concatenate([v[0] for v in saved], axis=1)
    lg_all = np.concatenate([v[3] for v in saved], axis=1)
    sp_all = np.concatenate([v[4] for v in saved], axis=1)
    g_r = np.concatenate(g_r_all, axis=1)
    g_sq = np.concatenate(g_sq_all, axis=1)
    g_sqT = g_sq.transpose(0, 2, 1)
    g_ws = np.matmul(g_sqT[:, :hid], sx_all)
    g_wp = np.matmul(g_sqT[:, hid:], lg_all)
    g_c = np.matmul(g_r.transpose(0, 2, 1), sp_all)
    g_b = g_sq.sum(axis=1, keepdims=True)
    return g_z, g_a, g_ws, g_wp, g_c, g_b


#: Run the node's arithmetic in NumPy when its tensors are on the CPU (False: PyTorch operators everywhere; the
#: tests compare the two). CUDA always uses the PyTorch operators.
NUMPY_ON_CPU = True
_blas_threads: list[int | None] = [None]


def _use_numpy(x: Tensor) -> bool:
    """Whether the node runs in NumPy for these tensors; keeps NumPy's BLAS threads at PyTorch's thread count (the
    thread count the run chose, :func:`dash_core.train.cpu_threads_for`), so a worker never oversubscribes."""
    if not NUMPY_ON_CPU or x.device.type != "cpu" or x.dtype not in (torch.float32, torch.float64):
        return False
    n = torch.get_num_threads()
    if _blas_threads[0] != n:
        from threadpoolctl import threadpool_limits  # lazy: ~20 ms import, once per process

        threadpool_limits(limits=n, user_api="blas")
        _blas_threads[0] = n
    return True


def _np(t: Tensor) -> np.ndarray:
    return t.detach().numpy()


def _forward(x0: Tensor, a: Tensor, wst: Tensor, wpt: Tensor, ct: Tensor, bs: Tensor, bp: Tensor, n_steps: int,
             saved: list | None) -> tuple[Tensor, bool]:
    """:func:`_solve` in NumPy (CPU) or with PyTorch operators; also returns whether NumPy ran it."""
    if not _use_numpy(x0):
        return _solve(x0, a, wst, wpt, ct, bs, bp, n_steps, saved), False
    with np.errstate(all="ignore"):  # non-finite states propagate silently, as with PyTorch operators
        return torch.from_numpy(_solve_np(*(_np(v) for v in (x0, a, wst, wpt, ct, bs, bp)), n_steps, saved)), True


#: Parameters of one PHOENIX model as the node takes them, in this order.
PARAMS = ("sums_in.weight", "prods_in.weight", "sums_out.weight", "prods_out.weight", "sums_in.bias",
          "prods_in.bias", "g")


_MASK_STACKS: dict[tuple, tuple] = {}


def _stacked_masks(masks: list[tuple[Tensor, ...]]) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The K models' masks stacked per layer (``W_s, W_p`` ``(K, h, n)``, ``C_s, C_p`` ``(K, n, h)``).

    Masks change only at pruning events, so the stacks are kept between steps, keyed by the mask tensors and their
    in-place version counters (a pruning event writes the masks in place and so bumps the version); the cached
    entry holds the masks, so their ids cannot be reused while it lives. Stacking once and masking with one product
    per layer instead of one per model saved ~4 % of a SIM350-sized stacked step (K = 5, 1 CPU thread).

    CPU only: on CUDA the step is captured in a graph (:class:`dash_core.train.CudaGraphStep`) that must read the
    mask buffers themselves, so that a replay after a pruning event sees the new masks; there they are stacked at
    every call (inside the graph).
    """
    if masks[0][0].device.type != "cpu":
        return tuple(torch.stack([ms[j] for ms in masks]) for j in range(4))
    key = tuple((id(m), m._version) for ms in masks for m in ms)
    hit = _MASK_STACKS.get(key)
    if hit is None:
        if len(_MASK_STACKS) >= 8:
            _MASK_STACKS.clear()
        hit = _MASK_STACKS[key] = (masks, tuple(torch.stack([ms[j] for ms in masks]) for j in range(4)))
    return hit[1]


def _assemble(params: tuple[Tensor, ...], masks: list[tuple[Tensor, ...]], dt: Tensor):
    """Stacked effective weights ``W_s^T, W_p^T`` ``(K, n, h)``, ``C^T`` ``(K, 2h, n)``, biases ``(K, 1, h)`` and
    ``a = dt * ReLU(g)`` ``(K, B, n)`` from the flat per-model parameter list (see :data:`PARAMS`); also the raw
    rates ``g`` ``(K, n)`` and the stacked masks (:func:`_stacked_masks`)."""
    ms = _stacked_masks(masks)
    ws, wp, cs, cp, bs, bp, g = (torch.stack(params[j::7]) for j in range(7))
    c = torch.cat([cs.mul_(ms[2]), cp.mul_(ms[3])], dim=2)
    a = dt[..., None] * torch.relu(g).unsqueeze(1)
    return (ws.mul_(ms[0]).transpose(1, 2), wp.mul_(ms[1]).transpose(1, 2), c.transpose(1, 2), bs.unsqueeze(1),
            bp.unsqueeze(1), a, g, ms)


def _param_grads(saved: list, gz: Tensor, numpy: bool, a: Tensor, wst: Tensor, wpt: Tensor, ct: Tensor, dt: Tensor,
                 g: Tensor, ms: tuple[Tensor, ...], straight_through: list[bool], n_steps: int):
    """``dL/dx0`` and every model's parameter gradients (flat, in the order of :data:`PARAMS`) from ``dL/dz(1)``:
    the adjoint (:func:`_adjoint_np` or :func:`_adjoint`), masked (the gradient of ``weight * mask``), split by
    model; the gene rates by their gradient rule (straight-through: identity; else ReLU's derivative)."""
    if numpy:
        with np.errstate(all="ignore"):
            out = _adjoint_np(saved, _np(gz), *(_np(v) for v in (a, wst, wpt, ct)), n_steps)
        g_z, g_a, g_ws, g_wp, g_c, g_b = (torch.from_numpy(v) for v in out)
    else:
        g_z, g_a, g_ws, g_wp, g_c, g_b = _adjoint(saved, gz, a, wst, wpt, ct, n_steps)
    hid = wst.shape[2]
    g_ws, g_wp = g_ws.mul_(ms[0]), g_wp.mul_(ms[1])
    g_cs, g_cp = g_c[:, :, :hid] * ms[2], g_c[:, :, hid:] * ms[3]
    g_bs, g_bp = g_b[:, 0, :hid], g_b[:, 0, hid:]
    g_gr = (g_a * dt[..., None]).sum(dim=1)  # d a / d ReLU(g), summed over the batch
    grads: list[Tensor] = []
    for i, st in enumerate(straight_through):  # (no host-to-device copy: this runs inside captured CUDA graphs)
        grads += [g_ws[i], g_wp[i], g_cs[i], g_cp[i], g_bs[i], g_bp[i], g_gr[i] if st else g_gr[i] * (g[i] > 0)]
    return g_z, grads


class FusedPhoenixRK4(torch.autograd.Function):
    """``z(1)`` of ``dz/dtau = a * (u(z) - z)`` from ``z(0) = x0`` by ``n_steps`` RK4 steps for K PHOENIX models;
    see the module doc.

    Inputs: ``x0`` ``(K, B, n)``, ``dt`` ``(K, B)``, ``n_steps`` (int), ``masks`` (per model: the masks of
    ``W_s, W_p`` ``(h, n)`` and ``C_s, C_p`` ``(n, h)``), ``straight_through`` (per model: the gene-rate gradient
    rule), then the K models' parameters flat, each model's in the order of :data:`PARAMS`. Once differentiable;
    ``dt`` gets no gradient.
    """

    @staticmethod
    def forward(ctx, x0, dt, n_steps, masks, straight_through, *params):
        with torch.no_grad():
            wst, wpt, ct, bs, bp, a, g, ms = _assemble(params, masks, dt)
            saved: list = []
            z, ctx.numpy = _forward(x0, a, wst, wpt, ct, bs, bp, int(n_steps), saved)
        ctx.n_steps = int(n_steps)
        ctx.saved = saved
        ctx.masks = ms
        ctx.straight_through = straight_through
        ctx.save_for_backward(a, wst, wpt, ct, dt, g)
        return z

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gz):
        a, wst, wpt, ct, dt, g = ctx.saved_tensors
        saved, ctx.saved = ctx.saved, None
        g_z, grads = _param_grads(saved, gz, ctx.numpy, a, wst, wpt, ct, dt, g, ctx.masks, ctx.straight_through,
                                  ctx.n_steps)
        return (g_z if ctx.needs_input_grad[0] else None, None, None, None, None, *grads)


def fused_phoenix_rk4(params: list[Tensor], masks: list[tuple[Tensor, ...]], straight_through: list[bool],
                      x0: Tensor, dt: Tensor, n_steps: int) -> Tensor:
    """Final states ``(K, B, n)`` of the RK4 solve of K PHOENIX models (see :class:`FusedPhoenixRK4`).

    Without autograd when no input needs it. ``params``: each model's tensors in the order of :data:`PARAMS`;
    ``masks``: per model the masks of ``W_s, W_p`` ``(h, n)`` (column = regulator) and ``C_s, C_p`` ``(n, h)``
    (row = target); ``straight_through``: per model, the gene-rate gradient rule.
    """
    if torch.is_grad_enabled() and (x0.requires_grad or any(p.requires_grad for p in params)):
        return FusedPhoenixRK4.apply(x0, dt, int(n_steps), masks, straight_through, *params)
    with torch.no_grad():
        wst, wpt, ct, bs, bp, a, _, _ = _assemble(params, masks, dt)
        return _forward(x0, a, wst, wpt, ct, bs, bp, int(n_steps), None)[0]


@torch.no_grad()
def fused_phoenix_rk4_backprop(params: list[Tensor], masks: list[tuple[Tensor, ...]], straight_through: list[bool],
                               x0: Tensor, dt: Tensor, n_steps: int,
                               loss_grad: Callable[[Tensor], tuple[Tensor, Tensor]]) -> Tensor:
    """A whole training step's forward and backward pass without autograd: solve as :func:`fused_phoenix_rk4`,
    let ``loss_grad(z)`` return the loss values and ``dL/dz(1)`` ``(K, B, n)``, and add each parameter's gradient
    to its ``.grad``. Returns the loss values.

    For losses that depend on the parameters only through ``z(1)`` (the data MSE of a training step). Autograd's
    bookkeeping (the node's wrapper, the engine, one gradient accumulation per parameter) cost ~15 % of a
    SIM350-sized stacked step on one CPU thread; the gradients are the node's own (``tests/test_fused_rk4.py``).
    """
    wst, wpt, ct, bs, bp, a, g, ms = _assemble(params, masks, dt)
    saved: list = []
    z, numpy = _forward(x0, a, wst, wpt, ct, bs, bp, int(n_steps), saved)
    values, gz = loss_grad(z)
    _, grads = _param_grads(saved, gz, numpy, a, wst, wpt, ct, dt, g, ms, straight_through, int(n_steps))
    for p, gr in zip(params, grads):
        if p.grad is None:
            p.grad = gr
        else:
            p.grad += gr
    return values

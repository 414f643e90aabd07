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
  per evaluation.

The field (methods A.1), per stacked model k and state ``x`` (``(K, B, n)``)::

    sx = softsign(x - 1/2),  s = sx W_s^T + b_s,  p = exp(log(1 + sx) W_p^T + b_p),
    f  = a * ([s, p] C^T - x),    a = dt * ReLU(g)   (time rescaling, methods A.7)

Masks, gates and the gene-rate gradient rule (:func:`dash_core.models.phoenix.gene_rate`) act on the weights
and on ``a`` before they enter the node, so autograd still handles them. Gradients agree with autograd's to
rounding (``tests/test_fused_rk4.py``: float64, 1e-6 relative); the summation order differs, so float32 results
differ from the unfused solve in the last bits.
"""

from __future__ import annotations

import torch

Tensor = torch.Tensor


def _field(x: Tensor, a: Tensor, wst: Tensor, wpt: Tensor, ct: Tensor, bs: Tensor, bp: Tensor,
           saved: list | None) -> Tensor:
    """``f(x)`` of K models on ``(K, B, n)`` states; appends what the backward pass needs to ``saved``."""
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


class FusedPhoenixRK4(torch.autograd.Function):
    """``z(1)`` of ``dz/dtau = a * (u(z) - z)`` from ``z(0) = x0`` by ``n_steps`` RK4 steps; see the module doc.

    Inputs: ``x0``, ``a`` ``(K, B, n)``; ``wst``, ``wpt`` ``(K, n, h)`` (W^T); ``ct`` ``(K, 2h, n)`` ([C_s C_p]^T);
    ``bs``, ``bp`` ``(K, 1, h)``; ``n_steps`` (int). Once differentiable.
    """

    @staticmethod
    def forward(ctx, x0, a, wst, wpt, ct, bs, bp, n_steps):
        saved: list = []
        z = _solve(x0, a, wst, wpt, ct, bs, bp, int(n_steps), saved)
        ctx.n_steps = int(n_steps)
        ctx.saved = saved
        ctx.save_for_backward(a, wst, wpt, ct)
        return z

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gz):
        a, wst, wpt, ct = ctx.saved_tensors
        saved = ctx.saved
        ctx.saved = None
        n_steps = ctx.n_steps
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

        g_z = gz
        for step in reversed(range(n_steps)):
            e0 = 4 * step
            c = h_rk / 6.0
            g_in4 = vjp(e0 + 3, g_z * c)  # k4 = F(z + h k3)
            g_k3 = torch.add(g_in4, g_z, alpha=2.0 * c / h_rk).mul_(h_rk)  # h * (g_in4 + (2c/h) g_z): dL/dk3
            g_in3 = vjp(e0 + 2, g_k3)
            g_k2 = torch.add(g_in3, g_z, alpha=2.0 * c / (0.5 * h_rk)).mul_(0.5 * h_rk)
            g_in2 = vjp(e0 + 1, g_k2)
            g_k1 = torch.add(g_in2, g_z, alpha=c / (0.5 * h_rk)).mul_(0.5 * h_rk)
            g_in1 = vjp(e0, g_k1)
            g_z = g_z + g_in4 + g_in3 + g_in2 + g_in1
        # weight gradients: one product per weight over the stacked rows of all evaluations
        sx_all = torch.cat([s[0] for s in saved], dim=1)
        lg_all = torch.cat([s[3] for s in saved], dim=1)
        sp_all = torch.cat([s[4] for s in saved], dim=1)
        g_r = torch.cat(g_r_all, dim=1)
        g_sq = torch.cat(g_sq_all, dim=1)
        g_wst = torch.bmm(sx_all.transpose(1, 2), g_sq[..., :hid])
        g_wpt = torch.bmm(lg_all.transpose(1, 2), g_sq[..., hid:])
        g_ct = torch.bmm(sp_all.transpose(1, 2), g_r)
        g_b = g_sq.sum(dim=1, keepdim=True)
        return g_z, g_a, g_wst, g_wpt, g_ct, g_b[..., :hid], g_b[..., hid:], None


def fused_rk4(x0: Tensor, a: Tensor, wst: Tensor, wpt: Tensor, ct: Tensor, bs: Tensor, bp: Tensor,
              n_steps: int) -> Tensor:
    """Final state of the RK4 solve (see :class:`FusedPhoenixRK4`); without autograd when no input needs it."""
    if torch.is_grad_enabled() and any(v.requires_grad for v in (x0, a, wst, wpt, ct, bs, bp)):
        return FusedPhoenixRK4.apply(x0, a, wst, wpt, ct, bs, bp, int(n_steps))
    with torch.no_grad():
        return _solve(x0, a, wst, wpt, ct, bs, bp, int(n_steps), None)

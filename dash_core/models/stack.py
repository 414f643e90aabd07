"""A stack of K models of one architecture, evaluated together (batched matrix products).

:class:`ModelStack` is what the training engine (:mod:`dash_core.train`) integrates: states are
``(K, B, n)`` (batch k goes through model k), so K models cost one set of batched kernels instead of
K sets of small ones. The members stay ordinary :class:`~dash_core.models.base.GRNModel` objects with
their own parameters, masks and gates; the stack only gathers their effective weights once per solve,
so a member that stops training simply leaves the stack.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from dash_core.models.base import GRNModel, Tensor


class ModelStack(nn.Module):
    """K models of one class and shape, evaluated as one.

    Parameters
    ----------
    models
        The members (same class, genes and hidden size). Their parameters are the stack's parameters.
    """

    def __init__(self, models: list[GRNModel]) -> None:
        super().__init__()
        if not models:
            raise ValueError("a model stack needs at least one model")
        first = models[0]
        for m in models[1:]:
            if type(m) is not type(first) or m.n_genes != first.n_genes or m.hidden != first.hidden:
                raise ValueError("models in one stack must share class, number of genes and hidden size")
        self.members = nn.ModuleList(models)
        self.n_genes = first.n_genes
        self.hidden = first.hidden

    def __len__(self) -> int:
        return len(self.members)

    def vector_field(self) -> Callable[[Tensor], Tensor]:
        """``f(x, scale=None)`` on ``(K, B, n)`` states, ``scale`` ``(K, B, 1)``."""
        members = list(self.members)
        return type(members[0]).stacked_vector_field(members)

    def fused_rk4(self):
        """``solve(x0, dt, n_steps)`` on ``(K, B, n)`` states when the members' class has a fused RK4 solve
        (:attr:`~dash_core.models.base.GRNModel.stacked_rk4`), else None."""
        members = list(self.members)
        fn = type(members[0]).stacked_rk4
        return None if fn is None else (lambda x0, dt, n_steps: fn(members, x0, dt, n_steps))

    def max_rate(self) -> float | None:
        """The largest rate of any member (None if a member has none): fixed-step solves of the whole stack
        use it when no step count is given (:func:`dash_core.integrate.n_fixed_steps`)."""
        rates = [m.max_rate() for m in self.members]
        return None if any(r is None for r in rates) else max(rates)

    def forward(self, x: Tensor) -> Tensor:
        return self.vector_field()(x)

    def drive(self, x: Tensor) -> Tensor:
        """The members' prior-loss drives ``u(x)`` on ``(K, B, n)`` states."""
        members = list(self.members)
        return type(members[0]).stacked_drive(members, x)

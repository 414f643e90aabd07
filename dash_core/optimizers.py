"""One Adam step for a stack of K models, and the tensor lists it keeps between steps.

Each member of a training stack (:mod:`dash_core.train`) has its own ``torch.optim.Adam`` (its own moments, step
counts, learning rates and resets). :func:`adam_step` updates all of them with one fused multi-tensor kernel per
group of equal settings, reusing the per-group tensor lists kept on each optimiser (:class:`_AdamGroup`) instead
of gathering them from the state dictionaries at every step, which cost about a tenth of a SIM350-sized step on one
CPU thread (measured in the README's speed table); :func:`zero_grads` clears their gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.optim.adam import adam as adam_fn

Tensor = torch.Tensor

__all__ = ["adam_step", "cached_adam_groups", "zero_grads"]


@dataclass
class _AdamGroup:
    """The tensor lists of one Adam parameter group, as ``torch.optim.Adam._init_group`` gathers them.

    Gathering them walks every parameter's state dictionary at every step (about a tenth of a SIM350-sized step on
    one CPU thread); between optimiser resets they do not change, so :func:`adam_step` keeps them on the optimiser
    and only reads the current gradients.
    """

    group: dict
    params: list[Tensor]
    exp_avgs: list[Tensor]
    exp_avg_sqs: list[Tensor]
    max_exp_avg_sqs: list[Tensor]
    state_steps: list[Tensor]

    def key(self) -> tuple:
        g = self.group
        beta1, beta2 = g["betas"]
        return (float(g["lr"]), beta1, beta2, g["eps"], g["weight_decay"], g["amsgrad"], g["maximize"], g["foreach"],
                g["capturable"], g["fused"], g.get("decoupled_weight_decay", False))

    def lists(self) -> list[list[Tensor]] | None:
        """``[params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps]``; None when a parameter has no
        gradient this step (then the optimiser's own gathering decides)."""
        grads = [p.grad for p in self.params]
        if any(g is None for g in grads):
            return None
        return [self.params, grads, self.exp_avgs, self.exp_avg_sqs, self.max_exp_avg_sqs, self.state_steps]


_ADAM_PLAN = "_dash_adam_groups"


def cached_adam_groups(opt: torch.optim.Optimizer) -> list[_AdamGroup] | None:
    """The cached group lists of an Adam optimiser when still valid (same groups, same state tensors)."""
    plan = opt.__dict__.get(_ADAM_PLAN)
    if plan is None or len(plan) != len(opt.param_groups):
        return None
    for entry, group in zip(plan, opt.param_groups):
        if entry.group is not group or len(entry.params) != len(group["params"]):
            return None
        if entry.params and opt.state.get(entry.params[0], {}).get("exp_avg") is not entry.exp_avgs[0]:
            return None  # the state was replaced (load_state_dict)
    return plan


def zero_grads(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.zero_grad(set_to_none=True)`` without its per-call profiler and bookkeeping: every parameter's
    gradient set to None."""
    for group in optimizer.param_groups:
        for p in group["params"]:
            p.grad = None


_STACK_PLAN = "_dash_adam_stack"


def adam_step(optimizers: list[torch.optim.Optimizer]) -> None:
    """One Adam update of every model: the parameter groups of all K optimisers that share settings and
    learning rate go through one (fused) multi-tensor kernel; each tensor keeps its own moments and step.

    The buckets of a set of optimisers are kept on the first one while their groups, states and learning rates
    stay the same (then a step only gathers the gradients): rebuilding them at every step cost ~8 % of a
    SIM350-sized stacked step (K = 5, 1 CPU thread)."""
    plans = [cached_adam_groups(opt) if isinstance(opt, torch.optim.Adam) else None for opt in optimizers]
    if optimizers and all(p is not None for p in plans):
        lrs = tuple(g["lr"] for opt in optimizers for g in opt.param_groups)
        hit = optimizers[0].__dict__.get(_STACK_PLAN)
        if hit is not None and hit[0] == lrs and len(hit[1]) == len(plans) and all(
                a is b for a, b in zip(hit[1], plans)):
            buckets = hit[2]
            grads = [[p.grad for p in lists[0]] for lists in buckets.values()]
            if not any(g is None for gs in grads for g in gs):
                _run_buckets({key: [lists[0], gs, *lists[1:]] for (key, lists), gs in zip(buckets.items(), grads)})
                return
    buckets: dict[tuple, list[list[Tensor]]] = {}
    for opt, plan in zip(optimizers, plans):
        # another optimiser, or a torch whose Adam lacks the (private) _init_group: the optimiser's own step
        if not isinstance(opt, torch.optim.Adam) or not hasattr(opt, "_init_group"):
            opt.step()
            continue
        gathered = None if plan is None else [(e, e.lists()) for e in plan]
        if gathered is None or any(lists is None for _, lists in gathered):
            gathered, cache = [], []
            for group in opt.param_groups:
                lists: list[list[Tensor]] = [[], [], [], [], [], []]
                opt._init_group(group, *lists)
                entry = _AdamGroup(group, lists[0], lists[2], lists[3], lists[4], lists[5])
                cache.append(entry)
                gathered.append((entry, lists))
            complete = all(len(e.params) == len(e.group["params"]) for e in cache)
            opt.__dict__[_ADAM_PLAN] = cache if complete else None
        for entry, lists in gathered:
            if not lists[0]:
                continue
            bucket = buckets.setdefault(entry.key(), [[], [], [], [], [], []])
            for acc, new in zip(bucket, lists):
                acc.extend(new)
    _run_buckets(buckets)
    plans = [opt.__dict__.get(_ADAM_PLAN) if isinstance(opt, torch.optim.Adam) else None for opt in optimizers]
    if optimizers and all(p is not None for p in plans):
        # the buckets without their gradients, for the next step (valid while plans and learning rates stay)
        optimizers[0].__dict__[_STACK_PLAN] = (
            tuple(g["lr"] for opt in optimizers for g in opt.param_groups), plans,
            {key: [lists[0], *lists[2:]] for key, lists in buckets.items()})


def _run_buckets(buckets: dict[tuple, list[list[Tensor]]]) -> None:
    """One multi-tensor Adam call per bucket of equal settings (``[params, grads, exp_avgs, exp_avg_sqs,
    max_exp_avg_sqs, state_steps]``)."""
    for key, lists in buckets.items():
        lr, beta1, beta2, eps, wd, amsgrad, maximize, foreach, capturable, fused, decoupled = key
        adam_fn(*lists, foreach=foreach, capturable=capturable, differentiable=False, fused=fused,
                grad_scale=None, found_inf=None, has_complex=False, decoupled_weight_decay=decoupled,
                amsgrad=amsgrad, beta1=beta1, beta2=beta2, lr=lr, weight_decay=wd, eps=eps, maximize=maximize)

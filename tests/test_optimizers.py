"""The stack's Adam step (dash_core.optimizers) against torch's own Adam.step: same parameters after every step,
also when the kept tensor lists must be rebuilt (state reloaded, a parameter without a gradient)."""

from __future__ import annotations

import copy

import torch

from dash_core.optimizers import adam_step, cached_adam_groups, zero_grads


def _pair(seed: int):
    gen = torch.Generator().manual_seed(seed)
    params = [torch.nn.Parameter(torch.randn(4, 3, generator=gen)), torch.nn.Parameter(torch.randn(3, generator=gen))]
    groups = [{"params": [params[0]], "lr": 1e-2}, {"params": [params[1]], "lr": 5e-2}]
    return params, groups


def _grads(params, step: int, skip_second: bool = False):
    for i, p in enumerate(params):
        if skip_second and i == 1:
            p.grad = None
            continue
        p.grad = torch.sin(torch.arange(p.numel(), dtype=p.dtype) * (step + 1) + i).reshape(p.shape)


def test_adam_step_matches_torch_adam_with_kept_lists():
    ours, theirs = [], []
    for seed in (0, 1):  # two members of a stack, one step call for both
        p, g = _pair(seed)
        ours.append((p, torch.optim.Adam(g, fused=True)))
        q = [torch.nn.Parameter(t.detach().clone()) for t in p]
        theirs.append((q, torch.optim.Adam([{"params": [q[0]], "lr": 1e-2}, {"params": [q[1]], "lr": 5e-2}], fused=True)))
    for step in range(9):
        skip = step == 3  # a parameter without a gradient: the kept lists do not apply this step
        if step == 2:  # a learning rate changes (scheduler): the kept buckets must not be used
            for _, opt in (ours[1], theirs[1]):
                opt.param_groups[0]["lr"] = 3e-3
        members = [0] if step == 7 else [0, 1]  # a member that stopped leaves the step
        for (p, opt), (q, ref) in zip(ours, theirs):
            zero_grads(opt)
            ref.zero_grad(set_to_none=True)
            _grads(p, step, skip)
            _grads(q, step, skip)
        adam_step([ours[i][1] for i in members])
        for i in members:
            theirs[i][1].step()
        if step in (1, 6):  # the buckets of the whole stack are kept after a step
            assert "_dash_adam_stack" in ours[0][1].__dict__
        if step == 1:  # the lists are kept after the first steps
            assert all(cached_adam_groups(opt) is not None for _, opt in ours)
        if step == 4:  # reloading the state replaces the moment tensors: the kept lists must not be used
            p, opt = ours[0]
            opt.load_state_dict(copy.deepcopy(opt.state_dict()))
            assert cached_adam_groups(opt) is None
        for (p, _), (q, _) in zip(ours, theirs):
            for a, b in zip(p, q):
                assert torch.equal(a, b), step

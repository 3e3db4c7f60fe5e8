"""GOM's optimiser rules: global-norm gradient *normalisation*, AdamW with warmup-cosine, weight decay on all params.

The original chains ``clip_by_global_norm(1.0)`` with ``adamw(warmup_cosine_decay(0 -> 3e-4, 500, num_steps),
weight_decay=1e-6)``, but its ``clip_by_global_norm`` is custom and always rescales the gradient to norm exactly 1
(it normalises, never just clips). ``grad_rule="normalize"`` keeps that; ``grad_rule="clip"`` is the usual clip
(``clip_grad_norm_``'s rule) for users who want it.

Everything stays on the device: the learning rate is a tensor the schedule writes in place (no host sync, and
torch.compile does not recompile as it changes), gradient scaling uses ``torch._foreach_*``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

GRAD_RULES = ("normalize", "clip")


def rescale_gradients_(params: Iterable[torch.Tensor], rule: str = "normalize",
                       max_norm: float = 1.0) -> torch.Tensor:
    """Rescale the gradients of ``params`` in place; returns the global norm before (a 0-dim tensor).

    ``normalize``: ``g <- g * max_norm / ||g||`` (the original; zero gradients stay zero instead of becoming NaN).
    ``clip``: ``g <- g * min(1, max_norm / (||g|| + 1e-6))`` (torch's ``clip_grad_norm_``).
    """
    if rule not in GRAD_RULES:
        raise ValueError(f"rescale_gradients_: rule must be one of {GRAD_RULES}; got {rule!r}")
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    if rule == "normalize":
        scale = max_norm / norm.clamp_min(torch.finfo(norm.dtype).tiny)
    else:
        scale = (max_norm / (norm + 1e-6)).clamp_max(1.0)
    torch._foreach_mul_(grads, scale)
    return norm


def warmup_cosine_lr(step: torch.Tensor, peak_lr: float, warmup_steps: int, total_steps: int) -> torch.Tensor:
    """optax's ``warmup_cosine_decay_schedule(0, peak_lr, warmup_steps, total_steps, end_value=0)`` at ``step``.

    Linear from 0 (at step 0, so the first update does not move the weights, as the original) to ``peak_lr`` at
    ``warmup_steps``, then ``peak_lr * (1 + cos(pi * progress)) / 2`` reaching 0 at ``total_steps`` and staying there.
    """
    if not 0 <= warmup_steps < total_steps:
        raise ValueError(f"warmup_cosine_lr: need 0 <= warmup_steps < total_steps; got {warmup_steps}, {total_steps}")
    step = step.to(torch.float32)
    warm = peak_lr * step / max(warmup_steps, 1)
    progress = ((step - warmup_steps) / (total_steps - warmup_steps)).clamp(0.0, 1.0)
    cosine = 0.5 * peak_lr * (1.0 + torch.cos(math.pi * progress))
    return torch.where(step < warmup_steps, warm, cosine)


def make_gom_optimizer(params: Iterable[torch.Tensor], weight_decay: float = 1e-6,
                       device: torch.device | str = "cpu") -> torch.optim.AdamW:
    """AdamW (betas 0.9/0.999, eps 1e-8, decoupled weight decay on every parameter) with a tensor learning rate.

    Fused where torch has a fused AdamW for ``device`` (CPU and CUDA in torch >= 2.4), else capturable foreach.
    The lr starts at 0; write it with ``group["lr"].fill_(...)`` / ``copy_`` each step (see :func:`set_lr_`).
    """
    lr = torch.zeros((), device=device)
    params = list(params)
    try:
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, foreach=True, capturable=True)


def set_lr_(optimizer: torch.optim.Optimizer, lr: torch.Tensor) -> None:
    """Write ``lr`` into every param group's tensor learning rate in place (no recompilation, no host sync)."""
    for group in optimizer.param_groups:
        group["lr"].copy_(lr)

"""The original's optimiser recipe: LAMB with linear warmup and grad-norm clipping for the DT, AdamW for the critic.

ODT / ODT+TD3 train the transformer with LAMB (lr 1e-4, weight decay 5e-4, eps 1e-8), a LambdaLR warmup
``min((step + 1) / warmup_steps, 1)`` over 10k steps, and ``clip_grad_norm_(0.25)``; the critic with AdamW (lr 1e-3,
2e-4 with layer norm); the ODT temperature with Adam (lr 1e-4). torch has no LAMB, so :class:`Lamb` is written here.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

DT_GRAD_CLIP_NORM = 0.25
"""Gradient-norm clip the original applies to the DT's parameters before each LAMB step."""

ParamsT = Iterable[torch.Tensor] | Iterable[dict]


class Lamb(Optimizer):
    """LAMB (You et al., 2020): Adam's direction plus weight decay, rescaled per tensor by a trust ratio.

    For each parameter tensor p with gradient g (the form used by ODT, i.e. cybertronai's pytorch-lamb, which follows
    the paper's v3 and has no bias correction unless ``bias_correction=True``)::

        m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
        u  = m / (sqrt(v) + eps) + weight_decay * p
        r  = min(||p||, clamp_value) / ||u||   (1 if either norm is 0)
        p <- p - lr * r * u

    All tensors of a group update with ``torch._foreach_*`` kernels and no host synchronisation.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        clamp_value: float = 10.0,
        bias_correction: bool = False,
    ) -> None:
        if not lr > 0.0:
            raise ValueError(f"Lamb: lr must be > 0; got {lr}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Lamb: betas must each be in [0, 1); got {betas}")
        if eps < 0.0 or weight_decay < 0.0 or clamp_value <= 0.0:
            raise ValueError(f"Lamb: need eps >= 0, weight_decay >= 0, clamp_value > 0; got eps={eps}, "
                             f"weight_decay={weight_decay}, clamp_value={clamp_value}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, clamp_value=clamp_value,
                        bias_correction=bias_correction)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):  # noqa: ANN001 - torch's Optimizer signature
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            if any(p.grad.is_sparse for p in params):
                raise RuntimeError("Lamb does not support sparse gradients")
            grads = [p.grad for p in params]
            states = [self.state[p] for p in params]
            for state, p in zip(states, params):
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
            exp_avgs = [state["exp_avg"] for state in states]
            exp_avg_sqs = [state["exp_avg_sq"] for state in states]
            beta1, beta2 = group["betas"]
            torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta1)
            torch._foreach_mul_(exp_avg_sqs, beta2)
            torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1.0 - beta2)
            if group["bias_correction"]:
                step = states[0]["step"]
                first = torch._foreach_div(exp_avgs, 1.0 - beta1**step)
                denominators = torch._foreach_sqrt(torch._foreach_div(exp_avg_sqs, 1.0 - beta2**step))
            else:
                first = exp_avgs
                denominators = torch._foreach_sqrt(exp_avg_sqs)
            torch._foreach_add_(denominators, group["eps"])
            updates = torch._foreach_div(first, denominators)
            if group["weight_decay"] != 0.0:
                torch._foreach_add_(updates, params, alpha=group["weight_decay"])
            weight_norms = torch.stack(torch._foreach_norm(params)).clamp(max=group["clamp_value"])
            update_norms = torch.stack(torch._foreach_norm(updates))
            usable = (weight_norms > 0) & (update_norms > 0)
            trust = torch.where(usable, weight_norms / torch.where(usable, update_norms, 1.0), 1.0)
            torch._foreach_mul_(updates, list((-group["lr"] * trust).unbind()))
            torch._foreach_add_(params, updates)
        return loss


def warmup_lambda(warmup_steps: int):
    """The original's LambdaLR factor ``min((step + 1) / warmup_steps, 1)``."""
    if not isinstance(warmup_steps, int) or warmup_steps < 1:
        raise ValueError(f"warmup_steps must be an int >= 1; got {warmup_steps!r}")
    return lambda step: min((step + 1) / warmup_steps, 1.0)


def make_dt_optimizer(
    params: ParamsT,
    *,
    lr: float = 1e-4,
    weight_decay: float = 5e-4,
    warmup_steps: int = 10_000,
    eps: float = 1e-8,
    kind: str = "lamb",
) -> tuple[Optimizer, LambdaLR]:
    """The DT's optimiser and its linear-warmup scheduler (call ``scheduler.step()`` after each optimiser step).

    ``kind="lamb"`` is the original; ``kind="adamw"`` swaps in ``torch.optim.AdamW`` with the same lr, weight
    decay and warmup (a fused, well-trodden alternative). Clip with :func:`clip_dt_grad_` before stepping.
    """
    if kind == "lamb":
        optimizer: Optimizer = Lamb(params, lr=lr, weight_decay=weight_decay, eps=eps)
    elif kind == "adamw":
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, eps=eps)
    else:
        raise ValueError(f"make_dt_optimizer: kind must be 'lamb' or 'adamw'; got {kind!r}")
    return optimizer, LambdaLR(optimizer, warmup_lambda(warmup_steps))


def make_critic_optimizer(params: ParamsT, *, lr: float = 1e-3) -> Optimizer:
    """AdamW with torch's defaults otherwise, as the original (lr 1e-3; 2e-4 for layer-norm critics)."""
    return torch.optim.AdamW(params, lr=lr)


def make_temperature_optimizer(log_temperature: torch.Tensor, *, lr: float = 1e-4) -> Optimizer:
    """Adam(betas 0.9, 0.999) on ODT's ``log_temperature``, as the original."""
    return torch.optim.Adam([log_temperature], lr=lr, betas=(0.9, 0.999))


def clip_dt_grad_(module: nn.Module, max_norm: float = DT_GRAD_CLIP_NORM) -> torch.Tensor:
    """Clip the total gradient norm of ``module``'s parameters (0.25 in the original); returns the norm before."""
    return torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm)

"""The discrete VP noise schedule and the deterministic DDIM sampler of GOM's diffusion heads.

Conventions of the original (models/sde_lib.py, models/sampling.py, models/utils.py), kept exactly:

* ``betas = linspace(beta_min, beta_max, N)``, ``abar = cumprod(1 - betas)``.
* Training: ``t ~ U[0, 1)``; the network sees the *float* label ``N t``; the noise level uses the *floored* index
  ``floor(N t)``: ``x_t = sqrt(abar[idx]) x0 + sqrt(1 - abar[idx]) z``.
* DDIM (eta 0) with ``steps`` steps: indices ``N, N - N/steps, ..., N/steps`` (1000, 980, ..., 20), labels the same
  numbers as floats; index ``N`` reads ``abar[N - 1]`` (JAX clamps out-of-range gathers); the previous index is
  ``idx - N/steps`` and below 0 means ``abar_prev = 1`` (never reached: the last step lands on ``abar[0]``).
* Each step predicts x0 from eps, clips it to [-1, 1] and moves to ``sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps``.
* Guidance ``g`` is added to the score ``-eps / sqrt(1 - abar)``, i.e. ``eps <- eps - sqrt(1 - abar) g``; only with
  guidance is eps re-derived from the clipped x0 (as the original).

The sampler takes the initial noise as an argument (the only randomness at eta 0), so runs are reproducible and can
be compared with another implementation on the same noise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn


class DDIMTable(NamedTuple):
    """Per-step constants of a DDIM run, each a ``(steps,)`` tensor on the schedule's device (no host syncs)."""

    labels: torch.Tensor
    sqrt_abar: torch.Tensor
    sqrt_one_minus_abar: torch.Tensor
    sqrt_abar_prev: torch.Tensor
    sqrt_one_minus_abar_prev: torch.Tensor

    def rows(self) -> torch.Tensor:
        """``(steps, 5)``: row i = (label, sqrt abar, sqrt(1 - abar), sqrt abar_prev, sqrt(1 - abar_prev)) of step i.

        One tensor per step is what :func:`ddim_step` takes, so a compiled step sees the same input kinds every
        step (no recompilation, no Python numbers baked in).
        """
        return torch.stack(tuple(self), dim=1)


class VPSchedule(nn.Module):
    """Discrete variance-preserving schedule; buffers ``betas``, ``alphas_cumprod`` (float32, made in float64)."""

    def __init__(self, num_timesteps: int = 1000, beta_min: float = 1e-4, beta_max: float = 0.02) -> None:
        super().__init__()
        if not isinstance(num_timesteps, int) or num_timesteps < 2:
            raise ValueError(f"VPSchedule: num_timesteps must be an int >= 2; got {num_timesteps!r}")
        if not 0.0 < beta_min <= beta_max < 1.0:
            raise ValueError(f"VPSchedule: need 0 < beta_min <= beta_max < 1; got {beta_min}, {beta_max}")
        self.num_timesteps = num_timesteps
        betas = torch.linspace(beta_min, beta_max, num_timesteps, dtype=torch.float64)
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        self.register_buffer("betas", betas.float())
        self.register_buffer("alphas_cumprod", alphas_cumprod.float())
        self.register_buffer("sqrt_alphas_cumprod", alphas_cumprod.sqrt().float())
        self.register_buffer("sqrt_one_minus_alphas_cumprod", (1.0 - alphas_cumprod).sqrt().float())

    def noise(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x_t, label)`` for times ``t`` in [0, 1) (x0's leading shape): float label ``N t``, floored index."""
        label = t * self.num_timesteps
        index = label.floor().long().clamp(0, self.num_timesteps - 1)
        scale = self.sqrt_alphas_cumprod[index].unsqueeze(-1)
        sigma = self.sqrt_one_minus_alphas_cumprod[index].unsqueeze(-1)
        return scale * x0 + sigma * noise, label

    def ddim_table(self, steps: int = 50) -> DDIMTable:
        """The labels and coefficients of a ``steps``-step DDIM run (first row = the noisiest step)."""
        n = self.num_timesteps
        if not isinstance(steps, int) or not 1 <= steps <= n:
            raise ValueError(f"ddim_table: steps must be an int in [1, {n}]; got {steps!r}")
        interval = n // steps
        index = n - interval * torch.arange(steps, device=self.alphas_cumprod.device)
        prev = index - interval
        abar = self.alphas_cumprod[index.clamp(max=n - 1)]
        abar_prev = torch.where(prev >= 0, self.alphas_cumprod[prev.clamp(min=0)], torch.ones_like(abar))
        return DDIMTable(index.float(), abar.sqrt(), (1 - abar).sqrt(), abar_prev.sqrt(), (1 - abar_prev).sqrt())


def ddim_step(eps: torch.Tensor, x: torch.Tensor, row: torch.Tensor,
              guidance: torch.Tensor | None = None, clip: bool = True) -> torch.Tensor:
    """One eta-0 DDIM update from the noise prediction ``eps`` at ``x``; ``row`` is the step's row of
    :meth:`DDIMTable.rows` (see the module docstring for the rule)."""
    sqrt_ab, sqrt_1m_ab, sqrt_ab_prev, sqrt_1m_ab_prev = row[1], row[2], row[3], row[4]
    if guidance is not None:
        eps = eps - sqrt_1m_ab * guidance
    x0 = (x - sqrt_1m_ab * eps) / sqrt_ab
    if clip:
        x0 = x0.clamp(-1.0, 1.0)
    if guidance is not None:
        eps = (x - sqrt_ab * x0) / sqrt_1m_ab
    return sqrt_ab_prev * x0 + sqrt_1m_ab_prev * eps


@torch.no_grad()
def ddim_sample(denoise: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None, schedule: VPSchedule,
                noise: torch.Tensor, steps: int = 50, guidance: torch.Tensor | None = None, clip: bool = True,
                step_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Run eta-0 DDIM from ``noise`` (the x_T draw); ``denoise(x, label)`` predicts eps with a 0-dim float label.

    ``guidance`` (broadcastable to ``noise``) is added to the score at every step. Returns the final x (the
    original returns x, not the last x0 prediction, so it can leave [-1, 1] by ``sqrt(1 - abar[0])`` * eps).
    ``step_fn(x, row)``, when given, replaces ``ddim_step(denoise(x, row[0]), x, row, guidance, clip)`` as the
    whole update (e.g. a compiled network + update; then ``denoise`` may be None).
    """
    if step_fn is None:
        if denoise is None:
            raise ValueError("ddim_sample: give denoise or step_fn")
        step_fn = lambda x, row: ddim_step(denoise(x, row[0]), x, row, guidance, clip)
    x = noise
    for row in schedule.ddim_table(steps).rows():
        x = step_fn(x, row)
    return x

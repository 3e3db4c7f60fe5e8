"""A conditional diffusion model of a vector in a known box: GOM's outcome model p(psi | s) and readout policy.

Both heads of GOM are the same thing: a denoiser, the VP schedule, and a fixed affine map of the modelled vector
into [-1, 1] (the sampler clips its x0 predictions to that interval). For psi the box is
``[phi_min, phi_max] / (1 - gamma)``; for actions it is the action space. The model works in the scaled space and
speaks the original units at its boundary: :meth:`DiffusionModel.loss` takes unscaled x0, :meth:`DiffusionModel.sample`
returns unscaled samples.
"""

from __future__ import annotations

import torch
from torch import nn

from rlkit.modules.diffusion import VPSchedule, ddim_sample, ddim_step
from rlkit.modules.occupancy_unet import ConditionalMLPUNet


class DiffusionModel(nn.Module):
    """Epsilon-prediction diffusion over ``x`` in ``[low, high]`` given a condition vector.

    Args:
        denoiser: a :class:`ConditionalMLPUNet` (or any module with its ``forward`` / ``prepare_condition`` /
            ``forward_prepared`` and ``x_dim`` / ``cond_dim``).
        low, high: ``(x_dim,)`` bounds mapped to -1 and 1 (buffers; need ``high > low`` everywhere).
        schedule: the noise schedule (default ``VPSchedule()``: 1000 steps, betas 1e-4..0.02).

    Example:
        >>> net = ConditionalMLPUNet(2, 3, embed_dim=16, down_dims=(16,))
        >>> model = DiffusionModel(net, low=-torch.ones(2), high=torch.ones(2))
        >>> model.sample(torch.zeros(4, 3), num_samples=5, steps=2).shape
        torch.Size([4, 5, 2])
    """

    def __init__(self, denoiser: ConditionalMLPUNet, low: torch.Tensor, high: torch.Tensor,
                 schedule: VPSchedule | None = None) -> None:
        super().__init__()
        self.denoiser = denoiser
        self.schedule = VPSchedule() if schedule is None else schedule
        self.x_dim, self.cond_dim = denoiser.x_dim, denoiser.cond_dim
        low, high = torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high, dtype=torch.float32)
        self.register_buffer("low", torch.empty(self.x_dim))
        self.register_buffer("high", torch.empty(self.x_dim))
        self.set_bounds(low, high)
        self._hoisted_step = self._plain_step = None  # compiled sampler steps, see compile_sampler

    def compile_sampler(self, **compile_kwargs) -> DiffusionModel:
        """Compile one sampler step (network + DDIM update) with ``torch.compile``; :meth:`sample` then uses it.

        The step is compiled, not the 50-step loop: unrolling the loop makes a graph 50 times larger (minutes of
        compilation) for no gain, since every step runs the same kernels. Returns ``self``.
        """
        self._hoisted_step = torch.compile(self.hoisted_step, **compile_kwargs)
        self._plain_step = torch.compile(self.plain_step, **compile_kwargs)
        return self

    def hoisted_step(self, x: torch.Tensor, row: torch.Tensor, prepared: list[torch.Tensor],
                     guidance: torch.Tensor | None) -> torch.Tensor:
        """One DDIM step through :meth:`ConditionalMLPUNet.forward_prepared` (x: (B, n, x_dim))."""
        return ddim_step(self.denoiser.forward_prepared(x, row[0], prepared), x, row, guidance)

    def plain_step(self, x: torch.Tensor, row: torch.Tensor, flat_cond: torch.Tensor,
                   guidance: torch.Tensor | None) -> torch.Tensor:
        """One DDIM step through the plain network (the condition MLP and full FiLM Dense at every step)."""
        flat_x = x.reshape(-1, self.x_dim)
        eps = self.denoiser(flat_x, row[0].expand(flat_x.shape[0]), flat_cond).view(x.shape)
        return ddim_step(eps, x, row, guidance)

    def set_bounds(self, low: torch.Tensor, high: torch.Tensor) -> None:
        """Replace the box (e.g. with a dataset's statistics); raises on wrong shapes, non-finite or empty ranges."""
        low, high = torch.as_tensor(low, dtype=torch.float32), torch.as_tensor(high, dtype=torch.float32)
        if low.shape != (self.x_dim,) or high.shape != (self.x_dim,):
            raise ValueError(f"DiffusionModel: low and high must have shape ({self.x_dim},); "
                             f"got {tuple(low.shape)} and {tuple(high.shape)}")
        empty = (~(high > low)).nonzero().flatten().tolist()
        if not (torch.isfinite(low).all() and torch.isfinite(high).all()) or empty:
            raise ValueError(f"DiffusionModel: bounds must be finite with high > low; dims {empty[:10]} violate it "
                             f"(low={low[empty[:3]].tolist()}, high={high[empty[:3]].tolist()})")
        self.low.copy_(low)
        self.high.copy_(high)

    # -- scaling --------------------------------------------------------------------------------------------------
    def scale(self, x: torch.Tensor) -> torch.Tensor:
        """Original units -> [-1, 1] box."""
        return (x - self.low) / (self.high - self.low) * 2 - 1

    def unscale(self, y: torch.Tensor) -> torch.Tensor:
        """[-1, 1] box -> original units."""
        return (y + 1) / 2 * (self.high - self.low) + self.low

    def _check(self, x: torch.Tensor | None, cond: torch.Tensor) -> None:
        if cond.ndim != 2 or cond.shape[-1] != self.cond_dim:
            raise ValueError(f"DiffusionModel expected cond of shape (B, {self.cond_dim}); got {tuple(cond.shape)}")
        if x is not None and (x.ndim != 2 or x.shape != (cond.shape[0], self.x_dim)):
            raise ValueError(f"DiffusionModel expected x0 of shape ({cond.shape[0]}, {self.x_dim}) to match cond "
                             f"{tuple(cond.shape)}; got {tuple(x.shape)}")

    # -- training -------------------------------------------------------------------------------------------------
    def loss(self, x0: torch.Tensor, cond: torch.Tensor, noise: torch.Tensor | None = None,
             t: torch.Tensor | None = None) -> torch.Tensor:
        """Mean squared error of the noise prediction, ``mean ||z - eps(x_t, N t, cond)||^2 / x_dim``.

        ``x0`` (B, x_dim) in original units; ``noise`` (B, x_dim) and ``t`` (B,) in [0, 1) are drawn when omitted
        (pass them for reproducible or cross-checked losses).
        """
        self._check(x0, cond)
        if noise is None:
            noise = torch.randn_like(x0)
        if t is None:
            t = torch.rand(x0.shape[0], device=x0.device, dtype=x0.dtype)
        x_t, label = self.schedule.noise(self.scale(x0), t, noise)
        return (self.denoiser(x_t, label, cond) - noise).square().mean()

    # -- sampling -------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, cond: torch.Tensor, num_samples: int = 1, guidance: torch.Tensor | None = None, steps: int = 50,
               noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
               hoist: bool = True) -> torch.Tensor:
        """``num_samples`` DDIM samples per condition row, ``(B, num_samples, x_dim)``, in original units.

        Args:
            cond: (B, cond_dim).
            guidance: added to the score in the *scaled* space at each step, broadcastable to
                ``(B, num_samples, x_dim)`` (the original's ``w * 0.5 * psi_range * coef``).
            noise: the x_T draw, ``(B, num_samples, x_dim)``; drawn from ``generator`` when omitted.
            hoist: compute the condition MLP and FiLM's condition parts once (same math, less work); False runs
                the plain network at every step (kept for comparison).
        """
        self._check(None, cond)
        if not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"DiffusionModel.sample: num_samples must be an int >= 1; got {num_samples!r}")
        shape = (cond.shape[0], num_samples, self.x_dim)
        if noise is None:
            noise = torch.randn(shape, device=cond.device, dtype=cond.dtype, generator=generator)
        elif noise.shape != shape:
            raise ValueError(f"DiffusionModel.sample: noise must have shape {shape}; got {tuple(noise.shape)}")
        if hoist:
            prepared = self.denoiser.prepare_condition(cond.unsqueeze(1))
            step = self._hoisted_step or self.hoisted_step
            step_fn = lambda x, row: step(x, row, prepared, guidance)
        else:
            flat_cond = cond.repeat_interleave(num_samples, dim=0)
            step = self._plain_step or self.plain_step
            step_fn = lambda x, row: step(x, row, flat_cond, guidance)
        return self.unscale(ddim_sample(None, self.schedule, noise, steps, step_fn=step_fn))

"""A tanh-squashed diagonal Gaussian, the stochastic DT head's action distribution.

Written here rather than taken from ``torchrl.modules.TanhNormal`` because that class rescales its location
(``upscale``) and has no ``mean``; ODT needs the plain squash, the change-of-variables log-density, and
``mean = tanh(mu)`` as the deterministic action.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import Distribution, Normal, constraints

_NO_SAMPLE_SHAPE = torch.Size()


def tanh_log_abs_det_jacobian(pre_tanh: torch.Tensor) -> torch.Tensor:
    """``log(1 - tanh(x)^2)`` computed stably as ``2 (log 2 - x - softplus(-2x))``."""
    return 2.0 * (math.log(2.0) - pre_tanh - F.softplus(-2.0 * pre_tanh))


class TanhGaussian(Distribution):
    """``a = tanh(u)``, ``u ~ N(loc, scale)`` per dimension; batch shape ``loc.shape[:-1]``, event ``loc.shape[-1:]``.

    ``log_prob(a) = sum_i [log N(u_i; loc_i, scale_i) - log(1 - a_i^2)]`` with ``u = atanh(a)``; actions are clipped to
    ``+-(1 - eps)`` first so that boundary actions (common in datasets) give a finite value, as the original does.
    ``mean`` is ``tanh(loc)``: the deterministic action used for acting, not the expectation of ``a``.
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.interval(-1.0, 1.0)
    has_rsample = True

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor, *, eps: float = 1e-6) -> None:
        if loc.shape != scale.shape or loc.dim() == 0:
            raise ValueError(f"TanhGaussian: loc and scale need the same shape (..., A); got {tuple(loc.shape)} "
                             f"and {tuple(scale.shape)}")
        self.loc = loc
        self.scale = scale
        self.eps = eps
        self.base = Normal(loc, scale, validate_args=False)
        super().__init__(batch_shape=loc.shape[:-1], event_shape=loc.shape[-1:], validate_args=False)

    @property
    def mean(self) -> torch.Tensor:
        return torch.tanh(self.loc)

    @property
    def mode(self) -> torch.Tensor:
        return torch.tanh(self.loc)

    def rsample_with_pre_tanh(self, sample_shape: torch.Size = _NO_SAMPLE_SHAPE) -> tuple[torch.Tensor, torch.Tensor]:
        """A reparameterised sample and the Gaussian value it came from (for an exact ``log_prob``)."""
        pre_tanh = self.base.rsample(sample_shape)
        return torch.tanh(pre_tanh), pre_tanh

    def rsample(self, sample_shape: torch.Size = _NO_SAMPLE_SHAPE) -> torch.Tensor:
        return self.rsample_with_pre_tanh(sample_shape)[0]

    def log_prob(self, value: torch.Tensor, pre_tanh: torch.Tensor | None = None) -> torch.Tensor:
        """Log-density of actions ``(..., A)`` summed over the event: shape ``(...)``."""
        if pre_tanh is None:
            bound = 1.0 - self.eps
            pre_tanh = torch.atanh(value.clamp(-bound, bound))
        per_dim = self.base.log_prob(pre_tanh) - tanh_log_abs_det_jacobian(pre_tanh)
        return per_dim.sum(-1)

    def entropy_estimate(self, n: int = 1) -> torch.Tensor:
        """Monte-Carlo entropy ``-mean log p(a)`` over ``n`` reparameterised samples (differentiable), batch shape."""
        if n < 1:
            raise ValueError(f"entropy_estimate needs n >= 1 samples; got {n}")
        actions, pre_tanh = self.rsample_with_pre_tanh(torch.Size([n]))
        return -self.log_prob(actions, pre_tanh).mean(0)

"""Random Fourier cumulants phi(s): the fixed state features whose discounted sums GOM's outcome model predicts.

GOM needs cumulants that are rich enough for rewards to be (nearly) linear in them, yet fixed for the whole run,
so the original draws a frozen random MLP once (from its own key, not the run's seed) and takes ``[sin f, cos f, 1]``
of its output. The MLP is a stack of 1x1 convolutions, i.e. a dense layer followed by two *grouped* dense layers:
``obs -> hidden`` (ReLU), ``groups`` blocks of ``hidden/groups -> hidden/groups`` (ReLU), and ``groups`` blocks of
``hidden/groups -> num_frequencies/groups``. Kernels are LeCun truncated-normal (flax's default) and biases zero, so
there are no biases at all here. The constant last feature lets a linear reward model have a bias.
"""

from __future__ import annotations

import math

import torch
from torch import nn

_TRUNCATED_STD_CORRECTION = 0.87962566103423978  # std of a unit normal truncated to [-2, 2]


def lecun_truncated_normal_(tensor: torch.Tensor, fan_in: int,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill ``tensor`` like flax's ``lecun_normal()``: truncated normal on [-2, 2] std, variance 1 / fan_in."""
    std = math.sqrt(1.0 / fan_in) / _TRUNCATED_STD_CORRECTION
    with torch.no_grad():
        return nn.init.trunc_normal_(tensor, mean=0.0, std=std, a=-2.0 * std, b=2.0 * std, generator=generator)


class RandomFourierCumulants(nn.Module):
    """Frozen random features ``phi(s) = [sin f(s), cos f(s), 1]`` with ``out_dim = 2 * num_frequencies + 1``.

    The weights are buffers drawn from ``torch.Generator().manual_seed(seed)``: the same features for every run
    seed and every machine, saved in ``state_dict`` and moved by ``.to(device)``, never trained.

    Example:
        >>> phi = RandomFourierCumulants(obs_dim=29)
        >>> phi(torch.zeros(5, 29)).shape
        torch.Size([5, 129])
    """

    def __init__(self, obs_dim: int, num_frequencies: int = 64, hidden_dim: int = 2048, groups: int = 64,
                 seed: int = 0) -> None:
        super().__init__()
        sizes = {"obs_dim": obs_dim, "num_frequencies": num_frequencies, "hidden_dim": hidden_dim, "groups": groups}
        bad = {name: value for name, value in sizes.items() if not isinstance(value, int) or value <= 0}
        if bad:
            raise ValueError(f"RandomFourierCumulants: sizes must be positive ints; got {bad}")
        if hidden_dim % groups or num_frequencies % groups:
            raise ValueError(f"RandomFourierCumulants: groups={groups} must divide hidden_dim={hidden_dim} and "
                             f"num_frequencies={num_frequencies}")
        self.obs_dim, self.num_frequencies, self.hidden_dim, self.groups = obs_dim, num_frequencies, hidden_dim, groups
        self.seed = seed
        self.out_dim = 2 * num_frequencies + 1
        width = hidden_dim // groups
        generator = torch.Generator().manual_seed(seed)
        self.register_buffer("input_kernel", lecun_truncated_normal_(torch.empty(hidden_dim, obs_dim), obs_dim,
                                                                     generator))
        self.register_buffer("hidden_kernel", lecun_truncated_normal_(torch.empty(groups, width, width), width,
                                                                      generator))
        self.register_buffer("output_kernel", lecun_truncated_normal_(
            torch.empty(groups, num_frequencies // groups, width), width, generator))

    def frequencies(self, obs: torch.Tensor) -> torch.Tensor:
        """The random MLP's output ``f(s)``, shape ``(..., num_frequencies)``."""
        if obs.shape[-1] != self.obs_dim:
            raise ValueError(f"RandomFourierCumulants expected observations with last dim {self.obs_dim}; "
                             f"got shape {tuple(obs.shape)}")
        lead = obs.shape[:-1]
        flat = obs.reshape(-1, self.obs_dim).to(self.input_kernel.dtype)
        hidden = torch.relu(flat @ self.input_kernel.T).view(-1, self.groups, self.hidden_dim // self.groups)
        hidden = torch.relu(torch.einsum("bgi,goi->bgo", hidden, self.hidden_kernel))
        out = torch.einsum("bgi,goi->bgo", hidden, self.output_kernel)
        return out.reshape(*lead, self.num_frequencies)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        f = self.frequencies(obs)
        return torch.cat((torch.sin(f), torch.cos(f), torch.ones_like(f[..., :1])), dim=-1)

    def extra_repr(self) -> str:
        return (f"obs_dim={self.obs_dim}, num_frequencies={self.num_frequencies}, hidden_dim={self.hidden_dim}, "
                f"groups={self.groups}, seed={self.seed}, out_dim={self.out_dim}")


def feature_bounds(phi: torch.Tensor, constant_last: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension ``(min, max)`` of a dataset's features, as the original's normalisation statistics.

    With ``constant_last`` the last (always-1) feature gets the range [0, 1], as in the original, instead of the
    empty range [1, 1]. Raises if ``phi`` is not a non-empty finite (N, d) tensor.
    """
    if phi.ndim != 2 or phi.shape[0] == 0:
        raise ValueError(f"feature_bounds expects features of shape (N, d) with N >= 1; got {tuple(phi.shape)}")
    if not torch.isfinite(phi).all():
        raise ValueError("feature_bounds: features contain NaN or inf")
    low, high = phi.amin(dim=0).clone(), phi.amax(dim=0).clone()
    if constant_last:
        low[-1], high[-1] = 0.0, 1.0
    return low, high

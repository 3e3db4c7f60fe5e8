"""PTGM's two pretrained networks: the goal prior p(code | s) and the goal-conditioned low-level policy pi(a | s, g).

Both use the original's trunk (:class:`PTGMTrunk`): ``Linear + LeakyReLU(0.2)``, then ``num_layers`` blocks of
``Linear + BatchNorm1d + LeakyReLU(0.2)``, then a linear head. BatchNorm makes the networks depend on train/eval
mode: train them in ``train()`` mode, act with them in ``eval()`` mode (a batch of one has no batch statistics).

The low-level policy is a diagonal Gaussian *without* tanh, as in the original: the environment clips actions.

Example:
    >>> prior = GoalPrior(obs_dim=4, num_codes=10).eval()
    >>> prior(torch.zeros(3, 4)).shape
    torch.Size([3, 10])
    >>> policy = GaussianGoalPolicy(obs_dim=4, goal_dim=2, act_dim=3).eval()
    >>> policy.mode(torch.zeros(3, 4), torch.zeros(3, 2)).shape
    torch.Size([3, 3])
"""

from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Independent, Normal


def _positive_int(owner: str, **values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{owner}: {name} must be a positive int; got {value!r}")


class PTGMTrunk(nn.Module):
    """``in_dim -> hidden`` (LeakyReLU), ``num_layers`` x [Linear, BatchNorm, LeakyReLU], ``-> out_dim``.

    Accepts any leading batch shape (flattened for BatchNorm and restored).
    """

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 128, num_layers: int = 3, slope: float = 0.2) -> None:
        super().__init__()
        _positive_int(type(self).__name__, in_dim=in_dim, out_dim=out_dim, hidden=hidden)
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 0:
            raise ValueError(f"{type(self).__name__}: num_layers must be an int >= 0; got {num_layers!r}")
        layers: list[nn.Module] = [nn.Linear(in_dim, hidden), nn.LeakyReLU(slope)]
        for _ in range(num_layers):
            layers += [nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(slope)]
        layers.append(nn.Linear(hidden, out_dim))
        self.net = nn.Sequential(*layers)
        self.in_dim = in_dim
        self.out_dim = out_dim

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.ndim < 1 or inputs.shape[-1] != self.in_dim:
            raise ValueError(f"{type(self).__name__}: expected inputs (..., {self.in_dim}); "
                             f"got shape {tuple(inputs.shape)}")
        lead = inputs.shape[:-1]
        return self.net(inputs.reshape(-1, self.in_dim)).reshape(*lead, self.out_dim)


class GoalPrior(nn.Module):
    """p(code | s): logits over ``num_codes`` goal codes from an observation (..., obs_dim) -> (..., num_codes)."""

    def __init__(self, obs_dim: int, num_codes: int, hidden: int = 128, num_layers: int = 3) -> None:
        super().__init__()
        self.trunk = PTGMTrunk(obs_dim, num_codes, hidden, num_layers)
        self.obs_dim = obs_dim
        self.num_codes = num_codes

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        return self.trunk(observation)


class GaussianGoalPolicy(nn.Module):
    """pi(a | s, g): a diagonal Gaussian over actions (no tanh), log sigma clamped to [log_std_min, log_std_max].

    ``forward(obs, goal)`` returns ``(mean, log_std)``; :meth:`distribution`, :meth:`log_prob`, :meth:`sample` and
    :meth:`mode` build on it, so a subclass that changes ``forward`` changes all of them.
    """

    def __init__(self, obs_dim: int, goal_dim: int, act_dim: int, hidden: int = 128, num_layers: int = 3,
                 log_std_min: float = -10.0, log_std_max: float = 2.0) -> None:
        super().__init__()
        _positive_int(type(self).__name__, obs_dim=obs_dim, goal_dim=goal_dim, act_dim=act_dim)
        if not log_std_min < log_std_max:
            raise ValueError(f"GaussianGoalPolicy: log_std_min={log_std_min} must be < log_std_max={log_std_max}")
        self.trunk = PTGMTrunk(obs_dim + goal_dim, 2 * act_dim, hidden, num_layers)
        self.obs_dim, self.goal_dim, self.act_dim = obs_dim, goal_dim, act_dim
        self.log_std_min, self.log_std_max = log_std_min, log_std_max

    def forward(self, observation: torch.Tensor, goal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if observation.shape[-1] != self.obs_dim or goal.shape[-1] != self.goal_dim \
                or observation.shape[:-1] != goal.shape[:-1]:
            raise ValueError(f"GaussianGoalPolicy: expected observation (..., {self.obs_dim}) and goal "
                             f"(..., {self.goal_dim}) with the same batch shape; got {tuple(observation.shape)} "
                             f"and {tuple(goal.shape)}")
        mean, log_std = self.trunk(torch.cat([observation, goal], -1)).chunk(2, -1)
        return mean, log_std.clamp(self.log_std_min, self.log_std_max)

    def distribution(self, observation: torch.Tensor, goal: torch.Tensor) -> Independent:
        mean, log_std = self(observation, goal)
        return Independent(Normal(mean, log_std.exp()), 1)

    def log_prob(self, observation: torch.Tensor, goal: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        """log pi(a | s, g), summed over action dims: (...)."""
        return self.distribution(observation, goal).log_prob(action)

    def sample(self, observation: torch.Tensor, goal: torch.Tensor,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """A ~ pi(. | s, g); ``generator`` makes the noise reproducible."""
        mean, log_std = self(observation, goal)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + log_std.exp() * noise

    def mode(self, observation: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """The mean action (deterministic acting)."""
        return self(observation, goal)[0]

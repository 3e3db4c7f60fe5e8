"""Tiny stand-ins that follow the DT policy / twin critic interfaces exactly, simple enough to compute by hand."""

from __future__ import annotations

import torch
from tensordict import TensorDict
from torch import nn


class CausalStandInPolicy(nn.Module):
    """Deterministic, causal: a_t = tanh(MLP(s_t, R_t, mean of the valid a_<t)). Records every call's inputs."""

    def __init__(self, state_dim: int, act_dim: int, hidden: int = 16) -> None:
        super().__init__()
        self.act_dim = act_dim
        self.net = nn.Sequential(nn.Linear(state_dim + 1 + act_dim, hidden), nn.Tanh(), nn.Linear(hidden, act_dim))
        self.calls: list[tuple[torch.Tensor, ...]] = []

    def forward(self, states, actions, returns_to_go, timesteps, mask):
        self.calls.append(tuple(x.detach().clone() for x in (states, actions, returns_to_go, timesteps, mask)))
        valid = mask[..., None].to(actions.dtype)
        previous = torch.cumsum(actions * valid, dim=1) - actions * valid
        count = torch.cumsum(valid, dim=1) - valid
        mean_previous = previous / count.clamp_min(1.0)
        return torch.tanh(self.net(torch.cat((states, returns_to_go, mean_previous), dim=-1)))


class LinearTwinCritic(nn.Module):
    """Q_i(s, a) = c_i * sum(s) + d_i * sum(a) per token; forward returns (2, ..., 1)."""

    def __init__(self, c=(1.0, 2.0), d=(3.0, -1.0)) -> None:
        super().__init__()
        self.c = nn.Parameter(torch.tensor(c))
        self.d = nn.Parameter(torch.tensor(d))

    def forward(self, states, actions):
        s = states.sum(-1, keepdim=True)
        a = actions.sum(-1, keepdim=True)
        return torch.stack([self.c[i] * s + self.d[i] * a for i in range(2)])


class FixedDistribution:
    """A stochastic-head output with a known log-density and entropy: log p(a) = -sum((a - loc)^2)."""

    def __init__(self, loc: torch.Tensor, entropy: torch.Tensor) -> None:
        self.loc = loc
        self._entropy = entropy
        self.seen_actions: torch.Tensor | None = None

    @property
    def mean(self) -> torch.Tensor:
        return torch.tanh(self.loc)

    def rsample(self) -> torch.Tensor:
        return torch.tanh(self.loc)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        self.seen_actions = actions
        return -(actions - self.loc).pow(2).sum(-1)

    def entropy_estimate(self, n: int = 1) -> torch.Tensor:
        return self._entropy


class FixedDistributionPolicy(nn.Module):
    """Returns a preset FixedDistribution whatever the inputs (for hand-computed stochastic losses)."""

    def __init__(self, distribution: FixedDistribution, act_dim: int) -> None:
        super().__init__()
        self.distribution = distribution
        self.act_dim = act_dim

    def forward(self, states, actions, returns_to_go, timesteps, mask):
        return self.distribution


def window_batch(batch: int = 2, length: int = 3, state_dim: int = 1, act_dim: int = 1, *, pad: int = 1,
                 seed: int = 0) -> TensorDict:
    """A random window batch in the contract's layout; row 1 has ``pad`` left-padded positions (row 0 none)."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(batch, length, dtype=torch.bool)
    if batch > 1:
        mask[1, :pad] = False
    states = torch.randn(batch, length, state_dim, generator=g)
    next_states = torch.randn(batch, length, state_dim, generator=g)
    next_states[:, :-1] = states[:, 1:]  # consecutive steps of one trajectory
    reward = torch.randn(batch, length, 1, generator=g)
    rtg = torch.randn(batch, length, 1, generator=g)
    timestep = torch.arange(length).expand(batch, length).clone() + 4
    timestep[~mask] = 0
    return TensorDict(
        {
            "observation": states,
            "action": torch.rand(batch, length, act_dim, generator=g) * 2 - 1,
            "return_to_go": rtg,
            "timestep": timestep,
            "mask": mask,
            "next": {
                "observation": next_states,
                "return_to_go": rtg - reward,
                "reward": reward,
                "terminated": torch.zeros(batch, length, 1, dtype=torch.bool),
            },
        },
        batch_size=[batch, length],
    )

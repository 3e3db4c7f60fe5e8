"""DQN on hyper-states (BOReL's grid agent): Polyak target, optional double-DQN target and CQL penalty.

BOReL's grid agent is DQN with an MLP [64, 64] on s+ = [cell, belief mean, belief logvar], gamma 0.99, tau 0.005.
``double_dqn=True`` picks the next action with the online network and scores it with the target network;
``cql_weight > 0`` adds the discrete CQL penalty logsumexp_a Q(s, a) - Q(s, a_data).

Actions in a batch may be indices (N,) / (N, 1) or one-hot (N, num_actions) (BOReL stores the grid's one-hot).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from tensordict import TensorDictBase
from torch import nn

from rlkit.agents.offline_sac import read_batch
from rlkit.modules.mlp import MLP
from rlkit.objectives.soft_update import polyak_update_


def action_indices(action: torch.Tensor, num_actions: int) -> torch.Tensor:
    """Discrete actions as int64 (N,), from indices (N,) / (N, 1) or one-hot rows (N, num_actions)."""
    if action.ndim == 2 and action.shape[-1] == num_actions and action.is_floating_point():
        return action.argmax(-1)
    if action.ndim == 2 and action.shape[-1] == 1:
        action = action.squeeze(-1)
    if action.ndim != 1:
        raise ValueError(f"discrete actions must be indices (N,) or (N, 1), or one-hot (N, {num_actions}); "
                         f"got shape {tuple(action.shape)}")
    return action.long()


class OfflineDQN(nn.Module):
    """Q-learning over ``num_actions`` discrete actions from (hyper-)states.

    Args:
        obs_dim: size of the (hyper-)state. num_actions: number of actions.
        hidden_sizes: Q-network widths (BOReL grid: (64, 64)).
        gamma, tau, lr: discount (0.99), Polyak rate (0.005), Adam learning rate (3e-4).
        double_dqn: the double-DQN target. cql_weight: discrete CQL penalty weight (0 = off).
    """

    def __init__(
        self,
        obs_dim: int,
        num_actions: int,
        hidden_sizes: Sequence[int] = (64, 64),
        *,
        gamma: float = 0.99,
        tau: float = 0.005,
        lr: float = 3e-4,
        double_dqn: bool = False,
        cql_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= gamma <= 1.0 or not 0.0 < tau <= 1.0 or cql_weight < 0.0:
            raise ValueError(f"OfflineDQN: gamma={gamma} (in [0, 1]), tau={tau} (in (0, 1]), "
                             f"cql_weight={cql_weight} (>= 0) out of range")
        self.obs_dim, self.num_actions = obs_dim, num_actions
        self.gamma, self.tau, self.double_dqn, self.cql_weight = gamma, tau, double_dqn, cql_weight
        self.q_network = MLP(obs_dim, num_actions, hidden_sizes)
        self.target_network = copy.deepcopy(self.q_network).requires_grad_(False)
        self.optim = torch.optim.Adam(self.q_network.parameters(), lr=lr)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = True, epsilon: float = 0.0) -> torch.Tensor:
        """Greedy action indices (N,); with ``deterministic=False`` each is uniform with probability ``epsilon``."""
        greedy = self.q_network(obs).argmax(-1)
        if deterministic or epsilon <= 0.0:
            return greedy
        explore = torch.rand(greedy.shape, device=obs.device) < epsilon
        return torch.where(explore, torch.randint_like(greedy, self.num_actions), greedy)

    def loss(self, batch: TensorDictBase) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Squared TD error of Q(s, a_data) (plus the weighted CQL penalty) and metrics."""
        obs, action, reward, next_obs, not_terminal = read_batch(batch, type(self).__name__)
        action = action_indices(action, self.num_actions)
        with torch.no_grad():
            next_target = self.target_network(next_obs)
            if self.double_dqn:
                next_action = self.q_network(next_obs).argmax(-1, keepdim=True)
                next_q = next_target.gather(-1, next_action)
            else:
                next_q = next_target.max(-1, keepdim=True).values
            target = reward + self.gamma * not_terminal * next_q
        all_q = self.q_network(obs)
        q = all_q.gather(-1, action.unsqueeze(-1))
        loss = (q - target).pow(2).mean()
        metrics = {"loss_q": loss.detach(), "q_mean": q.mean().detach()}
        if self.cql_weight > 0:
            penalty = (all_q.logsumexp(-1, keepdim=True) - q).mean()
            loss = loss + self.cql_weight * penalty
            metrics["loss_cql"] = penalty.detach()
        return loss, metrics

    def update(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        """One gradient step, then the Polyak target update."""
        loss, metrics = self.loss(batch)
        self.optim.zero_grad(set_to_none=True)
        loss.backward()
        self.optim.step()
        polyak_update_(self.target_network, self.q_network, self.tau)
        return metrics

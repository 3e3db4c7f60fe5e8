"""SAC on hyper-states (BOReL's continuous-action meta-RL agent), with an optional CQL penalty.

BOReL trains plain SAC with a fixed entropy coefficient (alpha 0.01 on the semi-circle, 0.2 on cheetah and ant) on
hyper-states s+ = [s, belief mean, belief logvar]. Its automatic entropy tuning crashed (the alpha optimiser was never
created, bug 6); here ``auto_entropy=True`` learns log(alpha) towards ``target_entropy`` (default -action_dim).
``cql_weight > 0`` adds the CQL(H) penalty (the original's ablation, alpha-cql 2 for the ant): logsumexp of Q over
uniform and policy actions (importance-corrected) minus Q of the data action.

Batches use rlkit's transition keys (``rlkit.data.keys``): observation, action, ("next", "reward"),
("next", "observation"), ("next", "terminated"). Only ``terminated`` stops bootstrapping; time-limit ends and goal
hits never do.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from tensordict import TensorDictBase
from torch import nn

from rlkit.data.keys import ACTION, NEXT_OBS, OBS, REWARD, TERMINATED
from rlkit.modules.mlp import MLP
from rlkit.objectives.soft_update import polyak_update_

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


def read_batch(batch: TensorDictBase, owner: str) -> tuple[torch.Tensor, ...]:
    """(obs, action, reward (N, 1), next_obs, not_terminal (N, 1)) of a transition batch, or an error naming the key."""
    missing = [key for key in (OBS, ACTION, REWARD, NEXT_OBS) if batch.get(key, None) is None]
    if missing:
        raise KeyError(f"{owner}: the batch has no {missing}; expected rlkit's transition keys")
    reward = batch.get(REWARD)
    reward = reward.unsqueeze(-1) if reward.ndim == 1 else reward
    terminated = batch.get(TERMINATED, None)
    not_terminal = torch.ones_like(reward) if terminated is None else (~terminated.bool()).to(reward.dtype)
    return batch.get(OBS), batch.get(ACTION), reward, batch.get(NEXT_OBS), not_terminal.reshape(reward.shape)


class TanhGaussianActor(nn.Module):
    """pi(a | s) = tanh(N(mu(s), sigma(s))): actions in [-1, 1]^action_dim, tanh-corrected log-probabilities."""

    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: Sequence[int]) -> None:
        super().__init__()
        self.action_dim = action_dim
        self.net = MLP(obs_dim, 2 * action_dim, hidden_sizes)

    def forward(self, obs: torch.Tensor, deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(action, log_prob (N, 1)); the deterministic action is tanh(mean) (its log_prob is that of the mean)."""
        mean, log_std = self.net(obs).chunk(2, dim=-1)
        std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp()
        pre_tanh = mean if deterministic else mean + std * torch.randn_like(mean)
        normal_log_prob = (-0.5 * ((pre_tanh - mean) / std).pow(2) - std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
        # log(1 - tanh(x)^2) written stably: 2 (log 2 - x - softplus(-2x))
        correction = (2.0 * (math.log(2.0) - pre_tanh - nn.functional.softplus(-2.0 * pre_tanh))).sum(-1)
        return torch.tanh(pre_tanh), (normal_log_prob - correction).unsqueeze(-1)


class OfflineSAC(nn.Module):
    """Soft actor-critic on (hyper-)states: twin Q networks, Polyak targets, fixed or learnt alpha, optional CQL.

    Args:
        obs_dim: size of the (hyper-)state. action_dim: size of the action in [-1, 1].
        hidden_sizes: widths of the actor and each critic (BOReL: (128, 128) semi-circle, (256, 256) cheetah/ant).
        gamma, tau: discount (semi-circle 0.9, else 0.99) and Polyak rate (0.005).
        alpha: the fixed entropy coefficient, or the initial one with ``auto_entropy``.
        auto_entropy: learn alpha (the original's option that crashed). target_entropy: default -action_dim.
        cql_weight, cql_samples: CQL(H) penalty weight (0 = off) and actions sampled per state for it.
    """

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_sizes: Sequence[int] = (128, 128),
        *,
        gamma: float = 0.99,
        tau: float = 0.005,
        alpha: float = 0.01,
        auto_entropy: bool = False,
        target_entropy: float | None = None,
        actor_lr: float = 3e-4,
        critic_lr: float = 3e-4,
        alpha_lr: float = 3e-4,
        cql_weight: float = 0.0,
        cql_samples: int = 10,
    ) -> None:
        super().__init__()
        if not 0.0 <= gamma <= 1.0 or not 0.0 < tau <= 1.0 or not alpha > 0.0 or cql_weight < 0.0:
            raise ValueError(f"OfflineSAC: gamma={gamma} (in [0, 1]), tau={tau} (in (0, 1]), alpha={alpha} (> 0), "
                             f"cql_weight={cql_weight} (>= 0) out of range")
        self.obs_dim, self.action_dim = obs_dim, action_dim
        self.gamma, self.tau, self.auto_entropy = gamma, tau, auto_entropy
        self.cql_weight, self.cql_samples = cql_weight, cql_samples
        self.target_entropy = -float(action_dim) if target_entropy is None else float(target_entropy)
        self.actor = TanhGaussianActor(obs_dim, action_dim, hidden_sizes)
        self.critics = nn.ModuleList([MLP(obs_dim + action_dim, 1, hidden_sizes) for _ in range(2)])
        self.target_critics = copy.deepcopy(self.critics).requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(math.log(alpha)), requires_grad=auto_entropy)
        self.actor_optim = torch.optim.Adam(self.actor.parameters(), lr=actor_lr)
        self.critic_optim = torch.optim.Adam(self.critics.parameters(), lr=critic_lr)
        self.alpha_optim = torch.optim.Adam([self.log_alpha], lr=alpha_lr) if auto_entropy else None

    @property
    def alpha(self) -> torch.Tensor:
        return self.log_alpha.exp().detach()

    def q_values(self, obs: torch.Tensor, action: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Both critics' Q(s, a), stacked (2, ..., 1)."""
        critics = self.target_critics if target else self.critics
        inputs = torch.cat([obs, action], dim=-1)
        return torch.stack([critic(inputs) for critic in critics])

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        """Actions (N, action_dim) in [-1, 1] for (hyper-)states (N, obs_dim)."""
        return self.actor(obs, deterministic)[0]

    # ----------------------------------------------------------------------------------------------- loss terms
    def critic_loss(self, batch: TensorDictBase) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        obs, action, reward, next_obs, not_terminal = read_batch(batch, type(self).__name__)
        with torch.no_grad():
            next_action, next_log_prob = self.actor(next_obs)
            next_q = self.q_values(next_obs, next_action, target=True).min(0).values - self.alpha * next_log_prob
            target = reward + self.gamma * not_terminal * next_q
        q = self.q_values(obs, action)
        loss = (q - target).pow(2).mean(dim=(1, 2)).sum()
        metrics = {"loss_critic": loss.detach(), "q_mean": q.mean().detach()}
        if self.cql_weight > 0:
            penalty = self.cql_penalty(obs, next_obs, q)
            loss = loss + self.cql_weight * penalty
            metrics["loss_cql"] = penalty.detach()
        return loss, metrics

    def cql_penalty(self, obs: torch.Tensor, next_obs: torch.Tensor, data_q: torch.Tensor) -> torch.Tensor:
        """CQL(H): logsumexp_a Q(s, a) over uniform and policy actions (importance weighted) minus Q(s, a_data)."""
        n, k = obs.shape[0], self.cql_samples
        repeat = lambda x: x.unsqueeze(1).expand(n, k, x.shape[-1])  # (N, K, dim)
        uniform = torch.empty(n, k, self.action_dim, device=obs.device).uniform_(-1.0, 1.0)
        uniform_log_density = -self.action_dim * math.log(2.0)
        with torch.no_grad():
            current, current_log_prob = self.actor(repeat(obs))
            following, following_log_prob = self.actor(repeat(next_obs))
        proposals = [(uniform, uniform_log_density), (current, current_log_prob), (following, following_log_prob)]
        scores = [self.q_values(repeat(obs), a) - log_density for a, log_density in proposals]  # (2, N, K, 1)
        logsumexp = torch.cat(scores, dim=2).logsumexp(dim=2)  # (2, N, 1)
        return (logsumexp - data_q).mean(dim=(1, 2)).sum()

    def actor_loss(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(alpha log pi - min Q) averaged, and the log-probabilities (for the alpha loss)."""
        action, log_prob = self.actor(obs)
        q = self.q_values(obs, action).min(0).values
        return (self.alpha * log_prob - q).mean(), log_prob.detach()

    # ---------------------------------------------------------------------------------------------------- update
    def update(self, batch: TensorDictBase) -> dict[str, torch.Tensor]:
        """One gradient step of critics, actor and (with ``auto_entropy``) alpha, then the Polyak target update."""
        critic_loss, metrics = self.critic_loss(batch)
        self.critic_optim.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_optim.step()

        for critic in self.critics:
            critic.requires_grad_(False)
        actor_loss, log_prob = self.actor_loss(batch.get(OBS))
        self.actor_optim.zero_grad(set_to_none=True)
        actor_loss.backward()
        self.actor_optim.step()
        for critic in self.critics:
            critic.requires_grad_(True)
        metrics.update(loss_actor=actor_loss.detach(), entropy=-log_prob.mean())

        if self.alpha_optim is not None:
            alpha_loss = -(self.log_alpha * (log_prob + self.target_entropy)).mean()
            self.alpha_optim.zero_grad(set_to_none=True)
            alpha_loss.backward()
            self.alpha_optim.step()
            metrics["loss_alpha"] = alpha_loss.detach()
        metrics["alpha"] = self.alpha
        polyak_update_(self.target_critics, self.critics, self.tau)
        return metrics

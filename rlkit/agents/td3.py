"""TD3 (Fujimoto et al., 2018) as a small online agent built from rlkit's blocks.

Why here and not only as a loss: rlkit builds its "medium" locomotion datasets by training a policy online, and the
TD3 pieces of ODT+TD3 (``TwinQCritic``, ``polyak_update_``) make that policy too. The three tricks of TD3, each a
method one can override:

- clipped double Q: the target is ``r + gamma * (1 - terminated) * min(Q1', Q2')(s', a')`` (``td_target``);
- target policy smoothing: ``a' = clip(actor'(s') + clip(N(0, policy_noise), +-noise_clip), -1, 1)``
  (``smoothed_target_action``);
- delayed actor updates: the actor and both targets move once every ``policy_delay`` critic updates (``update``).

Actions live in [-1, 1] (a tanh actor); rescale the env (``gymnasium.wrappers.RescaleAction``) if its box differs.
Batches use rlkit's transition keys (``rlkit.data.keys``): observation, action, ("next", observation),
("next", reward) and ("next", terminated), rewards and flags shaped (B, 1).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch
from tensordict import TensorDictBase
from torch import nn

from rlkit.data import keys as K
from rlkit.modules.critics import TwinQCritic
from rlkit.modules.mlp import MLP
from rlkit.objectives.soft_update import polyak_update_


class TD3Agent(nn.Module):
    """Deterministic tanh MLP actor, twin Q critic, their Polyak-averaged targets and both optimisers.

    Everything (networks, targets, optimiser moments, the update counter) is in ``state_dict`` /
    ``load_state_dict``, so a checkpoint resumes training exactly where it stopped.

    Example:
        >>> agent = TD3Agent(3, 1, hidden_sizes=(32, 32))
        >>> agent.act(np.zeros(3), noise=0.1, generator=np.random.default_rng(0)).shape
        (1,)
    """

    def __init__(
        self,
        state_dim: int,
        act_dim: int,
        *,
        hidden_sizes: Sequence[int] = (256, 256),
        actor_lr: float = 3e-4,
        critic_lr: float = 3e-4,
        gamma: float = 0.99,
        tau: float = 0.005,
        policy_noise: float = 0.2,
        noise_clip: float = 0.5,
        policy_delay: int = 2,
    ) -> None:
        super().__init__()
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"TD3Agent: gamma must be in [0, 1]; got {gamma}")
        if policy_delay < 1:
            raise ValueError(f"TD3Agent: policy_delay must be >= 1; got {policy_delay}")
        if policy_noise < 0 or noise_clip < 0:
            raise ValueError(f"TD3Agent: policy_noise and noise_clip must be >= 0; got {policy_noise}, {noise_clip}")
        self.state_dim, self.act_dim = state_dim, act_dim
        self.gamma, self.tau = gamma, tau
        self.policy_noise, self.noise_clip, self.policy_delay = policy_noise, noise_clip, policy_delay
        self.actor = MLP(state_dim, act_dim, hidden_sizes, output_activation=nn.Tanh)
        self.critic = TwinQCritic(state_dim, act_dim, hidden_sizes=hidden_sizes)
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.actor_optim = torch.optim.Adam(self.actor.parameters(), lr=actor_lr)
        self.critic_optim = torch.optim.Adam(self.critic.parameters(), lr=critic_lr)
        self.register_buffer("num_updates", torch.zeros((), dtype=torch.int64))

    # ----------------------------------------------------------------------------------------------- acting
    @torch.no_grad()
    def act(self, obs: np.ndarray, noise: float = 0.0, generator: np.random.Generator | None = None) -> np.ndarray:
        """actor(obs) plus N(0, noise) per dimension, clipped to [-1, 1]; obs (S,) or (N, S), numpy in and out."""
        obs_t = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
        if obs_t.shape[-1:] != (self.state_dim,):
            raise ValueError(f"TD3Agent.act: expected observations (..., {self.state_dim}); got {tuple(obs_t.shape)}")
        action = self.actor(obs_t).numpy()
        if noise > 0:
            rng = generator if generator is not None else np.random.default_rng()
            action = np.clip(action + rng.normal(0.0, noise, size=action.shape), -1.0, 1.0).astype(np.float32)
        return action

    # ----------------------------------------------------------------------------------------------- the math
    def smoothed_target_action(self, next_obs: torch.Tensor) -> torch.Tensor:
        """Target policy smoothing: actor'(s') + clipped Gaussian noise, clipped to the action box."""
        noise = (torch.randn(next_obs.shape[:-1] + (self.act_dim,)) * self.policy_noise).clamp(
            -self.noise_clip, self.noise_clip
        )
        return (self.actor_target(next_obs) + noise).clamp(-1.0, 1.0)

    @torch.no_grad()
    def td_target(self, batch: TensorDictBase) -> torch.Tensor:
        """y = r + gamma * (1 - terminated) * min(Q1', Q2')(s', a'), shape (B, 1)."""
        next_obs = batch[K.NEXT_OBS]
        q_next = self.critic_target(next_obs, self.smoothed_target_action(next_obs)).min(dim=0).values
        not_terminated = (~batch[K.TERMINATED]).to(q_next.dtype)
        return batch[K.REWARD] + self.gamma * not_terminated * q_next

    def critic_loss(self, batch: TensorDictBase) -> tuple[torch.Tensor, dict[str, float]]:
        """MSE of both critics to the shared target: mean (Q1 - y)^2 + mean (Q2 - y)^2."""
        target = self.td_target(batch)
        q = self.critic(batch[K.OBS], batch[K.ACTION])  # (2, B, 1)
        loss = ((q - target) ** 2).mean(dim=(1, 2)).sum()
        return loss, {"q1_mean": q[0].mean().item(), "target_mean": target.mean().item()}

    def actor_loss(self, batch: TensorDictBase) -> torch.Tensor:
        """Deterministic policy gradient through Q1 only: -mean Q1(s, actor(s))."""
        obs = batch[K.OBS]
        return -self.critic.q1_value(obs, self.actor(obs)).mean()

    def update(self, batch: TensorDictBase) -> dict[str, float]:
        """One critic step; every ``policy_delay``-th call also an actor step and Polyak updates of both targets.

        Returns the losses as Python floats (``loss_actor`` only on the calls that update the actor).
        """
        critic_loss, info = self.critic_loss(batch)
        self.critic_optim.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_optim.step()
        self.num_updates += 1
        out = {"loss_critic": critic_loss.item(), **info}
        if int(self.num_updates) % self.policy_delay == 0:
            self.critic.requires_grad_(False)  # the actor step must not leave gradients on the critic
            actor_loss = self.actor_loss(batch)
            self.actor_optim.zero_grad(set_to_none=True)
            actor_loss.backward()
            self.actor_optim.step()
            self.critic.requires_grad_(True)
            polyak_update_(self.critic_target, self.critic, self.tau)
            polyak_update_(self.actor_target, self.actor, self.tau)
            out["loss_actor"] = actor_loss.item()
        return out

    # ----------------------------------------------------------------------------------------------- checkpoints
    def state_dict(self, *args, **kwargs):  # type: ignore[override]
        """Networks, targets and counter (nn.Module's) plus both optimisers' states under ``optim/``."""
        state = super().state_dict(*args, **kwargs)
        if not args and "destination" not in kwargs:
            state["optim/actor"] = self.actor_optim.state_dict()
            state["optim/critic"] = self.critic_optim.state_dict()
        return state

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):  # type: ignore[override]
        state = dict(state_dict)
        actor_optim, critic_optim = state.pop("optim/actor", None), state.pop("optim/critic", None)
        result = super().load_state_dict(state, strict=strict, assign=assign)
        if actor_optim is not None:
            self.actor_optim.load_state_dict(actor_optim)
        if critic_optim is not None:
            self.critic_optim.load_state_dict(critic_optim)
        return result

"""The ``"learned"`` agent of ``meta_tasks``: one DQN (grid) or SAC (continuous) agent trained online on one task.

As BOReL's ``train_single_agent.py``: random rollouts first, then iterations of a few rollouts with the current
policy followed by a block of updates on uniform batches of everything collected so far; the whole buffer is the
task's data. Settings per family are the original's (``ORIGINAL_SETTINGS``; wind and escape room, whose configs are
in the anonymous repository, take the semicircle's). Deviation: goal hits do not cut bootstrapping (the original
passed them as ``done``, its bug 4); nothing terminates in these envs, so every target bootstraps.

Randomness comes from the task's numpy generator only: torch's global RNG is forked and seeded from it, so a task's
data depend on (seed, task index) alone, as ``generate_sharded`` needs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from rlkit.data.generators.parallel import Report
from rlkit.modules.distributions import TanhGaussian
from rlkit.modules.mlp import MLP
from rlkit.objectives.soft_update import polyak_update_

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


@dataclass(frozen=True)
class LearnedAgentSettings:
    """One family's data-collection agent (the original's ``data_collection_config``)."""

    hidden_sizes: tuple[int, ...]
    """Hidden layers of the Q-networks and the policy."""
    lr: float = 3e-4
    """Adam learning rate of every network."""
    gamma: float = 0.99
    """Discount."""
    tau: float = 0.005
    """Polyak rate of the target networks."""
    batch_size: int = 256
    """Transitions per update."""
    updates_per_iter: int = 200
    """Gradient updates after each iteration's rollouts."""
    init_rollouts: int = 10
    """Meta-episodes of uniform random actions before learning starts."""
    rollouts_per_iter: int = 5
    """Meta-episodes collected with the current policy per iteration."""
    alpha: float = 0.2
    """SAC's fixed entropy coefficient (the original never tuned it: its auto-tuning crashed, bug 6)."""
    epsilon_iters: int = 50
    """DQN: iterations over which epsilon falls linearly from 1 to 0."""


ORIGINAL_SETTINGS = {
    "GridNavi": LearnedAgentSettings((16, 16), gamma=0.99, updates_per_iter=200, init_rollouts=10, rollouts_per_iter=5),
    "PointRobotSparse": LearnedAgentSettings(
        (32, 32), gamma=0.9, alpha=0.01, updates_per_iter=500, init_rollouts=50, rollouts_per_iter=2
    ),
    "HalfCheetahVel": LearnedAgentSettings(
        (128, 128), gamma=0.99, alpha=0.2, updates_per_iter=2000, init_rollouts=50, rollouts_per_iter=2
    ),
}
ORIGINAL_SETTINGS["Wind"] = ORIGINAL_SETTINGS["EscapeRoom"] = ORIGINAL_SETTINGS["PointRobotSparse"]
ORIGINAL_SETTINGS["AntSemiCircle"] = ORIGINAL_SETTINGS["AntSemiCircleSparse"] = ORIGINAL_SETTINGS["HalfCheetahVel"]


class _Buffer:
    """The growing buffer of one task: numpy rows appended per iteration, uniform batches as tensors."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []
        self.tensors: dict[str, torch.Tensor] = {}

    def add(self, arrays: dict[str, np.ndarray]) -> None:
        self.parts.append(arrays)
        self.tensors = {k: torch.from_numpy(np.concatenate([p[k] for p in self.parts])) for k in arrays}

    def sample(self, batch_size: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        index = torch.from_numpy(rng.integers(len(self.tensors["obs"]), size=batch_size))
        return {k: v[index] for k, v in self.tensors.items()}

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}


class _SAC:
    """SAC with a fixed entropy coefficient and twin critics (the original's ``algorithms/sac.py`` update)."""

    def __init__(self, obs_dim: int, action_dim: int, s: LearnedAgentSettings) -> None:
        self.s = s
        self.policy = MLP(obs_dim, 2 * action_dim, s.hidden_sizes)
        self.critics = torch.nn.ModuleList(MLP(obs_dim + action_dim, 1, s.hidden_sizes) for _ in range(2))
        self.targets = copy.deepcopy(self.critics).requires_grad_(False)
        self.policy_optim = torch.optim.Adam(self.policy.parameters(), lr=s.lr)
        self.critic_optim = torch.optim.Adam(self.critics.parameters(), lr=s.lr)

    def dist(self, obs: torch.Tensor) -> TanhGaussian:
        loc, log_std = self.policy(obs).chunk(2, -1)
        return TanhGaussian(loc, log_std.clamp(LOG_STD_MIN, LOG_STD_MAX).exp())

    def sample(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dist = self.dist(obs)
        action, pre_tanh = dist.rsample_with_pre_tanh()
        return action, dist.log_prob(action, pre_tanh).unsqueeze(-1)

    def q(self, critics: torch.nn.ModuleList, obs: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        x = torch.cat([obs, action], -1)
        return torch.minimum(critics[0](x), critics[1](x))

    def act(self, obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.sample(torch.as_tensor(obs, dtype=torch.float32).unsqueeze(0))[0][0].numpy()

    def update(self, batch: dict[str, torch.Tensor]) -> None:
        obs, action, reward, next_obs = batch["obs"], batch["actions"], batch["rewards"], batch["next_obs"]
        with torch.no_grad():
            next_action, next_log_prob = self.sample(next_obs)
            soft_value = self.q(self.targets, next_obs, next_action) - self.s.alpha * next_log_prob
            target = reward + self.s.gamma * soft_value
        x = torch.cat([obs, action], -1)
        critic_loss = F.mse_loss(self.critics[0](x), target) + F.mse_loss(self.critics[1](x), target)
        self.critic_optim.zero_grad()
        critic_loss.backward()
        self.critic_optim.step()
        polyak_update_(self.targets, self.critics, self.s.tau)
        new_action, log_prob = self.sample(obs)
        policy_loss = (self.s.alpha * log_prob - self.q(self.critics, obs, new_action)).mean()
        self.policy_optim.zero_grad()
        policy_loss.backward()
        self.policy_optim.step()


class _DQN:
    """DQN with a Polyak-averaged target network and epsilon-greedy exploration (one-hot actions in the buffer)."""

    def __init__(self, obs_dim: int, num_actions: int, s: LearnedAgentSettings) -> None:
        self.s = s
        self.q = MLP(obs_dim, num_actions, s.hidden_sizes)
        self.target = copy.deepcopy(self.q).requires_grad_(False)
        self.optim = torch.optim.Adam(self.q.parameters(), lr=s.lr)
        self.epsilon = 1.0

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> int:
        if rng.random() < self.epsilon:
            return int(rng.integers(self.q.out_dim))
        with torch.no_grad():
            return int(self.q(torch.as_tensor(obs, dtype=torch.float32)).argmax())

    def update(self, batch: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            target = batch["rewards"] + self.s.gamma * self.target(batch["next_obs"]).max(-1, keepdim=True).values
        chosen = (self.q(batch["obs"]) * batch["actions"]).sum(-1, keepdim=True)
        loss = F.mse_loss(chosen, target)
        self.optim.zero_grad()
        loss.backward()
        self.optim.step()
        polyak_update_(self.target, self.q, self.s.tau)


def train_and_collect(
    family: Any,
    task: np.ndarray,
    *,
    meta_episodes: int,
    episode_length: int,
    episodes_per_task: int,
    rng: np.random.Generator,
    env_kwargs: dict | None = None,
    report: Report | None = None,
    settings: LearnedAgentSettings | None = None,
) -> dict[str, np.ndarray]:
    """Train one agent on ``task`` while collecting ``meta_episodes`` meta-episodes; BOReL's arrays of its buffer."""
    from rlkit.data.generators.meta_tasks import random_action, rollout_task

    name = getattr(family, "name", "")
    s = settings or ORIGINAL_SETTINGS.get(name) or ORIGINAL_SETTINGS["PointRobotSparse"]
    discrete = bool(getattr(family, "num_actions", None))
    options = {"episode_length": episode_length, "episodes_per_task": episodes_per_task, "rng": rng,
               "env_kwargs": env_kwargs, "report": report}
    buffer = _Buffer()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**62)))
        agent: _SAC | _DQN
        if discrete:
            agent = _DQN(family.obs_dim, family.num_actions, s)
            act = lambda obs, m: agent.act(obs, rng)  # noqa: E731
        else:
            agent = _SAC(family.obs_dim, family.action_dim, s)
            act = lambda obs, m: agent.act(obs)  # noqa: E731
        first = min(s.init_rollouts, meta_episodes)
        buffer.add(rollout_task(family, task, lambda obs, m: random_action(family, rng), meta_episodes=first,
                                **options))
        done, iteration = first, 0
        while done < meta_episodes:
            count = min(s.rollouts_per_iter, meta_episodes - done)
            buffer.add(rollout_task(family, task, act, meta_episodes=count, **options))
            done += count
            for _ in range(s.updates_per_iter):
                agent.update(buffer.sample(s.batch_size, rng))
            iteration += 1
            if isinstance(agent, _DQN):
                agent.epsilon = max(0.0, 1.0 - iteration / s.epsilon_iters)
    return buffer.arrays()


def settings_for(family: Any, **overrides: Any) -> LearnedAgentSettings:
    """The original's settings of ``family`` with ``overrides`` (e.g. fewer updates for a quick run)."""
    base = ORIGINAL_SETTINGS.get(getattr(family, "name", ""), ORIGINAL_SETTINGS["PointRobotSparse"])
    return replace(base, **overrides)

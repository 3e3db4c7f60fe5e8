"""Acting over whole meta-episodes with a belief: the encoder's posterior rides along with the state (hyper-states).

A :class:`BeliefAgent` holds the encoder's hidden state for a batch of meta-episodes (one per task), starts from the
prior, feeds every transition (a_t, r_t, s_{t+1}) to ``encoder.step`` and acts on s+ = [s, mean, logvar]. The belief is
carried across the episodes of a meta-episode and never reset at a goal hit (the original reset it at goal hits in
relabelling only, bug 4). :func:`evaluate_meta_episodes` plays held-out tasks in lockstep (one batched network call per
step for all tasks) and reports the return and success of each episode of the meta-episode: a belief that identifies
the task in episode 1 shows as success in episode 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rlkit.envs.meta.bamdp import BAMDPWrapper


class BeliefAgent:
    """An encoder and a hyper-state policy acting together on a batch of meta-episodes.

    Args:
        encoder: a :class:`rlkit.modules.belief.BeliefEncoder` (``prior``, ``step``).
        policy: anything with ``act(hyper_obs, deterministic) -> actions`` (:class:`OfflineSAC`, :class:`OfflineDQN`).
        num_actions: the number of discrete actions (the encoder then reads one-hot actions), None if continuous.
    """

    def __init__(self, encoder: nn.Module, policy: Any, num_actions: int | None = None) -> None:
        self.encoder, self.policy, self.num_actions = encoder, policy, num_actions
        self.mean = self.logvar = self.hidden = None

    @torch.no_grad()
    def reset(self, batch_size: int) -> None:
        """Start ``batch_size`` meta-episodes from the prior belief."""
        self.mean, self.logvar, self.hidden = self.encoder.prior(batch_size)

    def hyper_state(self, obs: torch.Tensor) -> torch.Tensor:
        """s+ = [obs, mean, logvar] (N, obs_dim + 2 latent_dim)."""
        if self.mean is None:
            raise RuntimeError("BeliefAgent: call reset(batch_size) before acting")
        return torch.cat([obs, self.mean.to(obs.dtype), self.logvar.to(obs.dtype)], dim=-1)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = True) -> torch.Tensor:
        """Actions for the current observations (N, obs_dim): indices (N,) if discrete, else (N, action_dim)."""
        return self.policy.act(self.hyper_state(obs), deterministic)

    def encoder_action(self, action: torch.Tensor) -> torch.Tensor:
        """The action as the encoder reads it: one-hot for discrete actions."""
        if self.num_actions is None:
            return action.float()
        return nn.functional.one_hot(action.long().reshape(-1), self.num_actions).float()

    @torch.no_grad()
    def observe(self, action: torch.Tensor, reward: torch.Tensor, next_obs: torch.Tensor) -> None:
        """Update the belief with one transition per meta-episode (reward (N,) or (N, 1))."""
        reward = reward.reshape(-1, 1).float()
        self.mean, self.logvar, self.hidden = self.encoder.step(
            self.encoder_action(action), reward, next_obs.float(), self.hidden)


@dataclass
class MetaEpisodeResults:
    """Per task and episode of the meta-episode: ``returns``, ``successes`` (goal reached at least once), (T, E).

    ``means``/``logvars`` (T, S+1, L) and ``observations`` (T, S+1, obs_dim) trace the belief and the state along the
    meta-episode's S steps (index 0: the prior and the first start); ``rewards`` (T, S). The transitions themselves,
    as stored data hold them: ``acted_observations`` (T, S, obs_dim) (the state each action was taken in: an
    episode's start after a boundary), ``actions`` (T, S, action_dim) (one-hot if discrete), ``successes_per_step``.
    """

    tasks: np.ndarray
    returns: np.ndarray
    successes: np.ndarray
    rewards: np.ndarray
    observations: np.ndarray
    means: np.ndarray
    logvars: np.ndarray
    acted_observations: np.ndarray
    actions: np.ndarray
    successes_per_step: np.ndarray

    def summary(self) -> dict[str, list[float]]:
        """Mean return and success rate of each episode over tasks."""
        return {"return": self.returns.mean(0).tolist(), "success": self.successes.mean(0).tolist()}


def _env_action(action: torch.Tensor, discrete: bool) -> Any:
    return int(action) if discrete else action.cpu().numpy().astype(np.float32)


@torch.no_grad()
def evaluate_meta_episodes(
    agent: BeliefAgent,
    family: Any,
    tasks: Sequence[Any] | np.ndarray,
    episodes_per_task: int,
    *,
    deterministic: bool = True,
    seed: int = 0,
    env_kwargs: dict | None = None,
) -> MetaEpisodeResults:
    """One meta-episode of ``episodes_per_task`` episodes in each task (envs of ``family.make_env``), in lockstep.

    The policy acts on each episode's real start (the BAMDP wrapper's ``start_obs`` at a boundary); the encoder reads
    the observation that ended the step, as in the stored data. Env ``i`` is reset with ``seed + i``.
    """
    tasks = np.asarray(tasks, dtype=np.float64).reshape(len(tasks), -1)
    envs = [BAMDPWrapper(family.make_env(task, **(env_kwargs or {})), episodes_per_task, add_done_flag=False)
            for task in tasks]
    discrete = agent.num_actions is not None
    steps = envs[0].meta_episode_steps
    n = len(envs)
    starts = [env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]
    obs = torch.as_tensor(np.stack(starts), dtype=torch.float32)
    agent.reset(n)
    returns = np.zeros((n, episodes_per_task))
    successes = np.zeros((n, episodes_per_task), dtype=bool)
    rewards = np.zeros((n, steps))
    step_success = np.zeros((n, steps), dtype=bool)
    observations, means, logvars = [obs.numpy()], [agent.mean.numpy().copy()], [agent.logvar.numpy().copy()]
    acted, actions = [], []
    for t in range(steps):
        action = agent.act(obs, deterministic)
        acted.append(obs.numpy())
        actions.append(agent.encoder_action(action).numpy())
        results = [env.step(_env_action(a, discrete)) for env, a in zip(envs, action)]
        next_obs = torch.as_tensor(np.stack([r[0] for r in results]), dtype=torch.float32)
        reward = np.array([r[1] for r in results], dtype=np.float64)
        agent.observe(action, torch.as_tensor(reward, dtype=torch.float32), next_obs)
        for i, (_, _, _, _, info) in enumerate(results):
            episode = info["episode_index"]
            returns[i, episode] += reward[i]
            step_success[i, t] = bool(info.get("success", False))
            successes[i, episode] |= step_success[i, t]
        rewards[:, t] = reward
        observations.append(next_obs.numpy())
        means.append(agent.mean.numpy().copy())
        logvars.append(agent.logvar.numpy().copy())
        starts = [r[4].get("start_obs", r[0]) for r in results]
        obs = torch.as_tensor(np.stack(starts), dtype=torch.float32)
    for env in envs:
        env.close()
    return MetaEpisodeResults(tasks, returns, successes, rewards, np.stack(observations, 1), np.stack(means, 1),
                              np.stack(logvars, 1), np.stack(acted, 1), np.stack(actions, 1), step_success)

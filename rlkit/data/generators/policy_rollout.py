"""Datasets rolled out from a policy in a gymnasium env, in D4RL's gym-mujoco layout: the hook for "random",
"medium" and "expert" levels.

A level is a policy: ``UniformRandomPolicy`` makes the "random" datasets here; a later module registers, say,
``hopper-medium-v2`` with a builder that loads a trained actor, wraps it in a ``RolloutPolicy`` and calls
``rollout_dataset``. The rollout records s, a, r, s', terminals (the env terminated), timeouts (the time limit,
counted here so a truncation is known exactly), infos/qpos and infos/qvel of s and, when the policy knows them,
infos/action_log_probs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from tensordict import TensorDict

from rlkit.data.generators.rollout import RolloutArrays, env_seed, progress_chunks, spawn_generators


class RolloutPolicy:
    """What a dataset rollout asks of a policy. Subclass and override ``act`` (and ``reset`` if it keeps state)."""

    def reset(self, rng: np.random.Generator) -> None:
        """Called at the start of every episode."""

    def act(self, observation: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float | None]:
        """The action for one observation, and its log-probability under the policy (None when unknown)."""
        raise NotImplementedError


class UniformRandomPolicy(RolloutPolicy):
    """Actions uniform over the box [low, high]: D4RL's "random" level as asked for here."""

    def __init__(self, low: np.ndarray, high: np.ndarray) -> None:
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        self.log_prob = float(-np.log(self.high - self.low).sum())

    def act(self, observation: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float | None]:
        return rng.uniform(self.low, self.high), self.log_prob


def rollout_dataset(
    env_id: str,
    policy: RolloutPolicy,
    steps: int,
    seed: int,
    *,
    max_episode_steps: int = 1000,
    env_kwargs: Mapping[str, Any] | None = None,
    progress: bool = True,
) -> TensorDict:
    """Roll ``policy`` out in ``gymnasium.make(env_id, **env_kwargs)`` for exactly ``steps`` transitions.

    Episodes end when the env terminates or after ``max_episode_steps`` steps; the last episode may be cut by
    ``steps`` (it then ends on neither flag, and the loader gives it no invented end). The env's own time limit is
    bypassed so the one counted here is the only one.
    """
    import gymnasium as gym

    env_rng, policy_rng = spawn_generators(seed, 2)
    env = gym.make(env_id, **dict(env_kwargs or {})).unwrapped
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    data = env.data
    arrays = RolloutArrays(
        steps,
        {
            "observations": ((obs_dim,), np.float32),
            "next_observations": ((obs_dim,), np.float32),
            "actions": ((act_dim,), np.float32),
            "rewards": ((), np.float32),
            "terminals": ((), bool),
            "timeouts": ((), bool),
            "infos/qpos": ((data.qpos.shape[0],), np.float32),
            "infos/qvel": ((data.qvel.shape[0],), np.float32),
            "infos/action_log_probs": ((), np.float32),
        },
    )
    obs_out, next_out, act_out = arrays["observations"], arrays["next_observations"], arrays["actions"]
    rew_out, term_out, trunc_out = arrays["rewards"], arrays["terminals"], arrays["timeouts"]
    qpos_out, qvel_out, logp_out = arrays["infos/qpos"], arrays["infos/qvel"], arrays["infos/action_log_probs"]

    obs = env.reset(seed=env_seed(env_rng))[0]
    policy.reset(policy_rng)
    episode_steps, known_log_probs = 0, True
    for start, stop in progress_chunks(steps, desc=env_id, progress=progress):
        for t in range(start, stop):
            action, log_prob = policy.act(obs, policy_rng)
            obs_out[t] = obs
            act_out[t] = action
            qpos_out[t] = data.qpos
            qvel_out[t] = data.qvel
            if log_prob is None:
                known_log_probs = False
            else:
                logp_out[t] = log_prob
            next_obs, reward, terminated, _, _ = env.step(act_out[t])
            episode_steps += 1
            next_out[t] = next_obs
            rew_out[t] = reward
            truncated = not terminated and episode_steps >= max_episode_steps
            if terminated or truncated:
                term_out[t], trunc_out[t] = terminated, truncated
                obs, episode_steps = env.reset()[0], 0
                policy.reset(policy_rng)
            else:
                obs = next_obs
    env.close()
    if not known_log_probs:
        del arrays.arrays["infos/action_log_probs"]
    return arrays.transitions(source=f"{env_id} rollout of {type(policy).__name__}")

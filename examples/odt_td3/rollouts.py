"""The environment side of examples/odt_td3/main.py: envs and rewards as the original shapes them, evaluation and
online collection with a ``DTInference`` agent.

Rewards: the policy and critic learn from transformed rewards (AntMaze r - 1; hammer / 1000; pen, door,
relocate / 100; optionally delayed), so the offline data (``shape_dataset_rewards``) and the envs (``make_env_fn``)
get the same transform. Evaluation reports returns in the task's own units again (``raw_returns``), which is what
D4RL's normalised scores are defined on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import SyncVectorEnv
from tensordict import TensorDictBase

from rlkit.agents.dt_inference import DTInference, FeedbackVectorEnv
from rlkit.data import keys as K
from rlkit.data.scores import UnknownReferenceScoresError, normalized_score
from rlkit.envs.delayed_reward import DelayedReward
from rlkit.envs.registry import make_env
from rlkit.envs.reward_shaping import RewardTransform, original_reward_transform
from rlkit.trainers.evaluation import evaluate
from rlkit.trainers.seeding import sub_env_seeds


def reward_transform_of(config: Any) -> RewardTransform:
    return original_reward_transform(config.env)


def make_env_fn(config: Any) -> Callable[[], gym.Env]:
    """A factory of the env that evaluates ``config.env``, paying the rewards the agent learns from."""
    transform = reward_transform_of(config)

    def make() -> gym.Env:
        env = transform.wrap(make_env(config.env))
        return DelayedReward(env, config.delayed_reward) if config.delayed_reward > 1 else env

    return make


def delay_rewards(data: TensorDictBase, delay: int) -> torch.Tensor:
    """Rewards paid every ``delay`` steps of each episode and at its last step, 0 in between (as DelayedReward)."""
    reward = data.get(K.REWARD).reshape(-1).to(torch.float64)
    episode, step = data.get(K.EPISODE).reshape(-1), data.get(K.STEP).reshape(-1)
    last = torch.ones_like(episode, dtype=torch.bool)
    last[:-1] = episode[1:] != episode[:-1]
    pay = last | ((step + 1) % delay == 0)
    paid_rows = pay.nonzero().squeeze(1)
    totals = torch.cumsum(reward, 0)[paid_rows]
    paid = torch.zeros_like(reward)
    paid[paid_rows] = totals - torch.cat([totals.new_zeros(1), totals[:-1]])
    return paid.to(torch.float32).reshape(-1, 1)


def shape_dataset_rewards(data: TensorDictBase, config: Any) -> TensorDictBase:
    """The offline data with the rewards the agent learns from (transform, then delay)."""
    data = data.clone(recurse=False)
    data.set(("next",), data.get("next").clone(recurse=False))
    data.set(K.REWARD, reward_transform_of(config)(data.get(K.REWARD)))
    if config.delayed_reward > 1:
        data.set(K.REWARD, delay_rewards(data, config.delayed_reward))
    return data


def check_dimensions(data: TensorDictBase, env: gym.Env, source: str) -> tuple[int, int, np.ndarray, np.ndarray]:
    """``(state_dim, act_dim, action_low, action_high)``; a ValueError when the dataset and the env disagree."""
    obs_shape, act_shape = tuple(data.get(K.OBS).shape[1:]), tuple(data.get(K.ACTION).shape[1:])
    env_obs, env_act = env.observation_space.shape, env.action_space.shape
    if obs_shape != env_obs or act_shape != env_act:
        raise ValueError(
            f"{source} has observations {obs_shape} and actions {act_shape} per step, but its evaluation env "
            f"{env.spec.id if env.spec else type(env.unwrapped).__name__} has observations {env_obs} and actions "
            f"{env_act}; the dataset does not belong to this env (check --env / --dataset-path)"
        )
    if len(obs_shape) != 1 or len(act_shape) != 1:
        raise ValueError(f"{source}: expected flat observations and actions, got {obs_shape} and {act_shape}")
    return obs_shape[0], act_shape[0], env.action_space.low, env.action_space.high


def raw_returns(returns: np.ndarray, lengths: np.ndarray, transform: RewardTransform) -> np.ndarray:
    """Undo the reward transform on episode returns (a delay does not change a return)."""
    return (np.asarray(returns) - transform.shift * np.asarray(lengths)) / transform.scale


def score_metrics(prefix: str, returns: np.ndarray, lengths: np.ndarray, env_name: str) -> dict[str, float]:
    metrics = {f"{prefix}/return_mean": float(np.mean(returns)), f"{prefix}/return_std": float(np.std(returns)),
               f"{prefix}/length_mean": float(np.mean(lengths))}
    with contextlib.suppress(UnknownReferenceScoresError):  # e.g. the bandit has no D4RL reference scores
        metrics[f"{prefix}/normalized_score"] = float(np.mean(normalized_score(env_name, np.asarray(returns))))
    return metrics


def evaluate_policy(policy: torch.nn.Module, config: Any, env_fn: Callable[[], gym.Env], agent_kwargs: dict,
                    seed: int) -> dict[str, float]:
    """``num_eval_episodes`` episodes at ``eval_rtg``, acting with the mean action, one env per episode."""
    count = config.num_eval_episodes
    envs = SyncVectorEnv([env_fn] * count)
    agent = DTInference(policy, num_envs=count, context_length=config.eval_context_length,
                        target_return=config.eval_rtg, **agent_kwargs)
    try:
        result = evaluate(agent.act, FeedbackVectorEnv(envs, agent), count, seed=seed)
    finally:
        envs.close()
    returns = raw_returns(result["returns"], result["lengths"], reward_transform_of(config))
    metrics = score_metrics("eval", returns, result["lengths"], config.env)
    if "success_rate" in result:
        metrics["eval/success_rate"] = result["success_rate"]
    return metrics


class OnlineCollector:
    """Whole online episodes at ``online_rtg`` with exploration, ``num_online_rollouts`` envs at a time.

    Each ``collect`` resets the envs (seeded from the run's seed and the iteration, so a resumed run collects the
    same episodes) and steps until the finished episodes hold at least ``min_steps`` steps (at least one episode);
    episodes still running then are dropped, as their trajectories would be cut.
    """

    def __init__(self, policy: torch.nn.Module, config: Any, env_fn: Callable[[], gym.Env], agent_kwargs: dict,
                 generator: torch.Generator) -> None:
        count = config.num_online_rollouts
        self.agent = DTInference(
            policy, num_envs=count, context_length=config.eval_context_length, target_return=config.online_rtg,
            exploration_noise=config.expl_noise if config.stoc == 0 else 0.0, sample=config.stoc == 1,
            record=True, generator=generator, **agent_kwargs,
        )
        self.envs = FeedbackVectorEnv(SyncVectorEnv([env_fn] * count), self.agent)

    def collect(self, min_steps: int, seed: int) -> TensorDictBase:
        obs, _ = self.envs.reset(seed=sub_env_seeds(seed, self.envs.num_envs))
        while self.agent.num_finished_episodes == 0 or self.agent.num_finished_steps < min_steps:
            obs = self.envs.step(self.agent.act(obs))[0]
        return self.agent.pop_episodes()

    def close(self) -> None:
        self.envs.close()


def episode_stats(episodes: TensorDictBase) -> tuple[np.ndarray, np.ndarray]:
    """Per-episode returns (float64) and lengths of a flat TensorDict of whole episodes."""
    episode = episodes.get(K.EPISODE)
    count = int(episode.max()) + 1
    returns = torch.zeros(count, dtype=torch.float64).index_add_(
        0, episode, episodes.get(K.REWARD).reshape(-1).to(torch.float64))
    return returns.numpy(), torch.bincount(episode, minlength=count).numpy()

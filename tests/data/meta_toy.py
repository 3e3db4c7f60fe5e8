"""A 1-D goal-reaching task family with the TaskFamily protocol of ``rlkit.envs.meta``, for data-layer tests.

The point starts at 0 and moves by ``0.1 * clip(a, -1, 1)``; the task is a goal g in [-1, 1]; the reward is
``1`` within 0.15 of g, minus ``0.01 * a^2`` (so it depends on the action too), and never terminates.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from tensordict import TensorDict

from rlkit.data.task_folders import MetaDataset, default_task_names

RADIUS = 0.15


class ToyGoalEnv(gym.Env):
    def __init__(self, task: np.ndarray | None = None, episode_length: int = 5) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.episode_length = episode_length
        self._task = np.zeros(1) if task is None else np.asarray(task, dtype=np.float64).reshape(1)
        self._x = np.zeros(1)
        self._t = 0

    def set_task(self, task) -> None:
        self._task = np.asarray(task, dtype=np.float64).reshape(1)

    def get_task(self) -> np.ndarray:
        return self._task.copy()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._x = np.zeros(1)
        self._t = 0
        return self._x.astype(np.float32), {}

    def step(self, action):
        action = np.asarray(action, dtype=np.float64).reshape(1)
        obs = self._x.astype(np.float32)
        self._x = self._x + 0.1 * np.clip(action, -1.0, 1.0)
        self._t += 1
        reward = float(ToyFamily.reward(self._task, obs, action, self._x.astype(np.float32)))
        return self._x.astype(np.float32), reward, False, self._t >= self.episode_length, {}


class ToyFamily:
    task_dim = 1
    episode_length = 5
    episodes_per_task = 2

    @staticmethod
    def sample_tasks(n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(-1.0, 1.0, size=(n, 1))

    @staticmethod
    def reward(task, obs, action, next_obs):
        if isinstance(next_obs, torch.Tensor):
            task = torch.as_tensor(task, dtype=next_obs.dtype)
            action = torch.as_tensor(action, dtype=next_obs.dtype)
            hit = ((next_obs - task).abs() <= RADIUS).to(next_obs.dtype)
            return (hit - 0.01 * action.square()).sum(-1)
        task, action, next_obs = np.asarray(task), np.asarray(action), np.asarray(next_obs)
        hit = (np.abs(next_obs - task) <= RADIUS).astype(np.float64)
        return (hit - 0.01 * np.square(action)).sum(-1)

    @staticmethod
    def success(task, next_obs):
        if isinstance(next_obs, torch.Tensor):
            return ((next_obs - torch.as_tensor(task, dtype=next_obs.dtype)).abs() <= RADIUS).all(-1)
        return (np.abs(np.asarray(next_obs) - np.asarray(task)) <= RADIUS).all(-1)

    @staticmethod
    def make_env(task=None, **kwargs) -> ToyGoalEnv:
        return ToyGoalEnv(task, **kwargs)


def toy_rows(task: float, meta_episodes: int, rng: np.random.Generator, horizon: int = 10) -> dict[str, np.ndarray]:
    """BOReL-style arrays of ``meta_episodes`` random meta-episodes of ``horizon`` steps in task ``task``."""
    n = meta_episodes * horizon
    actions = rng.uniform(-1, 1, size=(n, 1)).astype(np.float32)
    steps = 0.1 * actions[:, 0].reshape(meta_episodes, horizon // 5, 5)
    next_x = np.cumsum(steps, axis=-1).reshape(n, 1).astype(np.float32)
    obs = (next_x - 0.1 * actions).astype(np.float32)
    rewards = ToyFamily.reward(np.array([task]), obs, actions, next_x).reshape(n, 1).astype(np.float32)
    terminals = (np.abs(next_x - task) <= RADIUS).astype(np.float32)
    return {"obs": obs, "actions": actions, "rewards": rewards, "next_obs": next_x, "terminals": terminals}


def write_toy_folder(folder, arrays: dict[str, np.ndarray]) -> None:
    folder.mkdir(parents=True)
    for name, value in arrays.items():
        np.save(folder / f"{name}.npy", value)


GOALS = (-0.6, 0.0, 0.7)


def toy_dataset(episodes_per_task=2, meta_episodes=(4, 6, 5), goals=GOALS):
    """Stored meta-episodes of the toy family (episodes of 5 steps), one trajectory set per goal."""
    rng = np.random.default_rng(1)
    horizon = 5 * episodes_per_task
    trajectories = []
    for goal, count in zip(goals, meta_episodes):
        rows = toy_rows(goal, count, rng, horizon)
        cut = {k: torch.from_numpy(v).reshape(count, horizon, -1) for k, v in rows.items()}
        done = torch.zeros(count, horizon, 1, dtype=torch.bool)
        done[:, 4::5] = True
        trajectories.append(TensorDict({
            "obs": cut["obs"], "action": cut["actions"], "reward": cut["rewards"], "next_obs": cut["next_obs"],
            "done": done, "terminated": torch.zeros_like(done), "goal_reached": cut["terminals"] > 0,
            "task": torch.full((count, 1), goal),
        }, batch_size=[count]))
    names = default_task_names(np.array(goals).reshape(-1, 1))
    return MetaDataset.from_trajectories(trajectories, names, 5, episodes_per_task)

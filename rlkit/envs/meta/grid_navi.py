"""GridNavi: find an unknown goal cell on a 5x5 grid within 15 steps (BOReL's ``gridworld``, varibad's GridNavi-v2).

Observation (x, y) float32 cells; Discrete(5) actions noop, up (+y), right (+x), down (-y), left (-x), blocked at the
walls. The goal is one of the 21 cells outside the 2x2 corner around the start (0, 0); reward +1 on arriving at (or
staying on) the goal, -0.1 otherwise; nothing terminates. ``random_start=True`` starts on a uniform cell other than
the goal (the original's data collection, ``modify_init_state_dist``); the default (0, 0) is its evaluation start.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlkit.envs.meta.arrays import Array, as_float, common_backend
from rlkit.envs.meta.task_env import TaskEnv
from rlkit.envs.meta.task_family import TaskFamily, check_count, check_rng

GRID_SIZE = 5
START_CELL = (0, 0)
EXCLUDED_GOALS = ((0, 0), (0, 1), (1, 0), (1, 1))
GOAL_REWARD, STEP_REWARD = 1.0, -0.1
# noop, up, right, down, left: the cell offset of each action
MOVES = np.array([[0, 0], [0, 1], [1, 0], [0, -1], [-1, 0]], dtype=np.int64)


def all_goal_cells() -> np.ndarray:
    """The 21 possible goals, float64 (21, 2), in the original's order (x fastest, then y)."""
    cells = [(x, y) for y in range(GRID_SIZE) for x in range(GRID_SIZE) if (x, y) not in EXCLUDED_GOALS]
    return np.array(cells, dtype=np.float64)


class GridNaviFamily(TaskFamily):
    """Goal cells of the 5x5 grid; task = goal (x, y)."""

    name = "GridNavi"
    task_dim = 2
    obs_dim = 2
    action_dim = 1
    num_actions = len(MOVES)
    max_episode_steps = 15

    def __init__(self) -> None:
        self.goals = all_goal_cells()

    def sample_tasks(self, n: int, rng: np.random.Generator) -> np.ndarray:
        n = check_count(n, self.name)
        if n > len(self.goals):
            raise ValueError(f"{self.name}.sample_tasks: n={n} distinct goals requested; only {len(self.goals)} exist")
        return self.goals[check_rng(rng, self.name).choice(len(self.goals), size=n, replace=False)].copy()

    def check_task(self, task: Any) -> np.ndarray:
        array = super().check_task(task)
        if not (self.goals == array).all(axis=1).any():
            goals = self.goals.astype(int).tolist()
            raise ValueError(f"{self.name}: task {array.tolist()} is not a goal cell; expected one of {goals}")
        return array

    def success(self, task: Array, next_obs: Array) -> Array:
        self.check_batch(task, next_obs)
        task, next_obs = common_backend(task, next_obs)
        return (abs(next_obs[..., :2] - task) < 0.5).all(-1)

    def reward(self, task: Array, obs: Array, action: Array, next_obs: Array) -> Array:
        """+1 if the agent is on the goal after the step, else -0.1 (the action and the previous cell do not matter)."""
        task, next_obs = common_backend(task, next_obs)
        hit = as_float(self.success(task, next_obs), next_obs)
        return GOAL_REWARD * hit + STEP_REWARD * (1.0 - hit)

    @staticmethod
    def cell_index(cells: Array) -> Array:
        """Index x + 5 y of cells (..., 2) (the original's ``task_to_id``: the 25 classes of a goal decoder)."""
        cells = cells.round().long() if isinstance(cells, torch.Tensor) else np.rint(cells).astype(np.int64)
        return cells[..., 0] + GRID_SIZE * cells[..., 1]

    @staticmethod
    def cell_of_index(index: Array) -> Array:
        """Inverse of ``cell_index``: cells (..., 2) float in the index's backend."""
        if isinstance(index, torch.Tensor):
            return torch.stack([index % GRID_SIZE, index // GRID_SIZE], dim=-1).to(torch.get_default_dtype())
        index = np.asarray(index)
        return np.stack([index % GRID_SIZE, index // GRID_SIZE], axis=-1).astype(np.float64)

    def make_env(self, task: Array | None = None, **kwargs: Any) -> GridNaviEnv:
        return GridNaviEnv(task=task, family=self, **kwargs)


class GridNaviEnv(TaskEnv):
    """The 5x5 grid; see the module docstring. random_start: start on a random non-goal cell instead of (0, 0)."""

    def __init__(
        self,
        task: Array | None = None,
        random_start: bool = False,
        max_episode_steps: int | None = None,
        family: GridNaviFamily | None = None,
    ) -> None:
        super().__init__(family or GridNaviFamily(), task, max_episode_steps)
        self.random_start = bool(random_start)
        self.observation_space = gym.spaces.Box(0.0, GRID_SIZE - 1.0, shape=(2,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(len(MOVES))
        self._cell = np.array(START_CELL, dtype=np.int64)

    def _reset_state(self) -> np.ndarray:
        if self.random_start:
            cells = np.array([(x, y) for y in range(GRID_SIZE) for x in range(GRID_SIZE)], dtype=np.int64)
            cells = cells[(cells != self._task.astype(np.int64)).any(axis=1)]  # never start on the goal
            self._cell = cells[self.np_random.integers(len(cells))].copy()
        else:
            self._cell = np.array(START_CELL, dtype=np.int64)
        return self._cell.astype(np.float32)

    def _check_action(self, action: Any) -> int:
        array = np.asarray(action).reshape(-1)
        if array.size != 1 or not np.issubdtype(array.dtype, np.integer) or not 0 <= int(array[0]) < len(MOVES):
            raise ValueError(f"{self.family.name}: action {action!r}; expected an int 0..4 (noop/up/right/down/left)")
        return int(array[0])

    def _advance(self, action: int) -> np.ndarray:
        self._cell = np.clip(self._cell + MOVES[action], 0, GRID_SIZE - 1)
        return self._cell.astype(np.float32)

"""The 2-D point mass shared by the semicircle, wind and escape-room tasks: position control with small steps.

The original's envs take actions in [-0.1, 0.1]^2 and its BAMDP wrapper maps the agent's [-1, 1] actions linearly
onto that box and clips; here the env itself does the mapping, so its ``action_space`` is [-1, 1]^2 and stored
actions are the agent's. The position is kept in float64 and observed as float32 (x, y).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.envs.meta.task_env import TaskEnv
from rlkit.envs.meta.task_family import TaskFamily

ACTION_SCALE = 0.1  # the original's action box is [-0.1, 0.1]^2


class PointMassEnv(TaskEnv):
    """Position (x, y); a step moves by ``ACTION_SCALE * clip(action, -1, 1)`` plus whatever ``_move`` adds."""

    def __init__(self, family: TaskFamily, task: Any = None, max_episode_steps: int | None = None) -> None:
        super().__init__(family, task, max_episode_steps)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self._position = np.zeros(2, dtype=np.float64)

    def _start_position(self) -> np.ndarray:
        """The start of an episode; the origin unless a subclass draws one from ``self.np_random``."""
        return np.zeros(2, dtype=np.float64)

    def _move(self, position: np.ndarray, displacement: np.ndarray) -> np.ndarray:
        """Where the point ends up when asked to move by ``displacement``; free space by default."""
        return position + displacement

    def _reset_state(self) -> np.ndarray:
        self._position = np.asarray(self._start_position(), dtype=np.float64)
        return self._position.astype(np.float32)

    def _advance(self, action: np.ndarray) -> np.ndarray:
        self._position = self._move(self._position, ACTION_SCALE * action)
        return self._position.astype(np.float32)

"""Wind: reach a fixed goal while an unknown constant wind pushes the point (BOReL's ``point_robot_wind``).

Observation (x, y) from (0, 0); action [-1, 1]^2, s' = s + 0.1 a + w; 25 steps. Task = wind w ~ U[-0.05, 0.05]^2.
Reward 1 if ||s' - (0, 1)|| <= 0.2 else 0: the reward does not depend on the task (only the dynamics do), which is
what makes this domain a test of learning the dynamics (the original's ``PointEnvRandDynamics``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlkit.envs.meta.arrays import Array, as_float, broadcast_batch, common_backend, euclidean
from rlkit.envs.meta.point_mass import PointMassEnv
from rlkit.envs.meta.task_family import TaskFamily, check_count, check_rng

GOAL = (0.0, 1.0)
GOAL_RADIUS = 0.2
MAX_WIND = 0.05


class WindFamily(TaskFamily):
    """Constant winds; task = wind (wx, wy), each in [-0.05, 0.05]."""

    name = "Wind"
    task_dim = 2
    obs_dim = 2
    action_dim = 2
    max_episode_steps = 25

    def sample_tasks(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return check_rng(rng, self.name).uniform(-MAX_WIND, MAX_WIND, size=(check_count(n, self.name), 2))

    def success(self, task: Array, next_obs: Array) -> Array:
        self.check_batch(task, next_obs)
        task, next_obs = common_backend(task, next_obs)
        goal = common_backend(np.array(GOAL), next_obs)[0]
        return broadcast_batch(euclidean(next_obs[..., :2] - goal) <= GOAL_RADIUS, task)

    def reward(self, task: Array, obs: Array, action: Array, next_obs: Array) -> Array:
        """1 within 0.2 of (0, 1) after the step, else 0, whatever the wind."""
        task, next_obs = common_backend(task, next_obs)
        return as_float(self.success(task, next_obs), next_obs)

    def make_env(self, task: Array | None = None, **kwargs: Any) -> WindEnv:
        return WindEnv(task=task, family=self, **kwargs)


class WindEnv(PointMassEnv):
    """See the module docstring; always starts at (0, 0) as the original."""

    def __init__(
        self, task: Array | None = None, max_episode_steps: int | None = None, family: WindFamily | None = None
    ) -> None:
        super().__init__(family or WindFamily(), task, max_episode_steps)

    def _move(self, position: np.ndarray, displacement: np.ndarray) -> np.ndarray:
        return position + displacement + self._task

"""PointRobotSparse: reach an unknown goal on the upper unit semicircle (BOReL's ``point_robot_sparse``).

Observation (x, y); action [-1, 1]^2, s' = s + 0.1 a; 60 steps. Task = goal (cos t, sin t), t ~ U[0, pi]. Reward 1 if
||s' - g|| <= 0.2 (the goal radius) else 0, in ``step`` and in ``reward`` alike: the original's relabelling reward
returned -distance inside the radius and 0 outside (its bug 1). Start: (0, 0), the original's evaluation start; with
``random_start=True`` uniform on [-1.5, 1.5] x [-0.5, 1.5] (its data-collection start, ``modify_init_state_dist``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlkit.envs.meta.arrays import Array, as_float, common_backend, euclidean
from rlkit.envs.meta.point_mass import PointMassEnv
from rlkit.envs.meta.task_family import TaskFamily, check_count, check_rng

GOAL_RADIUS = 0.2
RANDOM_START_LOW, RANDOM_START_HIGH = (-1.5, -0.5), (1.5, 1.5)


class PointRobotSparseFamily(TaskFamily):
    """Goals on the upper unit semicircle; task = goal (x, y)."""

    name = "PointRobotSparse"
    task_dim = 2
    obs_dim = 2
    action_dim = 2
    max_episode_steps = 60

    def __init__(self, goal_radius: float = GOAL_RADIUS) -> None:
        if not goal_radius > 0:
            raise ValueError(f"{self.name}: goal_radius={goal_radius!r}; expected a positive distance")
        self.goal_radius = float(goal_radius)

    def sample_tasks(self, n: int, rng: np.random.Generator) -> np.ndarray:
        angles = check_rng(rng, self.name).uniform(0.0, np.pi, size=check_count(n, self.name))
        return np.stack([np.cos(angles), np.sin(angles)], axis=-1)

    def success(self, task: Array, next_obs: Array) -> Array:
        self.check_batch(task, next_obs)
        task, next_obs = common_backend(task, next_obs)
        return euclidean(next_obs[..., :2] - task) <= self.goal_radius

    def reward(self, task: Array, obs: Array, action: Array, next_obs: Array) -> Array:
        """1 within ``goal_radius`` of the goal after the step, else 0."""
        task, next_obs = common_backend(task, next_obs)
        return as_float(self.success(task, next_obs), next_obs)

    def make_env(self, task: Array | None = None, **kwargs: Any) -> PointRobotSparseEnv:
        return PointRobotSparseEnv(task=task, family=self, **kwargs)


class PointRobotSparseEnv(PointMassEnv):
    """See the module docstring. random_start: the original's data-collection start distribution."""

    def __init__(
        self,
        task: Array | None = None,
        random_start: bool = False,
        max_episode_steps: int | None = None,
        family: PointRobotSparseFamily | None = None,
    ) -> None:
        super().__init__(family or PointRobotSparseFamily(), task, max_episode_steps)
        self.random_start = bool(random_start)

    def _start_position(self) -> np.ndarray:
        if self.random_start:
            return self.np_random.uniform(RANDOM_START_LOW, RANDOM_START_HIGH)
        return np.zeros(2, dtype=np.float64)

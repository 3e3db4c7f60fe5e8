"""AntSemiCircle (dense) and AntSemiCircleSparse: walk the ant to an unknown goal on the upper unit semicircle
(BOReL's ``ant_semicircle`` / ``ant_semicircle_sparse``).

The ant of gymnasium's ant.xml with every motor's gear set to 150 (the original's custom ant; ``gear`` is an option),
frame skip 5 (dt 0.05), 200 steps, action [-1, 1]^8, no termination. Observation 29 (float64): qpos (15, torso x, y
first) and qvel (14). Task = goal (cos t, sin t), t ~ U[0, pi]. Rewards from the torso's (x, y) after the step:
dense -|xy' - g|_1 - 0.1 ||a||^2; sparse 1[||xy' - g|| <= 0.2] - 0.1 ||a||^2. The original's sparse relabelling used a
random goal and obs instead of next_obs (its bug 3); here ``reward`` uses next_obs and the given task. Start: qpos0
with zero velocity at (0, 0) (the original's evaluation start); ``random_start=True`` draws (x, y) uniformly on
[-1.5, 1.5] x [-0.5, 1.5] away from the ring 0.8 <= r <= 1.2 (its data-collection start).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree
from typing import Any

import gymnasium
import numpy as np

from rlkit.envs.meta.arrays import (
    Array,
    abs_sum,
    as_float,
    common_backend,
    euclidean,
    squared_norm,
)
from rlkit.envs.meta.mujoco_task_env import MujocoTaskEnv
from rlkit.envs.meta.task_family import TaskFamily, check_count, check_rng

GEAR = 150.0
FRAME_SKIP = 5
CTRL_COST = 0.1
GOAL_RADIUS = 0.2
RANDOM_START_LOW, RANDOM_START_HIGH = (-1.5, -0.5), (1.5, 1.5)
START_EXCLUSION = (0.8, 1.2)  # data-collection starts avoid this ring around the goals


def ant_xml(gear: float = GEAR) -> str:
    """gymnasium's ant.xml with every motor's gear set to ``gear``."""
    path = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets", "ant.xml")
    root = ElementTree.parse(path).getroot()
    motors = root.findall("./actuator/motor")
    if len(motors) != 8:
        raise ValueError(f"{path}: found {len(motors)} motors under <actuator>; expected the ant's 8")
    for motor in motors:
        motor.set("gear", repr(float(gear)))
    return ElementTree.tostring(root, encoding="unicode")


class AntSemiCircleFamily(TaskFamily):
    """Goals on the upper unit semicircle; task = goal (x, y). sparse: the sparse reward (else the dense one)."""

    task_dim = 2
    obs_dim = 29
    action_dim = 8
    max_episode_steps = 200

    def __init__(self, sparse: bool = True, goal_radius: float = GOAL_RADIUS) -> None:
        if not goal_radius > 0:
            raise ValueError(f"AntSemiCircle: goal_radius={goal_radius!r}; expected a positive distance")
        self.sparse = bool(sparse)
        self.goal_radius = float(goal_radius)
        self.name = "AntSemiCircleSparse" if self.sparse else "AntSemiCircle"

    def sample_tasks(self, n: int, rng: np.random.Generator) -> np.ndarray:
        angles = check_rng(rng, self.name).uniform(0.0, np.pi, size=check_count(n, self.name))
        return np.stack([np.cos(angles), np.sin(angles)], axis=-1)

    def success(self, task: Array, next_obs: Array) -> Array:
        self.check_batch(task, next_obs)
        task, next_obs = common_backend(task, next_obs)
        return euclidean(next_obs[..., :2] - task) <= self.goal_radius

    def reward(self, task: Array, obs: Array, action: Array, next_obs: Array) -> Array:
        """Goal term from next_obs's torso (x, y) minus 0.1 ||clip(a, -1, 1)||^2."""
        self.check_batch(task, next_obs, action=action)
        task, action, next_obs = common_backend(task, action, next_obs)
        ctrl = CTRL_COST * squared_norm(action[..., : self.action_dim].clip(-1.0, 1.0))
        if self.sparse:
            return as_float(self.success(task, next_obs), next_obs) - ctrl
        return -abs_sum(next_obs[..., :2] - task) - ctrl

    def make_env(self, task: Array | None = None, **kwargs: Any) -> AntSemiCircleEnv:
        return AntSemiCircleEnv(task=task, family=self, **kwargs)


class AntSemiCircleEnv(MujocoTaskEnv):
    """See the module docstring. family: ``AntSemiCircleFamily(sparse=...)`` (sparse by default)."""

    def __init__(
        self,
        task: Array | None = None,
        random_start: bool = False,
        gear: float = GEAR,
        max_episode_steps: int | None = None,
        family: AntSemiCircleFamily | None = None,
    ) -> None:
        super().__init__(family or AntSemiCircleFamily(), ant_xml(gear), FRAME_SKIP, task, max_episode_steps)
        self.random_start = bool(random_start)

    def _observation(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel]).astype(np.float64)

    def _start_xy(self) -> np.ndarray:
        if not self.random_start:
            return np.zeros(2)
        while True:  # rejection sampling; about 30% of the box is rejected
            xy = self.np_random.uniform(RANDOM_START_LOW, RANDOM_START_HIGH)
            if not START_EXCLUSION[0] <= np.linalg.norm(xy) <= START_EXCLUSION[1]:
                return xy

    def _reset_state(self) -> np.ndarray:
        qpos = self.init_qpos.copy()
        qpos[:2] = self._start_xy()
        self.set_state(qpos, self.init_qvel)
        return self._observation()

    def _advance(self, action: np.ndarray) -> np.ndarray:
        self.simulate(action)
        return self._observation()

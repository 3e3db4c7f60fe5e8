"""HalfCheetahVel: run at an unknown target velocity (BOReL's ``cheetah_vel``, after MAML's HalfCheetahRandVel).

gymnasium's half_cheetah.xml, frame skip 5 (dt 0.05), 200 steps, action [-1, 1]^6. Observation 20 (float64):
qpos[1:] (8), qvel (9), torso position (3), the original's layout; gymnasium's own has 17. The torso's x equals
qpos[0], so the forward velocity (x' - x) / dt of a step is readable from (obs, next_obs). Task = (v_goal,),
v_goal ~ U[0, 3]. Reward -|v_x - v_goal| - 0.05 ||a||^2. Reset as gym's HalfCheetah: qpos0 + U(-0.1, 0.1),
0.1 N(0, 1) velocities. The original's relabelling simulated one step from next_obs (its bug 2); here ``reward`` uses
obs and next_obs. ``success`` (rlkit's, the original reports none): |qvel_x' - v_goal| <= 0.1.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium
import numpy as np

from rlkit.envs.meta.arrays import Array, common_backend, squared_norm
from rlkit.envs.meta.mujoco_task_env import MujocoTaskEnv
from rlkit.envs.meta.task_family import TaskFamily, check_count, check_rng

FRAME_SKIP = 5
DT = 0.05  # timestep 0.01 of the model times FRAME_SKIP
CTRL_COST = 0.05
MAX_VELOCITY = 3.0
TORSO_X = 17  # obs index of the torso's x (= qpos[0])
VELOCITY_X = 8  # obs index of qvel[0]
SUCCESS_TOLERANCE = 0.1


def half_cheetah_xml() -> str:
    """gymnasium's half_cheetah.xml."""
    path = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets", "half_cheetah.xml")
    with open(path) as handle:
        return handle.read()


class CheetahVelFamily(TaskFamily):
    """Target forward velocities; task = (v_goal,)."""

    name = "HalfCheetahVel"
    task_dim = 1
    obs_dim = 20
    action_dim = 6
    max_episode_steps = 200

    def sample_tasks(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return check_rng(rng, self.name).uniform(0.0, MAX_VELOCITY, size=(check_count(n, self.name), 1))

    def reward(self, task: Array, obs: Array, action: Array, next_obs: Array) -> Array:
        """-|(x' - x) / dt - v_goal| - 0.05 ||clip(a, -1, 1)||^2, x being the torso's x in obs and next_obs."""
        self.check_batch(task, next_obs, obs, action)
        task, obs, action, next_obs = common_backend(task, obs, action, next_obs)
        velocity = (next_obs[..., TORSO_X] - obs[..., TORSO_X]) / DT
        return -abs(velocity - task[..., 0]) - CTRL_COST * squared_norm(action[..., : self.action_dim].clip(-1.0, 1.0))

    def success(self, task: Array, next_obs: Array) -> Array:
        self.check_batch(task, next_obs)
        task, next_obs = common_backend(task, next_obs)
        return abs(next_obs[..., VELOCITY_X] - task[..., 0]) <= SUCCESS_TOLERANCE

    def make_env(self, task: Array | None = None, **kwargs: Any) -> HalfCheetahVelEnv:
        return HalfCheetahVelEnv(task=task, family=self, **kwargs)


class HalfCheetahVelEnv(MujocoTaskEnv):
    """See the module docstring."""

    def __init__(
        self, task: Array | None = None, max_episode_steps: int | None = None, family: CheetahVelFamily | None = None
    ) -> None:
        super().__init__(family or CheetahVelFamily(), half_cheetah_xml(), FRAME_SKIP, task, max_episode_steps)
        if abs(self.dt - DT) > 1e-12:
            raise ValueError(f"half_cheetah.xml gives dt={self.dt}; the reward assumes {DT}")

    def _observation(self) -> np.ndarray:
        qpos, qvel = self.data.qpos, self.data.qvel
        return np.concatenate([qpos[1:], qvel, self.body_position("torso")]).astype(np.float64)

    def _reset_state(self) -> np.ndarray:
        qpos = self.init_qpos + self.np_random.uniform(-0.1, 0.1, size=self.model.nq)
        qvel = self.init_qvel + 0.1 * self.np_random.standard_normal(self.model.nv)
        self.set_state(qpos, qvel)
        return self._observation()

    def _advance(self, action: np.ndarray) -> np.ndarray:
        self.simulate(action)
        return self._observation()

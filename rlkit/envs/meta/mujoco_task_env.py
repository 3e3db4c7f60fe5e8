"""A task env on a raw MuJoCo model: the cheetah and ant tasks need their own observations, resets and rewards, so
they drive ``mujoco`` directly instead of subclassing gymnasium's locomotion envs (whose obs, resets, termination and
reward terms differ from the original's and change between versions).

Stepping matches gymnasium's ``do_simulation`` (ctrl, then ``frame_skip`` calls of ``mj_step``); afterwards the
kinematics are refreshed so body positions in the observation belong to the current ``qpos`` (after ``mj_step`` MuJoCo
leaves them one substep behind, which the original read).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from rlkit.envs.meta.task_env import TaskEnv
from rlkit.envs.meta.task_family import TaskFamily


class MujocoTaskEnv(TaskEnv):
    """Loads ``xml`` (an MJCF string); actions [-1, 1]^nu (the models' control range); dt = timestep * frame_skip."""

    def __init__(
        self, family: TaskFamily, xml: str, frame_skip: int, task: Any = None, max_episode_steps: int | None = None
    ) -> None:
        super().__init__(family, task, max_episode_steps)
        self.model = mujoco.MjModel.from_xml_string(xml)
        self.data = mujoco.MjData(self.model)
        self.frame_skip = int(frame_skip)
        self.dt = float(self.model.opt.timestep) * self.frame_skip
        if self.model.nu != family.action_dim:
            raise ValueError(f"{family.name}: the model has {self.model.nu} actuators; expected {family.action_dim}")
        ranges = self.model.actuator_ctrlrange
        if not np.allclose(ranges, [-1.0, 1.0]):
            raise ValueError(f"{family.name}: actuator control ranges {ranges.tolist()}; expected [-1, 1] each")
        self.init_qpos = self.model.qpos0.copy()
        self.init_qvel = np.zeros(self.model.nv)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(self.model.nu,), dtype=np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(family.obs_dim,), dtype=np.float64)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Clear all simulator state first (solver warm starts included), so a seeded reset replays exactly."""
        mujoco.mj_resetData(self.model, self.data)
        return super().reset(seed=seed, options=options)

    def set_state(self, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Set positions and velocities and recompute everything derived from them."""
        self.data.qpos[:] = qpos
        self.data.qvel[:] = qvel
        mujoco.mj_forward(self.model, self.data)

    def simulate(self, ctrl: np.ndarray) -> None:
        """Hold ``ctrl`` for ``frame_skip`` physics steps, then refresh body positions."""
        self.data.ctrl[:] = ctrl
        mujoco.mj_step(self.model, self.data, nstep=self.frame_skip)
        mujoco.mj_kinematics(self.model, self.data)

    def body_position(self, name: str) -> np.ndarray:
        """World position of body ``name``'s frame (what gym's ``get_body_com`` returned)."""
        return self.data.body(name).xpos.copy()

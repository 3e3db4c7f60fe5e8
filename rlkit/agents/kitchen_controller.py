"""A scripted controller for gymnasium-robotics' FrankaKitchen-v1: the policy behind rlkit's kitchen-* datasets.

D4RL's kitchen data are human demonstrations that cannot be downloaded here; this controller plays the same four
subtasks (microwave, kettle, bottom burner, light switch) in any order. Per step it asks the current subtask's phase
machine (``rlkit.agents.kitchen_subtasks``) for a hand target, solves one damped-least-squares IK step
(``rlkit.agents.franka_ik``) and maps the joint step to the env's velocity action with gravity feed-forward.
Between subtasks it moves the arm back to a home configuration in joint space, so no subtask starts from the awkward
pose another one ended in (without it, doing the kettle first made the microwave fail every time).

Usage::

    env = make_kitchen_env()  # rlkit.data.generators.kitchen
    controller = KitchenController(env.unwrapped.model)
    env.reset(seed=0)
    controller.reset(["microwave", "kettle", "bottom burner", "light switch"], rng=np.random.default_rng(0))
    while not controller.done:
        obs, reward, terminated, truncated, info = env.step(controller.act(kitchen_env_state(env)))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mujoco
import numpy as np

from rlkit.agents.franka_ik import ARM_JOINTS, RAD_PER_ACTION, FrankaIK
from rlkit.agents.kitchen_subtasks import OPEN, SUBTASKS, Subtask

KITCHEN_SUBTASKS = tuple(SUBTASKS)
# FrankaKitchen-v1's initial arm configuration, with joint 2 moved just inside its limit (the env starts it outside).
HOME_QPOS = np.array([0.148, -1.70, 1.844, -2.477, 0.260, 0.713, 1.595])
HOME_TOLERANCE = 0.05  # rad, largest joint error at which the home move is over
HOME_STEP = 0.15  # rad per step at most during the home move
HOME_BUDGET = 40


@dataclass
class KitchenEnvState:
    """What the controller reads each step: the simulator state and the joint positions the env integrates from."""

    data: mujoco.MjData
    q_obs: np.ndarray  # (9,) robot joint positions of the env's last observation (slightly noisy)


def kitchen_env_state(env) -> KitchenEnvState:
    """The controller's input from a (wrapped) FrankaKitchen-v1 env."""
    kitchen = env.unwrapped
    return KitchenEnvState(kitchen.data, np.asarray(kitchen.robot_env._last_robot_qpos, dtype=float).copy())


class KitchenController:
    """Scripted policy doing kitchen subtasks in a given order: ``reset(order, rng)``, then ``act(state)`` per step.

    Args:
        model: the kitchen env's ``mujoco.MjModel`` (``env.unwrapped.model``).
        ik: the IK solver (default ``FrankaIK(model)``).
        home_qpos: (7,) arm configuration visited before each subtask.

    Attributes after an episode: ``outcomes`` maps each subtask tried to True/False (its object reached the goal
    when the subtask ended) and ``done`` is True once every subtask was tried (then ``act`` holds the arm still).
    """

    def __init__(self, model: mujoco.MjModel, *, ik: FrankaIK | None = None, home_qpos: np.ndarray | None = None):
        self.model = model
        self.ik = ik if ik is not None else FrankaIK(model)
        self.home_qpos = np.array(HOME_QPOS if home_qpos is None else home_qpos, dtype=float)
        if self.home_qpos.shape != (ARM_JOINTS,):
            raise ValueError(f"home_qpos has shape {self.home_qpos.shape}; expected ({ARM_JOINTS},)")
        self.rng = np.random.default_rng(0)
        self.order: list[str] = []
        self.outcomes: dict[str, bool] = {}
        self._queue: list[str] = []
        self._current: Subtask | None = None
        self._homing = False
        self._home_steps = 0
        self._home_target = self.home_qpos

    def reset(self, task_order: Sequence[str], rng: np.random.Generator | None = None) -> None:
        """Start a new episode doing ``task_order`` (names in ``KITCHEN_SUBTASKS``), each after a home move."""
        unknown = [task for task in task_order if task not in SUBTASKS]
        if unknown:
            raise ValueError(f"unknown kitchen subtask(s) {unknown}; expected names from {list(KITCHEN_SUBTASKS)}")
        if len(set(task_order)) != len(task_order):
            raise ValueError(f"task_order {list(task_order)} repeats a subtask")
        self.rng = rng if rng is not None else np.random.default_rng()
        self.order = list(task_order)
        self.outcomes = {}
        self._queue = list(task_order)
        self._current = None
        self._start_home()

    @property
    def done(self) -> bool:
        """Every subtask of the order has been tried."""
        return not self._queue and not self._homing

    @property
    def current_task(self) -> str | None:
        return None if self._current is None else self._queue[0]

    def _start_home(self) -> None:
        self._homing = True
        self._home_steps = 0
        self._home_target = self.home_qpos
        if self._queue:
            self._current = SUBTASKS[self._queue[0]](self.model, self.ik, self.rng)
            self._home_target = self._current.home(self.home_qpos)

    def _home_action(self, state: KitchenEnvState) -> np.ndarray | None:
        q = state.data.qpos[:ARM_JOINTS]
        error = self._home_target - q
        if np.max(np.abs(error)) < HOME_TOLERANCE or self._home_steps >= HOME_BUDGET:
            return None
        self._home_steps += 1
        step = error * min(1.0, HOME_STEP / max(float(np.max(np.abs(error))), 1e-9))
        return self.ik.joint_action(state.data, state.q_obs, step, OPEN)

    def act(self, state: KitchenEnvState) -> np.ndarray:
        """The env action (9,) for this step."""
        mujoco.mj_kinematics(self.model, state.data)
        mujoco.mj_comPos(self.model, state.data)
        while True:
            if self._homing:
                action = self._home_action(state)
                if action is not None:
                    return action
                self._homing = False
            if self._current is None:
                return self._hold_action(state)
            command = self._current.command(state.data)
            if command is not None:
                dq = self.ik.step(state.data, command.position, command.rotation)
                return self.ik.joint_action(state.data, state.q_obs, dq, command.fingers)
            self.outcomes[self._queue.pop(0)] = self._current.success(state.data)
            self._current = None
            if self._queue:  # no home move after the last subtask: the episode is over
                self._start_home()

    def _hold_action(self, state: KitchenEnvState) -> np.ndarray:
        return self.ik.joint_action(state.data, state.q_obs, np.zeros(ARM_JOINTS), OPEN)


__all__ = ["KITCHEN_SUBTASKS", "HOME_QPOS", "KitchenController", "KitchenEnvState", "kitchen_env_state",
           "RAD_PER_ACTION"]

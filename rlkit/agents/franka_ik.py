"""Damped-least-squares inverse kinematics for the Franka arm of gymnasium-robotics' FrankaKitchen-v1.

The kitchen env is driven by joint *velocity* actions that it integrates into position targets
(``ctrl = q_obs + 2 * a * dt``, dt 0.08 s, so ``a = 1`` asks for 0.16 rad in one step). A position servo with gain
``kp`` then sags under gravity by ``qfrc_bias / kp``; adding that term to the target (a feed-forward) removes a
~7 mm per-step droop that otherwise makes the hand miss handles. ``FrankaIK`` turns a Cartesian target for one site
into a joint step ``dq`` (one 6-D or 3-D DLS solve, clipped so each step stays small and stable), and
``joint_action`` turns a desired joint step into the env's action.
"""

from __future__ import annotations

import mujoco
import numpy as np

ARM_JOINTS = 7
ENV_DT = 0.08  # FrankaKitchen-v1: frame_skip 40 x timestep 0.002
ACTION_SCALE = 2.0  # the env multiplies actions by act_rng = 2 (rad/s)
RAD_PER_ACTION = ACTION_SCALE * ENV_DT  # 0.16 rad per step at action 1


def rotation_error(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """Axis-angle vector (world frame) of the rotation taking ``current`` (3x3) onto ``target`` (3x3)."""
    relative = target @ current.T
    quat = np.empty(4)
    mujoco.mju_mat2Quat(quat, np.ascontiguousarray(relative).reshape(9))
    vel = np.empty(3)
    mujoco.mju_quat2Vel(vel, quat, 1.0)
    return vel


def frame_from_axes(approach: np.ndarray, closing: np.ndarray) -> np.ndarray:
    """A rotation matrix whose z column is ``approach`` and y column the part of ``closing`` orthogonal to it.

    For the kitchen's ``end_effector`` site z points from the hand towards the fingertips and y is the direction
    in which the fingers close.
    """
    z = np.asarray(approach, dtype=float)
    z = z / np.linalg.norm(z)
    y = np.asarray(closing, dtype=float) - np.dot(closing, z) * z
    norm = np.linalg.norm(y)
    if norm < 1e-6:
        raise ValueError(f"closing direction {closing} is parallel to the approach direction {approach}")
    y = y / norm
    return np.column_stack([np.cross(y, z), y, z])


def _clip_norm(vector: np.ndarray, limit: float) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector if norm <= limit else vector * (limit / norm)


class FrankaIK:
    """One damped-least-squares step towards a site pose, with joint-limit locking.

    Args:
        model: the kitchen's ``mujoco.MjModel``.
        site: the controlled site (``end_effector``: on panda0_link7, ~4 cm behind the fingertips).
        damping: the DLS lambda; larger is slower but never blows up near singularities.
        gain: fraction of the (clipped) pose error asked for in one step.
        max_position_step / max_rotation_step: caps (m, rad) on the error one step may correct.
        limit_margin: a joint this close (rad) to a limit and moving towards it is locked and the solve repeated.
        joint_limits: (7, 2) limits; default the model's ranges intersected with the env's control bounds.
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        site: str = "end_effector",
        *,
        damping: float = 0.05,
        gain: float = 0.8,
        max_position_step: float = 0.05,
        max_rotation_step: float = 0.25,
        limit_margin: float = 0.05,
        joint_limits: np.ndarray | None = None,
    ) -> None:
        self.model = model
        self.site_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, site)
        if self.site_id < 0:
            raise ValueError(f"the model has no site {site!r}; the kitchen model names it 'end_effector'")
        self.damping = float(damping)
        self.gain = float(gain)
        self.max_position_step = float(max_position_step)
        self.max_rotation_step = float(max_rotation_step)
        self.limit_margin = float(limit_margin)
        if joint_limits is None:
            joint_limits = model.jnt_range[:ARM_JOINTS].copy()
        joint_limits = np.asarray(joint_limits, dtype=float)
        if joint_limits.shape != (ARM_JOINTS, 2):
            raise ValueError(f"joint_limits has shape {joint_limits.shape}; expected ({ARM_JOINTS}, 2)")
        self.joint_limits = joint_limits
        self.kp = model.actuator_gainprm[:ARM_JOINTS, 0].copy()
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))

    def site_pose(self, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
        """Position (3,) and rotation (3, 3) of the site in ``data`` (kinematics must be current)."""
        return data.site_xpos[self.site_id].copy(), data.site_xmat[self.site_id].reshape(3, 3).copy()

    def pose_error(
        self, data: mujoco.MjData, target_pos: np.ndarray, target_rot: np.ndarray | None = None
    ) -> tuple[float, float]:
        """Position error (m) and rotation error (rad, 0 when ``target_rot`` is None) of the site."""
        pos, rot = self.site_pose(data)
        rot_err = 0.0 if target_rot is None else float(np.linalg.norm(rotation_error(target_rot, rot)))
        return float(np.linalg.norm(target_pos - pos)), rot_err

    def jacobian(self, data: mujoco.MjData) -> np.ndarray:
        """The (6, 7) site Jacobian over the arm joints: rows 0-2 translation, 3-5 rotation."""
        mujoco.mj_jacSite(self.model, data, self._jacp, self._jacr, self.site_id)
        return np.vstack([self._jacp[:, :ARM_JOINTS], self._jacr[:, :ARM_JOINTS]])

    def step(
        self, data: mujoco.MjData, target_pos: np.ndarray, target_rot: np.ndarray | None = None
    ) -> np.ndarray:
        """Joint step (7,) moving the site towards ``target_pos`` (and ``target_rot`` unless None).

        ``data`` must have current kinematics (``mj_kinematics`` + ``mj_comPos``, which ``mj_step`` leaves).
        """
        pos, rot = self.site_pose(data)
        error = _clip_norm(self.gain * (np.asarray(target_pos, dtype=float) - pos), self.max_position_step)
        jac = self.jacobian(data)
        if target_rot is None:
            jac = jac[:3]
        else:
            rot_error = _clip_norm(self.gain * rotation_error(np.asarray(target_rot, dtype=float), rot),
                                   self.max_rotation_step)
            error = np.concatenate([error, rot_error])
        return self.solve(jac, error, data.qpos[:ARM_JOINTS])

    def solve(self, jac: np.ndarray, error: np.ndarray, q: np.ndarray) -> np.ndarray:
        """``dq = J^T (J J^T + lambda^2 I)^-1 e`` over the joints not locked at a limit."""
        free = np.ones(ARM_JOINTS, dtype=bool)
        dq = np.zeros(ARM_JOINTS)
        lower = q - self.joint_limits[:, 0] < self.limit_margin
        upper = self.joint_limits[:, 1] - q < self.limit_margin
        for _ in range(ARM_JOINTS):
            dq[:] = 0.0
            j = jac[:, free]
            dq[free] = j.T @ np.linalg.solve(j @ j.T + self.damping**2 * np.eye(j.shape[0]), error)
            blocked = free & ((lower & (dq < 0)) | (upper & (dq > 0)))
            if not blocked.any():
                break
            free &= ~blocked
            if not free.any():
                return np.zeros(ARM_JOINTS)
        return dq

    def solve_pose(
        self,
        data: mujoco.MjData,
        target_pos: np.ndarray,
        target_rot: np.ndarray | None,
        iterations: int = 80,
        q_start: np.ndarray | None = None,
    ) -> tuple[np.ndarray, float, float]:
        """Arm joints (7,) reaching a pose, found by iterating ``step`` on a kinematic copy of ``data``.

        Used to look ahead (e.g. which grasp frame leaves joint 7 room); ``data`` itself is not changed.
        ``q_start``: arm joints to start from (default those of ``data``).
        Returns the joints and the remaining position (m) and rotation (rad) errors.
        """
        scratch = mujoco.MjData(self.model)
        scratch.qpos[:] = data.qpos
        if q_start is not None:
            scratch.qpos[:ARM_JOINTS] = q_start
        for _ in range(iterations):
            mujoco.mj_kinematics(self.model, scratch)
            mujoco.mj_comPos(self.model, scratch)
            scratch.qpos[:ARM_JOINTS] += self.step(scratch, target_pos, target_rot)
        mujoco.mj_kinematics(self.model, scratch)
        pos_err, rot_err = self.pose_error(scratch, target_pos, target_rot)
        return scratch.qpos[:ARM_JOINTS].copy(), pos_err, rot_err

    def joint_action(self, data: mujoco.MjData, q_obs: np.ndarray, dq: np.ndarray, fingers: float) -> np.ndarray:
        """The env action (9,) that servos the arm to ``q + dq`` with gravity feed-forward, fingers +1 open/-1 close.

        ``q_obs``: the arm joint positions the env integrates from (its last, slightly noisy, observation).
        """
        target = data.qpos[:ARM_JOINTS] + dq + data.qfrc_bias[:ARM_JOINTS] / self.kp
        target = np.clip(target, self.joint_limits[:, 0], self.joint_limits[:, 1])
        action = np.empty(9)
        action[:ARM_JOINTS] = (target - np.asarray(q_obs[:ARM_JOINTS])) / RAD_PER_ACTION
        action[ARM_JOINTS:] = fingers
        return np.clip(action, -1.0, 1.0)

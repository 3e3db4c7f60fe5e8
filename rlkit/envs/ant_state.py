"""Reading the ant of gymnasium-robotics' AntMaze: its state, heading, whether it lies on its back.

AntMaze wraps a gymnasium ``Ant`` MuJoCo env (``env.unwrapped.ant_env``); controllers and dataset generators read
the ant's generalised coordinates straight from its ``MjData`` rather than from the goal-dict observation, so the
same code works for AntMaze v4 (27-d observation) and v5 (105-d with contact forces).

qpos (15): torso x, y, z, torso quaternion (w, x, y, z), then (hip, ankle) angles of legs 1-4.
qvel (14): torso linear (3) and angular (3) velocity, then the 8 joint velocities.
"""

from __future__ import annotations

import numpy as np

ANT_NQ = 15
ANT_NV = 14
QUAT = slice(3, 7)
JOINTS_QPOS = slice(7, 15)
JOINTS_QVEL = slice(6, 14)
JOINT_NAMES = ("hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3", "hip_4", "ankle_4")


def _quat(quat: np.ndarray) -> np.ndarray:
    quat = np.asarray(quat, dtype=np.float64)
    if quat.shape[-1] != 4:
        raise ValueError(f"quaternion has shape {quat.shape}; expected (..., 4) as (w, x, y, z)")
    return quat


def torso_up_z(quat: np.ndarray) -> np.ndarray:
    """World z component of the torso's up axis for quaternions (..., 4) in MuJoCo's (w, x, y, z) order.

    1 when upright, 0 lying on a side, -1 upside down; the quaternion need not be normalised.
    """
    q = _quat(quat)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    norm2 = w * w + x * x + y * y + z * z
    return 1.0 - 2.0 * (x * x + y * y) / norm2


def is_flipped(quat: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """True where the torso's up axis points below ``threshold`` (default: below the horizon, i.e. on its back).

    An ant in that pose cannot right itself with its legs, so a rollout that reaches it is over.
    """
    return torso_up_z(quat) < threshold


def yaw(quat: np.ndarray) -> np.ndarray:
    """Heading (rad) of the torso's x axis projected on the ground plane, for quaternions (..., 4) (w, x, y, z)."""
    q = _quat(quat)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def ant_mujoco_env(env):
    """The gymnasium ``Ant`` MuJoCo env inside an AntMaze env (wrapped or not); a clear error for anything else."""
    inner = getattr(env, "unwrapped", env)
    ant = getattr(inner, "ant_env", None)
    if ant is None or not hasattr(ant, "data"):
        raise TypeError(
            f"{type(inner).__name__} has no 'ant_env' with MuJoCo data; expected a gymnasium-robotics AntMaze env"
        )
    if ant.data.qpos.shape[0] < ANT_NQ or ant.data.qvel.shape[0] < ANT_NV:
        raise ValueError(
            f"the ant model has nq={ant.data.qpos.shape[0]}, nv={ant.data.qvel.shape[0]}; "
            f"expected at least {ANT_NQ} and {ANT_NV} (free torso + 8 leg joints)"
        )
    return ant


def ant_qpos_qvel(env) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the ant's qpos (15,) and qvel (14,) from an AntMaze env."""
    data = ant_mujoco_env(env).data
    return data.qpos[:ANT_NQ].copy(), data.qvel[:ANT_NV].copy()


def ant_observation(qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
    """D4RL's 29-d antmaze observation: qpos (15: x, y, z, quat, joints) then qvel (14).

    This equals AntMaze v4's ``concat(achieved_goal, observation)``.
    """
    return np.concatenate([np.asarray(qpos)[..., :ANT_NQ], np.asarray(qvel)[..., :ANT_NV]], axis=-1)


def actuator_joint_indices(model) -> tuple[np.ndarray, np.ndarray]:
    """For each actuator of an ant ``MjModel``: the qpos and qvel index of the joint it drives.

    gymnasium's ant lists actuators as hip_4, ankle_4, hip_1, ... (not in qpos order), so controllers that think in
    joint order map through these indices instead of assuming an order.
    """
    joints = model.actuator_trnid[:, 0]
    return model.jnt_qposadr[joints].astype(np.int64), model.jnt_dofadr[joints].astype(np.int64)

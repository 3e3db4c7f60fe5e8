"""Convert between D4RL's 60-d kitchen observation and gymnasium-robotics' 59-d FrankaKitchen-v1 ``observation``.

D4RL (``adept_envs`` KitchenV0): ``obs = concat(qp[9], obj_qp[21], goal[30])`` -- robot joint positions, object
joint positions, and a constant goal vector laid out like ``qp + obj_qp`` that holds each target task's goal values
at that task's indices and zeros elsewhere.
gymnasium-robotics (FrankaKitchen-v1): ``observation = concat(qpos[9], qvel[9], obj_qpos[21], obj_qvel[20])``.

So a D4RL state dim ``d`` is gymnasium dim ``d`` for the robot (d < 9) and ``d + 9`` for objects (9 <= d < 30);
D4RL has no velocities and gymnasium no goal. Works on numpy arrays and torch tensors of shape ``(..., dim)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

D4RL_OBS_DIM = 60
GYMNASIUM_OBS_DIM = 59
ROBOT_DIM = 9
OBJECT_DIM = 21  # object joint positions (the kettle's free joint counts 7)
OBJECT_VEL_DIM = 20  # object joint velocities (the kettle's free joint counts 6)

# D4RL layout
D4RL_ROBOT = slice(0, 9)
D4RL_OBJECTS = slice(9, 30)
D4RL_GOAL = slice(30, 60)
# gymnasium layout
GYM_ROBOT_QPOS = slice(0, 9)
GYM_ROBOT_QVEL = slice(9, 18)
GYM_OBJECT_QPOS = slice(18, 39)
GYM_OBJECT_QVEL = slice(39, 59)

# Per task: its indices in D4RL's state (qp + obj_qp) and its goal values (D4RL's kitchen_envs, same in gymnasium).
TASK_INDICES: dict[str, tuple[int, ...]] = {
    "bottom burner": (11, 12),
    "top burner": (15, 16),
    "light switch": (17, 18),
    "slide cabinet": (19,),
    "hinge cabinet": (20, 21),
    "microwave": (22,),
    "kettle": (23, 24, 25, 26, 27, 28, 29),
}
TASK_GOALS: dict[str, tuple[float, ...]] = {
    "bottom burner": (-0.88, -0.01),
    "top burner": (-0.92, -0.01),
    "light switch": (-0.69, -0.05),
    "slide cabinet": (0.37,),
    "hinge cabinet": (0.0, 1.45),
    "microwave": (-0.75,),
    "kettle": (-0.23, 0.75, 1.62, 0.99, 0.0, 0.0, -0.06),
}
COMPLETION_THRESHOLD = 0.3  # a task is complete when its dims are within this distance (L2) of its goal
# kitchen-mixed-v0's task (KitchenMicrowaveKettleBottomBurnerLightV0), in its order.
TARGET_TASKS = ("microwave", "kettle", "bottom burner", "light switch")

# The goal dims PTGM keeps (robot joints + the four target tasks), in both layouts.
PTGM_GOAL_DIMS_D4RL = (*range(9), 11, 12, 17, 18, 22, *range(23, 30))
PTGM_GOAL_DIMS_GYMNASIUM = (*range(9), 20, 21, 26, 27, 31, *range(32, 39))


def _check_last_dim(obs: Any, expected: int, what: str) -> None:
    shape = tuple(obs.shape)
    if len(shape) == 0 or shape[-1] != expected:
        raise ValueError(f"{what} has shape {shape}; expected (..., {expected})")


def _full(like: Any, shape: tuple[int, ...], fill: float) -> Any:
    """An array (numpy) or tensor (torch) like ``like`` filled with ``fill``."""
    if isinstance(like, np.ndarray):
        return np.full(shape, fill, dtype=like.dtype if like.dtype.kind == "f" else np.float64)
    return like.new_full(shape, fill, dtype=like.dtype if like.is_floating_point() else None)


def d4rl_goal_vector(tasks: Sequence[str] = TARGET_TASKS) -> np.ndarray:
    """D4RL's 30-d goal part for ``tasks``: each task's goal at its indices, zeros elsewhere."""
    goal = np.zeros(30)
    for task in tasks:
        if task not in TASK_INDICES:
            raise ValueError(f"unknown kitchen task {task!r}; expected one of {sorted(TASK_INDICES)}")
        goal[list(TASK_INDICES[task])] = TASK_GOALS[task]
    return goal


def gymnasium_to_d4rl(obs: Any, tasks: Sequence[str] = TARGET_TASKS) -> Any:
    """(..., 59) gymnasium observations -> (..., 60) D4RL observations with the goal vector of ``tasks``."""
    _check_last_dim(obs, GYMNASIUM_OBS_DIM, "the gymnasium kitchen observation")
    out = _full(obs, (*obs.shape[:-1], D4RL_OBS_DIM), 0.0)
    out[..., D4RL_ROBOT] = obs[..., GYM_ROBOT_QPOS]
    out[..., D4RL_OBJECTS] = obs[..., GYM_OBJECT_QPOS]
    goal = d4rl_goal_vector(tasks)
    out[..., D4RL_GOAL] = goal if isinstance(out, np.ndarray) else out.new_tensor(goal)
    return out


def d4rl_to_gymnasium(obs: Any, fill: float = float("nan")) -> Any:
    """(..., 60) D4RL observations -> (..., 59) gymnasium layout; velocities, which D4RL lacks, are ``fill``."""
    _check_last_dim(obs, D4RL_OBS_DIM, "the D4RL kitchen observation")
    out = _full(obs, (*obs.shape[:-1], GYMNASIUM_OBS_DIM), fill)
    out[..., GYM_ROBOT_QPOS] = obs[..., D4RL_ROBOT]
    out[..., GYM_OBJECT_QPOS] = obs[..., D4RL_OBJECTS]
    return out


def d4rl_dims_to_gymnasium(dims: Sequence[int]) -> tuple[int, ...]:
    """Indices of D4RL state dims (0-29) in gymnasium's observation (the goal dims 30-59 have no counterpart)."""
    out = []
    for d in dims:
        if not 0 <= d < 30:
            raise ValueError(f"D4RL kitchen dim {d} has no gymnasium counterpart; expected 0..29 (qp + obj_qp)")
        out.append(d if d < ROBOT_DIM else d + ROBOT_DIM)
    return tuple(out)


def gymnasium_dims_to_d4rl(dims: Sequence[int]) -> tuple[int, ...]:
    """Indices of gymnasium position dims (0-8, 18-38) in D4RL's observation (velocities have no counterpart)."""
    out = []
    for d in dims:
        if 0 <= d < ROBOT_DIM:
            out.append(d)
        elif GYM_OBJECT_QPOS.start <= d < GYM_OBJECT_QPOS.stop:
            out.append(d - ROBOT_DIM)
        else:
            raise ValueError(
                f"gymnasium kitchen dim {d} has no D4RL counterpart; expected a position dim (0..8 or 18..38)"
            )
    return tuple(out)


def completed_tasks_mask(d4rl_obs: Any, tasks: Sequence[str] = TARGET_TASKS) -> np.ndarray:
    """(N, len(tasks)) bool: which ``tasks`` are complete in each D4RL observation (D4RL's 0.3 distance rule)."""
    obs = np.asarray(d4rl_obs)
    if obs.ndim == 1:
        obs = obs[None]
    if obs.shape[-1] not in (30, D4RL_OBS_DIM):
        raise ValueError(f"kitchen observations have shape {obs.shape}; expected (N, 60) or (N, 30)")
    done = np.zeros((obs.shape[0], len(tasks)), dtype=bool)
    for i, task in enumerate(tasks):
        if task not in TASK_INDICES:
            raise ValueError(f"unknown kitchen task {task!r}; expected one of {sorted(TASK_INDICES)}")
        delta = obs[:, list(TASK_INDICES[task])] - np.asarray(TASK_GOALS[task])
        done[:, i] = np.linalg.norm(delta, axis=1) < COMPLETION_THRESHOLD
    return done

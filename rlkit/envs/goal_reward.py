"""Goal-reaching reward exp(-||goal - xy|| / scale), online (a wrapper) and offline (relabelling a dataset).

GOM's antmaze experiments replace D4RL's sparse reward by this dense one, with ``scale = 20`` and the goal the env
targets, both for the dataset (computed on s') and for the online env, so that a reward linear in the cumulants can
be fitted and re-fitted for other goals without retraining the outcome model. One function computes it for both
sides, so the reward a GOM is fitted to is exactly the one it is evaluated on.

The original never sets ``info["success"]`` (its success rate is "return > 0", which a dense reward always meets);
``GoalReward`` reports ``success`` = the position is within ``success_radius`` of the goal (0.5 as D4RL's
antmaze/maze2d goal test), so ``rlkit.trainers.evaluate`` measures reaching the goal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
import torch
from tensordict import TensorDict

from rlkit.data import keys as K

ANTMAZE_SCALE = 20.0  # the original's exp(-distance / 20)


def _check_goal(goal: Any, size: int) -> np.ndarray:
    array = np.asarray(goal, dtype=np.float64).reshape(-1)
    if array.shape != (size,) or not np.isfinite(array).all():
        raise ValueError(f"goal {np.asarray(goal).tolist()!r}; expected {size} finite coordinates")
    return array


def _check_scale(scale: float) -> float:
    scale = float(scale)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale={scale}; expected a positive distance scale")
    return scale


def goal_reward(positions: Any, goal: Any, scale: float = ANTMAZE_SCALE) -> Any:
    """exp(-||goal - position|| / scale) for positions (..., k) and a goal (k,): numpy in, numpy out; torch likewise."""
    scale = _check_scale(scale)
    if isinstance(positions, torch.Tensor):
        target = torch.as_tensor(_check_goal(goal, positions.shape[-1]), dtype=positions.dtype,
                                 device=positions.device)
        return torch.exp(-torch.linalg.vector_norm(positions - target, dim=-1) / scale)
    positions = np.asarray(positions, dtype=np.float64)
    target = _check_goal(goal, positions.shape[-1])
    return np.exp(-np.linalg.norm(positions - target, axis=-1) / scale)


def position_indices(env: gym.Env, xy_indices: Sequence[int]) -> tuple[int, ...]:
    """``xy_indices`` as ints, checked against ``env``'s flat observation space (the position's entries)."""
    indices = tuple(int(i) for i in xy_indices)
    if not indices:
        raise ValueError("xy_indices is empty; expected the observation indices of the position")
    shape = getattr(env.observation_space, "shape", None)
    if shape is None or len(shape) != 1 or max(indices) >= shape[0]:
        raise ValueError(f"observation space shape {shape}; expected a flat (obs_dim,) space holding indices {indices}")
    return indices


def _xy_of(observations: torch.Tensor, xy_indices: Sequence[int], where: str) -> torch.Tensor:
    if observations.ndim != 2 or max(xy_indices) >= observations.shape[1]:
        raise ValueError(
            f"{where} has shape {tuple(observations.shape)}; expected (N, obs_dim) with obs_dim > {max(xy_indices)} "
            f"to read the position at indices {tuple(xy_indices)}"
        )
    return observations[:, list(xy_indices)]


def relabel_goal_reward(
    td: TensorDict, goal: Any, scale: float = ANTMAZE_SCALE, xy_indices: Sequence[int] = (0, 1)
) -> TensorDict:
    """A shallow copy of dataset ``td`` (rlkit layout) whose ("next", "reward") is ``goal_reward`` of s' (N, 1).

    Rows without a known s' (``has_next`` False) get the reward of their placeholder s'; they are not transitions
    and the GOM table drops them. Other entries are shared with ``td``, not copied.
    """
    next_xy = _xy_of(td.get(K.NEXT_OBS), xy_indices, "('next', 'observation')")
    reward = goal_reward(next_xy.to(torch.float64), goal, scale).to(torch.float32).unsqueeze(-1)
    out = td.copy()
    out.set(K.REWARD, reward)
    return out


class GoalReward(gym.Wrapper):
    """Replace the reward by ``goal_reward(obs[xy_indices], goal, scale)`` of the observation reached.

    ``info`` gains ``success`` (within ``success_radius`` of the goal), ``goal_distance`` and ``original_reward``.
    Termination and truncation are the inner env's (the original's antmaze episodes end at the time limit only).
    Set the goal with ``set_goal`` (or ``env.call("set_goal", goal)`` on a vector env) or
    ``reset(options={"goal": goal})``.
    """

    def __init__(
        self,
        env: gym.Env,
        goal: Any,
        scale: float = ANTMAZE_SCALE,
        success_radius: float = 0.5,
        xy_indices: Sequence[int] = (0, 1),
    ) -> None:
        super().__init__(env)
        self.xy_indices = position_indices(env, xy_indices)
        self.scale = _check_scale(scale)
        self.success_radius = float(success_radius)
        if not self.success_radius >= 0:
            raise ValueError(f"success_radius={success_radius}; expected a distance >= 0")
        self.set_goal(goal)

    def set_goal(self, goal: Any) -> None:
        self.goal = _check_goal(goal, len(self.xy_indices))

    def _annotate(self, observation: Any, info: dict[str, Any]) -> float:
        position = np.asarray(observation, dtype=np.float64)[list(self.xy_indices)]
        distance = float(np.linalg.norm(position - self.goal))
        info["goal_distance"] = distance
        info["success"] = distance <= self.success_radius
        return float(np.exp(-distance / self.scale))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        options = dict(options or {})
        if "goal" in options:
            self.set_goal(options.pop("goal"))
        observation, info = self.env.reset(seed=seed, options=options or None)
        info = dict(info)
        self._annotate(observation, info)
        return observation, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        info["original_reward"] = float(reward) if isinstance(reward, SupportsFloat) else reward
        return observation, self._annotate(observation, info), terminated, truncated, info

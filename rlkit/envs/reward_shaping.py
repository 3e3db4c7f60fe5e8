"""Per-step reward transforms the original applies to some task families before learning.

AntMaze learns from r - 1 (a cost per step, so that reaching the goal sooner pays even though the sparse reward is
mostly 0); Adroit rewards are divided (hammer by 1000; pen, door, relocate by 100) to keep critic targets small.
The same transform must reach the offline rewards and the online rollouts: ``RewardTransform`` applies to arrays or
tensors (``transform(rewards)``) and wraps envs (``transform.wrap(env)``); ``original_reward_transform(name)`` gives
the original's choice per dataset. Score evaluations with the untransformed env.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, SupportsFloat

import gymnasium as gym


def _finite(value: float, name: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}={value}; expected a finite number")
    return value


class ShiftReward(gym.RewardWrapper):
    """Reward r + ``shift`` (default -1.0: AntMaze's r - 1 of the original)."""

    def __init__(self, env: gym.Env, shift: float = -1.0) -> None:
        super().__init__(env)
        self.shift = _finite(shift, "shift")

    def reward(self, reward: SupportsFloat) -> float:
        return float(reward) + self.shift


class ScaleReward(gym.RewardWrapper):
    """Reward r * ``scale`` (e.g. 0.01 for pen/door/relocate, 0.001 for hammer, as the original divides them)."""

    def __init__(self, env: gym.Env, scale: float) -> None:
        super().__init__(env)
        self.scale = _finite(scale, "scale")
        if self.scale == 0:
            raise ValueError("scale=0 would erase every reward; expected a non-zero factor")

    def reward(self, reward: SupportsFloat) -> float:
        return float(reward) * self.scale


@dataclass(frozen=True)
class RewardTransform:
    """r -> r * scale + shift, for datasets (``__call__``) and envs (``wrap``) alike."""

    scale: float = 1.0
    shift: float = 0.0

    def __post_init__(self) -> None:
        _finite(self.scale, "scale")
        _finite(self.shift, "shift")
        if self.scale == 0:
            raise ValueError("scale=0 would erase every reward; expected a non-zero factor")

    @property
    def is_identity(self) -> bool:
        return self.scale == 1.0 and self.shift == 0.0

    def __call__(self, rewards: Any) -> Any:
        """Transformed rewards: a numpy array, a tensor or a float, of the same type."""
        if self.is_identity:
            return rewards
        return rewards * self.scale + self.shift

    def wrap(self, env: gym.Env) -> gym.Env:
        """``env`` paying transformed rewards (unchanged when the transform is the identity)."""
        if self.scale != 1.0:
            env = ScaleReward(env, self.scale)
        if self.shift != 0.0:
            env = ShiftReward(env, self.shift)
        return env


_ORIGINAL = (
    (re.compile(r"^antmaze-"), RewardTransform(shift=-1.0)),
    (re.compile(r"^hammer-"), RewardTransform(scale=1e-3)),
    (re.compile(r"^(pen|door|relocate)-"), RewardTransform(scale=1e-2)),
)


def original_reward_transform(dataset_name: str) -> RewardTransform:
    """The transform the original ODT+TD3 applies to ``dataset_name``'s rewards (identity for other families)."""
    for pattern, transform in _ORIGINAL:
        if pattern.match(dataset_name):
            return transform
    return RewardTransform()

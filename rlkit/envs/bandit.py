"""The one-step bandit of the original's motivation experiment, and its offline dataset.

Why it exists: with a continuous action a in [-1, 1] and reward r(a) = (a + 1)^2 for a < 0, 1 - 2a for a >= 0, the
optimum a = 0 (r = 1) lies between two clusters of offline actions, one near -1 (r close to 0) and one in [0.5, 1]
(r in [-1, 0]). A return-conditioned policy trained by supervision can only imitate actions it has seen, so asking for
a high return does not move it towards 0; a critic's gradient does. The original (``motivation/motivation.py``)
draws 100 actions from U(-1, -0.95) and 28 from U(0.5, 1); the observation is the constant 1.

``bandit-motivation-v0`` builds that dataset (scaled to any number of steps, same 100 : 28 split), one step per
episode, terminal after each step.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from tensordict import TensorDict

from rlkit.data.layout import transitions_from_arrays
from rlkit.data.registry import register_dataset

OBSERVATION = 1.0  # the original's constant input
OPTIMAL_ACTION, OPTIMAL_REWARD = 0.0, 1.0
LOW_CLUSTER = (-1.0, -0.95)  # U(-1, -0.95): 100 of the original's 128 actions
HIGH_CLUSTER = (0.5, 1.0)  # U(0.5, 1.0): the other 28
LOW_FRACTION = 100 / 128
DATASET_NAME = "bandit-motivation-v0"


def bandit_reward(action: np.ndarray | float) -> np.ndarray:
    """r(a) = (a + 1)^2 for a < 0, 1 - 2a for a >= 0, with a clipped to [-1, 1] first (as the original)."""
    a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
    return np.where(a < 0, (a + 1.0) ** 2, 1.0 - 2.0 * a)


class OneStepBandit(gym.Env):
    """Observation (1,) = [1.0], action (1,) in [-1, 1], reward ``bandit_reward(a)``; every episode is one step.

    ``info["optimal_reward"]`` (1.0) lets a logger report regret.
    """

    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(OBSERVATION, OBSERVATION, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self._done = True

    def _observation(self) -> np.ndarray:
        return np.full((1,), OBSERVATION, dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._done = False
        return self._observation(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("OneStepBandit.step called after the episode ended; call reset() first")
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape != (1,):
            raise ValueError(f"action has shape {action.shape}; expected (1,)")
        self._done = True
        reward = float(bandit_reward(action[0]))
        return self._observation(), reward, True, False, {"optimal_reward": OPTIMAL_REWARD}


def generate_bandit_dataset(steps: int, seed: int) -> tuple[TensorDict, dict]:
    """``steps`` one-step episodes: round(steps * 100/128) actions from U(-1, -0.95), the rest from U(0.5, 1)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r}; expected a positive int (number of one-step episodes)")
    rng = np.random.default_rng(np.random.SeedSequence(int(seed)))
    n_low = int(round(steps * LOW_FRACTION))
    actions = np.concatenate([rng.uniform(*LOW_CLUSTER, size=n_low), rng.uniform(*HIGH_CLUSTER, size=steps - n_low)])
    actions = actions.astype(np.float32).reshape(steps, 1)
    observations = np.full((steps, 1), OBSERVATION, dtype=np.float32)
    td = transitions_from_arrays(
        observations,
        actions,
        bandit_reward(actions[:, 0]).astype(np.float32),
        np.ones(steps, dtype=bool),
        np.zeros(steps, dtype=bool),
        next_observations=observations.copy(),
        source=f"{DATASET_NAME} generator",
    )
    metadata = {
        "algorithm": "uniform actions in two clusters that avoid the optimum (the original's motivation experiment)",
        "env_id": "rlkit.envs.bandit:OneStepBandit",
        "layout": "mujoco",  # next_observations stored for every row
        "low_cluster": list(LOW_CLUSTER),
        "high_cluster": list(HIGH_CLUSTER),
        "low_fraction": LOW_FRACTION,
        "optimal_action": OPTIMAL_ACTION,
    }
    return td, metadata


@register_dataset(DATASET_NAME, default_steps=128, description="one-step bandit; actions avoid the optimum a = 0")
def build_bandit_motivation(steps: int, seed: int, progress: bool = True) -> tuple[TensorDict, dict]:
    return generate_bandit_dataset(steps, seed)

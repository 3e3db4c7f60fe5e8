"""Delayed rewards: the sparse-feedback variant of a task used to test how a learner copes with credit assignment.

The original ODT+TD3 experiments (``--delayed_reward N``) pay the reward accumulated since the last payment every N
steps of an episode and at its end, and 0 in between, so the episode's return is unchanged while the per-step signal
becomes sparse. The reward the inner env gave at this step is kept in ``info["true_reward"]`` for logging and for
scoring with the true return.
"""

from __future__ import annotations

from typing import Any, SupportsFloat

import gymnasium as gym


class DelayedReward(gym.Wrapper):
    """Pay the accumulated reward every ``delay`` steps since reset and when the episode ends; 0 otherwise.

    ``delay=1`` leaves rewards unchanged. Works per sub-env inside gymnasium vector envs (wrap each env).

    Example:
        >>> env = DelayedReward(gym.make("HalfCheetah-v5"), delay=5)
    """

    def __init__(self, env: gym.Env, delay: int) -> None:
        if isinstance(delay, bool) or not isinstance(delay, int) or delay < 1:
            raise ValueError(f"delay={delay!r}; expected a positive int (pay rewards every `delay` steps)")
        super().__init__(env)
        self.delay = delay
        self._pending = 0.0
        self._steps = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        self._pending, self._steps = 0.0, 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        true_reward = float(reward)
        self._pending += true_reward
        self._steps += 1
        info = dict(info)
        info["true_reward"] = true_reward
        if self._steps % self.delay == 0 or terminated or truncated:
            paid, self._pending = self._pending, 0.0
        else:
            paid = 0.0
        return observation, paid, terminated, truncated, info

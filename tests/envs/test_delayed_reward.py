"""DelayedReward pays the accumulated reward every N steps and at episode end; the true reward stays in info."""

import gymnasium as gym
import numpy as np
import pytest

from rlkit.envs.delayed_reward import DelayedReward


class Counter(gym.Env):
    """Reward t + 1 at step t; ends after ``length`` steps (terminated or truncated)."""

    def __init__(self, length: int, truncate: bool = False) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(1,))
        self.action_space = gym.spaces.Box(-1, 1, shape=(1,))
        self.length, self.truncate, self.t = length, truncate, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        end = self.t >= self.length
        return np.zeros(1, np.float32), float(self.t), end and not self.truncate, end and self.truncate, {}


def run(env, steps):
    env.reset(seed=0)
    out = []
    for _ in range(steps):
        _, reward, terminated, truncated, info = env.step(np.zeros(1))
        out.append((reward, info["true_reward"], terminated or truncated))
    return out


@pytest.mark.parametrize("truncate", [False, True])
def test_pays_every_n_steps_and_at_the_end(truncate):
    env = DelayedReward(Counter(7, truncate=truncate), delay=3)
    rewards, true, done = zip(*run(env, 7))
    assert list(true) == [1, 2, 3, 4, 5, 6, 7]
    assert list(rewards) == [0, 0, 1 + 2 + 3, 0, 0, 4 + 5 + 6, 7]
    assert done[-1] and not any(done[:-1])
    assert sum(rewards) == sum(true)


def test_reset_clears_the_pending_reward():
    env = DelayedReward(Counter(10), delay=4)
    run(env, 2)  # 1 + 2 pending, then a reset
    rewards = [r for r, _, _ in run(env, 4)]
    assert rewards == [0, 0, 0, 1 + 2 + 3 + 4]


def test_delay_one_is_the_identity_and_bad_delay_is_rejected():
    rewards = [r for r, _, _ in run(DelayedReward(Counter(3), delay=1), 3)]
    assert rewards == [1, 2, 3]
    with pytest.raises(ValueError, match="delay"):
        DelayedReward(Counter(3), delay=0)

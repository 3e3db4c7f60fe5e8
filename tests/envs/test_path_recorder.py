"""PathRecorder keeps each episode's positions and success, and agrees with evaluate() on which episodes succeeded."""

import gymnasium as gym
import numpy as np
import pytest

from rlkit.envs.path_recorder import PathRecorder, ScoredPaths
from rlkit.trainers.evaluation import episode_quota, evaluate


class Walker(gym.Env):
    """obs (x, y, t): x += action each step, y = 10 * x; success once x >= 2; truncated after 4 steps."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(3,))
        self.action_space = gym.spaces.Box(-1, 1, shape=(1,))
        self.x, self.t = 0.0, 0

    def _obs(self):
        return np.array([self.x, 10 * self.x, self.t], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = 0.0, 0
        return self._obs(), {}

    def step(self, action):
        self.x += float(np.asarray(action).reshape(-1)[0])
        self.t += 1
        return self._obs(), 0.0, False, self.t >= 4, {"success": self.x >= 2}


def test_records_positions_from_reset_on_and_success_at_any_step():
    env = PathRecorder(Walker(), xy_indices=(0, 1))
    env.reset(seed=0)
    for action in (1.0, 1.0, -1.0, -1.0):  # reaches x = 2 at step 2, ends back at 0
        env.step(np.array([action]))
    env.reset()
    env.step(np.array([0.5]))
    first, second = env.paths
    np.testing.assert_allclose(first.positions, [[0, 0], [1, 10], [2, 20], [1, 10], [0, 0]])
    assert first.success
    np.testing.assert_allclose(second.positions, [[0, 0], [0.5, 5]])
    assert not second.success


def test_counted_episodes_match_evaluate():
    # sub-env i walks at speed 0.3 + 0.4 i: env 0 never reaches x = 2 in 4 steps, env 1 (0.7 / step) does
    recorders = ScoredPaths()

    def policy(obs):
        return np.array([[0.3], [0.7]], dtype=np.float32)

    result = evaluate(policy, lambda: recorders(Walker()), num_episodes=5, num_envs=2, seed=0)
    quota = episode_quota(5, 2)
    counted = recorders.scored(5)
    assert len(counted) == 5 and all(len(store) >= q for store, q in zip(recorders.stores, quota))
    assert [p.success for p in counted] == result["successes"].tolist() == [False] * 3 + [True] * 2
    assert all(len(p.steps) == 5 for p in counted)


def test_bad_indices_and_step_before_reset():
    with pytest.raises(ValueError, match="indices"):
        PathRecorder(Walker(), xy_indices=(0, 3))
    with pytest.raises(ValueError, match="empty"):
        PathRecorder(Walker(), xy_indices=())
    with pytest.raises(RuntimeError, match="before reset"):
        PathRecorder(Walker()).step(np.zeros(1))
